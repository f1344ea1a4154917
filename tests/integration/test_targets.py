"""The runner's two kinds of target, an in-process plugin and an external
peer, under one measurement (core/target.h): both run side by side, forked
and in process; a crash in train keeps the finished setup phase, measured in
full; the memory the parent samples of a forked repetition reaches the
results."""
import os
import shutil
import tempfile
import unittest

from common import SOURCE_ROOT, TEST_PLUGINS, main, run_by_variant, run_json

PEERS = os.path.join(SOURCE_ROOT, "tests", "peers")
MEASURES = ("wall_s", "cpu_user_s", "cpu_sys_s", "rss_peak_bytes", "rss_avg_bytes")


class Dir:
    """A plugin directory with the test peers and the named test plugins."""

    def __init__(self, *plugins):
        self.path = tempfile.mkdtemp(prefix="mlb-targets-")
        for f in ("test.peer.yaml", "testpeer.py", "data.peer.yaml"):
            shutil.copy(os.path.join(PEERS, f), self.path)
        for n in plugins:
            shutil.copy(os.path.join(TEST_PLUGINS, n + ".so"), self.path)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def measured(test, phase, what):
    """Every measurement of a phase is there and plausible."""
    for k in MEASURES:
        test.assertIsInstance(phase.get(k), (int, float), (what, k, phase))
    test.assertGreater(phase["wall_s"], 0, what)
    test.assertGreaterEqual(phase["cpu_user_s"] + phase["cpu_sys_s"], 0, what)
    test.assertGreater(phase["rss_peak_bytes"], 0, what)
    test.assertGreater(phase["rss_avg_bytes"], 0, what)


class CrashKeepsFinishedPhases(unittest.TestCase):
    def test_plugin_crash_in_train_keeps_setup(self):
        with Dir("fault_segv") as d:
            _, doc = run_json(["--plugin-dir", d, "--plugin", "fault:segv", "--repetitions", "3",
                               "--warmup", "0"], expect_rc=1)
        reps = doc["runs"][0]["repetitions"]
        self.assertEqual(len(reps), 3)
        for rep in reps:
            self.assertEqual(rep["status"], "crashed")
            self.assertIn("SIGSEGV", rep["message"])
            # setup finished before train died: all of it is kept, nothing after
            self.assertEqual(list(rep["phases"]), ["setup"])
            measured(self, rep["phases"]["setup"], "setup")

    def test_peer_crash_in_train_keeps_setup(self):
        with Dir() as d:
            _, doc = run_json(["--plugin-dir", d, "--plugin", "peertest:py", "--param", "mode=crash",
                               "--repetitions", "1", "--warmup", "0", "--timeout", "10"],
                              expect_rc=1)
        rep = doc["runs"][0]["repetitions"][0]
        self.assertEqual(rep["status"], "crashed", rep.get("message"))
        self.assertIn("SIGSEGV", rep["message"])
        self.assertIn("setup", rep["phases"])
        self.assertNotIn("teardown", rep["phases"])  # a dead peer gets no teardown
        measured(self, rep["phases"]["setup"], "peer setup")
        # the peer's own process was measured: a Python interpreter
        self.assertGreater(rep["phases"]["setup"]["rss_peak_bytes"], 5 * 2**20)
        self.assertGreater(rep["peer"]["start_s"], 0)


class PluginAndPeer(unittest.TestCase):
    def check_run(self, extra):
        with Dir("peertest_native") as d:
            _, doc = run_json(["--plugin-dir", d, "--plugin", "peertest:native",
                               "--plugin", "peertest:py", "--param", "peertest:py.ms=20",
                               "--repetitions", "2", "--warmup", "1", "--infer-queries", "4",
                               "--timeout", "20"] + extra)
        runs = run_by_variant(doc)
        self.assertEqual(set(runs), {"native", "py"})
        for r in runs.values():
            self.assertEqual(r["status"], "ok", (r["variant"], r.get("message")))
            self.assertEqual(len(r["repetitions"]), 2)
        for rep in runs["native"]["repetitions"]:
            self.assertEqual(set(rep["phases"]), {"setup", "teardown"})  # no train, no infer
            for ph in rep["phases"].values():
                measured(self, ph, "native")
            self.assertNotIn("peer", rep)
        for rep in runs["py"]["repetitions"]:
            self.assertEqual(set(rep["phases"]), {"setup", "train", "infer", "teardown"})
            for name, ph in rep["phases"].items():
                measured(self, ph, "py " + name)
            self.assertGreaterEqual(rep["phases"]["train"]["wall_s"], 0.020)
            self.assertEqual(rep["phases"]["train"]["items"], 100)
            self.assertEqual(len(rep["infer_latency_s"]), 4)
            self.assertEqual(rep["metrics"]["loss"]["better"], "lower")
            self.assertEqual([p["step"] for p in rep["progress"]], [1, 2])
            self.assertGreater(rep["peer"]["start_s"], 0)
            self.assertGreater(rep["phases"]["train"]["rss_peak_bytes"], 5 * 2**20)
            tl = rep["memory_timeline"]
            self.assertGreaterEqual(len(tl), 8)  # at least each phase's start and end
            self.assertEqual([p[0] for p in tl], sorted(p[0] for p in tl))

    def test_forked(self):
        self.check_run([])

    def test_no_fork(self):
        self.check_run(["--no-fork"])


class LargeReports(unittest.TestCase):
    def test_report_larger_than_shared_memory(self):
        # 60000 latencies are 480 kB: more than the child's shared report
        # area, so the rest goes through the pipe; nothing may be lost.
        with Dir("empty_noop") as d:
            _, doc = run_json(["--plugin-dir", d, "--plugin", "empty:noop", "--repetitions", "2",
                               "--warmup", "0", "--infer-queries", "60000"])
        for rep in doc["runs"][0]["repetitions"]:
            self.assertEqual(rep["status"], "ok", rep.get("message"))
            self.assertEqual(len(rep["infer_latency_s"]), 60000)
            self.assertEqual(set(rep["phases"]), {"setup", "train", "infer", "teardown"})
            self.assertTrue(all(x >= 0 for x in rep["infer_latency_s"]))


class ParentSampling(unittest.TestCase):
    def sleep_run(self, interval, extra=()):
        with Dir("slow_sleep") as d:
            _, doc = run_json(["--plugin-dir", d, "--plugin", "slow:sleep", "--param", "ms=150",
                               "--repetitions", "1", "--warmup", "0",
                               "--sample-interval", interval] + list(extra))
        rep = doc["runs"][0]["repetitions"][0]
        self.assertEqual(rep["status"], "ok", rep.get("message"))
        return rep

    def test_timeline_sampled_during_a_long_phase(self):
        for extra in ((), ("--no-fork",)):
            rep = self.sleep_run("5", extra)
            tl = rep["memory_timeline"]
            # 150 ms at 5 ms: about 30 samples; a loaded machine may miss some
            self.assertGreaterEqual(len(tl), 12, extra)
            ts = [p[0] for p in tl]
            self.assertEqual(ts, sorted(ts), extra)
            self.assertGreaterEqual(ts[0], 0, extra)
            train = rep["phases"]["train"]
            self.assertGreaterEqual(train["wall_s"], 0.150, extra)
            rss = [p[1] for p in tl]
            self.assertGreaterEqual(train["rss_avg_bytes"], min(rss), extra)
            self.assertLessEqual(train["rss_avg_bytes"], max(rss), extra)

    def test_sampler_off_keeps_phase_boundaries(self):
        rep = self.sleep_run("0")
        # start and end of each of the three phases, nothing in between
        self.assertEqual(len(rep["memory_timeline"]), 6)
        for ph in rep["phases"].values():
            measured(self, ph, "sampler off")


if __name__ == "__main__":
    main()
