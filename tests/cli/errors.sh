#!/usr/bin/env bash
# Every user error gives exactly one line on stderr naming the thing and the
# reason, nothing on stdout, and exit status 2 -- never a crash.
# Usage: tests/cli/errors.sh path/to/arcvmm   (prints "N passed, N failed")
set -u
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
guest="$root/build/guest/testguest.bzImage"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
pass=0; fail=0

# expect NAME SUBSTRING -- ARGS...
expect() {
    local name=$1 want=$2; shift 3
    local out err rc lines
    out=$("$@" 2>"$tmp/err" </dev/null); rc=$?
    err=$(cat "$tmp/err"); lines=$(printf '%s' "$err" | grep -c '')
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && [ -z "$out" ] && [[ "$err" == *"$want"* ]] &&
       [[ "$err" != *Sanitizer* ]] && [[ "$err" != *"runtime error"* ]]; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name: rc=$rc lines=$lines want '*$want*'"; printf '  stderr: %s\n  stdout: %s\n' "$err" "$out"
    fi
}

: > "$tmp/empty"
head -c 4096 /dev/urandom > "$tmp/random"
head -c 700 "$guest" > "$tmp/truncated"
head -c $((8 << 20)) /dev/zero > "$tmp/big-initrd"
cp "$guest" "$tmp/k000"; chmod 000 "$tmp/k000"
mkfifo "$tmp/fifo"

expect no-command        "no command"                 -- "$bin"
expect unknown-command   "unknown command 'fly'"      -- "$bin" fly
expect unknown-option    "unknown option '--bogus'"   -- "$bin" run --bogus
expect missing-value     "--cpus needs a value"       -- "$bin" run --cpus
expect missing-kernel    "kernel $tmp/nope: No such file or directory" -- "$bin" run --kernel "$tmp/nope"
expect kernel-is-dir     "kernel $tmp: is a directory" -- "$bin" run --kernel "$tmp"
expect kernel-empty      "file is empty"              -- "$bin" run --kernel "$tmp/empty"
expect kernel-not-file   "not a regular file"         -- "$bin" run --kernel /dev/null
# A FIFO without a writer must not block open(2): arcvmm cannot be ended by
# SIGTERM then. timeout only bounds a regression (it turns a hang into rc 124).
expect kernel-fifo       "kernel $tmp/fifo: not a regular file (a FIFO)" -- timeout -k 5 20 "$bin" run --kernel "$tmp/fifo"
expect initrd-fifo       "initrd $tmp/fifo: not a regular file (a FIFO)" -- timeout -k 5 20 "$bin" run --kernel "$guest" --initrd "$tmp/fifo"
expect not-a-kernel      "not a Linux kernel"         -- "$bin" run --kernel "$tmp/random"
expect truncated-kernel  "truncated"                  -- "$bin" run --kernel "$tmp/truncated"
expect missing-initrd    "initrd $tmp/nope: No such file or directory" -- "$bin" run --kernel "$guest" --initrd "$tmp/nope"
expect initrd-too-big    "do not fit"                 -- "$bin" run --kernel "$guest" --initrd "$tmp/big-initrd" --memory 4
expect cpus-zero         "--cpus: 0 is out of range"  -- "$bin" run --kernel "$guest" --cpus 0
expect cpus-negative     "--cpus: '-1' is not"        -- "$bin" run --kernel "$guest" --cpus -1
expect cpus-not-number   "--cpus: '2x' is not"        -- "$bin" run --kernel "$guest" --cpus 2x
expect cpus-beyond-host  "cpus: 300 is more than this host supports" -- "$bin" run --kernel "$guest" --cpus 300
# out of range says the real limit: the host's
expect cpus-huge         "cpus: 99999 is more than this host supports (" -- "$bin" run --kernel "$guest" --cpus 99999
expect memory-zero       "--memory: 0 is less than the smallest guest RAM (1 MiB)" -- "$bin" run --kernel "$guest" --memory 0
expect memory-beyond     "more than this host's"      -- "$bin" run --kernel "$guest" --memory 100000000
expect memory-beyond-unit "memory: 1048576 MiB is more than this host's" -- "$bin" run --kernel "$guest" --memory 1T
expect memory-overflow   "--memory: 99999999999999999999999 is larger than any host's RAM" -- "$bin" run --kernel "$guest" --memory 99999999999999999999999
expect memory-overflow-unit "--memory: 99999999999T is larger than any host's RAM" -- "$bin" run --kernel "$guest" --memory 99999999999T
expect memory-bad-unit   "--memory: '512X' is not a size" -- "$bin" run --kernel "$guest" --memory 512X
expect memory-fraction   "--memory: '1.5G' is not a size" -- "$bin" run --kernel "$guest" --memory 1.5G
expect memory-part-mib   "--memory: 1000K is not a whole number of MiB" -- "$bin" run --kernel "$guest" --memory 1000K
expect console-bad       "--console: 'serial' is not" -- "$bin" run --kernel "$guest" --console serial
expect console-file-dir  "console file $tmp: Is a directory" -- "$bin" run --kernel "$guest" --console "file:$tmp"
# A FIFO nobody reads is refused at once (open must not wait for a reader:
# the timeout only bounds the old hang).
expect console-fifo-no-reader "console file $tmp/fifo: FIFO has no reader" -- \
    timeout 10 "$bin" run --kernel "$guest" --console "file:$tmp/fifo"
expect net-unknown-backend "--net: unknown backend 'usr'" -- "$bin" run --kernel "$guest" --net usr
expect net-user-bad-port "--net user: hostfwd 'tcp::99999-:22': host port '99999' is not 1..65535" -- \
    "$bin" run --kernel "$guest" --net user,hostfwd=tcp::99999-:22
expect net-user-bad-gport "--net user: hostfwd 'tcp::8022-:0': guest port '0' is not 1..65535" -- \
    "$bin" run --kernel "$guest" --net user,hostfwd=tcp::8022-:0
expect net-user-bad-proto "--net user: hostfwd 'icmp::8022-:22': protocol 'icmp' is not tcp or udp" -- \
    "$bin" run --kernel "$guest" --net user,hostfwd=icmp::8022-:22
expect net-user-no-dash  "--net user: hostfwd 'tcp::8022:22': no '-'" -- \
    "$bin" run --kernel "$guest" --net user,hostfwd=tcp::8022:22
expect net-user-twice    "host tcp port 8022 is forwarded twice" -- \
    "$bin" run --kernel "$guest" --net user,hostfwd=tcp::8022-:22,hostfwd=tcp:127.0.0.1:8022-:23
expect net-user-bad-net  "--net user: net '10.0.2.1/24': the address has bits set" -- \
    "$bin" run --kernel "$guest" --net user,net=10.0.2.1/24
expect net-user-unknown  "--net user: unknown option 'restrict=on'" -- \
    "$bin" run --kernel "$guest" --net user,restrict=on
# A forward that cannot listen (here: the first NIC holds the port) is
# refused at start, naming the NIC and the port.
expect net-user-port-busy "net user1: hostfwd tcp 0.0.0.0:18022: cannot listen: Address already in use" -- \
    "$bin" run --kernel "$guest" --net user,hostfwd=tcp::18022-:22 --net user,hostfwd=tcp::18022-:22
expect net-missing-tap   "--net: tap needs a name"    -- "$bin" run --kernel "$guest" --net tap=
expect net-missing-tap2  "--net: tap needs a name"    -- "$bin" run --kernel "$guest" --net tap,queues=1
expect net-empty         "--net: a backend is needed" -- "$bin" run --kernel "$guest" --net ,mac=02:00:00:00:00:01
expect net-bad-mac       "--net: mac '02:00:zz:00:00:01' is not" -- "$bin" run --kernel "$guest" --net tap=t0,mac=02:00:zz:00:00:01
expect net-short-mac     "--net: mac '02:00:00:00:01' is not" -- "$bin" run --kernel "$guest" --net tap=t0,mac=02:00:00:00:01
expect net-multicast-mac "--net: mac 01:00:5e:00:00:01 is a multicast address" -- "$bin" run --kernel "$guest" --net tap=t0,mac=01:00:5e:00:00:01
expect net-zero-mac      "is all zeros"               -- "$bin" run --kernel "$guest" --net tap=t0,mac=00:00:00:00:00:00
expect net-queues-zero   "--net queues: 0 is out of range" -- "$bin" run --kernel "$guest" --net tap=t0,queues=0
expect net-queues-huge   "--net queues: 17 is out of range" -- "$bin" run --kernel "$guest" --cpus 32 --net tap=t0,queues=17
expect net-queues-cpus   "net t0: 2 queues but 1 vCPU" -- "$bin" run --kernel "$guest" --net tap=t0,queues=2
expect net-mtu-small     "--net mtu: 67 is out of range" -- "$bin" run --kernel "$guest" --net tap=t0,mtu=67
expect net-unknown-opt   "--net: unknown option 'vhost=on'" -- "$bin" run --kernel "$guest" --net tap=t0,vhost=on
expect net-too-many      "--net: at most 4 NICs"      -- "$bin" run --kernel "$guest" --net tap=a --net tap=b --net tap=c --net tap=d --net tap=e
# lo exists and is not a tap: refused when the VM is created (on a host
# without /dev/net/tun the line names that instead; both start "tap lo: ")
expect net-not-a-tap     "tap lo: "                   -- "$bin" run --kernel "$guest" --net tap=lo
expect net-bad-name      "tap a/b: not a valid interface name" -- "$bin" run --kernel "$guest" --net tap=a/b
expect extra-argument    "unexpected argument 'foo'"  -- "$bin" run --kernel "$guest" foo
# --vsock cid=N,uds=PATH
expect vsock-no-cid      "--vsock: cid=N is needed"   -- "$bin" run --kernel "$guest" --vsock "uds=$tmp/v.sock"
expect vsock-no-uds      "--vsock: uds=PATH is needed" -- "$bin" run --kernel "$guest" --vsock cid=3
expect vsock-empty-uds   "--vsock: uds=PATH is needed" -- "$bin" run --kernel "$guest" --vsock cid=3,uds=
expect vsock-cid-host    "--vsock cid: 2 is out of range (3..4294967294)" -- "$bin" run --kernel "$guest" --vsock "cid=2,uds=$tmp/v.sock"
expect vsock-cid-any     "--vsock cid: 4294967295 is out of range" -- "$bin" run --kernel "$guest" --vsock "cid=4294967295,uds=$tmp/v.sock"
expect vsock-cid-bad     "--vsock cid: '3x' is not"   -- "$bin" run --kernel "$guest" --vsock "cid=3x,uds=$tmp/v.sock"
expect vsock-unknown-opt "--vsock: unknown option 'port=5'" -- "$bin" run --kernel "$guest" --vsock "cid=3,uds=$tmp/v.sock,port=5"
expect vsock-twice       "--vsock: at most one vsock device" -- "$bin" run --kernel "$guest" --vsock "cid=3,uds=$tmp/v.sock" --vsock "cid=4,uds=$tmp/w.sock"
expect vsock-missing-dir "vsock uds $tmp/nodir/v.sock: No such file or directory" -- "$bin" run --kernel "$guest" --vsock "cid=3,uds=$tmp/nodir/v.sock"
: > "$tmp/vplain"
expect vsock-not-a-socket "vsock uds $tmp/vplain: exists and is not a socket" -- "$bin" run --kernel "$guest" --vsock "cid=3,uds=$tmp/vplain"
expect vsock-path-long   "longer than 96 bytes"       -- "$bin" run --kernel "$guest" --vsock "cid=3,uds=$tmp/$(printf 'a%.0s' $(seq 100))"
if [ -e "$tmp/nodir" ] || [ ! -f "$tmp/vplain" ]; then
    fail=$((fail + 1)); echo "FAIL vsock-errors-leave-nothing"
else
    pass=$((pass + 1)); echo "ok   vsock-errors-leave-nothing"
fi
# The API socket (arcvmm --api-sock PATH, as firecracker --api-sock PATH)
expect api-missing-value "--api-sock needs a value"   -- "$bin" --api-sock
expect run-api-missing-value "--api-sock needs a value" -- "$bin" run --kernel "$guest" --api-sock
expect api-no-sock       "no --api-sock PATH or --config-file FILE given" -- "$bin" --id vm1
expect api-unknown-opt   "unknown option '--kernel'"  -- "$bin" --api-sock "$tmp/a.sock" --kernel "$guest"
expect api-extra-arg     "unexpected argument 'run'"  -- "$bin" --api-sock "$tmp/a.sock" run
expect api-bad-id        "--id: 'a/b' may hold only"  -- "$bin" --api-sock "$tmp/a.sock" --id a/b
expect api-payload-zero  "--http-api-max-payload-size: 0 is out of range" -- "$bin" --api-sock "$tmp/a.sock" --http-api-max-payload-size 0
expect api-payload-bad   "--http-api-max-payload-size: '50k' is not" -- "$bin" --api-sock "$tmp/a.sock" --http-api-max-payload-size 50k
expect api-payload-huge  "--http-api-max-payload-size: 16777217 is out of range" -- "$bin" --api-sock "$tmp/a.sock" --http-api-max-payload-size 16777217
expect api-missing-dir   "api socket $tmp/nodir/a.sock: No such file or directory" -- "$bin" --api-sock "$tmp/nodir/a.sock"
expect run-api-missing-dir "api socket $tmp/nodir/a.sock: No such file or directory" -- "$bin" run --kernel "$guest" --api-sock "$tmp/nodir/a.sock"
: > "$tmp/plain"
expect api-not-a-socket  "api socket $tmp/plain: exists and is not a socket" -- "$bin" --api-sock "$tmp/plain"
# A path a live server answers on is refused (and left to it); the server,
# ended by SIGTERM before any InstanceStart, removes its socket. The loop
# waits for the server to answer (bounded), it does not time anything.
"$bin" --api-sock "$tmp/live.sock" </dev/null >/dev/null 2>"$tmp/live.err" & live=$!
for _ in $(seq 200); do
    curl -sf --unix-socket "$tmp/live.sock" http://localhost/ >/dev/null 2>&1 && break
    sleep 0.05
done
expect api-live-server   "api socket $tmp/live.sock: in use by a running server" -- "$bin" --api-sock "$tmp/live.sock"
expect run-api-live-server "api socket $tmp/live.sock: in use by a running server" -- "$bin" run --kernel "$guest" --api-sock "$tmp/live.sock"
if curl -sf --unix-socket "$tmp/live.sock" http://localhost/ | grep -q '"state":"Not started"'; then
    pass=$((pass + 1)); echo "ok   api-live-server-untouched"
else
    fail=$((fail + 1)); echo "FAIL api-live-server-untouched: the first server no longer answers"
fi
kill -TERM "$live"; wait "$live"; rc=$?
if [ "$rc" -eq 143 ] && [ ! -e "$tmp/live.sock" ] && ! grep -q Sanitizer "$tmp/live.err"; then
    pass=$((pass + 1)); echo "ok   api-socket-removed-at-exit"
else
    fail=$((fail + 1)); echo "FAIL api-socket-removed-at-exit: rc=$rc"; ls -l "$tmp/live.sock" 2>&1; cat "$tmp/live.err"
fi
# A disk given twice (also through a symlink) says so, not "locked"; twice
# read-only shares the image
truncate -s 1M "$tmp/disk.img"; ln -s "$tmp/disk.img" "$tmp/disk-link.img"
expect disk-twice        "disk $tmp/disk.img: the same file as disk $tmp/disk.img (a disk given twice" -- "$bin" run --kernel "$guest" --disk "$tmp/disk.img" --disk "$tmp/disk.img"
expect disk-twice-link   "disk $tmp/disk-link.img: the same file as disk $tmp/disk.img" -- "$bin" run --kernel "$guest" --disk "$tmp/disk.img,ro" --disk "$tmp/disk-link.img"
if "$bin" run --kernel "$guest" --console none --disk "$tmp/disk.img,ro" --disk "$tmp/disk-link.img,ro" </dev/null 2>"$tmp/err"; then
    pass=$((pass + 1)); echo "ok   disk-twice-read-only"
else
    fail=$((fail + 1)); echo "FAIL disk-twice-read-only: $(cat "$tmp/err")"
fi
# An ELF that is not a PVH kernel (a program) is told it has no PVH note
expect elf-no-pvh        "kernel /bin/true: ELF has no PVH entry note" -- "$bin" run --kernel /bin/true
# /dev/kvm: not accessible, missing, or kvm_pvm with a stock kernel: what to do
cp "$guest" "$tmp/kread"; chmod 644 "$tmp/kread"
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null && [ "$(id -u)" = 0 ] &&
   ! runuser -u nobody -- test -w /dev/kvm; then
    expect kvm-no-access "/dev/kvm: Permission denied: add this user to the group that owns it" -- runuser -u nobody -- "$bin" run --kernel "$tmp/kread"
else
    echo "skip kvm-no-access: needs root, user nobody and a /dev/kvm nobody cannot open"
fi
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    expect kvm-missing   "/dev/kvm: No such file or directory: this host has no KVM (load kvm_intel or kvm_amd" -- unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" run --kernel "$1"' "$bin" "$tmp/kread"
else
    echo "skip kvm-missing: needs root and unshare -m"
fi
if [ -d /sys/module/kvm_pvm ]; then
    # the test guest with a Linux-like version string ("6.1.0 ...")
    cp "$guest" "$tmp/linuxlike"
    off=$(od -An -tu2 -j $((0x20e)) -N2 "$tmp/linuxlike" | tr -d ' ')
    printf '6.1.0 fake\0' | dd of="$tmp/linuxlike" bs=1 seek=$((0x200 + off)) conv=notrunc status=none
    expect kvm-pvm-linux "kernel $tmp/linuxlike: /dev/kvm here is kvm_pvm, which cannot run a stock Linux kernel: run arcvmm inside the nested rig" -- "$bin" run --kernel "$tmp/linuxlike"
else
    echo "skip kvm-pvm-linux: /dev/kvm is not kvm_pvm here"
fi
# --config-file (Firecracker's schema): the line names the file, the
# section, the item and the field
echo '{"machine-config":{"vcpu_count":1,"mem_size_mib":32}' > "$tmp/cf-badjson.json"
echo '{"drives":[{"drive_id":"rootfs","is_root_device":true}]}' > "$tmp/cf-field.json"
echo '{"machine-config":{"vcpu_count":1,"mem_size_mib":32}}' > "$tmp/cf-nokernel.json"
echo "{\"boot-source\":{\"kernel_image_path\":\"$tmp/nope\"}}" > "$tmp/cf-missing.json"
echo '{"boot-source":{"kernel_image_path":"/k"},"balloon":{"amount_mib":8}}' > "$tmp/cf-balloon.json"
expect config-missing    "config file $tmp/nope.json: No such file or directory" -- "$bin" --config-file "$tmp/nope.json" --no-api
expect config-dir        "config file $tmp: is a directory" -- "$bin" --config-file "$tmp" --no-api
expect config-fifo       "config file $tmp/fifo: not a regular file (a FIFO)" -- timeout -k 5 20 "$bin" --config-file "$tmp/fifo"
head -c $((1024 * 1024 + 1)) /dev/zero > "$tmp/cf-big.json"
expect config-too-big    "config file $tmp/cf-big.json: 1048577 bytes is larger than the 1048576 allowed" -- "$bin" --config-file "$tmp/cf-big.json"
expect config-bad-json   "config file $tmp/cf-badjson.json: invalid JSON at line 2" -- "$bin" --config-file "$tmp/cf-badjson.json" --no-api
expect config-field      "config file $tmp/cf-field.json: \`drives\`[0]: missing field \`path_on_host\`" -- "$bin" --config-file "$tmp/cf-field.json" --no-api
expect config-no-kernel  "config file $tmp/cf-nokernel.json: no \`boot-source\`" -- "$bin" --config-file "$tmp/cf-nokernel.json"
expect config-kernel-missing "config file $tmp/cf-missing.json: kernel $tmp/nope: No such file or directory" -- "$bin" --config-file "$tmp/cf-missing.json" --no-api
expect config-unsupported "\`balloon\` is not supported by arcvmm" -- "$bin" --config-file "$tmp/cf-balloon.json" --no-api
expect no-api-alone      "--no-api needs --config-file FILE" -- "$bin" --no-api
expect no-api-and-sock   "--no-api and --api-sock exclude each other" -- "$bin" --config-file "$tmp/cf-field.json" --no-api --api-sock "$tmp/a.sock"
expect config-file-in-run "unknown option '--config-file'" -- "$bin" run --kernel "$guest" --config-file "$tmp/cf-field.json"
expect level-bad         "--level: 'Loud' is not Error, Warning" -- "$bin" run --kernel "$guest" --level Loud
expect log-path-bad      "log file $tmp/nodir/x.log: No such file or directory" -- "$bin" run --kernel "$guest" --log-path "$tmp/nodir/x.log"
expect log-path-fifo     "log file $tmp/fifo: a FIFO without a reader" -- timeout -k 5 20 "$bin" run --kernel "$guest" --log-path "$tmp/fifo"
expect metrics-path-fifo "metrics file $tmp/fifo: a FIFO without a reader" -- timeout -k 5 20 "$bin" run --kernel "$guest" --metrics-path "$tmp/fifo"
expect metrics-path-bad  "metrics file $tmp/nodir/m: No such file or directory" -- "$bin" --config-file "$tmp/cf-missing.json" --metrics-path "$tmp/nodir/m"
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
    expect kernel-unreadable "kernel $tmp/k000: Permission denied" -- runuser -u nobody -- "$bin" run --kernel "$tmp/k000"
else
    fail=$((fail + 1)); echo "FAIL kernel-unreadable: needs user nobody and runuser"
fi
# --help and --version tell the truth and succeed
if "$bin" --help | grep -q -- '--console MODE' && "$bin" --help | grep -q -- '--net tap=NAME' && "$bin" --help | grep -q -- '--api-sock PATH' && "$bin" --help | grep -q -- '--vsock cid=N,uds=PATH' && "$bin" --version | grep -qE '^arcvmm [0-9]+\.'; then
    pass=$((pass + 1)); echo "ok   help-version"
else
    fail=$((fail + 1)); echo "FAIL help-version"
fi
# --log-path and --level: lines go to the file, filtered by level, not to stderr
"$bin" run --kernel "$guest" --console none --log-path "$tmp/run.log" --level Info --show-level </dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && grep -q '^arcvmm: \[Info\] guest powered off$' "$tmp/run.log"; then
    pass=$((pass + 1)); echo "ok   log-path-level"
else
    fail=$((fail + 1)); echo "FAIL log-path-level: rc=$rc stderr: $(cat "$tmp/err") log: $(cat "$tmp/run.log" 2>&1)"
fi
"$bin" run --kernel "$guest" --console none --log-path "$tmp/off.log" --level Off -v </dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && [ -e "$tmp/off.log" ] && [ ! -s "$tmp/off.log" ]; then
    pass=$((pass + 1)); echo "ok   log-level-off"
else
    fail=$((fail + 1)); echo "FAIL log-level-off: rc=$rc stderr: $(cat "$tmp/err") log: $(cat "$tmp/off.log" 2>&1)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
