#!/usr/bin/env bash
# Proves the nested rig works, with QEMU microvm as the L2 VMM: builds the
# default guest, a payload (QEMU via --with-qemu, the guest, lib.sh and
# qemu-microvm.sh as run.sh) and runs it in scripts/rig.sh.  Passes when the
# payload prints PASS for the info check and the boot-time series.
#   tests/e2e/rig-selftest.sh [rig.sh options, e.g. --timeout 900]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$root/scripts/guest.sh" "$root/build/guest"
payload="$root/build/rig/payload/rig-selftest"
rm -rf "$payload"
mkdir -p "$payload"
cp "$root/build/guest/bzImage" "$root/build/guest/initramfs.cpio.gz" \
   "$root/tests/e2e/lib.sh" "$root/tests/e2e/qemu-microvm.sh" "$payload/"
printf '%s\n' '#!/bin/sh' 'exec sh ./qemu-microvm.sh' >"$payload/run.sh"
exec "$root/scripts/rig.sh" --with-qemu "$@" "$payload"
