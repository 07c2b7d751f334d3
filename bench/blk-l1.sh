# virtio-blk throughput: arcvmm --disk vs QEMU microvm virtio-blk-device
# (and kvmtool's virtio-blk over virtio-pci when lkvm-static is in cwd) vs
# the host bound, same raw image, same guest kernel and initramfs (busybox
# sh; the rig payload of bench/blk.sh, or run on a host whose KVM boots
# stock kernels).  cwd holds arcvmm, bzImage, initramfs.cpio.gz, lib.sh,
# blk-table.awk and blkload, optionally an x86 lkvm-static.
#
# The guest (arcvmm.test=blk-bench) runs blkload on /dev/vda with O_DIRECT:
# 1 MiB sequential write and read at queue depth 1, 4 KiB random reads at
# QD1 and QD32 (Linux AIO), SECS seconds each.  The host bound is the same
# blkload on the image file itself (on tmpfs, without O_DIRECT when tmpfs
# refuses it).  Both VMMs use their default host I/O path for a raw file
# (QEMU: cache=writeback, aio=threads; kvmtool: its I/O thread's pwritev).
# Each of the RUNS rounds measures the host bound, then, per vCPU count,
# every VMM once, one after the other, in an order rotated each round
# (round r, from 0, starts with the (r mod n)th of the n VMMS).  The table
# (bench/blk-table.awk) shows per VMM and vCPU count the median over rounds,
# and each ratio as the median of the per-round ratios with their min..max:
# the nested rig's speed drifts (2x between rounds was seen), so a ratio
# of two medians taken in different rounds would be noise.
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
res=$DIR/results # lines: ROUND VMM CPUS TEST VALUE (host: CPUS 0)
failed=0

# Fully allocated and non-zero, so neither side reads holes.
./blkload fill -d off "$img" 0 "${IMG_MB}M" 1 || exit 1
echo "blk bench: image ${IMG_MB} MiB on $(df -T "$DIR" 2>/dev/null | awk 'NR == 2 { print $2 }') ($DIR), $SECS s per test, $RUNS run(s), vCPUs: $CPUS"

# blkload lines on stdin -> "ROUND NAME CPUS TEST VALUE" lines in $res (MB/s
# for the sequential tests, IOPS for the random ones).
collect() {   # NAME CPUS ROUND
    awk -v n="$1" -v c="$2" -v r="$3" '/blkload test=/ {
            t = ""; v = ""
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "test") t = kv[2]
                if (kv[1] == "mbps") mb = kv[2]
                if (kv[1] == "iops") io = kv[2]
            }
            v = (t ~ /^seq/) ? mb : io
            print r, n, c, t, v
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

# guest NAME CPUS ROUND: one boot of the blk-bench guest.
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
    collect "$1" "$2" "$3" <"$DIR/log"
}

# table ROUNDS: the figures so far (bench/blk-table.awk).
table() {
    echo
    echo "virtio-blk: ${IMG_MB} MiB raw image on L1 tmpfs, guest 256 MiB, O_DIRECT in the guest, $SECS s per test;" \
        "figures: median over up to $1 round(s); ratios: median of the per-round ratios (min..max over rounds)"
    awk -v mode=table -v cpus="$CPUS" -v tests="$TESTS" -f blk-table.awk "$res"
}

# rotate R WORD...: the WORDs, starting with the (R mod count)th (from 0).
rotate() {
    _ro_r=$1
    shift
    [ "$#" -gt 0 ] || return 0
    _ro_r=$((_ro_r % $#))
    while [ "$_ro_r" -gt 0 ]; do
        _ro_w=$1
        shift
        set -- "$@" "$_ro_w"
        _ro_r=$((_ro_r - 1))
    done
    echo "$@"
}

: >"$res"
i=1
while [ "$i" -le "$RUNS" ]; do
    ./blkload bench -T "$TESTLIST" -t "$SECS" "$img" | tee "$DIR/host.txt" | sed 's/^/host: /'
    collect host 0 "$i" <"$DIR/host.txt"
    # shellcheck disable=SC2086 # word lists
    order=$(rotate $((i - 1)) $VMMS)
    for c in $CPUS; do
        for m in $order; do guest "$m" "$c" "$i"; done
    done
    # Partial tables too: a crash of the nested L1 late in the run keeps them.
    [ "$i" = "$RUNS" ] || table "$i"
    i=$((i + 1))
done
table "$RUNS"

echo
# One parseable line per figure (ratios: medians of the per-round ratios).
awk -v mode=lines -v cpus="$CPUS" -v tests="$TESTS" -f blk-table.awk "$res"
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
