"""Fixtures: local servers (TCP/UDP/whoami echo, TLS with a private CA made by openssl) in
this process, a closed port, and a TLS availability probe. Loopback only."""
from __future__ import annotations

import os
import socket
import sys
from typing import Callable, Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from echo_server import Servers, make_certs  # noqa: E402

import socketcore as sc  # noqa: E402


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_certs(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def servers(certs: dict[str, str]) -> Iterator[dict[str, int]]:
    s = Servers(certs)
    yield s.ports
    s.stop()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def pem(certs: dict[str, str]) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        with open(certs[name], "rb") as f:
            return f.read()
    return read


@pytest.fixture(scope="session")
def tls_available(certs: dict[str, str], servers: dict[str, int]) -> bool:
    """Skips TLS tests while the library reports SSL_EINIT (a build without the tls feature), unless
    SOCKETCORE_REQUIRE_TLS=1 (then they fail)."""
    with open(certs["ca.pem"], "rb") as f:
        ca = f.read()
    try:
        sid = sc.open_socket(sc.SockType.SSL, "127.0.0.1", servers["tls"], sc.Cert(ca_cert=ca))
    except sc.SocketCoreError as e:
        if e.code == sc.Err.SSL_EINIT and os.environ.get("SOCKETCORE_REQUIRE_TLS") != "1":
            pytest.skip("libsocketcore was built without TLS (sock_conn_ext returns -SSL_EINIT)")
        raise
    sc.lib().sock_destroy(sid)
    return True


@pytest.fixture(autouse=True)
def no_leftover_messages() -> Iterator[None]:
    """Each test must destroy what it opened: no message for an unowned id may be left."""
    yield
    left = []
    while True:
        m = sc.wait_msg(0.05)
        if m is None:
            break
        left.append(m)
    assert not left, f"messages left unclaimed: {left}"
