#!/bin/sh
# The QEMU microvm peer on KVM with the default guest (scripts/guest.sh):
#  1. arcvmm.test=info with 1 vCPU and 256 MiB: checks "cpus 1" and a
#     plausible memtotal_kb; prints PASS/FAIL qemu-microvm-info;
#  2. boot time (process start -> "arcvmm-init: start"), $RUNS runs (default
#     5) and their median: the peer figure for bench/boot.sh.
# Runs as the rig's payload (tests/e2e/rig-selftest.sh copies it, lib.sh,
# bzImage and initramfs.cpio.gz into one directory), or directly on a host
# whose KVM runs stock kernels:
#   KERNEL=build/guest/bzImage INITRD=build/guest/initramfs.cpio.gz \
#     sh tests/e2e/qemu-microvm.sh
# busybox sh compatible.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

KERNEL=${KERNEL:-$here/bzImage}
INITRD=${INITRD:-$here/initramfs.cpio.gz}
QEMU=${QEMU:-qemu-system-x86_64}
RUNS=${RUNS:-5}
APPEND="console=ttyS0 reboot=k panic=-1 quiet"
# Word-split on purpose (no spaces in these paths).
MICROVM="$QEMU -M microvm,acpi=on -accel kvm -cpu host -m 256 -smp 1 -nodefaults
 -no-user-config -nographic -serial stdio -kernel $KERNEL -initrd $INITRD"

for f in "$KERNEL" "$INITRD"; do
    [ -f "$f" ] || { echo "FAIL qemu-microvm-info: missing $f"; exit 1; }
done
log=$(mktemp "${TMPDIR:-/tmp}/microvm-info.XXXXXX")

# 1. info
now_us
t0=$NOW_US
rc=0
# shellcheck disable=SC2086
vm_run "$log" 120 $MICROVM -no-reboot -append "$APPEND arcvmm.test=info" || rc=$?
now_us
echo "qemu-microvm info run: $(((NOW_US - t0) / 1000)) ms, exit $rc"
cpus=$(sed -n 's/^arcvmm-init: cpus //p' "$log")
mem=$(sed -n 's/^arcvmm-init: memtotal_kb //p' "$log")
fail=""
[ "$rc" -eq 0 ] || fail="qemu exit status $rc"
[ "$cpus" = 1 ] || fail="${fail:+$fail; }cpus '$cpus', want 1"
case "$mem" in
'' | *[!0-9]*) fail="${fail:+$fail; }memtotal_kb '$mem' not a number" ;;
*) [ "$mem" -ge 150000 ] && [ "$mem" -le 262144 ] ||
       fail="${fail:+$fail; }memtotal_kb $mem outside 150000..262144" ;;
esac
rm -f "$log"
if [ -n "$fail" ]; then
    echo "FAIL qemu-microvm-info: $fail"
    exit 1
fi
echo "PASS qemu-microvm-info (cpus $cpus, memtotal_kb $mem)"

# 2. boot time
# shellcheck disable=SC2086
if ! boot_time_series qemu-microvm "$RUNS" $MICROVM -append "$APPEND arcvmm.test=info"; then
    echo "FAIL qemu-microvm-boot-time"
    exit 1
fi
echo "PASS qemu-microvm-boot-time"
