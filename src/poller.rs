//! Who polls: one seat, the leader/follower hand-off.
//!
//! mio's `Poll` and its event buffer sit behind one lock, the seat. Whoever holds it is the
//! leader, the only thread in `Poll::poll`; it dispatches what it gets and sockets post the
//! results to the ring. A thread waiting in `sock_wait_msg` with nothing to take leads itself,
//! so an event reaches it with no hand-off between threads (the latency and the syscalls of a
//! single-threaded event loop); further waiters follow, sleeping on the ring until a message
//! comes or the seat falls vacant. The poll thread leads only when no waiter does and someone
//! needs the sockets driven in the background: a host loop watches `sock_msg_fd`, or a socket
//! has output the kernel has not taken yet. It always keeps the deadlines (`timers.rs`),
//! sleeping in its bed until the earliest.
//!
//! The rules that keep wake-ups from being lost, each a pair of SeqCst operations in opposite
//! order on two threads, so at least one of them sees the other:
//! - a leader sets `in_poll` and then looks at the ring / at `waiting`; a poster pushes and
//!   then reads `in_poll` (`notify_leader`); a waiter raises `waiting` and then reads `in_poll`.
//! - the poll thread reads what it is wanted for under the bed lock, and everyone who changes
//!   that takes the bed lock to notify (`nudge`).
//! - a follower reads the ring's vacancy count before trying the seat; a leaving leader counts
//!   a vacancy after releasing it (`Ring::vacate`).

use crate::ring::Ring;
use mio::{Events, Poll, Waker};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

const EVENTS_PER_POLL: usize = 1024;

const NOBODY: u8 = 0;
const POLL_THREAD: u8 = 1;
const WAITER: u8 = 2;

thread_local! {
    /// This thread holds the seat: its own posts need no wake-up.
    static LEADING: Cell<bool> = const { Cell::new(false) };
}

/// What the leader holds.
pub(crate) struct Seat {
    pub poll: Poll,
    pub events: Events,
}

/// Who leads, and the poll thread's bed.
pub(crate) struct Poller {
    seat: Mutex<Seat>,
    waker: Waker,
    /// Who holds the seat; written by its holder.
    leader: AtomicU8,
    /// The leader is in `Poll::poll` or about to be (set before its last look around).
    in_poll: AtomicBool,
    /// Threads blocked in `sock_wait_msg`: while there is one, a waiter leads.
    waiting: AtomicUsize,
    /// A host loop watches `sock_msg_fd`: someone must drive the sockets at all times.
    host_loop: AtomicBool,
    /// Sockets that must be driven while nobody waits (see `Poller::driven_changed`).
    driven: AtomicUsize,
    bed: Mutex<Bed>,
    bed_cv: Condvar,
}

#[derive(Default)]
struct Bed {
    /// The poll thread sleeps here until this deadline (None: until nudged).
    asleep: Option<Option<Instant>>,
}

/// Why the poll thread woke.
pub(crate) enum Rouse {
    /// It is wanted in the seat.
    Lead,
    /// A deadline may be due, or something changed: look again.
    Look,
}

impl Poller {
    pub(crate) fn new(poll: Poll, waker: Waker) -> Poller {
        Poller {
            seat: Mutex::new(Seat {
                poll,
                events: Events::with_capacity(EVENTS_PER_POLL),
            }),
            waker,
            leader: AtomicU8::new(NOBODY),
            in_poll: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            host_loop: AtomicBool::new(false),
            driven: AtomicUsize::new(0),
            bed: Mutex::new(Bed::default()),
            bed_cv: Condvar::new(),
        }
    }

    // ----- taking and leaving the seat -----

    /// The seat, if free; `waiter` says who takes it. Followers of `ring` learn when it is
    /// left.
    pub(crate) fn try_lead<'a>(&'a self, waiter: bool, ring: &'a Ring) -> Option<Lead<'a>> {
        let seat = self.seat.try_lock()?;
        self.leader
            .store(if waiter { WAITER } else { POLL_THREAD }, SeqCst);
        LEADING.set(true);
        Some(Lead {
            poller: self,
            ring,
            waiter,
            seat: Some(seat),
        })
    }

    /// The poll thread holds the seat (a waiter must ask it to leave).
    pub(crate) fn poll_thread_leads(&self) -> bool {
        self.leader.load(SeqCst) == POLL_THREAD
    }

    /// The poll thread is wanted in the seat: nobody waits to lead and the sockets must be
    /// driven in the background.
    pub(crate) fn poll_thread_wanted(&self) -> bool {
        self.waiting.load(SeqCst) == 0
            && (self.host_loop.load(SeqCst) || self.driven.load(SeqCst) > 0)
    }

    // ----- waiters -----

    /// A thread starts blocking in `sock_wait_msg`: a poll thread in the seat steps aside.
    pub(crate) fn waiter_arrives(&self) {
        self.waiting.fetch_add(1, SeqCst);
        if self.leader.load(SeqCst) == POLL_THREAD && self.in_poll.load(SeqCst) {
            self.wake();
        }
    }

    /// That thread leaves; the last one hands the background back to the poll thread.
    pub(crate) fn waiter_leaves(&self) {
        if self.waiting.fetch_sub(1, SeqCst) == 1 && self.poll_thread_wanted() {
            self.nudge();
        }
    }

    // ----- producers -----

    /// After a message was posted: a waiter blocked in the seat must come out to take it.
    pub(crate) fn notify_leader(&self) {
        if !LEADING.get() && self.leader.load(SeqCst) == WAITER && self.in_poll.load(SeqCst) {
            self.wake();
        }
    }

    /// A host loop watches `sock_msg_fd` from now on.
    pub(crate) fn host_loop_started(&self) {
        if !self.host_loop.swap(true, SeqCst) {
            self.nudge();
        }
    }

    /// A socket now must be driven even while nobody waits (`true`: output to flush, a
    /// handshake), or no longer (`false`); see `Sock::count_driven`.
    pub(crate) fn driven_changed(&self, driven: bool) {
        if driven {
            if self.driven.fetch_add(1, SeqCst) == 0 && self.leader.load(SeqCst) == NOBODY {
                self.nudge();
            }
        } else {
            self.driven.fetch_sub(1, SeqCst);
        }
    }

    /// A deadline was added that is earlier than every other: whoever sleeps until the old
    /// earliest must look again.
    pub(crate) fn earlier_deadline(&self, at: Instant) {
        {
            let bed = self.bed.lock();
            if bed.asleep.is_some_and(|until| until.is_none_or(|u| at < u)) {
                self.bed_cv.notify_one();
            }
        }
        if self.poll_thread_leads() && self.in_poll.load(SeqCst) {
            self.wake(); // its poll timeout was the old earliest
        }
    }

    /// Sends the leader out of `Poll::poll` (mio's eventfd waker).
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    // ----- the poll thread's bed -----

    /// The poll thread sleeps until `deadline()` (read under the bed lock, so a deadline
    /// added meanwhile is not slept through), or until it is wanted in the seat or nudged.
    pub(crate) fn sleep(
        &self,
        stopping: impl Fn() -> bool,
        deadline: impl Fn() -> Option<Instant>,
    ) -> Rouse {
        let mut bed = self.bed.lock();
        if stopping() {
            return Rouse::Look;
        }
        if self.poll_thread_wanted() && self.leader.load(SeqCst) == NOBODY {
            return Rouse::Lead;
        }
        let until = deadline();
        if until.is_some_and(|at| at <= Instant::now()) {
            return Rouse::Look;
        }
        bed.asleep = Some(until);
        match until {
            Some(at) => {
                self.bed_cv.wait_until(&mut bed, at);
            }
            None => self.bed_cv.wait(&mut bed),
        }
        bed.asleep = None;
        Rouse::Look
    }

    /// Wakes the poll thread to look again.
    pub(crate) fn nudge(&self) {
        let _bed = self.bed.lock();
        self.bed_cv.notify_one();
    }
}

/// The seat, held. Dropping it leaves the seat.
pub(crate) struct Lead<'a> {
    poller: &'a Poller,
    ring: &'a Ring,
    waiter: bool,
    /// Always `Some` until dropped.
    seat: Option<MutexGuard<'a, Seat>>,
}

impl Lead<'_> {
    /// Polls for readiness, at most `timeout` (None: until an event or a wake-up), unless
    /// `stop` says, once `in_poll` is set, that there is a reason not to.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        stop: impl FnOnce() -> bool,
    ) -> std::io::Result<bool> {
        self.poller.in_poll.store(true, SeqCst);
        if stop() {
            self.poller.in_poll.store(false, SeqCst);
            return Ok(false);
        }
        let Some(seat) = self.seat.as_deref_mut() else {
            return Ok(false);
        };
        let polled = seat.poll.poll(&mut seat.events, timeout);
        self.poller.in_poll.store(false, SeqCst);
        match polled {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                seat.events.clear();
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// What the last `poll` returned.
    pub(crate) fn events(&self) -> impl Iterator<Item = &mio::event::Event> {
        self.seat.iter().flat_map(|seat| seat.events.iter())
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        self.poller.leader.store(NOBODY, SeqCst);
        LEADING.set(false);
        drop(self.seat.take());
        // Counted after the release: a follower that failed to take the seat sees it.
        self.ring.vacate();
        if self.waiter && self.poller.poll_thread_wanted() {
            self.poller.nudge();
        }
    }
}
