"""Exceptions: each carries the socketcore error code and the library's sentence for it."""
from __future__ import annotations

from typing import Optional

from .constants import Err


class SocketCoreError(Exception):
    """A socketcore call or message reported an error.

    Attributes: ``code`` (an :class:`Err` when known, else the int), ``text`` (from
    ``sock_strerror``), ``op`` (what was being done), ``detail`` (for a failed TLS connect,
    why, in rustls' words: ``sock_tls_error_text``; else None).
    """

    def __init__(self, code: int, op: str = "", text: Optional[str] = None,
                 detail: Optional[str] = None) -> None:
        code = abs(int(code))
        try:
            self.code: int = Err(code)
        except ValueError:
            self.code = code
        if text is None:
            from . import _ffi

            text = _ffi.strerror_text(code)
        self.text: str = text
        self.op: str = op
        self.detail: Optional[str] = detail
        name = self.code.name if isinstance(self.code, Err) else str(code)
        why = f": {detail}" if detail else ""
        super().__init__(f"{op + ': ' if op else ''}{text}{why} (SOCK_ERR_{name} = {code})")


class SocketTimeoutError(SocketCoreError, TimeoutError):
    """Nothing happened within the timeout the caller gave (code ``Err.ETIMEOUT``)."""

    def __init__(self, op: str = "") -> None:
        super().__init__(Err.ETIMEOUT, op, "timed out waiting for the library's message")


class LibraryNotFoundError(OSError):
    """libsocketcore could not be loaded from any of the places tried."""


def check(code: int, op: str) -> int:
    """Returns ``code`` when it is >= 0, raises :class:`SocketCoreError` for a negated code."""
    if code < 0:
        raise SocketCoreError(-code, op)
    return code
