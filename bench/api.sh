#!/usr/bin/env bash
# The API's figures on this host with the tier-2 test guest (it ticks,
# console discarded): latency of GET / and of PATCH /vm pause+resume pairs
# (build/bench/api_latency), and arcvmm's RSS with the API server idle vs
# without it, same guest. Builds with make; needs /dev/kvm (x86: the
# bzImage test guest).
# Usage: bench/api.sh [N]   (default 1000 requests of each kind)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
make -s -j2 build/arcvmm build/bench/api_latency build/guest/testguest.bzImage
n=${1:-1000}
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
guest=build/guest/testguest.bzImage
args=(run --kernel "$guest" --cmdline "console=ttyS0 counter" --memory 64)

# RSS (kB) of arcvmm started with "$@", once its guest printed its first line.
rss() {
    build/arcvmm "${args[@]}" --console "file:$tmp/out" "$@" </dev/null 2>/dev/null & pid=$!
    for _ in $(seq 200); do grep -q 'testguest: start' "$tmp/out" 2>/dev/null && break; sleep 0.05; done
    sleep 0.5
    awk '/^VmRSS/ { print $2 }' /proc/$pid/status
    kill $pid; wait $pid 2>/dev/null || true; pid=; rm -f "$tmp/out"
}
without=$(rss)
with=$(rss --api-sock "$tmp/rss.sock")
echo "RSS with the API server idle: $with kB, without: $without kB (+$((with - without)) kB)"

build/arcvmm "${args[@]}" --console none --api-sock "$tmp/api.sock" </dev/null 2>/dev/null & pid=$!
for _ in $(seq 200); do curl -sf --unix-socket "$tmp/api.sock" http://localhost/ >/dev/null 2>&1 && break; sleep 0.05; done
build/bench/api_latency "$tmp/api.sock" "$n"
