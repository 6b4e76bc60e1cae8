//! Connecting a stream (TCP, TLS) to a name with several addresses, RFC 8305 style ("Happy
//! Eyeballs"): the addresses are interleaved by family (the first answer's family first, then
//! alternating IPv6/IPv4), and attempts are staggered: the next address is tried
//! `attempt_delay` after the previous attempt started, or at once when an attempt fails.
//! Attempts run side by side; the first to connect wins and the others are closed. The socket's
//! connect timer still bounds the whole connect, so one CONN_CNF comes either way.
//!
//! With `local_port` set, only one socket can hold the port, so addresses are tried one at a
//! time and each attempt is bounded by an equal share of the time left, so that a silent
//! address cannot take the later ones' turn.
//!
//! All attempts share the socket's poll token; a readiness event makes us look at each of them
//! (at most `MAX_ADDRESSES` sockets, only while connecting).

use super::{Cx, Phase, ReadUntil, Readiness, State, register};
use crate::codes::*;
use crate::errno::code_of;
use crate::os_socket::{self, Io, Transport};
use crate::timers::TimerKind;
use crate::tls::TlsConn;
use mio::Interest;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

/// One connection attempt in progress.
pub(super) struct Attempt {
    io: Io,
    /// When this attempt is given up (sequential mode only).
    give_up_at: Option<Instant>,
}

/// Orders addresses for connecting: the first address's family first, then alternating
/// families, each family keeping the resolver's order (RFC 8305 section 4, First Address
/// Family Count 1).
pub(crate) fn interleave(addrs: Vec<SocketAddr>) -> VecDeque<SocketAddr> {
    let Some(first) = addrs.first() else {
        return VecDeque::new();
    };
    let first_v6 = first.is_ipv6();
    let (mut same, mut other): (VecDeque<_>, VecDeque<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = VecDeque::with_capacity(same.len() + other.len());
    loop {
        match (same.pop_front(), other.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

impl State {
    /// Starts connecting a stream to `addrs` (the resolver's order).
    pub(super) fn begin_attempts(&mut self, cx: &Cx<'_>, addrs: Vec<SocketAddr>) {
        self.addrs = interleave(addrs);
        self.connect_error = SOCK_ERR_EDNS;
        self.phase = Phase::Connecting;
        self.start_attempt(cx);
    }

    /// An option set while connecting reaches every attempt's socket too: a literal address is
    /// connected inside `sock_conn`, before the caller's `sock_setopt` calls that follow it.
    pub(super) fn apply_to_attempts(&self, opt: crate::options::Opt, value: i32) -> io::Result<()> {
        for attempt in &self.attempts {
            if let Some(sock) = attempt.io.sock_ref() {
                crate::options::apply(&sock, opt, value)?;
            }
        }
        Ok(())
    }

    fn sequential(cx: &Cx<'_>) -> bool {
        cx.sock.cfg.local_port != 0
    }

    /// Opens the next address that can be opened and schedules the one after it. Fails the
    /// connect when nothing is left to try and no attempt is running.
    fn start_attempt(&mut self, cx: &Cx<'_>) {
        while let Some(addr) = self.addrs.pop_front() {
            let opened =
                os_socket::open(Transport::Stream, addr, cx.sock.cfg.local_port, &self.opts)
                    .and_then(|io| register(cx, io, Interest::READABLE | Interest::WRITABLE));
            match opened {
                Ok(io) => {
                    self.attempts_opened += 1;
                    let now = Instant::now();
                    let give_up_at = if Self::sequential(cx) {
                        let left = self.connect_deadline.saturating_duration_since(now);
                        let share = left / (self.addrs.len() as u32 + 1);
                        (!self.addrs.is_empty()).then(|| {
                            cx.arm(TimerKind::NextAttempt, share);
                            now + share
                        })
                    } else {
                        if !self.addrs.is_empty() {
                            self.next_attempt_at = Some(now + cx.sock.cfg.attempt_delay);
                            cx.arm(TimerKind::NextAttempt, cx.sock.cfg.attempt_delay);
                        }
                        None
                    };
                    self.attempts.push(Attempt { io, give_up_at });
                    return;
                }
                Err(e) => self.connect_error = code_of(&e),
            }
        }
        self.next_attempt_at = None;
        if self.attempts.is_empty() {
            self.fail_connect(cx, self.connect_error);
        }
    }

    /// The stagger delay passed (or, sequentially, an attempt's share of the time ran out).
    pub(super) fn on_attempt_timer(&mut self, cx: &Cx<'_>) {
        if self.phase != Phase::Connecting || self.io.is_some() {
            return;
        }
        let now = Instant::now();
        if Self::sequential(cx) {
            let before = self.attempts.len();
            self.attempts
                .retain(|a| a.give_up_at.is_none_or(|at| now < at));
            if self.attempts.len() < before {
                self.connect_error = SOCK_ERR_ETIMEOUT;
                self.start_attempt(cx);
            }
        } else if self.next_attempt_at.is_some_and(|at| at <= now) {
            // An earlier timer whose attempt failed and was replaced at once is stale: the
            // replacement armed its own.
            self.next_attempt_at = None;
            self.start_attempt(cx);
        }
    }

    /// Looks at the attempts after a readiness event: the first connected one wins, failed
    /// ones make room for the next address at once.
    pub(super) fn check_attempts(&mut self, cx: &Cx<'_>, ready: Readiness) {
        // With the only socket ever registered under this token, the event is its own: on
        // Linux a connecting TCP socket reports EPOLLOUT without ERR, HUP or RDHUP only once
        // it is connected, so neither getsockopt(SO_ERROR) nor getpeername is needed, and
        // the event says whether there is anything to read yet. Errors, hang-ups, a peer that
        // connected and closed at once, and several attempts sharing the token (whose events
        // cannot be told apart) take the checked path below.
        if self.attempts_opened == 1 && self.attempts.len() == 1 && ready.writable && !ready.closing
        {
            let read = ready.readable.then_some(ReadUntil::ShortRead);
            return self.won(cx, 0, read);
        }
        let mut failed = false;
        let mut i = 0;
        while i < self.attempts.len() {
            match connect_outcome(&self.attempts[i].io) {
                Ok(false) => i += 1,
                // Another attempt's event may have brought us here: read as far as the kernel
                // goes rather than trust the event's flags.
                Ok(true) => return self.won(cx, i, Some(ReadUntil::WouldBlock)),
                Err(e) => {
                    self.attempts.swap_remove(i);
                    self.connect_error = code_of(&e);
                    failed = true;
                }
            }
        }
        if failed {
            self.start_attempt(cx);
        }
    }

    /// Attempt `i` connected: it becomes the socket's `io` and the others are closed. `read`:
    /// how far to read the new connection at once (None: the event said nothing is readable;
    /// anything arriving later raises its own edge).
    fn won(&mut self, cx: &Cx<'_>, i: usize, read: Option<ReadUntil>) {
        let winner = self.attempts.swap_remove(i);
        self.attempts.clear(); // closes the losers
        self.addrs.clear();
        self.next_attempt_at = None;
        self.io = winner.io;
        self.write_interest = true;
        self.connected(cx, read);
    }

    /// The stream is connected: TLS starts its handshake, TCP is open.
    fn connected(&mut self, cx: &Cx<'_>, read: Option<ReadUntil>) {
        match &cx.sock.tls {
            None => self.opened(cx, read),
            Some(setup) => match TlsConn::new(setup) {
                Ok(tls) => {
                    self.tls = Some(Box::new(tls));
                    self.tls_handshake(cx);
                }
                Err(code) => self.fail_connect(cx, code),
            },
        }
    }
}

/// Whether a non-blocking connect finished: `Ok(true)` connected, `Ok(false)` still going;
/// the connect's own error code when it failed (SO_ERROR).
fn connect_outcome(io: &Io) -> io::Result<bool> {
    let Io::Tcp(s) = io else { return Ok(false) };
    if let Some(e) = s.take_error()? {
        return Err(e);
    }
    match s.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_starting_with_the_first() {
        let got = interleave(vec![
            a("[fd00::1]:1"),
            a("[fd00::2]:1"),
            a("[fd00::3]:1"),
            a("10.0.0.1:1"),
            a("10.0.0.2:1"),
        ]);
        let want = [
            "[fd00::1]:1",
            "10.0.0.1:1",
            "[fd00::2]:1",
            "10.0.0.2:1",
            "[fd00::3]:1",
        ];
        assert_eq!(got, want.iter().map(|s| a(s)).collect::<VecDeque<_>>());
        let got = interleave(vec![a("10.0.0.1:1"), a("10.0.0.2:1"), a("[fd00::1]:1")]);
        let want = ["10.0.0.1:1", "[fd00::1]:1", "10.0.0.2:1"];
        assert_eq!(got, want.iter().map(|s| a(s)).collect::<VecDeque<_>>());
        assert!(interleave(vec![]).is_empty());
    }
}
