"""asyncio integration: the library's message descriptor (``sock_msg_fd``) is watched with
``loop.add_reader``; when it is readable the loop thread takes the pending messages with
``sock_wait_msg(&m, 0)`` and hands each to the :class:`AsyncSocket` that owns the id.

    async with await AsyncSocket.open("127.0.0.1", port) as s:
        await s.sendall(b"ping")
        print(await s.recv())
"""
from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import AsyncIterator, Callable, Deque, Dict, Iterable, List, Optional, Tuple

from . import _ffi
from ._router import ROUTER, Message
from .client import Buffer, Cert, OptValue, Socket, _text_of, msg_fd, open_socket
from .constants import Err, MsgId, SockType
from .errors import SocketCoreError, SocketTimeoutError


class _Pump:
    """Watches sock_msg_fd() on one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fd: Optional[int] = None

    def ensure(self) -> None:
        fd = msg_fd()
        if fd != self.fd:
            self.detach()
            self.loop.add_reader(fd, self._readable)
            self.fd = fd
        self._readable()  # messages that came before the reader was added

    def _readable(self) -> None:
        try:
            ROUTER.drain()
        except SocketCoreError:  # shut down underneath us
            self.detach()

    def detach(self) -> None:
        if self.fd is not None:
            try:
                self.loop.remove_reader(self.fd)
            except (RuntimeError, ValueError, OSError):
                pass  # the loop is closed
            self.fd = None


_pumps: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pump]" = weakref.WeakKeyDictionary()


def _detach_all() -> None:
    for pump in list(_pumps.values()):
        pump.detach()


_ffi.add_shutdown_hook(_detach_all)


def attach(loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
    """Starts routing messages on ``loop`` (the running loop by default). Idempotent; the
    AsyncSocket methods call it themselves."""
    loop = loop or asyncio.get_running_loop()
    pump = _pumps.get(loop)
    if pump is None:
        pump = _pumps[loop] = _Pump(loop)
    pump.ensure()


def detach(loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
    """Stops watching the descriptor on ``loop``."""
    pump = _pumps.pop(loop or asyncio.get_running_loop(), None)
    if pump:
        pump.detach()


async def messages(timeout: Optional[float] = None) -> AsyncIterator[Message]:
    """``async for m in messages():`` messages for ids no socket object owns; ends when none
    arrives within ``timeout`` seconds (None: never)."""
    loop = asyncio.get_running_loop()
    attach(loop)
    while True:
        m = ROUTER.pop_unclaimed()
        if m is not None:
            yield m
            continue
        event = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(event.set)

        ROUTER.add_listener(wake)
        try:
            m = ROUTER.pop_unclaimed()
            if m is None:
                try:
                    await asyncio.wait_for(event.wait(), timeout)
                except asyncio.TimeoutError:
                    return
        finally:
            ROUTER.remove_listener(wake)
        if m is not None:
            yield m


class AsyncSocket:
    """The asyncio twin of :class:`~socketcore.Socket` (same options, same exceptions).

    Messages are applied to the socket's state on the loop thread as they arrive; every
    coroutine waiting on the socket (say a reader in :meth:`recv` and a writer in
    :meth:`flush`) then re-checks its own condition, so concurrent calls never steal each
    other's wake-ups."""

    def __init__(self, sock_type: int = SockType.TCP, cert: Optional[Cert] = None, **opts: OptValue) -> None:
        self._s = Socket(sock_type, cert, **opts)  # state and message bookkeeping
        self._waiters: "List[asyncio.Future[None]]" = []
        self._listeners: List[Callable[[], None]] = []  # run after each message is applied

    @classmethod
    async def open(cls, host: str, port: int, sock_type: int = SockType.TCP,
                   cert: Optional[Cert] = None, timeout: Optional[float] = 30.0, **opts: OptValue) -> "AsyncSocket":
        s = cls(sock_type, cert, **opts)
        await s.connect(host, port, timeout)
        return s

    @property
    def id(self) -> Optional[int]:
        return self._s.id

    @property
    def type(self) -> int:
        return self._s.type

    @property
    def connected(self) -> bool:
        return self._s.connected

    @property
    def eof(self) -> bool:
        """True once the peer ended the stream (CLOSE_IND came)."""
        return self._s.eof

    def _deliver(self, m: Message) -> None:
        """On the loop thread: applies ``m`` and wakes every waiter."""
        if self._s.id is None or m.socket_index != self._s.id:
            return  # destroyed meanwhile (the id may be reused)
        self._s._apply(m)
        self._s._events += 1
        waiters, self._waiters = self._waiters, []
        for f in waiters:
            if not f.done():
                f.set_result(None)
        for fn in list(self._listeners):
            fn()

    async def _step(self) -> None:
        """Waits until the next message of this socket has been applied."""
        self._s._require_id()
        f: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        self._waiters.append(f)
        await f

    async def _until(self, cond: Callable[[], bool], timeout: Optional[float], op: str) -> None:
        async def loop() -> None:
            while not cond():
                await self._step()
        try:
            await asyncio.wait_for(loop(), timeout)
        except asyncio.TimeoutError:
            raise SocketTimeoutError(op) from None

    async def connect(self, host: str, port: int, timeout: Optional[float] = 30.0) -> None:
        s = self._s
        if s.id is not None:
            raise SocketCoreError(Err.EISCONN, "connect")
        loop = asyncio.get_running_loop()
        attach(loop)
        sid = open_socket(s.type, host, port, s.cert, **s.opts)
        s.id, s._generation = sid, _ffi.generation

        def sink(m: Message) -> None:
            loop.call_soon_threadsafe(self._deliver, m)
        ROUTER.register(sid, sink)
        try:
            await self._until(lambda: s._conn_result is not None, timeout, f"connect to {host}:{port}")
        except BaseException:
            s._destroy()
            raise
        code = s._conn_result
        if code is not None and code != 0:
            detail = _text_of("sock_tls_error_text", sid) or None
            s._destroy()
            raise SocketCoreError(code, f"connect to {host}:{port}", detail=detail)

    def _try_send(self, piece: bytes) -> bool:
        """One sock_send: True if queued, False if the send queue is full (ENOBUFS)."""
        s = self._s
        sid = s._require_id()
        if _ffi.load().sock_send(sid, piece, len(piece)) == 1:
            s._sends_in_flight += 1
            return True
        err = _ffi.load().sock_error(sid)
        if err != Err.ENOBUFS:
            raise SocketCoreError(err, "sock_send")
        return False

    def _pieces(self, payload: bytes) -> List[bytes]:
        return self._s._pieces(payload)

    async def send(self, data: Buffer, timeout: Optional[float] = 30.0) -> int:
        """Queues ``data``; waits (without blocking the loop) only while the queue is full."""
        s = self._s
        s._require_id()
        payload = bytes(data)
        if s._send_error is not None:
            raise SocketCoreError(s._send_error, "an earlier send failed")
        pieces = self._pieces(payload)

        async def push() -> None:
            for piece in pieces:
                while not self._try_send(piece):
                    await self._step()  # a SEND_CNF frees room
        try:
            await asyncio.wait_for(push(), timeout)
        except asyncio.TimeoutError:
            raise SocketTimeoutError("send (queue full)") from None
        return len(payload)

    async def flush(self, timeout: Optional[float] = 30.0) -> None:
        await self._until(lambda: self._s._sends_in_flight <= 0, timeout, "flush")
        if self._s._send_error is not None:
            raise SocketCoreError(self._s._send_error, "send")

    async def sendall(self, data: Buffer, timeout: Optional[float] = 30.0) -> None:
        await self.send(data, timeout)
        await self.flush(timeout)

    async def recv(self, bufsize: int = 65536, timeout: Optional[float] = 30.0) -> bytes:
        """As Socket.recv: bytes, b"" at an orderly end, SocketCoreError for a reset."""
        s = self._s

        async def read() -> bytes:
            while True:
                got = s._recv_now(bufsize)
                if got is not None:
                    return got
                await self._step()
        try:
            return await asyncio.wait_for(read(), timeout)
        except asyncio.TimeoutError:
            raise SocketTimeoutError("recv") from None

    async def recv_exactly(self, n: int, timeout: Optional[float] = 30.0) -> bytes:
        """Exactly ``n`` bytes from a stream (raises SocketCoreError ECLSD if it ends first);
        ``timeout`` covers the whole call."""
        async def read() -> bytes:
            parts: List[bytes] = []
            got = 0
            while got < n:
                chunk = await self.recv(min(65536, n - got), None)
                if not chunk:
                    raise SocketCoreError(Err.ECLSD, f"stream ended after {got} of {n} bytes")
                parts.append(chunk)
                got += len(chunk)
            return b"".join(parts)
        try:
            return await asyncio.wait_for(read(), timeout)
        except asyncio.TimeoutError:
            raise SocketTimeoutError("recv_exactly") from None

    async def close(self, timeout: Optional[float] = 10.0) -> None:
        s = self._s
        if s.id is None:
            return
        try:
            if s._generation == _ffi.generation and _ffi.load().sock_close(s.id) == 1:
                await self._until(lambda: s._closed, timeout, "close")
        finally:
            s._destroy()
            waiters, self._waiters = self._waiters, []
            for f in waiters:  # others waiting on this socket see it gone (EBADID)
                if not f.done():
                    f.set_result(None)

    def setopt(self, level: int, optname: int, value: int) -> None:
        self._s.setopt(level, optname, value)

    def stats(self) -> _ffi.SockStats:
        """sock_stats, as :meth:`Socket.stats`."""
        return self._s.stats()

    def error(self) -> int:
        """sock_error: the socket's last error code."""
        return self._s.error()

    def peer_addr(self) -> str:
        """The peer's address, "host:port" (as :meth:`Socket.peer_addr`)."""
        return self._s.peer_addr()

    def local_addr(self) -> str:
        """This socket's own address, "host:port" (as :meth:`Socket.local_addr`)."""
        return self._s.local_addr()

    def tls_info(self) -> str:
        """The negotiated TLS version and cipher suite (as :meth:`Socket.tls_info`)."""
        return self._s.tls_info()

    async def __aenter__(self) -> "AsyncSocket":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._s).replace("socketcore.Socket", "socketcore.AsyncSocket")


# -- asyncio streams ---------------------------------------------------------------------------
#: StreamReader's default buffer limit, as asyncio's (readline/readuntil give up beyond it).
DEFAULT_LIMIT = 2 ** 16


def _split_addr(text: str) -> Tuple[str, int]:
    """ "1.2.3.4:80" -> ("1.2.3.4", 80); "[::1]:80" -> ("::1", 80)."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


class StreamReader:
    """The reading half from :func:`open_connection`, shaped like :class:`asyncio.StreamReader`.

    Reads pull from the library's receive buffer only when this reader's own buffer cannot
    answer. A reset raises :class:`SocketCoreError` (``Err.ERST``) once the bytes received
    before it were read. None of the methods has a timeout: use ``asyncio.wait_for``."""

    def __init__(self, sock: AsyncSocket, limit: int = DEFAULT_LIMIT) -> None:
        if limit <= 0:
            raise ValueError("limit must be > 0")
        self._sock = sock
        self._limit = limit
        self._buffer = bytearray()
        self._eof = False

    async def _fill(self) -> None:
        """Appends whatever comes next; sets EOF at the end of the stream (or when closed)."""
        if self._eof:
            return
        if self._sock.id is None:
            self._eof = True
            return
        try:
            data = await self._sock.recv(max(self._limit, 65536), None)
        except SocketCoreError as e:
            if e.code == Err.EBADID and self._sock.id is None:  # our writer closed it
                data = b""
            else:
                raise
        if data:
            self._buffer += data
        else:
            self._eof = True

    def _take(self, n: int) -> bytes:
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (at least one unless at EOF); ``n < 0``: everything until EOF."""
        if n == 0:
            return b""
        if n < 0:
            while not self._eof:
                await self._fill()
            return self._take(len(self._buffer))
        if not self._buffer:
            await self._fill()
        return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; :class:`asyncio.IncompleteReadError` (with the bytes read as
        ``partial``) if the stream ends first."""
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        while len(self._buffer) < n:
            if self._eof:
                partial = self._take(len(self._buffer))
                raise asyncio.IncompleteReadError(partial, n)
            await self._fill()
        return self._take(n)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Data up to and including ``separator``. At EOF without it:
        :class:`asyncio.IncompleteReadError` (``partial`` is the rest; the buffer is emptied).
        Beyond the limit without it: :class:`asyncio.LimitOverrunError` (data kept)."""
        seplen = len(separator)
        if seplen == 0:
            raise ValueError("Separator should be at least one-byte string")
        start = 0
        while True:
            found = self._buffer.find(separator, start)
            if found != -1:
                if found > self._limit:
                    raise asyncio.LimitOverrunError(
                        "Separator is found, but chunk is longer than limit", found)
                return self._take(found + seplen)
            start = max(0, len(self._buffer) + 1 - seplen)
            if start > self._limit:
                raise asyncio.LimitOverrunError(
                    "Separator is not found, and chunk exceed the limit", start)
            if self._eof:
                partial = self._take(len(self._buffer))
                raise asyncio.IncompleteReadError(partial, None)
            await self._fill()

    async def readline(self) -> bytes:
        """One line including b"\\n"; at EOF the rest (b"" when none). Over the limit:
        ValueError (the line is dropped), as asyncio."""
        try:
            return await self.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            return e.partial
        except asyncio.LimitOverrunError as e:
            if self._buffer.startswith(b"\n", e.consumed):
                del self._buffer[:e.consumed + 1]
            else:
                self._buffer.clear()
            raise ValueError(e.args[0]) from None

    def at_eof(self) -> bool:
        """True when the stream ended and the buffer is empty."""
        return self._eof and not self._buffer

    def __aiter__(self) -> "StreamReader":
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if line == b"":
            raise StopAsyncIteration
        return line

    def __repr__(self) -> str:
        info = [f"id={self._sock.id}", f"{len(self._buffer)} bytes buffered"]
        if self._eof:
            info.append("eof")
        if self._limit != DEFAULT_LIMIT:
            info.append(f"limit={self._limit}")
        return f"<socketcore.aio.StreamReader {' '.join(info)}>"


class StreamWriter:
    """The writing half from :func:`open_connection`, shaped like :class:`asyncio.StreamWriter`.

    :meth:`write` never blocks: it hands what the library's send queue takes (``sock_send``)
    and keeps the rest, which goes out as SEND_CNFs free room. :meth:`drain` waits until all
    of it was accepted and confirmed (every SEND_CNF came) and raises the first send error."""

    def __init__(self, sock: AsyncSocket, reader: StreamReader) -> None:
        self._sock = sock
        self._reader = reader
        self._pending: Deque[bytes] = deque()  # pieces the library has not taken yet
        self._pending_bytes = 0
        self._error: Optional[BaseException] = None
        self._closing = False
        self._close_task: "Optional[asyncio.Task[None]]" = None
        self._extra: Dict[str, object] = {"socket_id": sock.id, "socket": sock}
        for key, fn in (("peername", sock.peer_addr), ("sockname", sock.local_addr)):
            try:
                self._extra[key] = _split_addr(fn())
            except (SocketCoreError, ValueError):
                pass
        if sock.type == SockType.SSL:
            try:
                self._extra["tls"] = sock.tls_info()
            except SocketCoreError:
                pass
        sock._listeners.append(self._push)

    @property
    def socket(self) -> AsyncSocket:
        """The underlying :class:`AsyncSocket`."""
        return self._sock

    def _push(self) -> None:
        """Hands pending pieces to the library until it refuses (ENOBUFS) or none are left."""
        while self._pending and self._error is None and self._sock.id is not None:
            try:
                if not self._sock._try_send(self._pending[0]):
                    return
            except SocketCoreError as e:
                self._error = e
                return
            self._pending_bytes -= len(self._pending.popleft())

    def write(self, data: Buffer) -> None:
        """Queues ``data`` (copied) to be sent; never waits. Follow with :meth:`drain`."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
        if self._closing:
            raise SocketCoreError(Err.ECLSD, "write after close()")
        if self._error is not None:
            raise self._error
        payload = bytes(data)
        if not payload:
            return
        pieces = self._sock._pieces(payload)
        self._pending.extend(pieces)
        self._pending_bytes += len(payload)
        self._push()

    def writelines(self, data: Iterable[Buffer]) -> None:
        for chunk in data:
            self.write(chunk)

    def can_write_eof(self) -> bool:
        """False: the library closes both directions at once (no half-close)."""
        return False

    def _send_error(self) -> Optional[BaseException]:
        if self._error is not None:
            return self._error
        code = self._sock._s._send_error
        if code is not None:
            self._error = SocketCoreError(code, "send")
        return self._error

    async def drain(self) -> None:
        """Waits until everything written was taken by the library and confirmed (SEND_CNF);
        raises the first send error."""
        s = self._sock._s
        while True:
            err = self._send_error()
            if err is not None:
                raise err
            if not self._pending and s._sends_in_flight <= 0:
                return
            if self._sock.id is None:
                raise SocketCoreError(Err.ECLSD, "drain: the socket is closed")
            self._push()
            if self._pending or s._sends_in_flight > 0:
                await self._sock._step()

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Starts closing: what was written still goes out (sock_close flushes), then the
        socket is freed. Await :meth:`wait_closed` for the end."""
        if self._closing:
            return
        self._closing = True
        self._close_task = asyncio.get_running_loop().create_task(self._close())

    async def _close(self) -> None:
        try:
            if self._pending and self._sock.id is not None and self._error is None:
                try:
                    await self.drain()
                except SocketCoreError:
                    pass  # the socket is closed anyway; the error is reported by wait_closed
        finally:
            if self._push in self._sock._listeners:
                self._sock._listeners.remove(self._push)
            await self._sock.close()
            self._reader._eof = self._reader._eof or self._sock.id is None

    async def wait_closed(self) -> None:
        """Waits until :meth:`close` finished (the socket's CLOSE_CNF came and its id is freed)."""
        if self._close_task is None:
            raise RuntimeError("wait_closed() before close()")
        await asyncio.shield(self._close_task)

    def get_extra_info(self, name: str, default: object = None) -> object:
        """``peername``/``sockname``: ``(host, port)``; ``socket_id``: the library's id;
        ``socket``: the :class:`AsyncSocket`; ``tls``: the TLS version and cipher suite
        (TLS sockets only). Taken at connect time, so still there after close."""
        return self._extra.get(name, default)

    async def __aenter__(self) -> "StreamWriter":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        info = [f"id={self._extra['socket_id']}",
                getattr(self._sock.type, "name", str(self._sock.type))]
        peer = self._extra.get("peername")
        if isinstance(peer, tuple):
            info.append(f"peer={peer[0]}:{peer[1]}")
        if self._pending_bytes:
            info.append(f"{self._pending_bytes} bytes pending")
        if self._closing:
            info.append("closed" if self._sock.id is None else "closing")
        return f"<socketcore.aio.StreamWriter {' '.join(info)}>"


async def open_connection(host: str, port: int, *, sock_type: Optional[int] = None,
                          cert: Optional[Cert] = None, timeout: Optional[float] = 30.0,
                          limit: int = DEFAULT_LIMIT, **opts: OptValue) -> Tuple[StreamReader, StreamWriter]:
    """Connects (TCP, or TLS when ``cert`` is given or ``sock_type`` is ``SockType.SSL``) and
    returns ``(reader, writer)`` as :func:`asyncio.open_connection` does. ``timeout`` bounds
    the connect; ``opts`` are :class:`AsyncSocket`'s (``tls_verify``, ``alpn``, ...)."""
    if sock_type is None:
        sock_type = SockType.SSL if cert is not None else SockType.TCP
    if sock_type not in (SockType.TCP, SockType.SSL):
        raise ValueError("open_connection needs a stream socket (SockType.TCP or SockType.SSL)")
    sock = await AsyncSocket.open(host, port, sock_type, cert, timeout, **opts)
    try:
        reader = StreamReader(sock, limit)
        writer = StreamWriter(sock, reader)
    except BaseException:
        await sock.close()
        raise
    return reader, writer


__all__ = ["AsyncSocket", "DEFAULT_LIMIT", "StreamReader", "StreamWriter", "attach", "detach", "messages",
           "open_connection"]
_ = MsgId  # re-exported names stay importable from here
