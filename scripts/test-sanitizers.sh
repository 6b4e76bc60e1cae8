#!/bin/sh
# The C tests (c-tests/, via CTest) built with -fsanitize=address,undefined against socketcore
# built with -Zsanitizer=address (nightly), linked both ways: shared and static library. Any
# AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report fails the run.
# Usage: scripts/test-sanitizers.sh [shared|static|both]   (default both)
# Work and results in target/sanitizers/ (library, a scratch prefix, one CTest build per link).
#
# How the two runtimes meet. rustc's -Zsanitizer=address instruments the library's own code
# (the standard library is not rebuilt) but links no sanitizer runtime into a cdylib or a
# staticlib: the library only references __asan_* symbols. gcc's -fsanitize=address links the
# test programs against gcc's libasan.so as their first DT_NEEDED entry, and that runtime
# serves the library's references as well (both use the ASan ABI v8; the script checks that
# gcc's libasan defines every __asan_* symbol the library needs). So:
# - shared: libsocketcore.so resolves __asan_* from the libasan.so the program already loaded
#   first; no LD_PRELOAD is needed, because every test program is itself built with
#   -fsanitize=address. (A program built without it would need LD_PRELOAD=libasan.so, and
#   then only the library would be checked.)
# - static: the instrumented objects of libsocketcore.a are linked into the program, whose
#   -fsanitize=address brings the same libasan.so.
# Either way exactly one ASan runtime is in the process (gcc's): never add rustc's own
# runtime (librustc-nightly_rt.asan.a) next to it. LeakSanitizer is part of that runtime and
# works for the Rust allocations too (Rust's allocator is malloc, which ASan intercepts).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
links=${1:-both}
case $links in shared | static) ;; both) links="shared static" ;;
*) echo "usage: $0 [shared|static|both]" >&2; exit 2 ;; esac
work=$root/target/sanitizers
triple=x86_64-unknown-linux-gnu
prefix=$work/prefix
cd "$root"
start=$(date +%s)
mkdir -p "$work"

echo "== socketcore with -Zsanitizer=address (cargo +nightly, debug profile)"
# Debug profile: quicker to build than the LTO release, and its overflow checks and debug
# assertions are more checks. -Cforce-frame-pointers for whole stacks in reports.
export RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes"
# rustc prints the static library's link line only when it compiles the crate: recompile the
# crate itself (not its dependencies) every time.
cargo +nightly clean -q -p socketcore --target "$triple" --target-dir "$work/cargo"
static_libs=$(cargo +nightly rustc -j2 --lib --crate-type cdylib,staticlib --target "$triple" \
    --target-dir "$work/cargo" -- --print native-static-libs 2>&1 |
    tee "$work.build.log" | sed -n 's/^note: native-static-libs: //p')
unset RUSTFLAGS
out=$work/cargo/$triple/debug
[ -n "$static_libs" ] && [ -f "$out/libsocketcore.so" ] && [ -f "$out/libsocketcore.a" ] || {
    cat "$work.build.log"
    echo "the sanitized build failed" >&2
    exit 1
}
echo "built in $(($(date +%s) - start)) s"

asan_rt=$(gcc -print-file-name=libasan.so)
missing=$(nm -D --undefined-only "$out/libsocketcore.so" | awk '/ U __asan_/ {print $2}' |
    sort -u | while read -r sym; do
        nm -D "$asan_rt" | grep -qw "$sym" || echo "$sym"
    done)
if [ -n "$missing" ]; then
    echo "gcc's $asan_rt lacks symbols the library needs:" $missing >&2
    exit 1
fi

# The prefix c-tests/ finds with find_package(socketcore): scripts/install.sh lays it out, with
# the sanitized libraries as they are.
printf '%s\n' "$static_libs" >"$out/native-static-libs"
rm -rf "$prefix"
"$root/scripts/install.sh" --prebuilt "$out" "$prefix" >/dev/null
lib=$prefix/lib

# Every report is fatal: ASan and UBSan stop at the first error (UBSan also at compile time,
# -fno-sanitize-recover), and leaks found at exit fail the program.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
export LSAN_OPTIONS="exitcode=88"
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"

# Negative controls: the sanitizers must see a fault inside the library and a leak in a
# process that has the library loaded, else a clean run below would prove nothing.
cat >"$work/selfcheck.c" <<'EOF'
#include <socketcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "leak") == 0) {
        char *volatile p = malloc(77);
        memset(p, 1, 77);
        p = NULL; /* lost */
        printf("socketcore %s\n", sock_version());
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "overflow") == 0) {
        /* opts claims sizeof(sock_conn_opts) bytes where 4 exist: the library's read of the
         * struct runs past the block. (Port 9 on the loopback, should it ever connect.) */
        uint32_t *opts = malloc(sizeof *opts);
        *opts = sizeof(sock_conn_opts);
        int r = sock_conn_ext(SOCK_TYPE_TCP, 9, "127.0.0.1", NULL, (const sock_conn_opts *)opts);
        printf("sock_conn_ext returned %d\n", r);
        free(opts);
        sock_shutdown();
        return 0;
    }
    return 2;
}
EOF
gcc $flags -I"$prefix/include" "$work/selfcheck.c" -o "$work/selfcheck" -L"$lib" -lsocketcore \
    -Wl,-rpath,"$lib"
if "$work/selfcheck" leak >"$work/selfcheck.log" 2>&1 ||
    ! grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$work/selfcheck.log"; then
    cat "$work/selfcheck.log"
    echo "LeakSanitizer did not report a leak in a program using the library" >&2
    exit 1
fi
if "$work/selfcheck" overflow >"$work/selfcheck.log" 2>&1 ||
    ! grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$work/selfcheck.log" ||
    ! grep -q 'ffi/conn_opts' "$work/selfcheck.log"; then
    cat "$work/selfcheck.log"
    echo "AddressSanitizer did not catch an overflow inside the library" >&2
    exit 1
fi
echo "negative controls: a leak and an overflow inside the library are both reported"

failed=
for link in $links; do
    build=$work/c-tests-$link
    echo "== C tests under ASan+UBSan, $link library (build dir $build)"
    rm -rf "$build"
    # valgrind cannot run sanitized programs: its test is off here.
    if cmake -S c-tests -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DSOCKETCORE_LINK="$link" \
        -DSOCKETCORE_VALGRIND=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >"$build.cmake.log" 2>&1 &&
        cmake --build "$build" -j2 >"$build.build.log" 2>&1 &&
        (cd "$build" && ctest --output-on-failure -j2 --timeout 300); then
        # A report the program survived would still be an error: look for any.
        if grep -E -l 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' \
            "$build/Testing/Temporary/LastTest.log"; then
            echo "sanitizer reports in $build/Testing/Temporary/LastTest.log" >&2
            failed="$failed $link"
        fi
    else
        [ -f "$build/Testing/Temporary/LastTest.log" ] || cat "$build.cmake.log" "$build.build.log"
        failed="$failed $link"
    fi
done
if [ -n "$failed" ]; then
    echo "sanitizer run FAILED with the library:$failed" >&2
    exit 1
fi
echo "C tests clean under ASan, LSan and UBSan ($links); $(($(date +%s) - start)) s in all"
