#!/usr/bin/env bash
# Sets up, builds, then runs the default suite on bundled data: prints the
# comparison table and writes results/<UTC timestamp>.json, with a
# self-contained HTML report beside it (.html).
# Extra arguments go to mlbench-engine (e.g. --repetitions 3).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
mkdir -p results
stamp="results/$(date -u +%Y%m%dT%H%M%SZ)"
out="$stamp.json"
set +e
build/core/mlbench-engine --config config/default.yaml --output "$out" --html "$stamp.html" "$@"
rc=$?
set -e
[ -f "$out" ] && echo "results: $out (report: $stamp.html)"
exit $rc
