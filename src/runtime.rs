//! The running instance: shared state, the poll thread's start and stop, and the global handle
//! that API calls use. `sock_shutdown` takes the instance down; the next call makes a new one.

use crate::app_timers::AppTimers;
use crate::codes::*;
use crate::compat::Replies;
use crate::constants::SOCK_DEFAULT_MAX_SOCKETS;
use crate::poll_loop;
use crate::resolver::Resolver;
use crate::ring::Ring;
use crate::socket::Sock;
use crate::table::Table;
use crate::timers::{Timer, Timers};
use mio::{Poll, Registry, Token, Waker};
use parking_lot::{Mutex, RwLock};
use std::ffi::c_int;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// Work handed to the poll thread.
pub(crate) enum Cmd {
    /// Connect this socket to the resolved addresses, or fail it with the resolver's code.
    Start(Arc<Sock>, Result<Vec<SocketAddr>, c_int>),
}

pub(crate) struct Shared {
    pub ring: Ring,
    pub table: RwLock<Table<Sock>>,
    pub timers: Timers,
    pub app_timers: AppTimers,
    pub replies: Replies,
    pub registry: Registry,
    pub resolver: Resolver,
    waker: Waker,
    cmds: Mutex<Vec<Cmd>>,
    stopping: AtomicBool,
    epfd: RawFd,
    /// The poll thread's `Poll` once it has stopped, kept so `epfd` stays valid.
    retired: Mutex<Option<Poll>>,
    /// A waiter is polling inline (see `poll_loop`).
    pub inline: AtomicBool,
    /// When inline polling last ended, in ns since `born`.
    inline_ended: AtomicU64,
    born: Instant,
    /// The poll thread is inside epoll_wait.
    pub poller_in_epoll: AtomicBool,
    /// Counts inline polling sessions, so the poll thread can tell one long session (an idle
    /// waiter) from many short ones.
    pub inline_sessions: AtomicU64,
    /// The poll thread sleeps until the inline poller leaves (see `park_poller`).
    deep_parked: AtomicBool,
    park: Mutex<()>,
    park_cv: parking_lot::Condvar,
}

impl Shared {
    pub(crate) fn add_timer(&self, timer: Timer) {
        if self.timers.add(timer) {
            let _ = self.waker.wake();
            self.nudge_poller();
        }
    }

    pub(crate) fn submit(&self, cmd: Cmd) {
        let mut cmds = self.cmds.lock();
        cmds.push(cmd);
        // Wakes coalesce: the poll thread drains the whole queue on each wake.
        if cmds.len() == 1 {
            let _ = self.waker.wake();
            self.nudge_poller();
        }
    }

    pub(crate) fn take_cmds(&self) -> Vec<Cmd> {
        std::mem::take(&mut *self.cmds.lock())
    }

    pub(crate) fn lookup(&self, id: c_int) -> Option<Arc<Sock>> {
        self.table.read().get(id).cloned()
    }

    pub(crate) fn lookup_current(&self, id: c_int, generation: u32) -> Option<Arc<Sock>> {
        self.table.read().get_current(id, generation).cloned()
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// After a push: an inline poller sleeping in epoll must learn of the message.
    pub(crate) fn notify_inline(&self) {
        if self.inline.load(Ordering::SeqCst) && !crate::poll_loop::is_inline_thread() {
            self.wake();
        }
    }

    pub(crate) fn epoll_fd(&self) -> RawFd {
        self.epfd
    }

    pub(crate) fn retire(&self, poll: Poll) {
        *self.retired.lock() = Some(poll);
    }

    pub(crate) fn inline_done(&self) {
        if self.ring.has_waiters() {
            // Others wait on the ring and nobody polls for them now: hand back at once.
            self.inline_ended.store(0, Ordering::SeqCst);
            self.inline.store(false, Ordering::SeqCst);
            let _guard = self.park.lock();
            self.park_cv.notify_all();
        } else {
            self.inline_ended
                .store(self.born.elapsed().as_nanos() as u64, Ordering::SeqCst);
            self.inline.store(false, Ordering::SeqCst);
            // Pairs with `park_poller`: it sets `deep_parked` before it reads `inline`.
            if self.deep_parked.load(Ordering::SeqCst) {
                let _guard = self.park.lock();
                self.park_cv.notify_all();
            }
        }
    }

    /// How much longer the poll thread stays out of epoll: `window` while a thread polls
    /// inline, then what is left of `window` after that thread stopped; None to take over now.
    pub(crate) fn step_aside_for(&self, window: Duration) -> Option<Duration> {
        if self.inline.load(Ordering::SeqCst) {
            return Some(window);
        }
        let ended = Duration::from_nanos(self.inline_ended.load(Ordering::SeqCst));
        if ended.is_zero() {
            return None;
        }
        let since = self.born.elapsed().saturating_sub(ended);
        window.checked_sub(since).filter(|left| !left.is_zero())
    }

    /// The poll thread steps aside for up to `time`, or until the earliest timer is due, or
    /// until `nudge_poller`. The timer is read under the park lock, which `nudge_poller` takes
    /// too, so a timer or command added meanwhile is never slept through.
    ///
    /// If one inline polling session lasted the whole time (a thread waits and nothing
    /// happens), that thread serves the events and the timers: the poll thread then sleeps
    /// until it leaves (`inline_done`), a command or a new earliest timer comes, or shutdown,
    /// so an idle library makes no wake-ups.
    pub(crate) fn park_poller(&self, time: Duration) {
        let mut guard = self.park.lock();
        if self.is_stopping() {
            return;
        }
        let session = self.inline_sessions.load(Ordering::SeqCst);
        let wait = self
            .timers
            .due_in(Instant::now())
            .map_or(time, |left| left.min(time));
        if !wait.is_zero() && !self.park_cv.wait_for(&mut guard, wait).timed_out() {
            return; // nudged: something needs the poll thread to look again
        }
        // Set before `inline` is read; `inline_done` clears `inline` before it reads this
        // (both SeqCst), so one of the two sees the other and no wake-up is lost.
        self.deep_parked.store(true, Ordering::SeqCst);
        if self.inline.load(Ordering::SeqCst)
            && self.inline_sessions.load(Ordering::SeqCst) == session
            && !self.is_stopping()
        {
            self.park_cv.wait(&mut guard);
        }
        self.deep_parked.store(false, Ordering::SeqCst);
    }

    /// Wakes a parked poll thread: a new earliest timer, or a command, wants it.
    fn nudge_poller(&self) {
        let _guard = self.park.lock();
        self.park_cv.notify_one();
    }
}

struct Runtime {
    shared: Arc<Shared>,
    poll_thread: JoinHandle<()>,
    /// Dropped last, after every thread of the instance has been joined.
    pin: Option<crate::library_pin::LibraryPin>,
}

static CURRENT: RwLock<Option<Runtime>> = RwLock::new(None);
static MAX_SOCKETS: AtomicUsize = AtomicUsize::new(SOCK_DEFAULT_MAX_SOCKETS as usize);

/// The running instance, if any (calls about an existing id never start one).
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT.read().as_ref().map(|rt| rt.shared.clone())
}

/// The running instance, started if needed.
pub(crate) fn get() -> Result<Arc<Shared>, c_int> {
    if let Some(sh) = current() {
        return Ok(sh);
    }
    let mut slot = CURRENT.write();
    if let Some(rt) = slot.as_ref() {
        return Ok(rt.shared.clone());
    }
    let rt = start().map_err(|e| crate::errno::code_of(&e))?;
    let sh = rt.shared.clone();
    *slot = Some(rt);
    Ok(sh)
}

fn start() -> std::io::Result<Runtime> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
    let epfd = crate::poll_loop::epoll_fd_of(&poll);
    let shared = Arc::new(Shared {
        ring: Ring::default(),
        table: RwLock::new(Table::new(MAX_SOCKETS.load(Ordering::Relaxed))),
        timers: Timers::default(),
        app_timers: AppTimers::default(),
        replies: Replies::default(),
        registry: poll.registry().try_clone()?,
        resolver: Resolver::default(),
        waker,
        cmds: Mutex::new(Vec::new()),
        stopping: AtomicBool::new(false),
        epfd,
        retired: Mutex::new(None),
        inline: AtomicBool::new(false),
        inline_ended: AtomicU64::new(0),
        born: Instant::now(),
        poller_in_epoll: AtomicBool::new(false),
        inline_sessions: AtomicU64::new(0),
        deep_parked: AtomicBool::new(false),
        park: Mutex::new(()),
        park_cv: parking_lot::Condvar::new(),
    });
    let sh = shared.clone();
    let poll_thread = std::thread::Builder::new()
        .name("socketcore-poll".into())
        .spawn(move || poll_loop::run(sh, poll))?;
    Ok(Runtime {
        shared,
        poll_thread,
        pin: crate::library_pin::LibraryPin::take(),
    })
}

/// Stops the poll thread and the resolver, frees every socket, and wakes every waiter.
pub(crate) fn shutdown() {
    let Some(rt) = CURRENT.write().take() else {
        return;
    };
    let sh = rt.shared;
    sh.stopping.store(true, Ordering::Release);
    let _ = sh.waker.wake();
    {
        let _guard = sh.park.lock();
        sh.park_cv.notify_all();
    }
    let _ = rt.poll_thread.join();
    sh.resolver.stop();
    for sock in sh.table.write().drain() {
        sock.destroy();
    }
    sh.take_cmds();
    sh.ring.close();
    sh.wake(); // an inline poller, if any, sees the instance stopping
    crate::tls::clear_cache();
    drop(rt.pin);
}

pub(crate) fn set_max_sockets(max: usize) {
    MAX_SOCKETS.store(max, Ordering::Relaxed);
    if let Some(sh) = current() {
        sh.table.write().set_limit(max);
    }
}

pub(crate) fn max_sockets() -> usize {
    MAX_SOCKETS.load(Ordering::Relaxed)
}

/// Code for calls made while the instance is going down.
pub(crate) const STOPPED: c_int = SOCK_ERR_ECLSD;
