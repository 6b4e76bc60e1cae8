/* Socket ids: lowest free id first, destroy in any state, stale messages discarded, the
 * socket limit. (Semantics 5 of issue 2.) */
#include "harness.h"

/* Waits until sock_msg_fd says a message is pending, without taking it. */
static void wait_pending(void) {
    struct pollfd p = {sock_msg_fd(), POLLIN, 0};
    ASSERT_GE(p.fd, 0);
    ASSERT_EQ(poll(&p, 1, WAIT_MS), 1);
}

static void ids_lowest_free_first(void) {
    server *srv = server_start(SRV_UDP, 1);
    for (int i = 0; i < 3; i++) ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), i);
    ASSERT_EQ(sock_destroy(1), 1);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 1);
    ASSERT_EQ(sock_destroy(0), 1);
    ASSERT_EQ(sock_destroy(2), 1);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 0);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 2);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 3);
    for (int i = 0; i < 4; i++) ASSERT_EQ(sock_destroy(i), 1);
    server_stop(srv);
}

/* A destroyed socket's messages still in the ring are discarded: the id, handed out again,
 * never receives them. Once for a CONN_CNF and once for a RECV_IND. */
static void ids_destroy_discards_messages(void) {
    server *echo = server_start(SRV_ECHO, 0), *udp = server_start(SRV_UDP, 1);
    int id = sock_conn(SOCK_TYPE_TCP, echo->port, "127.0.0.1", NULL);
    ASSERT_EQ(id, 0);
    wait_pending(); /* its CONN_CNF is in the ring */
    ASSERT_EQ(sock_destroy(id), 1);
    sock_msg m;
    ASSERT_EQ(sock_wait_msg(&m, 0), 0);

    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, udp->port, NULL), id); /* its own CONN_CNF only */
    send_ok(id, "echo", 4);
    wait_pending(); /* the RECV_IND of the echo */
    ASSERT_EQ(sock_destroy(id), 1);
    ASSERT_EQ(sock_wait_msg(&m, 0), 0);
    struct pollfd p = {sock_msg_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 0), 0);

    ASSERT_EQ(connect_ok(SOCK_TYPE_TCP, echo->port, NULL), id);
    ASSERT_NO_MSG(200);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(udp);
    server_stop(echo);
}

/* Destroy works in every state, at once; no message follows for the id. */
static void ids_destroy_any_state(void) {
    int fds[16], n, hang = hanging_port(fds, &n);
    int rfd, refused = refused_port(&rfd);
    server *echo = server_start(SRV_ECHO, 0), *sink = server_start(SRV_SINK, 0);
    static unsigned char chunk[65536];

    int resolving = sock_conn(SOCK_TYPE_TCP, hang, "localhost", NULL);
    int connecting = sock_conn(SOCK_TYPE_TCP, hang, "127.0.0.1", NULL);
    ASSERT_GE(resolving, 0);
    ASSERT_GE(connecting, 0);
    ASSERT_EQ(sock_destroy(resolving), 1);
    ASSERT_EQ(sock_destroy(connecting), 1);
    ASSERT_NO_MSG(200);

    int failed = sock_conn(SOCK_TYPE_TCP, refused, "127.0.0.1", NULL);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, failed, SOCK_ERR_ECONNREFUSED);
    int closed = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    ASSERT_EQ(sock_close(closed), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, closed, SOCK_ERR_OK);
    int open = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    int closing = connect_ok(SOCK_TYPE_TCP, sink->port, NULL);
    ASSERT_EQ(sock_send(open, "x", 1), 1);
    for (int i = 0; i < 1000 && sock_send(closing, chunk, sizeof chunk) == 1; i++) continue;
    ASSERT_EQ(sock_close(closing), 1);
    /* The ring now holds SEND_CNFs of `open` and `closing`, perhaps a RECV_IND of `open`. */
    int ids[4] = {failed, open, closing, closed};
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(sock_destroy(ids[i]), 1);
        ASSERT_EQ(sock_error(ids[i]), SOCK_ERR_EBADID);
        ASSERT_EQ(sock_destroy(ids[i]), 0);
    }
    ASSERT_NO_MSG(200); /* none of those, nor the CLOSE_CNF of `closing` */
    server_stop(sink);
    server_stop(echo);
    close(rfd);
    close_fds(fds, n);
}

/* sock_set_max_sockets: past the limit sock_conn_ext says ENOBUFS (sock_conn -1); lowering
 * it keeps existing sockets; a freed id can be used again. */
static void ids_socket_limit(void) {
    server *srv = server_start(SRV_UDP, 1);
    ASSERT_EQ(sock_set_max_sockets(3), 0);
    for (int i = 0; i < 3; i++) ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), i);
    ASSERT_EQ(sock_conn_ext(SOCK_TYPE_UDP, srv->port, "127.0.0.1", NULL, NULL), -SOCK_ERR_ENOBUFS);
    ASSERT_EQ(sock_conn(SOCK_TYPE_UDP, srv->port, "127.0.0.1", NULL), -1);
    ASSERT_EQ(sock_destroy(1), 1);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 1);
    ASSERT_EQ(sock_set_max_sockets(1), 0);
    for (int i = 0; i < 3; i++) ASSERT_EQ(sock_error(i), SOCK_ERR_OK); /* kept */
    send_ok(2, "x", 1);
    EXPECT_MSG(MSG_SOCK_RECV_IND, 2, SOCK_ERR_OK);
    ASSERT_EQ(sock_conn_ext(SOCK_TYPE_UDP, srv->port, "127.0.0.1", NULL, NULL), -SOCK_ERR_ENOBUFS);
    for (int i = 0; i < 3; i++) ASSERT_EQ(sock_destroy(i), 1);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 0);
    ASSERT_EQ(sock_set_max_sockets(SOCK_DEFAULT_MAX_SOCKETS), 0);
    ASSERT_EQ(connect_ok(SOCK_TYPE_UDP, srv->port, NULL), 1);
    server_stop(srv);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(ids_lowest_free_first);
    RUN(ids_destroy_discards_messages);
    RUN(ids_destroy_any_state);
    RUN(ids_socket_limit);
    return test_end();
}
