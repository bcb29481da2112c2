#!/usr/bin/env bash
# make fuzz: libFuzzer on each parser of untrusted input (FuzzTargets), FUZZ_SECONDS each
# (default 60). Reports executions and crashes per target; exit 1 when any target found one.
# The build has its own scratch folder (-sanitize=fuzzer must not reach the normal build).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
PER=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"spec scenario report domain-xml hive"}
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
OUT=${FUZZ_OUT:-Fuzz/out}

VMSERIAL_FUZZ=1 "$SWIFT" build -c release --product vmserial-fuzz --scratch-path "$SCRATCH" \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
BIN="$SCRATCH/release/vmserial-fuzz"

seeds() {  # target folder: the same seed files as Tests/FuzzTests
  case "$1" in
    spec) cp examples/*.json scenarios/vm.json "$2"/ ;;
    scenario) cp scenarios/*.json "$2"/ ;;
    report) cp Tests/VerifierTests/Fixtures/*.txt "$2"/ ;;
    # The real 12-15 MB SYSTEM hives run a few times a second under libFuzzer: the mutation pass of
    # Tests/FuzzTests takes them; here the small built-in hives (VMSERIAL_FUZZ_SEED_DIR) are the seeds.
    hive) : ;;
    domain-xml) : ;;
  esac
  if [ -d "Fuzz/seeds/$1" ]; then cp Fuzz/seeds/"$1"/* "$2"/; fi
}

failed=0
summary=""
for t in $TARGETS; do
  corpus="$OUT/$t/corpus" artifacts="$OUT/$t/artifacts" seed="$OUT/$t/seeds"
  rm -rf "$artifacts" "$seed"; mkdir -p "$corpus" "$artifacts" "$seed"
  seeds "$t" "$seed"
  log="$OUT/$t/fuzz.log"
  set +e
  VMSERIAL_FUZZ_TARGET="$t" VMSERIAL_FUZZ_SEED_DIR="$seed" ASAN_OPTIONS=detect_leaks=0 \
    "$BIN" -max_total_time="$PER" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seed" > "$log" 2>&1
  status=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "$artifacts" -type f | wc -l)
  [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ] && failed=1
  line=$(printf '%-11s %12s executions  %d crashes  (exit %d, %s)' "$t" "${execs:-?}" "$crashes" "$status" "$log")
  echo "fuzz: $line"
  summary+="$line"$'\n'
done
echo "--- make fuzz: ${PER} s per target"
printf '%s' "$summary"
exit $failed
