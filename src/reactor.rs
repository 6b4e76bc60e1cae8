//! What a socket works with: the ring it posts to, the deadlines it arms, the epoll registry it
//! registers with, and the poller it tells about posts and background work. It is the part of
//! the instance (`runtime::Shared` holds it and derefs to it) that knows nothing of the socket
//! table, so `socket` depends on this module and not on `runtime`, and so do the other
//! producers of messages: application timers (`app_timers.rs`), compatibility replies
//! (`compat.rs`) and the resolver's workers (`resolver.rs`, whose jobs carry their socket).
//! Only the API, the poll loop and diagnostics, which look sockets up, need `runtime`.

use crate::poller::Poller;
use crate::ring::Ring;
use crate::timers::{Timer, Timers};
use mio::Registry;
use parking_lot::RwLock;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct Reactor {
    pub ring: Ring,
    pub timers: Timers,
    /// The epoll registry (a duplicate of the poll's descriptor), closed by `sock_shutdown`:
    /// see `with_registry`.
    pub registry: RwLock<Option<Registry>>,
    /// Who polls (see `poller.rs`).
    pub poller: Poller,
    /// Sockets whose connect has not settled yet (no CONN_CNF): `sock_conn` hands a connect
    /// to the resolver's workers while others are in flight (see `api.rs`, `conn`).
    pub connects_in_flight: AtomicUsize,
}

impl Reactor {
    /// Runs `f` with the epoll registry. Once `sock_shutdown` has closed it, EBADF: a call
    /// that raced the shutdown never reaches a descriptor number reused meanwhile.
    pub(crate) fn with_registry<R>(
        &self,
        f: impl FnOnce(&Registry) -> io::Result<R>,
    ) -> io::Result<R> {
        match &*self.registry.read() {
            Some(registry) => f(registry),
            None => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    /// Arms a deadline (the alarm rings by then: see `timers.rs`).
    pub(crate) fn add_timer(&self, timer: Timer) {
        self.timers.add(timer);
    }

    /// A connect began (`sock_conn`); returns how many others were in flight.
    pub(crate) fn connect_begun(&self) -> usize {
        self.connects_in_flight.fetch_add(1, Ordering::Relaxed)
    }

    /// Socket (id, generation) is connected, failed or gone, once in its life: its connect
    /// deadline is stale and it is no longer in flight.
    pub(crate) fn connect_settled(&self, id: i32, generation: u32) {
        let _ = self
            .connects_in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        self.timers.connect_settled(id, generation);
    }
}
