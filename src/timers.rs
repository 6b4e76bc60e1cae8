//! Deadlines the poll thread keeps: connect timeouts, close timeouts, the acknowledgement poll
//! and application timers. Any thread may add one; the poll thread sleeps until the earliest.
//!
//! A connect deadline is not taken out when the connect ends first (a heap cannot remove one
//! entry cheaply); the socket reports it instead (`connect_settled`), and once the reported
//! ones make up half the heap they are purged in one pass, and a heap left mostly empty gives
//! its room back. So stale deadlines never outnumber the live ones (beyond `PURGE_FLOOR`), and
//! a burst of connects does not keep its heap once they are done.

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

/// Settled connects tolerated before a purge, however small the heap.
const PURGE_FLOOR: usize = 64;

#[derive(Default)]
pub(crate) struct Timers {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    heap: BinaryHeap<Reverse<Timer>>,
    /// Sockets (id, generation) whose connect ended before its deadline: those `Connect`
    /// entries are stale.
    settled: Vec<(i32, u32)>,
}

impl Timers {
    /// Adds a timer; returns true when it became the earliest (the poll thread must wake).
    pub(crate) fn add(&self, timer: Timer) -> bool {
        let heap = &mut self.inner.lock().heap;
        let earliest = heap.peek().is_none_or(|Reverse(t)| timer.at < t.at);
        heap.push(Reverse(timer));
        earliest
    }

    /// Socket (id, generation) is connected, failed or gone: its connect deadline is stale.
    pub(crate) fn connect_settled(&self, id: i32, generation: u32) {
        let mut inner = self.inner.lock();
        inner.settled.push((id, generation));
        if inner.settled.len() >= PURGE_FLOOR && inner.settled.len() * 2 >= inner.heap.len() {
            inner.purge_settled();
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.inner.lock().heap.peek().map(|Reverse(t)| t.at)
    }

    /// How long after `now` the earliest timer is due (zero if it is already), if any.
    pub(crate) fn due_in(&self, now: Instant) -> Option<Duration> {
        self.next_deadline()
            .map(|at| at.saturating_duration_since(now))
    }

    /// Removes and returns the timers due now (the clock is read only if a timer exists).
    pub(crate) fn expired(&self) -> Vec<Timer> {
        let heap = &mut self.inner.lock().heap;
        if heap.is_empty() {
            return Vec::new();
        }
        Self::pop_due(heap, Instant::now())
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
        self.inner.lock().heap.len()
    }

    /// Keeps only the timers `keep` accepts (drops stale entries in one pass).
    pub(crate) fn retain(&self, mut keep: impl FnMut(&Timer) -> bool) {
        self.inner.lock().heap.retain(|Reverse(t)| keep(t));
    }
}

impl Inner {
    /// Drops the settled connects' deadlines (a key whose deadline already fired matches
    /// nothing), then gives back room the heap no longer needs.
    fn purge_settled(&mut self) {
        let mut settled = std::mem::take(&mut self.settled);
        settled.sort_unstable();
        self.heap.retain(|Reverse(t)| {
            t.kind != TimerKind::Connect || settled.binary_search(&(t.id, t.generation)).is_err()
        });
        let (len, room) = (self.heap.len(), self.heap.capacity());
        if room > PURGE_FLOOR && len < room / 4 {
            self.heap.shrink_to(PURGE_FLOOR.max(len * 2));
        }
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
        let due = Timers::pop_due(
            &mut timers.inner.lock().heap,
            now + Duration::from_millis(25),
        );
        assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(timers.len(), 1);
    }

    /// A burst of connects, all but one settled: their deadlines go, the rest stay, and the
    /// heap gives back the room the burst took.
    #[test]
    fn settled_connects_leave_the_heap_and_give_its_room_back() {
        let timers = Timers::default();
        let at = Instant::now() + Duration::from_secs(30);
        let timer = |id, kind| Timer {
            at,
            id,
            generation: 7,
            kind,
        };
        for id in 0..10_000 {
            timers.add(timer(id, TimerKind::Connect));
        }
        timers.add(timer(0, TimerKind::Close));
        let burst = timers.inner.lock().heap.capacity();
        for id in 0..9_999 {
            timers.connect_settled(id, 7);
            let inner = timers.inner.lock();
            let live = 10_001 - id as usize - 1;
            assert!(inner.heap.len() <= live + PURGE_FLOOR.max(live), "{id}");
        }
        let inner = timers.inner.lock();
        assert!(inner.heap.len() <= 2 + PURGE_FLOOR);
        assert!(
            inner.heap.capacity() <= 8 * PURGE_FLOOR,
            "{burst} → {}",
            inner.heap.capacity()
        );
        let kept = |id, kind| inner.heap.iter().any(|Reverse(t)| *t == timer(id, kind));
        assert!(
            kept(9_999, TimerKind::Connect),
            "a connect still going keeps its deadline"
        );
        assert!(
            kept(0, TimerKind::Close),
            "other deadlines are not a connect's"
        );
    }

    /// Connects one after another: the heap holds the live ones and at most as many stale.
    #[test]
    fn connect_churn_keeps_the_heap_bounded() {
        let timers = Timers::default();
        let at = Instant::now() + Duration::from_secs(30);
        for id in 0..100_000 {
            timers.add(Timer {
                at,
                id: id % 1000,
                generation: id as u32,
                kind: TimerKind::Connect,
            });
            timers.connect_settled(id % 1000, id as u32);
        }
        let inner = timers.inner.lock();
        assert!(inner.heap.len() <= PURGE_FLOOR, "{}", inner.heap.len());
        assert!(
            inner.heap.capacity() <= 8 * PURGE_FLOOR,
            "{}",
            inner.heap.capacity()
        );
    }
}
