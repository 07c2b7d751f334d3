#!/usr/bin/env bash
# arm64 boot-time and memory-overhead benchmark: arcvmm vs kvmtool, same
# Debian arm64 kernel and initrd, medians of RUNS (default 5) interleaved
# boots each in one run, then each VMM's RSS overhead after init
# (bench/boot-arm64-l1.sh).  In the arm64 nested rig (scripts/rig-arm64.sh)
# unless this is an arm64 host whose KVM boots stock kernels.
#
#   bench/boot-arm64.sh LKVM_STATIC        (or LKVM=path bench/boot-arm64.sh)
#
# LKVM_STATIC is an already-built static arm64 kvmtool binary; this project
# neither ships nor builds kvmtool.  One way to make it, outside the repo:
#   make lkvm-static ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- LIBFDT_DIR=...
# in a kvmtool checkout (LIBFDT_DIR: a directory with the arm64 libfdt.a).
# Environment: RUNS (boots per VMM, default 5); ARM64_BUILD: build
# directory instead of build/arm64 (passed to make as BUILD=).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench/boot-arm64.sh: error: $*" >&2; exit 2; }

lkvm=${1:-${LKVM:-}}
[ -n "$lkvm" ] || die "give the path of a static arm64 kvmtool binary (lkvm-static) as the argument or in LKVM"
[ -f "$lkvm" ] || die "$lkvm: no such file (a static arm64 kvmtool, lkvm-static)"
lkvm=$(realpath "$lkvm")
[ "$(od -An -tx1 -N4 "$lkvm" | tr -d ' ')" = 7f454c46 ] &&
    [ "$(od -An -tu2 -j18 -N2 "$lkvm" | tr -d ' ')" = 183 ] ||
    die "$lkvm is not an arm64 ELF program"
if readelf -lW "$lkvm" 2>/dev/null | grep -q 'program interpreter'; then
    die "$lkvm is dynamically linked; build kvmtool's lkvm-static"
fi

cd "$ROOT"
. scripts/hostkvm.sh
native=0
[ "$(uname -m)" = aarch64 ] && native=1
if [ "$native" = 1 ]; then
    B=build
    scripts/setup.sh >/dev/null
else
    B=build/arm64
    scripts/setup.sh --arm64 >/dev/null
fi
mkvars=()
if [ -n "${ARM64_BUILD:-}" ]; then # another build directory (make BUILD=...)
    B=$ARM64_BUILD
    mkvars=(BUILD="$B")
fi
make -s -j"$(nproc)" ARCH=arm64 ${mkvars[@]+"${mkvars[@]}"} "$B/arcvmm"
ARCH=arm64 scripts/guest.sh >/dev/null

pay=build/arm64/bench/boot-payload
rm -rf "$pay"
mkdir -p "$pay"
cp "$B/arcvmm" "$lkvm" build/arm64/guest/Image build/arm64/guest/initramfs.cpio.gz \
   tests/e2e/lib.sh "$pay"/
[ "$(basename "$lkvm")" = lkvm-static ] || mv "$pay/$(basename "$lkvm")" "$pay/lkvm-static"
{
    echo "RUNS=${RUNS:-5}"
    cat bench/boot-arm64-l1.sh
} >"$pay/run.sh"
if [ "$native" = 1 ] && host_kvm_runs_linux; then
    cd "$pay" && exec sh run.sh
fi
echo "bench: measuring inside the arm64 nested rig (QEMU TCG; L2 times are TCG-bound)"
exec scripts/rig-arm64.sh --timeout 1500 "$pay"
