//! Driving the sockets: what the leader does in the seat (`poller.rs`), what the poll thread
//! does, and how a thread in `sock_wait_msg` waits.
//!
//! The leader polls mio and hands each readiness event to its socket; handlers run under each
//! socket's own lock, so it does not matter which thread leads. The poll thread keeps the
//! deadlines, and leads only while the sockets must be driven with nobody waiting.

use crate::ring::{Entry, Followed, PopError};
use crate::runtime::{Shared, WAKE_TOKEN};
use crate::socket::{Readiness, Sock, split_token};
use crate::timers::TimerKind;
use mio::event::Event;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The poll thread: fires deadlines, leads while wanted, sleeps otherwise.
pub(crate) fn run(sh: Arc<Shared>) {
    while !sh.is_stopping() {
        fire_timers(&sh);
        let rouse = sh
            .poller
            .sleep(|| sh.is_stopping(), || sh.timers.next_deadline());
        if matches!(rouse, crate::poller::Rouse::Lead) {
            lead_in_background(&sh);
        }
    }
}

/// The poll thread in the seat: polls until a waiter comes to lead or nothing needs driving.
fn lead_in_background(sh: &Shared) {
    let Some(mut lead) = sh.poller.try_lead(false, &sh.ring) else {
        return; // someone took the seat first
    };
    loop {
        let timeout = sh.timers.due_in(Instant::now());
        let stop = || sh.is_stopping() || !sh.poller.poll_thread_wanted();
        match lead.poll(timeout, stop) {
            Ok(true) => {}
            Ok(false) | Err(_) => return, // an error means a broken epoll descriptor
        }
        for event in lead.events() {
            dispatch(sh, event);
        }
        fire_timers(sh);
    }
}

/// Waits in `sock_wait_msg` for a message until `deadline`: leads when the seat is free,
/// follows (waits on the ring) when another waiter leads.
pub(crate) fn wait(sh: &Shared, deadline: Option<Instant>) -> Result<Option<Entry>, PopError> {
    sh.poller.waiter_arrives();
    let outcome = loop {
        let seen = sh.ring.vacancies();
        if let Some(lead) = sh.poller.try_lead(true, &sh.ring) {
            break lead_until_message(sh, lead, deadline);
        }
        // The poll thread leaves the seat on seeing us (`waiter_arrives`) and counts a
        // vacancy; a waiter leaves it when it has a message.
        match sh.ring.follow(seen, deadline) {
            Ok(Followed::Message(entry)) => break Ok(Some(entry)),
            Ok(Followed::Vacant) => continue,
            Ok(Followed::TimedOut) => break Ok(None),
            Err(e) => break Err(e),
        }
    };
    sh.poller.waiter_leaves();
    outcome
}

/// `sock_wait_msg` with no time to wait: one look at the sockets, then at the ring.
pub(crate) fn poll_now(sh: &Shared) -> Result<Option<Entry>, PopError> {
    catch_up(sh);
    sh.ring.pop(Some(Duration::ZERO))
}

/// Dispatches what is ready now, if nobody leads (a leader does it anyway): for calls whose
/// answer depends on events nobody has dispatched yet.
pub(crate) fn catch_up(sh: &Shared) {
    if let Some(mut lead) = sh.poller.try_lead(true, &sh.ring)
        && let Ok(true) = lead.poll(Some(Duration::ZERO), || false)
    {
        for event in lead.events() {
            dispatch(sh, event);
        }
    }
}

fn lead_until_message(
    sh: &Shared,
    mut lead: crate::poller::Lead<'_>,
    deadline: Option<Instant>,
) -> Result<Option<Entry>, PopError> {
    loop {
        // `poll` sets `in_poll` before this look: a message posted after it wakes the poll.
        let mut taken = None;
        let look = |taken: &mut Option<Result<Option<Entry>, PopError>>| {
            match sh.ring.pop(Some(Duration::ZERO)) {
                Ok(None) if !sh.is_stopping() => {}
                Ok(None) => *taken = Some(Err(PopError::Closed)),
                other => *taken = Some(other),
            }
            taken.is_some()
        };
        let timeout = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return sh.ring.pop(Some(Duration::ZERO));
                }
                // Round up: epoll counts whole milliseconds and must not return early forever.
                Some(Duration::from_millis(left.as_micros().div_ceil(1000) as u64))
            }
            None => None,
        };
        match lead.poll(timeout, || look(&mut taken)) {
            Ok(true) => {}
            Ok(false) => return taken.unwrap_or(Ok(None)),
            Err(_) => return Err(PopError::Closed),
        }
        for event in lead.events() {
            dispatch(sh, event);
        }
    }
}

/// Hands one readiness event to its socket; stale and wake-up tokens are ignored.
fn dispatch(sh: &Shared, event: &Event) {
    let token = event.token();
    if token == WAKE_TOKEN {
        return;
    }
    let closing = event.is_read_closed() || event.is_error();
    let ready = Readiness {
        readable: event.is_readable() || closing,
        writable: event.is_writable() || event.is_write_closed() || event.is_error(),
        closing,
    };
    let (id, generation) = split_token(token);
    if let Some(sock) = sh.lookup_current(id, generation) {
        guarded(sh, &sock, || sock.on_ready(sh, ready));
    }
}

/// Runs the deadlines that are due.
fn fire_timers(sh: &Shared) {
    for timer in sh.timers.expired() {
        if timer.kind == TimerKind::App {
            sh.app_timers.fire(sh, timer.id, timer.generation);
        } else if let Some(sock) = sh.lookup_current(timer.id, timer.generation) {
            guarded(sh, &sock, || sock.on_timer(sh, timer.kind));
        }
    }
}

/// A fault while handling one socket fails that socket, not the thread.
pub(crate) fn guarded(sh: &Shared, sock: &Sock, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| sock.fault(sh)));
    }
}
