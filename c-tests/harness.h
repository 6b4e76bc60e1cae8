/* Tiny test harness for the socketcore C tests (in the style of libuv's test/task.h):
 * assertions that print both sides, message helpers, and loopback servers run on threads.
 * Every wait is bounded: a test that hangs fails here, or at its CTest TIMEOUT. */
#ifndef HARNESS_H
#define HARNESS_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <socketcore.h>

/* How long a test waits for a message that must come (generous: valgrind is slow). */
#define WAIT_MS 10000

static inline void fail_now(void) {
    fflush(NULL);
    _exit(1);
}

#define ASSERT_CMP(a, op, b)                                                                   \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (!(a_ op b_)) {                                                                     \
            fprintf(stderr, "%s:%d: assertion failed: %s %s %s (%lld %s %lld)\n", __FILE__,    \
                    __LINE__, #a, #op, #b, a_, #op, b_);                                       \
            fail_now();                                                                        \
        }                                                                                      \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_CMP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_CMP(a, !=, b)
#define ASSERT_GE(a, b) ASSERT_CMP(a, >=, b)
#define ASSERT_GT(a, b) ASSERT_CMP(a, >, b)
#define ASSERT_LE(a, b) ASSERT_CMP(a, <=, b)
#define ASSERT_LT(a, b) ASSERT_CMP(a, <, b)
#define ASSERT(c) ASSERT_NE(!!(c), 0)
#define ASSERT_MEM_EQ(a, b, n) ASSERT_EQ(memcmp((a), (b), (n)), 0)
#define ASSERT_STR_EQ(a, b)                                                                    \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (strcmp(a_, b_) != 0) {                                                             \
            fprintf(stderr, "%s:%d: assertion failed: %s == %s (\"%s\" == \"%s\")\n",        \
                    __FILE__, __LINE__, #a, #b, a_, b_);                                       \
            fail_now();                                                                        \
        }                                                                                      \
    } while (0)
/* A refused call: its return value, then the reason sock_error(id) gives. */
#define ASSERT_REFUSED(call, ret, id, code)                                                    \
    do {                                                                                       \
        ASSERT_EQ(call, ret);                                                                  \
        ASSERT_EQ(sock_error(id), code);                                                       \
    } while (0)

static inline const char *msg_name(int id) {
    switch (id) {
    case MSG_SOCK_CONN_CNF: return "CONN_CNF";
    case MSG_SOCK_SEND_CNF: return "SEND_CNF";
    case MSG_SOCK_RECV_IND: return "RECV_IND";
    case MSG_SOCK_CLOSE_CNF: return "CLOSE_CNF";
    case MSG_SOCK_CLOSE_IND: return "CLOSE_IND";
    default: return "unknown message";
    }
}

/* In main(): TEST_INIT(argc, argv); RUN(a); RUN(b); return test_end();
 * Without arguments every test runs; with one, only the test of that name (CTest runs each in
 * its own process). After each test RUN checks that no message was left behind, then shuts the
 * library down, so the next test starts with ids from 0 and an empty ring, and valgrind finds
 * nothing held. */
static const char *only_test;
static int tests_run;

#define RUN(fn)                                                                                \
    do {                                                                                       \
        if (only_test && strcmp(only_test, #fn) != 0) break;                                   \
        printf("-- %s\n", #fn);                                                                \
        fflush(stdout);                                                                        \
        fn();                                                                                  \
        sock_msg left_;                                                                        \
        if (sock_wait_msg(&left_, 0) == 1) {                                                   \
            fprintf(stderr, "%s left a message: %s socket %d result %d\n", #fn,                \
                    msg_name(left_.id), left_.socket_index, left_.result);                     \
            fail_now();                                                                        \
        }                                                                                      \
        sock_shutdown();                                                                       \
        tests_run++;                                                                           \
        printf("ok %s\n", #fn);                                                                \
    } while (0)

/* Call first in main(argc, argv). */
#define TEST_INIT(argc, argv)                                                                  \
    do {                                                                                       \
        setvbuf(stdout, NULL, _IOLBF, 0);                                                      \
        only_test = (argc) > 1 ? (argv)[1] : NULL;                                             \
    } while (0)

/* main's return value: failure if the test named on the command line does not exist. */
static inline int test_end(void) {
    if (tests_run > 0) return 0;
    fprintf(stderr, "no test named %s\n", only_test ? only_test : "(none)");
    return 1;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The next message; fails the test if none comes within timeout_ms. */
static inline sock_msg wait_msg(int timeout_ms) {
    sock_msg m;
    memset(&m, 0, sizeof m);
    int r = sock_wait_msg(&m, timeout_ms);
    if (r != 1) {
        fprintf(stderr, "no message within %d ms (sock_wait_msg returned %d)\n", timeout_ms, r);
        fail_now();
    }
    return m;
}

/* The next message must be `kind` about socket `id` with `result`. */
#define EXPECT_MSG(kind, id, result) expect_msg_at(__FILE__, __LINE__, kind, id, result)
static inline sock_msg expect_msg_at(const char *file, int line, int kind, int id, int result) {
    sock_msg m = wait_msg(WAIT_MS);
    if (m.id != kind || m.socket_index != id || m.result != result) {
        fprintf(stderr, "%s:%d: expected %s socket %d result %d, got %s socket %d result %d\n",
                file, line, msg_name(kind), id, result, msg_name(m.id), m.socket_index,
                m.result);
        fail_now();
    }
    return m;
}

/* No message may arrive within ms (used to show that something does not happen). */
#define ASSERT_NO_MSG(ms)                                                                      \
    do {                                                                                       \
        sock_msg m_;                                                                           \
        int r_ = sock_wait_msg(&m_, (ms));                                                     \
        if (r_ != 0) {                                                                         \
            fprintf(stderr, "%s:%d: expected no message, got %d: %s socket %d result %d\n",    \
                    __FILE__, __LINE__, r_, msg_name(m_.id), m_.socket_index, m_.result);      \
            fail_now();                                                                        \
        }                                                                                      \
    } while (0)

static inline int conn_opts(int type, int port, const char *addr, const sock_conn_opts *opts) {
    return sock_conn_ext(type, port, addr, NULL, opts);
}

/* Opens a TCP/UDP socket to 127.0.0.1:port and waits for its CONN_CNF(0). */
static inline int connect_ok(int type, int port, const sock_conn_opts *opts) {
    int id = conn_opts(type, port, "127.0.0.1", opts);
    ASSERT_GE(id, 0);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    return id;
}

/* Sends `len` bytes and waits for the send's SEND_CNF(0). */
static inline void send_ok(int id, const void *data, size_t len) {
    ASSERT_EQ(sock_send(id, data, len), 1);
    sock_msg m = EXPECT_MSG(MSG_SOCK_SEND_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(m.send_len, len);
}

/* Reads exactly `len` stream bytes into buf, reading recv_len bytes at each RECV_IND. */
static inline void recv_exact(int id, void *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        sock_msg m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
        ASSERT_GT(m.recv_len, 0);
        ASSERT_LE(got + (size_t)m.recv_len, len);
        ASSERT_EQ(sock_recv(id, (char *)buf + got, (size_t)m.recv_len), m.recv_len);
        got += (size_t)m.recv_len;
    }
}

/* Byte i of a test stream: a pattern whose errors (loss, reordering, duplication) show. */
static inline unsigned char pattern(size_t i) {
    return (unsigned char)((i * 7 + i / 251) & 0xff);
}
static inline void fill_pattern(unsigned char *buf, size_t off, size_t len) {
    for (size_t i = 0; i < len; i++) buf[i] = pattern(off + i);
}
static inline int check_pattern(const unsigned char *buf, size_t off, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern(off + i)) return 0;
    return 1;
}

/* ---- loopback servers ---------------------------------------------------------------- */

/* TCP servers serve one connection at a time, in the order they connect. */
typedef enum {
    SRV_ECHO,       /* TCP: echoes each connection until EOF */
    SRV_RESET,      /* TCP: reads 1 byte, then closes with SO_LINGER 0 (a reset) */
    SRV_SEND_CLOSE, /* TCP: sends `n` pattern bytes, shuts down its side, reads until EOF */
    SRV_SINK,       /* TCP: does not read until released, then reads (counting) until EOF */
    SRV_UDP,        /* UDP: answers each datagram with `n` copies of it (n = 1: echo) */
} server_kind;

typedef struct server {
    server_kind kind;
    int family; /* AF_INET or AF_INET6 */
    int fd;     /* listening (TCP) or bound (UDP) socket */
    int port;
    size_t n;
    size_t received; /* SRV_SINK: bytes read in all; SRV_UDP: datagrams */
    int served;      /* TCP: connections served and closed */
    int ctl[2];      /* writing to ctl[1] releases a sink, then stops the server */
    int release_sent, released;
    pthread_t thread;
} server;

/* Waits until fd has `events` or the server is told to go on; returns 1 for fd, 0 for ctl. */
static inline int srv_wait(server *s, int fd, short events) {
    struct pollfd p[2] = {{fd, events, 0}, {s->ctl[0], POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        if (p[0].revents) return 1;
        if (p[1].revents) return 0;
    }
}

/* Writes all of buf unless the server is stopped meanwhile or the peer goes away. */
static inline void srv_write_all(server *s, int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0 && srv_wait(s, fd, POLLOUT)) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (w <= 0) return;
        p += w;
        len -= (size_t)w;
    }
}

static inline void srv_serve(server *s, int c, unsigned char *buf, size_t size) {
    ssize_t r;
    switch (s->kind) {
    case SRV_ECHO:
        while (srv_wait(s, c, POLLIN) && (r = read(c, buf, size)) > 0)
            srv_write_all(s, c, buf, (size_t)r);
        break;
    case SRV_RESET:
        if (srv_wait(s, c, POLLIN) && read(c, buf, 1) == 1) {
            struct linger lg = {1, 0};
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        break;
    case SRV_SEND_CLOSE:
        for (size_t off = 0; off < s->n; off += size) {
            size_t k = s->n - off < size ? s->n - off : size;
            fill_pattern(buf, off, k);
            srv_write_all(s, c, buf, k);
        }
        shutdown(c, SHUT_WR); /* the client sees an orderly end and may still send */
        while (srv_wait(s, c, POLLIN) && read(c, buf, size) > 0) continue;
        break;
    case SRV_SINK:
        if (read(s->ctl[0], buf, 1) != 1) break; /* held until released */
        s->released = 1; /* then reads to the end: the test closes its socket */
        while ((r = read(c, buf, size)) > 0)
            __atomic_add_fetch(&s->received, (size_t)r, __ATOMIC_SEQ_CST);
        break;
    case SRV_UDP: break;
    }
    close(c);
}

static inline void *srv_main(void *arg) {
    server *s = arg;
    size_t size = 65536;
    unsigned char *buf = malloc(size);
    ASSERT(buf != NULL);
    while (srv_wait(s, s->fd, POLLIN)) {
        if (s->kind == SRV_UDP) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t r = recvfrom(s->fd, buf, size, 0, (struct sockaddr *)&from, &fl);
            if (r < 0) continue;
            __atomic_add_fetch(&s->received, 1, __ATOMIC_SEQ_CST);
            for (size_t i = 0; i < s->n; i++)
                sendto(s->fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
            continue;
        }
        int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            srv_serve(s, c, buf, size);
            __atomic_add_fetch(&s->served, 1, __ATOMIC_SEQ_CST);
        }
        if (s->kind == SRV_SINK && s->released) break;
    }
    free(buf);
    return NULL;
}

/* A socket of `type` bound to the loopback address of `family`, port 0 (the kernel picks). */
static inline int loopback_socket(int family, int type, int *port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&ss, len), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Whether this host has an IPv6 loopback (containers often run without one). */
static inline int ipv6_available(void) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    if (!ok) printf("no IPv6 loopback on this host: its part of the test is skipped\n");
    return ok;
}

/* Starts a server on the loopback address of `family`. */
static inline server *server_start6(server_kind kind, size_t n, int family) {
    server *s = calloc(1, sizeof *s);
    ASSERT(s != NULL);
    s->kind = kind;
    s->n = n;
    s->family = family;
    s->fd = loopback_socket(family, kind == SRV_UDP ? SOCK_DGRAM : SOCK_STREAM, &s->port);
    if (kind == SRV_SINK) { /* small buffers, so that the client's sends back up soon */
        int small = 4096;
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    if (kind != SRV_UDP) ASSERT_EQ(listen(s->fd, 128), 0);
    ASSERT_EQ(pipe2(s->ctl, O_CLOEXEC), 0);
    ASSERT_EQ(pthread_create(&s->thread, NULL, srv_main, s), 0);
    return s;
}

static inline server *server_start(server_kind kind, size_t n) {
    return server_start6(kind, n, AF_INET);
}

/* Waits until the server has served and closed n connections. */
static inline void server_wait_served(server *s, int n) {
    for (int i = 0; i < 1000 && __atomic_load_n(&s->served, __ATOMIC_SEQ_CST) < n; i++)
        sleep_ms(10);
    ASSERT_EQ(__atomic_load_n(&s->served, __ATOMIC_SEQ_CST), n);
}

/* SRV_SINK: lets it read (once; later calls do nothing). */
static inline void server_release(server *s) {
    if (s->release_sent++ == 0) ASSERT_EQ(write(s->ctl[1], "r", 1), 1);
}

/* Stops the server (releasing a sink first), joins its thread and frees it. Returns what it
 * counted: bytes read by a sink, datagrams received by a UDP server. */
static inline size_t server_stop(server *s) {
    if (s->kind == SRV_SINK) server_release(s);
    ASSERT_EQ(write(s->ctl[1], "s", 1), 1);
    pthread_join(s->thread, NULL);
    size_t counted = s->received;
    close(s->fd);
    close(s->ctl[0]);
    close(s->ctl[1]);
    free(s);
    return counted;
}

/* A port where connections are refused: bound, never listening. Close *fd when done. */
static inline int refused_port(int *fd) {
    int port;
    *fd = loopback_socket(AF_INET, SOCK_STREAM, &port);
    return port;
}

/* A port where connects hang: a listener with backlog 0 that never accepts, its accept queue
 * filled by our own connects until one of them hangs too (its SYN is dropped). Close the
 * returned fds (fds[0] is the listener) when done; *count says how many. */
static inline int hanging_port(int fds[16], int *count) {
    int port;
    fds[0] = loopback_socket(AF_INET, SOCK_STREAM, &port);
    ASSERT_EQ(listen(fds[0], 0), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (*count = 1; *count < 16;) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ASSERT_GE(c, 0);
        fds[(*count)++] = c;
        if (connect(c, (struct sockaddr *)&a, sizeof a) == 0) continue;
        ASSERT_EQ(errno, EINPROGRESS);
        struct pollfd p = {c, POLLOUT, 0};
        if (poll(&p, 1, 1000) == 0) return port; /* this one hangs: so will the next */
    }
    fprintf(stderr, "could not fill the accept queue of a backlog-0 listener\n");
    fail_now();
    return -1;
}

static inline void close_fds(int *fds, int count) {
    for (int i = 0; i < count; i++) close(fds[i]);
}

#endif /* HARNESS_H */
