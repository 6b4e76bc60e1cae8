//! A socket's state behind its lock, typed by phase and transport: what connecting needs and
//! what each transport keeps share one enum (`Conn`), so no socket carries another's fields.

use super::happy_eyeballs::Attempt;
use super::lifecycle::Lifecycle;
use super::send_queue::{AckWait, SendQueue};
use crate::bytering::ByteRing;
use crate::options::SockOpts;
use crate::os_socket::Io;
use crate::tls::{TlsConn, TlsSetup};
use std::collections::VecDeque;
use std::ffi::c_int;
use std::net::SocketAddr;
use std::time::Instant;

/// A socket's mutable state. An idle connection holds only this (and its `Sock`): what one
/// transport or the connect phase needs lives in `conn`, what is rare is boxed, so it costs
/// nothing elsewhere (`benches/README.md`, "where the bytes went").
pub(super) struct State {
    /// The phase and the message bounds (`lifecycle.rs`).
    pub(super) life: Lifecycle,
    /// WRITABLE is registered with epoll for `io` (see `sync_interest`).
    pub(super) write_interest: bool,
    /// Counted among the sockets the poll thread must drive while nobody waits
    /// (`count_driven`).
    pub(super) driven: bool,
    /// The receive buffer filled up: the socket is not being read (flow control holds the peer).
    pub(super) read_paused: bool,
    /// The read side has ended (EOF or error): do not read again.
    pub(super) read_done: bool,
    pub(super) last_error: c_int,
    pub(super) io: Io,
    /// What the connect phase, then the transport alone needs.
    pub(super) conn: Conn,
    pub(super) sendq: SendQueue,
    pub(super) queued_bytes: usize,
    /// Stream: buffered bytes not yet announced. Datagram: queued datagrams not yet announced.
    pub(super) unannounced: usize,
    /// Why the TLS connection failed, in rustls' words (`sock_tls_error_text`).
    #[expect(
        clippy::box_collection,
        reason = "one word in every socket; only a failed TLS connection has the text"
    )]
    pub(super) tls_error: Option<Box<String>>,
    pub(super) bytes_sent: u64,
    pub(super) bytes_received: u64,
}

/// The connect phase's and then the transport's own state: what connecting, a stream and a
/// datagram socket keep differs. Connecting shares the room a stream uses once connected.
pub(super) enum Conn {
    /// Resolving, or the OS connect in progress (`Phase::Resolving`, `Phase::Connecting`
    /// until a TCP connect is done; a TLS handshake is `Connecting` with a `Stream`).
    Connecting(Connect),
    Stream(Stream),
    /// UDP and RAW (`Sock::kind` tells which).
    Datagram(Box<Datagrams>),
    /// The connect failed or was cancelled, or the socket was destroyed.
    Gone,
}

/// TCP, with TLS once its handshake starts.
pub(super) struct Stream {
    pub(super) buf: ByteRing,
    pub(super) tls: Option<Box<TlsConn>>,
    /// With `send_cnf_on_ack` only.
    pub(super) acks: Option<Box<Acks>>,
}

/// `send_cnf_on_ack`: sends written and not yet acknowledged by the peer.
#[derive(Default)]
pub(super) struct Acks {
    pub(super) waiting: VecDeque<AckWait>,
    /// Every byte written to the kernel (TLS: records), against its unacknowledged count.
    pub(super) written_total: u64,
    pub(super) timer_armed: bool,
}

#[derive(Default)]
pub(super) struct Datagrams {
    pub(super) queue: VecDeque<Vec<u8>>,
    /// Bytes in `queue`.
    pub(super) bytes: usize,
    /// The connected peer (its family bounds a datagram's size).
    pub(super) peer: Option<SocketAddr>,
    pub(super) dropped: u64,
}

/// What connecting needs: the addresses, the attempts, the remembered options to apply to
/// each new OS socket, the TLS settings for the handshake.
pub(super) struct Connect {
    /// Addresses not tried yet, the next one last.
    pub(super) addrs: Vec<SocketAddr>,
    /// Stream connection attempts in progress (see `happy_eyeballs.rs`).
    pub(super) attempts: Vec<Attempt>,
    /// Attempt sockets opened so far: while it is 1, every event on the token is that one's.
    pub(super) attempts_opened: u32,
    /// The most recent attempt's failure: CONN_CNF's code when every attempt fails.
    pub(super) error: c_int,
    pub(super) pace: Pace,
    /// Options set before the OS socket exists (boxed: most sockets set none this early).
    pub(super) opts: Option<Box<SockOpts>>,
    pub(super) tls: Option<Box<TlsSetup>>,
}

/// When the next attempt starts (see `happy_eyeballs.rs`).
pub(super) enum Pace {
    /// Side by side: the next one when this is due.
    Staggered { next_at: Option<Instant> },
    /// One at a time (a local port is set), each with a share of the time left before the
    /// connect timer's deadline.
    Sequential { deadline: Instant },
}

impl Connect {
    pub(super) fn opts(&self) -> &SockOpts {
        static NONE: SockOpts = SockOpts::none();
        self.opts.as_deref().unwrap_or(&NONE)
    }
}

impl State {
    /// (bytes queued to send, bytes received and not yet read).
    pub(super) fn buffered(&self) -> (u64, u64) {
        let received = match &self.conn {
            Conn::Stream(s) => s.buf.len(),
            Conn::Datagram(d) => d.bytes,
            Conn::Connecting(_) | Conn::Gone => 0,
        };
        (self.queued_bytes as u64, received as u64)
    }

    pub(super) fn tls(&self) -> Option<&TlsConn> {
        match &self.conn {
            Conn::Stream(s) => s.tls.as_deref(),
            _ => None,
        }
    }

    pub(super) fn acks(&mut self) -> Option<&mut Acks> {
        match &mut self.conn {
            Conn::Stream(s) => s.acks.as_deref_mut(),
            _ => None,
        }
    }

    pub(super) fn drop_tls(&mut self) {
        if let Conn::Stream(s) = &mut self.conn {
            s.tls = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::Sock;
    use std::mem::size_of;

    /// An idle TCP connection costs its `Sock` (inside its `Arc`) and a table slot; its
    /// connect deadline leaves the heap once the connect has settled (`timers.rs`). libuv's
    /// figure for the same connection is 361 B of RSS (`benches/README.md`). A 216 B `Sock`
    /// is 232 B with the `Arc`'s counts, a 240 B malloc chunk; the slot (16 B), in a vector
    /// that doubles, brings it to about 280 B. The connect phase lives inside `Conn`, so connecting adds
    /// only its attempt (one 32 B chunk per address). Debug builds add 16 B to `Io` (mio's
    /// selector id), hence the allowance.
    #[test]
    fn an_idle_socket_stays_small() {
        let debug_extra = size_of::<Io>() - 8;
        assert!(
            size_of::<Sock>() <= 216 + debug_extra,
            "{}",
            size_of::<Sock>()
        );
        // Connecting and each transport share `Conn`; what is rare is boxed.
        assert!(size_of::<Connect>() <= size_of::<Conn>());
        assert!(size_of::<Conn>() <= 96, "{}", size_of::<Conn>());
    }
}
