"""SIGINT: what was measured so far is written, atomically, as interrupted."""
import glob
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from common import ENGINE, ENV, PluginDir, main


class Interrupt(unittest.TestCase):
    def test_sigint_writes_partial_results_atomically(self):
        with PluginDir("slow_sleep") as d, tempfile.TemporaryDirectory() as out_dir:
            out = os.path.join(out_dir, "r.json")
            # A previous complete file must be replaced whole, never truncated.
            with open(out, "w") as f:
                f.write('{"old": true}\n')
            p = subprocess.Popen([ENGINE, "--plugin-dir", d, "--plugin", "slow:sleep",
                                  "--repetitions", "50", "--warmup", "0", "--param", "ms=100",
                                  "--output", out], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=ENV)
            time.sleep(1.5)
            p.send_signal(signal.SIGINT)
            stdout, stderr = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130, stderr)
            with open(out) as f:
                doc = json.load(f)
            self.assertEqual(doc["status"], "interrupted")
            run = doc["runs"][0]
            self.assertEqual(run["status"], "interrupted")
            ok = [r for r in run["repetitions"] if r["status"] == "ok"]
            self.assertGreaterEqual(len(ok), 3)
            self.assertLess(len(run["repetitions"]), 50)
            self.assertEqual(glob.glob(out + ".tmp.*"), [])


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


class EngineDeath(unittest.TestCase):
    def test_sigterm_is_an_interrupt(self):
        with PluginDir("slow_sleep") as d, tempfile.TemporaryDirectory() as out_dir:
            out = os.path.join(out_dir, "r.json")
            p = subprocess.Popen([ENGINE, "--plugin-dir", d, "--plugin", "slow:sleep",
                                  "--repetitions", "50", "--warmup", "0", "--param", "ms=100",
                                  "--output", out], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=ENV)
            time.sleep(1.0)
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130)
            with open(out) as f:
                self.assertEqual(json.load(f)["status"], "interrupted")

    def test_repetition_dies_with_a_killed_engine(self):
        with PluginDir("slow_sleep") as d:
            p = subprocess.Popen([ENGINE, "--plugin-dir", d, "--plugin", "slow:sleep",
                                  "--repetitions", "1", "--warmup", "0", "--param", "ms=20000",
                                  "--quiet"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=ENV)
            kids = []
            for _ in range(100):  # the repetition's child, once forked
                kids = children_of(p.pid)
                if kids:
                    break
                time.sleep(0.05)
            self.assertTrue(kids, "no repetition child appeared")
            p.kill()
            p.wait(timeout=10)
            for _ in range(100):
                if not any(os.path.exists(f"/proc/{k}") and open(f"/proc/{k}/stat").read().split()[2] != "Z"
                           for k in kids):
                    break
                time.sleep(0.05)
            alive = [k for k in kids if os.path.exists(f"/proc/{k}")
                     and open(f"/proc/{k}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
            self.assertEqual(alive, [], "the repetition outlived its engine")


if __name__ == "__main__":
    main()
