#!/usr/bin/env bash
# The dqn and reinforce tasks against PyTorch: one interleaved engine run per
# task and environment with naive, openblas and pytorch, 1 thread,
# --vary-seed over SEEDS seeds (repetition i: seed 42 + i, the same for
# every variant), the issue's hyper-parameters (the parameters' defaults).
# Prints env steps/s (with learning), episodes/s, mean final return, steps
# or episodes to solve, and the engine's verdict on mean_return_100.
#
#   tools/bench/rl.sh [SEEDS] [OUT_DIR]          (default 5 seeds, a temp dir)
#   MLBENCH_BUILD_DIR=dir     engine build (default build)
#   DQN_STEPS=N               DQN total_steps (default 20000, the issue's)
#   REINFORCE_EPISODES=N      REINFORCE episodes (default 500)
#   ENVS="cartpole acrobot"   which environments
#   TASKS="reinforce dqn"     which tasks
#   SUMMARY_ONLY=1            only print the table of OUT_DIR's results
#
# OpenBLAS's kernel choice follows OPENBLAS_CORETYPE when set. PyTorch runs
# as the tasks' peers (tools/peers/{dqn,reinforce}_torch.py) with
# torch.set_num_threads(1) and OPENBLAS_NUM_THREADS=1; its figures include
# the Python environment (tools/peers/python/mlbench_rl_envs.py), as a
# PyTorch user's loop would with gym's Python environments.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-5}
out=${2:-}
build=${MLBENCH_BUILD_DIR:-build}
engine=$build/core/mlbench-engine
[ -x "$engine" ] || { echo "rl.sh: $engine not built (tools/setup.sh)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "rl.sh: needs python3-torch (tools/setup.sh --peers)" >&2; exit 2; }
if [ -z "$out" ]; then
  out=$(mktemp -d /tmp/mlb-bench-rl-XXXXXX)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
dqn_steps=${DQN_STEPS:-20000}
episodes=${REINFORCE_EPISODES:-500}
echo "rl.sh: $seeds seeds, dqn $dqn_steps steps, reinforce $episodes episodes; results in $out" >&2
for task in ${TASKS:-reinforce dqn}; do
  for env in ${ENVS:-cartpole acrobot}; do
    size=(--param "total_steps=$dqn_steps")
    [ "$task" = reinforce ] && size=(--param "episodes=$episodes")
    # An earlier call's results (SUMMARY_ONLY=1: only print the table).
    [ -s "$out/$task-$env.json" ] || [ "${SUMMARY_ONLY:-0}" = 1 ] && continue
    "$engine" --quiet --output "$out/$task-$env.json" --plugin "$task:naive,openblas,pytorch" \
      --param "env=$env" --param threads=1 "${size[@]}" --vary-seed \
      --repetitions "$seeds" --warmup 0 --timeout 3600 ||
      { echo "rl.sh: $task on $env failed" >&2; exit 1; }
  done
done

/usr/bin/python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def iqr(xs):
    xs = sorted(x for x in xs if x is not None)
    if len(xs) < 2:
        return 0.0
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[2] - q[0]
print("| task | env | variant | env steps/s (wall) | env steps per CPU s | episodes/s | mean return (last 100), median (IQR) | solved | to solve (median) | ×PyTorch (wall) | ×PyTorch (CPU) |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
verdicts = []
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    task, env = os.path.basename(path)[:-5].split("-")
    doc = json.load(open(path))
    rows = {}
    for r in doc["runs"]:
        reps = [x for x in r["repetitions"] if x["status"] == "ok"]
        m = lambda k: [x["metrics"].get(k, {}).get("value") for x in reps]
        key = "steps_to_solve" if task == "dqn" else "episodes_to_solve"
        solved = [v for v in m(key) if v is not None]
        eps = med(m("episodes_per_s")) if task == "reinforce" else None
        # Under contention the wall clock measures the machine's other load
        # as much as the code: steps per CPU second (user + system of the
        # process running the variant) is the steadier figure.
        cpu = med([x["phases"]["train"]["items"] /
                   (x["phases"]["train"]["cpu_user_s"] + x["phases"]["train"]["cpu_sys_s"])
                   for x in reps])
        rows[r["variant"]] = (med(m("env_steps_per_s")), eps, med(m("mean_return_100")),
                              iqr(m("mean_return_100")), len(solved), len(reps), med(solved),
                              [x.get("seed") for x in reps], cpu,
                              med([x["machine"].get("other_cores") for x in reps]))
    torch_sps = rows.get("pytorch", (None,))[0]
    torch_cpu = rows.get("pytorch", (None,) * 9)[8]
    for v in ("naive", "openblas", "pytorch"):
        if v not in rows:
            continue
        sps, eps, ret, spread, ns, n, ts, _, cpu, other = rows[v]
        ratio = f"{sps / torch_sps:.1f}×" if sps and torch_sps else "–"
        cratio = f"{cpu / torch_cpu:.1f}×" if cpu and torch_cpu else "–"
        print(f"| {task} | {env} | {v} | {sps:,.0f} | {cpu:,.0f} | {'%.1f' % eps if eps else '–'} | "
              f"{ret:.1f} ({spread:.1f}) | {ns}/{n} | {'%.0f' % ts if ts else '–'} | {ratio} | "
              f"{cratio} |")
    print(f"| | | (other cores busy, median: {rows['naive'][9]:.1f}) | | | | | | | | |"
          if "naive" in rows and rows["naive"][9] is not None else "")
    for c in doc.get("comparisons", []):
        if c.get("quantity") == "metric:mean_return_100":
            verdicts.append(f"{task} {env}: {c.get('verdict')}")
print()
print("seeds: " + ", ".join(f"{v}: {rows[v][7]}" for v in rows))
for v in verdicts:
    print("  " + v)
PY
