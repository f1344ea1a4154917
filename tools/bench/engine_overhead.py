#!/usr/bin/env python3
"""Measures the engine's own costs (docs/PERFORMANCE.md, "engine"):
  1. per-repetition overhead: fork + report + measurement around an empty
     plugin, next to a bare fork + wait timed in the same run;
  2. the memory sampler's cost: CPU it burns per second, and its effect on a
     CPU-bound phase (gemm naive), sampler on vs off, alternated in one run;
  3. the peer bridge's round trip;
  4. gemm GFLOP/s of each variant next to OpenBLAS in the same run.
Usage: tools/bench/engine_overhead.py [BUILD_DIR] [--only overhead|sampler|bridge|gemm]
                                      [--runs N]   (default build, every section, 11 runs)"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
_ap.add_argument("--only", choices=("overhead", "sampler", "bridge", "gemm"))
_ap.add_argument("--runs", type=int, default=11,
                 help="engine runs of the per-repetition overhead (median over them)")
ARGS = _ap.parse_args()
BUILD = os.path.abspath(ARGS.build)
ENGINE = os.path.join(BUILD, "core", "mlbench-engine")
TEST_PLUGINS = os.path.join(BUILD, "tests", "plugins")

# The floor of a forked repetition: fork, the child's exit, waitpid, in C;
# after loading the given shared objects (the engine loads every plugin it
# discovers, and fork and exit cost grows with the mappings, ~3 us each here).
BARE_FORK_C = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                          return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 400;
    for (int i = 2; i < argc; i++)
        if (!dlopen(argv[i], RTLD_LAZY | RTLD_LOCAL))
            fprintf(stderr, "%s\n", dlerror());
    double t0 = now();
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        int st; waitpid(p, &st, 0);
    }
    printf("%.9f\n", (now() - t0) / n);
    return 0;
}
"""


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


def bare_fork_helper():
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    d = tempfile.mkdtemp(prefix="mlb-bench-")
    src, exe = os.path.join(d, "fork.c"), os.path.join(d, "fork")
    with open(src, "w") as f:
        f.write(BARE_FORK_C)
    subprocess.run([cc, "-O2", "-o", exe, src, "-ldl"], check=True)
    return exe


def engine_libraries():
    """The shared objects the engine loads in these runs: the bundled plugins
    and the empty test plugin (their dependencies come with them)."""
    found = [os.path.join(TEST_PLUGINS, "empty_noop.so")]
    for dirpath, _, files in os.walk(os.path.join(BUILD, "plugins")):
        found += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".so")]
    return found


def quartiles(v):
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    return statistics.median(v), q[0], q[2]


def per_rep_overhead(runs, reps=400):
    """Engine time per repetition outside the plugin's phases: the execute
    loop's time (engine_timing.execute_s) minus the phases' own wall time,
    one figure per engine run of `reps` repetitions; fork, --no-fork and a
    bare fork + wait alternate, so that a shared machine's drift spreads
    over all three. Returns {mode: ([ms per repetition], [us inside])}."""
    d = plugin_dir("empty_noop")
    bare = bare_fork_helper()
    rows = {"fork": ([], []), "no-fork": ([], []), "bare": ([], []), "bare-libs": ([], [])}
    libs = engine_libraries()
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(BUILD, "core"))
    for _ in range(runs):
        for mode in ("fork", "no-fork"):
            args = ["--plugin-dir", d, "--plugin", "empty:noop", "--repetitions", str(reps),
                    "--warmup", "0", "--infer-queries", "1"] + (["--no-fork"] if mode == "no-fork" else [])
            _, doc = engine(args)
            inside = sum(p["wall_s"] for r in doc["runs"][0]["repetitions"]
                         for p in r["phases"].values())
            execute = doc["engine_timing"]["execute_s"]
            rows[mode][0].append((execute - inside) / reps * 1e3)
            rows[mode][1].append(inside / reps * 1e6)
        if bare:
            out = subprocess.run([bare, str(reps)], check=True, capture_output=True, text=True)
            rows["bare"][0].append(float(out.stdout) * 1e3)
            out = subprocess.run([bare, str(reps)] + libs, check=True, capture_output=True,
                                 text=True, env=env)
            rows["bare-libs"][0].append(float(out.stdout) * 1e3)
    return rows


def cpu_of_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def sampler_cost(rounds=3):
    """Per --sample-interval: the CPU of the measured process during a phase
    that only sleeps 1 s (what the sampler costs the measurement: nothing
    when the engine samples from outside), and the engine's own extra CPU per
    second of phase against the sampler off (what it costs the machine)."""
    d = plugin_dir("slow_sleep")
    phase, total = {}, {}
    for _ in range(rounds):
        for interval in ("5", "1", "0"):
            c0 = cpu_of_children()
            _, doc = engine(["--plugin-dir", d, "--plugin", "slow:sleep", "--param", "ms=1000",
                             "--repetitions", "3", "--warmup", "0", "--sample-interval", interval])
            total.setdefault(interval, []).append((cpu_of_children() - c0) / 3.0)
            phase.setdefault(interval, []).extend(
                r["phases"]["train"]["cpu_user_s"] + r["phases"]["train"]["cpu_sys_s"]
                for r in doc["runs"][0]["repetitions"])
    off = statistics.median(total["0"])
    return {k: (statistics.median(phase[k]), statistics.median(total[k]) - off) for k in phase}


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
    want = lambda s: ARGS.only in (None, s)
    print("## engine overhead (measured by tools/bench/engine_overhead.py)\n")
    if want("overhead"):
        rows = per_rep_overhead(ARGS.runs)
        print(f"Per repetition, empty plugin, {ARGS.runs} engine runs of 400 repetitions: "
              "median [quartiles] of the runs.\n")
        print("| mode | engine time per repetition, ms | time inside phases per repetition, us |")
        print("|---|---|---|")
        for mode, label in (("fork", "fork (default)"), ("no-fork", "--no-fork"),
                            ("bare", "bare fork + wait (C)"),
                            ("bare-libs", "bare fork + wait, the engine's libraries loaded")):
            per_rep, inside = rows[mode]
            if not per_rep:
                continue
            m, q1, q3 = quartiles(per_rep)
            ins = f"{statistics.median(inside):.1f}" if inside else "-"
            print(f"| {label} | {m:.3f} [{q1:.3f}, {q3:.3f}] | {ins} |")
        if rows["bare-libs"][0]:
            extra = [f - b for f, b in zip(rows["fork"][0], rows["bare-libs"][0])]
            print(f"\nfork mode minus bare fork + wait with the same libraries, run by run: "
                  f"median {statistics.median(extra):.3f} ms")
    if want("sampler"):
        cost = sampler_cost()
        print("\nSampler cost, per second of a phase that sleeps (CPU seconds, share of one core):")
        for k, (phase, engine_extra) in cost.items():
            print(f"- --sample-interval {k} ms: measured process {phase * 100:.3f}%, "
                  f"engine beyond sampler off {engine_extra * 100:.3f}%")
        on, off = sampler_effect()
        print(f"\ngemm naive 384^3 train, median wall: sampler 5 ms {on * 1e3:.2f} ms, "
              f"sampler off {off * 1e3:.2f} ms, ratio {on / off:.4f}")
    if want("bridge"):
        p50, p99, start = bridge_overhead()
        print(f"\nPeer bridge (Python test peer, empty infer): round trip p50 {p50 * 1e6:.1f} us, "
              f"p99 {p99 * 1e6:.1f} us; peer start (fork, exec, interpreter, hello) median "
              f"{start * 1e3:.1f} ms")
    if not want("gemm"):
        return
    g = gemm_gflops()
    print("\n| dtype | size | threads | naive | blocked | openblas | blocked/openblas |")
    print("|---|---|---|---|---|---|---|")
    for dtype, size, threads in sorted({k[:3] for k in g}):
        n, b, o = (g.get((dtype, size, threads, v), float("nan")) for v in ("naive", "blocked", "openblas"))
        print(f"| {dtype} | {size} | {threads} | {n:.2f} | {b:.2f} | {o:.2f} | {b / o:.2f} |")


if __name__ == "__main__":
    main()
