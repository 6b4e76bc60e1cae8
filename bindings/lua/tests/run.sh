#!/bin/sh
# Runs the Lua tests against local servers it starts (loopback only).
#   bindings/lua/tests/run.sh LUA_MODULE_DIR      (the directory holding socketcore.so)
# Exit status: 0 when every test passed (a skipped TLS test counts as passed unless
# SOCKETCORE_REQUIRE_TLS=1), 1 otherwise.
set -u
[ $# -eq 1 ] || { echo "usage: $0 LUA_MODULE_DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
moddir=$(cd "$1" 2>/dev/null && pwd)
[ -f "$moddir/socketcore.so" ] || { echo "no socketcore.so in $1" >&2; exit 2; }
servers=$here/../../python/tests/echo_server.py
work=$(mktemp -d)
trap 'kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

python3 "$servers" --make-certs "$work/certs" || exit 1
python3 "$servers" --certs "$work/certs" --lifetime 600 > "$work/ports" &
spid=$!
i=0
while [ ! -s "$work/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/ports" "$1"; }
SC_TCP_PORT=$(port tcp) SC_UDP_PORT=$(port udp) SC_WHOAMI_PORT=$(port whoami)
SC_TLS_PORT=$(port tls) SC_MTLS_PORT=$(port mtls)
SC_CLOSED_PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
SC_CERTS=$work/certs
export SC_TCP_PORT SC_UDP_PORT SC_WHOAMI_PORT SC_TLS_PORT SC_MTLS_PORT SC_CLOSED_PORT SC_CERTS
export LUA_PATH="$here/lib/?.lua;;" LUA_CPATH="$moddir/?.so;;"

failed=0 passed=0 skipped=0
for t in test_api test_tcp test_udp test_tls; do
    timeout 120 lua5.1 "$here/$t.lua"
    rc=$?
    case $rc in
        0) passed=$((passed + 1)) ;;
        77) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)); echo "lua: $t FAILED (exit $rc)" ;;
    esac
done
echo "lua: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
