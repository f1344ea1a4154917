#!/usr/bin/env bash
# Runs one libFuzzer target (tests/fuzz/fuzz_TARGET.c) for SECONDS, with
# ASan + UBSan, from its committed seeds (tests/fuzz/corpus/TARGET/ or
# tests/fuzz/corpus/fuzz_TARGET/, else tests/data/datasets/ for the data
# loaders' first targets) and its
# dictionary (tests/fuzz/TARGET.dict) when there is one. New inputs go to
# build-fuzz/corpus/TARGET/ (kept between runs), a crashing input to
# build-fuzz/TARGET-crash-*. Builds build-fuzz (CC=clang, -Dfuzz=true) if it
# is missing. Extra arguments go to libFuzzer (e.g. -jobs=2, -runs=N).
#   tools/fuzz.sh suite 60
#   tools/fuzz.sh --list
# Exit status: 0 no crash, 1 a crash, leak, UB report, timeout or OOM, 2 usage.
set -uo pipefail
cd "$(dirname "$0")/.."

targets() { (cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//'); }
if [ "${1:-}" = --list ]; then
  targets
  exit 0
fi
if [ $# -lt 2 ]; then
  echo "usage: tools/fuzz.sh TARGET SECONDS [libFuzzer options]; targets:" $(targets) >&2
  exit 2
fi
t=${1#fuzz_}
secs=$2
shift 2
if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
  echo "tools/fuzz.sh: no target '$t'; targets:" $(targets) >&2
  exit 2
fi
case $secs in
  '' | *[!0-9]*) echo "tools/fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;;
esac

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dwerror=true >&2 || exit 2
fi
# MLBENCH_FUZZ_PREBUILT=1 (tools/test.sh, which builds every target first
# and runs two at a time): no ninja here, so runs side by side do not both
# regenerate the build's files.
if [ "${MLBENCH_FUZZ_PREBUILT:-0}" = 1 ]; then
  [ -x "build-fuzz/tests/fuzz/fuzz_$t" ] || { echo "tools/fuzz.sh: build-fuzz/tests/fuzz/fuzz_$t not built" >&2; exit 2; }
else
  ninja -C build-fuzz "tests/fuzz/fuzz_$t" >&2 || exit 2
fi

# history reads results documents: results' seeds and dictionary.
like=$t
[ "$t" = history ] && like=results
seeds=tests/fuzz/corpus/$like
[ -d "$seeds" ] || seeds=tests/fuzz/corpus/fuzz_$t # the layout of the GPT-2 targets' seeds
[ -d "$seeds" ] || seeds=tests/data/datasets
work=build-fuzz/corpus/$t
mkdir -p "$work"

# Per-target limits. Inputs stay small enough that the costs another change
# bounds (suite YAML aliases and duplicate keys, results documents of tens of
# thousands of runs, LIBSVM densification) cannot stop a run with an OOM or
# a timeout that is already known; a run is still one that finds new ones.
max_len=16384
timeout=10
case $t in
  suite | peer_desc) max_len=4096 ;;
  results | compare | history) max_len=131072; timeout=20 ;;
  peer_line) max_len=8192 ;;
  libsvm) max_len=256 ;;
esac
dict=()
[ -f "tests/fuzz/$like.dict" ] && dict=(-dict="tests/fuzz/$like.dict")

exec build-fuzz/tests/fuzz/"fuzz_$t" -max_total_time="$secs" -max_len="$max_len" \
  -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=build-fuzz/"$t"- "${dict[@]}" "$@" "$work" "$seeds"
