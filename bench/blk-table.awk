# The figures of bench/blk-l1.sh (POSIX awk; runs under busybox awk in L1).
# Input: its results file, lines "ROUND NAME CPUS TEST VALUE" (NAME host has
# CPUS 0).  Variables: cpus and tests (space-separated lists), mode "table"
# (the rows of the table, one block per vCPU count) or "lines" (one
# blk_bench line per vCPU count and test).
#
# An absolute figure is the median over rounds of that VMM's value.  A
# ratio A/B is the median over rounds of that round's A/B (both measured
# in the same round, while the rig ran at about one speed), never the
# ratio of two medians: the nested rig's speed drifts between rounds.  The
# table also shows the ratio's min..max over the rounds.

NF == 5 && $5 ~ /^[0-9.]+$/ {
    val[$2, $3, $4, $1] = $5 + 0
    if ($1 + 0 > nr) nr = $1 + 0
}

# sortn X N: sorts X[1..N] ascending.
function sortn(x, n,    i, j, v) {
    for (i = 2; i <= n; i++) {
        v = x[i]
        for (j = i - 1; j >= 1 && x[j] > v; j--) x[j + 1] = x[j]
        x[j + 1] = v
    }
}

function median(x, n) {
    sortn(x, n)
    return (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
}

# med NAME CPUS TEST: the median over rounds, or "-".
function med(name, c, t,    x, n, r) {
    n = 0
    for (r = 1; r <= nr; r++)
        if ((name, c, t, r) in val) x[++n] = val[name, c, t, r]
    return n ? median(x, n) : "-"
}

# ratio A CA B CB TEST SPREAD: the median over rounds of A/B, "-" when no
# round has both; with SPREAD and more than one round, "M (MIN..MAX)".
function ratio(a, ca, b, cb, t, spread,    x, n, r, q, lo, hi, m) {
    n = 0
    for (r = 1; r <= nr; r++) {
        if (!((a, ca, t, r) in val) || !((b, cb, t, r) in val) || val[b, cb, t, r] == 0)
            continue
        q = val[a, ca, t, r] / val[b, cb, t, r]
        x[++n] = q
        if (n == 1 || q < lo) lo = q
        if (n == 1 || q > hi) hi = q
    }
    if (!n) return "-"
    m = sprintf("%.2f", median(x, n))
    if (spread && n > 1) m = m sprintf(" (%.2f..%.2f)", lo, hi)
    return m
}

function row(c, t, s) {
    return sprintf("%8s %8s %8s %8s %8s %17s %17s %17s %17s %17s",
        med("host", 0, t), med("arcvmm", c, t), med("arcvmm-pci", c, t),
        med("qemu", c, t), med("kvmtool", c, t),
        ratio("arcvmm-pci", c, "arcvmm", c, t, s), ratio("arcvmm-pci", c, "kvmtool", c, t, s),
        ratio("arcvmm", c, "kvmtool", c, t, s), ratio("arcvmm-pci", c, "qemu", c, t, s),
        ratio("arcvmm-pci", c, "host", 0, t, s))
}

END {
    nc = split(cpus, cl, " ")
    nt = split(tests, tl, " ")
    for (i = 1; i <= nc; i++) {
        c = cl[i]
        if (mode == "table")
            printf "\n%-18s %8s %8s %8s %8s %8s %17s %17s %17s %17s %17s\n", c " vCPU",
                "host", "mmio", "pci", "qemu", "kvmtool",
                "pci/mmio", "pci/kvmt", "mmio/kvmt", "pci/qemu", "pci/host"
        for (j = 1; j <= nt; j++) {
            t = tl[j]
            if (mode == "table") {
                u = (t ~ /^seq/) ? "MB/s" : "IOPS"
                printf "%-18s %s\n", t " " u, row(c, t, 1)
                continue
            }
            printf "blk_bench cpus=%s test=%s host=%s arcvmm=%s arcvmm_pci=%s qemu=%s kvmtool=%s",
                c, t, med("host", 0, t), med("arcvmm", c, t), med("arcvmm-pci", c, t),
                med("qemu", c, t), med("kvmtool", c, t)
            printf " arcvmm_qemu=%s arcvmm_kvmtool=%s pci_mmio=%s pci_kvmtool=%s arcvmm_host=%s",
                ratio("arcvmm", c, "qemu", c, t), ratio("arcvmm", c, "kvmtool", c, t),
                ratio("arcvmm-pci", c, "arcvmm", c, t), ratio("arcvmm-pci", c, "kvmtool", c, t),
                ratio("arcvmm", c, "host", 0, t)
            printf " pci_qemu=%s pci_host=%s\n",
                ratio("arcvmm-pci", c, "qemu", c, t), ratio("arcvmm-pci", c, "host", 0, t)
        }
    }
}
