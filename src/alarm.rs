//! The instance's alarm clock: a timerfd in the epoll set, set for the earliest deadline the
//! instance keeps (a timer's, or a long `sock_wait_msg`'s). Whoever polls gets its event and
//! fires what is due (`poll_loop.rs`), so deadlines need no thread of their own: a thread
//! waiting in `sock_wait_msg` keeps them while it leads, the poll thread while it drives the
//! sockets in the background, and with neither they fire at the next wait.
//!
//! `Timers` owns it and sets it under its lock; `set_for` may be read without the lock.
//! `sock_shutdown` closes it (`close`), whoever still holds the instance.

use parking_lot::Mutex;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// `Alarm::set_for`: it is not set.
pub(crate) const NEVER: u64 = u64::MAX;

pub(crate) struct Alarm {
    /// None once closed. Locked only to set it (rarely: see `Timers`) and to close it.
    fd: Mutex<Option<OwnedFd>>,
    /// When it rings, in `clock::now_ns` terms, or `NEVER`.
    set_for: AtomicU64,
}

impl Alarm {
    pub(crate) fn new() -> io::Result<Alarm> {
        // SAFETY: plain system call; the descriptor it returns is owned below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Alarm {
            // SAFETY: `fd` was just created and nothing else owns it.
            fd: Mutex::new(Some(unsafe { OwnedFd::from_raw_fd(fd) })),
            set_for: AtomicU64::new(NEVER),
        })
    }

    /// When it rings (`NEVER`: it is not set).
    pub(crate) fn set_for(&self) -> u64 {
        self.set_for.load(Ordering::Acquire)
    }

    /// Sets it to ring at `at` (`clock::now_ns` terms; `NEVER`: not at all). Setting it also
    /// forgets a ring nobody has seen yet (the timerfd is readable no more), so the caller
    /// that handles a ring sets it again, for the next deadline or for `NEVER`. The callers
    /// serialize (`Timers`' lock).
    pub(crate) fn set(&self, at: u64) -> io::Result<()> {
        let value = match at {
            NEVER => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            // A zero it_value would disarm it: a deadline at 0 (long past) rings at once.
            at => timespec_of(at.max(1)),
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        let fd = self.fd.lock();
        let Some(fd) = fd.as_ref() else {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        };
        // SAFETY: `fd` is a timerfd owned by `self`, kept open by the lock held; `spec` is
        // valid for the call, and the old value is not asked for.
        let r = unsafe {
            libc::timerfd_settime(
                fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        self.set_for.store(at, Ordering::Release);
        Ok(())
    }

    /// The descriptor, for the epoll set (None once closed).
    pub(crate) fn as_raw_fd(&self) -> Option<RawFd> {
        self.fd.lock().as_ref().map(|fd| fd.as_raw_fd())
    }

    /// Closes the descriptor (`sock_shutdown`); setting it fails with EBADF afterwards.
    pub(crate) fn close(&self) {
        drop(self.fd.lock().take());
    }
}

fn timespec_of(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (ns / 1_000_000_000).min(i64::MAX as u64) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Whether `fd` is readable now (for tests of when the alarm rings).
    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    fn fd_of(alarm: &Alarm) -> RawFd {
        alarm.as_raw_fd().unwrap()
    }

    /// A deadline `ms` milliseconds from now, in `clock::now_ns` terms.
    fn in_ms(ms: u64) -> u64 {
        crate::clock::now_ns() + ms * 1_000_000
    }

    #[test]
    fn rings_at_its_deadline_not_before_and_setting_it_forgets_a_ring() {
        let alarm = Alarm::new().unwrap();
        assert_eq!(alarm.set_for(), NEVER);
        let start = Instant::now();
        alarm.set(in_ms(40)).unwrap();
        assert!(!readable(fd_of(&alarm)), "rang early");
        let mut p = libc::pollfd {
            fd: fd_of(&alarm),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut p, 1, 5000) }, 1);
        assert!(start.elapsed() >= Duration::from_millis(40));
        alarm.set(NEVER).unwrap();
        assert!(!readable(fd_of(&alarm)), "a seen ring is forgotten");
        assert_eq!(alarm.set_for(), NEVER);
    }

    #[test]
    fn a_deadline_in_the_past_rings_at_once_and_never_means_never() {
        let alarm = Alarm::new().unwrap();
        alarm.set(0).unwrap();
        assert!(readable(fd_of(&alarm)));
        alarm.set(in_ms(10)).unwrap();
        alarm.set(NEVER).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert!(!readable(fd_of(&alarm)), "a cleared alarm rang");
        let far = crate::clock::now_ns() + 3600 * 1_000_000_000;
        alarm.set(far).unwrap();
        assert_eq!(alarm.set_for(), far);
        alarm.close();
        assert!(alarm.as_raw_fd().is_none());
        assert!(alarm.set(far - 1).is_err(), "closed");
        assert_eq!(alarm.set_for(), far, "unchanged by a failed set");
    }
}
