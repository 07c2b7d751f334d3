# virtio-net features on taps, with Debian's kernel as the guest (busybox
# sh, in the rig's L1 or on a host whose KVM boots stock kernels, as root).
# cwd holds arcvmm, bzImage, initramfs.cpio.gz, lib.sh and netload (the
# static tests/guest/netload.c, which also makes the taps: no iproute2
# needed); needs the tun module. Sourced by suite-l1.sh (adds to pass/fail
# through result()) or run alone (prints "N passed, N failed").
#
#   net-mq-*        --net tap=tap0,queues=2 --cpus 2 on virtio-pci (per-queue
#                   MSI-X vectors; virtio-mmio has one interrupt per device):
#                   the guest (arcvmm.test=net-mq) sends from each vCPU and
#                   receives 16 streams; each of input.0, input.1, output.0,
#                   output.1 must have interrupted during the traffic, and
#                   every byte must arrive
#   net-tso-*       guest -> L1 (netbench tx1): the tap's received frames
#                   (what arcvmm wrote) average more than 1514 bytes, i.e.
#                   TSO frames larger than the MTU leave the guest, and L1's
#                   TCP saw no checksum error; L1 -> guest (rx1): the tap's
#                   sent frames (what arcvmm read) average more than 1514
#                   bytes and the guest saw no checksum error
#   net-two-nics-*  two taps (10.0.0.1/24, 10.0.1.1/24), each NIC its own MAC:
#                   the guest (arcvmm.test=net-two) sees both MACs, pings
#                   both L1 ends and moves data both ways on each; each tap
#                   carried its own transfer
#
# NETF_TRANSPORTS (default "pci mmio") picks the transports of the TSO and
# two-NIC tests; NETF_SECS (default 3) the seconds per transfer.
if [ -z "${E2E_SUITE:-}" ]; then
    . ./lib.sh
    pass=0 fail=0
fi
NETF_DIR=${NETF_DIR:-/tmp/netf}
NETF_SECS=${NETF_SECS:-3}
NETF_CMD="console=ttyS0 reboot=k panic=-1 quiet"
rm -rf "$NETF_DIR"; mkdir -p "$NETF_DIR"
netf_pids=""

# netf_tap NAME ADDR [multi]: a fresh persistent tap with L1 address ADDR.
netf_tap() {
    ./netload rmtap "$1" >/dev/null 2>&1
    # shellcheck disable=SC2086 # $3: "multi" or nothing
    ./netload mktap "$1" $3 >/dev/null && ip addr add "$2" dev "$1" && ip link set "$1" up
}
netf_untap() { for _n in "$@"; do ./netload rmtap "$_n" >/dev/null 2>&1; done; }

# netf_bg OUT CMD...: an L1-side netload in the background, its line to OUT.
netf_bg() {
    _o=$1
    shift
    "$@" >"$NETF_DIR/$_o" 2>&1 &
    netf_pids="$netf_pids $!"
}
# Ends the background netloads: waits when the guest finished (their
# sessions are over), kills them when it did not ($1 = 1).
netf_reap() {
    # shellcheck disable=SC2086
    [ "$1" = 0 ] || kill $netf_pids 2>/dev/null
    # shellcheck disable=SC2086
    wait $netf_pids 2>/dev/null
    netf_pids=""
}

# netf_field FILE MODE PORT KEY: KEY's value on FILE's "netload MODE ...
# port=PORT" line (a guest console log or an L1 output file).
netf_field() {
    sed -n "s/^.*netload $2 .*port=$3 .*$4=\([^ ]*\).*$/\1/p" "$1" | head -n 1
}
netf_stat() { cat "/sys/class/net/$1/statistics/$2"; }
netf_l1_csum() {
    awk '$1 == "Tcp:" { if (!n) { for (i = 2; i <= NF; i++) if ($i == "InCsumErrors") c = i; n = 1 }
                        else print (c ? $c : 0) }' /proc/net/snmp
}
netf_got() { sed -n "s|^.*arcvmm-init: $1 ||p" "$NETF_DIR/log" | head -n 1; }
# Mean of two counter deltas (bytes / packets), or 0.
netf_mean() { awk -v b="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%d", b / p; else print 0 }'; }

# arcvmm with the default guest: netf_vm TRANSPORT CPUS "TEST ARGS" NETOPTS...
netf_vm() {
    _tr=$1 _c=$2 _a=$3
    shift 3
    _n=
    for _x in "$@"; do _n="$_n --net $_x"; done
    # shellcheck disable=SC2086 # $_n is a list of options
    vm_run "$NETF_DIR/log" 300 ./arcvmm run -v --transport "$_tr" --kernel bzImage \
        --initrd initramfs.cpio.gz --cpus "$_c" --memory 512 $_n --cmdline "$NETF_CMD $_a"
    netf_rc=$?
}

netf_mq() {
    if ! netf_tap tap0 10.0.0.1/24 multi; then
        result net-mq-setup 1 "(netload mktap tap0 multi failed: no tun module?)"
        return
    fi
    netf_bg mq1.out ./netload recv -t 120 5301
    netf_bg mq2.out ./netload recv -t 120 5302
    netf_bg mq3.out ./netload send -w 120 10.0.0.2 5303 "$NETF_SECS" 16
    netf_vm pci 2 "arcvmm.test=net-mq arcvmm.secs=$NETF_SECS" tap=tap0,queues=2
    _ok=1
    [ "$netf_rc" = 0 ] && grep -q 'arcvmm-init: netmq done$' "$NETF_DIR/log" && _ok=0
    netf_reap "$_ok"
    result net-mq-run "$_ok" "(rc=$netf_rc; $(grep 'netmq failed\|netload:' "$NETF_DIR/log" | head -n 3))"
    [ "$(netf_got "netmq queues")" = "rx 2 tx 2" ]
    result net-mq-two-pairs $? "(guest has '$(netf_got "netmq queues")', want 'rx 2 tx 2')"
    _why='' _ok=0
    for _q in input.0 input.1 output.0 output.1; do
        _b=$(sed -n "s/^.*arcvmm-init: netmq irq before virtio[0-9]*-$_q \([0-9]*\)$/\1/p" "$NETF_DIR/log")
        _e=$(sed -n "s/^.*arcvmm-init: netmq irq after virtio[0-9]*-$_q \([0-9]*\)$/\1/p" "$NETF_DIR/log")
        _why="$_why $_q: ${_b:-?} -> ${_e:-?};"
        [ -n "$_b" ] && [ -n "$_e" ] && [ "$_e" -gt "$_b" ] || _ok=1
    done
    result net-mq-both-pairs-moved "$_ok" "($_why)"
    _ok=0 _why=''
    for _p in 5301 5302; do
        _s=$(netf_field "$NETF_DIR/log" send "$_p" bytes)
        _r=$(netf_field "$NETF_DIR/mq${_p#530}.out" recv "$_p" bytes)
        _why="$_why $_p: guest sent ${_s:-?}, L1 got ${_r:-?};"
        [ -n "$_s" ] && [ "$_s" = "$_r" ] && [ "$_s" -gt 0 ] || _ok=1
    done
    _s=$(netf_field "$NETF_DIR/mq3.out" send 5303 bytes)
    _r=$(netf_field "$NETF_DIR/log" recv 5303 bytes)
    _why="$_why 5303 (16 streams): L1 sent ${_s:-?}, guest got ${_r:-?}"
    [ -n "$_s" ] && [ "$_s" = "$_r" ] && [ "$_s" -gt 0 ] || _ok=1
    result net-mq-bytes "$_ok" "($_why)"
    grep 'arcvmm-init: netmq irq after' "$NETF_DIR/log" | sed 's/^/  /'
    netf_untap tap0
}

netf_tso() {   # TRANSPORT
    sfx=-$1
    if ! netf_tap tap0 10.0.0.1/24; then
        result "net-tso-setup$sfx" 1 "(netload mktap tap0 failed: no tun module?)"
        return
    fi
    # guest -> L1: the tap receives what arcvmm writes
    netf_bg tso-tx.out ./netload recv -t 120 5201
    b0=$(netf_stat tap0 rx_bytes) p0=$(netf_stat tap0 rx_packets) c0=$(netf_l1_csum)
    netf_vm "$1" 1 "arcvmm.test=netbench arcvmm.tests=tx1 arcvmm.secs=$NETF_SECS" tap=tap0
    _ok=1
    [ "$netf_rc" = 0 ] && grep -q 'arcvmm-init: netbench done$' "$NETF_DIR/log" && _ok=0
    netf_reap "$_ok"
    b1=$(netf_stat tap0 rx_bytes) p1=$(netf_stat tap0 rx_packets) c1=$(netf_l1_csum)
    mean=$(netf_mean $((b1 - b0)) $((p1 - p0)))
    s=$(netf_field "$NETF_DIR/log" send 5201 bytes) r=$(netf_field "$NETF_DIR/tso-tx.out" recv 5201 bytes)
    [ "$_ok" = 0 ] && [ -n "$s" ] && [ "$s" = "$r" ] && [ "$mean" -gt 1514 ] && [ "$c1" = "$c0" ]
    result "net-tso-guest-to-l1$sfx" $? "(rc=$netf_rc; guest sent ${s:-?}, L1 got ${r:-?} bytes; \
$((p1 - p0)) frames of $mean bytes on average; L1 TCP checksum errors $c0 -> $c1)"
    # L1 -> guest: the tap sends what arcvmm reads
    netf_bg tso-rx.out ./netload send -w 120 10.0.0.2 5203 "$NETF_SECS" 1
    b0=$(netf_stat tap0 tx_bytes) p0=$(netf_stat tap0 tx_packets)
    netf_vm "$1" 1 "arcvmm.test=netbench arcvmm.tests=rx1 arcvmm.secs=$NETF_SECS" tap=tap0
    _ok=1
    [ "$netf_rc" = 0 ] && grep -q 'arcvmm-init: netbench done$' "$NETF_DIR/log" && _ok=0
    netf_reap "$_ok"
    b1=$(netf_stat tap0 tx_bytes) p1=$(netf_stat tap0 tx_packets)
    mean=$(netf_mean $((b1 - b0)) $((p1 - p0)))
    s=$(netf_field "$NETF_DIR/tso-rx.out" send 5203 bytes) r=$(netf_field "$NETF_DIR/log" recv 5203 bytes)
    gc=$(netf_got "netbench tcp_in_csum_errors")
    [ "$_ok" = 0 ] && [ -n "$s" ] && [ "$s" = "$r" ] && [ "$mean" -gt 1514 ] && [ "$gc" = 0 ]
    result "net-tso-l1-to-guest$sfx" $? "(rc=$netf_rc; L1 sent ${s:-?}, guest got ${r:-?} bytes; \
$((p1 - p0)) frames of $mean bytes on average; guest TCP checksum errors ${gc:-?})"
    netf_untap tap0
}

netf_two() {   # TRANSPORT
    sfx=-$1
    if ! netf_tap tap0 10.0.0.1/24 || ! netf_tap tap1 10.0.1.1/24; then
        result "net-two-nics-setup$sfx" 1 "(netload mktap failed: no tun module?)"
        netf_untap tap0 tap1
        return
    fi
    m0=52:54:00:00:0a:01 m1=52:54:00:00:0a:02
    netf_bg two1.out ./netload recv -t 120 5401
    netf_bg two2.out ./netload recv -t 120 5402
    netf_bg two3.out ./netload send -w 120 10.0.0.2 5403 "$NETF_SECS"
    netf_bg two4.out ./netload send -w 120 10.0.1.2 5404 "$NETF_SECS"
    r0=$(netf_stat tap0 rx_bytes) r1=$(netf_stat tap1 rx_bytes)
    t0=$(netf_stat tap0 tx_bytes) t1=$(netf_stat tap1 tx_bytes)
    netf_vm "$1" 1 "arcvmm.test=net-two arcvmm.secs=$NETF_SECS" "tap=tap0,mac=$m0" "tap=tap1,mac=$m1"
    _ok=1
    [ "$netf_rc" = 0 ] && grep -q 'arcvmm-init: nettwo done$' "$NETF_DIR/log" && _ok=0
    netf_reap "$_ok"
    result "net-two-nics-run$sfx" "$_ok" "(rc=$netf_rc; $(grep 'nettwo failed\|netload:\|net eth' "$NETF_DIR/log" | head -n 3))"
    [ "$(netf_got "nettwo mac eth0")" = "$m0" ] && [ "$(netf_got "nettwo mac eth1")" = "$m1" ]
    result "net-two-nics-macs$sfx" $? "(eth0 $(netf_got "nettwo mac eth0"), eth1 $(netf_got "nettwo mac eth1"); want $m0, $m1)"
    [ "$(netf_got "nettwo ping eth0")" = ok ] && [ "$(netf_got "nettwo ping eth1")" = ok ]
    result "net-two-nics-ping$sfx" $? "(eth0 $(netf_got "nettwo ping eth0"), eth1 $(netf_got "nettwo ping eth1"))"
    # each transfer complete, and carried by its own tap (its counters grew by
    # at least the payload)
    _ok=0 _why=''
    dr0=$(($(netf_stat tap0 rx_bytes) - r0)) dr1=$(($(netf_stat tap1 rx_bytes) - r1))
    dt0=$(($(netf_stat tap0 tx_bytes) - t0)) dt1=$(($(netf_stat tap1 tx_bytes) - t1))
    for x in "5401 two1.out log tap0 $dr0" "5402 two2.out log tap1 $dr1" \
             "5403 log two3.out tap0 $dt0" "5404 log two4.out tap1 $dt1"; do
        # shellcheck disable=SC2086
        set -- $x
        rf=$NETF_DIR/$2 sf=$NETF_DIR/$3
        [ "$2" != log ] || rf=$NETF_DIR/log
        [ "$3" != log ] || sf=$NETF_DIR/log
        s=$(netf_field "$sf" send "$1" bytes) r=$(netf_field "$rf" recv "$1" bytes)
        _why="$_why $1: sent ${s:-?} got ${r:-?}, $4 moved $5;"
        [ -n "$s" ] && [ "$s" = "$r" ] && [ "$s" -gt 0 ] && [ "$5" -ge "$s" ] || _ok=1
    done
    result "net-two-nics-transfers$sfx" "$_ok" "($_why)"
    netf_untap tap0 tap1
}

netf_mq
for _t in ${NETF_TRANSPORTS:-pci mmio}; do
    netf_tso "$_t"
    netf_two "$_t"
done
rm -rf "$NETF_DIR"

if [ -z "${E2E_SUITE:-}" ]; then
    echo "$pass passed, $fail failed"
fi
