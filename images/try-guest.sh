#!/bin/bash
# Try vmserial's in-guest reporter (Sources/VMSerialKit/GuestReporter.swift) in the
# test guest (build/guest.qcow2), under bare QEMU:
#   1. a qcow2 overlay on guest.qcow2 (the built image is never written);
#   2. libguestfs installs the reporter and its init.d hook exactly as vmserial installs
#      them (written out by `vmserial reporter --output`), and the plan "reboot, poweroff";
#   3. QEMU boots the probe kernel + initramfs in boot mode (root=LABEL=vmroot) with
#      four disks: virtio-blk root, virtio-scsi, AHCI SATA and NVMe, each with a serial,
#      and an SMBIOS serial/uuid; ttyS0 -> console.log, ttyS1 -> report.log;
#   4. the guest must boot twice, report each time and power off by itself;
#   5. libguestfs reads report.1 and report.2 back: their concatenation must equal the
#      serial copy byte for byte, the plan must be used up, / must be clean.
#
#   bash images/try-guest.sh
# Environment: ACCEL=tcg|kvm (default tcg), KERNEL=path (default build/probe-vmlinux,
# else build/probe-vmlinuz), MACHINE=pc|q35 (default pc), KEEP=1 keeps the temp dir,
# TIMEOUT=seconds for the whole QEMU run (default 300), VMSERIAL=path of the vmserial binary
# (default .build/debug/vmserial, else .build/release/vmserial).
# Needs `make -C images probe guest` and `swift build` first. Prints the reports and the timings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SWIFT=$ROOT/Sources/VMSerialKit/GuestReporter.swift
BUILD=$HERE/build
if [[ -z "${KERNEL:-}" ]]; then
    KERNEL=$BUILD/probe-vmlinux
    [[ -r "$KERNEL" ]] || KERNEL=$BUILD/probe-vmlinuz
fi
INITRD=$BUILD/probe-initrd.img
IMAGE=$BUILD/guest.qcow2
ACCEL=${ACCEL:-tcg}
MACHINE=${MACHINE:-pc}
TIMEOUT=${TIMEOUT:-300}
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}

die() { echo "try-guest: FAIL: $*" >&2; exit 1; }
log() { echo "try-guest: $*" >&2; }
[[ -r "$KERNEL" && -r "$INITRD" && -r "$IMAGE" ]] || die "build first: make -C images probe guest"
[[ -r "$SWIFT" ]] || die "$SWIFT missing"
if [[ -z "${VMSERIAL:-}" ]]; then
    VMSERIAL=$ROOT/.build/debug/vmserial
    [[ -x "$VMSERIAL" ]] || VMSERIAL=$ROOT/.build/release/vmserial
fi
[[ -x "$VMSERIAL" ]] || die "no vmserial binary at $VMSERIAL: run swift build (or set VMSERIAL)"

TMP=$(mktemp -d)
QPID=""
cleanup() {
    [[ -n "$QPID" ]] && kill "$QPID" 2>/dev/null || true
    if [[ -n "${KEEP:-}" ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

swiftpath() {   # NAME: the value of a `static let NAME = "..."` path constant
    sed -n "s|^ *public static let $1 = \"\\(.*\\)\"\$|\\1|p" "$SWIFT"
}
# the files exactly as vmserial installs them
"$VMSERIAL" reporter --output "$TMP/reporter" > /dev/null || die "vmserial reporter --output failed"
cp "$TMP/reporter/vmserial-report" "$TMP/vmserial-report"
cp "$TMP/reporter/S99vmserial-report" "$TMP/initd-hook"
SCRIPT_PATH=$(swiftpath scriptPath)
HOOK_PATH=$(swiftpath initdHookPath)
STATE_DIR=$(swiftpath stateDirectory)
PLAN_PATH=$(swiftpath planPath)
[[ -n "$SCRIPT_PATH" && -n "$HOOK_PATH" && -n "$STATE_DIR" && -n "$PLAN_PATH" ]] || die "could not read the paths from $SWIFT"
for sh in dash bash "busybox sh"; do
    command -v "${sh%% *}" >/dev/null || continue
    $sh -n "$TMP/vmserial-report" || die "the reporter does not parse under $sh"
done
printf 'reboot\npoweroff\n' > "$TMP/plan"

qemu-img create -q -f qcow2 -b "$IMAGE" -F qcow2 "$TMP/root.qcow2"
for d in scsi sata nvme; do qemu-img create -q -f qcow2 "$TMP/$d.qcow2" 64M; done

t0=$(date +%s%N)
guestfish --rw --format=qcow2 -a "$TMP/root.qcow2" -m /dev/sda1 <<EOF || die "guestfish install failed"
mkdir-p $(dirname "$SCRIPT_PATH")
mkdir-p $STATE_DIR
upload $TMP/vmserial-report $SCRIPT_PATH
chmod 0755 $SCRIPT_PATH
upload $TMP/initd-hook $HOOK_PATH
chmod 0755 $HOOK_PATH
upload $TMP/plan $PLAN_PATH
EOF
t1=$(date +%s%N)
log "installed the reporter ($(( (t1 - t0) / 1000000 )) ms)"

APPEND='console=ttyS0 vmserial.mode=boot root=LABEL=vmroot'
SCSI_SERIAL=SCSI-SERIAL-0123456789-ABCDEFGHIJ   # 31 chars: by-id shows its first 20
SATA_SERIAL=SATA-SERIAL-1
NVME_SERIAL=NVME-SERIAL-1
ROOT_SERIAL=VMS-ROOT-0001
t0=$(date +%s%N)
timeout "$TIMEOUT" qemu-system-x86_64 -machine "$MACHINE,accel=$ACCEL" -m 256 -nodefaults \
    -display none -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
    -smbios type=1,serial=VMS-SMBIOS-TRY,uuid=2f0b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d \
    -drive file="$TMP/root.qcow2",if=none,id=root,format=qcow2 \
    -device virtio-blk-pci,drive=root,serial=$ROOT_SERIAL \
    -device virtio-scsi-pci,id=scsi0 \
    -drive file="$TMP/scsi.qcow2",if=none,id=scsi,format=qcow2 \
    -device scsi-hd,bus=scsi0.0,drive=scsi,serial=$SCSI_SERIAL \
    -device ahci,id=ahci0 \
    -drive file="$TMP/sata.qcow2",if=none,id=sata,format=qcow2 \
    -device ide-hd,bus=ahci0.0,drive=sata,serial=$SATA_SERIAL \
    -drive file="$TMP/nvme.qcow2",if=none,id=nvme,format=qcow2 \
    -device nvme,drive=nvme,serial=$NVME_SERIAL \
    -serial "file:$TMP/console.log" -serial "file:$TMP/report.log" &
QPID=$!
# timings: when each report reaches the serial port, and when QEMU exits
seen=0
declare -a at=()
while kill -0 "$QPID" 2>/dev/null; do
    c=$(grep -c '^VMSERIAL-REPORT-END' "$TMP/report.log" 2>/dev/null || true)
    while (( ${c:-0} > seen )); do
        seen=$((seen + 1))
        at[$seen]=$(( ($(date +%s%N) - t0) / 1000000 ))
    done
    sleep 0.2
done
rc=0
wait "$QPID" || rc=$?
QPID=""
t1=$(date +%s%N)
total=$(( (t1 - t0) / 1000000 ))
((rc == 0)) || { tr -d '\r' < "$TMP/console.log" | tail -40 >&2; die "QEMU exited with $rc (124 = timeout after ${TIMEOUT}s)"; }
log "QEMU ran ${total} ms and powered off by itself; report 1 on ttyS1 after ${at[1]:-?} ms, report 2 after ${at[2]:-?} ms (wall, from QEMU start)"
tr -d '\r' < "$TMP/console.log" | grep -E '^vmserial-(probe|report):|^S05disk-by-id|Run /init|reboot: ' | sed 's/^/  console: /' >&2 || true

# read everything back
# (the superblock first: mounting, even read-only, would replay a dirty journal)
guestfish --ro --format=qcow2 -a "$TMP/root.qcow2" <<EOF > "$TMP/readback" || die "guestfish readback failed"
run
tune2fs-l /dev/sda1 | cat > $TMP/tune2fs
mount-ro /dev/sda1 /
ls $STATE_DIR
download $STATE_DIR/report.1 $TMP/report.1
download $STATE_DIR/report.2 $TMP/report.2
download $PLAN_PATH $TMP/plan.after
EOF
echo "== state directory after the run:"; sed 's/^/  /' "$TMP/readback"
echo "== root filesystem after the run:"; grep -E '^Filesystem (state|features)' "$TMP/tune2fs" | sed 's/^/  /' 
for n in 1 2; do echo "== report.$n"; cat "$TMP/report.$n"; done

fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
check "report.1 + report.2 == ttyS1 copy (byte for byte)" 'cat "$TMP/report.1" "$TMP/report.2" | cmp -s - "$TMP/report.log"'
check "exactly two reports on ttyS1" '[[ $(grep -c "^VMSERIAL-REPORT-BEGIN version=2$" "$TMP/report.log") == 2 ]]'
check "no report.3" '! grep -qx "report.3" "$TMP/readback"'
check "boot lines n=1 and n=2 (initd)" 'grep -qx "boot n=1 init=initd" "$TMP/report.1" && grep -qx "boot n=2 init=initd" "$TMP/report.2"'
check "plan used up" '[[ ! -s "$TMP/plan.after" ]]'
for n in 1 2; do
    f=$TMP/report.$n
    check "report.$n: END lines= counts the body" '[[ $(sed -n "s/^VMSERIAL-REPORT-END lines=//p" "$f") == $(( $(wc -l < "$f") - 2 )) ]]'
done
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
f=$TMP/report.2
check "smbios line" 'grep -qx "smbios serial=$(hex VMS-SMBIOS-TRY) uuid=2f0b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" "$f"'
check "virtio disk line" 'grep -q "^disk name=vda bus=virtio .* serial=$(hex $ROOT_SERIAL) ataport=$" "$f"'
check "scsi disk line" 'grep -q "^disk name=sd. bus=scsi .* serial=$(hex $SCSI_SERIAL) ataport=$" "$f"'
check "sata disk line (space padded to 20)" 'grep -q "^disk name=sd. bus=sata .* serial=$(hex "$(printf "%-20s" $SATA_SERIAL)") ataport=1$" "$f"'
check "nvme disk line (space padded to 20)" 'grep -q "^disk name=nvme0n1 bus=nvme .* serial=$(hex "$(printf "%-20s" $NVME_SERIAL)") ataport=$" "$f"'
check "byid virtio + part1" 'grep -qx "byid name=virtio-$ROOT_SERIAL target=vda" "$f" && grep -qx "byid name=virtio-$ROOT_SERIAL-part1 target=vda1" "$f"'
check "byid scsi (device_id = first 20 chars)" 'grep -qx "byid name=scsi-0QEMU_QEMU_HARDDISK_${SCSI_SERIAL:0:20} target=sd." "$f"'
check "byid ata" 'grep -qx "byid name=ata-QEMU_HARDDISK_$SATA_SERIAL target=sd." "$f"'
check "byid nvme" 'grep -qx "byid name=nvme-QEMU_NVMe_Ctrl_$NVME_SERIAL target=nvme0n1" "$f"'
check "root filesystem clean after poweroff" 'grep -q "^Filesystem state: *clean$" "$TMP/tune2fs" && ! grep -q needs_recovery "$TMP/tune2fs"'
((fail == 0)) || { tr -d '\r' < "$TMP/console.log" | tail -60 >&2; die "some checks failed"; }
echo "try-guest: all checks passed (QEMU ${total} ms; reports after ${at[1]:-?} / ${at[2]:-?} ms)"
