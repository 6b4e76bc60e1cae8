#!/usr/bin/env python3
"""Local test servers for the socketcore bindings and examples (loopback only).

As a script:
    echo_server.py [--certs DIR] [--lifetime SECONDS]
prints one JSON line with the ports, e.g.
    {"tcp": 40001, "udp": 40001, "whoami": 40002, "tls": 40003, "mtls": 40004}
and serves until SIGTERM/SIGINT, end of stdin (when --stdin-eof is given) or the lifetime.

    echo_server.py --make-certs DIR
writes a private CA (ca.pem), a server certificate for localhost/127.0.0.1 signed by it
(server.pem, server.key), a client certificate (client.pem, client.key) and an unrelated CA
(other_ca.pem), using the openssl command line tool.

Servers: tcp = TCP echo; udp = UDP echo (same number); whoami = sends "HOST PORT\\n" of the
client and closes; reset = echoes the first chunk it reads, then resets the connection (RST);
hold = accepts and never reads (the client's sends back up), until the client closes;
hang = a listener whose accept queue is full and never drained: connects to it hang (their
SYNs are dropped), for connect timeouts;
tls = TLS echo with server.pem; mtls = TLS echo that requires a client
certificate signed by ca.pem.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

HOST = "127.0.0.1"
Addr = Any  # the peer address accept() gives
Handler = Callable[[socket.socket, Addr], None]


def make_certs(directory: str) -> dict[str, str]:
    """Creates the private PKI in `directory` (if not there yet); returns the file paths."""
    os.makedirs(directory, exist_ok=True)
    p = {k: os.path.join(directory, k) for k in (
        "ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "client.key",
        "client.csr", "client.pem", "other_ca.key", "other_ca.pem", "ext.cnf")}
    if all(os.path.exists(p[k]) for k in ("ca.pem", "server.pem", "client.pem", "other_ca.pem")):
        return p

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name, cn in (("ca", "socketcore test CA"), ("other_ca", "unrelated test CA")):
        run("req", "-x509", *ec, "-keyout", p[f"{name}.key"], "-out", p[f"{name}.pem"],
            "-days", "2", "-subj", f"/CN={cn}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(p["ext.cnf"], "w") as f:
        f.write("[server]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "[client]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, cn in (("server", "localhost"), ("client", "socketcore test client")):
        run("req", "-new", *ec, "-keyout", p[f"{name}.key"], "-out", p[f"{name}.csr"],
            "-subj", f"/CN={cn}")
        run("x509", "-req", "-in", p[f"{name}.csr"], "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
            "-CAcreateserial", "-out", p[f"{name}.pem"], "-days", "2",
            "-extfile", p["ext.cnf"], "-extensions", name)
    return p


class Servers:
    """TCP/UDP/whoami echo servers (and TLS ones when certs are given), on daemon threads."""

    def __init__(self, certs: Optional[dict[str, str]] = None) -> None:
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self.ports: dict[str, int] = {}
        tcp, udp = self._tcp_udp_pair()
        self.ports["tcp"] = self.ports["udp"] = tcp.getsockname()[1]
        self._serve_stream(tcp, self._echo)
        self._spawn(self._udp_echo, udp)
        self.ports["whoami"] = self._listen_stream("whoami", self._whoami)
        self.ports["reset"] = self._listen_stream("reset", self._reset)
        self.ports["hold"] = self._listen_stream("hold", self._hold)
        self.ports["hang"] = self._hanging_port()
        if certs:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certs["server.pem"], certs["server.key"])
            self.ports["tls"] = self._listen_stream("tls", self._echo, ctx)
            mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            mctx.load_cert_chain(certs["server.pem"], certs["server.key"])
            mctx.verify_mode = ssl.CERT_REQUIRED
            mctx.load_verify_locations(certs["ca.pem"])
            self.ports["mtls"] = self._listen_stream("mtls", self._echo, mctx)

    # -- plumbing -------------------------------------------------------------------------
    def _spawn(self, fn: Callable[..., None], *args: Any) -> None:
        threading.Thread(target=fn, args=args, daemon=True).start()

    def _tcp_udp_pair(self) -> tuple[socket.socket, socket.socket]:
        for _ in range(50):  # TCP picks the port; UDP must get the same number
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((HOST, 0))
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind((HOST, tcp.getsockname()[1]))
            except OSError:
                tcp.close()
                udp.close()
                continue
            tcp.listen(64)
            self._socks += [tcp, udp]
            return tcp, udp
        raise RuntimeError("no free TCP+UDP port pair")

    def _listen_stream(self, name: str, handler: Handler, ctx: Optional[ssl.SSLContext] = None) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, 0))
        s.listen(64)
        self._socks.append(s)
        self._serve_stream(s, handler, ctx)
        port: int = s.getsockname()[1]
        return port

    def _hanging_port(self) -> int:
        # Backlog 0 queues one connection; our own connects fill the queue, and nobody
        # accepts, so the kernel drops every later SYN.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((HOST, 0))
        s.listen(0)
        self._socks.append(s)
        for _ in range(4):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(s.getsockname())
            except BlockingIOError:
                pass
            self._socks.append(c)
        port: int = s.getsockname()[1]
        return port

    def _serve_stream(self, lsock: socket.socket, handler: Handler, ctx: Optional[ssl.SSLContext] = None) -> None:
        def accept_loop() -> None:
            lsock.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    conn, addr = lsock.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                self._spawn(self._client, conn, addr, handler, ctx)
        self._spawn(accept_loop)

    def _client(self, conn: socket.socket, addr: Addr, handler: Handler, ctx: Optional[ssl.SSLContext]) -> None:
        conn.settimeout(30)
        try:
            if ctx is not None:
                conn = ctx.wrap_socket(conn, server_side=True)
            handler(conn, addr)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    # -- handlers -------------------------------------------------------------------------
    def _echo(self, conn: socket.socket, addr: Addr) -> None:
        while not self._stop.is_set():
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)

    def _whoami(self, conn: socket.socket, addr: Addr) -> None:
        conn.sendall(f"{addr[0]} {addr[1]}\n".encode())

    def _reset(self, conn: socket.socket, addr: Addr) -> None:
        data = conn.recv(65536)
        if data:
            conn.sendall(data)
            time.sleep(0.05)  # let the echo leave before the reset
        # Linger 0: close sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _hold(self, conn: socket.socket, addr: Addr) -> None:
        # Waits (not reading) until the client goes away or the servers stop.
        while not self._stop.wait(0.2):
            try:
                if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    return
            except BlockingIOError:
                pass

    def _udp_echo(self, udp: socket.socket) -> None:
        udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = udp.recvfrom(65536)
                udp.sendto(data, peer)
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--certs", help="directory with the PKI (made if missing): enables tls and mtls")
    ap.add_argument("--make-certs", metavar="DIR", help="only create the PKI in DIR")
    ap.add_argument("--lifetime", type=float, default=300.0, help="stop after this many seconds")
    ap.add_argument("--stdin-eof", action="store_true", help="also stop when stdin closes")
    a = ap.parse_args()
    if a.make_certs:
        make_certs(a.make_certs)
        return 0
    servers = Servers(make_certs(a.certs) if a.certs else None)
    print(json.dumps(servers.ports), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if a.stdin_eof:
        def stdin_eof() -> None:
            sys.stdin.read()
            done.set()
        threading.Thread(target=stdin_eof, daemon=True).start()
    done.wait(a.lifetime)
    servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
