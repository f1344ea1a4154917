#!/usr/bin/env bash
# The regression benchmark: every algorithm and variant of mlbench's
# regression task on the synthetic workload, and scikit-learn (Debian's
# python3-sklearn via /usr/bin/python3) fitting the very same arrays, side by
# side; prints a markdown table of fit times and ratios.
#
#   tools/bench/regression.sh [options]
#     --threads T        BLAS threads for openblas and for scikit-learn (default 1)
#     --reps R           measured repetitions per variant (default 5)
#     --n-samples N      rows before the 75/25 split (default 100000)
#     --n-features D     (default 100)
#     --algorithms LIST  comma-separated (default linear,ridge,lasso,elasticnet)
#     --write-doc        also put the table in docs/PERFORMANCE.md ("## regression")
#   MLBENCH_BUILD_DIR=dir   the build to use (default build)
#
# The arrays come from the engine itself (--export-data): the training and
# test splits regression:naive generates, as .npy files, which the Python side
# loads. The engine runs also include the regression:sklearn peer, measured by
# the engine on the same arrays (data_from), next to the direct timing.
set -euo pipefail
cd "$(dirname "$0")/../.."

threads=1 reps=5 n=100000 d=100 algos=linear,ridge,lasso,elasticnet write_doc=0
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --n-samples) n=$2; shift 2 ;;
    --n-features) d=$2; shift 2 ;;
    --algorithms) algos=$2; shift 2 ;;
    --write-doc) write_doc=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "regression.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

build=${MLBENCH_BUILD_DIR:-build}
engine="$build/core/mlbench-engine"
if [ ! -x "$engine" ]; then
  echo "regression.sh: $engine not built (run tools/setup.sh, or set MLBENCH_BUILD_DIR)" >&2
  exit 1
fi
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  echo "regression.sh: scikit-learn missing: apt-get install python3-sklearn (or tools/setup.sh --peers)" >&2
  exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/bench-regression-$stamp"
mkdir -p "$out/data"
common=(--param dataset=synthetic --param "n_samples=$n" --param "n_features=$d"
        --param "threads=$threads" --seed 42)

echo "== exporting the generated data ($n x $d, seed 42)" >&2
"$engine" --plugin regression:naive "${common[@]}" --param algorithm=linear \
  --export-data "$PWD/$out/data" --quiet

IFS=, read -r -a algo_list <<<"$algos"
for a in "${algo_list[@]}"; do
  echo "== mlbench regression algorithm=$a" >&2
  # Each variant's own failure (gsl on lasso) is part of the answer, not an
  # error of the benchmark.
  "$engine" --plugin regression "${common[@]}" --param "algorithm=$a" \
    --repetitions "$reps" --warmup 1 --infer-queries 5 --output "$out/native-$a.json" >&2 || true
done

echo "== scikit-learn, OPENBLAS_NUM_THREADS=$threads" >&2
doc=()
[ "$write_doc" = 1 ] && doc=(--write-doc docs/PERFORMANCE.md)
OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
  /usr/bin/python3 tools/bench/regression_sklearn.py --data "$out/data" --reps "$reps" \
  --threads "$threads" --algorithms "$algos" --native "$out" "${doc[@]}" | tee "$out/table.md"
rm -rf "$out/data"
echo "results: $out" >&2
