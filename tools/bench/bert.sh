#!/usr/bin/env bash
# The bert task against PyTorch CPU (the bert:pytorch peer: the same model
# definition, initial weights, batches, AdamW and schedule), one
# interleaved engine run per workload, 1 thread, classify head on the spam
# corpus, 128 tokens per sequence:
#   fwd-small     forward only (epochs=0): queries of 32 sequences, a
#                 4-layer, 2-head, 128-hidden encoder (the issue's PyTorch
#                 reference: 317-387 sequences/s); naive, openblas, pytorch
#   fwd-base      BERT-base sizes (12 layers, 12 heads, 768 hidden, random
#                 init), queries of 4 sequences; openblas, pytorch
#   latency-small batch-1 queries on the small encoder; naive, openblas, pytorch
#   train-small   one epoch over 320 e-mails at batch 32 (10 AdamW steps),
#                 the small encoder; openblas, pytorch (NAIVE=1: and naive)
# (and onednn beside openblas in each where built) and writes
# results/bench-bert-<stamp>/ (JSON per workload, table.md).
#
#   tools/bench/bert.sh [REPETITIONS]     (default 3, after one warm-up)
#   MLBENCH_BUILD_DIR=dir    engine build (default build)
#   NAIVE=1                  also time the naive variant's training (slow)
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}
build=${MLBENCH_BUILD_DIR:-build}
engine=$build/core/mlbench-engine
[ -x "$engine" ] || { echo "bert.sh: $engine not built (tools/setup.sh)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "bert.sh: needs python3-torch (tools/setup.sh --peers)" >&2; exit 2; }
[ -s data/spam_assassin.tsv.gz ] ||
  { echo "bert.sh: needs data/spam_assassin.tsv.gz (tools/setup.sh)" >&2; exit 2; }
# OpenBLAS 0.3.21 falls back to its SSE3 (Prescott) kernels on CPUs it does
# not know (this VM's "Intel Xeon Processor"); pin Haswell's AVX2 kernels,
# as tools/bench/gpt2.sh does, unless the environment chose one.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/bench-bert-$stamp"
mkdir -p "$out"
# 400 e-mails: 320 to train on, 80 test sequences for the queries to cycle
# through (the data's size only changes setup, which is not timed here).
# --timeout 1800: a BERT-base repetition (setup, the 440 MB init.bin for
# the peer, the queries) takes minutes on a busy machine.
common=(--seed 42 --repetitions "$reps" --warmup 1 --timeout 1800 --param threads=1
        --param max_len=128 --param max_examples=400 --quiet)
small=(--param n_layer=4 --param n_head=2 --param hidden=128)
base=(--param n_layer=12 --param n_head=12 --param hidden=768)
# bert:onednn (every GEMM through oneDNN's dnnl_sgemm) where built, beside
# openblas in every run.
ours=openblas
if "$engine" --list 2>/dev/null | awk '$1 == "bert" && $2 == "onednn" { f = 1 } END { exit !f }'; then
  ours=openblas,onednn
else
  echo "bert.sh: bert:onednn not built; its rows are left out" >&2
fi
train_variants=bert:$ours,pytorch
[ "${NAIVE:-0}" = 1 ] && train_variants=bert:naive,$ours,pytorch

run() {  # name, engine arguments...
  local name=$1
  shift
  echo "== $name" >&2
  "$engine" "$@" "${common[@]}" --output "$out/$name.json" >&2 || true
}

# naive's forward of 32 x 128 tokens takes seconds a query: few queries.
run fwd-small --plugin bert:naive,$ours,pytorch "${small[@]}" --param epochs=0 \
  --param infer_batch=32 --infer-queries 3
run fwd-base --plugin bert:$ours,pytorch "${base[@]}" --param epochs=0 \
  --param infer_batch=4 --infer-queries 3
run latency-small --plugin bert:naive,$ours,pytorch "${small[@]}" --param epochs=0 \
  --param infer_batch=1 --infer-queries 50
run train-small --plugin "$train_variants" "${small[@]}" --param epochs=1 \
  --param batch_size=32 --infer-queries 1

/usr/bin/python3 - "$out" "$reps" <<'PY' | tee "$out/table.md"
import json, os, statistics, sys

out, reps = sys.argv[1], sys.argv[2]
rows, env = [], {}
for name in ("fwd-small", "fwd-base", "latency-small", "train-small"):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        d = json.load(f)
    env = d.get("environment", env)
    runs = {r["variant"]: r for r in d["runs"]}
    train = name.startswith("train")

    def stats(r):
        ok = [rep for rep in r["repetitions"] if rep["status"] == "ok"]
        if not ok:
            return None
        ib = r["params"]["infer_batch"]
        lat = [x for rep in ok for x in rep.get("infer_latency_s") or []]
        if train:
            rate = statistics.median(rep["metrics"]["train_seq_per_s"]["value"] for rep in ok)
            ph = [rep["phases"]["train"] for rep in ok]
        else:
            rate = ib / statistics.median(lat)
            ph = [rep["phases"]["infer"] for rep in ok]
        cpu = statistics.median(p["items"] / (p["cpu_user_s"] + p["cpu_sys_s"]) for p in ph)
        gflops = statistics.median(p["flops"] / p["wall_s"] for p in ph) / 1e9
        return {"rate": rate, "cpu": cpu, "gflops": gflops, "n": len(ok),
                "p50": 1e3 * statistics.median(lat) if lat and not train else None,
                "p90": 1e3 * statistics.quantiles(lat, n=10)[-1]
                if len(lat) >= 10 and not train else None}

    s = {v: stats(r) for v, r in runs.items()}
    ref = s.get("pytorch")
    for v in ("naive", "openblas", "onednn", "pytorch"):
        if v not in s:
            continue
        x = s[v]
        if x is None:
            rows.append(f"| {name} | {v} | failed | | | | | |")
            continue
        ratio = f"{x['rate'] / ref['rate']:.2f}x" if ref else "-"
        f = lambda y, fmt: fmt.format(y) if y is not None else "-"
        rows.append(f"| {name} | {v} | {x['rate']:,.1f} | {ratio} | {x['cpu']:,.1f} | "
                    f"{x['gflops']:.1f} | {f(x['p50'], '{:.2f} ms')} | "
                    f"{f(x['p90'], '{:.2f} ms')} | {x['n']} |")
core = os.environ.get("OPENBLAS_CORETYPE") or "auto-detected"
print(f"{reps} repetitions per variant after one warm-up, interleaved in one engine run per "
      f"workload; 1 thread; OpenBLAS core {core}; {env.get('cpu_model', '')}.")
print("sequences/s: forward workloads, infer_batch over the median query latency (every "
      "query of every repetition); train-small, the train_seq_per_s metric (the training "
      "loop only, without the per-epoch test evaluation), median over repetitions. vs "
      "PyTorch: the ratio of those medians. seq/CPU-s: the phase's items over its CPU time "
      "(train: the phase includes the test evaluation), less sensitive to a busy machine. "
      "GFLOP/s: the phase's counted FLOPs over its wall time.\n")
print("| workload | variant | sequences/s | vs PyTorch | seq/CPU-s | GFLOP/s | query p50 | "
      "query p90 | reps ok |")
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
