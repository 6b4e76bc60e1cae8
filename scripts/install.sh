#!/bin/sh
# Builds the release library and installs it under PREFIX:
#   include/socketcore.h, lib/libsocketcore.so{,.MAJOR,.VERSION}, lib/libsocketcore.a,
#   lib/cmake/socketcore/ (find_package) and lib/pkgconfig/socketcore{,-static}.pc. Every
#   installed file finds the others relative to its own place: the prefix can be moved.
# Usage: scripts/install.sh [--no-tls] PREFIX   (any cwd; running it again gives the same result)
#   --no-tls  builds without the `tls` cargo feature (no rustls, ring or webpki-roots; SSL
#             sockets are refused with SOCK_ERR_SSL_EINIT), in its own target dir.
set -eu
features="" target=target
if [ "${1:-}" = "--no-tls" ]; then
    features="--no-default-features" target=target/no-tls
    shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--no-tls] PREFIX" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
cd "$root"

# The version comes from Cargo.toml: the first `version = "..."` of its [package] table.
version=$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") }
                     pkg && /^version *=/ { print $2; exit }' Cargo.toml)
major=${version%%.*}
[ -n "$major" ] || { echo "no version in Cargo.toml" >&2; exit 1; }

cargo build --release -j2 $features --target-dir "$target"
# Link line of the static library. rustc prints it only when it compiles, so recompile just
# this crate (debug profile, own target dir: a few seconds) rather than trust a cache.
cargo clean -q -p socketcore --target-dir target/native-static-libs
static_libs=$(cargo rustc -q -j2 $features --lib --crate-type staticlib \
    --target-dir target/native-static-libs -- --print native-static-libs 2>&1 |
    sed -n 's/^note: native-static-libs: //p')
[ -n "$static_libs" ] || { echo "rustc printed no native-static-libs" >&2; exit 1; }
# -lgcc_s is left to the compiler driver: gcc and clang link libgcc_s as needed by themselves,
# and libgcc_eh instead under -static, where an explicit -lgcc_s fails (there is no libgcc_s.a).
static_libs=$(printf '%s\n' "$static_libs" | sed -e 's/\(^\| \)-lgcc_s\( \|$\)/\1/' -e 's/ *$//')

lib=$prefix/lib
install -d "$prefix/include" "$lib/cmake/socketcore" "$lib/pkgconfig"
install -m 644 include/socketcore.h "$prefix/include/"
install -m 755 "$target/release/libsocketcore.so" "$lib/libsocketcore.so.$version"
ln -sf "libsocketcore.so.$version" "$lib/libsocketcore.so.$major"
ln -sf "libsocketcore.so.$major" "$lib/libsocketcore.so"

# libsocketcore.a as shipped: rustc's archive (tens of MB) holds LLVM bitcode in every member
# (.llvmbc, kept for LTO; Debian's nm stumbles over it) and exports thousands of global symbols
# of the Rust standard library, rustls, ring (ring_core_*) and compiler-builtins, which can
# clash with another Rust static library in the same program. So, with binutils:
#   1. objcopy drops the bitcode sections (.llvmbc, .llvmcmd);
#   2. ld -r links, into one relocatable object, the members a program calling the sock_*
#      functions would pull in (-u for each: the same selection a final link makes);
#   3. objcopy --keep-global-symbols keeps sock_* global and makes every other definition
#      local (references to libc and libgcc stay undefined, resolved by the program's link);
#      --strip-debug drops debug sections, as Debian's dh_strip does for static libraries.
# A program's link sees one object with the sock_* API and nothing else to collide with.
pack=$(mktemp -d)
trap 'rm -rf "$pack"' EXIT
objcopy --remove-section=.llvmbc --remove-section=.llvmcmd "$target/release/libsocketcore.a" \
    "$pack/nobitcode.a"
nm -g --defined-only "$pack/nobitcode.a" 2>/dev/null |
    awk 'NF == 3 && $2 ~ /^[TDRBW]$/ && $3 ~ /^sock_/ { print $3 }' | sort -u >"$pack/exports"
[ -s "$pack/exports" ] || { echo "no sock_* symbols in libsocketcore.a" >&2; exit 1; }
# shellcheck disable=SC2046 # one -u per exported name
${LD:-ld} -r $(sed 's/^/-u /' "$pack/exports") "$pack/nobitcode.a" -o "$pack/socketcore.o"
objcopy --keep-global-symbols="$pack/exports" --strip-debug "$pack/socketcore.o"
nm -g --defined-only "$pack/socketcore.o" | awk '{ print $3 }' | sort -u >"$pack/globals"
cmp -s "$pack/exports" "$pack/globals" ||
    { echo "libsocketcore.a: globals other than sock_* remain" >&2; exit 1; }
rm -f "$pack/libsocketcore.a"
ar rcsD "$pack/libsocketcore.a" "$pack/socketcore.o"
install -m 644 "$pack/libsocketcore.a" "$lib/"

pointer_size=$(($(getconf LONG_BIT) / 8))
esc() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; } # for the right side of s|...|...|
fill() { # template -> installed file, with its @VARIABLES@ replaced
    sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
        -e "s|@SIZEOF_VOID_P@|$pointer_size|g" -e "s|@PREFIX@|$(esc "$prefix")|g" \
        -e "s|@STATIC_LIBS@|$(esc "$static_libs")|g" "$1" >"$2"
    chmod 644 "$2"
}
fill cmake/socketcoreConfig.cmake.in "$lib/cmake/socketcore/socketcoreConfig.cmake"
fill cmake/socketcoreConfigVersion.cmake.in "$lib/cmake/socketcore/socketcoreConfigVersion.cmake"
fill cmake/socketcore.pc.in "$lib/pkgconfig/socketcore.pc"
fill cmake/socketcore-static.pc.in "$lib/pkgconfig/socketcore-static.pc"

echo "socketcore $version installed in $prefix:"
cd "$prefix" && ls -l include/socketcore.h lib/libsocketcore.* lib/cmake/socketcore/* \
    lib/pkgconfig/socketcore.pc lib/pkgconfig/socketcore-static.pc
