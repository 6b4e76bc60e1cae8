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
SC_TLS_PORT=$(port tls) SC_MTLS_PORT=$(port mtls) SC_RESET_PORT=$(port reset) SC_HOLD_PORT=$(port hold) SC_HANG_PORT=$(port hang)
SC_CLOSED_PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
SC_CERTS=$work/certs
export SC_TCP_PORT SC_UDP_PORT SC_WHOAMI_PORT SC_TLS_PORT SC_MTLS_PORT SC_CLOSED_PORT SC_CERTS
export SC_RESET_PORT SC_HOLD_PORT SC_HANG_PORT
export LUA_PATH="$here/lib/?.lua;;" LUA_CPATH="$moddir/?.so;;"

failed=0 passed=0 skipped=0
tally() { # tally NAME EXIT_STATUS
    case $2 in
        0) passed=$((passed + 1)) ;;
        77) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)); echo "lua: $1 FAILED (exit $2)" ;;
    esac
}
for t in test_api test_failures test_tcp test_udp test_tls test_firmware; do
    timeout 120 lua5.1 "$here/$t.lua"
    tally "$t" $?
done

# The README's Lua example: the same text as bindings/lua/examples/firmware_tcp.lua, and it runs.
example=$here/../examples/firmware_tcp.lua
if awk '/^A complete program in the firmware/ {f = 1} f && /^```lua$/ {p = 1; next} p && /^```$/ {exit} p' \
        "$here/../../../README.md" | cmp -s - "$example" &&
    timeout 60 lua5.1 "$example" "$SC_TCP_PORT" | grep -qx "echo: hello from a Luat task"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "lua: the README's example differs from $example or failed"
fi

# An unresolvable name, in a network namespace of our own whose resolv.conf points at a tiny
# NXDOMAIN server on its loopback: no query can leave the machine.
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "lua: test_dns SKIPPED: needs root and iproute2 (ip netns) for its own network namespace"
    skipped=$((skipped + 1))
else
    for old in $(ip netns list 2>/dev/null | awk '/^sc-lua-dns-/ {print $1}'); do
        kill -0 "${old#sc-lua-dns-}" 2>/dev/null || { ip netns del "$old"; rm -rf "/etc/netns/$old"; }
    done
    ns=sc-lua-dns-$$
    trap 'kill "$spid" "$dpid" 2>/dev/null; wait "$spid" "$dpid" 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "/etc/netns/$ns" "$work"' EXIT INT TERM
    mkdir -p "/etc/netns/$ns"
    echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost\n' > "/etc/netns/$ns/hosts"
    ip netns add "$ns" && ip -n "$ns" link set lo up
    ip netns exec "$ns" python3 "$here/nxdomain.py" --lifetime 150 > "$work/dns" &
    dpid=$!
    i=0
    while [ ! -s "$work/dns" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    timeout 120 ip netns exec "$ns" lua5.1 "$here/test_dns.lua"
    tally test_dns $?
fi
echo "lua: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
