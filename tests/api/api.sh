#!/usr/bin/env bash
# Tier 2: the Firecracker-compatible API end to end, driven as users drive
# Firecracker: `arcvmm --api-sock S`, then curl --unix-socket. The guest is
# the project's test guest in its `echo` mode: it waits for one console
# line, echoes it and powers off, so the VM stays Running until the test
# types the line (its stdin is a FIFO the test holds open).
#   1. arcvmm --api-sock: errors before start (unknown route, bad JSON,
#      post-boot route, a failing InstanceStart), then Firecracker's
#      getting-started calls: logger, boot-source, drives/rootfs (the image
#      is opened at start), machine-config, InstanceStart; GET / Running; PATCH /vm Paused (the
#      line typed meanwhile is not echoed) -> Paused; Resumed -> Running,
#      the guest echoes and powers off; arcvmm exits 0 and removes S.
#   2. arcvmm run ... --api-sock: the VM from the command line, pre-boot
#      routes refused, pause/resume, exit 0.
#   3. arcvmm --config-file F --api-sock S boots F at once (Running, its
#      drive open, its logger writing to its file); GET /vm/config fed back
#      as --config-file with --no-api boots the same VM without a socket.
#   4. network-interfaces, vsock, logger and metrics routes before start,
#      and their errors; SIGTERM before start.
#   5. run --metrics-path: the disk's and the NIC's counters in the
#      metrics line written when the VM ends.
# Metrics: PUT /metrics, FlushMetrics writes one JSON line, the end another.
# Also: keep-alive (two requests on one connection), Expect:
# 100-continue, an oversized body. Waits poll with a bound (only a
# failing test reaches it); nothing sleeps to order events.
# Usage: tests/api/api.sh path/to/arcvmm   (prints "N passed, N failed")
set -u
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
case "$(uname -m)" in
aarch64) img=Image; con=ttyAMA0 ;;
*) img=bzImage; con=ttyS0 ;;
esac
guest="${ARCVMM_TESTGUEST_DIR:-$root/build/guest}/testguest.$img"
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    exec 3>&- 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
pass=0; fail=0
S="$tmp/api.sock"

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

if ! command -v curl >/dev/null; then
    echo "FAIL: curl is needed"; echo "0 passed, 1 failed"; exit 1
fi
if [ ! -r "$guest" ]; then
    echo "FAIL: no test guest at $guest (make tests)"; echo "0 passed, 1 failed"; exit 1
fi

# req NAME WANT_CODE BODY_SUBSTRING METHOD PATH [DATA]: one API call;
# checks the status code and that the body holds BODY_SUBSTRING.
req() {
    local name=$1 want=$2 sub=$3 m=$4 path=$5 out code
    if [ $# -ge 6 ]; then
        out=$(curl -s -w '\n%{http_code}' --unix-socket "$S" -X "$m" \
              -H 'Accept: application/json' -H 'Content-Type: application/json' \
              --data "$6" "http://localhost$path")
    else
        out=$(curl -s -w '\n%{http_code}' --unix-socket "$S" -X "$m" "http://localhost$path")
    fi
    code=${out##*$'\n'}; body=${out%$'\n'*}
    if [ "$code" = "$want" ] && [[ "$body" == *"$sub"* ]]; then
        ok "$name"
    else
        bad "$name" "got $code '$body', want $want with '$sub'"
    fi
}

# Start arcvmm with ARGS, its stdin the FIFO $tmp/in, and wait until S answers.
start() {
    rm -f "$tmp/in"; mkfifo "$tmp/in"
    "$bin" "$@" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" & pid=$!
    exec 3>"$tmp/in"        # the guest's console input stays open
    for _ in $(seq 400); do
        curl -sf --unix-socket "$S" http://localhost/ >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    bad "start $*" "the API did not answer; stderr: $(cat "$tmp/err")"
    return 1
}

# Wait (bounded) until the console output holds $1.
console_has() {
    for _ in $(seq 400); do
        grep -q "$1" "$tmp/out" && return 0
        sleep 0.05
    done
    return 1
}

# Wait (bounded) for arcvmm to exit; checks the status and that S is gone.
finish() {
    local name=$1 rc
    for _ in $(seq 400); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        bad "$name" "arcvmm did not exit"; kill -KILL "$pid"
    fi
    wait "$pid"; rc=$?; pid=
    exec 3>&-
    if [ "$rc" -eq 0 ] && [ ! -e "$S" ] && ! grep -qE 'Sanitizer|runtime error' "$tmp/err"; then
        ok "$name"
    else
        bad "$name" "rc=$rc, socket left: $([ -e "$S" ] && echo yes || echo no); stderr: $(cat "$tmp/err")"
    fi
}

# ---- 1. arcvmm --api-sock, as firecracker --api-sock ----
if start --api-sock "$S" --id api_test; then
    req get-not-started 200 '"state":"Not started"' GET /
    req get-id          200 '"id":"api_test"' GET /
    req get-version     200 '"firecracker_version"' GET /version
    req unknown-route   400 '"fault_message":"GET /nope: unknown path"' GET /nope
    req unknown-method  400 'method not allowed' DELETE /machine-config
    req bad-json        400 '"fault_message":"invalid JSON' PUT /machine-config '{"vcpu_count":'
    req unknown-field   400 'unknown field `vcpus`' PUT /machine-config '{"vcpus":1,"mem_size_mib":64}'
    req post-boot-early 400 'not supported before starting the microVM' PATCH /vm '{"state":"Paused"}'
    req start-no-kernel 400 'no kernel' PUT /actions '{"action_type":"InstanceStart"}'
    req boot-source-bad 204 '' PUT /boot-source "{\"kernel_image_path\":\"$tmp/nokernel\"}"
    req start-fails     400 "$tmp/nokernel: No such file or directory" PUT /actions '{"action_type":"InstanceStart"}'
    req still-not-started 200 '"state":"Not started"' GET /
    # Firecracker's getting-started order: logger, boot-source, drives/rootfs, machine-config
    req logger          204 '' PUT /logger \
        "{\"log_path\":\"$tmp/fc.log\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":true}"
    req boot-source     204 '' PUT /boot-source \
        "{\"kernel_image_path\":\"$guest\",\"boot_args\":\"console=$con reboot=k panic=1 echo\"}"
    truncate -s 1M "$tmp/rootfs.img"
    req drive-rootfs    204 '' PUT /drives/rootfs \
        "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$tmp/rootfs.img\",\"is_root_device\":true,\"is_read_only\":false}"
    req drive-id-differs 400 'differs from `drive_id`' PUT /drives/other \
        "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$tmp/rootfs.img\",\"is_root_device\":false}"
    req machine-config  204 '' PUT /machine-config '{"vcpu_count":2,"mem_size_mib":64}'
    req metrics         204 '' PUT /metrics "{\"metrics_path\":\"$tmp/fc.metrics\"}"
    req flush-early     400 'FlushMetrics is not supported before starting the microVM' PUT /actions '{"action_type":"FlushMetrics"}'
    req get-machine     200 '"vcpu_count":2,"mem_size_mib":64' GET /machine-config
    req vm-config       200 "\"kernel_image_path\":\"$guest\"" GET /vm/config
    # oversized body: the HTTP layer's 400 {"error": ...}; the server goes on
    head -c 51201 /dev/zero | tr '\0' ' ' > "$tmp/big"
    req oversized-body  400 '"error":"request payload of 51201 bytes is larger than the limit of 51200 bytes"' \
        PUT /machine-config "@$tmp/big"
    # a malformed request line: the HTTP layer's 400 too
    req bad-request-line 400 '"error":"bad request line: the target must start with' 'GE T' /
    req serves-after-errors 200 '"state":"Not started"' GET /
    # Expect: 100-continue, as curl sends it for large bodies
    out=$(curl -s -v -w '%{http_code}' --unix-socket "$S" -X PUT -H 'Expect: 100-continue' \
          --data '{"vcpu_count":1,"mem_size_mib":64}' http://localhost/machine-config 2>&1)
    if [[ "$out" == *"HTTP/1.1 100 Continue"* ]] && [[ "$out" == *204 ]]; then ok expect-100-continue
    else bad expect-100-continue "$out"; fi
    # keep-alive: curl reuses the connection for its second URL
    n=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' --unix-socket "$S" http://localhost/ http://localhost/version)
    if [ "$n" = "1 0 " ]; then ok keep-alive; else bad keep-alive "connects per request: $n"; fi
    req instance-start  204 '' PUT /actions '{"action_type":"InstanceStart"}'
    req get-running     200 '"state":"Running"' GET /
    if console_has 'testguest: start'; then ok guest-booted; else bad guest-booted "$(cat "$tmp/out")"; fi
    if ls -l /proc/"$pid"/fd 2>/dev/null | grep -q "$tmp/rootfs.img"; then ok drive-attached
    else bad drive-attached "arcvmm does not hold $tmp/rootfs.img open"; fi
    req flush-metrics   204 '' PUT /actions '{"action_type":"FlushMetrics"}'
    if [ "$(wc -l < "$tmp/fc.metrics")" -eq 1 ] &&
       python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); assert m["vcpu"]["exits"] > 0 and m["vmm"]["rss_bytes"] > 0 and "read_count" in m["block_rootfs"] and m["flush_count"] == 1' "$tmp/fc.metrics"
    then ok metrics-line; else bad metrics-line "$(cat "$tmp/fc.metrics")"; fi
    req start-twice     400 'InstanceStart is not supported after starting the microVM' PUT /actions '{"action_type":"InstanceStart"}'
    req pre-boot-late   400 'PUT /boot-source is not supported after starting the microVM' PUT /boot-source \
        "{\"kernel_image_path\":\"$guest\"}"
    req machine-late    400 'not supported after starting the microVM' PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
    req bad-state       400 'field `state` must be' PATCH /vm '{"state":"Frozen"}'
    req pause           204 '' PATCH /vm '{"state":"Paused"}'
    req get-paused      200 '"state":"Paused"' GET /
    # a line typed while paused is not echoed until the VM resumes
    echo api-line >&3
    req get-still-paused 200 '"state":"Paused"' GET /
    if grep -q 'testguest: echo' "$tmp/out"; then bad paused-guest-idle "the guest ran while paused"
    else ok paused-guest-idle; fi
    req resume          204 '' PATCH /vm '{"state":"Resumed"}'
    if console_has 'testguest: echo api-line'; then ok guest-echoed; else bad guest-echoed "$(cat "$tmp/out")"; fi
    finish exit-on-poweroff
    # the VM's end writes the last line
    if [ "$(wc -l < "$tmp/fc.metrics")" -eq 2 ] && tail -n1 "$tmp/fc.metrics" | grep -q '"flush_count":2'; then
        ok metrics-at-exit; else bad metrics-at-exit "$(cat "$tmp/fc.metrics")"; fi
fi

# ---- 2. arcvmm run ... --api-sock ----
if start run --kernel "$guest" --cmdline "console=$con echo" --cpus 1 --memory 32 --api-sock "$S"; then
    req run-running     200 '"state":"Running"' GET /
    req run-machine     200 '"vcpu_count":1,"mem_size_mib":32' GET /machine-config
    req run-pre-boot    400 'not supported after starting the microVM' PUT /boot-source \
        "{\"kernel_image_path\":\"$guest\"}"
    req run-pause       204 '' PATCH /vm '{"state":"Paused"}'
    req run-paused      200 '"state":"Paused"' GET /
    req run-resume      204 '' PATCH /vm '{"state":"Resumed"}'
    req run-resumed     200 '"state":"Running"' GET /
    req run-no-metrics  400 'FlushMetrics: no metrics file (PUT /metrics first)' PUT /actions '{"action_type":"FlushMetrics"}'
    echo run-line >&3
    if console_has 'testguest: echo run-line'; then ok run-guest-echoed; else bad run-guest-echoed "$(cat "$tmp/out")"; fi
    finish run-exit-on-poweroff
fi

# ---- 3. arcvmm --config-file (+ --api-sock): boots at once, as Firecracker ----
truncate -s 1M "$tmp/data.img"
cat > "$tmp/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$guest", "boot_args": "console=$con reboot=k panic=1 echo"},
  "drives": [{"drive_id": "data", "path_on_host": "$tmp/data.img", "is_root_device": false,
              "is_read_only": true}],
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 48},
  "vsock": {"guest_cid": 3, "uds_path": "$tmp/v.sock"},
  "logger": {"log_path": "$tmp/cf.log", "level": "Info", "show_level": true}
}
EOF
if start --config-file "$tmp/vm.json" --api-sock "$S"; then
    req cf-running      200 '"state":"Running"' GET /
    req cf-machine      200 '"vcpu_count":1,"mem_size_mib":48' GET /machine-config
    req cf-pre-boot     400 'not supported after starting the microVM' PUT /drives/data \
        "{\"drive_id\":\"data\",\"path_on_host\":\"$tmp/data.img\",\"is_root_device\":false}"
    curl -s --unix-socket "$S" http://localhost/vm/config > "$tmp/back.json"
    if grep -q "\"path_on_host\":\"$tmp/data.img\"" "$tmp/back.json" &&
       grep -q '"vsock":{"guest_cid":3' "$tmp/back.json"; then ok cf-vm-config
    else bad cf-vm-config "$(cat "$tmp/back.json")"; fi
    if grep -q '\[Info\] api: InstanceStart: 1 vCPU(s), 48 MiB' "$tmp/cf.log"; then ok cf-log-file
    else bad cf-log-file "log: $(cat "$tmp/cf.log" 2>&1)"; fi
    echo cf-line >&3
    if console_has 'testguest: echo cf-line'; then ok cf-guest-echoed; else bad cf-guest-echoed "$(cat "$tmp/out")"; fi
    finish cf-exit-on-poweroff
fi
# GET /vm/config fed back as --config-file, without an API: the same VM
rm -f "$tmp/in"; mkfifo "$tmp/in"
"$bin" --config-file "$tmp/back.json" --no-api <"$tmp/in" >"$tmp/out" 2>"$tmp/err" & pid=$!
exec 3>"$tmp/in"
if console_has 'testguest: start'; then ok cf-back-booted; else bad cf-back-booted "$(cat "$tmp/err")"; fi
if [ ! -e "$S" ]; then ok cf-no-api-no-socket; else bad cf-no-api-no-socket "a socket exists"; fi
if ls -l /proc/"$pid"/fd 2>/dev/null | grep -q "$tmp/data.img"; then ok cf-back-drive
else bad cf-back-drive "arcvmm does not hold $tmp/data.img open"; fi
echo back-line >&3
if console_has 'testguest: echo back-line'; then ok cf-back-echoed; else bad cf-back-echoed "$(cat "$tmp/out")"; fi
finish cf-back-exit

# ---- 4. network interfaces, vsock and the logger before start ----
if start --api-sock "$S"; then
    req net-put         204 '' PUT /network-interfaces/net1 \
        '{"iface_id":"net1","host_dev_name":"tap0","guest_mac":"06:00:AC:10:00:02","rx_rate_limiter":{}}'
    req net-id-differs  400 'differs from `iface_id`' PUT /network-interfaces/net2 \
        '{"iface_id":"net1","host_dev_name":"tap1"}'
    req net-bad-mac     400 'field `guest_mac`' PUT /network-interfaces/net2 \
        '{"iface_id":"net2","host_dev_name":"tap1","guest_mac":"zz"}'
    req net-tap-twice   400 'tap tap0 is already used by interface net1' PUT /network-interfaces/net2 \
        '{"iface_id":"net2","host_dev_name":"tap0"}'
    req net-bad-id      400 'invalid id' PUT /network-interfaces/net-2 \
        '{"iface_id":"net-2","host_dev_name":"tap1"}'
    req net-patch-early 400 'not supported before starting the microVM' PATCH /network-interfaces/net1 \
        '{"iface_id":"net1"}'
    req vsock-put       204 '' PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$tmp/v.sock\"}"
    req vsock-bad-cid   400 'field `guest_cid`: 2 is outside 3..' PUT /vsock '{"guest_cid":2,"uds_path":"/v"}'
    req net-vm-config   200 '"network-interfaces":[{"iface_id":"net1","host_dev_name":"tap0","guest_mac":"06:00:ac:10:00:02"}]' GET /vm/config
    req vsock-vm-config 200 "\"vsock\":{\"guest_cid\":3,\"uds_path\":\"$tmp/v.sock\"}" GET /vm/config
    req logger-bad-path 400 "field \`log_path\`: $tmp/nodir/l.log: No such file or directory" PUT /logger \
        "{\"log_path\":\"$tmp/nodir/l.log\"}"
    req logger-file     204 '' PUT /logger "{\"log_path\":\"$tmp/api.log\",\"level\":\"Debug\"}"
    req logger-vm-config 200 "\"logger\":{\"log_path\":\"$tmp/api.log\",\"level\":\"Debug\"" GET /vm/config
    req logger-level-only 204 '' PUT /logger '{"level":"Info"}'
    req logger-path-kept 200 "\"logger\":{\"log_path\":\"$tmp/api.log\",\"level\":\"Info\"" GET /vm/config
    req logger-writes   200 '"state":"Not started"' GET /
    req metrics-bad-path 400 "field \`metrics_path\`: $tmp/nodir/m: No such file or directory" PUT /metrics \
        "{\"metrics_path\":\"$tmp/nodir/m\"}"
    req metrics-kept    200 '"metrics":null' GET /vm/config
    # a drive given twice is named at InstanceStart (not "locked by another process")
    truncate -s 1M "$tmp/twice.img"
    req twice-boot      204 '' PUT /boot-source "{\"kernel_image_path\":\"$guest\"}"
    req twice-drive-a   204 '' PUT /drives/a "{\"drive_id\":\"a\",\"path_on_host\":\"$tmp/twice.img\",\"is_root_device\":false}"
    req twice-drive-b   204 '' PUT /drives/b "{\"drive_id\":\"b\",\"path_on_host\":\"$tmp/twice.img\",\"is_root_device\":false}"
    req twice-start     400 "InstanceStart: disk $tmp/twice.img: the same file as disk $tmp/twice.img (a disk given twice" \
        PUT /actions '{"action_type":"InstanceStart"}'
    req twice-not-started 200 '"state":"Not started"' GET /
    kill -TERM "$pid"; wait "$pid"; rc=$?; pid=; exec 3>&-
    if [ "$rc" -eq 143 ] && [ ! -e "$S" ]; then ok api-sigterm-before-start
    else bad api-sigterm-before-start "rc=$rc"; fi
fi

# ---- 5. run --metrics-path: the disk's counters in the line at the end ----
truncate -s 1M "$tmp/blk.img"
"$bin" run --kernel "$guest" --transport mmio --cmdline "console=$con blk-rw" --disk "$tmp/blk.img" \
    --metrics-path "$tmp/run.metrics" </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 0 ] && grep -q 'testguest: blk-rw ok' "$tmp/out" &&
   python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).read()); b=m["block_drive0"]; assert b["read_count"] >= 1 and b["write_count"] >= 1 and b["write_bytes"] >= 512 and b["errors"] == 0 and m["vcpu"]["exit_mmio"] > 0' "$tmp/run.metrics"
then ok run-metrics-blk; else bad run-metrics-blk "rc=$rc $(cat "$tmp/err") metrics: $(cat "$tmp/run.metrics" 2>&1)"; fi

# run --net with a guest that sends 6 malformed TX chains and 7 good frames
# (net-bad): the NIC's counters (needs /dev/net/tun and CAP_NET_ADMIN)
if [ -c /dev/net/tun ] && [ "$(id -u)" = 0 ]; then
    "$bin" run --kernel "$guest" --transport mmio --cmdline "console=$con net-bad" --net "tap=avma$$" \
        --metrics-path "$tmp/net.metrics" </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ "$rc" -eq 0 ] && grep -q 'testguest: net-bad done' "$tmp/out" &&
       python3 -c 'import json,sys; n=json.loads(open(sys.argv[1]).read())["net_net0"]; assert n["tx_dropped"] == 6 and n["tx_packets_count"] == 7 and n["tx_bytes_count"] > 0 and n["errors"] == 0' "$tmp/net.metrics"
    then ok run-metrics-net; else bad run-metrics-net "rc=$rc $(cat "$tmp/err") metrics: $(cat "$tmp/net.metrics" 2>&1)"; fi
else
    echo "skip run-metrics-net: needs /dev/net/tun and root"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
