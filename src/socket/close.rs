//! Closing: `sock_close`, flushing before the FIN, and draining unread input so that the
//! close is a FIN, not an RST.

use super::lifecycle::CloseStep;
use super::read::SCRATCH;
use super::{Cx, Phase, Sock, State, said};
use crate::codes::*;
use crate::constants::*;
use crate::os_socket::Io;
use crate::reactor::Reactor;
use crate::timers::TimerKind;
use std::ffi::c_int;

/// Bytes read and dropped while closing, so that the close sends FIN rather than RST.
const CLOSE_DRAIN_LIMIT: usize = 1 << 20;

impl Sock {
    pub(crate) fn close(&self, sh: &Reactor) -> Result<(), c_int> {
        self.with(sh, |st, cx| {
            let step = st.life.close().inspect_err(|&code| st.last_error = code)?;
            match step {
                CloseStep::Cancel => {
                    st.end_connect(cx, SOCK_ERR_EABORT);
                    cx.post(MSG_SOCK_CLOSE_CNF, SOCK_ERR_OK, 0, 0);
                }
                CloseStep::Flush => {
                    st.close_if_flushed(cx);
                    if st.life.phase() == Phase::Closing {
                        cx.arm(TimerKind::Close, self.cfg.close_timeout);
                    }
                }
                CloseStep::Confirm => cx.post(MSG_SOCK_CLOSE_CNF, SOCK_ERR_OK, 0, 0),
            }
            Ok(())
        })
    }
}

impl State {
    /// Queued sends are done: shut the connection down and confirm the close.
    pub(super) fn finish_close(&mut self, cx: &Cx<'_>, code: c_int) {
        log::info!(target: "socketcore", "socket {}: closed ({})", cx.sock.id, said(code));
        // Plain TCP whose last read left the kernel's receive queue empty (it ended short, at
        // WouldBlock or at EOF, not at a full buffer): dropping `io` closes the descriptor,
        // and the kernel sends what is still in its send buffer, then the FIN. Otherwise,
        // and for TLS (whose peer answers close_notify with its own), shut down first so the
        // FIN goes out, then drain.
        let unread_possible = self.tls().is_some() || (self.read_paused && !self.read_done);
        if let Io::Tcp(s) = &mut self.io
            && unread_possible
        {
            let _ = s.shutdown(std::net::Shutdown::Write);
            // Unread input would make the kernel answer our close with RST, which can destroy
            // data the peer has not read yet; read a bounded amount and drop it instead.
            if !self.read_done {
                drain(s);
            }
        }
        self.io = Io::None;
        self.drop_tls();
        if self.life.close_flushed() {
            cx.post(MSG_SOCK_CLOSE_CNF, code, 0, 0);
        }
    }

    pub(super) fn close_if_flushed(&mut self, cx: &Cx<'_>) {
        let acks_waiting = self.acks().is_some_and(|a| !a.waiting.is_empty());
        if self.life.phase() != Phase::Closing || !self.sendq.is_empty() || acks_waiting {
            return;
        }
        if self.tls().is_some() && !self.tls_close_notify(cx) {
            return; // the rest goes on the next writable event
        }
        self.finish_close(cx, SOCK_ERR_OK);
    }
}

/// Reads and drops up to `CLOSE_DRAIN_LIMIT` bytes of unread input.
fn drain(s: &mut mio::net::TcpStream) {
    SCRATCH.with_borrow_mut(|scratch| {
        let mut total = 0;
        while total < CLOSE_DRAIN_LIMIT {
            match crate::os_socket::recv_stream(s, scratch) {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    });
}
