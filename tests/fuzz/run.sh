#!/usr/bin/env bash
# Build and run the libFuzzer targets: tests/fuzz/run.sh [SECONDS] (default 60
# per target). Targets: every tests/fuzz/fuzz_*.c (or FUZZ_TARGETS="virtq ...").
# Each runs on a COPY of tests/fuzz/corpus/<target>/ (falling back to
# corpus/virtq/, the shared input format), so the committed corpus is never
# modified; tests/fuzz/<target>.dict, if there is one, is its dictionary.
# Prints "fuzz_<t>: N runs, no finding" per target, or fails with the path
# of the crashing input (kept under build/fuzz/artifacts/).
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/../.."

# clang with libFuzzer (Debian: clang + libclang-rt-<ver>-dev)
have_libfuzzer() {
    command -v clang >/dev/null 2>&1 || return 1
    local d; d=$(mktemp -d)
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' > "$d/t.c"
    clang -fsanitize=fuzzer,address,undefined -o "$d/t" "$d/t.c" >/dev/null 2>&1
    local rc=$?
    rm -rf "$d"
    return $rc
}
if ! have_libfuzzer; then
    echo "fuzz: installing clang and libFuzzer (apt-get)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
    have_libfuzzer || { echo "fuzz: clang cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=$FUZZ_TARGETS
else
    targets=$(for f in tests/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; echo "${t%.c}"; done)
fi
make -s -f tests/fuzz/fuzz.mk $(for t in $targets; do echo "build/fuzz/fuzz_$t"; done)

art=build/fuzz/artifacts
mkdir -p "$art"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0 npass=0 nfail=0
for t in $targets; do
    seeds=tests/fuzz/corpus/$t
    [ -d "$seeds" ] || seeds=tests/fuzz/corpus/virtq
    mkdir -p "$work/$t"
    cp -r "$seeds/." "$work/$t/"
    log=$work/$t.log
    dict=(); [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    set +e
    "build/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=16384 -timeout=10 "${dict[@]}" \
        -print_final_stats=1 -artifact_prefix="$art/${t}-" "$work/$t" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    if [ $rc -eq 0 ] && [ -z "$crash" ]; then
        echo "fuzz_$t: ${runs:-?} runs, no finding"
        npass=$((npass + 1))
    else
        tail -n 40 "$log" >&2
        echo "fuzz_$t: FINDING after ${runs:-?} runs (rc=$rc): ${crash:-see log above}" >&2
        echo "  reproduce: build/fuzz/fuzz_$t ${crash:-<input>}" >&2
        status=1
        nfail=$((nfail + 1))
    fi
done
echo "$npass passed, $nfail failed"
exit $status
