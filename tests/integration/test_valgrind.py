"""valgrind memcheck of the engine (its own process; the repetitions'
children are not checked, --child-silent-after-fork) through the fault
plugins, a leftover process, a plugin whose available() crashes in
discovery, and a peer: no error and no definite leak. Skips, saying so,
without valgrind (tools/setup.sh --test installs it). The same command is in
docs/testing.md, section "valgrind"."""
import json
import os
import re
import shutil
import tempfile
import unittest

from common import ENGINE, SOURCE_ROOT, TEST_PLUGINS, main, run

VALGRIND = shutil.which("valgrind")
with open(ENGINE, "rb") as _f:
    SANITIZED = b"__asan_init" in _f.read()
PEERS = os.path.join(SOURCE_ROOT, "tests", "peers")
PLUGINS = ["fault_segv", "fault_hang", "fault_exit3", "fault_fail", "fault_alloc", "fault_stray",
           "probe_availsegv"]


@unittest.skipUnless(VALGRIND, "valgrind is not installed (tools/setup.sh --test installs it)")
@unittest.skipIf(SANITIZED, "the engine is built with AddressSanitizer, which valgrind cannot run")
class Memcheck(unittest.TestCase):
    def test_engine_is_clean(self):
        d = tempfile.mkdtemp(prefix="mlb-vg-")
        try:
            for n in PLUGINS:
                shutil.copy(os.path.join(TEST_PLUGINS, n + ".so"), d)
            for f in ("test.peer.yaml", "testpeer.py"):
                shutil.copy(os.path.join(PEERS, f), d)
            log = os.path.join(d, "vg.log")
            vg = [VALGRIND, "--leak-check=full", "--errors-for-leak-kinds=definite",
                  "--error-exitcode=99", "--child-silent-after-fork=yes", f"--log-file={log}"]
            # A repetition under valgrind starts slowly: --timeout is generous.
            p = run(["--plugin-dir", d, "--plugin", "fault", "--plugin", "peertest:py",
                     "--repetitions", "1", "--warmup", "0", "--timeout", "5",
                     "--param", "fault:alloc.mb=20", "--param", "fault:stray.how=setsid",
                     "--param", "peertest:py.ms=5", "--output", os.path.join(d, "r.json"),
                     "--quiet"], wrapper=vg, timeout=600)
            with open(log) as f:
                report = f.read()
            # The faults make the run fail (1); valgrind's own verdict is 99.
            self.assertEqual(p.returncode, 1, p.stderr + report)
            self.assertRegex(report, r"ERROR SUMMARY: 0 errors", report)
            m = re.search(r"definitely lost: ([\d,]+) bytes", report)
            self.assertTrue(m is None or m.group(1) == "0", report)
            with open(os.path.join(d, "r.json")) as f:
                status = {r["variant"]: r["status"] for r in json.load(f)["runs"]}
            self.assertEqual(status, {"segv": "crashed", "hang": "timeout", "exit3": "failed",
                                      "fail": "failed", "alloc": "ok", "stray": "ok",
                                      "py": "ok"})
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
