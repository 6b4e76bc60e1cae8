//! Who polls: one seat, the leader/follower hand-off.
//!
//! mio's `Poll` and its event buffer sit behind one lock, the seat. Whoever holds it is the
//! leader, the only thread in `Poll::poll`; it dispatches what it gets and sockets post the
//! results to the ring. A thread waiting in `sock_wait_msg` with nothing to take leads itself,
//! so an event reaches it with no hand-off between threads (the latency and the syscalls of a
//! single-threaded event loop); further waiters follow, sleeping on the ring until a message
//! comes or the seat falls vacant. The poll thread leads only when no waiter does and someone
//! needs the sockets driven in the background: a host loop watches `sock_msg_fd`, or a socket
//! must make progress the peer would notice (`Sock::count_driven`); otherwise it sleeps in its
//! bed. It is started the first time it is wanted (`nudge`): a process that only waits for
//! its messages has one thread, which the kernel serves a little faster (no file reference
//! counts taken per system call). Deadlines need no thread: the alarm (`alarm.rs`) is in the
//! epoll set, and whoever leads fires what is due when it rings.
//!
//! The rules that keep wake-ups from being lost, each a write then a read on one thread and
//! the mirror pair on another, with a SeqCst fence between write and read on both sides, so
//! at least one of them sees the other (the fences, not SeqCst accesses alone, are what the
//! C++/Rust model and loom guarantee this for):
//! - a leader sets `in_poll` and then looks at the ring and at `waiting`; a
//!   waiter raises `waiting` and then reads `in_poll` (`wait`). A poster pushes to the ring
//!   under its lock and then reads `in_poll` (`notify_leader`): the lock orders that pair.
//! - a socket raises `driven` and then reads `leader`; a leaving leader clears `leader` and
//!   then reads `driven` (`driven_changed`, `Lead::drop`).
//! - the poll thread reads what it is wanted for under the bed lock, and everyone who changes
//!   that takes the bed lock to notify (`nudge`).
//! - a follower reads the ring's vacancy count before trying the seat; a leaving leader counts
//!   a vacancy after releasing it (`Ring::vacate`). A follower then registers as a waiter
//!   and reads the count again; the leader counts and then reads whether anyone waits, to
//!   wake them (`Ring::wait`, `Ring::vacate`).
//! - a new leader's `leader` is written before the fence of its first poll, the only place
//!   from which it matters.
//!
//! The protocol is generic over what is polled and how it is woken, so that the `model` tests
//! check it with loom (`RUSTFLAGS="--cfg loom" cargo test --lib poller::model`).

use crate::clock::{self, Deadline};
use crate::ready_events::ReadyEvents;
use crate::ring::{Entry, Followed, PopError, Ring};
use crate::sync::{AtomicBool, AtomicU8, AtomicUsize, Condvar, Mutex, MutexGuard, fence};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Duration;

const EVENTS_PER_POLL: usize = 1024;

const NOBODY: u8 = 0;
const POLL_THREAD: u8 = 1;
const WAITER: u8 = 2;

/// A wait at least this long polls without a timeout, and the alarm keeps its deadline
/// (`Keeper`): epoll_wait with a timeout reads the clock, and arms and cancels a kernel timer
/// whenever it sleeps, about 2 % of a request/response round trip on one CPU. Setting the
/// alarm is a system call too, but a run of waits needs it once: a deadline later than the
/// one the alarm is set for leaves it. Short waits, which time out often, keep epoll's
/// timeout.
pub(crate) const LONG_WAIT: Duration = Duration::from_secs(1);

/// Keeps a long wait's deadline: the alarm rings by then (`timers.rs` in the library).
pub(crate) trait Keeper {
    /// The alarm rings by `at` (`clock::now_ns` terms). Called by the seat's holder.
    fn keep(&self, at: u64);
    /// Rings handled so far: when this moves, a kept deadline may have passed.
    fn rings(&self) -> u64;
}

/// What the seat holds: something to wait on for readiness.
pub(crate) trait Source {
    /// Waits for readiness at most `timeout` (None: until readiness or a wake-up).
    fn poll(&mut self, timeout: Option<Duration>) -> std::io::Result<()>;
    /// Forgets what the last poll returned.
    fn clear(&mut self);
}

/// Sends the leader out of `Source::poll`.
pub(crate) trait Wake {
    fn wake(&self);
}

/// mio's `Poll` and its events. `sock_shutdown` closes the poll (`close`), under the seat's
/// lock, so no leader can be in it then; a later leader finds it gone.
pub(crate) struct Seat {
    poll: Option<mio::Poll>,
    pub events: ReadyEvents,
}

impl Seat {
    pub(crate) fn new(poll: mio::Poll) -> Seat {
        Seat {
            poll: Some(poll),
            events: ReadyEvents::with_capacity(EVENTS_PER_POLL),
        }
    }

    /// Closes the epoll descriptor.
    pub(crate) fn close(&mut self) {
        self.poll = None;
        self.events.clear();
    }
}

impl Source for Seat {
    fn poll(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        match &mut self.poll {
            Some(poll) => self.events.wait(poll.as_raw_fd(), timeout),
            None => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    fn clear(&mut self) {
        self.events.clear();
    }
}

/// mio's `Waker` (an eventfd), which `sock_shutdown` closes (`close`): waking after that does
/// nothing, and never writes to a descriptor number reused meanwhile.
pub(crate) struct ClosableWaker(parking_lot::RwLock<Option<mio::Waker>>);

impl ClosableWaker {
    pub(crate) fn new(waker: mio::Waker) -> ClosableWaker {
        ClosableWaker(parking_lot::RwLock::new(Some(waker)))
    }

    pub(crate) fn close(&self) {
        *self.0.write() = None;
    }
}

impl Wake for ClosableWaker {
    fn wake(&self) {
        if let Some(waker) = &*self.0.read() {
            let _ = waker.wake();
        }
    }
}

/// Who leads, and the poll thread's bed.
pub(crate) struct Poller<S = Seat, W = ClosableWaker> {
    seat: Mutex<S>,
    waker: W,
    /// Who holds the seat; written by its holder.
    leader: AtomicU8,
    /// The leader is in `Source::poll` or about to be (set before its last look around).
    in_poll: AtomicBool,
    /// Threads blocked in `sock_wait_msg`: while there is one, a waiter leads.
    waiting: AtomicUsize,
    /// A host loop watches `sock_msg_fd`: someone must drive the sockets at all times.
    host_loop: AtomicBool,
    /// Sockets that must be driven while nobody waits (see `Poller::driven_changed`).
    driven: AtomicUsize,
    /// The poll thread sleeps here until it is nudged.
    bed: Mutex<()>,
    bed_cv: Condvar,
    /// The poll thread was started (or is being started).
    started: AtomicBool,
    /// Starts the poll thread; false if it could not be started (tried again at the next
    /// nudge).
    start: Box<dyn Fn() -> bool + Send + Sync>,
}

/// Why the poll thread woke.
pub(crate) enum Rouse {
    /// It is wanted in the seat.
    Lead,
    /// Something changed: look again.
    Look,
}

impl<S: Source, W: Wake> Poller<S, W> {
    /// `start` starts the poll thread, the first time it is wanted.
    pub(crate) fn new(
        seat: S,
        waker: W,
        start: Box<dyn Fn() -> bool + Send + Sync>,
    ) -> Poller<S, W> {
        Poller {
            seat: Mutex::new(seat),
            waker,
            leader: AtomicU8::new(NOBODY),
            in_poll: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            host_loop: AtomicBool::new(false),
            driven: AtomicUsize::new(0),
            bed: Mutex::new(()),
            bed_cv: Condvar::new(),
            started: AtomicBool::new(false),
            start,
        }
    }

    // ----- the seat -----

    /// The seat, if free; `waiter` says who takes it. Followers of `ring` learn when it is
    /// left.
    pub(crate) fn try_lead<'a>(&'a self, waiter: bool, ring: &'a Ring) -> Option<Lead<'a, S, W>> {
        let seat = self.seat.try_lock()?;
        // Ordered by the fence in `Lead::poll`, which comes before anything that depends on
        // it being seen (a reader that sees it late only wakes someone needlessly).
        self.leader
            .store(if waiter { WAITER } else { POLL_THREAD }, Relaxed);
        Some(Lead {
            poller: self,
            ring,
            waiter,
            seat: Some(seat),
        })
    }

    /// The poll thread is wanted in the seat: nobody waits to lead and the sockets must be
    /// driven in the background.
    pub(crate) fn poll_thread_wanted(&self) -> bool {
        self.waiting.load(SeqCst) == 0
            && (self.host_loop.load(SeqCst) || self.driven.load(SeqCst) > 0)
    }

    // ----- the two roles -----

    /// A thread in `sock_wait_msg` with nothing to take waits for a message until `deadline`
    /// (None: no deadline):
    /// it leads when the seat is free (`dispatch` handles what each poll returned, and may
    /// hand the leader a message of its own: see `until_message`), and follows (waits on the
    /// ring) while another waiter leads. A poll thread in the seat leaves it on seeing the
    /// waiter.
    pub(crate) fn wait(
        &self,
        ring: &Ring,
        deadline: Option<Deadline>,
        keeper: &dyn Keeper,
        stopping: &dyn Fn() -> bool,
        dispatch: &mut dyn FnMut(&S) -> Option<Entry>,
    ) -> Result<Option<Entry>, PopError> {
        // `waiting` only tells the poll thread to stay out of the seat, or leave it. While it
        // does not lead and is not wanted (no host loop, nothing driven), a waiter need not
        // count itself: if it becomes wanted meanwhile, it may take the seat first and lead
        // until it is not wanted, and this waiter follows until then (its messages come
        // through the ring); a leader that leaves nudges it when it is wanted (`Lead::drop`).
        let counted = self.host_loop.load(SeqCst)
            || self.driven.load(SeqCst) > 0
            || self.leader.load(SeqCst) == POLL_THREAD;
        if counted {
            self.waiting.fetch_add(1, SeqCst);
            fence(SeqCst);
            if self.leader.load(SeqCst) == POLL_THREAD && self.in_poll.load(SeqCst) {
                self.wake();
            }
        }
        let outcome = loop {
            let seen = ring.vacancies();
            if let Some(lead) = self.try_lead(true, ring) {
                break lead.until_message(deadline, keeper, stopping, dispatch);
            }
            match ring.follow(seen, deadline.map(|d| clock::instant_of(d.at))) {
                Ok(Followed::Message(entry)) => break Ok(Some(entry)),
                Ok(Followed::Vacant) => continue,
                Ok(Followed::TimedOut) => break Ok(None),
                Err(e) => break Err(e),
            }
        };
        if counted {
            // The last waiter hands the background back to the poll thread.
            let last = self.waiting.fetch_sub(1, SeqCst) == 1;
            fence(SeqCst);
            if last && self.poll_thread_wanted() {
                self.nudge();
            }
        }
        outcome
    }

    /// The poll thread in the seat, if it is free: polls until a waiter comes or nothing
    /// needs driving.
    pub(crate) fn lead_in_background(
        &self,
        ring: &Ring,
        stopping: &dyn Fn() -> bool,
        dispatch: &mut dyn FnMut(&S),
    ) {
        let Some(mut lead) = self.try_lead(false, ring) else {
            return; // someone took the seat first
        };
        loop {
            let stop = || stopping() || !self.poll_thread_wanted();
            match lead.poll(|| None, stop) {
                Ok(true) => {}
                Ok(false) | Err(_) => return, // an error means a broken epoll descriptor
            }
            lead.dispatch(dispatch);
        }
    }

    /// Dispatches what is ready now, if nobody leads (a leader does it anyway).
    pub(crate) fn catch_up(&self, ring: &Ring, dispatch: &mut dyn FnMut(&S)) {
        if let Some(mut lead) = self.try_lead(true, ring)
            && let Ok(true) = lead.poll(|| Some(Duration::ZERO), || false)
        {
            lead.dispatch(dispatch);
        }
    }

    // ----- producers -----

    /// After a message was posted: a waiter blocked in the seat must come out to take it.
    /// The leader's own posts never wake it: it posts while dispatching, with `in_poll` clear.
    pub(crate) fn notify_leader(&self) {
        if self.in_poll.load(SeqCst) && self.leader.load(SeqCst) == WAITER {
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
            let first = self.driven.fetch_add(1, SeqCst) == 0;
            fence(SeqCst);
            if first && self.leader.load(SeqCst) == NOBODY {
                self.nudge();
            }
        } else {
            self.driven.fetch_sub(1, SeqCst);
        }
    }

    /// Sends the leader out of its poll.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    // ----- the poll thread's bed -----

    /// The poll thread sleeps until it is wanted in the seat or nudged.
    pub(crate) fn sleep(&self, stopping: &dyn Fn() -> bool) -> Rouse {
        let bed = self.bed.lock();
        if stopping() {
            return Rouse::Look;
        }
        if self.poll_thread_wanted() && self.leader.load(SeqCst) == NOBODY {
            return Rouse::Lead;
        }
        drop(self.bed_cv.wait(bed));
        Rouse::Look
    }

    /// Runs `f` on the seat once it is free (for `sock_shutdown`, to close it).
    pub(crate) fn with_seat(&self, f: impl FnOnce(&mut S)) {
        f(&mut self.seat.lock());
    }

    /// The waker, to close it.
    pub(crate) fn waker(&self) -> &W {
        &self.waker
    }

    /// Wakes the poll thread to look again, starting it the first time.
    pub(crate) fn nudge(&self) {
        if !self.started.load(SeqCst) && !self.started.swap(true, SeqCst) && !(self.start)() {
            self.started.store(false, SeqCst); // the next nudge tries again
        }
        let _bed = self.bed.lock();
        self.bed_cv.notify_one();
    }
}

/// The seat, held. Dropping it leaves the seat.
pub(crate) struct Lead<'a, S: Source, W: Wake> {
    poller: &'a Poller<S, W>,
    ring: &'a Ring,
    waiter: bool,
    /// Always `Some` until dropped.
    seat: Option<MutexGuard<'a, S>>,
}

impl<S: Source, W: Wake> Lead<'_, S, W> {
    /// Polls for readiness, at most `timeout()` (None: until an event or a wake-up), unless
    /// `stop` says that there is a reason not to. Both are read once `in_poll` is set, so
    /// whatever changes them afterwards wakes the poll. Ok(false): stopped.
    fn poll(
        &mut self,
        timeout: impl FnOnce() -> Option<Duration>,
        stop: impl FnOnce() -> bool,
    ) -> std::io::Result<bool> {
        let Some(seat) = self.seat.as_deref_mut() else {
            return Ok(false);
        };
        self.poller.in_poll.store(true, Relaxed); // ordered by the fence below
        fence(SeqCst);
        if stop() {
            self.poller.in_poll.store(false, Relaxed);
            return Ok(false);
        }
        let polled = seat.poll(timeout());
        self.poller.in_poll.store(false, Relaxed);
        match polled {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                seat.clear();
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Hands what the last poll returned to `dispatch`.
    fn dispatch(&self, dispatch: &mut dyn FnMut(&S)) {
        if let Some(seat) = self.seat.as_deref() {
            dispatch(seat);
        }
    }

    /// A waiter in the seat: polls and dispatches until a message is in the ring or handed to
    /// it by the dispatch, `deadline` passes, or the instance stops. A dispatch hands over
    /// the first message it posts while the ring is empty (the leader would pop that very
    /// message next); every later one goes to the ring, behind it.
    ///
    /// A long wait (`LONG_WAIT` or more) polls without a timeout, with the alarm set to ring
    /// by its deadline (`keeper`); it looks at the clock only after a ring was handled (by
    /// this dispatch: the seat's holder handles them), and keeps its deadline again then if
    /// it has not passed (the ring may have been a timer's).
    fn until_message(
        mut self,
        deadline: Option<Deadline>,
        keeper: &dyn Keeper,
        stopping: &dyn Fn() -> bool,
        dispatch: &mut dyn FnMut(&S) -> Option<Entry>,
    ) -> Result<Option<Entry>, PopError> {
        let ring = self.ring;
        let kept = deadline.filter(|d| d.budget >= LONG_WAIT);
        let mut rings = 0;
        if let Some(d) = kept {
            rings = keeper.rings();
            keeper.keep(d.at);
        }
        // The first poll waits the whole time the caller gave: the deadline was set just now,
        // so the clock is read again only if a poll brings no message.
        let mut first = true;
        loop {
            // `poll` sets `in_poll` before this look: a message posted after it wakes the poll.
            let mut taken = None;
            let look = |taken: &mut Option<Result<Option<Entry>, PopError>>| {
                match ring.try_pop() {
                    Ok(None) if !stopping() => {}
                    Ok(None) => *taken = Some(Err(PopError::Closed)),
                    other => *taken = Some(other),
                }
                taken.is_some()
            };
            let timeout = match deadline {
                _ if kept.is_some() => None,
                Some(d) if std::mem::take(&mut first) => Some(d.budget),
                Some(d) => {
                    let left = d.left();
                    if left.is_zero() {
                        return ring.try_pop();
                    }
                    // Round up: epoll counts whole milliseconds and must not return early
                    // forever.
                    Some(Duration::from_millis(left.as_micros().div_ceil(1000) as u64))
                }
                None => None,
            };
            match self.poll(|| timeout, || look(&mut taken)) {
                Ok(true) => {}
                Ok(false) => return taken.unwrap_or(Ok(None)),
                Err(_) => return Err(PopError::Closed),
            }
            if let Some(seat) = self.seat.as_deref()
                && let Some(entry) = dispatch(seat)
            {
                return Ok(Some(entry));
            }
            // Usually what was dispatched posted the message: take it without the store and
            // fence that announcing another poll costs.
            if let taken @ (Ok(Some(_)) | Err(_)) = ring.try_pop() {
                return taken;
            }
            if let Some(d) = kept
                && keeper.rings() != rings
            {
                if d.passed() {
                    return Ok(None);
                }
                rings = keeper.rings();
                keeper.keep(d.at);
            }
        }
    }
}

impl<S: Source, W: Wake> Drop for Lead<'_, S, W> {
    fn drop(&mut self) {
        self.poller.leader.store(NOBODY, Relaxed); // ordered by the fence in `vacate`
        drop(self.seat.take());
        // Counted after the release: a follower that failed to take the seat sees it. Its
        // fence also stands between clearing `leader` and reading `driven` below.
        self.ring.vacate();
        if self.waiter && self.poller.poll_thread_wanted() {
            self.poller.nudge();
        }
    }
}

#[cfg(all(test, loom))]
mod model {
    use super::*;
    use crate::types::sock_msg;
    use loom::sync::Arc;
    use loom::thread;

    /// The network of the model: readiness waiting to be polled, and a pending wake-up.
    #[derive(Default)]
    struct Net {
        ready: usize,
        woken: bool,
    }

    type Wire = Arc<(Mutex<Net>, Condvar)>;

    /// A `Source` that blocks until readiness is injected or it is woken.
    struct Mock {
        wire: Wire,
        got: usize,
    }

    impl Source for Mock {
        fn poll(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
            let (net, cv) = &*self.wire;
            let mut n = net.lock();
            while n.ready == 0 && !n.woken && timeout != Some(Duration::ZERO) {
                n = cv.wait(n);
            }
            n.woken = false;
            self.got = std::mem::take(&mut n.ready);
            Ok(())
        }

        fn clear(&mut self) {
            self.got = 0;
        }
    }

    struct MockWaker(Wire);

    impl Wake for MockWaker {
        fn wake(&self) {
            let (net, cv) = &*self.0;
            net.lock().woken = true;
            cv.notify_all();
        }
    }

    /// No deadline is long in the models: waits have none.
    struct NoKeeper;

    impl Keeper for NoKeeper {
        fn keep(&self, _at: u64) {}
        fn rings(&self) -> u64 {
            0
        }
    }

    struct World {
        poller: Poller<Mock, MockWaker>,
        ring: Ring,
        wire: Wire,
        stop: AtomicBool,
        /// Times the poll thread was started (the models run it themselves).
        starts: Arc<AtomicUsize>,
    }

    fn world() -> Arc<World> {
        let wire: Wire = Arc::new((Mutex::new(Net::default()), Condvar::new()));
        let starts = Arc::new(AtomicUsize::new(0));
        let counted = starts.clone();
        Arc::new(World {
            poller: Poller::new(
                Mock {
                    wire: wire.clone(),
                    got: 0,
                },
                MockWaker(wire.clone()),
                Box::new(move || {
                    counted.fetch_add(1, SeqCst);
                    true
                }),
            ),
            ring: Ring::default(),
            wire,
            stop: AtomicBool::new(false),
            starts,
        })
    }

    impl World {
        /// A socket becomes readable: the next poll returns it.
        fn inject(&self) {
            let (net, cv) = &*self.wire;
            net.lock().ready += 1;
            cv.notify_all();
        }

        /// What a dispatch does: one message per readiness.
        fn post(&self, seat: &Mock) {
            for _ in 0..seat.got {
                self.ring.push(Entry {
                    msg: sock_msg::default(),
                    generation: 1,
                    settled: false,
                });
                self.poller.notify_leader();
            }
        }

        /// The poll thread in the seat, while it is wanted (no deadlines).
        fn lead_in_background(&self) {
            let stopping = || self.stop.load(SeqCst);
            self.poller
                .lead_in_background(&self.ring, &stopping, &mut |seat| self.post(seat));
        }

        /// `sock_wait_msg(&m, -1)`: the ring first, then the seat or the ring's condition.
        fn wait(&self) -> Option<Entry> {
            if !self.ring.seems_empty()
                && let Ok(Some(e)) = self.ring.try_pop()
            {
                return Some(e);
            }
            let stopping = || self.stop.load(SeqCst);
            self.poller
                .wait(&self.ring, None, &NoKeeper, &stopping, &mut |seat| {
                    self.post(seat);
                    None
                })
                .ok()
                .flatten()
        }
    }

    /// Explores interleavings with at most three preemptions (loom's advice for real code).
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// A waiter leads and gets an event that arrives while, or before, it polls.
    #[test]
    fn a_waiter_in_the_seat_gets_the_event() {
        model(|| {
            let w = world();
            let w2 = w.clone();
            let waiter = thread::spawn(move || w2.wait().is_some());
            w.inject();
            assert!(waiter.join().unwrap());
        });
    }

    /// A message posted by another thread (a timer's) wakes a waiter blocked in the seat.
    #[test]
    fn a_post_from_elsewhere_wakes_the_leader() {
        model(|| {
            let w = world();
            let w2 = w.clone();
            let waiter = thread::spawn(move || w2.wait().is_some());
            w.ring.push(Entry {
                msg: sock_msg::default(),
                generation: 1,
                settled: false,
            });
            w.poller.notify_leader();
            assert!(waiter.join().unwrap());
        });
    }

    /// Two waiters, two events: one leads, the other follows and takes the seat when it is
    /// left; each gets exactly one message and nobody sleeps through a vacancy.
    #[test]
    fn a_follower_takes_the_seat_when_it_is_left() {
        model(|| {
            let w = world();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let w = w.clone();
                    thread::spawn(move || w.wait().is_some())
                })
                .collect();
            w.inject();
            w.inject();
            for waiter in waiters {
                assert!(waiter.join().unwrap());
            }
            assert_eq!(w.ring.len(), 0);
        });
    }

    /// A socket starts needing the background driven while a waiter, which did not count
    /// itself (nothing was driven), is about to lead: the nudged poll thread may take the
    /// seat first. Either way the waiter gets the event's message, and nobody is left
    /// asleep at the end.
    #[test]
    fn a_waiter_that_did_not_count_itself_meets_the_poll_thread() {
        model(|| {
            let w = world();
            let wp = w.clone();
            let poll_thread = thread::spawn(move || {
                let stopping = || wp.stop.load(SeqCst);
                // Bounded: loom would otherwise explore a sleep that keeps reading a stale
                // `leader` (free) and a seat that is taken, each round a new branch.
                for _ in 0..3 {
                    if stopping() {
                        break;
                    }
                    if let Rouse::Lead = wp.poller.sleep(&stopping) {
                        wp.lead_in_background();
                    }
                }
            });
            let w2 = w.clone();
            let waiter = thread::spawn(move || w2.wait().is_some());
            w.poller.driven_changed(true);
            w.inject();
            // The background work ends, and its end wakes the poll: loom counts a thread
            // that tries a lock another thread takes as blocked until that lock is released,
            // so the poll thread must leave the seat at some point for the model to finish.
            w.poller.driven_changed(false);
            w.poller.wake();
            assert!(waiter.join().unwrap());
            w.stop.store(true, SeqCst);
            w.poller.wake();
            w.poller.nudge();
            poll_thread.join().unwrap();
        });
    }

    /// A host loop starts while a socket becomes driven: both want the poll thread, which
    /// is started once.
    #[test]
    fn the_poll_thread_is_started_once() {
        model(|| {
            let w = world();
            let w2 = w.clone();
            let t = thread::spawn(move || w2.poller.host_loop_started());
            w.poller.driven_changed(true);
            t.join().unwrap();
            assert_eq!(w.starts.load(SeqCst), 1);
        });
    }

    /// The poll thread leads in the background (a host loop); a waiter that arrives gets
    /// the event, whether the poll thread dispatched it or handed the seat over first.
    #[test]
    fn the_poll_thread_hands_the_seat_to_a_waiter() {
        model(|| {
            let w = world();
            w.poller.host_loop.store(true, SeqCst);
            let wp = w.clone();
            let poll_thread = thread::spawn(move || wp.lead_in_background());
            let w2 = w.clone();
            let waiter = thread::spawn(move || w2.wait().is_some());
            w.inject();
            assert!(waiter.join().unwrap());
            w.stop.store(true, SeqCst);
            w.poller.wake();
            poll_thread.join().unwrap();
        });
    }
}
