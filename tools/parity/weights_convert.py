#!/usr/bin/python3
"""Converts between mlbench weight files (docs/weights-format.md) and
PyTorch state dicts saved with torch.save.

    tools/parity/weights_convert.py to-torch WEIGHTS.bin STATE.pt
    tools/parity/weights_convert.py from-torch STATE.pt WEIGHTS.bin

A state dict's tensors keep their names and shapes (the C models name their
tensors as PyTorch's modules do: rnn.weight_ih_l0, layer1.0.conv1.weight);
batch norm's running_mean and running_var are buffers in the file, every
other tensor a trainable parameter, and num_batches_tracked counters are
dropped (the C core keeps none). Values are float32.
"""
import os
import struct
import sys
import zlib
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers",
                                "python"))
from mlbench_cnn_models import MAGIC, read_weights  # noqa: E402

BUFFERS = ("running_mean", "running_var")


def to_state_dict(weights):
    return OrderedDict((k, torch.from_numpy(a.copy())) for k, (_, a) in weights.items())


def write_state_dict(path, state):
    body, count = bytearray(), 0
    for name, t in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        a = t.detach().cpu().numpy().astype("<f4")
        if a.ndim < 1 or a.ndim > 4:
            raise ValueError(f"{name}: rank {a.ndim}; the format holds ranks 1 to 4")
        trainable = not name.endswith(BUFFERS)
        nb = name.encode()
        body += struct.pack("<I", len(nb)) + nb + struct.pack("<2I", int(trainable), a.ndim)
        body += struct.pack(f"<{a.ndim}I", *a.shape) + a.tobytes()
        count += 1
    data = MAGIC + struct.pack("<4I", 1, 4, count, 0) + bytes(body)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data + struct.pack("<I", zlib.crc32(data)))
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("to-torch", "from-torch"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    if argv[1] == "to-torch":
        torch.save(to_state_dict(read_weights(argv[2])), argv[3])
    else:
        state = torch.load(argv[2], map_location="cpu")
        if not isinstance(state, dict):
            print(f"{argv[2]}: not a state dict (a {type(state).__name__})", file=sys.stderr)
            return 1
        write_state_dict(argv[3], state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
