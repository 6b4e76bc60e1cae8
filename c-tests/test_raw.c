/* RAW sockets (type 4, port = IP protocol): an ICMP echo to 127.0.0.1 when running as root,
 * and EPERM without privilege. (Semantics 10 of issue 2.) */
#include "harness.h"
#include <grp.h>
#include <sys/wait.h>

static uint16_t checksum(const unsigned char *p, size_t len) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len % 2) sum += (uint32_t)(p[len - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Root: send an ICMP echo request; among the datagrams received (on IPv4 each starts with the
 * IP header) is the echo reply with our identifier, sequence and payload. The socket also
 * sees our request, and any other ICMP on the loopback (another test run's): skipped. */
static void raw_icmp_echo(void) {
    if (geteuid() != 0) {
        printf("not root: the ICMP echo needs CAP_NET_RAW, only the EPERM test runs\n");
        return;
    }
    const char payload[] = "socketcore raw test";
    unsigned char req[8 + sizeof payload] = {8, 0, 0, 0, 0, 0, 0x00, 0x01};
    req[4] = (unsigned char)(getpid() >> 8); /* identifier */
    req[5] = (unsigned char)getpid();
    memcpy(req + 8, payload, sizeof payload);
    uint16_t sum = checksum(req, sizeof req);
    req[2] = (unsigned char)(sum >> 8);
    req[3] = (unsigned char)sum;

    int id = sock_conn(SOCK_TYPE_RAW, 1, "127.0.0.1", NULL);
    ASSERT_EQ(id, 0);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_send(id, req, sizeof req), 1);
    int cnfs = 0, replies = 0;
    for (int i = 0; i < 100 && (cnfs == 0 || replies == 0); i++) {
        sock_msg m = wait_msg(WAIT_MS);
        ASSERT_EQ(m.socket_index, id);
        ASSERT_EQ(m.result, SOCK_ERR_OK);
        if (m.id == MSG_SOCK_SEND_CNF) {
            ASSERT_EQ(m.send_len, sizeof req);
            cnfs++;
            continue;
        }
        ASSERT_EQ(m.id, MSG_SOCK_RECV_IND);
        unsigned char d[1500];
        ASSERT_EQ(sock_recv(id, d, sizeof d), m.recv_len);
        ASSERT_GE(m.recv_len, 28);
        ASSERT_EQ(d[0] >> 4, 4); /* the IPv4 header comes first */
        ASSERT_EQ(d[9], 1);      /* protocol ICMP */
        const unsigned char *icmp = d + (d[0] & 15) * 4;
        if (icmp[0] == 0 && memcmp(icmp + 4, req + 4, 4) == 0) { /* our echo reply */
            ASSERT_EQ((size_t)m.recv_len, (size_t)(icmp - d) + sizeof req);
            ASSERT_MEM_EQ(icmp + 8, payload, sizeof payload);
            replies++;
        }
    }
    ASSERT_EQ(cnfs, 1);
    ASSERT_EQ(replies, 1);
    ASSERT_EQ(sock_close(id), 1);
    sock_msg m = wait_msg(WAIT_MS);
    for (int i = 0; i < 100 && m.id == MSG_SOCK_RECV_IND; i++) /* posted before the close */
        m = wait_msg(WAIT_MS);
    ASSERT_EQ(m.id, MSG_SOCK_CLOSE_CNF);
    ASSERT_EQ(m.result, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
}

/* Without privilege (a child that gives up root, if it had it): EPERM, either at once from
 * sock_conn_ext or as the result of CONN_CNF. */
static void raw_needs_privilege(void) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0) {
            ASSERT_EQ(setgroups(0, NULL), 0);
            ASSERT_EQ(setgid(65534), 0);
            ASSERT_EQ(setuid(65534), 0);
        }
        ASSERT(geteuid() != 0);
        int id = sock_conn_ext(SOCK_TYPE_RAW, 1, "127.0.0.1", NULL, NULL);
        if (id < 0) {
            ASSERT_EQ(id, -SOCK_ERR_EPERM);
        } else {
            EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_EPERM);
            ASSERT_REFUSED(sock_send(id, "x", 1), 0, id, SOCK_ERR_ENOTCONN);
            ASSERT_EQ(sock_destroy(id), 1);
        }
        sock_shutdown();
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(raw_needs_privilege); /* first: fork before this process starts library threads */
    RUN(raw_icmp_echo);
    return test_end();
}
