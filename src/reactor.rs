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

pub(crate) struct Reactor {
    pub ring: Ring,
    pub timers: Timers,
    pub registry: Registry,
    /// Who polls (see `poller.rs`).
    pub poller: Poller,
}

impl Reactor {
    /// Arms a deadline; a new earliest one wakes whoever sleeps until the old earliest.
    pub(crate) fn add_timer(&self, timer: Timer) {
        if self.timers.add(timer) {
            self.poller.earlier_deadline(timer.at);
        }
    }
}
