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

use super::{Conn, Cx, Pace, Phase, ReadUntil, Readiness, State, Stream, register};
use crate::bytering::ByteRing;
use crate::codes::*;
use crate::errno::code_of;
use crate::os_socket::{self, Io, Transport};
use crate::timers::TimerKind;
use crate::tls::{TlsConn, TlsSetup};
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
        if let Conn::Connecting(c) = &mut self.conn {
            // Every attempt takes an address: room for all at once, no more.
            c.attempts = Vec::with_capacity(addrs.len());
            c.addrs = match addrs.len() {
                0 | 1 => addrs, // nothing to order: the caller's vector serves as it is
                _ => interleave(addrs).into_iter().rev().collect(),
            };
            c.error = SOCK_ERR_EDNS;
        }
        self.life.start_connecting();
        self.start_attempt(cx);
    }

    /// An option set while connecting reaches every attempt's socket too: a literal address is
    /// connected inside `sock_conn`, before the caller's `sock_setopt` calls that follow it.
    pub(super) fn apply_to_attempts(&self, opt: crate::options::Opt, value: i32) -> io::Result<()> {
        let Conn::Connecting(c) = &self.conn else {
            return Ok(());
        };
        for attempt in &c.attempts {
            if let Some(sock) = attempt.io.sock_ref() {
                crate::options::apply(&sock, opt, value)?;
            }
        }
        Ok(())
    }

    /// Opens the next address that can be opened and schedules the one after it. Fails the
    /// connect when nothing is left to try and no attempt is running.
    fn start_attempt(&mut self, cx: &Cx<'_>) {
        let Conn::Connecting(c) = &mut self.conn else {
            return;
        };
        while let Some(addr) = c.addrs.pop() {
            if c.addrs.is_empty() {
                c.addrs = Vec::new(); // gives the list back while the connect goes on
            }
            let opened = os_socket::open(Transport::Stream, addr, cx.sock.cfg.local_port, c.opts())
                .and_then(|io| register(cx, io, Interest::READABLE | Interest::WRITABLE));
            match opened {
                Ok(io) => {
                    c.attempts_opened += 1;
                    let now = Instant::now();
                    let give_up_at = match &mut c.pace {
                        Pace::Sequential { deadline } => {
                            let left = deadline.saturating_duration_since(now);
                            let share = left / (c.addrs.len() as u32 + 1);
                            (!c.addrs.is_empty()).then(|| {
                                cx.arm(TimerKind::NextAttempt, share);
                                now + share
                            })
                        }
                        Pace::Staggered { next_at } => {
                            if !c.addrs.is_empty() {
                                *next_at = Some(now + cx.sock.cfg.attempt_delay);
                                cx.arm(TimerKind::NextAttempt, cx.sock.cfg.attempt_delay);
                            }
                            None
                        }
                    };
                    c.attempts.push(Attempt { io, give_up_at });
                    return;
                }
                Err(e) => c.error = code_of(&e),
            }
        }
        if let Pace::Staggered { next_at } = &mut c.pace {
            *next_at = None;
        }
        if c.attempts.is_empty() {
            let code = c.error;
            self.fail_connect(cx, code);
        }
    }

    /// The stagger delay passed (or, sequentially, an attempt's share of the time ran out).
    pub(super) fn on_attempt_timer(&mut self, cx: &Cx<'_>) {
        if self.life.phase() != Phase::Connecting || self.io.is_some() {
            return;
        }
        let Conn::Connecting(c) = &mut self.conn else {
            return;
        };
        let now = Instant::now();
        match &mut c.pace {
            Pace::Sequential { .. } => {
                let before = c.attempts.len();
                c.attempts
                    .retain(|a| a.give_up_at.is_none_or(|at| now < at));
                if c.attempts.len() < before {
                    c.error = SOCK_ERR_ETIMEOUT;
                    self.start_attempt(cx);
                }
            }
            // An earlier timer whose attempt failed and was replaced at once is stale: the
            // replacement armed its own.
            Pace::Staggered { next_at } if next_at.is_some_and(|at| at <= now) => {
                *next_at = None;
                self.start_attempt(cx);
            }
            Pace::Staggered { .. } => {}
        }
    }

    /// Looks at the attempts after a readiness event: the first connected one wins, failed
    /// ones make room for the next address at once.
    pub(super) fn check_attempts(&mut self, cx: &Cx<'_>, ready: Readiness) {
        let Conn::Connecting(c) = &mut self.conn else {
            return;
        };
        // With the only socket ever registered under this token, the event is its own: on
        // Linux a connecting TCP socket reports EPOLLOUT without ERR, HUP or RDHUP only once
        // it is connected, so neither getsockopt(SO_ERROR) nor getpeername is needed, and
        // the event says whether there is anything to read yet. Errors, hang-ups, a peer that
        // connected and closed at once, and several attempts sharing the token (whose events
        // cannot be told apart) take the checked path below.
        if c.attempts_opened == 1 && c.attempts.len() == 1 && ready.writable && !ready.closing {
            let read = ready.readable.then_some(ReadUntil::ShortRead);
            return self.won(cx, 0, read);
        }
        let mut failed = false;
        let mut i = 0;
        while i < c.attempts.len() {
            match connect_outcome(&c.attempts[i].io) {
                Ok(false) => i += 1,
                // Another attempt's event may have brought us here: read as far as the kernel
                // goes rather than trust the event's flags.
                Ok(true) => return self.won(cx, i, Some(ReadUntil::WouldBlock)),
                Err(e) => {
                    c.attempts.swap_remove(i);
                    c.error = code_of(&e);
                    failed = true;
                }
            }
        }
        if failed {
            self.start_attempt(cx);
        }
    }

    /// Attempt `i` connected: it becomes the socket's `io`, the others are closed, and what
    /// connecting needed is dropped. `read`: how far to read the new connection at once
    /// (None: the event said nothing is readable; anything arriving later raises its own edge).
    fn won(&mut self, cx: &Cx<'_>, i: usize, read: Option<ReadUntil>) {
        if !matches!(self.conn, Conn::Connecting(_)) {
            return;
        }
        let stream = Conn::Stream(Stream {
            buf: ByteRing::new(cx.sock.cfg.rcv_buf),
            tls: None,
            acks: cx.sock.cfg.send_cnf_on_ack.then(Box::default),
        });
        let Conn::Connecting(mut c) = std::mem::replace(&mut self.conn, stream) else {
            return;
        };
        self.io = c.attempts.swap_remove(i).io;
        self.write_interest = true;
        let tls = c.tls.take();
        drop(c); // closes the losers
        self.connected(cx, read, tls);
    }

    /// The stream is connected: TLS starts its handshake, TCP is open.
    fn connected(&mut self, cx: &Cx<'_>, read: Option<ReadUntil>, tls: Option<Box<TlsSetup>>) {
        match tls {
            None => self.opened(cx, read),
            Some(setup) => match TlsConn::new(&setup) {
                Ok(tls) => {
                    if let Conn::Stream(s) = &mut self.conn {
                        s.tls = Some(Box::new(tls));
                    }
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
