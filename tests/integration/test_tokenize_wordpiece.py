"""mlbench-tokenize --wordpiece: BERT's WordPiece ids of a file, one per
line, equal to the independent reference's (tests/ref/bert_wordpiece)."""
import os
import subprocess
import tempfile
import unittest

from common import BUILD_ROOT, SOURCE_ROOT, main

TOOL = os.path.join(BUILD_ROOT, "plugins", "gpt2", "mlbench-tokenize")
REF = os.path.join(SOURCE_ROOT, "tests", "ref", "bert_wordpiece")


class WordpieceCli(unittest.TestCase):
    def test_sample_against_reference(self):
        p = subprocess.run([TOOL, "--wordpiece", "--encode", os.path.join(REF, "sample.txt")],
                           capture_output=True, text=True, check=True)
        with open(os.path.join(REF, "ids.txt")) as f:
            self.assertEqual(p.stdout, f.read())

    def test_known_sentence_and_errors(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("I like strawberries")
        try:
            p = subprocess.run([TOOL, "--wordpiece", "--encode", f.name], capture_output=True,
                               text=True, check=True)
            self.assertEqual(p.stdout.split(), ["1045", "2066", "13137", "20968"])
            p = subprocess.run([TOOL, "--wordpiece", "--encode", f.name, "--vocab",
                                "/nonexistent/vocab.txt"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("/nonexistent/vocab.txt", p.stderr)
            p = subprocess.run([TOOL, "--wordpiece", "--decode", f.name], capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 2)
            self.assertIn("--wordpiece --encode FILE", p.stderr)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    main()
