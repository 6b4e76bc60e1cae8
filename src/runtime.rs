//! The running instance: shared state, the poll thread's start and stop, and the global handle
//! that API calls use. `sock_shutdown` takes the instance down; the next call makes a new one.

use crate::app_timers::AppTimers;
use crate::codes::*;
use crate::compat::Replies;
use crate::constants::SOCK_DEFAULT_MAX_SOCKETS;
use crate::poll_loop;
use crate::poller::{Poller, Seat};
use crate::reactor::Reactor;
use crate::resolver::Resolver;
use crate::ring::Ring;
use crate::socket::Sock;
use crate::table::Table;
use crate::timers::Timers;
use mio::{Poll, Token, Waker};
use parking_lot::RwLock;
use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// The running instance: what sockets work with (`Reactor`, reached through `Deref`) and what
/// only the API and the poll loop reach it by: the socket table, application timers,
/// compatibility replies, the resolver (the last three take the `Reactor` they need).
pub(crate) struct Shared {
    reactor: Reactor,
    pub table: RwLock<Table<Sock>>,
    pub app_timers: AppTimers,
    pub replies: Replies,
    pub resolver: Resolver,
    stopping: AtomicBool,
}

impl std::ops::Deref for Shared {
    type Target = Reactor;

    fn deref(&self) -> &Reactor {
        &self.reactor
    }
}

impl Shared {
    pub(crate) fn lookup(&self, id: c_int) -> Option<Arc<Sock>> {
        self.table.read().get(id).cloned()
    }

    pub(crate) fn lookup_current(&self, id: c_int, generation: u32) -> Option<Arc<Sock>> {
        self.table.read().get_current(id, generation).cloned()
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
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

/// The running instance and its socket `id`, if both exist (for calls about an id).
pub(crate) fn find(id: c_int) -> Option<(Arc<Shared>, Arc<Sock>)> {
    let sh = current()?;
    let sock = sh.lookup(id)?;
    Some((sh, sock))
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
    // While this process may still have a single thread: see fd_table.rs.
    crate::fd_table::reserve(MAX_SOCKETS.load(Ordering::Relaxed), poll.as_raw_fd());
    let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
    let registry = poll.registry().try_clone()?;
    let shared = Arc::new(Shared {
        reactor: Reactor {
            ring: Ring::default(),
            timers: Timers::default(),
            registry,
            poller: Poller::new(Seat::new(poll), waker),
            connects_in_flight: Default::default(),
        },
        table: RwLock::new(Table::new(MAX_SOCKETS.load(Ordering::Relaxed))),
        app_timers: AppTimers::default(),
        replies: Replies::default(),
        resolver: Resolver::default(),
        stopping: AtomicBool::new(false),
    });
    let sh = shared.clone();
    let poll_thread = std::thread::Builder::new()
        .name("socketcore-poll".into())
        .spawn(move || poll_loop::run(sh))?;
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
    sh.poller.wake(); // a leader, if any, sees the instance stopping
    sh.poller.nudge();
    let _ = rt.poll_thread.join();
    sh.resolver.stop();
    for sock in sh.table.write().drain() {
        sock.destroy(&sh);
    }
    sh.ring.close();
    crate::tls::clear_cache();
    drop(rt.pin);
}

pub(crate) fn set_max_sockets(max: usize) {
    let before = MAX_SOCKETS.swap(max, Ordering::Relaxed);
    if let Some(sh) = current() {
        sh.table.write().set_limit(max);
        if max > before {
            // One growth of the descriptor table now rather than one per doubling later.
            crate::fd_table::reserve(max, sh.registry.as_raw_fd());
        }
    }
}

pub(crate) fn max_sockets() -> usize {
    MAX_SOCKETS.load(Ordering::Relaxed)
}

/// Code for calls made while the instance is going down.
pub(crate) const STOPPED: c_int = SOCK_ERR_ECLSD;
