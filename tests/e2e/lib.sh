# Helpers for e2e tests and benchmarks.  POSIX sh: works in busybox sh
# (inside the rig's L1, see scripts/rig.sh) and in bash on a host whose KVM
# runs stock kernels.  Source it:  . tests/e2e/lib.sh
#
# A VMM's console is always read as a stream from a fifo (never by polling a
# log file: that starved nested guests in the rig).  Commands run with stdin
# from /dev/null and a watchdog that SIGKILLs them at their time limit.
# E2E_VERBOSE=1 copies every console line boot_time sees to stderr.
#
#   now_us                   sets NOW_US to a timestamp in microseconds
#   boot_time CMD...         runs CMD (a VMM booting the default guest) and
#                            prints the milliseconds from just before its start
#                            to the first "arcvmm-init: start" console line,
#                            then kills it.  Returns 1 and prints the
#                            last 30 console lines to stderr if the line never
#                            comes (limit: $E2E_BOOT_TIMEOUT s, default 60).
#   boot_time_series NAME N CMD...
#                            N runs of boot_time; prints "boot_ms NAME run I MS"
#                            for each and "boot_ms NAME median MS"
#   vm_run LOG SECS CMD...   runs CMD to its end, console lines streamed to
#                            stdout (prefixed "| ") and saved (bare) in LOG;
#                            returns CMD's status, or 124 after SECS seconds
#                            (CMD killed, last 30 lines printed).  With
#                            VM_RUN_UNTIL set (a case pattern), the first
#                            console line matching it ends the run: CMD is
#                            killed and vm_run returns 0 (for VMMs that halt
#                            instead of exiting at guest poweroff)
#   median N...              prints the median of whole numbers
#   result NAME OK [WHY]     a test's outcome: OK 0 adds to $pass and prints
#                            "PASS NAME", else adds to $fail and prints
#                            "FAIL NAME WHY" (the suites start both at 0)
#
# Timestamps: bash's EPOCHREALTIME (us) if present, else /proc/timer_list's
# "now at N nsecs" (monotonic ns, root only), else /proc/uptime (10 ms).
# All are read without forking, so they add no measurable cost.

_lib_cr=$(printf '\r')

now_us() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        _nu_t=$EPOCHREALTIME
        NOW_US=${_nu_t%[.,]*}${_nu_t#*[.,]}
        return 0
    fi
    if [ -r /proc/timer_list ]; then
        _nu_ns=
        { read -r _nu_a && read -r _nu_a && read -r _nu_a _nu_b _nu_ns _nu_c; } \
            </proc/timer_list 2>/dev/null
        case "$_nu_ns" in
        '' | *[!0-9]*) ;;
        *) NOW_US=$((_nu_ns / 1000)); return 0 ;;
        esac
    fi
    read -r _nu_t _nu_a </proc/uptime
    NOW_US=$((${_nu_t%.*} * 1000000 + (1${_nu_t#*.} - 100) * 10000))
}

# _lib_start SECS OUT CMD...: starts CMD in the background, in its own
# session (so helpers it forks die with it), stdout and stderr to OUT; sets
# _lib_pid (CMD, also its process group) and _lib_wd (a watchdog that creates
# OUT.timeout and SIGKILLs the group after SECS seconds).
_lib_start() {
    _ls_secs=$1 _ls_out=$2
    shift 2
    setsid "$@" </dev/null >"$_ls_out" 2>&1 &
    _lib_pid=$!
    (sleep "$_ls_secs" && : >"$_ls_out.timeout" && _lib_kill) \
        </dev/null >/dev/null 2>&1 &
    _lib_wd=$!
}

# SIGKILLs the process group of _lib_start's CMD.
_lib_kill() {
    kill -9 -- "-$_lib_pid" 2>/dev/null || kill -9 "$_lib_pid" 2>/dev/null || :
}

# Stops the watchdog of _lib_start (its sleep may linger, harmlessly).
_lib_stop_watchdog() {
    kill "$_lib_wd" 2>/dev/null || :
    wait "$_lib_wd" 2>/dev/null || :
}

# Prints the last 30 lines of file $1 to stderr, indented.
_lib_tail() {
    echo "last 30 console lines:" >&2
    tail -n 30 "$1" | sed 's/^/  | /' >&2
}

boot_time() {
    _bt_dir=$(mktemp -d "${TMPDIR:-/tmp}/boot_time.XXXXXX") || return 1
    mkfifo "$_bt_dir/console" || { rm -rf "$_bt_dir"; return 1; }
    _bt_ms=
    now_us
    _bt_t0=$NOW_US
    _lib_start "${E2E_BOOT_TIMEOUT:-60}" "$_bt_dir/console" "$@"
    while IFS= read -r _bt_line || [ -n "$_bt_line" ]; do
        case "$_bt_line" in
        *"arcvmm-init: start"*)
            now_us
            _bt_ms=$(((NOW_US - _bt_t0) / 1000))
            break
            ;;
        esac
        _bt_line=${_bt_line%"$_lib_cr"}
        printf '%s\n' "$_bt_line" >&3
        [ "${E2E_VERBOSE:-0}" = 0 ] || printf '  | %s\n' "$_bt_line" >&2
    done <"$_bt_dir/console" 3>"$_bt_dir/log"
    _lib_kill
    wait "$_lib_pid" 2>/dev/null || :
    _lib_stop_watchdog
    if [ -z "$_bt_ms" ]; then
        echo "boot_time: no 'arcvmm-init: start' line from: $*" >&2
        _lib_tail "$_bt_dir/log"
        rm -rf "$_bt_dir"
        return 1
    fi
    rm -rf "$_bt_dir"
    echo "$_bt_ms"
}

median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

boot_time_series() {
    _bs_name=$1 _bs_n=$2
    shift 2
    _bs_all='' _bs_i=1
    while [ "$_bs_i" -le "$_bs_n" ]; do
        _bs_ms=$(boot_time "$@") || return 1
        echo "boot_ms $_bs_name run $_bs_i $_bs_ms"
        _bs_all="$_bs_all $_bs_ms"
        _bs_i=$((_bs_i + 1))
    done
    # shellcheck disable=SC2086
    echo "boot_ms $_bs_name median $(median $_bs_all)"
}

vm_run() {
    _vr_log=$1 _vr_secs=$2
    shift 2
    _vr_dir=$(mktemp -d "${TMPDIR:-/tmp}/vm_run.XXXXXX") || return 1
    mkfifo "$_vr_dir/console" || { rm -rf "$_vr_dir"; return 1; }
    _lib_start "$_vr_secs" "$_vr_dir/console" "$@"
    _vr_until=
    while IFS= read -r _vr_line || [ -n "$_vr_line" ]; do
        _vr_line=${_vr_line%"$_lib_cr"}
        printf '| %s\n' "$_vr_line"
        printf '%s\n' "$_vr_line" >&3
        if [ -n "${VM_RUN_UNTIL:-}" ]; then
            # shellcheck disable=SC2254
            case "$_vr_line" in $VM_RUN_UNTIL) _vr_until=1; _lib_kill; break ;; esac
        fi
    done <"$_vr_dir/console" 3>"$_vr_log"
    _vr_rc=0
    wait "$_lib_pid" 2>/dev/null || _vr_rc=$?
    [ -z "$_vr_until" ] || _vr_rc=0
    _lib_stop_watchdog
    if [ -e "$_vr_dir/console.timeout" ]; then
        rm -rf "$_vr_dir"
        echo "vm_run: timeout after $_vr_secs s: $*" >&2
        _lib_tail "$_vr_log"
        return 124
    fi
    rm -rf "$_vr_dir"
    return "$_vr_rc"
}

result() {
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "PASS $1"
    else fail=$((fail + 1)); echo "FAIL $1 ${3:-}"; fi
}
