/* TLS (type 2) against a peer nobody here wrote: `openssl s_server` from the openssl package,
 * with certificates made by the openssl CLI (tls_certs.sh, run by the CTest fixture tls.certs
 * into the directory named by SOCKETCORE_TEST_CERTS). The server runs in -rev mode: it sends
 * every line it receives back reversed. (Issue 3: handshake, echo, verification, mTLS, ALPN,
 * close_notify, resumption, old protocol versions.)
 *
 * Each test starts its own s_server on a free 127.0.0.1 port with -naccept N, so that the
 * server exits by itself after the test's N connections; the test then reads what it logged.
 * A failing test exits at once (fail_now): the server dies with it, killed by the kernel
 * (PR_SET_PDEATHSIG), so no server outlives its test. */
#include "harness.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* CTest's SKIP_RETURN_CODE for this program (CMakeLists.txt). */
#define SKIP_CODE 77

static const char *cert_dir; /* SOCKETCORE_TEST_CERTS: made by tls_certs.sh */
static const char *openssl;  /* SOCKETCORE_TEST_OPENSSL, or /usr/bin/openssl */

/* ---- files ----------------------------------------------------------------------------- */

static void cert_path(char *out, size_t size, const char *name) {
    ASSERT_LT(snprintf(out, size, "%s/%s", cert_dir, name), (long long)size);
}

/* The whole of a file as a NUL-terminated string (free it); NULL if it cannot be read. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    ASSERT(s != NULL);
    for (size_t r; (r = fread(s + len, 1, cap - 1 - len, f)) > 0;) {
        len += r;
        if (len == cap - 1) {
            cap *= 2;
            s = realloc(s, cap);
            ASSERT(s != NULL);
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

/* PEM text of one of the certificate files, to pass in sock_cert (free it). */
static char *pem(const char *name) {
    char path[4096];
    cert_path(path, sizeof path, name);
    char *s = read_text(path);
    if (!s) {
        fprintf(stderr, "cannot read %s: %s (made by tls_certs.sh)\n", path, strerror(errno));
        fail_now();
    }
    ASSERT(strstr(s, "-----BEGIN ") != NULL);
    return s;
}

/* ---- child processes: openssl s_server and s_client ----------------------------------- */

typedef struct proc {
    pid_t pid;
    int exited; /* reaped; status is its wait status */
    int status;
    char log[4096]; /* its stdout and stderr */
} proc;

/* Runs argv (argv[0] an absolute path) with stdin from /dev/null and its output to a new log
 * file next to the certificates. */
static void proc_spawn(proc *p, const char *const argv[]) {
    static int count;
    memset(p, 0, sizeof *p);
    ASSERT_LT(snprintf(p->log, sizeof p->log, "%s/openssl-%ld-%d.log", cert_dir, (long)getpid(),
                       count++),
              (long long)sizeof p->log);
    int out = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(out, 0);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(in, 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) { /* only async-signal-safe calls: the library's threads may be running */
        /* Killed when this test process dies, however it dies (failed assertion, CTest
         * timeout). The signal goes when the forking thread ends: here the main thread. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in);
    close(out);
    p->pid = pid;
}

/* Whether the process ended within ms (polled every 10 ms); reaps it. */
static int proc_wait(proc *p, int ms) {
    for (int waited = 0; !p->exited; waited += 10) {
        pid_t r = waitpid(p->pid, &p->status, WNOHANG);
        ASSERT(r == 0 || r == p->pid);
        if (r == p->pid) {
            p->exited = 1;
            break;
        }
        if (waited >= ms) break;
        sleep_ms(10);
    }
    return p->exited;
}

/* Kills the process if it still runs, reaps it. */
static void proc_kill(proc *p) {
    if (p->exited) return;
    ASSERT_EQ(kill(p->pid, SIGKILL), 0);
    ASSERT_EQ(waitpid(p->pid, &p->status, 0), p->pid);
    p->exited = 1;
}

/* Kills the process if needed and removes its log (kept only when a test fails). */
static void proc_done(proc *p) {
    proc_kill(p);
    unlink(p->log);
}

/* How often `needle` occurs in the process's log so far. */
static int log_count(const proc *p, const char *needle) {
    char *s = read_text(p->log);
    ASSERT(s != NULL);
    int n = 0;
    for (const char *q = s; (q = strstr(q, needle)) != NULL; q += strlen(needle)) n++;
    free(s);
    return n;
}

static void print_log(const proc *p) {
    char *s = read_text(p->log);
    fprintf(stderr, "---- %s ----\n%s---- end of %s ----\n", p->log, s ? s : "(unreadable)\n",
            p->log);
    free(s);
}

/* The log must contain `needle` exactly `n` times (n = -1: at least once). */
#define ASSERT_LOG(p, needle, n) assert_log_at(__FILE__, __LINE__, p, needle, n)
static void assert_log_at(const char *file, int line, const proc *p, const char *needle, int n) {
    int got = log_count(p, needle);
    if (n < 0 ? got > 0 : got == n) return;
    fprintf(stderr, "%s:%d: expected \"%s\" %d times in the openssl log, found it %d times\n",
            file, line, needle, n, got);
    print_log(p);
    fail_now();
}

/* ---- the server -------------------------------------------------------------------------- */

typedef struct peer {
    proc p;
    int port;
} peer;

/* Starts `openssl s_server -rev` for `naccept` connections on a free port of 127.0.0.1, with
 * the server certificate for "localhost" and the extra options `args` (NULL-terminated).
 * Returns 1 once it listens (it printed ACCEPT), 0 when it exited without listening five
 * times (each time on another port, in case another process took the one picked). */
static int peer_try_start(peer *s, int naccept, const char *const args[]) {
    char accept[64], count[16], cert[4096], key[4096];
    cert_path(cert, sizeof cert, "server.pem");
    cert_path(key, sizeof key, "server.key");
    snprintf(count, sizeof count, "%d", naccept);
    for (int attempt = 0; attempt < 5; attempt++) {
        int fd = loopback_socket(AF_INET, SOCK_STREAM, &s->port); /* a free port, released */
        close(fd);
        snprintf(accept, sizeof accept, "127.0.0.1:%d", s->port);
        const char *argv[40] = {openssl, "s_server", "-accept", accept, "-naccept", count,
                                "-rev",  "-cert",    cert,      "-key", key};
        int n = 11;
        for (int i = 0; args[i]; i++) {
            ASSERT_LT(n, 39);
            argv[n++] = args[i];
        }
        proc_spawn(&s->p, argv);
        for (int i = 0; i < 1000; i++) { /* 10 s */
            if (log_count(&s->p, "ACCEPT\n") > 0) {
                printf("s_server on port %d, log %s\n", s->port, s->p.log);
                return 1;
            }
            if (proc_wait(&s->p, 0)) break;
            sleep_ms(10);
        }
        if (!s->p.exited) {
            fprintf(stderr, "s_server neither listens nor exits after 10 s\n");
            print_log(&s->p);
            fail_now();
        }
        printf("s_server exited (wait status %d) without listening on port %d:\n",
               s->p.status, s->port);
        print_log(&s->p);
        proc_done(&s->p);
    }
    return 0;
}

static void peer_start(peer *s, int naccept, const char *const args[]) {
    if (!peer_try_start(s, naccept, args)) {
        fprintf(stderr, "could not start openssl s_server\n");
        fail_now();
    }
}

/* The server must exit by itself (it served its -naccept connections); then its log is
 * complete. */
static void peer_wait_exit(peer *s) {
    if (!proc_wait(&s->p, WAIT_MS)) {
        fprintf(stderr, "s_server did not exit within %d ms after its connections\n", WAIT_MS);
        print_log(&s->p);
        proc_kill(&s->p);
        fail_now();
    }
}

/* ---- the client ---------------------------------------------------------------------------- */

/* The TLS material of the tests, read once per test. */
typedef struct material {
    char *ca, *other_ca, *client_cert, *client_key;
} material;

static material load_material(void) {
    material m = {pem("ca.pem"), pem("other-ca.pem"), pem("client.pem"), pem("client.key")};
    return m;
}

static void free_material(material *m) {
    free(m->ca);
    free(m->other_ca);
    free(m->client_cert);
    free(m->client_key);
}

/* sock_conn_ext(SOCK_TYPE_SSL) to the server; its CONN_CNF must carry `result`. */
static int tls_conn(const peer *s, const sock_cert *cert, const sock_conn_opts *opts,
                    int result) {
    int id = sock_conn_ext(SOCK_TYPE_SSL, s->port, "127.0.0.1", cert, opts);
    ASSERT_GE(id, 0);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, result);
    ASSERT_EQ(sock_error(id), result);
    if (result != SOCK_ERR_OK) ASSERT_REFUSED(sock_send(id, "x\n", 2), 0, id, SOCK_ERR_ENOTCONN);
    return id;
}

/* Sends `lines` lines of 100 letters in one sock_send and reads what s_server -rev sends
 * back: each line reversed. Checks the SEND_CNF, that RECV_IND.recv_len adds up to exactly
 * the plaintext length, and the plaintext counters of sock_stats. (The SEND_CNF and the
 * RECV_INDs may come in any order.) */
static void rev_echo(int id, int lines) {
    enum { LINE = 100 };
    size_t len = (size_t)lines * (LINE + 1);
    char *out = malloc(len), *want = malloc(len), *in = malloc(len);
    ASSERT(out && want && in);
    for (int l = 0; l < lines; l++) {
        char *o = out + (size_t)l * (LINE + 1), *w = want + (size_t)l * (LINE + 1);
        for (int i = 0; i < LINE; i++) o[i] = (char)('a' + pattern((size_t)(l * LINE + i)) % 26);
        for (int i = 0; i < LINE; i++) w[i] = o[LINE - 1 - i];
        o[LINE] = w[LINE] = '\n';
    }
    sock_counters before, after;
    ASSERT_EQ(sock_stats(id, &before), 0);
    ASSERT_EQ(sock_send(id, out, len), 1);
    int confirmed = 0;
    size_t got = 0;
    for (int i = 0; i < 100000 && (!confirmed || got < len); i++) {
        sock_msg m = wait_msg(WAIT_MS);
        ASSERT_EQ(m.socket_index, id);
        ASSERT_EQ(m.result, SOCK_ERR_OK);
        if (m.id == MSG_SOCK_SEND_CNF) {
            ASSERT_EQ(confirmed++, 0);
            ASSERT_EQ(m.send_len, len);
        } else {
            ASSERT_EQ(m.id, MSG_SOCK_RECV_IND);
            ASSERT_GT(m.recv_len, 0);
            ASSERT_LE(got + (size_t)m.recv_len, len);
            ASSERT_EQ(sock_recv(id, in + got, (size_t)m.recv_len), m.recv_len);
            got += (size_t)m.recv_len;
        }
    }
    ASSERT_EQ(confirmed, 1);
    ASSERT_EQ(got, len);
    ASSERT_MEM_EQ(in, want, len);
    ASSERT_EQ(sock_stats(id, &after), 0);
    ASSERT_EQ(after.bytes_sent - before.bytes_sent, len);
    ASSERT_EQ(after.bytes_received - before.bytes_received, len);
    free(out);
    free(want);
    free(in);
}

/* sock_close: CLOSE_CNF(0), then the id is freed. */
static void close_ok(int id) {
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
}

/* ---- tests ----------------------------------------------------------------------------- */

/* One connection at TLS `version` ("-tls1_3" or "-tls1_2"), trusting the private CA, name
 * "localhost": CONN_CNF(0) after the handshake, no ALPN, no resumption, 200 lines (20 KiB,
 * two records at least) round trip; the server says which version it spoke. */
static void echo_at(const char *version, const char *server_says) {
    material k = load_material();
    peer s;
    peer_start(&s, 1, (const char *[]){version, NULL});
    sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
    int id = tls_conn(&s, &cert, NULL, SOCK_ERR_OK);
    char proto[32];
    ASSERT_EQ(sock_tls_alpn(id, proto, sizeof proto), 0);
    ASSERT_EQ(sock_tls_resumed(id), 0);
    rev_echo(id, 200);
    close_ok(id);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, "CONNECTION ESTABLISHED\n", 1);
    ASSERT_LOG(&s.p, server_says, 1);
    proc_done(&s.p);
    free_material(&k);
}

/* (1) TLS 1.3 handshake and payload round trip with the private CA. */
static void tls13_echo(void) {
    echo_at("-tls1_3", "Protocol version: TLSv1.3\n");
}

/* (2) The same with a server that speaks TLS 1.2 only. */
static void tls12_echo(void) {
    echo_at("-tls1_2", "Protocol version: TLSv1.2\n");
}

/* (3) A server whose certificate does not chain to what we trust: CONN_CNF(SSL_ECERT), with
 * the unrelated CA as caCert in both verifying modes (NO_HOSTNAME still checks the chain),
 * and with no caCert (then only the bundled web roots are trusted). The server
 * never completes a handshake. */
static void tls_untrusted_ca(void) {
    material k = load_material();
    peer s;
    peer_start(&s, 3, (const char *[]){NULL});
    sock_cert other = {.hostName = "localhost", .caCert = k.other_ca};
    sock_cert none = {.hostName = "localhost"};
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    ASSERT_EQ(sock_destroy(tls_conn(&s, &other, &o, SOCK_ERR_SSL_ECERT)), 1);
    o.tls_verify = SOCK_TLS_VERIFY_NO_HOSTNAME;
    ASSERT_EQ(sock_destroy(tls_conn(&s, &other, &o, SOCK_ERR_SSL_ECERT)), 1);
    ASSERT_EQ(sock_destroy(tls_conn(&s, &none, NULL, SOCK_ERR_SSL_ECERT)), 1);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, "CONNECTION ESTABLISHED", 0);
    proc_done(&s.p);
    free_material(&k);
}

/* (4) A hostName the certificate does not name ("other.example"): SSL_ECERT with
 * SOCK_TLS_VERIFY_FULL, a working connection with SOCK_TLS_VERIFY_NO_HOSTNAME. And no
 * hostName: the address 127.0.0.1 is verified, against the certificate's IP SAN. */
static void tls_wrong_hostname(void) {
    material k = load_material();
    peer s;
    peer_start(&s, 3, (const char *[]){NULL});
    sock_cert wrong = {.hostName = "other.example", .caCert = k.ca};
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.tls_verify = SOCK_TLS_VERIFY_FULL;
    ASSERT_EQ(sock_destroy(tls_conn(&s, &wrong, &o, SOCK_ERR_SSL_ECERT)), 1);
    o.tls_verify = SOCK_TLS_VERIFY_NO_HOSTNAME;
    int id = tls_conn(&s, &wrong, &o, SOCK_ERR_OK);
    rev_echo(id, 3);
    close_ok(id);
    sock_cert by_address = {.caCert = k.ca};
    id = tls_conn(&s, &by_address, NULL, SOCK_ERR_OK);
    rev_echo(id, 3);
    close_ok(id);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, "CONNECTION ESTABLISHED\n", 2);
    proc_done(&s.p);
    free_material(&k);
}

/* Server options demanding a client certificate from the private CA at `version`. */
#define MTLS_ARGS(version, cafile)                                                             \
    (const char *[]) { version, "-Verify", "1", "-verify_return_error", "-CAfile", cafile, NULL }

/* (5) The server demands a client certificate (-Verify 1) and gets ours: CONN_CNF(0) and the
 * echo, at TLS 1.3 (where CONN_CNF waits for the server's verdict) and 1.2; the server
 * verified it. */
static void tls_mtls_given(void) {
    material k = load_material();
    char cafile[4096];
    cert_path(cafile, sizeof cafile, "ca.pem");
    const char *versions[2] = {"-tls1_3", "-tls1_2"};
    for (int v = 0; v < 2; v++) {
        peer s;
        peer_start(&s, 1, MTLS_ARGS(versions[v], cafile));
        sock_cert cert = {.hostName = "localhost", .caCert = k.ca, .clientCert = k.client_cert,
                          .clientKey = k.client_key};
        int id = tls_conn(&s, &cert, NULL, SOCK_ERR_OK);
        rev_echo(id, 3);
        close_ok(id);
        peer_wait_exit(&s);
        ASSERT_LOG(&s.p, "Peer certificate: CN = socketcore test client\n", 1);
        ASSERT_LOG(&s.p, "Verification: OK\n", 1);
        proc_done(&s.p);
        sock_shutdown(); /* the next connection starts without a cached session */
    }
    free_material(&k);
}

/* (6) The server demands a client certificate and we have none: CONN_CNF(SSL_EHANDSHAKE), at
 * TLS 1.3 (the refusal comes after our side of the handshake) and 1.2. */
static void tls_mtls_missing(void) {
    material k = load_material();
    char cafile[4096];
    cert_path(cafile, sizeof cafile, "ca.pem");
    const char *versions[2] = {"-tls1_3", "-tls1_2"};
    for (int v = 0; v < 2; v++) {
        peer s;
        peer_start(&s, 1, MTLS_ARGS(versions[v], cafile));
        sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
        ASSERT_EQ(sock_destroy(tls_conn(&s, &cert, NULL, SOCK_ERR_SSL_EHANDSHAKE)), 1);
        ASSERT_NO_MSG(200);
        peer_wait_exit(&s);
        ASSERT_LOG(&s.p, "peer did not return a certificate", -1);
        ASSERT_LOG(&s.p, "CONNECTION ESTABLISHED", 0);
        proc_done(&s.p);
    }
    free_material(&k);
}

/* (7) ALPN: the server supports "h2,mqtt", we offer "x-unknown,mqtt": "mqtt" is negotiated
 * and sock_tls_alpn returns it (and refuses a buffer without room for its NUL). */
static void tls_alpn(void) {
    material k = load_material();
    peer s;
    peer_start(&s, 1, (const char *[]){"-alpn", "h2,mqtt", NULL});
    sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
    sock_conn_opts o;
    sock_conn_opts_init(&o);
    o.alpn = "x-unknown,mqtt";
    int id = tls_conn(&s, &cert, &o, SOCK_ERR_OK);
    char proto[32];
    memset(proto, 'z', sizeof proto);
    ASSERT_EQ(sock_tls_alpn(id, proto, sizeof proto), 4);
    ASSERT_STR_EQ(proto, "mqtt");
    ASSERT_EQ(sock_tls_alpn(id, proto, 4), -SOCK_ERR_EARG);
    rev_echo(id, 3);
    close_ok(id);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, "ALPN protocols advertised by the client: x-unknown, mqtt\n", 1);
    ASSERT_LOG(&s.p, "ALPN protocols selected: mqtt\n", 1);
    proc_done(&s.p);
    free_material(&k);
}

/* (8) sock_close sends close_notify: s_server -msg logs the alert it received ("<<<"). (Cut
 * without it, s_server logs no such line; it reports a decode error instead.) */
static void tls_close_notify_sent(void) {
    material k = load_material();
    peer s;
    peer_start(&s, 1, (const char *[]){"-tls1_3", "-msg", NULL});
    sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
    int id = tls_conn(&s, &cert, NULL, SOCK_ERR_OK);
    rev_echo(id, 3);
    ASSERT_LOG(&s.p, "warning close_notify", 0);
    close_ok(id);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, "<<< TLS 1.3, Alert [length 0002], warning close_notify\n", 1);
    ASSERT_LOG(&s.p, "CONNECTION CLOSED\n", 1);
    proc_done(&s.p);
    free_material(&k);
}

/* (8b) The peer's close_notify (s_server -rev ends on a line "CLOSE" and sends one):
 * CLOSE_IND(0), once; sock_close still confirms. */
static void tls_close_notify_received(void) {
    material k = load_material();
    peer s;
    peer_start(&s, 1, (const char *[]){"-tls1_3", "-msg", NULL});
    sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
    int id = tls_conn(&s, &cert, NULL, SOCK_ERR_OK);
    rev_echo(id, 3);
    send_ok(id, "CLOSE\n", 6);
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_OK);
    ASSERT_NO_MSG(200);
    close_ok(id);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, ">>> TLS 1.3, Alert [length 0002], warning close_notify\n", 1);
    proc_done(&s.p);
    free_material(&k);
}

/* (8c) The server is killed mid-connection: TCP ends without close_notify, CLOSE_IND(ECLSD)
 * (the data may have been truncated), once; sending is refused after it. */
static void tls_peer_cut(void) {
    material k = load_material();
    peer s;
    peer_start(&s, 1, (const char *[]){"-tls1_3", NULL});
    sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
    int id = tls_conn(&s, &cert, NULL, SOCK_ERR_OK);
    rev_echo(id, 3); /* the server has read everything: its kernel ends with FIN, not RST */
    proc_kill(&s.p);
    EXPECT_MSG(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_ECLSD);
    ASSERT_NO_MSG(200);
    ASSERT_REFUSED(sock_send(id, "x\n", 2), 0, id, SOCK_ERR_ENOTCONN);
    close_ok(id);
    proc_done(&s.p);
    free_material(&k);
}

/* A second connection with the same settings resumes the first one's session, at TLS 1.3 and
 * 1.2: openssl accepted the ticket or session id, or there would be no resumption. */
static void tls_resumption(void) {
    material k = load_material();
    const char *versions[2] = {"-tls1_3", "-tls1_2"};
    for (int v = 0; v < 2; v++) {
        peer s;
        peer_start(&s, 2, (const char *[]){versions[v], NULL});
        sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
        for (int c = 0; c < 2; c++) {
            int id = tls_conn(&s, &cert, NULL, SOCK_ERR_OK);
            ASSERT_EQ(sock_tls_resumed(id), c);
            rev_echo(id, 3); /* by then TLS 1.3 tickets, sent before the echo, are taken */
            close_ok(id);
        }
        peer_wait_exit(&s);
        ASSERT_LOG(&s.p, "CONNECTION ESTABLISHED\n", 2);
        proc_done(&s.p);
        sock_shutdown(); /* forgets the sessions */
    }
    free_material(&k);
}

/* Prints why the test is skipped and ends it with CTest's SKIP_RETURN_CODE. */
static void skip(const char *why) {
    printf("SKIP: %s\n", why);
    sock_shutdown();
    fflush(NULL);
    _exit(SKIP_CODE);
}

/* (9) A server speaking only TLS 1.0 (openssl allows it at security level 0): first an
 * `openssl s_client -tls1` proves that it really speaks TLS 1.0; then our connection, which
 * offers only TLS 1.2 and 1.3, fails with SSL_EHANDSHAKE, and the server says why. Skipped,
 * with a notice, when this openssl cannot run such a server. */
static void tls10_server(void) {
    static const char *const old[] = {"-tls1", "-cipher", "DEFAULT@SECLEVEL=0", NULL};
    material k = load_material();
    char cafile[4096];
    cert_path(cafile, sizeof cafile, "ca.pem");
    peer s;
    if (!peer_try_start(&s, 2, old)) {
        free_material(&k);
        skip("openssl s_server -tls1 -cipher DEFAULT@SECLEVEL=0 does not start here");
    }
    char connect[64];
    snprintf(connect, sizeof connect, "127.0.0.1:%d", s.port);
    proc client;
    proc_spawn(&client, (const char *[]){openssl, "s_client", "-connect", connect, "-tls1",
                                         "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", cafile,
                                         NULL});
    if (!proc_wait(&client, WAIT_MS)) {
        print_log(&client);
        proc_kill(&client);
        fprintf(stderr, "openssl s_client did not finish within %d ms\n", WAIT_MS);
        fail_now();
    }
    if (log_count(&client, "Protocol  : TLSv1\n") != 1) {
        print_log(&client);
        proc_done(&client);
        proc_done(&s.p);
        free_material(&k);
        skip("openssl s_client -tls1 cannot talk TLS 1.0 to s_server -tls1 here");
    }
    proc_done(&client);
    sock_cert cert = {.hostName = "localhost", .caCert = k.ca};
    ASSERT_EQ(sock_destroy(tls_conn(&s, &cert, NULL, SOCK_ERR_SSL_EHANDSHAKE)), 1);
    peer_wait_exit(&s);
    ASSERT_LOG(&s.p, "CONNECTION ESTABLISHED\n", 1); /* s_client's only */
    ASSERT_LOG(&s.p, "unsupported protocol", -1);
    proc_done(&s.p);
    free_material(&k);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    cert_dir = getenv("SOCKETCORE_TEST_CERTS");
    openssl = getenv("SOCKETCORE_TEST_OPENSSL");
    if (!openssl || !*openssl) openssl = "/usr/bin/openssl";
    if (!cert_dir || !*cert_dir) {
        fprintf(stderr, "SOCKETCORE_TEST_CERTS must name a directory made by tls_certs.sh "
                        "(CTest sets it and runs tls_certs.sh as the test tls.certs)\n");
        return 1;
    }
    RUN(tls13_echo);
    RUN(tls12_echo);
    RUN(tls_untrusted_ca);
    RUN(tls_wrong_hostname);
    RUN(tls_mtls_given);
    RUN(tls_mtls_missing);
    RUN(tls_alpn);
    RUN(tls_close_notify_sent);
    RUN(tls_close_notify_received);
    RUN(tls_peer_cut);
    RUN(tls_resumption);
    RUN(tls10_server); /* last: a skip ends the program */
    return test_end();
}
