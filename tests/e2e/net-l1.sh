# virtio-net on a tap, with Debian's kernel as the guest (busybox sh, in the
# rig's L1 or on a host whose KVM boots stock kernels, as root). cwd holds
# arcvmm, bzImage, initramfs.cpio.gz, lib.sh; needs iproute2's `ip` (for
# `ip tuntap`; the rig copies it with --with /usr/sbin/ip) and the tun
# module. Sourced by suite-l1.sh (adds to pass/fail through result()) or
# run alone (prints "N passed, N failed").
#
# For each transport: L1 makes tap0 (10.0.0.1/24) and listens on 5001
# (stores what comes) and 5002 (sends 64 MiB); the guest (arcvmm.test=net)
# brings eth0 up as 10.0.0.2, pings L1, sends 64 MiB to 5001 and reads
# 5002. Both directions' SHA-256 must match on both ends. NET_TRANSPORTS
# (default "pci mmio") picks the transports; NET_KERNEL (default bzImage)
# and NET_CONSOLE (ttyS0) the guest kernel and console (arm64: Image,
# ttyAMA0). Without iproute2's ip, ./netload (tests/guest/netload.c) makes
# the tap.
if [ -z "${E2E_SUITE:-}" ]; then
    . ./lib.sh
    pass=0 fail=0
fi
NET_DIR=${NET_DIR:-/tmp/net}
rm -rf "$NET_DIR"; mkdir -p "$NET_DIR"

# iproute2's ip (busybox's has no tuntap; its link may come first in PATH).
IP=${IP:-/usr/sbin/ip}
[ -x "$IP" ] || IP=/sbin/ip

net_setup() {
    net_teardown
    # busybox's ip (an applet link at $IP in some L1s) has no tuntap
    "$IP" tuntap add tap0 mode tap 2>/dev/null || ./netload mktap tap0 >/dev/null || return 1
    ip addr add 10.0.0.1/24 dev tap0 && ip link set tap0 up
}
net_teardown() { ip link del tap0 2>/dev/null || ./netload rmtap tap0 >/dev/null 2>&1; }

net_got() { sed -n "s|^.*arcvmm-init: net $1 ||p" "$NET_DIR/log" | head -n 1; }

net_run() {   # TRANSPORT
    tr=$1 sfx=""
    [ "$tr" = pci ] || sfx="-$tr"
    if ! net_setup; then
        result "net-tap-setup$sfx" 1 "(making tap0 failed: no tun module, or neither iproute2 ip nor ./netload?)"
        return
    fi
    dd if=/dev/urandom of="$NET_DIR/l1tx.bin" bs=1048576 count=64 2>/dev/null
    l1tx=$(sha256sum <"$NET_DIR/l1tx.bin" | cut -d' ' -f1)
    rm -f "$NET_DIR/l1rx.bin"
    # busybox nc ends when either side ends, so the receiver's stdin must
    # not: a fifo this shell holds open.
    rm -f "$NET_DIR/nc.in"; mkfifo "$NET_DIR/nc.in"
    exec 5<>"$NET_DIR/nc.in"
    nc -l -p 5001 >"$NET_DIR/l1rx.bin" <&5 &
    rx_pid=$!
    nc -l -p 5002 <"$NET_DIR/l1tx.bin" >/dev/null &
    tx_pid=$!
    vm_run "$NET_DIR/log" 300 ./arcvmm run -v --transport "$tr" --kernel "${NET_KERNEL:-bzImage}" \
        --initrd initramfs.cpio.gz --cpus 1 --memory 512 --net tap=tap0 \
        --cmdline "console=${NET_CONSOLE:-ttyS0} reboot=k panic=-1 quiet arcvmm.test=net"
    rc=$?
    # A listener nobody reached is ended here (the guest failed before it).
    kill "$rx_pid" "$tx_pid" 2>/dev/null
    wait "$rx_pid" "$tx_pid" 2>/dev/null
    exec 5>&-
    l1rx=$(sha256sum <"$NET_DIR/l1rx.bin" | cut -d' ' -f1)
    grx=$(net_got "rx sha256") gtx=$(net_got "tx sha256")
    [ "$rc" = 0 ] && grep -q "arcvmm-init: net ping ok" "$NET_DIR/log"
    result "net-ping$sfx" $? "(rc=$rc)"
    [ -n "$gtx" ] && [ "$gtx" = "$l1rx" ] &&
        [ "$(stat -c %s "$NET_DIR/l1rx.bin")" = 67108864 ]
    result "net-guest-to-l1-64M$sfx" $? "(guest sent $gtx, L1 got $l1rx, $(stat -c %s "$NET_DIR/l1rx.bin") bytes)"
    [ "$grx" = "$l1tx" ] && [ "$(net_got "rx bytes")" = 67108864 ]
    result "net-l1-to-guest-64M$sfx" $? "(L1 sent $l1tx, guest got $grx, $(net_got "rx bytes") bytes)"
    net_teardown
    rm -f "$NET_DIR/l1tx.bin" "$NET_DIR/l1rx.bin"
}

for _t in ${NET_TRANSPORTS:-pci mmio}; do net_run "$_t"; done

if [ -z "${E2E_SUITE:-}" ]; then
    echo "$pass passed, $fail failed"
fi
