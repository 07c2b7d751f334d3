#!/usr/bin/env bash
# virtio-net benchmark on a tap, arcvmm (virtio-mmio and virtio-pci) vs QEMU
# microvm (vhost=off, and vhost=on as the in-kernel bound) and kvmtool, one
# run (bench/net-l1.sh): TCP throughput guest -> L1 and L1 -> guest with 1
# and 2 streams, and 1-byte TCP request/response latency. In the nested rig
# unless the host KVM boots stock kernels (then run it as root). Settings
# pass through: SECS, RUNS, CPUS, COUNT, VMMS, TESTS (see bench/net-l1.sh).
#
# LKVM=PATH adds kvmtool as a peer: a static x86-64 kvmtool binary, which
# this project neither ships nor builds; `make lkvm-static` in a kvmtool
# checkout makes one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/hostkvm.sh
scripts/setup.sh
make -s -j"$(nproc)"
scripts/guest.sh >/dev/null
pay=build/bench/net-payload
rm -rf "$pay"; mkdir -p "$pay"
cp build/arcvmm build/guest/bzImage build/guest/initramfs.cpio.gz build/guest/netload \
   tests/e2e/lib.sh "$pay"/
if [ -n "${LKVM:-}" ]; then
    [ -f "$LKVM" ] || { echo "bench: LKVM=$LKVM: no such file" >&2; exit 2; }
    if [ "$(od -An -tu2 -j18 -N2 "$LKVM" | tr -d ' ')" != 62 ] ||
        readelf -lW "$LKVM" 2>/dev/null | grep -q 'program interpreter'; then
        echo "bench: LKVM=$LKVM is not a static x86-64 program (build kvmtool's lkvm-static)" >&2
        exit 2
    fi
    cp "$LKVM" "$pay"/lkvm-static
fi
{
    for v in SECS RUNS CPUS COUNT VMMS TESTS; do
        [ -z "${!v:-}" ] || printf '%s="%s"\n' "$v" "${!v}"
    done
    cat bench/net-l1.sh
} >"$pay"/run.sh
if host_kvm_runs_linux; then
    cd "$pay" && exec sh run.sh
fi
echo "bench: this host's /dev/kvm cannot run a stock kernel; measuring inside the nested rig"
# The rig's L1 loads tun and vhost_net (scripts/rig.sh).
exec scripts/rig.sh --timeout 3000 --with-qemu "$pay"
