//! One socket's state machine: what it may do in each phase, its send queue and receive buffer,
//! and every message it posts. Both the poll thread (readiness, timers) and API callers (send,
//! recv, close) drive it, always under the socket's own lock, so the rules live in one place.
//!
//! This file holds the phases, the API-driven entry points, connecting, closing and the
//! stream receive path; `socket/send_queue.rs` the send side, `socket/datagrams.rs` the
//! datagram receive path, `socket/tls_stream.rs` the TLS steps, `socket/happy_eyeballs.rs`
//! connecting a stream to a name with several addresses.
//!
//! Message bounds per socket, which make the ring bounded: one CONN_CNF in its life, at most
//! one RECV_IND in the ring, one CLOSE_IND, one CLOSE_CNF, and at most `max_sends` SEND_CNFs
//! (a send slot is freed only when its SEND_CNF is taken from the ring).

use crate::bytering::ByteRing;
use crate::codes::*;
use crate::conn_config::ConnConfig;
use crate::constants::*;
use crate::errno::code_of;
use crate::options::{Opt, SockOpts};
use crate::os_socket::{self, Io, Transport};
use crate::ring::Entry;
use crate::runtime::Shared;
use crate::timers::{Timer, TimerKind};
use crate::tls::{TlsConn, TlsSetup};
use crate::types::{sock_counters, sock_msg};
use mio::{Interest, Token};
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::c_int;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

mod datagrams;
mod happy_eyeballs;
mod send_queue;
mod tls_stream;

use happy_eyeballs::Attempt;
use send_queue::{AckWait, SendQueue};

/// Bytes read and dropped while closing, so that the close sends FIN rather than RST.
const CLOSE_DRAIN_LIMIT: usize = 1 << 20;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Udp,
    Tls,
    Raw(i32),
}

impl Kind {
    pub(crate) fn from_c(ty: c_int, port: c_int) -> Option<Kind> {
        match ty {
            SOCK_TYPE_TCP => Some(Kind::Tcp),
            SOCK_TYPE_UDP => Some(Kind::Udp),
            SOCK_TYPE_SSL => Some(Kind::Tls),
            SOCK_TYPE_RAW => Some(Kind::Raw(port)),
            _ => None,
        }
    }

    fn transport(self) -> Transport {
        match self {
            Kind::Tcp | Kind::Tls => Transport::Stream,
            Kind::Udp => Transport::Datagram,
            Kind::Raw(p) => Transport::Raw(p),
        }
    }

    fn is_stream(self) -> bool {
        matches!(self, Kind::Tcp | Kind::Tls)
    }
}

/// What epoll reported for a socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Readiness {
    pub readable: bool,
    pub writable: bool,
    /// The peer closed, or the socket has an error (RDHUP, HUP, ERR). Epoll is edge-triggered
    /// and says this only once, so the reads it starts go on until the end is seen.
    /// `writable && !closing` must mean EPOLLOUT without ERR, HUP or RDHUP: a connecting
    /// socket's event is taken as "connected" on that alone (`check_attempts`).
    pub closing: bool,
}

/// How far a read goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadUntil {
    /// Until the kernel says WouldBlock (or the buffer is full).
    WouldBlock,
    /// Until a read returns less than it was offered: the kernel had nothing more then, and
    /// anything that arrives later raises a new edge. Saves a syscall per readiness event.
    ShortRead,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
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

pub(crate) struct Sock {
    pub id: i32,
    pub generation: u32,
    pub kind: Kind,
    pub cfg: Arc<ConnConfig>,
    /// Accepted sends whose SEND_CNF has not been taken from the ring yet (at most
    /// `max_sends`, ≤ 65536). Raised only under the state lock (so the bound holds); lowered
    /// without it when a SEND_CNF is taken.
    sends_outstanding: AtomicU32,
    /// Messages of this socket in the ring, so that `sock_destroy` scans the ring only when
    /// it has something to discard. Raised before each push, lowered when one is taken.
    in_ring: AtomicU32,
    state: Mutex<State>,
}

/// A socket's mutable state. An idle connection holds only this (and its `Sock`): what one
/// transport or the connect phase needs lives in `conn`, what is rare is boxed, so it costs
/// nothing elsewhere (`benches/README.md`, "where the bytes went").
struct State {
    phase: Phase,
    /// WRITABLE is registered with epoll for `io` (see `sync_interest`).
    write_interest: bool,
    /// Counted among the sockets the poll thread must drive while nobody waits
    /// (`count_driven`).
    driven: bool,
    destroyed: bool,
    close_requested: bool,
    /// A RECV_IND is in the ring, not yet taken.
    recv_ind_queued: bool,
    /// A RECV_IND was posted and `sock_recv` has not been called since.
    recv_ind_unread: bool,
    /// The receive buffer filled up: the socket is not being read (flow control holds the peer).
    read_paused: bool,
    /// The read side has ended (EOF or error): do not read again.
    read_done: bool,
    close_ind_posted: bool,
    last_error: c_int,
    /// How the peer ended the connection, once it has: 0 orderly, else a code.
    peer_end: Option<c_int>,
    io: Io,
    /// What the connect phase, then the transport alone needs.
    conn: Conn,
    sendq: SendQueue,
    queued_bytes: usize,
    /// Stream: buffered bytes not yet announced. Datagram: queued datagrams not yet announced.
    unannounced: usize,
    /// Why the TLS connection failed, in rustls' words (`sock_tls_error_text`).
    #[expect(
        clippy::box_collection,
        reason = "one word in every socket; only a failed TLS connection has the text"
    )]
    tls_error: Option<Box<String>>,
    bytes_sent: u64,
    bytes_received: u64,
}

/// The connect phase's and then the transport's own state: what connecting, a stream and a
/// datagram socket keep differs. Connecting shares the room a stream uses once connected.
enum Conn {
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
struct Stream {
    buf: ByteRing,
    tls: Option<Box<TlsConn>>,
    /// With `send_cnf_on_ack` only.
    acks: Option<Box<Acks>>,
}

/// `send_cnf_on_ack`: sends written and not yet acknowledged by the peer.
#[derive(Default)]
struct Acks {
    waiting: VecDeque<AckWait>,
    /// Every byte written to the kernel (TLS: records), against its unacknowledged count.
    written_total: u64,
    timer_armed: bool,
}

#[derive(Default)]
struct Datagrams {
    queue: VecDeque<Vec<u8>>,
    /// Bytes in `queue`.
    bytes: usize,
    /// The connected peer (its family bounds a datagram's size).
    peer: Option<SocketAddr>,
    dropped: u64,
}

/// What connecting needs: the addresses, the attempts, the remembered options to apply to
/// each new OS socket, the TLS settings for the handshake.
struct Connect {
    /// Addresses not tried yet, the next one last.
    addrs: Vec<SocketAddr>,
    /// Stream connection attempts in progress (see `happy_eyeballs.rs`).
    attempts: Vec<Attempt>,
    /// Attempt sockets opened so far: while it is 1, every event on the token is that one's.
    attempts_opened: u32,
    /// The most recent attempt's failure: CONN_CNF's code when every attempt fails.
    error: c_int,
    pace: Pace,
    /// Options set before the OS socket exists (boxed: most sockets set none this early).
    opts: Option<Box<SockOpts>>,
    tls: Option<Box<TlsSetup>>,
}

/// When the next attempt starts (see `happy_eyeballs.rs`).
enum Pace {
    /// Side by side: the next one when this is due.
    Staggered { next_at: Option<Instant> },
    /// One at a time (a local port is set), each with a share of the time left before the
    /// connect timer's deadline.
    Sequential { deadline: Instant },
}

impl Connect {
    fn opts(&self) -> &SockOpts {
        static NONE: SockOpts = SockOpts::none();
        self.opts.as_deref().unwrap_or(&NONE)
    }
}

/// What a socket needs from the runtime while it works: the ring and the timers.
struct Cx<'a> {
    sh: &'a Shared,
    sock: &'a Sock,
    /// Messages were posted: waiters are woken once the socket's lock is released.
    posted: Cell<bool>,
    wake_waiter: Cell<bool>,
}

impl Cx<'_> {
    fn post(&self, id: c_int, result: c_int, recv_len: usize, send_len: usize) {
        self.sock.in_ring.fetch_add(1, Ordering::AcqRel);
        let wake = self.sh.ring.push_quiet(Entry {
            msg: sock_msg {
                id,
                socket_index: self.sock.id,
                result,
                recv_len: recv_len.min(c_int::MAX as usize) as c_int,
                send_len: send_len.min(c_int::MAX as usize) as c_int,
            },
            generation: self.sock.generation,
        });
        self.posted.set(true);
        self.wake_waiter.set(self.wake_waiter.get() | wake);
    }

    fn arm(&self, kind: TimerKind, after: Duration) {
        self.sh.add_timer(Timer {
            at: Instant::now() + after,
            id: self.sock.id,
            generation: self.sock.generation,
            kind,
        });
    }
}

thread_local! {
    /// Receive scratch for streams with no buffer yet and for draining on close (one per
    /// thread, reused).
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 65536]);
}

pub(crate) fn token_of(id: i32, generation: u32) -> Token {
    Token(((generation as usize) << 32) | id as u32 as usize)
}

pub(crate) fn split_token(token: Token) -> (i32, u32) {
    (
        (token.0 & 0xffff_ffff) as u32 as i32,
        (token.0 >> 32) as u32,
    )
}

impl Sock {
    pub(crate) fn new(
        id: i32,
        generation: u32,
        kind: Kind,
        cfg: ConnConfig,
        tls: Option<TlsSetup>,
    ) -> Sock {
        let cfg = cfg.shared();
        let pace = match cfg.local_port {
            0 => Pace::Staggered { next_at: None },
            _ => Pace::Sequential {
                deadline: Instant::now() + cfg.connect_timeout,
            },
        };
        let conn = Conn::Connecting(Connect {
            addrs: Vec::new(),
            attempts: Vec::new(),
            attempts_opened: 0,
            error: SOCK_ERR_OK,
            pace,
            opts: None,
            tls: tls.map(Box::new),
        });
        Sock {
            id,
            generation,
            kind,
            cfg,
            sends_outstanding: AtomicU32::new(0),
            in_ring: AtomicU32::new(0),
            state: Mutex::new(State {
                phase: Phase::Resolving,
                write_interest: false,
                driven: false,
                destroyed: false,
                close_requested: false,
                recv_ind_queued: false,
                recv_ind_unread: false,
                read_paused: false,
                read_done: false,
                close_ind_posted: false,
                last_error: SOCK_ERR_OK,
                peer_end: None,
                io: Io::None,
                conn,
                sendq: SendQueue::default(),
                queued_bytes: 0,
                unannounced: 0,
                tls_error: None,
                bytes_sent: 0,
                bytes_received: 0,
            }),
        }
    }

    /// Runs `f` on the locked state, or returns `EBADID` once the socket is destroyed.
    fn with<R>(
        &self,
        sh: &Shared,
        f: impl FnOnce(&mut State, &Cx<'_>) -> Result<R, c_int>,
    ) -> Result<R, c_int> {
        let mut st = self.state.lock();
        if st.destroyed {
            return Err(SOCK_ERR_EBADID);
        }
        let cx = Cx {
            sh,
            sock: self,
            posted: Cell::new(false),
            wake_waiter: Cell::new(false),
        };
        let result = f(&mut st, &cx);
        st.sync_interest(&cx);
        st.count_driven(sh, self.kind);
        drop(st); // a woken waiter's next step may need this socket's lock
        if cx.wake_waiter.get() {
            sh.ring.wake_one();
        }
        if cx.posted.get() {
            sh.poller.notify_leader();
        }
        result
    }

    // ----- driven by the poll thread -----

    /// The resolver's answer (or a literal address): start connecting.
    pub(crate) fn start(&self, sh: &Shared, addrs: Result<Vec<SocketAddr>, c_int>) {
        let _ = self.with(sh, |st, cx| {
            if st.phase != Phase::Resolving {
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

    /// The socket's OS handle became ready.
    pub(crate) fn on_ready(&self, sh: &Shared, ready: Readiness) {
        let _ = self.with(sh, |st, cx| {
            match st.phase {
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

    pub(crate) fn on_timer(&self, sh: &Shared, kind: TimerKind) {
        let _ = self.with(sh, |st, cx| {
            match kind {
                TimerKind::Connect => {
                    if matches!(st.phase, Phase::Resolving | Phase::Connecting) {
                        st.fail_connect(cx, SOCK_ERR_ETIMEOUT);
                    }
                }
                TimerKind::NextAttempt => st.on_attempt_timer(cx),
                TimerKind::Close => {
                    if st.phase == Phase::Closing {
                        st.fail(cx, SOCK_ERR_ETIMEOUT);
                    }
                }
                TimerKind::TlsVerdict => {
                    if st.phase == Phase::Connecting && st.tls().is_some_and(|t| t.awaiting_verdict)
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
    pub(crate) fn on_taken(&self, sh: &Shared, msg: &sock_msg) {
        let _ = self
            .in_ring
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        match msg.id {
            MSG_SOCK_SEND_CNF => {
                let _ =
                    self.sends_outstanding
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            }
            MSG_SOCK_RECV_IND => {
                let _ = self.with(sh, |st, cx| {
                    st.recv_ind_queued = false;
                    st.announce(cx);
                    Ok(())
                });
            }
            _ => {}
        }
    }

    /// Fails the socket after a fault was caught while handling it.
    pub(crate) fn fault(&self, sh: &Shared) {
        let _ = self.with(sh, |st, cx| {
            match st.phase {
                Phase::Resolving | Phase::Connecting => st.fail_connect(cx, SOCK_ERR_EPANIC),
                Phase::Open | Phase::Closing => st.fail(cx, SOCK_ERR_EPANIC),
                Phase::Closed => {}
            }
            Ok(())
        });
    }

    // ----- driven by API calls -----

    pub(crate) fn send(&self, sh: &Shared, data: &[u8]) -> Result<(), c_int> {
        self.with(sh, |st, cx| {
            let refuse = |st: &mut State, code| {
                st.last_error = code;
                Err(code)
            };
            if data.is_empty() || data.len() > self.cfg.snd_buf {
                return refuse(st, SOCK_ERR_EARG);
            }
            let writable_phase = st.phase == Phase::Open
                && !st.close_requested
                && st.io.is_some()
                && st.peer_end.is_none_or(|c| c == SOCK_ERR_OK);
            if !writable_phase {
                return refuse(st, SOCK_ERR_ENOTCONN);
            }
            if st.close_ind_posted && crate::compat::enabled(SOCK_COMPAT_CLOSE_IND) {
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
            Ok(())
        })
    }

    pub(crate) fn recv(&self, sh: &Shared, out: &mut [u8]) -> Result<usize, c_int> {
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
            st.recv_ind_unread = false;
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

    pub(crate) fn close(&self, sh: &Shared) -> Result<(), c_int> {
        self.with(sh, |st, cx| {
            if st.close_requested {
                st.last_error = SOCK_ERR_EALREADY;
                return Err(SOCK_ERR_EALREADY);
            }
            st.close_requested = true;
            match st.phase {
                Phase::Resolving | Phase::Connecting => {
                    st.fail_connect(cx, SOCK_ERR_EABORT);
                    cx.post(MSG_SOCK_CLOSE_CNF, SOCK_ERR_OK, 0, 0);
                }
                Phase::Open => {
                    st.phase = Phase::Closing;
                    st.close_if_flushed(cx);
                    if st.phase == Phase::Closing {
                        cx.arm(TimerKind::Close, self.cfg.close_timeout);
                    }
                }
                Phase::Closing | Phase::Closed => cx.post(MSG_SOCK_CLOSE_CNF, SOCK_ERR_OK, 0, 0),
            }
            Ok(())
        })
    }

    /// Whether messages of this socket may still be in the ring (exact once it is destroyed:
    /// nothing posts after that).
    pub(crate) fn has_messages_in_ring(&self) -> bool {
        self.in_ring.load(Ordering::Acquire) > 0
    }

    /// Frees the socket's resources; later calls on this `Sock` get `EBADID`.
    /// Still connecting: an event that would open it may be waiting to be dispatched.
    pub(crate) fn connecting(&self) -> bool {
        matches!(
            self.state.lock().phase,
            Phase::Resolving | Phase::Connecting
        )
    }

    pub(crate) fn destroy(&self, sh: &Shared) {
        let mut st = self.state.lock();
        st.destroyed = true;
        if std::mem::take(&mut st.driven) {
            sh.poller.driven_changed(false);
        }
        st.io = Io::None;
        st.conn = Conn::Gone;
        st.phase = Phase::Closed;
        st.sendq = SendQueue::default();
    }

    pub(crate) fn setopt(&self, sh: &Shared, opt: Opt, value: c_int) -> Result<(), c_int> {
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
    pub(crate) fn refuse(&self, sh: &Shared, code: c_int) -> Result<(), c_int> {
        self.with(sh, |st, _| {
            st.last_error = code;
            Err(code)
        })
    }

    pub(crate) fn last_error(&self, sh: &Shared) -> c_int {
        self.with(sh, |st, _| Ok(st.last_error))
            .unwrap_or_else(|code| code)
    }

    pub(crate) fn stats(&self, sh: &Shared) -> Result<sock_counters, c_int> {
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
    pub(crate) fn tls_alpn(&self, sh: &Shared) -> Result<Option<Vec<u8>>, c_int> {
        self.with(sh, |st, _| match (st.tls(), st.phase) {
            (Some(t), Phase::Open | Phase::Closing) => Ok(t.alpn()),
            _ => Err(SOCK_ERR_EINVAL),
        })
    }

    /// Whether the TLS session was resumed, once connected.
    /// The negotiated TLS version and cipher suite, once connected.
    pub(crate) fn tls_summary(&self, sh: &Shared) -> Result<String, c_int> {
        self.with(sh, |st, _| match (st.tls(), st.phase) {
            (Some(t), Phase::Open | Phase::Closing) => Ok(t.summary()),
            _ => Err(SOCK_ERR_EINVAL),
        })
    }

    /// Why the TLS connection failed (None: it did not, or the socket is not TLS).
    pub(crate) fn tls_error_text(&self, sh: &Shared) -> Result<Option<String>, c_int> {
        self.with(sh, |st, _| Ok(st.tls_error.as_deref().cloned()))
    }

    /// The peer's address (`peer`) or the socket's own, while an OS socket is connected.
    pub(crate) fn address(&self, sh: &Shared, peer: bool) -> Result<SocketAddr, c_int> {
        self.with(sh, |st, _| st.io.address(peer))
    }

    pub(crate) fn tls_resumed(&self, sh: &Shared) -> Result<bool, c_int> {
        self.with(sh, |st, _| match (st.tls(), st.phase) {
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

impl State {
    /// (bytes queued to send, bytes received and not yet read).
    fn buffered(&self) -> (u64, u64) {
        let received = match &self.conn {
            Conn::Stream(s) => s.buf.len(),
            Conn::Datagram(d) => d.bytes,
            Conn::Connecting(_) | Conn::Gone => 0,
        };
        (self.queued_bytes as u64, received as u64)
    }

    fn tls(&self) -> Option<&TlsConn> {
        match &self.conn {
            Conn::Stream(s) => s.tls.as_deref(),
            _ => None,
        }
    }

    fn acks(&mut self) -> Option<&mut Acks> {
        match &mut self.conn {
            Conn::Stream(s) => s.acks.as_deref_mut(),
            _ => None,
        }
    }

    fn drop_tls(&mut self) {
        if let Conn::Stream(s) = &mut self.conn {
            s.tls = None;
        }
    }

    /// Whether this socket must be driven even while no thread waits for messages, because
    /// the peer would notice otherwise: output the kernel has not taken yet, a TLS handshake,
    /// a connect with other addresses to try. A plain connect or a read can wait for the next
    /// waiter (the kernel completes the handshake and buffers input meanwhile), and the poll
    /// thread need not step in between (see `poller.rs`).
    fn count_driven(&mut self, sh: &Shared, kind: Kind) {
        let driven = match self.phase {
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
    fn sync_interest(&mut self, cx: &Cx<'_>) {
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
            Err(e) if want && matches!(self.phase, Phase::Open | Phase::Closing) => {
                self.fail(cx, code_of(&e))
            }
            Err(_) => {} // keep the wider interest; tried again on the next call
        }
    }

    /// UDP and RAW: the first address whose socket opens is the peer (a datagram connect
    /// only sets the default destination, so there is nothing to wait for).
    fn connect_datagram(&mut self, cx: &Cx<'_>, mut last: c_int) {
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
    fn opened(&mut self, cx: &Cx<'_>, read: Option<ReadUntil>) {
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

    fn fail_connect(&mut self, cx: &Cx<'_>, code: c_int) {
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
    fn fail(&mut self, cx: &Cx<'_>, code: c_int) {
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
    fn keep_tls_error(&mut self) {
        if let Some(why) = self.tls().and_then(|t| t.error_text()) {
            self.tls_error = Some(Box::new(crate::diagnostics::tls_error_text(why)));
        }
    }

    /// Queued sends are done: shut the connection down and confirm the close.
    fn finish_close(&mut self, cx: &Cx<'_>, code: c_int) {
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
        self.phase = Phase::Closed;
        cx.post(MSG_SOCK_CLOSE_CNF, code, 0, 0);
    }

    fn close_if_flushed(&mut self, cx: &Cx<'_>) {
        let acks_waiting = self.acks().is_some_and(|a| !a.waiting.is_empty());
        if self.phase != Phase::Closing || !self.sendq.is_empty() || acks_waiting {
            return;
        }
        if self.tls().is_some() && !self.tls_close_notify(cx) {
            return; // the rest goes on the next writable event
        }
        self.finish_close(cx, SOCK_ERR_OK);
    }

    /// Reads what the kernel has, up to the receive bound, then announces it.
    fn read(&mut self, cx: &Cx<'_>) {
        self.read_some(cx, ReadUntil::WouldBlock);
    }

    fn read_some(&mut self, cx: &Cx<'_>, until: ReadUntil) {
        match self.conn {
            Conn::Stream(_) => self.read_stream(cx, until),
            Conn::Datagram(_) => self.read_datagrams(cx.sock.cfg.rcv_buf, until),
            Conn::Connecting(_) | Conn::Gone => {}
        }
        self.announce(cx);
    }

    fn read_stream(&mut self, cx: &Cx<'_>, until: ReadUntil) {
        if self.read_done {
            return;
        }
        if self.tls().is_some() {
            return self.read_tls(cx);
        }
        let (Io::Tcp(s), Conn::Stream(Stream { buf, .. })) = (&mut self.io, &mut self.conn) else {
            return;
        };
        loop {
            let (got, room) = if buf.allocated() == 0 {
                // Nothing buffered: read into the thread's scratch first, so that a read that
                // finds nothing allocates nothing.
                SCRATCH.with_borrow_mut(|scratch| {
                    let room = scratch.len().min(cx.sock.cfg.rcv_buf);
                    let r = s.read(&mut scratch[..room]);
                    if let Ok(n) = r {
                        buf.push_slice(&scratch[..n]);
                    }
                    (r, room)
                })
            } else {
                let spare = buf.spare();
                if spare.is_empty() {
                    log::debug!(target: "socketcore",
                        "socket {}: receive buffer full, reading paused until sock_recv", cx.sock.id);
                    self.read_paused = true;
                    return;
                }
                let room = spare.len();
                let r = s.read(spare);
                if let Ok(n) = r {
                    buf.commit(n);
                }
                (r, room)
            };
            match got {
                Ok(0) => {
                    self.read_done = true;
                    self.peer_end = Some(SOCK_ERR_OK);
                    return;
                }
                Ok(n) => {
                    self.unannounced += n;
                    self.bytes_received += n as u64;
                    if n < room && until == ReadUntil::ShortRead {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    buf.release_if_empty();
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(cx, code_of(&e)),
            }
        }
    }

    /// Posts the RECV_IND (and then the CLOSE_IND) the rules allow now.
    fn announce(&mut self, cx: &Cx<'_>) {
        if self.close_requested {
            return;
        }
        if self.unannounced > 0 && !self.recv_ind_queued && !self.recv_ind_unread {
            let len = match &self.conn {
                Conn::Datagram(d) => {
                    let first_new = d.queue.len() - self.unannounced;
                    self.unannounced -= 1;
                    d.queue[first_new].len()
                }
                _ => std::mem::take(&mut self.unannounced),
            };
            self.recv_ind_queued = true;
            self.recv_ind_unread = true;
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

fn register(cx: &Cx<'_>, mut io: Io, interest: Interest) -> io::Result<Io> {
    set_interest(cx, &mut io, interest, false)?;
    Ok(io)
}

/// Registers `io` with the poller (`again`: changes its registration) for `interest`.
fn set_interest(cx: &Cx<'_>, io: &mut Io, interest: Interest, again: bool) -> io::Result<()> {
    use mio::event::Source;
    use std::os::fd::AsRawFd;
    let token = token_of(cx.sock.id, cx.sock.generation);
    let registry = &cx.sh.registry;
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
}

/// Reads and drops up to `CLOSE_DRAIN_LIMIT` bytes of unread input.
fn drain(s: &mut mio::net::TcpStream) {
    SCRATCH.with_borrow_mut(|scratch| {
        let mut total = 0;
        while total < CLOSE_DRAIN_LIMIT {
            match s.read(scratch) {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    });
}

/// The sentence for `code` without its NUL, for log lines.
fn said(code: c_int) -> &'static str {
    sentence(code).trim_end_matches('\0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// An idle TCP connection costs its `Sock` (inside its `Arc`), a table slot and, until the
    /// connect timeout passes, a deadline entry; libuv's figure for the same connection is
    /// 361 B of RSS (`benches/README.md`). A 216 B `Sock` is 232 B with the `Arc`'s counts,
    /// a 240 B malloc chunk; the slot (16 B) and the deadline (32 B), in vectors that double,
    /// bring it to about 300 B. The connect phase lives inside `Conn`, so connecting adds
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
