//! Translation of operating-system errors into the contract's codes.

use crate::codes::*;
use std::ffi::c_int;
use std::io;

pub(crate) fn code_of(err: &io::Error) -> c_int {
    match err.raw_os_error() {
        Some(libc::ECONNREFUSED) => SOCK_ERR_ECONNREFUSED,
        Some(libc::ECONNRESET) | Some(libc::EPIPE) => SOCK_ERR_ERST,
        Some(libc::ETIMEDOUT) => SOCK_ERR_ETIMEOUT,
        Some(libc::EHOSTUNREACH) | Some(libc::ENETUNREACH) | Some(libc::EHOSTDOWN) => SOCK_ERR_ERTE,
        Some(libc::ENETDOWN) | Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV) => SOCK_ERR_EIF,
        Some(libc::EPERM) | Some(libc::EACCES) => SOCK_ERR_EPERM,
        Some(libc::EADDRINUSE) => SOCK_ERR_EADDRINUSE,
        Some(libc::ECONNABORTED) => SOCK_ERR_EABORT,
        Some(libc::ENOMEM) => SOCK_ERR_ENOMEM,
        Some(libc::ENOBUFS) | Some(libc::EMFILE) | Some(libc::ENFILE) => SOCK_ERR_ENOBUFS,
        Some(libc::EAGAIN) => SOCK_ERR_EWOULDBLOCK,
        Some(libc::EINPROGRESS) => SOCK_ERR_EINPROGRESS,
        Some(libc::EALREADY) => SOCK_ERR_EALREADY,
        Some(libc::EISCONN) => SOCK_ERR_EISCONN,
        Some(libc::ENOTCONN) => SOCK_ERR_ENOTCONN,
        Some(libc::EINVAL) | Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT) => {
            SOCK_ERR_EARG
        }
        _ => SOCK_ERR_EIO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_errors_map() {
        let c = |e| code_of(&io::Error::from_raw_os_error(e));
        assert_eq!(c(libc::ECONNREFUSED), SOCK_ERR_ECONNREFUSED);
        assert_eq!(c(libc::ECONNRESET), SOCK_ERR_ERST);
        assert_eq!(c(libc::EPERM), SOCK_ERR_EPERM);
        assert_eq!(c(libc::EIO), SOCK_ERR_EIO);
        assert_eq!(code_of(&io::Error::other("x")), SOCK_ERR_EIO);
    }
}
