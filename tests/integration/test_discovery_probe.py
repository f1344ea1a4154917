"""Discovery runs no plugin code in the engine: a plugin whose entry point
or available() crashes or hangs is skipped or listed unavailable with the
reason, and neither --list nor an unrelated run suffers; a descriptor with
an invalid field is skipped with a warning naming the field. Also the bounds
of --sample-interval."""
import json
import os
import time
import unittest

from common import ENV, PluginDir, main, run, run_json

BROKEN = ["probe_availsegv", "probe_availhang", "probe_availno", "probe_entrysegv",
          "probe_nullname", "probe_badtype", "probe_nulldef", "probe_baddef"]

# A hanging available() costs this long per engine start (default 5 s).
FAST = dict(ENV, MLBENCH_DISCOVERY_TIMEOUT_S="1")


class Probe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = PluginDir("fault_spin", *BROKEN)
        cls.d = cls.dir.path

    @classmethod
    def tearDownClass(cls):
        cls.dir.__exit__()

    def test_list_survives_and_gives_reasons(self):
        t0 = time.monotonic()
        p = run(["--plugin-dir", self.d, "--list", "--json"], check=0, env=FAST)
        self.assertLess(time.monotonic() - t0, 120)
        items = {(i["task"], i["variant"]): i for i in json.loads(p.stdout)}
        self.assertTrue(items[("fault", "spin")]["available"])
        self.assertEqual(items[("probe", "availno")]["reason"], "the frobnicator is missing")
        self.assertFalse(items[("probe", "availsegv")]["available"])
        self.assertEqual(items[("probe", "availsegv")]["reason"],
                         "available() crashed (SIGSEGV) in a discovery probe")
        self.assertEqual(items[("probe", "availhang")]["reason"],
                         "available() did not return within 1 s in a discovery probe")
        for v in ("entrysegv", "nullname", "badtype", "nulldef", "baddef"):
            self.assertNotIn(("probe", v), items)
        self.assertRegex(p.stderr, r"probe_entrysegv.so: skipped, crashed \(SIGSEGV\) while "
                                   r"loading or in its entry point")
        # Descriptor checks at load, each naming the field.
        for so, why in [("probe_nullname", "params[0].name is NULL"),
                        ("probe_badtype", "params[0] 'n': unknown type 99"),
                        ("probe_nulldef", "params[0] 'n': default (def) is NULL"),
                        ("probe_baddef", "params[0] 'n': default 'many': ")]:
            self.assertIn(f"{so}.so: skipped, invalid descriptor: {why}", p.stderr)

    def test_unrelated_runs_keep_working(self):
        for plugin, params in (("gemm:naive", ["m=8", "n=8", "k=8"]), ("fault:spin", ["ms=1"])):
            args = ["--plugin-dir", self.d, "--plugin", plugin, "--repetitions", "1",
                    "--warmup", "0"]
            for kv in params:
                args += ["--param", kv]
            _, doc = run_json(args, env=FAST)
            self.assertEqual(doc["runs"][0]["status"], "ok")

    def test_selected_unavailable_plugin_says_why(self):
        _, doc = run_json(["--plugin-dir", self.d, "--plugin", "probe:availsegv",
                           "--repetitions", "1", "--warmup", "0"], expect_rc=None, env=FAST)
        self.assertEqual(doc["runs"][0]["status"], "unavailable")
        self.assertIn("available() crashed (SIGSEGV)", doc["runs"][0]["message"])


class SampleInterval(unittest.TestCase):
    def test_bounds(self):
        with PluginDir("fault_spin") as d:
            base = ["--plugin-dir", d, "--plugin", "fault:spin", "--repetitions", "1",
                    "--warmup", "0", "--param", "ms=1"]
            for bad in ("1e20", "1e-6", "0.05", "10001", "-1", "nan"):
                p = run(base + ["--sample-interval", bad], check=2)
                self.assertIn("--sample-interval", p.stderr)
            for good in ("0", "0.1", "10000", "5"):
                _, doc = run_json(base + ["--sample-interval", good])
                self.assertEqual(doc["runs"][0]["status"], "ok")


if __name__ == "__main__":
    main()
