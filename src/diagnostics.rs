//! Diagnostics: the log (a C callback or stderr, fed by the `log` crate, which rustls and mio
//! use too), why a TLS connection failed in rustls' words, and a socket's addresses.
//!
//! Log lines never carry payload bytes or key material: socketcore logs ids, addresses, codes
//! and sizes; rustls logs handshake steps and errors, never secrets.

use crate::codes::{SOCK_ERR_EARG, SOCK_ERR_EBADID, SOCK_ERR_EPANIC};
use crate::ffi::guard;
use crate::runtime;
use parking_lot::RwLock;
use std::cell::Cell;
use std::ffi::{CString, c_char, c_int, c_void};
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Log level: nothing.
pub const SOCK_LOG_OFF: c_int = 0;
/// Log level: failures the application sees as codes (connect failed, TLS refused).
pub const SOCK_LOG_ERROR: c_int = 1;
/// Log level: also conditions worth attention (datagrams dropped).
pub const SOCK_LOG_WARN: c_int = 2;
/// Log level: also connects and closes.
pub const SOCK_LOG_INFO: c_int = 3;
/// Log level: also name resolution results, TLS handshake steps, flow-control pauses.
pub const SOCK_LOG_DEBUG: c_int = 4;
/// Log level: everything the libraries log (rustls and mio internals included).
pub const SOCK_LOG_TRACE: c_int = 5;

type Callback = unsafe extern "C" fn(level: c_int, message: *const c_char, user: *mut c_void);

#[derive(Clone, Copy)]
enum Sink {
    Stderr,
    /// The function and its `user` pointer (kept as an address: the application owns it).
    Callback(Callback, usize),
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
static INSTALL: Once = Once::new();
/// Callbacks running now, on any thread: while 0, no call can come from inside one and
/// `refuse_reentry` needs no thread-local lookup (costly in a shared library).
static CALLBACKS_RUNNING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread is inside the application's log callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
    /// An API call was refused because it came from inside the log callback.
    static REFUSED: Cell<bool> = const { Cell::new(false) };
}

struct Logger;

static LOGGER: Logger = Logger;

fn level_number(level: log::Level) -> c_int {
    match level {
        log::Level::Error => SOCK_LOG_ERROR,
        log::Level::Warn => SOCK_LOG_WARN,
        log::Level::Info => SOCK_LOG_INFO,
        log::Level::Debug => SOCK_LOG_DEBUG,
        log::Level::Trace => SOCK_LOG_TRACE,
    }
}

fn filter_for(level: c_int) -> log::LevelFilter {
    match level {
        SOCK_LOG_ERROR => log::LevelFilter::Error,
        SOCK_LOG_WARN => log::LevelFilter::Warn,
        SOCK_LOG_INFO => log::LevelFilter::Info,
        SOCK_LOG_DEBUG => log::LevelFilter::Debug,
        SOCK_LOG_TRACE => log::LevelFilter::Trace,
        _ => log::LevelFilter::Off,
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_CALLBACK.get() {
            return; // a line logged while the callback runs would re-enter it
        }
        let Some(sink) = *SINK.read() else { return };
        let text = format!("{}: {}", record.target(), record.args());
        match sink {
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr(), "socketcore [{}] {text}", record.level());
            }
            Sink::Callback(f, user) => {
                let line = CString::new(text.replace('\0', " ")).unwrap_or_default();
                IN_CALLBACK.set(true);
                CALLBACKS_RUNNING.fetch_add(1, Ordering::SeqCst);
                // SAFETY: the application gave `f` for exactly this call shape; the line
                // lives until the call returns. A panic cannot cross a C function.
                unsafe {
                    f(
                        level_number(record.level()),
                        line.as_ptr(),
                        user as *mut c_void,
                    )
                };
                CALLBACKS_RUNNING.fetch_sub(1, Ordering::SeqCst);
                IN_CALLBACK.set(false);
                if REFUSED.replace(false) {
                    log::warn!(target: "socketcore",
                        "the log callback called a socketcore function: refused (see sock_set_log)");
                }
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the logger once, then applies `SOCKETCORE_LOG` (error, warn, info, debug, trace or
/// off, to stderr) unless `sock_set_log` was called first. Every API call runs this (a single
/// atomic load after the first time).
pub(crate) fn init() {
    INSTALL.call_once(|| {
        // Fails only if the program set another `log` logger in this very copy of the crate
        // (a Rust program using socketcore as a crate): its logger then gets the lines.
        if log::set_logger(&LOGGER).is_err() {
            return;
        }
        let env = std::env::var("SOCKETCORE_LOG").unwrap_or_default();
        let level = match env.to_ascii_lowercase().as_str() {
            "error" | "1" => SOCK_LOG_ERROR,
            "warn" | "2" => SOCK_LOG_WARN,
            "info" | "3" => SOCK_LOG_INFO,
            "debug" | "4" => SOCK_LOG_DEBUG,
            "trace" | "5" => SOCK_LOG_TRACE,
            _ => SOCK_LOG_OFF,
        };
        let mut sink = SINK.write();
        if sink.is_none() && level != SOCK_LOG_OFF {
            *sink = Some(Sink::Stderr);
            log::set_max_level(filter_for(level));
        }
    });
}

/// True on a thread inside the log callback: the API refuses such calls (see `ffi::guard`).
pub(crate) fn refuse_reentry() -> bool {
    // The flag is set by this same thread before its count goes up, so a thread inside a
    // callback always sees a count above 0.
    if CALLBACKS_RUNNING.load(Ordering::Relaxed) != 0 && IN_CALLBACK.get() {
        REFUSED.set(true);
        true
    } else {
        false
    }
}

/// Sends the library's log lines at `level` and more severe (`SOCK_LOG_ERROR` ...
/// `SOCK_LOG_TRACE`; `SOCK_LOG_OFF` stops them) to `callback(level, line, user)`, or to stderr
/// when `callback` is NULL. Replaces what `SOCKETCORE_LOG` or an earlier call set. Returns 0,
/// or `-SOCK_ERR_EARG` for a level outside 0..=5.
///
/// The callback runs on whichever thread logs, the poll thread included, possibly while the
/// library holds a socket's lock: it must return quickly and must not call socketcore. Such a
/// call is refused at once, doing nothing: it returns what it returns after a caught fault
/// (0 from sock_send, sock_close and sock_destroy, -1 from sock_conn and sock_setopt,
/// `SOCK_ERR_EPANIC` from sock_error, "internal fault" from sock_strerror, `-SOCK_ERR_EPANIC`
/// from those returning `-code`; the README's "Faults" table), and a warning line follows.
/// `line` is valid only during the call. Lines never hold payload bytes or key material.
///
/// # Safety
/// `callback` is NULL or a function of this signature that stays callable, with `user`, until
/// it is replaced or logging is turned off.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_set_log(
    level: c_int,
    callback: Option<unsafe extern "C" fn(level: c_int, line: *const c_char, user: *mut c_void)>,
    user: *mut c_void,
) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        if !(SOCK_LOG_OFF..=SOCK_LOG_TRACE).contains(&level) {
            return -SOCK_ERR_EARG;
        }
        let mut sink = SINK.write();
        *sink = match (level, callback) {
            (SOCK_LOG_OFF, _) => None,
            (_, Some(f)) => Some(Sink::Callback(f, user as usize)),
            (_, None) => Some(Sink::Stderr),
        };
        log::set_max_level(filter_for(level));
        0
    })
}

/// Copies `text` NUL-terminated into `buf`; its length, or `-SOCK_ERR_EARG` when it does not
/// fit.
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
unsafe fn copy_out(text: &str, buf: *mut c_char, len: usize) -> c_int {
    if buf.is_null() || len <= text.len() {
        return -SOCK_ERR_EARG;
    }
    // SAFETY: `buf` has `len` > text.len() writable bytes by contract.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        *buf.add(text.len()) = 0;
    }
    text.len() as c_int
}

/// `text` cut at a character boundary to fit `SOCK_MAX_TLS_ERROR_TEXT` bytes with its NUL.
pub(crate) fn tls_error_text(text: String) -> String {
    let max = SOCK_MAX_TLS_ERROR_TEXT as usize - 1;
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Why the socket's TLS connection failed, as rustls said it, NUL-terminated into `buf`: for
/// example "invalid peer certificate: UnknownIssuer", "invalid peer certificate: certificate
/// expired: ...", "invalid peer certificate: certificate not valid for name ..." or "received
/// fatal alert: HandshakeFailure". The codes stay coarse
/// (`SOCK_ERR_SSL_ECERT`, `SOCK_ERR_SSL_EHANDSHAKE`), this says which check failed. Returns the
/// length (texts are cut to fit `SOCK_MAX_TLS_ERROR_TEXT` bytes with the NUL), 0 when the
/// socket had no TLS failure, `-SOCK_ERR_EARG` for NULL `buf` or `len` too small,
/// `-SOCK_ERR_EBADID`.
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_tls_error_text(id: c_int, buf: *mut c_char, len: usize) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -SOCK_ERR_EBADID;
        };
        match sock.tls_error_text(&sh) {
            Ok(None) => 0,
            // SAFETY: forwarded contract.
            Ok(Some(text)) => unsafe { copy_out(&text, buf, len) },
            Err(code) => -code,
        }
    })
}

/// The address of the socket's peer as text ("192.0.2.1:443", "[2001:db8::1]:443"),
/// NUL-terminated into `buf` (`SOCK_MAX_ADDR_TEXT` bytes suffice). Returns its length,
/// `-SOCK_ERR_ENOTCONN` while no OS socket is connected (before the connect is under way, after
/// a failure or close), `-SOCK_ERR_EARG` for NULL `buf` or `len` too small, `-SOCK_ERR_EBADID`.
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_peer_addr(id: c_int, buf: *mut c_char, len: usize) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { address(id, buf, len, true) }
}

/// The socket's own address as text, as `sock_peer_addr` (for UDP and RAW: once the socket is
/// open, so from its CONN_CNF on).
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_local_addr(id: c_int, buf: *mut c_char, len: usize) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { address(id, buf, len, false) }
}

/// The negotiated TLS version and cipher suite, as rustls names them ("TLSv1_3
/// TLS13_AES_256_GCM_SHA384"), NUL-terminated into `buf` (64 bytes suffice). Returns the
/// length, `-SOCK_ERR_EINVAL` when `id` is not a connected TLS socket, `-SOCK_ERR_EARG` for
/// NULL `buf` or `len` too small, `-SOCK_ERR_EBADID`.
///
/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_tls_info(id: c_int, buf: *mut c_char, len: usize) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -SOCK_ERR_EBADID;
        };
        match sock.tls_summary(&sh) {
            // SAFETY: forwarded contract.
            Ok(text) => unsafe { copy_out(&text, buf, len) },
            Err(code) => -code,
        }
    })
}

/// Library-wide counters, filled by `sock_global_stats` (for a host's health endpoint).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sock_global_counters {
    /// Socket ids in use (from `sock_conn` until `sock_destroy`).
    pub sockets: u64,
    /// Messages waiting in the ring for `sock_wait_msg`.
    pub messages_pending: u64,
    /// The most messages ever waiting at once since the library started.
    pub messages_high_water: u64,
    /// Bytes accepted by `sock_send` and not yet handed to the kernel, all sockets together.
    pub send_queued: u64,
    /// Bytes received and not yet read with `sock_recv`, all sockets together.
    pub recv_buffered: u64,
}

/// Fills `out` with the library-wide counters. Returns 0, or `-SOCK_ERR_EARG` for NULL `out`.
/// Before the first call that starts the library (and after `sock_shutdown`) they are all 0.
///
/// # Safety
/// `out` is NULL or points at a writable `sock_global_counters`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sock_global_stats(out: *mut sock_global_counters) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        if out.is_null() {
            return -SOCK_ERR_EARG;
        }
        let mut c = sock_global_counters::default();
        if let Some(sh) = runtime::current() {
            crate::poll_loop::catch_up(&sh); // count what has arrived, as sock_stats does
            let table = sh.sockets.read();
            c.sockets = table.len() as u64;
            for sock in table.values() {
                let (queued, buffered) = sock.buffered();
                c.send_queued += queued;
                c.recv_buffered += buffered;
            }
            drop(table);
            c.messages_pending = sh.ring.len() as u64;
            c.messages_high_water = sh.ring.high_water() as u64;
        }
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write(c) };
        0
    })
}

/// Bytes that hold any text `sock_tls_error_text` writes, NUL included.
pub const SOCK_MAX_TLS_ERROR_TEXT: c_int = 256;

/// Bytes that hold any address `sock_peer_addr` and `sock_local_addr` write, NUL included
/// ("[" IPv6 with a zone "]:" port).
pub const SOCK_MAX_ADDR_TEXT: c_int = 64;

/// # Safety
/// `buf` is NULL or points at `len` writable bytes.
unsafe fn address(id: c_int, buf: *mut c_char, len: usize, peer: bool) -> c_int {
    guard(-SOCK_ERR_EPANIC, || {
        let Some((sh, sock)) = runtime::find(id) else {
            return -SOCK_ERR_EBADID;
        };
        match sock.address(&sh, peer) {
            // SAFETY: forwarded contract.
            Ok(addr) => unsafe { copy_out(&addr.to_string(), buf, len) },
            Err(code) => -code,
        }
    })
}
