#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz/corpus/api_sequence/ (committed; run again only
after changing the input encoding of fuzz_targets/api_sequence.rs). Each seed is a short program
in that encoding: one op byte (value % 20 picks the call), then that call's argument bytes."""
import os

CONN, CONN_EXT, SEND, RECV, CLOSE, DESTROY, SETOPT, STATS, WAIT = 0, 2, 5, 7, 9, 10, 11, 12, 13
ALPN, MISC, SETMAX, PAUSE, SHUTDOWN = 15, 16, 17, 18, 19
# type bytes (index into TYPES), address bytes
TCP, UDP, SSL, RAW, BADTYPE = 0, 4, 7, 11, 12
A4, A6, LOCALHOST, ANULL, GARBAGE = 0, 5, 8, 10, 14
FIRST = 0  # id byte: the first live id


def conn(ty, port=0, addr=A4, cert=(0,), addr_extra=b""):
    return bytes([CONN, ty, port, addr]) + addr_extra + bytes(cert)


def conn_ext(ty, port=0, addr=A4, cert=(0,), opts=None):
    if opts is None:
        return bytes([CONN_EXT, ty, port, addr, *cert, 0])  # opts NULL
    return bytes([CONN_EXT, ty, port, addr, *cert, 1, *opts])


def pause(n=1):
    return bytes([PAUSE, 2] * n)


def send(n, id_=FIRST):  # n in 1..8 bytes
    return bytes([SEND, id_, 1, n - 1, 1])


def send_big(id_=FIRST):  # 1 MiB
    return bytes([SEND, id_, 10, 1])


def recv(id_=FIRST, len_idx=8):  # 4096
    return bytes([RECV, id_, len_idx, 1])


def drain():
    return bytes([WAIT, 5])


# opts: size, local_port, alpn, rcv, snd, connect_timeout, send_cnf_on_ack, max_sends,
# close_timeout, tls_verify, no random field
OPTS_H2 = (0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1)
OPTS_SMALL = (0, 0, 0, 2, 2, 3, 2, 2, 2, 0, 1)  # 1-byte buffers, 5 ms timeouts, ack mode
OPTS_BAD = (0, 0, 0, 9, 0, 0, 0, 0, 0, 3, 1)  # rcv -1, verify 3
OPTS_SHORT = (9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)  # size 4 (9 picks from a list: one more byte)
# cert: table with host "localhost", caCert = our CA, no client pair
CERT_CA = (2, 3, 6, 0, 0)

seeds = {
    "tcp_echo": conn(TCP) + pause(3) + drain() + send(5) + pause(2) + drain() + recv()
    + bytes([STATS, FIRST, 1]) + bytes([CLOSE, FIRST]) + pause() + drain()
    + bytes([DESTROY, FIRST]),
    "udp_echo": conn(UDP) + pause(2) + drain() + send(8) + send(3) + pause(2) + drain()
    + recv() + recv(len_idx=1) + bytes([CLOSE, FIRST]) + drain(),
    "tls_echo_alpn": conn_ext(SSL, 0, LOCALHOST, CERT_CA, OPTS_H2) + pause(4) + drain()
    + bytes([ALPN, FIRST, 6, 1]) + send(7) + pause(2) + drain() + recv()
    + bytes([MISC, 5, FIRST]) + bytes([CLOSE, FIRST]) + pause() + drain(),
    "tls_drop": conn_ext(SSL, 16, A4, CERT_CA, None) + pause(3) + drain() + send(8) + pause()
    + send(8) + pause() + send_big() + pause() + drain() + send(8) + drain(),
    "reset_refused": conn(TCP, 16) + conn(TCP, 24) + conn(UDP, 16) + pause(2) + drain()
    + send(2) + pause(2) + drain() + send(2) + drain() + bytes([MISC, 7, FIRST]),
    "bad_input": conn(BADTYPE) + conn(TCP, 7) + conn(TCP, 0, ANULL)
    + conn(TCP, 0, GARBAGE, addr_extra=bytes([3]) + b"a b")
    + conn_ext(TCP, 0, A4, (0,), OPTS_BAD) + conn_ext(TCP, 0, A4, (0,), OPTS_SHORT)
    + bytes([SEND, 255, 0, 1]) + bytes([RECV, 255, 0, 0]) + bytes([SETOPT, 255, 0, 0, 0])
    + bytes([WAIT, 0, WAIT, 1, 0]) + bytes([SETMAX, 0]) + bytes([MISC, 3, MISC, 1, 99, 0, 0, 0]),
    "limit": bytes([SETMAX, 3]) + conn(TCP) + conn(TCP) + conn(TCP) + bytes([DESTROY, FIRST])
    + conn(UDP) + pause() + drain() + bytes([SETMAX, 8]),
    "shutdown_mid": conn(TCP) + conn(UDP) + pause(2) + send(4) + bytes([SHUTDOWN, 0])
    + bytes([SEND, 253, 1, 3, 1, CLOSE, 253]) + conn(TCP) + pause() + drain(),
    "options": conn_ext(TCP, 0, A6, (0,), OPTS_SMALL) + bytes([SETOPT, FIRST, 1, 5, 1])
    + bytes([SETOPT, FIRST, 0, 2, 4]) + bytes([SETOPT, FIRST, 0, 2, 5]) + pause(2) + send(1) + send(1) + pause(2) + drain()
    + bytes([CLOSE, FIRST]) + pause(2) + drain(),
    "raw_icmp": conn(RAW) + pause(2) + drain() + send(8) + pause(2) + drain() + recv(),
    "localhost_close_connecting": conn(TCP, 0, LOCALHOST) + bytes([CLOSE, FIRST]) + drain()
    + bytes([CLOSE, FIRST]) + bytes([DESTROY, FIRST]) + bytes([DESTROY, FIRST]),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "api_sequence")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}")
