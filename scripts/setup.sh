#!/usr/bin/env bash
# Installs what arcvmm needs to build and test on Debian 12 (run as root,
# or with sudo available). Safe to rerun: only missing packages are fetched.
set -euo pipefail
pkgs=(
    build-essential     # gcc, make: build arcvmm
    liburing-dev        # io_uring for virtio-blk I/O
    clang               # later: libFuzzer targets
    acpica-tools        # iasl: the ACPI unit tests disassemble our DSDT
    qemu-system-x86     # the nested test rig (L1) and the QEMU microvm peer
    busybox-static      # guest and rig initramfs userland
    cpio lz4 xz-utils   # initramfs packing, vmlinux extraction
    e2fsprogs           # e2fsck/debugfs for disk tests
    util-linux          # runuser, setpriv (unreadable-file test)
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
