#!/usr/bin/env bash
# arm64 tiers 2 and 3 (tests/e2e/suite-arm64-l1.sh): the arm64 build of
# arcvmm and its tier-2 programs with the arm64 test guest, then Debian's
# arm64 kernel under arcvmm.  On an x86_64 host they run inside the arm64
# nested rig (scripts/rig-arm64.sh); on an arm64 host whose KVM boots stock
# kernels, directly.  Builds what it needs: `make ARCH=arm64` (a static
# cross build into build/arm64/, set up by `scripts/setup.sh --arm64`) and
# `ARCH=arm64 scripts/guest.sh`.  Prints "N passed, N failed".
#
# Environment: SUITE_TIERS, SUITE_T2 (see suite-arm64-l1.sh);
# RIG_TIMEOUT (default 1500 s); ARM64_BUILD: build directory to use
# instead of build/arm64 (passed to make as BUILD=).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. scripts/hostkvm.sh

fail_setup() { echo "e2e-arm64: $*"; echo "0 passed, 1 failed"; exit 1; }

native=0
[ "$(uname -m)" = aarch64 ] && native=1
if [ "$native" = 1 ]; then
    B=build
    scripts/setup.sh >/dev/null || fail_setup "scripts/setup.sh failed"
    make -s -j"$(nproc)" || fail_setup "make failed"
else
    B=build/arm64
    scripts/setup.sh --arm64 >/dev/null || fail_setup "scripts/setup.sh --arm64 failed"
fi
mkvars=()
if [ -n "${ARM64_BUILD:-}" ]; then # another build directory (make BUILD=...)
    B=$ARM64_BUILD
    mkvars=(BUILD="$B")
fi
progs=("$B"/arcvmm "$B"/tests/e2e/pause_test)
for t in tests/kvm/test_*.c; do
    t=${t##*/}
    progs+=("$B/tests/kvm/${t%.c}")
done
make -s -j"$(nproc)" ARCH=arm64 ${mkvars[@]+"${mkvars[@]}"} "${progs[@]}" "$B/guest/testguest.Image" ||
    fail_setup "make ARCH=arm64 failed"
ARCH=arm64 scripts/guest.sh >/dev/null || fail_setup "ARCH=arm64 scripts/guest.sh failed"

pay=build/arm64/e2e/payload
rm -rf "$pay"
mkdir -p "$pay"
cp "${progs[@]}" "$B/guest/testguest.Image" build/arm64/guest/Image \
   build/arm64/guest/initramfs.cpio.gz build/arm64/guest/blkload build/arm64/guest/netload \
   tests/e2e/lib.sh tests/e2e/net-l1.sh "$pay"/
{
    echo "SUITE_TIERS='${SUITE_TIERS:-2 3}'"
    [ -z "${SUITE_T2:-}" ] || echo "SUITE_T2='$SUITE_T2'"
    cat tests/e2e/suite-arm64-l1.sh
} >"$pay"/run.sh

if [ "$native" = 1 ] && host_kvm_runs_linux; then
    cd "$pay" && exec sh run.sh
fi
echo "e2e-arm64: running inside the arm64 nested rig (QEMU TCG, virt, GICv3, EL2)"
# e2fsck and debugfs (arm64, with their libraries) check the guest's ext4.
exec scripts/rig-arm64.sh --timeout "${RIG_TIMEOUT:-1500}" \
    --with /sbin/e2fsck --with /sbin/debugfs "$pay"
