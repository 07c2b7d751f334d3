#!/usr/bin/env bash
# The nested test rig: runs a payload on real KVM inside QEMU TCG.
#
#   scripts/rig.sh [--timeout SECONDS] [--smp N] [--mem MIB] [--with-qemu]
#                  [--with PROGRAM]... [--append ARGS] PAYLOAD_DIR
#
# Why: this host's /dev/kvm cannot run a stock Linux kernel, but QEMU TCG with
# `-cpu max` emulates AMD SVM with nested paging, so a Debian kernel (L1)
# booted in it can load kvm_amd and offer a real /dev/kvm to L2 guests.
#
# L1 is the Debian cloud kernel of scripts/guest.sh (same cache) with an
# initramfs holding busybox-static, irqbypass/kvm/kvm_amd (+ dependencies),
# the payload at /payload, and the shared libraries and dynamic loader of
# every ELF program in it (found with ldd on the host), so host-built
# dynamically linked programs run unchanged.  L1's init loads the modules,
# checks /dev/kvm (else prints "RIG: no /dev/kvm" and fails), runs
# `sh run.sh` in /payload and prints "RIG-EXIT <status>", then powers off.
#
# PAYLOAD_DIR must contain run.sh (busybox sh).  Options:
#   --timeout S     whole-run limit (default 600); on expiry QEMU is killed,
#                   "RIG: timeout after S s" and the last 30 console lines
#                   are printed and the exit status is 124
#   --smp N         L1 vCPUs (default 2)       --mem MIB  L1 RAM (default 2048)
#   --with-qemu     put the host's qemu-system-x86_64 in L1 at the same path
#                   (/usr/bin), with its libraries and its x86 firmware
#                   (/usr/share/qemu, /usr/share/seabios), so run.sh can run
#                   `qemu-system-x86_64 -M microvm -accel kvm ...`
#   --with PROGRAM  copy a host program (and its libraries) to the same path
#                   in L1; repeatable
#   --append ARGS   extra L1 kernel command line
#   --interactive   the console is this terminal, both ways: run.sh's stdin
#                   is L1's console (so a guest shell under arcvmm can be used);
#                   no timeout, no log, QEMU's exit status
#
# L1 prints "RIG: L1 alive at <uptime>s" every minute while run.sh runs, so
# a timeout's last lines show whether L1 itself froze.
# The console streams to stdout as it arrives and to build/rig/log/NAME.log
# (NAME = payload directory name).  Exit status: run.sh's status (from
# RIG-EXIT), 124 on timeout, 1 when QEMU ends without RIG-EXIT ("RIG: no
# exit status").  Work files: build/rig/run.PID (removed on exit; keep with
# RIG_KEEP=1).  Downloads are cached in build/cache (see scripts/guest.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=guest.sh
. "$ROOT/scripts/guest.sh"

die() { echo "rig.sh: error: $*" >&2; exit 2; }
usage() { sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

timeout_s=600 smp=2 mem=2048 with_qemu=0 append="" payload="" interactive=0
with=()
while [ $# -gt 0 ]; do
    case "$1" in
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --mem) mem=${2:?}; shift 2 ;;
    --with-qemu) with_qemu=1; shift ;;
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

gk_need_pkgs qemu-system-x86 busybox-static cpio kmod
gk_kernel

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
gk_stage_modules "$r" irqbypass kvm kvm_amd
cp -RL --preserve=mode,timestamps "$payload" "$r/payload" # symlinks followed

# Copies host file $1 to the same absolute path in L1 (symlinks resolved).
# The target is removed first: it may be a busybox applet link to the
# absolute /bin/busybox, and copying through it would overwrite the HOST's.
put() {
    local d
    d=$(dirname "$1")
    [ ! -L "$r$d" ] || die "L1 path $d is a symlink; cannot stage $1"
    mkdir -p "$r$d"
    rm -f "$r$1"
    cp -L "$1" "$r$1"
}
if [ "$with_qemu" = 1 ]; then
    put /usr/bin/qemu-system-x86_64
    # Firmware QEMU looks up in <bindir>/../share/{qemu,seabios}; microvm
    # loads bios-microvm.bin (Debian: a link to qboot.rom) and linuxboot_dma.bin.
    for f in /usr/share/qemu/{bios-microvm.bin,qboot.rom,linuxboot.bin,linuxboot_dma.bin,kvmvapic.bin,pvh.bin,multiboot.bin,multiboot_dma.bin} \
             /usr/share/seabios/{bios.bin,bios-256k.bin}; do
        [ -e "$f" ] && put "$f"
    done
fi
for p in ${with[@]+"${with[@]}"}; do
    case "$p" in /*) ;; *) p=$(command -v "$p") || die "--with: $p not found" ;; esac
    [ -f "$p" ] || die "--with: $p not found"
    put "$p"
done

# Shared libraries (and the dynamic loader) of every dynamic ELF program.
is_elf_prog() { # ELF of type EXEC (2) or DYN (3)
    [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' ')" = 7f454c46 ] &&
        case "$(od -An -tu2 -j16 -N2 "$1" | tr -d ' ')" in 2 | 3) true ;; *) false ;; esac
}
while IFS= read -r -d '' f; do
    is_elf_prog "$f" || continue
    { ldd "$f" 2>/dev/null || true; } |
        awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done < <(find "$r" -path "$r/lib/modules" -prune -o -type f -print0) | sort -u | while IFS= read -r lib; do
    [ -e "$r$lib" ] || [ -L "$r$lib" ] || put "$lib"
done

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
while read -r m; do
    insmod "/lib/modules/$m" || echo "RIG: insmod $m failed"
done </lib/modules/load-order
if [ ! -c /dev/kvm ]; then
    echo "RIG: no /dev/kvm"
    echo "RIG-EXIT 1"
else
    read -r up _ </proc/uptime
    echo "RIG: /dev/kvm ready at ${up}s, running payload"
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
echo "RIG: L1 $GK_PKG $GK_PKGVER, initramfs $(($(stat -c %s "$work/l1.cpio") >> 20)) MiB, smp $smp, mem ${mem} MiB, timeout ${timeout_s} s"

# --- run L1 ----------------------------------------------------------------
if [ "$interactive" = 1 ]; then
    qrc=0
    qemu-system-x86_64 -M q35 -accel tcg -cpu max -smp "$smp" -m "$mem" \
        -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
        -kernel "$GK_KROOT/boot/vmlinuz-$GK_KVER" -initrd "$work/l1.cpio" \
        -append "console=ttyS0 reboot=k panic=-1 quiet rig.interactive $append" || qrc=$?
    exit "$qrc"
fi
log="$RIG/log/$(basename "$payload").log"
: >"$log"
mkfifo "$work/console"
qemu-system-x86_64 -M q35 -accel tcg -cpu max -smp "$smp" -m "$mem" \
    -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
    -kernel "$GK_KROOT/boot/vmlinuz-$GK_KVER" -initrd "$work/l1.cpio" \
    -append "console=ttyS0 reboot=k panic=-1 quiet $append" \
    </dev/null >"$work/console" 2>&1 &
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
