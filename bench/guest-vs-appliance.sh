#!/usr/bin/env bash
# Benchmark: `vmserial verify --mode guest` of the small Linux guest (images/build/guest.qcow2)
# against the sum of one libguestfs appliance start (`guestfish -a /dev/null run`) and one
# boot of the same guest to power-off (its disk prepared with the reporter beforehand, outside
# the timing), measured in the same run. Reports medians and their ratio (the issue's goal:
# at most 1.3). verify serves the disks through qemu-nbd and starts its appliance once (README, guest mode).
#   RUNS=3 bash bench/guest-vs-appliance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BIN=${BIN:-.build/release/vmserial}
[ -x "$BIN" ] || BIN=.build/debug/vmserial
IMAGES=images/build
KERNEL=$IMAGES/probe-vmlinuz
[ -f "$IMAGES/probe-vmlinux" ] && KERNEL=$IMAGES/probe-vmlinux
OUT=bench/results
WORK=$(mktemp -d /tmp/vmserial-bench.XXXXXX)
chmod 755 "$WORK"
VM=bench-guest-$$
export VMSERIAL_REGISTRY=$WORK/registry.sqlite LIBVIRT_DEFAULT_URI=${LIBVIRT_DEFAULT_URI:-qemu:///system} VMSERIAL_ACCEL=tcg
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
cleanup() { virsh destroy "$VM" >/dev/null 2>&1 || true; virsh undefine "$VM" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
mkdir -p "$OUT"
[ -f "$IMAGES/guest.qcow2" ] || { echo "bench: $IMAGES/guest.qcow2 is missing: run make images"; exit 2; }

cp "$IMAGES/guest.qcow2" "$WORK/root.qcow2"
cp "$IMAGES/guest.qcow2" "$WORK/bare.qcow2"
qemu-img create -q -f qcow2 "$WORK/data.qcow2" 64M
CMDLINE="console=ttyS0 quiet vmserial.mode=boot root=LABEL=vmroot"
cat > "$WORK/$VM.json" <<JSON
{"name":"$VM","memoryMiB":256,"accel":"tcg",
 "boot":{"kernel":"$PWD/$KERNEL","initrd":"$PWD/$IMAGES/probe-initrd.img","cmdline":"$CMDLINE"},
 "disks":[{"name":"root","source":"root.qcow2","bus":"virtio"},{"name":"data","source":"data.qcow2","bus":"scsi"}]}
JSON
"$BIN" launch "$WORK/$VM.json" --no-start >/dev/null

# The baseline guest: the same image with the reporter installed the way vmserial does it
# (init.d hook, plan "poweroff"), so that it boots, reports and powers itself off.
"$BIN" reporter --output "$WORK/files" >/dev/null
prepare_bare() {
  guestfish -a "$WORK/bare.qcow2" -i <<GF >/dev/null
mkdir-p /usr/local/sbin
mkdir-p /var/lib/vmserial
upload $WORK/files/vmserial-report /usr/local/sbin/vmserial-report
chmod 0755 /usr/local/sbin/vmserial-report
upload $WORK/files/S99vmserial-report /etc/init.d/S99vmserial-report
chmod 0755 /etc/init.d/S99vmserial-report
upload $WORK/files/plan /var/lib/vmserial/plan
GF
}

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

appliance() { guestfish -a /dev/null run; }
boot() {
  : > "$WORK/bare-report.txt"
  qemu-system-x86_64 -machine pc,accel=tcg -m 256 -nodefaults -display none -no-reboot \
    -kernel "$KERNEL" -initrd "$IMAGES/probe-initrd.img" -append "$CMDLINE" \
    -serial null -serial "file:$WORK/bare-report.txt" \
    -drive "file=$WORK/bare.qcow2,format=qcow2,if=none,id=d0" -device "virtio-blk-pci,drive=d0,serial=BENCHROOT" \
    -device virtio-scsi-pci,id=scsi0 \
    -drive "file=$WORK/data.qcow2,format=qcow2,if=none,id=d1,snapshot=on" -device "scsi-hd,bus=scsi0.0,drive=d1,serial=BENCHDATA"
  grep -q VMSERIAL-REPORT-END "$WORK/bare-report.txt"
}

echo "bench: $RUNS runs each, interleaved (TCG; appliance start + guest boot vs verify --mode guest)"
: > "$WORK/base.times"; : > "$WORK/verify.times"
for i in $(seq 1 "$RUNS"); do
  prepare_bare
  t0=$(now); appliance; t1=$(now); boot; t2=$(now)
  awk -v a="$t0" -v b="$t2" "BEGIN{print b-a}" >> "$WORK/base.times"
  A=$(awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}"); G=$(awk -v a="$t1" -v b="$t2" "BEGIN{print b-a}")
  t0=$(now); "$BIN" verify --domain "$VM" --mode guest --json > "$WORK/verify.json"; t1=$(now)
  grep -q '"ok" : true' "$WORK/verify.json" || { echo "bench: verify failed"; cat "$WORK/verify.json"; exit 1; }
  awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}" >> "$WORK/verify.times"
  printf '  run %d: appliance %.2fs + boot %.2fs = %.2fs; vmserial verify --mode guest %.2fs\n' "$i" "$A" "$G" \
    "$(tail -1 "$WORK/base.times")" "$(tail -1 "$WORK/verify.times")"
done
ACCESS=$(tr -d ' \n' < "$WORK/verify.json" | grep -o '"appliance":{[^}]*}' || true)
echo "  the last verify's disk access: ${ACCESS:-(not reported)}"
B=$(median < "$WORK/base.times"); V=$(median < "$WORK/verify.times")
R=$(awk -v v="$V" -v b="$B" "BEGIN{print v/b}")
printf 'guest-vs-appliance: appliance+boot median %.2fs, verify --mode guest median %.2fs, ratio %.2f (goal <= 1.3)\n' "$B" "$V" "$R" | tee "$OUT/guest-vs-appliance.txt"
