# shellcheck shell=bash
# Sourced by the x86 benchmark wrappers (bench/boot.sh, blk.sh, net.sh) from
# the project root, under `set -euo pipefail`: they build a payload (an
# L1 script as run.sh and what it needs) and run it where KVM boots a stock
# kernel: here, or in the nested rig (scripts/rig.sh --with-qemu).
#
#   bench_build                  scripts/setup.sh, make, scripts/guest.sh
#   bench_payload NAME FILE...   a fresh build/bench/NAME-payload holding the
#                                FILEs; sets pay
#   bench_lkvm                   with LKVM=PATH set: that static x86-64
#                                kvmtool (lkvm-static) into $pay, or exit 2
#   bench_script L1SCRIPT VAR... $pay/run.sh: each VAR that is set, then
#                                L1SCRIPT
#   bench_run TIMEOUT            runs $pay/run.sh here or in the rig (limit
#                                TIMEOUT s); does not return
. scripts/hostkvm.sh

bench_build() {
    scripts/setup.sh
    make -s -j"$(nproc)"
    scripts/guest.sh >/dev/null
}

bench_payload() {
    pay=build/bench/$1-payload
    shift
    rm -rf "$pay"; mkdir -p "$pay"
    cp "$@" "$pay"/
}

# kvmtool is a peer this project neither ships nor builds: `make
# lkvm-static` in a kvmtool checkout makes one.
bench_lkvm() {
    [ -n "${LKVM:-}" ] || return 0
    [ -f "$LKVM" ] || { echo "bench: LKVM=$LKVM: no such file" >&2; exit 2; }
    if [ "$(od -An -tu2 -j18 -N2 "$LKVM" | tr -d ' ')" != 62 ] ||
        readelf -lW "$LKVM" 2>/dev/null | grep -q 'program interpreter'; then
        echo "bench: LKVM=$LKVM is not a static x86-64 program (build kvmtool's lkvm-static)" >&2
        exit 2
    fi
    cp "$LKVM" "$pay"/lkvm-static
}

bench_script() {
    local l1=$1 v
    shift
    {
        for v in "$@"; do
            [ -z "${!v:-}" ] || printf '%s="%s"\n' "$v" "${!v}"
        done
        cat "$l1"
    } >"$pay"/run.sh
}

bench_run() {
    if host_kvm_runs_linux; then
        cd "$pay" && exec sh run.sh
    fi
    echo "bench: this host's /dev/kvm cannot run a stock kernel; measuring inside the nested rig"
    exec scripts/rig.sh --timeout "$1" --with-qemu "$pay"
}
