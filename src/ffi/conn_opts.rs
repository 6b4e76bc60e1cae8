//! Reading a caller's versioned `sock_conn_opts` into owned Rust values. Only the bytes the
//! caller's `size` covers are read; what they mean (ranges, defaults) is `conn_config.rs`'s.

use super::read_bounded;
use crate::codes::SOCK_ERR_EARG;
use crate::types::sock_conn_opts;
use std::ffi::{c_char, c_int};
use std::mem::{MaybeUninit, offset_of, size_of};

/// Where each field of `sock_conn_opts` starts and ends.
const FIELD_ENDS: [(usize, usize); 11] = {
    macro_rules! span {
        ($f:ident, $t:ty) => {
            (
                offset_of!(sock_conn_opts, $f),
                offset_of!(sock_conn_opts, $f) + size_of::<$t>(),
            )
        };
    }
    [
        span!(size, u32),
        span!(rcv_buf_size, c_int),
        span!(snd_buf_size, c_int),
        span!(connect_timeout_ms, c_int),
        span!(local_port, c_int),
        span!(send_cnf_on_ack, c_int),
        span!(max_sends, c_int),
        span!(close_timeout_ms, c_int),
        span!(tls_verify, c_int),
        span!(alpn, *const c_char),
        span!(attempt_delay_ms, c_int),
    ]
};

/// The longest ALPN list accepted, in bytes of its C string.
const MAX_ALPN_TEXT: usize = 1024;

/// A caller's `sock_conn_opts` as plain values: 0 where the caller left a field 0 or its
/// struct ends before the field (both mean "default").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnOpts {
    pub rcv_buf_size: c_int,
    pub snd_buf_size: c_int,
    pub connect_timeout_ms: c_int,
    pub local_port: c_int,
    pub send_cnf_on_ack: c_int,
    pub max_sends: c_int,
    pub close_timeout_ms: c_int,
    pub tls_verify: c_int,
    /// The bytes of the `alpn` string, at most `MAX_ALPN_TEXT`; empty for NULL.
    pub alpn: Vec<u8>,
    pub attempt_delay_ms: c_int,
}

/// Reads `*opts` (NULL: every field default). Refuses with `SOCK_ERR_EARG` a `size` that is
/// below 4 or above 64 KiB or ends inside a field, and an `alpn` longer than 1024 bytes.
///
/// # Safety
/// `opts` is NULL or points at least `opts.size` readable bytes (the `size` field first), and
/// its `alpn`, if within `size` and not NULL, is a NUL-terminated string.
pub(crate) unsafe fn read_conn_opts(opts: *const sock_conn_opts) -> Result<ConnOpts, c_int> {
    if opts.is_null() {
        return Ok(ConnOpts::default());
    }
    // SAFETY: the caller promises the size field is readable.
    let size = unsafe { std::ptr::read_unaligned(opts.cast::<u32>()) } as usize;
    if !(size_of::<u32>()..=64 * 1024).contains(&size) {
        return Err(SOCK_ERR_EARG);
    }
    // A size is some version's sizeof: it never ends inside a field. One that does is garbage,
    // and reading the torn field (half a pointer) would be worse than refusing.
    if FIELD_ENDS
        .iter()
        .any(|&(start, end)| start < size && size < end)
    {
        return Err(SOCK_ERR_EARG);
    }
    let mut copy = MaybeUninit::<sock_conn_opts>::zeroed();
    // SAFETY: we copy at most `size` bytes the caller promised, into a zeroed local of at
    // least that many bytes (fields past the caller's size stay zero: defaults, NULL).
    unsafe {
        std::ptr::copy_nonoverlapping(
            opts.cast::<u8>(),
            copy.as_mut_ptr().cast::<u8>(),
            size.min(size_of::<sock_conn_opts>()),
        );
    }
    // SAFETY: every field of sock_conn_opts is an integer or a pointer, valid when zero.
    let o = unsafe { copy.assume_init() };
    let alpn = if o.alpn.is_null() {
        Vec::new()
    } else {
        // SAFETY: a non-NULL `alpn` is NUL-terminated by contract (a field past `size` was
        // zeroed above, so it is NULL here).
        unsafe { read_bounded(o.alpn, MAX_ALPN_TEXT) }.ok_or(SOCK_ERR_EARG)?
    };
    Ok(ConnOpts {
        rcv_buf_size: o.rcv_buf_size,
        snd_buf_size: o.snd_buf_size,
        connect_timeout_ms: o.connect_timeout_ms,
        local_port: o.local_port,
        send_cnf_on_ack: o.send_cnf_on_ack,
        max_sends: o.max_sends,
        close_timeout_ms: o.close_timeout_ms,
        tls_verify: o.tls_verify,
        alpn,
        attempt_delay_ms: o.attempt_delay_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() -> sock_conn_opts {
        // SAFETY: all-zero is a valid sock_conn_opts.
        let mut o: sock_conn_opts = unsafe { std::mem::zeroed() };
        o.size = size_of::<sock_conn_opts>() as u32;
        o
    }

    fn read(o: &sock_conn_opts) -> Result<ConnOpts, c_int> {
        // SAFETY: a whole struct, its alpn NULL or a C string literal.
        unsafe { read_conn_opts(o) }
    }

    #[test]
    fn null_and_zero_read_as_defaults() {
        assert_eq!(
            unsafe { read_conn_opts(std::ptr::null()) },
            Ok(ConnOpts::default())
        );
        assert_eq!(read(&init()), Ok(ConnOpts::default()));
        let mut o = init();
        o.size = 0;
        assert_eq!(read(&o), Err(SOCK_ERR_EARG));
    }

    #[test]
    fn short_struct_reads_only_its_prefix() {
        let mut o = init();
        o.rcv_buf_size = 4096;
        o.local_port = 99999; // beyond the declared size: must be ignored
        o.size = offset_of!(sock_conn_opts, snd_buf_size) as u32;
        let r = read(&o).unwrap();
        assert_eq!((r.rcv_buf_size, r.local_port), (4096, 0));
    }

    #[test]
    fn a_size_that_cuts_a_field_is_refused() {
        // Found by the fuzzer: size 44 left half of the alpn pointer to be read.
        let mut o = init();
        o.alpn = c"h2".as_ptr();
        for size in [5, 7, 11, 41, 44, 47, 50] {
            o.size = size;
            assert_eq!(read(&o), Err(SOCK_ERR_EARG), "{size}");
        }
        for size in [4, 8, 12, 40, 48, 52, 56, 64] {
            o.size = size;
            assert!(read(&o).is_ok(), "{size}");
        }
    }

    #[test]
    fn alpn_text_is_copied_and_bounded() {
        let mut o = init();
        o.alpn = c"h2,http/1.1".as_ptr();
        assert_eq!(read(&o).unwrap().alpn, b"h2,http/1.1");
        let long = std::ffi::CString::new("a".repeat(MAX_ALPN_TEXT + 1)).unwrap();
        o.alpn = long.as_ptr();
        assert_eq!(read(&o), Err(SOCK_ERR_EARG));
        let longest = std::ffi::CString::new("a".repeat(MAX_ALPN_TEXT)).unwrap();
        o.alpn = longest.as_ptr();
        assert_eq!(read(&o).unwrap().alpn.len(), MAX_ALPN_TEXT);
    }
}
