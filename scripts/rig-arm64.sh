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
#   --timeout S     whole-run limit (default 900); on expiry QEMU is killed,
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
# L1 prints "RIG: L1 alive at <uptime>s" every minute while run.sh runs.
# The console streams to stdout as it arrives and to
# build/rig/log/arm64-NAME.log (NAME = payload directory name).  Exit
# status: run.sh's status (from RIG-EXIT), 124 on timeout, 1 when QEMU ends
# without RIG-EXIT ("RIG: no exit status").  Work files: build/rig/run.PID
# (removed on exit; keep with RIG_KEEP=1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # read by guest.sh
GK_ARCH=arm64
# shellcheck source=guest.sh
. "$ROOT/scripts/guest.sh"

die() { echo "rig-arm64.sh: error: $*" >&2; exit 2; }
usage() { sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

timeout_s=900 smp=2 mem=2048 append="" payload="" interactive=0
with=()
while [ $# -gt 0 ]; do
    case "$1" in
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --mem) mem=${2:?}; shift 2 ;;
    --with) with+=("${2:?}"); shift 2 ;;
    --append) append=${2:?}; shift 2 ;;
    --interactive) interactive=1; shift ;;
    -h | --help) usage ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$payload" ] || usage; payload=$1; shift ;;
    esac
done
[ -n "$payload" ] || usage
[[ $timeout_s =~ ^[0-9]+$ && $smp =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ ]] ||
    die "--timeout, --smp and --mem take whole numbers"
[ -f "$payload/run.sh" ] || die "$payload/run.sh: no such file (PAYLOAD_DIR needs run.sh)"
payload=$(cd "$payload" && pwd)

gk_need_pkgs qemu-system-arm busybox-static cpio kmod binutils
gk_kernel
gk_arm64_root

RIG="$ROOT/build/rig"
mkdir -p "$RIG/log"
work="$RIG/run.$$"
qpid=""
cleanup() {
    [ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null || true
    [ "${RIG_KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$work"
mkdir -p "$work"
r="$work/root"

# --- L1 root file system ---------------------------------------------------
mkdir -p "$r"/{dev,proc,sys,tmp,run,root,etc,mnt}
gk_stage_busybox "$r"
gk_arm64_image "$GK_KROOT/boot/vmlinuz-$GK_KVER" "$work/Image"
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

# L1 init (busybox sh).
cat >"$r/init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
if grep -q rig.interactive /proc/cmdline; then
    exec </dev/console >/dev/console 2>&1
else
    exec </dev/null >/dev/console 2>&1
fi
read -r up _ </proc/uptime
echo "RIG: L1 init at ${up}s"
if [ ! -c /dev/kvm ]; then
    echo "RIG: no /dev/kvm"
    dmesg | grep -i kvm | tail -n 5
    echo "RIG-EXIT 1"
else
    read -r up _ </proc/uptime
    echo "RIG: /dev/kvm ready at ${up}s ($(dmesg | grep -o 'kvm \[1\]: .*mode.*' | head -n 1)), running payload"
    # A line a minute tells, after a timeout, whether L1 was still alive.
    (while sleep 60; do read -r up _ </proc/uptime; echo "RIG: L1 alive at ${up}s"; done) &
    cd /payload && sh run.sh
    echo "RIG-EXIT $?"
fi
sync
poweroff -f
sleep 10
EOF
chmod 0755 "$r/init"
gk_pack_cpio "$r" "$work/l1.cpio" none # uncompressed: faster to boot under TCG
echo "RIG: arm64 L1 $GK_PKG $GK_PKGVER, initramfs $(($(stat -c %s "$work/l1.cpio") >> 20)) MiB, smp $smp, mem ${mem} MiB, timeout ${timeout_s} s"

# --- run L1 ----------------------------------------------------------------
# -cpu max at EL2 (virtualization=on) with a GICv3: the kernel runs KVM in
# VHE mode and its vGIC needs the GICv3's virtualization support.
qemu_l1() {
    qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -accel tcg -cpu max \
        -smp "$smp" -m "$mem" \
        -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
        -kernel "$work/Image" -initrd "$work/l1.cpio" "$@"
}
if [ "$interactive" = 1 ]; then
    qrc=0
    qemu_l1 -append "console=ttyAMA0 panic=-1 quiet rig.interactive $append" || qrc=$?
    exit "$qrc"
fi
log="$RIG/log/arm64-$(basename "$payload").log"
: >"$log"
mkfifo "$work/console"
qemu_l1 -append "console=ttyAMA0 panic=-1 quiet $append" </dev/null >"$work/console" 2>&1 &
qpid=$!

# Stream the console line by line (read from the fifo, never poll the log).
status="" outcome=eof
deadline=$((SECONDS + timeout_s))
exec 3<"$work/console" 4>>"$log"
while :; do
    left=$((deadline - SECONDS))
    if [ -n "$status" ] && [ "$left" -gt 30 ]; then
        left=30 # grace for L1's poweroff after RIG-EXIT
    fi
    if [ "$left" -le 0 ]; then outcome=timeout; break; fi
    line=""
    if IFS= read -r -t "$left" line <&3; then
        line=${line%$'\r'}
        printf '%s\n' "$line"
        printf '%s\n' "$line" >&4
        if [[ $line =~ RIG-EXIT\ ([0-9]+)$ ]]; then status=${BASH_REMATCH[1]}; fi
    else
        rc=$?
        if [ -n "$line" ]; then printf '%s\n' "$line"; printf '%s\n' "$line" >&4; fi
        if [ "$rc" -gt 128 ]; then outcome=timeout; else outcome=eof; fi
        break
    fi
done
exec 3<&-

if [ "$outcome" = timeout ] && [ -z "$status" ]; then
    kill -9 "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
    qpid=""
    echo "RIG: timeout after $timeout_s s"
    echo "RIG: last 30 console lines ($log):"
    tail -n 30 "$log"
    exit 124
fi
if [ "$outcome" = timeout ]; then
    kill -9 "$qpid" 2>/dev/null || true # RIG-EXIT seen but no poweroff
fi
qrc=0
wait "$qpid" || qrc=$?
qpid=""
if [ -z "$status" ]; then
    echo "RIG: no exit status (QEMU exit code $qrc)"
    echo "RIG: last 30 console lines ($log):"
    tail -n 30 "$log"
    exit 1
fi
echo "RIG: payload exit status $status, $SECONDS s total"
exit "$status"
