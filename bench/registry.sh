#!/usr/bin/env bash
# Benchmarks for the registry, measured in one run on this machine:
#  1. serial allocations per second with 1, 4 and 8 concurrent processes, on SQLite and on
#     PostgreSQL (a private cluster on loopback): each process runs `vmserial launch --no-start`
#     of 3-disk VMs against libvirt's test:///default (no guest boots);
#  2. the median time of `vmserial launch --no-start` against `virsh define` of the same XML on
#     the real daemon (goal: at most 1.2×), over 3×RUNS interleaved runs (each takes tens of ms),
#     split into the start and exit alone (a launch refused at its spec against `virsh --version`)
#     and the work after it.
# It measures a release binary: BIN, else .build/release/vmserial, else the newest
# .build*/release/vmserial (another --scratch-path); a debug one only when there is no release
# one, and the result says so: a debug binary spends a third more CPU than a release one, so its
# ratio says little. The Swift runtime linked statically
# (`swift build -c release --static-swift-stdlib`) starts about 8 ms faster than linked as
# shared libraries; the result says which one was measured.
#   LAUNCHES=30 RUNS=9 bash bench/registry.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LAUNCHES=${LAUNCHES:-30}
RUNS=${RUNS:-9}
if [ -z "${BIN:-}" ]; then
  BIN=.build/release/vmserial
  # shellcheck disable=SC2012 # names are .build*/release/vmserial, no surprises
  [ -x "$BIN" ] || BIN=$(ls -t .build*/release/vmserial 2>/dev/null | head -1)
  [ -n "$BIN" ] && [ -x "$BIN" ] || BIN=.build/debug/vmserial
fi
[ -x "$BIN" ] || { echo "bench: no vmserial binary (BIN=$BIN); run \`make bench\` or swift build -c release" >&2; exit 1; }
case "$BIN" in
  */debug/*) KIND="DEBUG build: not representative, build with swift build -c release" ;;
  *) KIND="release build" ;;
esac
if ldd "$BIN" 2>/dev/null | grep libswiftCore >/dev/null; then KIND="$KIND, Swift runtime in shared libraries"; else KIND="$KIND, Swift runtime linked statically"; fi
OUT=bench/results
WORK=$(mktemp -d /tmp/vmserial-bench-reg.XXXXXX)
chmod 755 "$WORK"
export VMSERIAL_PG_PORT=${VMSERIAL_PG_PORT:-55439} VMSERIAL_PG_DIR=$WORK/pg
URI=${LIBVIRT_DEFAULT_URI:-qemu:///system}
cleanup() {
  bash scripts/test-postgres.sh stop >/dev/null 2>&1 || true
  for d in $(virsh -c "$URI" list --all --name 2>/dev/null | grep '^bench-reg-' || true); do virsh -c "$URI" undefine "$d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$OUT"
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

qemu-img create -q -f qcow2 "$WORK/d.qcow2" 16M
spec() {  # spec NAME
  cat > "$WORK/$1.json" <<JSON
{"name":"$1","accel":"tcg","boot":{"kernel":"$PWD/images/build/probe-vmlinuz"},
 "disks":[{"name":"a","source":"d.qcow2","bus":"virtio"},{"name":"b","source":"d.qcow2","bus":"scsi"},{"name":"c","source":"d.qcow2","bus":"sata"}]}
JSON
}

PGURL=$(bash scripts/test-postgres.sh start 2>/dev/null | tail -1)
{
echo "registry allocations ($LAUNCHES launches per process, 3 disks each, test:///default)"
for store in sqlite postgres; do
  for procs in 1 4 8; do
    if [ "$store" = sqlite ]; then reg=$WORK/alloc-$procs.sqlite; else reg="$PGURL?schema=bench_$procs"; fi
    for p in $(seq 1 "$procs"); do for i in $(seq 1 "$LAUNCHES"); do spec "bench-reg-$store-$procs-$p-$i"; done; done
    t0=$(now)
    for p in $(seq 1 "$procs"); do
      ( for i in $(seq 1 "$LAUNCHES"); do
          "$BIN" launch "$WORK/bench-reg-$store-$procs-$p-$i.json" --no-start --connect test:///default --registry "$reg" >/dev/null
        done ) &
    done
    wait
    t1=$(now)
    awk -v a="$t0" -v b="$t1" -v n=$((procs * LAUNCHES * 3)) -v s="$store" -v p="$procs" \
      'BEGIN{printf "  %-8s %d process(es): %5.0f serials/s (%d in %.1f s)\n", s, p, n/(b-a), n, b-a}'
  done
done

echo "launch --no-start vs virsh define of the same XML ($URI, $((RUNS * 3)) runs each, interleaved)"
echo "  binary: $BIN ($KIND)"
: > "$WORK/virsh.t"; : > "$WORK/launch.t"; : > "$WORK/virsh-start.t"; : > "$WORK/launch-start.t"
spec bench-reg-define
REG=$WORK/launch.sqlite
for i in $(seq 1 $((RUNS * 3))); do
  # Start and exit alone: a launch refused at its spec (exit 2: no registry, no libvirt) and
  # `virsh --version` (no connection). What each figure below takes beyond these is its work.
  rc=0; t0=$(now); "$BIN" launch "$WORK/no-such-spec.json" >/dev/null 2>&1 || rc=$?; t1=$(now)
  [ "$rc" = 2 ] || { echo "bench: a launch of a missing spec exited $rc, not 2" >&2; exit 1; }
  awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}' >> "$WORK/launch-start.t"
  t0=$(now); virsh --version >/dev/null; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}' >> "$WORK/virsh-start.t"
  "$BIN" launch "$WORK/bench-reg-define.json" --dry-run --registry "$REG" > "$WORK/define.xml" 2>/dev/null
  t0=$(now); virsh -c "$URI" define "$WORK/define.xml" >/dev/null; t1=$(now)
  virsh -c "$URI" undefine bench-reg-define >/dev/null
  awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}' >> "$WORK/virsh.t"
  t0=$(now); "$BIN" launch "$WORK/bench-reg-define.json" --no-start --connect "$URI" --registry "$REG" >/dev/null 2>&1; t1=$(now)
  virsh -c "$URI" undefine bench-reg-define >/dev/null
  awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}' >> "$WORK/launch.t"
done
V=$(median < "$WORK/virsh.t"); L=$(median < "$WORK/launch.t")
VS=$(median < "$WORK/virsh-start.t"); LS=$(median < "$WORK/launch-start.t")
awk -v v="$V" -v l="$L" 'BEGIN{printf "  virsh define median %.3f s, vmserial launch --no-start median %.3f s, ratio %.2f (goal <= 1.2: %s)\n", v, l, l/v, (l/v <= 1.2 ? "met" : "MISSED")}'
awk -v v="$V" -v l="$L" -v vs="$VS" -v ls="$LS" 'BEGIN{
  printf "  start and exit alone: virsh --version %.1f ms, vmserial refusing a missing spec %.1f ms (%+.1f ms; the goal leaves %+.1f ms over virsh define in all)\n", vs*1000, ls*1000, (ls-vs)*1000, 0.2*v*1000
  printf "  the work after the start: virsh define %.1f ms, launch --no-start %.1f ms (%+.1f ms)\n", (v-vs)*1000, (l-ls)*1000, ((l-ls)-(v-vs))*1000}'
} | tee "$OUT/registry.txt"
