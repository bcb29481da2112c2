#!/usr/bin/env bash
# Benchmark: `vmserial verify` on a 3-disk domain against a bare qemu-system-x86_64 boot of
# the same probe kernel and initramfs with the same three disks to poweroff, measured in
# the same run on the same machine. Reports medians and their ratio (goal: at most 1.5).
#   RUNS=5 bash bench/verify-vs-qemu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BIN=${BIN:-.build/release/vmserial}
[ -x "$BIN" ] || BIN=.build/debug/vmserial
IMAGES=images/build
# The same kernel vmserial verify boots: the uncompressed one when it was built.
KERNEL=$IMAGES/probe-vmlinuz
[ -f "$IMAGES/probe-vmlinux" ] && KERNEL=$IMAGES/probe-vmlinux
OUT=bench/results
WORK=$(mktemp -d /tmp/vmserial-bench.XXXXXX)
chmod 755 "$WORK"
VM=bench-verify-$$
export VMSERIAL_REGISTRY=$WORK/registry.sqlite LIBVIRT_DEFAULT_URI=${LIBVIRT_DEFAULT_URI:-qemu:///system} VMSERIAL_ACCEL=tcg
cleanup() { virsh destroy "$VM" >/dev/null 2>&1 || true; virsh undefine "$VM" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
mkdir -p "$OUT"

for d in a b c; do qemu-img create -q -f qcow2 "$WORK/$d.qcow2" 64M; done
cat > "$WORK/$VM.json" <<JSON
{"name":"$VM","memoryMiB":512,"accel":"tcg",
 "boot":{"kernel":"$PWD/$IMAGES/probe-vmlinuz","initrd":"$PWD/$IMAGES/probe-initrd.img","cmdline":"console=ttyS0 quiet"},
 "disks":[{"name":"a","source":"a.qcow2","bus":"virtio"},{"name":"b","source":"b.qcow2","bus":"scsi"},{"name":"c","source":"c.qcow2","bus":"sata"}]}
JSON
"$BIN" launch "$WORK/$VM.json" --no-start >/dev/null
SERIALS=$("$BIN" serials --domain "$VM" --json)
s() { echo "$SERIALS" | python3 -c "import json,sys; d=json.load(sys.stdin); print(next(x['serial'] for x in d['disks'] if x['name']=='$1'))"; }
UUID=$(echo "$SERIALS" | python3 -c "import json,sys; print(json.load(sys.stdin)['uuid'])")
SA=$(s a); SB=$(s b); SC=$(s c)

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

bare() {
  qemu-system-x86_64 -machine pc,accel=tcg -m 512 -nodefaults -display none -no-reboot \
    -kernel "$KERNEL" -initrd "$IMAGES/probe-initrd.img" \
    -append 'console=ttyS0 quiet vmserial.mode=report vmserial.after=poweroff' \
    -smbios "type=1,serial=$UUID,uuid=$UUID" -uuid "$UUID" \
    -serial null -serial "file:$WORK/bare-report.txt" \
    -drive "file=$WORK/a.qcow2,format=qcow2,if=none,id=d0,snapshot=on" -device "virtio-blk-pci,drive=d0,serial=$SA" \
    -device virtio-scsi-pci,id=scsi0 \
    -drive "file=$WORK/b.qcow2,format=qcow2,if=none,id=d1,snapshot=on" -device "scsi-hd,bus=scsi0.0,drive=d1,serial=$SB" \
    -device ich9-ahci,id=sata0 \
    -drive "file=$WORK/c.qcow2,format=qcow2,if=none,id=d2,snapshot=on" -device "ide-hd,bus=sata0.0,drive=d2,serial=$SC"
  grep -q VMSERIAL-REPORT-END "$WORK/bare-report.txt"
}

echo "bench: $RUNS runs each, interleaved (TCG, 3 disks: virtio, scsi, sata, kernel $(basename "$KERNEL"))"
: > "$WORK/bare.times"; : > "$WORK/verify.times"
for i in $(seq 1 "$RUNS"); do
  t0=$(now); bare; t1=$(now)
  awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}" >> "$WORK/bare.times"
  t0=$(now); "$BIN" verify --domain "$VM" --json > "$WORK/verify.json"; t1=$(now)
  grep -q '"ok" : true' "$WORK/verify.json" || { echo "bench: verify failed"; cat "$WORK/verify.json"; exit 1; }
  awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}" >> "$WORK/verify.times"
  printf '  run %d: bare qemu %.2fs, vmserial verify %.2fs\n' "$i" "$(tail -1 "$WORK/bare.times")" "$(tail -1 "$WORK/verify.times")"
done
B=$(median < "$WORK/bare.times"); V=$(median < "$WORK/verify.times")
R=$(awk -v v="$V" -v b="$B" "BEGIN{print v/b}")
printf 'verify-vs-bare-qemu: bare median %.2fs, verify median %.2fs, ratio %.2f (goal <= 1.5)\n' "$B" "$V" "$R" | tee "$OUT/verify-vs-qemu.txt"
