# arm64 boot time and VMM memory overhead: arcvmm vs kvmtool (lkvm-static),
# same kernel (Debian's arm64 Image), initrd and command line, 1 vCPU,
# 256 MiB, no devices, runs interleaved, in one run (busybox sh: the payload
# of bench/boot-arm64.sh, run inside the arm64 rig or on an arm64 host).
# cwd holds arcvmm, lkvm-static, Image, initramfs.cpio.gz, lib.sh.
. ./lib.sh
RUNS=${RUNS:-5}
MEM=256
APPEND="panic=-1 quiet"
# Each VMM's own console: arcvmm's PL011 (ttyAMA0), kvmtool's 8250 (ttyS0).
# --nodefaults: kvmtool adds nothing to the command line (no root=) and no
# 9p root; --network mode=none: no default virtio-net.  Like arcvmm here.
cat >arcvmm.run <<EOS
exec ./arcvmm run --kernel Image --initrd initramfs.cpio.gz --cpus 1 --memory $MEM \\
    --cmdline "console=ttyAMA0 $APPEND"
EOS
cat >kvmtool.run <<EOS
exec ./lkvm-static run --nodefaults --network mode=none --console serial -c 1 -m $MEM \\
    -k Image -i initramfs.cpio.gz -p "console=ttyS0 $APPEND"
EOS
export HOME=${HOME:-/root} # kvmtool keeps its state in ~/.lkvm
mkdir -p "$HOME"

# Runs are interleaved so drift in the nested rig hits both VMMs alike.
a='' k='' i=1
while [ $i -le "$RUNS" ]; do
    ms=$(boot_time sh arcvmm.run) && a="$a $ms" && echo "boot_ms arcvmm run $i $ms"
    ms=$(boot_time sh kvmtool.run) && k="$k $ms" && echo "boot_ms kvmtool run $i $ms"
    i=$((i + 1))
done
na=$(echo $a | wc -w) nk=$(echo $k | wc -w)
if [ "$na" -lt "$RUNS" ] || [ "$nk" -lt "$RUNS" ]; then
    echo "bench: only $na arcvmm and $nk kvmtool boots of $RUNS succeeded"
fi
[ "$na" -gt 0 ] && [ "$nk" -gt 0 ] || { echo "bench: no boot time for one of the VMMs"; exit 1; }
ma=$(median $a) mk=$(median $k)
echo "boot to init, median of $RUNS: arcvmm $ma ms, kvmtool $mk ms"
echo "boot ratio arcvmm/kvmtool: $(awk "BEGIN { printf \"%.2f\", $ma / $mk }")"

# RSS overhead after init: the VMM's RSS minus the RSS of its guest RAM
# mapping (the largest mapping of $MEM MiB up to $MEM + 8 MiB: kvmtool adds
# 2 MiB for alignment).
rss() {   # NAME LAUNCHER
    name=$1
    rm -f rss.in rss.out
    mkfifo rss.in rss.out
    sh "$2" <rss.in >rss.out 2>&1 &
    pid=$!
    exec 5>rss.in 6<rss.out
    ok=0
    while IFS= read -r line <&6; do
        case "$line" in *"arcvmm-init: shell"*) ok=1; break ;; esac
    done
    if [ $ok = 1 ]; then
        sleep 1 # let the guest's shell settle
        awk -v name="$name" -v lo=$((MEM * 1024)) -v hi=$(((MEM + 8) * 1024)) '
            /^Size:/ { size = $2 }
            /^Rss:/ { total += $2; if (size >= lo && size <= hi && size > gsize) { gsize = size; guest = $2 } }
            END { printf "rss_kb %s total %d guest %d overhead %d\n", name, total, guest, total - guest }' \
            /proc/$pid/smaps
    else
        echo "rss_kb $name failed"
    fi
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    exec 5>&- 6<&-
    rm -f rss.in rss.out
}
rss arcvmm arcvmm.run | tee rss.txt
rss kvmtool kvmtool.run | tee -a rss.txt
ao=$(awk '$2 == "arcvmm" && $3 == "total" { print $NF }' rss.txt)
ko=$(awk '$2 == "kvmtool" && $3 == "total" { print $NF }' rss.txt)
if [ -n "$ao" ] && [ -n "$ko" ]; then
    echo "VMM RSS overhead after init: arcvmm $ao KiB, kvmtool $ko KiB, ratio arcvmm/kvmtool $(awk "BEGIN { printf \"%.3f\", $ao / $ko }")"
else
    echo "bench: RSS measurement failed"
    exit 1
fi
