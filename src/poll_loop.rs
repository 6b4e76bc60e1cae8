//! Driving the sockets: the poll thread, and the inline polling a waiter does for it.
//!
//! The poll thread waits on mio for socket readiness, commands and the earliest timer, and
//! dispatches each to its socket. When an application thread blocks in `sock_wait_msg`, that
//! thread polls the same epoll instance itself ("inline") and the poll thread steps aside, so
//! an event reaches the waiting thread without a second thread's wake-up in between — the
//! latency of a single-threaded event loop. Handlers run under each socket's lock, so it does
//! not matter which thread runs them. The poll thread takes over again when no thread has
//! polled inline for `HANDBACK`, and keeps firing timers meanwhile.

use crate::ring::{Entry, PopError};
use crate::runtime::{Cmd, Shared, WAKE_TOKEN};
use crate::socket::{Readiness, Sock, split_token};
use crate::timers::TimerKind;
use mio::{Events, Poll, Token};
use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const EVENTS_PER_POLL: usize = 1024;
const EVENTS_INLINE: usize = 64;
/// The poll thread stays out of epoll while inline polling happened this recently. It looks
/// again this often (and for every timer): rarely enough that its wake-ups do not disturb a
/// waiter's round trips, so after the last waiter leaves it takes over within 2 × HANDBACK.
const HANDBACK: Duration = Duration::from_millis(5);

thread_local! {
    /// This thread is polling inline: its own posts need no wake-up.
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn is_inline_thread() -> bool {
    INLINE.get()
}

pub(crate) fn run(sh: Arc<Shared>, mut poll: Poll) {
    let mut events = Events::with_capacity(EVENTS_PER_POLL);
    while !sh.is_stopping() {
        if let Some(aside) = sh.step_aside_for(HANDBACK) {
            sh.park_poller(aside);
            housekeeping(&sh);
            continue;
        }
        sh.poller_in_epoll.store(true, Ordering::SeqCst);
        let polled = poll.poll(&mut events, sh.timers.due_in(Instant::now()));
        sh.poller_in_epoll.store(false, Ordering::SeqCst);
        if let Err(e) = polled {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break; // epoll_wait fails only on a broken epoll descriptor
        }
        for event in events.iter() {
            let closing = event.is_read_closed() || event.is_error();
            let ready = Readiness {
                readable: event.is_readable() || closing,
                writable: event.is_writable() || event.is_write_closed() || event.is_error(),
                closing,
            };
            dispatch(&sh, event.token(), ready);
        }
        housekeeping(&sh);
    }
    // Inline pollers may still hold the epoll descriptor: it closes with the last `Shared`.
    sh.retire(poll);
}

/// Hands one readiness event to its socket; stale and wake-up tokens are ignored.
fn dispatch(sh: &Shared, token: Token, ready: Readiness) {
    if token == WAKE_TOKEN {
        return;
    }
    let (id, generation) = split_token(token);
    if let Some(sock) = sh.lookup_current(id, generation) {
        guarded(sh, &sock, || sock.on_ready(sh, ready));
    }
}

/// Runs queued commands and due timers.
fn housekeeping(sh: &Shared) {
    for cmd in sh.take_cmds() {
        match cmd {
            Cmd::Start(sock, addrs) => guarded(sh, &sock, || sock.start(sh, addrs)),
        }
    }
    for timer in sh.timers.expired() {
        if timer.kind == TimerKind::App {
            sh.app_timers.fire(sh, timer.id, timer.generation);
        } else if let Some(sock) = sh.lookup_current(timer.id, timer.generation) {
            guarded(sh, &sock, || sock.on_timer(sh, timer.kind));
        }
    }
}

/// A waiter with nothing to take polls inline until a message comes, `deadline` passes, or
/// the instance stops. Only one thread polls inline at a time; `None` means another does
/// (wait on the ring instead).
pub(crate) fn wait_inline(
    sh: &Shared,
    deadline: Option<Instant>,
) -> Option<Result<Option<Entry>, PopError>> {
    if sh
        .inline
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return None;
    }
    INLINE.set(true);
    sh.inline_sessions.fetch_add(1, Ordering::SeqCst);
    if sh.poller_in_epoll.load(Ordering::SeqCst) {
        sh.wake(); // send the poll thread out of epoll so that events come to us
    }
    let epfd = sh.epoll_fd();
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS_INLINE];
    let mut woken = false;
    let outcome = loop {
        // The flag is set before this check and posters check it after pushing, so a
        // message pushed by another thread either is seen here or wakes the epoll below.
        match sh.ring.pop(Some(Duration::ZERO)) {
            Ok(Some(entry)) => break Ok(Some(entry)),
            Err(e) => break Err(e),
            Ok(None) => {}
        }
        if sh.is_stopping() {
            break Err(PopError::Closed);
        }
        let now = Instant::now();
        let left = deadline.map(|d| d.saturating_duration_since(now));
        if left == Some(Duration::ZERO) {
            break Ok(None);
        }
        let wait = match (left, sh.timers.due_in(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Round up: epoll counts whole milliseconds and must not return early forever.
        let ms = wait.map_or(-1, |d| {
            d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        // SAFETY: `events` is a writable array of EVENTS_INLINE epoll_event; `epfd` stays
        // open while `sh` lives (see `Shared::retire`).
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), EVENTS_INLINE as i32, ms) };
        for ev in &events[..n.max(0) as usize] {
            let (bits, token) = (ev.events as i32, Token(ev.u64 as usize));
            woken |= token == WAKE_TOKEN;
            let err_or_hup = bits & (libc::EPOLLERR | libc::EPOLLHUP) != 0;
            let ready = Readiness {
                readable: bits & (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP) != 0
                    || err_or_hup,
                writable: bits & libc::EPOLLOUT != 0 || err_or_hup,
                closing: bits & libc::EPOLLRDHUP != 0 || err_or_hup,
            };
            dispatch(sh, token, ready);
        }
        housekeeping(sh);
    };
    INLINE.set(false);
    sh.inline_done();
    // A wake-up we took may have been meant for the poll thread, to shorten its epoll timeout
    // for a new timer. Pass it on only if that thread is in epoll: a parked poll thread reads
    // the timers when it wakes, and commands already ran in our `housekeeping`. Passing it on
    // unconditionally made one wake-up circle between waiters forever, an eventfd write and
    // an extra epoll round per message.
    if woken && sh.poller_in_epoll.load(Ordering::SeqCst) {
        sh.wake();
    }
    Some(outcome)
}

/// A fault while handling one socket fails that socket, not the thread.
fn guarded(sh: &Shared, sock: &Sock, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| sock.fault(sh)));
    }
}

/// The epoll descriptor behind a mio `Poll` (mio keeps one epoll instance per `Poll`).
pub(crate) fn epoll_fd_of(poll: &Poll) -> std::os::fd::RawFd {
    poll.as_raw_fd()
}
