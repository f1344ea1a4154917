#!/usr/bin/env bash
# The svm benchmark: every variant of mlbench's svm task and the scikit-learn
# peer (Debian's python3-sklearn via /usr/bin/python3, on the very arrays the
# native variants use) side by side, one interleaved engine run per
# workload; prints a markdown table of fit and predict times, quality,
# support vectors, peak RSS and ratios to scikit-learn.
#
#   tools/bench/svm.sh [options]
#     --reps R           measured repetitions per variant (default 10)
#     --threads T        BLAS threads for openblas and scikit-learn (default 1)
#     --workloads LIST   comma-separated, from digits, synthetic, synthetic_linear,
#                        heart (default all four)
#   MLBENCH_BUILD_DIR=dir   the build to use (default build)
#
# Workloads (the issue's): digits SVC rbf (1347 x 64 training rows, 10
# classes); the synthetic 10000 x 20 two-class set (7500 training rows,
# standardised) with SVC rbf and with LinearSVC; heart_scale SVC rbf with
# 20 fits per train call (one fit is under a millisecond). Every engine run
# keeps its JSON under results/bench-svm-<UTC time>/.
#
# Fit time is the engine's train phase (wall, its median over repetitions;
# for the peer it includes one request/answer round trip, about 0.1 ms);
# per fit for heart. Predict is the median per-query infer latency (64 test
# rows a query). The machine's load average is printed with the table: on
# a shared machine read the ratios, which interleaving keeps fair, rather
# than the absolute times.
set -euo pipefail
cd "$(dirname "$0")/../.."

reps=10 threads=1 workloads=digits,synthetic,synthetic_linear,heart
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "svm.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

build=${MLBENCH_BUILD_DIR:-build}
engine="$build/core/mlbench-engine"
if [ ! -x "$engine" ]; then
  echo "svm.sh: $engine not built (run tools/setup.sh, or set MLBENCH_BUILD_DIR)" >&2
  exit 1
fi
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  echo "svm.sh: scikit-learn missing: apt-get install python3-sklearn (or tools/setup.sh --peers)" >&2
  exit 1
fi
# The libraries' variants are built only where their -dev packages are.
have() { [ -f "$build/plugins/svm/svm_$1.so" ]; }
kernel_variants=naive,openblas
have libsvm && kernel_variants+=,libsvm
kernel_variants+=,sklearn
linear_variants=naive,openblas
have liblinear && linear_variants+=,liblinear
linear_variants+=,sklearn

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/bench-svm-$stamp"
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

IFS=, read -r -a wl <<<"$workloads"
for w in "${wl[@]}"; do
  case "$w" in
    digits) variants=$kernel_variants; params=(--param dataset=digits) ;;
    synthetic) variants=$kernel_variants
      params=(--param dataset=synthetic --param n_samples=10000 --param n_features=20) ;;
    synthetic_linear) variants=$linear_variants
      params=(--param model=linearsvc --param dataset=synthetic --param n_samples=10000
              --param n_features=20) ;;
    heart) variants=$kernel_variants; params=(--param dataset=heart_scale --param fit_repeats=20) ;;
    *) echo "svm.sh: unknown workload $w" >&2; exit 2 ;;
  esac
  echo "== svm $w: $variants" >&2
  "$engine" --plugin "svm:$variants" "${params[@]}" --param "threads=$threads" --seed 42 \
    --repetitions "$reps" --warmup 1 --infer-queries 20 --output "$out/$w.json" --quiet >&2 || true
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$out" "$workloads" "$load_before" "$load_after" <<'PY' | tee "$out/table.md"
import json, os, statistics as st, sys

out, workloads, load0, load1 = sys.argv[1:5]
titles = {"digits": "digits, SVC rbf", "synthetic": "synthetic 10000 x 20, SVC rbf",
          "synthetic_linear": "synthetic 10000 x 20, LinearSVC", "heart": "heart_scale, SVC rbf (per fit)"}
print("| workload | variant | fit (median) | fit CPU | predict / query (64 rows) | accuracy "
      "| nSV | iterations | peak RSS (train) | fit vs sklearn | engine: train vs sklearn, 95% CI "
      "| predict vs sklearn |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")


def engine_vs(doc, v):
    """The engine's own comparison of v with sklearn in train: sklearn's
    median over v's, its 95% CI, and the verdict (Holm-adjusted)."""
    for c in doc.get("comparisons", []):
        if c["quantity"] != "train" or {c["a"], c["b"]} != {v, "sklearn"}:
            continue
        r, lo, hi = c["median_ratio"], c["median_ratio_ci95_low"], c["median_ratio_ci95_high"]
        if c["a"] == v:  # the ratio is a / b: v's time over sklearn's
            r, lo, hi = 1 / r, 1 / hi, 1 / lo
        return f"{r:.2f}x [{lo:.2f}, {hi:.2f}] {c['verdict_kind']}"
    return "-"


def ms(s):
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


for w in workloads.split(","):
    path = os.path.join(out, w + ".json")
    if not os.path.exists(path):
        continue
    doc = json.load(open(path))
    rows = {}
    for r in doc["runs"]:
        reps = [x for x in r["repetitions"] if x["status"] == "ok"]
        if r["status"] != "ok" or not reps:
            rows[r["variant"]] = None
            continue
        per = r["params"].get("fit_repeats", 1)
        fit = st.median(x["phases"]["train"]["wall_s"] for x in reps) / per
        cpu = st.median(x["phases"]["train"]["cpu_user_s"] + x["phases"]["train"]["cpu_sys_s"]
                        for x in reps) / per
        lat = st.median(v for x in reps for v in x["infer_latency_s"])
        m = reps[0]["metrics"]
        rss = st.median(x["phases"]["train"]["rss_peak_bytes"] for x in reps) / 2**20
        rows[r["variant"]] = dict(fit=fit, cpu=cpu, lat=lat, acc=m["accuracy"]["value"],
                                  nsv=m.get("n_support", {}).get("value"),
                                  it=m.get("iterations", {}).get("value"), rss=rss)
    sk = rows.get("sklearn")
    for v in ("naive", "openblas", "libsvm", "liblinear", "sklearn"):
        if v not in rows:
            continue
        x = rows[v]
        if x is None:
            print(f"| {titles[w]} | {v} | failed | | | | | | | | | |")
            continue
        ratio = lambda a, b: f"{b / a:.2f}x" if sk else "-"
        nsv = "-" if x["nsv"] is None else f"{x['nsv']:.0f}"
        it = "-" if x["it"] is None else f"{x['it']:.0f}"
        print(f"| {titles[w]} | {v} | {ms(x['fit'])} | {ms(x['cpu'])} | {ms(x['lat'])} "
              f"| {x['acc']:.4f} | {nsv} | {it} | {x['rss']:.1f} MiB "
              f"| {ratio(x['fit'], sk['fit']) if sk else '-'} "
              f"| {engine_vs(doc, v) if sk and v != 'sklearn' else '-'} "
              f"| {ratio(x['lat'], sk['lat']) if sk else '-'} |")
print()
print(f"Ratios are scikit-learn's time over the variant's (above 1: faster than "
      f"scikit-learn). Load average before {load0}, after {load1}; results in {out}.")
PY
echo "results: $out" >&2
