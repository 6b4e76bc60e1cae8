#!/bin/sh
# Runs every test: Rust (unit and integration, with the network-namespace scenarios when root),
# the build without TLS, the C tests via CTest
# (shared, static and under valgrind, helgrind, drd) against an installed prefix, then the Lua,
# Python and example tests, and the benchmark suite's quick smoke mode.
# What the tests need is installed first when run as root (apt-get, rustup component add);
# otherwise the script stops at once with the command to run (scripts/lib/ensure-deps.sh).
set -eu
cd "$(dirname "$0")/.."
scripts/lib/ensure-deps.sh all
prefix=$(pwd)/target/test-prefix

echo "== Rust: fmt, clippy, tests"
cargo fmt --all -- --check
cargo clippy -j2 --all-targets -- -D warnings
cargo build -j2        # the cdylib, which tests/dlopen.rs loads
# Includes tests/netns.rs: the network-namespace scenarios run as root with ip, nft, tc and
# ss present, and print "netns: SKIPPED" with the reason otherwise.
cargo test -j2

echo "== the build without TLS"
scripts/test-no-tls.sh

echo "== install into $prefix"
scripts/install.sh "$prefix" >/dev/null

echo "== C tests (CTest)"
scripts/test-c.sh "$prefix"

echo "== the installed prefix moved elsewhere (CMake, pkg-config shared and static, Lua, luarocks)"
scripts/test-relocation.sh "$prefix"

echo "== bindings and examples"
# The default build has TLS: a TLS test that skips (SSL_EINIT) is a failure here.
SOCKETCORE_REQUIRE_TLS=1 scripts/test-bindings.sh "$prefix"

echo "== benchmark smoke run (data checked, timing not judged)"
scripts/bench.sh --quick "$prefix"

echo "== all tests passed"
