#!/usr/bin/env bash
# User-mode networking end to end (tests/e2e/slirp-l1.sh): Debian's kernel
# under arcvmm with --net user, directly when the host KVM can boot a stock
# kernel, otherwise inside the nested rig (scripts/rig.sh). Needs
# `make tests` (arcvmm, dnsstub) and scripts/guest.sh (its tests/guest/init
# has the slirp mode). Not part of suite.sh yet.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. scripts/hostkvm.sh
scripts/guest.sh >/dev/null
pay=build/e2e/slirp-payload
rm -rf "$pay"; mkdir -p "$pay"
cp build/arcvmm build/tests/e2e/dnsstub build/guest/bzImage build/guest/initramfs.cpio.gz \
   tests/e2e/lib.sh "$pay"/
cp tests/e2e/slirp-l1.sh "$pay"/run.sh
if host_kvm_runs_linux; then
    cd "$pay" && exec sh run.sh
fi
echo "e2e: this host's /dev/kvm cannot run a stock kernel; running inside the nested rig"
# util-linux's setpriv drops every capability (busybox's cannot drop the
# bounding set); iproute2's ip makes the tap of the two-NIC case.
exec scripts/rig.sh --timeout 1200 --with /usr/bin/setpriv --with /usr/sbin/ip "$pay"
