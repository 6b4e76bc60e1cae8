#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

unsigned char *pat;

void pat_init(void)
{
    if (pat) return;
    pat = malloc(PAT_PERIOD + PAT_MAXCHUNK);
    if (!pat) abort();
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < PAT_PERIOD; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        pat[i] = (unsigned char)(x >> 24);
    }
    for (uint32_t i = PAT_PERIOD; i < PAT_PERIOD + PAT_MAXCHUNK; i++) pat[i] = pat[i - PAT_PERIOD];
}

int pat_check(const void *data, size_t len, uint64_t off)
{
    const unsigned char *d = data;
    while (len > 0) {
        size_t n = len < PAT_MAXCHUNK ? len : PAT_MAXCHUNK;
        if (memcmp(d, pat_at(off), n) != 0) return 0;
        d += n; off += n; len -= n;
    }
    return 1;
}

void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void msg_make(unsigned char *out, uint64_t seq)
{
    put_u64(out, seq);
    memcpy(out + 8, pat_at(seq * 977), MSG_LEN - 8);
}

uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int g_argc;
static char **g_argv;

void args_init(int argc, char **argv) { g_argc = argc; g_argv = argv; }

const char *arg_str(const char *key, const char *def)
{
    size_t k = strlen(key);
    for (int i = g_argc - 1; i >= 0; i--) /* the last of a key wins */
        if (strncmp(g_argv[i], key, k) == 0 && g_argv[i][k] == '=') return g_argv[i] + k + 1;
    return def;
}

long long arg_ll(const char *key, long long def)
{
    const char *s = arg_str(key, NULL);
    return s ? strtoll(s, NULL, 0) : def;
}

long raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
        getrlimit(RLIMIT_NOFILE, &r);
    }
    return (long)r.rlim_cur;
}

long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t k = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, k) == 0 && line[k] == ':') {
            v = strtol(line + k + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static const char *g_client = "?", *g_workload = "?";

void set_ident(const char *client, const char *workload)
{
    g_client = client;
    g_workload = workload;
}

void fail(const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("FAIL %s %s: %s\n", g_workload, g_client, text);
    fflush(stdout);
    fprintf(stderr, "FAIL %s %s: %s\n", g_workload, g_client, text);
    exit(1);
}

void result(const char *fmt, ...)
{
    va_list ap;
    printf("RESULT %s %s ", g_workload, g_client);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t percentile(uint64_t *v, size_t n, double p)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "FAIL timeout (watchdog)\n";
    (void)!write(1, m, sizeof m - 1);
    (void)!write(2, m, sizeof m - 1);
    _exit(1);
}

void watchdog(unsigned seconds)
{
    signal(SIGALRM, on_alarm);
    alarm(seconds);
}

void client_init(const char *client, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKLOAD [key=value ...]\n", argv[0]);
        exit(2);
    }
    set_ident(client, argv[1]);
    args_init(argc - 2, argv + 2);
    pat_init();
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    watchdog((unsigned)arg_ll("timeout", 600));
}

void fanout_result(uint64_t elapsed_ns, long n, long cwin)
{
    double s = (double)elapsed_ns / 1e9;
    if (cwin > 0)
        result("time_s=%.3f conns_per_s=%.0f peak_rss_kb=%ld conns=%ld cwin=%ld", s, (double)n / s,
               status_kb("VmHWM"), n, cwin);
    else
        result("time_s=%.3f conns_per_s=%.0f peak_rss_kb=%ld conns=%ld", s, (double)n / s,
               status_kb("VmHWM"), n);
}

char *fmt_latency(char *out, size_t cap, const char *prefix, uint64_t *lat, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += lat[i];
    double mean = n ? (double)sum / (double)n / 1e3 : 0;
    uint64_t p50 = percentile(lat, n, 50), p99 = percentile(lat, n, 99);
    snprintf(out, cap, "%sp50_us=%.2f %sp99_us=%.2f %smean_us=%.2f", prefix, p50 / 1e3, prefix,
             p99 / 1e3, prefix, mean);
    return out;
}
