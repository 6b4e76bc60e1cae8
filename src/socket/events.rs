//! What the leader (and the resolver) drive: a resolver's answer, readiness, deadlines, a
//! message taken from the ring, a caught fault.

use super::{Conn, Cx, Handoff, Phase, ReadUntil, Readiness, Sock, State};
use crate::codes::*;
use crate::constants::*;
use crate::reactor::Reactor;
use crate::timers::TimerKind;
use crate::types::sock_msg;
use std::ffi::c_int;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

impl Sock {
    /// The resolver's answer (or a literal address): start connecting.
    pub(crate) fn start(&self, sh: &Reactor, addrs: Result<Vec<SocketAddr>, c_int>) {
        let _ = self.with(sh, |st, cx| {
            if st.life.phase() != Phase::Resolving {
                return Ok(()); // cancelled by sock_close or timed out meanwhile
            }
            match addrs {
                Ok(list) if self.kind.is_stream() => st.begin_attempts(cx, list),
                Ok(list) => {
                    log::debug!(target: "socketcore", "socket {}: addresses to try: {list:?}", self.id);
                    if let Conn::Connecting(c) = &mut st.conn {
                        c.addrs = list.into_iter().rev().collect();
                    }
                    st.connect_datagram(cx, SOCK_ERR_EDNS);
                }
                Err(code) => st.fail_connect(cx, code),
            }
            Ok(())
        });
    }

    /// The socket's OS handle became ready (`handoff`: see `Cx::post`).
    pub(crate) fn on_ready(&self, sh: &Reactor, ready: Readiness, handoff: Option<&Handoff>) {
        let _ = self.with_handoff(sh, handoff, |st, cx| {
            match st.life.phase() {
                Phase::Connecting if st.tls().is_some() => st.tls_handshake(cx),
                Phase::Connecting => st.check_attempts(cx, ready),
                Phase::Open | Phase::Closing => {
                    if ready.writable {
                        st.flush(cx);
                    }
                    if ready.readable {
                        let until = if ready.closing {
                            ReadUntil::WouldBlock
                        } else {
                            ReadUntil::ShortRead
                        };
                        st.read_some(cx, until);
                    }
                    st.check_acks(cx);
                }
                Phase::Resolving | Phase::Closed => {}
            }
            Ok(())
        });
    }

    pub(crate) fn on_timer(&self, sh: &Reactor, kind: TimerKind) {
        let _ = self.with(sh, |st, cx| {
            match kind {
                TimerKind::Connect => {
                    st.fail_connect(cx, SOCK_ERR_ETIMEOUT); // only if still connecting
                }
                TimerKind::NextAttempt => st.on_attempt_timer(cx),
                TimerKind::Close => {
                    if st.life.phase() == Phase::Closing {
                        st.fail(cx, SOCK_ERR_ETIMEOUT);
                    }
                }
                TimerKind::TlsVerdict => {
                    if st.life.phase() == Phase::Connecting
                        && st.tls().is_some_and(|t| t.awaiting_verdict)
                    {
                        st.opened(cx, Some(ReadUntil::WouldBlock));
                    }
                }
                TimerKind::AckPoll => {
                    if let Some(a) = st.acks() {
                        a.timer_armed = false;
                    }
                    st.check_acks(cx);
                }
                TimerKind::App => {} // application timers are not a socket's (app_timers.rs)
            }
            Ok(())
        });
    }

    /// A message of this socket was taken from the ring.
    pub(crate) fn on_taken(&self, sh: &Reactor, msg: &sock_msg) {
        match msg.id {
            MSG_SOCK_RECV_IND => {
                let _ = self.with(sh, |st, cx| {
                    self.taken_locked(st, cx, msg);
                    Ok(())
                });
            }
            _ => self.taken_unlocked(msg),
        }
    }

    /// `on_taken` with the lock held (for a message handed to a leader as it is posted).
    pub(super) fn taken_locked(&self, st: &mut State, cx: &Cx<'_>, msg: &sock_msg) {
        self.taken_unlocked(msg);
        if msg.id == MSG_SOCK_RECV_IND {
            st.life.recv_ind_taken();
            st.announce(cx);
        }
    }

    /// What taking a message settles outside the socket's state.
    fn taken_unlocked(&self, msg: &sock_msg) {
        let count = match msg.id {
            MSG_SOCK_SEND_CNF => &self.sends_outstanding,
            MSG_SOCK_RECV_IND => return,
            _ => &self.in_ring,
        };
        let _ = count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Fails the socket after a fault was caught while handling it.
    pub(crate) fn fault(&self, sh: &Reactor) {
        let _ = self.with(sh, |st, cx| {
            match st.life.phase() {
                Phase::Resolving | Phase::Connecting => st.fail_connect(cx, SOCK_ERR_EPANIC),
                Phase::Open | Phase::Closing => st.fail(cx, SOCK_ERR_EPANIC),
                Phase::Closed => {}
            }
            Ok(())
        });
    }
}
