//! Fuzz target `api_sequence`: the input bytes are a program of at most MAX_OPS calls of the C
//! API (through the rlib's extern "C" functions, with C-shaped arguments: raw pointers, NULLs,
//! odd lengths, short and long option structs), run against in-process loopback peers
//! (peers.rs). Besides "does not crash" (ASan, the panic hook of libfuzzer-sys, which aborts on
//! any panic, also one the library would catch) it checks the documented contract as it goes:
//! return values of each call for live and dead ids, exactly-once message rules (CONN_CNF,
//! CLOSE_CNF and CLOSE_IND at most once, SEND_CNF one per accepted send in order, no message
//! for an id that is not live, no RECV_IND before the previous one was read, one MSG_TIMER per
//! timer start unless it was stopped or restarted first), out-parameters
//! untouched on failure, buffer bounds in sock_stats, and the bytes echoed back by the TCP,
//! TLS and UDP echo peers byte for byte.
//!
//! Rules the harness keeps so that a report is always the library's fault:
//! - it never passes a pointer to fewer bytes than the length it claims (huge lengths are
//!   backed by a lazily allocated zero buffer), and every string is NUL-terminated;
//! - it never blocks: sock_wait_msg only with timeout 0 (or invalid arguments), and sleeps at
//!   most SLEEP_BUDGET_MS per input in total;
//! - it talks only to its own peers on the loopback (addresses and ports are drawn from its
//!   own lists; random text that would reach DNS or a foreign address is made invalid first);
//! - every input starts from a fresh instance: it ends with sock_shutdown and the default
//!   socket limit, so a crash reproduces from its input alone.
#![no_main]

mod peers;

use libfuzzer_sys::fuzz_target;
use socketcore::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::mem::{offset_of, size_of};
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

/// SOCKETCORE_FUZZ_TRACE=1 prints every call and message (to read a crashing input).
fn tracing() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SOCKETCORE_FUZZ_TRACE").is_some())
}
macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

fn skip_known() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SOCKETCORE_FUZZ_SKIP_KNOWN").is_some())
}

const MAX_OPS: usize = 64;
const SLEEP_BUDGET_MS: u32 = 8;
/// Sends above 1 MiB per input (each may copy up to 64 MiB).
const MAX_BIG_SENDS: u32 = 2;
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Reading the input

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[self.byte() as usize % list.len()]
    }
    /// Up to 255 raw bytes (length byte first).
    fn blob(&mut self) -> Vec<u8> {
        let n = self.byte() as usize;
        let end = (self.pos + n).min(self.data.len());
        let v = self.data.get(self.pos..end).unwrap_or(&[]).to_vec();
        self.pos += n;
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Test data: byte patterns, strings

/// Byte `i` of every stream we send (stream offsets count accepted bytes only).
fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(7).wrapping_add(i / 251)) as u8
}
/// Byte `i` of datagram number `seed`.
fn dgram_byte(seed: u64, i: usize) -> u8 {
    (seed
        .wrapping_mul(131)
        .wrapping_add(i as u64 * 7 + i as u64 / 251)) as u8
}

/// SOCK_MAX_BUF + 1 zero bytes, allocated once (calloc: pages appear only when read).
fn zero_buffer() -> &'static [u8] {
    static BUF: OnceLock<Vec<u8>> = OnceLock::new();
    BUF.get_or_init(|| vec![0u8; SOCK_MAX_BUF as usize + 1])
}
/// A PEM field longer than the library's 1 MiB limit.
fn overlong_pem() -> &'static CStr {
    static S: OnceLock<CString> = OnceLock::new();
    S.get_or_init(|| CString::new(vec![b'A'; MIB + 1]).unwrap())
}

/// A C string argument: NULL, or NUL-terminated bytes we own.
enum CArg {
    Null,
    Owned(CString),
    Static(&'static CStr),
}
impl CArg {
    fn ptr(&self) -> *const c_char {
        match self {
            CArg::Null => std::ptr::null(),
            CArg::Owned(s) => s.as_ptr(),
            CArg::Static(s) => s.as_ptr(),
        }
    }
    fn bytes(bytes: &[u8]) -> CArg {
        let cut = bytes.split(|b| *b == 0).next().unwrap_or(&[]);
        CArg::Owned(CString::new(cut).unwrap())
    }
}

/// Whether `addr` is one of ours: a loopback or unspecified literal (the wildcard reaches the
/// loopback on Linux). Anything else would leave this machine.
fn local_literal(ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    ip.is_loopback() || ip.is_unspecified()
}

/// Random text for `addr`, made safe: if the library would accept it and hand it to the
/// resolver (DNS) or to connect() toward a foreign address, a space is appended so that it is
/// refused as EARG instead. Returns the argument and whether it is a good loopback address.
fn garbage_addr(bytes: &[u8]) -> (CArg, bool) {
    let cut = bytes.split(|b| *b == 0).next().unwrap_or(&[]).to_vec();
    let accepted = (1..=SOCK_MAX_ADDR_LEN as usize).contains(&cut.len())
        && std::str::from_utf8(&cut)
            .is_ok_and(|t| !t.chars().any(|c| c.is_control() || c.is_whitespace()));
    if !accepted {
        return (CArg::bytes(&cut), false);
    }
    let text = std::str::from_utf8(&cut).unwrap();
    let bare = text
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(text);
    match bare.parse::<IpAddr>() {
        Ok(ip) if local_literal(ip) => (CArg::bytes(&cut), true),
        _ => {
            let mut safe = cut;
            safe.push(b' ');
            (CArg::bytes(&safe), false)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The model of what the library should do

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Peer {
    /// Echoes the plaintext stream (TCP to the echo server, TLS to the TLS server).
    StreamEcho,
    /// Echoes each datagram (UDP to the UDP echo socket).
    DgramEcho,
    /// Anything else: nothing to verify in what arrives.
    Other,
}

struct Model {
    ty: c_int,
    peer: Peer,
    snd_buf: usize,
    rcv_buf: usize,
    conn_cnf: u32,
    close_accepted: bool,
    close_cnf: u32,
    close_ind: u32,
    /// Lengths of accepted sends whose SEND_CNF has not come, in order.
    pending_sends: VecDeque<usize>,
    /// Stream bytes accepted so far / read back so far (StreamEcho).
    sent_off: u64,
    recv_off: u64,
    /// False once a send of zero bytes (the big buffer) broke the pattern.
    verifiable: bool,
    /// Datagrams accepted (seed, length), DgramEcho.
    dgrams: Vec<(u64, usize)>,
    recv_ind_taken: u32,
    recv_calls: u32,
    /// send_cnf_on_ack was set.
    ack_mode: bool,
}

impl Model {
    fn new(ty: c_int, peer: Peer, snd_buf: usize, rcv_buf: usize) -> Model {
        Model {
            ty,
            peer,
            snd_buf,
            rcv_buf,
            conn_cnf: 0,
            close_accepted: false,
            close_cnf: 0,
            close_ind: 0,
            pending_sends: VecDeque::new(),
            sent_off: 0,
            recv_off: 0,
            verifiable: true,
            dgrams: Vec::new(),
            recv_ind_taken: 0,
            recv_calls: 0,
            ack_mode: false,
        }
    }
    fn is_stream(&self) -> bool {
        self.ty == SOCK_TYPE_TCP || self.ty == SOCK_TYPE_SSL
    }
}

struct World {
    live: BTreeMap<c_int, Model>,
    /// Timers started and neither stopped, restarted away nor taken: each owes one MSG_TIMER.
    timers: BTreeSet<c_int>,
    dead: Vec<c_int>,
    limit: usize,
    big_sends: u32,
    slept_ms: u32,
    dgram_seed: u64,
}

impl World {
    fn id(&mut self, inp: &mut Input) -> c_int {
        let b = inp.byte();
        if b < 192 && !self.live.is_empty() {
            return *self.live.keys().nth(b as usize % self.live.len()).unwrap();
        }
        match b % 8 {
            0 => -1,
            1 => c_int::MIN,
            2 => c_int::MAX,
            3 => 1 << 20,
            4 => SOCK_DEFAULT_MAX_SOCKETS,
            5 if !self.dead.is_empty() => self.dead[b as usize % self.dead.len()],
            6 => self.live.keys().next_back().map_or(0, |k| k + 1),
            _ => b as c_int % 8,
        }
    }

    fn lowest_free(&self) -> c_int {
        (0..).find(|i| !self.live.contains_key(i)).unwrap()
    }

    fn forget(&mut self, id: c_int) {
        self.live.remove(&id);
        if self.dead.len() < 16 {
            self.dead.push(id);
        }
    }

    /// Checks one message taken from the ring against the model.
    fn on_msg(&mut self, m: &sock_msg) {
        trace!("  msg {m:?}");
        assert!(
            (0..=SOCK_ERR_EPANIC - 1).contains(&m.result),
            "message result out of range or EPANIC: {m:?}"
        );
        if m.id == MSG_TIMER {
            assert_eq!(m.result, SOCK_ERR_OK, "timer message with a result: {m:?}");
            assert!(
                self.timers.remove(&m.socket_index),
                "MSG_TIMER of a timer not running (stopped, taken already, never started): {m:?}"
            );
            return;
        }
        let Some(s) = self.live.get_mut(&m.socket_index) else {
            panic!("message for an id that is not live: {m:?}");
        };
        match m.id {
            MSG_SOCK_CONN_CNF => {
                s.conn_cnf += 1;
                assert_eq!(s.conn_cnf, 1, "second CONN_CNF: {m:?}");
            }
            MSG_SOCK_SEND_CNF => {
                // SOCKETCORE_FUZZ_SKIP_KNOWN: regressions/library-send-cnf-order-on-failure-
                // ack-mode (a failure confirms queued sends before older ones awaiting ACK).
                let known_bug = skip_known() && s.ack_mode && m.result != SOCK_ERR_OK;
                let at = if known_bug {
                    s.pending_sends
                        .iter()
                        .position(|l| *l == m.send_len as usize)
                        .unwrap_or(0)
                } else {
                    0
                };
                let Some(len) = s.pending_sends.remove(at) else {
                    panic!("SEND_CNF with no accepted send outstanding: {m:?}");
                };
                assert_eq!(m.send_len as usize, len, "SEND_CNF out of order: {m:?}");
            }
            MSG_SOCK_RECV_IND => {
                assert!(m.recv_len >= 0, "negative recv_len: {m:?}");
                s.recv_ind_taken += 1;
                assert!(
                    s.recv_ind_taken <= s.recv_calls + 1,
                    "RECV_IND before the previous one was read: {m:?}"
                );
            }
            MSG_SOCK_CLOSE_CNF => {
                assert!(
                    s.close_accepted,
                    "CLOSE_CNF without an accepted sock_close: {m:?}"
                );
                s.close_cnf += 1;
                assert_eq!(s.close_cnf, 1, "second CLOSE_CNF: {m:?}");
            }
            MSG_SOCK_CLOSE_IND => {
                s.close_ind += 1;
                assert_eq!(s.close_ind, 1, "second CLOSE_IND: {m:?}");
            }
            _ => panic!("unknown message id: {m:?}"),
        }
    }

    /// Takes up to `max` messages without waiting.
    fn drain(&mut self, max: usize) {
        for _ in 0..max {
            let mut m = sentinel_msg();
            match unsafe { sock_wait_msg(&mut m, 0) } {
                1 => self.on_msg(&m),
                0 => {
                    assert_eq!(m, sentinel_msg(), "sock_wait_msg wrote *msg on timeout");
                    return;
                }
                r => panic!("sock_wait_msg(0) returned {r}"),
            }
        }
    }
}

/// `sock_error` right after a refused call on a live socket: the refusal's code, unless the
/// poll thread recorded a failure of the connection in between (it may at any moment: a
/// handshake fails, the peer resets). Never OK, EBADID or EPANIC.
fn check_refusal(e: c_int, expected: &[c_int], what: &str) {
    let async_failure = e != SOCK_ERR_OK && e != SOCK_ERR_EBADID && e != SOCK_ERR_EPANIC;
    assert!(
        expected.contains(&e) || (async_failure && (1..SOCK_ERR_EPANIC).contains(&e)),
        "{what} refused with sock_error {e}, expected one of {expected:?}"
    );
}

fn sentinel_msg() -> sock_msg {
    sock_msg {
        id: -7,
        socket_index: -7,
        result: -7,
        recv_len: -7,
        send_len: -7,
    }
}

// ---------------------------------------------------------------------------------------------
// Building sock_conn arguments

const TYPES: [c_int; 16] = [
    SOCK_TYPE_TCP,
    SOCK_TYPE_TCP,
    SOCK_TYPE_TCP,
    SOCK_TYPE_TCP,
    SOCK_TYPE_UDP,
    SOCK_TYPE_UDP,
    SOCK_TYPE_UDP,
    SOCK_TYPE_SSL,
    SOCK_TYPE_SSL,
    SOCK_TYPE_SSL,
    SOCK_TYPE_SSL,
    SOCK_TYPE_RAW,
    3,
    -1,
    5,
    c_int::MAX,
];
const BAD_PORTS: [c_int; 6] = [0, -1, 65536, 70000, c_int::MIN, c_int::MAX];

/// A port for `ty`: mostly one of our peers of that protocol, sometimes an invalid number.
fn port_for(inp: &mut Input, ty: c_int) -> (c_int, Peer) {
    let p = peers::get();
    let b = inp.byte();
    if b % 8 == 7 {
        return (BAD_PORTS[b as usize / 8 % BAD_PORTS.len()], Peer::Other);
    }
    let pick = |list: &[(u16, Peer)]| {
        let (port, peer) = list[b as usize / 8 % list.len()];
        (port as c_int, peer)
    };
    match ty {
        SOCK_TYPE_TCP => pick(&[
            (p.tcp_echo, Peer::StreamEcho),
            (p.tcp_echo, Peer::StreamEcho),
            (p.tcp_reset, Peer::Other),
            (p.tcp_refused, Peer::Other),
            (p.tls_echo, Peer::Other), // plaintext to a TLS server: it gives up
        ]),
        SOCK_TYPE_SSL => pick(&[
            (p.tls_echo, Peer::StreamEcho),
            (p.tls_echo, Peer::StreamEcho),
            (p.tls_drop, Peer::Other), // handshake, then a reset
            (p.tcp_echo, Peer::Other), // our own ClientHello comes back: garbage
            (p.tcp_reset, Peer::Other),
            (p.tcp_refused, Peer::Other),
        ]),
        SOCK_TYPE_UDP => pick(&[
            (p.udp_echo, Peer::DgramEcho),
            (p.udp_echo, Peer::DgramEcho),
            (p.udp_unreachable, Peer::Other),
        ]),
        // RAW: the IP protocol. ICMP (answered by the kernel) or an experimental number
        // (RFC 3692) nobody listens to; never TCP or UDP, whose raw segments could disturb
        // other programs' connections on this machine.
        SOCK_TYPE_RAW => pick(&[(1, Peer::Other), (253, Peer::Other), (256, Peer::Other)]),
        _ => (b as c_int * 257, Peer::Other),
    }
}

/// The `addr` argument and whether it is a good address of our peers.
fn addr_arg(inp: &mut Input) -> (CArg, bool) {
    const NUMERIC: [&CStr; 6] = [
        c"127.1",
        c"2130706433",
        c"127.0.0.2",
        c"::ffff:127.0.0.1",
        c"0.0.0.0",
        c"::",
    ];
    let good = |s: &'static CStr| (CArg::Static(s), true);
    match inp.byte() % 16 {
        0..=4 => good(c"127.0.0.1"),
        5 | 6 => good(c"::1"),
        7 => good(c"[::1]"),
        8 | 9 => good(c"localhost"),
        10 => (CArg::Null, false),
        11 => (CArg::Static(c""), false),
        12 => (CArg::Owned(CString::new(vec![b'a'; 256]).unwrap()), false),
        13 => (CArg::Static(c"\xff\xfe127.0.0.1"), false),
        14 => garbage_addr(&inp.blob()),
        // Numeric forms only getaddrinfo knows (127.1, 2130706433: no DNS involved), and other
        // literals of this host. They are good addresses, but "127.1" and "2130706433" are no
        // names a TLS socket can verify, so for SSL only the library knows what they are.
        _ => {
            let s = inp.pick(&NUMERIC);
            (CArg::Static(s), true)
        }
    }
}

/// Text for one `sock_cert` field.
fn cert_text(inp: &mut Input, choices: &[&'static str]) -> CArg {
    let b = inp.byte();
    match b % 8 {
        0 | 1 => CArg::Null,
        2 => CArg::Static(c""),
        3 => CArg::bytes(&inp.blob()),
        4 => CArg::Owned(
            CString::new(format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                String::from_utf8_lossy(&inp.blob()).replace('\0', "")
            ))
            .unwrap(),
        ),
        5 if b >= 248 => CArg::Static(overlong_pem()),
        _ => CArg::Owned(CString::new(choices[b as usize / 8 % choices.len()]).unwrap()),
    }
}

struct CertArg {
    table: Option<sock_cert>,
    _keep: Vec<CArg>,
    /// NULL table, or one that only names the host: the library builds it without fail.
    simple: bool,
}

fn cert_arg(inp: &mut Input) -> CertArg {
    let b = inp.byte();
    if b % 4 == 0 {
        return CertArg {
            table: None,
            _keep: Vec::new(),
            simple: true,
        };
    }
    let host = match inp.byte() % 10 {
        0..=2 => CArg::Null,
        3 => CArg::Static(c"localhost"),
        4 => CArg::Static(c"127.0.0.1"),
        5 => CArg::Static(c"::1"),
        6 => CArg::Static(c"wrong.example"),
        7 => CArg::Static(c""),
        8 => CArg::Owned(CString::new(vec![b'h'; 254]).unwrap()),
        _ => CArg::bytes(&inp.blob()),
    };
    let all_null = b % 4 == 1;
    let (ca, cert, key) = if all_null {
        (CArg::Null, CArg::Null, CArg::Null)
    } else {
        use peers::{CA_KEY, CA_PEM, SERVER_KEY, SERVER_PEM};
        (
            cert_text(inp, &[CA_PEM, CA_PEM, SERVER_PEM, CA_KEY]),
            cert_text(inp, &[SERVER_PEM, CA_PEM]),
            cert_text(inp, &[SERVER_KEY, CA_KEY]),
        )
    };
    let host_simple = matches!(host, CArg::Null)
        || matches!(&host, CArg::Static(s) if ["localhost", "127.0.0.1", "::1", "wrong.example"]
            .contains(&s.to_str().unwrap()));
    let table = sock_cert {
        hostName: host.ptr(),
        caCert: ca.ptr(),
        clientCert: cert.ptr(),
        clientKey: key.ptr(),
    };
    let simple = host_simple && [&ca, &cert, &key].iter().all(|a| matches!(a, CArg::Null));
    CertArg {
        table: Some(table),
        _keep: vec![host, ca, cert, key],
        simple,
    }
}

/// `sock_conn_opts` in a buffer of at least max(size, sizeof) bytes (the library may read
/// `size` bytes), with whether the library must accept it and the buffer bounds it sets.
struct OptsArg {
    buf: Vec<u64>,
    _alpn: CArg,
    valid: bool,
    /// send_cnf_on_ack is on.
    ack_mode: bool,
    /// `size` cuts a field: refusing it is allowed too.
    may_refuse: bool,
    snd_buf: usize,
    rcv_buf: usize,
}

fn opts_arg(inp: &mut Input) -> OptsArg {
    const FULL: u32 = size_of::<sock_conn_opts>() as u32;
    let size = match inp.byte() % 16 {
        0..=6 => FULL,
        7 => 0,
        8 => inp.pick(&[1, 2, 3]),
        // Field ends (older, shorter structs), then sizes that cut a field in two (29, 31:
        // close_timeout_ms; 41, 44, 47: the alpn pointer; 7, 11: rcv_buf_size, snd_buf_size;
        // 50: attempt_delay_ms).
        9 => inp.pick(&[
            4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 48, 52, 29, 31, 41, 44, 47, 7, 11, 50,
        ]),
        10 => FULL + 8,
        11 => 4096,
        12 => 65536,
        13 => 65537,
        14 => u32::MAX,
        _ => inp.u32(),
    };
    let bufs = [
        0,
        0,
        1,
        100,
        1024,
        4096,
        65536,
        SOCK_MAX_BUF,
        SOCK_MAX_BUF + 1,
        -1,
        c_int::MIN,
    ];
    let timeouts = [0, 0, 1, 5, 50, 2000, -1, c_int::MAX, c_int::MIN];
    let local_port = match inp.byte() % 8 {
        0..=3 => 0,
        4 => peers::get().tcp_echo as c_int, // taken: EADDRINUSE (TCP)
        5 => 49152 + inp.byte() as c_int * 64,
        6 => -1,
        _ => 65536,
    };
    let alpn = match inp.byte() % 10 {
        0..=3 => CArg::Null,
        4 => CArg::Static(c"h2"),
        5 => CArg::Static(c"h2,http/1.1"),
        6 => CArg::Static(c"x,http/1.1"),
        7 => CArg::Static(c""),
        8 => CArg::Owned(CString::new(vec![b'p'; inp.pick(&[255, 256, 1024, 1025])]).unwrap()),
        _ => CArg::bytes(&inp.blob()),
    };
    let mut o = sock_conn_opts {
        size,
        rcv_buf_size: inp.pick(&bufs),
        snd_buf_size: inp.pick(&bufs),
        connect_timeout_ms: inp.pick(&timeouts),
        local_port,
        send_cnf_on_ack: inp.pick(&[0, 0, 1, -1]),
        max_sends: inp.pick(&[0, 0, 1, 2, 65536, 65537, -1]),
        close_timeout_ms: inp.pick(&timeouts),
        tls_verify: inp.pick(&[
            SOCK_TLS_VERIFY_FULL,
            SOCK_TLS_VERIFY_NO_HOSTNAME,
            SOCK_TLS_VERIFY_NONE,
            3,
            -1,
        ]),
        alpn: alpn.ptr(),
        attempt_delay_ms: inp.pick(&[0, 0, 10, 250, 60_000, 9, 60_001, -1]),
    };
    // Random bytes for a field now and then, whatever its meaning.
    if inp.byte() % 8 == 0 {
        o.connect_timeout_ms = inp.u32() as c_int;
    }

    // What the library must make of it (README, "sock_conn_opts": fields past `size` are read
    // as 0). A field counts only when it lies wholly within `size`; a size that cuts a field in
    // two is no struct any caller compiled, so the library may also refuse it (EARG), but it
    // must never read the half it was given (a torn int or pointer).
    let field_ends = (0..10).map(|i| 4 * i + 4).chain([48, 52]);
    let splits = (size as usize) < 52 && !field_ends.clone().any(|e| e == size as usize);
    let known = |off: usize| off + if off == 40 { 8 } else { 4 } <= size as usize;
    let get = |off: usize, v: c_int| if known(off) { v } else { 0 };
    let in_range = |v: c_int, lo: c_int, hi: c_int| v == 0 || (lo..=hi).contains(&v);
    let rcv = get(offset_of!(sock_conn_opts, rcv_buf_size), o.rcv_buf_size);
    let snd = get(offset_of!(sock_conn_opts, snd_buf_size), o.snd_buf_size);
    let alpn_ok = !known(offset_of!(sock_conn_opts, alpn)) || {
        match &alpn {
            CArg::Null => true,
            a => {
                let text = unsafe { CStr::from_ptr(a.ptr()) }.to_bytes();
                text.len() <= 1024
                    && (text.is_empty()
                        || text
                            .split(|b| *b == b',')
                            .all(|p| (1..=255).contains(&p.len())))
            }
        }
    };
    let valid = (4..=65536).contains(&size)
        && in_range(rcv, 1, SOCK_MAX_BUF)
        && in_range(snd, 1, SOCK_MAX_BUF)
        && in_range(
            get(
                offset_of!(sock_conn_opts, connect_timeout_ms),
                o.connect_timeout_ms,
            ),
            1,
            c_int::MAX,
        )
        && in_range(
            get(offset_of!(sock_conn_opts, local_port), o.local_port),
            1,
            65535,
        )
        && in_range(
            get(offset_of!(sock_conn_opts, max_sends), o.max_sends),
            1,
            65536,
        )
        && in_range(
            get(
                offset_of!(sock_conn_opts, close_timeout_ms),
                o.close_timeout_ms,
            ),
            1,
            c_int::MAX,
        )
        && (0..=2).contains(&get(offset_of!(sock_conn_opts, tls_verify), o.tls_verify))
        && alpn_ok
        && in_range(
            get(
                offset_of!(sock_conn_opts, attempt_delay_ms),
                o.attempt_delay_ms,
            ),
            SOCK_MIN_ATTEMPT_DELAY_MS,
            SOCK_MAX_ATTEMPT_DELAY_MS,
        );
    let or_default = |v: c_int, d: c_int| if v == 0 { d } else { v } as usize;

    // Room for `size` bytes when that is a size the library may read (it reads at most
    // sizeof(sock_conn_opts), but the contract lets it read `size`).
    trace!(
        "  opts size {size} rcv {} snd {} connect {} local_port {} ack {} max_sends {} \
         close {} verify {} alpn {:?} -> valid {valid}",
        o.rcv_buf_size,
        o.snd_buf_size,
        o.connect_timeout_ms,
        o.local_port,
        o.send_cnf_on_ack,
        o.max_sends,
        o.close_timeout_ms,
        o.tls_verify,
        (!o.alpn.is_null()).then(|| unsafe { CStr::from_ptr(o.alpn) }),
    );
    let room = (size as usize).min(65536 + 8).max(FULL as usize);
    let mut buf = vec![0u64; room.div_ceil(8)];
    unsafe { buf.as_mut_ptr().cast::<sock_conn_opts>().write(o) };
    OptsArg {
        buf,
        _alpn: alpn,
        valid,
        ack_mode: get(
            offset_of!(sock_conn_opts, send_cnf_on_ack),
            o.send_cnf_on_ack,
        ) != 0,
        may_refuse: splits,
        snd_buf: or_default(snd, SOCK_DEFAULT_SND_BUF),
        rcv_buf: or_default(rcv, SOCK_DEFAULT_RCV_BUF),
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

fn op_conn(w: &mut World, inp: &mut Input, ext: bool) {
    let ty = inp.pick(&TYPES);
    let (port, peer) = port_for(inp, ty);
    let (addr, addr_good) = addr_arg(inp);
    let cert = cert_arg(inp);
    let opts = if ext && inp.byte() % 4 != 0 {
        Some(opts_arg(inp))
    } else {
        None
    };
    let cert_ptr = cert
        .table
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const sock_cert);
    let opts_ptr = opts.as_ref().map_or(std::ptr::null(), |o| {
        o.buf.as_ptr().cast::<sock_conn_opts>()
    });
    let r = unsafe {
        if ext {
            sock_conn_ext(ty, port, addr.ptr(), cert_ptr, opts_ptr)
        } else {
            sock_conn(ty, port, addr.ptr(), cert_ptr)
        }
    };
    trace!(
        "sock_conn{} type {ty} port {port} addr {:?} cert {} opts {} -> {r}",
        if ext { "_ext" } else { "" },
        (!addr.ptr().is_null()).then(|| unsafe { CStr::from_ptr(addr.ptr()) }),
        cert.table.is_some(),
        opts.as_ref()
            .map_or("NULL".into(), |o| format!("valid {}", o.valid)),
    );
    let port_ok = match ty {
        SOCK_TYPE_RAW => (1..=255).contains(&port),
        _ => (1..=65535).contains(&port),
    };
    let type_ok = [SOCK_TYPE_TCP, SOCK_TYPE_UDP, SOCK_TYPE_SSL, SOCK_TYPE_RAW].contains(&ty);
    let sni_ok = !matches!(&addr, CArg::Static(s) if [c"127.1", c"2130706433"].contains(s));
    let args_ok = type_ok
        && port_ok
        && addr_good
        && opts.as_ref().is_none_or(|o| o.valid && !o.may_refuse)
        && (ty != SOCK_TYPE_SSL || (cert.simple && sni_ok));
    let bad_args = !type_ok || !port_ok || opts.as_ref().is_some_and(|o| !o.valid);
    if r < 0 {
        if ext {
            assert!(
                [SOCK_ERR_EARG, SOCK_ERR_ENOBUFS, SOCK_ERR_SSL_EINVALID].contains(&-r),
                "sock_conn_ext returned {r}"
            );
        } else {
            assert_eq!(r, -1, "sock_conn returned {r}");
        }
        assert!(
            !(args_ok && w.live.len() < w.limit),
            "good arguments refused ({r}): type {ty} port {port} opts valid {:?}",
            opts.as_ref().map(|o| o.valid)
        );
        if ext && r == -SOCK_ERR_ENOBUFS {
            assert!(w.live.len() >= w.limit, "ENOBUFS below the socket limit");
        }
        return;
    }
    assert!(
        !bad_args,
        "bad arguments accepted: type {ty} port {port} -> id {r}"
    );
    assert!(!w.live.contains_key(&r), "id {r} handed out while live");
    assert!(
        (r as usize) < w.limit,
        "id {r} not below the limit {}",
        w.limit
    );
    assert!(w.live.len() < w.limit, "socket {r} opened beyond the limit");
    assert_eq!(r, w.lowest_free(), "not the lowest free id");
    let (snd, rcv) = opts.as_ref().map_or(
        (SOCK_DEFAULT_SND_BUF as usize, SOCK_DEFAULT_RCV_BUF as usize),
        |o| (o.snd_buf, o.rcv_buf),
    );
    // Echo checks hold only when the connection really reaches the echo peer.
    let peer = if addr_good { peer } else { Peer::Other };
    let mut model = Model::new(ty, peer, snd, rcv);
    model.ack_mode = opts.as_ref().is_some_and(|o| o.ack_mode);
    w.live.insert(r, model);
}

fn op_send(w: &mut World, inp: &mut Input) {
    let id = w.id(inp);
    let b = inp.byte();
    let len = match b % 16 {
        0 => 0,
        1..=3 => inp.byte() as usize % 8 + 1,
        4 => inp.byte() as usize * 3 + 1,
        5 => 1460,
        6 => 65507,
        7 => 65508,
        8 => 65536 + 1,
        9 => inp.pick(&[262143, 262144, 262145]),
        10 => MIB,
        11 if w.big_sends < MAX_BIG_SENDS => {
            w.big_sends += 1;
            inp.pick(&[
                4 * MIB + 1,
                SOCK_MAX_BUF as usize,
                SOCK_MAX_BUF as usize + 1,
            ])
        }
        _ => inp.byte() as usize * 61 + inp.byte() as usize % 7,
    };
    let null = inp.byte() % 16 == 0;

    // The bytes: the stream pattern at this socket's offset, or the next datagram's pattern.
    let model = w.live.get(&id);
    let seed = w.dgram_seed;
    let owned: Vec<u8>;
    let data: &[u8] = if len > 4 * MIB {
        &zero_buffer()[..len]
    } else {
        owned = match model {
            Some(m) if m.peer == Peer::DgramEcho => (0..len).map(|i| dgram_byte(seed, i)).collect(),
            Some(m) if m.ty == SOCK_TYPE_RAW => {
                // An ICMP echo request header (type 8, code 0) ahead of random bytes.
                let mut d: Vec<u8> = (0..len).map(|i| pattern(i as u64)).collect();
                if len >= 2 {
                    d[0] = 8;
                    d[1] = 0;
                }
                d
            }
            Some(m) => (0..len as u64).map(|i| pattern(m.sent_off + i)).collect(),
            None => vec![0x5a; len],
        };
        &owned
    };
    let ptr = if null {
        std::ptr::null()
    } else {
        data.as_ptr().cast::<c_void>()
    };
    let r = unsafe { sock_send(id, ptr, len) };
    trace!("sock_send({id}, null {null}, {len}) -> {r}");
    assert!(r == 0 || r == 1, "sock_send returned {r}");
    let Some(m) = w.live.get_mut(&id) else {
        assert_eq!(r, 0, "sock_send accepted on dead id {id}");
        assert_eq!(sock_error(id), SOCK_ERR_EBADID);
        return;
    };
    let must_refuse_earg = null || len == 0 || len > m.snd_buf;
    if r == 1 {
        assert!(
            !must_refuse_earg,
            "sock_send accepted NULL/0/over-long ({len})"
        );
        assert!(!m.close_accepted, "sock_send accepted after sock_close");
        m.pending_sends.push_back(len);
        if len > 4 * MIB {
            m.verifiable = false;
        }
        m.sent_off += len as u64;
        if m.peer == Peer::DgramEcho && m.dgrams.len() < 256 {
            m.dgrams.push((seed, len));
        }
        w.dgram_seed += 1;
    } else {
        let e = sock_error(id);
        if must_refuse_earg {
            check_refusal(e, &[SOCK_ERR_EARG], "sock_send NULL/0/over-long");
        } else {
            check_refusal(e, &[SOCK_ERR_ENOTCONN, SOCK_ERR_ENOBUFS], "sock_send");
        }
    }
}

fn op_recv(w: &mut World, inp: &mut Input) {
    let id = w.id(inp);
    let len = inp.pick(&[0, 1, 2, 3, 7, 16, 100, 1000, 4096, 65535, 65536, 65537, MIB]);
    let null = inp.byte() % 16 == 0;
    let mut buf = vec![0xa5u8; len];
    let ptr = if null {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast::<c_void>()
    };
    let r = unsafe { sock_recv(id, ptr, len) };
    trace!("sock_recv({id}, null {null}, {len}) -> {r}");
    let Some(m) = w.live.get_mut(&id) else {
        assert_eq!(r, -SOCK_ERR_EBADID, "sock_recv on dead id {id}");
        return;
    };
    if null || len == 0 {
        assert_eq!(r, -SOCK_ERR_EARG, "sock_recv NULL/0");
        return;
    }
    assert!(r >= 0 && r as usize <= len, "sock_recv({len}) returned {r}");
    m.recv_calls += 1;
    let got = &buf[..r as usize];
    assert!(
        buf[r as usize..].iter().all(|b| *b == 0xa5),
        "sock_recv wrote past the count it returned"
    );
    match m.peer {
        Peer::StreamEcho if m.verifiable => {
            for (i, b) in got.iter().enumerate() {
                let off = m.recv_off + i as u64;
                assert_eq!(*b, pattern(off), "echoed stream differs at offset {off}");
            }
            m.recv_off += r as u64;
            assert!(m.recv_off <= m.sent_off, "more bytes back than sent");
        }
        Peer::DgramEcho if r > 0 => {
            let matches = |&(seed, n): &(u64, usize)| {
                got.len() <= n
                    && got
                        .iter()
                        .enumerate()
                        .all(|(i, b)| *b == dgram_byte(seed, i))
            };
            assert!(
                m.dgrams.iter().any(matches),
                "a datagram that was never sent ({} bytes)",
                got.len()
            );
        }
        _ => {}
    }
}

fn op_setopt(w: &mut World, inp: &mut Input) {
    let id = w.id(inp);
    let level = inp.pick(&[
        SOCK_SOL_SOCKET,
        SOCK_IPPROTO_TCP,
        0,
        1,
        -1,
        65535,
        c_int::MAX,
    ]);
    let name = inp.pick(&[
        SOCK_SO_REUSEADDR,
        SOCK_SO_KEEPALIVE,
        SOCK_SO_SNDBUF,
        SOCK_SO_RCVBUF,
        SOCK_TCP_NODELAY,
        SOCK_TCP_KEEPIDLE,
        SOCK_TCP_KEEPINTVL,
        SOCK_TCP_KEEPCNT,
        0,
        2,
        -1,
        c_int::MIN,
    ]);
    let value = match inp.byte() % 16 {
        15 => inp.u32() as c_int,
        b => [
            0,
            1,
            2,
            -1,
            1023,
            1024,
            65536,
            SOCK_MAX_BUF,
            SOCK_MAX_BUF + 1,
            127,
            128,
            32767,
            32768,
            c_int::MIN,
            c_int::MAX,
        ][b as usize],
    };
    let r = sock_setopt(id, level, name, value);
    trace!("sock_setopt({id}, {level}, {name}, {value}) -> {r}");
    assert!(r == 0 || r == -1, "sock_setopt returned {r}");
    let Some(m) = w.live.get(&id) else {
        assert_eq!(r, -1);
        assert_eq!(sock_error(id), SOCK_ERR_EBADID);
        return;
    };
    // The table of the header: (level, name) -> (range, TCP only).
    let entry = match (level, name) {
        (SOCK_SOL_SOCKET, SOCK_SO_REUSEADDR) => Some((0, 1, false)),
        (SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE) => Some((0, 1, true)),
        (SOCK_SOL_SOCKET, SOCK_SO_SNDBUF | SOCK_SO_RCVBUF) => Some((1024, SOCK_MAX_BUF, false)),
        (SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY) => Some((0, 1, true)),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE | SOCK_TCP_KEEPINTVL) => Some((1, 32767, true)),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT) => Some((1, 127, true)),
        _ => None,
    };
    let allowed = entry.is_some_and(|(lo, hi, tcp_only)| {
        (lo..=hi).contains(&value) && (!tcp_only || m.is_stream())
    });
    if !allowed {
        assert_eq!(
            r, -1,
            "sock_setopt({level}, {name}, {value}) accepted on type {}",
            m.ty
        );
        check_refusal(sock_error(id), &[SOCK_ERR_EARG], "sock_setopt");
    } else if r == -1 {
        let e = sock_error(id);
        assert!(
            e != SOCK_ERR_EARG && e != SOCK_ERR_EPANIC,
            "good option refused: {e}"
        );
    }
}

fn op_stats(w: &mut World, inp: &mut Input) {
    let id = w.id(inp);
    let null = inp.byte() % 8 == 0;
    let marker = sock_counters {
        bytes_sent: 7,
        bytes_received: 7,
        datagrams_dropped: 7,
        send_queued: 7,
        recv_buffered: 7,
    };
    let mut out = marker;
    let ptr = if null {
        std::ptr::null_mut()
    } else {
        &mut out as *mut sock_counters
    };
    let r = unsafe { sock_stats(id, ptr) };
    trace!("sock_stats({id}, null {null}) -> {r} {out:?}");
    let unchanged = |o: &sock_counters| {
        o.bytes_sent == 7
            && o.bytes_received == 7
            && o.datagrams_dropped == 7
            && o.send_queued == 7
            && o.recv_buffered == 7
    };
    let Some(m) = w.live.get(&id) else {
        assert_eq!(r, -SOCK_ERR_EBADID);
        assert!(unchanged(&out), "sock_stats wrote on failure");
        return;
    };
    if null {
        assert_eq!(r, -SOCK_ERR_EARG);
        return;
    }
    assert_eq!(r, 0, "sock_stats on live id {id}");
    assert!(
        out.send_queued <= m.snd_buf as u64,
        "send queue {} above snd_buf_size {}",
        out.send_queued,
        m.snd_buf
    );
    assert!(
        out.recv_buffered <= m.rcv_buf as u64,
        "receive buffer {} above rcv_buf_size {}",
        out.recv_buffered,
        m.rcv_buf
    );
    assert!(
        out.bytes_sent <= m.sent_off,
        "more bytes sent than accepted"
    );
}

fn op_wait(w: &mut World, inp: &mut Input) {
    match inp.byte() % 8 {
        0 => assert_eq!(
            unsafe { sock_wait_msg(std::ptr::null_mut(), 0) },
            -SOCK_ERR_EARG
        ),
        1 => {
            let mut m = sentinel_msg();
            let t = inp.pick(&[-2, -1000, c_int::MIN]);
            assert_eq!(unsafe { sock_wait_msg(&mut m, t) }, -SOCK_ERR_EARG);
            assert_eq!(m, sentinel_msg(), "sock_wait_msg wrote *msg on EARG");
        }
        2..=4 => w.drain(1),
        _ => w.drain(32),
    }
}

fn op_alpn(w: &mut World, inp: &mut Input) {
    let id = w.id(inp);
    let len = inp.pick(&[0usize, 1, 2, 3, 8, 9, 64]);
    let null = inp.byte() % 8 == 0;
    let mut buf = vec![0x5au8; len];
    let ptr = if null {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast::<c_char>()
    };
    let r = unsafe { sock_tls_alpn(id, ptr, len) };
    trace!("sock_tls_alpn({id}, null {null}, {len}) -> {r}");
    let Some(m) = w.live.get(&id) else {
        assert_eq!(r, -SOCK_ERR_EBADID);
        return;
    };
    if r < 0 {
        assert!(
            [SOCK_ERR_EINVAL, SOCK_ERR_EARG].contains(&-r),
            "sock_tls_alpn {r}"
        );
        assert!(
            buf.iter().all(|b| *b == 0x5a),
            "sock_tls_alpn wrote on failure"
        );
        return;
    }
    assert_eq!(m.ty, SOCK_TYPE_SSL, "ALPN of a non-TLS socket");
    let n = r as usize;
    assert!(
        !null && n < len && buf[n] == 0,
        "ALPN result {r} in a buffer of {len}"
    );
    assert!(
        n == 0 || peers::SERVER_ALPN.contains(&&buf[..n]),
        "ALPN the server never offered: {:?}",
        &buf[..n]
    );
}

fn op_misc(w: &mut World, inp: &mut Input) {
    match inp.byte() % 8 {
        0 => {
            let fd = sock_msg_fd();
            assert!(
                fd >= 0 || (-SOCK_ERR_EPANIC + 1..0).contains(&fd),
                "sock_msg_fd {fd}"
            );
        }
        1 => {
            let code = inp.u32() as c_int;
            let s = sock_strerror(code);
            assert!(!s.is_null());
            let text = unsafe { CStr::from_ptr(s) };
            assert!(!text.to_bytes().is_empty() && text.to_bytes().len() < 200);
        }
        2 => {
            let v = unsafe { CStr::from_ptr(sock_version()) };
            assert_eq!(v.to_bytes(), b"0.1.0");
        }
        3 => assert_eq!(
            unsafe { sock_conn_opts_init(std::ptr::null_mut()) },
            -SOCK_ERR_EARG
        ),
        4 => {
            let mut o = std::mem::MaybeUninit::<sock_conn_opts>::uninit();
            assert_eq!(unsafe { sock_conn_opts_init(o.as_mut_ptr()) }, 0);
            let o = unsafe { o.assume_init() };
            assert_eq!(o.size as usize, size_of::<sock_conn_opts>());
            assert!(o.alpn.is_null() && o.rcv_buf_size == 0 && o.tls_verify == 0);
        }
        5 => {
            let id = w.id(inp);
            let r = sock_tls_resumed(id);
            trace!("sock_tls_resumed({id}) -> {r}");
            match w.live.get(&id) {
                None => assert_eq!(r, -SOCK_ERR_EBADID),
                Some(m) if m.ty != SOCK_TYPE_SSL => assert_eq!(r, -SOCK_ERR_EINVAL),
                Some(_) => assert!([0, 1, -SOCK_ERR_EINVAL].contains(&r), "resumed {r}"),
            }
        }
        6 => op_timer(w, inp),
        _ => {
            let id = w.id(inp);
            let e = sock_error(id);
            if w.live.contains_key(&id) {
                assert!((0..SOCK_ERR_EPANIC).contains(&e), "sock_error {e}");
            } else {
                assert_eq!(e, SOCK_ERR_EBADID, "sock_error of dead id {id}");
            }
        }
    }
}

/// sock_timer_start / sock_timer_stop on a few timer ids (some equal to socket ids): each
/// start owes exactly one MSG_TIMER, unless stopped or restarted before it is taken.
fn op_timer(w: &mut World, inp: &mut Input) {
    let b = inp.byte();
    let id = if b % 16 == 15 { -1 } else { (b % 4) as c_int };
    if b & 0x80 != 0 {
        let r = sock_timer_stop(id);
        trace!("sock_timer_stop({id}) -> {r}");
        if id < 0 {
            assert_eq!(r, -SOCK_ERR_EARG);
        } else {
            assert_eq!(r, c_int::from(w.timers.remove(&id)), "sock_timer_stop({id})");
        }
    } else {
        let ms = (inp.byte() % 24) as c_int;
        let r = sock_timer_start(id, ms);
        trace!("sock_timer_start({id}, {ms}) -> {r}");
        if id < 0 {
            assert_eq!(r, -SOCK_ERR_EARG);
        } else {
            assert_eq!(r, 1, "sock_timer_start({id}, {ms})");
            w.timers.insert(id);
        }
    }
}

fn op_set_max(w: &mut World, inp: &mut Input) {
    let max = inp.pick(&[
        0,
        -1,
        1,
        2,
        3,
        4,
        8,
        64,
        SOCK_DEFAULT_MAX_SOCKETS,
        SOCK_MAX_SOCKETS_LIMIT,
        SOCK_MAX_SOCKETS_LIMIT + 1,
        c_int::MIN,
    ]);
    let r = sock_set_max_sockets(max);
    trace!("sock_set_max_sockets({max}) -> {r}");
    if (1..=SOCK_MAX_SOCKETS_LIMIT).contains(&max) {
        assert_eq!(r, 0);
        w.limit = max as usize;
    } else {
        assert_eq!(r, -SOCK_ERR_EARG);
    }
}

fn op_pause(w: &mut World, inp: &mut Input) {
    let ms = (inp.byte() as u32 % 3).min(SLEEP_BUDGET_MS - w.slept_ms);
    trace!("pause {ms} ms");
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms as u64));
        w.slept_ms += ms;
    } else {
        std::thread::yield_now();
    }
    w.drain(64);
}

fn shutdown(w: &mut World) {
    trace!("sock_shutdown()");
    sock_shutdown();
    w.timers.clear(); // shutdown cancels every timer
    let ids: Vec<c_int> = w.live.keys().copied().collect();
    for id in ids {
        w.forget(id);
        assert_eq!(
            sock_error(id),
            SOCK_ERR_EBADID,
            "id {id} alive after sock_shutdown"
        );
    }
}

fn run(data: &[u8]) {
    let _ = peers::get();
    let mut inp = Input { data, pos: 0 };
    let mut w = World {
        live: BTreeMap::new(),
        timers: BTreeSet::new(),
        dead: Vec::new(),
        limit: SOCK_DEFAULT_MAX_SOCKETS as usize,
        big_sends: 0,
        slept_ms: 0,
        dgram_seed: 0,
    };
    for _ in 0..MAX_OPS {
        if inp.done() {
            break;
        }
        match inp.byte() % 20 {
            0 | 1 => op_conn(&mut w, &mut inp, false),
            2..=4 => op_conn(&mut w, &mut inp, true),
            5 | 6 => op_send(&mut w, &mut inp),
            7 | 8 => op_recv(&mut w, &mut inp),
            9 => {
                let id = w.id(&mut inp);
                let r = sock_close(id);
                trace!("sock_close({id}) -> {r}");
                match w.live.get_mut(&id) {
                    None => assert_eq!(r, 0, "sock_close of dead id {id}"),
                    Some(m) if m.close_accepted => {
                        assert_eq!(r, 0, "second sock_close accepted");
                        check_refusal(sock_error(id), &[SOCK_ERR_EALREADY], "sock_close");
                    }
                    Some(m) => {
                        assert_eq!(r, 1, "first sock_close refused: {}", sock_error(id));
                        m.close_accepted = true;
                    }
                }
            }
            10 => {
                let id = w.id(&mut inp);
                let r = sock_destroy(id);
                trace!("sock_destroy({id}) -> {r}");
                assert_eq!(r, i32::from(w.live.contains_key(&id)), "sock_destroy({id})");
                if r == 1 {
                    w.forget(id);
                }
            }
            11 => op_setopt(&mut w, &mut inp),
            12 => op_stats(&mut w, &mut inp),
            13 | 14 => op_wait(&mut w, &mut inp),
            15 => op_alpn(&mut w, &mut inp),
            16 => op_misc(&mut w, &mut inp),
            17 => op_set_max(&mut w, &mut inp),
            18 => op_pause(&mut w, &mut inp),
            _ => {
                // sock_shutdown now and then (it costs a thread start on the next call).
                if inp.byte() % 4 == 0 {
                    shutdown(&mut w);
                } else {
                    op_pause(&mut w, &mut inp);
                }
            }
        }
    }
    // Everything already in the ring must still obey the rules; then a fresh start.
    w.drain(1024);
    shutdown(&mut w);
    assert_eq!(sock_set_max_sockets(SOCK_DEFAULT_MAX_SOCKETS), 0);
}

fuzz_target!(|data: &[u8]| run(data));
