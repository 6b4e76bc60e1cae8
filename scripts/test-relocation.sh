#!/bin/sh
# Checks that an installed prefix keeps working after it is moved, as a user moving or copying
# it would use it:
#   1. copies PREFIX's socketcore files into a scratch prefix and builds + installs the Lua
#      module into it (CMake, bindings/lua);
#   2. moves that prefix to another directory (the first path no longer exists);
#   3. from the moved prefix: a program (c-tests/relocated) built with CMake find_package,
#      shared and static; with pkg-config `socketcore` (shared), `socketcore-static`, and
#      `socketcore-static` with `cc -static`; each echoes over loopback through the library and
#      checks that a shared libsocketcore is mapped from the moved prefix (or, static, none);
#      libsocketcore.a defines only sock_* globally, and links beside another library that
#      defines rust_eh_personality and __rust_alloc, as every Rust static library does;
#   4. Lua: `require "socketcore"` from the moved prefix loads libsocketcore from there;
#   5. luarocks make (bindings/lua rockspec) into a scratch tree against the moved prefix.
# Usage: scripts/test-relocation.sh PREFIX     (an installed prefix: scripts/install.sh PREFIX)
# Work in target/relocation/. Exit status: non-zero if anything failed.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$1" && pwd)
[ -f "$src/lib/cmake/socketcore/socketcoreConfig.cmake" ] ||
    { echo "no socketcore installed in $src" >&2; exit 2; }
work=$root/target/relocation
rm -rf "$work"
mkdir -p "$work/first/place"
first=$work/first/place/prefix
moved=$work/elsewhere/prefix

echo "== copy $src to $first, add the Lua module"
mkdir -p "$first/lib"
cp -a "$src/include" "$first/"
cp -a "$src"/lib/libsocketcore.* "$src/lib/cmake" "$src/lib/pkgconfig" "$first/lib/"
cmake -S "$root/bindings/lua" -B "$work/lua-build" -DCMAKE_PREFIX_PATH="$first" >/dev/null
cmake --build "$work/lua-build" -j2 >/dev/null
cmake --install "$work/lua-build" --prefix "$first" >/dev/null

echo "== move it to $moved"
mkdir -p "$work/elsewhere"
mv "$first" "$moved"
rm -rf "$work/first" "$work/lua-build"
if grep -rqF "$work/first" "$moved/lib/pkgconfig" "$moved/lib/cmake"; then
    echo "FAILED: the pkg-config or CMake files name the old place" >&2
    exit 1
fi

echo "== CMake find_package from the moved prefix (shared and static)"
cmake -S "$root/c-tests/relocated" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$moved" >/dev/null
cmake --build "$work/cmake" -j2 >/dev/null
"$work/cmake/relocated_shared" shared "$moved/lib"
"$work/cmake/relocated_static" static

echo "== pkg-config from the moved prefix"
export PKG_CONFIG_PATH="$moved/lib/pkgconfig"
app=$root/c-tests/relocated/relocated_app.c
# shellcheck disable=SC2046 # pkg-config prints several words
cc -o "$work/pc_shared" "$app" $(pkg-config --cflags --libs socketcore) \
    -Wl,-rpath,"$(pkg-config --variable=libdir socketcore)"
"$work/pc_shared" shared "$moved/lib"
echo "pkg-config --libs socketcore-static: $(pkg-config --libs socketcore-static)"
# shellcheck disable=SC2046
cc -o "$work/pc_static" "$app" $(pkg-config --cflags --libs socketcore-static)
if ldd "$work/pc_static" | grep -q libsocketcore; then
    echo "FAILED: the socketcore-static link needs libsocketcore.so" >&2
    exit 1
fi
"$work/pc_static" static
# libsocketcore.a defines only the sock_* functions globally (nm must read it without a
# complaint), so another Rust static library in the same program does not collide with it.
archive=$moved/lib/libsocketcore.a
nm -g --defined-only "$archive" 2>"$work/nm.err" | awk 'NF == 3 { print $3 }' >"$work/globals"
if [ -s "$work/nm.err" ] || grep -v '^sock_' "$work/globals"; then
    cat "$work/nm.err" >&2
    echo "FAILED: libsocketcore.a has globals other than sock_* (above), or nm failed" >&2
    exit 1
fi
echo "libsocketcore.a: $(wc -c <"$archive") bytes, $(wc -l <"$work/globals") global symbols"
# shellcheck disable=SC2046
cc -o "$work/pc_two_rust_libs" "$app" "$root/c-tests/relocated/other_rust_lib.c" \
    $(pkg-config --cflags --libs socketcore-static)
"$work/pc_two_rust_libs" static
# A fully static program. glibc warns that getaddrinfo, dlopen and getpwuid_r in a static
# program need its shared libraries at run time (NSS modules); those warnings are allowed.
# shellcheck disable=SC2046
cc -static -o "$work/pc_fully_static" "$app" $(pkg-config --cflags --libs socketcore-static) \
    2>"$work/static.log" || { cat "$work/static.log" >&2; exit 1; }
grep -v "in statically linked applications requires at runtime\|: in function " \
    "$work/static.log" >&2 || true
ldd "$work/pc_fully_static" 2>&1 | grep -q "not a dynamic executable" ||
    { echo "FAILED: cc -static made a dynamic program" >&2; exit 1; }
"$work/pc_fully_static" static
unset PKG_CONFIG_PATH

version=$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") }
                     pkg && /^version *=/ { print $2; exit }' "$root/Cargo.toml")
cat >"$work/check.lua" <<'EOF'
require "socketcore"
assert(socketcore.VERSION == arg[2], "VERSION " .. tostring(socketcore.VERSION))
assert(type(rtos.receive) == "function", "no rtos.receive")
local lib
for line in io.lines("/proc/self/maps") do
    lib = lib or line:match("(/%S*/libsocketcore%.so[%.%d]*)$")
end
assert(lib and lib:sub(1, #arg[1] + 1) == arg[1] .. "/", "libsocketcore from " .. tostring(lib))
print("lua: socketcore " .. socketcore.VERSION .. " with " .. lib)
EOF
echo "== Lua from the moved prefix"
readelf -d "$moved/lib/lua/5.1/socketcore.so" | grep -E 'RUNPATH|RPATH'
LUA_CPATH="$moved/lib/lua/5.1/?.so" lua5.1 "$work/check.lua" "$moved/lib" "$version" ||
    { echo "FAILED: require \"socketcore\" from the moved prefix" >&2; exit 1; }

echo "== luarocks make against the moved prefix"
rockspec=$root/bindings/lua/socketcore-$version-1.rockspec
[ -f "$rockspec" ] || { echo "FAILED: no $rockspec (its version must be Cargo.toml's)" >&2; exit 1; }
if command -v luarocks >/dev/null; then
    # luarocks make builds in the current directory: a copy, so the checkout stays clean.
    mkdir -p "$work/rock-src"
    cp "$root/bindings/lua/CMakeLists.txt" "$root/bindings/lua/lsocketcore.c" "$rockspec" \
        "$work/rock-src/"
    (cd "$work/rock-src" && luarocks make --tree "$work/rocks" "$(basename "$rockspec")" \
        SOCKETCORE_DIR="$moved") >"$work/luarocks.log" 2>&1 ||
        { cat "$work/luarocks.log" >&2; echo "FAILED: luarocks make" >&2; exit 1; }
    LUA_CPATH="$work/rocks/lib/lua/5.1/?.so" lua5.1 "$work/check.lua" "$moved/lib" "$version" ||
        { echo "FAILED: require \"socketcore\" from the luarocks tree" >&2; exit 1; }
    LUA_CPATH="$work/rocks/lib/lua/5.1/?.so" lua5.1 -e \
        'local r = require "rtos" assert(r.receive and r.MSG_SOCK_CONN_CNF == 34)' ||
        { echo "FAILED: require \"rtos\" from the luarocks tree" >&2; exit 1; }
else
    echo "FAILED: luarocks is not installed (scripts/lib/ensure-deps.sh all)" >&2
    exit 1
fi
echo "relocation: all passed"
