//! The event ring: the bounded message queue that stands in for `rtos.recv`.
//!
//! Producers (the poll thread and API calls) push; any number of threads wait in `pop`, and each
//! message goes to exactly one of them. The ring never refuses a message: its bound comes from
//! the sockets, each of which has a bounded number of messages outstanding (see `socket.rs`).
//! An optional eventfd is readable exactly while messages are pending, for the host's own poll.
//!
//! Why it is correct: all state sits behind one mutex, so every push, pop and discard is
//! atomic with respect to the others; a waiter re-checks the queue after every wake, and a pop
//! that leaves messages behind passes the wake on. The `model` tests check this under every
//! interleaving with loom (`RUSTFLAGS="--cfg loom" cargo test --lib ring::model`).

use crate::constants::MSG_TIMER;
use crate::sync::{AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, fence};
use crate::types::sock_msg;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Instant;

/// A message and the generation of what it belongs to: the socket's (socket messages), the
/// timer's arming (`MSG_TIMER`), or `REPLY` for a compatibility reply that belongs to no
/// socket state (see `compat.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub msg: sock_msg,
    pub generation: u32,
    /// What taking it settles (`Sock::on_taken`) is done: a leader's handoff (`Cx::post`).
    pub settled: bool,
}

/// The generation of compatibility replies; socket and timer generations start at 1.
pub(crate) const REPLY: u32 = 0;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PopError {
    /// The ring was closed by `sock_shutdown`.
    Closed,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Entry>,
    closed: bool,
    /// Created on the first `sock_msg_fd`; kept readable while `queue` is not empty.
    notify_fd: Option<OwnedFd>,
    fd_readable: bool,
    /// The largest length seen, for tests of the bound.
    high_water: usize,
}

/// What a follower's wait ended with.
#[derive(Debug)]
pub(crate) enum Followed {
    Message(Entry),
    /// The seat was left: try to lead.
    Vacant,
    TimedOut,
}

#[derive(Default)]
pub(crate) struct Ring {
    state: Mutex<State>,
    ready: Condvar,
    /// How many times the poller's seat was left (see `poller.rs`): a follower that read one
    /// count before trying the seat and sees another after must try again. Counted by a
    /// leaving leader without the state's lock; a follower reads it before trying the seat,
    /// and again after registering as a waiter, behind a fence that mirrors the leader's
    /// (`vacate`, `wait`).
    vacancies: AtomicU64,
    /// The queue's length, written under the state's lock after every change and read
    /// without it (`seems_empty`).
    pending: AtomicUsize,
    /// Threads waiting on `ready`: changed under the state's lock, read without it by a
    /// leaving leader (`vacate`).
    waiters: AtomicUsize,
}

impl Ring {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    pub(crate) fn push(&self, entry: Entry) {
        if self.push_quiet(entry) {
            self.wake_one();
        }
    }

    /// Queues a message without waking anyone; true when a waiter should be woken
    /// (`wake_one`), which the caller does once it holds no lock a waiter would need next.
    pub(crate) fn push_quiet(&self, entry: Entry) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        st.queue.push_back(entry);
        st.high_water = st.high_water.max(st.queue.len());
        self.settle(&mut st);
        self.waiters.load(Relaxed) > 0
    }

    pub(crate) fn wake_one(&self) {
        self.ready.notify_one();
    }

    /// Takes the oldest message, waiting up to `timeout` (`None` waits forever).
    #[cfg(test)]
    pub(crate) fn pop(
        &self,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<Entry>, PopError> {
        // A poll reads no clock: it stays cheap.
        let deadline = match timeout {
            Some(t) if t.is_zero() => Some(None),
            Some(t) => Some(Some(Instant::now() + t)),
            None => None,
        };
        match self.wait(None, deadline)? {
            Followed::Message(entry) => Ok(Some(entry)),
            Followed::Vacant | Followed::TimedOut => Ok(None),
        }
    }

    /// The number of vacancies so far; read before trying the seat.
    pub(crate) fn vacancies(&self) -> u64 {
        self.vacancies.load(SeqCst)
    }

    /// The seat was left (and released before this): wakes every follower to try it. The
    /// count and a follower's registration are a write then a read on each side with a fence
    /// between (see `wait`), so either the follower sees the new count or this sees the
    /// follower; the lock is taken only to wake someone.
    pub(crate) fn vacate(&self) {
        self.vacancies.fetch_add(1, Relaxed);
        fence(SeqCst);
        if self.waiters.load(Relaxed) > 0 {
            let _st = self.lock();
            self.ready.notify_all();
        }
    }

    /// A follower's wait: the oldest message, or the seat left since `seen` vacancies, or
    /// `deadline` passed (None: no deadline).
    pub(crate) fn follow(
        &self,
        seen: u64,
        deadline: Option<Instant>,
    ) -> Result<Followed, PopError> {
        self.wait(Some(seen), deadline.map(Some))
    }

    /// The oldest message if there is one, without waiting (the poll of every `sock_wait_msg`
    /// and of a leader between its polls: no deadline to work out).
    pub(crate) fn try_pop(&self) -> Result<Option<Entry>, PopError> {
        let mut st = self.lock();
        if st.closed {
            return Err(PopError::Closed);
        }
        Ok(self.take_front(&mut st))
    }

    fn take_front(&self, st: &mut State) -> Option<Entry> {
        let entry = st.queue.pop_front()?;
        self.settle(st);
        // Another waiter may be owed a wake for a message pushed while we held the lock.
        if !st.queue.is_empty() && self.waiters.load(Relaxed) > 0 {
            self.ready.notify_one();
        }
        Some(entry)
    }

    /// Waits for a message, or a vacancy after `seen` (if given), until `deadline`: None
    /// waits forever, `Some(None)` does not wait.
    fn wait(
        &self,
        seen: Option<u64>,
        deadline: Option<Option<Instant>>,
    ) -> Result<Followed, PopError> {
        let mut st = self.lock();
        loop {
            if st.closed {
                return Err(PopError::Closed);
            }
            if let Some(entry) = self.take_front(&mut st) {
                return Ok(Followed::Message(entry));
            }
            if deadline == Some(None) {
                return Ok(Followed::TimedOut);
            }
            // Registered before the vacancy count is read (the mirror of `vacate`).
            self.waiters.fetch_add(1, Relaxed);
            if seen.is_some() {
                fence(SeqCst);
            }
            if seen.is_some_and(|n| n != self.vacancies.load(Relaxed)) {
                self.waiters.fetch_sub(1, Relaxed);
                return Ok(Followed::Vacant);
            }
            let timed_out = match deadline {
                None => {
                    st = self.ready.wait(st);
                    false
                }
                Some(d) => {
                    let d = d.unwrap_or_else(Instant::now);
                    let left = d.saturating_duration_since(Instant::now());
                    let (guard, timed_out) = self.ready.wait_timeout(st, left);
                    st = guard;
                    timed_out
                }
            };
            self.waiters.fetch_sub(1, Relaxed);
            if timed_out && st.queue.is_empty() && !st.closed {
                return Ok(Followed::TimedOut);
            }
        }
    }

    /// Drops every pending message of socket `id` (its `sock_destroy`); timer expiries, whose
    /// `socket_index` is a timer id, are spared. Returns how many compatibility replies went.
    pub(crate) fn discard(&self, id: i32) -> usize {
        let mut st = self.lock();
        let mut replies = 0;
        st.queue.retain(|e| {
            let drop = e.msg.socket_index == id && e.msg.id != MSG_TIMER;
            replies += usize::from(drop && e.generation == REPLY);
            !drop
        });
        self.settle(&mut st);
        replies
    }

    /// Drops the pending expiry of timer `id`, if any (its `sock_timer_stop` or restart).
    pub(crate) fn discard_timer(&self, id: i32) {
        let mut st = self.lock();
        st.queue
            .retain(|e| !(e.msg.id == MSG_TIMER && e.msg.socket_index == id));
        self.settle(&mut st);
    }

    /// Wakes every waiter with `PopError::Closed` and refuses further messages.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.queue.clear();
        st.notify_fd = None;
        self.settle(&mut st);
        self.ready.notify_all();
    }

    /// The eventfd that is readable while messages are pending, created on first use.
    pub(crate) fn notify_fd(&self) -> io::Result<RawFd> {
        let mut st = self.lock();
        if let Some(fd) = &st.notify_fd {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just returned by eventfd and is owned by nobody else.
        st.notify_fd = Some(unsafe { OwnedFd::from_raw_fd(raw) });
        st.fd_readable = false;
        self.settle(&mut st);
        Ok(raw)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub(crate) fn high_water(&self) -> usize {
        self.lock().high_water
    }
}

impl Ring {
    /// No message is pending, as far as this thread can know without the lock: a message
    /// pushed before anything this thread has synchronized with is seen. A caller that then
    /// waits looks again under the lock before it sleeps (the leader's look, a follower's
    /// wait), so a message pushed meanwhile is not slept through.
    pub(crate) fn seems_empty(&self) -> bool {
        self.pending.load(Acquire) == 0
    }

    /// After a change to the queue, with the lock held: `pending` and the eventfd follow it.
    fn settle(&self, st: &mut State) {
        self.pending.store(st.queue.len(), Release);
        sync_fd(st);
    }
}

/// Makes the eventfd's readability match "messages pending". Called with the lock held.
fn sync_fd(st: &mut State) {
    let Some(fd) = &st.notify_fd else { return };
    let want = !st.queue.is_empty();
    if want == st.fd_readable {
        return;
    }
    let fd = fd.as_raw_fd();
    let mut value: u64 = 1;
    let buf = (&mut value as *mut u64).cast::<libc::c_void>();
    // SAFETY: `buf` points at 8 writable bytes, as eventfd requires. The counter cannot
    // overflow (we add 1 only when it is 0), and reading only happens when it is 1, so neither
    // call blocks or fails on a valid eventfd.
    unsafe {
        if want {
            libc::write(fd, buf, 8);
        } else {
            libc::read(fd, buf, 8);
        }
    }
    st.fd_readable = want;
}

#[cfg(all(test, loom))]
mod model {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn entry(id: i32) -> Entry {
        Entry {
            msg: sock_msg {
                socket_index: id,
                ..Default::default()
            },
            generation: 0,
            settled: false,
        }
    }

    /// Explores interleavings with at most three preemptions (loom's advice for real code).
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// A producer and two blocking consumers: each message is taken exactly once and no
    /// consumer sleeps through a message meant for it.
    #[test]
    fn each_message_exactly_once() {
        model(|| {
            let ring = Arc::new(Ring::default());
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let r = ring.clone();
                    thread::spawn(move || r.pop(None).unwrap().unwrap().msg.socket_index)
                })
                .collect();
            ring.push(entry(0));
            ring.push(entry(1));
            let mut got: Vec<i32> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, vec![0, 1]);
        });
    }

    /// A discard racing a push and a pop never loses another socket's message.
    #[test]
    fn discard_spares_other_sockets() {
        model(|| {
            let ring = Arc::new(Ring::default());
            ring.push(entry(1));
            let r1 = ring.clone();
            let d = thread::spawn(move || r1.discard(1));
            let r2 = ring.clone();
            let p = thread::spawn(move || r2.push(entry(2)));
            d.join().unwrap();
            p.join().unwrap();
            let e = ring.pop(None).unwrap().unwrap();
            assert_eq!(e.msg.socket_index, 2);
            assert_eq!(ring.len(), 0);
        });
    }

    /// Close wakes a blocked consumer.
    #[test]
    fn close_wakes_a_waiter() {
        model(|| {
            let ring = Arc::new(Ring::default());
            let r = ring.clone();
            let c = thread::spawn(move || r.pop(None));
            ring.close();
            assert_eq!(c.join().unwrap().unwrap_err(), PopError::Closed);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn entry(id: i32, seq: i32) -> Entry {
        Entry {
            msg: sock_msg {
                id: 31,
                socket_index: id,
                recv_len: seq,
                ..Default::default()
            },
            generation: 0,
            settled: false,
        }
    }

    #[test]
    fn fifo_and_timeout() {
        let ring = Ring::default();
        assert!(ring.pop(Some(Duration::ZERO)).unwrap().is_none());
        for i in 0..5 {
            ring.push(entry(1, i));
        }
        for i in 0..5 {
            let e = ring.pop(Some(Duration::ZERO)).unwrap().unwrap();
            assert_eq!(e.msg.recv_len, i);
        }
        assert!(ring.pop(Some(Duration::from_millis(5))).unwrap().is_none());
    }

    #[test]
    fn discard_removes_only_that_socket() {
        let ring = Ring::default();
        for i in 0..6 {
            ring.push(entry(i % 2, i));
        }
        ring.discard(0);
        let mut seen = vec![];
        while let Some(e) = ring.pop(Some(Duration::ZERO)).unwrap() {
            assert_eq!(e.msg.socket_index, 1);
            seen.push(e.msg.recv_len);
        }
        assert_eq!(seen, vec![1, 3, 5]);
    }

    #[test]
    fn socket_and_timer_discards_keep_to_their_own() {
        let ring = Ring::default();
        let timer = |id| Entry {
            msg: sock_msg {
                id: MSG_TIMER,
                socket_index: id,
                ..Default::default()
            },
            generation: 7,
            settled: false,
        };
        let mut socket_msg = entry(3, 0);
        socket_msg.generation = 9;
        ring.push(timer(3));
        ring.push(socket_msg);
        ring.push(entry(3, 1)); // a compatibility reply (generation REPLY)
        ring.push(timer(4));
        assert_eq!(ring.discard(3), 1, "one reply of socket 3 went");
        assert_eq!(ring.len(), 2, "timer 3 was spared by socket 3's discard");
        ring.discard_timer(3);
        let left = ring.pop(Some(Duration::ZERO)).unwrap().unwrap();
        assert_eq!((left.msg.id, left.msg.socket_index), (MSG_TIMER, 4));
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn notify_fd_tracks_pending_messages() {
        let ring = Ring::default();
        let fd = ring.notify_fd().unwrap();
        let readable = || {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, zero timeout.
            unsafe { libc::poll(&mut p, 1, 0) == 1 }
        };
        assert!(!readable());
        ring.push(entry(1, 0));
        ring.push(entry(1, 1));
        assert!(readable());
        ring.pop(None).unwrap();
        assert!(readable());
        ring.pop(None).unwrap();
        assert!(!readable());
    }

    #[test]
    fn each_message_goes_to_exactly_one_waiter() {
        let ring = Arc::new(Ring::default());
        let per_thread = 2000;
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let ring = ring.clone();
                std::thread::spawn(move || {
                    let mut got = vec![];
                    while let Ok(Some(e)) = ring.pop(Some(Duration::from_secs(10))) {
                        if e.msg.recv_len < 0 {
                            break;
                        }
                        got.push(e.msg.recv_len);
                    }
                    got
                })
            })
            .collect();
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let ring = ring.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        ring.push(entry(p, p * per_thread + i));
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        for _ in 0..4 {
            ring.push(entry(9, -1));
        }
        let mut all: Vec<i32> = waiters
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..2 * per_thread).collect::<Vec<_>>());
    }

    #[test]
    fn close_wakes_waiters() {
        let ring = Arc::new(Ring::default());
        let r2 = ring.clone();
        let t = std::thread::spawn(move || r2.pop(None));
        std::thread::sleep(Duration::from_millis(20));
        ring.close();
        assert_eq!(t.join().unwrap().unwrap_err(), PopError::Closed);
    }
}
