/*
 * client_raw WORKLOAD key=value...: the physical limit. Plain blocking sockets, one call per
 * operation, no library: upload, download, pingpong (and pingpong_1cpu, the same pinned by
 * scripts/bench.sh), udp, scaling, lifecycle. fanout and fanout_held need thousands of
 * connections in flight at once, which blocking calls cannot do, so they are hand-written
 * non-blocking epoll (still no library). tls_up, tls_down, tls_hs: a blocking OpenSSL (libssl)
 * client, the reference for socketcore's TLS.
 *
 * Keys: bulk= echo= udp= tls= (server ports), bytes= chunk= iters= warm= conns= idle=
 *       dgrams= window= cwin= n= hs= ca= timeout= (see scripts/bench.sh).
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr_of(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int tcp_connect(int port, int nodelay)
{
    struct sockaddr_in a = addr_of(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: %s", strerror(errno));
    if (nodelay) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) fail("connect: %s", strerror(errno));
    return fd;
}

static void write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("write: %s", n < 0 ? strerror(errno) : "0");
        p += n;
        len -= (size_t)n;
    }
}

static void read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("read: %s", n < 0 ? strerror(errno) : "unexpected EOF");
        p += n;
        len -= (size_t)n;
    }
}

static unsigned char *rbuf;

static void upload(void)
{
    uint64_t n = (uint64_t)arg_ll("bytes", 1 << 30);
    size_t chunk = (size_t)arg_ll("chunk", 65536);
    int fd = tcp_connect((int)arg_ll("bulk", 0), 0);
    unsigned char hdr[HDR_LEN];
    put_u64(hdr, OP_SINK);
    put_u64(hdr + 8, n);
    uint64_t t0 = now_ns();
    write_full(fd, hdr, HDR_LEN);
    for (uint64_t off = 0; off < n;) {
        size_t len = n - off < chunk ? (size_t)(n - off) : chunk;
        write_full(fd, pat_at(off), len);
        off += len;
    }
    read_full(fd, hdr, HDR_LEN);
    uint64_t t1 = now_ns();
    if (get_u64(hdr) != n || get_u64(hdr + 8) != 0)
        fail("server got %llu bytes, %llu bad chunks", (unsigned long long)get_u64(hdr),
             (unsigned long long)get_u64(hdr + 8));
    close(fd);
    result("mbps=%.1f bytes=%llu", mbps(n, t1 - t0), (unsigned long long)n);
}

static void download(void)
{
    uint64_t n = (uint64_t)arg_ll("bytes", 1 << 30), got = 0;
    int fd = tcp_connect((int)arg_ll("bulk", 0), 0);
    unsigned char hdr[HDR_LEN];
    put_u64(hdr, OP_SOURCE);
    put_u64(hdr + 8, n);
    uint64_t t0 = now_ns();
    write_full(fd, hdr, HDR_LEN);
    while (got < n) {
        ssize_t r = read(fd, rbuf, n - got < IO_BUF ? (size_t)(n - got) : IO_BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) fail("read after %llu bytes: %s", (unsigned long long)got,
                         r < 0 ? strerror(errno) : "EOF");
        if (!pat_check(rbuf, (size_t)r, got)) fail("corrupt data at %llu", (unsigned long long)got);
        got += (uint64_t)r;
    }
    uint64_t t1 = now_ns();
    close(fd);
    result("mbps=%.1f bytes=%llu", mbps(n, t1 - t0), (unsigned long long)n);
}

/* iters timed round trips after warm untimed ones; latencies in lat (ns). */
static void pingpong_on(int fd, long warm, long iters, uint64_t *lat)
{
    unsigned char out[MSG_LEN], in[MSG_LEN];
    for (long i = 0; i < warm + iters; i++) {
        msg_make(out, (uint64_t)i);
        uint64_t t = now_ns();
        write_full(fd, out, MSG_LEN);
        read_full(fd, in, MSG_LEN);
        if (i >= warm) lat[i - warm] = now_ns() - t;
        if (memcmp(in, out, MSG_LEN) != 0) fail("echo %ld differs", i);
    }
}

static void pingpong(void)
{
    long iters = (long)arg_ll("iters", 100000), warm = (long)arg_ll("warm", 1000);
    uint64_t *lat = malloc(sizeof *lat * (size_t)iters);
    int fd = tcp_connect((int)arg_ll("echo", 0), 1);
    pingpong_on(fd, warm, iters, lat);
    close(fd);
    char s[256];
    result("%s iters=%ld", fmt_latency(s, sizeof s, "", lat, (size_t)iters), iters);
}

static void scaling(void)
{
    long iters = (long)arg_ll("iters", 50000), warm = (long)arg_ll("warm", 1000);
    long idle = (long)arg_ll("idle", 10000);
    int port = (int)arg_ll("echo", 0);
    uint64_t *lat = malloc(sizeof *lat * (size_t)iters);
    int fd = tcp_connect(port, 1);
    char a[256], b[256];
    pingpong_on(fd, warm, iters, lat);
    fmt_latency(a, sizeof a, "none_", lat, (size_t)iters);
    uint64_t p50_none = percentile(lat, (size_t)iters, 50);
    long rss0 = status_kb("VmRSS");
    int *fds = malloc(sizeof *fds * (size_t)idle);
    for (long i = 0; i < idle; i++) fds[i] = tcp_connect(port, 0);
    long rss1 = status_kb("VmRSS");
    pingpong_on(fd, warm, iters, lat);
    fmt_latency(b, sizeof b, "idle_", lat, (size_t)iters);
    uint64_t p50_idle = percentile(lat, (size_t)iters, 50);
    result("%s %s ratio=%.3f idle=%ld idle_bytes_per_conn=%.0f", a, b,
           (double)p50_idle / (double)p50_none, idle, (rss1 - rss0) * 1024.0 / (double)idle);
    for (long i = 0; i < idle; i++) close(fds[i]);
    close(fd);
}

/* fanout: all connections started at once, each connect + 64-byte echo + close.
 * fanout_held (held=1): at most cwin connects in flight, every connection kept open until all
 * have their echo, then all closed. */
struct fconn { int fd; int connected; int got; unsigned char in[MSG_LEN]; };

static void fanout_run(int held)
{
    long n = (long)arg_ll("conns", 10000);
    long cwin = held ? (long)arg_ll("cwin", 1000) : n;
    long started = 0, connected = 0, echoed = 0;
    struct sockaddr_in a = addr_of((int)arg_ll("echo", 0));
    struct fconn *c = calloc((size_t)n, sizeof *c);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event evs[1024];
    uint64_t t0 = now_ns();
    while (echoed < n) {
        for (; started < n && started - connected < cwin; started++) {
            struct fconn *f = &c[started];
            f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (f->fd < 0) fail("socket %ld: %s", started, strerror(errno));
            if (connect(f->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
                fail("connect %ld: %s", started, strerror(errno));
            struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)started };
            epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev);
        }
        int k = epoll_wait(ep, evs, 1024, -1);
        for (int j = 0; j < k; j++) {
            long i = (long)evs[j].data.u64;
            struct fconn *f = &c[i];
            if (!f->connected) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) fail("connect %ld: %s", i, strerror(err));
                f->connected = 1;
                connected++;
                unsigned char out[MSG_LEN];
                msg_make(out, (uint64_t)i);
                if (write(f->fd, out, MSG_LEN) != MSG_LEN) fail("write %ld", i);
                struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i };
                epoll_ctl(ep, EPOLL_CTL_MOD, f->fd, &ev);
                continue;
            }
            ssize_t r = read(f->fd, f->in + f->got, (size_t)(MSG_LEN - f->got));
            if (r < 0 && errno == EAGAIN) continue;
            if (r <= 0) fail("read %ld: %s", i, r < 0 ? strerror(errno) : "EOF");
            f->got += (int)r;
            if (f->got == MSG_LEN) {
                unsigned char out[MSG_LEN];
                msg_make(out, (uint64_t)i);
                if (memcmp(out, f->in, MSG_LEN) != 0) fail("echo %ld differs", i);
                echoed++;
                if (!held) close(f->fd);
            }
        }
    }
    if (held)
        for (long i = 0; i < n; i++) close(c[i].fd);
    fanout_result(now_ns() - t0, n, held ? cwin : 0);
    close(ep);
    free(c);
}

/* One blocking TCP lifecycle after another (connect, 64 B echo, close): the syscall floor
 * beside socketcore's in scripts/count-syscalls.sh. */
static void lifecycle(void)
{
    long n = (long)arg_ll("n", 100);
    int port = (int)arg_ll("echo", 0);
    unsigned char out[MSG_LEN], in[MSG_LEN];
    for (long i = 0; i < n; i++) {
        int fd = tcp_connect(port, 0);
        msg_make(out, (uint64_t)i);
        write_full(fd, out, MSG_LEN);
        read_full(fd, in, MSG_LEN);
        if (memcmp(in, out, MSG_LEN) != 0) fail("echo %ld differs", i);
        close(fd);
    }
    result("lifecycles=%ld", n);
}

static void udp(void)
{
    long n = (long)arg_ll("dgrams", 200000), window = (long)arg_ll("window", 32);
    struct sockaddr_in a = addr_of((int)arg_ll("udp", 0));
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) fail("udp socket: %s", strerror(errno));
    unsigned char out[MSG_LEN], in[2048];
    long sent = 0, got = 0;
    uint64_t t0 = now_ns();
    for (; sent < window && sent < n; sent++) {
        msg_make(out, (uint64_t)sent);
        if (send(fd, out, MSG_LEN, 0) != MSG_LEN) fail("send: %s", strerror(errno));
    }
    while (got < n) {
        ssize_t r = recv(fd, in, sizeof in, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r != MSG_LEN) fail("recv: %zd %s", r, r < 0 ? strerror(errno) : "bytes");
        msg_make(out, (uint64_t)got);
        if (memcmp(in, out, MSG_LEN) != 0) fail("datagram %ld differs or is out of order", got);
        got++;
        if (sent < n) {
            msg_make(out, (uint64_t)sent++);
            if (send(fd, out, MSG_LEN, 0) != MSG_LEN) fail("send: %s", strerror(errno));
        }
    }
    uint64_t t1 = now_ns();
    close(fd);
    result("dgrams_per_s=%.0f dgrams=%ld window=%ld", n * 1e9 / (double)(t1 - t0), n, window);
}

/* ---- TLS: a blocking OpenSSL client ---- */

static SSL_CTX *ctx;

static void tls_init(void)
{
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, arg_str("ca", ""), NULL) != 1)
        fail("TLS setup: CA file %s", arg_str("ca", "(none)"));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static SSL *tls_connect(int *fdp)
{
    int fd = tcp_connect((int)arg_ll("tls", 0), 1);
    SSL *ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, "localhost")
        || !SSL_set1_host(ssl, "localhost"))
        fail("SSL_new");
    if (SSL_connect(ssl) != 1) {
        ERR_print_errors_fp(stderr);
        fail("TLS handshake failed");
    }
    *fdp = fd;
    return ssl;
}

static void tls_close(SSL *ssl, int fd)
{
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
}

static void tls_write(SSL *ssl, const void *buf, size_t len)
{
    size_t n;
    if (SSL_write_ex(ssl, buf, len, &n) != 1 || n != len) fail("SSL_write");
}

static void tls_bulk(int up)
{
    uint64_t n = (uint64_t)arg_ll("bytes", 1 << 30), got = 0;
    size_t chunk = (size_t)arg_ll("chunk", 65536);
    int fd;
    tls_init();
    SSL *ssl = tls_connect(&fd);
    unsigned char hdr[HDR_LEN];
    put_u64(hdr, up ? OP_SINK : OP_SOURCE);
    put_u64(hdr + 8, n);
    uint64_t t0 = now_ns();
    tls_write(ssl, hdr, HDR_LEN);
    if (up) {
        for (uint64_t off = 0; off < n;) {
            size_t len = n - off < chunk ? (size_t)(n - off) : chunk;
            tls_write(ssl, pat_at(off), len);
            off += len;
        }
        size_t have = 0, r;
        while (have < HDR_LEN) {
            if (SSL_read_ex(ssl, hdr + have, HDR_LEN - have, &r) != 1) fail("SSL_read summary");
            have += r;
        }
        if (get_u64(hdr) != n || get_u64(hdr + 8) != 0) fail("server got corrupt or short data");
    } else {
        while (got < n) {
            size_t r;
            if (SSL_read_ex(ssl, rbuf, n - got < IO_BUF ? (size_t)(n - got) : IO_BUF, &r) != 1)
                fail("SSL_read after %llu bytes", (unsigned long long)got);
            if (!pat_check(rbuf, r, got)) fail("corrupt data at %llu", (unsigned long long)got);
            got += r;
        }
    }
    uint64_t t1 = now_ns();
    printf("INFO %s %s cipher=%s version=%s\n", up ? "tls_up" : "tls_down", "openssl",
           SSL_get_cipher_name(ssl), SSL_get_version(ssl));
    tls_close(ssl, fd);
    result("mbps=%.1f bytes=%llu", mbps(n, t1 - t0), (unsigned long long)n);
}

static void tls_hs(void)
{
    long n = (long)arg_ll("hs", 1000);
    tls_init();
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd;
        SSL *ssl = tls_connect(&fd);
        if (SSL_session_reused(ssl)) fail("handshake %ld was resumed, not full", i);
        if (i == n - 1)
            printf("INFO tls_hs openssl cipher=%s version=%s\n", SSL_get_cipher_name(ssl),
                   SSL_get_version(ssl));
        tls_close(ssl, fd);
    }
    uint64_t t1 = now_ns();
    result("hs_per_s=%.0f hs=%ld", n * 1e9 / (double)(t1 - t0), n);
}

int main(int argc, char **argv)
{
    client_init(strncmp(argv[argc > 1 ? 1 : 0], "tls", 3) == 0 ? "openssl" : "raw", argc, argv);
    rbuf = malloc(IO_BUF);
    const char *w = argv[1];
    if (!strcmp(w, "upload")) upload();
    else if (!strcmp(w, "download")) download();
    else if (!strcmp(w, "pingpong") || !strcmp(w, "pingpong_1cpu")) pingpong();
    else if (!strcmp(w, "fanout")) fanout_run(0);
    else if (!strcmp(w, "fanout_held")) fanout_run(1);
    else if (!strcmp(w, "lifecycle")) lifecycle();
    else if (!strcmp(w, "udp")) udp();
    else if (!strcmp(w, "scaling")) scaling();
    else if (!strcmp(w, "tls_up")) tls_bulk(1);
    else if (!strcmp(w, "tls_down")) tls_bulk(0);
    else if (!strcmp(w, "tls_hs")) tls_hs();
    else fail("unknown workload");
    return 0;
}
