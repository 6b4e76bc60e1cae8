"""socketcore's constants, with the values of include/socketcore.h (the firmware's numbers)."""
from __future__ import annotations

import enum


class SockType(enum.IntEnum):
    """Socket types for `sock_conn` (the firmware's numbers)."""

    TCP = 0
    UDP = 1
    SSL = 2  #: TLS over TCP
    RAW = 4  #: raw IP; the port carries the IP protocol number (needs CAP_NET_RAW)


class MsgId(enum.IntEnum):
    """`sock_msg.id`: what a message reports."""

    RECV_IND = 31
    SEND_CNF = 32
    CLOSE_CNF = 33
    CONN_CNF = 34
    CLOSE_IND = 36
    TIMER = 5  #: a timer from :func:`timer_start` expired; ``socket_index`` is its id


class Err(enum.IntEnum):
    """Error codes (positive; functions returning a count or id return them negated)."""

    OK = 0
    ENOMEM = 1
    ENOBUFS = 2
    ETIMEOUT = 3
    ERTE = 4
    EINPROGRESS = 5
    EINVAL = 6
    EWOULDBLOCK = 7
    EADDRINUSE = 8
    EALREADY = 9
    EISCONN = 10
    ENOTCONN = 11
    EIF = 12
    EABORT = 13
    ERST = 14
    ECLSD = 15
    EARG = 16
    EIO = 17
    SSL_EHANDSHAKE = 18
    SSL_EINIT = 19
    SSL_EINVALID = 20
    EDNS = 21
    ECONNREFUSED = 22
    EBADID = 23
    EPERM = 24
    SSL_ECERT = 25
    EPANIC = 26


class TlsVerify(enum.IntEnum):
    """`sock_conn_opts.tls_verify`."""

    FULL = 0  #: verify the chain and the host name (the default)
    NO_HOSTNAME = 1  #: verify the chain only (the firmware's "insist")
    NONE = 2  #: verify nothing: insecure


# Option levels and names (the original lwIP numbers, translated by the library).
SOL_SOCKET = 0xFFF
IPPROTO_TCP = 6
SO_REUSEADDR = 4
SO_KEEPALIVE = 8
SO_SNDBUF = 0x1001
SO_RCVBUF = 0x1002
TCP_NODELAY = 1
TCP_KEEPIDLE = 3
TCP_KEEPINTVL = 4
TCP_KEEPCNT = 5
TCP_USER_TIMEOUT = 18

#: Wait forever (sock_wait_msg's -1).
INF_TIMEOUT = -1
