#!/bin/sh
# Fuzzes the C API with cargo-fuzz (nightly, libFuzzer + AddressSanitizer): target api_sequence
# in fuzz/ runs random sequences of API calls against in-process loopback peers and checks the
# documented contract (see fuzz/fuzz_targets/api_sequence.rs).
#
# Usage: scripts/fuzz.sh [SECONDS]           fuzz for SECONDS (default 60; long run: 3600 ...)
#        scripts/fuzz.sh --budget SECONDS    all of it (install, build, regressions, fuzzing)
#                                            within about SECONDS: fuzzing gets what is left,
#                                            at least 10 s (CI: --budget 120)
# First every input in fuzz/regressions/ (crashes found before) runs once, then fuzzing starts
# from the seeds in fuzz/corpus/api_sequence/ plus the working corpus fuzz/corpus-work/ (kept
# between runs, not committed). A crash stops the run with a non-zero exit; its input is in
# fuzz/artifacts/api_sequence/: replay it with
#   SOCKETCORE_FUZZ_TRACE=1 scripts/fuzz.sh --replay fuzz/artifacts/api_sequence/crash-...
# and, once understood, keep it in fuzz/regressions/.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
usage() { echo "usage: $0 [SECONDS] | --budget SECONDS | --replay FILE..." >&2; exit 2; }
budget= secs=60 replay=
case ${1:-} in
--budget) [ $# -eq 2 ] || usage; budget=$2 ;;
--replay) [ $# -ge 2 ] || usage; shift; replay=1 ;;
'') ;;
*) [ $# -eq 1 ] || usage; secs=$1 ;;
esac
case $secs${budget} in *[!0-9]*) usage ;; esac

if [ -n "$replay" ]; then # inputs relative to the caller's directory
    for f in "$@"; do
        case $f in /*) ;; *) f=$PWD/$f ;; esac
        set -- "$@" "$f"
        shift
    done
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
# Leaks are checked after every input; the suppressions cover only the harness's own peer
# threads (see the file).
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
cd "$root/fuzz"
[ -z "$replay" ] || exec cargo +nightly fuzz run api_sequence "$@"

echo "== build (cargo +nightly fuzz build api_sequence)"
cargo +nightly fuzz build api_sequence
built=$(date +%s)
echo "build took $((built - start)) s"

if [ -n "$(ls regressions 2>/dev/null)" ]; then
    echo "== regressions: $(ls regressions | wc -l) inputs, each once"
    mkdir -p target
    if ! cargo +nightly fuzz run api_sequence regressions/* >target/regressions.log 2>&1; then
        cat target/regressions.log
        echo "a regression input FAILED" >&2
        exit 1
    fi
    grep '^Executed' target/regressions.log
fi

if [ -n "$budget" ]; then
    secs=$((budget - ($(date +%s) - start)))
    [ "$secs" -ge 10 ] || secs=10
fi
echo "== fuzzing for $secs s"
mkdir -p corpus-work
log=$root/fuzz/target/fuzz-run.log
# -max_len: up to 64 calls of a few bytes each; -len_control 0: long call sequences from the
# start (an input costs its calls, not its bytes);
# -timeout 10: one input takes milliseconds, so 10 s means a hang.
status=0
cargo +nightly fuzz run api_sequence corpus-work corpus/api_sequence -- \
    -max_total_time="$secs" -max_len=1024 -len_control=0 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|^Done' "$log" || true
if [ "$status" -ne 0 ]; then
    tail -n 80 "$log"
    echo "fuzzing FAILED (exit $status); full log: $log; inputs: fuzz/artifacts/api_sequence/" >&2
    exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
echo "fuzz: ${runs:-?} inputs tried in ${took:-$secs} s (${rate:-?}/s), corpus $(ls corpus-work | wc -l)" \
    "inputs, no crash; $(($(date +%s) - start)) s in all"
