"""PyTorch definitions of the cnn task's models (plugins/cnn/models.c), and
the mlbench weight-file format (docs/weights-format.md) in Python.

Shared by the cnn:pytorch peer (tools/peers/cnn_torch.py), the parity tool
(tools/parity/cnn_torch.py) and the benchmark (tools/bench/cnn.sh). Layer
names equal the C models' tensor names, so a weight file loads into these
modules one to one and parameter counts agree.
"""
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = b"MLBNNWT\0"


# ---- ReLU, optionally on given sides of the kink ---------------------------

class MaskStream:
    """While active, ReLUs take which inputs count as positive from our
    dump (masks.npy, one ReLU after another) instead of the sign of their
    own input, and count the elements where the two disagree: activations
    within rounding of zero, where float32 (ours) and float64 (the
    reference) may fall on different sides. Off: the plain ReLU."""

    def __init__(self):
        self.masks = None
        self.pos = 0
        self.flips = 0
        self.nearest = float("inf")

    def start(self, masks):
        self.masks, self.pos, self.flips, self.nearest = masks, 0, 0, float("inf")

    def stop(self):
        if self.masks is not None and self.pos != self.masks.size:
            raise ValueError(f"ReLU masks: used {self.pos} of {self.masks.size}")
        self.masks = None


RELU = MaskStream()


def act(x):
    if RELU.masks is None:
        return F.relu(x)
    n = x.numel()
    m = torch.from_numpy(RELU.masks[RELU.pos:RELU.pos + n].reshape(x.shape).copy()).to(x.dtype)
    RELU.pos += n
    with torch.no_grad():
        own = (x > 0).to(x.dtype)
        RELU.flips += int((own != m).sum())
        RELU.nearest = min(RELU.nearest, float(x.abs().min()))
    return x * m


# ---- the models, as plugins/cnn/models.c defines them ---------------------

class LeNet5(nn.Module):
    def __init__(self, c=1, hw=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        s = ((hw // 2) - 4) // 2
        self.fc1 = nn.Linear(16 * s * s, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(act(self.conv1(x)), 2)
        x = F.max_pool2d(act(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = act(self.fc1(x))
        x = act(self.fc2(x))
        return self.fc3(x)


class SimpleCNN(nn.Module):
    def __init__(self, c=1, hw=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        s = hw // 4
        self.fc1 = nn.Linear(64 * s * s, 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(act(self.conv1(x)), 2)
        x = F.max_pool2d(act(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(act(self.fc1(x)))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return act(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs (CIFAR form): 3x3 stem, no max pooling."""

    def __init__(self, c=3, hw=32, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        inplanes = 64
        for i, planes in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            layer = nn.Sequential(BasicBlock(inplanes, planes, stride),
                                  BasicBlock(planes, planes, 1))
            setattr(self, f"layer{i + 1}", layer)
            inplanes = planes
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = act(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {
    "lenet5": (LeNet5, (1, 28, 28)),
    "simplecnn": (SimpleCNN, (1, 28, 28)),
    "resnet18": (ResNet18, (3, 32, 32)),
}


def make_model(name, c=None, hw=None, classes=10):
    """The named model for c x hw x hw inputs (default: its usual input)."""
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    cls, (c0, h0, _) = MODELS[name]
    return cls(c or c0, hw or h0, classes)


# ---- weight files (docs/weights-format.md) --------------------------------

def read_weights(path):
    """Returns {name: (trainable, float32 array)}; checks magic, version, CRC."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 28 or buf[:8] != MAGIC:
        raise ValueError(f"{path}: not an mlbench weight file")
    version, elem, count, _ = struct.unpack_from("<4I", buf, 8)
    if version != 1 or elem not in (4, 8):
        raise ValueError(f"{path}: version {version}, element size {elem}")
    (crc,) = struct.unpack_from("<I", buf, len(buf) - 4)
    if zlib.crc32(buf[:-4]) != crc:
        raise ValueError(f"{path}: checksum mismatch")
    pos, out = 24, {}
    for _ in range(count):
        (nlen,) = struct.unpack_from("<I", buf, pos)
        name = buf[pos + 4:pos + 4 + nlen].decode()
        pos += 4 + nlen
        flags, ndim = struct.unpack_from("<2I", buf, pos)
        dims = struct.unpack_from(f"<{ndim}I", buf, pos + 8)
        pos += 8 + 4 * ndim
        size = int(np.prod(dims))
        arr = np.frombuffer(buf, dtype="<f4" if elem == 4 else "<f8", count=size, offset=pos)
        pos += size * elem
        out[name] = (bool(flags & 1), arr.reshape(dims).astype(np.float32))
    if pos != len(buf) - 4:
        raise ValueError(f"{path}: trailing bytes")
    return out


def write_weights(path, model):
    """Writes a PyTorch module's parameters and batch-norm buffers in the
    mlbench format (for starting our runs from PyTorch's weights)."""
    body = bytearray()
    tensors = [(n, True, p) for n, p in model.named_parameters()]
    tensors += [(n, False, b) for n, b in model.named_buffers() if "num_batches" not in n]
    order = {n: i for i, n in enumerate(model.state_dict())}
    tensors.sort(key=lambda t: order[t[0]])
    for name, trainable, t in tensors:
        a = t.detach().cpu().numpy().astype("<f4")
        nb = name.encode()
        body += struct.pack("<I", len(nb)) + nb + struct.pack("<2I", int(trainable), a.ndim)
        body += struct.pack(f"<{a.ndim}I", *a.shape) + a.tobytes()
    head = MAGIC + struct.pack("<4I", 1, 4, len(tensors), 0)
    data = head + bytes(body)
    with open(path, "wb") as f:
        f.write(data + struct.pack("<I", zlib.crc32(data)))


def load_into(model, weights):
    state = model.state_dict()
    ours = set(weights)
    theirs = {k for k in state if "num_batches_tracked" not in k}
    if ours != theirs:
        raise ValueError(f"names differ: only ours {sorted(ours - theirs)[:5]}, "
                         f"only torch {sorted(theirs - ours)[:5]}")
    with torch.no_grad():
        for k, (_, a) in weights.items():
            if tuple(state[k].shape) != a.shape:
                raise ValueError(f"{k}: shape {a.shape}, torch {tuple(state[k].shape)}")
            state[k].copy_(torch.from_numpy(a.copy()))
