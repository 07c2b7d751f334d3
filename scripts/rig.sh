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
#   --timeout S     limit per start of L1 (default 600); on expiry QEMU is killed,
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
# L1 prints "RIG: L1 alive at <uptime>s" every minute while run.sh runs.
# No console line for RIG_STALL_S seconds (default 180) means the emulated
# L1 froze (it very rarely does, with both vCPUs halted for good). Half-way
# through that silence L1 gets an NMI through QEMU's monitor (and the CPU
# state is kept in the monitor log); at the end "RIG: L1 froze", and the
# payload runs again in a fresh L1, up to RIG_RETRIES times (default 2).
# The console streams to stdout as it arrives and to build/rig/log/NAME.log
# (NAME = payload directory name).  Exit status: run.sh's status (from
# RIG-EXIT), 124 on timeout, 125 when L1 froze in every attempt, 1 when QEMU ends
# without RIG-EXIT ("RIG: no exit status").  Work files: build/rig/run.PID (removed on exit; keep with
# RIG_KEEP=1).  Downloads are cached in build/cache (see scripts/guest.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=guest.sh
. "$ROOT/scripts/guest.sh"
# shellcheck source=riglib.sh
. "$ROOT/scripts/riglib.sh"

die() { echo "rig.sh: error: $*" >&2; exit 2; }
usage() { sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

rig_parse_args 600 "$@"

gk_need_pkgs qemu-system-x86 busybox-static cpio kmod
gk_kernel

# --- L1 root file system ---------------------------------------------------
rig_workdir
gk_stage_busybox "$r"
# tun: taps for arcvmm --net; vhost_net, vhost_vsock, vsock: QEMU's
# in-kernel peers in the benchmarks.
gk_stage_modules "$r" irqbypass kvm kvm_amd tun vhost_net vhost_vsock
# Staged, not loaded: tests insmod them with their own parameters from
# /opt/modules/lib/modules (load-order lists dependencies first). null_blk
# gives a disk with a fixed completion latency (tests/e2e/suite-l1.sh).
gk_stage_modules "$r/opt/modules" null_blk
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

# L1 init: load kvm_amd, then the shared init (riglib.sh).
cat >"$r/etc/rig-arch.sh" <<'EOF'
rig_kvm_setup() {
    while read -r m; do
        insmod "/lib/modules/$m" || echo "RIG: insmod $m failed"
    done </lib/modules/load-order
}
rig_kvm_info() { dmesg | grep -o 'Nested Paging.*' | head -n 1; }
EOF
rig_write_init
gk_pack_cpio "$r" "$work/l1.cpio" none # uncompressed: faster to boot under TCG
echo "RIG: L1 $GK_PKG $GK_PKGVER, initramfs $(($(stat -c %s "$work/l1.cpio") >> 20)) MiB, smp $smp, mem ${mem} MiB, timeout ${timeout_s} s"

# --- run L1 ----------------------------------------------------------------
qemu_l1() {
    exec qemu-system-x86_64 -M q35 -accel tcg -cpu max -smp "$smp" -m "$mem" \
        -nodefaults -no-user-config -display none -serial stdio -monitor "pipe:$work/mon" -no-reboot \
        -kernel "$GK_KROOT/boot/vmlinuz-$GK_KVER" -initrd "$work/l1.cpio" "$@"
}
rig_run "$RIG/log/$(basename "$payload").log" "console=ttyS0 reboot=k panic=-1 quiet"
