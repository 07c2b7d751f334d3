#!/usr/bin/env bash
# virtio-blk benchmark, arcvmm vs QEMU microvm (and kvmtool) vs the host
# bound, one run (bench/blk-l1.sh). In the nested rig unless the host KVM
# boots stock kernels. Settings pass through: SECS, RUNS, CPUS, IMG_MB,
# VMMS, TESTS (see bench/blk-l1.sh).
#
# LKVM=PATH adds kvmtool as a peer: a static x86-64 kvmtool binary, which
# this project neither ships nor builds; `make lkvm-static` in a kvmtool
# checkout makes one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/host.sh
bench_build
bench_payload blk build/arcvmm build/guest/bzImage build/guest/initramfs.cpio.gz \
    build/guest/blkload bench/blk-table.awk tests/e2e/lib.sh
bench_lkvm
bench_script bench/blk-l1.sh SECS RUNS CPUS IMG_MB VMMS TESTS
bench_run 2400
