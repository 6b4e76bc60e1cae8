/*
 * echo_server [PORT] [SECONDS]: a small TCP + UDP echo server on 127.0.0.1 for trying the
 * examples without any network. It does not use socketcore.
 *
 * PORT 0 (the default) picks a free port; the port is printed on the first line of stdout,
 * so a script can read it. TCP and UDP listen on the same port number. The server stops after
 * SECONDS (default 60) or on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int listen_on(int type, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    int one = 1, fd = socket(AF_INET, type, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0
        || (type == SOCK_STREAM && listen(fd, 16) < 0)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &n);
    return ntohs(a.sin_port);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int seconds = argc > 2 ? atoi(argv[2]) : 60;
    int tcp = -1, udp = -1;

    /* With port 0 the kernel picks the TCP port; UDP then needs the same number free. */
    for (int attempt = 0; attempt < 20 && udp < 0; attempt++) {
        if (tcp >= 0) close(tcp);
        tcp = listen_on(SOCK_STREAM, port);
        if (tcp >= 0) udp = listen_on(SOCK_DGRAM, port_of(tcp));
        if (port != 0) break;
    }
    if (tcp < 0 || udp < 0) {
        fprintf(stderr, "echo_server: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("%d\n", port_of(tcp));
    fflush(stdout);

    struct pollfd fds[2 + MAX_CLIENTS] = { { .fd = tcp, .events = POLLIN }, { .fd = udp, .events = POLLIN } };
    int n = 2;
    time_t end = time(NULL) + seconds;
    char buf[65536];

    while (!stop && time(NULL) < end) {
        if (poll(fds, n, 200) <= 0) continue;
        if (fds[0].revents & POLLIN) {                 /* a new TCP client */
            int c = accept(tcp, NULL, NULL);
            if (c >= 0 && n < 2 + MAX_CLIENTS) fds[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
            else if (c >= 0) close(c);
        }
        if (fds[1].revents & POLLIN) {                 /* a datagram: send it back */
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t r = recvfrom(udp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (r >= 0) sendto(udp, buf, r, 0, (struct sockaddr *)&from, fl);
        }
        for (int i = 2; i < n; i++) {                  /* TCP clients: echo what arrives */
            if (!fds[i].revents) continue;
            ssize_t r = recv(fds[i].fd, buf, sizeof buf, 0);
            ssize_t off = 0;
            while (r > 0 && off < r) {
                ssize_t w = send(fds[i].fd, buf + off, r - off, 0);
                if (w < 0 && errno != EINTR) { r = -1; break; }
                if (w > 0) off += w;
            }
            if (r <= 0) {                              /* closed or failed: drop the client */
                close(fds[i].fd);
                fds[i--] = fds[--n];
            }
        }
    }
    for (int i = 0; i < n; i++) close(fds[i].fd);
    return 0;
}
