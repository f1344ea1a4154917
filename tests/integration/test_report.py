"""Reports from results documents: `mlbench-engine report` and the --html,
--csv and --markdown options of a run, on real runs of the bundled gemm
plugins, the test peer (learning curves) and failing test plugins."""
import csv
import html
import html.parser
import json
import os
import re
import shutil
import tempfile
import unittest

from common import SOURCE_ROOT, TEST_PLUGINS, main, run

SMALL = ["--param", "m=48", "--param", "n=40", "--param", "k=56"]
PEERS = os.path.join(SOURCE_ROOT, "tests", "peers")
PHASES = ["setup", "train", "infer", "teardown"]
QUANTITIES = ["wall_s", "cpu_user_s", "cpu_sys_s", "rss_peak_bytes", "items"]
FIXED_COLUMNS = ["task", "variant", "run", "repetition", "status", "message", "params"] + [
    f"{p}_{q}" for p in PHASES for q in QUANTITIES] + ["speedup", "baseline_run"] + [
    "group_fastest", "group_speedup", "group_speedup_ci95_low", "group_speedup_ci95_high",
    "group_speedup_verdict", "group_rss_ratio", "group_quality_equivalent", "group_summary",
    "recommendation"]
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class Page(html.parser.HTMLParser):
    """Collects what the checks need, and that every element is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text, self.svgs, self.tags = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "svg":
            self.svgs.append(dict(attrs).get("class", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_page(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    p = Page()
    p.feed(raw)
    p.close()
    return raw, p


def expected_baseline(doc, group):
    """The baseline's runs[] index, by the documented rule: groups[].baseline when it
    names a run of the group, else the group's naive run, else its first."""
    runs = doc["runs"]
    for g in doc.get("groups", []):
        if g.get("index") == group:
            b = g.get("baseline")
            if isinstance(b, int) and 0 <= b < len(runs) and runs[b].get("group") == group:
                return b
            break
    members = [i for i, r in enumerate(runs) if r.get("group") == group]
    naive = [i for i in members if runs[i]["variant"] == "naive"]
    return (naive or members)[0]


def median(run, phase):
    v = (((run.get("summary") or {}).get("phases") or {}).get(phase) or {}).get("wall_s") or {}
    return v.get("median")


def expected_speedup(base, run):
    """Baseline median over the run's, train, else infer where either has no train."""
    for phase in ("train", "infer"):
        b, t = median(base, phase), median(run, phase)
        if b is not None and t is not None and b > 0 and t > 0:
            return b / t
    return None


def expected_fastest(doc, group):
    """The run with the largest speed-up over the group's baseline, and that speed-up."""
    base = doc["runs"][expected_baseline(doc, group)]
    best, best_sp = None, None
    for r in doc["runs"]:
        if r.get("group") != group:
            continue
        sp = expected_speedup(base, r)
        if sp is not None and sp > (best_sp or 0):
            best, best_sp = r, sp
    return best, best_sp


def expected_speedup_ci(doc, base, run, phase):
    """The 95% CI of median(base) / median(run) from their comparison in `phase`
    (infer: the per-query comparison), inverted when run is its run_a."""
    for q in ((phase,) if phase == "train" else ("infer", "infer_query")):
        for c in doc["comparisons"]:
            if c["quantity"] != q:
                continue
            lo, hi = c.get("median_ratio_ci95_low"), c.get("median_ratio_ci95_high")
            if (c["run_a"], c["run_b"]) == (base["index"], run["index"]):
                return lo, hi
            if (c["run_a"], c["run_b"]) == (run["index"], base["index"]):
                return (1 / hi if hi else None), (1 / lo if lo else None)
    return None, None


def md_text(md):
    """Markdown text as a reader sees it: the backslash escapes of '<', '|', '\\' undone."""
    return re.sub(r"\\([<|\\])", r"\1", md)


def speedup_cell(doc, i):
    """The speed-up cell of runs[i] in every table: "3.10×", "1.00× (baseline)", "–"."""
    r = doc["runs"][i]
    b = expected_baseline(doc, r["group"])
    sp = expected_speedup(doc["runs"][b], r)
    return ("–" if sp is None else f"{sp:.2f}×") + (" (baseline)" if b == i else "")


def terminal_rows(stdout):
    """variant -> speed-up cell of each row of the terminal table (fixed-width
    columns, as report.c pads them; message lines are indented)."""
    widths = [14, 11, 19, 19, 10, 11, 9, 10, 16]
    start = sum(w + 1 for w in widths[:8])
    rows, in_table = {}, False
    for line in stdout.splitlines():
        if line.startswith("variant "):
            in_table = True
        elif not line or line.startswith(("==", "Comparisons")):
            in_table = False
        elif in_table and not line.startswith(" "):
            rows[line[:14].strip()] = line[start:start + widths[8]].strip()
    return rows


def svg_kinds(page):
    return {c.split()[1] for c in page.svgs if c.startswith("plot ")}


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="mlb-report-")

    def __call__(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def peer_dir():
    d = tempfile.mkdtemp(prefix="mlb-peers-")
    for f in ("test.peer.yaml", "testpeer.py", "data.peer.yaml"):
        shutil.copy(os.path.join(PEERS, f), d)
    shutil.copy(os.path.join(TEST_PLUGINS, "peertest_native.so"), d)
    return d


class Reports:
    """Shared checks of the three outputs against their document."""

    def check_html(self, doc, path, kinds=frozenset()):
        raw, page = parse_page(path)
        self.assertEqual(page.errors, [], "mis-nested elements")
        self.assertEqual(page.stack, [], "unclosed elements")
        self.assertTrue(raw.startswith("<!DOCTYPE html>"))
        # self-contained: no URL, no script, nothing fetched
        self.assertNotIn("http://", raw)
        self.assertNotIn("https://", raw)
        for tag, attrs in page.tags:
            self.assertNotIn(tag, ("script", "link", "iframe", "img"))
            self.assertNotIn("src", attrs)
            if "href" in attrs:
                self.assertTrue(attrs["href"].startswith("#"), attrs["href"])
        self.assertTrue(kinds <= svg_kinds(page), (kinds, page.svgs))
        text = "".join(page.text)
        for c in doc["comparisons"]:
            self.assertIn(c["verdict"], text)
        env = doc["environment"]
        for k in ("cpu_model", "kernel", "openblas_config", "git_commit", "timestamp_utc"):
            self.assertIn(env[k], text, k)
        self.assertIn(str(env["seed"]), text)
        for i, r in enumerate(doc["runs"]):
            self.assertIn(r["variant"], text)
            # a variant runs in each group of a sweep: its k-th row is its k-th run's
            k = sum(r2["variant"] == r["variant"] for r2 in doc["runs"][:i])
            ms = list(re.finditer(r'<tr( class="baseline")?><td><span class="swatch"[^>]*>'
                                  r'</span>' + re.escape(html.escape(r["variant"]))
                                  + r'</td>.*?<td class="n">([^<]*)</td></tr>', raw))
            self.assertGreater(len(ms), k, r["variant"])
            m = ms[k]
            self.assertEqual(html.unescape(m.group(2)), speedup_cell(doc, i), r["variant"])
            base = expected_baseline(doc, r["group"])
            self.assertEqual(bool(m.group(1)), base == i)
            self.assertIn(f"baseline {doc['runs'][base]['variant']}</h2>", raw)
        self.check_html_summary(doc, raw)
        return raw, page

    def check_html_summary(self, doc, raw):
        """The summary opens the page: a row per group with its fastest variant's
        speed-up; each group of two or more has its speed-up matrix."""
        groups = sorted({r["group"] for r in doc["runs"]})
        top = raw.index('<section id="summary">')
        self.assertLess(top, raw.index('class="group"'))
        summary = raw[top:raw.index("</section>", top)]
        rows = re.findall(r'<tr><td data-label="compared">.*?</tr>', summary)
        self.assertEqual(len(rows), len(groups))
        self.assertIn("<h3>Recommendation</h3>", summary)
        for g, row in zip(groups, rows):
            fastest, sp = expected_fastest(doc, g)
            base = doc["runs"][expected_baseline(doc, g)]
            if fastest is None:
                continue
            if fastest is base:
                self.assertIn("the baseline is the fastest", row)
            else:
                self.assertIn(f"{sp:.2f}×", row)
                self.assertIn(html.escape(fastest["variant"]) + "</td>", row)
        sizes = [sum(r["group"] == g for r in doc["runs"]) for g in groups]
        self.assertEqual(raw.count('<table class="matrix">'), sum(n >= 2 for n in sizes))
        self.assertEqual(raw.count('class="n v-self"'), sum(n for n in sizes if n >= 2))
        # each cell: the row's verdict against the column, from their comparison
        tables = re.findall(r'<table class="matrix">.*?</table>', raw, re.S)
        members = [[r for r in doc["runs"] if r["group"] == g] for g, n in zip(groups, sizes)
                   if n >= 2]
        flip = {"better": "worse", "worse": "better"}
        for table, runs in zip(tables, members):
            trs = re.findall(r"<tr><th>.*?</tr>", table.split("<tbody>", 1)[1], re.S)
            self.assertEqual(len(trs), len(runs))
            phase = "train" if all(median(r, "train") for r in runs) else "infer_query"
            for i, tr in enumerate(trs):
                cells = re.findall(r'<td class="n v-([a-z]+)">', tr)
                self.assertEqual(len(cells), len(runs))
                for j, kind in enumerate(cells):
                    if i == j:
                        self.assertEqual(kind, "self")
                        continue
                    a, b = runs[i]["index"], runs[j]["index"]
                    want = "none"
                    for c in doc["comparisons"]:  # the first of the pair, as the report
                        if c["quantity"] == phase and {c["run_a"], c["run_b"]} == {a, b}:
                            k = c.get("verdict_kind") or "none"
                            want = k if c["run_a"] == a else flip.get(k, k)
                            break
                    self.assertEqual(kind, want, (runs[i]["variant"], runs[j]["variant"]))

    def check_csv(self, doc, path):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        metrics = []
        for r in doc["runs"]:
            for rep in r["repetitions"]:
                for m in rep.get("metrics", {}):
                    if m not in metrics:
                        metrics.append(m)
        self.assertEqual(header, FIXED_COLUMNS + [f"metric:{m}" for m in metrics])
        reps = [(r, i, rep) for r in doc["runs"] for i, rep in enumerate(r["repetitions"])]
        self.assertEqual(len(body), len(reps))
        for row, (r, i, rep) in zip(body, reps):
            self.assertEqual(len(row), len(header))
            cell = dict(zip(header, row))
            # the run's speed-up, exact, against its group's baseline, on each of its rows
            base = expected_baseline(doc, r["group"])
            self.assertEqual(int(cell["baseline_run"]), doc["runs"][base]["index"])
            sp = expected_speedup(doc["runs"][base], r)
            self.assertEqual(float(cell["speedup"]) if cell["speedup"] else None, sp)
            # the group's summary on each of its rows: its fastest run by speed-up
            fastest, best = expected_fastest(doc, r["group"])
            self.assertEqual(cell["group_fastest"], fastest["variant"] if fastest else "")
            self.assertEqual(float(cell["group_speedup"]) if cell["group_speedup"] else None,
                             best)
            bdoc = doc["runs"][base]
            if fastest is not None and fastest is not bdoc:
                # the CI is the comparison's, of the baseline's time over the fastest's
                phase = "train" if median(bdoc, "train") and median(fastest, "train") else "infer"
                lo, hi = expected_speedup_ci(doc, bdoc, fastest, phase)
                got_lo = float(cell["group_speedup_ci95_low"]) if cell["group_speedup_ci95_low"] else None
                got_hi = float(cell["group_speedup_ci95_high"]) if cell["group_speedup_ci95_high"] else None
                self.assertEqual((got_lo, got_hi), (lo, hi))
            if fastest is not None:
                self.assertTrue(cell["group_summary"].startswith(fastest["variant"])
                                or cell["group_summary"].startswith("the baseline"),
                                cell["group_summary"])
                self.assertTrue(cell["recommendation"].startswith(r["task"] + ": use "),
                                cell["recommendation"])
            self.assertEqual(cell["task"], r["task"])
            self.assertEqual(cell["variant"], r["variant"])
            self.assertEqual(int(cell["run"]), r["index"])
            self.assertEqual(int(cell["repetition"]), i)
            self.assertEqual(cell["status"], rep["status"])
            self.assertEqual(cell["message"], rep.get("message", ""))
            for k, v in r["params"].items():
                text = ("true" if v else "false") if isinstance(v, bool) else str(v)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.assertIn(f"{k}=", cell["params"])
                    got = cell["params"].split(f"{k}=", 1)[1].split(";", 1)[0]
                    self.assertEqual(float(got), v)
                else:
                    self.assertIn(f"{k}={text}", cell["params"])
            for p in PHASES:
                for q in QUANTITIES:
                    want = rep["phases"].get(p, {}).get(q)
                    got = cell[f"{p}_{q}"]
                    if want is None:
                        self.assertEqual(got, "", (p, q))
                    else:
                        self.assertEqual(float(got), want, (p, q))  # exact: shortest round-trip
            for m in metrics:
                want = rep.get("metrics", {}).get(m, {}).get("value")
                got = cell[f"metric:{m}"]
                self.assertEqual(float(got) if got else None, want, m)
        return header, body

    def check_markdown(self, doc, path):
        with open(path, encoding="utf-8") as f:
            md = f.read()
        lines = md.splitlines()
        heads = [i for i, l in enumerate(lines) if l.startswith("| variant | status |")]
        groups = {r["group"] for r in doc["runs"]}
        self.assertEqual(len(heads), len(groups))
        for i in heads:
            self.assertRegex(lines[i + 1], r"^\|(-+:?\|)+$")
            ncol = lines[i].count(" | ") + 1
            j = i + 2
            while j < len(lines) and lines[j].startswith("| "):
                self.assertEqual(lines[j].replace("\\|", "").count(" | ") + 1, ncol, lines[j])
                j += 1
            self.assertGreater(j, i + 2, "a table without rows")
        # no HTML entity anywhere: the text reads as itself
        self.assertIsNone(re.search(r"&(lt|gt|amp|quot|#\d+);", md), "an HTML entity")
        text = md_text(md)
        for c in doc["comparisons"]:
            self.assertIn(c["verdict"], text)
        # the summary opens the file: one line per group, then the recommendations
        self.assertLess(md.index("### Summary"), md.index("| variant | status |"))
        summary = md[md.index("### Summary"):md.index("### Recommendation")]
        self.assertEqual(summary.count("\n- **"), len(groups))
        rec = md[md.index("### Recommendation"):].split("\n### ")[0]
        for task in {r["task"] for r in doc["runs"]}:
            self.assertIn(f"- **{task}:** ", rec)
        for i, r in enumerate(doc["runs"]):
            row = [l for l in lines if l.startswith(f"| {r['variant']} | {r['status']} |")]
            same = [r2 for r2 in doc["runs"]
                    if (r2["variant"], r2["status"]) == (r["variant"], r["status"])]
            self.assertEqual(len(row), len(same), r["variant"])  # one row a run
            k = sum(r2 in same for r2 in doc["runs"][:i])
            self.assertEqual(row[k].split(" | ")[8], speedup_cell(doc, i), r["variant"])
            base = doc["runs"][expected_baseline(doc, r["group"])]
            self.assertIn(f", baseline {base['variant']}\n", md)
        return md


class GemmRun(Reports, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = Workdir()
        w = cls.w
        cls.proc = run(["--plugin", "gemm", "--repetitions", "5", "--warmup", "1", "--quiet",
                        "--output", w("r.json"), "--html", w("r.html"), "--csv", w("r.csv"),
                        "--markdown", w("r.md")] + SMALL, check=0)
        with open(w("r.json")) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.w.cleanup()

    def test_html(self):
        raw, page = self.check_html(self.doc, self.w("r.html"))
        # gemm reports no progress
        self.assertEqual(svg_kinds(page), {"box", "bars", "memory", "latency"})
        # one dot per successful repetition in each phase's box plot (train, infer)
        self.assertEqual(raw.count("<title>repetition "), 30)
        text = "".join(page.text)
        self.assertIn("GFLOP/s", text)
        self.assertIn("max_rel_err", text)

    def test_csv(self):
        header, body = self.check_csv(self.doc, self.w("r.csv"))
        self.assertEqual(len(body), 15)
        self.assertIn("metric:max_rel_err", header)
        with open(self.w("r.csv"), "rb") as f:
            self.assertTrue(f.readline().endswith(b"\r\n"))  # RFC 4180 line ends

    def test_markdown(self):
        md = self.check_markdown(self.doc, self.w("r.md"))
        self.assertIn("### gemm", md)

    def test_report_subcommand_reproduces_the_run_outputs(self):
        w = self.w
        p = run(["report", w("r.json"), "--html", w("s.html"), "--csv", w("s.csv"),
                 "--markdown=" + w("s.md")], check=0)
        self.assertIn("s.html", p.stderr)
        for a, b in (("r.html", "s.html"), ("r.csv", "s.csv"), ("r.md", "s.md")):
            with open(w(a), "rb") as f1, open(w(b), "rb") as f2:
                self.assertEqual(f1.read(), f2.read(), a)

    def test_outputs_without_output_json(self):
        d = Workdir()
        try:
            run(["--plugin", "gemm:naive", "--repetitions", "2", "--warmup", "0", "--quiet",
                 "--html", d("only.html")] + SMALL, check=0)
            _, page = parse_page(d("only.html"))
            self.assertIn("box", svg_kinds(page))
            self.assertEqual(sorted(os.listdir(d.path)), ["only.html"])  # no temporary left
        finally:
            d.cleanup()

    def test_hostile_text_is_escaped(self):
        doc = json.loads(json.dumps(self.doc))
        evil = '<script>alert("x")</script>, "quoted"\nline'
        doc["runs"][0]["variant"] = evil
        doc["runs"][0]["repetitions"][0]["message"] = evil
        doc["comparisons"][0]["verdict"] = evil + " & more"
        w = self.w
        with open(w("evil.json"), "w") as f:
            json.dump(doc, f)
        run(["report", w("evil.json"), "--html", w("evil.html"), "--csv", w("evil.csv"),
             "--markdown", w("evil.md")], check=0)
        raw, page = parse_page(w("evil.html"))
        self.assertNotIn("<script", raw)
        self.assertEqual(page.errors, [])
        self.assertIn(evil + " & more", "".join(page.text))
        with open(w("evil.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(rows[0]["variant"], evil)   # RFC 4180 quoting round-trips
        self.assertEqual(rows[0]["message"], evil)
        with open(w("evil.md")) as f:
            md = f.read()
        self.assertIsNone(re.search(r"(?<!\\)<script", md))  # only as escaped text
        self.assertIn("\\<script>", md)
        self.assertNotIn("&lt;", md)
        self.assertNotIn("\"quoted\"\nline", md)

    def test_nulls_and_missing_fields(self):
        doc = json.loads(json.dumps(self.doc))
        r = doc["runs"][1]
        for k in list(r["summary"]["phases"]["train"]):
            r["summary"]["phases"]["train"][k] = None
        del r["summary"]["infer_latency_s"]
        r["repetitions"][0]["phases"]["train"]["wall_s"] = None
        doc["comparisons"][0]["p_adjusted"] = None
        doc["comparisons"][0]["cliffs_delta"] = None
        doc["environment"]["cpu_model"] = None
        w = self.w
        with open(w("nulls.json"), "w") as f:
            json.dump(doc, f)
        run(["report", w("nulls.json"), "--html", w("nulls.html"), "--csv", w("nulls.csv"),
             "--markdown", w("nulls.md")], check=0)
        _, page = parse_page(w("nulls.html"))
        self.assertEqual(page.errors, [])
        with open(w("nulls.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(rows[5]["train_wall_s"], "")


class PeerRun(Reports, unittest.TestCase):
    """The test peer reports learning-curve points and quality metrics."""

    @classmethod
    def setUpClass(cls):
        cls.w = Workdir()
        cls.peers = peer_dir()
        run(["--plugin-dir", cls.peers, "--plugin", "peertest", "--repetitions", "3",
             "--warmup", "0", "--quiet", "--output", cls.w("p.json")], check=0)
        with open(cls.w("p.json")) as f:
            cls.doc = json.load(f)
        w = cls.w
        run(["report", w("p.json"), "--html", w("p.html"), "--csv", w("p.csv"),
             "--markdown", w("p.md")], check=0)

    @classmethod
    def tearDownClass(cls):
        cls.w.cleanup()
        shutil.rmtree(cls.peers, ignore_errors=True)

    def test_html_has_learning_curves(self):
        self.assertTrue(any(rep.get("progress") for r in self.doc["runs"]
                            for rep in r["repetitions"]))
        raw, page = self.check_html(self.doc, self.w("p.html"))
        kinds = svg_kinds(page)
        self.assertEqual(kinds, {"box", "bars", "curve", "memory", "latency"})
        # loss and accuracy, each against time and against step
        self.assertEqual(page.svgs.count("plot curve"), 2)
        self.assertEqual(page.svgs.count("plot curve steps"), 2)
        text = "".join(page.text)
        self.assertIn("Learning curves", text)
        self.assertIn("accuracy during training", text)

    def test_csv_metrics_union(self):
        header, _ = self.check_csv(self.doc, self.w("p.csv"))
        for m in ("x_sum", "accuracy", "loss"):
            self.assertIn(f"metric:{m}", header)

    def test_markdown(self):
        self.check_markdown(self.doc, self.w("p.md"))


class FailingRuns(Reports, unittest.TestCase):
    """Crashed, timed-out and failed repetitions are listed with their messages."""

    @classmethod
    def setUpClass(cls):
        cls.w = Workdir()
        cls.plugins = tempfile.mkdtemp(prefix="mlb-plugins-")
        for n in ("fault_segv", "fault_hang", "fault_fail", "fault_spin"):
            shutil.copy(os.path.join(TEST_PLUGINS, n + ".so"), cls.plugins)
        w = cls.w
        run(["--plugin-dir", cls.plugins, "--plugin", "fault", "--repetitions", "2",
             "--warmup", "0", "--timeout", "1", "--param", "fault:spin.ms=20", "--quiet",
             "--output", w("f.json"), "--html", w("f.html"), "--csv", w("f.csv"),
             "--markdown", w("f.md")], check=1)
        with open(w("f.json")) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.w.cleanup()
        shutil.rmtree(cls.plugins, ignore_errors=True)

    def test_failures_listed(self):
        raw, page = self.check_html(self.doc, self.w("f.html"), {"box"})
        text = "".join(page.text)
        self.assertIn("Failures", text)
        statuses = set()
        for r in self.doc["runs"]:
            for rep in r["repetitions"]:
                if rep["status"] != "ok":
                    statuses.add(rep["status"])
                    self.assertIn(rep["message"], text)
        self.assertEqual(statuses, {"crashed", "timeout", "failed"})
        self.assertIn("no successful repetition", text)

    def test_csv_and_markdown(self):
        _, body = self.check_csv(self.doc, self.w("f.csv"))
        self.assertEqual({r[4] for r in body}, {"ok", "crashed", "timeout", "failed"})
        md = self.check_markdown(self.doc, self.w("f.md"))
        self.assertIn("killed by signal SIGSEGV", md)
        # the rule's baseline (the first run: no naive here) even when it failed: its
        # row says so, and no other row claims a speed-up against nothing
        first = self.doc["runs"][0]["variant"]
        self.assertEqual(self.doc["groups"][0]["baseline"], 0)
        self.assertRegex(md, rf"\| {first} \| failed \|.*\| – \(baseline\) \|")
        self.assertRegex(md, r"\| spin \| ok \|.*\| – \|")


class Baselines(Reports, unittest.TestCase):
    """Every output takes speed-ups against the group's baseline: groups[].baseline
    where the document has it, else (older documents) naive, else the first run."""

    @classmethod
    def setUpClass(cls):
        cls.w = Workdir()
        cls.proc = run(["--plugin", "gemm", "--repetitions", "3", "--warmup", "0",
                        "--output", cls.w("b.json")] + SMALL, check=0)
        with open(cls.w("b.json")) as f:
            cls.doc = json.load(f)
        cls.idx = {r["variant"]: r["index"] for r in cls.doc["runs"]}

    @classmethod
    def tearDownClass(cls):
        cls.w.cleanup()

    def render(self, name, doc):
        w = self.w
        with open(w(name + ".json"), "w") as f:
            json.dump(doc, f)
        run(["report", w(name + ".json"), "--html", w(name + ".html"), "--csv",
             w(name + ".csv"), "--markdown", w(name + ".md")], check=0)
        self.check_html(doc, w(name + ".html"))
        _, body = self.check_csv(doc, w(name + ".csv"))
        md = self.check_markdown(doc, w(name + ".md"))
        with open(w(name + ".csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        return rows, md

    def test_run_names_its_baseline(self):
        g = self.doc["groups"][0]
        self.assertEqual(g["runs"], [0, 1, 2])
        self.assertEqual((g["baseline"], g["baseline_variant"], g["baseline_rule"]),
                         (self.idx["naive"], "naive", "naive"))
        # the terminal table of the run: the same cells as the reports
        self.assertIn("== gemm m=48 n=40 k=56, baseline naive ==", self.proc.stdout)
        rows = terminal_rows(self.proc.stdout)
        self.assertEqual(rows, {r["variant"]: speedup_cell(self.doc, r["index"])
                                for r in self.doc["runs"]})
        self.assertEqual(rows["naive"], "1.00× (baseline)")
        # `report` on the saved file, without a format, prints the same table
        self.assertEqual(run(["report", self.w("b.json")], check=0).stdout, self.proc.stdout)

    def test_groups_baseline_on_openblas(self):
        doc = json.loads(json.dumps(self.doc))
        ob = self.idx["openblas"]
        doc["groups"][0].update(baseline=ob, baseline_variant="openblas", baseline_rule="cli")
        rows, md = self.render("ob", doc)
        runs = doc["runs"]
        for row in rows:
            r = runs[int(row["run"])]
            want = median(runs[ob], "train") / median(r, "train")
            self.assertEqual(float(row["speedup"]), want, r["variant"])  # exact ratio of medians
            self.assertEqual(int(row["baseline_run"]), ob)
        self.assertEqual({float(row["speedup"]) for row in rows if row["variant"] == "openblas"},
                         {1.0})
        self.assertIn("### gemm m=48 n=40 k=56, baseline openblas\n", md)
        self.assertIn("the baseline, openblas (chosen on the command line)", md)
        self.assertRegex(md, r"\| openblas \| ok \|.*\| 1\.00× \(baseline\) \|")
        self.assertNotRegex(md, r"\| naive \| ok \|.*\(baseline\)")

    def test_old_document_falls_back_to_naive(self):
        # no groups[], and naive not first: the fallback is naive, not the first run
        doc = json.loads(json.dumps(self.doc))
        del doc["groups"]
        doc["runs"] = [doc["runs"][self.idx[v]] for v in ("blocked", "openblas", "naive")]
        for i, r in enumerate(doc["runs"]):
            r["index"] = i
        for c in doc["comparisons"]:
            c["run_a"], c["run_b"] = 0, 1  # still in the group; verdicts unchanged
        rows, md = self.render("old", doc)
        self.assertEqual({int(row["baseline_run"]) for row in rows}, {2})
        naive = doc["runs"][2]
        for row in rows:
            want = median(naive, "train") / median(doc["runs"][int(row["run"])], "train")
            self.assertEqual(float(row["speedup"]), want)
        self.assertIn("baseline naive\n", md)
        self.assertIn("(the naive variant)", md)
        self.assertRegex(md, r"\| naive \| ok \|.*\| 1\.00× \(baseline\) \|")

    def test_old_document_without_naive_falls_back_to_first(self):
        doc = json.loads(json.dumps(self.doc))
        del doc["groups"]
        doc["runs"] = [doc["runs"][self.idx[v]] for v in ("blocked", "openblas")]
        for i, r in enumerate(doc["runs"]):
            r["index"] = i
        doc["comparisons"] = [c for c in doc["comparisons"]
                              if {c["a"], c["b"]} == {"blocked", "openblas"}]
        for c in doc["comparisons"]:
            c["run_a"], c["run_b"] = 0, 1
        rows, md = self.render("first", doc)
        self.assertEqual({int(row["baseline_run"]) for row in rows}, {0})
        self.assertIn("(the group's first run)", md)

    def test_baseline_outside_its_group_is_not_honoured(self):
        doc = json.loads(json.dumps(self.doc))
        doc["groups"][0]["baseline"] = 17
        rows, _ = self.render("bad", doc)
        self.assertEqual({int(row["baseline_run"]) for row in rows}, {self.idx["naive"]})


PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
           "#D55E00", "#7F7F7F", "#F0E442", "#9467BD", "#8C564B"]


def scaling_rep_value(quantity, rep):
    """A repetition's value of a scaling quantity, as docs/methodology.md defines it."""
    if rep["status"] != "ok":
        return None
    train = rep["phases"].get("train") or {}
    if quantity == "train_s":
        return train.get("wall_s")
    if quantity == "infer_query_s":
        lat = sorted(v for v in rep.get("infer_latency_s") or [] if v is not None)
        if not lat:
            return None
        n = len(lat)
        return lat[n // 2] if n % 2 else (lat[n // 2 - 1] + lat[n // 2]) / 2
    if quantity == "train_rss_added_bytes":
        tl = rep.get("memory_timeline") or []
        if "rss_peak_bytes" not in train or not tl:
            return None
        return train["rss_peak_bytes"] - tl[0][1]
    return None


def b_cell(fit):
    """The b [95% CI] cell: the JSON's exponent and CI to two decimals."""
    lo, hi = fit["exponent_ci95"]
    return f"{fit['exponent']:.2f} [{lo:.2f}, {hi:.2f}]"


def scaling_slices(doc):
    """(task, param, fixed) -> quantity -> fits, in document order."""
    out = {}
    for f in doc["scaling"]:
        key = (f["task"], f["param"], json.dumps(f["fixed"], sort_keys=True))
        out.setdefault(key, {}).setdefault(f["quantity"], []).append(f)
    return out


class SweepRun(Reports, unittest.TestCase):
    """A sweep's scaling[] curves: a log-log plot per quantity in the HTML report,
    a table in the HTML and the Markdown, with the document's exponents."""

    @classmethod
    def setUpClass(cls):
        cls.w = Workdir()
        w = cls.w
        run(["--plugin", "gemm:naive,openblas", "--param", "m=n=k=32..256*2",
             "--repetitions", "3", "--warmup", "0", "--infer-queries", "1", "--quiet",
             "--output", w("s.json"), "--html", w("s.html"), "--markdown", w("s.md")], check=0)
        with open(w("s.json")) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.w.cleanup()

    def colour(self, fit):
        """mlb_svg_color of the variant's position in the fit's first group."""
        g = next(g for g in self.doc["groups"] if g["index"] == fit["groups"][0])
        names = [self.doc["runs"][r]["variant"] for r in g["runs"]]
        return PALETTE[names.index(fit["variant"]) % len(PALETTE)]

    def test_html_scaling_plots(self):
        doc = self.doc
        self.assertEqual(doc["sweep"]["params"], ["m=n=k"])
        quantities = {f["quantity"] for f in doc["scaling"]}
        self.assertIn("train_s", quantities)
        raw, page = self.check_html(doc, self.w("s.html"), {"box", "scaling"})
        # one plot per (task, param, slice, quantity): here one slice
        slices = scaling_slices(doc)
        self.assertEqual(len(slices), 1)
        self.assertEqual(page.svgs.count("plot scaling"), len(quantities))
        self.assertIn("<h2>Scaling</h2>", raw)
        self.assertIn("<h3>gemm against m=n=k</h3>", raw)
        # after every group
        self.assertGreater(raw.index('<section id="scaling">'), raw.rindex('<section id="run-'))
        figures = re.findall(r'<figure class="scaling" data-quantity="([^"]*)">(.*?)</figure>',
                             raw, re.S)
        by_quantity = next(iter(slices.values()))
        self.assertEqual([q for q, _ in figures], list(by_quantity))
        for q, fig in figures:
            fits = by_quantity[q]
            self.assertEqual(fig.count('<svg class="plot scaling"'), 1, q)
            svg = fig[fig.index("<svg"):fig.index("</svg>")]
            # a polyline per variant through its medians, in its group's colour
            lines = re.findall(r'<polyline class="median" fill="none" stroke="([^"]*)"[^>]*'
                               r'points="([^"]*)"><title>([^<]*): median of each size</title>',
                               svg)
            self.assertEqual([html.unescape(v) for _, _, v in lines],
                             [f["variant"] for f in fits], q)
            for (stroke, points, _), fit in zip(lines, fits):
                self.assertEqual(stroke, self.colour(fit))
                self.assertEqual(len(points.split()), len(fit["x"]))
            # the fitted curve dashed, one per variant
            self.assertEqual(len(re.findall(r'<path class="fit"[^>]*stroke-dasharray', svg)),
                             len(fits), q)
            # every successful repetition of each listed group, faint
            want = 0
            for fit in fits:
                for gi in fit["groups"]:
                    g = next(g for g in doc["groups"] if g["index"] == gi)
                    r = next(doc["runs"][i] for i in g["runs"]
                             if doc["runs"][i]["variant"] == fit["variant"])
                    for rep in r["repetitions"]:
                        v = scaling_rep_value(q, rep)
                        want += v is not None and v > 0
            self.assertGreater(want, 0)
            self.assertEqual(len(re.findall(r'fill-opacity="0\.3"><title>[^<]*, repetition \d+:',
                                            svg)), want, q)
            # the legend names each variant
            for fit in fits:
                self.assertIn(f'fill="#222">{html.escape(fit["variant"])}</text>', svg)
            # the table under it: variant, b [95% CI], class, RMS, as the JSON
            rows = re.findall(r'<tr><td><span class="swatch" style="background:([^"]*)"></span>'
                              r'([^<]*)</td><td class="n">([^<]*)</td><td>([^<]*)</td>'
                              r'<td class="n">([^<]*)</td></tr>', fig)
            self.assertEqual(len(rows), len(fits), q)
            for (col, variant, b, cls, rms), fit in zip(rows, fits):
                self.assertEqual(col, self.colour(fit))
                self.assertEqual(html.unescape(variant), fit["variant"])
                self.assertEqual(b, b_cell(fit))
                self.assertEqual(html.unescape(cls), fit["complexity"])
                self.assertEqual(rms, f"{100 * fit['complexity_rms']:.0f}%")

    def test_markdown_scaling_table(self):
        md = self.check_markdown(self.doc, self.w("s.md"))
        lines = md.splitlines()
        i = lines.index("### Scaling")
        head = lines.index("| task | parameter | variant | quantity | b [95% CI] | class | RMS |")
        self.assertGreater(head, i)
        self.assertRegex(lines[head + 1], r"^\|(-+:?\|)+$")
        rows = []
        for l in lines[head + 2:]:
            if not l.startswith("| "):
                break
            rows.append(l[2:-2].split(" | "))
        self.assertEqual(len(rows), len(self.doc["scaling"]))
        for row, fit in zip(rows, self.doc["scaling"]):
            self.assertEqual(row, [fit["task"], fit["param"], fit["variant"], fit["quantity"],
                                   b_cell(fit), fit["complexity"],
                                   f"{100 * fit['complexity_rms']:.0f}%"])

    def test_report_subcommand_reproduces_the_run_outputs(self):
        w = self.w
        run(["report", w("s.json"), "--html", w("t.html"), "--markdown", w("t.md")], check=0)
        for a, b in (("s.html", "t.html"), ("s.md", "t.md")):
            with open(w(a), "rb") as f1, open(w(b), "rb") as f2:
                self.assertEqual(f1.read(), f2.read(), a)

    def render(self, name, doc):
        w = self.w
        with open(w(name + ".json"), "w") as f:
            json.dump(doc, f)
        run(["report", w(name + ".json"), "--html", w(name + ".html"), "--markdown",
             w(name + ".md")], check=0)
        raw, page = parse_page(w(name + ".html"))
        self.assertEqual(page.errors, [])
        self.assertEqual(page.stack, [])
        with open(w(name + ".md")) as f:
            return raw, page, f.read()

    def test_without_scaling_no_section(self):
        for name, edit in (("noscaling", lambda d: d.pop("scaling")),
                           ("emptyscaling", lambda d: d.update(scaling=[]))):
            doc = json.loads(json.dumps(self.doc))
            edit(doc)
            raw, page, md = self.render(name, doc)
            self.assertNotIn("Scaling", raw, name)
            self.assertNotIn("plot scaling", page.svgs, name)
            self.assertNotIn("Scaling", md, name)
            self.assertIn("plot box", page.svgs, name)  # the groups still render

    def test_scaling_text_is_escaped(self):
        doc = json.loads(json.dumps(self.doc))
        evil = '<script>alert("x")</script> | "q"'
        for f in doc["scaling"]:
            f["param"] = evil
            f["fixed"] = {evil: evil}
        doc["scaling"][0]["variant"] = evil
        doc["scaling"][0]["complexity"] = evil
        raw, page, md = self.render("evil", doc)
        self.assertNotIn("<script", raw)
        self.assertIn(f"gemm against {evil} at {evil}={evil}", "".join(page.text))
        self.assertIsNone(re.search(r"(?<!\\)<script", md))
        row = [l for l in md.splitlines() if l.startswith("| gemm | ")][0]
        self.assertEqual(row.replace("\\|", "").count(" | "), 6)  # seven cells still
        # null numbers show as "–", and the plot still draws what it can
        doc = json.loads(json.dumps(self.doc))
        for k in ("exponent", "complexity_rms", "coefficient"):
            doc["scaling"][0][k] = None
        doc["scaling"][0]["exponent_ci95"] = []
        raw, page, md = self.render("nulls", doc)
        self.assertIn('<td class="n">–</td><td>', raw)
        self.assertEqual(page.svgs.count("plot scaling"),
                         len({f["quantity"] for f in doc["scaling"]}))


class BadInputs(unittest.TestCase):
    def setUp(self):
        self.w = Workdir()

    def tearDown(self):
        self.w.cleanup()

    def outputs(self):
        return ["--html", self.w("o.html"), "--csv", self.w("o.csv"), "--markdown", self.w("o.md")]

    def assert_nothing_written(self, keep=()):
        self.assertEqual(sorted(set(os.listdir(self.w.path)) - set(keep)), [])

    def write(self, name, text):
        with open(self.w(name), "w") as f:
            f.write(text)
        return self.w(name)

    def test_missing_file(self):
        p = run(["report", self.w("nope.json")] + self.outputs(), check=2)
        self.assertIn(self.w("nope.json"), p.stderr)
        self.assertIn("No such file", p.stderr)
        self.assert_nothing_written()

    def test_invalid_json_names_the_line(self):
        path = self.write("bad.json",
                          '{\n  "schema": "mlbench.result/1",\n  "runs": [\n    oops\n  ]\n}\n')
        p = run(["report", path] + self.outputs(), check=2)
        self.assertIn(f"{path}:4:", p.stderr)
        self.assertIn("not valid JSON", p.stderr)
        self.assert_nothing_written(["bad.json"])

    def test_wrong_or_missing_schema(self):
        for name, doc, field in (("other.json", {"schema": "something/1", "runs": []}, "schema"),
                                 ("none.json", {"runs": []}, "schema"),
                                 ("v2.json", {"schema": "mlbench.result/2", "runs": []}, "schema"),
                                 ("noruns.json", {"schema": "mlbench.result/1"}, "runs"),
                                 ("array.json", [1, 2], "not an mlbench result")):
            path = self.write(name, json.dumps(doc))
            p = run(["report", path] + self.outputs(), check=2)
            self.assertIn(path, p.stderr)
            self.assertIn(field, p.stderr)
        self.assert_nothing_written(["other.json", "none.json", "v2.json", "noruns.json",
                                     "array.json"])

    def test_unwritable_output_writes_nothing(self):
        good = self.write("ok.json", json.dumps({"schema": "mlbench.result/1", "runs": [],
                                                 "comparisons": [], "environment": {}}))
        missing_dir = self.w("no/such/dir/o.csv")
        p = run(["report", good, "--html", self.w("o.html"), "--csv", missing_dir,
                 "--markdown", self.w("o.md")], check=2)
        self.assertIn(missing_dir, p.stderr)
        self.assertIn("--csv", p.stderr)
        os.mkdir(self.w("adir"))
        p = run(["report", good, "--html", self.w("adir")], check=2)
        self.assertIn("is a directory", p.stderr)
        self.assert_nothing_written(["ok.json", "adir"])
        self.assertEqual(os.listdir(self.w("adir")), [])
        # an empty but valid document still renders
        run(["report", good, "--html", self.w("o.html")], check=0)
        _, page = parse_page(self.w("o.html"))
        self.assertEqual(page.errors, [])

    def test_usage_errors(self):
        good = self.write("ok.json", json.dumps({"schema": "mlbench.result/1", "runs": []}))
        for args, text in ((["report"], "no results file"),
                           (["report", good, "--html"], "--html needs a file name"),
                           (["report", good, "--pdf", "x"], "unknown option '--pdf'"),
                           (["report", good, good, "--html", self.w("x.html")],
                            "unexpected argument"),
                           (["report", good, "--csv", self.w("a"), "--csv", self.w("b")], "twice")):
            p = run(args, check=2)
            self.assertIn(text, p.stderr, args)
        self.assert_nothing_written(["ok.json"])
        # No format asked for: the terminal table of the saved run.
        self.assertEqual(run(["report", good], check=0).stderr, "")
        p = run(["report", "--help"], check=0)
        self.assertIn("--markdown", p.stdout)

    def test_run_fails_before_measuring_on_unwritable_report(self):
        p = run(["--plugin", "gemm:naive", "--repetitions", "1", "--warmup", "0",
                 "--markdown", self.w("missing/dir/r.md")] + SMALL, check=2)
        self.assertIn("--markdown", p.stderr)
        self.assertIn("missing/dir", p.stderr)
        self.assertNotIn("==", p.stdout)  # no table: nothing was measured
        p = run(["--help"], check=0)
        for opt in ("--html", "--csv", "--markdown", "report RESULTS.json"):
            self.assertIn(opt, p.stdout)


if __name__ == "__main__":
    main()
