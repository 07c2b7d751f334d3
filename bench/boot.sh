#!/usr/bin/env bash
# Boot-time and memory-overhead benchmark, arcvmm vs QEMU microvm, one run.
# In the nested rig unless the host KVM boots stock kernels.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/hostkvm.sh
scripts/setup.sh
make -s -j"$(nproc)"
scripts/guest.sh >/dev/null
pay=build/bench/boot-payload
rm -rf "$pay"; mkdir -p "$pay"
cp build/arcvmm build/guest/bzImage build/guest/vmlinux build/guest/initramfs.cpio.gz \
   tests/e2e/lib.sh "$pay"/
[ -z "${LKVM:-}" ] || cp "$LKVM" "$pay"/lkvm-static    # kvmtool as a peer (you build it)
cp bench/boot-l1.sh "$pay"/run.sh
if host_kvm_runs_linux; then
    cd "$pay" && exec sh run.sh
fi
echo "bench: this host's /dev/kvm cannot run a stock kernel; measuring inside the nested rig"
exec scripts/rig.sh --timeout 1500 --with-qemu "$pay"
