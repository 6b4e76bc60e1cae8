/* TCP data path against local servers: sends and their SEND_CNFs, the receive rules, the
 * bounded queues, CLOSE_IND and close. (Semantics 2, 3, 4, 6 of issue 2.) */
#include "harness.h"

/* Sends of several sizes without waiting: SEND_CNFs come one per send, in order, with send_len;
 * the echo comes back exactly; then close, a second close, and sends after close. */
static void tcp_echo(void) {
    static unsigned char out[101001], in[sizeof out];
    const size_t sizes[3] = {1, 1000, 100000};
    server *srv = server_start(SRV_ECHO, 0);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    ASSERT_EQ(id, 0);
    ASSERT_EQ(sock_error(id), SOCK_ERR_OK);
    fill_pattern(out, 0, sizeof out);
    for (size_t i = 0, off = 0; i < 3; off += sizes[i++])
        ASSERT_EQ(sock_send(id, out + off, sizes[i]), 1);

    size_t cnfs = 0, got = 0;
    while (cnfs < 3 || got < sizeof out) {
        sock_msg m = wait_msg(WAIT_MS);
        ASSERT_EQ(m.socket_index, id);
        ASSERT_EQ(m.result, SOCK_ERR_OK);
        if (m.id == MSG_SOCK_SEND_CNF) {
            ASSERT_LT(cnfs, 3);
            ASSERT_EQ(m.send_len, sizes[cnfs++]);
        } else {
            ASSERT_EQ(m.id, MSG_SOCK_RECV_IND);
            ASSERT_LE(got + (size_t)m.recv_len, sizeof in);
            ASSERT_EQ(sock_recv(id, in + got, (size_t)m.recv_len), m.recv_len);
            got += (size_t)m.recv_len;
        }
    }
    ASSERT_MEM_EQ(in, out, sizeof out);
    ASSERT_EQ(sock_recv(id, in, sizeof in), 0); /* nothing buffered */

    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_REFUSED(sock_close(id), 0, id, SOCK_ERR_EALREADY);
    ASSERT_REFUSED(sock_send(id, "x", 1), 0, id, SOCK_ERR_ENOTCONN);
    ASSERT_EQ(sock_destroy(id), 1);
    ASSERT_EQ(sock_error(id), SOCK_ERR_EBADID);
    server_stop(srv);
}

/* A 1 MiB stream through a 16 KiB receive buffer: CONN_CNF first; one RECV_IND at a time;
 * reading recv_len bytes (in two calls) at each RECV_IND gives exactly the stream; the buffer
 * never holds more than its bound; CLOSE_IND(0) comes once, after the last byte. */
static void tcp_stream_exact(void) {
    const size_t total = 1 << 20, bound = 16384;
    static unsigned char buf[16384];
    server *srv = server_start(SRV_SEND_CLOSE, total);
    sock_conn_opts o;
    ASSERT_EQ(sock_conn_opts_init(&o), 0);
    o.rcv_buf_size = (int)bound;
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, &o); /* CONN_CNF precedes every RECV_IND */

    size_t got = 0;
    for (int first = 1; got < total; first = 0) {
        sock_msg m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
        ASSERT_GT(m.recv_len, 0);
        ASSERT_LE((size_t)m.recv_len, bound);
        sock_counters st;
        ASSERT_EQ(sock_stats(id, &st), 0);
        ASSERT_LE(st.recv_buffered, bound);
        ASSERT_GE(st.recv_buffered, (uint64_t)m.recv_len);
        if (first) ASSERT_NO_MSG(200); /* no second RECV_IND before sock_recv */
        size_t half = (size_t)m.recv_len / 2, rest = (size_t)m.recv_len - half;
        if (half > 0) ASSERT_EQ(sock_recv(id, buf, half), half);
        ASSERT_EQ(sock_recv(id, buf + half, rest), rest);
        ASSERT(check_pattern(buf, got, (size_t)m.recv_len));
        got += (size_t)m.recv_len;
    }
    ASSERT_EQ(got, total);
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_recv(id, buf, sizeof buf), 0);
    sock_counters st;
    ASSERT_EQ(sock_stats(id, &st), 0);
    ASSERT_EQ(st.bytes_received, total);
    ASSERT_EQ(st.recv_buffered, 0);
    ASSERT_EQ(sock_close(id), 1); /* after CLOSE_IND: still one CLOSE_CNF */
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* The peer ends its side: CLOSE_IND(0) comes once the last bytes are announced, the bytes stay
 * readable after it, sending is still allowed, and sock_close gives CLOSE_CNF. */
static void tcp_close_ind_keeps_data(void) {
    const size_t total = 3000;
    unsigned char buf[3000];
    server *srv = server_start(SRV_SEND_CLOSE, total);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    size_t announced = 0, got = 0;
    while (announced < total) { /* read all but what the last RECV_IND announces */
        if (got < announced) {
            ASSERT_EQ(sock_recv(id, buf + got, announced - got), announced - got);
            got = announced;
        }
        sock_msg m = EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
        announced += (size_t)m.recv_len;
    }
    ASSERT_EQ(announced, total);
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_recv(id, buf + got, sizeof buf - got), total - got);
    ASSERT(check_pattern(buf, 0, total));
    ASSERT_NO_MSG(100); /* CLOSE_IND exactly once, no RECV_IND after the end */
    send_ok(id, "after", 5);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* Sends in flight are bounded by max_sends (a slot frees when its SEND_CNF is taken), and a
 * send longer than snd_buf_size is refused with EARG. */
static void tcp_max_sends(void) {
    server *srv = server_start(SRV_ECHO, 0);
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.max_sends = 2;
    o.snd_buf_size = 1000;
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, &o);
    static char big[1001];
    ASSERT_REFUSED(sock_send(id, big, 1001), 0, id, SOCK_ERR_EARG);
    ASSERT_EQ(sock_send(id, "a", 1), 1);
    ASSERT_EQ(sock_send(id, "b", 1), 1);
    ASSERT_REFUSED(sock_send(id, "c", 1), 0, id, SOCK_ERR_ENOBUFS);
    int cnfs = 0;
    size_t got = 0;
    char in[3];
    while (cnfs < 2 || got < 2) {
        sock_msg m = wait_msg(WAIT_MS);
        if (m.id == MSG_SOCK_SEND_CNF) {
            cnfs++;
        } else {
            ASSERT_EQ(m.id, MSG_SOCK_RECV_IND);
            ASSERT_LE(got + (size_t)m.recv_len, 2);
            ASSERT_EQ(sock_recv(id, in + got, (size_t)m.recv_len), m.recv_len);
            got += (size_t)m.recv_len;
        }
    }
    ASSERT_MEM_EQ(in, "ab", 2);
    send_ok(id, big, 1000); /* slots free again; 1000 = snd_buf_size fits */
    recv_exact(id, big, 1000);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    server_stop(srv);
}

/* A peer that does not read: sends queue up to snd_buf_size, then are refused with ENOBUFS
 * (never dropped). sock_close flushes them: once the peer reads, every accepted send gets its
 * SEND_CNF(0) in order, then CLOSE_CNF, and the peer has every byte. */
static void tcp_queue_full_then_flush(void) {
    enum { CHUNK = 16384 };
    static unsigned char chunk[CHUNK];
    server *srv = server_start(SRV_SINK, 0);
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.snd_buf_size = 65536;
    int id = conn_opts(SOCK_TYPE_TCP, srv->port, "127.0.0.1", &o);
    ASSERT_GE(id, 0);
    ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_SNDBUF, 4096), 0); /* remembered */
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    size_t accepted = 0;
    while (accepted < 4096 && sock_send(id, chunk, CHUNK) == 1) accepted++;
    ASSERT_EQ(sock_error(id), SOCK_ERR_ENOBUFS);
    sock_counters st;
    ASSERT_EQ(sock_stats(id, &st), 0);
    ASSERT_LE(st.send_queued, 65536);

    ASSERT_EQ(sock_close(id), 1);
    server_release(srv);
    for (size_t i = 0; i < accepted; i++) {
        sock_msg m = EXPECT_MSG(MSG_SOCK_SEND_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(m.send_len, CHUNK);
    }
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(server_stop(srv), accepted * CHUNK);
    ASSERT_EQ(sock_destroy(id), 1);
}

/* send_cnf_on_ack: the SEND_CNF waits until the peer has acknowledged the bytes. The peer's
 * window is tiny and it does not read, so the bytes sit unacknowledged in our kernel; without
 * the option the same send is confirmed at once. */
static void tcp_send_cnf_on_ack(void) {
    static unsigned char data[65536];
    for (int on_ack = 0; on_ack <= 1; on_ack++) {
        server *srv = server_start(SRV_SINK, 0);
        sock_conn_opts o;
        sock_conn_opts_init(&o);
        o.send_cnf_on_ack = on_ack;
        int id = conn_opts(SOCK_TYPE_TCP, srv->port, "127.0.0.1", &o);
        ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_SNDBUF, 1 << 20), 0);
        EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(sock_send(id, data, sizeof data), 1);
        if (on_ack) {
            sock_counters st;
            ASSERT_EQ(sock_stats(id, &st), 0);
            ASSERT_EQ(st.send_queued, 0); /* all with the kernel, not yet acknowledged */
            ASSERT_NO_MSG(300);
            server_release(srv);
        }
        sock_msg m = EXPECT_MSG(MSG_SOCK_SEND_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(m.send_len, sizeof data);
        ASSERT_EQ(sock_close(id), 1);
        server_release(srv);
        EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(server_stop(srv), sizeof data);
        sock_shutdown();
    }
}

/* A socket whose data the application does not read holds at most rcv_buf_size bytes (TCP
 * flow control holds the peer) and stalls nobody else: another socket works meanwhile; later
 * the whole stream is read intact. (Semantics 3 and 7.) */
static void tcp_unread_socket_is_isolated(void) {
    const size_t total = 4 << 20, bound = 65536;
    static unsigned char buf[65536];
    server *flood = server_start(SRV_SEND_CLOSE, total), *echo = server_start(SRV_ECHO, 0);
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.rcv_buf_size = (int)bound;
    int stalled = connect_ok(SOCK_TYPE_TCP, flood->port, &o);
    sock_msg first = EXPECT_MSG(MSG_SOCK_RECV_IND, stalled, SOCK_ERR_OK); /* not read yet */
    int other = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    for (int i = 0; i < 20; i++) {
        send_ok(other, buf, 1000);
        recv_exact(other, buf, 1000);
    }
    sock_counters st;
    ASSERT_EQ(sock_stats(stalled, &st), 0);
    ASSERT_LE(st.recv_buffered, bound);
    ASSERT_LE(st.bytes_received, bound);
    ASSERT_EQ(sock_destroy(other), 1);

    size_t got = 0;
    for (sock_msg m = first;; m = EXPECT_MSG(MSG_SOCK_RECV_IND, stalled, SOCK_ERR_OK)) {
        ASSERT_LE((size_t)m.recv_len, bound);
        ASSERT_EQ(sock_recv(stalled, buf, (size_t)m.recv_len), m.recv_len);
        ASSERT(check_pattern(buf, got, (size_t)m.recv_len));
        got += (size_t)m.recv_len;
        if (got == total) break;
    }
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, stalled, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(stalled), 1);
    server_stop(echo);
    server_stop(flood);
}

/* IPv6 literals, with and without brackets, and a name from /etc/hosts. */
static void tcp_ipv6_and_names(void) {
    const char *addrs[3] = {"::1", "[::1]", "localhost"};
    for (int i = ipv6_available() ? 0 : 2; i < 3; i++) {
        server *srv = server_start6(SRV_ECHO, 0, i < 2 ? AF_INET6 : AF_INET);
        int id = conn_opts(SOCK_TYPE_TCP, srv->port, addrs[i], NULL);
        ASSERT_GE(id, 0);
        EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
        char in[4];
        send_ok(id, addrs[i], 3);
        recv_exact(id, in, 3);
        ASSERT_MEM_EQ(in, addrs[i], 3);
        ASSERT_EQ(sock_close(id), 1);
        EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
        ASSERT_EQ(sock_destroy(id), 1);
        server_stop(srv);
    }
}

/* sock_shutdown with sockets in every state and messages in the ring frees everything (the
 * valgrind run checks the memory); afterwards the old ids are gone and a new start works. */
static void tcp_shutdown_live(void) {
    int fds[16], nfds;
    int hang = hanging_port(fds, &nfds);
    server *echo = server_start(SRV_ECHO, 0), *sink = server_start(SRV_SINK, 0);
    int connecting = conn_opts(SOCK_TYPE_TCP, hang, "127.0.0.1", NULL);
    int open = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    int closing = connect_ok(SOCK_TYPE_TCP, sink->port, NULL);
    ASSERT_GE(connecting, 0);
    static unsigned char chunk[65536];
    for (int i = 0; i < 1000 && sock_send(closing, chunk, sizeof chunk) == 1; i++) continue;
    ASSERT_EQ(sock_error(closing), SOCK_ERR_ENOBUFS);
    ASSERT_EQ(sock_close(closing), 1);
    ASSERT_EQ(sock_send(open, "ping", 4), 1); /* SEND_CNF and RECV_IND left in the ring */
    ASSERT_GE(conn_opts(SOCK_TYPE_TCP, 9, "localhost", NULL), 0);
    sock_shutdown();
    ASSERT_EQ(sock_error(open), SOCK_ERR_EBADID);
    ASSERT_EQ(sock_error(closing), SOCK_ERR_EBADID);
    sock_msg m;
    ASSERT_EQ(sock_wait_msg(&m, 0), 0);
    int id = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    ASSERT_EQ(id, 0);
    sock_shutdown();
    server_stop(sink);
    server_stop(echo);
    close_fds(fds, nfds);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(tcp_echo);
    RUN(tcp_stream_exact);
    RUN(tcp_close_ind_keeps_data);
    RUN(tcp_max_sends);
    RUN(tcp_queue_full_then_flush);
    RUN(tcp_send_cnf_on_ack);
    RUN(tcp_unread_socket_is_isolated);
    RUN(tcp_ipv6_and_names);
    RUN(tcp_shutdown_live);
    return test_end();
}
