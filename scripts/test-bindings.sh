#!/bin/sh
# Builds and runs the binding and example tests against an installed socketcore:
#   1. the Lua 5.1 module (bindings/lua) with CMake find_package(socketcore), installed into
#      PREFIX/lib/lua/5.1, then the Lua tests run by lua5.1 against local servers;
#   2. the Python wheel built by pip from a read-only copy of the checkout (libsocketcore
#      inside, built from the Rust sources), installed into a fresh venv, then its pytest
#      suite, mypy --strict over the package sources and the tests, and the README snippet
#      with no SOCKETCORE_* variables;
#   3. the C examples (examples/) built with find_package(socketcore), shared and static, and
#      run against local echo servers (TLS with a private CA made by openssl).
# Usage: scripts/test-bindings.sh [PREFIX]
# PREFIX defaults to target/bindings-prefix; scripts/install.sh runs first when PREFIX holds no
# installed package (or when no PREFIX is given). Build files go to target/bindings/.
# TLS tests are skipped (and reported) while the library answers SSL_EINIT; set
# SOCKETCORE_REQUIRE_TLS=1 to make that a failure. Exit status: non-zero if anything failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/target/bindings
if [ $# -ge 1 ]; then prefix=$1; else prefix=$root/target/bindings-prefix; fi
mkdir -p "$build" "$prefix"
prefix=$(cd "$prefix" && pwd)

say() { printf '\n== %s\n' "$*"; }
failures=""
fail() { failures="$failures
  - $*"; echo "FAILED: $*"; }

"$root/scripts/lib/ensure-deps.sh" all || exit 1 # the tools: installed when root, else stop

if [ $# -lt 1 ] || [ ! -f "$prefix/lib/cmake/socketcore/socketcoreConfig.cmake" ]; then
    say "installing socketcore into $prefix"
    "$root/scripts/install.sh" "$prefix" >/dev/null || exit 1
fi

# -- Lua --------------------------------------------------------------------------------------
say "Lua: build bindings/lua against $prefix"
rm -f "$build/lua/CMakeCache.txt"
if cmake -S "$root/bindings/lua" -B "$build/lua" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
    cmake --build "$build/lua" -j2 && cmake --install "$build/lua" --prefix "$prefix" >/dev/null; then
    say "Lua: tests (lua5.1)"
    "$root/bindings/lua/tests/run.sh" "$prefix/lib/lua/5.1" || fail "Lua tests"
else
    fail "Lua module build"
fi

# -- Python -----------------------------------------------------------------------------------
# As a new user: a wheel built by pip from the sources (setuptools-rust builds libsocketcore into
# it), from a read-only copy of the checkout that must stay unchanged, installed into a fresh
# venv and used with no SOCKETCORE_* variable (nor CARGO_TARGET_DIR for the build).
py=""
venv=$build/venv
ro=$build/ro-checkout
wheels=$build/wheels
say "Python: pip wheel from a read-only copy of the checkout ($ro)"
[ ! -d "$ro" ] || chmod -R u+w "$ro"
rm -rf "$ro" "$wheels" "$venv"
mkdir -p "$ro"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files and new ones not ignored: the checkout as it is, without build output.
    # (--ignore-failed-read: a tracked file deleted in the work tree is left out.)
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$ro" -xf -
else
    tar -C "$root" --exclude=./target --exclude=./prefix --exclude=./build -cf - . | tar -C "$ro" -xf -
fi
snapshot() { (cd "$ro" && find . -printf '%p %s %T@ %m\n' | LC_ALL=C sort); }
chmod -R a-w "$ro" # enforced for non-root users; for root the snapshot comparison below is
snapshot >"$build/ro.before"
if python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest mypy &&
    (cd "$build" && env -u SOCKETCORE_LIB -u SOCKETCORE_PREFIX -u CARGO_TARGET_DIR \
        "$venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$wheels" \
        "$ro/bindings/python"); then
    if ! snapshot | diff "$build/ro.before" - >"$build/ro.diff"; then
        cat "$build/ro.diff"
        fail "building the wheel wrote into the source tree"
    fi
    wheel=$(ls "$wheels"/socketcore-*.whl)
    echo "$(basename "$wheel"): $(wc -c <"$wheel") bytes"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel" && py=$venv/bin/python
fi
chmod -R u+w "$ro"
if [ -n "$py" ]; then
    say "Python: pytest (the library inside the wheel; no SOCKETCORE_* variables)"
    # Run from outside the source tree so the installed package is the one tested.
    # SOCKETCORE_TEST_PREFIX only tells test_prefix_lookup which prefix to look up.
    (cd "$build" && env -u SOCKETCORE_LIB -u SOCKETCORE_PREFIX SOCKETCORE_TEST_PREFIX="$prefix" \
        "$py" -m pytest -q -p no:cacheprovider -rs "$root/bindings/python/tests") || fail "pytest"
    say "Python: mypy --strict (bindings/python/src/socketcore and bindings/python/tests)"
    (cd "$build" && "$py" -m mypy --strict --cache-dir "$build/mypy-cache" \
        "$root/bindings/python/src/socketcore" "$root/bindings/python/tests") || fail "mypy --strict"
    say "Python: the README snippet as a new user runs it"
    (cd "$build" && env -u SOCKETCORE_LIB -u SOCKETCORE_PREFIX -u PKG_CONFIG_PATH "$py" - <<'PYEOF'
import os, socket, threading
import socketcore as sc
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def echo():
    c, _ = srv.accept()
    c.sendall(c.recv(100)); c.close()
threading.Thread(target=echo, daemon=True).start()
with sc.Socket.connect_to("127.0.0.1", srv.getsockname()[1], timeout=5) as s:
    s.sendall(b"hello")
    assert s.recv(timeout=5) == b"hello"
inside = os.path.join(os.path.dirname(sc.__file__), "_libsocketcore.abi3.so")
assert sc.loaded_path() == inside, sc.loaded_path()
print("snippet OK with", sc.loaded_path())
PYEOF
    ) || fail "Python README snippet"
else
    fail "Python wheel build or install"
fi

# -- C examples -------------------------------------------------------------------------------
work=$(mktemp -d)
spid="" cpid=""
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

servers=$root/bindings/python/tests/echo_server.py
python3 "$servers" --certs "$work/certs" --lifetime 600 > "$work/ports" &
spid=$!
i=0
while [ ! -s "$work/ports" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
tls_port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tls'])" "$work/ports" 2>/dev/null)
closed_port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")

# tls_client prints "sock_conn_ext: " and this sentence while the library has no TLS.
einit=$(env -u SOCKETCORE_LIB SOCKETCORE_PREFIX="$prefix" "${py:-python3}" -c \
    "import socketcore as sc; print(sc.strerror(sc.Err.SSL_EINIT))" 2>/dev/null)

for link in shared static; do
    say "C examples: build ($link libsocketcore)"
    dir=$build/examples-$link
    static=OFF; [ $link = static ] && static=ON
    rm -f "$dir/CMakeCache.txt"
    if ! cmake -S "$root/examples" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" \
            -DSOCKETCORE_EXAMPLES_STATIC=$static >/dev/null || ! cmake --build "$dir" -j2; then
        fail "examples build ($link)"
        continue
    fi
    if [ -z "$cpid" ]; then # the examples' own C echo server (TCP + UDP)
        "$dir/echo_server" 0 600 > "$work/cport" &
        cpid=$!
        i=0
        while [ ! -s "$work/cport" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        port=$(head -n 1 "$work/cport")
    fi
    run() { # name expected-status command...
        name=$1 want=$2
        shift 2
        echo "-- $name ($link)"
        timeout 60 "$@"
        got=$?
        if [ "$want" = ok ] && [ $got -ne 0 ]; then fail "$name ($link) exited $got"; fi
        if [ "$want" = fail ] && [ $got -eq 0 ]; then fail "$name ($link) should have failed"; fi
    }
    run tcp_echo_client ok "$dir/tcp_echo_client" 127.0.0.1 "$port" "hello from the examples"
    run "tcp_echo_client by name" ok "$dir/tcp_echo_client" localhost "$port"
    run "tcp_echo_client to a closed port" fail "$dir/tcp_echo_client" 127.0.0.1 "$closed_port"
    run udp_client ok "$dir/udp_client" 127.0.0.1 "$port" 5
    run event_loop_fd ok "$dir/event_loop_fd" 127.0.0.1 "$port" 5
    if [ -n "$tls_port" ]; then
        echo "-- tls_client ($link)"
        out=$(timeout 60 "$dir/tls_client" 127.0.0.1 "$tls_port" "$work/certs/ca.pem" localhost 2>&1)
        got=$?
        echo "$out"
        if [ $got -ne 0 ] && [ "${SOCKETCORE_REQUIRE_TLS:-0}" != 1 ] && [ -n "$einit" ] &&
            echo "$out" | grep -qF "sock_conn_ext: $einit"; then
            echo "SKIPPED: tls_client ($link): this libsocketcore was built without TLS (SSL_EINIT)"
        elif [ $got -ne 0 ]; then
            fail "tls_client ($link) exited $got"
        fi
        run "tls_client with an untrusted CA" fail "$dir/tls_client" 127.0.0.1 "$tls_port" "$work/certs/other_ca.pem" localhost
    else
        fail "TLS test server did not start"
    fi
done

if [ -n "$failures" ]; then
    printf '\nbindings and examples: FAILED%s\n' "$failures"
    exit 1
fi
printf '\nbindings and examples: all passed\n'
