/*
 * udp_client HOST PORT [COUNT]: sends COUNT datagrams (default 3) to a UDP echo server and
 * waits for each to come back. One sock_send is one datagram; one MSG_SOCK_RECV_IND announces
 * one datagram (recv_len is its size) and one sock_recv reads it.
 */
#include <socketcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [COUNT]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[2]);
    int count = argc > 3 ? atoi(argv[3]) : 3;
    if (count < 1 || count > 1000) count = 3;

    int id = sock_conn(SOCK_TYPE_UDP, port, argv[1], NULL);
    if (id < 0) {
        fprintf(stderr, "sock_conn refused the arguments\n");
        return 1;
    }

    int echoed = 0, closing = 0;
    sock_msg m;
    while (sock_wait_msg(&m, 3000) == 1) {             /* 0: nothing for 3 s (a datagram lost) */
        if (m.socket_index != id) continue;

        if (m.id == MSG_SOCK_CONN_CNF) {
            if (m.result != SOCK_ERR_OK) {
                fprintf(stderr, "connect failed: %s\n", sock_strerror(m.result));
                break;
            }
            for (int i = 1; i <= count; i++) {
                char dgram[64];
                int n = snprintf(dgram, sizeof dgram, "datagram %d", i);
                if (!sock_send(id, dgram, (size_t)n))
                    fprintf(stderr, "send %d refused: %s\n", i, sock_strerror(sock_error(id)));
            }
        } else if (m.id == MSG_SOCK_RECV_IND) {
            char buf[2048];
            int n = sock_recv(id, buf, sizeof buf);    /* exactly one datagram */
            if (n > 0) {
                printf("echo: %.*s\n", n, buf);
                if (++echoed == count && !closing) closing = sock_close(id);
            }
        } else if (m.id == MSG_SOCK_CLOSE_CNF) {
            break;
        }
    }
    sock_destroy(id);
    sock_shutdown();
    printf("%d of %d datagrams echoed\n", echoed, count);
    return echoed == count ? 0 : 1;
}
