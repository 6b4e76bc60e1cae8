"""Loading libsocketcore with ctypes: the C structs and every prototype (argtypes/restype).

Where the library comes from, first match wins:
  1. ``$SOCKETCORE_LIB``: a path to libsocketcore.so (or .so.0); nothing else is tried then,
  2. ``$SOCKETCORE_PREFIX/lib`` (an explicit choice of an installed prefix),
  3. the copy inside this package (``_libsocketcore*.so``, which the wheel carries),
  4. the ``libdir`` pkg-config reports for socketcore, then ``sys.prefix/lib``,
     ``/usr/local/lib``, ``/usr/lib`` (installed prefixes),
  5. the system search (``ctypes.util.find_library`` and the dynamic linker's own paths).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import shutil
import subprocess
import sys
import threading
from typing import Callable, List, Optional

from . import _version
from .errors import LibraryNotFoundError

#: The library's major version must be the package's (None: unknown, when run from a bare tree).
SUPPORTED_MAJOR = _version.MAJOR
LIB_NAMES = ("libsocketcore.so.0", "libsocketcore.so")


class SockCert(ctypes.Structure):
    """``sock_cert``: PEM text (NUL-terminated) or NULL for each field."""

    _fields_ = [
        ("hostName", ctypes.c_char_p),
        ("caCert", ctypes.c_char_p),
        ("clientCert", ctypes.c_char_p),
        ("clientKey", ctypes.c_char_p),
    ]


class SockConnOpts(ctypes.Structure):
    """``sock_conn_opts``; set up with ``sock_conn_opts_init`` (it fills ``size``)."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("rcv_buf_size", ctypes.c_int),
        ("snd_buf_size", ctypes.c_int),
        ("connect_timeout_ms", ctypes.c_int),
        ("local_port", ctypes.c_int),
        ("send_cnf_on_ack", ctypes.c_int),
        ("max_sends", ctypes.c_int),
        ("close_timeout_ms", ctypes.c_int),
        ("tls_verify", ctypes.c_int),
        ("alpn", ctypes.c_char_p),
        ("attempt_delay_ms", ctypes.c_int),
    ]


class SockMsg(ctypes.Structure):
    """``sock_msg``."""

    _fields_ = [
        ("id", ctypes.c_int),
        ("socket_index", ctypes.c_int),
        ("result", ctypes.c_int),
        ("recv_len", ctypes.c_int),
        ("send_len", ctypes.c_int),
    ]


class _Repr(ctypes.Structure):
    """Structures whose repr lists their fields."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{f[0]}={getattr(self, f[0])!r}" for f in self._fields_)
        return f"{type(self).__name__}({fields})"


class SockStats(_Repr):
    """``sock_counters``, filled by ``sock_stats``."""

    _fields_ = [
        ("bytes_sent", ctypes.c_uint64),
        ("bytes_received", ctypes.c_uint64),
        ("datagrams_dropped", ctypes.c_uint64),
        ("send_queued", ctypes.c_uint64),
        ("recv_buffered", ctypes.c_uint64),
    ]


class SockGlobalStats(_Repr):
    """``sock_global_counters``, filled by ``sock_global_stats``."""

    _fields_ = [
        ("sockets", ctypes.c_uint64),
        ("messages_pending", ctypes.c_uint64),
        ("messages_high_water", ctypes.c_uint64),
        ("send_queued", ctypes.c_uint64),
        ("recv_buffered", ctypes.c_uint64),
    ]


_c_int, _c_size_t, _c_void_p, _c_char_p = ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p

# name: (restype, argtypes). Every function the package calls is declared here, so no call
# goes through ctypes' default int conversion (which truncates pointers).
PROTOTYPES = {
    "sock_conn": (_c_int, [_c_int, _c_int, _c_char_p, ctypes.POINTER(SockCert)]),
    "sock_conn_ext": (_c_int, [_c_int, _c_int, _c_char_p, ctypes.POINTER(SockCert),
                               ctypes.POINTER(SockConnOpts)]),
    "sock_conn_opts_init": (_c_int, [ctypes.POINTER(SockConnOpts)]),
    "sock_send": (_c_int, [_c_int, _c_void_p, _c_size_t]),
    "sock_recv": (_c_int, [_c_int, _c_void_p, _c_size_t]),
    "sock_close": (_c_int, [_c_int]),
    "sock_destroy": (_c_int, [_c_int]),
    "sock_setopt": (_c_int, [_c_int, _c_int, _c_int, _c_int]),
    "sock_error": (_c_int, [_c_int]),
    "sock_wait_msg": (_c_int, [ctypes.POINTER(SockMsg), _c_int]),
    "sock_msg_fd": (_c_int, []),
    "sock_stats": (_c_int, [_c_int, ctypes.POINTER(SockStats)]),
    "sock_set_max_sockets": (_c_int, [_c_int]),
    "sock_timer_start": (_c_int, [_c_int, _c_int]),
    "sock_timer_stop": (_c_int, [_c_int]),
    "sock_tls_error_text": (_c_int, [_c_int, _c_char_p, _c_size_t]),
    "sock_peer_addr": (_c_int, [_c_int, _c_char_p, _c_size_t]),
    "sock_local_addr": (_c_int, [_c_int, _c_char_p, _c_size_t]),
    "sock_tls_info": (_c_int, [_c_int, _c_char_p, _c_size_t]),
    "sock_global_stats": (_c_int, [ctypes.POINTER(SockGlobalStats)]),
    "sock_strerror": (_c_char_p, [_c_int]),
    "sock_version": (_c_char_p, []),
    "sock_shutdown": (None, []),
}
OPTIONAL = {"sock_stats", "sock_set_max_sockets", "sock_timer_start", "sock_timer_stop",
            "sock_tls_error_text", "sock_peer_addr", "sock_local_addr", "sock_tls_info",
            "sock_global_stats"}

_lock = threading.RLock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None
_shutdown_hooks: List[Callable[[], None]] = []
#: Bumped by every shutdown/unload: ids from an older generation are gone and never destroyed.
generation = 0


def _pkg_config_libdir() -> Optional[str]:
    exe = shutil.which("pkg-config")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--variable=libdir", "socketcore"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def bundled() -> List[str]:
    """The library inside this package (a wheel built by setup.py carries it), if any."""
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(glob.glob(os.path.join(here, "_libsocketcore*.so")))


def candidates() -> List[str]:
    """The paths and names tried, in order."""
    found: List[str] = []
    env = os.environ.get("SOCKETCORE_LIB")
    if env:
        return [env]  # explicit: no fallback that could load a different build
    dirs = []
    if os.environ.get("SOCKETCORE_PREFIX"):
        for name in LIB_NAMES:
            p = os.path.join(os.environ["SOCKETCORE_PREFIX"], "lib", name)
            if os.path.exists(p) and p not in found:
                found.append(p)
    found += bundled()
    pc = _pkg_config_libdir()
    if pc:
        dirs.append(pc)
    dirs += [os.path.join(sys.prefix, "lib"), "/usr/local/lib", "/usr/lib"]
    for d in dirs:
        for name in LIB_NAMES:
            p = os.path.join(d, name)
            if os.path.exists(p) and p not in found:
                found.append(p)
    system = ctypes.util.find_library("socketcore")
    if system:
        found.append(system)
    found += list(LIB_NAMES)  # let the dynamic linker search (LD_LIBRARY_PATH, ld.so.cache)
    return found


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            if name in OPTIONAL:
                continue
            raise LibraryNotFoundError(f"{lib._name} has no {name}: not libsocketcore?") from None
        fn.restype = restype
        fn.argtypes = argtypes


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libsocketcore (once) and returns it with every prototype declared."""
    global _lib, _lib_path
    with _lock:
        if _lib is not None and path in (None, _lib_path):
            return _lib
        if _lib is not None:
            raise RuntimeError(f"libsocketcore is already loaded from {_lib_path}; unload() first")
        errors = []
        for cand in [path] if path else candidates():
            try:
                lib = ctypes.CDLL(cand)
            except OSError as e:
                errors.append(f"{cand}: {e}")
                continue
            _declare(lib)
            version = lib.sock_version().decode()
            if SUPPORTED_MAJOR is not None and int(version.split(".")[0]) != SUPPORTED_MAJOR:
                raise LibraryNotFoundError(
                    f"{cand} is socketcore {version}; this package needs {SUPPORTED_MAJOR}.x")
            _lib, _lib_path = lib, cand
            return lib
        raise LibraryNotFoundError(
            "libsocketcore not found; set SOCKETCORE_LIB=/path/to/libsocketcore.so or "
            "SOCKETCORE_PREFIX to the install prefix. Tried:\n  " + "\n  ".join(errors))


def loaded_path() -> Optional[str]:
    """Where the loaded library came from (None when not loaded)."""
    return _lib_path


def add_shutdown_hook(fn: Callable[[], None]) -> None:
    """``fn`` runs before every sock_shutdown made through this package."""
    with _lock:
        if fn not in _shutdown_hooks:
            _shutdown_hooks.append(fn)


def remove_shutdown_hook(fn: Callable[[], None]) -> None:
    with _lock:
        if fn in _shutdown_hooks:
            _shutdown_hooks.remove(fn)


def _run_hooks() -> None:
    for fn in list(_shutdown_hooks):
        fn()


def shutdown() -> None:
    """``sock_shutdown()``: closes every socket and wakes every waiter; the next call starts afresh."""
    with _lock:
        if _lib is None:
            return
        global generation
        _run_hooks()
        generation += 1
        _lib.sock_shutdown()


def unload() -> None:
    """Shuts the library down and unloads it (``dlclose``); the next use loads it again."""
    global _lib, _lib_path
    with _lock:
        if _lib is None:
            return
        shutdown()
        handle = _lib._handle
        _lib, _lib_path = None, None
        import _ctypes

        _ctypes.dlclose(handle)


def strerror_text(code: int) -> str:
    try:
        lib = load()
    except OSError:
        return f"socketcore error {code}"
    text: bytes = lib.sock_strerror(int(code))
    return text.decode("utf-8", "replace")
