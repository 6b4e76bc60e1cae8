#!/bin/sh
# Installs socketcore and runs the C tests (c-tests/) against the installed package, once
# linked with the shared library and once with the static one, valgrind run included.
# Usage: scripts/test-c.sh [PREFIX]
# Without PREFIX it installs into a scratch prefix, target/c-tests-prefix, emptied first (kept
# afterwards so that the build directories, target/c-tests-shared and target/c-tests-static,
# can run ctest again).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$root/target/c-tests-prefix}
[ $# -ge 1 ] || rm -rf "$prefix"
"$root/scripts/install.sh" "$prefix"

failed=
for link in shared static; do
    build=$root/target/c-tests-$link
    echo "== C tests, $link library (build dir $build)"
    rm -f "$build/CMakeCache.txt" # the prefix may differ from the last run
    if cmake -S "$root/c-tests" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DSOCKETCORE_LINK=$link &&
        cmake --build "$build" -j2 && (cd "$build" && ctest --output-on-failure -j2); then
        :
    else
        failed="$failed $link"
    fi
done
if [ -n "$failed" ]; then
    echo "C tests FAILED with the library:$failed" >&2
    exit 1
fi
echo "C tests passed, shared and static"
