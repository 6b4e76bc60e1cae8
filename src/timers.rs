//! Deadlines: connect timeouts, close timeouts, the acknowledgement poll and application
//! timers. Any thread may add one; the alarm (`alarm.rs`, a timerfd in the epoll set) is
//! set for the earliest, and whoever polls fires them when it rings (`rang`). A long
//! `sock_wait_msg` has the alarm ring by its deadline too (`keep`).
//!
//! A connect deadline is not taken out when the connect ends first (a heap cannot remove one
//! entry cheaply); the socket reports it instead (`connect_settled`), and once the reported
//! ones make up half the heap they are purged in one pass, and a heap left mostly empty gives
//! its room back. So stale deadlines never outnumber the live ones (beyond `PURGE_FLOOR`), and
//! a burst of connects does not keep its heap once they are done.

use crate::alarm::{Alarm, NEVER};
use crate::clock;
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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

pub(crate) struct Timers {
    inner: Mutex<Inner>,
    /// Set under `inner`'s lock, for the earliest timer or an earlier kept deadline.
    alarm: Alarm,
    /// Rings handled so far (see `rang`).
    rings: AtomicU64,
}

#[derive(Default)]
struct Inner {
    heap: BinaryHeap<Reverse<Timer>>,
    /// Sockets (id, generation) whose connect ended before its deadline: those `Connect`
    /// entries are stale.
    settled: Vec<(i32, u32)>,
}

impl Timers {
    pub(crate) fn new() -> io::Result<Timers> {
        Ok(Timers {
            inner: Mutex::default(),
            alarm: Alarm::new()?,
            rings: AtomicU64::new(0),
        })
    }

    /// The alarm's descriptor, for the epoll set (None once closed).
    pub(crate) fn alarm_fd(&self) -> Option<RawFd> {
        self.alarm.as_raw_fd()
    }

    /// Closes the alarm (`sock_shutdown`).
    pub(crate) fn close_alarm(&self) {
        let _inner = self.inner.lock();
        self.alarm.close();
    }

    /// Adds a timer; the alarm rings by its deadline.
    pub(crate) fn add(&self, timer: Timer) {
        let at = clock::ns_of(timer.at); // two clock reads: not under the lock
        let mut inner = self.inner.lock();
        inner.heap.push(Reverse(timer));
        self.ring_by(at);
    }

    /// A long wait's deadline (`clock::now_ns` terms): the alarm rings by then. Called by
    /// the seat's holder only, the one thread that handles rings (`rang`), so an alarm seen
    /// here set early enough stays so until this thread moves it; other threads only bring
    /// it earlier. That makes the usual case a load.
    pub(crate) fn keep(&self, at: u64) {
        if self.alarm.set_for() <= at {
            return;
        }
        let _inner = self.inner.lock();
        self.ring_by(at);
    }

    /// How many rings were handled so far: a long wait looks at the clock again only when
    /// this moves.
    pub(crate) fn rings(&self) -> u64 {
        self.rings.load(Ordering::Acquire)
    }

    /// The alarm rang (its event was polled): removes and returns the timers due now, and
    /// sets the alarm for the next one. A long wait whose deadline this was sees `rings`
    /// move and keeps its deadline again if it has not passed.
    pub(crate) fn rang(&self) -> Vec<Timer> {
        let mut inner = self.inner.lock();
        let due = Self::pop_due(&mut inner.heap, Instant::now());
        let next = inner
            .heap
            .peek()
            .map_or(NEVER, |Reverse(t)| clock::ns_of(t.at));
        self.set_alarm(next);
        self.rings.fetch_add(1, Ordering::AcqRel);
        due
    }

    /// With `inner` locked: the alarm rings by `at`.
    fn ring_by(&self, at: u64) {
        if at < self.alarm.set_for() {
            self.set_alarm(at);
        }
    }

    /// With `inner` locked.
    fn set_alarm(&self, at: u64) {
        // timerfd_settime fails only for a bad value, not possible here, or once
        // `sock_shutdown` has closed the alarm (a call that raced it: nobody polls any more).
        // Should it fail otherwise, `set_for` is unchanged and the next deadline tries again.
        match self.alarm.set(at) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => {}
            Err(e) => log::error!(target: "socketcore", "the alarm could not be set: {e}"),
        }
    }

    /// Socket (id, generation) is connected, failed or gone: its connect deadline is stale.
    pub(crate) fn connect_settled(&self, id: i32, generation: u32) {
        let mut inner = self.inner.lock();
        inner.settled.push((id, generation));
        if inner.settled.len() >= PURGE_FLOOR && inner.settled.len() * 2 >= inner.heap.len() {
            inner.purge_settled();
        }
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

impl crate::poller::Keeper for Timers {
    fn keep(&self, at: u64) {
        Timers::keep(self, at);
    }

    fn rings(&self) -> u64 {
        Timers::rings(self)
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
    use std::time::Duration;

    /// The same deadline converted at two moments (`clock::ns_of` reads two clocks).
    fn near(a: u64, b: u64) -> bool {
        a.abs_diff(b) < 1_000_000
    }

    #[test]
    fn expire_in_deadline_order_and_the_alarm_follows_the_earliest() {
        let timers = Timers::new().unwrap();
        let now = Instant::now();
        let t = |ms, id| Timer {
            at: now + Duration::from_millis(ms),
            id,
            generation: 1,
            kind: TimerKind::Connect,
        };
        let set_for = || timers.alarm.set_for();
        timers.add(t(30_000, 3));
        let thirty = set_for();
        assert!(near(thirty, clock::ns_of(now + Duration::from_secs(30))));
        timers.add(t(10_000, 1));
        let ten = set_for();
        assert!(
            ten < thirty,
            "a new earliest timer brings the alarm forward"
        );
        timers.add(t(20_000, 2));
        assert_eq!(set_for(), ten, "a later one leaves it");
        let due = Timers::pop_due(
            &mut timers.inner.lock().heap,
            now + Duration::from_millis(25_000),
        );
        assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(timers.len(), 1);
    }

    /// A ring fires what is due and sets the alarm for the next timer; a kept deadline
    /// earlier than every timer brings it forward, a later one leaves it.
    #[test]
    fn a_ring_fires_what_is_due_and_sets_the_alarm_for_the_next() {
        let timers = Timers::new().unwrap();
        let now = Instant::now();
        let t = |at, id| Timer {
            at,
            id,
            generation: 1,
            kind: TimerKind::App,
        };
        timers.add(t(now, 1));
        timers.add(t(now + Duration::from_secs(60), 2));
        let before = timers.rings();
        let due = timers.rang();
        assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(timers.rings(), before + 1);
        let sixty = timers.alarm.set_for();
        assert!(near(sixty, clock::ns_of(now + Duration::from_secs(60))));
        let soon = clock::now_ns() + 1_000_000_000;
        timers.keep(soon);
        assert_eq!(timers.alarm.set_for(), soon);
        timers.keep(soon + 1);
        assert_eq!(timers.alarm.set_for(), soon, "already rings early enough");
        assert!(timers.rang().is_empty(), "nothing due: the ring was early");
        assert!(
            near(timers.alarm.set_for(), sixty),
            "after a ring the alarm is the timers' again"
        );
        timers.retain(|_| false);
        timers.rang();
        assert_eq!(timers.alarm.set_for(), NEVER, "no timers: not set");
    }

    /// A burst of connects, all but one settled: their deadlines go, the rest stay, and the
    /// heap gives back the room the burst took.
    #[test]
    fn settled_connects_leave_the_heap_and_give_its_room_back() {
        let timers = Timers::new().unwrap();
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
        let timers = Timers::new().unwrap();
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
