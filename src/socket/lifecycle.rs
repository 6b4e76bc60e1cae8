//! A socket's life: its phases, connecting a datagram socket, opening, failing, and the
//! per-socket message bounds that keep the ring finite: one CONN_CNF in its life, at most one
//! RECV_IND in the ring, one CLOSE_IND, one CLOSE_CNF, and at most `max_sends` SEND_CNFs (a
//! send slot is freed only when its SEND_CNF is taken from the ring).

use super::{Conn, Cx, Datagrams, ReadUntil, State, register};
use crate::codes::*;
use crate::constants::*;
use crate::errno::code_of;
use crate::os_socket::{self, Io};
use mio::Interest;
use std::ffi::c_int;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the resolver (or for the poll thread to start the connect).
    Resolving,
    /// The OS connect is in progress.
    Connecting,
    /// CONN_CNF 0 was posted; sending is allowed.
    Open,
    /// `sock_close` accepted; flushing queued sends before shutting down.
    Closing,
    /// No OS socket any more (failed, closed, or never connected).
    Closed,
}

/// The bounds on what a socket announces (see the module's first lines): its RECV_IND, and its
/// CLOSE_IND. A state that would break them cannot be written down: a new RECV_IND needs the
/// last one both taken from the ring and answered by a `sock_recv`, and a CLOSE_IND comes once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum RecvInd {
    /// None outstanding: the next may be posted.
    #[default]
    Free,
    /// Posted; `taken`: out of the ring; `read`: `sock_recv` called since.
    Posted { taken: bool, read: bool },
}

impl RecvInd {
    fn mark(&mut self, taken: bool, read: bool) {
        if let RecvInd::Posted { taken: t, read: r } = self {
            *t |= taken;
            *r |= read;
            if *t && *r {
                *self = RecvInd::Free;
            }
        }
    }

    /// Its RECV_IND was taken from the ring.
    pub(super) fn taken(&mut self) {
        self.mark(true, false);
    }

    /// The application called `sock_recv`.
    pub(super) fn read(&mut self) {
        self.mark(false, true);
    }
}

impl State {
    /// UDP and RAW: the first address whose socket opens is the peer (a datagram connect
    /// only sets the default destination, so there is nothing to wait for).
    pub(super) fn connect_datagram(&mut self, cx: &Cx<'_>, mut last: c_int) {
        let kind = cx.sock.kind;
        let Conn::Connecting(c) = &mut self.conn else {
            return self.fail_connect(cx, last);
        };
        while let Some(addr) = c.addrs.pop() {
            let opened = os_socket::open(kind.transport(), addr, cx.sock.cfg.local_port, c.opts())
                .and_then(|io| register(cx, io, Interest::READABLE));
            match opened {
                Ok(io) => {
                    self.io = io;
                    self.write_interest = false;
                    self.conn = Conn::Datagram(Box::new(Datagrams {
                        peer: Some(addr),
                        ..Datagrams::default()
                    }));
                    // Registered after the connect that filters what it may receive: a
                    // datagram already there raises an event, so there is nothing to read yet.
                    self.opened(cx, None);
                    return;
                }
                Err(e) => last = code_of(&e),
            }
        }
        self.fail_connect(cx, last);
    }

    /// The connection is up: CONN_CNF, then a read as far as `read` says (None: the readiness
    /// event said nothing is readable; bytes arriving later raise their own edge).
    pub(super) fn opened(&mut self, cx: &Cx<'_>, read: Option<ReadUntil>) {
        if log::log_enabled!(target: "socketcore", log::Level::Info) {
            let peer = self
                .io
                .address(true)
                .map_or_else(|_| "-".into(), |a| a.to_string());
            let local = self
                .io
                .address(false)
                .map_or_else(|_| "-".into(), |a| a.to_string());
            let tls = self
                .tls()
                .map(|t| format!(", {}", t.summary()))
                .unwrap_or_default();
            log::info!(target: "socketcore", "socket {}: connected to {peer} from {local}{tls}", cx.sock.id);
        }
        self.phase = Phase::Open;
        cx.post(MSG_SOCK_CONN_CNF, SOCK_ERR_OK, 0, 0);
        if let Some(until) = read {
            self.read_some(cx, until);
        }
    }

    pub(super) fn fail_connect(&mut self, cx: &Cx<'_>, code: c_int) {
        self.keep_tls_error();
        match &self.tls_error {
            Some(why) => log::error!(target: "socketcore", "socket {}: connect failed: {} ({why})",
                cx.sock.id, said(code)),
            None => log::error!(target: "socketcore", "socket {}: connect failed: {}",
                cx.sock.id, said(code)),
        }
        self.io = Io::None;
        self.conn = Conn::Gone; // closes the attempts
        self.phase = Phase::Closed;
        self.last_error = code;
        cx.post(MSG_SOCK_CONN_CNF, code, 0, 0);
    }

    /// The connection broke (or a close timed out): every pending send fails in order, then
    /// CLOSE_CNF if the application was closing, else CLOSE_IND once the buffered bytes are
    /// announced.
    pub(super) fn fail(&mut self, cx: &Cx<'_>, code: c_int) {
        self.keep_tls_error();
        log::warn!(target: "socketcore", "socket {}: connection failed: {}{}", cx.sock.id,
            said(code), self.tls_error.as_ref().map(|w| format!(" ({w})")).unwrap_or_default());
        self.io = Io::None;
        self.last_error = code;
        self.read_done = true;
        self.queued_bytes = 0;
        // Oldest first: written and awaiting the peer's ACK, then encrypted but not yet
        // written (TLS), then still queued.
        if let Conn::Stream(s) = &mut self.conn {
            if let Some(acks) = &mut s.acks {
                for wait in std::mem::take(&mut acks.waiting) {
                    cx.post(MSG_SOCK_SEND_CNF, code, 0, wait.total);
                }
            }
            if let Some(tls) = &mut s.tls {
                for total in tls.unflushed.drain(..) {
                    cx.post(MSG_SOCK_SEND_CNF, code, 0, total);
                }
            }
        }
        for req in self.sendq.take() {
            cx.post(MSG_SOCK_SEND_CNF, code, 0, req.total);
        }
        let was_closing = self.phase == Phase::Closing;
        self.phase = Phase::Closed;
        if was_closing {
            cx.post(MSG_SOCK_CLOSE_CNF, code, 0, 0);
        } else if self.peer_end.is_none() {
            self.peer_end = Some(code);
            self.announce(cx);
        }
    }

    /// Keeps rustls' reason for a TLS failure once the TLS state is gone.
    pub(super) fn keep_tls_error(&mut self) {
        if let Some(why) = self.tls().and_then(|t| t.error_text()) {
            self.tls_error = Some(Box::new(crate::diagnostics::tls_error_text(why)));
        }
    }

    /// Posts the RECV_IND (and then the CLOSE_IND) the rules allow now.
    pub(super) fn announce(&mut self, cx: &Cx<'_>) {
        if self.close_requested {
            return;
        }
        if self.unannounced > 0 && self.recv_ind == RecvInd::Free {
            let len = match &self.conn {
                Conn::Datagram(d) => {
                    let first_new = d.queue.len() - self.unannounced;
                    self.unannounced -= 1;
                    d.queue[first_new].len()
                }
                _ => std::mem::take(&mut self.unannounced),
            };
            self.recv_ind = RecvInd::Posted {
                taken: false,
                read: false,
            };
            cx.post(MSG_SOCK_RECV_IND, SOCK_ERR_OK, len, 0);
        }
        if let Some(code) = self.peer_end
            && self.unannounced == 0
            && !self.close_ind_posted
        {
            self.close_ind_posted = true;
            cx.post(MSG_SOCK_CLOSE_IND, code, 0, 0);
        }
    }
}

/// The sentence for `code` without its NUL, for log lines.
pub(super) fn said(code: c_int) -> &'static str {
    sentence(code).trim_end_matches('\0')
}

#[cfg(test)]
mod tests {
    use super::RecvInd;

    /// The next RECV_IND waits until the last one is both taken and answered, in either order.
    #[test]
    fn recv_ind_frees_only_when_taken_and_read() {
        for take_first in [true, false] {
            let mut r = RecvInd::Posted {
                taken: false,
                read: false,
            };
            if take_first {
                r.taken()
            } else {
                r.read()
            }
            assert_ne!(r, RecvInd::Free, "one of the two is not enough");
            if take_first {
                r.read()
            } else {
                r.taken()
            }
            assert_eq!(r, RecvInd::Free);
        }
        let mut free = RecvInd::Free;
        free.read(); // a sock_recv with nothing announced changes nothing
        assert_eq!(free, RecvInd::Free);
    }
}
