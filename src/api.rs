//! The exported C functions. Each checks its arguments, runs inside the panic guard and
//! returns a documented code; the work itself lives in `socket.rs` and `runtime.rs`.

use crate::clock::Deadline;
use crate::codes::*;
use crate::compat;
use crate::conn_config::ConnConfig;
use crate::constants::*;
use crate::ffi::{guard, ip_literal, read_addr, read_cert, read_conn_opts, value_or_neg};
use crate::options::Opt;
use crate::resolver::{Job, Target};
use crate::ring::{PopError, REPLY};
use crate::runtime::{self, Shared};
use crate::socket::{Kind, Sock};
use crate::timers::{Timer, TimerKind};
use crate::types::{sock_cert, sock_conn_opts, sock_counters, sock_msg};
use std::ffi::{c_char, c_int, c_void};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens a socket and starts connecting it to `addr` (a name, or an IPv4/IPv6 literal) on
/// `port` (for `SOCK_TYPE_RAW`, the IP protocol number). Returns the new id at once, or -1 if
/// the arguments are refused (see `sock_conn_ext` for the reason). Exactly one
/// `MSG_SOCK_CONN_CNF` follows every id returned.
///
/// # Safety
/// `addr` is NULL or a NUL-terminated string; `cert` is NULL or points at a `sock_cert`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_conn(
    sock_type: c_int,
    port: c_int,
    addr: *const c_char,
    cert: *const sock_cert,
) -> c_int {
    // SAFETY: forwarded contract; NULL options mean defaults.
    match unsafe { sock_conn_ext(sock_type, port, addr, cert, std::ptr::null()) } {
        id if id >= 0 => id,
        _ => -1,
    }
}

/// As `sock_conn`, with settings. Returns the id, or the negated code saying why nothing was
/// opened: `-SOCK_ERR_EARG` (bad type, port, addr or option), `-SOCK_ERR_ENOBUFS` (socket
/// limit reached), `-SOCK_ERR_SSL_EINVALID` (unusable TLS material). `opts` may be NULL.
///
/// # Safety
/// As `sock_conn`; `opts` is NULL or points at a struct set up by `sock_conn_opts_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_conn_ext(
    sock_type: c_int,
    port: c_int,
    addr: *const c_char,
    cert: *const sock_cert,
    opts: *const sock_conn_opts,
) -> c_int {
    // SAFETY: the pointer contracts are forwarded to the readers, which check for NULL.
    guard(-SOCK_ERR_EPANIC, || {
        value_or_neg(unsafe { conn(sock_type, port, addr, cert, opts) })
    })
}

/// Literal connects of a burst waiting for a worker, beyond which the caller connects in place.
const BURST_BACKLOG: usize = 256;

unsafe fn conn(
    sock_type: c_int,
    port: c_int,
    addr: *const c_char,
    cert: *const sock_cert,
    opts: *const sock_conn_opts,
) -> Result<c_int, c_int> {
    let kind = Kind::from_c(sock_type, port).ok_or(SOCK_ERR_EARG)?;
    let port_ok = match kind {
        Kind::Raw(_) => (1..=255).contains(&port),
        _ => (1..=65535).contains(&port),
    };
    if !port_ok {
        return Err(SOCK_ERR_EARG);
    }
    // SAFETY: forwarded contracts.
    let host = unsafe { read_addr(addr) }?;
    // SAFETY: forwarded contract.
    let cfg = ConnConfig::new(&unsafe { read_conn_opts(opts) }?)?;
    let tls = match kind {
        // SAFETY: forwarded contract.
        Kind::Tls => Some(crate::tls::setup(unsafe { read_cert(cert) }, &host, &cfg)?),
        _ => None,
    };
    let sh = runtime::get()?;
    let timeout = cfg.connect_timeout;
    let (id, sock) = sh
        .sockets
        .insert(|id, generation| Sock::new(id, generation, kind, cfg, tls))
        .ok_or(SOCK_ERR_ENOBUFS)?;
    sh.add_timer(Timer {
        at: Instant::now() + timeout,
        id,
        generation: sock.generation,
        kind: TimerKind::Connect,
    });
    let wire_port = if matches!(kind, Kind::Raw(_)) {
        0
    } else {
        port as u16
    };
    let others_in_flight = sh.connect_begun();
    match ip_literal(&host) {
        // A literal starts at once, in this thread: a non-blocking connect does not wait.
        // Unless other connects are still in flight: on a near peer (loopback above all) the
        // kernel runs the whole handshake inside connect(), and a burst's connects made by
        // the workers overlap with the caller's own work on another core. While the workers
        // have `BURST_BACKLOG` waiting, the caller connects in place, so both sides connect
        // and the queue stays short. One at a time, nothing is handed over: a lone connect
        // costs no wake-up.
        Some(ip) => {
            let addr = SocketAddr::new(ip, wire_port);
            let handed_over = others_in_flight > 0 && {
                let job = Job {
                    sock: sock.clone(),
                    target: Target::Addresses(vec![addr]),
                };
                sh.resolver.offer(Arc::downgrade(&sh), job, BURST_BACKLOG)
            };
            if !handed_over {
                crate::poll_loop::guarded(&sh, &sock, || sock.start(&sh, Ok(vec![addr])));
            }
        }
        None => sh.resolver.submit(
            Arc::downgrade(&sh),
            Job {
                sock,
                target: Target::Name {
                    host,
                    port: wire_port,
                },
            },
        ),
    }
    Ok(id)
}

/// Zeroes `*opts` and sets its `size`: every field then means "default". Returns 0, or
/// `-SOCK_ERR_EARG` for NULL.
///
/// # Safety
/// `opts` is NULL or points at a writable `sock_conn_opts`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_conn_opts_init(opts: *mut sock_conn_opts) -> c_int {
    if opts.is_null() {
        return -SOCK_ERR_EARG;
    }
    // SAFETY: non-NULL and writable by contract; all-zero is a valid value of the struct.
    unsafe {
        std::ptr::write_bytes(opts, 0, 1);
        (*opts).size = std::mem::size_of::<sock_conn_opts>() as u32;
    }
    0
}

/// Queues `len` bytes (copied before return) to be sent. Returns 1 when accepted (exactly one
/// `MSG_SOCK_SEND_CNF` follows), 0 when refused (no SEND_CNF; `sock_error(id)` says why:
/// `ENOTCONN` before CONN_CNF or after close, `ENOBUFS` when the send queue is full,
/// `EARG` for NULL data or a length of 0 or above the send queue size, `EBADID`).
/// For UDP and RAW each accepted send is one datagram, so a send longer than the largest
/// datagram (`SOCK_MAX_UDP_PAYLOAD_V4` and its siblings) is refused with `EARG`. With
/// `SOCK_COMPAT_SEND_CNF` (see `sock_set_compat`) a refusal is also answered by a SEND_CNF
/// carrying its code.
///
/// # Safety
/// `data` is NULL or points at `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_send(id: c_int, data: *const c_void, len: usize) -> c_int {
    guard(0, || {
        let sent = runtime::with_sock(id, |sh, sock| {
            let bytes = if data.is_null() || len == 0 || len > SOCK_MAX_BUF as usize {
                &[][..] // refused as EARG below, with the socket's error set
            } else {
                // SAFETY: non-NULL, and the caller promises `len` readable bytes.
                unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
            };
            sock.send_if_connected(sh, bytes).unwrap_or_else(|| {
                // Connected meanwhile? Nobody may have dispatched that yet.
                crate::poll_loop::catch_up(sh);
                sock.send(sh, bytes)
            })
        });
        let refusal = match sent {
            Some(Ok(())) => return 1,
            Some(Err(code)) => code,
            None => SOCK_ERR_EBADID,
        };
        if compat::enabled(SOCK_COMPAT_SEND_CNF) {
            reply(MSG_SOCK_SEND_CNF, id, refusal);
        }
        0
    })
}

/// Copies up to `len` buffered bytes into `buf`. Returns the count (0 when nothing is
/// buffered), or `-SOCK_ERR_EBADID` / `-SOCK_ERR_EARG` (NULL `buf`, `len` 0 or above INT_MAX).
/// UDP and RAW: one datagram per call; a datagram longer than `len` is cut to `len` and the
/// rest dropped. Calling it lets the next `MSG_SOCK_RECV_IND` of this socket come.
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_recv(id: c_int, buf: *mut c_void, len: usize) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let got = runtime::with_sock(id, |sh, sock| {
            if buf.is_null() || len == 0 || len > c_int::MAX as usize {
                return Err(SOCK_ERR_EARG);
            }
            // SAFETY: non-NULL, and the caller promises `len` writable bytes.
            let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
            let got = sock.recv(sh, out);
            if got != Ok(0) {
                return got;
            }
            // Input may have arrived that nobody has dispatched yet (no thread waits).
            crate::poll_loop::catch_up(sh);
            sock.recv(sh, out)
        });
        match got {
            Some(got) => value_or_neg(got.map(|n| n as c_int)),
            None => -SOCK_ERR_EBADID,
        }
    })
}

/// Closes the connection: queued sends are flushed first (their SEND_CNFs come first), then
/// the connection is shut down and one `MSG_SOCK_CLOSE_CNF` follows. While connecting, it
/// cancels: CONN_CNF with `SOCK_ERR_EABORT`, then CLOSE_CNF. Returns 1 when accepted, 0 when
/// refused (`EALREADY` for a second close, `EBADID`). The id stays valid until `sock_destroy`.
/// With `SOCK_COMPAT_CLOSE_CNF` (see `sock_set_compat`) a refused close (destroyed or
/// unknown id, second close) returns 1 and is answered by a CLOSE_CNF with `SOCK_ERR_OK`.
#[unsafe(no_mangle)]
pub extern "C" fn sock_close(id: c_int) -> c_int {
    guard(0, || {
        if let Some((sh, sock)) = runtime::find(id)
            && sock.close(&sh).is_ok()
        {
            return 1;
        }
        let replied =
            compat::enabled(SOCK_COMPAT_CLOSE_CNF) && reply(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
        c_int::from(replied)
    })
}

/// Frees the socket in any state, closing the OS socket if needed. Messages for it still in
/// the ring are discarded; the id may be handed out again. Returns 1 when freed, 0 when there
/// is no such socket.
#[unsafe(no_mangle)]
pub extern "C" fn sock_destroy(id: c_int) -> c_int {
    guard(0, || {
        let Some(sh) = runtime::current() else {
            return 0;
        };
        let Some(sock) = sh.sockets.remove(id) else {
            return 0;
        };
        let in_ring = sock.destroy(&sh);
        if in_ring || sh.replies.any() {
            let replies = sh.ring.discard(id);
            sh.replies.gone(replies);
        }
        1
    })
}

/// Sets a socket option, using the original (lwIP) numbers `SOCK_SOL_SOCKET` /
/// `SOCK_IPPROTO_TCP` and `SOCK_SO_*` / `SOCK_TCP_*`. Applied at once, or remembered and
/// applied when the OS socket is made (before connect). Returns 0, or -1 with `sock_error(id)`
/// set: `EARG` for a pair outside the table, a value out of range or a TCP option on a
/// non-TCP socket; `EBADID`.
#[unsafe(no_mangle)]
pub extern "C" fn sock_setopt(id: c_int, level: c_int, optname: c_int, optval: c_int) -> c_int {
    guard(-1, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -1;
        };
        let result = match Opt::parse(level, optname, optval) {
            Some(opt) => sock.setopt(&sh, opt, optval),
            None => sock.refuse(&sh, SOCK_ERR_EARG),
        };
        if result.is_ok() { 0 } else { -1 }
    })
}

/// The socket's last error code (`SOCK_ERR_OK` if none); `SOCK_ERR_EBADID` for an id that
/// does not exist.
#[unsafe(no_mangle)]
pub extern "C" fn sock_error(id: c_int) -> c_int {
    guard(SOCK_ERR_EPANIC, || match runtime::find(id) {
        Some((sh, sock)) => sock.last_error(&sh),
        None => SOCK_ERR_EBADID,
    })
}

/// Takes the next message (a socket's, or a timer's `MSG_TIMER`). `timeout_ms`: -1 waits
/// forever, 0 polls, above 0 waits at most that long. Returns 1 with `*msg` written, 0 on
/// timeout, `-SOCK_ERR_EARG` (NULL `msg`, `timeout_ms` below -1), or `-SOCK_ERR_ECLSD` when
/// `sock_shutdown` ran while waiting.
/// Several threads may wait at once; each message goes to exactly one of them.
///
/// # Safety
/// `msg` is NULL or points at a writable `sock_msg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_wait_msg(msg: *mut sock_msg, timeout_ms: c_int) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        if msg.is_null() || timeout_ms < -1 {
            return -SOCK_ERR_EARG;
        }
        match runtime::with_running(|sh| wait_msg(sh, msg, timeout_ms)) {
            Ok(r) => r,
            Err(code) => -code,
        }
    })
}

/// `sock_wait_msg` on the running instance.
fn wait_msg(sh: &Shared, msg: *mut sock_msg, timeout_ms: c_int) -> c_int {
    // The clock is read only once a wait is needed: a pending message costs no time call.
    let mut deadline: Option<Deadline> = None;
    loop {
        // An empty ring is seen without its lock; the wait looks again under it.
        let first = match sh.ring.seems_empty() {
            true => Ok(None),
            false => sh.ring.try_pop(),
        };
        let popped = match first {
            Ok(None) if timeout_ms == 0 => crate::poll_loop::poll_now(sh),
            Ok(None) => {
                deadline = match deadline {
                    _ if timeout_ms < 0 => None,
                    None => Some(Deadline::after(Duration::from_millis(timeout_ms as u64))),
                    Some(d) => Some(d.renewed()), // a stale message was skipped
                };
                crate::poll_loop::wait(sh, deadline)
            }
            other => other,
        };
        let entry = match popped {
            Ok(Some(entry)) => entry,
            Ok(None) if timeout_ms != 0 && deadline.is_none_or(|d| !d.passed()) => {
                continue;
            } // a stale message was skipped, or woken early
            Ok(None) => return 0,
            Err(PopError::Closed) => return -runtime::STOPPED,
        };
        let m = entry.msg;
        if !taken(sh, &m, entry.generation, entry.settled) {
            continue;
        }
        // SAFETY: non-NULL and writable by contract.
        unsafe { msg.write(m) };
        return 1;
    }
}

/// Starts timer `timer_id` (any id from 0 to INT_MAX, chosen by the caller): after `ms`
/// milliseconds one `MSG_TIMER` message, with `socket_index` = `timer_id`, comes through
/// `sock_wait_msg` among the socket messages, as the firmware's `rtos.timer_start` does.
/// Starting a timer that is running, or whose expiry is still in the ring, replaces it: only
/// the new expiry comes. Returns 1, `-SOCK_ERR_EARG` (`timer_id` or `ms` negative) or
/// `-SOCK_ERR_ENOBUFS` (`SOCK_MAX_TIMERS` timers running or expired and not yet taken).
/// `sock_shutdown` cancels every timer.
#[unsafe(no_mangle)]
pub extern "C" fn sock_timer_start(timer_id: c_int, ms: c_int) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let started = runtime::get().and_then(|sh| sh.app_timers.start(&sh, timer_id, ms));
        value_or_neg(started.map(|()| 1))
    })
}

/// Stops timer `timer_id`. An expiry of it still in the ring is removed with it, so once this
/// returns no `MSG_TIMER` of that timer comes (unless it is started again). Returns 1 when the
/// timer was running or its expiry pending, 0 when there was neither (never started, already
/// taken), `-SOCK_ERR_EARG` for a negative id.
#[unsafe(no_mangle)]
pub extern "C" fn sock_timer_stop(timer_id: c_int) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        if timer_id < 0 {
            return -SOCK_ERR_EARG;
        }
        let Some(sh) = runtime::current() else {
            return 0;
        };
        value_or_neg(sh.app_timers.stop(&sh, timer_id).map(c_int::from))
    })
}

/// Turns the firmware's behaviours on or off for the whole library: `flags` is 0 (the
/// default: the strict C contract, where a refused call posts nothing) or an OR of
/// `SOCK_COMPAT_CLOSE_CNF`, `SOCK_COMPAT_SEND_CNF` and `SOCK_COMPAT_CLOSE_IND`
/// (`SOCK_COMPAT_FIRMWARE` for all; the Lua module sets it). Replies
/// are posted for ids from 0 to `SOCK_MAX_SOCKETS_LIMIT`-1, at most `SOCK_MAX_COMPAT_REPLIES`
/// in the ring at once. Kept across `sock_shutdown`. Returns the previous flags, or
/// `-SOCK_ERR_EARG` for unknown bits.
#[unsafe(no_mangle)]
pub extern "C" fn sock_set_compat(flags: c_int) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        compat::set(flags).unwrap_or(-SOCK_ERR_EARG)
    })
}

/// A descriptor that is readable while messages are pending, for the host's own
/// poll/epoll/select; then take them with `sock_wait_msg(&m, 0)`. Do not read or close it.
/// Valid until `sock_shutdown`. Returns the descriptor or a negated code.
#[unsafe(no_mangle)]
pub extern "C" fn sock_msg_fd() -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let fd = runtime::get().and_then(|sh| {
            let fd = sh.ring.notify_fd().map_err(|e| crate::errno::code_of(&e))?;
            // The host's loop takes messages without blocking here: the poll thread drives.
            sh.poller.host_loop_started();
            Ok(fd)
        });
        value_or_neg(fd)
    })
}

/// Fills `*out` with the socket's counters, including UDP/RAW datagrams dropped because the
/// receive queue was full. Returns 0, `-SOCK_ERR_EBADID` or `-SOCK_ERR_EARG` (NULL `out`).
///
/// # Safety
/// `out` is NULL or points at a writable `sock_counters`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_stats(id: c_int, out: *mut sock_counters) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -SOCK_ERR_EBADID;
        };
        if out.is_null() {
            return -SOCK_ERR_EARG;
        }
        crate::poll_loop::catch_up(&sh); // count what has arrived even if nobody waits
        match sock.stats(&sh) {
            // SAFETY: non-NULL and writable by contract.
            Ok(s) => unsafe {
                out.write(s);
                0
            },
            Err(code) => -code,
        }
    })
}

/// Sets how many sockets may exist at once (ids 0 to max-1); default
/// `SOCK_DEFAULT_MAX_SOCKETS`. Beyond it `sock_conn_ext` returns `-SOCK_ERR_ENOBUFS`. Existing
/// sockets are kept. The process's descriptor table is grown to fit the limit (up to
/// RLIMIT_NOFILE) when the instance starts or the limit is raised, so that opening sockets
/// never waits for the kernel to grow it. Returns 0, or `-SOCK_ERR_EARG` outside 1 to
/// `SOCK_MAX_SOCKETS_LIMIT`.
#[unsafe(no_mangle)]
pub extern "C" fn sock_set_max_sockets(max: c_int) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        if !(1..=SOCK_MAX_SOCKETS_LIMIT).contains(&max) {
            return -SOCK_ERR_EARG;
        }
        runtime::set_max_sockets(max as usize);
        0
    })
}

/// Copies the ALPN protocol the TLS server chose into `buf`, NUL-terminated. Returns its
/// length (0 when none was negotiated), `-SOCK_ERR_EINVAL` when `id` is not a connected TLS
/// socket, `-SOCK_ERR_EARG` for NULL `buf` or `len` too small for the name and its NUL,
/// `-SOCK_ERR_EBADID`.
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_tls_alpn(id: c_int, buf: *mut c_char, len: usize) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -SOCK_ERR_EBADID;
        };
        let proto = match sock.tls_alpn(&sh) {
            Ok(p) => p.unwrap_or_default(),
            Err(code) => return -code,
        };
        if buf.is_null() || len <= proto.len() {
            return -SOCK_ERR_EARG;
        }
        // SAFETY: `buf` has `len` > proto.len() writable bytes by contract.
        unsafe {
            std::ptr::copy_nonoverlapping(proto.as_ptr(), buf.cast::<u8>(), proto.len());
            *buf.add(proto.len()) = 0;
        }
        proto.len() as c_int
    })
}

/// 1 when the TLS connection resumed an earlier session (no full handshake), 0 when not;
/// `-SOCK_ERR_EINVAL` when `id` is not a connected TLS socket, `-SOCK_ERR_EBADID`.
#[unsafe(no_mangle)]
pub extern "C" fn sock_tls_resumed(id: c_int) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -SOCK_ERR_EBADID;
        };
        value_or_neg(sock.tls_resumed(&sh).map(c_int::from))
    })
}

/// A sentence describing `code` (a negated code is read as its absolute value); never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn sock_strerror(code: c_int) -> *const c_char {
    guard(c"internal fault".as_ptr(), || {
        crate::codes::sentence(code).as_ptr().cast()
    })
}

/// The library's version, "MAJOR.MINOR.PATCH"; matches `SOCKETCORE_VERSION`.
#[unsafe(no_mangle)]
pub extern "C" fn sock_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Stops the poll thread, closes and frees every socket and wakes every waiter (they return
/// `-SOCK_ERR_ECLSD`). Ids and the `sock_msg_fd` descriptor become invalid. The next call
/// starts afresh. Call it before unloading the library.
#[unsafe(no_mangle)]
pub extern "C" fn sock_shutdown() {
    guard((), runtime::shutdown)
}

/// Settles what a message taken from the ring held; false when it is stale (its socket was
/// destroyed after it was queued) and must not be handed out.
fn taken(sh: &runtime::Shared, m: &sock_msg, generation: u32, settled: bool) -> bool {
    if m.id == MSG_TIMER {
        sh.app_timers.taken(m.socket_index, generation);
        return true;
    }
    if generation == REPLY {
        sh.replies.gone(1);
        return true;
    }
    sh.with_current(m.socket_index, generation, |sock| {
        if !settled {
            sock.on_taken(sh, m);
        }
    })
    .is_some()
}

/// Posts a compatibility reply for a refused call on `id`; false if none could be posted.
fn reply(msg_id: c_int, id: c_int, result: c_int) -> bool {
    if !compat::is_socket_id(id) {
        return false;
    }
    runtime::get().is_ok_and(|sh| sh.replies.post(&sh, msg_id, id, result))
}
