# Tier-3 tests, run where KVM can boot a stock kernel (inside the rig's L1,
# or directly on such a host). busybox sh. cwd holds: arcvmm, pause_test,
# bzImage, vmlinux, initramfs.cpio.gz, lib.sh, blk-l1.sh, blkload, net-l1.sh,
# net-features-l1.sh, netload.
# Prints "N passed, N failed".
. ./lib.sh
pass=0
fail=0
CMD="console=ttyS0 reboot=k panic=-1 quiet"
RD=initramfs.cpio.gz

# boot KERNEL CPUS MEM TEST: expects the guest to report CPUS cpus and a
# MemTotal consistent with MEM MiB, and arcvmm to exit 0 saying why.
boot() {
    vm_run log 120 ./arcvmm run -v --kernel "$1" --initrd $RD --cpus "$2" --memory "$3" \
        --cmdline "$CMD arcvmm.test=$4"
    boot_check "$1-cpus$2-$4" $? "$2" "$3" "$4"
}

# boot_check NAME RC CPUS MEM TEST: the checks of boot on ./log
boot_check() {
    name=$1 rc=$2
    shift       # now $2 $3 $4 are CPUS MEM TEST, as boot's
    mt=$(sed -n 's/.*arcvmm-init: memtotal_kb \([0-9]*\).*/\1/p' log)
    want_exit="guest powered off"; [ "$4" = reboot ] && want_exit="guest rebooted"
    ok=1
    # MemTotal is RAM minus what the kernel keeps for itself: between 80%
    # and 100% of what was asked for.
    if [ "$rc" = 0 ] && grep -q "arcvmm-init: cpus $2\$" log && [ -n "$mt" ] &&
       [ "$mt" -le $(($3 * 1024)) ] && [ "$mt" -ge $(($3 * 1024 * 8 / 10)) ] &&
       grep -q "arcvmm: $want_exit" log; then
        ok=0
    fi
    result "$name" $ok "(rc=$rc memtotal_kb=$mt)"
}

boot bzImage 2 256 info
boot vmlinux 2 256 info
boot bzImage 1 256 info
boot vmlinux 1 256 info
boot vmlinux 2 256 reboot

# The same VM from a Firecracker config file, booted at once without an
# API socket (arcvmm --config-file F --no-api)
cat > vm.json <<JSON
{"boot-source": {"kernel_image_path": "bzImage", "initrd_path": "$RD",
                 "boot_args": "$CMD arcvmm.test=info"},
 "machine-config": {"vcpu_count": 2, "mem_size_mib": 256}}
JSON
vm_run log 120 ./arcvmm --config-file vm.json --no-api -v
boot_check config-file-no-api $? 2 256 info

# Every way Linux may reset an x86 machine ends arcvmm with 0 and "guest
# rebooted", through the device that method is meant to reach (-v names
# it): reboot=k the i8042, a the ACPI reset register, t a triple fault,
# pci the reset control register at 0xCF9, b the BIOS (a real-mode jump to
# F000:FFF0, where arcvmm's stub writes 0xCF9). And no reboot= at all, as
# a distribution's boot entry has: on our hardware-reduced ACPI platform
# Linux then picks EFI, finds none and takes the BIOS path (reboot=e is
# that same path, so it has no boot of its own). One vCPU, the bzImage:
# each method costs a boot. Once more with a virtio-pci disk, where 0xCF9
# is reached through the PCI host bridge's 0xCF8 port.
reboot_method() {   # METHOD ("" for Linux's default) WANT (text of the -v line) [NAME ARGS...]
    m=$1 want=$2 name="reboot-${1:-default}"
    shift 2
    [ $# = 0 ] || { name=$1; shift; }
    vm_run log 120 ./arcvmm run -v --kernel bzImage --initrd $RD --cpus 1 --memory 256 "$@" \
        --cmdline "console=ttyS0 panic=-1 quiet ${m:+reboot=$m }arcvmm.test=reboot"
    rc=$?
    ok=1
    if [ "$rc" = 0 ] && grep -q "reboot: Restarting system" log && grep -qF "$want" log &&
       [ "$(grep -cE 'arcvmm: guest reset through|triple fault' log)" = 1 ] &&
       grep -q "arcvmm: guest rebooted" log; then
        ok=0
    fi
    result "$name" $ok "(rc=$rc)"
}
cf9="arcvmm: guest reset through the reset control register (port 0xcf9)"
reboot_method "" "$cf9"
reboot_method k "arcvmm: guest reset through the i8042 reset line"
reboot_method a "arcvmm: guest reset through the ACPI reset register"
reboot_method t "triple fault (KVM_EXIT_SHUTDOWN), taken as a reset"
reboot_method pci "$cf9"
reboot_method b "$cf9"
rm -f /tmp/reboot-disk.img
truncate -s 16M /tmp/reboot-disk.img
reboot_method "" "$cf9" reboot-default-pci --transport pci --disk /tmp/reboot-disk.img
rm -f /tmp/reboot-disk.img

# Console input: a line written to arcvmm's stdin reaches the guest shell
# and the shell's answer comes back on stdout.
stdin_test() {
    rm -f in.fifo out.fifo
    mkfifo in.fifo out.fifo
    timeout -s KILL 120 ./arcvmm run --kernel bzImage --initrd $RD \
        --cmdline "$CMD arcvmm.test=shell" <in.fifo >out.fifo 2>&1 &
    pid=$!
    exec 4>in.fifo
    got=1
    while IFS= read -r line; do
        echo "| $line"
        case "$line" in
        *"arcvmm-init: shell"*) printf 'echo answer-$((6*7))\n' >&4 ;;
        *answer-42*) got=0; printf 'poweroff -f\n' >&4 ;;
        esac
    done <out.fifo
    exec 4>&-
    wait $pid
    rc=$?
    [ "$got" = 0 ] && [ "$rc" = 0 ]
    result stdin-to-shell $? "(rc=$rc)"
}
stdin_test

# Pause/resume/stop through the library API on a real Linux guest.
# With a disk: a guest paused during heavy disk I/O changes no byte of its
# memory. The disk is a null_blk device whose every request takes 1 s
# (the rig stages the module), so requests are always in flight at the
# pause; a plain scratch file where the rig has no null_blk.
pause_disk=/tmp/pause-disk.img
if [ -f /opt/modules/lib/modules/load-order ]; then
    while read -r m; do
        case "$m" in
        null_blk.ko) insmod "/opt/modules/lib/modules/$m" nr_devices=1 gb=1 irqmode=2 \
                         completion_nsec=1000000000 hw_queue_depth=64 ;;
        *) insmod "/opt/modules/lib/modules/$m" ;;
        esac
    done </opt/modules/lib/modules/load-order
fi
if [ -b /dev/nullb0 ]; then
    pause_disk=/dev/nullb0
else
    echo "pause_test: no /dev/nullb0; using a scratch file"
    rm -f "$pause_disk"; truncate -s 64M "$pause_disk"
fi
out=$(./pause_test bzImage $RD "$pause_disk" 2>&1)
rm -f /tmp/pause-disk.img
printf '%s\n' "$out"
line=$(printf '%s\n' "$out" | tail -n 1)
p=${line%% passed*}
f=${line#*, }; f=${f%% failed*}
case "$line" in
*" passed, "*" failed") pass=$((pass + p)); fail=$((fail + f)) ;;
*) fail=$((fail + 1)); echo "FAIL pause_test (no summary)" ;;
esac

# virtio-blk on both transports (adds to pass/fail through result()).
E2E_SUITE=1
BLK_TRANSPORT=mmio
. ./blk-l1.sh
BLK_TRANSPORT=pci
. ./blk-l1.sh

# virtio-net on a tap, 64 MiB each way, on both transports. (An earlier
# session saw one virtio-pci guest of 6 triple-fault mid-transfer; with the
# notify registers in an I/O BAR, 16 runs in a row passed in one rig
# session. -v prints the registers if it comes back.)
NET_TRANSPORTS="pci mmio"
. ./net-l1.sh

# The newer device tests run on the default transport here (the suite's
# time: each file alone, as a rig payload, runs both by default).
# virtio-net multiqueue, offloads and two NICs (tests/e2e/net-features-l1.sh).
NETF_TRANSPORTS=pci
. ./net-features-l1.sh

# User-mode networking without capabilities (tests/e2e/slirp-l1.sh) is not
# in the suite yet: in its first rig runs DHCP, DNS, the host forward, the
# tap+user pair and the capability drop passed, while the guest's HTTP
# fetch through 10.0.2.2 failed and its ping6 raced the IPv6 address
# (issue 14).

# virtio-vsock with Firecracker's host protocol (tests/e2e/vsock-l1.sh) is
# not in the suite yet: in its first rig run it passed the CONNECT checks
# and then hung at the never-reading-guest step (issue 15).

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
