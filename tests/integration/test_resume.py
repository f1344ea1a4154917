"""--resume after SIGINT: every run ends with its full count of repetitions,
none that was recorded runs again; --dry-run plans without running."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from common import ENGINE, ENV, PluginDir, main, run

SUITE = """suite: resume-test
repetitions: 6
warmup: 1
benchmarks:
  - task: count
    params: {ms: 40}
  - task: count
    variants: [b, a]
    params: {ms: 20}
"""


def log_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(l.split()) for l in f.read().splitlines()]


class Resume(unittest.TestCase):
    def test_interrupt_then_resume(self):
        with PluginDir("count_a", "count_b") as d, tempfile.TemporaryDirectory() as tmp:
            suite = os.path.join(tmp, "s.yaml")
            with open(suite, "w") as f:
                f.write(SUITE)
            out = os.path.join(tmp, "r.json")
            args = ["--plugin-dir", d, "--config", suite, "--seed", "7"]
            env1 = dict(ENV, MLB_TEST_COUNT_LOG=os.path.join(tmp, "first.log"))
            p = subprocess.Popen([ENGINE] + args + ["--output", out], env=env1, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # 28 repetitions of 20-40 ms plus fork: interrupt about half way.
            time.sleep(0.6)
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130, err)
            with open(out) as f:
                first = json.load(f)
            self.assertEqual(first["status"], "interrupted")
            n_first = sum(len([x for x in r["repetitions"] if x["status"] == "ok"])
                          for r in first["runs"])
            self.assertGreater(n_first, 0, "interrupted before anything ran; sleep longer")
            self.assertLess(n_first, 24, "finished before the interrupt; sleep less")

            # A different plan is refused, naming what differs.
            p = run(args + ["--resume", out, "--param", "count.ms=30"], check=2)
            self.assertIn("not the same plan", p.stderr)
            p = run(args[:-1] + ["8", "--resume", out], check=2)
            self.assertIn("seed", p.stderr)

            env2 = dict(ENV, MLB_TEST_COUNT_LOG=os.path.join(tmp, "second.log"))
            p = subprocess.run([ENGINE] + args + ["--resume", out, "--quiet"], env=env2,
                               text=True, capture_output=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                doc = json.load(f)
            self.assertEqual(doc["status"], "complete")
            self.assertIn("resumed_from", doc["environment"])
            for r in doc["runs"]:
                self.assertEqual(len(r["repetitions"]), 6, r["variant"])
                self.assertTrue(all(x["status"] == "ok" for x in r["repetitions"]))
            # No recorded repetition ran again: the second run's measured
            # repetitions (index >= 0) are exactly the ones the file lacked.
            recorded = {}
            for r in first["runs"]:
                key = (r["variant"], str(r["params"]["ms"]))
                recorded[key] = len([x for x in r["repetitions"] if x["status"] == "ok"])
            second = [l for l in log_lines(os.path.join(tmp, "second.log")) if int(l[2]) >= 0]
            for (v, ms), k in recorded.items():
                idx = sorted(int(l[2]) for l in second if (l[0], l[1]) == (v, ms))
                self.assertEqual(idx, list(range(k, 6)), (v, ms))
            self.assertEqual(len(second), 24 - n_first)

    def test_dry_run(self):
        with PluginDir("count_a", "count_b") as d, tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "never.log")
            env = dict(ENV, MLB_TEST_COUNT_LOG=log)
            p = subprocess.run([ENGINE, "--plugin-dir", d, "--plugin", "count", "--dry-run",
                                "--repetitions", "3"], env=env, text=True, capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("estimated wall time: unknown", p.stdout)
            self.assertFalse(os.path.exists(log), "a dry run must run nothing")
            out = os.path.join(tmp, "r.json")
            run(["--plugin-dir", d, "--plugin", "count", "--repetitions", "3", "--warmup", "0",
                 "--param", "ms=100", "--output", out, "--quiet"], check=0)
            p = run(["--plugin-dir", d, "--plugin", "count", "--repetitions", "10", "--warmup",
                     "0", "--param", "ms=100", "--dry-run", "--estimate-from", out], check=0)
            line = [l for l in p.stdout.splitlines() if "estimated wall time" in l][0]
            # 2 variants x 10 repetitions x ~100 ms: about 2 s.
            secs = float(line.split("estimated wall time: ")[1].split(" s")[0])
            self.assertGreater(secs, 1.9)
            self.assertLess(secs, 4.0)


if __name__ == "__main__":
    main()
