#!/bin/bash
# Build the Debian test guest: Debian 12 (bookworm) from Debian's own packages with
# mmdebstrap. systemd is the init, udev is the real one (its rules make /dev/disk/by-id),
# the kernel and initramfs are Debian's (initramfs-tools, MODULES=most). vmserial boots it
# by direct kernel boot with the kernel and initrd extracted beside the image:
#   <kernel>debian-vmlinuz</kernel> <initrd>debian-initrd.img</initrd>
#   cmdline: console=ttyS0 root=LABEL=debroot ro quiet
#
# Output (in images/build/, git-ignored):
#   debian.qcow2       qcow2, 2 GiB virtual: MBR, one ext4 partition (1 MiB offset)
#                      labelled debroot
#   debian-vmlinuz     the image's own kernel (/boot/vmlinuz-*; not kept in the image)
#   debian-initrd.img  its initramfs-tools initrd, built in the image for that kernel
#   debian.kver        the kernel version
#   debian.stamp       hash of every input; unchanged hash = nothing to do
#
# No loop device and no mount: the filesystem is made from the tree by `mke2fs -d` at an
# offset inside a sparse raw file that sfdisk partitioned, then converted to qcow2.
# (mmdebstrap itself, run as root, mounts /proc, /sys and /dev inside its own chroot while it
# installs packages: that is its root mode.) Everything is written under temporary names
# and renamed when complete, so a failed build never leaves half a guest.
#
# Environment:
#   OUT=DIR           output directory (default: images/build next to this script)
#   FORCE=1           rebuild even when the inputs did not change
#   DEBIAN_MIRROR=URI Debian mirror (default: the one the host's apt sources use, else
#                     http://deb.debian.org/debian)
#   SIZE=2G           virtual disk size
#   CHECK=0           skip the libguestfs inspection of the result (15-40 s under TCG)
#   LIBGUESTFS_BACKEND / LIBGUESTFS_BACKEND_SETTINGS: default direct / force_tcg
#
# Needs (Debian packages): mmdebstrap, e2fsprogs, fdisk (sfdisk), qemu-utils,
# libguestfs-tools (for the check). Downloads about 120 MB of packages (the kernel alone is 70 MB).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE/build}
SUITE=bookworm
SIZE=${SIZE:-2G}
LABEL=debroot
# fixed filesystem UUID: root=UUID=... works too
FSUUID=5d1e2c3b-4a59-4e68-9f70-8a1b2c3d4e5f
HOSTNAME_=vmserial-debian
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}

die() { echo "build-debian: $*" >&2; exit 1; }
log() { echo "build-debian: $(date +%H:%M:%S) $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap's root mode; the tree keeps real owners)"
for tool in mmdebstrap mke2fs sfdisk qemu-img; do
    command -v "$tool" >/dev/null || die "$tool missing (apt-get install mmdebstrap e2fsprogs fdisk qemu-utils)"
done

# The mirror the host already uses for Debian (a local mirror in CI stays local).
host_mirror() {
    local f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        uri=$(sed -n -E -e 's/^[[:space:]]*URIs:[[:space:]]*([^[:space:]]+).*/\1/p' \
                        -e 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+'"$SUITE"'[[:space:]].*/\2/p' "$f" \
              | grep -E '/debian/?$' | grep -v security | head -n1 || true)
        [[ -n "$uri" ]] && { echo "${uri%/}"; return; }
    done
    echo http://deb.debian.org/debian
}
MIRROR=${DEBIAN_MIRROR:-$(host_mirror)}

# Packages on top of minbase (Essential + apt), without recommends:
#   systemd-sysv  systemd as /sbin/init          udev     the real by-id rules
#   dbus          systemd-logind needs the bus (logind turns the ACPI power button into poweroff)
#   linux-image-amd64, initramfs-tools, zstd (initrd compression), kmod, e2fsprogs
PACKAGES=systemd-sysv,udev,dbus,kmod,e2fsprogs,linux-image-amd64,initramfs-tools,zstd

IMAGE=$OUT/debian.qcow2
KERNEL=$OUT/debian-vmlinuz
INITRD=$OUT/debian-initrd.img
KVERFILE=$OUT/debian.kver
STAMP=$OUT/debian.stamp
inputs_hash() {
    { echo "suite $SUITE size $SIZE label $LABEL uuid $FSUUID packages $PACKAGES mirror $MIRROR"
      sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1
}
mkdir -p "$OUT"
exec 9>"$OUT/.debian.lock"
flock 9 2>/dev/null || true
HASH=$(inputs_hash)
if [[ -z "${FORCE:-}" && -f "$STAMP" && -f "$IMAGE" && -f "$KERNEL" && -f "$INITRD" && "$(cat "$STAMP")" == "$HASH" ]]; then
    log "up to date"
    touch "$IMAGE" "$KERNEL" "$INITRD" "$STAMP"   # keep make's timestamps happy
    exit 0
fi

START=$(date +%s)
STAGE=$(mktemp -d "$OUT/.debian-stage.XXXXXX")
chmod 0755 "$STAGE"   # apt's download sandbox (user _apt) must reach the tree
# mmdebstrap unmounts its chroot's /proc, /sys and /dev itself; should it die with them still
# mounted, unmount before removing, and never let rm cross into another filesystem.
cleanup() {
    { grep -o " $STAGE/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$STAGE"
}
trap cleanup EXIT
ROOT=$STAGE/root

# ---- the root tree (mmdebstrap) -------------------------------------------------------
# The essential hook runs after the Essential packages, before the others (the tree is $1):
# MODULES=most is set before the kernel comes, and update-initramfs is diverted to a no-op
# while packages install (the kernel and initramfs-tools would each build an initrd, a minute
# or two each under load), then the customize hook builds the one initrd.
cat > "$STAGE/essential.sh" <<'HOOK'
#!/bin/bash
set -euo pipefail
R=$1
mkdir -p "$R/etc/initramfs-tools/conf.d"
printf 'MODULES=most\nFSTYPE=ext4\n' > "$R/etc/initramfs-tools/conf.d/vmserial.conf"
chroot "$R" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
printf '#!/bin/sh\necho "update-initramfs: deferred (build-debian.sh)" >&2\n' > "$R/usr/sbin/update-initramfs"
chmod 0755 "$R/usr/sbin/update-initramfs"
HOOK
# The customize hook runs inside mmdebstrap, with the tree as $1, after every package is in.
cat > "$STAGE/customize.sh" <<'HOOK'
#!/bin/bash
set -euo pipefail
R=$1 S=$2   # the tree, the stage folder (kernel, initrd and version go there)
echo "build-debian: customizing the tree" >&2
echo vmserial-debian > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvmserial-debian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# Root by LABEL. The data disks by their by-id names with fixed serials, so a scenario can
# show an entry that stops resolving. nofail: boot never waits for them (the mounts are only
# wanted by local-fs.target). The device timeout is systemd's default, written out: under TCG
# a 5 s one expired before the root's udev had even coldplugged the disks (measured), so a
# disk that was there was never mounted.
cat > "$R/etc/fstab" <<'EOF'
# /etc/fstab: the vmserial Debian test guest (images/build-debian.sh)
LABEL=debroot  /  ext4  errors=remount-ro  0 1
# data disks by id (serials a scenario assigns; nofail: a disk that is gone never holds up boot)
/dev/disk/by-id/virtio-SCN-DATA-0001            /mnt/data  auto  nofail,x-systemd.device-timeout=90s  0 0
/dev/disk/by-id/ata-QEMU_HARDDISK_SCN-LOGS-0001  /mnt/logs  auto  nofail,x-systemd.device-timeout=90s  0 0
EOF
mkdir -p "$R/mnt/data" "$R/mnt/logs"
# test image: root has no password (login on the ttyS0 console)
chroot "$R" passwd --delete root >/dev/null
# nothing of the network is configured; no time sync, no timers that wake a test VM;
# e2scrub_reap (looks for LVM snapshots: there is no LVM) took 34 s of a single TCG vCPU
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer e2scrub_reap.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$unit"
done
# udev would load kvm_amd/kvm_intel for the emulated CPU: no nested guests here
printf 'blacklist kvm_amd\nblacklist kvm_intel\nblacklist kvm\n' > "$R/etc/modprobe.d/vmserial-test.conf"
# The kernel's modules, minus whole families a VM never loads (graphics, media, sound,
# wireless, Ethernet NICs, InfiniBand, staging, ...): about two thirds of the package.
KVER=$(basename "$(ls -d "$R"/lib/modules/*-amd64 | sort -V | tail -n1)")
K=$R/lib/modules/$KVER/kernel
rm -rf "$K"/drivers/gpu "$K"/drivers/media "$K"/drivers/net/wireless "$K"/drivers/net/ethernet \
       "$K"/drivers/infiniband "$K"/drivers/staging "$K"/drivers/bluetooth "$K"/drivers/iio \
       "$K"/drivers/isdn "$K"/drivers/net/can "$K"/drivers/mtd "$K"/drivers/comedi \
       "$K"/drivers/video/fbdev "$K"/drivers/hwmon "$K"/drivers/leds "$K"/drivers/platform/chrome \
       "$K"/sound "$K"/net/wireless "$K"/net/mac80211 "$K"/net/bluetooth
chroot "$R" depmod "$KVER"
# MODULES=most: virtio-blk, virtio-scsi, ahci/libata, nvme and ext4 are in the initrd,
# whatever the VM's buses are.
rm -f "$R/usr/sbin/update-initramfs"
chroot "$R" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
chroot "$R" update-initramfs -c -k "$KVER" >&2
echo "$KVER" > "$S/kver"
mv "$R/boot/vmlinuz-$KVER" "$S/vmlinuz"
mv "$R/boot/initrd.img-$KVER" "$S/initrd.img"
rm -f "$R"/boot/System.map-* "$R"/boot/config-* "$R"/vmlinuz* "$R"/initrd.img*
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/* "$R"/var/cache/debconf/*-old "$R"/var/log/apt/*
HOOK
chmod 0755 "$STAGE/essential.sh" "$STAGE/customize.sh"

log "mmdebstrap $SUITE from $MIRROR (packages: $PACKAGES)"
mmdebstrap --variant=minbase --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook="$STAGE/essential.sh \"\$1\"" \
    --include="$PACKAGES" \
    --customize-hook="$STAGE/customize.sh \"\$1\" '$STAGE'" \
    "$SUITE" "$ROOT" "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
    || die "mmdebstrap failed"
KVER=$(cat "$STAGE/kver")
[[ -x "$ROOT/lib/systemd/systemd" && -L "$ROOT/sbin/init" ]] || die "no systemd init in the tree"
[[ -f "$ROOT/lib/udev/rules.d/60-persistent-storage.rules" ]] || die "no udev persistent-storage rules in the tree"
log "tree: $(du -sm "$ROOT" | cut -f1) MB, kernel $KVER, initrd $(du -k "$STAGE/initrd.img" | cut -f1) KB"

# ---- the disk: sparse raw, MBR, ext4 at 1 MiB made from the tree, then qcow2 ------------
RAW=$STAGE/disk.raw
truncate -s "$SIZE" "$RAW"
echo 'start=2048, type=83, bootable' | sfdisk -q --label dos "$RAW"
BYTES=$(stat -c %s "$RAW")
FS_KIB=$(( (BYTES - 1048576) / 1024 ))
log "making ext4 ($LABEL, $((FS_KIB / 1024)) MiB) from the tree"
mke2fs -F -q -t ext4 -L "$LABEL" -U "$FSUUID" -E offset=1048576 -d "$ROOT" "$RAW" "${FS_KIB}k"
qemu-img convert -f raw -O qcow2 "$RAW" "$STAGE/debian.qcow2"
rm -f "$RAW"

if [[ "${CHECK:-1}" != 0 ]]; then
    command -v guestfish >/dev/null || die "guestfish missing (apt-get install libguestfs-tools), or CHECK=0"
    log "checking with libguestfs inspection ($LIBGUESTFS_BACKEND${LIBGUESTFS_BACKEND_SETTINGS:+ $LIBGUESTFS_BACKEND_SETTINGS})"
    INSPECT=$(guestfish --ro --format=qcow2 -a "$STAGE/debian.qcow2" <<'EOF'
run
inspect-os
echo distro:
inspect-get-distro /dev/sda1
echo version:
inspect-get-major-version /dev/sda1
EOF
) || die "guestfish failed"
    echo "$INSPECT" | sed 's/^/build-debian: inspect: /' >&2
    echo "$INSPECT" | grep -qx '/dev/sda1' || die "libguestfs inspection did not find the root filesystem"
    [[ "$(echo "$INSPECT" | sed -n '/^distro:$/{n;p;}')" == debian ]] || die "libguestfs inspection: distro is not debian"
fi

mv -f "$STAGE/vmlinuz" "$KERNEL"
mv -f "$STAGE/initrd.img" "$INITRD"
echo "$KVER" > "$KVERFILE"
mv -f "$STAGE/debian.qcow2" "$IMAGE"
echo "$HASH" > "$STAMP"
log "built $IMAGE ($(du -m "$IMAGE" | cut -f1) MB on disk, $SIZE virtual), kernel $KVER, in $(( $(date +%s) - START )) s"
