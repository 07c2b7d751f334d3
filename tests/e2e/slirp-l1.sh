# User-mode networking (--net user, libslirp) with Debian's kernel as the
# guest (busybox sh, in the rig's L1 or on a host whose KVM boots stock
# kernels, as root). cwd holds arcvmm, bzImage, initramfs.cpio.gz, lib.sh
# and, for the DNS case, dnsstub (build/tests/e2e/dnsstub); needs
# util-linux's setpriv (busybox's cannot drop the bounding set; the rig
# copies it with --with /usr/bin/setpriv) and, for the two-NIC case,
# iproute2's ip (--with /usr/sbin/ip). tests/e2e/slirp.sh builds that
# payload and runs this in the rig. Sourced by suite-l1.sh (adds to
# pass/fail through result()) or run alone (prints "N passed, N failed").
#
# arcvmm runs with no capabilities at all (setpriv --inh-caps=-all
# --bounding-set=-all: CapEff 0, checked). L1 serves a page with busybox
# httpd on 127.0.0.1:8080 and, when /etc/resolv.conf does not exist (the
# rig), answers DNS on 127.0.0.1:53 (dnsstub: l1.arcvmm.test is
# 10.0.2.2). The guest (arcvmm.test=slirp) gets its address by DHCP
# (10.0.2.15, router 10.0.2.2, DNS 10.0.2.3), resolves l1.arcvmm.test
# through 10.0.2.3, fetches the page from 10.0.2.2:8080 (L1's loopback),
# pings fec0::2 (IPv6), listens on port 22 and tells L1 so (10.0.2.2:5003);
# L1 then connects to 127.0.0.1:8022 (hostfwd=tcp::8022-:22) and sends a
# token the guest prints. Then the same with two NICs, a tap (eth0, L1 end
# 10.0.0.1, made for uid 0 so no capability is needed to attach) and the
# user NIC (eth1): both must work, with different MACs.
# SLIRP_TRANSPORTS (default "pci mmio") picks the transports of the
# one-NIC case; the two-NIC case runs on the first.
if [ -z "${E2E_SUITE:-}" ]; then
    . ./lib.sh
    pass=0 fail=0
    result() {
        if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "PASS $1"
        else fail=$((fail + 1)); echo "FAIL $1 ${3:-}"; fi
    }
fi
SL_DIR=${SL_DIR:-/tmp/slirp}
rm -rf "$SL_DIR"; mkdir -p "$SL_DIR/www"
IP=${IP:-/usr/sbin/ip}
[ -x "$IP" ] || IP=/sbin/ip
SETPRIV=${SETPRIV:-/usr/bin/setpriv}
[ -x "$SETPRIV" ] || SETPRIV=/bin/setpriv

sl_got() { sed -n "s|^.*arcvmm-init: slirp $1 ||p" "$SL_DIR/log" | head -n 1; }

# L1's servers: the page, and DNS when L1 has no resolver of its own. They
# and the forwards live on L1's loopback, which the rig's L1 leaves down.
ip link set lo up
head -c 4096 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SL_DIR/www/index.html"
page=$(sha256sum <"$SL_DIR/www/index.html" | cut -d' ' -f1)
httpd -f -p 127.0.0.1:8080 -h "$SL_DIR/www" &
sl_httpd=$!
sl_dns=
if [ ! -e /etc/resolv.conf ] && [ -x ./dnsstub ]; then
    echo "nameserver 127.0.0.1" >/etc/resolv.conf
    ./dnsstub 127.0.0.1 53 l1.arcvmm.test 10.0.2.2 &
    sl_dns=$!
fi

# sl_run NAME ARCVMM-ARGS... : one guest; NAME suffixes the results.
sl_run() {
    sfx=$1; shift
    token="token-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "$token" >"$SL_DIR/token"
    # When the guest says it listens (a connection to 5003), connect to
    # the forward and send the token; the guest prints what it got.
    # (Killed, the subshell takes its listener with it.)
    (
        nc -l -p 5003 </dev/null >/dev/null 2>&1 &
        l=$!
        trap 'kill $l 2>/dev/null; exit 1' TERM
        wait "$l" && nc 127.0.0.1 8022 <"$SL_DIR/token" >/dev/null 2>&1
    ) &
    fwd_pid=$!
    # arcvmm without any capability; the wrapper shell records CapEff
    # (a shell that execs arcvmm, so arcvmm has what it had)
    # shellcheck disable=SC2016
    vm_run "$SL_DIR/log" 300 "$SETPRIV" --inh-caps=-all --bounding-set=-all \
        sh -c 'grep CapEff /proc/self/status >"$0"; exec "$@"' "$SL_DIR/caps" "$@"
    rc=$?
    kill "$fwd_pid" 2>/dev/null
    wait "$fwd_pid" 2>/dev/null
    caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "$SL_DIR/caps" 2>/dev/null)
    [ -n "$caps" ] && [ "$caps" = 0000000000000000 ]
    result "slirp-no-caps$sfx" $? "(CapEff ${caps:-unknown})"
    lease=$(sl_got lease)
    [ "$rc" = 0 ] && [ "$lease" = "ip 10.0.2.15 router 10.0.2.2 dns 10.0.2.3" ]
    result "slirp-dhcp$sfx" $? "(rc=$rc, lease '$lease')"
    if [ -n "$sl_dns" ]; then
        [ "$(sl_got "dns l1.arcvmm.test")" = 10.0.2.2 ]
        result "slirp-dns$sfx" $? "(got '$(sl_got "dns l1.arcvmm.test")')"
    else
        echo "skip slirp-dns$sfx: L1 has its own /etc/resolv.conf or no dnsstub (not run)"
    fi
    [ "$(sl_got "http sha256")" = "$page" ]
    result "slirp-http-via-10.0.2.2$sfx" $? "(page $page, guest got '$(sl_got "http sha256")')"
    [ "$(sl_got ping6)" = ok ]
    result "slirp-ping6$sfx" $? "($(sl_got ping6))"
    [ "$(sl_got "fwd got")" = "$token" ]
    result "slirp-hostfwd-8022$sfx" $? "(sent $token, guest got '$(sl_got "fwd got")')"
}

sl_cmdline="console=ttyS0 reboot=k panic=-1 quiet arcvmm.test=slirp arcvmm.dns=l1.arcvmm.test"
first=
for tr in ${SLIRP_TRANSPORTS:-pci mmio}; do
    [ -n "$first" ] || first=$tr
    sfx=""; [ "$tr" = pci ] || sfx="-$tr"
    sl_run "$sfx" ./arcvmm run -v --transport "$tr" --kernel bzImage \
        --initrd initramfs.cpio.gz --cpus 1 --memory 512 \
        --net user,hostfwd=tcp::8022-:22 --cmdline "$sl_cmdline"
done

# Two NICs: eth0 on a tap (made for uid 0: attaching needs no capability),
# eth1 on user networking.
ip link del tap0 2>/dev/null
if "$IP" tuntap add tap0 mode tap user 0 && ip addr add 10.0.0.1/24 dev tap0 &&
    ip link set tap0 up; then
    sfx="-tap+user"; [ "$first" = pci ] || sfx="-tap+user-$first"
    sl_run "$sfx" ./arcvmm run -v --transport "$first" --kernel bzImage \
        --initrd initramfs.cpio.gz --cpus 1 --memory 512 \
        --net tap=tap0 --net user,hostfwd=tcp::8022-:22 \
        --cmdline "$sl_cmdline arcvmm.ifc=eth1 arcvmm.tapif=eth0"
    [ "$(sl_got "tap ping")" = ok ]
    result "slirp-tap-ping$sfx" $? "($(sl_got "tap ping"))"
    # shellcheck disable=SC2046
    set -- $(sl_got macs)
    [ -n "${2:-}" ] && [ "$1" != "$2" ]
    result "slirp-two-macs$sfx" $? "(tap NIC ${1:-?}, user NIC ${2:-?})"
    ip link del tap0 2>/dev/null
else
    result "slirp-tap-setup" 1 "(ip tuntap failed: no tun module or no iproute2 ip?)"
fi

kill "$sl_httpd" $sl_dns 2>/dev/null
wait "$sl_httpd" $sl_dns 2>/dev/null
[ -z "$sl_dns" ] || rm -f /etc/resolv.conf

if [ -z "${E2E_SUITE:-}" ]; then
    echo "$pass passed, $fail failed"
fi
