#!/usr/bin/env bash
# Installs what arcvmm needs to build and test on Debian 12 (run as root,
# or with sudo available). Safe to rerun: only missing packages are fetched.
#
#   scripts/setup.sh           the native build and its tests
#   scripts/setup.sh --arm64   also the arm64 cross build on an x86_64 host
#                              (`make ARCH=arm64`, a static build/arm64/arcvmm)
#                              and qemu-user to run it here
set -euo pipefail
arm64=0
[ "${1:-}" = "--arm64" ] && arm64=1
pkgs=(
    build-essential     # gcc, make: build arcvmm
    liburing-dev        # io_uring for virtio-blk I/O
    libfdt-dev          # arm64 device tree (also unit-tested on x86_64)
    libjansson-dev      # JSON for the API socket: strict parsing, no dependencies, static .a
    curl                # tests/api/api.sh drives the API socket (curl --unix-socket)
    clang               # later: libFuzzer targets
    acpica-tools        # iasl, acpiexec: the ACPI unit tests disassemble and run our tables
    device-tree-compiler # dtc: the arm64 unit tests decompile our device tree
    qemu-system-x86     # the nested test rig (L1) and the QEMU microvm peer
    busybox-static      # guest and rig initramfs userland
    cpio lz4 xz-utils   # initramfs packing, vmlinux extraction
    e2fsprogs           # e2fsck/debugfs for disk tests
    util-linux          # runuser, setpriv (unreadable-file test)
    iproute2            # ip tuntap: the taps of the virtio-net tests
    pkgconf groff-base  # tests/cli/install.sh: pkg-config arcvmm, the man page checked
)
host=$(dpkg --print-architecture)
cross=0
if [ "$arm64" = 1 ] && [ "$host" != arm64 ]; then
    cross=1
    pkgs+=(
        gcc-aarch64-linux-gnu   # cross compiler
        libc6-dev-arm64-cross   # static glibc for arm64
        liburing-dev:arm64      # static liburing for arm64 (multiarch)
        libjansson-dev:arm64    # static jansson for arm64 (multiarch)
        qemu-user-static        # runs build/arm64 binaries on this host
    )
fi
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$cross" = 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $SUDO dpkg --add-architecture arm64
    fi
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# libfdt-dev is not multiarch: its amd64 and arm64 packages conflict. The
# cross build takes the arm64 libfdt.a (and the identical headers) from the
# arm64 package, unpacked into the cross toolchain's own directory, where
# aarch64-linux-gnu-gcc finds it without extra flags.
sysroot=/usr/aarch64-linux-gnu
if [ "$cross" = 1 ] && [ ! -e "$sysroot/lib/libfdt.a" ]; then
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    chmod 755 "$tmp"
    echo "setup: unpacking libfdt-dev:arm64 into $sysroot"
    (cd "$tmp" && { apt-get download -qq libfdt-dev:arm64 2>/dev/null ||
                    { $SUDO apt-get update -qq && apt-get download -qq libfdt-dev:arm64 2>/dev/null; }; })
    dpkg-deb -x "$tmp"/libfdt-dev_*_arm64.deb "$tmp/x"
    $SUDO install -D -m 644 "$tmp/x/usr/lib/aarch64-linux-gnu/libfdt.a" "$sysroot/lib/libfdt.a"
    for h in fdt.h libfdt.h libfdt_env.h; do
        $SUDO install -D -m 644 "$tmp/x/usr/include/$h" "$sysroot/include/$h"
    done
fi
exit 0
