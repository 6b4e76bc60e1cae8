/*
 * Shared by the benchmark server and clients: the data pattern, the bulk protocol, timing,
 * key=value arguments, resource limits, memory readings and result lines.
 *
 * Bulk protocol (plain TCP port and TLS port): the client sends a 16-byte header
 *   u64 op (OP_SINK or OP_SOURCE), u64 byte count      (little-endian)
 * OP_SINK:   the client sends that many pattern bytes; the server checks them and answers with
 *            16 bytes: u64 bytes received, u64 chunks that did not match the pattern.
 * OP_SOURCE: the server sends that many pattern bytes; the client checks them.
 * Either way the client closes; the server closes after the client's EOF (TLS: close_notify).
 * A TLS connection closed before any header is a bare handshake (the handshake workload).
 *
 * The pattern: byte i of every stream is pat[i % PAT_PERIOD], a pseudo-random sequence whose
 * period (a prime) differs from every chunk size, so a lost, repeated or reordered chunk shows.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>

#define PAT_PERIOD 65521u
#define PAT_MAXCHUNK (1u << 20) /* longest contiguous run pat_at() may be read for */
#define OP_SINK 1u
#define OP_SOURCE 2u
#define HDR_LEN 16
#define MSG_LEN 64       /* ping-pong, fan-out and UDP message size */
#define IO_BUF (256 * 1024) /* receive buffer of every client (= socketcore's default bound) */

extern unsigned char *pat;
void pat_init(void);
static inline const unsigned char *pat_at(uint64_t off) { return pat + off % PAT_PERIOD; }
/* 1 when data[0..len) equals the stream's bytes at offset off. */
int pat_check(const void *data, size_t len, uint64_t off);

void put_u64(unsigned char *p, uint64_t v);
uint64_t get_u64(const unsigned char *p);
/* A 64-byte message: u64 seq, then pattern bytes chosen by seq. */
void msg_make(unsigned char *out, uint64_t seq);

uint64_t now_ns(void);

/* key=value arguments after the workload name; when a key comes twice, the last wins. */
void args_init(int argc, char **argv);
const char *arg_str(const char *key, const char *def);
long long arg_ll(const char *key, long long def);

/* Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit. */
long raise_nofile(void);
/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 when missing. */
long status_kb(const char *field);

/* Prints "FAIL client workload: ..." to stdout and stderr and exits 1. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void set_ident(const char *client, const char *workload);
/* Prints "RESULT workload client key=value ...". */
void result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fails the run with "timeout" after that many seconds (SIGALRM). */
void watchdog(unsigned seconds);
/* The common start of every client: ident, pattern, RLIMIT_NOFILE, SIGPIPE, watchdog. */
void client_init(const char *client, int argc, char **argv);
/* Ping-pong and scaling: "<prefix>p50_us=.. <prefix>p99_us=.. <prefix>mean_us=.." of n
 * latencies in ns (sorts lat). Returns out. */
char *fmt_latency(char *out, size_t cap, const char *prefix, uint64_t *lat, size_t n);

/* Fan-out: the RESULT line for n connections over elapsed_ns, with the peak RSS; cwin > 0
 * (the held shape) is reported too. */
void fanout_result(uint64_t elapsed_ns, long n, long cwin);

/* Sorts v and returns its p-th percentile (0 < p <= 100, nearest rank). */
uint64_t percentile(uint64_t *v, size_t n, double p);

/* Throughput in MB/s (10^6 bytes per second). */
static inline double mbps(uint64_t bytes, uint64_t ns) { return bytes * 1e3 / (double)ns; }

#endif
