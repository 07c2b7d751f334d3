# virtio-net on a tap: arcvmm --net tap (virtio-mmio and virtio-pci) vs
# QEMU microvm virtio-net-device with vhost=off, QEMU with vhost=on (the
# in-kernel data path: the reference bound) and kvmtool (--network
# mode=tap, virtio-pci; when lkvm-static is in cwd), same tap, same guest
# kernel and initramfs (busybox sh; the rig payload of bench/net.sh, or run
# as root on a host whose KVM boots stock kernels).  cwd holds arcvmm,
# bzImage, initramfs.cpio.gz, lib.sh and netload (tests/guest/netload.c),
# optionally an x86 lkvm-static.  Needs the tun module, and vhost_net for
# QEMU's vhost=on (loaded here when missing; that peer is left out, saying
# so, when /dev/vhost-net still does not exist).
#
# L1 makes tap0 (10.0.0.1/24, persistent); each guest (arcvmm.test=netbench,
# eth0 10.0.0.2/24, MAC 52:54:00:12:34:56 under every VMM) runs, in order:
#   tx1, tx2  TCP guest -> L1, 1 and 2 streams, SECS s (L1's netload recv
#             measures: first byte to last stream's end)
#   rx1, rx2  TCP L1 -> guest, 1 and 2 streams, SECS s (the guest's recv)
#   rr        COUNT 1-byte TCP round trips from the guest to L1 (TCP_NODELAY;
#             median and p99 in microseconds)
# Runs are interleaved; the table shows the median of RUNS per VMM.
#
# Settings (environment): SECS (default 10), RUNS (3), CPUS (guest vCPUs,
# 1), COUNT (10000), VMMS ("arcvmm arcvmm-pci qemu qemu-vhost", plus
# "kvmtool" if ./lkvm-static exists), TESTS (all five; a subset runs only
# those), BENCH_DIR (/tmp/netbench).
. ./lib.sh
SECS=${SECS:-10}
RUNS=${RUNS:-3}
CPUS=${CPUS:-1}
COUNT=${COUNT:-10000}
if [ -z "${VMMS:-}" ]; then
    VMMS="arcvmm arcvmm-pci qemu qemu-vhost"
    [ ! -x ./lkvm-static ] || VMMS="$VMMS kvmtool"
fi
QEMU=${QEMU:-qemu-system-x86_64}
DIR=${BENCH_DIR:-/tmp/netbench}
TESTS=${TESTS:-"tx1 tx2 rx1 rx2 rr"}
MAC=52:54:00:12:34:56
GUEST=10.0.0.2
# shellcheck disable=SC2086 # split on purpose: any spacing -> a,b,c
TESTLIST=$(echo $TESTS | tr ' ' ,)
APPEND="console=ttyS0 reboot=k panic=-1 quiet arcvmm.test=netbench arcvmm.secs=$SECS arcvmm.tests=$TESTLIST arcvmm.count=$COUNT"
rm -rf "$DIR"
mkdir -p "$DIR"
res=$DIR/results # lines: VMM METRIC VALUE
: >"$res"
failed=0

case " $VMMS " in
*" qemu-vhost "*)
    [ -e /dev/vhost-net ] || modprobe vhost_net 2>/dev/null || :
    if [ ! -e /dev/vhost-net ]; then
        echo "net bench: no /dev/vhost-net (vhost_net module); leaving out qemu-vhost"
        VMMS=$(echo " $VMMS " | sed 's/ qemu-vhost / /')
    fi
    ;;
esac

./netload rmtap tap0 >/dev/null 2>&1
if ! ./netload mktap tap0 >/dev/null || ! ip addr add 10.0.0.1/24 dev tap0 || ! ip link set tap0 up; then
    echo "net bench: cannot make tap0 (no tun module?)"
    exit 1
fi
echo "net bench: tap0 on L1, guest $CPUS vCPU(s) 512 MiB, $SECS s per transfer, $COUNT round trips, $RUNS run(s), VMMs: $VMMS"

# arcvmm on each transport.
for tr in mmio pci; do
    n=arcvmm; [ "$tr" = mmio ] || n=arcvmm-$tr
    cat >"${n}_net" <<EOS
exec ./arcvmm run --transport $tr --kernel bzImage --initrd initramfs.cpio.gz --cpus $CPUS \\
    --memory 512 --net tap=tap0,mac=$MAC --cmdline "$APPEND"
EOS
done
for vh in off on; do
    n=qemu; [ "$vh" = off ] || n=qemu-vhost
    cat >"${n}_net" <<EOS
exec $QEMU -M microvm,acpi=on -accel kvm -cpu host -m 512 -smp $CPUS -nodefaults -no-user-config \\
    -nographic -serial stdio -no-reboot \\
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=$vh \\
    -device virtio-net-device,netdev=n0,mac=$MAC \\
    -kernel bzImage -initrd initramfs.cpio.gz -append "$APPEND"
EOS
done
# kvmtool keeps state in ~/.lkvm, and on x86 it halts instead of exiting
# at guest poweroff: its run ends at the guest's last line.
cat >kvmtool_net <<EOS
export HOME=\${HOME:-/root}
mkdir -p "\$HOME"
exec ./lkvm-static run --kernel bzImage --initrd initramfs.cpio.gz -c $CPUS -m 512 \\
    --network mode=tap,tapif=tap0,script=none,guest_mac=$MAC --console serial --params "$APPEND"
EOS

has() { case " $TESTS " in *" $1 "*) true ;; *) false ;; esac; }

# field FILE MODE PORT KEY: KEY's value on FILE's "netload MODE ... port=PORT" line.
field() { sed -n "s/^.*netload $2 .*port=$3 .*$4=\([^ ]*\).*$/\1/p" "$1" | head -n 1; }

# guest NAME: one boot of the netbench guest, with L1's ends of each test
# started first (senders to the guest retry until it listens).
guest() {
    pids=
    if has tx1; then ./netload recv -t 300 5201 >"$DIR/tx1.out" 2>&1 & pids="$pids $!"; fi
    if has tx2; then ./netload recv -t 300 5202 >"$DIR/tx2.out" 2>&1 & pids="$pids $!"; fi
    if has rx1; then ./netload send -w 300 $GUEST 5203 "$SECS" 1 >"$DIR/rx1.out" 2>&1 & pids="$pids $!"; fi
    if has rx2; then ./netload send -w 300 $GUEST 5204 "$SECS" 2 >"$DIR/rx2.out" 2>&1 & pids="$pids $!"; fi
    if has rr; then ./netload rrserve -t 300 5205 >"$DIR/rr.out" 2>&1 & pids="$pids $!"; fi
    rc=0 until=
    [ "$1" != kvmtool ] || until='*arcvmm-init: netbench [df]*'
    VM_RUN_UNTIL=$until vm_run "$DIR/log" $((SECS * 8 + COUNT / 100 + 240)) sh "${1}_net" >/dev/null || rc=$?
    ok=0
    [ "$rc" = 0 ] && grep -q 'arcvmm-init: netbench done' "$DIR/log" || ok=1
    # QEMU goes on without vhost when it cannot start it: not this peer
    if [ "$1" = qemu-vhost ] && grep -qi 'vhost.*fail\|falling back' "$DIR/log"; then
        echo "net bench: QEMU did not use vhost: $(grep -i 'vhost' "$DIR/log" | head -n 1)"
        ok=1
    fi
    # shellcheck disable=SC2086
    [ "$ok" = 0 ] || kill $pids 2>/dev/null
    # shellcheck disable=SC2086
    wait $pids 2>/dev/null
    grep -h 'netload \|netbench tcp' "$DIR/log" | sed "s/^/$1: /"
    if [ "$ok" != 0 ]; then
        echo "net bench: $1 failed (exit $rc); console:"
        tail -n 40 "$DIR/log" | sed 's/^/  | /'
        cat "$DIR"/*.out 2>/dev/null | sed 's/^/  L1: /'
        failed=1
        return 1
    fi
    {
        ! has tx1 || echo "$1 tx1 $(field "$DIR/tx1.out" recv 5201 mbps)"
        ! has tx2 || echo "$1 tx2 $(field "$DIR/tx2.out" recv 5202 mbps)"
        ! has rx1 || echo "$1 rx1 $(field "$DIR/log" recv 5203 mbps)"
        ! has rx2 || echo "$1 rx2 $(field "$DIR/log" recv 5204 mbps)"
        ! has rr || echo "$1 rr_med $(field "$DIR/log" rr 5205 median_us)"
        ! has rr || echo "$1 rr_p99 $(field "$DIR/log" rr 5205 p99_us)"
    } | awk 'NF == 3' >>"$res"
    rm -f "$DIR"/*.out
}

# med NAME METRIC: the median of the recorded values, or "-".
med() {
    v=$(awk -v n="$1" -v t="$2" '$1 == n && $2 == t { print $3 }' "$res")
    if [ -z "$v" ]; then echo -; return; fi
    # shellcheck disable=SC2086
    printf '%s\n' $v | sort -n | awk '{ x[NR] = $1 } END {
        if (NR % 2) print x[(NR + 1) / 2]; else print (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

metrics() {
    for t in $TESTS; do
        if [ "$t" = rr ]; then echo rr_med rr_p99; else echo "$t"; fi
    done
}
unit() { case "$1" in rr_*) echo us ;; *) echo MB/s ;; esac; }

# table ROUNDS: the medians so far, with ratios (arcvmm's two transports
# against each peer; for latency, below 1 is better).
table() {
    echo
    echo "virtio-net on tap0: guest $CPUS vCPU(s), 512 MiB; median of up to $1 run(s); MB/s = 10^6 B/s of TCP payload"
    printf '\n%-12s %8s %8s %8s %8s %8s %9s %9s %9s %9s %9s %9s\n' metric mmio pci qemu \
        q-vhost kvmtool mmio/qemu pci/qemu mmio/kvmt pci/kvmt mmio/vhst pci/vhst
    for m in $(metrics); do
        a=$(med arcvmm "$m") p=$(med arcvmm-pci "$m") q=$(med qemu "$m")
        v=$(med qemu-vhost "$m") k=$(med kvmtool "$m")
        printf '%-12s %8s %8s %8s %8s %8s %9s %9s %9s %9s %9s %9s\n' "$m $(unit "$m")" "$a" "$p" "$q" \
            "$v" "$k" "$(ratio "$a" "$q")" "$(ratio "$p" "$q")" "$(ratio "$a" "$k")" \
            "$(ratio "$p" "$k")" "$(ratio "$a" "$v")" "$(ratio "$p" "$v")"
    done
}

i=1
while [ "$i" -le "$RUNS" ]; do
    for m in $VMMS; do guest "$m"; done
    # Partial tables too: a crash of the nested L1 late in the run keeps them.
    [ "$i" = "$RUNS" ] || table "$i"
    i=$((i + 1))
done
table "$RUNS"

echo
# One parseable line per figure.
for m in $(metrics); do
    a=$(med arcvmm "$m") p=$(med arcvmm-pci "$m") q=$(med qemu "$m")
    v=$(med qemu-vhost "$m") k=$(med kvmtool "$m")
    echo "net_bench metric=$m unit=$(unit "$m") arcvmm=$a arcvmm_pci=$p qemu=$q qemu_vhost=$v kvmtool=$k" \
        "arcvmm_qemu=$(ratio "$a" "$q") pci_qemu=$(ratio "$p" "$q") arcvmm_kvmtool=$(ratio "$a" "$k")" \
        "pci_kvmtool=$(ratio "$p" "$k") arcvmm_vhost=$(ratio "$a" "$v") pci_vhost=$(ratio "$p" "$v")"
done
./netload rmtap tap0 >/dev/null 2>&1
rm -rf "$DIR"
[ "$failed" = 0 ]
