#!/usr/bin/env bash
# Builds build/appliance: a libguestfs "fixed appliance" (README.fixed, kernel, initrd, root)
# whose kernel is the uncompressed PVH probe-vmlinux instead of the distribution's bzImage.
# Under TCG the appliance's QEMU then skips the kernel's self-decompression: about 4 s of
# the 13-15 s an appliance start takes here. vmserial uses it when it exists (see README:
# "Guest mode"); without it libguestfs builds and uses its usual supermin appliance.
#   OUT=images/build bash images/build-appliance.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/build}
KERNEL=$OUT/probe-vmlinux
DEST=$OUT/appliance
TMP=$OUT/.appliance.tmp
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
say() { printf 'images: %s\n' "$*"; }

command -v libguestfs-make-fixed-appliance >/dev/null || { say "libguestfs-make-fixed-appliance missing (apt install libguestfs-tools)"; exit 1; }
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
say "building the libguestfs appliance (supermin) into a fixed appliance"
libguestfs-make-fixed-appliance "$TMP"
# The kernel must match the modules supermin put into the appliance's root.
modules=$(debugfs -R 'ls -p /lib/modules' "$TMP/root" 2>/dev/null | awk -F/ '$6 != "." && $6 != ".." && $6 != "" {print $6}' | head -n1)
kver=$(cut -d' ' -f1 "$OUT/.kver" 2>/dev/null || true)
if [ ! -f "$KERNEL" ]; then
  say "no $KERNEL (PVH=0?): keeping the appliance's own kernel"
elif [ -z "$modules" ] || [ "$modules" != "$kver" ]; then
  say "the appliance's modules ($modules) are not the probe kernel's ($kver): keeping the appliance's own kernel"
else
  cp "$KERNEL" "$TMP/kernel"
  say "appliance kernel: probe-vmlinux ($kver, PVH entry)"
fi
# Prove it starts before it replaces the previous one.
LIBGUESTFS_PATH=$TMP guestfish -a /dev/null run
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
say "appliance ready in $DEST"
