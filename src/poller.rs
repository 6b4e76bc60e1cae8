//! Who polls: one seat, the leader/follower hand-off.
//!
//! mio's `Poll` and its event buffer sit behind one lock, the seat. Whoever holds it is the
//! leader, the only thread in `Poll::poll`; it dispatches what it gets and sockets post the
//! results to the ring. A thread waiting in `sock_wait_msg` with nothing to take leads itself,
//! so an event reaches it with no hand-off between threads (the latency and the syscalls of a
//! single-threaded event loop); further waiters follow, sleeping on the ring until a message
//! comes or the seat falls vacant. The poll thread leads only when no waiter does and someone
//! needs the sockets driven in the background: a host loop watches `sock_msg_fd`, or a socket
//! must make progress the peer would notice (`Sock::count_driven`). It always keeps the
//! deadlines (`timers.rs`), sleeping in its bed until the earliest.
//!
//! The rules that keep wake-ups from being lost, each a write then a read on one thread and
//! the mirror pair on another, with a SeqCst fence between write and read on both sides, so
//! at least one of them sees the other (the fences, not SeqCst accesses alone, are what the
//! C++/Rust model and loom guarantee this for):
//! - a leader sets `in_poll` and then looks at the ring, at `waiting` and at the deadlines; a
//!   waiter raises `waiting` and then reads `in_poll` (`wait`); a new earliest deadline is
//!   added and then `in_poll` read (`earlier_deadline`). A poster pushes to the ring under its
//!   lock and then reads `in_poll` (`notify_leader`): the lock orders that pair.
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
//! - a waiter that leads with a long wait hands its deadline to the poll thread (`watch`)
//!   and then reads the poll thread's bed time; the poll thread writes its bed time and then
//!   reads the watched deadline (`sleep`). Once that deadline passes, the poll thread marks
//!   it expired and then reads `in_poll`; the leader sets `in_poll` and then reads the mark
//!   (`expire_watch`, `until_message`).
//!
//! The protocol is generic over what is polled and how it is woken, so that the `model` tests
//! check it with loom (`RUSTFLAGS="--cfg loom" cargo test --lib poller::model`).

use crate::clock::{self, Deadline};
use crate::ready_events::ReadyEvents;
use crate::ring::{Entry, Followed, PopError, Ring};
use crate::sync::{
    AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, fence,
};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

const EVENTS_PER_POLL: usize = 1024;

const NOBODY: u8 = 0;
const POLL_THREAD: u8 = 1;
const WAITER: u8 = 2;

/// A wait at least this long polls without a timeout, and the poll thread keeps its
/// deadline: epoll_wait with a timeout reads the clock, and arms and cancels a kernel timer
/// whenever it sleeps, about 2 % of a request/response round trip on one CPU. The poll
/// thread's wake-up at the deadline costs more than that timer, so short waits, which
/// time out often, keep epoll's timeout.
pub(crate) const LONG_WAIT: Duration = Duration::from_secs(1);

/// `Poller::watched`: no deadline watched.
const UNWATCHED: u64 = u64::MAX;
/// `Poller::watched`: the watched deadline has passed.
const EXPIRED: u64 = u64::MAX - 1;
/// `Poller::bed_time`: the poll thread is awake (it reads `watched` before it sleeps).
const AWAKE: u64 = 0;
/// `Poller::bed_time`: the poll thread sleeps with no deadline.
const NO_DEADLINE: u64 = u64::MAX;

/// The `Poller::bed_time` for a poll thread sleeping until `until` (`clock::now_ns` terms).
fn bed_time_of(until: Option<u64>) -> u64 {
    until.map_or(NO_DEADLINE, |at| at.clamp(AWAKE + 1, NO_DEADLINE - 1))
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
    /// The poll thread sleeps here until this deadline (`Some(None)`: until nudged).
    bed: Mutex<Option<Option<Instant>>>,
    bed_cv: Condvar,
    /// The deadline of a waiter leading with a long wait, in `clock::now_ns` terms
    /// (`UNWATCHED`, or `EXPIRED` once the poll thread saw it pass).
    watched: AtomicU64,
    /// When the poll thread wakes, in `clock::now_ns` terms (`AWAKE`, `NO_DEADLINE`).
    bed_time: AtomicU64,
}

/// Why the poll thread woke.
pub(crate) enum Rouse {
    /// It is wanted in the seat.
    Lead,
    /// A deadline may be due, or something changed: look again.
    Look,
}

impl<S: Source, W: Wake> Poller<S, W> {
    pub(crate) fn new(seat: S, waker: W) -> Poller<S, W> {
        Poller {
            seat: Mutex::new(seat),
            waker,
            leader: AtomicU8::new(NOBODY),
            in_poll: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            host_loop: AtomicBool::new(false),
            driven: AtomicUsize::new(0),
            bed: Mutex::new(None),
            bed_cv: Condvar::new(),
            watched: AtomicU64::new(UNWATCHED),
            bed_time: AtomicU64::new(AWAKE),
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
                break lead.until_message(deadline, stopping, dispatch);
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
    /// needs driving; `timeout` is how long until the next deadline, `housekeeping` runs
    /// after every poll.
    pub(crate) fn lead_in_background(
        &self,
        ring: &Ring,
        stopping: &dyn Fn() -> bool,
        timeout: &dyn Fn() -> Option<Duration>,
        dispatch: &mut dyn FnMut(&S),
        housekeeping: &dyn Fn(),
    ) {
        let Some(mut lead) = self.try_lead(false, ring) else {
            return; // someone took the seat first
        };
        loop {
            let stop = || stopping() || !self.poll_thread_wanted();
            match lead.poll(timeout, stop) {
                Ok(true) => {}
                Ok(false) | Err(_) => return, // an error means a broken epoll descriptor
            }
            lead.dispatch(dispatch);
            housekeeping();
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

    /// A deadline was added that is earlier than every other: whoever sleeps until the old
    /// earliest must look again.
    pub(crate) fn earlier_deadline(&self, at: Instant) {
        fence(SeqCst); // the deadline was added: see the rules at the top
        {
            let bed = self.bed.lock();
            if bed.is_some_and(|until| until.is_none_or(|u| at < u)) {
                self.bed_cv.notify_one();
            }
        }
        if self.leader.load(SeqCst) == POLL_THREAD && self.in_poll.load(SeqCst) {
            self.wake(); // its poll timeout was the old earliest
        }
    }

    /// Sends the leader out of its poll.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    // ----- the poll thread's bed -----

    /// The poll thread sleeps until `deadline()` (read under the bed lock, so a deadline
    /// added meanwhile is not slept through), or until it is wanted in the seat or nudged.
    pub(crate) fn sleep(
        &self,
        stopping: &dyn Fn() -> bool,
        deadline: &dyn Fn() -> Option<Instant>,
    ) -> Rouse {
        let mut bed = self.bed.lock();
        if stopping() {
            return Rouse::Look;
        }
        if self.poll_thread_wanted() && self.leader.load(SeqCst) == NOBODY {
            return Rouse::Lead;
        }
        let until = self.bed_deadline(deadline());
        let now = until.map(|_| Instant::now());
        if let (Some(at), Some(now)) = (until, now)
            && at <= now
        {
            self.bed_time.store(AWAKE, Relaxed);
            return Rouse::Look;
        }
        *bed = Some(until);
        bed = match (until, now) {
            (Some(at), Some(now)) => self.bed_cv.wait_timeout(bed, at - now).0,
            _ => self.bed_cv.wait(bed),
        };
        *bed = None;
        self.bed_time.store(AWAKE, Relaxed);
        Rouse::Look
    }

    // ----- a long wait's deadline, kept by the poll thread -----

    /// When the poll thread, about to sleep, must wake: at the earliest of `deadline` and
    /// the watched deadline. Published, then the watched deadline read again: a leader that
    /// set one meanwhile either is seen here or sees this bed time and nudges (`watch`).
    ///
    /// Worked out in `clock::now_ns` terms: the watched deadline is published exactly as the
    /// leader stored it (an `Instant` round trip is off by the clock reads between, and a
    /// bed time a few nanoseconds past it would cost the leader a needless nudge).
    fn bed_deadline(&self, deadline: Option<Instant>) -> Option<Instant> {
        let earliest = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let own = deadline.map(clock::ns_of);
        let until = earliest(own, self.watched_ns());
        self.bed_time.store(bed_time_of(until), Relaxed);
        fence(SeqCst);
        let again = earliest(until, self.watched_ns());
        if again != until {
            self.bed_time.store(bed_time_of(again), Relaxed); // spares the next leader a nudge
        }
        match again {
            Some(at) if Some(at) != own => Some(clock::instant_of(at)),
            _ => deadline,
        }
    }

    fn watched_ns(&self) -> Option<u64> {
        match self.watched.load(SeqCst) {
            UNWATCHED | EXPIRED => None,
            at => Some(at),
        }
    }

    /// A leader polls without a timeout until `at` (`clock::now_ns` terms): the poll thread
    /// wakes it then. Returns whether the poll thread had to be nudged to see it.
    ///
    /// A leader that leaves does not take its deadline back: the poll thread, which may have
    /// gone back to sleep meanwhile (after leading in the background, say), then sleeps
    /// until it, and the next leader, whose deadline is later, need not nudge it. At worst
    /// it wakes once at a deadline nobody waits for any more.
    fn watch(&self, at: u64) -> bool {
        let at = at.clamp(AWAKE + 1, EXPIRED - 1);
        self.watched.store(at, Relaxed); // ordered by the fence
        fence(SeqCst);
        let bed = self.bed_time.load(Relaxed);
        let past = bed != AWAKE && bed > at;
        if past {
            self.nudge(); // it sleeps past the deadline: it must look again
        }
        past
    }

    /// Whether the poll thread saw the watched deadline pass.
    fn watch_expired(&self) -> bool {
        self.watched.load(SeqCst) == EXPIRED
    }

    /// The poll thread, awake: marks a watched deadline that has passed and wakes the leader
    /// in its poll.
    pub(crate) fn expire_watch(&self) {
        let at = self.watched.load(SeqCst);
        if at < EXPIRED && at <= clock::now_ns() {
            self.expire_watch_at(at);
        }
    }

    fn expire_watch_at(&self, at: u64) {
        // A leader that replaced the deadline meanwhile is left alone.
        if self
            .watched
            .compare_exchange(at, EXPIRED, SeqCst, Relaxed)
            .is_ok()
        {
            fence(SeqCst);
            if self.in_poll.load(SeqCst) && self.leader.load(SeqCst) == WAITER {
                self.wake();
            }
        }
    }

    /// Runs `f` on the seat once it is free (for `sock_shutdown`, to close it).
    pub(crate) fn with_seat(&self, f: impl FnOnce(&mut S)) {
        f(&mut self.seat.lock());
    }

    /// The waker, to close it.
    pub(crate) fn waker(&self) -> &W {
        &self.waker
    }

    /// Wakes the poll thread to look again.
    pub(crate) fn nudge(&self) {
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
    /// A long wait (`LONG_WAIT` or more) polls without a timeout and the poll thread keeps
    /// its deadline, marking it expired and waking this poll once it passes.
    fn until_message(
        mut self,
        deadline: Option<Deadline>,
        stopping: &dyn Fn() -> bool,
        dispatch: &mut dyn FnMut(&S) -> Option<Entry>,
    ) -> Result<Option<Entry>, PopError> {
        let ring = self.ring;
        let poller = self.poller;
        let watched = deadline.filter(|d| d.budget >= LONG_WAIT);
        if let Some(d) = watched {
            let _nudged = poller.watch(d.at);
        }
        let watch = watched.is_some();
        // The first poll waits the whole time the caller gave: the deadline was set just now,
        // so the clock is read again only if a poll brings no message.
        let mut first = true;
        loop {
            // `poll` sets `in_poll` before this look: a message posted after it wakes the poll,
            // and so does the poll thread once the watched deadline has passed.
            let mut taken = None;
            let look = |taken: &mut Option<Result<Option<Entry>, PopError>>| {
                match ring.try_pop() {
                    Ok(None) if !stopping() => {}
                    Ok(None) => *taken = Some(Err(PopError::Closed)),
                    other => *taken = Some(other),
                }
                taken.is_some() || (watch && poller.watch_expired())
            };
            let timeout = match deadline {
                _ if watch => None,
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

    struct World {
        poller: Poller<Mock, MockWaker>,
        ring: Ring,
        wire: Wire,
        stop: AtomicBool,
    }

    fn world() -> Arc<World> {
        let wire: Wire = Arc::new((Mutex::new(Net::default()), Condvar::new()));
        Arc::new(World {
            poller: Poller::new(
                Mock {
                    wire: wire.clone(),
                    got: 0,
                },
                MockWaker(wire.clone()),
            ),
            ring: Ring::default(),
            wire,
            stop: AtomicBool::new(false),
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
            self.poller.lead_in_background(
                &self.ring,
                &stopping,
                &|| None,
                &mut |seat| self.post(seat),
                &|| {},
            );
        }

        /// `sock_wait_msg(&m, -1)`: the ring first, then the seat or the ring's condition.
        fn wait(&self) -> Option<Entry> {
            self.wait_until(None).ok().flatten()
        }

        /// `sock_wait_msg` until `deadline` (None: no deadline).
        fn wait_until(&self, deadline: Option<Deadline>) -> Result<Option<Entry>, PopError> {
            if !self.ring.seems_empty()
                && let Ok(Some(e)) = self.ring.try_pop()
            {
                return Ok(Some(e));
            }
            let stopping = || self.stop.load(SeqCst);
            self.poller
                .wait(&self.ring, deadline, &stopping, &mut |seat| {
                    self.post(seat);
                    None
                })
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
                    if let Rouse::Lead = wp.poller.sleep(&stopping, &|| None) {
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

    /// A waiter leads with a long wait and nothing comes: the poll thread, at the deadline,
    /// marks it expired and wakes the poll, whether the leader is in it yet or not.
    #[test]
    fn a_long_wait_ends_when_the_poll_thread_sees_its_deadline_pass() {
        model(|| {
            let w = world();
            let w2 = w.clone();
            let waiter = thread::spawn(move || w2.wait_until(Some(Deadline::after(LONG_WAIT))));
            // The poll thread wakes at the deadline, which the leader has published by then.
            let at = loop {
                let at = w.poller.watched.load(SeqCst);
                if at != UNWATCHED {
                    break at;
                }
                thread::yield_now();
            };
            w.poller.expire_watch_at(at);
            assert!(
                matches!(waiter.join().unwrap(), Ok(None)),
                "timed out, no message"
            );
            assert_eq!(
                w.poller.watched.load(SeqCst),
                EXPIRED,
                "marked, and left so"
            );
        });
    }

    /// A leader hands over its deadline while the poll thread works out when to sleep until:
    /// the poll thread either includes the deadline or is nudged.
    #[test]
    fn a_watched_deadline_reaches_the_poll_thread_about_to_sleep() {
        model(|| {
            let w = world();
            let at = clock::now_ns() + 1_000_000_000;
            let wp = w.clone();
            let poll_thread = thread::spawn(move || {
                wp.poller.bed_deadline(None);
                wp.poller.bed_time.load(SeqCst)
            });
            let nudged = w.poller.watch(at);
            let bed_time = poll_thread.join().unwrap();
            // Its final bed time is the deadline itself (no clock conversion between).
            let seen = bed_time == at;
            assert!(
                seen || nudged,
                "the poll thread would sleep through the deadline"
            );
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
