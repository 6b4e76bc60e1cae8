/*
 * bench_server [cert=PEM key=PEM] [seconds=N]: the one local server every benchmark client
 * talks to, so that only the client differs. 127.0.0.1 only. Prints on its first line
 *     ports bulk=P echo=P udp=P tls=P
 * (tls=0 without cert/key) and serves until SIGTERM or N seconds (default 7200).
 *
 *   bulk  TCP, the protocol of common.h (sink / source, pattern checked); a thread per connection
 *   echo  TCP echo on one epoll thread (non-blocking, level-triggered): ping-pong, fan-out, idle
 *   udp   UDP echo, one thread
 *   tls   the bulk protocol over TLS (libssl, TLS 1.2-1.3, no session tickets or cache, so
 *         every handshake is a full one); a thread per connection
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct listener { int fd; SSL_CTX *ctx; }; /* ctx NULL: plain TCP */

static int listen_on(int type, struct sockaddr_in *a)
{
    int one = 1, fd = socket(AF_INET, type, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t n = sizeof *a;
    if (bind(fd, (struct sockaddr *)a, sizeof *a) < 0 || (type == SOCK_STREAM && listen(fd, 65535) < 0)
        || getsockname(fd, (struct sockaddr *)a, &n) < 0) {
        perror("bench_server: listen");
        exit(1);
    }
    return fd;
}

/* ---- bulk: plain or TLS, one thread per connection ---- */

struct bconn { int fd; SSL *ssl; };

static long b_read(struct bconn *c, void *buf, size_t len)
{
    if (c->ssl) {
        size_t n = 0;
        int r = SSL_read_ex(c->ssl, buf, len, &n);
        return r == 1 ? (long)n : 0; /* close_notify, EOF or error: the stream is over */
    }
    for (;;) {
        ssize_t n = read(c->fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? 0 : n;
    }
}

static int b_write(struct bconn *c, const void *buf, size_t len)
{
    if (c->ssl) {
        size_t n = 0;
        return SSL_write_ex(c->ssl, buf, len, &n) == 1 && n == len;
    }
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(c->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static int b_read_full(struct bconn *c, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        long n = b_read(c, buf + got, len - got);
        if (n <= 0) return 0;
        got += (size_t)n;
    }
    return 1;
}

static void *bulk_conn(void *arg)
{
    struct listener *l = arg;
    struct bconn c = { .fd = l->fd };
    SSL_CTX *tls_ctx = l->ctx;
    free(l);
    static const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned char *buf = malloc(IO_BUF);
    unsigned char hdr[HDR_LEN];
    if (!buf) goto out;
    if (tls_ctx) {
        c.ssl = SSL_new(tls_ctx);
        if (!c.ssl || !SSL_set_fd(c.ssl, c.fd) || SSL_accept(c.ssl) != 1) goto out;
    }
    if (!b_read_full(&c, hdr, HDR_LEN)) goto done; /* a bare handshake, or a client gone */
    uint64_t op = get_u64(hdr), n = get_u64(hdr + 8);
    if (op == OP_SINK) {
        uint64_t got = 0, bad = 0;
        while (got < n) {
            size_t want = n - got < IO_BUF ? (size_t)(n - got) : IO_BUF;
            long r = b_read(&c, buf, want);
            if (r <= 0) break;
            if (!pat_check(buf, (size_t)r, got)) bad++;
            got += (uint64_t)r;
        }
        put_u64(hdr, got);
        put_u64(hdr + 8, bad);
        if (got == n) b_write(&c, hdr, HDR_LEN);
    } else if (op == OP_SOURCE) {
        const size_t chunk = 64 * 1024;
        for (uint64_t off = 0; off < n;) {
            size_t len = n - off < chunk ? (size_t)(n - off) : chunk;
            if (!b_write(&c, pat_at(off), len)) goto out;
            off += len;
        }
    }
done:
    while (b_read(&c, buf, IO_BUF) > 0) {} /* until the client's EOF / close_notify */
    if (c.ssl) SSL_shutdown(c.ssl);
out:
    if (c.ssl) SSL_free(c.ssl);
    ERR_clear_error();
    close(c.fd);
    free(buf);
    return NULL;
}

static void *bulk_listener(void *arg)
{
    const struct listener *lis = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int fd = accept4(lis->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) usleep(1000);
            continue;
        }
        struct listener *l = malloc(sizeof *l);
        pthread_t t;
        if (!l) { close(fd); continue; }
        l->fd = fd;
        l->ctx = lis->ctx;
        if (pthread_create(&t, &attr, bulk_conn, l) != 0) { close(fd); free(l); }
    }
    return NULL;
}

/* ---- TCP echo: one epoll thread ---- */

struct econn { int fd; unsigned char *pend; size_t plen, pcap; };

static void echo_loop(int lfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK); /* accept until EAGAIN */
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[512];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static unsigned char buf[65536];
    static const int one = 1;
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            struct econn *c = evs[i].data.ptr;
            if (!c) { /* the listener */
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            int dead = 0;
            if (c->plen > 0) { /* EPOLLOUT: flush what the kernel refused before */
                ssize_t w = write(c->fd, c->pend, c->plen);
                if (w < 0 && errno != EAGAIN) dead = 1;
                if (w > 0) {
                    memmove(c->pend, c->pend + w, c->plen - (size_t)w);
                    c->plen -= (size_t)w;
                }
                if (!dead && c->plen == 0) {
                    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                }
            } else {
                ssize_t r = read(c->fd, buf, sizeof buf);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) dead = 1;
                if (r > 0) {
                    ssize_t w = write(c->fd, buf, (size_t)r);
                    if (w < 0 && errno != EAGAIN) dead = 1;
                    if (w < 0) w = 0;
                    if (!dead && w < r) { /* keep the rest, stop reading until it is out */
                        size_t rest = (size_t)(r - w);
                        if (c->pcap < rest) {
                            c->pend = realloc(c->pend, rest);
                            c->pcap = rest;
                        }
                        memcpy(c->pend, buf + w, rest);
                        c->plen = rest;
                        struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                    }
                }
            }
            if (dead) {
                close(c->fd); /* also leaves the epoll set */
                free(c->pend);
                free(c);
            }
        }
    }
}

/* ---- UDP echo ---- */

static void *udp_loop(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n >= 0) sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static void on_alarm(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv)
{
    args_init(argc, argv);
    pat_init();
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)arg_ll("seconds", 7200));

    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in bulk = a, echo = a, udp = a, tls = a;
    int bulk_fd = listen_on(SOCK_STREAM, &bulk);
    int echo_fd = listen_on(SOCK_STREAM, &echo);
    int udp_fd = listen_on(SOCK_DGRAM, &udp);
    int tls_fd = -1;
    SSL_CTX *tls_ctx = NULL;
    const char *cert = arg_str("cert", NULL), *key = arg_str("key", NULL);
    if (cert && key) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
            || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
            || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        tls_ctx = ctx;
        tls_fd = listen_on(SOCK_STREAM, &tls);
    }
    printf("ports bulk=%d echo=%d udp=%d tls=%d\n", ntohs(bulk.sin_port), ntohs(echo.sin_port),
           ntohs(udp.sin_port), tls_fd >= 0 ? ntohs(tls.sin_port) : 0);
    fflush(stdout);

    pthread_t t;
    static struct listener plain_l, tls_l;
    plain_l.fd = bulk_fd;
    tls_l.fd = tls_fd;
    tls_l.ctx = tls_ctx;
    pthread_create(&t, NULL, udp_loop, (void *)(intptr_t)udp_fd);
    pthread_create(&t, NULL, bulk_listener, &plain_l);
    if (tls_fd >= 0) pthread_create(&t, NULL, bulk_listener, &tls_l);
    echo_loop(echo_fd);
    return 0;
}
