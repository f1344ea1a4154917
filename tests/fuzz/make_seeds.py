#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets, tests/fuzz/corpus/TARGET/,
from small real files of the source tree (see docs/testing.md):

  suite      config/*.yaml, tests/data/suites/*.yaml
  peer_desc  tools/peers/*.peer.yaml, tests/peers/*.peer.yaml
  peer_line  the example lines of docs/peer-protocol.md, and a peer's session
  results    RESULTS.json of a tiny run (given), compacted, and a one-run
             document of the plan fuzz_results.c resumes (gemm:naive, n = 8)
  compare    two results documents behind a selector byte and fuzz_split's
             two-byte cut
  sklearn    data/{iris,wine_data,breast_cancer}.csv cut to a few rows, the
             diabetes pair and digits, behind fuzz_sklearn.c's selector byte
  idx_gz     tests/data/datasets/{images,labels}.idx behind fuzz_idx_gz.c's
             selector and cut (the target compresses them), and as .gz files
  weights    a weight file of fuzz_weights.c's model (WEIGHTS, written by the
             target itself with FUZZ_WEIGHTS_SEED=FILE), float32 and float64

Usage: tests/fuzz/make_seeds.py RESULTS_A.json RESULTS_B.json WEIGHTS.bin
(the two results documents: `mlbench-engine --plugin gemm:naive,openblas
--param m=8 --param n=8 --param k=8 --repetitions 3 --infer-queries 2`, with
--seed 42 and --seed 7)."""
import glob
import gzip
import json
import os
import shutil
import struct
import sys
import zlib

root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
out = os.path.join(root, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cut2(a, b):
    """fuzz_split's layout: two bytes giving the first part's length."""
    size = 2 + len(a) + len(b)
    # the cut is taken modulo (size - 1) of the whole input: pick the value
    # that gives len(a)
    assert len(a) < size - 1 and len(a) < 65536
    return bytes([len(a) >> 8, len(a) & 0xFF]) + a + b


def compact(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


def main():
    res_a, res_b, weights = sys.argv[1:4]
    for p in sorted(glob.glob(os.path.join(root, "config", "*.yaml")) +
                    glob.glob(os.path.join(root, "tests", "data", "suites", "*.yaml"))):
        put("suite", os.path.basename(os.path.dirname(p)) + "_" + os.path.basename(p), read(p))
    for p in sorted(glob.glob(os.path.join(root, "tools", "peers", "*.peer.yaml")) +
                    glob.glob(os.path.join(root, "tests", "peers", "*.peer.yaml"))):
        put("peer_desc", os.path.basename(p), read(p))

    # peer lines: byte 0 is the request the first line answers (0 hello)
    hello = b'{"ok": true, "protocol": 1, "python": "3.11.2", "threads": 1}\n'
    answer = (b'{"ok": true, "work": {"items": 60000, "flops": 1.2e9},'
              b' "metrics": {"accuracy": {"value": 0.91, "better": "higher"}}}\n')
    events = (b'{"event": "progress", "step": 1, "loss": 0.61, "metric": "accuracy", "value": 0.83}\n'
              b'{"event": "log", "message": "loaded 60000 rows"}\n')
    put("peer_line", "hello", b"\x00" + hello)
    put("peer_line", "answer", b"\x02" + answer)
    put("peer_line", "error", b'\x02{"ok": false, "error": "what went wrong"}\n')
    put("peer_line", "events", b"\x02" + events + answer)
    put("peer_line", "session", b"\x00" + hello + b'{"ok": true}\n' + events + answer +
        b'{"ok": true, "work": {"items": 1}, "metrics": {"mse": {"value": 2.5, "better": "lower",'
        b' "rel_tol": 0.01, "abs_tol": 0, "restates_time": false}, "fit_s": 0.5}}\n{"ok": true}\n')

    a, b = json.loads(read(res_a)), json.loads(read(res_b))
    put("results", "gemm.json", read(res_a))
    put("results", "gemm_compact.json", compact(a))
    one = json.loads(json.dumps(a))
    run = one["runs"][0]
    run["variant"] = "naive"
    run["params"] = {"n": 8}
    one["runs"] = [run]
    one["groups"] = []
    one["comparisons"] = []
    put("results", "resume_plan.json", compact(one))
    interrupted = json.loads(json.dumps(one))
    interrupted["status"] = "interrupted"
    interrupted["runs"][0]["repetitions"][-1]["status"] = "interrupted"
    put("results", "resume_interrupted.json", compact(interrupted))
    put("compare", "gemm_ab", b"\x00" + cut2(compact(a), compact(b)))
    put("compare", "gemm_aa", b"\x00" + cut2(compact(a), compact(a)))
    put("compare", "gemm_ab_json", b"\x01" + cut2(compact(a), compact(b)))

    def head(path, rows):
        lines = read(path).decode().splitlines()
        h = lines[0].split(",")
        h[0] = str(rows)
        return ("\n".join([",".join(h)] + lines[1:1 + rows]) + "\n").encode()
    put("sklearn", "iris", b"\x00" + head(os.path.join(root, "data", "iris.csv"), 6))
    put("sklearn", "breast_cancer", b"\x01" + head(os.path.join(root, "data", "breast_cancer.csv"), 3))
    put("sklearn", "wine", b"\x02" + head(os.path.join(root, "data", "wine_data.csv"), 4))
    put("sklearn", "iris_f32_max2", b"\x30" + head(os.path.join(root, "data", "iris.csv"), 6))
    dx = gzip.decompress(read(os.path.join(root, "data", "diabetes_data_raw.csv.gz"))).splitlines()[:4]
    dy = gzip.decompress(read(os.path.join(root, "data", "diabetes_target.csv.gz"))).splitlines()[:4]
    x = b"\n".join(dx) + b"\n"
    put("sklearn", "diabetes", b"\x03" + cut2(x, b"\n".join(dy) + b"\n"))
    put("sklearn", "diabetes_gz", b"\x03" + cut2(gzip.compress(x, mtime=0),
                                                gzip.compress(b"\n".join(dy) + b"\n", mtime=0)))
    dg = gzip.decompress(read(os.path.join(root, "data", "digits.csv.gz"))).splitlines()[:4]
    put("sklearn", "digits", b"\x04" + b"\n".join(dg) + b"\n")

    img = read(os.path.join(root, "tests", "data", "datasets", "images.idx"))
    lab = read(os.path.join(root, "tests", "data", "datasets", "labels.idx"))
    put("idx_gz", "pair", b"\x00" + cut2(img, lab))
    put("idx_gz", "pair_f32_unit", b"\x03" + cut2(img, lab))
    put("idx_gz", "pair_junk", b"\x33" + cut2(img, lab))
    put("idx_gz", "pair_raw_gz", b"\x44" + cut2(gzip.compress(img, mtime=0), gzip.compress(lab, mtime=0)))

    w = read(weights)
    put("weights", "model_f32", b"\x00" + w)
    # the same tensors in float64 (element size 8), CRC recomputed by the target
    ntens = struct.unpack_from("<I", w, 16)[0]
    pos, body = 24, bytearray(w[:24])
    body[12:16] = struct.pack("<I", 8)
    for _ in range(ntens):
        nlen = struct.unpack_from("<I", w, pos)[0]
        flags, ndim = struct.unpack_from("<II", w, pos + 4 + nlen)
        dims = struct.unpack_from("<%dI" % ndim, w, pos + 12 + nlen)
        n = 1
        for d in dims:
            n *= d
        start = pos + 12 + nlen + 4 * ndim
        vals = struct.unpack_from("<%df" % n, w, start)
        body += w[pos:start] + struct.pack("<%dd" % n, *vals)
        pos = start + 4 * n
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    put("weights", "model_f64", b"\x00" + bytes(body))
    put("weights", "model_f32_crc_as_is", b"\x01" + w)


if __name__ == "__main__":
    main()
