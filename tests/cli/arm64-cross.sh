#!/usr/bin/env bash
# The arm64 cross build on an x86_64 host: builds the static
# build/arm64/arcvmm and arm64 unit tests (`make ARCH=arm64`), then runs them
# under qemu-user: the CLI's usage and error paths (qemu-user has no KVM, so
# a VM cannot be created: that error must be one clean line too) and every
# unit test. Needs `scripts/setup.sh --arm64`.
# Usage: tests/cli/arm64-cross.sh   (the last line is "N passed, N failed")
set -u
cd "$(dirname "$0")/../.." || exit 1
pass=0; fail=0
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ] || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    echo "FAIL arm64 cross tools missing: run scripts/setup.sh --arm64"
    echo "0 passed, 1 failed"
    exit 1
fi
units=$(for f in tests/unit/test_*.c; do t=${f#tests/unit/}; echo "build/arm64/tests/unit/${t%.c}"; done)
# shellcheck disable=SC2086
if ! make -s -j"$(nproc)" ARCH=arm64 build/arm64/arcvmm $units; then
    echo "FAIL make ARCH=arm64"
    echo "0 passed, 1 failed"
    exit 1
fi
bin=build/arm64/arcvmm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

if file -b "$bin" | grep -q 'ARM aarch64.*statically linked'; then ok static-aarch64; else ko "static-aarch64: $(file -b "$bin")"; fi

# expect NAME SUBSTRING -- ARGS: exit 2, one line on stderr, nothing on stdout
expect() {
    local name=$1 want=$2; shift 3
    local out err rc
    out=$("$qemu" "$bin" "$@" 2>"$tmp/err" </dev/null); rc=$?
    err=$(cat "$tmp/err")
    if [ "$rc" -eq 2 ] && [ "$(printf '%s' "$err" | grep -c '')" -eq 1 ] && [ -z "$out" ] &&
       [[ "$err" == *"$want"* ]]; then
        ok "$name"
    else
        ko "$name: rc=$rc want '*$want*' stderr: $err"
    fi
}
: > "$tmp/empty"
head -c 4096 /dev/zero > "$tmp/kernel"
expect no-command      "no command"                   --
expect unknown-option  "unknown option '--bogus'"     -- run --bogus
expect missing-kernel  "kernel $tmp/nope: No such file or directory" -- run --kernel "$tmp/nope"
expect kernel-empty    "file is empty"                -- run --kernel "$tmp/empty"
expect cpus-zero       "--cpus: 0 is out of range"    -- run --kernel "$tmp/kernel" --cpus 0
expect no-kvm          "/dev/kvm:"                    -- run --kernel "$tmp/kernel"
if "$qemu" "$bin" --help | grep -q -- '--console MODE' &&
   "$qemu" "$bin" --version | grep -qE '^arcvmm [0-9]+\.'; then
    ok help-version
else
    ko help-version
fi

for t in $units; do
    out=$("$qemu" "$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
    if [ "$rc" -eq 0 ] && [ -n "$line" ]; then
        ok "$(basename "$t") ($line)"
    else
        printf '%s\n' "$out" | tail -n 20
        ko "$(basename "$t") (rc=$rc)"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
