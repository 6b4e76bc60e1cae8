//! The locks, condition variables and atomics of the hand-off between threads (`ring.rs`,
//! `poller.rs`): parking_lot's in the library, loom's under the model checker
//! (`--cfg loom`), behind one shape so that the checked code is the shipped code.
//!
//! Why parking_lot: its lock and unlock are one inlined compare-exchange each, with no
//! poisoning to check (nothing panics while these locks are held), and a condition variable
//! with no waiter costs a load to notify. The ring's lock is taken about six times per
//! request-response round trip, so this is a measurable share of the library's own time.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, fence};
use std::time::Duration;

#[cfg(loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(not(loom))]
pub(crate) use parking_lot::MutexGuard;

/// A mutex whose `lock` returns the guard (no poisoning).
#[derive(Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Mutex<T> {
        Mutex {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        return self.inner.lock();
        #[cfg(loom)]
        return self.inner.lock().unwrap_or_else(|e| e.into_inner());
    }

    /// The guard if the lock is free now.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        #[cfg(not(loom))]
        return self.inner.try_lock();
        #[cfg(loom)]
        return match self.inner.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
    }
}

/// A condition variable that takes and gives back the guard, as std's does.
#[derive(Default)]
pub(crate) struct Condvar {
    #[cfg(not(loom))]
    inner: parking_lot::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Condvar {
        Condvar::default()
    }

    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            self.inner.wait(&mut guard);
            guard
        }
        #[cfg(loom)]
        self.inner.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    /// Waits at most `timeout`; true when it ran out (a wake may still have come).
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            let result = self.inner.wait_for(&mut guard, timeout);
            (guard, result.timed_out())
        }
        #[cfg(loom)]
        {
            let (guard, result) = self
                .inner
                .wait_timeout(guard, timeout)
                .unwrap_or_else(|e| e.into_inner());
            (guard, result.timed_out())
        }
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}
