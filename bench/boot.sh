#!/usr/bin/env bash
# Boot-time and memory-overhead benchmark, arcvmm vs QEMU microvm, one run.
# In the nested rig unless the host KVM boots stock kernels.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/host.sh
bench_build
bench_payload boot build/arcvmm build/guest/bzImage build/guest/vmlinux build/guest/initramfs.cpio.gz \
   tests/e2e/lib.sh
[ -z "${LKVM:-}" ] || cp "$LKVM" "$pay"/lkvm-static    # kvmtool as a peer (you build it)
bench_script bench/boot-l1.sh
bench_run 1500
