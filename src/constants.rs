//! The fixed numbers of the C contract: socket types, message ids, option levels and names,
//! TLS verification modes and defaults. They keep the original firmware's values.

use std::ffi::c_int;

/// A TCP stream socket.
pub const SOCK_TYPE_TCP: c_int = 0;
/// A connected UDP datagram socket.
pub const SOCK_TYPE_UDP: c_int = 1;
/// A TLS stream over TCP (rustls).
pub const SOCK_TYPE_SSL: c_int = 2;
/// A raw IP socket; `port` carries the IP protocol number (needs CAP_NET_RAW).
pub const SOCK_TYPE_RAW: c_int = 4;

/// Bytes are buffered: `recv_len` of them not announced before. Read them with `sock_recv`.
pub const MSG_SOCK_RECV_IND: c_int = 31;
/// One accepted `sock_send` finished: `result` 0 and `send_len` its length, or why it failed.
pub const MSG_SOCK_SEND_CNF: c_int = 32;
/// The `sock_close` finished.
pub const MSG_SOCK_CLOSE_CNF: c_int = 33;
/// The connection attempt finished: `result` 0 when connected, or why it failed.
pub const MSG_SOCK_CONN_CNF: c_int = 34;
/// The peer ended the connection: `result` 0 for an orderly close, an error code otherwise.
pub const MSG_SOCK_CLOSE_IND: c_int = 36;
/// A timer started with `sock_timer_start` expired: `socket_index` holds the timer id (the
/// firmware's `rtos.MSG_TIMER`, whose value this is).
pub const MSG_TIMER: c_int = 5;

/// Option level: the socket itself (lwIP's value).
pub const SOCK_SOL_SOCKET: c_int = 0xfff;
/// Option level: TCP.
pub const SOCK_IPPROTO_TCP: c_int = 6;
/// SOL_SOCKET: allow reuse of the local address (0 or 1).
pub const SOCK_SO_REUSEADDR: c_int = 4;
/// SOL_SOCKET: send keep-alive probes (0 or 1).
pub const SOCK_SO_KEEPALIVE: c_int = 8;
/// SOL_SOCKET: kernel send buffer in bytes (1024 to 67108864).
pub const SOCK_SO_SNDBUF: c_int = 0x1001;
/// SOL_SOCKET: kernel receive buffer in bytes (1024 to 67108864).
pub const SOCK_SO_RCVBUF: c_int = 0x1002;
/// IPPROTO_TCP: disable Nagle's algorithm (0 or 1).
pub const SOCK_TCP_NODELAY: c_int = 1;
/// IPPROTO_TCP: idle seconds before the first keep-alive probe (1 to 32767).
pub const SOCK_TCP_KEEPIDLE: c_int = 3;
/// IPPROTO_TCP: seconds between keep-alive probes (1 to 32767).
pub const SOCK_TCP_KEEPINTVL: c_int = 4;
/// IPPROTO_TCP: probes sent before the connection is dropped (1 to 127).
pub const SOCK_TCP_KEEPCNT: c_int = 5;
/// IPPROTO_TCP: milliseconds that sent data may stay unacknowledged (or keep-alive probes
/// unanswered) before the connection fails with `SOCK_ERR_ETIMEOUT`; 0 restores the system's
/// retransmission limit (0 to 2147483647). Host `TCP_USER_TIMEOUT`; lwIP has no such option,
/// so the number is Linux's.
pub const SOCK_TCP_USER_TIMEOUT: c_int = 18;

/// TLS: verify the chain and the host name (the default).
pub const SOCK_TLS_VERIFY_FULL: c_int = 0;
/// TLS: verify the chain but accept a certificate for another name (the firmware's "insist").
pub const SOCK_TLS_VERIFY_NO_HOSTNAME: c_int = 1;
/// TLS: verify nothing. Insecure: anyone on the path can read and change the traffic.
pub const SOCK_TLS_VERIFY_NONE: c_int = 2;

/// Default and largest receive buffer per socket, in bytes (`rcv_buf_size`).
pub const SOCK_DEFAULT_RCV_BUF: c_int = 256 * 1024;
/// Default send queue per socket, in bytes (`snd_buf_size`).
pub const SOCK_DEFAULT_SND_BUF: c_int = 256 * 1024;
/// The largest `rcv_buf_size` or `snd_buf_size` accepted.
pub const SOCK_MAX_BUF: c_int = 64 * 1024 * 1024;
/// Default number of accepted sends whose SEND_CNF has not yet been taken (`max_sends`).
pub const SOCK_DEFAULT_MAX_SENDS: c_int = 256;
/// Default connect timeout in milliseconds, resolution included.
pub const SOCK_DEFAULT_CONNECT_TIMEOUT_MS: c_int = 30_000;
/// Default Connection Attempt Delay in milliseconds (`attempt_delay_ms`, RFC 8305): when a
/// name has several addresses, the next one is tried this long after the previous attempt
/// started, unless that attempt failed sooner.
pub const SOCK_DEFAULT_ATTEMPT_DELAY_MS: c_int = 250;
/// The shortest and longest `attempt_delay_ms` accepted (RFC 8305 sets 10 ms as the floor).
pub const SOCK_MIN_ATTEMPT_DELAY_MS: c_int = 10;
/// See `SOCK_MIN_ATTEMPT_DELAY_MS`.
pub const SOCK_MAX_ATTEMPT_DELAY_MS: c_int = 60_000;
/// The largest UDP datagram over IPv4 (65535 - 20 IP - 8 UDP header bytes); longer sends
/// are refused with `SOCK_ERR_EARG`.
pub const SOCK_MAX_UDP_PAYLOAD_V4: c_int = 65_507;
/// The largest UDP datagram over IPv6 (65535 payload - 8 UDP header bytes).
pub const SOCK_MAX_UDP_PAYLOAD_V6: c_int = 65_527;
/// The largest RAW datagram over IPv4 (65535 - 20 IP header bytes).
pub const SOCK_MAX_RAW_PAYLOAD_V4: c_int = 65_515;
/// The largest RAW datagram over IPv6 (the IPv6 payload length field's limit).
pub const SOCK_MAX_RAW_PAYLOAD_V6: c_int = 65_535;
/// Default time `sock_close` may spend flushing queued sends, in milliseconds.
pub const SOCK_DEFAULT_CLOSE_TIMEOUT_MS: c_int = 10_000;
/// Default limit on sockets open at once (ids 0 to limit-1); see `sock_set_max_sockets`.
pub const SOCK_DEFAULT_MAX_SOCKETS: c_int = 1024;
/// The largest socket limit `sock_set_max_sockets` accepts.
pub const SOCK_MAX_SOCKETS_LIMIT: c_int = 1 << 20;
/// The longest `addr` accepted, in bytes (a DNS name is at most 253).
pub const SOCK_MAX_ADDR_LEN: c_int = 255;

/// The most application timers (`sock_timer_start`) running or expired and not yet taken.
pub const SOCK_MAX_TIMERS: c_int = 4096;

/// `sock_set_compat`: every `sock_close` is answered by one `MSG_SOCK_CLOSE_CNF`, as on the
/// firmware, also for an id already destroyed or already closing (result `SOCK_ERR_OK`).
pub const SOCK_COMPAT_CLOSE_CNF: c_int = 1;
/// `sock_set_compat`: a refused `sock_send` still returns 0 and is also answered by one
/// `MSG_SOCK_SEND_CNF` whose `result` is the refusal's code and `send_len` 0.
pub const SOCK_COMPAT_SEND_CNF: c_int = 2;
/// `sock_set_compat`: a CLOSE_IND ends the connection for sending, as on the firmware (which
/// closes the socket when it reports CLOSE_IND): a later `sock_send` is refused with
/// `SOCK_ERR_ECLSD`. Without it a peer's orderly close leaves our direction open.
pub const SOCK_COMPAT_CLOSE_IND: c_int = 4;
/// `sock_set_compat`: all of the firmware's behaviours above (what the Lua module sets).
pub const SOCK_COMPAT_FIRMWARE: c_int =
    SOCK_COMPAT_CLOSE_CNF | SOCK_COMPAT_SEND_CNF | SOCK_COMPAT_CLOSE_IND;
/// The most compatibility replies (see `sock_set_compat`) in the ring at once; beyond it a
/// refused call gets no reply, as without compatibility.
pub const SOCK_MAX_COMPAT_REPLIES: c_int = 4096;
