# Shared by scripts/bench.sh and scripts/count-syscalls.sh (sourced, not run).

# build_benches PREFIX BUILD: configures and builds benches/ against the socketcore installed in
# PREFIX, into BUILD; prints the build's output and returns 1 only if it fails.
build_benches() {
    _log=$(mktemp)
    if ! { cmake -S benches -B "$2" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$1" \
            -Dsocketcore_DIR="$1/lib/cmake/socketcore" &&
           cmake --build "$2" -j2; } >"$_log" 2>&1; then
        cat "$_log" >&2
        rm -f "$_log"
        return 1
    fi
    rm -f "$_log"
}

# wait_ports OUT ERR: waits (at most 10 s) for bench_server's "ports ..." line in OUT and
# prints what follows "ports "; on a timeout shows ERR and exits.
wait_ports() {
    _i=0
    while ! grep -q '^ports' "$1" 2>/dev/null; do
        _i=$((_i + 1))
        [ $_i -le 100 ] || { echo "the bench server did not start" >&2; cat "$2" >&2; exit 1; }
        sleep 0.1
    done
    sed -n 's/^ports //p' "$1"
}
