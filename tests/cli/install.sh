#!/usr/bin/env bash
# Tier 2: arcvmm installed as a package installs it, and used as a library
# by a program that knows only what pkg-config says.
#   1. `make install PREFIX=/usr/local DESTDIR=$tmp`: the binary, both
#      libraries (the .so with its soname links), the header, arcvmm.pc
#      and the man page, in their places;
#   2. only arcvmm_* names are global in the installed libarcvmm.a and
#      exported by libarcvmm.so; the header compiles alone as C99 and C++;
#   3. the man page renders without warnings, names every option
#      `arcvmm --help` lists, and carries arcvmm's version;
#   4. tests/cli/libuser.c, which defines its own file_check and log_msg,
#      built with `pkg-config --cflags --libs arcvmm` against the staged
#      copy (PKG_CONFIG_SYSROOT_DIR), shared and static, links and boots
#      the tier-2 test guest through the installed library (its checks:
#      see libuser.c).
# Usage: tests/cli/install.sh   (from anywhere; prints "N passed, N failed")
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
case "$(uname -m)" in
aarch64) img=Image ;;
*) img=bzImage ;;
esac
guest="${ARCVMM_TESTGUEST_DIR:-$root/build/guest}/testguest.$img"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

stage=$tmp/stage
pfx=$stage/usr/local
if ! make -s install PREFIX=/usr/local DESTDIR="$stage" >"$tmp/make.log" 2>&1; then
    cat "$tmp/make.log"; bad "make install"; finish
fi
ok "make install PREFIX=/usr/local DESTDIR=..."
version=$(sed -n 's/^#define ARCVMM_VERSION "\(.*\)"$/\1/p' include/arcvmm.h)

# 1. the files
check "bin/arcvmm runs" test "$("$pfx/bin/arcvmm" --version)" = "arcvmm $version"
for f in lib/libarcvmm.a "lib/libarcvmm.so.$version" include/arcvmm.h \
         lib/pkgconfig/arcvmm.pc share/man/man1/arcvmm.1; do
    check "$f" test -f "$pfx/$f" -a ! -L "$pfx/$f"
done
check "lib/libarcvmm.so.0 -> libarcvmm.so.$version" \
    test "$(readlink "$pfx/lib/libarcvmm.so.0")" = "libarcvmm.so.$version"
check "lib/libarcvmm.so -> libarcvmm.so.0" test "$(readlink "$pfx/lib/libarcvmm.so")" = libarcvmm.so.0
soname=$(readelf -d "$pfx/lib/libarcvmm.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "soname libarcvmm.so.0" test "$soname" = libarcvmm.so.0

# 2. the names
nm -g --defined-only "$pfx/lib/libarcvmm.a" | awk 'NF == 3 { print $3 }' | sort > "$tmp/a.syms"
nm -D --defined-only "$pfx/lib/libarcvmm.so.$version" | awk 'NF == 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    sort > "$tmp/so.syms"
# shellcheck disable=SC2317  # called through check
only_api() {
    [ -s "$1" ] && ! grep -v '^arcvmm_' "$1" && grep -qx arcvmm_create "$1"
}
check "libarcvmm.a: only arcvmm_* global ($(wc -l < "$tmp/a.syms") names)" only_api "$tmp/a.syms"
check "libarcvmm.so: only arcvmm_* exported ($(wc -l < "$tmp/so.syms") names)" only_api "$tmp/so.syms"
check "the .a and the .so export the same names" cmp -s "$tmp/a.syms" "$tmp/so.syms"
echo '#include <arcvmm.h>' > "$tmp/h.c"
check "arcvmm.h alone, C99 -pedantic" \
    cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$pfx/include" -fsyntax-only "$tmp/h.c"
if command -v c++ >/dev/null; then
    check "arcvmm.h alone, C++" \
        c++ -x c++ -Wall -Wextra -Werror -I"$pfx/include" -fsyntax-only "$tmp/h.c"
fi

# 3. the man page
man1=$pfx/share/man/man1/arcvmm.1
check "arcvmm(1) renders without warnings" \
    test -z "$(LC_ALL=C groff -man -ww -z "$man1" 2>&1)"
sed 's/\\-/-/g' "$man1" > "$tmp/man.txt"     # roff's \- is a plain -
missing=
for o in $("$pfx/bin/arcvmm" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" "$tmp/man.txt" || missing="$missing $o"
done
check "arcvmm(1) names every option of --help${missing:+ (missing:$missing)}" test -z "$missing"
check "arcvmm(1) is of version $version" grep -q "^\.TH ARCVMM 1 .*\"arcvmm $version\"" "$man1"

# 4. a program built against the installed copy
export PKG_CONFIG_PATH=$pfx/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=
check "pkg-config --modversion arcvmm" test "$(pkg-config --modversion arcvmm)" = "$version"
prog=tests/cli/libuser.c
cflags=(-std=c11 -Wall -Wextra -Werror -O1)
# shellcheck disable=SC2046  # word splitting of pkg-config's output is meant
if cc "${cflags[@]}" -o "$tmp/libuser-shared" "$prog" $(pkg-config --cflags --libs arcvmm) 2>"$tmp/cc.log"; then
    ok "shared: cc ... \$(pkg-config --cflags --libs arcvmm) links"
else
    cat "$tmp/cc.log"; bad "shared: cc ... \$(pkg-config --cflags --libs arcvmm) links"
fi
# shellcheck disable=SC2046
if cc "${cflags[@]}" -static -o "$tmp/libuser-static" "$prog" $(pkg-config --static --cflags --libs arcvmm) \
        2>"$tmp/cc.log"; then
    ok "static: cc -static ... \$(pkg-config --static --cflags --libs arcvmm) links"
else
    cat "$tmp/cc.log"; bad "static: cc -static ... \$(pkg-config --static --cflags --libs arcvmm) links"
fi
if [ -x "$tmp/libuser-shared" ]; then
    check "shared: needs libarcvmm.so.0" \
        grep -q 'NEEDED.*\[libarcvmm.so.0\]' <(readelf -d "$tmp/libuser-shared")
    check "shared: resolves it in the staged lib/" \
        grep -q "libarcvmm.so.0 => $pfx/lib/libarcvmm.so.0" \
        <(LD_LIBRARY_PATH=$pfx/lib ldd "$tmp/libuser-shared")
fi
if [ -x "$tmp/libuser-static" ]; then
    check "static: no shared library at all" \
        test -z "$(readelf -d "$tmp/libuser-static" 2>/dev/null | grep NEEDED)"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    bad "NO /dev/kvm: the programs cannot boot the test guest here"; finish
fi
for kind in shared static; do
    [ -x "$tmp/libuser-$kind" ] || { bad "$kind: no program to run"; continue; }
    LD_LIBRARY_PATH=$pfx/lib "$tmp/libuser-$kind" "$guest" > "$tmp/run.log" 2>&1; rc=$?
    sed "s/^/  $kind: /" "$tmp/run.log"
    check "$kind: boots the test guest through the installed library (rc=$rc)" \
        grep -qE '^[1-9][0-9]* passed, 0 failed$' <(test "$rc" -eq 0 && cat "$tmp/run.log")
done
finish
