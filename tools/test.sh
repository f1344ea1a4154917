#!/usr/bin/env bash
# Sets up, then runs every test twice: in build/ with warnings as errors, and
# in build-san/ under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
MLBENCH_MESON_ARGS="-Dwerror=true" tools/setup.sh
meson test -C build --print-errorlogs --num-processes 2

echo "== sanitizer build (address, undefined) ==" >&2
MLBENCH_BUILD_DIR=build-san \
MLBENCH_MESON_ARGS="-Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false" \
  tools/setup.sh
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-san --print-errorlogs --num-processes 2

if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -x tools/parity/run_all.sh ]; then
  tools/parity/run_all.sh
fi
