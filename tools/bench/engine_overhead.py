#!/usr/bin/env python3
"""Measures the engine's own costs (docs/PERFORMANCE.md, "engine"):
  1. per-repetition overhead: fork + pipe + measurement around an empty plugin;
  2. the memory sampler's cost: CPU it burns per second, and its effect on a
     CPU-bound phase (gemm naive), sampler on vs off, alternated in one run;
  3. gemm GFLOP/s of each variant next to OpenBLAS in the same run.
Usage: tools/bench/engine_overhead.py [BUILD_DIR]   (default build)"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
ENGINE = os.path.join(BUILD, "core", "mlbench-engine")
TEST_PLUGINS = os.path.join(BUILD, "tests", "plugins")


def engine(args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        t0 = time.monotonic()
        subprocess.run([ENGINE, "--quiet", "--output", out] + args, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        with open(out) as f:
            return wall, json.load(f)


def plugin_dir(*names):
    d = tempfile.mkdtemp(prefix="mlb-bench-")
    for n in names:
        os.symlink(os.path.join(TEST_PLUGINS, n + ".so"), os.path.join(d, n + ".so"))
    return d


def per_rep_overhead(reps=400):
    """Engine time per repetition outside the plugin's phases: the execute
    loop's time (engine_timing.execute_s) minus the phases' own wall time."""
    d = plugin_dir("empty_noop")
    rows = []
    for fork in (True, False):
        args = ["--plugin-dir", d, "--plugin", "empty:noop", "--repetitions", str(reps),
                "--warmup", "0", "--infer-queries", "1"] + ([] if fork else ["--no-fork"])
        _, doc = engine(args)
        inside = sum(p["wall_s"] for r in doc["runs"][0]["repetitions"] for p in r["phases"].values())
        execute = doc["engine_timing"]["execute_s"]
        rows.append((fork, (execute - inside) / reps * 1e3, inside / reps * 1e6))
    return rows


def sampler_cost():
    d = plugin_dir("slow_sleep")
    out = {}
    for interval in ("5", "1", "0"):
        _, doc = engine(["--plugin-dir", d, "--plugin", "slow:sleep", "--param", "ms=1000",
                         "--repetitions", "3", "--warmup", "0", "--sample-interval", interval])
        cpu = [r["phases"]["train"]["cpu_user_s"] + r["phases"]["train"]["cpu_sys_s"]
               for r in doc["runs"][0]["repetitions"]]
        out[interval] = statistics.median(cpu) / 1.0  # CPU seconds per second of phase
    return out


def sampler_effect(rounds=8):
    on, off = [], []
    for i in range(rounds):
        for interval, acc in (("5", on), ("0", off)) if i % 2 == 0 else (("0", off), ("5", on)):
            _, doc = engine(["--plugin", "gemm:naive", "--param", "m=384", "--param", "n=384",
                             "--param", "k=384", "--repetitions", "3", "--warmup", "1",
                             "--infer-queries", "0", "--sample-interval", interval])
            acc += [r["phases"]["train"]["wall_s"] for r in doc["runs"][0]["repetitions"]]
    return statistics.median(on), statistics.median(off)


def bridge_overhead():
    """Round trip of one peer request: infer of the test peer does nothing."""
    peers = os.path.join(ROOT, "tests", "peers")
    d = tempfile.mkdtemp(prefix="mlb-bench-")
    for f in ("test.peer.yaml", "testpeer.py"):
        os.symlink(os.path.join(peers, f), os.path.join(d, f))
    _, doc = engine(["--plugin-dir", d, "--plugin", "peertest:py", "--repetitions", "5",
                     "--warmup", "1", "--infer-queries", "200", "--param", "ms=1"])
    r = doc["runs"][0]
    lat = r["summary"]["infer_latency_s"]
    starts = [rep["peer"]["start_s"] for rep in r["repetitions"]]
    return lat["p50"], lat["p99"], statistics.median(starts)


def gemm_gflops():
    res = {}
    for dtype, size in (("f32", 1024), ("f64", 1024)):
        for threads in (1, 2):
            _, doc = engine(["--plugin", "gemm", "--param", f"m={size}", "--param", f"n={size}",
                             "--param", f"k={size}", "--param", f"dtype={dtype}",
                             "--param", f"threads={threads}", "--repetitions", "5",
                             "--warmup", "1", "--infer-queries", "3"])
            for r in doc["runs"]:
                g = r["summary"]["phases"]["train"]["gflop_per_s"]["median"]
                res[(dtype, size, threads, r["variant"])] = g
    return res


def main():
    print("## engine overhead (measured by tools/bench/engine_overhead.py)\n")
    print("| mode | engine time per repetition, ms | time inside phases per repetition, us |")
    print("|---|---|---|")
    for fork, per_rep, inside in per_rep_overhead():
        print(f"| {'fork (default)' if fork else '--no-fork'} | {per_rep:.3f} | {inside:.1f} |")
    cost = sampler_cost()
    print("\nSampler CPU cost (CPU seconds per second of a sleeping phase):")
    for k, v in cost.items():
        print(f"- --sample-interval {k} ms: {v * 100:.3f}% of one core")
    on, off = sampler_effect()
    print(f"\ngemm naive 384^3 train, median wall: sampler 5 ms {on * 1e3:.2f} ms, "
          f"sampler off {off * 1e3:.2f} ms, ratio {on / off:.4f}")
    p50, p99, start = bridge_overhead()
    print(f"\nPeer bridge (Python test peer, empty infer): round trip p50 {p50 * 1e6:.1f} us, "
          f"p99 {p99 * 1e6:.1f} us; peer start (fork, exec, interpreter, hello) median "
          f"{start * 1e3:.1f} ms")
    g = gemm_gflops()
    print("\n| dtype | size | threads | naive | blocked | openblas | blocked/openblas |")
    print("|---|---|---|---|---|---|---|")
    for dtype, size, threads in sorted({k[:3] for k in g}):
        n, b, o = (g.get((dtype, size, threads, v), float("nan")) for v in ("naive", "blocked", "openblas"))
        print(f"| {dtype} | {size} | {threads} | {n:.2f} | {b:.2f} | {o:.2f} | {b / o:.2f} |")


if __name__ == "__main__":
    main()
