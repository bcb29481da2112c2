#!/usr/bin/env bash
# Benchmark: offline `vmserial migrate` of a 1 GiB image against a plain `qemu-img convert`
# of the same image, in the same run. Reports throughput (MiB/s) medians and their ratio
# (goal: at least 0.97), then vmserial's fixed cost: a 16 MiB migrate against its convert
# (medians of 15, the difference in ms), and how much longer each takes to start from a cold page
# cache. On a shared disk one copy of 1 GiB takes 1.0-2.1 s from run to run, so besides the
# two medians it reports the median of the runs' own ratios (each run copies with both, one
# right after the other, so a slow minute slows both).   RUNS=16 bash bench/migrate-vs-convert.sh
# BENCH_DIR (default /var/tmp) holds the images: BENCH_DIR=/dev/shm copies in memory, which
# takes the host disk's own variation (here 0.66-1.29 s for one 1 GiB convert) out.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-16}
BIN=${BIN:-.build/release/vmserial}
[ -x "$BIN" ] || BIN=.build/debug/vmserial
OUT=bench/results
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vmserial-bench-mig.XXXXXX")
chmod 755 "$WORK"
VM=bench-migrate-$$
export VMSERIAL_REGISTRY=$WORK/registry.sqlite LIBVIRT_DEFAULT_URI=${LIBVIRT_DEFAULT_URI:-qemu:///system} VMSERIAL_ACCEL=tcg
cleanup() { virsh undefine "$VM" >/dev/null 2>&1 || true; virsh undefine "$VM-small" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
mkdir -p "$OUT"

IMAGES=images/build
# vm NAME FILE SIZE: FILE (in $WORK) filled with SIZE of data, as the one disk of VM NAME, launched.
vm() {
  qemu-img create -q -f qcow2 "$WORK/$2" "$3"
  qemu-io -f qcow2 -c "write -P 0x5a 0 $3" "$WORK/$2" >/dev/null
  cat > "$WORK/$1.json" <<JSON
{"name":"$1","accel":"tcg","boot":{"kernel":"$PWD/$IMAGES/probe-vmlinuz"},
 "disks":[{"name":"a","source":"$2","bus":"virtio"}]}
JSON
  "$BIN" launch "$WORK/$1.json" --no-start >/dev/null
}
vm "$VM" disk-0.qcow2 1G

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
: > "$WORK/convert.rates"; : > "$WORK/migrate.rates"
echo "bench: $RUNS runs each, interleaved (1 GiB of data, qcow2 → qcow2)"
cur=$WORK/disk-0.qcow2
convert() {
  settle; t0=$(now); qemu-img convert -f qcow2 -O qcow2 "$cur" "$WORK/plain.qcow2"; sync; t1=$(now)
  rm -f "$WORK/plain.qcow2"; sync
  awk -v a="$t0" -v b="$t1" 'BEGIN{print 1024/(b-a)}' >> "$WORK/convert.rates"
}
# Before each copy the same start: dirty data written back, the page cache dropped (so both
# read the source from the disk), a moment for the filesystem to finish freeing the last
# deleted file. Without it the side that follows a deletion was up to 2.5 times slower here.
settle() {
  sync
  echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  sleep 1
  warm
}
# Dropping the page cache also drops both programs and their libraries. Started cold, vmserial
# (a 160 MB file, the Swift runtime and libvirt's libraries in it or beside it) spends about
# 0.1 s more than qemu-img reading itself back from the disk, once per boot of the host rather
# than per copy. Both start warm, as they do in use; the source image stays cold. The cold
# start is measured on its own below.
warm() {
  # A migration refused at its plan (no such folder): the registry, libvirt and the plan, no copy.
  "$BIN" migrate --domain "$VM" --disk a --to "$WORK/no-such-folder/x.qcow2" >/dev/null 2>&1 || true
  qemu-img --version >/dev/null
  virsh -c "$LIBVIRT_DEFAULT_URI" version >/dev/null 2>&1 || true
}
# Each side's clean-up is outside its timing: deleting 1 GiB and syncing that costs about 0.2 s
# here, which is `rm`'s cost, not the copy's (`--remove-source` would put it inside).
migrate() {
  next=$WORK/disk-$1.qcow2
  settle; t0=$(now); "$BIN" migrate --domain "$VM" --disk a --to "$next" --json >/dev/null; sync; t1=$(now)
  rm -f "$cur"; cur=$next; sync
  awk -v a="$t0" -v b="$t1" 'BEGIN{print 1024/(b-a)}' >> "$WORK/migrate.rates"
}
# The host's write-back state drifts during a run (freed extents, other I/O): odd runs copy with
# qemu-img first, even runs with vmserial first, so neither side always follows the other.
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then convert; migrate "$i"; else migrate "$i"; convert; fi
  printf '  run %d: qemu-img convert %.0f MiB/s, vmserial migrate %.0f MiB/s\n' "$i" "$(tail -1 "$WORK/convert.rates")" "$(tail -1 "$WORK/migrate.rates")"
done
C=$(median < "$WORK/convert.rates"); M=$(median < "$WORK/migrate.rates")
R=$(awk -v m="$M" -v c="$C" 'BEGIN{print m/c}')
P=$(paste "$WORK/migrate.rates" "$WORK/convert.rates" | awk '{print $1/$2}' | median)
printf 'migrate-vs-convert: convert median %.0f MiB/s, migrate median %.0f MiB/s, ratio %.2f (goal >= 0.97: %s); median of the runs'"'"' own ratios %.2f\n' "$C" "$M" "$R" \
  "$(awk -v r="$R" 'BEGIN{print (r >= 0.97 ? "met" : "MISSED")}')" "$P" | tee "$OUT/migrate-vs-convert.txt"

# The fixed cost: the same two commands on 16 MiB, where the copy itself takes milliseconds.
rm -f "$cur"; cur=$WORK/small-0.qcow2
vm "$VM-small" small-0.qcow2 16M
: > "$WORK/small-convert.t"; : > "$WORK/small-migrate.t"
for i in $(seq 1 15); do
  t0=$(now); qemu-img convert -f qcow2 -O qcow2 "$cur" "$WORK/plain.qcow2"; t1=$(now); rm -f "$WORK/plain.qcow2"
  awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)*1000}' >> "$WORK/small-convert.t"
  next=$WORK/small-$i.qcow2
  t0=$(now); "$BIN" migrate --domain "$VM-small" --disk a --to "$next" --json >/dev/null; t1=$(now); rm -f "$cur"; cur=$next
  awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)*1000}' >> "$WORK/small-migrate.t"
done
virsh undefine "$VM-small" >/dev/null 2>&1 || true
SC=$(median < "$WORK/small-convert.t"); SM=$(median < "$WORK/small-migrate.t")
awk -v c="$SC" -v m="$SM" 'BEGIN{printf "migrate-vs-convert (16 MiB, 15 runs): convert median %.1f ms, migrate median %.1f ms: vmserial'"'"'s fixed cost %.1f ms\n", c, m, m-c}' \
  | tee -a "$OUT/migrate-vs-convert.txt"

# The start from a cold page cache, which the copies above leave out (see `warm`): each program's
# --version right after the cache is dropped, medians of 5. Dropping it needs root; without, a
# "cold" start would be a warm one, so the line says it was not measured.
if ! { sync; echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
  echo "start from a cold page cache: not measured (dropping the page cache needs root)" | tee -a "$OUT/migrate-vs-convert.txt"
  exit 0
fi
: > "$WORK/cold-vmserial.t"; : > "$WORK/cold-qemu-img.t"
for i in $(seq 1 5); do
  for tool in vmserial qemu-img; do
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 1
    if [ "$tool" = vmserial ]; then cmd=("$BIN" --version); else cmd=(qemu-img --version); fi
    t0=$(now); "${cmd[@]}" >/dev/null; t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)*1000}' >> "$WORK/cold-$tool.t"
  done
done
awk -v v="$(median < "$WORK/cold-vmserial.t")" -v q="$(median < "$WORK/cold-qemu-img.t")" \
  'BEGIN{printf "start from a cold page cache (--version, 5 runs): qemu-img %.0f ms, vmserial %.0f ms (+%.0f ms, once per boot of the host, not per copy)\n", q, v, v-q}' \
  | tee -a "$OUT/migrate-vs-convert.txt"
