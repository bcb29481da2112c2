#!/usr/bin/env bash
# Benchmark: `vmserial verify` on a 3-disk domain against two anchors measured in the same run,
# on the same machine, runs interleaved, medians:
#   bare     qemu-system-x86_64 boots the same probe kernel and initramfs with the same three
#            disks and serials, to power-off (no libvirt at all);
#   libvirt  `virsh create` of the very transient XML vmserial gives libvirt (kept by a warm-up
#            `verify --keep`, same overlays), then waiting until libvirt has stopped it after
#            the guest powered itself off (the "Stopped" lifecycle event):
#            libvirt's own cost of starting and stopping a domain, on top of the same boot.
# Then `verify --reboots 3` against the libvirt anchor doing the same four boots (two QEMU
# processes that each report twice, destroyed once both reports are in): the cost per cycle.
# `verify --timings` splits each verify run into stages (monotonic clock inside vmserial);
# the medians of each stage are printed, and "outside" is the wall time no stage holds
# (process start and exit).
#   RUNS=5 RUNS_REBOOTS=3 bash bench/verify-vs-qemu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
RUNS_REBOOTS=${RUNS_REBOOTS:-3}
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
# Run folders of its own: no other vmserial on the machine sweeps them (or counts them).
export VMSERIAL_RUN_DIR=$WORK/run
export VMSERIAL_REGISTRY=$WORK/registry.sqlite LIBVIRT_DEFAULT_URI=${LIBVIRT_DEFAULT_URI:-qemu:///system} VMSERIAL_ACCEL=tcg
cleanup() {
  virsh destroy "$VM" >/dev/null 2>&1 || true
  virsh undefine "$VM" >/dev/null 2>&1 || true
  [ -f "$WORK/kept" ] && while read -r k; do rm -rf "$k"; done < "$WORK/kept"
  rm -rf "$WORK"
}
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
ENDMARK=VMSERIAL-REPORT-END

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
  grep -q $ENDMARK "$WORK/bare-report.txt"
}

# A warm-up verify that keeps its run folder: the transient XML libvirt got (domain-N.xml),
# the overlays, and the report file the anchor's guest writes to.
keep() {
  local kept
  "$BIN" verify --domain "$VM" --keep "$@" > "$WORK/keep.out" 2> "$WORK/keep.err" ||
    { echo "bench: verify --keep $* failed:" >&2; cat "$WORK/keep.out" "$WORK/keep.err" >&2; exit 1; }
  kept=$(sed -n 's/.*kept the run folder \([^ ]*\).*/\1/p' "$WORK/keep.err")
  [ -n "$kept" ] && [ -f "$kept/domain-1.xml" ] || { echo "bench: verify --keep kept no run folder" >&2; exit 1; }
  echo "$kept" >> "$WORK/kept"
  echo "$kept"
}

# libvirt's own start and stop: create the transient domain (one virsh process), wait until
# libvirt says it stopped after the guest powered itself off ("Stopped", which follows
# "Shutdown" once QEMU is gone: the stop is libvirt's cost too).
anchor() {
  local fd pid line stopped=no
  : > "$K1/report.txt"
  exec {fd}< <(exec virsh -q "create $K1/domain-1.xml; event --domain $VM --event lifecycle --loop --timeout 300" 2>&1)
  pid=$!
  local seen=""
  while read -r -t 300 line <&"$fd"; do
    seen+="$line"$'\n'
    [[ $line == *Stopped* ]] && stopped=yes && break
  done
  kill "$pid" 2>/dev/null || true
  exec {fd}<&-
  [ $stopped = yes ] || { echo "bench: the anchor's domain never stopped; virsh said: $seen" >&2; exit 1; }
  grep -q $ENDMARK "$K1/report.txt"
}

# The same boots as `verify --reboots 3`: each kept domain (one QEMU process) reports twice
# (a boot and the guest's own reboot), then is destroyed.
anchor_reboots() {
  local xml fd tail_pid line n
  for xml in "$KR"/domain-*.xml; do
    : > "$KR/report.txt"
    exec {fd}< <(exec tail -n +1 -F "$KR/report.txt" 2>/dev/null)
    tail_pid=$!
    virsh -q create "$xml" >/dev/null
    n=0
    while read -r -t 300 line <&"$fd"; do
      [[ $line == *$ENDMARK* ]] && n=$((n + 1)) && [ $n -ge 2 ] && break
    done
    virsh -q destroy "$VM" >/dev/null
    kill "$tail_pid" 2>/dev/null || true
    exec {fd}<&-
    [ $n -ge 2 ] || { echo "bench: the anchor's guest sent $n of 2 reports" >&2; exit 1; }
  done
}

timed() { local t0 t1; t0=$(now); "$@"; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'; }

run_to() { local out=$1; shift; "$@" > "$out"; }
verify_json() {
  local out=$1; shift
  local t
  t=$(timed run_to "$out" "$BIN" verify --domain "$VM" --json --timings "$@")
  grep -q '"ok" : true' "$out" || { echo "bench: verify failed" >&2; cat "$out" >&2; exit 1; }
  python3 -c "import json,sys; d=json.load(open('$out')); d['wall']=$t; json.dump(d, open('$out','w'))"
  echo "$t"
}

echo "bench: warm-up (verify --keep, verify --reboots 3 --keep)"
K1=$(keep)
KR=$(keep --reboots 3)
[ "$(ls "$KR"/domain-*.xml | wc -l)" -eq 2 ] || { echo "bench: verify --reboots 3 ran $(ls "$KR"/domain-*.xml | wc -l) QEMU processes, the anchor assumes 2" >&2; exit 1; }

echo "bench: $RUNS runs each, interleaved (TCG, 3 disks: virtio, scsi, sata, kernel $(basename "$KERNEL"), $BIN)"
: > "$WORK/bare.times"; : > "$WORK/anchor.times"; : > "$WORK/verify.times"
for i in $(seq 1 "$RUNS"); do
  timed bare >> "$WORK/bare.times"
  timed anchor >> "$WORK/anchor.times"
  verify_json "$WORK/verify-$i.json" >> "$WORK/verify.times"
  printf '  run %d: bare qemu %.2fs, virsh create + power-off %.2fs, vmserial verify %.2fs\n' "$i" \
    "$(tail -1 "$WORK/bare.times")" "$(tail -1 "$WORK/anchor.times")" "$(tail -1 "$WORK/verify.times")"
done
echo "bench: $RUNS_REBOOTS runs each of four boots (verify --reboots 3 and its libvirt anchor)"
: > "$WORK/anchor-r.times"; : > "$WORK/verify-r.times"
for i in $(seq 1 "$RUNS_REBOOTS"); do
  timed anchor_reboots >> "$WORK/anchor-r.times"
  verify_json "$WORK/verify-r-$i.json" --reboots 3 >> "$WORK/verify-r.times"
  printf '  run %d: virsh anchor %.2fs, vmserial verify --reboots 3 %.2fs\n' "$i" \
    "$(tail -1 "$WORK/anchor-r.times")" "$(tail -1 "$WORK/verify-r.times")"
done

B=$(median < "$WORK/bare.times"); A=$(median < "$WORK/anchor.times"); V=$(median < "$WORK/verify.times")
AR=$(median < "$WORK/anchor-r.times"); VR=$(median < "$WORK/verify-r.times")
python3 - "$B" "$A" "$V" "$AR" "$VR" "$WORK" <<'PY' | tee "$OUT/verify-vs-qemu.txt"
import glob, json, statistics, sys
b, a, v, ar, vr = map(float, sys.argv[1:6]); work = sys.argv[6]
over_bare, over_anchor, libvirt = v - b, v - a, a - b
print(f"verify-vs-bare-qemu: bare median {b:.2f}s, verify median {v:.2f}s, ratio {v/b:.2f}, verify {over_bare:+.2f}s over the bare boot")
print(f"verify-vs-libvirt: virsh create + power-off median {a:.2f}s (libvirt's own start/stop: {libvirt:+.2f}s over bare), "
      f"verify {over_anchor:+.2f}s over it, ratio {v/a:.3f}")
if libvirt > 0.3:
    goal = f"goal: at most +0.10s over the libvirt anchor (libvirt alone costs more than 0.3s): {'met' if over_anchor <= 0.1 else 'MISSED'}"
else:
    goal = f"goal: at most +0.30s over the bare boot: {'met' if over_bare <= 0.3 else 'MISSED'}"
print(goal)
per_cycle = (vr - ar) / 4
print(f"verify-reboots-3: virsh anchor (same 4 boots) median {ar:.2f}s, verify --reboots 3 median {vr:.2f}s, "
      f"{per_cycle:+.3f}s per cycle over the guest's own boots and reboots (goal <= 0.10s: {'met' if per_cycle <= 0.1 else 'MISSED'})")

def breakdown(pattern, title):
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/{pattern}"))]
    stages = []
    for r in runs:
        for t in r.get("timings", []):
            if t["stage"] not in stages: stages.append(t["stage"])
    print(f"{title} (median of {len(runs)} runs, seconds, monotonic clock inside vmserial):")
    for s in stages:
        vals = [sum(t["seconds"] for t in r["timings"] if t["stage"] == s) for r in runs]
        print(f"  {s:34s} {statistics.median(vals):8.3f}")
    outside = [r["wall"] - sum(t["seconds"] for t in r["timings"]) for r in runs]
    print(f"  {'outside the stages (exec, exit)':34s} {statistics.median(outside):8.3f}")
breakdown("verify-[0-9]*.json", "verify stages")
breakdown("verify-r-*.json", "verify --reboots 3 stages")
PY
