#!/usr/bin/env bash
# Fuzzes one target of the harness (fuzz/Felix.Fuzz) with AFL++ for a fixed time: builds the
# harness, instruments a copy of the assembly under test with SharpFuzz, seeds AFL with
# fuzz/corpus/<target> and fuzz/regressions/<target>, and runs afl-fuzz for --seconds. Exits 1
# when AFL saved any crash or hang (listing each input and how to reproduce it), 2 on bad usage.
#
#   scripts/fuzz.sh model|netlink [--seconds N] [--output DIR] [--harness DIR] [--timeout-ms N]
#
#   --seconds N     how long AFL fuzzes (default 60); CI runs 30, a long run 900 or more
#   --output DIR    where the instrumented copy and AFL's findings go (default out/fuzz/<target>);
#                   emptied first; DIR/findings/default/fuzzer_stats holds AFL's numbers
#   --harness DIR   an already built harness (the tests pass their own build); default: build
#                   fuzz/Felix.Fuzz in Release
#   --timeout-ms N  an input running longer is a hang (default 10000: a loaded two-core machine
#                   must not turn a JIT or GC pause into a finding; an endless loop is still caught)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh

usage() {
  sed -n '7,17s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

target=${1:-}
[ -d "fuzz/corpus/$target" ] && [ -n "$target" ] || usage
shift
seconds=60 output="out/fuzz/$target" harness="" timeout_ms=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?}; shift 2 ;;
    --output) output=${2:?}; shift 2 ;;
    --harness) harness=${2:?}; shift 2 ;;
    --timeout-ms) timeout_ms=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done

# What each target instruments: only the code under test feeds AFL's coverage map.
case "$target" in
  model) assembly=felix.dll prefix=Felix.Agent.Model ;;
  netlink) assembly=Felix.Dataplane.dll prefix=Felix.Dataplane.Netlink ;;
  *) usage ;;
esac

ensure_packages afl++
ensure_dotnet
ensure_dotnet_tools

if [ -z "$harness" ]; then
  dotnet build fuzz/Felix.Fuzz -c Release --nologo -v quiet >/dev/null || die "building the fuzz harness failed"
  harness=fuzz/Felix.Fuzz/bin/Release/net10.0
fi
[ -f "$harness/Felix.Fuzz.dll" ] || die "no Felix.Fuzz.dll in $harness"

# Emptied first, but only when it is empty or an earlier run's: --output must never wipe anything else.
if [ -n "$(ls -A "$output" 2>/dev/null)" ] && [ ! -d "$output/findings" ] && [ ! -d "$output/harness" ]; then
  die "$output is not empty and not an earlier fuzz run's output; pick another --output"
fi
rm -rf "$output"
# Instrumented in a copy: the build output stays as the replay tests use it.
mkdir -p "$output/seeds"
cp -r "$harness" "$output/harness"
dotnet sharpfuzz "$output/harness/$assembly" "$prefix" >/dev/null || die "sharpfuzz could not instrument $assembly"
cp "fuzz/corpus/$target"/* "$output/seeds/"
for f in "fuzz/regressions/$target"/*; do
  [ -f "$f" ] && cp "$f" "$output/seeds/regression-$(basename "$f")"
done

# CI runs as root in containers: no CPU governor, core_pattern or free core to pin to is assured.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# An input that makes the parser allocate without bound hits this and crashes, instead of the machine.
export DOTNET_GCHeapHardLimit=0x10000000
status=0
timeout --kill-after=30 $((seconds + 300)) afl-fuzz -i "$output/seeds" -o "$output/findings" -V "$seconds" -t "$timeout_ms" -m none \
  -- dotnet "$output/harness/Felix.Fuzz.dll" "$target" >"$output/afl.log" 2>&1 || status=$?

stats="$output/findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  tail -n 30 "$output/afl.log" >&2
  die "afl-fuzz exited with $status before writing $stats"
fi
stat_of() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(stat_of saved_crashes) hangs=$(stat_of saved_hangs)
echo "fuzz $target: $(stat_of execs_done) execs ($(stat_of execs_per_sec)/s) in $(stat_of run_time) s," \
  "corpus $(stat_of corpus_count) from $(ls "$output/seeds" | wc -l) seeds, edges $(stat_of edges_found)," \
  "crashes $crashes, hangs $hangs"
[ "$status" -eq 0 ] || { tail -n 30 "$output/afl.log" >&2; die "afl-fuzz exited with $status"; }
if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
  for f in "$output/findings/default/crashes"/id:* "$output/findings/default/hangs"/id:*; do
    [ -f "$f" ] && echo "finding: $f"
  done
  echo "reproduce: dotnet fuzz/Felix.Fuzz/bin/Release/net10.0/Felix.Fuzz.dll $target --replay <finding>" \
    "(uninstrumented; prints the exception), then fix it and add the input to fuzz/regressions/$target"
  exit 1
fi
