/* The bad-input list of issue 2 (semantics 11): every call gets its documented code, nothing
 * crashes, and nothing changes: no socket is made, no message is posted, a live socket keeps
 * working. */
#include "harness.h"
#include <limits.h>

/* Every argument sock_conn / sock_conn_ext refuses: -1 / -SOCK_ERR_EARG, and no id is used. */
static void bad_conn_args(void) {
    static char long_addr[SOCK_MAX_ADDR_LEN + 2];
    memset(long_addr, 'a', SOCK_MAX_ADDR_LEN + 1); /* 256 bytes */
    const int types[] = {-1, 3, 5, 99, INT_MIN, INT_MAX};
    const int ports[] = {0, -1, 65536, INT_MIN, INT_MAX};
    const char *addrs[] = {NULL, "", long_addr, "\xff\xfe\xfd", "127.0.0.\x80"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        ASSERT_EQ(sock_conn(types[i], 80, "127.0.0.1", NULL), -1);
        ASSERT_EQ(sock_conn_ext(types[i], 80, "127.0.0.1", NULL, NULL), -SOCK_ERR_EARG);
    }
    for (int type = SOCK_TYPE_TCP; type <= SOCK_TYPE_UDP; type++) {
        for (size_t i = 0; i < sizeof ports / sizeof *ports; i++) {
            ASSERT_EQ(sock_conn(type, ports[i], "127.0.0.1", NULL), -1);
            ASSERT_EQ(sock_conn_ext(type, ports[i], "127.0.0.1", NULL, NULL), -SOCK_ERR_EARG);
        }
        for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
            ASSERT_EQ(sock_conn(type, 80, addrs[i], NULL), -1);
            ASSERT_EQ(sock_conn_ext(type, 80, addrs[i], NULL, NULL), -SOCK_ERR_EARG);
        }
    }
    /* Out-of-range settings. */
    for (int k = 0; k < 9; k++) {
        sock_conn_opts o;
        sock_conn_opts_init(&o);
        switch (k) {
        case 0: o.size = 0; break;
        case 1: o.rcv_buf_size = -1; break;
        case 2: o.rcv_buf_size = SOCK_MAX_BUF + 1; break;
        case 3: o.snd_buf_size = -1; break;
        case 4: o.connect_timeout_ms = -5; break;
        case 5: o.local_port = 65536; break;
        case 6: o.local_port = -1; break;
        case 7: o.max_sends = -1; break;
        case 8: o.close_timeout_ms = -1; break;
        }
        ASSERT_EQ(sock_conn_ext(SOCK_TYPE_TCP, 80, "127.0.0.1", NULL, &o), -SOCK_ERR_EARG);
    }
    ASSERT_NO_MSG(100);
    ASSERT_EQ(sock_error(0), SOCK_ERR_EBADID); /* nothing was opened */

    /* The longest address accepted is SOCK_MAX_ADDR_LEN bytes; cancel it at once. */
    long_addr[SOCK_MAX_ADDR_LEN] = '\0';
    int id = sock_conn(SOCK_TYPE_TCP, 80, long_addr, NULL);
    ASSERT_EQ(id, 0);
    ASSERT_EQ(sock_close(id), 1);
    sock_msg m = wait_msg(WAIT_MS); /* cancelled, or failed to resolve just before */
    ASSERT_EQ(m.id, MSG_SOCK_CONN_CNF);
    ASSERT(m.result == SOCK_ERR_EABORT || m.result == SOCK_ERR_EDNS);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
}

/* Ids that are negative, never issued, or destroyed: each call's documented code. */
static void bad_ids(void) {
    server *srv = server_start(SRV_UDP, 1);
    int destroyed = connect_ok(SOCK_TYPE_UDP, srv->port, NULL);
    ASSERT_EQ(sock_destroy(destroyed), 1);
    const int ids[] = {-1, INT_MIN, 7, 1 << 20, INT_MAX, destroyed};
    char buf[8];
    sock_counters st;
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        int id = ids[i];
        ASSERT_EQ(sock_error(id), SOCK_ERR_EBADID);
        ASSERT_EQ(sock_send(id, "x", 1), 0);
        ASSERT_EQ(sock_recv(id, buf, sizeof buf), -SOCK_ERR_EBADID);
        ASSERT_EQ(sock_close(id), 0);
        ASSERT_EQ(sock_destroy(id), 0);
        ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1), -1);
        ASSERT_EQ(sock_stats(id, &st), -SOCK_ERR_EBADID);
        ASSERT_EQ(sock_error(id), SOCK_ERR_EBADID);
    }
    ASSERT_NO_MSG(100);
    server_stop(srv);
}

/* NULL data or buffers, zero and oversized lengths on a live socket; then it still works. */
static void bad_send_recv_args(void) {
    server *srv = server_start(SRV_ECHO, 0), *srv2 = server_start(SRV_ECHO, 0);
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.snd_buf_size = 1024;
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, &o);
    int dflt = connect_ok(SOCK_TYPE_TCP, srv2->port, NULL);
    static char big[SOCK_DEFAULT_SND_BUF + 1];
    char buf[16];
    ASSERT_REFUSED(sock_send(id, NULL, 5), 0, id, SOCK_ERR_EARG);
    ASSERT_REFUSED(sock_send(id, "x", 0), 0, id, SOCK_ERR_EARG);
    ASSERT_REFUSED(sock_send(id, big, 1025), 0, id, SOCK_ERR_EARG);
    ASSERT_REFUSED(sock_send(id, big, SIZE_MAX), 0, id, SOCK_ERR_EARG);
    ASSERT_REFUSED(sock_send(dflt, big, sizeof big), 0, dflt, SOCK_ERR_EARG);
    ASSERT_REFUSED(sock_send(dflt, NULL, 0), 0, dflt, SOCK_ERR_EARG);
    ASSERT_EQ(sock_recv(id, NULL, 5), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_recv(id, buf, 0), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_recv(id, buf, (size_t)INT_MAX + 1), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_recv(id, buf, SIZE_MAX), -SOCK_ERR_EARG);
    ASSERT_NO_MSG(100); /* a refused send has no SEND_CNF */
    send_ok(id, big, 1024); /* the largest send that fits */
    recv_exact(id, big, 1024);
    send_ok(dflt, big, SOCK_DEFAULT_SND_BUF);
    recv_exact(dflt, big, SOCK_DEFAULT_SND_BUF);
    ASSERT_EQ(sock_destroy(id), 1);
    ASSERT_EQ(sock_destroy(dflt), 1);
    server_stop(srv2);
    server_stop(srv);
}

/* sock_wait_msg: NULL msg or timeout_ms below -1 is EARG (never waits, never writes). */
static void bad_wait_args(void) {
    sock_msg m, before;
    memset(&m, 0x5a, sizeof m);
    before = m;
    ASSERT_EQ(sock_wait_msg(NULL, 0), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_wait_msg(NULL, -1), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_wait_msg(NULL, 100), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_wait_msg(&m, -2), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_wait_msg(&m, INT_MIN), -SOCK_ERR_EARG);
    ASSERT_MEM_EQ(&m, &before, sizeof m);
    ASSERT_EQ(sock_wait_msg(&m, 0), 0); /* nothing pending */
    ASSERT_MEM_EQ(&m, &before, sizeof m);
}

/* sock_setopt: pairs outside the table and values out of range give -1 and EARG; the
 * boundaries of each range are accepted. */
static void bad_setopt_args(void) {
    server *srv = server_start(SRV_ECHO, 0);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    const int S = SOCK_SOL_SOCKET, T = SOCK_IPPROTO_TCP;
    const int pairs[][2] = {{0, 0}, {-1, SOCK_SO_KEEPALIVE}, {1, 9} /* Linux's own numbers */,
                            {0xffff, SOCK_SO_KEEPALIVE}, {S, 0}, {S, 99}, {S, SOCK_TCP_NODELAY},
                            {T, SOCK_SO_KEEPALIVE}, {T, 0}, {T, 0x1001}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        ASSERT_REFUSED(sock_setopt(id, pairs[i][0], pairs[i][1], 1), -1, id, SOCK_ERR_EARG);
    /* {level, name, lowest, highest} */
    const int ranges[][4] = {
        {S, SOCK_SO_REUSEADDR, 0, 1},     {S, SOCK_SO_KEEPALIVE, 0, 1},
        {S, SOCK_SO_SNDBUF, 1024, SOCK_MAX_BUF}, {S, SOCK_SO_RCVBUF, 1024, SOCK_MAX_BUF},
        {T, SOCK_TCP_NODELAY, 0, 1},      {T, SOCK_TCP_KEEPIDLE, 1, 32767},
        {T, SOCK_TCP_KEEPINTVL, 1, 32767}, {T, SOCK_TCP_KEEPCNT, 1, 127}};
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        const int *r = ranges[i];
        ASSERT_REFUSED(sock_setopt(id, r[0], r[1], r[2] - 1), -1, id, SOCK_ERR_EARG);
        ASSERT_REFUSED(sock_setopt(id, r[0], r[1], r[3] + 1), -1, id, SOCK_ERR_EARG);
        ASSERT_REFUSED(sock_setopt(id, r[0], r[1], INT_MIN), -1, id, SOCK_ERR_EARG);
        if (r[1] != SOCK_SO_SNDBUF && r[1] != SOCK_SO_RCVBUF) /* keep the buffers usable */
            ASSERT_EQ(sock_setopt(id, r[0], r[1], r[3]), 0);
        ASSERT_EQ(sock_setopt(id, r[0], r[1], r[2]), 0);
    }
    ASSERT_EQ(sock_setopt(id, S, SOCK_SO_SNDBUF, 65536), 0);
    ASSERT_EQ(sock_setopt(id, S, SOCK_SO_RCVBUF, 65536), 0);
    char in[2];
    send_ok(id, "ok", 2); /* still works */
    recv_exact(id, in, 2);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* The remaining functions' bad arguments. */
static void bad_other_args(void) {
    sock_counters st;
    server *srv = server_start(SRV_UDP, 1);
    int id = connect_ok(SOCK_TYPE_UDP, srv->port, NULL);
    ASSERT_EQ(sock_stats(id, NULL), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_stats(id, &st), 0);
    ASSERT_EQ(sock_conn_opts_init(NULL), -SOCK_ERR_EARG);
    const int limits[] = {0, -1, INT_MIN, SOCK_MAX_SOCKETS_LIMIT + 1, INT_MAX};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++)
        ASSERT_EQ(sock_set_max_sockets(limits[i]), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_set_max_sockets(SOCK_MAX_SOCKETS_LIMIT), 0);
    ASSERT_EQ(sock_set_max_sockets(SOCK_DEFAULT_MAX_SOCKETS), 0);
    const int codes[] = {INT_MIN, -1000, 27, 1000, INT_MAX};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        const char *text = sock_strerror(codes[i]);
        ASSERT(text != NULL && text[0] != '\0');
    }
    ASSERT_EQ(sock_error(id), SOCK_ERR_OK); /* none of this touched the socket */
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* The TLS queries on sockets that are not TLS, or do not exist; unusable TLS material. */
static void bad_tls_args(void) {
    server *srv = server_start(SRV_ECHO, 0);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    char buf[32];
    ASSERT_EQ(sock_tls_alpn(id, buf, sizeof buf), -SOCK_ERR_EINVAL);
    ASSERT_EQ(sock_tls_resumed(id), -SOCK_ERR_EINVAL);
    ASSERT_EQ(sock_tls_alpn(-1, buf, sizeof buf), -SOCK_ERR_EBADID);
    ASSERT_EQ(sock_tls_alpn(77, buf, sizeof buf), -SOCK_ERR_EBADID);
    ASSERT_EQ(sock_tls_resumed(-1), -SOCK_ERR_EBADID);
    ASSERT_EQ(sock_tls_resumed(77), -SOCK_ERR_EBADID);
    const sock_cert bad_ca = {NULL, "this is not PEM", NULL, NULL};
    const sock_cert key_without_cert = {NULL, NULL, NULL, "-----BEGIN PRIVATE KEY-----\n"};
    ASSERT_EQ(sock_conn_ext(SOCK_TYPE_SSL, srv->port, "127.0.0.1", &bad_ca, NULL),
              -SOCK_ERR_SSL_EINVALID);
    ASSERT_EQ(sock_conn_ext(SOCK_TYPE_SSL, srv->port, "127.0.0.1", &key_without_cert, NULL),
              -SOCK_ERR_SSL_EINVALID);
    ASSERT_EQ(sock_conn(SOCK_TYPE_SSL, srv->port, "127.0.0.1", &bad_ca), -1);
    ASSERT_NO_MSG(100);
    ASSERT_EQ(sock_error(1), SOCK_ERR_EBADID); /* no socket was made */
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(bad_conn_args);
    RUN(bad_ids);
    RUN(bad_send_recv_args);
    RUN(bad_wait_args);
    RUN(bad_setopt_args);
    RUN(bad_other_args);
    RUN(bad_tls_args);
    return test_end();
}
