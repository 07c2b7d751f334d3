#!/usr/bin/env bash
# virtio-net benchmark on a tap, arcvmm (virtio-mmio and virtio-pci) vs QEMU
# microvm (vhost=off, and vhost=on as the in-kernel bound) and kvmtool, one
# run (bench/net-l1.sh): TCP throughput guest -> L1 and L1 -> guest with 1
# and 2 streams, and 1-byte TCP request/response latency. In the nested rig
# (whose L1 loads tun and vhost_net) unless the host KVM boots stock kernels
# (then run it as root). Settings pass through: SECS, RUNS, CPUS, COUNT,
# VMMS, TESTS (see bench/net-l1.sh).
#
# LKVM=PATH adds kvmtool as a peer: a static x86-64 kvmtool binary, which
# this project neither ships nor builds; `make lkvm-static` in a kvmtool
# checkout makes one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/host.sh
bench_build
bench_payload net build/arcvmm build/guest/bzImage build/guest/initramfs.cpio.gz \
    build/guest/netload tests/e2e/lib.sh
bench_lkvm
bench_script bench/net-l1.sh SECS RUNS CPUS COUNT VMMS TESTS
bench_run 3000
