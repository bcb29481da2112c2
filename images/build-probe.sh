#!/bin/bash
# Build the vmserial probe guest: a Debian kernel plus a tiny busybox initramfs
# whose /init (images/probe-init) reports the disk serials and SMBIOS identity
# the guest sees on its second serial port (ttyS1).
#
# Output (in images/build/, git-ignored):
#   probe-vmlinuz      copy of /boot/vmlinuz-$KVER
#   probe-vmlinux      the same kernel uncompressed (ELF with a PVH entry note):
#                      QEMU boots it directly (-kernel probe-vmlinux), skipping
#                      the in-guest decompression, which costs seconds under TCG
#   probe-initrd.img   gzip'd newc cpio: busybox-static, the storage modules, /init
#                      (and ext4 for vmserial.mode=boot, see BOOT_MODULES)
#   probe.stamp        hash of every input; an unchanged hash means nothing to do
#
# Environment:
#   KVER=6.1.0-56-amd64   kernel to use (default: newest /boot/vmlinuz-*-amd64)
#   OUT=DIR               output directory (default: images/build next to this script)
#   FORCE=1               rebuild even when the inputs did not change
#   PVH=0                 do not make probe-vmlinux
#
# Needs only Debian packages: linux-image-amd64, busybox-static, cpio, kmod, gzip
# (xz-utils / zstd only if the modules are compressed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE/build}
INIT_SRC=$HERE/probe-init
GATHER_SRC=$HERE/gather.sh   # sourced by /init: the gathering shared with the guest reporter
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "build-probe: $*" >&2; exit 1; }
log() { echo "build-probe: $*" >&2; }

# Modules the probe needs, in the order the init loads them (their dependencies,
# as modprobe resolves them, are inserted before each one). sd_mod comes before
# the SCSI/ATA host drivers so disks bind as soon as the host scan finds them.
TARGET_MODULES=(
    virtio virtio_ring virtio_pci virtio_blk
    scsi_mod sd_mod virtio_scsi
    libata libahci ahci
    nvme_core nvme
)
# Loaded only in boot mode (vmserial.mode=boot: the initramfs mounts a guest's root
# filesystem), after the modules above; listed in /etc/boot-modules. Report and ping
# mode never load them.
BOOT_MODULES=( ext4 )
# Soft dependencies modprobe does not list: crc64-rocksoft (needed by t10-pi, so
# by sd_mod and nvme-core) asks the crypto API for "crc64-rocksoft" when it loads;
# crc64_rocksoft_generic provides it and the initramfs has no modprobe to load it
# on demand, so it goes in first. (Its declared softdep "pre: crc64" only pulls
# lib/crc64, which is a hard dependency anyway.)
declare -A SOFT_PRE=( [crc64_rocksoft]="crc64_rocksoft_generic" )

# ---- kernel ------------------------------------------------------------------
if [[ -z "${KVER:-}" ]]; then
    KVER=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n1 || true)
    [[ -n "$KVER" ]] || die "no /boot/vmlinuz-*-amd64 found (apt-get install linux-image-amd64)"
fi
KERNEL=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[[ -r "$KERNEL" ]] || die "$KERNEL not readable (install linux-image-amd64, run as root)"
[[ -d "$MODDIR" ]] || die "$MODDIR missing"
[[ -x "$BUSYBOX" ]] || die "$BUSYBOX missing (apt-get install busybox-static)"
"$BUSYBOX" --list >/dev/null 2>&1 || die "$BUSYBOX is not a busybox binary"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is dynamically linked; install busybox-static"; fi
[[ -r "$INIT_SRC" ]] || die "$INIT_SRC missing"
PVH=${PVH:-1}
if [[ "$PVH" != 0 ]] && ! grep -qx 'CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null; then
    log "kernel $KVER has no CONFIG_PVH=y (or no /boot/config-$KVER): not making probe-vmlinux"
    PVH=0
fi
command -v modprobe >/dev/null || die "modprobe missing (apt-get install kmod)"
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"

# ---- module list (ordered, de-duplicated) ---------------------------------------
declare -A SEEN=()
MODS=()                 # absolute paths in load order
add_mod_path() {
    local p=$1
    [[ -n "${SEEN[$p]:-}" ]] && return 0
    SEEN[$p]=1
    MODS+=("$p")
}
modname_of() { local b=${1##*/}; b=${b%%.ko*}; echo "${b//-/_}"; }
add_module() {  # NAME: add it with its dependencies (and soft pre-dependencies)
    local name=$1 verb path
    local deps
    deps=$(modprobe -S "$KVER" --show-depends "$name" 2>/dev/null) \
        || die "modprobe -S $KVER --show-depends $name failed"
    while read -r verb path _; do
        case $verb in
        insmod)
            local mn; mn=$(modname_of "$path")
            if [[ -n "${SOFT_PRE[$mn]:-}" ]]; then
                local pre
                for pre in ${SOFT_PRE[$mn]}; do add_module "$pre"; done
            fi
            add_mod_path "$path" ;;
        builtin) ;;     # built into the kernel: nothing to load
        *) die "unexpected modprobe output for $name: $verb $path" ;;
        esac
    done <<<"$deps"
}
for m in "${TARGET_MODULES[@]}"; do add_module "$m"; done
((${#MODS[@]} > 0)) || die "no modules resolved"
NPROBE=${#MODS[@]}      # MODS[0..NPROBE-1]: /etc/probe-modules; the rest: /etc/boot-modules
for m in "${BOOT_MODULES[@]}"; do add_module "$m"; done

# ---- up-to-date check -------------------------------------------------------------
INITRD=$OUT/probe-initrd.img
VMLINUZ=$OUT/probe-vmlinuz
VMLINUX=$OUT/probe-vmlinux
STAMP=$OUT/probe.stamp
inputs_hash() {
    {
        echo "kver $KVER pvh $PVH"
        sha256sum "${BASH_SOURCE[0]}" "$INIT_SRC" "$GATHER_SRC" "$BUSYBOX" "$KERNEL" "${MODS[@]}" | cut -d" " -f1
    } | sha256sum | cut -d' ' -f1
}
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9 2>/dev/null || true
HASH=$(inputs_hash)
if [[ -z "${FORCE:-}" && -f "$STAMP" && -f "$INITRD" && -f "$VMLINUZ" \
      && ( "$PVH" == 0 || -f "$VMLINUX" || -f "$VMLINUX.unavailable" ) \
      && "$(cat "$STAMP")" == "$HASH" ]]; then
    log "up to date ($KVER)"
    touch "$INITRD" "$VMLINUZ" "$STAMP"   # keep make's timestamps happy
    [[ "$PVH" == 0 || ! -f "$VMLINUX" ]] || touch "$VMLINUX"
    exit 0
fi

# ---- staging tree -------------------------------------------------------------------
STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$STAGE" "$OUT"/.probe-*.tmp' EXIT
cd "$STAGE"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp etc root "lib/modules/$KVER"
chmod 1777 tmp
cp "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox
# applet symlinks at build time (faster than `busybox --install -s` at boot)
while read -r applet; do
    [[ -z "$applet" || "$applet" == */busybox ]] && continue
    dir=${applet%/*}; base=${applet##*/}
    mkdir -p "$dir"
    [[ -e "$applet" || -L "$applet" ]] && continue
    ln -s /bin/busybox "$applet"
done < <("$BUSYBOX" --list-full)
# /dev/console so the kernel can give /init its stdio even before devtmpfs is mounted
mknod -m 600 dev/console c 5 1 2>/dev/null || true
mknod -m 666 dev/null c 1 3 2>/dev/null || true

# modules, decompressed, in load order (etc/probe-modules: one path a line; the
# boot-mode-only ones in etc/boot-modules)
: > etc/probe-modules
: > etc/boot-modules
i=0
for p in "${MODS[@]}"; do
    rel=${p#"$MODDIR"/}
    dst=lib/modules/$KVER/${rel%.xz}; dst=${dst%.zst}; dst=${dst%.gz}
    mkdir -p "$(dirname "$dst")"
    case $p in
    *.ko)     cp "$p" "$dst" ;;
    *.ko.xz)  xz -dc "$p" > "$dst" ;;
    *.ko.zst) zstd -qdc "$p" > "$dst" ;;
    *.ko.gz)  gzip -dc "$p" > "$dst" ;;
    *) die "unknown module format: $p" ;;
    esac
    if ((i < NPROBE)); then echo "/$dst" >> etc/probe-modules; else echo "/$dst" >> etc/boot-modules; fi
    i=$((i + 1))
done
echo "$KVER" > etc/probe-kver

install -m 0755 "$INIT_SRC" init
mkdir -p lib
install -m 0644 "$GATHER_SRC" lib/vmserial-gather.sh

# reproducible archive: sorted names, root owner, fixed mtimes
find . -exec touch -h -d @0 {} + 2>/dev/null || true
find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort \
    | cpio --quiet -o -H newc -R 0:0 --reproducible \
    | gzip -n -9 > "$OUT/.probe-initrd.tmp"
cp "$KERNEL" "$OUT/.probe-vmlinuz.tmp"

# Uncompressed kernel for PVH boot: the bzImage payload is a compressed ELF
# vmlinux; find the compressed stream (like the kernel's scripts/extract-vmlinux)
extract_vmlinux() {   # BZIMAGE OUTFILE
    local img=$1 out=$2 magic cmd off
    for pair in 'xz|\xfd7zXZ\x00' 'zstd|\x28\xb5\x2f\xfd' 'gzip|\x1f\x8b\x08'; do
        cmd=${pair%%|*}; magic=${pair#*|}
        command -v "$cmd" >/dev/null || continue
        for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | cut -d: -f1); do
            case $cmd in
            xz)   tail -c +$((off + 1)) "$img" | xz -dc --single-stream > "$out" 2>/dev/null ;;
            zstd) tail -c +$((off + 1)) "$img" | zstd -qdc > "$out" 2>/dev/null ;;
            gzip) tail -c +$((off + 1)) "$img" | gzip -dc > "$out" 2>/dev/null ;;
            esac
            if [[ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' \n')" == 7f454c46 ]]; then
                return 0
            fi
        done
    done
    rm -f "$out"
    return 1
}
if [[ "$PVH" != 0 ]]; then
    if ! extract_vmlinux "$KERNEL" "$OUT/.probe-vmlinux.tmp"; then
        log "could not extract an ELF vmlinux from $KERNEL: not making probe-vmlinux"
        PVH=0
        : > "$VMLINUX.unavailable"
    fi
fi
mv -f "$OUT/.probe-initrd.tmp" "$INITRD"
mv -f "$OUT/.probe-vmlinuz.tmp" "$VMLINUZ"
if [[ "$PVH" != 0 ]]; then
    mv -f "$OUT/.probe-vmlinux.tmp" "$VMLINUX"
    rm -f "$VMLINUX.unavailable"
else
    rm -f "$VMLINUX"
fi
echo "$HASH" > "$STAMP"
log "built $INITRD ($(stat -c %s "$INITRD") bytes, $NPROBE + $((${#MODS[@]} - NPROBE)) boot-only modules), $VMLINUZ$([[ "$PVH" == 0 ]] || echo " and $VMLINUX") ($KVER)"
