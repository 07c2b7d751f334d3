# Tier-3 virtio-blk tests (busybox sh), run where KVM boots a stock kernel:
# inside the rig's L1 or directly on such a host.  Sourced by suite-l1.sh
# (which sets E2E_SUITE=1 and owns the pass/fail totals; result() is
# lib.sh's), or run alone:  sh blk-l1.sh   (prints its own "N passed, N failed").
#
# cwd holds arcvmm, bzImage, initramfs.cpio.gz, lib.sh and blkload (the
# static tests/guest/blkload.c).  e2fsck and debugfs come from the host
# (scripts/rig.sh --with).  Disk images live on tmpfs in $BLK_DIR (default
# /tmp/blk), which supports hole punching, so discards show in stat %b.
#
# BLK_VMM=qemu runs the same guest-side checks under QEMU microvm with
# virtio-blk-device (to validate the guest and the tests themselves).
# BLK_TRANSPORT=pci runs arcvmm with --transport pci (results get a -pci
# suffix) and adds the PCI checks: ids, one MSI-X vector per queue plus
# config, and INTx when the guest turns MSI off.
if [ -z "${E2E_SUITE:-}" ]; then
    . ./lib.sh
    pass=0
    fail=0
    CMD="console=ttyS0 reboot=k panic=-1 quiet"
    RD=initramfs.cpio.gz
fi
BLK_DIR=${BLK_DIR:-/tmp/blk}
BLK_VMM=${BLK_VMM:-arcvmm}
BLK_TRANSPORT=${BLK_TRANSPORT:-mmio}
# result, with the transport in the name when it is not mmio
bresult() {
    if [ "$BLK_TRANSPORT" = mmio ]; then result "$@"; else
        _n=$1; shift; result "$_n-$BLK_TRANSPORT" "$@"; fi
}
BL=./blkload
rm -rf "$BLK_DIR"
mkdir -p "$BLK_DIR"

# blk_vm TEST "EXTRA CMDLINE" DISK...: writes blk-vm.sh, which execs the VMM
# (1 vCPU, 256 MiB) booting arcvmm.test=TEST with the disks, each given as
# arcvmm's --disk argument PATH[,ro][,id=SERIAL].
blk_vm() {
    _t=$1 _x=$2
    shift 2
    if [ "$BLK_VMM" = qemu ]; then
        _a= _n=0
        for _d in "$@"; do
            _p=${_d%%,*} _ro= _id=
            case "$_d" in *,ro*) _ro=",readonly=on" ;; esac
            case "$_d" in *,id=*) _id=${_d#*,id=}; _id=",serial=${_id%%,*}" ;; esac
            _a="$_a -drive id=d$_n,file=$_p,format=raw,if=none,discard=unmap$_ro"
            _a="$_a -device virtio-blk-device,drive=d$_n$_id"
            _n=$((_n + 1))
        done
        cat >blk-vm.sh <<EOS
exec ${QEMU:-qemu-system-x86_64} -M microvm,acpi=on -accel kvm -cpu host -m 256 -smp 1 \\
    -nodefaults -no-user-config -nographic -serial stdio -no-reboot $_a \\
    -kernel bzImage -initrd $RD -append "$CMD arcvmm.test=$_t $_x"
EOS
    else
        _a=
        for _d in "$@"; do _a="$_a --disk $_d"; done
        cat >blk-vm.sh <<EOS
exec ./arcvmm run -v --transport $BLK_TRANSPORT --kernel bzImage --initrd $RD --cpus 1 --memory 256$_a \\
    --cmdline "$CMD arcvmm.test=$_t $_x"
EOS
    fi
}

# Value after "arcvmm-init: PREFIX " in blk.log (first match).
blk_got() {
    sed -n "s|^.*arcvmm-init: $1 ||p" blk.log | head -n 1
}

blk_has() {
    grep -q "arcvmm-init: $1\$" blk.log
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Runs the VM of blk-vm.sh to its end (limit 180 s); sets blk_rc.
blk_boot() {
    blk_rc=0
    vm_run blk.log 180 sh blk-vm.sh || blk_rc=$?
}

# --- 1. two disks of different sizes, a serial on the first --------------------
blk_two() {
    truncate -s 64M "$BLK_DIR/a.img" && truncate -s 40M "$BLK_DIR/b.img"
    blk_vm blk-two "" "$BLK_DIR/a.img,id=arcvmm-disk-a" "$BLK_DIR/b.img"
    blk_boot
    a=$(blk_got "disk vda"); b=$(blk_got "disk vdb"); n=$(blk_got disks)
    ok=0
    case "$a" in "sectors 131072 ro 0 "*) ;; *) ok=1 ;; esac
    case "$b" in "sectors 81920 ro 0 "*) ;; *) ok=1 ;; esac
    [ "$n" = 2 ] || ok=1
    [ "$blk_rc" = 0 ] || ok=1
    bresult blk-two-disks $ok "(rc=$blk_rc vda='$a' vdb='$b' disks='$n'; want 131072 and 81920 sectors)"
    case "$a" in *" serial arcvmm-disk-a") ok=0 ;; *) ok=1 ;; esac
    bresult blk-serial $ok "(vda: '$a')"
    rm -f "$BLK_DIR/a.img" "$BLK_DIR/b.img"
}

# --- 2. eight disks (the most arcvmm takes), 1..8 MiB --------------------------
blk_eight() {
    set --
    i=1
    while [ $i -le 8 ]; do
        truncate -s ${i}M "$BLK_DIR/d$i.img"
        set -- "$@" "$BLK_DIR/d$i.img"
        i=$((i + 1))
    done
    blk_vm blk-two "" "$@"
    blk_boot
    ok=0 why=
    i=1
    for v in a b c d e f g h; do
        s=$(blk_got "disk vd$v")
        case "$s" in "sectors $((i * 2048)) "*) ;; *) ok=1; why="$why vd$v='$s'" ;; esac
        i=$((i + 1))
    done
    [ "$(blk_got disks)" = 8 ] || { ok=1; why="$why disks='$(blk_got disks)'"; }
    [ "$blk_rc" = 0 ] || { ok=1; why="$why rc=$blk_rc"; }
    bresult blk-eight-disks $ok "($why )"
    rm -f "$BLK_DIR"/d?.img
}

# --- 3. ext4 made and written by the guest, checked on this side ---------------
blk_ext4() {
    img=$BLK_DIR/ext4.img
    truncate -s 64M "$img"
    blk_vm blk-ext4 "arcvmm.seed=42" "$img"
    blk_boot
    if [ "$blk_rc" != 0 ] || ! blk_has "ext4 done"; then
        bresult blk-ext4-guest 1 "(rc=$blk_rc; $(grep 'ext4 failed' blk.log))"
        rm -f "$img"
        return
    fi
    bresult blk-ext4-guest 0
    if ! command -v e2fsck >/dev/null || ! command -v debugfs >/dev/null; then
        bresult blk-ext4-fsck 1 "(no e2fsck/debugfs here: rig.sh --with /sbin/e2fsck --with /sbin/debugfs)"
        rm -f "$img"
        return
    fi
    e2fsck -fn "$img" >e2fsck.log 2>&1
    rc=$?
    sed 's/^/  e2fsck: /' e2fsck.log
    bresult blk-ext4-fsck "$rc" "(e2fsck -fn exit $rc)"
    # Expected contents, made independently here.
    echo "hello from the arcvmm guest" >"$BLK_DIR/hello.txt"
    seq 1 20000 >"$BLK_DIR/seq.txt"
    $BL fill -d off "$BLK_DIR/pattern.bin" 0 8M 42 >/dev/null
    ok=0 why=
    for f in hello.txt seq.txt dir/pattern.bin; do
        want=$(sha_of "$BLK_DIR/${f##*/}")
        guest=$(blk_got "sha256 /$f")
        host=$(debugfs -R "cat /$f" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
        if [ "$guest" != "$want" ] || [ "$host" != "$want" ]; then
            ok=1
            why="$why /$f: want $want guest $guest image $host;"
        fi
    done
    bresult blk-ext4-contents $ok "($why)"
    rm -f "$img" "$BLK_DIR/hello.txt" "$BLK_DIR/seq.txt" "$BLK_DIR/pattern.bin"
}

# --- 4. read-only disk ------------------------------------------------------
blk_ro() {
    img=$BLK_DIR/ro.img
    $BL fill -d off "$img" 0 16M 3 >/dev/null
    before=$(sha_of "$img")
    first=$(dd if="$img" bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
    blk_vm blk-ro "" "$img,ro"
    blk_boot
    after=$(sha_of "$img")
    ok=0
    [ "$blk_rc" = 0 ] && [ "$(blk_got "ro flag")" = 1 ] && blk_has "ro dd write failed" &&
        blk_has "ro direct write failed" || ok=1
    bresult blk-ro-write-fails $ok "(rc=$blk_rc flag='$(blk_got "ro flag")' $(grep -o 'ro [a-z]* write [a-z]*' blk.log | tr '\n' ' '))"
    [ "$before" = "$after" ]
    bresult blk-ro-image-unchanged $? "(sha256 before $before after $after)"
    [ "$(blk_got "ro sha256")" = "$first" ]
    bresult blk-ro-read $? "(guest read '$(blk_got "ro sha256")', image has $first)"
    rm -f "$img"
}

# --- 5. DISCARD: a fully allocated image loses blocks -----------------------
blk_discard() {
    img=$BLK_DIR/discard.img
    $BL fill -d off "$img" 0 64M 5 >/dev/null
    before=$(stat -c %b "$img") # 512-byte blocks allocated
    blk_vm blk-discard "arcvmm.off=16M arcvmm.len=32M" "$img"
    blk_boot
    after=$(stat -c %b "$img")
    max=$(blk_got discard_max_bytes)
    ok=0
    # 32 MiB discarded: at least 16 MiB (32768 blocks) must be given back.
    [ "$blk_rc" = 0 ] && blk_has "discard ok" && [ "${max:-0}" -gt 0 ] &&
        [ "$after" -le $((before - 32768)) ] || ok=1
    echo "blk-discard: 512-byte blocks allocated to the image: $before -> $after"
    bresult blk-discard $ok "(rc=$blk_rc discard_max_bytes=$max blocks $before -> $after; $(grep -o 'discard [a-z]*$' blk.log))"
    $BL verify "$img" 0 16M 5 >/dev/null && $BL verify "$img" 48M 16M 5 >/dev/null
    bresult blk-discard-keeps-rest $? "(data outside the discarded range changed)"
    rm -f "$img"
}

# --- 6. WRITE_ZEROES ---------------------------------------------------------
blk_zeroes() {
    img=$BLK_DIR/zeroes.img
    $BL fill -d off "$img" 0 64M 6 >/dev/null
    blk_vm blk-zeroes "arcvmm.off=8M arcvmm.len=16M" "$img"
    blk_boot
    max=$(blk_got write_zeroes_max_bytes)
    ok=0
    # write_zeroes_max_bytes > 0: the kernel sent WRITE_ZEROES, not writes.
    [ "$blk_rc" = 0 ] && [ "${max:-0}" -gt 0 ] && blk_has "zeroout ok" && blk_has "zeroes ok" || ok=1
    bresult blk-write-zeroes-guest $ok "(rc=$blk_rc write_zeroes_max_bytes=$max $(grep -o 'zero[a-z]* [a-z]*$' blk.log | tr '\n' ' '))"
    $BL zerocheck "$img" 8M 16M >/dev/null && $BL verify "$img" 0 8M 6 >/dev/null &&
        $BL verify "$img" 24M 40M 6 >/dev/null
    bresult blk-write-zeroes-image $? "($($BL zerocheck "$img" 8M 16M))"
    rm -f "$img"
}

# --- 7. durability: FLUSH completed => data in the image, even after kill -9 --
blk_flush() {
    img=$BLK_DIR/flush.img
    truncate -s 64M "$img"
    blk_vm blk-flush "arcvmm.off=4M arcvmm.len=8M arcvmm.seed=9" "$img"
    rm -f blk.fifo
    mkfifo blk.fifo
    sh blk-vm.sh </dev/null >blk.fifo 2>&1 &
    pid=$!
    (sleep 180 && kill -9 $pid) </dev/null >/dev/null 2>&1 &
    wd=$!
    seen=
    while IFS= read -r line; do
        line=${line%"$_lib_cr"}
        echo "| $line"
        case "$line" in
        *"arcvmm-init: flush done"*) seen=done; kill -9 $pid; break ;;
        *"arcvmm-init: flush failed"*) seen=failed; kill -9 $pid; break ;;
        esac
    done <blk.fifo
    wait $pid 2>/dev/null
    kill $wd 2>/dev/null
    wait $wd 2>/dev/null
    rm -f blk.fifo
    v=$($BL verify "$img" 4M 8M 9)
    [ "$seen" = done ] && $BL zerocheck "$img" 0 4M >/dev/null && $BL verify "$img" 4M 8M 9 >/dev/null
    bresult blk-flush-kill9 $? "(guest: '${seen:-no line}'; image: $v)"
    rm -f "$img"
}

# --- 8. PCI: ids, MSI-X vectors, INTx with MSI off (--transport pci only) ----
pci_info() {   # NAME "EXTRA CMDLINE" WANT_KIND
    truncate -s 16M "$BLK_DIR/p1.img" && truncate -s 16M "$BLK_DIR/p2.img"
    blk_vm pci-info "arcvmm.off=1M arcvmm.len=1M arcvmm.seed=11 $2" "$BLK_DIR/p1.img" "$BLK_DIR/p2.img"
    blk_boot
    ids=$(grep -c 'arcvmm-init: pci .* 0x1af4:0x1042 msix [0-9]*$' blk.log)
    msix=$(grep -c 'arcvmm-init: pci .* 0x1af4:0x1042 msix 2$' blk.log)   # 1 queue + config
    irqs=$(grep -c "arcvmm-init: irq $3 virtio" blk.log)
    other=$(grep 'arcvmm-init: irq ' blk.log | grep -vc "arcvmm-init: irq $3 virtio")
    cfg=$(grep -c "arcvmm-init: irq $3 virtio[0-9]*-config" blk.log)
    ok=0
    [ "$blk_rc" = 0 ] && [ "$ids" = 2 ] && blk_has "pci io ok" && [ "$other" = 0 ] || ok=1
    if [ "$3" = MSI ]; then
        # per disk: an MSI-X vector for its queue and one for config
        [ "$msix" = 2 ] && [ "$irqs" = 4 ] && [ "$cfg" = 2 ] || ok=1
    else
        # INTx: one line per device, no MSI-X vector
        [ "$irqs" -ge 1 ] && [ "$(grep -c 'arcvmm-init: pci .* msix 0$' blk.log)" -ge 2 ] || ok=1
    fi
    result "$1" $ok "(rc=$blk_rc 1af4:1042 functions=$ids with 2 MSI-X vectors=$msix $3 virtio irqs=$irqs config=$cfg other=$other; $(grep -o 'pci io [a-z]*' blk.log))"
    grep 'arcvmm-init: \(pci\|irq\) ' blk.log | sed 's/^/  /'
    rm -f "$BLK_DIR/p1.img" "$BLK_DIR/p2.img"
}

pci_msix() { pci_info pci-ids-msix "" MSI; }
pci_intx() { pci_info pci-intx-nomsi "pci=nomsi" "${PCI_INTX_KIND:-IO-APIC}"; }

# BLK_TESTS picks a subset (names of the functions above).
_all="blk_two blk_eight blk_ext4 blk_ro blk_discard blk_zeroes blk_flush"
[ "$BLK_TRANSPORT" != pci ] || [ "$BLK_VMM" != arcvmm ] || _all="$_all pci_msix pci_intx"
for _t in ${BLK_TESTS:-$_all}; do
    "$_t"
done
rm -f blk.log blk-vm.sh e2fsck.log
rm -rf "$BLK_DIR"

if [ -z "${E2E_SUITE:-}" ]; then
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
fi
