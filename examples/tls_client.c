/*
 * tls_client HOST PORT CA_PEM_FILE [SERVER_NAME] [TEXT]: a TLS connection (SOCK_TYPE_SSL)
 * that trusts only the CA in CA_PEM_FILE (a private CA), checks that the server's
 * certificate is for SERVER_NAME (default: HOST), sends TEXT and prints what comes back.
 */
#include <socketcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0
        && (text = calloc(1, (size_t)size + 1)) && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (f) fclose(f);
    return text;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT CA_PEM_FILE [SERVER_NAME] [TEXT]\n", argv[0]);
        return 2;
    }
    char *ca = read_file(argv[3]);
    if (!ca) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 2;
    }
    const char *text = argc > 5 ? argv[5] : "hello over TLS";
    size_t len = strlen(text), got = 0;
    char reply[4096];

    sock_cert cert = { .hostName = argc > 4 ? argv[4] : argv[1], .caCert = ca };
    int id = sock_conn_ext(SOCK_TYPE_SSL, atoi(argv[2]), argv[1], &cert, NULL);
    if (id < 0) {                                      /* -code: e.g. unusable PEM */
        fprintf(stderr, "sock_conn_ext: %s\n", sock_strerror(id));
        free(ca);
        return 1;
    }

    int ok = 0, closing = 0;
    sock_msg m;
    while (sock_wait_msg(&m, 5000) == 1) {
        if (m.socket_index != id) continue;

        if (m.id == MSG_SOCK_CONN_CNF) {               /* TCP connect + TLS handshake done */
            if (m.result != SOCK_ERR_OK) {
                char why[SOCK_MAX_TLS_ERROR_TEXT];           /* rustls' reason, if TLS said no */
                if (sock_tls_error_text(id, why, sizeof why) > 0)
                    fprintf(stderr, "TLS connect failed: %s (%s)\n", sock_strerror(m.result), why);
                else
                    fprintf(stderr, "TLS connect failed: %s\n", sock_strerror(m.result));
                break;
            }
            char peer[SOCK_MAX_ADDR_TEXT];
            if (sock_peer_addr(id, peer, sizeof peer) < 0) strcpy(peer, "?");
            printf("TLS connected to %s (%s), certificate verified\n", cert.hostName, peer);
            if (len == 0 || len >= sizeof reply || !sock_send(id, text, len)) break;
        } else if (m.id == MSG_SOCK_RECV_IND) {
            int n = sock_recv(id, reply + got, sizeof reply - 1 - got);
            if (n > 0) got += (size_t)n;
            if (got >= len && !closing) {
                reply[got] = '\0';
                printf("received: %s\n", reply);
                ok = got == len && memcmp(reply, text, len) == 0;
                closing = sock_close(id);
            }
        } else if (m.id == MSG_SOCK_CLOSE_IND) {
            if (!closing) closing = sock_close(id);
        } else if (m.id == MSG_SOCK_CLOSE_CNF) {
            break;
        }
    }
    sock_destroy(id);
    sock_shutdown();
    free(ca);
    printf("%s\n", ok ? "TLS echo OK" : "TLS echo FAILED");
    return ok ? 0 : 1;
}
