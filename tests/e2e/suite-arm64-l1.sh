# arm64 tiers 2 and 3, run where arm64 KVM works (inside the arm64 rig's
# L1, scripts/rig-arm64.sh, or on an arm64 host).  busybox sh.  cwd holds:
# arcvmm, test_boot test_lifecycle test_virtio test_msi pause_test (arm64 builds),
# testguest.Image (tier 2), Image + initramfs.cpio.gz + blkload + netload
# (Debian's arm64 kernel and the default guest, tier 3), lib.sh, net-l1.sh.
# e2fsck and debugfs come from the rig (--with).  Prints "N passed, N failed".
#
# SUITE_TIERS="2 3" (default) picks the tiers; SUITE_T2="test_boot ..."
# the tier-2 programs; ARM64_NET_TRANSPORTS (default "mmio pci") the
# transports of the virtio-net tap test.
. ./lib.sh
pass=0
fail=0
CMD="console=ttyAMA0 panic=-1 quiet"
RD=initramfs.cpio.gz
TMPD=${TMPDIR:-/tmp}/arm64-e2e
rm -rf "$TMPD"
mkdir -p "$TMPD"

# Adds the "N passed, N failed" last line of a test program's output (in
# file $2) to the totals; a missing line or a non-zero status ($3) fails.
add_summary() {   # NAME OUTFILE RC
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n 1)
    if [ -z "$line" ]; then
        fail=$((fail + 1)); echo "FAIL $1 (no summary, rc=$3)"
        return
    fi
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed*}
    [ "$3" = 0 ] || [ "$f" != 0 ] || { f=1; echo "FAIL $1 (rc=$3 with no failed test)"; }
    pass=$((pass + p)); fail=$((fail + f))
    echo "--- $1: $p passed, $f failed"
}

# Runs a test program (limit SECS), output to stdout, summary to the totals.
run_prog() {   # NAME SECS CMD...
    name=$1 secs=$2
    shift 2
    now_us; _rp_t0=$NOW_US
    rc=0
    timeout -s KILL "$secs" "$@" >"$TMPD/prog.out" 2>&1 || rc=$?
    now_us
    cat "$TMPD/prog.out"
    echo "--- $name took $(((NOW_US - _rp_t0) / 1000000)) s"
    add_summary "$name" "$TMPD/prog.out" "$rc"
}

# ---- tier 2: the freestanding test guest --------------------------------
tier2() {
    export ARCVMM_TESTGUEST_DIR=$PWD
    for t in ${SUITE_T2:-test_boot test_lifecycle test_virtio test_msi}; do
        if [ -x "./$t" ]; then
            run_prog "tier2 $t" 600 "./$t"
        else
            result "tier2 $t" 1 "(./$t missing)"
        fi
    done
}

# ---- tier 3: Debian's arm64 kernel ----------------------------------------

# boot CPUS MEM TEST: the guest reports CPUS cpus and a MemTotal consistent
# with MEM MiB; arcvmm exits 0 saying why.
boot() {
    name="linux-cpus$1-$3"
    vm_run "$TMPD/log" 180 ./arcvmm run -v --kernel Image --initrd $RD --cpus "$1" \
        --memory "$2" --cmdline "$CMD arcvmm.test=$3"
    rc=$?
    mt=$(sed -n 's/.*arcvmm-init: memtotal_kb \([0-9]*\).*/\1/p' "$TMPD/log")
    want_exit="guest powered off"; [ "$3" = reboot ] && want_exit="guest rebooted"
    ok=1
    # MemTotal: between 80% and 100% of the RAM given.
    if [ "$rc" = 0 ] && grep -q "arcvmm-init: cpus $1\$" "$TMPD/log" && [ -n "$mt" ] &&
       [ "$mt" -le $(($2 * 1024)) ] && [ "$mt" -ge $(($2 * 1024 * 8 / 10)) ] &&
       grep -q "arcvmm: $want_exit" "$TMPD/log"; then
        ok=0
    fi
    result "$name" $ok "(rc=$rc memtotal_kb=$mt; want cpus $1, '$want_exit')"
}

# A line written to arcvmm's stdin reaches the guest shell over the PL011
# and the shell's answer comes back on stdout.
stdin_test() {
    rm -f "$TMPD/in" "$TMPD/out"
    mkfifo "$TMPD/in" "$TMPD/out"
    timeout -s KILL 180 ./arcvmm run --kernel Image --initrd $RD \
        --cmdline "$CMD arcvmm.test=shell" <"$TMPD/in" >"$TMPD/out" 2>&1 &
    pid=$!
    exec 4>"$TMPD/in"
    got=1
    while IFS= read -r line; do
        echo "| $line"
        case "$line" in
        *"arcvmm-init: shell"*) printf 'echo answer-$((6*7))\n' >&4 ;;
        *answer-42*) got=0; printf 'poweroff -f\n' >&4 ;;
        esac
    done <"$TMPD/out"
    exec 4>&-
    wait $pid
    rc=$?
    [ "$got" = 0 ] && [ "$rc" = 0 ]
    result linux-stdin-to-shell $? "(rc=$rc)"
}

# blk_run TEST "EXTRA" DISK...: boots with the disks (arcvmm --disk syntax).
blk_run() {
    _t=$1 _x=$2
    shift 2
    _a=
    for _d in "$@"; do _a="$_a --disk $_d"; done
    # shellcheck disable=SC2086 # $_a is a list of options
    vm_run "$TMPD/blk.log" 240 ./arcvmm run -v --transport "${TRANSPORT:-mmio}" --kernel Image \
        --initrd $RD --cpus 1 --memory 256 $_a --cmdline "$CMD arcvmm.test=$_t $_x"
    blk_rc=$?
}
blk_got() { sed -n "s|^.*arcvmm-init: $1 ||p" "$TMPD/blk.log" | head -n 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# ext4 made and written by the guest on /dev/vda, checked here with
# e2fsck -fn and debugfs against contents made independently.
blk_ext4() {
    img=$TMPD/ext4.img
    truncate -s 64M "$img"
    blk_run blk-ext4 "arcvmm.seed=42" "$img"
    if [ "$blk_rc" != 0 ] || ! grep -q 'arcvmm-init: ext4 done$' "$TMPD/blk.log"; then
        result linux-ext4-guest$SFX 1 "(rc=$blk_rc; $(grep 'ext4 failed' "$TMPD/blk.log"))"
        rm -f "$img"
        return
    fi
    result linux-ext4-guest$SFX 0
    if ! command -v e2fsck >/dev/null || ! command -v debugfs >/dev/null; then
        result linux-ext4-fsck$SFX 1 "(no e2fsck/debugfs: rig-arm64.sh --with /sbin/e2fsck --with /sbin/debugfs)"
        rm -f "$img"
        return
    fi
    e2fsck -fn "$img" >"$TMPD/e2fsck.log" 2>&1
    rc=$?
    sed 's/^/  e2fsck: /' "$TMPD/e2fsck.log"
    result linux-ext4-fsck$SFX "$rc" "(e2fsck -fn exit $rc)"
    echo "hello from the arcvmm guest" >"$TMPD/hello.txt"
    seq 1 20000 >"$TMPD/seq.txt"
    ./blkload fill -d off "$TMPD/pattern.bin" 0 8M 42 >/dev/null
    ok=0 why=
    for f in hello.txt seq.txt dir/pattern.bin; do
        want=$(sha_of "$TMPD/${f##*/}")
        guest=$(blk_got "sha256 /$f")
        host=$(debugfs -R "cat /$f" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
        if [ "$guest" != "$want" ] || [ "$host" != "$want" ]; then
            ok=1
            why="$why /$f: want $want guest $guest image $host;"
        fi
    done
    result linux-ext4-contents$SFX $ok "($why)"
    rm -f "$img" "$TMPD/hello.txt" "$TMPD/seq.txt" "$TMPD/pattern.bin"
}

# A ,ro disk: writes fail in the guest, the image is unchanged, reads work.
blk_ro() {
    img=$TMPD/ro.img
    ./blkload fill -d off "$img" 0 16M 3 >/dev/null
    before=$(sha_of "$img")
    first=$(dd if="$img" bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
    blk_run blk-ro "" "$img,ro"
    after=$(sha_of "$img")
    ok=0
    [ "$blk_rc" = 0 ] && [ "$(blk_got "ro flag")" = 1 ] &&
        grep -q 'arcvmm-init: ro dd write failed$' "$TMPD/blk.log" &&
        grep -q 'arcvmm-init: ro direct write failed$' "$TMPD/blk.log" || ok=1
    result linux-ro-write-fails$SFX $ok "(rc=$blk_rc flag='$(blk_got "ro flag")')"
    [ "$before" = "$after" ]
    result linux-ro-image-unchanged$SFX $? "(sha256 before $before after $after)"
    [ "$(blk_got "ro sha256")" = "$first" ]
    result linux-ro-read$SFX $? "(guest read '$(blk_got "ro sha256")', image has $first)"
    rm -f "$img"
}

# A bad input: exactly one line on stderr, nothing on stdout, a non-zero
# status that is not a crash or a timeout.
bad_input() {   # NAME ARGS...
    name=$1
    shift
    rc=0
    timeout -s KILL 60 ./arcvmm run "$@" </dev/null >"$TMPD/bad.out" 2>"$TMPD/bad.err" || rc=$?
    lines=$(grep -c '' "$TMPD/bad.err")
    echo "  $name: rc=$rc: $(cat "$TMPD/bad.err")"
    [ "$rc" != 0 ] && [ "$rc" -lt 124 ] && [ "$lines" = 1 ] && [ ! -s "$TMPD/bad.out" ]
    result "bad-input-$name" $? "(rc=$rc, $lines stderr lines, stdout $(wc -c <"$TMPD/bad.out") bytes)"
}

bad_inputs() {
    head -c 60 Image >"$TMPD/truncated"
    truncate -s 300M "$TMPD/big-initrd" # sparse: costs no RAM in L1
    bad_input not-an-image --kernel $RD --cmdline "$CMD"
    bad_input truncated-image --kernel "$TMPD/truncated" --cmdline "$CMD"
    bad_input initrd-too-big --kernel Image --initrd "$TMPD/big-initrd" --memory 256 --cmdline "$CMD"
    bad_input cpus-beyond-limit --kernel Image --initrd $RD --cpus 600 --cmdline "$CMD"
    rm -f "$TMPD/truncated" "$TMPD/big-initrd"
}

# PCI (--transport pci): both disks are 1af4:1042 functions with 2 MSI-X
# vectors each (through the GICv3 ITS), and with pci=nomsi they work over
# INTx (GIC SPIs).
pci_info() {   # NAME "EXTRA CMDLINE" KIND
    truncate -s 16M "$TMPD/p1.img" && truncate -s 16M "$TMPD/p2.img"
    _tr=${TRANSPORT:-mmio}
    TRANSPORT=pci
    blk_run pci-info "arcvmm.off=1M arcvmm.len=1M arcvmm.seed=11 $2" "$TMPD/p1.img" "$TMPD/p2.img"
    TRANSPORT=$_tr
    L=$TMPD/blk.log
    ids=$(grep -c 'arcvmm-init: pci .* 0x1af4:0x1042 msix [0-9]*$' "$L")
    msix=$(grep -c 'arcvmm-init: pci .* 0x1af4:0x1042 msix 2$' "$L")
    irqs=$(grep -c "arcvmm-init: irq $3 virtio" "$L")
    cfg=$(grep -c "arcvmm-init: irq $3 virtio[0-9]*-config" "$L")
    ok=0
    [ "$blk_rc" = 0 ] && [ "$ids" = 2 ] && grep -q 'arcvmm-init: pci io ok$' "$L" || ok=1
    if [ "$3" = MSI ]; then
        [ "$msix" = 2 ] && [ "$irqs" = 4 ] && [ "$cfg" = 2 ] || ok=1
    else
        [ "$irqs" -ge 1 ] && [ "$msix" = 0 ] || ok=1
    fi
    result "$1" $ok "(rc=$blk_rc functions=$ids with-2-msix=$msix $3 irqs=$irqs config=$cfg)"
    grep 'arcvmm-init: \(pci\|irq\) ' "$L" | sed 's/^/  /'
    rm -f "$TMPD/p1.img" "$TMPD/p2.img"
}

tier3() {
    boot 2 256 info
    boot 1 256 info
    boot 1 256 reboot
    stdin_test
    SFX= TRANSPORT=mmio
    blk_ext4
    blk_ro
    SFX=-pci TRANSPORT=pci
    blk_ext4
    blk_ro
    SFX= TRANSPORT=mmio
    pci_info linux-pci-ids-msix "" MSI
    pci_info linux-pci-intx-nomsi "pci=nomsi" GIC
    if [ -x ./pause_test ]; then
        rm -f "$TMPD/pause-disk.img"
        truncate -s 64M "$TMPD/pause-disk.img"
        run_prog "linux pause_test" 400 ./pause_test Image $RD "$TMPD/pause-disk.img"
        rm -f "$TMPD/pause-disk.img"
    else
        result "linux pause_test" 1 "(./pause_test missing)"
    fi
    bad_inputs
    net_tap
}

# virtio-net on a tap, 64 MiB each way with SHA-256 on both ends
# (tests/e2e/net-l1.sh; ./netload makes the tap: no iproute2 in this L1).
net_tap() {
    if [ ! -f ./net-l1.sh ]; then
        result linux-net-tap 1 "(./net-l1.sh missing)"
        return
    fi
    # shellcheck disable=SC2034 # read by net-l1.sh
    E2E_SUITE=1 NET_KERNEL=Image NET_CONSOLE=ttyAMA0 NET_DIR=$TMPD/net
    # shellcheck disable=SC2034
    NET_TRANSPORTS=${ARM64_NET_TRANSPORTS:-mmio pci}
    . ./net-l1.sh
}

for tier in ${SUITE_TIERS:-2 3}; do
    now_us; _tier_t0=$NOW_US
    echo "=== arm64 tier $tier"
    "tier$tier"
    now_us
    echo "=== arm64 tier $tier took $(((NOW_US - _tier_t0) / 1000000)) s"
done
rm -rf "$TMPD"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
