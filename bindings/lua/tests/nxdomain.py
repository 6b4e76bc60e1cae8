#!/usr/bin/env python3
"""A tiny DNS server for tests: answers every query on 127.0.0.1:53 (UDP and TCP) with
NXDOMAIN ("no such name"). Run inside a network namespace of the test's own, so that name
lookups there get a definite answer and no query can leave the machine. Stops after
--lifetime seconds."""
import argparse
import socket
import struct
import threading


def nxdomain(query: bytes) -> bytes:
    # Header: same id, QR=1, opcode copied, RD copied, RA=1, RCODE=3; the question echoed.
    if len(query) < 12:
        return b""
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | 3
    return struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, 0) + query[12:]


def serve_udp(s: socket.socket) -> None:
    while True:
        data, peer = s.recvfrom(4096)
        reply = nxdomain(data)
        if reply:
            s.sendto(reply, peer)


def serve_tcp(s: socket.socket) -> None:
    while True:
        conn, _ = s.accept()
        with conn:
            conn.settimeout(5)
            try:
                n = struct.unpack("!H", conn.recv(2))[0]
                reply = nxdomain(conn.recv(n))
                conn.sendall(struct.pack("!H", len(reply)) + reply)
            except (OSError, struct.error):
                pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 53))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", 53))
    t.listen(8)
    for fn, s in ((serve_udp, u), (serve_tcp, t)):
        threading.Thread(target=fn, args=(s,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait(a.lifetime)


if __name__ == "__main__":
    main()
