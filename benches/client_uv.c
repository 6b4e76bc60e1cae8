/*
 * client_uv WORKLOAD key=value...: the same workloads written the way a libuv user would:
 * one loop, uv_write with a bounded amount in flight (the 256 KiB socketcore queues by default),
 * reads into one 256 KiB buffer, uv_udp_try_send (uv_udp_send when the kernel pushes back).
 * Workloads and keys as client_raw (no TLS: libuv has none).
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_loop_t *loop;
static unsigned char *rbuf;
static struct sockaddr_in addr_bulk, addr_echo, addr_udp;

#define CHECK(call)                                                                            \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ < 0) fail("%s: %s", #call, uv_strerror(rc_));                                  \
    } while (0)

static void alloc_big(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    *b = uv_buf_init((char *)rbuf, IO_BUF);
}

static void run_until_stopped(void) { uv_run(loop, UV_RUN_DEFAULT); }

/* ---- bulk ---- */

static struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t hreq;
    int up;
    uint64_t n, off, got, inflight, t0, t1;
    size_t chunk, limit;
    unsigned char hdr[HDR_LEN], sum[HDR_LEN];
    size_t sum_len;
    uv_write_t *free_reqs[64];
    int nfree;
} B;

static void pump(void);

static void on_data_written(uv_write_t *req, int status)
{
    if (status < 0) fail("write: %s", uv_strerror(status));
    B.inflight -= (uint64_t)(uintptr_t)req->data;
    B.free_reqs[B.nfree++] = req;
    pump();
}

static void pump(void)
{
    while (B.off < B.n && B.inflight < B.limit && B.nfree > 0) {
        size_t len = B.n - B.off < B.chunk ? (size_t)(B.n - B.off) : B.chunk;
        uv_write_t *req = B.free_reqs[--B.nfree];
        req->data = (void *)(uintptr_t)len;
        uv_buf_t b = uv_buf_init((char *)pat_at(B.off), (unsigned)len);
        B.inflight += len;
        B.off += len;
        CHECK(uv_write(req, (uv_stream_t *)&B.tcp, &b, 1, on_data_written));
    }
}

static void on_hdr_written(uv_write_t *req, int status)
{
    (void)req;
    if (status < 0) fail("write header: %s", uv_strerror(status));
}

static void on_bulk_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)s;
    if (nread == 0) return;
    if (nread < 0) fail("read: %s", uv_strerror((int)nread));
    if (B.up) {
        if (B.sum_len + (size_t)nread > HDR_LEN) fail("unexpected bytes from the server");
        memcpy(B.sum + B.sum_len, buf->base, (size_t)nread);
        B.sum_len += (size_t)nread;
        if (B.sum_len < HDR_LEN) return;
        if (get_u64(B.sum) != B.n || get_u64(B.sum + 8) != 0) fail("server got corrupt or short data");
    } else {
        if (B.got + (uint64_t)nread > B.n) fail("more bytes than asked for");
        if (!pat_check(buf->base, (size_t)nread, B.got)) fail("corrupt data at %llu", (unsigned long long)B.got);
        B.got += (uint64_t)nread;
        if (B.got < B.n) return;
    }
    B.t1 = now_ns();
    uv_read_stop((uv_stream_t *)&B.tcp);
    uv_close((uv_handle_t *)&B.tcp, NULL);
}

static void on_bulk_connect(uv_connect_t *req, int status)
{
    (void)req;
    if (status < 0) fail("connect: %s", uv_strerror(status));
    CHECK(uv_read_start((uv_stream_t *)&B.tcp, alloc_big, on_bulk_read));
    put_u64(B.hdr, B.up ? OP_SINK : OP_SOURCE);
    put_u64(B.hdr + 8, B.n);
    B.t0 = now_ns();
    uv_buf_t b = uv_buf_init((char *)B.hdr, HDR_LEN);
    CHECK(uv_write(&B.hreq, (uv_stream_t *)&B.tcp, &b, 1, on_hdr_written));
    if (B.up) pump();
}

static void bulk(int up)
{
    B.up = up;
    B.n = (uint64_t)arg_ll("bytes", 1 << 30);
    B.chunk = (size_t)arg_ll("chunk", 65536);
    B.limit = 256 * 1024;
    for (int i = 0; i < 64; i++) B.free_reqs[B.nfree++] = malloc(sizeof(uv_write_t));
    CHECK(uv_tcp_init(loop, &B.tcp));
    CHECK(uv_tcp_connect(&B.creq, &B.tcp, (struct sockaddr *)&addr_bulk, on_bulk_connect));
    run_until_stopped();
    if (B.t1 == 0) fail("did not finish");
    result("mbps=%.1f bytes=%llu", mbps(B.n, B.t1 - B.t0), (unsigned long long)B.n);
}

/* ---- ping-pong (also the scaling workload's probe) ---- */

static struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    long i, warm, iters;
    uint64_t t, *lat;
    unsigned char out[MSG_LEN], in[MSG_LEN];
    int got;
} P;

static void pp_written(uv_write_t *req, int status)
{
    (void)req;
    if (status < 0) fail("write: %s", uv_strerror(status));
}

static void pp_send(void)
{
    msg_make(P.out, (uint64_t)P.i);
    P.got = 0;
    P.t = now_ns();
    uv_buf_t b = uv_buf_init((char *)P.out, MSG_LEN);
    CHECK(uv_write(&P.wreq, (uv_stream_t *)&P.tcp, &b, 1, pp_written));
}

static void pp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)s;
    if (nread == 0) return;
    if (nread < 0) fail("read: %s", uv_strerror((int)nread));
    if (P.got + nread > MSG_LEN) fail("more than one echo");
    memcpy(P.in + P.got, buf->base, (size_t)nread);
    P.got += (int)nread;
    if (P.got < MSG_LEN) return;
    uint64_t t = now_ns();
    if (memcmp(P.in, P.out, MSG_LEN) != 0) fail("echo %ld differs", P.i);
    if (P.i >= P.warm) P.lat[P.i - P.warm] = t - P.t;
    if (++P.i < P.warm + P.iters) return pp_send();
    uv_stop(loop);
}

static void pp_connected(uv_connect_t *req, int status)
{
    (void)req;
    if (status < 0) fail("connect: %s", uv_strerror(status));
    uv_stop(loop);
}

static void pp_open(void)
{
    CHECK(uv_tcp_init(loop, &P.tcp));
    CHECK(uv_tcp_nodelay(&P.tcp, 1));
    CHECK(uv_tcp_connect(&P.creq, &P.tcp, (struct sockaddr *)&addr_echo, pp_connected));
    run_until_stopped();
    CHECK(uv_read_start((uv_stream_t *)&P.tcp, alloc_big, pp_read));
}

static void pp_run(void)
{
    P.i = 0;
    pp_send();
    run_until_stopped();
    if (P.i != P.warm + P.iters) fail("ping-pong stopped early");
}

static void pingpong(void)
{
    P.iters = (long)arg_ll("iters", 100000);
    P.warm = (long)arg_ll("warm", 1000);
    P.lat = malloc(sizeof *P.lat * (size_t)P.iters);
    pp_open();
    pp_run();
    char s[256];
    result("%s iters=%ld", fmt_latency(s, sizeof s, "", P.lat, (size_t)P.iters), P.iters);
}

/* ---- fan-out and idle connections ---- */

struct fconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    long i;
    int got;
    unsigned char out[MSG_LEN], in[MSG_LEN];
};
static long f_n, f_done, f_connected;
static uint64_t f_t1;

static void f_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct fconn *c = h->data;
    *b = uv_buf_init((char *)c->in + c->got, (unsigned)(MSG_LEN - c->got));
}

static void f_closed(uv_handle_t *h)
{
    (void)h;
    if (++f_done == f_n) {
        f_t1 = now_ns();
        uv_stop(loop);
    }
}

/* fanout: all connections started at once, each closed as soon as its echo is back.
 * fanout_held (f_held): at most f_cwin connects in flight; a connection whose echo is complete
 * stays open until all n have theirs, then all are closed. */
static long f_started, f_echoed, f_cwin;
static int f_held;
static struct fconn *f_conns;
static void f_connect(uv_connect_t *req, int status);

static void f_start_more(void)
{
    for (; f_started < f_n && f_started - f_connected < f_cwin; f_started++) {
        struct fconn *c = &f_conns[f_started];
        c->i = f_started;
        c->tcp.data = c->creq.data = c;
        CHECK(uv_tcp_init(loop, &c->tcp));
        CHECK(uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr_echo, f_connect));
    }
}

static void f_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct fconn *c = s->data;
    if (nread == 0) return;
    if (nread < 0) fail("read %ld: %s", c->i, uv_strerror((int)nread));
    c->got += (int)nread;
    if (c->got < MSG_LEN) return;
    if (memcmp(c->in, c->out, MSG_LEN) != 0) fail("echo %ld differs", c->i);
    f_echoed++;
    if (!f_held) {
        uv_close((uv_handle_t *)&c->tcp, f_closed);
        return;
    }
    uv_read_stop(s); /* held open, nothing more to read (libuv would offer an empty buffer) */
    if (f_echoed == f_n)
        for (long i = 0; i < f_n; i++) uv_close((uv_handle_t *)&f_conns[i].tcp, f_closed);
}

static void f_written(uv_write_t *req, int status)
{
    (void)req;
    if (status < 0) fail("write: %s", uv_strerror(status));
}

static void f_connect(uv_connect_t *req, int status)
{
    struct fconn *c = req->data;
    if (status < 0) fail("connect %ld: %s", c->i, uv_strerror(status));
    f_connected++;
    CHECK(uv_read_start((uv_stream_t *)&c->tcp, f_alloc, f_read));
    msg_make(c->out, (uint64_t)c->i);
    uv_buf_t b = uv_buf_init((char *)c->out, MSG_LEN);
    CHECK(uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, f_written));
    f_start_more();
}

static void fanout_run(int held)
{
    f_n = (long)arg_ll("conns", 10000);
    f_held = held;
    f_cwin = held ? (long)arg_ll("cwin", 1000) : f_n;
    f_conns = calloc((size_t)f_n, sizeof *f_conns);
    uint64_t t0 = now_ns();
    f_start_more();
    run_until_stopped();
    if (f_done != f_n) fail("only %ld of %ld connections finished", f_done, f_n);
    fanout_result(f_t1 - t0, f_n, held ? f_cwin : 0);
}

static void idle_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)s;
    (void)buf;
    if (nread != 0) fail("an idle connection got %zd", nread);
}

static void idle_connect(uv_connect_t *req, int status)
{
    if (status < 0) fail("idle connect: %s", uv_strerror(status));
    CHECK(uv_read_start(req->handle, alloc_big, idle_read));
    if (++f_connected == f_n) uv_stop(loop);
}

static void scaling(void)
{
    P.iters = (long)arg_ll("iters", 50000);
    P.warm = (long)arg_ll("warm", 1000);
    P.lat = malloc(sizeof *P.lat * (size_t)P.iters);
    f_n = (long)arg_ll("idle", 10000);
    char a[256], b[256];
    pp_open();
    pp_run();
    fmt_latency(a, sizeof a, "none_", P.lat, (size_t)P.iters);
    uint64_t p50_none = percentile(P.lat, (size_t)P.iters, 50);
    long rss0 = status_kb("VmRSS");
    /* What a libuv application allocates per idle connection: its handle and connect request. */
    for (long i = 0; i < f_n; i++) {
        uv_tcp_t *t = malloc(sizeof *t);
        uv_connect_t *r = malloc(sizeof *r);
        CHECK(uv_tcp_init(loop, t));
        CHECK(uv_tcp_connect(r, t, (struct sockaddr *)&addr_echo, idle_connect));
    }
    run_until_stopped();
    long rss1 = status_kb("VmRSS");
    pp_run();
    fmt_latency(b, sizeof b, "idle_", P.lat, (size_t)P.iters);
    uint64_t p50_idle = percentile(P.lat, (size_t)P.iters, 50);
    result("%s %s ratio=%.3f idle=%ld idle_bytes_per_conn=%.0f", a, b,
           (double)p50_idle / (double)p50_none, f_n, (rss1 - rss0) * 1024.0 / (double)f_n);
}

/* ---- UDP ---- */

static struct {
    uv_udp_t udp;
    long n, window, sent, got;
    uint64_t t1;
    unsigned char out[MSG_LEN];
} U;

struct usend { uv_udp_send_t req; unsigned char data[MSG_LEN]; };

static void u_sent(uv_udp_send_t *req, int status)
{
    if (status < 0) fail("udp send: %s", uv_strerror(status));
    free(req->data);
}

static void u_send_next(void)
{
    unsigned char m[MSG_LEN];
    msg_make(m, (uint64_t)U.sent++);
    uv_buf_t b = uv_buf_init((char *)m, MSG_LEN);
    int r = uv_udp_try_send(&U.udp, &b, 1, NULL);
    if (r == MSG_LEN) return;
    if (r != UV_EAGAIN) fail("uv_udp_try_send: %s", uv_strerror(r));
    struct usend *s = malloc(sizeof *s); /* the kernel pushed back: queue it */
    memcpy(s->data, m, MSG_LEN);
    s->req.data = s;
    b = uv_buf_init((char *)s->data, MSG_LEN);
    CHECK(uv_udp_send(&s->req, &U.udp, &b, 1, NULL, u_sent));
}

static void u_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                   unsigned flags)
{
    (void)h;
    (void)from;
    (void)flags;
    if (nread == 0) return;
    if (nread != MSG_LEN) fail("udp recv: %zd", nread);
    msg_make(U.out, (uint64_t)U.got);
    if (memcmp(buf->base, U.out, MSG_LEN) != 0) fail("datagram %ld differs or is out of order", U.got);
    if (++U.got == U.n) {
        U.t1 = now_ns();
        uv_udp_recv_stop(&U.udp);
        uv_stop(loop);
        return;
    }
    if (U.sent < U.n) u_send_next();
}

static void udp(void)
{
    U.n = (long)arg_ll("dgrams", 200000);
    U.window = (long)arg_ll("window", 32);
    CHECK(uv_udp_init(loop, &U.udp));
    CHECK(uv_udp_connect(&U.udp, (struct sockaddr *)&addr_udp));
    CHECK(uv_udp_recv_start(&U.udp, alloc_big, u_recv));
    uint64_t t0 = now_ns();
    while (U.sent < U.window && U.sent < U.n) u_send_next();
    run_until_stopped();
    if (U.got != U.n) fail("only %ld of %ld datagrams", U.got, U.n);
    result("dgrams_per_s=%.0f dgrams=%ld window=%ld", U.n * 1e9 / (double)(U.t1 - t0), U.n, U.window);
}

int main(int argc, char **argv)
{
    client_init("libuv", argc, argv);
    rbuf = malloc(IO_BUF);
    loop = uv_default_loop();
    CHECK(uv_ip4_addr("127.0.0.1", (int)arg_ll("bulk", 0), &addr_bulk));
    CHECK(uv_ip4_addr("127.0.0.1", (int)arg_ll("echo", 0), &addr_echo));
    CHECK(uv_ip4_addr("127.0.0.1", (int)arg_ll("udp", 0), &addr_udp));
    const char *w = argv[1];
    if (!strcmp(w, "upload")) bulk(1);
    else if (!strcmp(w, "download")) bulk(0);
    else if (!strcmp(w, "pingpong") || !strcmp(w, "pingpong_1cpu")) pingpong();
    else if (!strcmp(w, "fanout")) fanout_run(0);
    else if (!strcmp(w, "fanout_held")) fanout_run(1);
    else if (!strcmp(w, "udp")) udp();
    else if (!strcmp(w, "scaling")) scaling();
    else fail("unknown workload for libuv");
    return 0;
}
