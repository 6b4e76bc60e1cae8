/* sock_setopt reaches the OS socket: applied at once on a connected socket, or remembered and
 * applied when the OS socket is made. Checked with getsockopt on the library's own descriptor,
 * found by its peer address. (Semantics 9 of issue 2; bad values are in test_bad_input.) */
#include "harness.h"

/* The descriptor of the library's socket connected to 127.0.0.1:port. */
static int library_fd(int port) {
    int found = -1;
    for (int fd = 0; fd < 4096; fd++) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        if (getpeername(fd, (struct sockaddr *)&a, &len) == 0 && a.sin_family == AF_INET &&
            ntohs(a.sin_port) == port) {
            ASSERT_EQ(found, -1); /* exactly one */
            found = fd;
        }
    }
    ASSERT_GE(found, 0);
    return found;
}

static int getopt_int(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    ASSERT_EQ(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* Each option of the table, set on a connected socket, shows in getsockopt at once. */
static void setopt_applied_now(void) {
    server *srv = server_start(SRV_ECHO, 0);
    int id = connect_ok(SOCK_TYPE_TCP, srv->port, NULL);
    int fd = library_fd(srv->port);
    for (int on = 1; on >= 0; on--) {
        ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, on), 0);
        ASSERT_EQ(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), on);
        ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_REUSEADDR, on), 0);
        ASSERT_EQ(getopt_int(fd, SOL_SOCKET, SO_REUSEADDR), on);
        ASSERT_EQ(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, on), 0);
        ASSERT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_NODELAY), on);
    }
    ASSERT_EQ(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE, 77), 0);
    ASSERT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 77);
    ASSERT_EQ(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPINTVL, 9), 0);
    ASSERT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 9);
    ASSERT_EQ(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT, 4), 0);
    ASSERT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
    /* Linux doubles the buffer sizes it is given (and has minimums); compare both ways. */
    for (int size = 32768; size <= 65536; size *= 2) {
        ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_SNDBUF, size), 0);
        ASSERT_GE(getopt_int(fd, SOL_SOCKET, SO_SNDBUF), size);
        ASSERT_LE(getopt_int(fd, SOL_SOCKET, SO_SNDBUF), 2 * size);
        ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_RCVBUF, size), 0);
        ASSERT_GE(getopt_int(fd, SOL_SOCKET, SO_RCVBUF), size);
        ASSERT_LE(getopt_int(fd, SOL_SOCKET, SO_RCVBUF), 2 * size);
    }
    char in[2];
    send_ok(id, "ok", 2);
    recv_exact(id, in, 2);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

/* Options set right after sock_conn, before CONN_CNF, are on the socket once it is connected:
 * for a name the OS socket is made after them; for a literal it already exists (connected
 * inside sock_conn) and they are applied to it. */
static void setopt_before_connect_to(const char *addr) {
    server *srv = server_start(SRV_ECHO, 0);
    int id = sock_conn(SOCK_TYPE_TCP, srv->port, addr, NULL);
    ASSERT_GE(id, 0);
    ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1), 0);
    ASSERT_EQ(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE, 123), 0);
    ASSERT_EQ(sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, 1), 0);
    ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_RCVBUF, 40000), 0);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    int fd = library_fd(srv->port);
    ASSERT_EQ(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ASSERT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 123);
    ASSERT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    ASSERT_GE(getopt_int(fd, SOL_SOCKET, SO_RCVBUF), 40000);
    ASSERT_LE(getopt_int(fd, SOL_SOCKET, SO_RCVBUF), 80000);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(srv);
}

static void setopt_before_connect(void) {
    setopt_before_connect_to("localhost");
    setopt_before_connect_to("127.0.0.1");
}

/* Options set on a socket whose connect failed are accepted (remembered; nothing to apply). */
static void setopt_after_failure(void) {
    int fd, port = refused_port(&fd);
    int id = sock_conn(SOCK_TYPE_TCP, port, "127.0.0.1", NULL);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    ASSERT_EQ(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1), 0);
    ASSERT_EQ(sock_error(id), SOCK_ERR_ECONNREFUSED); /* the last error stays */
    ASSERT_EQ(sock_destroy(id), 1);
    close(fd);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(setopt_applied_now);
    RUN(setopt_before_connect);
    RUN(setopt_after_failure);
    return test_end();
}
