"""One DQN gradient step and one REINFORCE update (plugins/common/rl/rl_agent.c,
through rl-parity) against PyTorch: the loss, the advantages, every
gradient and the weights after Adam must match the committed PyTorch
float32 references (tests/ref/rl/parity/, written by
tools/parity/rl_torch.py --write) within 1e-5 relative (norm-wise per
tensor), for both kernel tables. The inputs' checksums tie the references
to the exact batch and weights rl-parity generates. Standard library only."""
import hashlib
import json
import math
import os
import struct
import subprocess
import tempfile
import unittest
import zlib

from common import BUILD_ROOT, SOURCE_ROOT, main

DRIVER = os.path.join(BUILD_ROOT, "plugins", "common", "rl", "rl-parity")
REF = os.path.join(SOURCE_ROOT, "tests", "ref", "rl", "parity")
BOUND = 1e-5


def read_weights(path):
    """docs/weights-format.md: {name: [values]} (float32 files)."""
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:8] == b"MLBNNWT\0", path
    version, elem, count, _ = struct.unpack_from("<4I", buf, 8)
    assert version == 1 and elem == 4, (version, elem)
    assert zlib.crc32(buf[:-4]) == struct.unpack_from("<I", buf, len(buf) - 4)[0]
    pos, out = 24, {}
    for _ in range(count):
        (nlen,) = struct.unpack_from("<I", buf, pos)
        name = buf[pos + 4:pos + 4 + nlen].decode()
        pos += 4 + nlen
        _, ndim = struct.unpack_from("<2I", buf, pos)
        dims = struct.unpack_from(f"<{ndim}I", buf, pos + 8)
        pos += 8 + 4 * ndim
        size = math.prod(dims)
        out[name] = struct.unpack_from(f"<{size}f", buf, pos)
        pos += 4 * size
    return out


def rel(ours, ref):
    num = math.sqrt(sum((a - b) ** 2 for a, b in zip(ours, ref)))
    den = math.sqrt(sum(b * b for b in ref))
    return num / den if den > 0 else num


def result(d):
    out = {}
    with open(os.path.join(d, "result.txt")) as f:
        for line in f:
            key, *vals = line.split()
            out[key] = [float(v) for v in vals] if key == "adv" else float(vals[0])
    return out


class Parity(unittest.TestCase):
    def check(self, algo):
        with open(os.path.join(REF, algo, "ref.json")) as f:
            ref = json.load(f)
        grads = read_weights(os.path.join(REF, algo, "grads.bin"))
        updated = read_weights(os.path.join(REF, algo, "updated.bin"))
        for variant in ("naive", "openblas"):
            with self.subTest(variant=variant), tempfile.TemporaryDirectory() as d:
                p = subprocess.run([DRIVER, algo, variant, d], capture_output=True, text=True,
                                   timeout=120)
                self.assertEqual(p.returncode, 0, p.stderr)
                for name, digest in ref["inputs_sha256"].items():
                    with open(os.path.join(d, name), "rb") as f:
                        self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest,
                                         f"{name} differs from the references' input; rerun "
                                         "tools/parity/rl_torch.py --write")
                r = result(d)
                self.assertLess(abs(r["loss"] - ref["loss"]) / abs(ref["loss"]), BOUND)
                if "adv" in ref:
                    self.assertLess(rel(r["adv"], ref["adv"]), BOUND)
                mine_g = read_weights(os.path.join(d, "grads.bin"))
                mine_u = read_weights(os.path.join(d, "updated.bin"))
                self.assertEqual(set(mine_g), {f"fc{i}.{k}" for i in (1, 2, 3)
                                               for k in ("weight", "bias")})
                for name in grads:
                    self.assertLess(rel(mine_g[name], grads[name]), BOUND, f"grad {name}")
                    self.assertLess(rel(mine_u[name], updated[name]), BOUND, f"updated {name}")
                    # The step moved the weights: the check is not of the start.
                self.assertGreater(max(abs(x) for x in mine_g["fc3.weight"]), 1e-4)

    def test_dqn_step(self):
        self.check("dqn")

    def test_reinforce_update(self):
        self.check("reinforce")

    def test_usage(self):
        p = subprocess.run([DRIVER, "ppo", "naive", "/tmp"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: rl-parity", p.stderr)


if __name__ == "__main__":
    main()
