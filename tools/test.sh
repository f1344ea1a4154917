#!/usr/bin/env bash
# Sets up, then runs every test twice: in build/ with warnings as errors, and
# in build-san/ under AddressSanitizer + UndefinedBehaviorSanitizer.
# Ends with one line "N passed, N failed" over both builds; exits non-zero
# when any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."

MLBENCH_MESON_ARGS="-Dwerror=true" tools/setup.sh || exit 1
meson test -C build --print-errorlogs --num-processes 2
rc1=$?

echo "== sanitizer build (address, undefined) ==" >&2
MLBENCH_BUILD_DIR=build-san \
MLBENCH_MESON_ARGS="-Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false" \
  tools/setup.sh || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-san --print-errorlogs --num-processes 2
rc2=$?

rc3=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -x tools/parity/run_all.sh ]; then
  tools/parity/run_all.sh
  rc3=$?
fi

/usr/bin/python3 - build/meson-logs/testlog.json build-san/meson-logs/testlog.json "$rc3" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:3]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
if sys.argv[3] != "0":
    failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$rc3" = 0 ]
