#!/usr/bin/python3
"""How well `mlbench-engine history` finds steps (docs/phases.md, "History"):
synthetic histories built from one real results document (gemm at a tiny
size), SEEDS seeds of 20 documents each with 2% Gaussian noise and CIs of
+-2%: naive train steps +20% at the 13th document, naive infer rises 30% at
the 6th and falls back at the 11th, every other series is noise only.
Prints the false steps in noise-only series and the series with a step whose
steps were not exactly the true ones.

Usage: tools/bench/history_detection.py [ENGINE] [SEEDS] [-- extra history args]"""
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

args = sys.argv[1:]
extra = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
engine = args[0] if args else "build/core/mlbench-engine"
seeds = int(args[1]) if len(args) > 1 else 150

work = tempfile.mkdtemp(prefix="mlb-histbench-")
try:
    tmpl = os.path.join(work, "t.json")
    subprocess.run([engine, "--plugin", "gemm", "--param", "m=32", "--param", "n=32",
                    "--param", "k=32", "--repetitions", "3", "--warmup", "0", "--quiet",
                    "--output", tmpl], check=True, stdout=subprocess.DEVNULL)
    with open(tmpl) as f:
        doc = json.load(f)
    false_steps = wrong = noise_series = step_series = 0
    for seed in range(seeds):
        d = tempfile.mkdtemp(dir=work)
        rng = random.Random(seed)
        for i in range(20):
            x = copy.deepcopy(doc)
            x["environment"]["git_commit"] = "c%02d" % i
            x["environment"]["timestamp_utc"] = "2026-11-%02dT00:00:00Z" % (i + 1)
            for r in x["runs"]:
                naive = r["variant"] == "naive"
                for phase, base, f in (("train", 1e-3, 1.2 if naive and i >= 12 else 1.0),
                                       ("infer", 5e-4, 1.3 if naive and 5 <= i < 10 else 1.0)):
                    m = base * f * (1 + rng.gauss(0, 0.02))
                    w = r["summary"]["phases"][phase]["wall_s"]
                    w["median"], w["median_ci95_low"], w["median_ci95_high"] = m, m * .98, m * 1.02
            with open(os.path.join(d, "%02d.json" % i), "w") as f:
                json.dump(x, f)
        p = subprocess.run([engine, "history", d, "--json"] + extra, capture_output=True,
                           text=True)
        shutil.rmtree(d)
        for s in json.loads(p.stdout)["series"]:
            got = [t["commit"] for t in s["steps"]]
            if s["variant"] == "naive":
                step_series += 1
                wrong += got != (["c12"] if s["quantity"] == "train" else ["c05", "c10"])
            else:
                noise_series += 1
                false_steps += len(got)
    print(f"false steps in {noise_series} noise-only series: {false_steps}; "
          f"series with a step whose steps were not exactly the true ones: {wrong} of {step_series}")
finally:
    shutil.rmtree(work, ignore_errors=True)
