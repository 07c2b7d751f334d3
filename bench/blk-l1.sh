# virtio-blk throughput: arcvmm --disk vs QEMU microvm virtio-blk-device
# (and kvmtool's virtio-blk over virtio-pci when lkvm-static is in cwd) vs
# the host bound, same raw image, same guest kernel and initramfs (busybox
# sh; the rig payload of bench/blk.sh, or run on a host whose KVM boots
# stock kernels).  cwd holds arcvmm, bzImage, initramfs.cpio.gz, lib.sh and
# blkload, optionally an x86 lkvm-static.
#
# The guest (arcvmm.test=blk-bench) runs blkload on /dev/vda with O_DIRECT:
# 1 MiB sequential write and read at queue depth 1, 4 KiB random reads at
# QD1 and QD32 (Linux AIO), SECS seconds each.  The host bound is the same
# blkload on the image file itself (on tmpfs, without O_DIRECT when tmpfs
# refuses it).  Both VMMs use their default host I/O path for a raw file
# (QEMU: cache=writeback, aio=threads; kvmtool: its I/O thread's pwritev).
# Runs are interleaved; the table shows the median of RUNS per VMM and vCPU
# count.
#
# Settings (environment): SECS (default 5), RUNS (3), CPUS ("1 2"),
# IMG_MB (256), VMMS ("arcvmm arcvmm-pci qemu", plus "kvmtool" if ./lkvm-static
# exists), TESTS (all four; a subset runs only those), BENCH_DIR
# (/tmp/blkbench, tmpfs).
. ./lib.sh
SECS=${SECS:-5}
RUNS=${RUNS:-3}
CPUS=${CPUS:-"1 2"}
if [ -z "${VMMS:-}" ]; then
    VMMS="arcvmm arcvmm-pci qemu"
    [ ! -x ./lkvm-static ] || VMMS="$VMMS kvmtool"
fi
IMG_MB=${IMG_MB:-256}
QEMU=${QEMU:-qemu-system-x86_64}
DIR=${BENCH_DIR:-/tmp/blkbench}
TESTS=${TESTS:-"seqread seqwrite randread1 randread32"}
# shellcheck disable=SC2086 # split on purpose: any spacing -> a,b,c
TESTLIST=$(echo $TESTS | tr ' ' ,) # blkload -T form
APPEND="console=ttyS0 reboot=k panic=-1 quiet arcvmm.test=blk-bench arcvmm.secs=$SECS arcvmm.tests=$TESTLIST"
rm -rf "$DIR"
mkdir -p "$DIR"
img=$DIR/disk.img
res=$DIR/results # lines: VMM CPUS TEST VALUE
failed=0

# Fully allocated and non-zero, so neither side reads holes.
./blkload fill -d off "$img" 0 "${IMG_MB}M" 1 || exit 1
echo "blk bench: image ${IMG_MB} MiB on $(df -T "$DIR" 2>/dev/null | awk 'NR == 2 { print $2 }') ($DIR), $SECS s per test, $RUNS run(s), vCPUs: $CPUS"

# blkload lines on stdin -> "NAME TEST VALUE" lines in $res (MB/s for the
# sequential tests, IOPS for the random ones).
collect() {   # NAME CPUS
    awk -v n="$1" -v c="$2" '/blkload test=/ {
            t = ""; v = ""
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "test") t = kv[2]
                if (kv[1] == "mbps") mb = kv[2]
                if (kv[1] == "iops") io = kv[2]
            }
            v = (t ~ /^seq/) ? mb : io
            print n, c, t, v
        }' >>"$res"
}

# arcvmm on each transport; -v prints its exit counts at the end.
for tr in mmio pci; do
    n=arcvmm; [ "$tr" = mmio ] || n=arcvmm-$tr
    cat >"${n}_blk" <<EOS
exec ./arcvmm run -v --transport $tr --kernel bzImage --initrd initramfs.cpio.gz --cpus \$1 \\
    --memory 256 --disk $img --cmdline "\${2:-$APPEND}"
EOS
done
cat >qemu_blk <<EOS
exec $QEMU -M microvm,acpi=on -accel kvm -cpu host -m 256 -smp \$1 -nodefaults -no-user-config \\
    -nographic -serial stdio -no-reboot \\
    -drive id=d0,file=$img,format=raw,if=none -device virtio-blk-device,drive=d0 \\
    -kernel bzImage -initrd initramfs.cpio.gz -append "$APPEND"
EOS

# kvmtool keeps state in ~/.lkvm, and on x86 it halts instead of exiting
# at guest poweroff: its run ends at the guest's last line.
cat >kvmtool_blk <<EOS
export HOME=\${HOME:-/root}
mkdir -p "\$HOME"
exec ./lkvm-static run --kernel bzImage --initrd initramfs.cpio.gz -c \$1 -m 256 \\
    --disk $img --network mode=none --console serial --params "$APPEND"
EOS

# guest NAME CPUS: one boot of the blk-bench guest.
guest() {
    rc=0 until=
    [ "$1" != kvmtool ] || until='*arcvmm-init: bench*'
    VM_RUN_UNTIL=$until vm_run "$DIR/log" $((SECS * 4 + 180)) sh "${1}_blk" "$2" >/dev/null || rc=$?
    grep 'blkload test=' "$DIR/log" | sed "s/^/$1 cpus $2: /"
    if [ "$rc" != 0 ] || ! grep -q 'arcvmm-init: bench done' "$DIR/log"; then
        echo "blk bench: $1 with $2 vCPU(s) failed (exit $rc); console:"
        tail -n 40 "$DIR/log" | sed 's/^/  | /'
        failed=1
        return 1
    fi
    collect "$1" "$2" <"$DIR/log"
}

# med NAME CPUS TEST: the median of the recorded values, or "-".
med() {
    v=$(awk -v n="$1" -v c="$2" -v t="$3" '$1 == n && $2 == c && $3 == t { print $4 }' "$res")
    if [ -z "$v" ]; then echo -; return; fi
    # shellcheck disable=SC2086
    printf '%s\n' $v | sort -n | awk '{ x[NR] = $1 } END {
        if (NR % 2) print x[(NR + 1) / 2]; else print (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# table ROUNDS: the medians so far, with ratios.
table() {
    echo
    echo "virtio-blk: ${IMG_MB} MiB raw image on L1 tmpfs, guest 256 MiB, O_DIRECT in the guest, median of up to $1 x $SECS s"
    for c in $CPUS; do
        printf '\n%-18s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' "$c vCPU" host mmio pci qemu \
            kvmtool pci/mmio pci/kvmt mmio/kvmt pci/qemu pci/host
        for t in $TESTS; do
            case "$t" in seq*) u="MB/s" ;; *) u="IOPS" ;; esac
            h=$(med host 0 "$t") a=$(med arcvmm "$c" "$t") p=$(med arcvmm-pci "$c" "$t")
            q=$(med qemu "$c" "$t") k=$(med kvmtool "$c" "$t")
            printf '%-18s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' "$t $u" "$h" "$a" "$p" "$q" "$k" \
                "$(ratio "$p" "$a")" "$(ratio "$p" "$k")" "$(ratio "$a" "$k")" "$(ratio "$p" "$q")" \
                "$(ratio "$p" "$h")"
        done
    done
}

i=1
while [ "$i" -le "$RUNS" ]; do
    ./blkload bench -T "$TESTLIST" -t "$SECS" "$img" | tee "$DIR/host.txt" | sed 's/^/host: /'
    collect host 0 <"$DIR/host.txt"
    for c in $CPUS; do
        for m in $VMMS; do guest "$m" "$c"; done
    done
    # Partial tables too: a crash of the nested L1 late in the run keeps them.
    [ "$i" = "$RUNS" ] || table "$i"
    i=$((i + 1))
done
table "$RUNS"

echo
# One parseable line per figure.
for c in $CPUS; do
    for t in $TESTS; do
        a=$(med arcvmm "$c" "$t") p=$(med arcvmm-pci "$c" "$t") q=$(med qemu "$c" "$t")
        k=$(med kvmtool "$c" "$t") h=$(med host 0 "$t")
        echo "blk_bench cpus=$c test=$t host=$h arcvmm=$a arcvmm_pci=$p qemu=$q kvmtool=$k" \
            "arcvmm_qemu=$(ratio "$a" "$q") arcvmm_kvmtool=$(ratio "$a" "$k")" \
            "pci_mmio=$(ratio "$p" "$a") pci_kvmtool=$(ratio "$p" "$k") arcvmm_host=$(ratio "$a" "$h")"
    done
done
# Exits to arcvmm per 4 KiB read at QD1, per transport (1 vCPU): a boot
# that runs randread1 minus a boot that only powers off, over the reads.
if [ "${EXITS:-1}" = 1 ]; then
    echo
    echo "vCPU exits to arcvmm (userspace) per 4 KiB random read at QD1, 1 vCPU:"
    for n in arcvmm arcvmm-pci; do
        case " $VMMS " in *" $n "*) ;; *) continue ;; esac
        vm_run "$DIR/log0" 180 sh "${n}_blk" 1 "${APPEND%% arcvmm.test=*} arcvmm.test=info" >/dev/null
        e0=$(sed -n 's/.*vCPU exits to arcvmm: \([0-9]*\).*/\1/p' "$DIR/log0")
        vm_run "$DIR/log1" $((SECS * 4 + 180)) sh "${n}_blk" 1 \
            "${APPEND%% arcvmm.tests=*} arcvmm.tests=randread1" >/dev/null
        e1=$(sed -n 's/.*vCPU exits to arcvmm: \([0-9]*\).*/\1/p' "$DIR/log1")
        ops=$(sed -n 's/.*blkload test=randread1 .* ops=\([0-9]*\).*/\1/p' "$DIR/log1")
        per=$(awk -v a="${e1:-}" -v b="${e0:-}" -v o="${ops:-0}" 'BEGIN {
            if (a == "" || b == "" || o == 0) print "-"; else printf "%.3f", (a - b) / o }')
        echo "  $n: $e1 exits with $ops reads, $e0 for a boot alone: $per per read"
        echo "blk_exits vmm=$n reads=$ops exits_run=$e1 exits_boot=$e0 per_read=$per"
    done
fi
rm -rf "$DIR"
[ "$failed" = 0 ]
