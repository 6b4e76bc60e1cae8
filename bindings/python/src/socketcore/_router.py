"""Routes the library's single message stream to the sockets that own the ids.

The library has one ring for the whole process. Each :class:`~socketcore.Socket` registers its
id here with a sink that applies the socket's messages to its state; the rest stay "unclaimed"
for :func:`messages`. Exactly one thread at a time waits in ``sock_wait_msg`` (the others wait
on a condition) and applies whatever it takes, under the router's lock; then every waiter
re-checks its own condition. So a message taken by one thread wakes the thread that needed it,
even when two threads wait on the same socket. Everything runs on the callers' threads: the
library never calls into Python.
"""
from __future__ import annotations

import ctypes
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional, TypeVar

from . import _ffi
from .constants import MsgId
from .errors import SocketCoreError

#: Longest single wait inside sock_wait_msg, so waiters notice deadlines and shutdown.
PUMP_SLICE_MS = 200


@dataclass(frozen=True)
class Message:
    """One ``sock_msg``: ``id`` is a :class:`MsgId` (or the raw int if unknown)."""

    id: int
    socket_index: int
    result: int
    recv_len: int
    send_len: int

    @classmethod
    def from_c(cls, m: _ffi.SockMsg) -> "Message":
        try:
            mid: int = MsgId(m.id)
        except ValueError:
            mid = m.id
        return cls(mid, m.socket_index, m.result, m.recv_len, m.send_len)


Sink = Callable[[Message], None]
T = TypeVar("T")


class Router:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._sinks: Dict[int, Sink] = {}
        self._unclaimed: Deque[Message] = deque()
        self._pumping = False
        self._listeners: List[Callable[[], None]] = []  # called (under no lock) after any message is routed

    # -- ownership ------------------------------------------------------------------------
    @property
    def lock(self) -> threading.Condition:
        """Held while sinks run: state a sink changes is changed elsewhere only under it."""
        return self._cond

    def register(self, sid: int, sink: Sink) -> None:
        """Messages for ``sid`` go to ``sink``, called with the lock held on the pumping thread."""
        with self._cond:
            self._sinks[sid] = sink
            # messages for this id taken before it was registered
            keep: Deque[Message] = deque()
            for m in self._unclaimed:
                (keep.append(m) if m.socket_index != sid or m.id == MsgId.TIMER
                 else self._deliver(m))
            self._unclaimed = keep

    def unregister(self, sid: int) -> None:
        with self._cond:
            self._sinks.pop(sid, None)

    def add_listener(self, fn: Callable[[], None]) -> None:
        with self._cond:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[], None]) -> None:
        with self._cond:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def reset(self) -> None:
        """Forgets everything (after sock_shutdown every id is gone)."""
        with self._cond:
            self._sinks.clear()
            self._unclaimed.clear()
            self._cond.notify_all()

    # -- routing --------------------------------------------------------------------------
    def _deliver(self, m: Message) -> None:  # with self._cond held
        # A timer's socket_index is its timer id, not a socket's: never a Socket's message.
        sink = None if m.id == MsgId.TIMER else self._sinks.get(m.socket_index)
        if sink is not None:
            sink(m)
            return
        self._unclaimed.append(m)

    def _take_c(self, timeout_ms: int) -> Optional[Message]:
        lib = _ffi.load()
        cm = _ffi.SockMsg()
        r = lib.sock_wait_msg(ctypes.byref(cm), timeout_ms)
        if r < 0:
            raise SocketCoreError(-r, "sock_wait_msg")
        return Message.from_c(cm) if r == 1 else None

    def drain(self) -> int:
        """Takes every pending message without waiting and routes it. Returns the count."""
        n = 0
        while True:
            m = self._take_c(0)
            if m is None:
                break
            with self._cond:
                self._deliver(m)
                self._cond.notify_all()
            n += 1
        if n:
            self._notify_listeners()
        return n

    def _notify_listeners(self) -> None:
        for fn in list(self._listeners):
            fn()

    def _wait(self, take: Callable[[], Optional[T]], timeout: Optional[float]) -> Optional[T]:
        """Pumps (or waits for the pumping thread) until ``take`` returns something."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            with self._cond:
                while True:
                    m = take()
                    if m is not None:
                        return m
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return None
                    if not self._pumping:
                        self._pumping = True
                        break
                    self._cond.wait(PUMP_SLICE_MS / 1000 if left is None else min(left, PUMP_SLICE_MS / 1000))
            msg = None
            try:
                ms = PUMP_SLICE_MS if left is None else max(0, min(PUMP_SLICE_MS, int(left * 1000)))
                msg = self._take_c(ms)
            finally:
                with self._cond:
                    self._pumping = False
                    if msg is not None:
                        self._deliver(msg)
                    self._cond.notify_all()
            if msg is not None:
                self._notify_listeners()

    def wait_until(self, done: Callable[[], bool], timeout: Optional[float]) -> bool:
        """Pumps until ``done()`` (checked under the lock) holds; False on timeout."""
        return self._wait(lambda: True if done() else None, timeout) is not None

    def wait_unclaimed(self, timeout: Optional[float]) -> Optional[Message]:
        """The next message for an id no Socket owns, or None on timeout."""
        def take() -> Optional[Message]:
            return self._unclaimed.popleft() if self._unclaimed else None
        return self._wait(take, timeout)

    def pop_unclaimed(self) -> Optional[Message]:
        with self._cond:
            return self._unclaimed.popleft() if self._unclaimed else None


ROUTER = Router()
_ffi.add_shutdown_hook(ROUTER.reset)
