#!/usr/bin/env bash
# Builds arcvmm's default Linux guest, reproducibly, from Debian packages.
#
#   scripts/guest.sh [OUTDIR]          (default: build/guest)
#   ARCH=arm64 scripts/guest.sh [OUTDIR]   (default: build/arm64/guest)
#
# Outputs in OUTDIR (x86_64, the default):
#   bzImage              Debian's cloud kernel (linux-image-cloud-amd64)
#   vmlinux              the ELF inside bzImage (has the Xen PVH entry note)
#   initramfs.cpio.gz    busybox-static + tests/guest/init + virtio modules
#                        + /bin/blkload (tests/guest/blkload.c, static) +
#                        /bin/netload (tests/guest/netload.c, static) +
#                        mke2fs/mkfs.ext4 (e2fsprogs, with its libraries)
#   blkload, netload     the same static programs, for use outside the guest
#   vsockio              tests/guest/vsockio.c, static: in the initramfs as
#                        /bin/vsockio (AF_VSOCK end) and here for L1 (the
#                        AF_UNIX end of arcvmm --vsock), tests/e2e/vsock-l1.sh
#   kernel.txt           the Debian package name and version used
# With ARCH=arm64 (or aarch64) the same from Debian's arm64 packages
# (linux-image-cloud-arm64, busybox-static, e2fsprogs and its libraries,
# fetched with apt-get download after `dpkg --add-architecture arm64`),
# blkload and netload cross-built with aarch64-linux-gnu-gcc, and the kernel as:
#   Image                the uncompressed arm64 Image ("ARM\x64" at 0x38;
#                        a gzip or EFI-zboot vmlinuz is decompressed)
# The same tests/guest/init serves both (console=ttyAMA0 on arm64).
# The same inputs give byte-identical outputs (fixed order, mtimes, owners).
# Outputs are only replaced when their content changes.
#
# Environment:
#   ARCH               x86_64 (also amd64) or arm64 (also aarch64); default:
#                      this host's
#   ARCVMM_CACHE       download/unpack cache (default: build/cache)
#   ARCVMM_KERNEL_PKG  concrete kernel package to use instead of resolving
#                      linux-image-cloud-amd64 (e.g. linux-image-6.1.0-56-cloud-amd64)
#   ARCVMM_KERNEL_PKG_ARM64  the same for arm64 (e.g. linux-image-6.1.0-56-cloud-arm64)
#
# The file can also be sourced (scripts/rig.sh does) for its gk_* helpers:
#   gk_need_pkgs PKG...               apt-get install what is missing
#   gk_kernel                         sets GK_KVER, GK_KROOT (unpacked package)
#   gk_mod_order NAME...              prints module paths in load order
#   gk_stage_modules DEST NAME...     modules (decompressed) into DEST/lib/modules
#   gk_stage_busybox DEST             busybox-static + applet links into DEST
#   gk_stage_prog DEST PROG           PROG + its shared libraries, same paths
#                                     (arm64: PROG is a path in GK_A64, the
#                                     unpacked arm64 packages; see gk_arm64_root)
#   gk_build_blkload OUT              tests/guest/blkload.c -> static OUT
#   gk_build_tool NAME OUT            tests/guest/NAME.c -> static OUT
#   gk_pack_cpio DIR OUT [gzip|none]  reproducible newc archive of DIR
#   gk_arm64_root                     (arm64) sets GK_A64: busybox-static,
#                                     e2fsprogs and their libraries unpacked
#   gk_arm64_image IN OUT             (arm64) vmlinuz -> uncompressed Image
# Set GK_ARCH (or ARCH) before sourcing to pick the architecture.
set -euo pipefail

GK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GK_CACHE=${ARCVMM_CACHE:-$GK_ROOT/build/cache}
case "${GK_ARCH:-${ARCH:-$(uname -m)}}" in
x86_64 | amd64) GK_ARCH=x86_64 GK_DEBARCH=amd64 ;;
arm64 | aarch64) GK_ARCH=arm64 GK_DEBARCH=arm64 ;;
*) echo "guest.sh: error: unknown ARCH '${GK_ARCH:-$ARCH}' (x86_64 or arm64)" >&2; exit 1 ;;
esac
if [ "$GK_ARCH" = arm64 ]; then
    GK_META=linux-image-cloud-arm64:arm64
else
    GK_META=linux-image-cloud-amd64
fi
# arm64 packages unpacked into GK_A64 (gk_arm64_root): the guest's and the
# rig's busybox, e2fsprogs (mke2fs in the guest, e2fsck/debugfs in the rig)
# and the shared libraries they need.
GK_A64_PKGS=(busybox-static e2fsprogs libext2fs2 libcom-err2 libblkid1 libuuid1 libss2 libc6)
# The modules the guest's virtio devices need (their dependencies are added);
# virtio_pci lets the same guest run under the peers' PCI transport
# (kvmtool's default) in the benchmarks.
GK_GUEST_MODULES=(virtio_mmio virtio_pci virtio_blk virtio_net virtio_console virtio_rng
                  virtio_balloon vsock vmw_vsock_virtio_transport_common
                  vmw_vsock_virtio_transport virtiofs)

gk_die() { echo "guest.sh: error: $*" >&2; exit 1; }
gk_note() { echo "guest.sh: $*" >&2; }

# Installs the given Debian packages unless dpkg already has them (a
# package installed for two architectures, e.g. libc6-dev with arm64 added,
# is named with the host's architecture).
gk_need_pkgs() {
    local missing=() p arch
    arch=$(dpkg --print-architecture)
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || dpkg -s "$p:$arch" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    gk_note "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null || gk_die "apt-get update failed"
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            gk_die "cannot install ${missing[*]}"
    fi
}

# (arm64) Lets apt see arm64 packages: `dpkg --add-architecture arm64` and
# `apt-get update`, once; on x86_64 it does nothing.
gk_need_foreign_arch() {
    [ "$GK_ARCH" = arm64 ] || return 0
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        gk_note "adding the dpkg architecture arm64"
        dpkg --add-architecture arm64 || gk_die "dpkg --add-architecture arm64 failed"
        apt-get update -qq >/dev/null 2>&1 || gk_note "apt-get update reported errors"
    elif ! apt-cache show --no-all-versions "$GK_META" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || gk_note "apt-get update reported errors"
    fi
}

# Prints the concrete kernel package name (e.g. linux-image-6.1.0-56-cloud-amd64,
# or linux-image-6.1.0-56-cloud-arm64:arm64).
gk_kernel_pkg() {
    local pkg
    if [ "$GK_ARCH" = arm64 ] && [ -n "${ARCVMM_KERNEL_PKG_ARM64:-}" ]; then
        echo "${ARCVMM_KERNEL_PKG_ARM64%:*}:arm64"
        return
    fi
    if [ "$GK_ARCH" = x86_64 ] && [ -n "${ARCVMM_KERNEL_PKG:-}" ]; then
        echo "$ARCVMM_KERNEL_PKG"
        return
    fi
    gk_need_foreign_arch
    pkg=$(apt-cache depends "$GK_META" 2>/dev/null |
          awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
    if [ -z "$pkg" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        pkg=$(apt-cache depends "$GK_META" 2>/dev/null |
              awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
    fi
    echo "$pkg"
}

# Downloads and unpacks the kernel package once (cached under $GK_CACHE) and
# runs depmod on it.  Sets GK_PKG, GK_PKGVER, GK_KVER and GK_KROOT (the
# unpacked tree: GK_KROOT/boot/vmlinuz-$GK_KVER, GK_KROOT/lib/modules/$GK_KVER).
gk_kernel() {
    local pkg ver dir deb tmp name
    mkdir -p "$GK_CACHE/debs" "$GK_CACHE/kernel"
    exec 9>"$GK_CACHE/.lock"
    flock 9 # serialise concurrent downloads/unpacks
    pkg=$(gk_kernel_pkg)
    name=${pkg%%:*} # without the :arm64 qualifier
    if [ -z "$pkg" ]; then
        # Offline and no package lists: fall back to the newest cached tree.
        dir=$(ls -d "$GK_CACHE"/kernel/*-"$GK_DEBARCH"_*/.ok 2>/dev/null | sort -V | tail -n1) ||
            true
        [ -n "$dir" ] || gk_die "cannot resolve $GK_META (apt-cache depends) and nothing is cached"
        dir=${dir%/.ok}
        gk_note "apt lists unavailable; using cached $(basename "$dir")"
    else
        ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
              awk '$1 == "Version:" { print $2; exit }') || true
        dir="$GK_CACHE/kernel/${name}_${ver:-unknown}"
        if [ -z "$ver" ] || [ ! -f "$dir/.ok" ]; then
            [ -n "$ver" ] || gk_die "apt-cache knows no version of $pkg"
            deb=$(ls "$GK_CACHE/debs/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1) || true
            if [ -z "$deb" ]; then
                gk_note "downloading $pkg $ver"
                (cd "$GK_CACHE/debs" &&
                 apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null) ||
                    gk_die "apt-get download $pkg=$ver failed"
                deb=$(ls "$GK_CACHE/debs/${name}_"*.deb | head -n1)
            fi
            gk_need_pkgs kmod
            tmp="$dir.tmp.$$"
            rm -rf "$tmp"
            mkdir -p "$tmp"
            dpkg-deb -x "$deb" "$tmp" || gk_die "cannot unpack $deb"
            local kv
            kv=$(ls "$tmp/lib/modules" | head -n1)
            [ -n "$kv" ] || gk_die "$deb has no lib/modules"
            depmod -b "$tmp" "$kv" || gk_die "depmod failed for $kv"
            printf '%s %s %s\n' "$name" "$ver" "$kv" >"$tmp/.ok"
            rm -rf "$dir"
            mv "$tmp" "$dir"
        fi
    fi
    read -r GK_PKG GK_PKGVER GK_KVER <"$dir/.ok"
    GK_KROOT=$dir
    flock -u 9
    exec 9>&-
    [ -f "$GK_KROOT/boot/vmlinuz-$GK_KVER" ] || gk_die "no vmlinuz in $GK_KROOT"
}

# Module name as the kernel sees it: no directory, no .ko[.xz], '-' -> '_'.
gk_mod_norm() {
    local n=${1##*/}
    n=${n%%.ko*}
    echo "${n//-/_}"
}

# Prints the modules.dep paths (relative to lib/modules/$GK_KVER) of NAMEs
# and everything they depend on, each after its dependencies.  Names that are
# built in or absent are reported on stderr and skipped.
gk_mod_order() {
    local mdir="$GK_KROOT/lib/modules/$GK_KVER" line path deps n
    declare -A dep=() bypath=() builtin=() seen=()
    while IFS= read -r line; do
        path=${line%%:*}
        deps=${line#*:}
        dep[$path]=$deps
        bypath[$(gk_mod_norm "$path")]=$path
    done <"$mdir/modules.dep"
    if [ -f "$mdir/modules.builtin" ]; then
        while IFS= read -r line; do
            builtin[$(gk_mod_norm "$line")]=1
        done <"$mdir/modules.builtin"
    fi
    _gk_visit() {
        local p=$1 d
        [ -n "${seen[$p]:-}" ] && return 0
        seen[$p]=1
        for d in ${dep[$p]}; do _gk_visit "$d"; done
        echo "$p"
    }
    for n in "$@"; do
        n=$(gk_mod_norm "$n")
        if [ -n "${bypath[$n]:-}" ]; then
            _gk_visit "${bypath[$n]}"
        elif [ -n "${builtin[$n]:-}" ]; then
            gk_note "module $n is built in"
        else
            gk_note "module $n is absent from $GK_KVER, skipped"
        fi
    done
}

# Copies NAMEs and their dependencies into DEST/lib/modules/<name>.ko
# (decompressed) and writes DEST/lib/modules/load-order.
gk_stage_modules() {
    local dest=$1; shift
    local mdir="$GK_KROOT/lib/modules/$GK_KVER" order p base
    order=$(gk_mod_order "$@")
    mkdir -p "$dest/lib/modules"
    : >"$dest/lib/modules/load-order"
    for p in $order; do
        base=${p##*/}
        case "$base" in
        *.ko)     cp "$mdir/$p" "$dest/lib/modules/$base" ;;
        *.ko.xz)  base=${base%.xz};  xz -dc "$mdir/$p" >"$dest/lib/modules/$base" ;;
        *.ko.gz)  base=${base%.gz};  gzip -dc "$mdir/$p" >"$dest/lib/modules/$base" ;;
        *.ko.zst) base=${base%.zst}; gk_need_pkgs zstd
                  zstd -qdc "$mdir/$p" >"$dest/lib/modules/$base" ;;
        *) gk_die "unknown module format: $p" ;;
        esac
        echo "$base" >>"$dest/lib/modules/load-order"
    done
}

# Installs busybox-static as DEST/bin/busybox with a link for every applet.
# arm64: the arm64 package's busybox; the applet list comes from the host's
# busybox-static, which must be the same Debian version (same build config).
gk_stage_busybox() {
    local dest=$1 a
    gk_need_pkgs busybox-static
    mkdir -p "$dest/bin" "$dest/sbin" "$dest/usr/bin" "$dest/usr/sbin"
    /bin/busybox --list-full 2>/dev/null | grep -qx bin/sh ||
        gk_die "/bin/busybox is not busybox (try: apt-get install --reinstall busybox-static)"
    if [ "$GK_ARCH" = arm64 ]; then
        gk_arm64_root
        local hv av
        hv=$(dpkg-query -W -f '${Version}' busybox-static)
        av=$(cat "$GK_A64/.busybox-version")
        [ "$hv" = "$av" ] ||
            gk_die "host busybox-static $hv differs from arm64 $av (its applet list is used): apt-get install busybox-static=$av"
        cp "$GK_A64/bin/busybox" "$dest/bin/busybox"
    else
        cp /bin/busybox "$dest/bin/busybox"
    fi
    for a in $(/bin/busybox --list-full); do
        case "$a" in linuxrc | bin/busybox) continue ;; esac
        [ -e "$dest/$a" ] || ln -s /bin/busybox "$dest/$a"
    done
}

# Copies host program PROG (symlinks resolved, replacing e.g. a busybox
# applet link) and the shared libraries and loader it needs (ldd) to the same
# absolute paths under DEST.
gk_stage_prog() {
    local dest=$1 prog=$2 lib
    if [ "$GK_ARCH" = arm64 ]; then
        gk_arm64_root
        gk_stage_cross "$dest" "$GK_A64" "$prog"
        return
    fi
    [ -f "$prog" ] || gk_die "$prog: no such program"
    mkdir -p "$dest$(dirname "$prog")"
    rm -f "$dest$prog"
    cp -L "$prog" "$dest$prog"
    chmod 0755 "$dest$prog"
    for lib in $({ ldd "$prog" 2>/dev/null || true; } |
                 awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        [ -e "$dest$lib" ] && continue
        mkdir -p "$dest$(dirname "$lib")"
        cp -L "$lib" "$dest$lib"
    done
}

# Builds tests/guest/NAME.c (blkload, netload) as a static, stripped x86_64
# (arm64: aarch64, cross-compiled) binary OUT.
gk_build_tool() {
    local src=$GK_ROOT/tests/guest/$1.c
    if [ "$GK_ARCH" = arm64 ]; then
        gk_need_pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross
        aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -s -pthread -o "$2" \
            "$src" || gk_die "cannot build $1 for arm64"
        return
    fi
    gk_need_pkgs gcc libc6-dev
    gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -s -pthread -o "$2" "$src" ||
        gk_die "cannot build $1"
}
gk_build_blkload() { gk_build_tool blkload "$1"; }

# Packs directory DIR into a newc cpio at OUT, compressed with gzip (default)
# or not (none).  Owners, mtimes, inode numbers and order are fixed.
gk_pack_cpio() {
    local dir=$1 out=$2 comp=${3:-gzip}
    gk_need_pkgs cpio
    find "$dir" -type d -exec chmod 0755 {} +
    find "$dir" -exec touch -h -d @0 {} +
    (
        cd "$dir"
        find . -mindepth 1 -print0 | LC_ALL=C sort -z |
            cpio -o -H newc --null --reproducible --owner=0:0 --quiet
    ) | if [ "$comp" = gzip ]; then gzip -n -9; else cat; fi >"$out"
}

# ---- arm64: packages of a foreign architecture, used without installing ----

# Downloads GK_A64_PKGS for arm64 (once, into $GK_CACHE/debs) and unpacks
# them into GK_A64=$GK_CACHE/arm64/root (not installed: nothing runs them
# on this host).  Remembers busybox-static's version in $GK_A64/.busybox-version.
gk_arm64_root() {
    GK_A64="$GK_CACHE/arm64/root"
    [ -z "${_GK_A64_DONE:-}" ] || return 0
    local p ver deb
    mkdir -p "$GK_CACHE/debs" "$GK_A64/.debs"
    gk_need_foreign_arch
    exec 8>"$GK_CACHE/.lock-arm64"
    flock 8
    for p in "${GK_A64_PKGS[@]}"; do
        ver=$(apt-cache show --no-all-versions "$p:arm64" 2>/dev/null |
              awk '$1 == "Version:" { print $2; exit }') || true
        if [ -z "$ver" ]; then
            # Offline: use whatever version was unpacked before.
            deb=$(ls "$GK_A64/.debs/${p}_"*_arm64.deb 2>/dev/null | tail -n1) || true
            [ -n "$deb" ] || gk_die "apt-cache knows no arm64 version of $p and nothing is cached"
            continue
        fi
        deb="${p}_${ver//:/%3a}_arm64.deb"
        if [ ! -f "$GK_CACHE/debs/$deb" ]; then
            gk_note "downloading $p:arm64 $ver"
            (cd "$GK_CACHE/debs" &&
             apt-get download -qq -o APT::Sandbox::User=root "$p:arm64=$ver" >/dev/null) ||
                gk_die "apt-get download $p:arm64=$ver failed"
        fi
        if [ ! -f "$GK_A64/.debs/$deb" ]; then
            rm -f "$GK_A64/.debs/${p}_"*_arm64.deb
            dpkg-deb -x "$GK_CACHE/debs/$deb" "$GK_A64" || gk_die "cannot unpack $deb"
            : >"$GK_A64/.debs/$deb"
            [ "$p" != busybox-static ] || echo "$ver" >"$GK_A64/.busybox-version"
        fi
    done
    flock -u 8
    exec 8>&-
    [ -f "$GK_A64/bin/busybox" ] && [ -f "$GK_A64/.busybox-version" ] ||
        gk_die "$GK_A64 has no busybox"
    _GK_A64_DONE=1
}

# Prints ROOT's file for absolute path P inside ROOT, following symlinks
# (absolute ones relative to ROOT) through every component.
gk_root_path() {
    local root=$1 p=$2 out="" comp t n=0 rest
    rest=${p#/}
    while [ -n "$rest" ]; do
        comp=${rest%%/*}
        if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
        case "$comp" in '' | .) continue ;; ..) out=${out%/*}; continue ;; esac
        if [ -L "$root$out/$comp" ]; then
            n=$((n + 1))
            [ "$n" -le 40 ] || gk_die "$root$p: too many symlinks"
            t=$(readlink "$root$out/$comp")
            case "$t" in /*) out="" ;; esac
            rest="${t#/}${rest:+/$rest}"
        else
            out="$out/$comp"
        fi
    done
    echo "$root$out"
}

# Copies program PROG of sysroot ROOT (a path inside ROOT, symlinks
# resolved) to DEST at the same path, with its ELF interpreter and every
# shared library it needs (readelf's NEEDED entries, recursively, searched
# in ROOT's multiarch and plain lib directories), each at its path in ROOT.
gk_stage_cross() {
    local dest=$1 root=$2 prog=$3 f src interp lib d found
    gk_need_pkgs binutils
    src=$(gk_root_path "$root" "$prog")
    [ -f "$src" ] || gk_die "$prog: not in $root"
    local todo=("$prog") seen=" "
    while [ ${#todo[@]} -gt 0 ]; do
        f=${todo[0]}
        todo=("${todo[@]:1}")
        case "$seen" in *" $f "*) continue ;; esac
        seen="$seen$f "
        src=$(gk_root_path "$root" "$f")
        mkdir -p "$dest$(dirname "$f")"
        rm -f "$dest$f" # may be a busybox applet link: never copy through it
        cp "$src" "$dest$f"
        interp=$(readelf -lW "$src" 2>/dev/null | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
        [ -z "$interp" ] || todo+=("$interp")
        for lib in $(readelf -dW "$src" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
            [ "$lib" != "${interp##*/}" ] || continue # the loader, staged at its own path
            found=""
            for d in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /lib /usr/lib; do
                if [ -f "$(gk_root_path "$root" "$d/$lib")" ]; then found=$d/$lib; break; fi
            done
            [ -n "$found" ] || gk_die "$prog needs $lib, which is not in $root"
            todo+=("$found")
        done
    done
    chmod 0755 "$dest$prog"
}

# Writes the uncompressed arm64 Image from Debian's vmlinuz IN to OUT: IN as
# is when it already is an Image, else decompressed (gzip, or an EFI zboot
# image: "zimg" at 4, payload offset/size at 8/12, compression name at 0x18).
gk_arm64_image() {
    local in=$1 out=$2 off size comp
    if [ "$(dd if="$in" bs=1 skip=4 count=4 status=none)" = zimg ]; then
        off=$(od -An -tu4 -j8 -N4 "$in" | tr -d ' ')
        size=$(od -An -tu4 -j12 -N4 "$in" | tr -d ' ')
        comp=$(dd if="$in" bs=1 skip=24 count=32 status=none | tr -d '\0')
        # shellcheck disable=SC2054 # dd operands, not array separators
        local payload=(dd if="$in" iflag=skip_bytes,count_bytes skip="$off" count="$size" bs=1M status=none)
        case "$comp" in
        gzip) "${payload[@]}" | gzip -dc >"$out" ;;
        zstd*) gk_need_pkgs zstd; "${payload[@]}" | zstd -qdc >"$out" ;;
        xz*) gk_need_pkgs xz-utils; "${payload[@]}" | xz -dc >"$out" ;;
        lz4) gk_need_pkgs lz4; "${payload[@]}" | lz4 -dc >"$out" ;;
        *) gk_die "$in: EFI zboot image compressed with '$comp', not supported" ;;
        esac
    elif [ "$(od -An -tx1 -N2 "$in" | tr -d ' ')" = 1f8b ]; then
        gzip -dc "$in" >"$out"
    else
        cp "$in" "$out"
    fi
    [ "$(od -An -tx1 -j $((0x38)) -N4 "$out" | tr -d ' ')" = 41524d64 ] ||
        gk_die "$in: not an arm64 Image (no \"ARM\\x64\" magic at 0x38)"
}

# Replaces DST by SRC if their contents differ (keeps DST's mtime otherwise).
gk_install() {
    if cmp -s "$1" "$2"; then rm -f "$1"; else mv -f "$1" "$2"; fi
}

# Extracts the vmlinux ELF from bzImage IN into OUT.
gk_extract_vmlinux() {
    local in=$1 out=$2 setup_sects pm off len magic size
    u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$in" | tr -d ' ')
    [ "$setup_sects" -ne 0 ] || setup_sects=4
    pm=$(((setup_sects + 1) * 512))
    off=$((pm + $(u32 "$in" $((0x248)))))
    len=$(u32 "$in" $((0x24c)))
    [ "$len" -gt 4 ] || gk_die "$in: no payload in the setup header"
    # The kernel build appends the uncompressed size (le32) to the payload.
    size=$(u32 "$in" $((off + len - 4)))
    magic=$(od -An -tx1 -j "$off" -N6 "$in" | tr -d ' \n')
    # shellcheck disable=SC2054 # dd operands, not array separators
    local payload=(dd if="$in" iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) bs=1M status=none)
    case "$magic" in
    02214c18*)     gk_need_pkgs lz4;  "${payload[@]}" | lz4 -dc >"$out" ;;
    fd377a585a00)  gk_need_pkgs xz-utils; "${payload[@]}" | xz -dc --single-stream >"$out" ;;
    1f8b*)         "${payload[@]}" | gzip -dc >"$out" ;;
    28b52ffd*)     gk_need_pkgs zstd; "${payload[@]}" | zstd -qdc >"$out" ;;
    *) gk_die "$in: unsupported kernel compression (magic $magic)" ;;
    esac
    [ "$(stat -c %s "$out")" -eq "$size" ] ||
        gk_die "$in: decompressed $(stat -c %s "$out") bytes, header says $size"
    [ "$(od -An -tx1 -N4 "$out" | tr -d ' ')" = 7f454c46 ] || gk_die "$out is not an ELF"
    gk_need_pkgs binutils
    readelf -n "$out" | grep -Eq 'XEN_ELFNOTE_PHYS32_ENTRY|note type: \(0x0*12\)' ||
        gk_die "$out has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"
}

gk_main() {
    local out=${1:-$GK_ROOT/build/guest} kfiles=(bzImage vmlinux) a64=0
    if [ "$GK_ARCH" = arm64 ]; then
        a64=1 out=${1:-$GK_ROOT/build/arm64/guest} kfiles=(Image)
    fi
    [ $# -le 1 ] || gk_die "usage: [ARCH=arm64] scripts/guest.sh [OUTDIR]"
    [ -f "$GK_ROOT/tests/guest/init" ] || gk_die "missing tests/guest/init"
    gk_need_pkgs busybox-static cpio kmod lz4 xz-utils binutils e2fsprogs
    gk_kernel
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    GK_WORK=$(mktemp -d "$out/.work.XXXXXX")
    trap 'rm -rf "$GK_WORK"' EXIT
    local work=$GK_WORK

    if [ "$a64" = 1 ]; then
        gk_arm64_image "$GK_KROOT/boot/vmlinuz-$GK_KVER" "$work/Image"
    else
        cp "$GK_KROOT/boot/vmlinuz-$GK_KVER" "$work/bzImage"
        gk_extract_vmlinux "$work/bzImage" "$work/vmlinux"
    fi

    local r="$work/root"
    mkdir -p "$r"/{dev,proc,sys,tmp,run,root,etc,mnt}
    gk_stage_busybox "$r"
    gk_stage_modules "$r" "${GK_GUEST_MODULES[@]}"
    cp "$GK_ROOT/tests/guest/init" "$r/init"
    # Block-device tools: the load generator and mkfs.ext4 (real e2fsprogs
    # instead of busybox's mke2fs applet, which makes ext2 only).
    gk_build_blkload "$work/blkload"
    cp "$work/blkload" "$r/bin/blkload"
    # The network load generator (bench/net.sh, tests/e2e/net-features-l1.sh).
    gk_build_tool netload "$work/netload"
    cp "$work/netload" "$r/bin/netload"
    # both ends of the vsock tests (AF_VSOCK in the guest, AF_UNIX in L1)
    gk_build_tool vsockio "$work/vsockio"
    cp "$work/vsockio" "$r/bin/vsockio"
    gk_stage_prog "$r" /sbin/mke2fs
    ln -sf mke2fs "$r/sbin/mkfs.ext4"
    if [ "$a64" = 1 ]; then
        cp "$GK_A64/etc/mke2fs.conf" "$r/etc/mke2fs.conf"
    else
        cp /etc/mke2fs.conf "$r/etc/mke2fs.conf"
    fi
    ln -s /proc/mounts "$r/etc/mtab"
    find "$r" -type f -exec chmod 0644 {} +
    chmod 0755 "$r/init" "$r/bin/busybox" "$r/bin/blkload" "$r/bin/netload" "$r/bin/vsockio" "$r/sbin/mke2fs"
    find "$r/lib" "$r/lib64" -name 'ld-linux*' -exec chmod 0755 {} + 2>/dev/null || true
    gk_pack_cpio "$r" "$work/initramfs.cpio.gz" gzip

    printf '%s %s %s\n' "$GK_PKG" "$GK_PKGVER" "$GK_KVER" >"$work/kernel.txt"
    local f
    for f in "${kfiles[@]}" initramfs.cpio.gz blkload netload vsockio kernel.txt; do
        gk_install "$work/$f" "$out/$f"
    done
    echo "guest: $out ($GK_PKG $GK_PKGVER; modules: $(tr '\n' ' ' <"$r/lib/modules/load-order"))"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    gk_main "$@"
fi
