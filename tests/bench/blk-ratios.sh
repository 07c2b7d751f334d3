#!/usr/bin/env bash
# bench/blk-l1.sh without a rig or a VM: a fake lib.sh (vm_run prints
# canned blkload lines per VMM, vCPU count and round) and a fake blkload
# (the host bound) drive the real script, under busybox sh and busybox awk
# when busybox is installed (as in the rig's L1), else under sh.  Checks the
# VMM order rotating per round, the host bound measured every round, the
# absolute figures (medians over rounds) and every ratio as the median of
# the per-round ratios with its min..max, a failed boot leaving its round
# out, and the one-round and missing-peer cases.
# Usage: tests/bench/blk-ratios.sh   (prints "N passed, N failed")
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

check() {   # NAME OK [WHY]
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok   $1"
    else fail=$((fail + 1)); echo "FAIL $1${3:+: $3}"; fi
}
# has NAME FILE LINE: FILE holds LINE exactly.
has() {
    if grep -qxF -- "$3" "$2"; then check "$1" 0
    else check "$1" 1 "no line '$3' in"; sed 's/^/  | /' "$2"; fi
}

sh="sh"
if command -v busybox >/dev/null; then
    mkdir "$tmp/bin"
    for a in sh awk sed grep tee tr tail sort df cat rm mkdir; do
        ln -s "$(command -v busybox)" "$tmp/bin/$a"
    done
    sh=$tmp/bin/sh
    PATH=$tmp/bin:$PATH
fi
echo "blk-l1.sh under $("$sh" --help 2>&1 | head -n 1 | grep -o BusyBox || echo "$sh")"

# Canned figures "ROUND NAME TEST VALUE"; a VMM's value at N vCPUs is N
# times its 1-vCPU one.  The rounds drift: the per-round pci/mmio ratios
# are 1.40, 0.95 and 1.20 (median 1.20), while the ratio of the medians
# would be 1400/1000 = 1.40.  QEMU's round 2 is missing: that boot fails.
cat >"$tmp/data" <<'EOF'
1 host randread1 50000
2 host randread1 25000
3 host randread1 60000
1 arcvmm randread1 1000
2 arcvmm randread1 400
3 arcvmm randread1 2000
1 arcvmm-pci randread1 1400
2 arcvmm-pci randread1 380
3 arcvmm-pci randread1 2400
1 qemu randread1 1000
3 qemu randread1 1500
1 kvmtool randread1 1000
2 kvmtool randread1 400
3 kvmtool randread1 2000
1 host seqread 1000.5
2 host seqread 800.5
3 host seqread 1200.5
1 arcvmm seqread 100.0
2 arcvmm seqread 50.0
3 arcvmm seqread 200.0
1 arcvmm-pci seqread 150.0
2 arcvmm-pci seqread 100.0
3 arcvmm-pci seqread 180.0
1 qemu seqread 100.0
3 qemu seqread 150.0
1 kvmtool seqread 110.0
2 kvmtool seqread 60.0
3 kvmtool seqread 210.0
EOF

# The fakes, POSIX sh.  vm_run LOG SECS sh NAME_blk CPUS: one boot.
cat >"$tmp/lib.sh" <<'EOF'
# fake_lines NAME CPUS ROUND: that boot's blkload lines.
fake_lines() {
    awk -v n="$1" -v c="$2" -v r="$3" '$1 == r && $2 == n {
        v = $4 * c
        printf "blkload test=%s bs=4096 qd=1 direct=1 secs=5.000 ops=1 bytes=1 mbps=%.1f iops=%.0f\n",
            $3, ($3 ~ /^seq/) ? v : 7, ($3 ~ /^seq/) ? 7 : v }' "$FAKE/data"
}
# fake_round NAME: counts that NAME's calls, sets r.
fake_round() {
    r=$(($(cat "$FAKE/n.$1" 2>/dev/null || echo 0) + 1))
    echo "$r" >"$FAKE/n.$1"
}
vm_run() {
    n=${4%_blk}
    fake_round "$n.$5"
    echo "$r $n $5" >>"$FAKE/order"
    fake_lines "$n" "$5" "$r" >"$1"
    [ -s "$1" ] || return 1
    echo "arcvmm-init: bench done" >>"$1"
}
EOF
cat >"$tmp/blkload" <<'EOF'
#!/bin/sh
[ "$1" = bench ] || exit 0
. "$FAKE/lib.sh"
fake_round host
echo "$r host 0" >>"$FAKE/order"
fake_lines host 1 "$r"
EOF
chmod +x "$tmp/blkload"

# run DIR VAR=VALUE...: blk-l1.sh in a fresh DIR (fakes, data) with those
# settings; its output in DIR/out, its status in DIR/rc.
run() {
    local d=$1; shift
    mkdir "$d"
    cp "$tmp/data" "$tmp/lib.sh" "$tmp/blkload" "$root/bench/blk-l1.sh" "$root/bench/blk-table.awk" "$d"/
    (cd "$d" && env FAKE="$d" BENCH_DIR="$d/bench" EXITS=0 SECS=5 IMG_MB=1 "$@" \
        "$sh" blk-l1.sh >out 2>&1; echo $? >rc)
}

# 1. Three rounds, four VMMs, 1 and 2 vCPUs; QEMU fails in round 2.
a=$tmp/a
run "$a" RUNS=3 CPUS="1 2" TESTS="seqread randread1" VMMS="arcvmm arcvmm-pci qemu kvmtool"
check "failed boot: exit 1" "$([ "$(cat "$a/rc")" = 1 ]; echo $?)" "rc $(cat "$a/rc")"
has "failed boot reported" "$a/out" "blk bench: qemu with 1 vCPU(s) failed (exit 1); console:"
cat >"$a/want-order" <<'EOF'
1 host 0
1 arcvmm 1
1 arcvmm-pci 1
1 qemu 1
1 kvmtool 1
1 arcvmm 2
1 arcvmm-pci 2
1 qemu 2
1 kvmtool 2
2 host 0
2 arcvmm-pci 1
2 qemu 1
2 kvmtool 1
2 arcvmm 1
2 arcvmm-pci 2
2 qemu 2
2 kvmtool 2
2 arcvmm 2
3 host 0
3 qemu 1
3 kvmtool 1
3 arcvmm 1
3 arcvmm-pci 1
3 qemu 2
3 kvmtool 2
3 arcvmm 2
3 arcvmm-pci 2
EOF
check "order rotates per round, host every round" \
    "$(cmp -s "$a/want-order" "$a/order"; echo $?)" "$(diff "$a/want-order" "$a/order" | tr '\n' ' ')"
check "two partial tables and the final one" \
    "$([ "$(grep -c '^virtio-blk: .*ratios: median of the per-round ratios (min..max over rounds)$' "$a/out")" = 3 ]; echo $?)"
has "heading" "$a/out" \
    "virtio-blk: 1 MiB raw image on L1 tmpfs, guest 256 MiB, O_DIRECT in the guest, 5 s per test; figures: median over up to 3 round(s); ratios: median of the per-round ratios (min..max over rounds)"
# The final table: from the last heading on.
sed -n "$(grep -n '^virtio-blk: ' "$a/out" | tail -n 1 | cut -d: -f1),\$p" "$a/out" >"$a/final"
has "table columns" "$a/final" \
    "1 vCPU                 host     mmio      pci     qemu  kvmtool          pci/mmio          pci/kvmt         mmio/kvmt          pci/qemu          pci/host"
# pci/qemu from rounds 1 and 3 only: 1.40 and 1.60.
has "randread1 row, 1 vCPU" "$a/final" \
    "randread1 IOPS        50000     1000     1400     1250     1000 1.20 (0.95..1.40) 1.20 (0.95..1.40) 1.00 (1.00..1.00) 1.50 (1.40..1.60) 0.03 (0.02..0.04)"
# Per round: pci/mmio 1.50 2.00 0.90, pci/kvmt 1.36 1.67 0.86, mmio/kvmt
# 0.91 0.83 0.95, pci/qemu 1.50 - 1.20 (two rounds: their mean), pci/host
# 0.150 0.125 0.150.
has "seqread row, 1 vCPU" "$a/final" \
    "seqread MB/s         1000.5      100      150      125      110 1.50 (0.90..2.00) 1.36 (0.86..1.67) 0.91 (0.83..0.95) 1.35 (1.20..1.50) 0.15 (0.12..0.15)"
# At 2 vCPUs every VMM doubles: ratios between VMMs stay, pci/host doubles.
has "randread1 row, 2 vCPUs" "$a/final" \
    "randread1 IOPS        50000     2000     2800     2500     2000 1.20 (0.95..1.40) 1.20 (0.95..1.40) 1.00 (1.00..1.00) 1.50 (1.40..1.60) 0.06 (0.03..0.08)"
has "blk_bench line, randread1" "$a/out" \
    "blk_bench cpus=1 test=randread1 host=50000 arcvmm=1000 arcvmm_pci=1400 qemu=1250 kvmtool=1000 arcvmm_qemu=1.17 arcvmm_kvmtool=1.00 pci_mmio=1.20 pci_kvmtool=1.20 arcvmm_host=0.02 pci_qemu=1.50 pci_host=0.03"
has "blk_bench line, seqread 2 vCPUs" "$a/out" \
    "blk_bench cpus=2 test=seqread host=1000.5 arcvmm=200 arcvmm_pci=300 qemu=250 kvmtool=220 arcvmm_qemu=1.17 arcvmm_kvmtool=0.91 pci_mmio=1.50 pci_kvmtool=1.36 arcvmm_host=0.20 pci_qemu=1.35 pci_host=0.30"

# 2. One round, no QEMU or kvmtool: their columns are "-", no spread.
b=$tmp/b
run "$b" RUNS=1 CPUS=1 TESTS=randread1 VMMS="arcvmm arcvmm-pci"
check "one round: exit 0" "$([ "$(cat "$b/rc")" = 0 ]; echo $?)" "rc $(cat "$b/rc"): $(tail -n 5 "$b/out")"
has "one round: row" "$b/out" \
    "randread1 IOPS        50000     1000     1400        -        -              1.40                 -                 -                 -              0.03"
has "one round: blk_bench line" "$b/out" \
    "blk_bench cpus=1 test=randread1 host=50000 arcvmm=1000 arcvmm_pci=1400 qemu=- kvmtool=- arcvmm_qemu=- arcvmm_kvmtool=- pci_mmio=1.40 pci_kvmtool=- arcvmm_host=0.02 pci_qemu=- pci_host=0.03"
check "work directory removed" "$([ ! -e "$b/bench" ]; echo $?)"

echo "blk ratios: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
