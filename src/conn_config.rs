//! Per-connection settings read from a caller's `sock_conn_opts`, checked and defaulted.

use crate::codes::SOCK_ERR_EARG;
use crate::constants::*;
use crate::types::sock_conn_opts;
use std::ffi::{CStr, c_int};
use std::mem::{MaybeUninit, offset_of, size_of};
use std::time::Duration;

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
        span!(alpn, *const std::ffi::c_char),
        span!(attempt_delay_ms, c_int),
    ]
};

/// The longest ALPN list accepted, in bytes of its C string.
const MAX_ALPN_TEXT: usize = 1024;

#[derive(Clone, Debug)]
pub(crate) struct ConnConfig {
    pub rcv_buf: usize,
    pub snd_buf: usize,
    pub connect_timeout: Duration,
    pub local_port: u16,
    pub send_cnf_on_ack: bool,
    pub max_sends: usize,
    pub close_timeout: Duration,
    // Checked in every build, so that options are valid or not whatever the features; read
    // only by the TLS module.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub tls_verify: c_int,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub alpn: Vec<Vec<u8>>,
    pub attempt_delay: Duration,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            rcv_buf: SOCK_DEFAULT_RCV_BUF as usize,
            snd_buf: SOCK_DEFAULT_SND_BUF as usize,
            connect_timeout: ms(SOCK_DEFAULT_CONNECT_TIMEOUT_MS),
            local_port: 0,
            send_cnf_on_ack: false,
            max_sends: SOCK_DEFAULT_MAX_SENDS as usize,
            close_timeout: ms(SOCK_DEFAULT_CLOSE_TIMEOUT_MS),
            tls_verify: SOCK_TLS_VERIFY_FULL,
            alpn: Vec::new(),
            attempt_delay: ms(SOCK_DEFAULT_ATTEMPT_DELAY_MS),
        }
    }
}

fn ms(v: c_int) -> Duration {
    Duration::from_millis(v as u64)
}

/// Zero takes the default; otherwise the value must lie in `min..=max`.
fn pick(value: c_int, default: c_int, min: c_int, max: c_int) -> Result<c_int, c_int> {
    match value {
        0 => Ok(default),
        v if (min..=max).contains(&v) => Ok(v),
        _ => Err(SOCK_ERR_EARG),
    }
}

impl ConnConfig {
    /// Reads a caller's struct. Only the first `opts.size` bytes are read, so a caller built
    /// against an older, shorter struct gets defaults for the fields it does not know.
    ///
    /// # Safety
    /// `opts` is NULL or points at least `opts.size` readable bytes (the `size` field first).
    pub(crate) unsafe fn from_c(opts: *const sock_conn_opts) -> Result<Self, c_int> {
        if opts.is_null() {
            return Ok(ConnConfig::default());
        }
        // SAFETY: the caller promises the size field is readable.
        let size = unsafe { std::ptr::read_unaligned(opts.cast::<u32>()) } as usize;
        if !(size_of::<u32>()..=64 * 1024).contains(&size) {
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
        // A size is some version's sizeof: it never ends inside a field. One that does is
        // garbage, and reading the torn field (half a pointer) would be worse than refusing.
        if FIELD_ENDS
            .iter()
            .any(|&(start, end)| start < size && size < end)
        {
            return Err(SOCK_ERR_EARG);
        }
        let known = |offset: usize| offset < size;
        let field = |offset: usize, v: c_int| if known(offset) { v } else { 0 };

        let buf = |v, d| pick(v, d, 1, SOCK_MAX_BUF).map(|v| v as usize);
        let alpn = if known(offset_of!(sock_conn_opts, alpn)) && !o.alpn.is_null() {
            // SAFETY: non-NULL `alpn` is a NUL-terminated string by the documented contract;
            // strnlen bounds how far we look.
            unsafe { parse_alpn(o.alpn) }?
        } else {
            Vec::new()
        };
        Ok(ConnConfig {
            rcv_buf: buf(
                field(offset_of!(sock_conn_opts, rcv_buf_size), o.rcv_buf_size),
                SOCK_DEFAULT_RCV_BUF,
            )?,
            snd_buf: buf(
                field(offset_of!(sock_conn_opts, snd_buf_size), o.snd_buf_size),
                SOCK_DEFAULT_SND_BUF,
            )?,
            connect_timeout: ms(pick(
                field(
                    offset_of!(sock_conn_opts, connect_timeout_ms),
                    o.connect_timeout_ms,
                ),
                SOCK_DEFAULT_CONNECT_TIMEOUT_MS,
                1,
                c_int::MAX,
            )?),
            local_port: pick(
                field(offset_of!(sock_conn_opts, local_port), o.local_port),
                0,
                1,
                65535,
            )? as u16,
            send_cnf_on_ack: field(
                offset_of!(sock_conn_opts, send_cnf_on_ack),
                o.send_cnf_on_ack,
            ) != 0,
            max_sends: pick(
                field(offset_of!(sock_conn_opts, max_sends), o.max_sends),
                SOCK_DEFAULT_MAX_SENDS,
                1,
                65536,
            )? as usize,
            close_timeout: ms(pick(
                field(
                    offset_of!(sock_conn_opts, close_timeout_ms),
                    o.close_timeout_ms,
                ),
                SOCK_DEFAULT_CLOSE_TIMEOUT_MS,
                1,
                c_int::MAX,
            )?),
            tls_verify: match field(offset_of!(sock_conn_opts, tls_verify), o.tls_verify) {
                v @ (SOCK_TLS_VERIFY_FULL | SOCK_TLS_VERIFY_NO_HOSTNAME | SOCK_TLS_VERIFY_NONE) => {
                    v
                }
                _ => return Err(SOCK_ERR_EARG),
            },
            alpn,
            attempt_delay: ms(pick(
                field(
                    offset_of!(sock_conn_opts, attempt_delay_ms),
                    o.attempt_delay_ms,
                ),
                SOCK_DEFAULT_ATTEMPT_DELAY_MS,
                SOCK_MIN_ATTEMPT_DELAY_MS,
                SOCK_MAX_ATTEMPT_DELAY_MS,
            )?),
        })
    }
}

/// "h2,http/1.1" into its protocol names; each 1 to 255 bytes.
unsafe fn parse_alpn(text: *const std::ffi::c_char) -> Result<Vec<Vec<u8>>, c_int> {
    // SAFETY: see the caller; strnlen reads at most MAX_ALPN_TEXT + 1 bytes.
    let len = unsafe { libc::strnlen(text, MAX_ALPN_TEXT + 1) };
    if len > MAX_ALPN_TEXT {
        return Err(SOCK_ERR_EARG);
    }
    // SAFETY: a NUL lies within len + 1 bytes.
    let bytes = unsafe { CStr::from_ptr(text) }.to_bytes();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    bytes
        .split(|b| *b == b',')
        .map(|p| {
            if (1..=255).contains(&p.len()) {
                Ok(p.to_vec())
            } else {
                Err(SOCK_ERR_EARG)
            }
        })
        .collect()
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

    #[test]
    fn zero_means_default_and_null_too() {
        let o = init();
        let c = unsafe { ConnConfig::from_c(&o) }.unwrap();
        assert_eq!(c.rcv_buf, SOCK_DEFAULT_RCV_BUF as usize);
        assert_eq!(c.local_port, 0);
        assert!(unsafe { ConnConfig::from_c(std::ptr::null()) }.is_ok());
    }

    #[test]
    fn out_of_range_is_earg() {
        let bad: [fn(&mut sock_conn_opts); 8] = [
            |o| o.attempt_delay_ms = 9,
            |o| o.attempt_delay_ms = 60_001,
            |o| o.rcv_buf_size = -1,
            |o| o.snd_buf_size = SOCK_MAX_BUF + 1,
            |o| o.local_port = 65536,
            |o| o.tls_verify = 3,
            |o| o.size = 0,
            |o| o.connect_timeout_ms = -5,
        ];
        for f in bad {
            let mut o = init();
            f(&mut o);
            assert_eq!(
                unsafe { ConnConfig::from_c(&o) }.unwrap_err(),
                SOCK_ERR_EARG
            );
        }
    }

    #[test]
    fn short_struct_reads_only_its_prefix() {
        let mut o = init();
        o.rcv_buf_size = 4096;
        o.local_port = 99999; // beyond the declared size: must be ignored
        o.size = offset_of!(sock_conn_opts, snd_buf_size) as u32;
        let c = unsafe { ConnConfig::from_c(&o) }.unwrap();
        assert_eq!(c.rcv_buf, 4096);
        assert_eq!(c.local_port, 0);
    }

    #[test]
    fn a_size_that_cuts_a_field_is_refused() {
        // Found by the fuzzer: size 44 left half of the alpn pointer to be read.
        let mut o = init();
        o.alpn = c"h2".as_ptr();
        for size in [5, 7, 11, 41, 44, 47, 50] {
            o.size = size;
            assert_eq!(
                unsafe { ConnConfig::from_c(&o) }.unwrap_err(),
                SOCK_ERR_EARG,
                "{size}"
            );
        }
        for size in [4, 8, 12, 40, 48, 52, 56, 64] {
            o.size = size;
            assert!(unsafe { ConnConfig::from_c(&o) }.is_ok(), "{size}");
        }
    }

    #[test]
    fn alpn_lists() {
        let mut o = init();
        let text = c"h2,http/1.1";
        o.alpn = text.as_ptr();
        let c = unsafe { ConnConfig::from_c(&o) }.unwrap();
        assert_eq!(c.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        let bad = c"h2,,x";
        o.alpn = bad.as_ptr();
        assert!(unsafe { ConnConfig::from_c(&o) }.is_err());
    }
}
