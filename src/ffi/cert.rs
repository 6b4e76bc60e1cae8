//! Reading a caller's `sock_cert` table into owned Rust values for the TLS layer.

use super::{read_bounded, read_text};
use crate::codes::SOCK_ERR_SSL_EINVALID;
use crate::types::sock_cert;
use std::ffi::c_int;

/// The longest PEM text accepted in one `sock_cert` field.
const MAX_PEM: usize = 1 << 20;
/// The longest `hostName`.
const MAX_HOST_NAME: usize = 253;

/// A caller's `sock_cert`, each field read and checked on its own (None: NULL). The fields keep
/// their own results so that the TLS layer reports the first bad one in its own order (a bad
/// `hostName` before a bad PEM, an unusable server name in between), and a build without TLS
/// none of them.
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct CertInput {
    /// 1 to 253 bytes of UTF-8, else `SOCK_ERR_EARG`.
    pub host_name: Result<Option<String>, c_int>,
    /// PEM text of at most 1 MiB each, else `SOCK_ERR_SSL_EINVALID`.
    pub ca: Result<Option<Vec<u8>>, c_int>,
    pub cert: Result<Option<Vec<u8>>, c_int>,
    pub key: Result<Option<Vec<u8>>, c_int>,
}

/// Reads `*cert`; a NULL table reads as all fields NULL.
///
/// # Safety
/// `cert` is NULL or points at a `sock_cert` whose fields are NULL or NUL-terminated strings.
pub(crate) unsafe fn read_cert(cert: *const sock_cert) -> CertInput {
    // SAFETY: non-NULL by the check; readable by contract.
    let table = (!cert.is_null()).then(|| unsafe { *cert });
    let Some(t) = table else {
        return CertInput {
            host_name: Ok(None),
            ca: Ok(None),
            cert: Ok(None),
            key: Ok(None),
        };
    };
    let pem = |p: *const std::ffi::c_char| {
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: NUL-terminated by contract.
        let text = unsafe { read_bounded(p, MAX_PEM) };
        text.map(Some).ok_or(SOCK_ERR_SSL_EINVALID)
    };
    let host_name = if t.hostName.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract; read_text bounds the scan.
        unsafe { read_text(t.hostName, MAX_HOST_NAME) }.map(Some)
    };
    CertInput {
        host_name,
        ca: pem(t.caCert),
        cert: pem(t.clientCert),
        key: pem(t.clientKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::SOCK_ERR_EARG;
    use std::ptr::null;

    #[test]
    fn fields_are_read_and_checked_each_on_its_own() {
        let none = unsafe { read_cert(null()) };
        assert_eq!((none.host_name, none.ca), (Ok(None), Ok(None)));
        let long = std::ffi::CString::new("a".repeat(MAX_PEM + 1)).unwrap();
        let table = sock_cert {
            hostName: c"".as_ptr(),
            caCert: c"PEM".as_ptr(),
            clientCert: long.as_ptr(),
            clientKey: null(),
        };
        let read = unsafe { read_cert(&table) };
        assert_eq!(read.host_name, Err(SOCK_ERR_EARG));
        assert_eq!(read.ca, Ok(Some(b"PEM".to_vec())));
        assert_eq!(read.cert, Err(SOCK_ERR_SSL_EINVALID));
        assert_eq!(read.key, Ok(None));
    }
}
