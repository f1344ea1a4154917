"""Issue 12 (hardening), analysis, outputs and parsers: what a diverged
plugin, a careless file or a hostile path does cannot abort the engine, lose
measured repetitions, replace a device node or write invalid output. Each
case runs the real binary."""
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import unittest

from common import ENGINE, ENV, SOURCE_ROOT, PluginDir, main, run

PEERS = os.path.join(SOURCE_ROOT, "tests", "peers")


def strict_json(text):
    """json.loads that refuses NaN/Infinity, which are not JSON."""
    def bad(c):
        raise ValueError("not JSON: " + c)
    return json.loads(text, parse_constant=bad)


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mlb-hard-")
        self.pd = PluginDir("hostile_a", "hostile_b")
        self.plugins = self.pd.path

    def tearDown(self):
        shutil.rmtree(self.plugins, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.p(name), "w") as f:
            f.write(text)
        return self.p(name)

    def engine(self, *args, check=0, env=None):
        return run(["--plugin-dir", self.plugins, "--warmup", "0", "--quiet"] + list(args),
                   check=check, env=env)

    def load(self, path):
        with open(path, encoding="utf-8") as f:  # strict: invalid UTF-8 raises
            return strict_json(f.read())


class ExtremeValues(Base):
    """GSL's abort on huge values (Welch's df overflows near 1e77), and
    statistics of values near the ends of the double range."""

    def test_stats_huge_values_do_not_abort(self):
        a = self.write("a", "1e80\n2e80\n3e80\n")
        b = self.write("b", "1\n2\n3\n")
        p = run(["stats", a, b], check=0)
        self.assertIn("Welch t-test", p.stdout)
        self.assertIn("t = 3.4641, df = 2", p.stdout)
        doc = strict_json(run(["stats", a, b, "--json"], check=0).stdout)
        self.assertAlmostEqual(doc["welch_df"], 2.0, places=9)

    def test_stats_beyond_range_is_null_with_a_reason(self):
        a = self.write("a", "-1.7e308\n1.7e308\n-1.7e308\n1.7e308\n")
        b = self.write("b", "1\n2\n3\n4\n")
        doc = strict_json(run(["stats", a, b, "--json"], check=0).stdout)
        self.assertIsNone(doc["a"]["sd"])
        self.assertIn("range of a double", doc["a"]["range_why"])
        self.assertIsNone(doc["welch_p"])
        self.assertIsNotNone(doc["welch_why"])
        self.assertEqual(doc["chosen_test"], "mann-whitney")

    def test_stats_subnormal(self):
        a = self.write("a", "5e-324\n1e-323\n1.5e-323\n")
        doc = strict_json(run(["stats", a, "--json"], check=0).stdout)
        self.assertFalse(doc["constant"])
        self.assertEqual(doc["sd"], 5e-324)  # 2^-1074, not the 0 of an underflow

    def test_engine_diverged_loss_writes_the_document(self):
        for v in ("1e100", "1e300", "-1e300", "5e-324", "1e-310"):
            out = self.p("r.json")
            self.engine("--plugin", "hostile:a,b", "--param", "value=" + v, "--repetitions", "4",
                        "--output", out, "--html", self.p("r.html"), "--csv", self.p("r.csv"),
                        "--markdown", self.p("r.md"))
            doc = self.load(out)
            self.assertNotIn("analysis_error", doc)
            loss = [c for c in doc["comparisons"] if c["quantity"] == "metric:loss"]
            self.assertEqual(len(loss), 1)
            m = doc["runs"][0]["summary"]["metrics"]["loss"]
            # the plugin's values, in the same double arithmetic
            vals = sorted(float(v) * (1.0 + i / 10.0) for i in range(4))
            self.assertEqual((m["min"], m["max"]), (vals[0], vals[-1]))
            if abs(float(v)) > 1e-300:
                self.assertAlmostEqual(m["median"] / float(v), 1.15, places=9)
            else:  # subnormal: the sd of values one or two ulps apart
                self.assertFalse(m["constant"] and vals[0] != vals[-1])
            for name in ("r.html", "r.csv", "r.md"):
                with open(self.p(name), encoding="utf-8") as f:
                    self.assertNotIn("nan", f.read().lower().replace("nan-", ""), name)

    def _compare_with_wall(self, value):
        base = self.p("base.json")
        self.engine("--plugin", "hostile:a,b", "--repetitions", "5", "--output", base)
        doc = self.load(base)
        for r in doc["runs"]:
            for i, rep in enumerate(r["repetitions"]):
                rep["phases"]["train"]["wall_s"] = value * (1 + i / 10)
        ext = self.p("ext.json")
        with open(ext, "w") as f:
            json.dump(doc, f)
        return base, ext

    def test_compare_huge_and_subnormal_times(self):
        for value, rc in ((1e300, 1), (5e-324, 0)):
            base, ext = self._compare_with_wall(value)
            p = run(["compare", base, ext, "--json"], check=rc)
            got = strict_json(p.stdout)
            train = [c for c in got["comparisons"] if c["quantity"] == "train"]
            self.assertEqual(len(train), 2)
            run(["compare", ext, ext], check=0)
            run(["report", ext, "--html", self.p("e.html"), "--csv", self.p("e.csv")], check=0)

    def test_failed_analysis_keeps_the_repetitions(self):
        out = self.p("r.json")
        env = dict(ENV, MLBENCH_TEST_FAULT="analysis")
        p = self.engine("--plugin", "hostile:a,b", "--repetitions", "3", "--output", out,
                        "--html", self.p("r.html"), check=1, env=env)
        self.assertIn("the analysis failed", p.stderr)
        doc = self.load(out)
        self.assertIn("MLBENCH_TEST_FAULT", doc["analysis_error"])
        self.assertEqual([len(r["repetitions"]) for r in doc["runs"]], [3, 3])
        self.assertEqual(doc["comparisons"], [])
        with open(self.p("r.html"), encoding="utf-8") as f:
            self.assertIn("the analysis failed (injected by MLBENCH_TEST_FAULT", f.read())
        run(["report", out, "--markdown", self.p("r.md")], check=0)
        with open(self.p("r.md"), encoding="utf-8") as f:
            self.assertIn("**Analysis:** the analysis failed", f.read())


class OutputPaths(Base):
    """--output and report paths: checked before the run; device nodes,
    FIFOs and links are never replaced by rename()."""

    def quick(self, *args, check=0):
        return self.engine("--plugin", "hostile:a", "--repetitions", "1", *args, check=check)

    def test_bad_paths_fail_at_start(self):
        os.mkdir(self.p("d"))
        os.symlink("nowhere/x.json", self.p("dangling"))
        os.symlink("loop1", self.p("loop2"))
        os.symlink("loop2", self.p("loop1"))
        with open(self.p("file"), "w"):
            pass
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(self.p("sock"))
        try:
            for opt in ("--output", "--html", "--csv", "--markdown"):
                for bad in ("d", "missing/x.json", "dangling", "loop1", "sock", "file/x",
                            "/proc/mlbench-r.json"):
                    p = self.quick(opt, self.p(bad), check=2)
                    # refused before measuring: no progress line, no repetition
                    self.assertNotIn("repetitions ok", p.stderr, (opt, bad))
                    self.assertIn(opt, p.stderr)
            p = run(["report", self.p("d"), "--html", self.p("sock")], check=2)
            self.assertIn("socket", p.stderr)
        finally:
            sock.close()

    def test_symlink_is_kept_and_its_file_written(self):
        os.mkdir(self.p("real"))
        os.symlink("real/r.json", self.p("link.json"))
        self.quick("--output", self.p("link.json"))
        self.assertTrue(os.path.islink(self.p("link.json")))
        self.load(self.p("real/r.json"))
        self.quick("--output", self.p("link.json"), "--markdown", self.p("link.json"))
        self.assertTrue(os.path.islink(self.p("link.json")))
        self.assertEqual(sorted(os.listdir(self.p("real"))), ["r.json"])

    def test_fifo_is_written_through(self):
        fifo = self.p("fifo")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
        try:
            self.quick("--output", fifo)
            out, _ = reader.communicate(timeout=60)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
        strict_json(out.decode("utf-8"))
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        # No reader: an error, not a hang, and the FIFO is still a FIFO.
        p = self.quick("--output", fifo, check=2)
        self.assertIn("no reader", p.stderr)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_char_device_is_written_through(self):
        # A null device node of our own first: a binary that would replace
        # a device by rename() replaces this one, and never gets /dev/null.
        node = self.p("null")
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            self.skipTest("mknod needs root: the device node case is not checked")
        self.quick("--output", node, "--html", node, "--csv", node, "--markdown", node)
        self.assertTrue(stat.S_ISCHR(os.lstat(node).st_mode))
        r = self.p("r.json")
        self.quick("--output", r)
        run(["report", r, "--html", node, "--markdown", node], check=0)
        self.assertTrue(stat.S_ISCHR(os.lstat(node).st_mode))
        self.assertEqual(sorted(os.listdir(self.dir)), ["null", "r.json"])
        self.quick("--output", "/dev/null", "--html", "/dev/null")
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))

class ValidUtf8(Base):
    """Every string of the results (and the reports) is valid UTF-8,
    whatever bytes its source sent, and cuts fall between characters."""

    def outputs_valid(self, json_path, reports=True):
        with open(json_path, "rb") as f:
            raw = f.read()
        raw.decode("utf-8")  # strict
        doc = strict_json(raw.decode("utf-8"))
        if reports:
            run(["report", json_path, "--html", self.p("o.html"), "--csv", self.p("o.csv"),
                 "--markdown", self.p("o.md")], check=0)
            for name in ("o.html", "o.csv", "o.md"):
                with open(self.p(name), "rb") as f:
                    f.read().decode("utf-8")
        return doc

    def test_plugin_error_message(self):
        out = self.p("r.json")
        self.engine("--plugin", "hostile:a", "--param", "mode=badutf8", "--repetitions", "1",
                    "--output", out, check=1)
        rep = self.outputs_valid(out)["runs"][0]["repetitions"][0]
        self.assertIn("bad bytes: \ufffd", rep["message"])
        self.assertTrue(rep["message"].endswith(" end"))

    def test_metric_name_cut_on_a_character(self):
        out = self.p("r.json")
        self.engine("--plugin", "hostile:a", "--param", "mode=longname", "--repetitions", "2",
                    "--output", out)
        doc = self.outputs_valid(out)
        names = list(doc["runs"][0]["repetitions"][0]["metrics"])
        long = [n for n in names if n != "loss"]
        self.assertEqual(long, ["\u00e9" * 31])  # 62 bytes: the 63rd would split one

    def test_non_utf8_argv(self):
        out = self.p("r.json")
        p = subprocess.run([ENGINE.encode(), b"--plugin-dir", self.plugins.encode(), b"--plugin",
                            b"hostile:a", b"--param", b"mode=ok\xff\xc3", b"--repetitions", b"1",
                            b"--warmup", b"0", b"--quiet", b"--output", out.encode()],
                           capture_output=True, env=ENV, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = self.outputs_valid(out)
        self.assertEqual(doc["runs"][0]["params"]["mode"], "ok\ufffd\ufffd")
        self.assertIn("ok\ufffd\ufffd", json.dumps(doc["environment"], ensure_ascii=False))

    def test_peer_hello_metrics_error_and_stderr_tail(self):
        d = tempfile.mkdtemp(prefix="mlb-peers-", dir=self.dir)
        for f in ("badtext.py", "badtext.peer.yaml"):
            shutil.copy(os.path.join(PEERS, f), d)
        out = self.p("ok.json")
        self.engine("--plugin-dir", d, "--plugin", "badtext:py", "--repetitions", "2",
                    "--output", out)
        rep = self.outputs_valid(out)["runs"][0]["repetitions"][0]
        self.assertEqual(rep["peer"]["hello"]["name"], "bad \ufffd\ufffd hello \ufffd(")
        self.assertEqual(list(rep["metrics"]), ["acc\ufffduracy"])
        out = self.p("fail.json")
        self.engine("--plugin-dir", d, "--plugin", "badtext:py", "--param", "mode=fail",
                    "--repetitions", "1", "--output", out, check=1)
        rep = self.outputs_valid(out)["runs"][0]["repetitions"][0]
        self.assertIn("bad \ufffd error \ufffd", rep["message"])
        # The byte-limited tail of stderr starts and ends on whole characters.
        out = self.p("die.json")
        self.engine("--plugin-dir", d, "--plugin", "badtext:py", "--param", "mode=die",
                    "--repetitions", "1", "--output", out, check=1)
        msg = self.outputs_valid(out)["runs"][0]["repetitions"][0]["message"]
        self.assertIn("stderr: \u00e9\u00e9", msg)
        self.assertNotIn("\ufffd", msg)
        self.assertTrue(msg.endswith("\u00e9"))

    def test_loader_excerpt_and_header(self):
        cell = "\u00e9" * 30  # 60 bytes: "%.40s" ends inside the 20th... or not at all
        path = self.p("bad.csv")
        with open(path, "wb") as f:
            f.write(b"x\xff,y\n1,2\n" + ("x" + cell).encode() + b",3\n")
        p = run(["data", path, "--json"], check=2)
        doc = strict_json(p.stdout)
        self.assertIn("'x" + "\u00e9" * 19 + "'", doc["error"])
        self.assertNotIn("\ufffd", doc["error"])
        path = self.p("hdr.csv")
        with open(path, "wb") as f:
            f.write(b"x\xff,y\n1,2\n3,4\n5,6\n")
        p = run(["data", path, "--json"], check=0)
        self.assertIn("x\ufffd", p.stdout)
        strict_json(p.stdout)


class BoundedCost(Base):
    """Hostile input is refused early or read in time linear in its size."""

    def suite(self, name, text):
        path = self.write(name, text)
        return run(["--config", path, "--dry-run"], timeout=60)

    def test_alias_bombs_refused(self):
        lines = ["x0: &a0 [" + ",".join(["v"] * 10) + "]"]
        for i in range(1, 9):  # 10^9 nodes once expanded
            lines.append(f"x{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
        lines.append("benchmarks:\n  - task: gemm\n    params: {m: *a8}")
        p = self.suite("bomb.yaml", "\n".join(lines) + "\n")
        self.assertEqual(p.returncode, 2)
        self.assertIn("expands to more than 1000000 nodes", p.stderr)
        refs = "".join("  - {task: gemm, params: *b}\n" for _ in range(150000))
        p = self.suite("refs.yaml", "benchmarks:\n  - task: gemm\n    params: &b {m: [1, 2, "
                                    "3, 4, 5, 6, 7, 8]}\n" + refs)
        self.assertEqual(p.returncode, 2)
        self.assertIn("expands to more than 1000000 nodes", p.stderr)

    def test_nesting_depth_limited(self):
        p = self.suite("deep.yaml", "benchmarks:\n  - task: gemm\n    params: {m: " + "[" * 100
                       + "1" + "]" * 100 + "}\n")
        self.assertEqual(p.returncode, 2)
        self.assertIn("nesting deeper than 64 levels", p.stderr)

    def test_many_keys_and_a_duplicate(self):
        keys = "".join(f"      k{i}: 1\n" for i in range(40000))
        p = self.suite("keys.yaml", "benchmarks:\n  - task: gemm\n    params:\n" + keys
                       + "      k17: 2\n")
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"duplicate key 'k17' (first at line {4 + 17})", p.stderr)

    def _doc(self):
        out = self.p("r.json")
        self.engine("--plugin", "hostile:a,b", "--repetitions", "2", "--output", out)
        with open(out) as f:
            return out, json.load(f)

    def test_results_trailing_data_is_an_error(self):
        out, doc = self._doc()
        with open(out, "rb") as f:
            raw = f.read()
        for junk in (b"garbage", b"\x00", b"{}", b"\n\n]"):
            bad = self.p("bad.json")
            with open(bad, "wb") as f:
                f.write(raw + junk)
            for args in (["report", bad, "--csv", self.p("o.csv")], ["compare", out, bad],
                         ["compare", bad, out]):
                p = run(args, check=2)
                self.assertIn("data after the JSON document", p.stderr, (args, junk))
        with open(self.p("ws.json"), "wb") as f:
            f.write(raw + b"\n \t\r\n")
        run(["report", self.p("ws.json"), "--csv", self.p("o.csv")], check=0)
        # Over 1 GiB: refused from its size, before reading (a sparse file).
        huge = self.p("huge.json")
        with open(huge, "wb") as f:
            f.truncate((1 << 30) + 1)
        for args in (["report", huge, "--csv", self.p("o.csv")], ["compare", out, huge]):
            p = run(args, check=2)
            self.assertIn("a results document is read up to 1 GiB", p.stderr)

    def test_csv_metric_columns_many_metrics(self):
        # Each repetition's metrics in another order: every value must land in
        # its own column (read in one pass, not looked up per column).
        out, doc = self._doc()
        names = [f"m{k}" for k in range(3000)]
        for r in doc["runs"]:
            for i, rep in enumerate(r["repetitions"]):
                order = names if i % 2 == 0 else list(reversed(names))
                rep["metrics"] = {n: {"value": float(n[1:]) + i, "better": "lower"} for n in order}
        path = self.p("many.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        run(["report", path, "--csv", self.p("o.csv")], check=0)
        import csv
        with open(self.p("o.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 4)
        for row in rows:
            i = int(row["repetition"])
            for k in (0, 1, 1234, 2999):
                self.assertEqual(float(row[f"metric:m{k}"]), k + i)

    def test_stats_nul_byte_is_an_error(self):
        path = self.p("nul.txt")
        with open(path, "wb") as f:
            f.write(b"1\n2\x003\n4\n")
        p = run(["stats", path], check=2)
        self.assertIn("nul.txt:2: a NUL byte in the line", p.stderr)

    def test_idx_gz_followed_by_junk(self):
        import gzip
        data = os.path.join(SOURCE_ROOT, "tests", "data", "datasets")
        with open(os.path.join(data, "images.idx"), "rb") as f:
            img = gzip.compress(f.read())
        labels = os.path.join(data, "labels.idx")
        for name, raw, rc in (("ok.idx.gz", img, 0), ("two.idx.gz", img + gzip.compress(b""), 0),
                              ("junk.idx.gz", img + b"junk after the stream", 2),
                              ("zeros.idx.gz", img + b"\0" * 64, 2)):
            path = self.p(name)
            with open(path, "wb") as f:
                f.write(raw)
            p = run(["data", path + "," + labels], check=rc)
            if rc:
                self.assertIn(f"byte {len(img)} of the file: bytes after the gzip data",
                              p.stdout + p.stderr, name)
        # The text formats (CSV, LIBSVM) read through the same reader.
        with open(os.path.join(SOURCE_ROOT, "data", "iris.csv"), "rb") as f:
            csv = gzip.compress(f.read())
        for name, raw, rc in (("iris.csv.gz", csv, 0), ("junk.csv.gz", csv + b"junk", 2)):
            path = self.p(name)
            with open(path, "wb") as f:
                f.write(raw)
            p = run(["data", path], check=rc)
            if rc:
                self.assertIn(f"byte {len(csv)} of the file: bytes after the gzip data",
                              p.stdout + p.stderr)

    def test_csv_with_exactly_the_maximum_columns(self):
        # 2^20 features and the target: accepted; one more column: refused.
        n = (1 << 20) + 1
        for cols, rc in ((n, 0), (n + 1, 2)):
            path = self.p(f"c{cols}.csv")
            with open(path, "w") as f:
                for r in range(3):
                    f.write(",".join([str(r)] * cols) + "\n")
            p = run(["data", path], check=rc)
            if rc:
                self.assertIn("too many columns (at most 1048577", p.stderr)
            else:
                self.assertIn("features   1048576", p.stdout)

    def test_libsvm_densification_bounded(self):
        path = self.write("sparse.svm", "".join(f"1 {1 << 20}:1\n" for _ in range(40)))
        p = run(["data", path], check=2)
        self.assertIn("too sparse to densify: 40 rows x 1048576 features", p.stderr)
        path = self.write("ok.svm", "".join("1 20000:1\n" for _ in range(40)))
        run(["data", path], check=0)

    def test_suite_of_exactly_16_mib(self):
        body = "benchmarks:\n  - task: gemm\n    variants: [naive]\n"
        cap = 16 << 20
        pad = cap - len(body)
        text = body + ("#" + "x" * 98 + "\n") * (pad // 100)
        text += "#" * (cap - len(text) - 1) + "\n"
        self.assertEqual(len(text), cap)
        p = self.suite("exact.yaml", text)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.suite("over.yaml", text + "\n")
        self.assertEqual(p.returncode, 2)
        self.assertIn("file too large", p.stderr)


if __name__ == "__main__":
    main()
