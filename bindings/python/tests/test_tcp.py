"""TCP against the local echo servers: sync Socket, threads, raw ids and messages()."""
from __future__ import annotations

import os
import threading
import time

import pytest

import socketcore as sc


def test_echo(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        assert s.connected and s.id is not None and s.id >= 0
        assert s.send(b"hello") == 5
        assert s.recv_exactly(5, timeout=10) == b"hello"
    assert s.id is None and not s.connected


def test_large_transfer_in_order(servers: dict[str, int]) -> None:
    data = os.urandom(2 * 1024 * 1024)
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        got = bytearray()

        def reader() -> None:
            while len(got) < len(data):
                got.extend(s.recv(65536, timeout=20))

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data, timeout=30)
        t.join(30)
        assert bytes(got) == data
        st = s.stats()
        assert st.bytes_sent == len(data) and st.bytes_received == len(data)


def test_two_threads_waiting_on_one_socket_both_progress(servers: dict[str, int]) -> None:
    # A reader waits in recv while the writer waits in sendall on the same socket. Whichever
    # thread takes a message from the library, the other must still see what it waits for
    # (an earlier binding let the reader swallow the writer's SEND_CNF, or the writer the
    # reader's RECV_IND, and the other slept until its timeout).
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        for i in range(40):
            payload = bytes([i]) * (64 + i)
            got = []
            t = threading.Thread(target=lambda: got.append(s.recv_exactly(len(payload), timeout=10)))
            t.start()
            s.sendall(payload, timeout=10)
            t.join(15)
            assert not t.is_alive() and got == [payload], f"round {i}"


def test_small_receive_buffer_holds_the_peer(servers: dict[str, int]) -> None:
    data = os.urandom(512 * 1024)
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10, rcv_buf_size=4096) as s:
        s.sendall(data, timeout=30)  # the echo comes back through a 4 KiB window: nothing lost
        assert s.recv_exactly(len(data), timeout=30) == data


def test_threads_each_get_their_own_messages(servers: dict[str, int]) -> None:
    errors = []

    def client(n: int) -> None:
        try:
            payload = bytes([n]) * (10000 + n)
            with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
                for _ in range(5):
                    s.sendall(payload)
                    assert s.recv_exactly(len(payload), timeout=10) == payload
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_refused(closed_port: int) -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        sc.Socket.connect_to("127.0.0.1", closed_port, timeout=10)
    assert e.value.code == sc.Err.ECONNREFUSED
    assert e.value.text == sc.strerror(sc.Err.ECONNREFUSED)
    assert "refused" in str(e.value)


def test_name_resolution_localhost(servers: dict[str, int]) -> None:
    with sc.create_connection(("localhost", servers["tcp"]), timeout=10) as s:
        s.sendall(b"by name")
        assert s.recv_exactly(7) == b"by name"


def test_peer_close_after_data(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["whoami"], timeout=10) as s:
        text = b""
        while True:
            chunk = s.recv(timeout=10)
            if not chunk:
                break
            text += chunk
        assert s.eof and s.close_result == 0
        host, port = text.decode().split()
        assert host == "127.0.0.1" and int(port) > 0


def test_local_port_option(servers: dict[str, int]) -> None:
    import random
    for _ in range(5):
        lp = random.randint(20000, 29999)
        try:
            s = sc.Socket.connect_to("127.0.0.1", servers["whoami"], timeout=10, local_port=lp)
        except sc.SocketCoreError as e:
            if e.code == sc.Err.EADDRINUSE:
                continue
            raise
        with s:
            assert s.recv(timeout=10).decode().split() == ["127.0.0.1", str(lp)]
        return
    pytest.skip("no free local port found")


def test_setopt(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        s.setopt(sc.SOL_SOCKET, sc.SO_KEEPALIVE, 1)
        s.setopt(sc.IPPROTO_TCP, sc.TCP_KEEPIDLE, 30)
        s.setopt(sc.IPPROTO_TCP, sc.TCP_KEEPINTVL, 60)
        s.setopt(sc.IPPROTO_TCP, sc.TCP_KEEPCNT, 3)
        s.setopt(sc.IPPROTO_TCP, sc.TCP_NODELAY, 1)
        s.setopt(sc.IPPROTO_TCP, sc.TCP_USER_TIMEOUT, 5000)
        with pytest.raises(sc.SocketCoreError) as e:
            s.setopt(sc.SOL_SOCKET, 99, 1)
        assert e.value.code == sc.Err.EARG
        with pytest.raises(sc.SocketCoreError) as e:
            s.setopt(sc.IPPROTO_TCP, sc.TCP_KEEPCNT, 100000)
        assert e.value.code == sc.Err.EARG


def test_raw_ids_and_message_iterator(servers: dict[str, int]) -> None:
    """The C-level flow: an id, then CONN_CNF, SEND_CNF, RECV_IND, CLOSE_CNF as messages."""
    lib = sc.lib()
    sid = sc.open_socket(sc.SockType.TCP, "127.0.0.1", servers["tcp"])
    seen, got = [], b""
    buf = bytearray(64)
    import ctypes
    cbuf = (ctypes.c_char * 64).from_buffer(buf)
    try:
        for m in sc.messages(timeout=10):
            assert m.socket_index == sid
            seen.append(m.id)
            if m.id == sc.MsgId.CONN_CNF:
                assert m.result == 0
                assert lib.sock_send(sid, b"raw", 3) == 1
            elif m.id == sc.MsgId.SEND_CNF:
                assert (m.result, m.send_len) == (0, 3)
            elif m.id == sc.MsgId.RECV_IND:
                n = lib.sock_recv(sid, cbuf, 64)
                got += bytes(buf[:n])
                if got == b"raw":
                    assert lib.sock_close(sid) == 1
            elif m.id == sc.MsgId.CLOSE_CNF:
                break
    finally:
        lib.sock_destroy(sid)
    assert got == b"raw"
    assert seen[0] == sc.MsgId.CONN_CNF and seen[-1] == sc.MsgId.CLOSE_CNF
    assert sc.MsgId.SEND_CNF in seen and sc.MsgId.RECV_IND in seen


def test_peer_and_local_addresses(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["whoami"], timeout=10) as s:
        assert s.peer_addr() == f"127.0.0.1:{servers['whoami']}"
        local = s.local_addr()
        host, port = s.recv_exactly(len(local) + 1, timeout=10).decode().split()
        assert local == f"{host}:{port}"  # what the server saw as our address


def test_global_stats_count_sockets_and_unread_bytes(servers: dict[str, int]) -> None:
    before = sc.global_stats()
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        s.sendall(b"12345")
        deadline = time.monotonic() + 10
        while sc.global_stats().recv_buffered < before.recv_buffered + 5:
            assert time.monotonic() < deadline, "the echo never arrived"
            time.sleep(0.01)
        now = sc.global_stats()
        assert now.sockets == before.sockets + 1
        assert now.messages_high_water >= 1
        assert s.recv_exactly(5, timeout=10) == b"12345"
        assert sc.global_stats().recv_buffered == before.recv_buffered
    assert sc.global_stats().sockets == before.sockets
