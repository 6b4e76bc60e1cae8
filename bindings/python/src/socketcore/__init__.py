"""socketcore: Python bindings (ctypes) for libsocketcore, the Luat socketcore asynchronous
socket API (TCP, UDP, TLS, RAW; results arrive as messages) on Linux hosts.

    import socketcore
    with socketcore.Socket.connect_to("127.0.0.1", 7000, timeout=5) as s:
        s.sendall(b"hello")
        print(s.recv())

Layers, from the top:
  * :class:`Socket` / :class:`AsyncSocket` (``socketcore.aio``): blocking and asyncio calls;
  * :func:`open_socket`, :func:`messages`, :func:`wait_msg`: ids and raw messages;
  * :func:`lib`: the ``ctypes.CDLL`` itself, every function with argtypes/restype.
Errors raise :class:`SocketCoreError` with ``code`` (an :class:`Err`) and ``text``.
The library is the copy inside the package (the wheel carries one), unless ``$SOCKETCORE_LIB`` or
``$SOCKETCORE_PREFIX`` names another; without a copy inside, an installed prefix (pkg-config,
/usr/local), else the system search.
"""
from __future__ import annotations

import ctypes

from . import _ffi, _version
from ._ffi import (SockCert, SockConnOpts, SockGlobalStats, SockMsg, SockStats, candidates,
                   loaded_path, unload)
from ._router import Message
from .client import (Cert, Socket, create_connection, global_stats, messages, msg_fd,
                     open_socket, shutdown,
                     strerror, timer_start, timer_stop, version, wait_msg)
from .constants import (INF_TIMEOUT, IPPROTO_TCP, SO_KEEPALIVE, SO_RCVBUF, SO_REUSEADDR,
                        SO_SNDBUF, SOL_SOCKET, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL,
                        TCP_NODELAY, TCP_USER_TIMEOUT, Err, MsgId, SockType, TlsVerify)
from .errors import LibraryNotFoundError, SocketCoreError, SocketTimeoutError
from .aio import AsyncSocket

__version__ = _version.__version__  # Cargo.toml's version: the package's is the library's


def lib(path: str | None = None) -> ctypes.CDLL:
    """The loaded libsocketcore (loading it on first use), every prototype declared."""
    return _ffi.load(path)


__all__ = [
    "AsyncSocket", "Cert", "Err", "INF_TIMEOUT", "IPPROTO_TCP", "LibraryNotFoundError", "Message",
    "MsgId", "SO_KEEPALIVE", "SO_RCVBUF", "SO_REUSEADDR", "SO_SNDBUF", "SOL_SOCKET", "SockCert",
    "SockConnOpts", "SockGlobalStats", "SockMsg", "SockStats", "SockType", "Socket", "SocketCoreError",
    "SocketTimeoutError", "TCP_KEEPCNT", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_NODELAY",
    "TCP_USER_TIMEOUT", "TlsVerify", "candidates", "create_connection", "global_stats", "lib",
    "loaded_path", "messages", "msg_fd", "open_socket", "shutdown", "strerror", "timer_start",
    "timer_stop", "unload", "version", "wait_msg",
]
