//! Driving the sockets: what the leader does in the seat (`poller.rs`), what the poll thread
//! does, and how a thread in `sock_wait_msg` waits.
//!
//! The leader polls mio and hands each readiness event to its socket; handlers run under each
//! socket's own lock, so it does not matter which thread leads. When the alarm rings (its
//! timerfd is in the epoll set: `alarm.rs`), the leader fires the deadlines that are due. The
//! poll thread leads only while the sockets must be driven with nobody waiting.

use crate::clock::Deadline;
use crate::poller::{Rouse, Seat};
use crate::reactor::Reactor;
use crate::ready_events::Ready;
use crate::ring::{Entry, PopError};
use crate::runtime::{ALARM_TOKEN, Shared, WAKE_TOKEN};
use crate::socket::{Handoff, Readiness, Sock, split_token};
use crate::timers::TimerKind;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// The poll thread: leads while wanted, sleeps otherwise.
pub(crate) fn run(sh: Arc<Shared>) {
    let stopping = || sh.is_stopping();
    while !stopping() {
        if let Rouse::Lead = sh.poller.sleep(&stopping) {
            sh.poller
                .lead_in_background(&sh.ring, &stopping, &mut |seat| {
                    dispatch_all(&sh, seat, None)
                });
        }
    }
}

/// `sock_wait_msg` with time to wait and nothing to take (see `Poller::wait`).
pub(crate) fn wait(sh: &Shared, deadline: Option<Deadline>) -> Result<Option<Entry>, PopError> {
    let stopping = || sh.is_stopping();
    let mut dispatch = |seat: &Seat| {
        let handoff = Cell::new(None);
        dispatch_all(sh, seat, Some(&handoff));
        handoff.get()
    };
    sh.poller
        .wait(&sh.ring, deadline, &sh.timers, &stopping, &mut dispatch)
}

/// `sock_wait_msg` with no time to wait: one look at the sockets, then at the ring.
pub(crate) fn poll_now(sh: &Shared) -> Result<Option<Entry>, PopError> {
    catch_up(sh);
    sh.ring.try_pop()
}

/// Dispatches what is ready now if nobody leads: for calls whose answer depends on events
/// that nobody may have dispatched yet (no thread waits).
pub(crate) fn catch_up(sh: &Shared) {
    sh.poller
        .catch_up(&sh.ring, &mut |seat| dispatch_all(sh, seat, None));
}

/// Hands every event of the last poll to its socket. `handoff` (a waiter leads): the first
/// message posted while the ring is empty goes there instead, for the leader to return.
fn dispatch_all(sh: &Shared, seat: &Seat, handoff: Option<&Handoff>) {
    for event in seat.events.iter() {
        dispatch(sh, event, handoff);
    }
}

/// Hands one readiness event to its socket, or fires the deadlines due when it is the
/// alarm's; stale and wake-up tokens are ignored.
fn dispatch(sh: &Shared, event: Ready, handoff: Option<&Handoff>) {
    if event.token == WAKE_TOKEN {
        return;
    }
    if event.token == ALARM_TOKEN {
        return fire_timers(sh);
    }
    let closing = event.read_closed || event.error;
    let ready = Readiness {
        readable: event.readable || closing,
        writable: event.writable || event.write_closed || event.error,
        closing,
    };
    let (id, generation) = split_token(event.token);
    sh.with_current(id, generation, |sock| {
        guarded(sh, sock, || sock.on_ready(sh, ready, handoff))
    });
}

/// Runs the deadlines that are due (the alarm rang).
fn fire_timers(sh: &Shared) {
    for timer in sh.timers.rang() {
        if timer.kind == TimerKind::App {
            sh.app_timers.fire(sh, timer.id, timer.generation);
        } else {
            sh.with_current(timer.id, timer.generation, |sock| {
                guarded(sh, sock, || sock.on_timer(sh, timer.kind))
            });
        }
    }
}

/// A fault while handling one socket fails that socket, not the thread.
pub(crate) fn guarded(sh: &Reactor, sock: &Sock, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| sock.fault(sh)));
    }
}
