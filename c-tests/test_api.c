/* The small functions and the library's life cycle: sock_version, sock_strerror,
 * sock_conn_opts_init, sock_msg_fd, and sock_shutdown followed by new calls, repeatedly, with
 * no leaked threads or descriptors. (Semantics 12 of issue 2.) */
#include "harness.h"
#include <dirent.h>

static void api_version(void) {
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", SOCKETCORE_VERSION_MAJOR,
             SOCKETCORE_VERSION_MINOR, SOCKETCORE_VERSION_PATCH);
    ASSERT_STR_EQ(SOCKETCORE_VERSION, expect);
    ASSERT(sock_version() != NULL);
    ASSERT_STR_EQ(sock_version(), SOCKETCORE_VERSION);
}

/* Every code has its own sentence; a negated code reads as its absolute value. */
static void api_strerror(void) {
    for (int c = SOCK_ERR_OK; c <= SOCK_ERR_EPANIC; c++) {
        const char *text = sock_strerror(c);
        ASSERT(text != NULL);
        ASSERT_GT(strlen(text), 0);
        ASSERT_STR_EQ(sock_strerror(-c), text);
        for (int d = SOCK_ERR_OK; d < c; d++) ASSERT(strcmp(sock_strerror(d), text) != 0);
    }
}

static void api_conn_opts_init(void) {
    sock_conn_opts o, zero;
    memset(&o, 0xab, sizeof o);
    memset(&zero, 0, sizeof zero);
    ASSERT_EQ(sock_conn_opts_init(&o), 0);
    ASSERT_EQ(o.size, sizeof o);
    zero.size = o.size;
    ASSERT_MEM_EQ(&o, &zero, sizeof o); /* every other field 0: default */
    server *srv = server_start(SRV_ECHO, 0);
    ASSERT_EQ(connect_ok(SOCK_TYPE_TCP, srv->port, &o), 0);
    ASSERT_EQ(sock_destroy(0), 1);
    server_stop(srv);
}

/* sock_msg_fd is readable exactly while a message is pending. */
static void api_msg_fd(void) {
    int fd = sock_msg_fd();
    ASSERT_GE(fd, 0);
    ASSERT_EQ(sock_msg_fd(), fd);
    struct pollfd p = {fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 0), 0);
    server *srv = server_start(SRV_ECHO, 0);
    int id = sock_conn(SOCK_TYPE_TCP, srv->port, "127.0.0.1", NULL);
    ASSERT_EQ(poll(&p, 1, WAIT_MS), 1);
    ASSERT(p.revents & POLLIN);
    ASSERT_EQ(poll(&p, 1, 0), 1); /* still readable: nothing taken yet */
    sock_msg m;
    ASSERT_EQ(sock_wait_msg(&m, 0), 1);
    ASSERT_EQ(m.id, MSG_SOCK_CONN_CNF);
    ASSERT_EQ(m.socket_index, id);
    ASSERT_EQ(poll(&p, 1, 0), 0);
    ASSERT_EQ(sock_send(id, "ab", 2), 1);
    ASSERT_EQ(poll(&p, 1, WAIT_MS), 1);
    EXPECT_MSG(MSG_SOCK_SEND_CNF, id, SOCK_ERR_OK);
    EXPECT_MSG(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
    ASSERT_EQ(poll(&p, 1, 0), 0);
    char in[2];
    ASSERT_EQ(sock_recv(id, in, 2), 2);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    ASSERT(d != NULL);
    int n = 0;
    while (readdir(d) != NULL) n++;
    closedir(d);
    return n;
}

/* One round: TCP echo, a UDP socket, a name to resolve, the message fd; then shut down. */
static void one_life(server *echo, int udp_port) {
    int tcp = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    ASSERT_EQ(tcp, 0);
    char in[4];
    send_ok(tcp, "life", 4);
    recv_exact(tcp, in, 4);
    ASSERT_MEM_EQ(in, "life", 4);
    int udp = conn_opts(SOCK_TYPE_UDP, udp_port, "localhost", NULL);
    ASSERT_EQ(udp, 1);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, udp, SOCK_ERR_OK);
    ASSERT_GE(sock_msg_fd(), 0);
    int served = echo->served;
    ASSERT_EQ(sock_destroy(tcp), 1);
    server_wait_served(echo, served + 1); /* its descriptor is closed too: not counted */
    sock_shutdown();
}

/* sock_shutdown then new calls, 30 times: each start is fresh (ids from 0), and the process
 * ends each round with the threads and descriptors it had before. */
static void api_shutdown_restart(void) {
    server *echo = server_start(SRV_ECHO, 0), *udp = server_start(SRV_UDP, 1);
    one_life(echo, udp->port); /* the first round may set up lasting things */
    int fds = count_entries("/proc/self/fd"), threads = count_entries("/proc/self/task");
    for (int i = 0; i < 30; i++) {
        one_life(echo, udp->port);
        ASSERT_EQ(count_entries("/proc/self/fd"), fds);
        /* pthread_join returns when a thread has finished, a moment before the kernel drops
         * it from /proc/self/task: give that moment (bounded) before counting. */
        for (int tries = 0; tries < 100 && count_entries("/proc/self/task") != threads; tries++)
            usleep(10000);
        ASSERT_EQ(count_entries("/proc/self/task"), threads);
        ASSERT_EQ(sock_error(0), SOCK_ERR_EBADID); /* ids end with the instance */
        sock_shutdown(); /* a second shutdown does nothing */
    }
    server_stop(udp);
    server_stop(echo);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(api_version);
    RUN(api_strerror);
    RUN(api_conn_opts_init);
    RUN(api_msg_fd);
    RUN(api_shutdown_restart);
    return test_end();
}
