#!/usr/bin/env bash
# The clustering benchmark: the issue's three workloads, each one engine run
# with every variant interleaved (naive, openblas, and the sklearn and rust
# peers where available), on the same seeded blobs; prints a markdown table
# of fit times, ratios to scikit-learn, iterations, quality and peak RSS.
#
#   tools/bench/clustering.sh [options]
#     --reps R        measured repetitions per variant (default 5)
#     --threads T     BLAS (and scikit-learn OpenMP) threads (default 1)
#     --quick         a tenth of the sizes (a smoke test of the script)
#     --write-doc     also put the table in docs/PERFORMANCE.md ("## clustering")
#   MLBENCH_BUILD_DIR=dir   the build to use (default build)
#
# Workloads: k-means 100000 x 16, k = 8, from k-means++ and from the first 8
# rows (init=first: identical initial centres everywhere), Lloyd; DBSCAN
# 10000 x 2, eps 0.3, min_samples 10, by k-d tree (scikit-learn's default
# index for this data) and by brute force; ward 5000 x 8, 8 clusters.
# Fit times are the fit_s metric: the fits alone, as every variant reports
# them (metrics and checks run in teardown).
set -euo pipefail
cd "$(dirname "$0")/../.."

reps=5 threads=1 scale=1 write_doc=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --quick) scale=10; shift ;;
    --write-doc) write_doc=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "clustering.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

build=${MLBENCH_BUILD_DIR:-build}
engine="$build/core/mlbench-engine"
if [ ! -x "$engine" ]; then
  echo "clustering.sh: $engine not built (run tools/setup.sh, or set MLBENCH_BUILD_DIR)" >&2
  exit 1
fi
# OpenBLAS 0.3.21 does not know Zen 4 and would fall back to its generic
# (SSE3) kernels; the project's machine pins Haswell, as docs/PERFORMANCE.md
# says, for numpy/scikit-learn and the openblas variant alike.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/bench-clustering-$stamp"
mkdir -p "$out"
km_n=$((100000 / scale)) db_n=$((10000 / scale)) w_n=$((5000 / scale))
common=(--seed 42 --repetitions "$reps" --warmup 1 --param "threads=$threads" --quiet)

run() {  # name, engine arguments...
  local name=$1
  shift
  echo "== $name" >&2
  # A variant's own failure (the Rust peer refusing a model) is part of the
  # answer, not an error of the benchmark.
  "$engine" "$@" "${common[@]}" --output "$out/$name.json" >&2 || true
}

run kmeans-kmeanspp --plugin clustering --param model=kmeans --param n_samples=$km_n \
  --param n_features=16 --param centers=8 --param n_clusters=8 --param init=k-means++ \
  --infer-queries 20
run kmeans-first --plugin clustering --param model=kmeans --param n_samples=$km_n \
  --param n_features=16 --param centers=8 --param n_clusters=8 --param init=first \
  --infer-queries 20
run dbscan-kdtree --plugin clustering:naive,openblas,sklearn --param model=dbscan \
  --param n_samples=$db_n --param n_features=2 --param centers=8 --param eps=0.3 \
  --param min_samples=10 --param index=kdtree --infer-queries 0
run dbscan-brute --plugin clustering --param model=dbscan --param n_samples=$db_n \
  --param n_features=2 --param centers=8 --param eps=0.3 --param min_samples=10 \
  --param index=brute --infer-queries 0
run ward --plugin clustering:naive,openblas,sklearn --param model=agglomerative \
  --param linkage=ward --param n_samples=$w_n --param n_features=8 --param centers=8 \
  --param n_clusters=8 --infer-queries 0

doc=""
[ "$write_doc" = 1 ] && doc=docs/PERFORMANCE.md
/usr/bin/python3 - "$out" "$reps" "$threads" "$doc" <<'EOF' | tee "$out/table.md"
import json, os, statistics, sys

out, reps, threads, doc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
titles = {
    "kmeans-kmeanspp": "k-means, k-means++",
    "kmeans-first": "k-means, init=first",
    "dbscan-kdtree": "DBSCAN, k-d tree",
    "dbscan-brute": "DBSCAN, brute force",
    "ward": "ward",
}
env = {}
rows = []
for name, title in titles.items():
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        d = json.load(f)
    env = d.get("environment", env)
    runs = {r["variant"]: r for r in d["runs"]}
    def fit(r):
        v = [rep["metrics"]["fit_s"]["value"] for rep in r["repetitions"]
             if rep["status"] == "ok" and "fit_s" in rep["metrics"]]
        return statistics.median(v) if v else None
    ref = fit(runs["sklearn"]) if "sklearn" in runs else None
    p = next(iter(runs.values()))["params"]
    size = f'{p["n_samples"]} x {p["n_features"]}'
    for v in ("naive", "openblas", "sklearn", "rust"):
        if v not in runs:
            continue
        r = runs[v]
        ok = [rep for rep in r["repetitions"] if rep["status"] == "ok"]
        if not ok:
            msg = (r.get("message") or r["status"]).replace("|", "/")[:90]
            rows.append(f"| {title} | {size} | {v} | - | - | - | - | - | {msg} |")
            continue
        m = ok[0]["metrics"]
        t = fit(r)
        ratio = f"{ref / t:.2f}" if ref and t else "-"
        it = f'{m["iterations"]["value"]:.0f}' if "iterations" in m else "-"
        q = []
        for key, fmt in (("ari", "ARI {:.4f}"), ("inertia", "inertia {:.6g}"),
                         ("noise_fraction", "noise {:.4f}"),
                         ("merge_height_sum", "heights {:.6g}"),
                         ("n_clusters_found", "{:.0f} clusters")):
            if key in m:
                q.append(fmt.format(m[key]["value"]))
        rss = max(ph.get("rss_peak_bytes", 0) for rep in ok for ph in rep["phases"].values())
        lat = [x for rep in ok for x in rep.get("infer_latency_s") or []]
        p50 = f"{statistics.median(lat) * 1e6:.0f} µs" if lat else "-"
        rows.append(f"| {title} | {size} | {v} | {t:.4f} | {ratio} | {it} | {p50} | "
                    f"{rss / 2**20:.0f} MiB | {', '.join(q)} |")

core = os.environ.get("OPENBLAS_CORETYPE") or "auto-detected"
head = [
    f"Seeded blobs (seed 42), {reps} repetitions per variant after one warm-up, "
    f"interleaved in one engine run per workload; {threads} thread(s) for OpenBLAS and "
    f"scikit-learn; OpenBLAS core {core}. {env.get('cpu_model', '')}. "
    "Fit = median of the fit_s metric (the fits alone). vs scikit-learn = scikit-learn's "
    "fit time / the variant's (above 1: faster). Peak RSS: the process's, any phase "
    "(a peer's includes its interpreter). Infer: k-means, p50 latency of one query "
    "(256 rows; a peer's includes the protocol's round trip).",
    "",
    "| workload | data | variant | fit (s) | vs scikit-learn | iterations | infer p50 | peak RSS | quality |",
    "|---|---|---|---:|---:|---:|---:|---:|---|",
]
table = "\n".join(head + rows) + "\n"
print(table)
if doc:
    with open(doc) as f:
        text = f.read()
    start = text.find("\n## clustering\n")
    section = ("\n## clustering\n\nMeasured with `tools/bench/clustering.sh` (the table is its "
               "output; rerun it to refresh).\n\n" + table)
    if start < 0:
        text = text.rstrip("\n") + "\n" + section
    else:
        # Replace the table (up to the notes marker, if any), keep the notes.
        end = text.find("<!-- clustering notes -->", start)
        nxt = text.find("\n## ", start + 1)
        stop = end if end >= 0 and (nxt < 0 or end < nxt) else (nxt if nxt >= 0 else len(text))
        text = text[:start] + section + "\n" + text[stop:]
    with open(doc, "w") as f:
        f.write(text)
EOF
echo "results: $out" >&2
