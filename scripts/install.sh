#!/bin/sh
# Builds the release library and installs it under PREFIX:
#   include/socketcore.h, lib/libsocketcore.so{,.MAJOR,.VERSION}, lib/libsocketcore.a,
#   lib/cmake/socketcore/ (find_package) and lib/pkgconfig/socketcore{,-static}.pc. Every
#   installed file finds the others relative to its own place: the prefix can be moved.
# Usage: scripts/install.sh [--no-tls | --prebuilt DIR] PREFIX
#   (any cwd; running it again gives the same result)
#   --no-tls        builds without the `tls` cargo feature (no rustls, ring or webpki-roots; SSL
#                   sockets are refused with SOCK_ERR_SSL_EINIT), in its own target dir.
#   --prebuilt DIR  builds nothing: installs the libsocketcore.so and libsocketcore.a that DIR
#                   holds, as they are, with the link line in DIR/native-static-libs (what
#                   rustc printed); for variants built elsewhere (scripts/test-sanitizers.sh).
# The layout is made here only: every script that needs a prefix calls this one. The CMake
# package files are written by CMake itself (cmake/package-files.cmake), so cmake is needed.
set -eu
features="" target=target prebuilt=""
case ${1:-} in
--no-tls) features="--no-default-features" target=target/no-tls && shift ;;
--prebuilt)
    [ $# -eq 3 ] || { echo "usage: $0 --prebuilt DIR PREFIX" >&2; exit 2; }
    prebuilt=$(cd "$2" && pwd) && shift 2
    ;;
esac
[ $# -eq 1 ] || { echo "usage: $0 [--no-tls | --prebuilt DIR] PREFIX" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
cd "$root"

# The version comes from Cargo.toml: the first `version = "..."` of its [package] table.
version=$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") }
                     pkg && /^version *=/ { print $2; exit }' Cargo.toml)
major=${version%%.*}
[ -n "$major" ] || { echo "no version in Cargo.toml" >&2; exit 1; }
pack=$(mktemp -d)
trap 'rm -rf "$pack"' EXIT

if [ -n "$prebuilt" ]; then
    shared=$prebuilt/libsocketcore.so archive=$prebuilt/libsocketcore.a
    static_libs=$(cat "$prebuilt/native-static-libs")
else
    cargo build --release -j2 $features --target-dir "$target"
    shared=$target/release/libsocketcore.so archive=$pack/libsocketcore.a
    # Link line of the static library. rustc prints it only when it compiles, so recompile
    # just this crate (debug profile, own target dir: a few seconds) rather than trust a cache.
    cargo clean -q -p socketcore --target-dir target/native-static-libs
    static_libs=$(cargo rustc -q -j2 $features --lib --crate-type staticlib \
        --target-dir target/native-static-libs -- --print native-static-libs 2>&1 |
        sed -n 's/^note: native-static-libs: //p')
fi
[ -n "$static_libs" ] || { echo "rustc printed no native-static-libs" >&2; exit 1; }
# -lgcc_s is left to the compiler driver: gcc and clang link libgcc_s as needed by themselves,
# and libgcc_eh instead under -static, where an explicit -lgcc_s fails (there is no libgcc_s.a).
static_libs=$(printf '%s\n' "$static_libs" | sed -e 's/\(^\| \)-lgcc_s\( \|$\)/\1/' -e 's/ *$//')

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
# (A --prebuilt archive is installed as it is: a sanitized build keeps its debug sections.)
pack_archive() {
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
    ar rcsD "$pack/libsocketcore.a" "$pack/socketcore.o"
}
[ -n "$prebuilt" ] || pack_archive

lib=$prefix/lib
install -d "$prefix/include" "$lib/cmake/socketcore" "$lib/pkgconfig"
install -m 644 include/socketcore.h "$prefix/include/"
install -m 755 "$shared" "$lib/libsocketcore.so.$version"
ln -sf "libsocketcore.so.$version" "$lib/libsocketcore.so.$major"
ln -sf "libsocketcore.so.$major" "$lib/libsocketcore.so"
install -m 644 "$archive" "$lib/libsocketcore.a"

# socketcoreConfigVersion.cmake by CMake's write_basic_package_version_file (SameMajorVersion),
# the other three from cmake/*.in by configure_file.
cmake -DLIBDIR="$lib" -DVERSION="$version" -DSTATIC_LIBS="$static_libs" \
    -DSIZEOF_VOID_P=$(($(getconf LONG_BIT) / 8)) -P cmake/package-files.cmake
chmod 644 "$lib"/cmake/socketcore/*.cmake "$lib"/pkgconfig/socketcore*.pc

echo "socketcore $version installed in $prefix:"
cd "$prefix" && ls -l include/socketcore.h lib/libsocketcore.* lib/cmake/socketcore/* \
    lib/pkgconfig/socketcore.pc lib/pkgconfig/socketcore-static.pc
