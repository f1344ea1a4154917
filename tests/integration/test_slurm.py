"""tools/cluster/mlbench-slurm on a real one-node Slurm cluster on loopback
(tools/cluster/local-slurm: Debian's slurm-wlm and munge, as root): the
quick suite as a job array plus a merge job, checked against a local run;
then an element cancelled, the merge job held back, the failure reported,
and the failed index resubmitted and merged."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from common import ENGINE, ENV, SOURCE_ROOT, main, run
from test_cluster import quality

QUICK = os.path.join(SOURCE_ROOT, "config", "quick.yaml")
TOOLS = os.path.join(SOURCE_ROOT, "tools", "cluster")
NEEDS = ["sbatch", "squeue", "scancel", "slurmctld", "slurmd", "munged"]
MISSING = [b for b in NEEDS if not shutil.which(b)]
REASON = ("not root (the local cluster's daemons run as root)" if os.geteuid() != 0 else
          f"slurm-wlm/munge not installed (tools/setup.sh --cluster): {', '.join(MISSING)}"
          if MISSING else "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipIf(REASON, REASON)
class Slurm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp(prefix="mlb-slurm-")
        os.chmod(cls.d, 0o755)  # munged's socket directory must be reachable by all
        cls.cluster = os.path.join(cls.d, "cluster")
        env = dict(ENV, MLB_SLURMCTLD_PORT=str(free_port()), MLB_SLURMD_PORT=str(free_port()))
        p = subprocess.run([os.path.join(TOOLS, "local-slurm"), "up", cls.cluster],
                           capture_output=True, text=True, env=env, timeout=120)
        if p.returncode:
            raise AssertionError(f"local-slurm up failed:\n{p.stdout}\n{p.stderr}")
        cls.env = dict(env, SLURM_CONF=os.path.join(cls.cluster, "etc", "slurm.conf"),
                       MLBENCH_ENGINE=ENGINE, MLB_SLURM_POLL="0.5")
        cls.local = os.path.join(cls.d, "local.json")
        run(["--config", QUICK, "--output", cls.local, "--quiet"], check=0)

    @classmethod
    def tearDownClass(cls):
        subprocess.run([os.path.join(TOOLS, "local-slurm"), "down", cls.cluster],
                       capture_output=True, timeout=120)
        # No daemon of this cluster may outlive the test.
        left = subprocess.run(["pgrep", "-af", cls.cluster], capture_output=True, text=True)
        shutil.rmtree(cls.d, ignore_errors=True)
        if left.stdout.strip():
            raise AssertionError(f"left running: {left.stdout}")

    def slurm(self, args, timeout=300):
        return subprocess.run([os.path.join(TOOLS, "mlbench-slurm")] + args, capture_output=True,
                              text=True, env=self.env, timeout=timeout)

    def test_array_and_merge(self):
        out = os.path.join(self.d, "ok")
        p = self.slurm([QUICK, "--out", out, "--wait"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"array job \d+ \(elements 0-4\), merge job \d+")
        with open(os.path.join(out, "manifest.jsonl")) as f:
            self.assertEqual(len(f.read().splitlines()), 5)  # at least four elements
        self.assertEqual(sorted(os.listdir(os.path.join(out, "parts"))),
                         [f"{i}.json" for i in range(5)])
        with open(os.path.join(out, "results.json")) as f:
            merged = json.load(f)
        with open(self.local) as f:
            local = json.load(f)
        self.assertEqual(quality(merged), quality(local))
        key = lambda d: sorted((c["run_a"], c["run_b"], c["quantity"]) for c in d["comparisons"])
        self.assertEqual(key(merged), key(local))
        self.assertEqual(len(merged["environment"]["merged_from"]), 5)
        self.assertTrue(os.path.getsize(os.path.join(out, "results.html")) > 1000)
        for i in range(5):
            self.assertTrue(os.path.exists(os.path.join(out, "logs", f"element-{i}.log")))

    def test_cancelled_element_then_resubmit(self):
        out = os.path.join(self.d, "fail")
        # One element at a time, so that the last is still pending when cancelled.
        p = self.slurm([QUICK, "--out", out, "--max-parallel", "1"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(out, "submission.env")) as f:
            ids = dict(l.strip().split("=", 1) for l in f if "=" in l)
        subprocess.run(["scancel", f"{ids['ARRAY_ID']}_4"], env=self.env, check=True)
        p = self.slurm(["--watch", out])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("cannot run: an element failed", p.stderr)
        self.assertIn("job 4 (", p.stderr)
        self.assertIn(f"--resubmit {out}", p.stderr)
        # The merge job never ran.
        self.assertFalse(os.path.exists(os.path.join(out, "results.json")))
        self.assertFalse(os.path.exists(os.path.join(out, "logs", "merge.log")))
        self.assertEqual(sorted(os.listdir(os.path.join(out, "parts"))),
                         [f"{i}.json" for i in range(4)])
        p = self.slurm(["--resubmit", out, "--wait"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"array job \d+ \(elements 4\)")
        with open(os.path.join(out, "results.json")) as f:
            merged = json.load(f)
        with open(self.local) as f:
            self.assertEqual(quality(merged), quality(json.load(f)))


if __name__ == "__main__":
    main()
