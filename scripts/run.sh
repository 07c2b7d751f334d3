#!/usr/bin/env bash
# The main job: set up, build, and boot the default guest (Debian's cloud
# kernel + the project's initramfs) with arcvmm, console on this terminal.
# Extra arguments go to `arcvmm run` (e.g. --cpus 2 --memory 512).
# Where /dev/kvm cannot boot a stock kernel, arcvmm runs inside the nested
# rig (scripts/rig.sh) instead, on real KVM emulated by QEMU.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh
make -s -j"$(nproc)"
scripts/guest.sh >/dev/null
. scripts/hostkvm.sh
if [ ! -t 0 ] && [ $# -eq 0 ]; then
    # Nobody to type at the guest shell: let the guest report and power off.
    echo "run: stdin is not a terminal; the guest will print its CPUs and memory and power off"
    set -- --cmdline "console=ttyS0 reboot=k panic=-1 arcvmm.test=info"
fi
if host_kvm_runs_linux; then
    exec build/arcvmm run "$@"
fi
echo "run: this host's /dev/kvm cannot boot a stock kernel, so arcvmm runs inside the nested rig (QEMU TCG with KVM, ~1 min to a shell; type 'poweroff -f' to end)"
pay=build/run/payload
rm -rf "$pay"; mkdir -p "$pay"
cp build/arcvmm build/guest/bzImage build/guest/initramfs.cpio.gz "$pay"/
{
    echo 'cd /payload'
    printf './arcvmm run --kernel bzImage --initrd initramfs.cpio.gz'
    for a in "$@"; do printf " '%s'" "${a//\'/\'\\\'\'}"; done
    echo
} > "$pay"/run.sh
if [ -t 0 ]; then
    exec scripts/rig.sh --interactive "$pay"
fi
exec scripts/rig.sh --timeout 600 "$pay"
