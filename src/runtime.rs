//! The running instance: shared state, the poll thread's start (the first time it is wanted:
//! see `poller.rs`) and stop, and the global handle that API calls use. `sock_shutdown` takes
//! the instance down; the next call makes a new one.
//!
//! A call finds the instance through what its thread remembers, checked against `EPOCH`: no
//! lock, no reference counted; the global handle is read on a miss. Because a thread may
//! keep a stopped instance, `sock_shutdown` closes the instance's descriptors itself rather
//! than leaving that to the last reference.

use crate::app_timers::AppTimers;
use crate::codes::*;
use crate::compat::Replies;
use crate::constants::SOCK_DEFAULT_MAX_SOCKETS;
use crate::poll_loop;
use crate::poller::{ClosableWaker, Poller, Seat};
use crate::reactor::Reactor;
use crate::resolver::Resolver;
use crate::ring::Ring;
use crate::socket::Sock;
use crate::sockets::Sockets;
use crate::thread_memo::{self, Memo};
use crate::timers::Timers;
use mio::{Poll, Token, Waker};
use parking_lot::{Mutex, RwLock};
use std::cell::RefCell;
use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);
/// The alarm's timerfd (`alarm.rs`). Neither token is a socket's: socket ids are not negative.
pub(crate) const ALARM_TOKEN: Token = Token(usize::MAX - 1);

/// The running instance: what sockets work with (`Reactor`, reached through `Deref`) and what
/// only the API and the poll loop reach it by: the socket table, application timers,
/// compatibility replies, the resolver (the last three take the `Reactor` they need).
pub(crate) struct Shared {
    reactor: Reactor,
    /// Which start of an instance this is (see `EPOCH`).
    epoch: u64,
    pub sockets: Sockets,
    pub app_timers: AppTimers,
    pub replies: Replies,
    pub resolver: Resolver,
    stopping: AtomicBool,
    /// The poll thread, once started.
    poll_thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::ops::Deref for Shared {
    type Target = Reactor;

    fn deref(&self) -> &Reactor {
        &self.reactor
    }
}

impl Shared {
    /// Runs `f` on socket `id` if it exists.
    pub(crate) fn with_sock<R>(&self, id: c_int, f: impl FnOnce(&Arc<Sock>) -> R) -> Option<R> {
        self.sockets.with(id, None, f)
    }

    /// Runs `f` on socket `id` if it is still the one of `generation`.
    pub(crate) fn with_current<R>(
        &self,
        id: c_int,
        generation: u32,
        f: impl FnOnce(&Arc<Sock>) -> R,
    ) -> Option<R> {
        self.sockets.with(id, Some(generation), f)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Starts the poll thread (`Poller::nudge`, the first time it is wanted); false if the
    /// system refused a thread. Under the lock `shutdown` takes the thread's handle with, and
    /// not once the instance is stopping, so a thread started is always joined.
    fn start_poll_thread(self: &Arc<Self>) -> bool {
        let mut slot = self.poll_thread.lock();
        if self.is_stopping() || slot.is_some() {
            return true;
        }
        let sh = self.clone();
        match std::thread::Builder::new()
            .name("socketcore-poll".into())
            .spawn(move || poll_loop::run(sh))
        {
            Ok(thread) => {
                *slot = Some(thread);
                true
            }
            Err(e) => {
                log::error!(target: "socketcore",
                    "the poll thread could not be started ({e}): sockets are driven only while a thread waits");
                false
            }
        }
    }
}

struct Runtime {
    shared: Arc<Shared>,
    /// Dropped last, after every thread of the instance has been joined.
    pin: Option<crate::library_pin::LibraryPin>,
}

static CURRENT: RwLock<Option<Runtime>> = RwLock::new(None);
/// Raised, under `CURRENT`'s write lock, whenever an instance starts or stops: a thread's
/// remembered instance is the running one while its epoch is this.
static EPOCH: AtomicU64 = AtomicU64::new(0);
static MAX_SOCKETS: AtomicUsize = AtomicUsize::new(SOCK_DEFAULT_MAX_SOCKETS as usize);

thread_local! {
    /// The instance this thread's calls found last. A stopped one is kept only as memory
    /// until the thread's next call or its exit: `sock_shutdown` closes its descriptors.
    static REMEMBERED: Memo<Arc<Shared>> = const { RefCell::new(None) };
}

/// The running instance, if any (calls about an existing id never start one).
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT.read().as_ref().map(|rt| rt.shared.clone())
}

/// Runs `f` on the running instance, if any: the one this thread remembers while it is
/// still the running one (no lock taken, no reference counted), else the global one.
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> Option<R> {
    let epoch = EPOCH.load(Ordering::Acquire);
    let mut f = Some(f);
    if let Some(result) = thread_memo::recall(&REMEMBERED, |sh| sh.epoch == epoch, &mut f) {
        return Some(result);
    }
    let sh = current()?;
    let result = f.take()?(&sh);
    thread_memo::store(&REMEMBERED, Some(sh));
    Some(result)
}

/// Runs `f` on the running instance, started if needed.
pub(crate) fn with_running<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> Result<R, c_int> {
    let mut f = Some(f);
    if let Some(result) = with_current(|sh| f.take().map(|f| f(sh))).flatten() {
        return Ok(result);
    }
    let sh = get()?;
    let result = f.take().ok_or(STOPPED)?(&sh);
    thread_memo::store(&REMEMBERED, Some(sh));
    Ok(result)
}

/// Runs `f` on the running instance and its socket `id`, if both exist (for calls about an
/// id).
pub(crate) fn with_sock<R>(id: c_int, f: impl FnOnce(&Arc<Shared>, &Arc<Sock>) -> R) -> Option<R> {
    with_current(|sh| sh.with_sock(id, |sock| f(sh, sock))).flatten()
}

/// The running instance and its socket `id`, if both exist (for calls about an id).
pub(crate) fn find(id: c_int) -> Option<(Arc<Shared>, Arc<Sock>)> {
    with_sock(id, |sh, sock| (sh.clone(), sock.clone()))
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
    let epoch = EPOCH.fetch_add(1, Ordering::AcqRel) + 1;
    let rt = start(epoch).map_err(|e| crate::errno::code_of(&e))?;
    let sh = rt.shared.clone();
    *slot = Some(rt);
    Ok(sh)
}

fn start(epoch: u64) -> std::io::Result<Runtime> {
    let poll = Poll::new()?;
    // While this process may still have a single thread: see fd_table.rs.
    crate::fd_table::reserve(MAX_SOCKETS.load(Ordering::Relaxed), poll.as_raw_fd());
    let waker = ClosableWaker::new(Waker::new(poll.registry(), WAKE_TOKEN)?);
    let timers = Timers::new()?;
    if let Some(fd) = timers.alarm_fd() {
        poll.registry().register(
            &mut mio::unix::SourceFd(&fd),
            ALARM_TOKEN,
            mio::Interest::READABLE,
        )?;
    }
    let registry = RwLock::new(Some(poll.registry().try_clone()?));
    let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
        let weak = weak.clone();
        let start = move || weak.upgrade().is_none_or(|sh| sh.start_poll_thread());
        Shared {
            reactor: Reactor {
                ring: Ring::default(),
                timers,
                registry,
                poller: Poller::new(Seat::new(poll), waker, Box::new(start)),
                connects_in_flight: Default::default(),
            },
            epoch,
            sockets: Sockets::new(MAX_SOCKETS.load(Ordering::Relaxed), epoch),
            app_timers: AppTimers::default(),
            replies: Replies::default(),
            resolver: Resolver::default(),
            stopping: AtomicBool::new(false),
            poll_thread: Mutex::new(None),
        }
    });
    Ok(Runtime {
        shared,
        pin: crate::library_pin::LibraryPin::take(),
    })
}

/// Stops the poll thread and the resolver, frees every socket, and wakes every waiter.
pub(crate) fn shutdown() {
    let taken = {
        let mut slot = CURRENT.write();
        EPOCH.fetch_add(1, Ordering::AcqRel);
        slot.take()
    };
    thread_memo::store(&REMEMBERED, None);
    crate::sockets::forget();
    let Some(rt) = taken else {
        return;
    };
    let sh = rt.shared;
    sh.stopping.store(true, Ordering::Release);
    sh.poller.wake(); // a leader, if any, sees the instance stopping
    let poll_thread = sh.poll_thread.lock().take();
    sh.poller.nudge(); // starts nothing now
    if let Some(thread) = poll_thread {
        let _ = thread.join();
    }
    sh.resolver.stop();
    for sock in sh.sockets.drain() {
        sock.destroy(&sh);
    }
    sh.ring.close();
    // Its descriptors close now, whoever still holds the instance (a thread that remembers
    // it, a call that raced this one): each under the lock its users take.
    sh.poller.with_seat(crate::poller::Seat::close);
    sh.poller.waker().close();
    sh.timers.close_alarm();
    *sh.registry.write() = None;
    crate::tls::clear_cache();
    drop(rt.pin);
}

pub(crate) fn set_max_sockets(max: usize) {
    let before = MAX_SOCKETS.swap(max, Ordering::Relaxed);
    if let Some(sh) = current() {
        sh.sockets.set_limit(max);
        if max > before {
            // One growth of the descriptor table now rather than one per doubling later.
            let _ = sh.with_registry(|r| {
                crate::fd_table::reserve(max, r.as_raw_fd());
                Ok(())
            });
        }
    }
}

pub(crate) fn max_sockets() -> usize {
    MAX_SOCKETS.load(Ordering::Relaxed)
}

/// Code for calls made while the instance is going down.
pub(crate) const STOPPED: c_int = SOCK_ERR_ECLSD;
