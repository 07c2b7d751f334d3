#!/usr/bin/env bash
# Runs every unit-test binary given, prints one summary line over all of them.
set -u
pass=0; fail=0
for t in "$@"; do
    case "$t" in *.d|*.o) continue ;; esac
    out=$("$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    if [ -z "$line" ] || [ $rc -ne 0 ]; then
        printf '%s\n' "$out"
        echo "FAIL $(basename "$t") (rc=$rc)"
        [ -z "$line" ] && { p=0; f=1; }
    fi
    pass=$((pass + p)); fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
