#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for vmserial: the Debian packages it builds and runs with,
# and a running libvirt system daemon (started by hand where there is no systemd, as in CI
# containers). Idempotent: installs only what is missing, starts only what is not running.
set -euo pipefail

PACKAGES=(
  pkg-config libvirt-dev libguestfs-dev libsqlite3-dev
  libvirt-daemon libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils libguestfs-tools
  linux-image-amd64 busybox-static cpio libxml2-utils ovmf tini
  mmdebstrap e2fsprogs fdisk
  virtinst
)

say() { printf 'host-setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Ubuntu has no linux-image-amd64; its generic kernel package serves the probe and libguestfs alike.
if [[ " ${missing[*]} " == *" linux-image-amd64 "* ]] && ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
  missing=("${missing[@]/linux-image-amd64/linux-image-generic}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

# The libvirt system daemon: systemd starts it where there is one; otherwise start it here.
if virsh -c qemu:///system version >/dev/null 2>&1; then
  say "libvirt daemon answers at qemu:///system"
  exit 0
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  $SUDO systemctl start virtlogd.socket libvirtd.socket libvirtd.service 2>/dev/null || true
fi
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  say "starting virtlogd and libvirtd (no systemd)"
  $SUDO mkdir -p /var/log/libvirt /run/libvirt
  pgrep -x virtlogd >/dev/null || $SUDO virtlogd -d
  # libvirtd double-forks QEMU, so a QEMU that exits becomes the zombie of PID 1; libvirt waits
  # until it is reaped before a stop returns. A container's PID 1 may reap late (measured here:
  # 1.2-1.8 s per domain stop, every verify boot paying it). Under `tini -s` (a subreaper) the
  # orphans are tini's and are reaped at once.
  if ! pgrep -x libvirtd >/dev/null; then
    if command -v tini >/dev/null; then
      $SUDO setsid tini -s -- libvirtd </dev/null >>/var/log/libvirt/libvirtd.out 2>&1 &
    else
      $SUDO libvirtd -d
    fi
  fi
  for _ in $(seq 1 50); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
virsh -c qemu:///system version >/dev/null 2>&1 || { say "libvirtd does not answer at qemu:///system"; exit 1; }
say "libvirt daemon answers at qemu:///system"
