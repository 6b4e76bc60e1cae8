//! What happens to the socket at each step of its life that posts a message: opening
//! (CONN_CNF 0), a failed connect (CONN_CNF with the code), a broken connection (failed
//! sends, then CLOSE_CNF or CLOSE_IND), and announcing what arrived (RECV_IND, CLOSE_IND).
//! Whether each message may be posted is `Lifecycle`'s to say (`lifecycle.rs`).

use super::lifecycle::Broken;
use super::{Conn, Cx, ReadUntil, State};
use crate::codes::*;
use crate::constants::*;
use crate::os_socket::Io;
use std::ffi::c_int;

impl State {
    /// The connection is up: CONN_CNF, then a read as far as `read` says (None: the readiness
    /// event said nothing is readable; bytes arriving later raise their own edge).
    pub(super) fn opened(&mut self, cx: &Cx<'_>, read: Option<ReadUntil>) {
        if !self.life.opened() {
            return;
        }
        cx.connect_settled();
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
        cx.post(MSG_SOCK_CONN_CNF, SOCK_ERR_OK, 0, 0);
        if let Some(until) = read {
            self.read_some(cx, until);
        }
    }

    /// The connect failed with `code` (if it was still connecting).
    pub(super) fn fail_connect(&mut self, cx: &Cx<'_>, code: c_int) {
        if self.life.connect_failed() {
            self.end_connect(cx, code);
        }
    }

    /// Drops what connecting held and posts the connect's failed CONN_CNF; the lifecycle has
    /// already left connecting (`fail_connect`, or a `sock_close` that cancels it).
    pub(super) fn end_connect(&mut self, cx: &Cx<'_>, code: c_int) {
        self.keep_tls_error();
        match &self.tls_error {
            Some(why) => log::error!(target: "socketcore", "socket {}: connect failed: {} ({why})",
                cx.sock.id, said(code)),
            None => log::error!(target: "socketcore", "socket {}: connect failed: {}",
                cx.sock.id, said(code)),
        }
        self.io = Io::None;
        self.conn = Conn::Gone; // closes the attempts
        self.last_error = code;
        cx.connect_settled();
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
        match self.life.broke(code) {
            Broken::ConfirmClose => cx.post(MSG_SOCK_CLOSE_CNF, code, 0, 0),
            Broken::PeerEnded => self.announce(cx),
            Broken::Nothing => {}
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
        if self.unannounced > 0 && self.life.claim_recv_ind() {
            let len = match &self.conn {
                Conn::Datagram(d) => {
                    let first_new = d.queue.len() - self.unannounced;
                    self.unannounced -= 1;
                    d.queue[first_new].len()
                }
                _ => std::mem::take(&mut self.unannounced),
            };
            cx.post(MSG_SOCK_RECV_IND, SOCK_ERR_OK, len, 0);
        }
        if self.unannounced == 0
            && let Some(code) = self.life.claim_close_ind()
        {
            cx.post(MSG_SOCK_CLOSE_IND, code, 0, 0);
        }
    }
}

/// The sentence for `code` without its NUL, for log lines.
pub(super) fn said(code: c_int) -> &'static str {
    sentence(code).trim_end_matches('\0')
}
