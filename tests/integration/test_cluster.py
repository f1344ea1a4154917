"""plan, run-job and merge: a suite as independent jobs, one comparison group
each, merged into the document a local run of the same suite writes (apart
from timings and hosts); and every way a set of parts can be wrong."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from common import ENGINE, ENV, SOURCE_ROOT, main, run

QUICK = os.path.join(SOURCE_ROOT, "config", "quick.yaml")


def load(path):
    with open(path) as f:
        return json.load(f)


def quality(doc):
    """Per run: task, variant, parameters, status, repetitions and every
    metric that is not a time, as the local and merged documents must agree."""
    out = []
    for r in doc["runs"]:
        reps = []
        for rep in r["repetitions"]:
            reps.append({k: v["value"] for k, v in rep.get("metrics", {}).items()
                         if not k.endswith("_s")})
        out.append((r["task"], r["variant"], json.dumps(r["params"], sort_keys=True),
                    r["status"], len(r["repetitions"]), json.dumps(reps, sort_keys=True)))
    return out


class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp(prefix="mlb-cluster-")
        cls.manifest = os.path.join(cls.d, "m.jsonl")
        run(["plan", QUICK, "-o", cls.manifest], check=0)
        with open(cls.manifest) as f:
            cls.lines = [json.loads(l) for l in f]
        cls.parts = []
        for l in cls.lines:
            out = os.path.join(cls.d, f"p{l['index']}.json")
            run(["run-job", cls.manifest, "--index", str(l["index"]), "--output", out,
                 "--quiet"], check=0)
            cls.parts.append(out)
        cls.merged = os.path.join(cls.d, "merged.json")
        run(["merge"] + cls.parts + ["-o", cls.merged, "--quiet"], check=0)
        cls.local = os.path.join(cls.d, "local.json")
        run(["--config", QUICK, "--output", cls.local, "--quiet"], check=0)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d, ignore_errors=True)

    def test_manifest_lines(self):
        local = load(self.local)
        self.assertEqual(len(self.lines), len(local["groups"]))  # one job per group
        covered = []
        for i, l in enumerate(self.lines):
            self.assertEqual(l["schema"], "mlbench.manifest/1")
            self.assertEqual(l["index"], i)
            self.assertEqual(l["jobs"], len(self.lines))
            self.assertEqual(l["n_runs"], len(local["runs"]))
            self.assertEqual(l["args"], ["--config", os.path.realpath(QUICK)])
            self.assertEqual(l["manifest_id"], self.lines[0]["manifest_id"])
            g = local["groups"][l["group"]]
            self.assertEqual(l["runs"], g["runs"])
            self.assertEqual(l["variants"], [local["runs"][r]["variant"] for r in l["runs"]])
            covered += l["runs"]
        self.assertEqual(covered, list(range(len(local["runs"]))))

    def test_part_is_one_group(self):
        p = load(self.parts[2])
        self.assertEqual(p["job"]["index"], 2)
        self.assertEqual(len(p["groups"]), 1)
        self.assertEqual([r["variant"] for r in p["runs"]], self.lines[2]["variants"])

    def test_merged_equals_local(self):
        m, l = load(self.merged), load(self.local)
        self.assertEqual(quality(m), quality(l))
        strip = lambda gs: [{k: v for k, v in g.items()} for g in gs]
        self.assertEqual(strip(m["groups"]), strip(l["groups"]))
        key = lambda d: sorted((c["run_a"], c["run_b"], c["quantity"]) for c in d["comparisons"])
        self.assertEqual(key(m), key(l))
        for r in m["runs"]:
            self.assertEqual(r["host"], m["environment"]["hostname"])
        self.assertFalse([c for c in m["comparisons"] if c.get("cross_host")])
        self.assertEqual([e["index"] for e in m["environment"]["merged_from"]],
                         list(range(len(self.lines))))
        # Statistics recomputed over the merged repetitions.
        for r in m["runs"]:
            self.assertEqual(r["summary"]["repetitions_ok"], len(r["repetitions"]))
            self.assertEqual(r["summary"]["phases"]["train"]["wall_s"]["n"], len(r["repetitions"]))

    def test_resume_of_a_merged_document(self):
        out = os.path.join(self.d, "resumed.json")
        p = run(["--config", QUICK, "--resume", self.merged, "--output", out, "--quiet"],
                check=0)
        self.assertEqual(quality(load(out)), quality(load(self.merged)))
        self.assertEqual(p.returncode, 0)

    def test_missing_duplicate_and_foreign_parts(self):
        out = os.path.join(self.d, "bad.json")
        p = run(["merge"] + self.parts[:1] + self.parts[2:4] + ["-o", out])
        self.assertEqual(p.returncode, 2)
        self.assertIn("2 of 5 jobs missing: indexes 1, 4", p.stderr)
        p = run(["merge"] + self.parts + [self.parts[3], "-o", out])
        self.assertEqual(p.returncode, 2)
        self.assertIn("job 3 is there twice", p.stderr)
        # A part of another plan (other parameters: another manifest id).
        m2 = os.path.join(self.d, "m2.jsonl")
        run(["plan", QUICK, "--repetitions", "3", "-o", m2], check=0)
        other = os.path.join(self.d, "other.json")
        run(["run-job", m2, "--index", "1", "--output", other, "--quiet"], check=0)
        p = run(["merge"] + [self.parts[0], other] + self.parts[2:] + ["-o", out])
        self.assertEqual(p.returncode, 2)
        self.assertIn("comes from another manifest", p.stderr)
        # An ordinary results file is no part.
        p = run(["merge", self.local, "-o", out])
        self.assertEqual(p.returncode, 2)
        self.assertIn("not written by run-job", p.stderr)
        self.assertFalse(os.path.exists(out))

    def test_changed_suite_and_bad_index(self):
        suite = os.path.join(self.d, "s.yaml")
        shutil.copy(QUICK, suite)
        m = os.path.join(self.d, "ms.jsonl")
        run(["plan", suite, "-o", m], check=0)
        with open(suite, "a") as f:
            f.write("# edited\n")
        p = run(["run-job", m, "--index", "0", "--output", os.path.join(self.d, "x.json")])
        self.assertEqual(p.returncode, 2)
        self.assertIn("the suite changed since the manifest was written", p.stderr)
        p = run(["run-job", self.manifest, "--index", "9", "--output",
                 os.path.join(self.d, "x.json")])
        self.assertEqual(p.returncode, 2)
        self.assertIn("has no line for index 9", p.stderr)
        env = dict(ENV, SLURM_ARRAY_TASK_ID="x")
        p = subprocess.run([ENGINE, "run-job", self.manifest, "--output", "x.json"],
                           capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn("must be a non-negative integer, got x", p.stderr)
        bad = os.path.join(self.d, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"schema": "mlbench.manifest/1", "index": 0}\n')
        p = run(["run-job", bad, "--index", "0", "--output", os.path.join(self.d, "x.json")])
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.jsonl:1: index, jobs or n_runs missing", p.stderr)

    def test_jobs_per_group_flags_other_hosts(self):
        # Two jobs for a group of three variants: its comparisons span jobs.
        # Pretend job 1 ran elsewhere: those comparisons are flagged.
        d = tempfile.mkdtemp(prefix="mlb-cluster-jpg-", dir=self.d)
        m = os.path.join(d, "m.jsonl")
        run(["plan", "--plugin", "gemm", "--param", "m=n=k=32", "--repetitions", "3",
             "--warmup", "0", "--infer-queries", "2", "--jobs-per-group", "2", "-o", m], check=0)
        with open(m) as f:
            lines = [json.loads(l) for l in f]
        self.assertEqual([l["runs"] for l in lines], [[0], [1, 2]])
        parts = []
        for l in lines:
            out = os.path.join(d, f"{l['index']}.json")
            run(["run-job", m, "--index", str(l["index"]), "--output", out, "--quiet"], check=0)
            parts.append(out)
        doc = load(parts[1])
        doc["environment"]["hostname"] = "node-b"
        with open(parts[1], "w") as f:
            json.dump(doc, f)
        out = os.path.join(d, "merged.json")
        p = run(["merge"] + parts + ["-o", out], check=0)
        merged = load(out)
        self.assertEqual([r["host"] for r in merged["runs"]][1:], ["node-b", "node-b"])
        flagged = [c for c in merged["comparisons"] if c.get("cross_host")]
        self.assertTrue(flagged)
        for c in merged["comparisons"]:
            crosses = (c["run_a"] == 0) != (c["run_b"] == 0)
            self.assertEqual(bool(c.get("cross_host")), crosses, c)
            if crosses:
                self.assertIn("measured on different hosts", c["verdict"])
        self.assertIn("node-b", merged["environment"]["hosts"])
        self.assertIn("measured on different hosts", p.stdout)
        self.assertIn("between runs measured on different hosts", p.stdout)


if __name__ == "__main__":
    main()
