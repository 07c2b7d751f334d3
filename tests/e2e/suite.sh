#!/usr/bin/env bash
# Tier 3: boots Debian's kernel under arcvmm and runs tests/e2e/suite-l1.sh.
# Runs directly when the host KVM can boot a stock kernel, otherwise inside
# the nested rig (scripts/rig.sh). Needs `make tests` and scripts/guest.sh.
# Includes the virtio-blk tests of tests/e2e/blk-l1.sh and the virtio-net
# ones of tests/e2e/net-l1.sh and tests/e2e/net-features-l1.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. scripts/hostkvm.sh
scripts/guest.sh >/dev/null
pay=build/e2e/payload
rm -rf "$pay"; mkdir -p "$pay"
cp build/arcvmm build/tests/e2e/pause_test build/guest/bzImage build/guest/vmlinux \
   build/guest/initramfs.cpio.gz build/guest/blkload build/guest/netload build/guest/vsockio \
   build/tests/e2e/dnsstub tests/e2e/lib.sh tests/e2e/blk-l1.sh tests/e2e/net-l1.sh \
   tests/e2e/net-features-l1.sh tests/e2e/vsock-l1.sh tests/e2e/slirp-l1.sh "$pay"/
cp tests/e2e/suite-l1.sh "$pay"/run.sh
if host_kvm_runs_linux; then
    cd "$pay" && exec sh run.sh
fi
echo "e2e: this host's /dev/kvm cannot run a stock kernel; running inside the nested rig"
# e2fsck and debugfs check the guest's ext4 image (tests/e2e/blk-l1.sh).
# iproute2's ip makes the taps of tests/e2e/net-l1.sh (busybox's cannot);
# util-linux's setpriv runs arcvmm without capabilities (slirp-l1.sh).
exec scripts/rig.sh --timeout 2700 --with /sbin/e2fsck --with /sbin/debugfs --with /usr/sbin/ip \
    --with /usr/bin/setpriv "$pay"
