# virtio-vsock with Firecracker's hybrid Unix-socket host side, with Debian's
# kernel as the guest (busybox sh, in the rig's L1 or on a host whose KVM
# boots stock kernels). cwd holds arcvmm, bzImage (arm64: Image),
# initramfs.cpio.gz, lib.sh and vsockio (scripts/guest.sh builds it for the
# guest's architecture: its AF_UNIX modes are L1's end). Sourced by a suite
# (adds to pass/fail through result()) or run alone (prints "N passed, N
# failed"). VSOCK_TRANSPORTS (default "pci mmio") picks the transports.
#
# The guest (arcvmm.test=vsock, tests/guest/init) listens on 5000 (echo),
# 5001 (sink) and 5005 (never reads). L1 listens on <uds>_6000 (echo) and
# <uds>_6001 (sink) before arcvmm starts, waits until the guest's 5000
# answers, then checks issue 15's acceptance:
#   - CONNECT to a port nobody listens on, a malformed line and a 100-byte
#     line: closed with nothing written, and the next client is served;
#   - host-initiated: 64 MiB to the guest's echo and back, SHA-256 equal on
#     both ends; guest-initiated: 64 MiB to L1's echo and back, the same;
#   - 100 connections each way at once (L1 -> guest 5000, guest -> L1 6000,
#     started together: L1's connect to 5008 releases the guest), all right;
#   - L1 closes after 1 MiB of 16 MiB: the guest's sink sees the end (eof or
#     reset) and the next connection works; the guest closes after 1 MiB of
#     16 MiB: L1's sink gets EOF;
#   - a guest that never reads (5005): L1 writes until blocked; arcvmm's RSS
#     grows by less than VSOCK_RSS_BOUND_KB (default 16384: the guest's
#     socket buffer lives in guest RAM, arcvmm holds none of the bytes) and
#     at most VSOCK_STUFF_BOUND (4 MiB) is taken from L1 at all.
# L1's connect to 5009 lets the guest power off; arcvmm must exit 0.
if [ -z "${E2E_SUITE:-}" ]; then
    . ./lib.sh
    pass=0 fail=0
    result() {
        if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "PASS $1"
        else fail=$((fail + 1)); echo "FAIL $1 ${3:-}"; fi
    }
fi
VS_DIR=${VS_DIR:-/tmp/vsock}
VSOCK_RSS_BOUND_KB=${VSOCK_RSS_BOUND_KB:-16384}
VSOCK_STUFF_BOUND=${VSOCK_STUFF_BOUND:-4194304}
case "$(uname -m)" in
aarch64) VS_KERNEL=Image VS_CON=ttyAMA0 ;;
*) VS_KERNEL=bzImage VS_CON=ttyS0 ;;
esac

vs_got() { sed -n "s|^.*arcvmm-init: vsock $1||p" "$VS_DIR/log"; }
vs_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# The Nth sha256 of a vsockio line ("conn I sent N sha256 H recv N sha256 H end E":
# 1 what was sent, 2 what came back; "echo bytes N sha256 H ..." has one).
vs_sha() { echo "$1" | awk -v want="$2" '{ n = 0; for (i = 1; i < NF; i++) if ($i == "sha256" && ++n == want) { print $(i + 1); exit } }'; }

# Waits (bounded, 180 s) until the guest's echo on 5000 answers through the
# hybrid socket: a zero-byte round trip.
vs_wait_guest() {
    _i=0
    while [ "$_i" -lt 180 ]; do
        if ./vsockio usend "$1" 5000 0 >/dev/null 2>&1; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        _i=$((_i + 1))
        sleep 1
    done
    return 1
}

vs_run() {   # TRANSPORT
    tr=$1 sfx=""
    [ "$tr" = pci ] || sfx="-$tr"
    rm -rf "$VS_DIR"; mkdir -p "$VS_DIR"
    uds=$VS_DIR/v.sock
    ./vsockio ulisten "${uds}_6000" >"$VS_DIR/l6000.log" 2>&1 &
    l6000=$!
    ./vsockio usink "${uds}_6001" >"$VS_DIR/l6001.log" 2>&1 &
    l6001=$!
    vm_run "$VS_DIR/log" 900 ./arcvmm run -v --transport "$tr" --kernel "$VS_KERNEL" \
        --initrd initramfs.cpio.gz --cpus 2 --memory 512 --vsock "cid=3,uds=$uds" \
        --cmdline "console=$VS_CON reboot=k panic=-1 quiet arcvmm.test=vsock" >/dev/null &
    vm=$!
    if ! vs_wait_guest "$uds" "$vm"; then
        result "vsock-guest-listening$sfx" 1 "(the guest's port 5000 never answered)"
        _p=$(pidof arcvmm) && kill $_p 2>/dev/null
        kill "$vm" "$l6000" "$l6001" 2>/dev/null; wait "$vm" 2>/dev/null
        return
    fi
    pid=$(pidof arcvmm | awk '{ print $1 }')

    # CONNECT lines that must be refused with nothing written
    long="CONNECT $(printf '%091d' 1)\\n"
    for c in "no-listener:CONNECT 5999\\n" "malformed:HELLO 5000\\n" "long-line:$long"; do
        got=$(./vsockio uline "$uds" "${c#*:}")
        [ "$got" = "vsockio line closed read 0" ]
        result "vsock-connect-${c%%:*}$sfx" $? "($got)"
    done
    ./vsockio usend "$uds" 5000 4K >/dev/null
    result "vsock-serves-after-bad-lines$sfx" $?

    # a guest that never reads: arcvmm's RSS stays within the bound (measured
    # while the guest does nothing else: before it is released on 5008)
    rss0=$(vs_rss_kb "$pid")
    rm -f "$VS_DIR/st.in" "$VS_DIR/st.out"; mkfifo "$VS_DIR/st.in" "$VS_DIR/st.out"
    exec 6<>"$VS_DIR/st.in"         # the only writer: closing it ends ustuff's stdin
    ./vsockio ustuff "$uds" 5005 256M <"$VS_DIR/st.in" >"$VS_DIR/st.out" &
    st=$!
    read -r stuffed <"$VS_DIR/st.out"
    rss1=$(vs_rss_kb "$pid")
    exec 6>&-
    wait "$st"
    n=${stuffed##* }
    [ -n "$rss0" ] && [ -n "$rss1" ] && [ $((rss1 - rss0)) -lt "$VSOCK_RSS_BOUND_KB" ] &&
        [ -n "$n" ] && [ "$n" -le "$VSOCK_STUFF_BOUND" ]
    result "vsock-unread-guest-bounded$sfx" $? "(RSS $rss0 -> $rss1 kB, $stuffed)"
    echo "vsock$sfx: RSS growth with a never-reading guest: $((rss1 - rss0)) kB, L1 wrote $n bytes"

    # both directions at once: 100 connections each way, and 64 MiB each way
    ./vsockio uline "$uds" 'CONNECT 5008\n' >/dev/null
    ./vsockio usend -c 100 "$uds" 5000 64K >"$VS_DIR/c100.log" 2>&1 &
    c100=$!
    ./vsockio usend "$uds" 5000 64M >"$VS_DIR/big.log" 2>&1
    big_rc=$?
    wait "$c100"
    c100_rc=$?
    line=$(grep '^vsockio conn 0 ' "$VS_DIR/big.log")
    sh_sent=$(vs_sha "$line" 1) sh_back=$(vs_sha "$line" 2)
    gline=$(vs_got "echo bytes 67108864 " | head -n 1)
    [ "$big_rc" = 0 ] && [ -n "$sh_sent" ] && [ "$sh_sent" = "$sh_back" ] &&
        [ "$(vs_sha "$gline" 1)" = "$sh_sent" ]
    result "vsock-host-to-guest-64M$sfx" $? "($line | guest: $gline)"
    [ "$c100_rc" = 0 ] && grep -q '^vsockio ok 100 of 100$' "$VS_DIR/c100.log"
    result "vsock-host-initiated-100$sfx" $? "($(tail -n 1 "$VS_DIR/c100.log"))"

    # L1 closes mid-transfer: the guest's sink sees the end; still serving
    ./vsockio usend -k 1M "$uds" 5001 16M >/dev/null 2>&1
    ./vsockio usend "$uds" 5000 64K >/dev/null
    result "vsock-serves-after-host-close$sfx" $?

    # let the guest power off once its own tests are done: it listens on 5009
    # only then (a connect before that is refused: try again, bounded)
    _i=0
    while [ "$_i" -lt 600 ]; do
        case "$(./vsockio uline "$uds" 'CONNECT 5009\n')" in
        "vsockio line closed read 0" | "") ;;
        *) break ;;
        esac
        kill -0 "$vm" 2>/dev/null || break
        _i=$((_i + 1))
        sleep 1
    done
    wait "$vm"
    rc=$?
    kill "$l6000" "$l6001" 2>/dev/null
    wait "$l6000" "$l6001" 2>/dev/null
    result "vsock-arcvmm-exit-0$sfx" "$([ "$rc" = 0 ] && ! grep -q Sanitizer "$VS_DIR/log"; echo $?)" "(rc=$rc)"

    # the guest's side, from its console
    gc=$(vs_got "conn 0 sent 67108864 " | head -n 1)
    gc="conn 0 sent 67108864 $gc"
    lline=$(grep 'echo bytes 67108864 ' "$VS_DIR/l6000.log" | head -n 1)
    gsent=$(vs_sha "$gc" 1) gback=$(vs_sha "$gc" 2)
    [ -n "$gsent" ] && [ "$gsent" = "$gback" ] && [ "$(vs_sha "$lline" 1)" = "$gsent" ]
    result "vsock-guest-to-host-64M$sfx" $? "(guest: $gc | L1: $lline)"
    grep -q 'arcvmm-init: vsock ok 100 of 100' "$VS_DIR/log"
    result "vsock-guest-initiated-100$sfx" $? "($(grep 'arcvmm-init: vsock ok ' "$VS_DIR/log" | tr '\n' ' '))"
    vs_got "sink bytes " | grep -Eq 'end (eof|reset)$'
    result "vsock-host-close-seen-by-guest$sfx" $? "($(vs_got "sink bytes "))"
    grep -Eq '^vsockio sink bytes [0-9]+ sha256 [0-9a-f]+ end eof$' "$VS_DIR/l6001.log"
    result "vsock-guest-close-host-eof$sfx" $? "($(cat "$VS_DIR/l6001.log"))"
    rm -rf "$VS_DIR"
}

for _t in ${VSOCK_TRANSPORTS:-pci mmio}; do vs_run "$_t"; done

if [ -z "${E2E_SUITE:-}" ]; then
    echo "$pass passed, $fail failed"
fi
