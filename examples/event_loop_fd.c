/*
 * event_loop_fd HOST PORT [PINGS]: socketcore inside the host's own poll() loop.
 *
 * sock_msg_fd() gives a descriptor that is readable while messages are pending. The host
 * polls it next to its own work (here: a 100 ms timer that sends "ping N" lines to a TCP
 * echo server) and, when it is readable, takes the messages with sock_wait_msg(&m, 0).
 * Never read or close that descriptor yourself.
 */
#include <poll.h>
#include <socketcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [PINGS]\n", argv[0]);
        return 2;
    }
    int pings = argc > 3 ? atoi(argv[3]) : 5;
    if (pings < 1 || pings > 100) pings = 5;

    int id = sock_conn(SOCK_TYPE_TCP, atoi(argv[2]), argv[1], NULL);
    int fd = sock_msg_fd();
    if (id < 0 || fd < 0) {
        fprintf(stderr, "cannot start: %s\n", id < 0 ? "sock_conn refused" : sock_strerror(fd));
        return 1;
    }

    int connected = 0, sent = 0, done = 0, failed = 0;
    size_t expected = 0, received = 0;
    long long next_tick = now_ms() + 100, give_up = now_ms() + 10000;

    while (!done && now_ms() < give_up) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int wait = (int)(next_tick - now_ms());
        poll(&p, 1, wait > 0 ? wait : 0);

        if (now_ms() >= next_tick) {                   /* the host's own timer */
            next_tick += 100;
            if (connected && sent < pings) {
                char line[32];
                int n = snprintf(line, sizeof line, "ping %d\n", ++sent);
                if (sock_send(id, line, (size_t)n)) expected += (size_t)n;
                printf("tick: sent ping %d\n", sent);
            }
        }

        if (!(p.revents & POLLIN)) continue;
        sock_msg m;
        while (sock_wait_msg(&m, 0) == 1) {            /* drain: never blocks */
            if (m.socket_index != id) continue;
            switch (m.id) {
            case MSG_SOCK_CONN_CNF:
                connected = m.result == SOCK_ERR_OK;
                printf("connect: %s\n", sock_strerror(m.result));
                if (!connected) failed = done = 1;
                break;
            case MSG_SOCK_RECV_IND: {
                char buf[1024];
                int n;
                while ((n = sock_recv(id, buf, sizeof buf)) > 0) {
                    received += (size_t)n;
                    printf("echo: %.*s", n, buf);
                }
                if (sent == pings && received >= expected) sock_close(id);
                break;
            }
            case MSG_SOCK_CLOSE_IND:
                failed = 1;
                sock_close(id);
                break;
            case MSG_SOCK_CLOSE_CNF:
                done = 1;
                break;
            }
        }
    }
    sock_destroy(id);
    sock_shutdown();
    int ok = done && !failed && sent == pings && received == expected;
    printf("%d pings, %zu of %zu bytes echoed: %s\n", sent, received, expected, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
