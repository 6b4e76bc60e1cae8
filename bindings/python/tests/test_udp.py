"""UDP: one send is one datagram, one recv one datagram."""
from __future__ import annotations

import pytest

import socketcore as sc


def test_datagrams_keep_their_boundaries(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["udp"], sc.SockType.UDP, timeout=10) as u:
        sizes = [1, 100, 1472, 8000]
        for i, n in enumerate(sizes):
            d = bytes([65 + i]) * n
            u.send(d)
            assert u.recv(65536, timeout=10) == d
        u.flush()


def test_short_buffer_gets_the_head(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["udp"], sc.SockType.UDP, timeout=10) as u:
        u.send(b"0123456789")
        assert u.recv(4, timeout=10) == b"0123"  # the rest of that datagram is dropped
        u.send(b"next")
        assert u.recv(100, timeout=10) == b"next"


def test_recv_times_out_without_data(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["udp"], sc.SockType.UDP, timeout=10) as u:
        with pytest.raises(sc.SocketTimeoutError) as e:
            u.recv(timeout=0.3)
        assert e.value.code == sc.Err.ETIMEOUT
        assert isinstance(e.value, TimeoutError)


def test_udp_stats(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["udp"], sc.SockType.UDP, timeout=10) as u:
        u.sendall(b"abc")
        u.recv(timeout=10)
        st = u.stats()
        assert st.bytes_sent == 3 and st.bytes_received == 3 and st.datagrams_dropped == 0
