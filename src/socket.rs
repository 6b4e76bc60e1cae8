//! One socket: its handle (`Sock`), what it needs from the reactor (`Cx`), and the lock every
//! step runs under. Whoever leads (readiness, timers) and API callers (send, recv,
//! close) drive it, always under the socket's own lock, so the rules live in one place.
//!
//! Where the rest lives, by what it owns:
//! - `socket/state.rs`: the state behind the lock, typed by phase and transport (`Conn`);
//! - `socket/lifecycle.rs`: `Lifecycle`, the phase and the per-socket message bounds (which
//!   message each transition allows); `socket/milestones.rs`: what opening, a failed
//!   connect, a broken connection and announcing do to the socket;
//! - `socket/events.rs`: what the poll thread drives (resolver answers, readiness, deadlines,
//!   messages taken); `socket/calls.rs`: what the API calls drive;
//! - `socket/interest.rs`: what epoll watches for the socket, and whether the poll thread
//!   must drive it;
//! - `socket/read.rs`: the stream receive path; `socket/datagrams.rs`: connecting a datagram
//!   socket and its receive path;
//! - `socket/send_queue.rs`: the send side; `socket/close.rs`: closing;
//! - `socket/tls_stream.rs`: the TLS steps; `socket/happy_eyeballs.rs`: connecting a stream to
//!   a name with several addresses.

use crate::codes::*;
use crate::conn_config::ConnConfig;
use crate::constants::*;
use crate::os_socket::{Io, Transport};
use crate::reactor::Reactor;
use crate::ring::Entry;
use crate::timers::{Timer, TimerKind};
use crate::tls::TlsSetup;
use crate::types::sock_msg;
use mio::Token;
use parking_lot::Mutex;
use std::cell::Cell;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

mod calls;
mod close;
mod datagrams;
mod events;
mod happy_eyeballs;
mod interest;
mod lifecycle;
mod milestones;
mod read;
mod send_queue;
mod state;
mod tls_stream;

use interest::register;
use lifecycle::{Lifecycle, Phase};
use milestones::said;
use read::ReadUntil;
use send_queue::SendQueue;
use state::{Acks, Conn, Connect, Datagrams, Pace, State, Stream};

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

pub(crate) struct Sock {
    pub id: i32,
    pub generation: u32,
    pub kind: Kind,
    pub cfg: Arc<ConnConfig>,
    /// Accepted sends whose SEND_CNF has not been taken from the ring yet (at most
    /// `max_sends`, ≤ 65536): the one message bound that is not `Lifecycle`'s. Raised only
    /// under the state lock (so the bound holds); lowered without it when a SEND_CNF is
    /// taken, so taking one never waits for the socket.
    sends_outstanding: AtomicU32,
    /// Messages of this socket in the ring other than SEND_CNF and RECV_IND, so that
    /// `sock_destroy` scans the ring only when it may have something to discard. Raised
    /// before each push, lowered when one is taken. The two frequent messages are known
    /// otherwise, with no count kept per message: a SEND_CNF may be in the ring while
    /// `sends_outstanding` is not 0, a RECV_IND while `Lifecycle` says it was posted and not
    /// taken.
    in_ring: AtomicU32,
    state: Mutex<State>,
}

/// Where a waiter that leads takes the first message its own dispatch posts, past the ring.
pub(crate) type Handoff = Cell<Option<Entry>>;

/// What a socket needs while it works: the reactor (ring, deadlines, registry, poller).
struct Cx<'a> {
    sh: &'a Reactor,
    sock: &'a Sock,
    /// Messages were posted: waiters are woken once the socket's lock is released.
    posted: Cell<bool>,
    wake_waiter: Cell<bool>,
    /// A waiter leads and dispatches this (see `Cx::post`).
    handoff: Option<&'a Handoff>,
}

impl Cx<'_> {
    fn post(&self, id: c_int, result: c_int, recv_len: usize, send_len: usize) {
        if counted_in_ring(id) {
            self.sock.in_ring.fetch_add(1, Ordering::AcqRel);
        }
        let entry = Entry {
            msg: sock_msg {
                id,
                socket_index: self.sock.id,
                result,
                recv_len: recv_len.min(c_int::MAX as usize) as c_int,
                send_len: send_len.min(c_int::MAX as usize) as c_int,
            },
            generation: self.sock.generation,
            settled: false,
        };
        // The leader dispatches, and the ring is empty: it would pop this very message next.
        // An earlier message of this socket would be seen here (it was pushed under this
        // socket's lock, held now); other sockets' are concurrent, and either order is theirs.
        if let Some(handoff) = self.handoff
            && handoff.get().is_none()
            && self.sh.ring.seems_empty()
        {
            handoff.set(Some(entry));
            return;
        }
        let wake = self.sh.ring.push_quiet(entry);
        self.posted.set(true);
        self.wake_waiter.set(self.wake_waiter.get() | wake);
    }

    /// The connect ended (opened, failed or cancelled): its deadline is stale.
    fn connect_settled(&self) {
        self.sh.connect_settled(self.sock.id, self.sock.generation);
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

/// Whether a message of this kind counts in `Sock::in_ring`.
fn counted_in_ring(msg_id: c_int) -> bool {
    msg_id != MSG_SOCK_SEND_CNF && msg_id != MSG_SOCK_RECV_IND
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
                life: Lifecycle::new(),
                write_interest: false,
                driven: false,
                read_paused: false,
                read_done: false,
                last_error: SOCK_ERR_OK,
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
        sh: &Reactor,
        f: impl FnOnce(&mut State, &Cx<'_>) -> Result<R, c_int>,
    ) -> Result<R, c_int> {
        self.with_handoff(sh, None, f)
    }

    /// `with` for a leader's dispatch, whose first message may go to `handoff`.
    fn with_handoff<R>(
        &self,
        sh: &Reactor,
        handoff: Option<&Handoff>,
        f: impl FnOnce(&mut State, &Cx<'_>) -> Result<R, c_int>,
    ) -> Result<R, c_int> {
        let mut st = self.state.lock();
        if st.life.is_destroyed() {
            return Err(SOCK_ERR_EBADID);
        }
        let cx = Cx {
            sh,
            sock: self,
            posted: Cell::new(false),
            wake_waiter: Cell::new(false),
            handoff,
        };
        let handed_before = handoff.is_some_and(|h| h.get().is_some());
        let result = f(&mut st, &cx);
        if let Some(h) = handoff
            && !handed_before
            && let Some(mut entry) = h.get()
        {
            // The leader returns it next: settle now, under this lock, what taking it does.
            self.taken_locked(&mut st, &cx, &entry.msg);
            entry.settled = true;
            h.set(Some(entry));
        }
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
}
