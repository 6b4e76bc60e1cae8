/* A user's program built against a socketcore prefix that was moved after installation
 * (scripts/test-relocation.sh). It echoes one message over loopback TCP through the library
 * and checks where libsocketcore came from:
 *   relocated_app shared DIR    libsocketcore.so must be mapped from DIR
 *   relocated_app static        no libsocketcore.so may be mapped at all
 * Exit 0 when both hold. */
#define _GNU_SOURCE
#include <socketcore.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "relocated_app: %s\n", what);
    return 1;
}

/* The file libsocketcore.so is mapped from, or "" when none is. */
static void mapped_library(char *out, size_t len)
{
    char line[4096];
    FILE *maps = fopen("/proc/self/maps", "r");
    out[0] = 0;
    if (!maps)
        return;
    while (fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (path && strstr(path, "/libsocketcore.so")) {
            path[strcspn(path, "\n")] = 0;
            snprintf(out, len, "%s", path);
            break;
        }
    }
    fclose(maps);
}

int main(int argc, char **argv)
{
    const char text[] = "moved prefix";
    char got[64] = { 0 }, lib[4096];
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    sock_msg m;
    int listener, peer, id, connected = 0;
    size_t have = 0;

    if (argc < 2 || (strcmp(argv[1], "shared") == 0 && argc != 3))
        return fail("usage: relocated_app shared DIR | relocated_app static");
    if (strcmp(sock_version(), SOCKETCORE_VERSION) != 0)
        return fail("sock_version() differs from the header's SOCKETCORE_VERSION");

    listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 1) != 0 || getsockname(listener, (struct sockaddr *)&addr, &alen) != 0)
        return fail("cannot listen on 127.0.0.1");

    id = sock_conn(SOCK_TYPE_TCP, ntohs(addr.sin_port), "127.0.0.1", NULL);
    if (id < 0)
        return fail("sock_conn refused");
    while (!connected && sock_wait_msg(&m, 10000) == 1) {
        if (m.socket_index == id && m.id == MSG_SOCK_CONN_CNF) {
            if (m.result != SOCK_ERR_OK)
                return fail(sock_strerror(m.result));
            connected = 1;
        }
    }
    if (!connected)
        return fail("no CONN_CNF");
    peer = accept(listener, NULL, NULL);
    if (peer < 0 || !sock_send(id, text, strlen(text)))
        return fail("accept or sock_send failed");
    while (have < strlen(text)) {
        ssize_t n = read(peer, got + have, sizeof got - 1 - have);
        if (n <= 0)
            return fail("the peer did not receive the bytes");
        have += (size_t)n;
    }
    if (strcmp(got, text) != 0)
        return fail("the peer received other bytes");
    sock_close(id);
    sock_destroy(id);
    close(peer);
    close(listener);

    mapped_library(lib, sizeof lib);
    if (strcmp(argv[1], "static") == 0) {
        if (lib[0])
            return fail("a static build mapped a shared libsocketcore");
        printf("relocated_app: static link, echo OK\n");
    } else {
        size_t dlen = strlen(argv[2]);
        if (strncmp(lib, argv[2], dlen) != 0 || lib[dlen] != '/') {
            fprintf(stderr, "relocated_app: libsocketcore is mapped from '%s', not from %s\n",
                    lib, argv[2]);
            return 1;
        }
        printf("relocated_app: %s, echo OK\n", lib);
    }
    sock_shutdown();
    return 0;
}
