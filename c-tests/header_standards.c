/* The installed header in every language standard a user may compile with: CTest builds this
 * file as C89, C99, C11 and C17 and (through header_standards.cpp) as C++98, C++11, C++14,
 * C++17 and C++20, each with -pedantic -Wall -Wextra -Werror (tests header.c89 ... header.c++20).
 * It uses every type, function and macro kind of the header, so a construct one standard
 * rejects fails the build. Valid C89 and C++98 alike: comments in this style, declarations
 * before statements, no designated initialisers. */
#include <socketcore.h>

typedef int (*conn_fn)(int, int, const char *, const struct sock_cert *);
typedef int (*conn_ext_fn)(int, int, const char *, const struct sock_cert *,
                           const struct sock_conn_opts *);
typedef int (*wait_fn)(struct sock_msg *, int);
typedef const char *(*text_fn)(int);

int header_standards_check(void);

int header_standards_check(void)
{
    conn_fn conn = sock_conn;
    conn_ext_fn conn_ext = sock_conn_ext;
    wait_fn wait = sock_wait_msg;
    text_fn text = sock_strerror;
    int (*send_fn)(int, const void *, size_t) = sock_send;
    int (*recv_fn)(int, void *, size_t) = sock_recv;
    int (*stats_fn)(int, struct sock_counters *) = sock_stats;
    int (*opts_init)(struct sock_conn_opts *) = sock_conn_opts_init;
    int (*alpn_fn)(int, char *, size_t) = sock_tls_alpn;
    const char *(*version_fn)(void) = sock_version;
    void (*shutdown_fn)(void) = sock_shutdown;
    int (*log_fn)(int, void (*)(int, const char *, void *), void *) = sock_set_log;
    int (*addr_fn)(int, char *, size_t) = sock_peer_addr;
    int (*why_fn)(int, char *, size_t) = sock_tls_error_text;
    int (*info_fn)(int, char *, size_t) = sock_tls_info;
    int (*global_fn)(struct sock_global_counters *) = sock_global_stats;
    sock_global_counters all;
    char buf[SOCK_MAX_ADDR_TEXT + SOCK_MAX_TLS_ERROR_TEXT];
    sock_msg msg;
    sock_cert cert;
    sock_conn_opts opts;
    sock_counters counters;
    uint64_t total;
    const char *v = SOCKETCORE_VERSION;
    int sum = SOCK_ERR_OK + SOCK_TYPE_TCP + MSG_SOCK_CONN_CNF + SOCK_SOL_SOCKET +
              SOCK_DEFAULT_RCV_BUF + SOCK_MAX_BUF + SOCK_TLS_VERIFY_NONE + SOCK_MAX_ADDR_LEN +
              SOCK_LOG_TRACE;

    msg.id = MSG_SOCK_RECV_IND;
    msg.socket_index = 0;
    msg.result = SOCK_ERR_OK;
    msg.recv_len = 0;
    msg.send_len = 0;
    cert.hostName = 0;
    cert.caCert = 0;
    cert.clientCert = 0;
    cert.clientKey = 0;
    opts.size = (uint32_t)sizeof opts;
    opts.alpn = 0;
    counters.bytes_sent = 0;
    counters.bytes_received = 0;
    total = counters.bytes_sent + counters.bytes_received;
    return (conn != 0) + (conn_ext != 0) + (wait != 0) + (text != 0) + (send_fn != 0) +
           (recv_fn != 0) + (stats_fn != 0) + (opts_init != 0) + (alpn_fn != 0) +
           (version_fn != 0) + (shutdown_fn != 0) + (log_fn != 0) + (addr_fn != 0) +
           (why_fn != 0) + (info_fn != 0) + (global_fn != 0) + (int)sizeof buf +
           (int)sizeof all + msg.id + (cert.hostName == 0) +
           (int)opts.size + (int)total + (v[0] == '0') + sum + SOCKETCORE_VERSION_MAJOR;
}
