#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_bert_weights (tests/fuzz/corpus/bert_weights/):
tiny valid nn_bert weights files (docs/bert-weights-format.md) of each head,
and broken ones (truncated, extended, wrong magic, wrong version, a
configuration that fails its checks, a NaN weight). nan_weights.bin is
not written here: it is the fuzzer's input (a NaN in the attention) that
found an undefined float-to-int conversion, kept as it was found. Run from
the repository root:
/usr/bin/python3 tests/fuzz/corpus/make_bert_seeds.py"""
import random
import struct

MAGIC, VERSION = 20261218, 1


def hdr(*v):
    return struct.pack('<256i', *(list(v) + [0] * (256 - len(v))))


def n_params(V, P, S, L, NH, H, F, K):
    return (V + P + S) * H + 2 * H + L * (3 * H * H + 3 * H + H * H + H + 2 * H + F * H + F +
                                          H * F + H + 2 * H) + H * H + H + K * H + K


def weights(V, P, S, L, NH, H, F, head, K):
    n = n_params(V, P, S, L, NH, H, F, K)
    body = struct.pack('<%df' % n, *[random.uniform(-0.5, 0.5) for _ in range(n)])
    return hdr(MAGIC, VERSION, V, P, S, L, NH, H, F, head, K) + body


random.seed(1)
d = 'tests/fuzz/corpus/bert_weights/'
cls = weights(6, 3, 2, 1, 2, 4, 8, 0, 3)
qa = weights(5, 4, 2, 2, 1, 2, 4, 1, 2)
seeds = {
    'classify.bin': cls,
    'qa.bin': qa,
    'truncated.bin': cls[:-4],
    'extended.bin': cls + b'\0\0\0\0',
    'magic.bin': struct.pack('<i', 20240326) + cls[4:],
    'version.bin': cls[:4] + struct.pack('<i', 2) + cls[8:],
    'heads.bin': cls[:24] + struct.pack('<i', 3) + cls[28:],
    'header_only.bin': cls[:1024],
    'nan.bin': cls[:1064] + struct.pack('<f', float('nan')) + cls[1068:],
}
for name, data in seeds.items():
    with open(d + name, 'wb') as f:
        f.write(data)
