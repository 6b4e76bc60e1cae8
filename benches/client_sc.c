/*
 * client_sc WORKLOAD key=value...: the same workloads through socketcore, as its API intends:
 * every result is a message taken with sock_wait_msg; sock_send copies and is retried after a
 * message when it answers ENOBUFS; each RECV_IND is answered with one sock_recv of a 256 KiB
 * buffer (the default receive bound, so that one call drains the socket). Default settings
 * except TCP_NODELAY where the other clients set it too (ping-pong, scaling, TLS).
 * Workloads and keys as client_raw, plus tls_up, tls_down, tls_hs (rustls, full verification
 * against the benchmark CA, as the OpenSSL client does).
 */
#include "common.h"

#include <socketcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *rbuf;
static sock_cert tls_cert;

static sock_msg wait1(void)
{
    sock_msg m;
    int r = sock_wait_msg(&m, 30000);
    if (r != 1) fail("sock_wait_msg: %s", r == 0 ? "no message for 30 s" : sock_strerror(r));
    return m;
}

static void expect_ok(const sock_msg *m, const char *what)
{
    if (m->result != SOCK_ERR_OK)
        fail("%s on socket %d: %s", what, m->socket_index, sock_strerror(m->result));
}

static int open_conn(int type, int port, const sock_cert *cert, int nodelay)
{
    int id = sock_conn_ext(type, port, "127.0.0.1", cert, NULL);
    if (id < 0) fail("sock_conn_ext: %s", sock_strerror(id));
    if (nodelay && sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, 1) != 0)
        fail("TCP_NODELAY: %s", sock_strerror(sock_error(id)));
    for (;;) {
        sock_msg m = wait1();
        if (m.socket_index != id) fail("message %d for socket %d while connecting", m.id, m.socket_index);
        if (m.id == MSG_SOCK_CONN_CNF) {
            expect_ok(&m, "connect");
            return id;
        }
    }
}

/* Closes, waits for CLOSE_CNF (taking the remaining SEND_CNFs), destroys. */
static void close_conn(int id)
{
    if (!sock_close(id)) fail("sock_close: %s", sock_strerror(sock_error(id)));
    for (;;) {
        sock_msg m = wait1();
        if (m.socket_index != id) continue;
        if (m.id == MSG_SOCK_SEND_CNF) expect_ok(&m, "send");
        if (m.id == MSG_SOCK_CLOSE_CNF) {
            expect_ok(&m, "close");
            break;
        }
    }
    sock_destroy(id);
}

static void send_or_fail(int id, const void *data, size_t len)
{
    if (!sock_send(id, data, len)) fail("sock_send refused: %s", sock_strerror(sock_error(id)));
}

/* ---- bulk ---- */

static struct {
    int id, up;
    uint64_t n, got;
    unsigned char sum[HDR_LEN];
    size_t sum_len;
    int done;
} B;

static void bulk_msg(const sock_msg *m)
{
    if (m->socket_index != B.id) fail("message for socket %d", m->socket_index);
    switch (m->id) {
    case MSG_SOCK_SEND_CNF: expect_ok(m, "send"); break;
    case MSG_SOCK_RECV_IND: {
        int r = sock_recv(B.id, rbuf, IO_BUF);
        if (r < 0) fail("sock_recv: %s", sock_strerror(r));
        if (B.up) {
            if (B.sum_len + (size_t)r > HDR_LEN) fail("unexpected bytes from the server");
            memcpy(B.sum + B.sum_len, rbuf, (size_t)r);
            B.sum_len += (size_t)r;
            B.done = B.sum_len == HDR_LEN;
        } else {
            if (B.got + (uint64_t)r > B.n) fail("more bytes than asked for");
            if (!pat_check(rbuf, (size_t)r, B.got)) fail("corrupt data at %llu", (unsigned long long)B.got);
            B.got += (uint64_t)r;
            B.done = B.got == B.n;
        }
        break;
    }
    case MSG_SOCK_CLOSE_IND: fail("the server closed: %s", sock_strerror(m->result));
    default: fail("unexpected message %d", m->id);
    }
}

static void bulk(int type, int port, const sock_cert *cert, int up)
{
    B.up = up;
    B.n = (uint64_t)arg_ll("bytes", 1 << 30);
    size_t chunk = (size_t)arg_ll("chunk", 65536);
    B.id = open_conn(type, port, cert, type == SOCK_TYPE_SSL);
    unsigned char hdr[HDR_LEN];
    put_u64(hdr, up ? OP_SINK : OP_SOURCE);
    put_u64(hdr + 8, B.n);
    uint64_t t0 = now_ns();
    send_or_fail(B.id, hdr, HDR_LEN);
    for (uint64_t off = 0; up && off < B.n;) {
        size_t len = B.n - off < chunk ? (size_t)(B.n - off) : chunk;
        if (sock_send(B.id, pat_at(off), len)) {
            off += len;
            continue;
        }
        if (sock_error(B.id) != SOCK_ERR_ENOBUFS)
            fail("sock_send: %s", sock_strerror(sock_error(B.id)));
        sock_msg m = wait1(); /* the queue is full: take what came, then retry */
        bulk_msg(&m);
        while (sock_wait_msg(&m, 0) == 1) bulk_msg(&m);
    }
    while (!B.done) {
        sock_msg m = wait1();
        bulk_msg(&m);
    }
    uint64_t t1 = now_ns();
    if (up && (get_u64(B.sum) != B.n || get_u64(B.sum + 8) != 0)) fail("server got corrupt or short data");
    close_conn(B.id);
    result("mbps=%.1f bytes=%llu", mbps(B.n, t1 - t0), (unsigned long long)B.n);
}

/* ---- ping-pong ---- */

static void pingpong_on(int id, long warm, long iters, uint64_t *lat)
{
    unsigned char out[MSG_LEN], in[MSG_LEN];
    for (long i = 0; i < warm + iters; i++) {
        msg_make(out, (uint64_t)i);
        size_t got = 0;
        uint64_t t = now_ns();
        send_or_fail(id, out, MSG_LEN);
        while (got < MSG_LEN) {
            sock_msg m = wait1();
            if (m.socket_index != id) fail("message %d for socket %d", m.id, m.socket_index);
            if (m.id == MSG_SOCK_SEND_CNF) {
                expect_ok(&m, "send");
            } else if (m.id == MSG_SOCK_RECV_IND) {
                int r = sock_recv(id, rbuf, IO_BUF);
                if (r < 0 || got + (size_t)r > MSG_LEN) fail("sock_recv %d", r);
                memcpy(in + got, rbuf, (size_t)r);
                got += (size_t)r;
            } else {
                fail("unexpected message %d (%s)", m.id, sock_strerror(m.result));
            }
        }
        if (i >= warm) lat[i - warm] = now_ns() - t;
        if (memcmp(in, out, MSG_LEN) != 0) fail("echo %ld differs", i);
    }
}

static void pingpong(void)
{
    long iters = (long)arg_ll("iters", 100000), warm = (long)arg_ll("warm", 1000);
    uint64_t *lat = malloc(sizeof *lat * (size_t)iters);
    int id = open_conn(SOCK_TYPE_TCP, (int)arg_ll("echo", 0), NULL, 1);
    pingpong_on(id, warm, iters, lat);
    close_conn(id);
    char s[256];
    result("%s iters=%ld", fmt_latency(s, sizeof s, "", lat, (size_t)iters), iters);
}

static void scaling(void)
{
    long iters = (long)arg_ll("iters", 50000), warm = (long)arg_ll("warm", 1000);
    long idle = (long)arg_ll("idle", 10000);
    int port = (int)arg_ll("echo", 0);
    if (sock_set_max_sockets(idle + 100 > 20000 ? (int)idle + 100 : 20000) != 0) fail("sock_set_max_sockets");
    uint64_t *lat = malloc(sizeof *lat * (size_t)iters);
    int id = open_conn(SOCK_TYPE_TCP, port, NULL, 1);
    char a[256], b[256];
    pingpong_on(id, warm, iters, lat);
    fmt_latency(a, sizeof a, "none_", lat, (size_t)iters);
    uint64_t p50_none = percentile(lat, (size_t)iters, 50);
    long rss0 = status_kb("VmRSS");
    for (long i = 0; i < idle; i++)
        if (sock_conn(SOCK_TYPE_TCP, port, "127.0.0.1", NULL) < 0) fail("sock_conn %ld refused", i);
    for (long connected = 0; connected < idle;) {
        sock_msg m = wait1();
        if (m.id != MSG_SOCK_CONN_CNF) fail("idle socket %d: message %d", m.socket_index, m.id);
        expect_ok(&m, "idle connect");
        connected++;
    }
    long rss1 = status_kb("VmRSS");
    pingpong_on(id, warm, iters, lat);
    fmt_latency(b, sizeof b, "idle_", lat, (size_t)iters);
    uint64_t p50_idle = percentile(lat, (size_t)iters, 50);
    result("%s %s ratio=%.3f idle=%ld idle_bytes_per_conn=%.0f", a, b,
           (double)p50_idle / (double)p50_none, idle, (rss1 - rss0) * 1024.0 / (double)idle);
}

/* ---- fan-out ---- */

/* fanout: all conns started at once, each closed as soon as its echo is back.
 * fanout_held (held=1): at most cwin connects in flight, every connection kept open until all
 * have their echo, then all closed. */
static void fanout_run(int held)
{
    long n = (long)arg_ll("conns", 10000);
    long cwin = held ? (long)arg_ll("cwin", 1000) : n;
    long started = 0, connected = 0, echoed = 0, closed = 0;
    int port = (int)arg_ll("echo", 0);
    if (sock_set_max_sockets(n + 100 > 20000 ? (int)n + 100 : 20000) != 0) fail("sock_set_max_sockets");
    unsigned char (*in)[MSG_LEN] = calloc((size_t)n, MSG_LEN);
    int *got = calloc((size_t)n, sizeof *got);
    uint64_t t0 = now_ns();
    while (closed < n) {
        for (; started < n && started - connected < cwin; started++) {
            int id = sock_conn(SOCK_TYPE_TCP, port, "127.0.0.1", NULL);
            if (id < 0 || id >= n) fail("sock_conn %ld gave %d", started, id);
        }
        sock_msg m = wait1();
        int id = m.socket_index;
        unsigned char out[MSG_LEN];
        switch (m.id) {
        case MSG_SOCK_CONN_CNF:
            expect_ok(&m, "connect");
            connected++;
            msg_make(out, (uint64_t)id);
            send_or_fail(id, out, MSG_LEN);
            break;
        case MSG_SOCK_SEND_CNF: expect_ok(&m, "send"); break;
        case MSG_SOCK_RECV_IND: {
            int r = sock_recv(id, rbuf, IO_BUF);
            if (r < 0 || got[id] + r > MSG_LEN) fail("sock_recv %d on %d", r, id);
            memcpy(in[id] + got[id], rbuf, (size_t)r);
            got[id] += r;
            if (got[id] < MSG_LEN) break;
            msg_make(out, (uint64_t)id);
            if (memcmp(out, in[id], MSG_LEN) != 0) fail("echo %d differs", id);
            echoed++;
            if (!held) {
                if (!sock_close(id)) fail("sock_close %d: %s", id, sock_strerror(sock_error(id)));
            } else if (echoed == n) {
                for (int c = 0; c < n; c++) /* all echoed: close them all */
                    if (!sock_close(c)) fail("sock_close %d: %s", c, sock_strerror(sock_error(c)));
            }
            break;
        }
        case MSG_SOCK_CLOSE_CNF:
            expect_ok(&m, "close");
            sock_destroy(id);
            closed++;
            break;
        default: fail("socket %d: unexpected message %d (%s)", id, m.id, sock_strerror(m.result));
        }
    }
    fanout_result(now_ns() - t0, n, held ? cwin : 0);
    free(in);
    free(got);
}

/* One plain TCP lifecycle after another, for counting syscalls (scripts/count-syscalls.sh):
 * connect, CONN_CNF, send 64 B, SEND_CNF and RECV_IND, recv, close, CLOSE_CNF, destroy. */
static void lifecycle(void)
{
    long n = (long)arg_ll("n", 100);
    int port = (int)arg_ll("echo", 0);
    unsigned char out[MSG_LEN], in[MSG_LEN];
    for (long i = 0; i < n; i++) {
        int id = sock_conn(SOCK_TYPE_TCP, port, "127.0.0.1", NULL);
        if (id < 0) fail("sock_conn: %d", id);
        int got = 0, sent = 0, closing = 0;
        for (;;) {
            sock_msg m = wait1();
            if (m.socket_index != id) fail("message %d for socket %d", m.id, m.socket_index);
            if (m.id == MSG_SOCK_CONN_CNF) {
                expect_ok(&m, "connect");
                msg_make(out, (uint64_t)i);
                send_or_fail(id, out, MSG_LEN);
            } else if (m.id == MSG_SOCK_SEND_CNF) {
                expect_ok(&m, "send");
                sent = 1;
            } else if (m.id == MSG_SOCK_RECV_IND) {
                int r = sock_recv(id, in + got, (size_t)(MSG_LEN - got));
                if (r <= 0) fail("sock_recv %d", r);
                got += r;
            } else if (m.id == MSG_SOCK_CLOSE_CNF) {
                expect_ok(&m, "close");
                break;
            } else {
                fail("unexpected message %d (%s)", m.id, sock_strerror(m.result));
            }
            if (!closing && sent && got == MSG_LEN) {
                if (memcmp(in, out, MSG_LEN) != 0) fail("echo %ld differs", i);
                if (!sock_close(id)) fail("sock_close: %s", sock_strerror(sock_error(id)));
                closing = 1;
            }
        }
        sock_destroy(id);
    }
    result("lifecycles=%ld", n);
}

/* ---- UDP ---- */

static void udp(void)
{
    long n = (long)arg_ll("dgrams", 200000), window = (long)arg_ll("window", 32);
    long sent = 0, got = 0;
    int id = open_conn(SOCK_TYPE_UDP, (int)arg_ll("udp", 0), NULL, 0);
    unsigned char out[MSG_LEN];
    uint64_t t0 = now_ns();
    for (; sent < window && sent < n; sent++) {
        msg_make(out, (uint64_t)sent);
        send_or_fail(id, out, MSG_LEN);
    }
    while (got < n) {
        sock_msg m = wait1();
        if (m.id == MSG_SOCK_SEND_CNF) {
            expect_ok(&m, "send");
            continue;
        }
        if (m.id != MSG_SOCK_RECV_IND) fail("unexpected message %d", m.id);
        int r = sock_recv(id, rbuf, 2048);
        if (r != MSG_LEN) fail("sock_recv gave %d", r);
        msg_make(out, (uint64_t)got);
        if (memcmp(rbuf, out, MSG_LEN) != 0) fail("datagram %ld differs or is out of order", got);
        got++;
        if (sent < n) {
            msg_make(out, (uint64_t)sent++);
            send_or_fail(id, out, MSG_LEN);
        }
    }
    uint64_t t1 = now_ns();
    sock_counters c;
    if (sock_stats(id, &c) == 0 && c.datagrams_dropped) fail("%llu datagrams dropped", (unsigned long long)c.datagrams_dropped);
    result("dgrams_per_s=%.0f dgrams=%ld window=%ld", n * 1e9 / (double)(t1 - t0), n, window);
}

/* ---- TLS ---- */

static void tls_setup(void)
{
    const char *path = arg_str("ca", "");
    FILE *f = fopen(path, "r");
    if (!f) fail("CA file %s", path);
    static char pem[65536];
    size_t len = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[len] = 0;
    tls_cert.hostName = "localhost";
    tls_cert.caCert = pem;
}

static void tls_hs(void)
{
    long n = (long)arg_ll("hs", 1000);
    int port = (int)arg_ll("tls", 0);
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int id = open_conn(SOCK_TYPE_SSL, port, &tls_cert, 1);
        if (sock_tls_resumed(id) != 0) fail("handshake %ld was resumed, not full", i);
        close_conn(id);
    }
    uint64_t t1 = now_ns();
    result("hs_per_s=%.0f hs=%ld", n * 1e9 / (double)(t1 - t0), n);
}

int main(int argc, char **argv)
{
    client_init("socketcore", argc, argv);
    rbuf = malloc(IO_BUF);
    const char *w = argv[1];
    if (!strcmp(w, "upload")) bulk(SOCK_TYPE_TCP, (int)arg_ll("bulk", 0), NULL, 1);
    else if (!strcmp(w, "download")) bulk(SOCK_TYPE_TCP, (int)arg_ll("bulk", 0), NULL, 0);
    else if (!strcmp(w, "pingpong") || !strcmp(w, "pingpong_1cpu")) pingpong();
    else if (!strcmp(w, "fanout")) fanout_run(0);
    else if (!strcmp(w, "fanout_held")) fanout_run(1);
    else if (!strcmp(w, "lifecycle")) lifecycle();
    else if (!strcmp(w, "udp")) udp();
    else if (!strcmp(w, "scaling")) scaling();
    else if (!strncmp(w, "tls_", 4)) {
        tls_setup();
        if (!strcmp(w, "tls_up")) bulk(SOCK_TYPE_SSL, (int)arg_ll("tls", 0), &tls_cert, 1);
        else if (!strcmp(w, "tls_down")) bulk(SOCK_TYPE_SSL, (int)arg_ll("tls", 0), &tls_cert, 0);
        else if (!strcmp(w, "tls_hs")) tls_hs();
        else fail("unknown workload");
    } else fail("unknown workload");
    sock_shutdown();
    return 0;
}
