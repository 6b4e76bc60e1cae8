#!/bin/sh
# The end-to-end demo, run from a fresh clone:
#   1. builds libsocketcore and installs it into ./prefix (scripts/install.sh),
#   2. builds examples/ against that prefix with CMake find_package(socketcore),
#   3. starts a local TCP/UDP echo server (examples/echo_server.c, 127.0.0.1 only),
#   4. runs examples/tcp_echo_client against it, then stops the server.
# Exits 0 only when the echo came back intact. Needs cargo, a C compiler and cmake: the ones
# missing are installed with apt-get when run as root, else the script stops at once saying
# which command to run (scripts/lib/ensure-deps.sh). No network beyond the loopback.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
prefix=$root/prefix
build=$root/build/demo

scripts/lib/ensure-deps.sh demo # installs what is missing (as root) or says how

echo "== 1/4 build libsocketcore and install it into $prefix"
scripts/install.sh "$prefix"

echo
echo "== 2/4 build the examples with find_package(socketcore) from $prefix"
rm -f "$build/CMakeCache.txt"
cmake -S examples -B "$build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$build" -j2

echo
echo "== 3/4 start a local echo server"
portfile=$(mktemp)
"$build/echo_server" 0 120 > "$portfile" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$portfile"' EXIT INT TERM
i=0
while [ ! -s "$portfile" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(head -n 1 "$portfile")
[ -n "$port" ] || { echo "demo: the echo server did not start" >&2; exit 1; }
echo "echo server (pid $server) listening on 127.0.0.1:$port"

echo
echo "== 4/4 $build/tcp_echo_client 127.0.0.1 $port"
status=0
"$build/tcp_echo_client" 127.0.0.1 "$port" "hello, socketcore" || status=$?

kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
echo
if [ $status -eq 0 ]; then
    echo "demo OK: libsocketcore is installed in $prefix; examples built in $build"
else
    echo "demo FAILED (tcp_echo_client exited $status)" >&2
fi
exit $status
