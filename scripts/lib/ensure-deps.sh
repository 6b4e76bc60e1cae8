#!/bin/sh
# Makes sure the tools a script needs are on this machine; the one place that knows them.
#
#   scripts/lib/ensure-deps.sh demo     what scripts/demo.sh needs (cargo, a C compiler, cmake)
#   scripts/lib/ensure-deps.sh all      what scripts/test-all.sh needs (also rustfmt, clippy,
#                                       a C++ compiler, pkg-config, valgrind, Lua 5.1 and its
#                                       headers, luarocks, python3 with pip and venv, the openssl
#                                       CLI, OpenSSL and libuv headers, flock; as root also
#                                       iproute2 and nftables for the network-namespace tests)
#   scripts/lib/ensure-deps.sh --list all   prints the Debian packages of a set and exits
#
# Every tool is checked by what the scripts use (a command, a header, a Python module), not by
# a package database, so tools installed some other way count too. When something is missing:
#   - as root on a machine with apt-get: `apt-get update` and `apt-get install -y` of the
#     Debian packages that provide it (and `rustup component add` for rustfmt/clippy);
#   - otherwise: prints the exact commands to run and exits 1 at once, before any work.
# Rust itself (cargo, rustc) is not installed here: rustup.rs is the way; its absence is
# reported with that advice.
set -eu

list_only=0
if [ "${1:-}" = "--list" ]; then list_only=1; shift; fi
set_name=${1:-}
case $set_name in demo | all) ;; *) echo "usage: $0 [--list] demo|all" >&2; exit 2 ;; esac

# check: "kind:what:debian-package", kind one of cmd (a command on PATH), file (a path that
# exists), clib (the C compiler finds that library file: libc.a for static links), pymod
# (python3 can import the module), pip (python3 -m pip works).
demo_checks="cmd:cc:build-essential
cmd:make:build-essential
cmd:cmake:cmake"
all_checks="$demo_checks
cmd:c++:build-essential
clib:libc.a:libc6-dev
cmd:pkg-config:pkg-config
cmd:valgrind:valgrind
cmd:lua5.1:lua5.1
file:/usr/include/lua5.1/lua.h:liblua5.1-0-dev
cmd:luarocks:luarocks
cmd:python3:python3
pip::python3-pip
pymod:venv:python3-venv
pymod:ensurepip:python3-venv
cmd:openssl:openssl
file:/usr/include/openssl/ssl.h:libssl-dev
file:/usr/include/uv.h:libuv1-dev
cmd:flock:util-linux"
# The network-namespace tests (tests/netns.rs) run only as root; then they need these.
if [ $list_only = 1 ] || [ "$(id -u)" = 0 ]; then
    all_checks="$all_checks
cmd:ip:iproute2
cmd:tc:iproute2
cmd:ss:iproute2
cmd:nft:nftables"
fi
if [ "$set_name" = demo ]; then checks=$demo_checks; else checks=$all_checks; fi

have() {
    kind=${1%%:*} rest=${1#*:}
    what=${rest%%:*}
    case $kind in
    cmd) command -v "$what" >/dev/null 2>&1 ;;
    file) [ -e "$what" ] ;;
    clib) command -v cc >/dev/null 2>&1 && case $(cc -print-file-name="$what") in /*) ;; *) false ;; esac ;;
    pymod) command -v python3 >/dev/null 2>&1 && python3 -c "import $what" >/dev/null 2>&1 ;;
    pip) command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 ;;
    esac
}

if [ $list_only = 1 ]; then
    printf '%s\n' "$checks" | sed 's/.*://' | sort -u | tr '\n' ' ' | sed 's/ $/\n/'
    exit 0
fi

packages=""
old_ifs=$IFS
IFS='
'
for check in $checks; do
    IFS=$old_ifs
    if ! have "$check"; then
        pkg=${check##*:}
        case " $packages " in *" $pkg "*) ;; *) packages="$packages $pkg" ;; esac
    fi
done
IFS=$old_ifs
packages=${packages# }

components=""
if [ "$set_name" = all ]; then
    cargo fmt --version >/dev/null 2>&1 || components="$components rustfmt"
    cargo clippy --version >/dev/null 2>&1 || components="$components clippy"
fi
components=${components# }

cargo_missing=0
command -v cargo >/dev/null 2>&1 || cargo_missing=1

if [ -z "$packages" ] && [ -z "$components" ] && [ $cargo_missing = 0 ]; then
    exit 0
fi

if [ $cargo_missing = 1 ]; then
    echo "ensure-deps: cargo is not on PATH; install Rust stable with rustup (https://rustup.rs)" \
        "and open a new shell" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ -n "$packages" ]; then
        echo "== ensure-deps: apt-get install $packages"
        export DEBIAN_FRONTEND=noninteractive
        # Wait for a dpkg lock another apt run holds rather than fail at once.
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        # shellcheck disable=SC2086 # one word per package
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq $packages >/dev/null
    fi
    if [ -n "$components" ]; then
        echo "== ensure-deps: rustup component add $components"
        # shellcheck disable=SC2086
        rustup component add $components
    fi
    # Everything must be there now; a package that installed nothing useful is an error here.
    still=""
    IFS='
'
    for check in $checks; do
        IFS=$old_ifs
        have "$check" || still="$still ${check#*:}"
    done
    IFS=$old_ifs
    if [ -n "$still" ]; then
        echo "ensure-deps: still missing after apt-get:$still" >&2
        exit 1
    fi
    exit 0
fi

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo "
echo "ensure-deps: this machine lacks what $set_name needs. Run:" >&2
[ -z "$packages" ] || echo "  ${sudo}apt-get update && ${sudo}apt-get install -y $packages" >&2
[ -z "$components" ] || echo "  rustup component add $components" >&2
exit 1
