#!/usr/bin/env bash
# The arm64 nested rig: runs a payload on real arm64 KVM inside QEMU TCG.
#
#   scripts/rig-arm64.sh [--timeout SECONDS] [--smp N] [--mem MIB]
#                        [--with PROGRAM]... [--append ARGS] [--interactive]
#                        PAYLOAD_DIR
#
# The arm64 twin of scripts/rig.sh, with the same contract.  QEMU's `virt`
# machine with `virtualization=on,gic-version=3` and `-cpu max` (TCG) starts
# Debian's arm64 cloud kernel (L1; the kernel of `ARCH=arm64
# scripts/guest.sh`, same cache) at EL2; KVM is built into that kernel and
# comes up in VHE mode, so /dev/kvm exists without modules.  L1's initramfs
# holds arm64 busybox-static, the payload at /payload and, for every
# dynamically linked arm64 program in it, its loader and libraries (from the
# unpacked arm64 Debian packages: no ldd in the cross case).  L1's init
# checks /dev/kvm (else prints "RIG: no /dev/kvm" and fails), runs
# `sh run.sh` in /payload, prints "RIG-EXIT <status>" and powers off.
#
# PAYLOAD_DIR must contain run.sh (busybox sh).  Programs in it must be
# arm64 (static, or dynamic against Debian bookworm's arm64 libc).  Options:
#   --timeout S     limit per start of L1 (default 900); on expiry QEMU is killed,
#                   "RIG: timeout after S s" and the last 30 console lines
#                   are printed and the exit status is 124
#   --smp N         L1 vCPUs (default 2)       --mem MIB  L1 RAM (default 2048)
#   --with PROGRAM  copy an arm64 program from the unpacked arm64 packages
#                   (e.g. /sbin/e2fsck, /sbin/debugfs; see GK_A64_PKGS in
#                   scripts/guest.sh) and its libraries to the same path in
#                   L1; repeatable
#   --append ARGS   extra L1 kernel command line
#   --interactive   the console is this terminal, both ways (see rig.sh)
#
# L1 prints "RIG: L1 alive at <uptime>s" every minute while run.sh runs; a
# frozen L1 is nudged and started again, as in rig.sh.
# The console streams to stdout as it arrives and to
# build/rig/log/arm64-NAME.log (NAME = payload directory name).  Exit
# status: run.sh's status (from RIG-EXIT), 124 on timeout, 125 when L1
# froze in every attempt, 1 when QEMU ends without RIG-EXIT ("RIG: no exit status").  Work files: build/rig/run.PID
# (removed on exit; keep with RIG_KEEP=1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # read by guest.sh
GK_ARCH=arm64
# shellcheck source=guest.sh
. "$ROOT/scripts/guest.sh"
# shellcheck source=riglib.sh
. "$ROOT/scripts/riglib.sh"

die() { echo "rig-arm64.sh: error: $*" >&2; exit 2; }
usage() { sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

rig_parse_args 900 "$@"
[ "$with_qemu" = 0 ] || die "--with-qemu is for the x86 rig only"

gk_need_pkgs qemu-system-arm busybox-static cpio kmod binutils
gk_kernel
gk_arm64_root

# --- L1 root file system ---------------------------------------------------
rig_workdir
gk_stage_busybox "$r"
gk_arm64_image "$GK_KROOT/boot/vmlinuz-$GK_KVER" "$work/Image"
# tun: taps for arcvmm --net (loaded by rig_kvm_setup; nothing when built in).
gk_stage_modules "$r" tun
cp -RL --preserve=mode,timestamps "$payload" "$r/payload" # symlinks followed
for p in ${with[@]+"${with[@]}"}; do
    case "$p" in /*) ;; *) die "--with takes an absolute path in the arm64 packages ($GK_A64)" ;; esac
    gk_stage_cross "$r" "$GK_A64" "$p"
done

# Loader and libraries of every dynamic arm64 program in the payload.
is_dyn_arm64() { # ELF, machine AArch64 (183), with a program interpreter
    [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' ')" = 7f454c46 ] &&
        [ "$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')" = 183 ] &&
        readelf -lW "$1" 2>/dev/null | grep -q 'program interpreter'
}
while IFS= read -r -d '' f; do
    is_dyn_arm64 "$f" || continue
    interp=$(readelf -lW "$f" | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
    [ -e "$r$interp" ] || gk_stage_cross "$r" "$GK_A64" "$interp"
    for lib in $(readelf -dW "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
        [ "$lib" != "${interp##*/}" ] || continue
        found=""
        for d in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu; do
            if [ -f "$(gk_root_path "$GK_A64" "$d/$lib")" ]; then found=$d/$lib; break; fi
        done
        [ -n "$found" ] || die "payload program ${f#"$r"} needs $lib, which is not in $GK_A64"
        [ -e "$r$found" ] || gk_stage_cross "$r" "$GK_A64" "$found"
    done
done < <(find "$r/payload" -type f -print0)

# L1 init: KVM is built in; the staged modules are loaded; the shared init
# (riglib.sh) does the rest.
cat >"$r/etc/rig-arch.sh" <<'EOF'
rig_kvm_setup() {
    while read -r m; do
        [ -z "$m" ] || insmod "/lib/modules/$m" || echo "RIG: insmod $m failed"
    done </lib/modules/load-order
}
rig_kvm_info() { dmesg | grep -o 'kvm \[1\]: .*mode.*' | head -n 1; }
EOF
rig_write_init
gk_pack_cpio "$r" "$work/l1.cpio" none # uncompressed: faster to boot under TCG
echo "RIG: arm64 L1 $GK_PKG $GK_PKGVER, initramfs $(($(stat -c %s "$work/l1.cpio") >> 20)) MiB, smp $smp, mem ${mem} MiB, timeout ${timeout_s} s"

# --- run L1 ----------------------------------------------------------------
# -cpu max at EL2 (virtualization=on) with a GICv3: the kernel runs KVM in
# VHE mode and its vGIC needs the GICv3's virtualization support.
qemu_l1() {
    exec qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -accel tcg -cpu max \
        -smp "$smp" -m "$mem" \
        -nodefaults -no-user-config -display none -serial stdio -monitor "pipe:$work/mon" -no-reboot \
        -kernel "$work/Image" -initrd "$work/l1.cpio" "$@"
}
rig_run "$RIG/log/arm64-$(basename "$payload").log" "console=ttyAMA0 panic=-1 quiet"
