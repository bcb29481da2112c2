#!/bin/bash
# Build the vmserial test guest: a small real Linux root disk (busybox userland,
# busybox init with init.d scripts) that boots with the probe kernel and the probe
# initramfs in boot mode:
#   -kernel probe-vmlinux -initrd probe-initrd.img
#   -append 'console=ttyS0 vmserial.mode=boot root=LABEL=vmroot'
#
# Output (in images/build/, git-ignored):
#   guest.qcow2   qcow2, 128 MiB virtual: MBR, one ext4 partition labelled vmroot
#                 holding busybox-static + the files of images/guest/
#   guest.stamp   hash of every input; an unchanged hash means nothing to do
#
# The image is built in a temporary file and renamed at the end, so a failed or
# interrupted build never leaves a half-written guest.qcow2. The build checks the
# result with libguestfs inspection (inspect-os must find the Linux root).
#
# Environment:
#   OUT=DIR      output directory (default: images/build next to this script)
#   FORCE=1      rebuild even when the inputs did not change
#   SIZE=128M    virtual disk size
#   LIBGUESTFS_BACKEND / LIBGUESTFS_BACKEND_SETTINGS: default direct / force_tcg
#                (KVM is unusable on the project's build machine); set
#                LIBGUESTFS_BACKEND_SETTINGS= (empty) to let libguestfs use KVM.
#
# Needs only Debian packages: busybox-static, libguestfs-tools (guestfish),
# qemu-utils (qemu-img), tar. Nothing is downloaded.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE/build}
TREE=$HERE/guest
BUSYBOX=${BUSYBOX:-/bin/busybox}
SIZE=${SIZE:-128M}
LABEL=vmroot
# fixed filesystem UUID: root=UUID=... works too, and the image is the same every build
FSUUID=7a3c5e1d-2b4f-4c6a-8e9d-1f0a2b3c4d5e
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}

die() { echo "build-guest: $*" >&2; exit 1; }
log() { echo "build-guest: $*" >&2; }

[[ -x "$BUSYBOX" ]] || die "$BUSYBOX missing (apt-get install busybox-static)"
"$BUSYBOX" --list >/dev/null 2>&1 || die "$BUSYBOX is not a busybox binary"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is dynamically linked; install busybox-static"; fi
[[ -d "$TREE" ]] || die "$TREE missing"
command -v guestfish >/dev/null || die "guestfish missing (apt-get install libguestfs-tools)"
command -v qemu-img >/dev/null || die "qemu-img missing (apt-get install qemu-utils)"

IMAGE=$OUT/guest.qcow2
STAMP=$OUT/guest.stamp
inputs_hash() {
    {
        echo "size $SIZE label $LABEL uuid $FSUUID"
        sha256sum "${BASH_SOURCE[0]}" "$BUSYBOX" | cut -d' ' -f1
        # the tree: names, types and contents (modes are set by this script)
        (cd "$TREE" && find . -print0 | LC_ALL=C sort -z \
            | xargs -0 stat -c '%n %F' && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}
mkdir -p "$OUT"
exec 9>"$OUT/.guest.lock"
flock 9 2>/dev/null || true
HASH=$(inputs_hash)
if [[ -z "${FORCE:-}" && -f "$STAMP" && -f "$IMAGE" && "$(cat "$STAMP")" == "$HASH" ]]; then
    log "up to date"
    touch "$IMAGE" "$STAMP"   # keep make's timestamps happy
    exit 0
fi

STAGE=$(mktemp -d "$OUT/.guest-stage.XXXXXX")
TMPIMG=$OUT/.guest.tmp.qcow2
trap 'rm -rf "$STAGE" "$TMPIMG"' EXIT

# ---- root tree -----------------------------------------------------------------------
ROOT=$STAGE/root
mkdir -p "$ROOT"
cd "$ROOT"
mkdir -p bin sbin usr/bin usr/sbin usr/local/bin usr/local/sbin proc sys dev run tmp \
         root mnt etc/init.d var/lib var/log var/tmp
chmod 1777 tmp var/tmp
chmod 0700 root
cp "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox
# applet symlinks (sbin/init among them)
while read -r applet; do
    [[ -z "$applet" || "$applet" == */busybox ]] && continue
    dir=${applet%/*}
    mkdir -p "$dir"
    [[ -e "$applet" || -L "$applet" ]] && continue
    ln -s /bin/busybox "$applet"
done < <("$BUSYBOX" --list-full)
[[ -L sbin/init ]] || die "busybox has no init applet"
# the files of images/guest/: 0644, scripts in etc/init.d 0755, etc/shadow 0640
# (whatever the checkout's modes and umask)
cp -R "$TREE/." "$ROOT/"
(cd "$TREE" && find . -type d) | while read -r dir; do chmod 0755 "$ROOT/$dir"; done
(cd "$TREE" && find . -type f) | while read -r file; do chmod 0644 "$ROOT/$file"; done
chmod 0755 etc/init.d/*
chmod 0640 etc/shadow
# os-release also where systemd looks first
mkdir -p usr/lib
ln -sf ../../etc/os-release usr/lib/os-release
ln -sf /proc/mounts etc/mtab
tar -C "$ROOT" --numeric-owner --owner=0 --group=0 -cf "$STAGE/root.tar" .

# ---- disk image -------------------------------------------------------------------------
rm -f "$TMPIMG"
qemu-img create -q -f qcow2 "$TMPIMG" "$SIZE"
log "making the filesystem (libguestfs, $LIBGUESTFS_BACKEND${LIBGUESTFS_BACKEND_SETTINGS:+ $LIBGUESTFS_BACKEND_SETTINGS})"
INSPECT=$(guestfish --rw --format=qcow2 -a "$TMPIMG" <<EOF
run
part-disk /dev/sda mbr
part-set-bootable /dev/sda 1 true
mkfs ext4 /dev/sda1 label:$LABEL
set-uuid /dev/sda1 $FSUUID
mount /dev/sda1 /
tar-in $STAGE/root.tar /
mknod-c 0600 5 1 /dev/console
mknod-c 0666 1 3 /dev/null
mknod-c 0620 4 64 /dev/ttyS0
chmod 01777 /tmp
chmod 0700 /root
sync
umount-all
echo root: 
inspect-os
echo type:
inspect-get-type /dev/sda1
echo distro:
inspect-get-distro /dev/sda1
echo product:
inspect-get-product-name /dev/sda1
echo hostname:
inspect-get-hostname /dev/sda1
EOF
) || die "guestfish failed"
echo "$INSPECT" | sed 's/^/build-guest: inspect: /' >&2
echo "$INSPECT" | grep -qx '/dev/sda1' || die "libguestfs inspection did not find the root filesystem"
[[ "$(echo "$INSPECT" | sed -n '/^type:$/{n;p;}')" == linux ]] || die "libguestfs inspection: type is not linux"

mv -f "$TMPIMG" "$IMAGE"
echo "$HASH" > "$STAMP"
log "built $IMAGE ($(stat -c %s "$IMAGE") bytes on disk, $SIZE virtual)"
