//! What epoll watches for a socket, and whether the poll thread must drive it while no
//! thread waits.

use super::{Conn, Cx, Kind, Phase, State, token_of};
use crate::errno::code_of;
use crate::os_socket::Io;
use crate::reactor::Reactor;
use mio::Interest;
use std::io;

impl State {
    /// Whether this socket must be driven even while no thread waits for messages, because
    /// the peer would notice otherwise: output the kernel has not taken yet, a TLS handshake,
    /// a connect with other addresses to try. A plain connect or a read can wait for the next
    /// waiter (the kernel completes the handshake and buffers input meanwhile), and the poll
    /// thread need not step in between (see `poller.rs`).
    pub(super) fn count_driven(&mut self, sh: &Reactor, kind: Kind) {
        let driven = match self.life.phase() {
            Phase::Open | Phase::Closing => {
                !self.sendq.is_empty() || self.tls().is_some_and(|t| t.wants_write())
            }
            Phase::Connecting => {
                kind == Kind::Tls
                    || matches!(&self.conn, Conn::Connecting(c)
                        if !c.addrs.is_empty() || c.attempts.len() > 1)
            }
            Phase::Resolving | Phase::Closed => false,
        };
        if driven != self.driven {
            self.driven = driven;
            sh.poller.driven_changed(driven);
        }
    }

    /// A stream keeps the READABLE | WRITABLE it was registered with for its whole life (no
    /// epoll_ctl after the connect): edge-triggered, TCP raises a writable edge only when
    /// space frees up after a write found the buffer full (SOCK_NOSPACE), i.e. only when
    /// something waits to be written. A datagram socket raises one for every datagram the
    /// kernel frees, so UDP and RAW add WRITABLE only while a send waits; turning it on
    /// raises an event at once if the socket is writable.
    pub(super) fn sync_interest(&mut self, cx: &Cx<'_>) {
        if !self.io.is_some() {
            return;
        }
        let want = cx.sock.kind.is_stream() || !self.sendq.is_empty();
        if want == self.write_interest {
            return;
        }
        let interest = if want {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        match set_interest(cx, &mut self.io, interest, true) {
            Ok(()) => self.write_interest = want,
            // Without WRITABLE the queue would never drain: the connection has failed.
            Err(e) if want && matches!(self.life.phase(), Phase::Open | Phase::Closing) => {
                self.fail(cx, code_of(&e))
            }
            Err(_) => {} // keep the wider interest; tried again on the next call
        }
    }
}

pub(super) fn register(cx: &Cx<'_>, mut io: Io, interest: Interest) -> io::Result<Io> {
    set_interest(cx, &mut io, interest, false)?;
    Ok(io)
}

/// Registers `io` with the poller (`again`: changes its registration) for `interest`.
pub(super) fn set_interest(
    cx: &Cx<'_>,
    io: &mut Io,
    interest: Interest,
    again: bool,
) -> io::Result<()> {
    use mio::event::Source;
    use std::os::fd::AsRawFd;
    let token = token_of(cx.sock.id, cx.sock.generation);
    cx.sh.with_registry(|registry| {
        let apply = |source: &mut dyn Source| {
            if again {
                source.reregister(registry, token, interest)
            } else {
                source.register(registry, token, interest)
            }
        };
        match io {
            Io::Tcp(s) => apply(s),
            Io::Udp(s) => apply(s),
            Io::Raw(s) => apply(&mut mio::unix::SourceFd(&s.as_raw_fd())),
            Io::None => Ok(()),
        }
    })
}
