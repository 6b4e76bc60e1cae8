#!/bin/sh
# Syscalls per plain TCP lifecycle through socketcore, by name and in total (issue 14):
#
#   scripts/count-syscalls.sh [PREFIX [BUILD]]
#
# One lifecycle is connect, CONN_CNF, send 64 B, SEND_CNF, the echo's RECV_IND, recv, close,
# CLOSE_CNF, destroy (`client_sc lifecycle`, benches/client_sc.c), against the echo port of
# benches/bench_server.c on 127.0.0.1. The client runs N=100 and N=300 lifecycles under
# `strace -f -c` (every thread counted); the difference divided by 200 is the cost of one
# lifecycle, with start-up, the first connect's one-off work and shutdown cancelled out. The
# blocking raw client (socket, connect, write, read, close) is counted the same way beside it.
#
# PREFIX: an installed socketcore (default: installs into target/bench-prefix); BUILD: a build
# of benches/ against it (default: built into target/bench-build). Needs strace; exits 3 with a
# message when it is missing (`apt-get install -y strace`).
# Prints a table, then one line per client for scripts/bench.sh:
#   SYSCALLS <client> total=<per lifecycle> <name>=<per lifecycle> ...
set -eu
[ $# -le 2 ] || { echo "usage: $0 [PREFIX [BUILD]]" >&2; exit 2; }
command -v strace >/dev/null ||
    { echo "count-syscalls: strace is not installed (apt-get install -y strace); skipped" >&2; exit 3; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ $# -ge 1 ]; then
    prefix=$(cd "$1" && pwd)
else
    prefix=$root/target/bench-prefix
    echo "== install socketcore into $prefix" >&2
    scripts/install.sh "$prefix" >/dev/null
fi
. "$root/scripts/lib/bench-common.sh"
build=${2:-$root/target/bench-build}
if [ $# -lt 2 ] || [ ! -x "$build/client_sc" ]; then
    build_benches "$prefix" "$build" || exit 1
fi

work=$(mktemp -d)
server=
cleanup() {
    status=$?
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$build/bench_server" seconds=600 >"$work/server.out" 2>"$work/server.err" &
server=$!
echo_port=$(wait_ports "$work/server.out" "$work/server.err" | sed -n 's/.*echo=\([0-9]*\).*/\1/p')

# count CLIENT N: strace's summary of N lifecycles into $work/CLIENT.N
count() {
    if ! strace -f -qq -c -o "$work/$1.$2" "$build/client_$1" lifecycle echo="$echo_port" \
            n="$2" timeout=120 >"$work/out" 2>&1; then
        echo "count-syscalls: client_$1 failed:" >&2
        cat "$work/out" >&2
        exit 1
    fi
}
for c in sc raw; do
    count $c 100
    count $c 300
done

# strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall.
per_lifecycle() { # CLIENT LABEL
    awk -v label="$2" '
    function row(    name, calls, errors) {
        if ($1 ~ /^-/ || $1 == "%" || NF < 5) return
        name = $NF; calls = $4; errors = NF >= 6 ? $5 : 0
        if (name == "total") return
        c[name] += sign * calls; e[name] += sign * errors; seen[name] = 1
    }
    FNR == 1 { sign = (FILENAME ~ /\.300$/) ? 1 : -1 }
    { row() }
    END {
        total = 0; line = ""
        n = 0
        for (k in seen) { v = c[k] / 200; if (v < 0.005 && v > -0.005) continue; names[++n] = k; val[k] = v }
        for (i = 2; i <= n; i++) { # by count, then name
            t = names[i]
            for (j = i - 1; j >= 1 && (val[names[j]] < val[t] || (val[names[j]] == val[t] && names[j] > t)); j--)
                names[j + 1] = names[j]
            names[j + 1] = t
        }
        printf "%s:\n", label
        for (i = 1; i <= n; i++) {
            k = names[i]; total += val[k]
            err = e[k] / 200
            note = (err >= 0.005) ? sprintf("  (%.2f of them returned an error)", err) : ""
            printf "  %-16s %6.2f%s\n", k, val[k], note
            line = line sprintf(" %s=%.2f", k, val[k])
        }
        printf "  %-16s %6.2f\n", "total", total
        printf "SYSCALLS %s total=%.2f%s\n", label, total, line
    }' "$work/$1.100" "$work/$1.300"
}
echo "syscalls per plain TCP lifecycle (connect, 64 B echo, close; strace -f -c, (N=300 - N=100) / 200)"
per_lifecycle sc socketcore
per_lifecycle raw raw
