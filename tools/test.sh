#!/usr/bin/env bash
# Sets up (build dependencies and the Python peers), then runs every test
# twice: in build/ with warnings as errors, and in build-san/ under
# AddressSanitizer + UndefinedBehaviorSanitizer; then the PyTorch parity
# tools and short libFuzzer runs of the parsers. Ends with one line "N passed, N failed, N skipped" over all of it,
# after the reason of every skip; exits non-zero when any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."

MLBENCH_MESON_ARGS="-Dwerror=true" tools/setup.sh --peers --fuzz --cluster --test || exit 1
meson test -C build --print-errorlogs --num-processes 2
rc1=$?

echo "== sanitizer build (address, undefined) ==" >&2
MLBENCH_BUILD_DIR=build-san \
MLBENCH_MESON_ARGS="-Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false" \
  tools/setup.sh || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-san --print-errorlogs --num-processes 2
rc2=$?

# The peers were installed above, so torch is there: a parity tool that
# cannot run is a failure, not a skip.
tools/parity/run_all.sh
rc3=$?

# Short libFuzzer runs of every parser of untrusted bytes (tests/fuzz, one
# tools/fuzz.sh run each, from the committed seeds tests/fuzz/corpus/); a
# crash, leak, UB report, timeout or OOM fails the run. MLBENCH_FUZZ_SECONDS
# sets each target's time (default 15). Two targets run at a time (one per
# core of the 2-core machines this runs on), all built first so that the
# pairs do not race on one ninja.
echo "== fuzz (libFuzzer, ASan + UBSan) ==" >&2
rc4=0
fuzz_s=${MLBENCH_FUZZ_SECONDS:-15}
fuzz_one() { # target; its verdict goes to build-fuzz/TARGET.verdict
  if MLBENCH_FUZZ_PREBUILT=1 tools/fuzz.sh "$1" "$fuzz_s" >build-fuzz/"$1".log 2>&1; then
    echo "fuzz: $1: ${fuzz_s}s, no crash ($(grep -o 'stat::number_of_executed_units: [0-9]*' \
      build-fuzz/"$1".log | grep -o '[0-9]*$') executions)" >build-fuzz/"$1".verdict
  else
    { echo "fuzz: $1 FAILED (build-fuzz/$1.log):"; tail -20 build-fuzz/"$1".log; } \
      >build-fuzz/"$1".verdict
    return 1
  fi
}
if { CC=clang meson setup --reconfigure build-fuzz -Dfuzz=true >/dev/null 2>&1 ||
     CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null; } && ninja -C build-fuzz >/dev/null; then
  set -- $(tools/fuzz.sh --list)
  while [ $# -gt 0 ]; do
    a=$1
    b=${2:-}
    shift
    [ -n "$b" ] && shift
    fuzz_one "$a" &
    pa=$!
    pb=
    if [ -n "$b" ]; then
      fuzz_one "$b" &
      pb=$!
    fi
    wait "$pa" || rc4=1
    [ -z "$pb" ] || wait "$pb" || rc4=1
    cat build-fuzz/"$a".verdict >&2
    [ -z "$b" ] || cat build-fuzz/"$b".verdict >&2
  done
else
  echo "fuzz: cannot configure build-fuzz with clang" >&2
  rc4=1
fi

/usr/bin/python3 - build/meson-logs/testlog.json build-san/meson-logs/testlog.json "$rc3" "$rc4" <<'PY'
import json, re, sys
passed = failed = skipped = 0
reasons = []
for path in sys.argv[1:3]:
    build = path.split("/")[0]
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"{path}: missing (that build's tests did not run)")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
            reasons.append(f"{build}: {t['name']}: skipped (exit 77)")
        else:
            failed += 1
        # Python test files skip single cases; unittest -v prints each one
        # as "test_x (...) ... skipped 'reason'". Those count too.
        # (a case with a docstring prints its first line instead of its
        # name; a reason holding ' is printed in double quotes).
        for m in re.finditer(r"^(\S+ \([^)]*\)|\S.*?)\s*\.\.\. skipped (?:'(.*)'|\"(.*)\")$",
                             (t.get("stdout") or "") + (t.get("stderr") or ""), re.M):
            skipped += 1
            reasons.append(f"{build}: {t['name']}: {m.group(1).split(' (')[0]}: skipped: "
                           f"{m.group(2) or m.group(3)}")
if sys.argv[3] != "0":
    failed += 1  # the parity tools
if sys.argv[4] != "0":
    failed += 1  # the fuzz runs
for r in reasons:
    print(r)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$rc3" = 0 ] && [ "$rc4" = 0 ]
