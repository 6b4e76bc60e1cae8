//! Plumbing for the C boundary: the panic guard, and the readers of the caller's strings and
//! structs (`addr`, `sock_conn_opts` with its ALPN list, `sock_cert` with its PEM texts). They
//! copy C input into owned, checked Rust values, so the code behind (`conn_config.rs`,
//! `tls.rs`, `socket.rs`) reads no C pointer. The exported functions (`api.rs`,
//! `diagnostics.rs`) touch only the caller's plain byte buffers and out-parameters themselves.

mod cert;
mod conn_opts;

pub(crate) use cert::{CertInput, read_cert};
pub(crate) use conn_opts::{ConnOpts, read_conn_opts};

use crate::codes::SOCK_ERR_EARG;
use crate::constants::SOCK_MAX_ADDR_LEN;
use std::ffi::{c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs an exported body; a panic inside becomes `on_panic` instead of unwinding into C. A call
/// from inside the application's log callback is refused with `on_panic` without running the
/// body (the callback may run while the library holds a lock: see `sock_set_log`).
pub(crate) fn guard<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    crate::diagnostics::init();
    if crate::diagnostics::refuse_reentry() {
        return on_panic;
    }
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Collapses `Result<i32, code>` into the C convention: the value, or the negated code.
pub(crate) fn value_or_neg(r: Result<c_int, c_int>) -> c_int {
    r.unwrap_or_else(|code| -code)
}

/// The bytes of a NUL-terminated C string of at most `max` bytes; None when it is longer.
///
/// # Safety
/// `p` is a NUL-terminated string (only `max + 1` bytes of it are looked at).
unsafe fn read_bounded(p: *const c_char, max: usize) -> Option<Vec<u8>> {
    // SAFETY: NUL-terminated by contract; strnlen bounds the scan.
    let len = unsafe { libc::strnlen(p, max + 1) };
    if len > max {
        return None;
    }
    // SAFETY: the `len` bytes before the NUL were just measured as readable.
    Some(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec())
}

/// Reads a NUL-terminated C string of 1 to `max` bytes of UTF-8 text.
///
/// # Safety
/// `p` is NULL or points at readable bytes up to a NUL or at least `max + 1` bytes.
pub(crate) unsafe fn read_text(p: *const c_char, max: usize) -> Result<String, c_int> {
    if p.is_null() {
        return Err(SOCK_ERR_EARG);
    }
    // SAFETY: forwarded contract.
    let bytes = unsafe { read_bounded(p, max) }.ok_or(SOCK_ERR_EARG)?;
    if bytes.is_empty() {
        return Err(SOCK_ERR_EARG);
    }
    String::from_utf8(bytes).map_err(|_| SOCK_ERR_EARG)
}

/// Reads the `addr` argument of `sock_conn`.
///
/// # Safety
/// As `read_text`.
pub(crate) unsafe fn read_addr(p: *const c_char) -> Result<String, c_int> {
    // SAFETY: forwarded contract.
    let text = unsafe { read_text(p, SOCK_MAX_ADDR_LEN as usize) }?;
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(SOCK_ERR_EARG);
    }
    Ok(text)
}

/// An IP literal, with or without the brackets of "[::1]".
pub(crate) fn ip_literal(addr: &str) -> Option<std::net::IpAddr> {
    let bare = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks() {
        unsafe {
            assert_eq!(read_addr(std::ptr::null()), Err(SOCK_ERR_EARG));
            assert_eq!(read_addr(c"".as_ptr()), Err(SOCK_ERR_EARG));
            assert_eq!(read_addr(c"a b".as_ptr()), Err(SOCK_ERR_EARG));
            assert_eq!(read_addr(c"\xff\xfe".as_ptr()), Err(SOCK_ERR_EARG));
            assert_eq!(read_addr(c"example.com".as_ptr()).unwrap(), "example.com");
            let long = std::ffi::CString::new("a".repeat(256)).unwrap();
            assert_eq!(read_addr(long.as_ptr()), Err(SOCK_ERR_EARG));
        }
        assert!(!guard(false, || panic!("boom")));
        assert_eq!(value_or_neg(Err(3)), -3);
    }

    #[test]
    fn literals() {
        assert!(ip_literal("127.0.0.1").is_some());
        assert!(ip_literal("::1").is_some());
        assert!(ip_literal("[::1]").is_some());
        assert!(ip_literal("localhost").is_none());
    }
}
