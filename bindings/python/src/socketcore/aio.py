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
from typing import AsyncIterator, Optional

from . import _ffi
from ._router import ROUTER, Message
from .client import Buffer, Cert, Socket, msg_fd, open_socket
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
    """The asyncio twin of :class:`~socketcore.Socket` (same options, same exceptions)."""

    def __init__(self, sock_type: int = SockType.TCP, cert: Optional[Cert] = None, **opts: int) -> None:
        self._s = Socket(sock_type, cert, **opts)  # state and message bookkeeping
        self._queue: "Optional[asyncio.Queue[Message]]" = None

    @classmethod
    async def open(cls, host: str, port: int, sock_type: int = SockType.TCP,
                   cert: Optional[Cert] = None, timeout: Optional[float] = 30.0, **opts: int) -> "AsyncSocket":
        s = cls(sock_type, cert, **opts)
        await s.connect(host, port, timeout)
        return s

    @property
    def id(self) -> Optional[int]:
        return self._s.id

    @property
    def connected(self) -> bool:
        return self._s.connected

    async def _step(self) -> None:
        assert self._queue is not None
        self._s._apply(await self._queue.get())

    async def _until(self, cond, timeout: Optional[float], op: str) -> None:
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
        queue: "asyncio.Queue[Message]" = asyncio.Queue()
        self._queue = queue
        sid = open_socket(s.type, host, port, s.cert, **s.opts)
        s.id, s._generation = sid, _ffi.generation
        ROUTER.register(sid, lambda m: loop.call_soon_threadsafe(queue.put_nowait, m))
        try:
            await self._until(lambda: s._conn_result is not None, timeout, f"connect to {host}:{port}")
        except BaseException:
            s._destroy()
            raise
        if s._conn_result != 0:
            code = s._conn_result
            s._destroy()
            raise SocketCoreError(code, f"connect to {host}:{port}")

    async def send(self, data: Buffer, timeout: Optional[float] = 30.0) -> int:
        """Queues ``data``; waits (without blocking the loop) only while the queue is full."""
        s = self._s
        sid = s._require_id()
        payload = bytes(data)
        if s._send_error is not None:
            raise SocketCoreError(s._send_error, "an earlier send failed")
        from .client import STREAM_CHUNK
        stream = s.type in (SockType.TCP, SockType.SSL)
        pieces = [payload[i:i + STREAM_CHUNK] for i in range(0, len(payload), STREAM_CHUNK)] if stream and payload else [payload]
        lib = _ffi.load()

        async def push() -> None:
            for piece in pieces:
                while lib.sock_send(sid, piece, len(piece)) != 1:
                    err = lib.sock_error(sid)
                    if err != Err.ENOBUFS:
                        raise SocketCoreError(err, "sock_send")
                    await self._step()
                s._sends_in_flight += 1
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

    async def close(self, timeout: Optional[float] = 10.0) -> None:
        s = self._s
        if s.id is None:
            return
        try:
            if s._generation == _ffi.generation and _ffi.load().sock_close(s.id) == 1:
                await self._until(lambda: s._closed, timeout, "close")
        finally:
            s._destroy()

    def setopt(self, level: int, optname: int, value: int) -> None:
        self._s.setopt(level, optname, value)

    async def __aenter__(self) -> "AsyncSocket":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._s).replace("socketcore.Socket", "socketcore.AsyncSocket")


__all__ = ["AsyncSocket", "attach", "detach", "messages"]
_ = MsgId  # re-exported names stay importable from here
