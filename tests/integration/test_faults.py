"""A plugin's crash, hang, exit, error or runaway allocation is one
repetition's status; the engine survives and goes on."""
import re

from common import PluginDir, main, run, run_by_variant, run_json
import unittest

FAULTS = ["fault_segv", "fault_hang", "fault_exit3", "fault_fail", "fault_spin", "fault_alloc"]


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One run of every fault variant together: the engine must get
        # through all of them and report each.
        with PluginDir(*FAULTS) as d:
            cls.proc, cls.doc = run_json(
                ["--plugin-dir", d, "--plugin", "fault", "--repetitions", "2", "--warmup", "0",
                 "--timeout", "2", "--param", "fault:spin.ms=100", "--param", "fault:alloc.mb=200"],
                expect_rc=1)
        cls.runs = run_by_variant(cls.doc)

    def test_all_variants_reported(self):
        self.assertEqual(set(self.runs), {"segv", "hang", "exit3", "fail", "spin", "alloc"})
        for r in self.runs.values():
            self.assertEqual(len(r["repetitions"]), 2, r["variant"])

    def test_segv_is_crashed_with_signal_name(self):
        r = self.runs["segv"]
        self.assertEqual(r["status"], "crashed")
        for rep in r["repetitions"]:
            self.assertEqual(rep["status"], "crashed")
            self.assertIn("SIGSEGV", rep["message"])
            # setup had finished before the crash: its measurement survives
            self.assertIn("setup", rep["phases"])

    def test_hang_is_timeout(self):
        r = self.runs["hang"]
        self.assertEqual(r["status"], "timeout")
        self.assertTrue(all(rep["status"] == "timeout" for rep in r["repetitions"]))

    def test_exit_is_failed_with_status(self):
        r = self.runs["exit3"]
        self.assertEqual(r["status"], "failed")
        self.assertRegex(r["repetitions"][0]["message"], r"exited with status 3")

    def test_plugin_error_message_kept(self):
        r = self.runs["fail"]
        self.assertEqual(r["status"], "failed")
        self.assertIn("train: deliberate failure", r["repetitions"][0]["message"])
        # teardown still ran after a failed train
        self.assertIn("teardown", r["repetitions"][0]["phases"])

    def test_spin_wall_time_covers_the_work(self):
        # The plugin spins until 100 ms have passed on its own clock: the
        # phase can never read shorter, and on a shared machine a preempted
        # child may read longer, so only a gross error (a unit, a missing
        # phase) is a failure here; accuracy is a benchmark's business.
        r = self.runs["spin"]
        self.assertEqual(r["status"], "ok")
        for rep in r["repetitions"]:
            wall = rep["phases"]["train"]["wall_s"]
            self.assertGreaterEqual(wall, 0.100)
            self.assertLess(wall, 0.5)
            # CPU time is measured but not bounded here: on a loaded shared
            # machine a spinning process gets only part of a core.
            self.assertGreater(rep["phases"]["train"]["cpu_user_s"], 0)

    def test_alloc_peak_rss_per_phase(self):
        r = self.runs["alloc"]
        self.assertEqual(r["status"], "ok")
        for rep in r["repetitions"]:
            train = rep["phases"]["train"]["rss_peak_bytes"]
            setup = rep["phases"]["setup"]["rss_peak_bytes"]
            self.assertGreaterEqual(train, 200 * 2**20)
            self.assertLess(setup, 100 * 2**20)
            self.assertLess(setup, train / 2)
        # the sampler saw the allocation too
        self.assertTrue(any(p[1] >= 150 * 2**20 for p in r["repetitions"][0]["memory_timeline"]))

    def test_table_and_exit_code(self):
        self.assertEqual(self.proc.returncode, 1)


class MemLimit(unittest.TestCase):
    def test_mem_limit_kills_repetition(self):
        with PluginDir("fault_alloc", "fault_spin") as d:
            p, doc = run_json(["--plugin-dir", d, "--plugin", "fault", "--repetitions", "1",
                               "--warmup", "0", "--mem-limit", "100M",
                               "--param", "fault:alloc.mb=1000", "--param", "fault:spin.ms=10"],
                              expect_rc=1)
        runs = run_by_variant(doc)
        self.assertEqual(runs["alloc"]["status"], "memory_limit")
        self.assertIn("--mem-limit", runs["alloc"]["repetitions"][0]["message"])
        self.assertEqual(runs["spin"]["status"], "ok")


class NoFork(unittest.TestCase):
    def test_no_fork_runs_in_process(self):
        with PluginDir("fault_spin") as d:
            p, doc = run_json(["--plugin-dir", d, "--plugin", "fault:spin", "--no-fork",
                               "--repetitions", "2", "--param", "ms=20"])
        self.assertEqual(doc["runs"][0]["status"], "ok")
        wall = doc["runs"][0]["repetitions"][0]["phases"]["train"]["wall_s"]
        # The spin ends at 20 ms of wall time; a preemption at the end of a
        # loaded machine's time slice may add a few ms, never remove any.
        self.assertGreaterEqual(wall, 0.020)
        self.assertLess(wall, 0.040)


if __name__ == "__main__":
    main()
