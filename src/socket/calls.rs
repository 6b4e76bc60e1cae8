//! What the API calls drive: sending, receiving, options, destroying, and the questions
//! (`sock_error`, `sock_stats`, TLS details, addresses). Closing is in `close.rs`.

use super::{Conn, Kind, Phase, SendQueue, Sock, State};
use crate::codes::*;
use crate::constants::*;
use crate::errno::code_of;
use crate::options::Opt;
use crate::os_socket::Io;
use crate::reactor::Reactor;
use crate::types::sock_counters;
use std::ffi::c_int;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

impl Sock {
    /// Sends, unless the socket is still connecting: then None, with nothing recorded, so
    /// that the caller can dispatch what nobody has yet (the connect may have finished) and
    /// call `send`. A send is locked once on the usual path.
    pub(crate) fn send_if_connected(&self, sh: &Reactor, data: &[u8]) -> Option<Result<(), c_int>> {
        self.send_or(sh, data, true)
    }

    pub(crate) fn send(&self, sh: &Reactor, data: &[u8]) -> Result<(), c_int> {
        self.send_or(sh, data, false)
            .unwrap_or(Err(SOCK_ERR_ENOTCONN))
    }

    fn send_or(
        &self,
        sh: &Reactor,
        data: &[u8],
        unless_connecting: bool,
    ) -> Option<Result<(), c_int>> {
        let sent = self.with(sh, |st, cx| {
            if unless_connecting && st.life.connecting() {
                return Ok(None);
            }
            let refuse = |st: &mut State, code| {
                st.last_error = code;
                Err(code)
            };
            if data.is_empty() || data.len() > self.cfg.snd_buf {
                return refuse(st, SOCK_ERR_EARG);
            }
            if !st.life.may_send() || !st.io.is_some() {
                return refuse(st, SOCK_ERR_ENOTCONN);
            }
            if st.life.peer_end_announced() && crate::compat::enabled(SOCK_COMPAT_CLOSE_IND) {
                return refuse(st, SOCK_ERR_ECLSD);
            }
            // The kernel would refuse it only when it is written, as EMSGSIZE in a SEND_CNF.
            if let Conn::Datagram(d) = &st.conn
                && d.peer
                    .is_some_and(|peer| data.len() > max_datagram(self.kind, peer))
            {
                return refuse(st, SOCK_ERR_EARG);
            }
            if self.sends_outstanding.load(Ordering::Acquire) as usize >= self.cfg.max_sends
                || st.queued_bytes + data.len() > self.cfg.snd_buf
            {
                return refuse(st, SOCK_ERR_ENOBUFS);
            }
            self.sends_outstanding.fetch_add(1, Ordering::AcqRel);
            st.enqueue(cx, data);
            Ok(Some(()))
        });
        sent.transpose()
    }

    pub(crate) fn recv(&self, sh: &Reactor, out: &mut [u8]) -> Result<usize, c_int> {
        self.with(sh, |st, cx| {
            let n = match &mut st.conn {
                Conn::Stream(s) => {
                    let announced = s.buf.len() - st.unannounced;
                    let n = s.buf.take(out);
                    st.unannounced -= n.saturating_sub(announced);
                    n
                }
                Conn::Datagram(_) => st.take_datagram(out),
                Conn::Connecting(_) | Conn::Gone => 0,
            };
            st.life.recv_called();
            if st.read_paused && n > 0 {
                st.read_paused = false;
                st.read(cx); // gives the buffer back itself if the kernel has nothing more
            } else if let Conn::Stream(s) = &mut st.conn {
                s.buf.release_if_empty();
            }
            st.announce(cx);
            Ok(n)
        })
    }

    /// Frees the socket's resources; later calls on this `Sock` get `EBADID`.
    /// Returns whether messages of the socket may still be in the ring (nothing posts after
    /// this; one taken meanwhile only makes the answer cautious).
    pub(crate) fn destroy(&self, sh: &Reactor) -> bool {
        let mut st = self.state.lock();
        let recv_ind = st.life.recv_ind_in_ring();
        if st.life.connecting() {
            sh.connect_settled(self.id, self.generation);
        }
        st.life.destroy();
        if std::mem::take(&mut st.driven) {
            sh.poller.driven_changed(false);
        }
        st.io = Io::None;
        st.conn = Conn::Gone;
        st.sendq = SendQueue::default();
        recv_ind
            || self.in_ring.load(Ordering::Acquire) > 0
            || self.sends_outstanding.load(Ordering::Acquire) > 0
    }

    pub(crate) fn setopt(&self, sh: &Reactor, opt: Opt, value: c_int) -> Result<(), c_int> {
        self.with(sh, |st, _| {
            if opt.is_tcp_only() && !self.kind.is_stream() {
                st.last_error = SOCK_ERR_EARG;
                return Err(SOCK_ERR_EARG);
            }
            if let Conn::Connecting(c) = &mut st.conn {
                // For the OS sockets still to be opened.
                c.opts.get_or_insert_default().remember(opt, value);
            }
            let applied = match st.io.sock_ref() {
                Some(sock) => crate::options::apply(&sock, opt, value),
                None => st.apply_to_attempts(opt, value),
            };
            if let Err(e) = applied {
                st.last_error = code_of(&e);
                return Err(st.last_error);
            }
            Ok(())
        })
    }

    /// Records `code` as the socket's error and returns it as a refusal.
    pub(crate) fn refuse(&self, sh: &Reactor, code: c_int) -> Result<(), c_int> {
        self.with(sh, |st, _| {
            st.last_error = code;
            Err(code)
        })
    }

    pub(crate) fn last_error(&self, sh: &Reactor) -> c_int {
        self.with(sh, |st, _| Ok(st.last_error))
            .unwrap_or_else(|code| code)
    }

    pub(crate) fn stats(&self, sh: &Reactor) -> Result<sock_counters, c_int> {
        self.with(sh, |st, _| {
            let (send_queued, recv_buffered) = st.buffered();
            Ok(sock_counters {
                bytes_sent: st.bytes_sent,
                bytes_received: st.bytes_received,
                datagrams_dropped: match &st.conn {
                    Conn::Datagram(d) => d.dropped,
                    _ => 0,
                },
                send_queued,
                recv_buffered,
            })
        })
    }

    /// The ALPN protocol the server chose, once connected (TLS only).
    pub(crate) fn tls_alpn(&self, sh: &Reactor) -> Result<Option<Vec<u8>>, c_int> {
        self.with(sh, |st, _| match (st.tls(), st.life.phase()) {
            (Some(t), Phase::Open | Phase::Closing) => Ok(t.alpn()),
            _ => Err(SOCK_ERR_EINVAL),
        })
    }

    /// The negotiated TLS version and cipher suite, once connected.
    pub(crate) fn tls_summary(&self, sh: &Reactor) -> Result<String, c_int> {
        self.with(sh, |st, _| match (st.tls(), st.life.phase()) {
            (Some(t), Phase::Open | Phase::Closing) => Ok(t.summary()),
            _ => Err(SOCK_ERR_EINVAL),
        })
    }

    /// Why the TLS connection failed (None: it did not, or the socket is not TLS).
    pub(crate) fn tls_error_text(&self, sh: &Reactor) -> Result<Option<String>, c_int> {
        self.with(sh, |st, _| Ok(st.tls_error.as_deref().cloned()))
    }

    /// The peer's address (`peer`) or the socket's own, while an OS socket is connected.
    pub(crate) fn address(&self, sh: &Reactor, peer: bool) -> Result<SocketAddr, c_int> {
        self.with(sh, |st, _| st.io.address(peer))
    }

    /// Whether the TLS session was resumed, once connected.
    pub(crate) fn tls_resumed(&self, sh: &Reactor) -> Result<bool, c_int> {
        self.with(sh, |st, _| match (st.tls(), st.life.phase()) {
            (Some(t), Phase::Open | Phase::Closing) => Ok(t.resumed()),
            _ => Err(SOCK_ERR_EINVAL),
        })
    }

    /// (bytes queued to send, bytes received and not yet read), for `sock_global_stats`.
    pub(crate) fn buffered(&self) -> (u64, u64) {
        self.state.lock().buffered()
    }

    /// Bytes of buffer memory this socket holds now (for tests of lazy allocation).
    pub(crate) fn buffer_memory(&self) -> usize {
        let st = self.state.lock();
        let received = match &st.conn {
            Conn::Stream(s) => s.buf.allocated(),
            Conn::Datagram(d) => d.bytes,
            Conn::Connecting(_) | Conn::Gone => 0,
        };
        received + st.sendq.iter().map(|r| r.data.capacity()).sum::<usize>()
    }
}

/// The largest datagram a UDP or RAW socket connected to `peer` can carry.
fn max_datagram(kind: Kind, peer: SocketAddr) -> usize {
    let max = match (kind, peer.is_ipv6()) {
        (Kind::Raw(_), false) => SOCK_MAX_RAW_PAYLOAD_V4,
        (Kind::Raw(_), true) => SOCK_MAX_RAW_PAYLOAD_V6,
        (_, false) => SOCK_MAX_UDP_PAYLOAD_V4,
        (_, true) => SOCK_MAX_UDP_PAYLOAD_V6,
    };
    max as usize
}
