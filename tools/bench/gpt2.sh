#!/usr/bin/env bash
# The gpt2 task against PyTorch CPU (the gpt2:pytorch peer: same weights via
# an llm.c checkpoint, same batches, same AdamW), one interleaved engine run
# per workload, 1 thread:
#   train-small     4 layers, 4 heads, 128 channels, byte vocabulary, 10 AdamW
#                   steps at batch 16 x 128 on Moby-Dick (then 1 validation batch)
#   gen-kv-small    the same model: 100 tokens after "Call me Ishmael." with the
#   gen-full-small  KV cache, and recomputing the context per token
#   124m-forward    GPT-2 124M (random init in llm.c's layout, 12 layers, 768
#                   channels, GPT-2 BPE): eval of 2 batches of 4 x 128 tokens
#   124m-gen-kv     GPT-2 124M: 32 tokens with the KV cache
# with gpt2:onednn (oneDNN matmul primitives, layer norm and softmax) beside openblas
# in every run where this build has it, and writes
# results/bench-gpt2-<stamp>/ (JSON per workload, table.md).
#
#   tools/bench/gpt2.sh [REPETITIONS]     (default 3, after one warm-up)
#   MLBENCH_BUILD_DIR=dir    engine build (default build)
#   NAIVE=1                  also time the naive variant's training (slow)
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}
build=${MLBENCH_BUILD_DIR:-build}
engine=$build/core/mlbench-engine
[ -x "$engine" ] || { echo "gpt2.sh: $engine not built (tools/setup.sh)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "gpt2.sh: needs python3-torch (tools/setup.sh --peers)" >&2; exit 2; }
# OpenBLAS 0.3.21 falls back to its SSE3 (Prescott) kernels on CPUs it does
# not know (this VM's "Intel Xeon Processor"); pin Haswell's AVX2 kernels,
# as tools/bench/clustering.sh does, unless the environment chose one.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/bench-gpt2-$stamp"
mkdir -p "$out"
common=(--seed 42 --repetitions "$reps" --warmup 1 --param threads=1 --quiet)
small=(--param n_layer=4 --param n_head=4 --param n_embd=128 --param block_size=128)
big=(--param vocab=gpt2 --param n_layer=12 --param n_head=12 --param n_embd=768
     --param block_size=1024)
# gpt2:onednn where built, beside openblas in every run.
ours=openblas
if "$engine" --list 2>/dev/null | awk '$1 == "gpt2" && $2 == "onednn" { f = 1 } END { exit !f }'; then
  ours=openblas,onednn
else
  echo "gpt2.sh: gpt2:onednn not built; its rows are left out" >&2
fi
train_variants=gpt2:$ours,pytorch
[ "${NAIVE:-0}" = 1 ] && train_variants=gpt2:naive,$ours,pytorch

run() {  # name, engine arguments...
  local name=$1
  shift
  echo "== $name" >&2
  "$engine" "$@" "${common[@]}" --output "$out/$name.json" >&2 || true
}

run train-small --plugin "$train_variants" "${small[@]}" --param batch_size=16 \
  --param seq_len=128 --param steps=10 --param eval_batches=1 --infer-queries 5
for kv in true false; do
  name=gen-kv-small; [ "$kv" = false ] && name=gen-full-small
  run "$name" --plugin "gpt2:naive,$ours,pytorch" "${small[@]}" --param mode=generate \
    --param kv_cache=$kv --param max_new_tokens=100 --param "prompt=Call me Ishmael." \
    --infer-queries 20
done
run 124m-forward --plugin "gpt2:$ours,pytorch" "${big[@]}" --param mode=eval \
  --param batch_size=4 --param seq_len=128 --param eval_batches=2 --infer-queries 3
run 124m-gen-kv --plugin "gpt2:$ours,pytorch" "${big[@]}" --param mode=generate \
  --param max_new_tokens=32 --param "prompt=Call me Ishmael." --infer-queries 10

/usr/bin/python3 - "$out" "$reps" <<'PY' | tee "$out/table.md"
import json, os, statistics, sys

out, reps = sys.argv[1], sys.argv[2]
rows, env = [], {}
for name in ("train-small", "gen-kv-small", "gen-full-small", "124m-forward", "124m-gen-kv"):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        d = json.load(f)
    env = d.get("environment", env)
    runs = {r["variant"]: r for r in d["runs"]}

    def stats(r):
        ok = [rep for rep in r["repetitions"] if rep["status"] == "ok"]
        if not ok:
            return None
        tr = [rep["phases"]["train"] for rep in ok]
        tps = [t["tokens"] / t["wall_s"] for t in tr]
        cpu = [t["tokens"] / (t["cpu_user_s"] + t["cpu_sys_s"]) for t in tr]
        m = lambda k: statistics.median(rep["metrics"][k]["value"] for rep in ok) \
            if k in ok[0]["metrics"] else None
        lat = [x for rep in ok for x in rep.get("infer_latency_s") or []]
        return {"tps": statistics.median(tps), "cpu": statistics.median(cpu),
                "gen": m("tokens_per_s"), "ttft": m("ttft_ms"), "p50": m("latency_p50_ms"),
                "loss": m("val_loss"), "infer": statistics.median(lat) if lat else None}

    s = {v: stats(r) for v, r in runs.items()}
    ref = s.get("pytorch")
    for v in ("naive", "openblas", "onednn", "pytorch"):
        if v not in s:
            continue
        x = s[v]
        if x is None:
            rows.append(f"| {name} | {v} | failed | | | | | |")
            continue
        key = "gen" if x["gen"] is not None else "tps"
        rate = x[key]
        ratio = f"{rate / ref[key]:.2f}x" if ref and ref.get(key) else "-"
        f = lambda y, fmt: fmt.format(y) if y is not None else "-"
        rows.append(f"| {name} | {v} | {rate:,.0f} | {ratio} | {f(x['cpu'], '{:,.0f}')} | "
                    f"{f(x['ttft'], '{:.2f} ms')} | {f(x['p50'], '{:.3f} ms')} | "
                    f"{f(x['loss'], '{:.4f}')} |")
core = os.environ.get("OPENBLAS_CORETYPE") or "auto-detected"
print(f"{reps} repetitions per variant after one warm-up, interleaved in one engine run per "
      f"workload; 1 thread; OpenBLAS core {core}; {env.get('cpu_model', '')}.")
print("tokens/s: training and eval, the train phase's tokens over its wall time (median); "
      "generation, the tokens_per_s metric (prefill included). vs PyTorch: the ratio of "
      "those medians. tokens/CPU-s: over the phase's CPU time, less sensitive to a busy "
      "machine.\n")
print("| workload | variant | tokens/s | vs PyTorch | tokens/CPU-s | time to first token | "
      "per-token p50 | val_loss |")
print("|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
