//! Deadlines the poll thread keeps: connect timeouts, close timeouts, the acknowledgement poll
//! and application timers. Any thread may add one; the poll thread sleeps until the earliest.

use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    /// Resolution, connection and handshake must finish by now.
    Connect,
    /// `sock_close` must have flushed by now.
    Close,
    /// Look again at how many sent bytes the peer has acknowledged.
    AckPoll,
    /// Stop waiting for a TLS 1.3 server's verdict on our client certificate.
    TlsVerdict,
    /// An application timer (`sock_timer_start`): `id` is the timer id, `generation` its arming.
    App,
    /// Start the next connection attempt to a name with several addresses (Happy Eyeballs).
    NextAttempt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timer {
    pub at: Instant,
    pub id: i32,
    pub generation: u32,
    pub kind: TimerKind,
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: Mutex<BinaryHeap<Reverse<Timer>>>,
}

impl Timers {
    /// Adds a timer; returns true when it became the earliest (the poll thread must wake).
    pub(crate) fn add(&self, timer: Timer) -> bool {
        let mut heap = self.heap.lock();
        let earliest = heap.peek().is_none_or(|Reverse(t)| timer.at < t.at);
        heap.push(Reverse(timer));
        earliest
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.lock().peek().map(|Reverse(t)| t.at)
    }

    /// How long after `now` the earliest timer is due (zero if it is already), if any.
    pub(crate) fn due_in(&self, now: Instant) -> Option<Duration> {
        self.next_deadline()
            .map(|at| at.saturating_duration_since(now))
    }

    /// Removes and returns the timers due now (the clock is read only if a timer exists).
    pub(crate) fn expired(&self) -> Vec<Timer> {
        let mut heap = self.heap.lock();
        if heap.is_empty() {
            return Vec::new();
        }
        Self::pop_due(&mut heap, Instant::now())
    }

    /// Removes and returns the timers due at `now`.
    fn pop_due(heap: &mut BinaryHeap<Reverse<Timer>>, now: Instant) -> Vec<Timer> {
        let mut due = Vec::new();
        while heap.peek().is_some_and(|Reverse(t)| t.at <= now) {
            if let Some(Reverse(t)) = heap.pop() {
                due.push(t);
            }
        }
        due
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.lock().len()
    }

    /// Keeps only the timers `keep` accepts (drops stale entries in one pass).
    pub(crate) fn retain(&self, mut keep: impl FnMut(&Timer) -> bool) {
        self.heap.lock().retain(|Reverse(t)| keep(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_in_deadline_order() {
        let timers = Timers::default();
        let now = Instant::now();
        let t = |ms, id| Timer {
            at: now + Duration::from_millis(ms),
            id,
            generation: 1,
            kind: TimerKind::Connect,
        };
        assert!(timers.add(t(30, 3)));
        assert!(timers.add(t(10, 1)));
        assert!(!timers.add(t(20, 2)));
        assert_eq!(
            timers.next_deadline(),
            Some(now + Duration::from_millis(10))
        );
        let due = Timers::pop_due(&mut timers.heap.lock(), now + Duration::from_millis(25));
        assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(timers.len(), 1);
    }
}
