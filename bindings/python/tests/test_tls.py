"""TLS (type 2) against an in-process ssl server whose certificate comes from a private CA
made with openssl at test time. Skipped while the library reports SSL_EINIT, unless
SOCKETCORE_REQUIRE_TLS=1."""
from __future__ import annotations

from typing import Callable
import pathlib

import asyncio
import os

import pytest

import socketcore as sc

pytestmark = pytest.mark.usefixtures("tls_available")


def tls(servers: dict[str, int], cert: sc.Cert, port_name: str = "tls", **opts: int) -> sc.Socket:
    return sc.Socket.connect_to("127.0.0.1", servers[port_name], sc.SockType.SSL, cert=cert, timeout=15, **opts)


def test_private_ca_by_ip(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    with tls(servers, sc.Cert(ca_cert=pem("ca.pem"))) as s:
        s.sendall(b"over tls")
        assert s.recv_exactly(8, timeout=10) == b"over tls"
        assert s.tls_info().startswith(("TLSv1_3 TLS13_", "TLSv1_2 TLS_")), s.tls_info()


def test_sslkeylogfile_is_written_only_when_set(servers: dict[str, int], pem: Callable[[str], bytes], tmp_path: pathlib.Path) -> None:
    import subprocess
    import sys
    keylog = tmp_path / "keys.log"
    code = f"""
import socketcore as sc
ca = open({str(tmp_path / 'ca.pem')!r}, 'rb').read()
with sc.Socket.connect_to("127.0.0.1", {servers['tls']}, sc.SockType.SSL,
                          cert=sc.Cert(ca_cert=ca), timeout=15) as s:
    s.sendall(b"k")
    assert s.recv_exactly(1, timeout=10) == b"k"
"""
    (tmp_path / "ca.pem").write_bytes(pem("ca.pem"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SSLKEYLOGFILE")}
    env.setdefault("SOCKETCORE_LIB", sc.loaded_path() or "")
    for with_keylog in (False, True):
        run_env = dict(env, SSLKEYLOGFILE=str(keylog)) if with_keylog else env
        r = subprocess.run([sys.executable, "-c", code], env=run_env, cwd=str(tmp_path),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert keylog.exists() == with_keylog
    # NSS key log lines, for Wireshark: TLS 1.3 traffic secrets, or TLS 1.2's master secret.
    text = keylog.read_text()
    assert "CLIENT_TRAFFIC_SECRET_0 " in text or "CLIENT_RANDOM " in text, text


def test_private_ca_by_name_and_large_transfer(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    data = os.urandom(1024 * 1024)
    with tls(servers, sc.Cert(host_name="localhost", ca_cert=pem("ca.pem"))) as s:
        import threading
        got = bytearray()
        t = threading.Thread(target=lambda: got.extend(s.recv_exactly(len(data), timeout=30)))
        t.start()
        s.sendall(data, timeout=30)
        t.join(40)
        assert bytes(got) == data


def test_untrusted_ca_is_rejected(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        tls(servers, sc.Cert(ca_cert=pem("other_ca.pem")))
    assert e.value.code == sc.Err.SSL_ECERT
    assert e.value.detail and "UnknownIssuer" in e.value.detail  # rustls' reason
    assert e.value.detail in str(e.value)


def test_wrong_name_is_rejected(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        tls(servers, sc.Cert(host_name="wrong.example", ca_cert=pem("ca.pem")))
    assert e.value.code == sc.Err.SSL_ECERT
    assert e.value.detail and 'not valid for name "wrong.example"' in e.value.detail


def test_wrong_name_accepted_with_no_hostname_verify(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    with tls(servers, sc.Cert(host_name="wrong.example", ca_cert=pem("ca.pem")),
             tls_verify=sc.TlsVerify.NO_HOSTNAME) as s:
        s.sendall(b"ok")
        assert s.recv_exactly(2) == b"ok"


def test_mutual_tls(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    cert = sc.Cert(ca_cert=pem("ca.pem"), client_cert=pem("client.pem"), client_key=pem("client.key"))
    with tls(servers, cert, "mtls") as s:
        s.sendall(b"mutual")
        assert s.recv_exactly(6) == b"mutual"


def test_mutual_tls_without_client_cert_fails(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    with pytest.raises(sc.SocketCoreError):
        with tls(servers, sc.Cert(ca_cert=pem("ca.pem")), "mtls") as s:
            s.sendall(b"x")  # TLS 1.3: the server may only refuse after the handshake
            s.recv_exactly(1, timeout=10)


def test_garbage_pem_is_refused_at_once(servers: dict[str, int]) -> None:
    with pytest.raises(sc.SocketCoreError) as e:
        sc.open_socket(sc.SockType.SSL, "127.0.0.1", servers["tls"], sc.Cert(ca_cert=b"not a certificate"))
    assert e.value.code == sc.Err.SSL_EINVALID


def test_asyncio_tls(servers: dict[str, int], pem: Callable[[str], bytes]) -> None:
    async def main() -> bytes:
        async with await sc.AsyncSocket.open("127.0.0.1", servers["tls"], sc.SockType.SSL,
                                             cert=sc.Cert(ca_cert=pem("ca.pem")), timeout=15) as s:
            await s.sendall(b"async tls")
            got = b""
            while len(got) < 9:
                got += await s.recv(timeout=10)
            return got
    assert asyncio.run(main()) == b"async tls"
