#!/usr/bin/env bash
# Runs every parity tool (tools/parity/*_torch.py) against the build in
# ${MLBENCH_BUILD_DIR:-build}; exits non-zero if any fails. Needs
# python3-torch (tools/setup.sh --peers); tools/test.sh calls it when
# torch is importable.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${MLBENCH_BUILD_DIR:-build}
rc=0
for tool in tools/parity/*_torch.py; do
  [ -e "$tool" ] || continue
  echo "== parity: $tool ==" >&2
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$tool" --build "$build" || rc=1
done
exit $rc
