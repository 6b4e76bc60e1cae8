"""The blocking, Pythonic layer: :class:`Socket`, :func:`messages` and thin function wrappers."""
from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Tuple, Union

from . import _ffi
from ._router import ROUTER, Message
from .constants import Err, MsgId, SockType
from .errors import SocketCoreError, SocketTimeoutError, check

Buffer = Union[bytes, bytearray, memoryview]
#: A ``sock_conn_opts`` value: an int (or bool) for the numeric fields, str/bytes for ``alpn``.
OptValue = Union[int, str, bytes]

#: Largest piece handed to one sock_send on a stream socket (the default send queue is larger).
STREAM_CHUNK = 64 * 1024


@dataclass(repr=False)
class Cert:
    """TLS material, PEM text (str or bytes) or None; ``host_name`` is sent as SNI and verified.
    The repr shows only the sizes of the PEM fields (never a private key)."""

    host_name: Optional[str] = None
    ca_cert: Optional[Union[str, bytes]] = None
    client_cert: Optional[Union[str, bytes]] = None
    client_key: Optional[Union[str, bytes]] = None

    @classmethod
    def from_files(cls, ca: Optional[str] = None, cert: Optional[str] = None,
                   key: Optional[str] = None, host_name: Optional[str] = None) -> "Cert":
        def read(p: Optional[str]) -> Optional[bytes]:
            if p is None:
                return None
            with open(p, "rb") as f:
                return f.read()
        return cls(host_name, read(ca), read(cert), read(key))

    def __repr__(self) -> str:
        def size(v: Optional[Union[str, bytes]]) -> str:
            return "None" if v is None else f"<{len(v)} {'chars' if isinstance(v, str) else 'bytes'}>"
        return (f"Cert(host_name={self.host_name!r}, ca_cert={size(self.ca_cert)}, "
                f"client_cert={size(self.client_cert)}, client_key={size(self.client_key)})")


def _c_text(value: Optional[Union[str, bytes]], what: str) -> Optional[bytes]:
    """str/bytes -> NUL-free bytes; a NUL inside would silently cut the C string, so refuse it."""
    if value is None:
        return None
    b = value.encode() if isinstance(value, str) else bytes(value)
    if b"\0" in b:
        raise SocketCoreError(Err.EARG, f"{what} contains a NUL byte")
    return b


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not -(2 ** 31) <= value < 2 ** 31:
        raise SocketCoreError(Err.EARG, f"{what} {value} is out of range")
    return value


# -- thin wrappers over the C functions (ids and codes, exceptions for failures) ------------
def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    text: bytes = _ffi.load().sock_version()
    return text.decode()


def strerror(code: int) -> str:
    """The library's sentence for ``code`` (a negated code reads as its absolute value)."""
    text: bytes = _ffi.load().sock_strerror(_int(code, "code"))
    return text.decode("utf-8", "replace")


def msg_fd() -> int:
    """A descriptor readable while messages are pending (do not read or close it)."""
    return check(_ffi.load().sock_msg_fd(), "sock_msg_fd")


def shutdown() -> None:
    """sock_shutdown(): closes every socket; waiters get ECLSD; the next call starts afresh."""
    _ffi.shutdown()


def open_socket(sock_type: int, host: str, port: int, cert: Optional[Cert] = None,
                **opts: OptValue) -> int:
    """``sock_conn_ext``: returns the new id (one CONN_CNF follows) or raises SocketCoreError.

    ``opts`` are fields of ``sock_conn_opts``: rcv_buf_size, snd_buf_size, connect_timeout_ms,
    local_port, send_cnf_on_ack, max_sends, close_timeout_ms, tls_verify, attempt_delay_ms;
    alpn is a str.
    """
    lib = _ffi.load()
    c_opts = _ffi.SockConnOpts()
    lib.sock_conn_opts_init(ctypes.byref(c_opts))
    for name, value in opts.items():
        if name == "alpn":
            if value is not None and not isinstance(value, (str, bytes)):
                raise TypeError(f"alpn must be str or bytes, not {type(value).__name__}")
            c_opts.alpn = _c_text(value, "alpn")
        elif name in ("size",) or name not in {f[0] for f in _ffi.SockConnOpts._fields_}:
            raise TypeError(f"unknown sock_conn_opts field {name!r}")
        else:
            setattr(c_opts, name, _int(int(value) if isinstance(value, bool) else value, name))
    c_cert = None
    if cert is not None:
        c_cert = _ffi.SockCert(_c_text(cert.host_name, "host_name"), _c_text(cert.ca_cert, "ca_cert"),
                               _c_text(cert.client_cert, "client_cert"),
                               _c_text(cert.client_key, "client_key"))
    if not isinstance(host, (str, bytes)):
        raise TypeError(f"host must be str, not {type(host).__name__}")
    sid = lib.sock_conn_ext(_int(int(sock_type), "type"), _int(port, "port"), _c_text(host, "host"),
                            ctypes.byref(c_cert) if c_cert is not None else None,
                            ctypes.byref(c_opts))
    return check(sid, f"sock_conn_ext({SockType(sock_type).name if sock_type in SockType._value2member_map_ else sock_type}, {host!r}, {port})")


def timer_start(timer_id: int, ms: int) -> None:
    """Starts (or restarts) timer ``timer_id``: after ``ms`` milliseconds one message with
    ``id`` :attr:`MsgId.TIMER` and ``socket_index`` ``timer_id`` comes from :func:`wait_msg`
    and :func:`messages`. Raises :class:`SocketCoreError` (``EARG``, ``ENOBUFS``)."""
    check(_ffi.load().sock_timer_start(timer_id, ms), f"sock_timer_start({timer_id}, {ms})")


def timer_stop(timer_id: int) -> bool:
    """Stops timer ``timer_id``; an expiry not yet taken is withdrawn. False if none ran."""
    return check(_ffi.load().sock_timer_stop(timer_id), f"sock_timer_stop({timer_id})") == 1


def global_stats() -> _ffi.SockGlobalStats:
    """sock_global_stats: library-wide counters (sockets, messages pending and their high-water
    mark, bytes queued to send, bytes received and not read)."""
    out = _ffi.SockGlobalStats()
    check(_ffi.load().sock_global_stats(ctypes.byref(out)), "sock_global_stats")
    return out


def wait_msg(timeout: Optional[float] = None) -> Optional[Message]:
    """The next message no :class:`Socket` owns; None after ``timeout`` seconds (None: forever)."""
    return ROUTER.wait_unclaimed(timeout)


def messages(timeout: Optional[float] = None) -> Iterator[Message]:
    """Iterates over messages (for ids no :class:`Socket` owns) from ``sock_wait_msg``.

    Stops when none arrives within ``timeout`` seconds (None: never stops by itself).
    """
    while True:
        m = ROUTER.wait_unclaimed(timeout)
        if m is None:
            return
        yield m


def _text_of(function: str, sid: int, required: bool = False) -> str:
    """The text one of the ``sock_*(id, buf, len)`` functions writes ("" when the library
    is too old to have it, unless ``required``)."""
    lib = _ffi.load()
    fn = getattr(lib, function, None)
    if fn is None:
        if required:
            raise SocketCoreError(Err.EINVAL, f"this libsocketcore has no {function}")
        return ""
    buf = ctypes.create_string_buffer(256)
    n = fn(sid, buf, len(buf))
    if n < 0:
        if required:
            raise SocketCoreError(-n, function)
        return ""
    return buf.value.decode("utf-8", "replace")


class Socket:
    """A socketcore socket with blocking calls built on its messages.

    >>> with Socket.connect_to("127.0.0.1", 7, timeout=5) as s:   # doctest: +SKIP
    ...     s.sendall(b"ping")
    ...     s.recv()

    Each call waits only for this socket's own messages; messages of other ids are kept for
    their owners. All methods raise :class:`SocketCoreError` (with ``code`` and ``text``) on
    failure and :class:`SocketTimeoutError` when the timeout passes.
    """

    def __init__(self, sock_type: int = SockType.TCP, cert: Optional[Cert] = None, **opts: OptValue) -> None:
        self.type = SockType(sock_type) if sock_type in SockType._value2member_map_ else sock_type
        self.cert = cert
        self.opts = opts
        self.id: Optional[int] = None
        self.connected = False
        self.eof = False
        self.close_result: Optional[int] = None  # CLOSE_IND's result once the peer ended
        self._conn_result: Optional[int] = None
        self._closed = False
        self._sends_in_flight = 0  # changed only under ROUTER.lock (the sink decrements it)
        self._events = 0  # messages applied so far; waiters watch it change
        self._send_error: Optional[int] = None
        self._buf = ctypes.create_string_buffer(65536)
        self._generation = -1

    @classmethod
    def connect_to(cls, host: str, port: int, sock_type: int = SockType.TCP,
                   cert: Optional[Cert] = None, timeout: Optional[float] = 30.0, **opts: OptValue) -> "Socket":
        """Creates a socket and connects it (waits for CONN_CNF)."""
        s = cls(sock_type, cert, **opts)
        s.connect(host, port, timeout)
        return s

    # -- messages -------------------------------------------------------------------------
    def _on_msg(self, m: Message) -> None:
        """The router's sink: runs under ROUTER.lock on whichever thread took the message."""
        self._apply(m)
        self._events += 1

    def _apply(self, m: Message) -> None:
        if m.id == MsgId.CONN_CNF:
            self._conn_result = m.result
            self.connected = m.result == 0
        elif m.id == MsgId.SEND_CNF:
            self._sends_in_flight -= 1
            if m.result != 0 and self._send_error is None:
                self._send_error = m.result
        elif m.id == MsgId.CLOSE_IND:
            self.eof = True
            self.close_result = m.result
        elif m.id == MsgId.CLOSE_CNF:
            self._closed = True
            self.connected = False
        # RECV_IND is only a hint: recv() always asks sock_recv first.

    def _wait_until(self, done: Callable[[], bool], deadline: Optional[float], op: str) -> None:
        """Waits until ``done()`` holds, whichever thread applies the message that makes it
        so (raises SocketTimeoutError at the deadline)."""
        self._require_id()
        left = None if deadline is None else deadline - time.monotonic()
        if not ROUTER.wait_until(done, left):
            raise SocketTimeoutError(op)

    def _wait_news(self, seen: int, deadline: Optional[float], op: str) -> None:
        """Waits until a message of this socket has been applied since ``_events`` was ``seen``."""
        self._wait_until(lambda: self._events != seen, deadline, op)

    def _require_id(self) -> int:
        if self.id is not None and self._generation != _ffi.generation:
            self.id = None  # sock_shutdown ran: the id is gone (and may belong to another socket)
            self.connected = False
        if self.id is None:
            raise SocketCoreError(Err.EBADID, "socket is not open")
        return self.id

    @staticmethod
    def _deadline(timeout: Optional[float]) -> Optional[float]:
        return None if timeout is None else time.monotonic() + timeout

    # -- API ------------------------------------------------------------------------------
    def connect(self, host: str, port: int, timeout: Optional[float] = 30.0) -> None:
        """Opens the socket and waits for CONN_CNF; on failure the id is destroyed and
        SocketCoreError (e.g. ``Err.ECONNREFUSED``, ``Err.SSL_ECERT``) is raised."""
        if self.id is not None:
            raise SocketCoreError(Err.EISCONN, "connect")
        sid = open_socket(self.type, host, port, self.cert, **self.opts)
        self.id, self._generation = sid, _ffi.generation
        ROUTER.register(sid, self._on_msg)
        deadline = self._deadline(timeout)
        try:
            self._wait_until(lambda: self._conn_result is not None, deadline, f"connect to {host}:{port}")
        except BaseException:
            self._destroy()
            raise
        code = self._conn_result
        if code is not None and code != 0:
            detail = _text_of("sock_tls_error_text", sid) or None
            self._destroy()
            raise SocketCoreError(code, f"connect to {host}:{port}", detail=detail)

    def send(self, data: Buffer, timeout: Optional[float] = 30.0) -> int:
        """Queues ``data`` (copied). Stream sockets: split into pieces as needed; UDP/RAW: one
        datagram. Waits only while the send queue is full. Returns ``len(data)``."""
        sid = self._require_id()
        payload = bytes(data)
        if self._send_error is not None:
            raise SocketCoreError(self._send_error, "an earlier send failed")
        pieces = self._pieces(payload)
        deadline = self._deadline(timeout)
        lib = _ffi.load()
        for piece in pieces:
            while True:
                seen = self._events
                if lib.sock_send(sid, piece, len(piece)) == 1:
                    with ROUTER.lock:
                        self._sends_in_flight += 1
                    break
                err = lib.sock_error(sid)
                if err != Err.ENOBUFS:
                    raise SocketCoreError(err, "sock_send")
                self._wait_news(seen, deadline, "send (queue full)")  # SEND_CNFs free room
        return len(payload)

    def _pieces(self, payload: bytes) -> List[bytes]:
        """``payload`` as sock_send calls: one datagram, or stream pieces no longer than
        STREAM_CHUNK nor the send queue (a longer one is refused with EARG)."""
        if self.type not in (SockType.TCP, SockType.SSL) or not payload:
            return [payload]
        size = STREAM_CHUNK
        queue = self.opts.get("snd_buf_size")
        if isinstance(queue, int) and 0 < queue < size:
            size = queue
        return [payload[i:i + size] for i in range(0, len(payload), size)]

    def flush(self, timeout: Optional[float] = 30.0) -> None:
        """Waits until every accepted send is confirmed; raises the first send error."""
        self._wait_until(lambda: self._sends_in_flight <= 0, self._deadline(timeout), "flush")
        if self._send_error is not None:
            raise SocketCoreError(self._send_error, "send")

    def sendall(self, data: Buffer, timeout: Optional[float] = 30.0) -> None:
        """send() then flush(): returns once the library has handed every byte to the kernel."""
        deadline = self._deadline(timeout)
        self.send(data, timeout)
        self.flush(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def recv(self, bufsize: int = 65536, timeout: Optional[float] = 30.0) -> bytes:
        """Up to ``bufsize`` bytes (one datagram for UDP/RAW, cut to ``bufsize``). Returns b""
        once the peer closed in order and everything was read; raises SocketCoreError for a
        reset (``Err.ERST``) after the buffered bytes."""
        deadline = self._deadline(timeout)
        while True:
            seen = self._events
            got = self._recv_now(bufsize)
            if got is not None:
                return got
            self._wait_news(seen, deadline, "recv")

    def _recv_now(self, bufsize: int) -> Optional[bytes]:
        """What recv returns if it can answer now, or None when it has to wait for data.
        Shared by Socket.recv and AsyncSocket.recv."""
        sid = self._require_id()
        if bufsize <= 0:
            raise SocketCoreError(Err.EARG, "recv bufsize must be > 0")
        if len(self._buf) < bufsize:
            self._buf = ctypes.create_string_buffer(bufsize)
        n = _ffi.load().sock_recv(sid, self._buf, bufsize)
        if n < 0:
            raise SocketCoreError(-n, "sock_recv")
        if n > 0:
            return self._buf.raw[:n]
        if self.eof or self._closed:
            if self.close_result:
                raise SocketCoreError(self.close_result, "connection ended")
            return b""
        return None

    def recv_exactly(self, n: int, timeout: Optional[float] = 30.0) -> bytes:
        """Exactly ``n`` bytes from a stream (raises SocketCoreError ECLSD if it ends first)."""
        deadline = self._deadline(timeout)
        parts, got = [], 0
        while got < n:
            left = None if deadline is None else deadline - time.monotonic()
            chunk = self.recv(min(65536, n - got), left)
            if not chunk:
                raise SocketCoreError(Err.ECLSD, f"stream ended after {got} of {n} bytes")
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def setopt(self, level: int, optname: int, value: int) -> None:
        """sock_setopt with the original (lwIP) numbers, e.g. (SOL_SOCKET, SO_KEEPALIVE, 1)."""
        sid = self._require_id()
        lib = _ffi.load()
        if lib.sock_setopt(sid, _int(level, "level"), _int(optname, "optname"), _int(value, "value")) != 0:
            raise SocketCoreError(lib.sock_error(sid), "sock_setopt")

    def peer_addr(self) -> str:
        """sock_peer_addr: the peer's address as "host:port" ("[v6]:port") while connected."""
        return _text_of("sock_peer_addr", self._require_id(), required=True)

    def local_addr(self) -> str:
        """sock_local_addr: this socket's own address as "host:port" while it is open."""
        return _text_of("sock_local_addr", self._require_id(), required=True)

    def tls_info(self) -> str:
        """sock_tls_info: the negotiated TLS version and cipher suite, e.g.
        "TLSv1_3 TLS13_AES_256_GCM_SHA384" (a connected TLS socket only)."""
        return _text_of("sock_tls_info", self._require_id(), required=True)

    def error(self) -> int:
        """sock_error: the socket's last error code."""
        return int(_ffi.load().sock_error(self._require_id()))

    def stats(self) -> _ffi.SockStats:
        """sock_stats: counters, including UDP datagrams dropped on a full queue."""
        lib = _ffi.load()
        out = _ffi.SockStats()
        check(lib.sock_stats(self._require_id(), ctypes.byref(out)), "sock_stats")
        return out

    def close(self, timeout: Optional[float] = 10.0) -> None:
        """Flushes pending sends, closes (waits for CLOSE_CNF) and frees the id. Idempotent."""
        if self.id is None:
            return
        try:
            if _ffi.load().sock_close(self.id) == 1:
                self._wait_until(lambda: self._closed, self._deadline(timeout), "close")
        finally:
            self._destroy()

    def _destroy(self) -> None:
        if self.id is not None:
            sid, self.id = self.id, None
            if self._generation == _ffi.generation and _ffi._lib is not None:
                ROUTER.unregister(sid)
                _ffi._lib.sock_destroy(sid)
        self.connected = False

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._destroy()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "connected" if self.connected else ("closed" if self.id is None else "open")
        return f"<socketcore.Socket id={self.id} type={getattr(self.type, 'name', self.type)} {state}>"


def create_connection(address: Tuple[str, int], timeout: Optional[float] = 30.0,
                      sock_type: int = SockType.TCP, cert: Optional[Cert] = None, **opts: OptValue) -> Socket:
    """Like ``socket.create_connection``: a connected :class:`Socket`."""
    return Socket.connect_to(address[0], address[1], sock_type, cert, timeout, **opts)
