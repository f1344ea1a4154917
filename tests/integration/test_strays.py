"""A repetition's processes do not outlive it: whatever a plugin starts
(forked without exec, exec'd, in a session of its own, double forked) is
killed at the end of its repetition, which says so; a leftover holding the
report pipe does not hang the engine; --mem-limit and the peak RSS cover the
whole tree."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from common import ENGINE, ENV, SOURCE_ROOT, PluginDir, leftovers, main, run, run_json

PEERS = os.path.join(SOURCE_ROOT, "tests", "peers")

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

    def test_terminal_says_it(self):
        with PluginDir("fault_stray") as d:
            p = run(["--plugin-dir", d, "--plugin", "fault:stray", "--param", "how=exec",
                     "--repetitions", "1", "--warmup", "0"], check=0, timeout=60)
        self.assertRegex(p.stderr, r"warning: fault:stray repetition 1: 1 process left running "
                                   r"by the repetition killed: sleep \(pid \d+\)")

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

    def test_pipe_holder_with_a_report_on_the_pipe(self):
        # 100000 latencies outgrow the shared memory: the rest of the report
        # goes through the pipe that the leftover holds open.
        took, r = stray_run("fork", ["--infer-queries", "100000"])
        self.assertEqual(r["status"], "ok", r.get("message"))
        rep = r["repetitions"][0]
        self.assertEqual(len(rep["infer_latency_s"]), 100000)
        self.assertIn("left running by the repetition killed", rep["warning"])
        self.assertLess(took, 30)

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


class PeerDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="mlb-peers-")
        for f in ("test.peer.yaml", "testpeer.py"):
            shutil.copy(os.path.join(PEERS, f), self.path)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def peer_run(d, mode, rc, extra=()):
    t0 = time.monotonic()
    doc = run_json(["--plugin-dir", d, "--plugin", "peertest:py", "--param", f"mode={mode}",
                    "--repetitions", "1", "--warmup", "0"] + list(extra),
                   expect_rc=rc, timeout=60)[1]
    return time.monotonic() - t0, doc["runs"][0]["repetitions"][0]


class PeerStrays(unittest.TestCase):
    def test_peer_child_is_killed_and_named(self):
        with PeerDir() as d:
            _, rep = peer_run(d, "spawn", 0)
        self.assertEqual(rep["status"], "ok", rep.get("message"))
        self.assertIn("sleep (pid ", rep.get("warning", ""))

    def test_peer_exit_with_its_output_held_open(self):
        # No --timeout: only the peer's exit can end the wait for its answer.
        with PeerDir() as d:
            took, rep = peer_run(d, "orphan_exit", 1)
        self.assertEqual(rep["status"], "failed")
        self.assertIn("peer exited with status 5 during train", rep["message"])
        self.assertIn("sleep (pid ", rep.get("warning", ""))
        self.assertLess(took, 30)

    def test_interrupt_removes_the_peer_directory(self):
        with PeerDir() as d, tempfile.TemporaryDirectory() as tmp:
            env = dict(ENV)
            env["TMPDIR"] = tmp
            p = subprocess.Popen([ENGINE, "--plugin-dir", d, "--plugin", "peertest:py",
                                  "--param", "mode=hang", "--repetitions", "1", "--warmup", "0",
                                  "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env)
            # The peer is in train once its directory exists and has its stderr.
            end = time.monotonic() + 30
            while time.monotonic() < end and not any(
                    n.startswith("mlbench-peer-") for n in os.listdir(tmp)):
                time.sleep(0.05)
            self.assertTrue(any(n.startswith("mlbench-peer-") for n in os.listdir(tmp)))
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            _, stderr = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130, stderr)
            self.assertEqual([n for n in os.listdir(tmp) if n.startswith("mlbench-peer-")], [])
        self.assertEqual(leftovers(), {})


if __name__ == "__main__":
    main()
