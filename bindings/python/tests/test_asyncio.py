"""asyncio: sock_msg_fd() is watched with loop.add_reader; the loop never blocks."""
from __future__ import annotations

import asyncio

import pytest

import socketcore as sc
from socketcore import aio


def test_async_echo_and_loop_stays_responsive(servers: dict[str, int]) -> None:
    async def main() -> tuple[int, int | None]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        async with await sc.AsyncSocket.open("127.0.0.1", servers["tcp"], timeout=10) as s:
            await s.sendall(b"x" * 200000)
            got = 0
            while got < 200000:
                got += len(await s.recv(timeout=10))
            before = ticks
            with pytest.raises(sc.SocketTimeoutError):
                await s.recv(timeout=0.5)  # nothing comes: the loop keeps running meanwhile
            during = ticks - before
        t.cancel()
        return during, s.id
    during, sid = asyncio.run(main())
    assert during >= 10 and sid is None


def test_many_async_sockets_at_once(servers: dict[str, int]) -> None:
    async def one(i: int) -> bytes:
        async with sc.AsyncSocket() as s:
            await s.connect("127.0.0.1", servers["tcp"], timeout=10)
            msg = b"client %d" % i
            await s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                got += await s.recv(timeout=10)
            return got

    async def main() -> list[bytes]:
        return await asyncio.gather(*(one(i) for i in range(20)))
    assert asyncio.run(main()) == [b"client %d" % i for i in range(20)]


def test_async_refused_and_timeout(servers: dict[str, int], closed_port: int) -> None:
    async def main() -> None:
        with pytest.raises(sc.SocketCoreError) as e:
            await sc.AsyncSocket.open("127.0.0.1", closed_port, timeout=10)
        assert e.value.code == sc.Err.ECONNREFUSED
        async with await sc.AsyncSocket.open("127.0.0.1", servers["tcp"], timeout=10) as s:
            with pytest.raises(sc.SocketTimeoutError):
                await s.recv(timeout=0.2)
    asyncio.run(main())


def test_async_message_iterator_for_raw_ids(servers: dict[str, int]) -> None:
    async def main() -> list[int]:
        sid = sc.open_socket(sc.SockType.UDP, "127.0.0.1", servers["udp"])
        kinds: list[int] = []
        try:
            async for m in aio.messages(timeout=10):
                assert m.socket_index == sid
                kinds.append(m.id)
                if m.id == sc.MsgId.CONN_CNF:
                    assert sc.lib().sock_send(sid, b"d", 1) == 1
                elif m.id == sc.MsgId.RECV_IND:
                    break
        finally:
            sc.lib().sock_destroy(sid)
            aio.detach()
        return kinds
    kinds = asyncio.run(main())
    assert kinds[0] == sc.MsgId.CONN_CNF and kinds[-1] == sc.MsgId.RECV_IND
