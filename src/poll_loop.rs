//! The poll thread: waits on mio for socket readiness, commands and the earliest timer, and
//! dispatches each to its socket. It never blocks on anything but `Poll::poll`.

use crate::runtime::{Cmd, Shared, WAKE_TOKEN};
use crate::socket::{Sock, split_token};
use mio::{Events, Poll};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

const EVENTS_PER_POLL: usize = 1024;

pub(crate) fn run(sh: Arc<Shared>, mut poll: Poll) {
    let mut events = Events::with_capacity(EVENTS_PER_POLL);
    while !sh.is_stopping() {
        let timeout = sh
            .timers
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // epoll_wait only fails on a broken epoll fd; nothing more can be done here.
            return;
        }
        for event in events.iter() {
            if event.token() == WAKE_TOKEN {
                continue;
            }
            let (id, generation) = split_token(event.token());
            let Some(sock) = sh.lookup_current(id, generation) else {
                continue; // a stale event for a socket destroyed since
            };
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            let writable = event.is_writable() || event.is_write_closed() || event.is_error();
            guarded(&sh, &sock, || sock.on_ready(&sh, readable, writable));
        }
        for cmd in sh.take_cmds() {
            match cmd {
                Cmd::Start(sock, addrs) => guarded(&sh, &sock, || sock.start(&sh, addrs)),
            }
        }
        for timer in sh.timers.expired(Instant::now()) {
            if let Some(sock) = sh.lookup_current(timer.id, timer.generation) {
                guarded(&sh, &sock, || sock.on_timer(&sh, timer.kind));
            }
        }
    }
}

/// A fault while handling one socket fails that socket, not the poll thread.
fn guarded(sh: &Shared, sock: &Sock, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| sock.fault(sh)));
    }
}
