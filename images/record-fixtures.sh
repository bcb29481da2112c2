#!/bin/bash
# Boot the probe under bare QEMU (TCG) and record what arrives on its serial
# ports, as test fixtures for the report parser / verifier.
#
#   bash images/record-fixtures.sh [DEST] [RUN...]
#     DEST  default: Tests/VerifierTests/Fixtures (relative to the repo root)
#     RUN   pc4 q35 trunc nosmbios ping (default: all)
# Environment: KERNEL=path (default images/build/probe-vmlinuz), ACCEL=tcg|kvm.
# Needs `make -C images probe` first. Disks are 64 MiB qcow2 files in a temp dir.
# The exact commands and expected values are in $DEST/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
DEST=${1:-$ROOT/Tests/VerifierTests/Fixtures}
shift || true
RUNS=("$@")
((${#RUNS[@]})) || RUNS=(pc4 q35 trunc nosmbios ping)
KERNEL=${KERNEL:-$HERE/build/probe-vmlinuz}
INITRD=$HERE/build/probe-initrd.img
ACCEL=${ACCEL:-tcg}
[[ -r "$KERNEL" && -r "$INITRD" ]] || { echo "build the probe first: make -C images probe" >&2; exit 1; }
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

APPEND='console=ttyS0 quiet vmserial.after=poweroff vmserial.mode=report'
drive() { echo "-drive file=$TMP/d$1.qcow2,if=none,id=d$1,format=qcow2"; }

# boot NAME MACHINE APPEND [qemu args...]: writes $TMP/NAME.console and .report
boot() {
    local name=$1 machine=$2 append=$3; shift 3
    local i start end
    for i in 0 1 2 3; do rm -f "$TMP/d$i.qcow2"; qemu-img create -q -f qcow2 "$TMP/d$i.qcow2" 64M; done
    start=$(date +%s%N)
    timeout 180 qemu-system-x86_64 -machine "$machine,accel=$ACCEL" -m 512 -nodefaults \
        -display none -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$append" \
        -serial "file:$TMP/$name.console" -serial "file:$TMP/$name.report" "$@"
    end=$(date +%s%N)
    echo "$name: $(( (end - start) / 1000000 )) ms wall" >&2
}

for run in "${RUNS[@]}"; do
    case $run in
    pc4)
        boot pc4 pc "$APPEND" \
            -smbios type=1,serial=VMS-SMBIOS-1,uuid=5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d \
            $(drive 0) -device virtio-blk-pci,drive=d0,serial=VIRTIOSERIAL0001 \
            -device virtio-scsi-pci,id=scsi0 \
            $(drive 1) -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=d1,serial=SCSI-SERIAL-0123456789-ABCDEFGHIJKLM \
            -device ich9-ahci,id=sata0 \
            $(drive 2) -device ide-hd,bus=sata0.2,drive=d2,serial=SATASERIAL01 \
            $(drive 3) -device nvme,drive=d3,serial=NVMESERIAL01
        cp "$TMP/pc4.report" "$DEST/report-pc-4bus.txt"
        cp "$TMP/pc4.console" "$DEST/console-pc.txt"
        # same VM without `quiet`: the full kernel log as console noise
        boot pc4v pc "${APPEND/quiet /}" \
            -smbios type=1,serial=VMS-SMBIOS-1,uuid=5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d \
            $(drive 0) -device virtio-blk-pci,drive=d0,serial=VIRTIOSERIAL0001 \
            -device virtio-scsi-pci,id=scsi0 \
            $(drive 1) -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=d1,serial=SCSI-SERIAL-0123456789-ABCDEFGHIJKLM \
            -device ich9-ahci,id=sata0 \
            $(drive 2) -device ide-hd,bus=sata0.2,drive=d2,serial=SATASERIAL01 \
            $(drive 3) -device nvme,drive=d3,serial=NVMESERIAL01
        cmp -s "$TMP/pc4.report" "$TMP/pc4v.report" || echo "warning: the verbose run's report differs" >&2
        cp "$TMP/pc4v.console" "$DEST/console-pc-verbose.txt" ;;
    q35)
        # q35's built-in AHCI controller (00:1f.2, buses ide.0-ide.5) is the SATA disk's
        boot q35 q35 "$APPEND" \
            -smbios type=1,serial=VMS-SMBIOS-Q35,uuid=0f1e2d3c-4b5a-4697-8877-665544332211 \
            $(drive 0) -device virtio-blk-pci,drive=d0,serial=VIRTIOSERIAL0001 \
            -device virtio-scsi-pci,id=scsi0 \
            $(drive 1) -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=d1,serial=SCSI-SERIAL-0123456789-ABCDEFGHIJKLM \
            $(drive 2) -device ide-hd,bus=ide.2,drive=d2,serial=SATASERIAL01 \
            $(drive 3) -device nvme,drive=d3,serial=NVMESERIAL01
        cp "$TMP/q35.report" "$DEST/report-q35-4bus.txt" ;;
    trunc)
        boot trunc pc "$APPEND" \
            -smbios type=1,serial=VMS-SMBIOS-TRUNC,uuid=11111111-2222-4333-8444-555555555555 \
            $(drive 0) -device virtio-blk-pci,drive=d0,serial=VIRTIO-SERIAL-21CHARS \
            $(drive 1) -device virtio-blk-pci,drive=d1,serial=VIRTIOSERIAL-20CHARS \
            $(drive 2) -device virtio-blk-pci,drive=d2,serial=VIRTIOSERIAL-19CHAR \
            $(drive 3) -device virtio-blk-pci,drive=d3,serial=VIRTIO-SERIAL-IS-WAY-TOO-LONG-40-CHARS-X
        cp "$TMP/trunc.report" "$DEST/report-truncated-virtio.txt" ;;
    nosmbios)
        boot nosmbios pc "$APPEND" \
            $(drive 0) -device virtio-blk-pci,drive=d0,serial=VIRTIOSERIAL0001 \
            $(drive 1) -device virtio-blk-pci,drive=d1
        cp "$TMP/nosmbios.report" "$DEST/report-no-smbios.txt" ;;
    ping)
        boot ping pc 'console=ttyS0 quiet vmserial.after=poweroff vmserial.mode=ping'
        cp "$TMP/ping.report" "$DEST/ping.txt" ;;
    *) echo "unknown run: $run" >&2; exit 2 ;;
    esac
done
