"""A repetition's processes do not outlive it: whatever a plugin starts
(forked without exec, exec'd, in a session of its own, double forked) is
killed at the end of its repetition, which says so; a leftover holding the
report pipe does not hang the engine; --mem-limit and the peak RSS cover the
whole tree."""
import time
import unittest

from common import PluginDir, leftovers, main, run, run_by_variant, run_json

MIB = 2**20


def stray_run(how, extra=(), rc=0, reps=1):
    with PluginDir("fault_stray") as d:
        t0 = time.monotonic()
        p, doc = run_json(["--plugin-dir", d, "--plugin", "fault:stray", "--param", f"how={how}",
                           "--repetitions", str(reps), "--warmup", "0"] + list(extra),
                          expect_rc=rc, timeout=60)
        return time.monotonic() - t0, doc["runs"][0]


class Strays(unittest.TestCase):
    def check_killed(self, how, name=None):
        took, r = stray_run(how, reps=2)
        self.assertEqual(r["status"], "ok", r.get("message"))
        for rep in r["repetitions"]:
            w = rep.get("warning", "")
            # Each repetition's leftover is its own: killed at its end, named.
            self.assertRegex(w, r"^1 process left running by the repetition killed: ")
            if name:
                self.assertIn(f"{name} (pid ", w)
        # run_json (common.run) has already checked that nothing is left.
        self.assertLess(took, 30)

    def test_forked_copy_holding_the_pipe(self):
        self.check_killed("fork")

    def test_setsid_copy(self):
        self.check_killed("setsid")

    def test_exec_sleep(self):
        self.check_killed("exec", "sleep")

    def test_double_fork_daemon(self):
        self.check_killed("daemon")

    def test_no_fork_too(self):
        took, r = stray_run("setsid", ["--no-fork"])
        self.assertEqual(r["status"], "ok", r.get("message"))
        self.assertIn("left running by the repetition killed", r["repetitions"][0]["warning"])

    def test_clean_repetition_has_no_warning(self):
        _, r = stray_run("fork", ["--param", "alloc_mb=1", "--param", "hold_ms=1"])
        self.assertNotIn("warning", r["repetitions"][0])

    def test_pipe_holder_with_timeout(self):
        # The leftover holds the pipe open past the deadline: the engine
        # still ends the repetition when its own process has ended.
        took, r = stray_run("fork", ["--timeout", "1"])
        self.assertEqual(r["status"], "ok", r.get("message"))


class TreeMemory(unittest.TestCase):
    def test_child_allocation_counts_in_the_peak(self):
        _, r = stray_run("fork", ["--param", "alloc_mb=300", "--param", "hold_ms=300"])
        self.assertEqual(r["status"], "ok", r.get("message"))
        rep = r["repetitions"][0]
        self.assertGreaterEqual(rep["phases"]["train"]["rss_peak_bytes"], 300 * MIB)
        self.assertLess(rep["phases"]["setup"]["rss_peak_bytes"], 100 * MIB)
        self.assertTrue(any(p[1] >= 250 * MIB for p in rep["memory_timeline"]))

    def test_child_allocation_hits_the_mem_limit(self):
        _, r = stray_run("fork", ["--param", "alloc_mb=300", "--param", "hold_ms=2000",
                                  "--mem-limit", "200M"], rc=1)
        rep = r["repetitions"][0]
        self.assertEqual(rep["status"], "memory_limit", rep.get("message"))
        self.assertIn("exceeded --mem-limit 200 MiB during train", rep["message"])


if __name__ == "__main__":
    main()
