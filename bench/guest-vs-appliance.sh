#!/usr/bin/env bash
# Benchmark: `vmserial verify --mode guest --reboots 1` against its floor, measured in the same
# run, runs interleaved, medians:
#   floor   one start of the same libguestfs appliance vmserial uses (images/build/appliance,
#           through LIBGUESTFS_PATH) over the same three disk images, read-only (`guestfish --ro
#           -a root -a data -a logs run`: udev in the appliance sees the same disks and
#           partitions as vmserial's appliance does), plus two boots of the same
#           guest to power-off with plain QEMU (its disk prepared with the reporter beforehand,
#           outside the timing, so that each boot reports and powers itself off).
#   same    one appliance start plus what verify --reboots 1 asks of the guest, with plain QEMU:
#           one QEMU process, the guest boots, reports, reboots itself (a reset, no new
#           process), boots, reports and powers off. A guest's own reboot is not a cold boot
#           (under TCG here, the Debian guest's kernel started 13.5 s after its reboot against
#           3.9 s after QEMU's start), so this is the like-for-like anchor of the two.
# On two guests: the small Linux test guest (busybox init, images/build/guest.qcow2) and the
# Debian 12 guest (systemd, Debian's udev and kernel, images/build/debian.qcow2).
# `verify --timings` splits each verify into stages; their medians show what dominates.
#   RUNS=3 RUNS_DEBIAN=1 GUESTS="small debian" bash bench/guest-vs-appliance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
RUNS_DEBIAN=${RUNS_DEBIAN:-1}
GUESTS=${GUESTS:-small debian}
BIN=${BIN:-.build/release/vmserial}
[ -x "$BIN" ] || BIN=.build/debug/vmserial
IMAGES=images/build
APPLIANCE=$PWD/$IMAGES/appliance
OUT=bench/results
WORK=$(mktemp -d /tmp/vmserial-bench.XXXXXX)
chmod 755 "$WORK"
PREFIX=bench-guest-$$
# Run folders of its own: no other vmserial on the machine sweeps them (or counts them).
export VMSERIAL_RUN_DIR=$WORK/run
export VMSERIAL_REGISTRY=$WORK/registry.sqlite LIBVIRT_DEFAULT_URI=${LIBVIRT_DEFAULT_URI:-qemu:///system} VMSERIAL_ACCEL=tcg
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
cleanup() {
  for d in $(virsh list --all --name 2>/dev/null | grep "^$PREFIX" || true); do
    virsh destroy "$d" >/dev/null 2>&1 || true; virsh undefine "$d" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$OUT"
[ -f "$APPLIANCE/README.fixed" ] || { echo "bench: $APPLIANCE is not built: run make images" >&2; exit 2; }
"$BIN" reporter --output "$WORK/files" >/dev/null

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
timed() { local t0 t1; t0=$(now); "$@"; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'; }

# appliance DIR: the appliance over DIR's three images, read-only (nothing is written to them).
appliance() { LIBGUESTFS_PATH=$APPLIANCE guestfish --ro --format=qcow2 -a "$1/root.qcow2" -a "$1/data.qcow2" -a "$1/logs.qcow2" run; }

# The reporter installed into $1 the way vmserial installs it (hook $2: initd or systemd),
# with the plan $3 (one action a line): two power-offs for the cold boots, reboot then
# power-off for the guest's own reboot.
prepare() {
  local image=$1 hook=$2
  printf '%s' "$3" > "$WORK/files/plan2"
  {
    echo "mkdir-p /usr/local/sbin"
    echo "mkdir-p /var/lib/vmserial-reporter"
    echo "upload $WORK/files/vmserial-report /usr/local/sbin/vmserial-report"
    echo "chmod 0755 /usr/local/sbin/vmserial-report"
    echo "upload $WORK/files/plan2 /var/lib/vmserial-reporter/plan"
    if [ "$hook" = systemd ]; then
      echo "upload $WORK/files/vmserial-report.service /etc/systemd/system/vmserial-report.service"
      echo "mkdir-p /etc/systemd/system/multi-user.target.wants"
      echo "ln-sf /etc/systemd/system/vmserial-report.service /etc/systemd/system/multi-user.target.wants/vmserial-report.service"
    else
      echo "upload $WORK/files/S99vmserial-report /etc/init.d/S99vmserial-report"
      echo "chmod 0755 /etc/init.d/S99vmserial-report"
    fi
  } | LIBGUESTFS_PATH=$APPLIANCE guestfish -a "$image" -i >/dev/null
}

serial_of() { echo "$SERIALS" | python3 -c "import json,sys; d=json.load(sys.stdin); print(next(x['serial'] for x in d['disks'] if x['name']=='$1'))"; }

# One guest: $1 small|debian. Defines the VM, prepares the floor's disk, runs the interleaved pairs.
bench_guest() {
  local guest=$1 runs vm kernel initrd cmdline mem hook root_base spec
  vm=$PREFIX-$guest
  case $guest in
  small)
    runs=$RUNS; mem=256; hook=initd; root_base=$PWD/$IMAGES/guest.qcow2
    kernel=$PWD/$IMAGES/probe-vmlinuz; [ -f "$IMAGES/probe-vmlinux" ] && kernel=$PWD/$IMAGES/probe-vmlinux
    initrd=$PWD/$IMAGES/probe-initrd.img; cmdline="console=ttyS0 quiet vmserial.mode=boot root=LABEL=vmroot" ;;
  debian)
    runs=$RUNS_DEBIAN; mem=768; hook=systemd; root_base=$PWD/$IMAGES/debian.qcow2
    kernel=$PWD/$IMAGES/debian-vmlinuz; initrd=$PWD/$IMAGES/debian-initrd.img
    cmdline="console=ttyS0 root=LABEL=debroot ro quiet" ;;
  esac
  [ -f "$root_base" ] || { echo "bench: $root_base is missing: run make images" >&2; exit 2; }
  mkdir -p "$WORK/$guest"
  local d=$WORK/$guest
  # A registry of its own: both guests' data disks carry the serials the Debian guest's fstab
  # names, and one registry refuses a serial twice (as it should).
  export VMSERIAL_REGISTRY=$d/registry.sqlite
  qemu-img create -q -f qcow2 -F qcow2 -b "$root_base" "$d/root.qcow2"
  qemu-img create -q -f qcow2 "$d/data.qcow2" 64M
  qemu-img create -q -f qcow2 "$d/logs.qcow2" 64M
  # The data disks carry the serials the Debian guest's fstab names by id (nofail elsewhere).
  cat > "$d/$vm.json" <<JSON
{"name":"$vm","memoryMiB":$mem,"accel":"tcg",
 "boot":{"kernel":"$kernel","initrd":"$initrd","cmdline":"$cmdline"},
 "disks":[{"name":"root","source":"root.qcow2","bus":"virtio"},
          {"name":"data","source":"data.qcow2","bus":"virtio","serial":"SCN-DATA-0001"},
          {"name":"logs","source":"logs.qcow2","bus":"sata","serial":"SCN-LOGS-0001"}]}
JSON
  "$BIN" launch "$d/$vm.json" --no-start >/dev/null
  SERIALS=$("$BIN" serials --domain "$vm" --json)
  local sroot uuid
  sroot=$(serial_of root)
  uuid=$(echo "$SERIALS" | python3 -c "import json,sys; print(json.load(sys.stdin)['uuid'])")

  # The floor's disks: the same base image, the reporter installed once; each run boots a
  # fresh overlay of that, so each run's two boots find the same plan.
  qemu-img create -q -f qcow2 -F qcow2 -b "$root_base" "$d/prepared.qcow2"
  prepare "$d/prepared.qcow2" "$hook" $'poweroff\npoweroff\n'
  qemu-img create -q -f qcow2 -F qcow2 -b "$root_base" "$d/prepared-reboot.qcow2"
  prepare "$d/prepared-reboot.qcow2" "$hook" $'reboot\npoweroff\n'
  # The same guest hardware: the plain QEMU boots also get the devices the domain has besides
  # its disks and serial ports, as libvirt's QEMU driver would give them to QEMU (`virsh
  # domxml-to-native`; for a launched domain, libvirt's default USB controller and balloon,
  # whose firmware initialisation alone costs about 0.45 s of a boot under TCG), without
  # their PCI addresses (QEMU places them among the disks).
  local extra=()
  while IFS= read -r dev; do extra+=(-device "$dev"); done < <(virsh domxml-to-native qemu-argv --domain "$vm" | python3 -c '
import json, shlex, sys
args = shlex.split(sys.stdin.read())
given = {"virtio-blk-pci", "scsi-hd", "ide-hd", "virtio-scsi-pci", "ahci", "ich9-ahci", "isa-serial"}
for flag, value in zip(args, args[1:]):
    if flag == "-device" and value.startswith("{"):
        dev = json.loads(value)
        if dev.get("driver") not in given:
            dev.pop("addr", None)
            print(json.dumps(dev, separators=(",", ":")))
')
  echo "  the plain QEMU boots carry the domain's other devices: $(printf '%s\n' "${extra[@]}" | sed -n 's/.*"driver":"\([^"]*\)".*/\1/p' | paste -sd' ')"
  # boot N [qemu options]: one QEMU process until the guest powers off (-no-reboot: a reboot ends it too).
  boot() {
    qemu-system-x86_64 -machine pc,accel=tcg -m "$mem" -nodefaults -display none "${@:2}" "${extra[@]}" \
      -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
      -smbios "type=1,serial=$uuid,uuid=$uuid" -uuid "$uuid" \
      -serial "file:$d/bare-console.txt" -serial "file:$d/bare-report-$1.txt" \
      -drive "file=$d/bare.qcow2,format=qcow2,if=none,id=d0" -device "virtio-blk-pci,drive=d0,serial=$sroot" \
      -drive "file=$d/data.qcow2,format=qcow2,if=none,id=d1,snapshot=on" -device "virtio-blk-pci,drive=d1,serial=SCN-DATA-0001" \
      -device ich9-ahci,id=sata0 \
      -drive "file=$d/logs.qcow2,format=qcow2,if=none,id=d2,snapshot=on" -device "ide-hd,bus=sata0.0,drive=d2,serial=SCN-LOGS-0001"
    grep -q VMSERIAL-REPORT-END "$d/bare-report-$1.txt"
  }

  echo "bench ($guest guest): $runs runs each, interleaved (TCG; one appliance start + two boots to power-off vs verify --mode guest --reboots 1)"
  : > "$d/floor.times"; : > "$d/same.times"; : > "$d/verify.times"
  for i in $(seq 1 "$runs"); do
    rm -f "$d/bare.qcow2"; qemu-img create -q -f qcow2 -F qcow2 -b "$d/prepared.qcow2" "$d/bare.qcow2"
    local a b t0 t1
    a=$(timed appliance "$d")
    t0=$(now); boot 1 -no-reboot; boot 2 -no-reboot; t1=$(now)
    b=$(awk -v s="$t0" -v e="$t1" 'BEGIN{print e - s}')
    awk -v a="$a" -v b="$b" 'BEGIN{print a + b}' >> "$d/floor.times"
    rm -f "$d/bare.qcow2"; qemu-img create -q -f qcow2 -F qcow2 -b "$d/prepared-reboot.qcow2" "$d/bare.qcow2"
    t0=$(now); boot r; t1=$(now)
    [ "$(grep -c VMSERIAL-REPORT-END "$d/bare-report-r.txt")" = 2 ] || { echo "bench: the guest did not report twice across its own reboot" >&2; exit 1; }
    local r
    r=$(awk -v s="$t0" -v e="$t1" 'BEGIN{print e - s}')
    awk -v a="$a" -v b="$r" 'BEGIN{print a + b}' >> "$d/same.times"
    t0=$(now)
    "$BIN" verify --domain "$vm" --mode guest --reboots 1 --json --timings > "$d/verify-$i.json"
    t1=$(now)
    grep -q '"ok" : true' "$d/verify-$i.json" || { echo "bench: verify failed" >&2; cat "$d/verify-$i.json" >&2; exit 1; }
    awk -v s="$t0" -v e="$t1" 'BEGIN{print e - s}' >> "$d/verify.times"
    python3 -c "import json; p='$d/verify-$i.json'; x=json.load(open(p)); x['wall']=$(tail -1 "$d/verify.times"); json.dump(x, open(p,'w'))"
    printf '  run %d: appliance %.2fs + two cold boots %.2fs = %.2fs; appliance + boot, guest reboot, boot %.2fs; vmserial verify --mode guest --reboots 1 %.2fs\n' \
      "$i" "$a" "$b" "$(tail -1 "$d/floor.times")" "$(tail -1 "$d/same.times")" "$(tail -1 "$d/verify.times")"
  done
  local F S V
  F=$(median < "$d/floor.times"); S=$(median < "$d/same.times"); V=$(median < "$d/verify.times")
  python3 - "$guest" "$F" "$V" "$d" "$S" <<'PY'
import glob, json, statistics, sys
guest, f, v, d, same = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
print(f"guest-vs-appliance ({guest}): appliance + two cold boots median {f:.2f}s, verify --mode guest --reboots 1 median {v:.2f}s, "
      f"ratio {v/f:.2f} ({v-f:+.2f}s; goal <= 1.10: {'met' if v/f <= 1.1 else 'MISSED'})")
print(f"guest-vs-appliance ({guest}): appliance + the same boot, guest reboot and boot with plain QEMU median {same:.2f}s, "
      f"ratio {v/same:.2f} ({v-same:+.2f}s)")
runs = [json.load(open(p)) for p in sorted(glob.glob(f"{d}/verify-*.json"))]
stages = []
for r in runs:
    for t in r["timings"]:
        if t["stage"] not in stages: stages.append(t["stage"])
print(f"  verify stages ({guest}, median of {len(runs)} runs, seconds):")
for s in stages:
    print(f"    {s:34s} {statistics.median([sum(t['seconds'] for t in r['timings'] if t['stage'] == s) for r in runs]):8.3f}")
print(f"    {'outside the stages (exec, exit)':34s} {statistics.median([r['wall'] - sum(t['seconds'] for t in r['timings']) for r in runs]):8.3f}")
# The appliance's start and the guest's boots are what the floor measures too, and on a shared
# machine they vary by seconds from run to run; the rest is vmserial's own work, which does not.
floor_like = {"appliance start", "guest boot to first report line", "report to last line", "guest's own power-off"}
own = statistics.median([r['wall'] - sum(t['seconds'] for t in r['timings'] if t['stage'] in floor_like) for r in runs])
print(f"  vmserial's own work (every stage but the appliance start and the guest's boots and power-off, "
      f"exec and exit included): median {own:.2f}s = {own/f*100:.1f}% of the floor's median")
PY
}

: > "$OUT/guest-vs-appliance.txt"
for g in $GUESTS; do bench_guest "$g" | tee -a "$OUT/guest-vs-appliance.txt"; done
