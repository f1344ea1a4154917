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


if __name__ == "__main__":
    main()
