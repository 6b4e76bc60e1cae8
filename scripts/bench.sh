#!/bin/sh
# The benchmark suite (benches/): socketcore against plain blocking sockets (the physical limit)
# and libuv, and against an OpenSSL client for TLS, all talking to one local server process.
#
#   scripts/bench.sh [--quick] [PREFIX]
#
# PREFIX: an installed socketcore (scripts/install.sh PREFIX); without it the library is
# installed into target/bench-prefix first. benches/ is built with CMake into
# target/bench-build (needs libuv1-dev, libssl-dev, the openssl CLI).
#
# Full mode: waits (up to BENCH_WAIT_MAX seconds, default 1800) for the 1-minute load average to
# drop below BENCH_MAX_LOAD (0.5), then runs every workload BENCH_REPS times (5), clients
# interleaved (raw, libuv, socketcore, then libuv, socketcore, raw, ...: the order rotates), and
# prints medians and ratios. Targets are shown for information only: the exit status never
# depends on timing.
# --quick: the same code paths with tiny sizes and one repetition, no waiting (a smoke test).
# Exit status: 0 when every client finished with intact data, 1 otherwise.
#
# The server (benches/bench_server.c) runs in its own process and is not pinned: the server,
# the client and socketcore's poll thread share the machine's cores as the scheduler decides.
# BENCH_SERVER_CPU=N pins the server to CPU N, BENCH_CLIENT_CPU=N every client (taskset).
# pingpong_1cpu is the exception: a second server and the client are both pinned to CPU
# BENCH_1CPU (default 0), so that every round trip is a pair of context switches on one CPU.
# BENCH_WORKLOADS="download udp ..." runs only those of: upload download pingpong
# pingpong_1cpu fanout fanout_held udp scaling tls_up tls_down tls_hs.
# At the end, when strace is installed, scripts/count-syscalls.sh prints the syscalls of one
# plain TCP lifecycle (socketcore and raw); without strace that part is skipped with a note.
set -eu
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
[ $# -le 1 ] || { echo "usage: $0 [--quick] [PREFIX]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ $# -eq 1 ]; then
    prefix=$(cd "$1" && pwd)
    [ -f "$prefix/lib/cmake/socketcore/socketcoreConfig.cmake" ] ||
        { echo "bench: no socketcore installed in $prefix" >&2; exit 2; }
else
    prefix=$root/target/bench-prefix
    echo "== install socketcore into $prefix"
    scripts/install.sh "$prefix" >/dev/null
fi
command -v openssl >/dev/null || { echo "bench: the openssl CLI is needed" >&2; exit 2; }

. "$root/scripts/lib/bench-common.sh"
build=$root/target/bench-build
echo "== build benches/ in $build"
build_benches "$prefix" "$build" || exit 1

if [ $quick -eq 1 ]; then
    reps=${BENCH_REPS:-1}
    bytes=$((16 << 20)) tls_bytes=$((16 << 20)) iters=2000 scale_iters=2000 warm=100
    conns=200 held=200 cwin=50 idle=200 dgrams=2000 hs=50 limit=60
else
    reps=${BENCH_REPS:-5}
    bytes=$((1 << 30)) tls_bytes=$((1 << 30)) iters=100000 scale_iters=50000 warm=1000
    conns=10000 held=10000 cwin=1000 idle=10000 dgrams=200000 hs=1000 limit=600
fi
window=32

load1() { cut -d' ' -f1 /proc/loadavg; }
if [ $quick -eq 0 ] && [ "${BENCH_NO_WAIT:-0}" != 1 ]; then
    max_load=${BENCH_MAX_LOAD:-0.5} waited=0 wait_max=${BENCH_WAIT_MAX:-1800}
    while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }' &&
          [ $waited -lt "$wait_max" ]; do
        echo "== load $(load1) >= $max_load: waiting (${waited}s of ${wait_max}s)"
        sleep 30
        waited=$((waited + 30))
    done
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # the programs raise it themselves too
work=$(mktemp -d)
server= server1=
cleanup() {
    status=$?
    for pid in $server $server1; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# TLS material: a private CA (ECDSA P-256) and a certificate for localhost / 127.0.0.1.
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=socketcore bench CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
        -out server.csr -subj "/CN=localhost"
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile ext.cnf -out server.pem
) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; exit 1; }

pin= client_pin=
[ -n "${BENCH_SERVER_CPU:-}" ] && pin="taskset -c $BENCH_SERVER_CPU"
[ -n "${BENCH_CLIENT_CPU:-}" ] && client_pin="taskset -c $BENCH_CLIENT_CPU"
all_workloads="upload download pingpong pingpong_1cpu fanout fanout_held udp scaling tls_up tls_down tls_hs"
workloads=${BENCH_WORKLOADS:-$all_workloads}
for w in $workloads; do
    case " $all_workloads " in *" $w "*) ;; *) echo "bench: unknown workload $w" >&2; exit 2 ;; esac
done
selected() { case " $workloads " in *" $1 "*) return 0 ;; esac; return 1; }
$pin "$build/bench_server" cert="$work/server.pem" key="$work/server.key" seconds=14400 \
    >"$work/server.out" 2>"$work/server.err" &
server=$!
ports=$(wait_ports "$work/server.out" "$work/server.err")
one_cpu=${BENCH_1CPU:-0}
if selected pingpong_1cpu; then
    # Its own server, on the client's CPU: the other workloads' placement stays as it was.
    taskset -c "$one_cpu" "$build/bench_server" seconds=14400 >"$work/server1.out" \
        2>"$work/server1.err" &
    server1=$!
    echo1=$(wait_ports "$work/server1.out" "$work/server1.err" | sed -n 's/.*echo=\([0-9]*\).*/\1/p')
fi

results=$work/results
: >"$results"
failures=0
common="$ports ca=$work/ca.pem timeout=$limit warm=$warm window=$window"
run() { # CLIENT WORKLOAD SIZES...
    client=$1 workload=$2
    shift 2
    status=0 wpin=$client_pin
    [ "$workload" = pingpong_1cpu ] && wpin="taskset -c $one_cpu"
    # A TIME_WAIT entry becomes reusable by connect() after 1 s (tcp_tw_reuse); before that,
    # with 10,000 of them from the previous run, connect() searches the port range: about 1 s
    # of kernel time per 10,000 connections, whichever client runs (it made every client but
    # the first of a repetition look 3-4 x slower). So the runs that open thousands wait.
    case $workload in fanout | fanout_held | scaling) [ $quick -eq 1 ] || sleep 2 ;; esac
    # Later key=value arguments win (the one-CPU server's echo port).
    timeout $((limit + 30)) $wpin "$build/client_$client" "$workload" $common "$@" \
        >"$work/out" 2>"$work/err" || status=$?
    if [ $status -eq 0 ] && grep -q '^RESULT' "$work/out"; then
        grep '^RESULT' "$work/out" >>"$results"
        printf '   %-9s %-10s %s\n' "$workload" "$client" "$(sed -n 's/^RESULT [^ ]* [^ ]* //p' "$work/out")"
    else
        failures=$((failures + 1))
        echo "   $workload $client FAILED (exit $status):" >&2
        grep -h '^FAIL' "$work/out" "$work/err" >&2 || tail -5 "$work/err" >&2
    fi
    grep -h '^INFO' "$work/out" >>"$work/info" || true
}

echo "== server: $ports${pin:+ (pinned: $pin)}${client_pin:+, clients: $client_pin}; $reps repetition(s)"
rep=1 ran=""
while [ $rep -le "$reps" ]; do
    echo "== repetition $rep of $reps"
    for w in $workloads; do
        case $w in
        upload | download) size="bytes=$bytes" ;;
        tls_up | tls_down) size="bytes=$tls_bytes" ;;
        pingpong) size="iters=$iters" ;;
        pingpong_1cpu) size="iters=$iters echo=$echo1" ;;
        fanout) size="conns=$conns" ;;
        fanout_held) size="conns=$held cwin=$cwin" ;;
        udp) size="dgrams=$dgrams" ;;
        scaling) size="iters=$scale_iters idle=$idle" ;;
        tls_hs) size="hs=$hs" ;;
        esac
        case $w in tls_*) clients="raw sc" ;; *) clients="raw uv sc" ;; esac
        # The order rotates with each repetition, so that no client always runs right after
        # the same other one (the machine's state after a run is part of the next run).
        set -- $clients
        shift $(((rep - 1) % $#))
        for c in "$@" $clients; do
            case " $ran " in *" $c "*) continue ;; esac
            ran="$ran $c"
            run $c $w $size
        done
        ran=""
    done
    rep=$((rep + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

if ! kill -0 "$server" 2>/dev/null; then
    echo "bench: the server died" >&2
    cat "$work/server.err" >&2
    failures=$((failures + 1))
fi

strip -o "$work/stripped.so" "$prefix/lib/libsocketcore.so"
so_size=$(wc -c <"$prefix/lib/libsocketcore.so")
so_stripped=$(wc -c <"$work/stripped.so")
cipher=$(sed -n 's/^INFO [^ ]* openssl //p' "$work/info" 2>/dev/null | head -n 1)

mode="full"
[ $quick -eq 1 ] && mode="quick (smoke sizes; timings not meaningful)"
echo
echo "socketcore $(sed -n 's/.*SOCKETCORE_VERSION "\(.*\)"/\1/p' "$prefix/include/socketcore.h") benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores, Linux $(uname -r)"
echo "load (1/5/15 min): $load_start at start, $load_end at end; mode: $mode, medians of $reps"
echo "server: one process (epoll echo, thread per bulk/TLS connection); pinning: server ${pin:-none}, clients ${client_pin:-none}"
echo "TLS: $cipher, ECDSA P-256 certificate, full verification, no resumption"
echo "libsocketcore.so: $so_size bytes, $so_stripped stripped"
echo

awk -v bytes="$bytes" -v tls_bytes="$tls_bytes" -v iters="$iters" -v conns="$conns" \
    -v held="$held" -v cwin="$cwin" -v one_cpu="$one_cpu" \
    -v idle="$idle" -v dgrams="$dgrams" -v hs="$hs" -v scale_iters="$scale_iters" '
function median(list,    v, n, i, j, t) {
    n = split(list, v, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) {
        t = v[i] + 0
        for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
        v[j + 1] = t
    }
    return n % 2 ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
}
function get(w, c, k) { return ((w, c, k) in med) ? med[w, c, k] : "" }
function num(x, fmt) { return x == "" ? "-" : sprintf(fmt, x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : a / b }
function verdict(r, op, t) {
    if (r == "") return "-"
    return ((op == ">=" && r >= t) || (op == "<=" && r <= t)) ? "met" : "MISSED"
}
# one row: label, unit, workload, key, format, target text, target ratio column, op, value
function row(label, unit, w, k, fmt, tgt, col, op, t,    a, b, s, r1, r2, r) {
    a = get(w, "raw", k); b = get(w, "libuv", k); s = get(w, "socketcore", k)
    if (a == "" && b == "" && s == "") return # not run (BENCH_WORKLOADS)
    r1 = ratio(s, a); r2 = ratio(s, b)
    r = col == "raw" ? r1 : r2
    printf "%-22s %-12s %12s %12s %12s %8s %9s  %s\n", label, unit, num(a, fmt), num(b, fmt),
        num(s, fmt), num(r1, "%.3f"), num(r2, "%.3f"),
        tgt == "" ? "" : tgt " " verdict(r, op, t)
}
function tlsrow(label, unit, w, k, fmt,    a, s, r) {
    a = get(w, "openssl", k); s = get(w, "socketcore", k); r = ratio(s, a)
    if (a == "" && s == "") return
    printf "%-22s %-12s %12s %12s %12s %8s %9s  %s\n", label, unit, num(a, fmt), "", num(s, fmt),
        num(r, "%.3f"), "", ">=1.0 x openssl " verdict(r, ">=", 1.0)
}
$1 == "RESULT" {
    if ($3 == "openssl") tls = 1
    for (i = 4; i <= NF; i++) {
        split($i, kv, "=")
        vals[$2, $3, kv[1]] = vals[$2, $3, kv[1]] " " kv[2]
        seen[$2, $3, kv[1]] = 1
        if (kv[1] == "mean_us" && kv[2] > 0) { # ping-pong: round trips per second
            vals[$2, $3, "rt_per_s"] = vals[$2, $3, "rt_per_s"] " " 1e6 / kv[2]
            seen[$2, $3, "rt_per_s"] = 1
        }
    }
}
END {
    for (key in seen) med[key] = median(vals[key])
    printf "%-22s %-12s %12s %12s %12s %8s %9s  %s\n", "workload", "metric", "raw", "libuv",
        "socketcore", "sc/raw", "sc/libuv", "target (issue 5; (14): issue 14)"
    printf "%-22s %-12s %12s %12s %12s %8s %9s  %s\n", "--------", "------", "---", "-----",
        "----------", "------", "--------", "----------------"
    row(sprintf("upload %d MiB", bytes / 1048576), "MB/s", "upload", "mbps", "%.0f", ">=0.90 x raw", "raw", ">=", 0.90)
    row(sprintf("download %d MiB", bytes / 1048576), "MB/s", "download", "mbps", "%.0f", ">=0.90 x raw", "raw", ">=", 0.90)
    row(sprintf("ping-pong 64 B x%d", iters), "p50 us", "pingpong", "p50_us", "%.2f", "<=1.25 x libuv", "uv", "<=", 1.25)
    row("", "p99 us", "pingpong", "p99_us", "%.2f")
    row(sprintf("ping-pong, 1 CPU (%d)", one_cpu), "p50 us", "pingpong_1cpu", "p50_us", "%.2f", "<=1.0 x libuv (14)", "uv", "<=", 1.0)
    row("", "p99 us", "pingpong_1cpu", "p99_us", "%.2f", "<=1.0 x libuv (14)", "uv", "<=", 1.0)
    row("", "round trips/s", "pingpong_1cpu", "rt_per_s", "%.0f")
    row(sprintf("fan-out %d conns", conns), "time s", "fanout", "time_s", "%.3f", "<=0.9 x libuv (14)", "uv", "<=", 0.9)
    row("", "conns/s", "fanout", "conns_per_s", "%.0f")
    row("", "peak RSS kB", "fanout", "peak_rss_kb", "%.0f", "<=1.0 x libuv (14)", "uv", "<=", 1.0)
    row(sprintf("fan-out %d held", held), "time s", "fanout_held", "time_s", "%.3f", "<=0.9 x libuv (14)", "uv", "<=", 0.9)
    row(sprintf("(window %d)", cwin), "conns/s", "fanout_held", "conns_per_s", "%.0f")
    row("", "peak RSS kB", "fanout_held", "peak_rss_kb", "%.0f", "<=1.0 x libuv (14)", "uv", "<=", 1.0)
    row(sprintf("idle conns (%d)", idle), "bytes/conn", "scaling", "idle_bytes_per_conn", "%.0f")
    row(sprintf("UDP 64 B x%d", dgrams), "dgrams/s", "udp", "dgrams_per_s", "%.0f", ">=1.0 x libuv", "uv", ">=", 1.0)
    row(sprintf("scaling x%d, 0 idle", scale_iters), "p50 us", "scaling", "none_p50_us", "%.2f")
    row(sprintf("scaling, %d idle", idle), "p50 us", "scaling", "idle_p50_us", "%.2f")
    a = get("scaling", "raw", "ratio"); b = get("scaling", "libuv", "ratio"); s = get("scaling", "socketcore", "ratio")
    if (a != "" || b != "" || s != "") printf "%-22s %-12s %12s %12s %12s %8s %9s  %s\n", "scaling idle/none", "p50 ratio", num(a, "%.3f"),
        num(b, "%.3f"), num(s, "%.3f"), "", "", "<=1.1 (socketcore) " verdict(s, "<=", 1.1)
    if (!tls) exit
    print ""
    printf "%-22s %-12s %12s %12s %12s %8s %9s  %s\n", "TLS", "metric", "openssl", "", "socketcore",
        "sc/ossl", "", "target (issue 5)"
    tlsrow(sprintf("TLS upload %d MiB", tls_bytes / 1048576), "MB/s", "tls_up", "mbps", "%.0f")
    tlsrow(sprintf("TLS download %d MiB", tls_bytes / 1048576), "MB/s", "tls_down", "mbps", "%.0f")
    tlsrow(sprintf("TLS handshakes x%d", hs), "per s", "tls_hs", "hs_per_s", "%.0f")
}' "$results"

# Every client must have reported every workload.
for w in $workloads; do
    case $w in tls_*) clients="openssl socketcore" ;; *) clients="raw libuv socketcore" ;; esac
    for c in $clients; do
        n=$(grep -c "^RESULT $w $c " "$results" || true)
        if [ "$n" -ne "$reps" ]; then
            echo "bench: $w $c reported $n of $reps runs" >&2
            failures=$((failures + 1))
        fi
    done
done
echo
# Syscalls per plain TCP lifecycle (strace -f -c; scripts/count-syscalls.sh).
if command -v strace >/dev/null; then
    if scripts/count-syscalls.sh "$prefix" "$build" >"$work/syscalls" 2>&1; then
        grep -v '^SYSCALLS' "$work/syscalls"
        total=$(sed -n 's/^SYSCALLS socketcore total=\([^ ]*\).*/\1/p' "$work/syscalls")
        # To 0.1: a stray futex or munmap in one of the two runs moves the total by 0.01.
        echo "socketcore: $total syscalls per lifecycle; issue 14 target <= 8: $(awk -v t="$total" 'BEGIN { print (sprintf("%.1f", t) + 0 <= 8 ? "met" : "MISSED") }')"
    else
        cat "$work/syscalls" >&2
        failures=$((failures + 1))
    fi
else
    echo "syscall count skipped: strace is not installed (apt-get install -y strace)"
fi
echo
if [ $failures -ne 0 ]; then
    echo "bench: $failures failure(s)" >&2
    exit 1
fi
echo "bench: all clients finished with intact data"
