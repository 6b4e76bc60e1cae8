//! The C structs of the contract. Field names follow the original firmware's spelling.

use std::ffi::{c_char, c_int};

/// TLS material for `SOCK_TYPE_SSL`, each field NUL-terminated text or NULL.
#[repr(C)]
#[allow(non_camel_case_types, non_snake_case)]
#[derive(Clone, Copy)]
pub struct sock_cert {
    /// Name sent as SNI and verified against the certificate; the address when NULL.
    pub hostName: *const c_char,
    /// PEM trust anchors (one or more certificates); NULL trusts the bundled web roots.
    pub caCert: *const c_char,
    /// PEM client certificate chain for mutual TLS; NULL for none.
    pub clientCert: *const c_char,
    /// PEM private key of `clientCert` (PKCS#8, PKCS#1 or SEC1); NULL for none.
    pub clientKey: *const c_char,
}

/// One message from the event ring, as `rtos.recv` delivered it on the firmware.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sock_msg {
    /// `MSG_SOCK_*`, or `MSG_TIMER`.
    pub id: c_int,
    /// The socket id the message is about (for `MSG_TIMER`, the timer id).
    pub socket_index: c_int,
    /// `SOCK_ERR_OK` or the code saying what failed.
    pub result: c_int,
    /// RECV_IND: bytes buffered and not announced before (a datagram's size for UDP/RAW).
    pub recv_len: c_int,
    /// SEND_CNF: the length of the send it confirms.
    pub send_len: c_int,
}

/// Per-connection settings for `sock_conn_ext`. Call `sock_conn_opts_init` first: it zeroes the
/// struct and sets `size`, which lets newer headers add fields without breaking older callers.
/// A field left 0 takes its default.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
pub struct sock_conn_opts {
    /// `sizeof(sock_conn_opts)` as the caller compiled it (set by `sock_conn_opts_init`).
    pub size: u32,
    /// Receive buffer bound in bytes (default `SOCK_DEFAULT_RCV_BUF`, at most `SOCK_MAX_BUF`).
    pub rcv_buf_size: c_int,
    /// Send queue bound in bytes (default `SOCK_DEFAULT_SND_BUF`, at most `SOCK_MAX_BUF`).
    pub snd_buf_size: c_int,
    /// Connect timeout in ms, resolution and TLS handshake included (default 30000).
    pub connect_timeout_ms: c_int,
    /// Local port to bind before connecting (default: any).
    pub local_port: c_int,
    /// Non-zero: a TCP SEND_CNF waits until the peer has acknowledged the bytes.
    pub send_cnf_on_ack: c_int,
    /// Accepted sends whose SEND_CNF is not yet taken (default `SOCK_DEFAULT_MAX_SENDS`).
    pub max_sends: c_int,
    /// How long `sock_close` may flush queued sends, in ms (default 10000).
    pub close_timeout_ms: c_int,
    /// `SOCK_TLS_VERIFY_*` (default `SOCK_TLS_VERIFY_FULL`).
    pub tls_verify: c_int,
    /// Comma-separated ALPN protocols to offer, e.g. "h2,http/1.1"; NULL offers none.
    pub alpn: *const c_char,
    /// Connection Attempt Delay in ms (RFC 8305): with several addresses, the next attempt
    /// starts this long after the previous one unless it failed sooner (default
    /// `SOCK_DEFAULT_ATTEMPT_DELAY_MS`, 10 to 60000).
    pub attempt_delay_ms: c_int,
}

/// Counters of one socket, filled by `sock_stats`. (Named apart from the function so that C
/// and C++ can declare both.)
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct sock_counters {
    /// Bytes (plaintext for TLS) handed to the kernel.
    pub bytes_sent: u64,
    /// Bytes (plaintext for TLS) taken from the kernel.
    pub bytes_received: u64,
    /// UDP/RAW datagrams dropped because the receive queue was full.
    pub datagrams_dropped: u64,
    /// Bytes accepted by `sock_send` and not yet handed to the kernel.
    pub send_queued: u64,
    /// Bytes buffered and not yet read by `sock_recv`.
    pub recv_buffered: u64,
}
