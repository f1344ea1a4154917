"""The HTML report in a real browser: a small real run (a gemm naive/openblas
sweep and a tiny LeNet-5 with learning curves) rendered by Debian's headless
Chromium. Fails on any console message of the page or a missing section;
keeps screenshots at 1400 px and at phone width, and a print to PDF, in the
test log directory (MLB_BUILD_ROOT/meson-logs/report-browser/). Skips, saying
why, where Chromium is not installed (tools/setup.sh installs it)."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import unittest

from common import BUILD_ROOT, main, run

SUITE = """\
suite: browser
repetitions: 3
warmup: 0
infer_queries: 20
benchmarks:
  - task: gemm
    variants: [naive, openblas]
    params: {m=n=k: [32, 64, 128], threads: 1}
  - task: cnn
    variants: [naive, openblas]
    params: {model: lenet5, dataset: synthetic, train_samples: 64, test_samples: 32,
             epochs: 3, batch_size: 32, threads: 1}
"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]

LOG_DIR = os.path.join(BUILD_ROOT, "meson-logs", "report-browser")


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


class BrowserReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.browser = chromium()
        if not cls.browser:
            print("test_report_browser: skipped: no chromium on PATH "
                  "(tools/setup.sh installs the chromium package)")
            raise unittest.SkipTest("chromium is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="mlb-browser-")
        suite = os.path.join(cls.tmp, "browser.yaml")
        with open(suite, "w") as f:
            f.write(SUITE)
        cls.html = os.path.join(cls.tmp, "report.html")
        run(["--config", suite, "--quiet", "--output", os.path.join(cls.tmp, "r.json"),
             "--html", cls.html], check=0, timeout=300)
        os.makedirs(LOG_DIR, exist_ok=True)
        shutil.copy(cls.html, os.path.join(LOG_DIR, "report.html"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def chrome(self, *args):
        """One headless Chromium run on the report with a fresh profile:
        (stdout, the page's console lines)."""
        profile = tempfile.mkdtemp(prefix="mlb-chromium-")
        try:
            p = subprocess.run([self.browser] + FLAGS + [f"--user-data-dir={profile}"]
                               + list(args) + ["file://" + self.html],
                               capture_output=True, text=True, timeout=120)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        # Chromium logs each message of the page as "...:CONSOLE(line)] "text", source: URL";
        # a failed load (a URL the page should not name) is one too.
        console = [l for l in p.stderr.splitlines()
                   if re.search(r":CONSOLE\(\d+\)\]", l) or "net::ERR_" in l]
        return p.stdout, console

    def test_dom_has_every_section_and_no_console_message(self):
        dom, console = self.chrome("--dump-dom")
        self.assertEqual(console, [], "console messages of the page")
        with open(os.path.join(LOG_DIR, "report.dom.html"), "w", encoding="utf-8") as f:
            f.write(dom)
        self.assertNotIn("<script", dom)
        # the answer first: the summary and recommendations before any group
        self.assertIn('<section id="summary">', dom)
        first_group = dom.index('class="group"')
        self.assertLess(dom.index('<section id="summary">'), first_group)
        self.assertLess(dom.index("Recommendation"), first_group)
        reco = re.findall(r'<b class="task">(\w+)</b>: use (\w+) on this machine', dom)
        self.assertEqual({t for t, _ in reco}, {"gemm", "cnn"})
        self.assertEqual(len(re.findall(r'<section id="run-\d+" class="group">', dom)), 4)
        # every group names its parameters in its heading
        sizes = re.findall(r"<h2>gemm m=(\d+) n=\d+ k=\d+, baseline naive</h2>", dom)
        self.assertEqual(sizes, ["32", "64", "128"])
        self.assertRegex(dom, r"<h2>cnn [^<]*epochs=3[^<]*, baseline naive</h2>")
        # per group: the matrix, the plots, folded comparisons
        self.assertEqual(dom.count('<table class="matrix">'), 4)
        kinds = re.findall(r'<svg class="plot ([a-z ]+)"', dom)
        for k in ("box", "bars", "bars gflops", "latency", "curve", "curve steps", "memory",
                  "scaling"):
            self.assertIn(k, kinds, k)
        self.assertEqual(kinds.count("curve steps"), kinds.count("curve"))
        self.assertGreater(kinds.count("curve"), 0)
        self.assertEqual(dom.count('<details class="comparisons">'), 4)
        self.assertNotRegex(dom, r'<details class="comparisons" open')
        self.assertIn('<section id="scaling">', dom)
        self.assertIn("GFLOP/s alone", dom)  # no peak in the document: none invented
        self.assertIn("phase boundaries", dom)
        self.assertIn("where each phase begins", dom)

    def test_screenshots_and_print(self):
        wide = os.path.join(LOG_DIR, "report-1400.png")
        phone = os.path.join(LOG_DIR, "report-390.png")
        pdf = os.path.join(LOG_DIR, "report.pdf")
        for path, size in ((wide, "1400,3000"), (phone, "390,2400")):
            if os.path.exists(path):
                os.remove(path)
            _, console = self.chrome(f"--screenshot={path}", f"--window-size={size}")
            self.assertEqual(console, [])
            w, h = png_size(path)
            self.assertEqual((w, h), tuple(int(v) for v in size.split(",")))
            self.assertGreater(os.path.getsize(path), 20000)  # a page, not a blank
        _, console = self.chrome(f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
        self.assertEqual(console, [])
        with open(pdf, "rb") as f:
            self.assertEqual(f.read(5), b"%PDF-")
        print(f"test_report_browser: screenshots and PDF in {LOG_DIR}")


if __name__ == "__main__":
    main()
