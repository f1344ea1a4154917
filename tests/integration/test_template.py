"""The template task end to end: both variants run and agree, the dot
product they report matches one computed here from the seed (splitmix64
written out in Python), the work counts are right, and a value outside a
rule is refused before anything runs."""
import math
import unittest

from common import main, run, run_by_variant, run_json

MASK = (1 << 64) - 1


def splitmix64(state):
    """(next state, output) of the generator mlb_rand_u64 documents."""
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def seeded_vectors(seed, n):
    """x then y, as template.h says setup fills them."""
    out, state = [], seed
    for _ in range(2 * n):
        state, u = splitmix64(state)
        out.append((u >> 11) * 2.0 ** -52 - 1.0)
    return out[:n], out[n:]


N, REPEATS, SEED = 5000, 4, 1234


class TemplateRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, doc = run_json(["--plugin", "template", "--param", f"n={N}", "--param",
                           f"repeats={REPEATS}", "--seed", str(SEED), "--repetitions", "2",
                           "--warmup", "0", "--infer-queries", "3"])
        cls.runs = run_by_variant(doc)

    def test_listed_as_an_example(self):
        p = run(["--list"], check=0)
        for v in ("naive", "openblas"):
            self.assertRegex(p.stdout, rf"template\s+{v}\s+yes\s+example:")

    def test_dot_matches_an_independent_computation(self):
        x, y = seeded_vectors(SEED, N)
        exact = math.fsum(a * b for a, b in zip(x, y))
        scale = math.fsum(abs(a * b) for a, b in zip(x, y))
        self.assertEqual(set(self.runs), {"naive", "openblas"})
        for v, r in self.runs.items():
            self.assertEqual(r["status"], "ok", v)
            for rep in r["repetitions"]:
                m = rep["metrics"]
                self.assertLessEqual(abs(m["dot"]["value"] - exact), N * 2.0 ** -52 * scale, v)
                self.assertLessEqual(m["rel_err"]["value"], N * 2.0 ** -52, v)

    def test_work_counts(self):
        for v, r in self.runs.items():
            phases = r["repetitions"][0]["phases"]
            self.assertEqual(phases["train"]["flops"], 2 * N * REPEATS, v)
            self.assertEqual(phases["train"]["items"], REPEATS, v)
            self.assertEqual(phases["infer"]["flops"], 2 * N * 3, v)

    def test_ones_give_n_exactly(self):
        _, doc = run_json(["--plugin", "template:naive", "--param", "data=ones", "--param",
                           "n=777", "--repetitions", "1", "--warmup", "0"])
        rep = doc["runs"][0]["repetitions"][0]
        self.assertEqual(rep["metrics"]["dot"]["value"], 777.0)


class TemplateRules(unittest.TestCase):
    def test_out_of_range_is_refused_before_running(self):
        for param, needle in (("n=0", "n"), ("data=gaussian", "gaussian"),
                              ("repeats=-1", "repeats"), ("threads=5000", "threads")):
            p = run(["--plugin", "template", "--param", param, "--repetitions", "1",
                     "--warmup", "0"], check=2)
            self.assertIn(needle, p.stderr, param)
            self.assertIn("template", p.stderr, param)


if __name__ == "__main__":
    main()
