"""`mlbench-engine data FILE`: what the engine reads from a user's file (CSV,
LIBSVM, IDX and .npy pairs), and every broken kind rejected with its place.
Python standard library only: the .npy and IDX files are committed or
written byte by byte here."""
import gzip
import json
import os
import shutil
import struct
import tempfile
import unittest

from common import ENGINE, SOURCE_ROOT, main, run

DATASETS = os.path.join(SOURCE_ROOT, "tests", "data", "datasets")


def data(*args):
    return run(["data"] + list(args))


def _wired():
    """The subcommand is wired into main.c's table (until then the engine
    takes `data` for something else): the reason to skip, or None."""
    p = data("--help")
    if p.returncode == 0 and "Usage: mlbench-engine data" in p.stdout:
        return None
    return ("`mlbench-engine data` is not wired into core/main.c yet (exit %d: %s)"
            % (p.returncode, (p.stderr or p.stdout).strip().splitlines()[:1]))


SKIP = _wired()
if SKIP:
    print("skipping test_data_cli:", SKIP)


def npy_bytes(descr, shape, payload, fortran=False):
    """A version 1.0 .npy file as np.save writes it."""
    shape_txt = "(%s)" % (", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_txt)
    total = 10 + len(d) + 1
    d += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + payload


@unittest.skipIf(SKIP, SKIP or "")
class DataCommand(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mlb-data-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name, content):
        p = os.path.join(self.tmp, name)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return p

    def loads(self, *args):
        p = data(*args)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def fails(self, *args, where, what):
        p = data(*args)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(where, p.stderr)
        self.assertIn(what, p.stderr)
        return p

    def test_csv_string_classes(self):
        csv = os.path.join(DATASETS, "species.csv")
        out = self.loads(csv, "--classify")
        self.assertIn("rows       9", out)
        self.assertIn("column 5 'species', 3 classes: setosa (3), versicolor (3), virginica (3)",
                      out)
        doc = json.loads(self.loads(csv, "--classify", "--json"))
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["format"], "csv")
        self.assertEqual(doc["rows"], 9)
        self.assertEqual(doc["features"], 4)
        self.assertTrue(doc["header"])
        self.assertEqual(doc["target"], {"column": 5, "name": "species", "kind": "classification"})
        self.assertEqual(doc["classes"]["names"], ["setosa", "versicolor", "virginica"])
        self.assertEqual(doc["feature_names"][0], "sepal_length")
        # Without --classify the strings are no regression target.
        self.fails(csv, where="species.csv:2:17:", what="class labels need classification")

    def test_csv_options_and_gzip(self):
        p = self.path("s.csv.gz", b"")
        with gzip.open(p, "wt") as f:
            f.write("id;label;x\n1;b;0.5\n2;a;1.5\n3;b;2.5\n")
        doc = json.loads(self.loads(p, "--target", "label", "--classify", "--json"))
        self.assertTrue(doc["gzip"])
        self.assertEqual(doc["delimiter"], ";")
        self.assertEqual(doc["target"]["column"], 2)
        self.assertEqual(doc["classes"]["names"], ["a", "b"])
        self.assertEqual(doc["classes"]["rows"], [1, 2])
        # Another target makes the labels a feature: refused, where they are.
        self.fails(p, "--target", "1", where="s.csv.gz:2:3:",
                   what="'b' is not a finite decimal number (column 2)")
        doc = json.loads(self.loads(p, "--target", "2", "--delimiter", "semicolon", "--header",
                                    "true", "--format", "csv", "--classify", "--json"))
        self.assertEqual(doc["target"]["name"], "label")
        self.assertEqual(doc["feature_names"], ["id", "x"])
        self.fails(p, "--header", "false", where="s.csv.gz:1:1:", what="'id'")
        self.fails(p, "--target", "colour", where="s.csv.gz:1:", what="no column named 'colour'")
        p2 = self.path("blank.txt", "1 2 3\n4 5 6\n")
        doc = json.loads(self.loads(p2, "--json"))
        self.assertEqual(doc["delimiter"], " ")
        self.assertFalse(doc["header"])

    def test_csv_broken_lists_every_problem(self):
        p = self.path("bad.csv", "a,b,t\n1,2,3\n1,,3\n1,x,3\nNA,2,3\n1,2\n")
        r = self.fails(p, where="bad.csv:3:3:", what="empty cell")
        self.assertIn("4 bad rows: 2 missing values, 1 non-numeric cell", r.stdout)
        for place in ("bad.csv:3:3:", "bad.csv:4:3: 'x'", "bad.csv:5:1: missing value 'NA'",
                      "bad.csv:6: 2 columns, expected 3"):
            self.assertIn(place, r.stdout)
        doc = json.loads(data(p, "--json").stdout)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["problems_total"], 4)
        self.assertEqual(doc["missing_cells"], 2)
        self.assertIn("bad.csv:3:3:", doc["error"])
        self.fails(self.path("q.csv", '1,"2\n'), where="q.csv:1:3:", what="unterminated quoted")

    def test_libsvm(self):
        svm = os.path.join(DATASETS, "small.svm")
        doc = json.loads(self.loads(svm, "--classify", "--json"))
        self.assertEqual(doc["format"], "libsvm")
        self.assertEqual((doc["rows"], doc["features"]), (6, 4))
        self.assertEqual(doc["classes"]["names"], ["-1", "+1"])
        # A .txt name: the contents say LIBSVM; --format says it as well.
        txt = self.path("x.txt", "1 1:0.5\n0 2:1\n")
        self.assertEqual(json.loads(self.loads(txt, "--json"))["format"], "libsvm")
        self.assertEqual(json.loads(self.loads(txt, "--format", "libsvm", "--json"))["rows"], 2)
        bad = self.path("bad.svm", "1 1:0.5\n1 3:1 2:1\n1 0:4\n")
        r = self.fails(bad, where="bad.svm:2:7:", what="indices must increase")
        self.assertIn("bad.svm:3:3: feature index 0", r.stdout)

    def test_npy_pair(self):
        pair = os.path.join(DATASETS, "X.npy") + "," + os.path.join(DATASETS, "y.npy")
        doc = json.loads(self.loads(pair, "--classify", "--json"))
        self.assertEqual(doc["format"], "npy")
        self.assertEqual((doc["rows"], doc["features"]), (6, 3))
        self.assertEqual(doc["classes"]["names"], ["0", "1", "2"])
        # float32 images (n, h, w) and int64 targets, written here.
        x = self.path("x.npy", npy_bytes("<f4", (2, 2, 2), struct.pack("<8f", *range(8))))
        y = self.path("y.npy", npy_bytes("<i8", (2,), struct.pack("<2q", 5, -1)))
        doc = json.loads(self.loads(x + "," + y, "--json"))
        self.assertEqual(doc["image"], {"channels": 1, "height": 2, "width": 2})
        self.assertEqual(doc["target"]["kind"], "regression")

    def test_npy_broken(self):
        y = self.path("y.npy", npy_bytes("<f8", (2,), struct.pack("<2d", 0, 1)))
        f = self.path("f.npy", npy_bytes("<f8", (2, 3), bytes(48), fortran=True))
        self.fails(f + "," + y, where="f.npy: byte 44", what="fortran_order is True")
        t = self.path("t.npy", npy_bytes("<f8", (2, 3), bytes(40)))
        self.fails(t + "," + y, where="t.npy: truncated at byte 168", what="(2, 3)")
        u = self.path("u.npy", npy_bytes("<U3", (2, 3), bytes(72)))
        self.fails(u + "," + y, where="u.npy: byte 20", what="unicode strings")
        n = self.path("n.npy", npy_bytes("<f8", (2, 3), struct.pack("<6d", 1, 2, 3, 4, float("nan"), 6)))
        self.fails(n + "," + y, where="n.npy: byte 160", what="is NaN")
        y3 = self.path("y3.npy", npy_bytes("<f8", (3,), bytes(24)))
        ok = os.path.join(DATASETS, "X.npy")
        self.fails(ok + "," + y3, where="y3.npy", what="3 targets for the 6 rows")
        self.fails(ok, where="X.npy", what="pair of files")

    def test_idx_pair(self):
        pair = os.path.join(DATASETS, "images.idx") + "," + os.path.join(DATASETS, "labels.idx")
        doc = json.loads(self.loads(pair, "--json"))
        self.assertEqual(doc["format"], "idx")
        self.assertEqual(doc["image"], {"channels": 1, "height": 2, "width": 3})
        self.assertEqual(doc["classes"]["count"], 4)
        with open(os.path.join(DATASETS, "images.idx"), "rb") as f:
            img = f.read()
        cut = self.path("cut.idx", img[:30])
        self.fails(cut + "," + os.path.join(DATASETS, "labels.idx"),
                   where="cut.idx: truncated at byte 30", what="needs 10 more bytes")
        bad = self.path("bad.idx", b"\x00\x00\x0d\x03" + img[4:])
        self.fails(bad + "," + os.path.join(DATASETS, "labels.idx"),
                   where="bad.idx: byte 2", what="float")

    def test_unreadable(self):
        self.fails(os.path.join(self.tmp, "missing.csv"), where="unknown dataset", what="missing.csv")
        blob = self.path("blob.bin", b"\x01\x02\x00\x03")
        self.fails(blob, where="blob.bin: byte 0", what="not a data file we recognise")
        self.assertEqual(data().returncode, 2)
        self.assertEqual(data("x", "--bogus").returncode, 2)


if __name__ == "__main__":
    main()
