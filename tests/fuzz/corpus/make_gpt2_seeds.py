#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_gpt2_ckpt and fuzz_gpt2_shard: a tiny
valid llm.c checkpoint (maxT=4, V=Vp=8, L=1, NH=1, C=4), the same with a
NaN weight (which the parser refuses, naming it), and a 13-token shard. Run from the repository root: /usr/bin/python3 tests/fuzz/corpus/make_gpt2_seeds.py"""
import random
import struct


def hdr(*v):
    return struct.pack('<256i', *(list(v) + [0] * (256 - len(v))))


random.seed(1)
maxT, V, L, NH, C, Vp = 4, 8, 1, 1, 4, 8
n = Vp * C + maxT * C + L * (12 * C * C + 13 * C) + 2 * C
body = struct.pack('<%df' % n, *[random.uniform(-0.1, 0.1) for _ in range(n)])
with open('tests/fuzz/corpus/fuzz_gpt2_ckpt/tiny.bin', 'wb') as f:
    f.write(hdr(20240326, 3, maxT, V, L, NH, C, Vp) + body)
with open('tests/fuzz/corpus/fuzz_gpt2_ckpt/nan_weight.bin', 'wb') as f:
    f.write(hdr(20240326, 3, maxT, V, L, NH, C, Vp) + body[:4 * 40]
            + struct.pack('<f', float('nan')) + body[4 * 41:])
toks = [random.randrange(65536) for _ in range(13)]
with open('tests/fuzz/corpus/fuzz_gpt2_shard/tiny.bin', 'wb') as f:
    f.write(hdr(20240520, 1, len(toks)) + struct.pack('<%dH' % len(toks), *toks))
