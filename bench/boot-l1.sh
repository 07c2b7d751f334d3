# Boot time and VMM memory overhead: arcvmm vs QEMU microvm, same kernel,
# initrd and command line, 1 vCPU, 256 MiB, in one run (busybox sh, run as
# the rig payload or on a host whose KVM boots stock kernels).
. ./lib.sh
RUNS=${RUNS:-5}
APPEND="console=ttyS0 reboot=k panic=-1 quiet"
QEMU=${QEMU:-qemu-system-x86_64}
# One launcher script per VMM (timeout cannot run shell functions); each
# execs the VMM, so its pid is the VMM's.
cat >arcvmm_bz <<EOS
exec ./arcvmm run --kernel bzImage --initrd initramfs.cpio.gz --cpus 1 --memory 256 --cmdline "$APPEND"
EOS
cat >arcvmm_pvh <<EOS
exec ./arcvmm run --kernel vmlinux --initrd initramfs.cpio.gz --cpus 1 --memory 256 --cmdline "$APPEND"
EOS
cat >microvm <<EOS
exec $QEMU -M microvm,acpi=on -accel kvm -cpu host -m 256 -smp 1 -nodefaults -no-user-config \\
    -nographic -serial stdio -kernel bzImage -initrd initramfs.cpio.gz -append "$APPEND"
EOS

# Runs are interleaved so drift in the nested rig hits every VMM alike.
a= p= q= i=1
while [ $i -le "$RUNS" ]; do
    ms=$(boot_time sh arcvmm_bz) && a="$a $ms" && echo "boot_ms arcvmm-bzimage run $i $ms"
    ms=$(boot_time sh arcvmm_pvh) && p="$p $ms" && echo "boot_ms arcvmm-pvh run $i $ms"
    ms=$(boot_time sh microvm) && q="$q $ms" && echo "boot_ms qemu-microvm run $i $ms"
    i=$((i + 1))
done
ma=$(median $a) mp=$(median $p) mq=$(median $q)
echo "boot to init, median of $RUNS: arcvmm bzImage $ma ms, arcvmm PVH $mp ms, QEMU microvm $mq ms"
echo "boot ratio arcvmm-bzImage/qemu-microvm: $(awk "BEGIN { printf \"%.2f\", $ma / $mq }")"
echo "boot ratio arcvmm-pvh/qemu-microvm: $(awk "BEGIN { printf \"%.2f\", $mp / $mq }")"

# RSS overhead: total RSS minus the RSS of the guest RAM mapping (the one
# 256 MiB mapping, or slightly larger for QEMU's alignment), after init.
rss() {   # NAME CMD...
    name=$1; shift
    rm -f rin rout; mkfifo rin rout
    "$@" <rin >rout 2>&1 &
    pid=$!
    exec 5>rin 6<rout
    ok=0
    while IFS= read -r line <&6; do
        case "$line" in *"arcvmm-init: shell"*) ok=1; break ;; esac
    done
    if [ $ok = 1 ]; then
        awk '/^Size:/ { size = $2 } /^Rss:/ { total += $2; if (size >= 262144 && size <= 266240) guest += $2 }
             END { printf "rss_kb %s total %d guest %d overhead %d\n", name, total, guest, total - guest }' \
            name="$name" /proc/$pid/smaps
    else
        echo "rss_kb $name failed"
    fi
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    exec 5>&- 6<&-
}
rss arcvmm sh arcvmm_bz | tee rss.txt
rss qemu-microvm sh microvm | tee -a rss.txt
ao=$(awk '/rss_kb arcvmm / { print $NF }' rss.txt) qo=$(awk '/rss_kb qemu-microvm / { print $NF }' rss.txt)
echo "VMM RSS overhead after init: arcvmm $ao KiB, QEMU microvm $qo KiB, ratio $(awk "BEGIN { printf \"%.3f\", $ao / $qo }") (target: arcvmm < 5120 KiB)"

# With one disk: virtio-mmio vs virtio-pci (and kvmtool, virtio-pci, when
# ./lkvm-static exists): boot to init and the VMM's RSS overhead.
img=/tmp/boot-disk.img
rm -f "$img"; truncate -s 64M "$img"
for tr in mmio pci; do
    cat >arcvmm_$tr <<EOS
exec ./arcvmm run --transport $tr --kernel bzImage --initrd initramfs.cpio.gz --cpus 1 --memory 256 \\
    --disk $img --cmdline "$APPEND"
EOS
done
cat >kvmtool_disk <<EOS
export HOME=\${HOME:-/root}
mkdir -p "\$HOME"
exec ./lkvm-static run --kernel bzImage --initrd initramfs.cpio.gz -c 1 -m 256 --disk $img \\
    --network mode=none --console serial --params "$APPEND"
EOS
m= c= k= i=1
while [ $i -le "$RUNS" ]; do
    ms=$(boot_time sh arcvmm_mmio) && m="$m $ms" && echo "boot_ms arcvmm-mmio-disk run $i $ms"
    ms=$(boot_time sh arcvmm_pci) && c="$c $ms" && echo "boot_ms arcvmm-pci-disk run $i $ms"
    if [ -x ./lkvm-static ]; then
        ms=$(boot_time sh kvmtool_disk) && k="$k $ms" && echo "boot_ms kvmtool-disk run $i $ms"
    fi
    i=$((i + 1))
done
mm=$(median $m) mc=$(median $c)
mk=-; [ -z "$k" ] || mk=$(median $k)
echo "boot to init with one disk, median of $RUNS: arcvmm mmio $mm ms, arcvmm pci $mc ms, kvmtool $mk ms"
echo "boot ratio arcvmm-pci/arcvmm-mmio: $(awk "BEGIN { printf \"%.2f\", $mc / $mm }")"
[ "$mk" = - ] || echo "boot ratio arcvmm-pci/kvmtool: $(awk "BEGIN { printf \"%.2f\", $mc / $mk }")"
rss arcvmm-mmio-disk sh arcvmm_mmio | tee rss2.txt
rss arcvmm-pci-disk sh arcvmm_pci | tee -a rss2.txt
om=$(awk '/rss_kb arcvmm-mmio-disk / { print $NF }' rss2.txt) op=$(awk '/rss_kb arcvmm-pci-disk / { print $NF }' rss2.txt)
echo "VMM RSS overhead with one disk: mmio $om KiB, pci $op KiB, pci adds $((op - om)) KiB (target: < 256 KiB)"
rm -f "$img"
