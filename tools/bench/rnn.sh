#!/usr/bin/env bash
# The rnn task against PyTorch CPU, side by side in one engine run per
# workload (same network, data, initial weights, batches and optimiser):
#   synthetic: 32 x 50 x 32 -> 128 (batch 32, 50 steps of 32 features,
#              hidden 128), 20 Adam steps, for each of rnn, lstm and gru
#   fashion:   Fashion-MNIST rows (28 steps of 28), batch 64, hidden 128,
#              20 Adam steps, for lstm and gru
#   latency:   inference at batch 1 and batch 32 on the synthetic shape
# with the optional variants where this build has them (rnn:onednn: oneDNN's
# RNN/LSTM/GRU primitives; rnn:libtorch: libtorch's C++ modules, the peer
# without Python) in the same interleaved runs,
# and, with QUALITY=1, the issue's quality recipe: LSTM and GRU trained on
# all 60,000 rows for 2 epochs (hidden 128, Adam lr 1e-3, batch 64), openblas
# and pytorch in one run, test accuracy after each epoch.
#
#   tools/bench/rnn.sh [THREADS] [REPETITIONS]     (defaults 1 and 3)
#   MLBENCH_BUILD_DIR=dir    engine build (default build)
#   QUALITY=1                also the 2-epoch quality comparison (~10 min)
#   QUALITY=only             only that
#   RNN_BENCH_OUT=dir        keep the engine's result files there (default: a
#                            temporary directory, removed at exit)
#
# OpenBLAS picks its kernels from the CPU model; on a VM whose model string
# is generic it falls back to SSE3 (Prescott) kernels, so this script sets
# OPENBLAS_CORETYPE=Haswell where the CPU has AVX2 and none is set; the
# line "openblas core" shows the one in use. The variable reaches the
# rnn:pytorch peer too. PyTorch runs with torch.set_num_threads(THREADS)
# and OPENBLAS_NUM_THREADS=1 (the peer's descriptor): training as the
# engine's rnn:pytorch peer, inference latency in-process
# (tools/bench/rnn_torch.py), which also times a plain training loop as a
# cross-check of the peer.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
reps=${2:-3}
build=${MLBENCH_BUILD_DIR:-build}
engine=$build/core/mlbench-engine
[ -x "$engine" ] || { echo "rnn.sh: $engine not built (tools/setup.sh)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "rnn.sh: needs python3-torch (tools/setup.sh --peers)" >&2; exit 2; }
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=Haswell
fi
if [ -n "${RNN_BENCH_OUT:-}" ]; then
  out=$RNN_BENCH_OUT
  mkdir -p "$out"
else
  out=$(mktemp -d /tmp/mlb-bench-rnn-XXXXXX)
  trap 'rm -rf "$out"' EXIT
fi

# The optional variants this build has, in every speed run.
extra=()
listing=$("$engine" --list 2>/dev/null || true)
for v in onednn libtorch; do
  if grep -q "^rnn  *$v\b" <<<"$listing"; then
    extra+=(--plugin "rnn:$v")
  else
    echo "rnn.sh: rnn:$v not built; its column is left out" >&2
  fi
done

run() { # name, engine args...
  local name=$1
  shift
  "$engine" --quiet --output "$out/$name.json" "$@" || { echo "rnn.sh: $name failed" >&2; exit 1; }
}
synth=(--param dataset=synthetic --param seq_len=50 --param input_size=32 --param hidden_size=128
       --param "threads=$threads")
echo "rnn.sh: $threads thread(s), $reps repetitions; results in $out while running" >&2
speed=1
[ "${QUALITY:-0}" = only ] && speed=0
[ $speed = 1 ] && for cell in rnn lstm gru; do
  run "synth_$cell" --plugin rnn:naive --plugin rnn:openblas "${extra[@]}" --plugin rnn:pytorch \
    "${synth[@]}" \
    --param "model=$cell" --param train_samples=640 --param test_samples=32 --param epochs=1 \
    --param batch_size=32 --repetitions "$reps" --warmup 1 --infer-queries 1
done
[ $speed = 1 ] && for cell in lstm gru; do
  run "fashion_$cell" --plugin rnn:naive --plugin rnn:openblas "${extra[@]}" --plugin rnn:pytorch \
    --param dataset=fashion-mnist --param hidden_size=128 --param "threads=$threads" \
    --param "model=$cell" --param train_samples=1280 --param test_samples=100 --param epochs=1 \
    --param batch_size=64 --repetitions "$reps" --warmup 1 --infer-queries 1
done
[ $speed = 1 ] && for cell in rnn lstm gru; do
  for b in 1 32; do
    run "infer_${cell}_$b" --plugin rnn:naive --plugin rnn:openblas "${extra[@]}" "${synth[@]}" \
      --param "model=$cell" --param train_samples=64 --param test_samples=256 --param epochs=0 \
      --param "infer_batch=$b" --repetitions 1 --warmup 0 --infer-queries 200
  done
done
[ $speed = 1 ] && OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/rnn_torch.py \
  --threads "$threads" > "$out/torch.json"
if [ "${QUALITY:-0}" != 0 ]; then
  for cell in lstm gru; do
    run "quality_$cell" --plugin rnn:openblas --plugin rnn:pytorch --param dataset=fashion-mnist \
      --param "model=$cell" --param hidden_size=128 --param epochs=2 --param batch_size=64 \
      --param lr=0.001 --param optimizer=adam --param "threads=$threads" \
      --repetitions 1 --warmup 0 --infer-queries 1
  done
fi

/usr/bin/python3 - "$out" "$threads" <<'PY'
import json, os, statistics, sys
out, threads = sys.argv[1], int(sys.argv[2])
load = lambda n: json.load(open(os.path.join(out, n + ".json")))
def reps(doc, variant):
    for r in doc["runs"]:
        if r["variant"] == variant:
            return [x for x in r["repetitions"] if x["status"] == "ok"]
    return None
def train(doc, variant):
    rs = reps(doc, variant)
    if not rs:
        return None
    t = statistics.median(x["phases"]["train"]["wall_s"] for x in rs)
    cpu = statistics.median(x["phases"]["train"]["cpu_user_s"] + x["phases"]["train"]["cpu_sys_s"]
                            for x in rs)
    p = rs[0]["phases"]["train"]
    return p["steps"] / t, p["steps"] / cpu, p["items"] / t
def infer(doc, variant):
    rs = reps(doc, variant)
    lat = [v for x in rs for v in x["infer_latency_s"]]
    return statistics.median(lat)
core = os.environ.get("OPENBLAS_CORETYPE") or "auto-detected"
speed = os.path.exists(os.path.join(out, "torch.json"))
torch = load("torch") if speed else {"torch": "(quality only)", "threads": threads}
print(f"rnn benchmark: {threads} thread(s); openblas core {core}; PyTorch {torch['torch']} "
      f"({torch['threads']} thread(s), OPENBLAS_NUM_THREADS=1)")
def speed_table():
    # The optional columns the runs have (onednn, libtorch where built).
    extra = [v for v in ("onednn", "libtorch") if reps(load("synth_lstm"), v)]
    cols = ["naive", "openblas"] + extra
    print(f"{'workload':34s} " + " ".join(f"{c:>10s}" for c in cols + ["pytorch"]) +
          f" {'openblas/torch':>14s}" + "".join(f" {c + '/torch':>14s}" for c in extra))
    def row(label, vals, t, fmt, k):
        print(f"{label:34s} " + " ".join(format(v[k], fmt).rjust(10) for v in vals) +
              f" {format(t[k], fmt):>10s} " +
              " ".join(f"{v[k] / t[k]:13.2f}x" for v in vals[1:]), end="")
    for cell in ("rnn", "lstm", "gru"):
        d = load(f"synth_{cell}")
        vals, t = [train(d, c) for c in cols], train(d, "pytorch")
        row(cell + ' train 32x50x32->128 (steps/s)', vals, t, ".1f", 0)
        print("   (per CPU second: " + " / ".join(f"{v[1]:.1f}" for v in vals + [t]) + ")")
    for cell in ("lstm", "gru"):
        d = load(f"fashion_{cell}")
        vals, t = [train(d, c) for c in cols], train(d, "pytorch")
        row(cell + ' train fashion b=64 (seq/s)', vals, t, ".0f", 2)
        print("   (steps/s " + " / ".join(f"{v[0]:.1f}" for v in vals + [t]) + ")")
    for cell in ("rnn", "lstm", "gru"):
        for b in (1, 32):
            d = load(f"infer_{cell}_{b}")
            vals, t = [infer(d, c) for c in cols], torch[f"{cell}_infer{b}_p50_s"]
            # Latency: torch/ours, > 1 when ours is faster.
            print(f"{cell + f' infer b={b} p50 (us)':34s} " +
                  " ".join(f"{v * 1e6:10.0f}" for v in vals) + f" {t * 1e6:10.0f} " +
                  " ".join(f"{t / v:13.2f}x" for v in vals[1:]))
    print("in-process PyTorch training loop (cross-check of the peer), steps/s: " +
          ", ".join(f"{c} {torch[c + '_train_steps_per_s']:.1f}" for c in ("rnn", "lstm", "gru")))


if speed:
    speed_table()
for cell in ("lstm", "gru"):
    p = os.path.join(out, f"quality_{cell}.json")
    if not os.path.exists(p):
        continue
    d = load(f"quality_{cell}")
    for v in ("openblas", "pytorch"):
        r = reps(d, v)[0]
        curve = ", ".join(f"epoch {x['step']} {100 * x['value']:.2f}%" for x in r["progress"])
        tr = r["phases"]["train"]
        print(f"quality {cell} {v:9s}: {curve}; {tr['items'] / tr['wall_s']:.0f} seq/s "
              f"(train phase incl. evaluation)")
print("training: one engine run per workload, variants interleaved, PyTorch as the rnn:pytorch "
      "peer (same sequences, initial weights and batch order); the train phase includes one "
      "test evaluation (32 resp. 100 sequences). Latency: PyTorch in-process (eval, no_grad); "
      "libtorch in the engine. Ratios: throughput ours/torch, latency torch/ours (> 1: ours "
      "faster).")
PY
