/* How connections end up: refused, timed out, unresolvable, cancelled, reset, ended by the
 * peer; exactly one CONN_CNF for every id. (Semantics 1 and 4 of issue 2.) */
#include "harness.h"

/* The port refuses: CONN_CNF(ECONNREFUSED); sending is refused; close still confirms. */
static void conn_refused(void) {
    int fd, port = refused_port(&fd);
    int id = sock_conn(SOCK_TYPE_TCP, port, "127.0.0.1", NULL);
    ASSERT_EQ(id, 0);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    ASSERT_EQ(sock_error(id), SOCK_ERR_ECONNREFUSED);
    ASSERT_REFUSED(sock_send(id, "x", 1), 0, id, SOCK_ERR_ENOTCONN);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
    close(fd);
}

/* Nobody answers: sending while connecting is refused (ENOTCONN), then CONN_CNF(ETIMEOUT)
 * after connect_timeout_ms. See hanging_port() in harness.h for how the connect is held. */
static void conn_timeout(void) {
    int fds[16], n, port = hanging_port(fds, &n);
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.connect_timeout_ms = 300;
    int id = conn_opts(SOCK_TYPE_TCP, port, "127.0.0.1", &o);
    ASSERT_GE(id, 0);
    ASSERT_REFUSED(sock_send(id, "x", 1), 0, id, SOCK_ERR_ENOTCONN);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ETIMEOUT);
    ASSERT_EQ(sock_error(id), SOCK_ERR_ETIMEOUT);
    ASSERT_EQ(sock_destroy(id), 1);
    close_fds(fds, n);
}

/* A name that does not resolve (RFC 6761 reserves .invalid): CONN_CNF(EDNS), TCP and UDP.
 * (Waits up to 40 s: without a network, the system resolver may take its own time to fail.) */
static void conn_dns_failure(void) {
    int tcp = sock_conn(SOCK_TYPE_TCP, 80, "no-such-host.invalid", NULL);
    int udp = sock_conn(SOCK_TYPE_UDP, 53, "no-such-host.invalid", NULL);
    ASSERT_EQ(tcp, 0);
    ASSERT_EQ(udp, 1);
    int seen[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        sock_msg m = wait_msg(40000);
        ASSERT_EQ(m.id, MSG_SOCK_CONN_CNF);
        ASSERT_EQ(m.result, SOCK_ERR_EDNS);
        ASSERT(m.socket_index == tcp || m.socket_index == udp);
        seen[m.socket_index]++;
    }
    ASSERT_EQ(seen[0], 1);
    ASSERT_EQ(seen[1], 1);
}

/* sock_close while connecting cancels: CONN_CNF(EABORT), then CLOSE_CNF(0), nothing more.
 * Once with an address literal (connecting) and once with a name (resolving or connecting). */
static void conn_close_while_connecting(void) {
    int fds[16], n, port = hanging_port(fds, &n);
    const char *addrs[2] = {"127.0.0.1", "localhost"};
    for (int i = 0; i < 2; i++) {
        int id = sock_conn(SOCK_TYPE_TCP, port, addrs[i], NULL);
        ASSERT_GE(id, 0);
        ASSERT_EQ(sock_close(id), 1);
        EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_EABORT);
        EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
        ASSERT_REFUSED(sock_close(id), 0, id, SOCK_ERR_EALREADY);
        ASSERT_NO_MSG(200);
        ASSERT_EQ(sock_destroy(id), 1);
    }
    close_fds(fds, n);
}

/* The peer resets the connection: CLOSE_IND(ERST); sending is refused after it. */
static void conn_reset_by_peer(void) {
    server *srv = server_start(SRV_RESET, 0);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    send_ok(id, "x", 1); /* the server resets once it has read this */
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_ERST);
    ASSERT_EQ(sock_error(id), SOCK_ERR_ERST);
    ASSERT_REFUSED(sock_send(id, "y", 1), 0, id, SOCK_ERR_ENOTCONN);
    ASSERT_NO_MSG(200); /* CLOSE_IND exactly once */
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* The peer ends at once without data: CLOSE_IND(0) exactly once, then CLOSE_CNF on close. */
static void conn_peer_ends(void) {
    server *srv = server_start(SRV_SEND_CLOSE, 0);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_OK);
    ASSERT_NO_MSG(200);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* Many connects at once, half of them refused: ids 0..N-1 are handed out at once and each
 * gets exactly one CONN_CNF with its own outcome. */
static void conn_one_cnf_per_id(void) {
    enum { N = 40 };
    int fd, refused = refused_port(&fd);
    server *srv = server_start(SRV_ECHO, 0);
    int cnfs[N] = {0};
    for (int i = 0; i < N; i++)
        ASSERT_EQ(sock_conn(SOCK_TYPE_TCP, i % 2 ? refused : srv->port, "127.0.0.1", NULL), i);
    for (int i = 0; i < N; i++) {
        sock_msg m = wait_msg(WAIT_MS);
        ASSERT_EQ(m.id, MSG_SOCK_CONN_CNF);
        ASSERT(m.socket_index >= 0 && m.socket_index < N);
        ASSERT_EQ(m.result, m.socket_index % 2 ? SOCK_ERR_ECONNREFUSED : SOCK_ERR_OK);
        ASSERT_EQ(cnfs[m.socket_index]++, 0);
    }
    ASSERT_NO_MSG(200);
    for (int i = 0; i < N; i++) ASSERT_EQ(sock_destroy(i), 1);
    server_stop(srv);
    close(fd);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(conn_refused);
    RUN(conn_timeout);
    RUN(conn_dns_failure);
    RUN(conn_close_while_connecting);
    RUN(conn_reset_by_peer);
    RUN(conn_peer_ends);
    RUN(conn_one_cnf_per_id);
    return test_end();
}
