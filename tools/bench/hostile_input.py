#!/usr/bin/env python3
"""What hostile or very large input costs the engine (issue 12): each case is
timed RUNS times, interleaved, and the median wall time printed with what it
measured. Nothing is asserted (tests never assert speed); the figures say
whether a path is linear, and a regression to quadratic shows as minutes.
  stats-1e6 / stats-2x1e6  `stats` on 10^6 values, one and two samples
  csv-20k-metrics           `report --csv` of a document whose repetitions
                            carry 20 000 metrics each
  report-N-runs / compare-N-runs   a document of N runs (2 variants per group)
  yaml-alias-bomb           a suite of 10^9 nodes once its aliases expand
Usage: tools/bench/hostile_input.py [BUILD_DIR] [--runs N] [--n-runs N]
(/usr/bin/python3, standard library only; writes to a temporary directory)"""
import argparse
import copy
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
ap.add_argument("--runs", type=int, default=3, help="timings per case (median)")
ap.add_argument("--n-runs", type=int, default=4000, help="runs in the large document")
ARGS = ap.parse_args()
BUILD = os.path.abspath(ARGS.build)
ENGINE = os.path.join(BUILD, "core", "mlbench-engine")
PLUGINS = os.path.join(BUILD, "tests", "plugins")


def engine(args, ok=(0, 1, 2)):
    p = subprocess.run([ENGINE] + args, capture_output=True, text=True)
    if p.returncode not in ok:
        raise SystemExit(f"{args}: exit {p.returncode}\n{p.stderr}")
    return p


def main():
    d = tempfile.mkdtemp(prefix="mlb-hostile-")
    try:
        pd = os.path.join(d, "plugins")
        os.mkdir(pd)
        for n in ("hostile_a", "hostile_b"):
            shutil.copy(os.path.join(PLUGINS, n + ".so"), pd)
        small = os.path.join(d, "small.json")
        engine(["--plugin-dir", pd, "--plugin", "hostile:a,b", "--repetitions", "3",
                "--warmup", "0", "--quiet", "--output", small], ok=(0,))
        with open(small) as f:
            doc = json.load(f)
        rnd = random.Random(1)
        a, b = os.path.join(d, "a.txt"), os.path.join(d, "b.txt")
        with open(a, "w") as f:
            f.write("\n".join(repr(rnd.lognormvariate(0, 0.3)) for _ in range(10**6)) + "\n")
        with open(b, "w") as f:
            f.write("\n".join(repr(1.01 * rnd.lognormvariate(0, 0.3)) for _ in range(10**6)) + "\n")
        many = copy.deepcopy(doc)
        for r in many["runs"]:
            for rep in r["repetitions"]:
                rep["metrics"] = {f"m{k}": {"value": float(k), "better": "lower"}
                                  for k in range(20000)}
        mpath = os.path.join(d, "metrics.json")
        with open(mpath, "w") as f:
            json.dump(many, f)
        big = copy.deepcopy(doc)
        big["runs"], big["groups"], big["comparisons"] = [], [], []
        for i in range(ARGS.n_runs):
            r = copy.deepcopy(doc["runs"][i % 2])
            r["index"], r["group"] = i, i // 2
            r["params"] = dict(r["params"], value=float(i // 2))
            big["runs"].append(r)
        for g in range(ARGS.n_runs // 2):
            gr = copy.deepcopy(doc["groups"][0])
            gr.update(index=g, runs=[2 * g, 2 * g + 1], baseline=2 * g)
            big["groups"].append(gr)
        rpath = os.path.join(d, "runs.json")
        with open(rpath, "w") as f:
            json.dump(big, f)
        lines = ["x0: &a0 [" + ",".join(["v"] * 10) + "]"]
        for i in range(1, 9):
            lines.append(f"x{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
        lines.append("benchmarks:\n  - task: gemm\n    params: {m: *a8}")
        bomb = os.path.join(d, "bomb.yaml")
        with open(bomb, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = os.path.join(d, "o")
        cases = [
            ("stats-1e6", ["stats", a]),
            ("stats-2x1e6", ["stats", a, b]),
            ("csv-20k-metrics", ["report", mpath, "--csv", out + ".csv"]),
            (f"report-{ARGS.n_runs}-runs", ["report", rpath, "--html", out + ".html", "--csv",
                                             out + ".csv", "--markdown", out + ".md"]),
            (f"compare-{ARGS.n_runs}-runs", ["compare", rpath, rpath]),
            ("yaml-alias-bomb", ["--config", bomb, "--dry-run"]),
        ]
        times = {name: [] for name, _ in cases}
        for _ in range(ARGS.runs):  # interleaved: drift affects every case alike
            for name, args in cases:
                t0 = time.monotonic()
                engine(args)
                times[name].append(time.monotonic() - t0)
        print(f"{'case':28} {'median s':>9}  (of {ARGS.runs}; document of {ARGS.n_runs} runs: "
              f"{os.path.getsize(rpath) / 1e6:.0f} MB)")
        for name, _ in cases:
            print(f"{name:28} {statistics.median(times[name]):9.2f}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


main()
