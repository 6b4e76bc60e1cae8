/* Threads: several waiters share the messages (each goes to exactly one), sends from several
 * threads on one socket, and sock_shutdown waking every waiter. (Semantics 7, 8 of issue 2.) */
#include "harness.h"

enum { SOCKETS = 16, WAITERS = 4 };

static int expected_total;
static int taken_total;
static int seen[SOCKETS][64]; /* [socket][message id]: how many times taken */

static int taken(void) {
    return __atomic_load_n(&taken_total, __ATOMIC_SEQ_CST);
}

/* Takes messages until all expected ones are taken (or 100 waits in a row find none). */
static void *waiter(void *arg) {
    (void)arg;
    for (int idle = 0; idle < 100 && taken() < expected_total;) {
        sock_msg m;
        int r = sock_wait_msg(&m, 100);
        ASSERT_GE(r, 0);
        if (r == 0) {
            idle++;
            continue;
        }
        ASSERT(m.socket_index >= 0 && m.socket_index < SOCKETS && m.id < 64);
        __atomic_add_fetch(&seen[m.socket_index][m.id], 1, __ATOMIC_SEQ_CST);
        if (m.id == MSG_SOCK_RECV_IND) {
            char buf[64];
            ASSERT_EQ(sock_recv(m.socket_index, buf, sizeof buf), m.recv_len);
        }
        __atomic_add_fetch(&taken_total, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* Four threads wait while 16 UDP sockets connect, send and receive: the 48 messages
 * (CONN_CNF, SEND_CNF, RECV_IND for each) are each taken exactly once. */
static void threads_share_messages(void) {
    server *srv = server_start(SRV_UDP, 1);
    pthread_t t[WAITERS];
    memset(seen, 0, sizeof seen);
    taken_total = 0;
    expected_total = 3 * SOCKETS;
    for (int i = 0; i < WAITERS; i++) ASSERT_EQ(pthread_create(&t[i], NULL, waiter, NULL), 0);
    for (int i = 0; i < SOCKETS; i++)
        ASSERT_EQ(sock_conn(SOCK_TYPE_UDP, srv->port, "127.0.0.1", NULL), i);
    for (int i = 0; i < 500 && taken() < SOCKETS; i++) sleep_ms(10); /* every CONN_CNF taken */
    for (int i = 0; i < SOCKETS; i++) ASSERT_EQ(sock_send(i, "datagram", 8), 1);
    for (int i = 0; i < WAITERS; i++) pthread_join(t[i], NULL);
    ASSERT_EQ(taken_total, expected_total);
    for (int i = 0; i < SOCKETS; i++) {
        ASSERT_EQ(seen[i][MSG_SOCK_CONN_CNF], 1);
        ASSERT_EQ(seen[i][MSG_SOCK_SEND_CNF], 1);
        ASSERT_EQ(seen[i][MSG_SOCK_RECV_IND], 1);
    }
    ASSERT_NO_MSG(100);
    ASSERT_EQ(server_stop(srv), SOCKETS);
}

enum { SENDERS = 4, SENDS = 200, CHUNK = 1000 };
static int shared_id;

static void *sender(void *arg) {
    unsigned char chunk[CHUNK];
    memset(chunk, 'A' + (int)(intptr_t)arg, sizeof chunk);
    for (int sent = 0, tries = 0; sent < SENDS; tries++) {
        ASSERT_LT(tries, 100000);
        if (sock_send(shared_id, chunk, sizeof chunk) == 1) {
            sent++;
        } else {
            ASSERT_EQ(sock_error(shared_id), SOCK_ERR_ENOBUFS); /* the main thread lags */
            sleep_ms(1);
        }
    }
    return NULL;
}

/* Four threads send 1000-byte chunks of their own letter on one TCP socket while the main
 * thread takes the messages: every send is confirmed, and the echoed stream is made of whole
 * chunks, 200 of each letter. */
static void threads_send_on_one_socket(void) {
    static unsigned char stream[SENDERS * SENDS * CHUNK];
    server *srv = server_start(SRV_ECHO, 0);
    shared_id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    pthread_t t[SENDERS];
    for (intptr_t i = 0; i < SENDERS; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, sender, (void *)i), 0);
    size_t got = 0;
    int cnfs = 0;
    while (cnfs < SENDERS * SENDS || got < sizeof stream) {
        sock_msg m = wait_msg(WAIT_MS);
        ASSERT_EQ(m.result, SOCK_ERR_OK);
        if (m.id == MSG_SOCK_SEND_CNF) {
            ASSERT_EQ(m.send_len, CHUNK);
            cnfs++;
        } else {
            ASSERT_EQ(m.id, MSG_SOCK_RECV_IND);
            ASSERT_LE(got + (size_t)m.recv_len, sizeof stream);
            ASSERT_EQ(sock_recv(shared_id, stream + got, (size_t)m.recv_len), m.recv_len);
            got += (size_t)m.recv_len;
        }
    }
    for (int i = 0; i < SENDERS; i++) pthread_join(t[i], NULL);
    int per_letter[SENDERS] = {0};
    for (size_t c = 0; c < sizeof stream; c += CHUNK) {
        int letter = stream[c] - 'A';
        ASSERT(letter >= 0 && letter < SENDERS);
        for (size_t i = 1; i < CHUNK; i++) ASSERT_EQ(stream[c + i], stream[c]);
        per_letter[letter]++;
    }
    for (int i = 0; i < SENDERS; i++) ASSERT_EQ(per_letter[i], SENDS);
    ASSERT_EQ(sock_close(shared_id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, shared_id, SOCK_ERR_OK);
    server_stop(srv);
}

static int started;

static void *blocked_waiter(void *arg) {
    sock_msg m;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    *(int *)arg = sock_wait_msg(&m, -1);
    return NULL;
}

/* Threads waiting forever return -SOCK_ERR_ECLSD when sock_shutdown runs. (A thread that
 * enters its wait only after the shutdown starts a new instance; shutting that down wakes it
 * the same way, so the result does not depend on timing.) */
static void threads_shutdown_wakes_waiters(void) {
    enum { N = 3 };
    pthread_t t[N];
    int result[N];
    started = 0;
    ASSERT_EQ(sock_msg_fd() >= 0, 1); /* the instance exists before the waiters */
    for (int i = 0; i < N; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, blocked_waiter, &result[i]), 0);
    for (int i = 0; i < 5000 && __atomic_load_n(&started, __ATOMIC_SEQ_CST) < N; i++) sleep_ms(1);
    sleep_ms(50);
    int joined = 0;
    for (int round = 0; round < 100 && joined < N; round++) {
        sock_shutdown();
        sleep_ms(20);
        while (joined < N && pthread_tryjoin_np(t[joined], NULL) == 0) joined++;
    }
    ASSERT_EQ(joined, N);
    for (int i = 0; i < N; i++) ASSERT_EQ(result[i], -SOCK_ERR_ECLSD);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(threads_share_messages);
    RUN(threads_send_on_one_socket);
    RUN(threads_shutdown_wakes_waiters);
    return test_end();
}
