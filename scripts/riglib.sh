# shellcheck shell=bash
# What scripts/rig.sh (x86) and scripts/rig-arm64.sh share: option
# parsing, the work directory, L1's init, and running L1 with the console
# streamed to stdout and a log. Sourced (bash), after the caller has set
# ROOT and defined die() and usage().
#
#   rig_parse_args DEFAULT_TIMEOUT "$@"   -> timeout_s smp mem append payload
#                                            interactive with_qemu with[]
#   rig_workdir                           -> RIG, work (removed on exit), r
#   rig_write_init                        -> $r/init; it sources
#                                            $r/etc/rig-arch.sh (written by the
#                                            caller), which defines
#                                            rig_kvm_setup (run before the
#                                            /dev/kvm check) and rig_kvm_info
#                                            (how KVM came up, for the ready
#                                            line)
#   rig_run LOG CMDLINE                   runs L1 through the caller's
#                                            qemu_l1, which must exec QEMU with
#                                            its arguments plus "-append
#                                            CMDLINE ..." (so the background
#                                            job's pid is QEMU's and a kill
#                                            reaches it), and
#                                            exits with run.sh's status, 124 on
#                                            timeout, 125 if L1 froze in every
#                                            attempt (RIG_STALL_S, default
#                                            180 s, without a console line;
#                                            RIG_RETRIES fresh starts,
#                                            default 2), or 1
#                                            without RIG-EXIT

# shellcheck disable=SC2034 # the variables are the caller's
rig_parse_args() {
    timeout_s=$1 smp=2 mem=2048 with_qemu=0 append="" payload="" interactive=0
    with=()
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --timeout) timeout_s=${2:?}; shift 2 ;;
        --smp) smp=${2:?}; shift 2 ;;
        --mem) mem=${2:?}; shift 2 ;;
        --with-qemu) with_qemu=1; shift ;;
        --with) with+=("${2:?}"); shift 2 ;;
        --append) append=${2:?}; shift 2 ;;
        --interactive) interactive=1; shift ;;
        -h | --help) usage ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$payload" ] || usage; payload=$1; shift ;;
        esac
    done
    [ -n "$payload" ] || usage
    [[ $timeout_s =~ ^[0-9]+$ && $smp =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ ]] ||
        die "--timeout, --smp and --mem take whole numbers"
    RIG_STALL_S=${RIG_STALL_S:-180}
    [[ $RIG_STALL_S =~ ^[1-9][0-9]*$ ]] || die "RIG_STALL_S takes a whole number of seconds"
    RIG_NUDGE_S=$((RIG_STALL_S / 2))
    [ "$RIG_NUDGE_S" -ge 1 ] || RIG_NUDGE_S=1
    RIG_RETRIES=${RIG_RETRIES:-2}
    [[ $RIG_RETRIES =~ ^[0-9]+$ ]] || die "RIG_RETRIES takes a whole number"
    [ -f "$payload/run.sh" ] || die "$payload/run.sh: no such file (PAYLOAD_DIR needs run.sh)"
    payload=$(cd "$payload" && pwd)
}

rig_workdir() {
    RIG="$ROOT/build/rig"
    mkdir -p "$RIG/log"
    work="$RIG/run.$$"
    qpid=""
    trap rig_cleanup EXIT
    trap 'exit 130' INT TERM
    rm -rf "$work"
    mkdir -p "$work"
    r="$work/root"
    mkdir -p "$r"/{dev,proc,sys,tmp,run,root,etc,mnt}
}

rig_cleanup() {
    [ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null || true
    [ "${RIG_KEEP:-0}" = 1 ] || rm -rf "$work"
}

rig_write_init() {
    cat >"$r/init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
if grep -q rig.interactive /proc/cmdline; then
    exec </dev/console >/dev/console 2>&1
else
    exec </dev/null >/dev/console 2>&1
fi
read -r up _ </proc/uptime
echo "RIG: L1 init at ${up}s"
. /etc/rig-arch.sh
rig_kvm_setup
if [ ! -c /dev/kvm ]; then
    echo "RIG: no /dev/kvm"
    dmesg | grep -i kvm | tail -n 5
    echo "RIG-EXIT 1"
else
    read -r up _ </proc/uptime
    echo "RIG: /dev/kvm ready at ${up}s ($(rig_kvm_info)), running payload"
    # A line a minute tells, after a timeout, whether L1 was still alive.
    (while sleep 60; do read -r up _ </proc/uptime; echo "RIG: L1 alive at ${up}s"; done) &
    cd /payload && sh run.sh
    echo "RIG-EXIT $?"
fi
sync
poweroff -f
sleep 10
EOF
    chmod 0755 "$r/init"
}

# Prints a console line to stdout and to the log (fd 4).
rig_line() {
    printf '%s\n' "$1"
    printf '%s\n' "$1" >&4
}

# One start of L1 with the console streamed; returns run.sh's status, 124 on
# timeout, 125 when L1 froze (no console line for RIG_STALL_S seconds,
# though L1 prints one a minute), 1 without RIG-EXIT.
rig_attempt() {
    local log=$1 cmdline=$2 qrc=0 status="" outcome=eof left tmo line rc deadline
    local nudged=0 mpid
    local first_line
    first_line=$(($(wc -l <"$log") + 1))  # this attempt's lines start here
    rm -f "$work/console" "$work/mon.in" "$work/mon.out"
    mkfifo "$work/console" "$work/mon.in" "$work/mon.out"
    # QEMU's monitor on two fifos (qemu_l1 passes -monitor pipe:$work/mon),
    # drained into monitor.log, so a silent L1 can be nudged and inspected.
    cat "$work/mon.out" >"$work/monitor.log" 2>/dev/null &
    mpid=$!
    qemu_l1 -append "$cmdline $append" </dev/null >"$work/console" 2>&1 &
    qpid=$! # QEMU itself: qemu_l1 execs it in the background subshell

    # Stream the console line by line (read from the fifo, never poll the log).
    deadline=$((SECONDS + timeout_s))
    exec 3<"$work/console" 4>>"$log"
    while :; do
        left=$((deadline - SECONDS))
        if [ -n "$status" ] && [ "$left" -gt 30 ]; then
            left=30 # grace for L1's poweroff after RIG-EXIT
        fi
        if [ "$left" -le 0 ]; then outcome=timeout; break; fi
        tmo=$left
        # Silence is waited out in two steps: after RIG_NUDGE_S the L1 gets
        # an NMI (a halted CPU whose timer interrupt went missing wakes up
        # and re-arms it), after RIG_STALL_S in all it counts as frozen.
        local quiet=$RIG_NUDGE_S
        [ "$nudged" = 0 ] || quiet=$((RIG_STALL_S - RIG_NUDGE_S))
        [ -n "$status" ] || [ "$tmo" -le "$quiet" ] || tmo=$quiet
        line=""
        if IFS= read -r -t "$tmo" line <&3; then
            line=${line%$'\r'}
            rig_line "$line"
            nudged=0
            if [[ $line =~ RIG-EXIT\ ([0-9]+)$ ]]; then status=${BASH_REMATCH[1]}; fi
        else
            rc=$?
            [ -z "$line" ] || rig_line "$line"
            if [ "$rc" -le 128 ]; then outcome=eof; break; fi
            if [ "$tmo" -ge "$left" ]; then outcome=timeout; break; fi
            if [ "$nudged" = 0 ]; then
                nudged=1
                rig_line "RIG: no console line for $RIG_NUDGE_S s: L1 CPU state, then an NMI to L1"
                timeout 5 sh -c 'printf "info cpus\ninfo registers -a\nnmi\n" >"$1"' sh "$work/mon.in" || true
                continue
            fi
            outcome=stall
            break
        fi
    done
    exec 3<&- 4>&-
    kill "$mpid" 2>/dev/null || true

    if [ "$outcome" != eof ] && [ -z "$status" ]; then
        kill -9 "$qpid" 2>/dev/null || true
        wait "$qpid" 2>/dev/null || true
        qpid=""
        if [ "$outcome" = stall ]; then
            echo "RIG: L1 froze: no console line for $RIG_STALL_S s"
        else
            echo "RIG: timeout after $timeout_s s"
        fi
        echo "RIG: last 30 console lines ($log):"
        tail -n 30 "$log"
        if [ "$outcome" = stall ]; then
            echo "RIG: L1 CPUs when it fell silent (QEMU monitor):"
            grep -E '^\*? *CPU #|^(RIP|EIP|PC)=| HLT=|^EFL' "$work/monitor.log" | head -n 20 || true
        fi
        [ "$outcome" = stall ] && return 125
        return 124
    fi
    if [ "$outcome" != eof ]; then
        kill -9 "$qpid" 2>/dev/null || true # RIG-EXIT seen but no poweroff
    fi
    wait "$qpid" || qrc=$?
    qpid=""
    if [ -z "$status" ]; then
        echo "RIG: no exit status (QEMU exit code $qrc)"
        echo "RIG: last 30 console lines ($log):"
        tail -n 30 "$log"
        # L1's own kernel panicked (its lines are the unprefixed ones; an
        # L2 guest's are "| "): the emulated machine failed, not the payload.
        if sed -n "${first_line},\$p" "$log" | grep -q '^\[ *[0-9.]*\] Kernel panic - not syncing'; then
            echo "RIG: L1's own kernel panicked: the emulated machine failed, not the payload"
            return 125
        fi
        return 1
    fi
    echo "RIG: payload exit status $status, $SECONDS s total"
    return "$status"
}

# The emulated L1 very rarely freezes for good (about once in a few hours
# of rig time, always mid-run, once twice in one CI run, each time as one
# L2 VM ended and the next began). The monitor then showed both L1 CPUs
# at one kernel address with interrupts off, not halted, and the NMI
# brought nothing back (no "NMI received" line). That is the emulator, not the payload, so a frozen
# L1 is started again, up to RIG_RETRIES times, and says so; so is one
# whose own kernel panicked (seen once under heavy L2 network load: nested
# page faults in L1's entry code during KVM_RUN). Any other outcome is
# final.
rig_run() {
    local log=$1 cmdline=$2 qrc=0 rc=0
    if [ "$interactive" = 1 ]; then
        rm -f "$work/mon.in" "$work/mon.out"
        mkfifo "$work/mon.in" "$work/mon.out"
        cat "$work/mon.out" >"$work/monitor.log" 2>/dev/null &
        (qemu_l1 -append "$cmdline rig.interactive $append") || qrc=$?
        exit "$qrc"
    fi
    : >"$log"
    rig_attempt "$log" "$cmdline" || rc=$?
    local tries=0
    while [ "$rc" = 125 ] && [ "$tries" -lt "$RIG_RETRIES" ]; do
        tries=$((tries + 1))
        echo "RIG: running the payload again in a fresh L1 (retry $tries of $RIG_RETRIES)"
        rc=0
        rig_attempt "$log" "$cmdline" || rc=$?
    done
    exit "$rc"
}
