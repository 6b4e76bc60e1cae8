/*
 * tcp_echo_client HOST PORT [TEXT]: connects to an echo server, sends TEXT, reads the echo
 * back, closes. Every result arrives as a message taken with sock_wait_msg.
 *
 *   build: see CMakeLists.txt (find_package(socketcore))
 *   run:   ./echo_server &   then   ./tcp_echo_client 127.0.0.1 PORT "hello"
 */
#include <socketcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [TEXT]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *text = argc > 3 ? argv[3] : "hello from socketcore";
    char echo[4096];
    size_t len = strlen(text), got = 0;
    if (len == 0 || len >= sizeof echo) {
        fprintf(stderr, "TEXT must be 1 to %zu bytes\n", sizeof echo - 1);
        return 2;
    }

    /* Returns at once; the outcome comes as MSG_SOCK_CONN_CNF. */
    int id = sock_conn(SOCK_TYPE_TCP, port, host, NULL);
    if (id < 0) {
        fprintf(stderr, "sock_conn refused the arguments\n");
        return 1;
    }
    printf("socketcore %s: socket %d connecting to %s:%d\n", sock_version(), id, host, port);

    int ok = 0, closing = 0;
    sock_msg m;
    for (;;) {
        int r = sock_wait_msg(&m, 5000);
        if (r <= 0) {
            fprintf(stderr, "%s\n", r == 0 ? "no message for 5 s: giving up" : sock_strerror(r));
            break;
        }
        if (m.socket_index != id) continue;

        if (m.id == MSG_SOCK_CONN_CNF) {
            if (m.result != SOCK_ERR_OK) {
                fprintf(stderr, "connect failed: %s\n", sock_strerror(m.result));
                break;
            }
            printf("connected\n");
            if (!sock_send(id, text, len)) {           /* refused: no SEND_CNF will come */
                fprintf(stderr, "send refused: %s\n", sock_strerror(sock_error(id)));
                break;
            }
        } else if (m.id == MSG_SOCK_SEND_CNF) {
            printf("sent %d bytes: %s\n", m.send_len, sock_strerror(m.result));
        } else if (m.id == MSG_SOCK_RECV_IND) {
            /* recv_len bytes are buffered; read them (the next RECV_IND comes after this). */
            int n = sock_recv(id, echo + got, sizeof echo - 1 - got);
            if (n > 0) got += (size_t)n;
            if (got >= len && !closing) {
                echo[got] = '\0';
                printf("received %zu bytes: %s\n", got, echo);
                ok = got == len && memcmp(echo, text, len) == 0;
                closing = sock_close(id);              /* one CLOSE_CNF follows */
            }
        } else if (m.id == MSG_SOCK_CLOSE_IND) {
            printf("the server closed the connection: %s\n", sock_strerror(m.result));
            if (!closing) closing = sock_close(id);
        } else if (m.id == MSG_SOCK_CLOSE_CNF) {
            printf("closed\n");
            break;
        }
    }
    sock_destroy(id);
    sock_shutdown();
    printf("%s\n", ok ? "echo OK" : "echo FAILED");
    return ok ? 0 : 1;
}
