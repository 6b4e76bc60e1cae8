#!/bin/sh
# Checks the build without the `tls` cargo feature (firmware with no TLS):
#   1. clippy and the Rust tests that do not need TLS, built with --no-default-features;
#   2. scripts/install.sh --no-tls into target/no-tls-prefix: neither archive nor shared
#      library may carry rustls or ring code;
#   3. the C examples built against that prefix (shared and static): TCP echoes, and an SSL
#      socket is refused with SOCK_ERR_SSL_EINIT.
# Usage: scripts/test-no-tls.sh     Exit status: non-zero if anything failed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
prefix=$root/target/no-tls-prefix
build=$root/target/no-tls-examples

echo "== no-TLS build: clippy and Rust tests"
cargo clippy -j2 --all-targets --no-default-features -- -D warnings
cargo test -j2 --no-default-features --lib --test bad_input --test tcp --test udp_raw --test faults

echo "== no-TLS build: install into $prefix"
scripts/install.sh --no-tls "$prefix" >/dev/null
for f in "$prefix/lib/libsocketcore.a" "$prefix/lib/libsocketcore.so"; do
    n=$(nm -C "$f" 2>/dev/null | grep -ciE 'rustls|ring_core|webpki' || true)
    [ "$n" -eq 0 ] || { echo "FAILED: $f holds $n rustls/ring/webpki symbols" >&2; exit 1; }
done
strip -o "$build.so" "$prefix/lib/libsocketcore.so"
echo "libsocketcore.so without TLS: $(wc -c <"$build.so") bytes stripped"

server="" work=$(mktemp -d)
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT INT TERM
for link in shared static; do
    echo "== no-TLS build: C examples ($link)"
    static=OFF; [ $link = static ] && static=ON
    rm -f "$build-$link/CMakeCache.txt"
    cmake -S examples -B "$build-$link" -DCMAKE_PREFIX_PATH="$prefix" \
        -DSOCKETCORE_EXAMPLES_STATIC=$static >/dev/null
    cmake --build "$build-$link" -j2 >/dev/null
    if [ -z "$server" ]; then
        "$build-$link/echo_server" 0 300 >"$work/port" &
        server=$!
        i=0
        while [ ! -s "$work/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        port=$(head -n 1 "$work/port")
    fi
    timeout 60 "$build-$link/tcp_echo_client" 127.0.0.1 "$port" "no TLS here"
    echo "not used: the library refuses SSL before reading it" >"$work/ca.pem"
    if out=$(timeout 60 "$build-$link/tls_client" 127.0.0.1 "$port" "$work/ca.pem" 2>&1); then
        echo "FAILED: tls_client succeeded without TLS: $out" >&2
        exit 1
    fi
    echo "$out" | grep -q "TLS unavailable" ||
        { echo "FAILED: tls_client without TLS said: $out" >&2; exit 1; }
    echo "tls_client refused as expected: $out"
done
echo "== no-TLS build: all passed"
