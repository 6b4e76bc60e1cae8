"""Bad input is surfaced as exceptions (SocketCoreError with the library's code, TypeError
for wrong Python types) and never crashes; the raw C calls return their documented codes."""
from __future__ import annotations

import ctypes

import pytest

import socketcore as sc


@pytest.mark.parametrize("host,port", [
    ("127.0.0.1", 0), ("127.0.0.1", 65536), ("127.0.0.1", -1), ("127.0.0.1", 2 ** 40),
    ("", 80), ("a" * 300, 80), ("127.0.0.1\0x", 80),
])
def test_bad_address_or_port(host: str, port: int) -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        sc.Socket.connect_to(host, port, timeout=5)
    assert e.value.code == sc.Err.EARG
    assert e.value.text and str(int(e.value.code)) in str(e.value)


def test_unknown_type() -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        sc.open_socket(9, "127.0.0.1", 80)
    assert e.value.code == sc.Err.EARG


def test_wrong_python_types() -> None:
    with pytest.raises(TypeError):
        sc.Socket.connect_to("127.0.0.1", "80", timeout=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sc.Socket.connect_to(None, 80, timeout=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sc.Socket(sc.SockType.TCP, no_such_option=1).connect("127.0.0.1", 80)


def test_out_of_range_option() -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        sc.Socket.connect_to("127.0.0.1", 80, timeout=5, rcv_buf_size=-5)
    assert e.value.code == sc.Err.EARG


def test_empty_send_and_zero_recv(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        with pytest.raises(sc.SocketCoreError) as e:
            s.send(b"")
        assert e.value.code == sc.Err.EARG
        with pytest.raises(sc.SocketCoreError) as e:
            s.recv(0)
        assert e.value.code == sc.Err.EARG


def test_closed_socket_refuses_calls(servers: dict[str, int]) -> None:
    s = sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10)
    s.close()
    s.close()  # idempotent
    for call in (lambda: s.send(b"x"), lambda: s.recv(), lambda: s.setopt(sc.SOL_SOCKET, sc.SO_KEEPALIVE, 1)):
        with pytest.raises(sc.SocketCoreError) as e:
            call()
        assert e.value.code == sc.Err.EBADID


def test_raw_calls_with_bad_arguments() -> None:
    lib = sc.lib()
    assert lib.sock_send(-1, b"x", 1) == 0 and lib.sock_error(-1) == sc.Err.EBADID
    assert lib.sock_send(123456, b"x", 1) == 0
    assert lib.sock_recv(0, None, 10) in (-sc.Err.EARG, -sc.Err.EBADID)
    assert lib.sock_close(-5) == 0 and lib.sock_destroy(-5) == 0
    assert lib.sock_wait_msg(None, 0) == -sc.Err.EARG
    m = sc.SockMsg()
    assert lib.sock_wait_msg(ctypes.byref(m), -2) == -sc.Err.EARG
    assert lib.sock_conn(0, 80, None, None) == -1
    assert lib.sock_conn_ext(0, 80, None, None, None) == -sc.Err.EARG
    assert lib.sock_conn_opts_init(None) == -sc.Err.EARG
    assert lib.sock_strerror(-10 ** 6)  # never NULL
    assert lib.sock_setopt(-1, sc.SOL_SOCKET, sc.SO_KEEPALIVE, 1) == -1


def test_send_before_connected_is_refused_with_enotconn(closed_port: int) -> None:
    lib = sc.lib()
    sid = sc.open_socket(sc.SockType.TCP, "127.0.0.1", closed_port)
    try:
        r = lib.sock_send(sid, b"early", 5)
        assert r == 0 and lib.sock_error(sid) in (sc.Err.ENOTCONN, sc.Err.ECONNREFUSED)
        m = sc.wait_msg(10)
        assert m is not None and m.id == sc.MsgId.CONN_CNF and m.result == sc.Err.ECONNREFUSED
    finally:
        lib.sock_destroy(sid)
