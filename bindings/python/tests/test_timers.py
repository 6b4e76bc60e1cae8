"""Timers through the message loop: timer_start / timer_stop and MsgId.TIMER messages, which
never reach a Socket even when a socket has the same number."""
from __future__ import annotations

import time

import pytest

import socketcore as sc


def test_timer_fires_once_after_its_delay() -> None:
    t0 = time.monotonic()
    sc.timer_start(41, 60)
    m = sc.wait_msg(5)
    assert m is not None and m.id == sc.MsgId.TIMER and m.socket_index == 41
    assert time.monotonic() - t0 >= 0.06
    assert sc.wait_msg(0.2) is None


def test_stop_withdraws_the_timer() -> None:
    sc.timer_start(42, 30)
    assert sc.timer_stop(42) is True
    assert sc.timer_stop(42) is False
    assert sc.wait_msg(0.15) is None


def test_timer_with_a_sockets_number_stays_unclaimed(servers: dict[str, int]) -> None:
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=10) as s:
        assert s.id is not None
        sc.timer_start(s.id, 0)
        s.send(b"x")
        assert s.recv_exactly(1, timeout=10) == b"x"
        m = sc.wait_msg(5)
        assert m is not None and m.id == sc.MsgId.TIMER and m.socket_index == s.id


def test_bad_timer_arguments_raise() -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        sc.timer_start(-1, 10)
    assert e.value.code == sc.Err.EARG
