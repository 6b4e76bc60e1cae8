"""Loading: prototypes declared, lookup order, version, shutdown and a load/unload cycle."""
from __future__ import annotations

import pathlib

import ctypes
import os
import subprocess
import sys
import threading
import time

import pytest

import socketcore as sc
from socketcore import _ffi

SRC = os.path.join(os.path.dirname(__file__), "..", "src")


def test_every_function_has_argtypes_and_restype() -> None:
    lib = sc.lib()
    for name, (restype, argtypes) in _ffi.PROTOTYPES.items():
        if not hasattr(lib, name) and name in _ffi.OPTIONAL:
            continue
        fn = getattr(lib, name)
        assert fn.argtypes == argtypes, name
        assert fn.restype == restype, name
    assert lib.sock_strerror.restype is ctypes.c_char_p  # a pointer, never an int


def test_version_and_strerror() -> None:
    v = sc.version()
    assert v.count(".") == 2 and v.split(".")[0] == "0"
    assert "refused" in sc.strerror(sc.Err.ECONNREFUSED)
    assert sc.strerror(-sc.Err.ECONNREFUSED) == sc.strerror(sc.Err.ECONNREFUSED)
    assert sc.strerror(9999)  # unknown codes still get a sentence


def _run(code: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC, **env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_socketcore_lib_env_wins_and_missing_library_is_a_clear_error() -> None:
    r = _run("import socketcore as sc\ntry:\n    sc.version()\nexcept sc.LibraryNotFoundError as e:\n"
             "    print('NOTFOUND', e)\n", {"SOCKETCORE_LIB": "/nonexistent/libsocketcore.so"})
    assert "NOTFOUND" in r.stdout and "SOCKETCORE_LIB" in r.stdout, r.stdout + r.stderr


def test_prefix_lookup() -> None:
    # SOCKETCORE_TEST_PREFIX: an installed prefix to look up (scripts/test-bindings.sh passes
    # one); else the prefix the loaded library sits in, if it sits in one.
    prefix = os.environ.get("SOCKETCORE_TEST_PREFIX")
    if not prefix:
        path = sc.loaded_path()
        assert path
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(path)))
    if not os.path.exists(os.path.join(prefix, "lib", "libsocketcore.so.0")):
        pytest.skip("no installed prefix to look the library up in")
    env = {"SOCKETCORE_PREFIX": prefix}
    r = _run("import os; os.environ.pop('SOCKETCORE_LIB', None)\nimport socketcore as sc\n"
             "sc.version(); print(sc.loaded_path())", env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(os.path.join(prefix, "lib")), r.stdout


def test_the_copy_inside_the_package_comes_first(tmp_path: pathlib.Path) -> None:
    inside = _ffi.bundled()
    if not inside:
        pytest.skip("this copy of the package carries no library (not installed from the wheel)")
    # The installed package as a user runs it: no SOCKETCORE_* variables, not from the sources.
    env = {k: v for k, v in os.environ.items()
           if k not in ("SOCKETCORE_LIB", "SOCKETCORE_PREFIX", "PYTHONPATH")}
    code = ("import socketcore as sc\nprint(sc.version(), sc.__version__, sc.loaded_path(), "
            "sc.__file__)")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    version, package_version, loaded, module = r.stdout.split()
    assert os.path.dirname(module) == os.path.dirname(inside[0]), "another copy was imported"
    assert loaded == inside[0]
    assert version == package_version == sc.__version__  # one version: Cargo.toml's


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_shutdown_wakes_a_waiting_thread(servers: dict[str, int]) -> None:
    sc.lib()
    errors = []

    def waiter() -> None:
        try:
            sc.wait_msg(None)
        except sc.SocketCoreError as e:
            errors.append(e.code)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    sc.shutdown()
    t.join(10)
    assert not t.is_alive()
    assert errors == [sc.Err.ECLSD]
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:  # starts afresh
        s.sendall(b"again")
        assert s.recv_exactly(5) == b"again"


def test_socket_from_before_shutdown_is_gone(servers: dict[str, int]) -> None:
    s = sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10)
    sc.shutdown()
    with pytest.raises(sc.SocketCoreError) as e:
        s.send(b"x")
    assert e.value.code == sc.Err.EBADID
    s.close()  # harmless


def test_load_unload_cycle(servers: dict[str, int]) -> None:
    path = sc.loaded_path() or None
    sc.lib()
    for i in range(3):
        with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
            s.sendall(b"cycle %d" % i)
            assert s.recv_exactly(7) == b"cycle %d" % i
        sc.unload()  # sock_shutdown, then dlclose
        assert sc.loaded_path() is None
        if i == 0:
            threads, fds = _threads(), _fds()
        else:  # nothing accumulates from one cycle to the next (server threads may lag)
            deadline = time.monotonic() + 5
            while (_threads() > threads or _fds() > fds) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _threads() <= threads
            assert _fds() <= fds
        sc.lib(path)


def test_socketcore_log_writes_connects_and_failures_to_stderr(servers: dict[str, int], closed_port: int, tmp_path: pathlib.Path) -> None:
    # The installed package (not the sources), as in test_the_copy_inside_the_package_comes_first,
    # unless only the sources are at hand: then the library the tests loaded.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SOCKETCORE_LOG"] = "info"
    env.setdefault("SOCKETCORE_LIB", sc.loaded_path() or "")
    code = f"""
import socketcore as sc
with sc.Socket.connect_to("127.0.0.1", {servers["tcp"]}, timeout=10) as s:
    s.sendall(b"x")
try:
    sc.Socket.connect_to("127.0.0.1", {closed_port}, timeout=10)
except sc.SocketCoreError as e:
    print("refused", e.code.name)
"""
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "refused ECONNREFUSED" in r.stdout
    assert f"connected to 127.0.0.1:{servers['tcp']} from 127.0.0.1:" in r.stderr, r.stderr
    assert "socketcore [ERROR] socketcore: socket" in r.stderr and "connect failed" in r.stderr
    assert "socketcore [DEBUG]" not in r.stderr  # nothing below the level asked for
