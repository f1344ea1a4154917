"""The external-process bridge, end to end, with a test peer in plain Python
(tests/peers): every failure mode is that repetition's status with the
peer's stderr tail, and the engine's own measurement sees the peer process."""
import json
import os
import shutil
import tempfile
import unittest

from common import SOURCE_ROOT, TEST_PLUGINS, main, run, run_by_variant, run_json

PEERS = os.path.join(SOURCE_ROOT, "tests", "peers")


class PeerDir:
    def __init__(self, *, native=False, unavailable=False):
        self.path = tempfile.mkdtemp(prefix="mlb-peers-")
        for f in ("test.peer.yaml", "testpeer.py", "data.peer.yaml"):
            shutil.copy(os.path.join(PEERS, f), self.path)
        if unavailable:
            shutil.copy(os.path.join(PEERS, "unavailable.peer.yaml"), self.path)
        shutil.copy(os.path.join(TEST_PLUGINS, "peertest_native.so"), self.path)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def peer_run(d, mode, rc, extra=()):
    return run_json(["--plugin-dir", d, "--plugin", "peertest:py", "--param", f"mode={mode}",
                     "--repetitions", "1", "--warmup", "0", "--timeout", "4"] + list(extra),
                    expect_rc=rc)[1]["runs"][0]


class Discovery(unittest.TestCase):
    def test_list_shows_peers_and_reasons(self):
        with PeerDir(unavailable=True) as d:
            p = run(["--plugin-dir", d, "--list", "--json"], check=0)
            items = {(i["task"], i["variant"]): i for i in json.loads(p.stdout)}
            self.assertTrue(items[("peertest", "py")]["available"])
            self.assertEqual([x["name"] for x in items[("peertest", "py")]["params"]], ["mode", "ms"])
            self.assertFalse(items[("peertest", "missing")]["available"])
            self.assertEqual(items[("peertest", "missing")]["reason"], "the frobnicator is not installed")
            p = run(["--plugin-dir", d, "--describe", "peertest:py"], check=0)
            self.assertIn("mode", p.stdout)

    def test_bad_descriptor_is_skipped_with_position(self):
        with PeerDir() as d:
            with open(os.path.join(d, "bad.peer.yaml"), "w") as f:
                f.write("task: x\nvariant: y\ncommand: [a]\nbogus: 1\n")
            p = run(["--plugin-dir", d, "--list"], check=0)
            self.assertIn("bad.peer.yaml:4:1:", p.stderr)
            self.assertIn("bogus", p.stderr)

    def test_env_list_is_refused(self):
        # fuzz_peer_desc found the list's values leaked when the descriptor
        # was refused; a list is now an error of its own.
        with PeerDir() as d:
            with open(os.path.join(d, "bad.peer.yaml"), "w") as f:
                f.write("task: x\nvariant: y\ncommand: [a]\nenv: {A: [1, 2]}\n")
            p = run(["--plugin-dir", d, "--list"], check=0)
            self.assertIn("bad.peer.yaml:4:", p.stderr)
            self.assertIn("env: 'A' is a list", p.stderr)


class Protocol(unittest.TestCase):
    def test_ok_run_is_measured_by_the_engine(self):
        with PeerDir() as d:
            r = peer_run(d, "ok", 0, ["--repetitions", "2", "--param", "ms=80", "--infer-queries", "5"])
        self.assertEqual(r["status"], "ok")
        rep = r["repetitions"][0]
        self.assertAlmostEqual(rep["phases"]["train"]["wall_s"], 0.080, delta=0.03)
        self.assertEqual(rep["phases"]["train"]["items"], 100)
        self.assertEqual(len(rep["infer_latency_s"]), 5)
        self.assertEqual(rep["metrics"]["loss"]["better"], "lower")
        self.assertGreater(rep["peer"]["start_s"], 0)
        self.assertEqual([p["step"] for p in rep["progress"]], [1, 2])
        # The peer's memory (a Python interpreter), not the engine's child.
        self.assertGreater(rep["phases"]["setup"]["rss_peak_bytes"], 5 * 2**20)

    def test_peak_rss_of_peer_per_phase(self):
        with PeerDir() as d:
            r = peer_run(d, "alloc", 0, ["--param", "ms=1"])
        rep = r["repetitions"][0]
        self.assertGreaterEqual(rep["phases"]["train"]["rss_peak_bytes"], 300 * 2**20)
        self.assertLess(rep["phases"]["setup"]["rss_peak_bytes"], 100 * 2**20)

    def test_mem_limit_applies_to_the_peer(self):
        with PeerDir() as d:
            r = peer_run(d, "alloc", 1, ["--param", "ms=1", "--mem-limit", "100M"])
        rep = r["repetitions"][0]
        self.assertEqual(rep["status"], "memory_limit", rep.get("message"))
        self.assertIn("exceeded --mem-limit 100 MiB during train", rep["message"])
        with PeerDir() as d:  # the same while the peer streams log events
            r = peer_run(d, "alloc_stream", 1, ["--param", "ms=1", "--mem-limit", "100M"])
        self.assertEqual(r["repetitions"][0]["status"], "memory_limit")

    def test_failure_modes(self):
        cases = {
            "crash": ("crashed", "SIGSEGV"),
            "garbage": ("failed", "malformed answer to train: 'this is not json'"),
            "noreply": ("failed", "no boolean 'ok'"),
            "error": ("failed", "ValueError: deliberate peer failure"),
            "exit_setup": ("failed", "exited with status 4 during setup"),
            "hang": ("timeout", "did not answer train before the timeout"),
        }
        with PeerDir() as d:
            for mode, (status, text) in cases.items():
                r = peer_run(d, mode, 1)
                rep = r["repetitions"][0]
                self.assertEqual(rep["status"], status, (mode, rep.get("message")))
                self.assertIn(text, rep["message"], mode)
                # the peer's stderr tail comes with process deaths
                if mode in ("crash", "exit_setup", "hang", "garbage"):
                    self.assertIn("testpeer: setup in mode", rep["message"], mode)

    def test_same_data_as_native_variant(self):
        with PeerDir() as d:
            p, doc = run_json(["--plugin-dir", d, "--plugin", "peertest:pydata", "--seed", "42",
                               "--repetitions", "1", "--warmup", "0"])
        r = doc["runs"][0]
        self.assertEqual(r["status"], "ok", r.get("message"))
        # peertest:native exports X = seed + 0.5*i, i = 0..5
        self.assertEqual(r["repetitions"][0]["metrics"]["x_sum"]["value"],
                         sum(42 + 0.5 * i for i in range(6)))


class TimeToTarget(unittest.TestCase):
    def test_suite_target_from_progress(self):
        # The test peer reports accuracy 0.7 after step 1 and 0.9 after step 2,
        # both at the end of its 60 ms of train work.
        with PeerDir() as d:
            suite = os.path.join(d, "t.yaml")
            with open(suite, "w") as f:
                f.write("benchmarks:\n  - task: peertest\n    variants: [py]\n"
                        "    params: {ms: 60}\n    repetitions: 3\n    warmup: 0\n"
                        "    target: {metric: accuracy, value: 0.8}\n")
            p, doc = run_json(["--plugin-dir", d, "--config", suite])
        tt = doc["runs"][0]["summary"]["time_to_target"]
        self.assertEqual((tt["metric"], tt["target"], tt["reached"], tt["of"]), ("accuracy", 0.8, 3, 3))
        self.assertGreaterEqual(tt["train_s"]["median"], 0.060)
        self.assertLess(tt["train_s"]["median"], 0.5)
        rep = doc["runs"][0]["repetitions"][0]
        self.assertEqual([p["value"] for p in rep["progress"]], [0.7, 0.9])


if __name__ == "__main__":
    main()
