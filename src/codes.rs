//! The error codes. Each constant's sentence for `sock_strerror` sits in `ALL_CODES`; a test
//! checks that the table covers every code and that the README's table matches it.

use std::ffi::c_int;

/// No error.
pub const SOCK_ERR_OK: c_int = 0;
/// Out of memory.
pub const SOCK_ERR_ENOMEM: c_int = 1;
/// A bounded queue is full (send queue, sends in flight, socket table): retry later.
pub const SOCK_ERR_ENOBUFS: c_int = 2;
/// A connect or close did not finish in time.
pub const SOCK_ERR_ETIMEOUT: c_int = 3;
/// No route to the host or network.
pub const SOCK_ERR_ERTE: c_int = 4;
/// The operation is already in progress.
pub const SOCK_ERR_EINPROGRESS: c_int = 5;
/// An invalid value for the socket's state.
pub const SOCK_ERR_EINVAL: c_int = 6;
/// The operation would block.
pub const SOCK_ERR_EWOULDBLOCK: c_int = 7;
/// The local address or port is in use.
pub const SOCK_ERR_EADDRINUSE: c_int = 8;
/// The operation was already requested (a second sock_close).
pub const SOCK_ERR_EALREADY: c_int = 9;
/// The socket is already connected.
pub const SOCK_ERR_EISCONN: c_int = 10;
/// The socket is not connected (before CONN_CNF, after close or after a failure).
pub const SOCK_ERR_ENOTCONN: c_int = 11;
/// A network interface error.
pub const SOCK_ERR_EIF: c_int = 12;
/// The connection was aborted (for example a connect cancelled by sock_close).
pub const SOCK_ERR_EABORT: c_int = 13;
/// The peer reset the connection.
pub const SOCK_ERR_ERST: c_int = 14;
/// The connection is closed.
pub const SOCK_ERR_ECLSD: c_int = 15;
/// An illegal argument: NULL pointer, bad length, bad port, unknown type or option.
pub const SOCK_ERR_EARG: c_int = 16;
/// An input/output error from the operating system.
pub const SOCK_ERR_EIO: c_int = 17;
/// The TLS handshake failed.
pub const SOCK_ERR_SSL_EHANDSHAKE: c_int = 18;
/// The TLS layer could not be set up, or this build has none (the `tls` feature was off).
pub const SOCK_ERR_SSL_EINIT: c_int = 19;
/// TLS material is invalid: unparsable PEM, a key that does not match its certificate.
pub const SOCK_ERR_SSL_EINVALID: c_int = 20;
/// The host name did not resolve.
pub const SOCK_ERR_EDNS: c_int = 21;
/// The peer refused the connection.
pub const SOCK_ERR_ECONNREFUSED: c_int = 22;
/// No socket has this id (never issued, or destroyed).
pub const SOCK_ERR_EBADID: c_int = 23;
/// Not permitted (raw sockets without privilege, a blocked port).
pub const SOCK_ERR_EPERM: c_int = 24;
/// The peer's certificate failed verification (untrusted, expired, wrong name).
pub const SOCK_ERR_SSL_ECERT: c_int = 25;
/// An internal fault was caught at the API boundary; the call had no effect.
pub const SOCK_ERR_EPANIC: c_int = 26;

/// Every code with its C name and NUL-terminated sentence, in numeric order.
pub(crate) const ALL_CODES: &[(c_int, &str, &str)] = &[
    (SOCK_ERR_OK, "SOCK_ERR_OK", "no error\0"),
    (SOCK_ERR_ENOMEM, "SOCK_ERR_ENOMEM", "out of memory\0"),
    (
        SOCK_ERR_ENOBUFS,
        "SOCK_ERR_ENOBUFS",
        "no buffer space: a bounded queue is full, retry after a SEND_CNF or a destroy\0",
    ),
    (
        SOCK_ERR_ETIMEOUT,
        "SOCK_ERR_ETIMEOUT",
        "operation timed out\0",
    ),
    (
        SOCK_ERR_ERTE,
        "SOCK_ERR_ERTE",
        "no route to the host or network\0",
    ),
    (
        SOCK_ERR_EINPROGRESS,
        "SOCK_ERR_EINPROGRESS",
        "operation in progress\0",
    ),
    (
        SOCK_ERR_EINVAL,
        "SOCK_ERR_EINVAL",
        "invalid value for this socket's state\0",
    ),
    (
        SOCK_ERR_EWOULDBLOCK,
        "SOCK_ERR_EWOULDBLOCK",
        "operation would block\0",
    ),
    (
        SOCK_ERR_EADDRINUSE,
        "SOCK_ERR_EADDRINUSE",
        "local address or port already in use\0",
    ),
    (
        SOCK_ERR_EALREADY,
        "SOCK_ERR_EALREADY",
        "already requested on this socket\0",
    ),
    (
        SOCK_ERR_EISCONN,
        "SOCK_ERR_EISCONN",
        "socket is already connected\0",
    ),
    (
        SOCK_ERR_ENOTCONN,
        "SOCK_ERR_ENOTCONN",
        "socket is not connected\0",
    ),
    (SOCK_ERR_EIF, "SOCK_ERR_EIF", "network interface error\0"),
    (SOCK_ERR_EABORT, "SOCK_ERR_EABORT", "connection aborted\0"),
    (SOCK_ERR_ERST, "SOCK_ERR_ERST", "connection reset by peer\0"),
    (SOCK_ERR_ECLSD, "SOCK_ERR_ECLSD", "connection closed\0"),
    (SOCK_ERR_EARG, "SOCK_ERR_EARG", "illegal argument\0"),
    (SOCK_ERR_EIO, "SOCK_ERR_EIO", "input/output error\0"),
    (
        SOCK_ERR_SSL_EHANDSHAKE,
        "SOCK_ERR_SSL_EHANDSHAKE",
        "TLS handshake failed\0",
    ),
    (
        SOCK_ERR_SSL_EINIT,
        "SOCK_ERR_SSL_EINIT",
        "TLS unavailable: could not be initialised, or not built in\0",
    ),
    (
        SOCK_ERR_SSL_EINVALID,
        "SOCK_ERR_SSL_EINVALID",
        "invalid TLS certificate or key material\0",
    ),
    (
        SOCK_ERR_EDNS,
        "SOCK_ERR_EDNS",
        "host name did not resolve\0",
    ),
    (
        SOCK_ERR_ECONNREFUSED,
        "SOCK_ERR_ECONNREFUSED",
        "connection refused\0",
    ),
    (
        SOCK_ERR_EBADID,
        "SOCK_ERR_EBADID",
        "no socket with this id\0",
    ),
    (
        SOCK_ERR_EPERM,
        "SOCK_ERR_EPERM",
        "operation not permitted\0",
    ),
    (
        SOCK_ERR_SSL_ECERT,
        "SOCK_ERR_SSL_ECERT",
        "TLS certificate verification failed\0",
    ),
    (
        SOCK_ERR_EPANIC,
        "SOCK_ERR_EPANIC",
        "internal fault caught (please report it)\0",
    ),
];

const UNKNOWN: &str = "unknown error code\0";

/// The NUL-terminated sentence for `code` (negative codes are read as their absolute value).
pub(crate) fn sentence(code: c_int) -> &'static str {
    let code = code.checked_abs().unwrap_or(-1);
    ALL_CODES
        .iter()
        .find(|(value, _, _)| *value == code)
        .map_or(UNKNOWN, |(_, _, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_and_in_order() {
        for (index, (value, _, text)) in ALL_CODES.iter().enumerate() {
            assert_eq!(*value as usize, index);
            assert!(text.ends_with('\0') && text.len() > 3);
        }
    }

    #[test]
    fn sentences_accept_negated_codes_and_reject_unknown() {
        assert_eq!(sentence(-SOCK_ERR_EDNS), sentence(SOCK_ERR_EDNS));
        assert_eq!(sentence(999), UNKNOWN);
        assert_eq!(sentence(c_int::MIN), UNKNOWN);
    }
}
