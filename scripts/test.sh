#!/usr/bin/env bash
# Sets up and runs every arcvmm test tier (see DESIGN.md):
#   1. unit tests (pure code) and CLI error tests, plain and ASan/UBSan;
#      bench/blk-l1.sh's ratio code on canned figures
#   2. kvm: the freestanding test guest on this machine's /dev/kvm, plain and ASan/UBSan,
#      the API socket driven with curl (tests/api/api.sh), and the installed
#      library used through pkg-config (tests/cli/install.sh)
#   3. e2e: Debian's kernel under arcvmm, inside the nested rig when the host
#      KVM cannot run a stock kernel
#   arm64: tiers 2 and 3 of the arm64 build (tests/e2e/suite-arm64.sh), in
#      the arm64 nested rig on an x86_64 host
# Usage: scripts/test.sh [--no-e2e] [--no-arm64]
#   --no-e2e    skip tier 3 and the arm64 tiers (both need a nested rig here)
#   --no-arm64  skip the arm64 tiers
# The last line is the overall "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
e2e=1 arm64=1
for a in "$@"; do
    case "$a" in
    --no-e2e) e2e=0 ;;
    --no-arm64) arm64=0 ;;
    *) echo "usage: scripts/test.sh [--no-e2e] [--no-arm64]"; exit 2 ;;
    esac
done

scripts/setup.sh || { echo "setup failed"; exit 1; }
make -s -j"$(nproc)" tests || { echo "build failed"; exit 1; }
make -s -j"$(nproc)" SAN=1 tests || { echo "ASan build failed"; exit 1; }

total_pass=0; total_fail=0
# Run a suite command; its last "N passed, N failed" line is added to the totals.
suite() {
    local name=$1; shift
    echo "=== $name"
    local out rc line p f t0=$SECONDS
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | tail -n 60
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n1)
    if [ -z "$line" ]; then p=0; f=1
    else
        p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "--- $name: $p passed, $f failed ($((SECONDS - t0)) s)"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}

for b in build build/asan; do
    suite "unit ($b)" tests/run-unit.sh "$b"/tests/unit/test_*
    suite "cli errors ($b)" tests/cli/errors.sh "$b"/arcvmm
done
# bench/blk-l1.sh's round order and ratios on canned figures (no VM)
suite "bench blk ratios" tests/bench/blk-ratios.sh
# libFuzzer: every tests/fuzz/fuzz_*.c target, 30 s each (the suite runs them on every
# change; a longer campaign is tests/fuzz/run.sh SECONDS)
suite "fuzz" tests/fuzz/run.sh 30
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    for b in build build/asan; do
        for t in "$b"/tests/kvm/test_*; do
            case "$t" in *.d) continue ;; esac
            suite "kvm $(basename "$t") ($b)" "$t"
        done
        # the Firecracker-style API, driven with curl over --api-sock
        suite "api ($b)" tests/api/api.sh "$b"/arcvmm
    done
    # make install into a staging root; a program built with pkg-config
    # against it (shared and static) boots the test guest
    suite "install" tests/cli/install.sh
else
    echo "!!! NO /dev/kvm: tier 2 cannot run here; counted as failed"
    total_fail=$((total_fail + 1))
fi
if [ "$e2e" = 1 ]; then
    suite "e2e (Debian kernel)" tests/e2e/suite.sh
fi
if [ "$e2e" = 1 ] && [ "$arm64" = 1 ]; then
    suite "arm64 tiers 2+3 (arm64 rig)" tests/e2e/suite-arm64.sh
fi
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
