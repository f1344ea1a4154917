#!/usr/bin/env python3
"""Two engine builds against each other, alternated in one session: the CPU
time (engine and its children, from wait4) per repetition of an empty
plugin, which a loaded shared machine disturbs far less than wall time, and
the cost of an engine start (one repetition: discovery and set-up).
Usage: tools/bench/engine_ab.py BUILD_A BUILD_B [--alternations N] [--reps N]
(each BUILD a build directory with core/mlbench-engine and
tests/plugins/empty_noop.so; docs/PERFORMANCE.md, "Process-tree hardening")."""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--alternations", type=int, default=8)
ap.add_argument("--reps", type=int, default=1000)
args = ap.parse_args()


def engine_run(build, d, reps):
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(build, "core", "mlbench-engine"), "--plugin-dir", d,
                          "--plugin", "empty:noop", "--repetitions", str(reps), "--warmup", "0",
                          "--infer-queries", "1", "--quiet", "--output", os.path.join(d, "r.json")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, st, ru = os.wait4(p.pid, 0)
    if st != 0:
        raise SystemExit(f"{build}: engine exit status {st}")
    return ru.ru_utime + ru.ru_stime, time.monotonic() - t0


d = tempfile.mkdtemp(prefix="mlb-ab-")
try:
    shutil.copy(os.path.join(args.a, "tests", "plugins", "empty_noop.so"), d)
    builds = {"A": args.a, "B": args.b}
    per_rep = {k: [] for k in builds}
    start_cpu = {k: [] for k in builds}
    start_wall = {k: [] for k in builds}
    for i in range(args.alternations):
        order = ("A", "B") if i % 2 == 0 else ("B", "A")
        for k in order:
            cpu, _ = engine_run(builds[k], d, args.reps)
            per_rep[k].append(cpu / args.reps * 1e3)
            cpu, wall = engine_run(builds[k], d, 1)
            start_cpu[k].append(cpu * 1e3)
            start_wall[k].append(wall * 1e3)
    for k, b in builds.items():
        print(f"{k} ({b}): CPU per repetition median {statistics.median(per_rep[k]):.3f} ms "
              f"[{min(per_rep[k]):.3f}, {max(per_rep[k]):.3f}]; one-repetition run: CPU "
              f"{statistics.median(start_cpu[k]):.1f} ms, wall {statistics.median(start_wall[k]):.1f} ms")
    r = [b / a for a, b in zip(per_rep["A"], per_rep["B"])]
    print(f"B/A CPU per repetition, pair by pair: median {statistics.median(r):.3f} "
          f"[{min(r):.2f}, {max(r):.2f}]")
finally:
    shutil.rmtree(d, ignore_errors=True)
