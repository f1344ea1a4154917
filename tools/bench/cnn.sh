#!/usr/bin/env bash
# The cnn task against PyTorch CPU, side by side in one run on identical
# workloads (same models, batches, threads, data sizes):
#   LeNet-5: one training epoch of 10000 Fashion-MNIST images at batch 64,
#            inference latency at batch 1 and batch 64
#   ResNet-18: 8 training steps at batch 32 on 3x32x32 inputs
# with cnn:libtorch (PyTorch's C++ core on the same loop; built when libtorch
# is found) and cnn:onednn (oneDNN primitives; built when libdnnl is found)
# in the same interleaved runs, so that libtorch vs pytorch is the cost of
# Python and the peer bridge on identical kernels, and onednn vs pytorch
# that of the framework around oneDNN's kernels.
# plus OpenBLAS's own SGEMM (2048^3) as the peak the GFLOP/s compare with.
#
#   tools/bench/cnn.sh [THREADS] [REPETITIONS]     (defaults 1 and 3)
#   MLBENCH_BUILD_DIR=dir    engine build (default build)
#   NAIVE_RESNET=1           also time ResNet-18 with the naive kernels (minutes)
#
# OpenBLAS's kernel choice follows OPENBLAS_CORETYPE when set (this machine's
# environment may pin one); the line "openblas core" shows the one in use.
# PyTorch runs with torch.set_num_threads(THREADS) and OPENBLAS_NUM_THREADS=1:
# training as the engine's cnn:pytorch peer (tools/peers/cnn_torch.py) next to
# our variants in the same run; inference latency in-process
# (tools/bench/cnn_torch.py), which also times its own training loop as a
# cross-check of the peer.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
reps=${2:-3}
build=${MLBENCH_BUILD_DIR:-build}
engine=$build/core/mlbench-engine
[ -x "$engine" ] || { echo "cnn.sh: $engine not built (tools/setup.sh)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "cnn.sh: needs python3-torch (tools/setup.sh --peers)" >&2; exit 2; }
out=$(mktemp -d /tmp/mlb-bench-cnn-XXXXXX)
trap 'rm -rf "$out"' EXIT

run() { # name, engine args...
  local name=$1
  shift
  "$engine" --quiet --output "$out/$name.json" "$@" || { echo "cnn.sh: $name failed" >&2; exit 1; }
}
lt=()
# The listing first: with pipefail, grep -q closing the pipe early would
# make a present variant's check fail on the engine's SIGPIPE.
listing=$("$engine" --list 2>/dev/null)
for v in libtorch onednn; do
  grep -q "^cnn  *$v " <<<"$listing" && lt+=(--plugin "cnn:$v")
done
common=(--param "threads=$threads" --param dataset=fashion-mnist --param model=lenet5)
echo "cnn.sh: $threads thread(s), $reps repetitions; results in $out while running" >&2
run sgemm --plugin gemm:openblas --param m=2048 --param n=2048 --param k=2048 \
  --param "threads=$threads" --repetitions "$reps" --warmup 1 --infer-queries 1
# Training: our variants and the cnn:pytorch peer (tools/peers/cnn_torch.py:
# the same images and initial weights) in one engine run, interleaved.
run lenet_train --plugin cnn:naive --plugin cnn:openblas "${lt[@]}" --plugin cnn:pytorch "${common[@]}" \
  --param train_samples=10000 --param test_samples=100 --param epochs=1 --param batch_size=64 \
  --repetitions "$reps" --warmup 1 --infer-queries 1
for b in 1 64; do
  run "lenet_infer$b" --plugin cnn:naive --plugin cnn:openblas "${lt[@]}" "${common[@]}" \
    --param train_samples=64 --param test_samples=1000 --param epochs=0 --param "infer_batch=$b" \
    --repetitions 1 --warmup 0 --infer-queries 200
done
resnet=(--param model=resnet18 --param dataset=synthetic --param train_samples=256
        --param test_samples=32 --param batch_size=32 --param epochs=1
        --param "threads=$threads" --infer-queries 1)
run resnet_train --plugin cnn:openblas "${lt[@]}" --plugin cnn:pytorch "${resnet[@]}" \
  --repetitions "$reps" --warmup 1
if [ "${NAIVE_RESNET:-0}" = 1 ]; then
  run resnet_train_naive --plugin cnn:naive "${resnet[@]}" --repetitions 1 --warmup 0
fi
# Inference latency in-process: through the peer protocol each query would
# also pay a JSON round trip, which a batch-1 forward pass does not dwarf.
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/cnn_torch.py --threads "$threads" \
  --repetitions "$reps" > "$out/torch.json"

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
    p = rs[0]["phases"]["train"]
    return t, p["items"], p["flops"] / p["items"]
def infer(doc, variant):
    rs = reps(doc, variant)
    lat = [v for x in rs for v in x["infer_latency_s"]]
    p = rs[0]["phases"]["infer"]
    return statistics.median(lat), p["items"] / len(rs[0]["infer_latency_s"]), p["flops"] / p["items"]
torch = load("torch")
sg = reps(load("sgemm"), "openblas")
peak = statistics.median(x["phases"]["train"]["flops"] / x["phases"]["train"]["wall_s"] for x in sg) / 1e9
core = os.environ.get("OPENBLAS_CORETYPE") or "auto-detected"
print(f"cnn benchmark: {threads} thread(s); openblas core {core}; SGEMM 2048^3 peak {peak:.1f} GFLOP/s;"
      f" PyTorch {torch['torch']} (mkldnn {torch['mkldnn']}, {torch['threads']} thread(s))")
print(f"{'workload':26s} {'naive':>11s} {'openblas':>11s} {'onednn':>11s} {'libtorch':>11s} {'pytorch':>11s}"
      f" {'ours/torch':>10s} {'lt/torch':>8s} {'GFLOP/s ours':>12s} {'% peak':>6s}"
      f" {'GFLOP/s torch':>13s}")
def row(name, unit, naive, ob, od, lt, tt, flops, per):
    # seconds per `per` items (lt: cnn:libtorch, None when not built);
    # ratios > 1: ours (openblas) resp. libtorch faster than PyTorch
    f = lambda v: "-" if v is None else (f"{per / v:9.1f}/s" if unit == "rate" else f"{v * 1e6:8.0f} us")
    g_ob = flops * per / ob / 1e9
    g_t = flops * per / tt / 1e9
    r_lt = "-" if lt is None else f"{tt / lt:7.2f}x"
    print(f"{name:26s} {f(naive):>11s} {f(ob):>11s} {f(od):>11s} {f(lt):>11s} {f(tt):>11s} {tt / ob:9.2f}x"
          f" {r_lt:>8s} {g_ob:12.1f} {100 * g_ob / peak:5.0f}% {g_t:13.1f}")
first = lambda v: None if v is None else v[0]
ld = load("lenet_train")
n, o, d1, l, t = (train(ld, v) for v in ("naive", "openblas", "onednn", "libtorch", "pytorch"))
row("lenet5 train (img/s)", "rate", n[0], o[0], first(d1), first(l), t[0], o[2], o[1])
for b in (1, 64):
    d = load(f"lenet_infer{b}")
    n, o = infer(d, "naive"), infer(d, "openblas")
    l = infer(d, "libtorch") if reps(d, "libtorch") else None
    d1 = infer(d, "onednn") if reps(d, "onednn") else None
    row(f"lenet5 infer b={b} (p50)", "lat", n[0], o[0], first(d1), first(l),
        torch[f"lenet5_infer{b}_p50_s"],
        o[2], o[1])
rdoc = load("resnet_train")
rn, rd, rl, rt = (train(rdoc, v) for v in ("openblas", "onednn", "libtorch", "pytorch"))
nv = None
if os.path.exists(os.path.join(out, "resnet_train_naive.json")):
    nv = train(load("resnet_train_naive"), "naive")[0]
row("resnet18 train b=32 (img/s)", "rate", nv, rn[0], first(rd), first(rl), rt[0], rn[2], rn[1])
print("training: one engine run, interleaved, PyTorch as the cnn:pytorch peer (same images and "
      "initial weights); the train phase includes the per-epoch test evaluation (100 resp. 32 "
      "images) in every variant. In-process PyTorch loop for comparison: LeNet-5 "
      f"{10000 / torch['lenet5_train_s']:.0f} img/s, ResNet-18 {256 / torch['resnet18_train_s']:.1f} img/s. "
      "lt/torch: PyTorch's time over cnn:libtorch's, both on libtorch 1.13's kernels (training: "
      "both through the engine, the peer paying the JSON bridge once per phase; inference: "
      "PyTorch in-process, cnn:libtorch in the engine). "
      "Inference: PyTorch timed in-process (eval, no_grad). GFLOP/s: 2 per multiply-add of "
      "conv and linear layers, training = 3x forward.")
PY
