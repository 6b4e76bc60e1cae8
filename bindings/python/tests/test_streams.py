"""socketcore.aio.open_connection: asyncio-streams-shaped reader and writer over AsyncSocket,
plus AsyncSocket.recv_exactly/stats and the reprs. Local servers only (see conftest)."""
from __future__ import annotations

import asyncio
import os
from typing import Callable, Dict, Tuple

import pytest

import socketcore as sc
from socketcore import aio

Ports = Dict[str, int]
WAIT = 20.0  # bound for every await on the network: a hang fails instead of blocking the run


def run(coro: "asyncio.Future[object] | object") -> object:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def test_echo_readline_readexactly_readuntil(servers: Ports) -> None:
    async def main() -> None:
        reader, writer = await aio.open_connection("127.0.0.1", servers["tcp"], timeout=WAIT)
        writer.write(b"hello\nworld|")
        writer.writelines([b"12345", bytearray(b"67"), memoryview(b"89\n")])
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), WAIT) == b"hello\n"
        assert await asyncio.wait_for(reader.readuntil(b"|"), WAIT) == b"world|"
        assert await asyncio.wait_for(reader.readexactly(3), WAIT) == b"123"
        assert await asyncio.wait_for(reader.readexactly(0), WAIT) == b""
        assert await asyncio.wait_for(reader.readuntil(b"9\n"), WAIT) == b"456789\n"
        writer.write(b"abc")
        await writer.drain()
        got = await asyncio.wait_for(reader.read(2), WAIT)  # at most 2, at least 1
        assert got in (b"a", b"ab")
        assert got + await asyncio.wait_for(reader.readexactly(3 - len(got)), WAIT) == b"abc"
        assert await reader.read(0) == b""
        assert not reader.at_eof() and not writer.is_closing()
        writer.close()
        assert writer.is_closing()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        assert writer.socket.id is None
        # after our own close the reader ends like asyncio's: EOF
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        assert reader.at_eof()
        with pytest.raises(sc.SocketCoreError):
            writer.write(b"late")
    run(main())


def test_read_to_eof_and_extra_info(servers: Ports) -> None:
    async def main() -> None:
        reader, writer = await aio.open_connection("127.0.0.1", servers["whoami"], timeout=WAIT)
        sockname = writer.get_extra_info("sockname")
        assert writer.get_extra_info("peername") == ("127.0.0.1", servers["whoami"])
        assert isinstance(sockname, tuple) and sockname[0] == "127.0.0.1"
        assert writer.get_extra_info("socket_id") == writer.socket.id is not None
        assert writer.get_extra_info("socket") is writer.socket
        assert writer.get_extra_info("tls") is None  # plain TCP
        assert writer.get_extra_info("nope", 42) == 42
        # whoami sends "HOST PORT\n" of the client and closes: read() collects it all.
        data = await asyncio.wait_for(reader.read(), WAIT)
        assert data == f"{sockname[0]} {sockname[1]}\n".encode()
        assert reader.at_eof()
        assert await reader.read() == b"" and await reader.readline() == b""
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        assert writer.get_extra_info("sockname") == sockname  # still known after close
    run(main())


def test_incomplete_read_at_early_eof(servers: Ports) -> None:
    async def main() -> None:
        reader, writer = await aio.open_connection("127.0.0.1", servers["whoami"], timeout=WAIT)
        sockname = writer.get_extra_info("sockname")
        assert isinstance(sockname, tuple)
        line = f"{sockname[0]} {sockname[1]}\n".encode()
        with pytest.raises(asyncio.IncompleteReadError) as e:
            await asyncio.wait_for(reader.readexactly(len(line) + 100), WAIT)
        assert e.value.partial == line and e.value.expected == len(line) + 100
        assert reader.at_eof()
        with pytest.raises(asyncio.IncompleteReadError) as e:
            await reader.readexactly(1)
        assert e.value.partial == b""
        async with writer:
            pass  # close + wait_closed
        assert writer.is_closing() and writer.socket.id is None

        # readuntil without the separator before EOF: the rest as partial, expected None
        reader, writer = await aio.open_connection("127.0.0.1", servers["whoami"], timeout=WAIT)
        with pytest.raises(asyncio.IncompleteReadError) as e:
            await asyncio.wait_for(reader.readuntil(b"#"), WAIT)
        assert e.value.partial.endswith(b"\n") and e.value.expected is None
        assert reader.at_eof()
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
    run(main())


def test_readuntil_limit(servers: Ports) -> None:
    async def main() -> None:
        reader, writer = await aio.open_connection("127.0.0.1", servers["tcp"], timeout=WAIT, limit=16)
        line = b"x" * 40 + b"\n"
        writer.write(line)
        await writer.drain()
        with pytest.raises(asyncio.LimitOverrunError):
            await asyncio.wait_for(reader.readuntil(b"\n"), WAIT)
        assert await asyncio.wait_for(reader.readexactly(len(line)), WAIT) == line  # data kept
        writer.write(line + b"ok\n")
        await writer.drain()
        with pytest.raises(ValueError):
            await asyncio.wait_for(reader.readline(), WAIT)  # asyncio drops the long line
        # What was buffered of the long line is dropped; a tail that came later reads as its
        # own (possibly again too long) line; then "ok\n" comes whole.
        while True:
            try:
                rest = await asyncio.wait_for(reader.readline(), WAIT)
            except ValueError:
                continue
            if rest == b"ok\n":
                break
            assert set(rest) <= set(line), rest
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
    with pytest.raises(ValueError):
        run(aio.open_connection("127.0.0.1", servers["tcp"], limit=0))
    run(main())


def test_large_write_with_drain_is_byte_exact(servers: Ports) -> None:
    data = os.urandom(6 * 1024 * 1024 + 123)

    async def main() -> bytes:
        reader, writer = await aio.open_connection("127.0.0.1", servers["tcp"], timeout=WAIT)
        # Reading and draining at the same time: neither may take the other's wake-up.
        rd = asyncio.create_task(reader.readexactly(len(data)))
        writer.write(data)
        await asyncio.wait_for(writer.drain(), 60)
        got = await asyncio.wait_for(rd, 60)
        stats = writer.socket.stats()
        assert stats.bytes_sent == len(data) and stats.send_queued == 0
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        return got
    assert asyncio.run(main()) == data


def test_write_waits_for_room_instead_of_dropping(servers: Ports) -> None:
    # max_sends=2: the library refuses a third unconfirmed send with ENOBUFS; write() cannot
    # take a SEND_CNF meanwhile (it runs on the loop thread), so most of 1 MiB must stay pending.
    data = os.urandom(1024 * 1024)

    async def main() -> bytes:
        reader, writer = await aio.open_connection("127.0.0.1", servers["tcp"], timeout=WAIT, max_sends=2)
        writer.write(data)
        assert "bytes pending" in repr(writer)
        await asyncio.wait_for(writer.drain(), 60)
        assert "pending" not in repr(writer)
        got = await asyncio.wait_for(reader.readexactly(len(data)), 60)
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        return got
    assert asyncio.run(main()) == data


def test_small_send_queue(servers: Ports) -> None:
    # snd_buf_size below the 64 KiB piece size: pieces must fit the queue (else EARG).
    data = os.urandom(200 * 1024)

    async def main() -> bytes:
        reader, writer = await aio.open_connection("127.0.0.1", servers["tcp"], timeout=WAIT,
                                                   snd_buf_size=4096)
        writer.write(data)
        await asyncio.wait_for(writer.drain(), 60)
        got = await asyncio.wait_for(reader.readexactly(len(data)), 60)
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        return got
    assert asyncio.run(main()) == data
    with sc.Socket.connect_to("127.0.0.1", servers["tcp"], timeout=WAIT, snd_buf_size=4096) as s:
        s.sendall(data[:10000], timeout=WAIT)
        assert s.recv_exactly(10000, timeout=WAIT) == data[:10000]


def test_reset_and_refused(servers: Ports, closed_port: int) -> None:
    async def main() -> None:
        with pytest.raises(sc.SocketCoreError) as e:
            await aio.open_connection("127.0.0.1", closed_port, timeout=WAIT)
        assert e.value.code == sc.Err.ECONNREFUSED
        with pytest.raises(ValueError):
            await aio.open_connection("127.0.0.1", servers["udp"], sock_type=sc.SockType.UDP)
        reader, writer = await aio.open_connection("127.0.0.1", servers["reset"], timeout=WAIT)
        writer.write(b"ping")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(4), WAIT) == b"ping"
        with pytest.raises(sc.SocketCoreError) as e:
            await asyncio.wait_for(reader.read(), WAIT)
        assert e.value.code == sc.Err.ERST
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
    run(main())


def test_async_socket_recv_exactly_and_stats(servers: Ports) -> None:
    async def main() -> None:
        async with await sc.AsyncSocket.open("127.0.0.1", servers["tcp"], timeout=WAIT) as s:
            payload = bytes(range(256)) * 1000
            await s.sendall(payload, timeout=WAIT)
            assert await s.recv_exactly(len(payload), timeout=WAIT) == payload
            st = s.stats()
            assert isinstance(st, sc.SockStats)
            assert st.bytes_sent == len(payload) and st.bytes_received == len(payload)
            assert st.recv_buffered == 0
            with pytest.raises(sc.SocketTimeoutError):
                await s.recv_exactly(1, timeout=0.2)  # nothing more comes
        with pytest.raises(sc.SocketCoreError) as e:
            s.stats()
        assert e.value.code == sc.Err.EBADID
        async with await sc.AsyncSocket.open("127.0.0.1", servers["whoami"], timeout=WAIT) as s:
            with pytest.raises(sc.SocketCoreError) as e:
                await s.recv_exactly(10000, timeout=WAIT)
            assert e.value.code == sc.Err.ECLSD
    run(main())


def test_reprs(servers: Ports, pem: Callable[[str], bytes]) -> None:
    key = pem("client.key")
    cert = sc.Cert(host_name="localhost", ca_cert=pem("ca.pem"), client_key=key)
    text = repr(cert)
    assert text.startswith("Cert(host_name='localhost', ca_cert=<") and "bytes" in text
    assert key.decode() not in text and b"PRIVATE" not in text.encode()
    assert repr(sc.Cert()) == "Cert(host_name=None, ca_cert=None, client_cert=None, client_key=None)"

    async def main() -> Tuple[str, str, str, str, str]:
        reader, writer = await aio.open_connection("127.0.0.1", servers["tcp"], timeout=WAIT)
        sid = writer.socket.id
        r1, w1, s1 = repr(reader), repr(writer), repr(writer.socket)
        st = repr(writer.socket.stats())
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        assert f"id={sid}" in r1 and f"id={sid}" in w1 and f"id={sid}" in s1
        return r1, w1, s1, st, repr(writer)
    r1, w1, s1, st, w2 = asyncio.run(main())
    assert r1.startswith("<socketcore.aio.StreamReader ") and "0 bytes buffered" in r1
    assert w1.startswith("<socketcore.aio.StreamWriter ") and f"peer=127.0.0.1:{servers['tcp']}" in w1
    assert s1.startswith("<socketcore.AsyncSocket ") and "connected" in s1
    assert st.startswith("SockStats(bytes_sent=0, ") and "recv_buffered=0)" in st
    assert w2.endswith(" closed>")
    assert repr(sc.Socket()) == "<socketcore.Socket id=None type=TCP closed>"
    assert repr(sc.Message(sc.MsgId.CONN_CNF, 1, 0, 0, 0)).startswith("Message(id=<MsgId.CONN_CNF")


@pytest.mark.usefixtures("tls_available")
def test_tls_open_connection(servers: Ports, pem: Callable[[str], bytes]) -> None:
    async def main() -> None:
        reader, writer = await aio.open_connection(
            "127.0.0.1", servers["tls"], cert=sc.Cert(host_name="localhost", ca_cert=pem("ca.pem")),
            timeout=WAIT)
        info = writer.get_extra_info("tls")
        assert isinstance(info, str) and info.startswith(("TLSv1_3 TLS13_", "TLSv1_2 TLS_")), info
        assert "SSL" in repr(writer)
        data = os.urandom(512 * 1024) + b"\nend\n"
        writer.write(data)
        got = await asyncio.wait_for(reader.readexactly(len(data) - 4), 60)
        await asyncio.wait_for(writer.drain(), 60)
        assert got == data[:-4] and await asyncio.wait_for(reader.readline(), WAIT) == b"end\n"
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)

        # verify options as AsyncSocket takes them: a wrong name passes with NO_HOSTNAME only
        wrong = sc.Cert(host_name="wrong.example", ca_cert=pem("ca.pem"))
        with pytest.raises(sc.SocketCoreError) as e:
            await aio.open_connection("127.0.0.1", servers["tls"], cert=wrong, timeout=WAIT)
        assert e.value.code == sc.Err.SSL_ECERT
        reader, writer = await aio.open_connection("127.0.0.1", servers["tls"], cert=wrong, timeout=WAIT,
                                                   tls_verify=sc.TlsVerify.NO_HOSTNAME)
        writer.write(b"ok\n")
        assert await asyncio.wait_for(reader.readline(), WAIT) == b"ok\n"
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
    run(main())
