/* UDP: one datagram per send, per RECV_IND and per sock_recv; short buffers; drops counted;
 * close. (Semantics 1, 2, 3 of issue 2 for datagrams.) */
#include "harness.h"

/* Datagrams of several sizes, up to the IPv4 maximum: each send gets a SEND_CNF; each echo is
 * one RECV_IND whose recv_len is its size, read whole by one sock_recv. Over IPv4 and IPv6. */
static void udp_echo(void) {
    static unsigned char out[65507], in[65536];
    const size_t sizes[4] = {1, 100, 1400, 65507}; /* 65507: the largest IPv4 UDP payload */
    fill_pattern(out, 0, sizeof out);
    for (int family = 0; family < 1 + ipv6_available(); family++) {
        server *srv = server_start6(SRV_UDP, 1, family ? AF_INET6 : AF_INET);
        int id = conn_opts(SOCK_TYPE_UDP, srv->port, family ? "::1" : "127.0.0.1", NULL);
        ASSERT_EQ(id, 0);
        EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
        for (int i = 0; i < 4; i++) {
            send_ok(id, out, sizes[i]);
            sock_msg m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
            ASSERT_EQ(m.recv_len, sizes[i]);
            ASSERT_EQ(sock_recv(id, in, sizeof in), sizes[i]);
            ASSERT_MEM_EQ(in, out, sizes[i]);
            ASSERT_EQ(sock_recv(id, in, sizeof in), 0);
        }
        ASSERT_EQ(sock_close(id), 1);
        EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(sock_destroy(id), 1);
        ASSERT_EQ(server_stop(srv), 4);
        sock_shutdown();
    }
}

/* Three datagrams sent at once come back as three RECV_INDs, the next only after sock_recv;
 * a buffer shorter than a datagram gets its head and the rest is dropped. */
static void udp_boundaries_and_short_buffer(void) {
    server *srv = server_start(SRV_UDP, 1);
    int id = connect_ok(SOCK_TYPE_UDP, srv->port, NULL);
    const char *d[3] = {"first datagram", "second", "third one"};
    for (int i = 0; i < 3; i++) ASSERT_EQ(sock_send(id, d[i], strlen(d[i])), 1);
    for (int i = 0; i < 3; i++) {
        sock_msg m = EXPECT_MSG(MSG_SOCK_SEND_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(m.send_len, strlen(d[i]));
    }
    char buf[64];
    sock_msg m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
    ASSERT_EQ(m.recv_len, strlen(d[0]));
    ASSERT_NO_MSG(200); /* the other two wait for sock_recv */
    ASSERT_EQ(sock_recv(id, buf, 5), 5); /* the head of the first; its rest is dropped */
    ASSERT_MEM_EQ(buf, "first", 5);
    for (int i = 1; i < 3; i++) {
        m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
        ASSERT_EQ(m.recv_len, strlen(d[i]));
        ASSERT_EQ(sock_recv(id, buf, sizeof buf), strlen(d[i]));
        ASSERT_MEM_EQ(buf, d[i], strlen(d[i]));
    }
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    server_stop(srv);
}

/* With a 1000-byte receive bound and nobody reading, a burst of 20 datagrams of 200 bytes
 * fills the queue; the rest are dropped and counted in sock_stats().datagrams_dropped. */
static void udp_drops_are_counted(void) {
    enum { BURST = 20, SIZE = 200, BOUND = 1000 };
    server *srv = server_start(SRV_UDP, BURST);
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.rcv_buf_size = BOUND;
    int id = connect_ok(SOCK_TYPE_UDP, srv->port, &o);
    static unsigned char d[SIZE];
    send_ok(id, d, SIZE);
    sock_counters st;
    for (int i = 0; i < 1000; i++) { /* until all 20 are either queued or dropped */
        ASSERT_EQ(sock_stats(id, &st), 0);
        if (st.recv_buffered / SIZE + st.datagrams_dropped == BURST) break;
        sleep_ms(10);
    }
    ASSERT_EQ(st.recv_buffered / SIZE + st.datagrams_dropped, BURST);
    ASSERT_LE(st.recv_buffered, BOUND);
    ASSERT_GE(st.datagrams_dropped, BURST - BOUND / SIZE);
    size_t queued = st.recv_buffered / SIZE, got = 0;
    while (got < queued) {
        sock_msg m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
        ASSERT_EQ(m.recv_len, SIZE);
        ASSERT_EQ(sock_recv(id, d, sizeof d), SIZE);
        got++;
    }
    ASSERT_NO_MSG(100);
    ASSERT_EQ(sock_stats(id, &st), 0);
    ASSERT_EQ(st.recv_buffered, 0);
    ASSERT_EQ(st.datagrams_dropped, BURST - queued);
    ASSERT_EQ(st.bytes_received, queued * SIZE);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    server_stop(srv);
}

/* After sock_close no RECV_IND comes, even for a datagram already on its way back. */
static void udp_close_stops_recv_ind(void) {
    server *srv = server_start(SRV_UDP, 3);
    int id = connect_ok(SOCK_TYPE_UDP, srv->port, NULL);
    send_ok(id, "ping", 4);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_REFUSED(sock_send(id, "x", 1), 0, id, SOCK_ERR_ENOTCONN);
    ASSERT_NO_MSG(300);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* TCP-only options are refused on a UDP socket; socket-level ones are accepted. */
static void udp_options(void) {
    server *srv = server_start(SRV_UDP, 1);
    int id = connect_ok(SOCK_TYPE_UDP, srv->port, NULL);
    ASSERT_REFUSED(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, 1), -1, id, SOCK_ERR_EARG);
    ASSERT_REFUSED(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE, 10), -1, id, SOCK_ERR_EARG);
    ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_RCVBUF, 65536), 0);
    ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_SNDBUF, 65536), 0);
    send_ok(id, "still works", 11);
    EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
    char buf[16];
    ASSERT_EQ(sock_recv(id, buf, sizeof buf), 11);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(udp_echo);
    RUN(udp_boundaries_and_short_buffer);
    RUN(udp_drops_are_counted);
    RUN(udp_close_stops_recv_ind);
    RUN(udp_options);
    return test_end();
}
