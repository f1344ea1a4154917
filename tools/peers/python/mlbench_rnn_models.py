"""PyTorch definition of the rnn task's network (plugins/rnn/model.c):
nn.RNN / nn.LSTM / nn.GRU (batch_first) named `rnn`, and a linear head `fc`
on the last time step's output. Tensor names and shapes are the C model's,
so a weight file (docs/weights-format.md; reader and writer in
mlbench_cnn_models) loads into it one to one.

Shared by the rnn:pytorch peer (tools/peers/rnn_torch.py), the parity tool
(tools/parity/rnn_torch.py) and the benchmark (tools/bench/rnn.sh).
"""
import torch
import torch.nn as nn

from mlbench_cnn_models import MAGIC, load_into, read_weights, write_weights  # noqa: F401

GATES = {1: "rnn", 3: "gru", 4: "lstm"}


class SeqClassifier(nn.Module):
    def __init__(self, model, input_size, hidden, layers=1, bidirectional=False, classes=10,
                 nonlinearity="tanh"):
        super().__init__()
        kw = dict(num_layers=layers, batch_first=True, bidirectional=bidirectional)
        if model == "lstm":
            self.rnn = nn.LSTM(input_size, hidden, **kw)
        elif model == "gru":
            self.rnn = nn.GRU(input_size, hidden, **kw)
        elif model == "rnn":
            self.rnn = nn.RNN(input_size, hidden, nonlinearity=nonlinearity, **kw)
        else:
            raise ValueError(f"model {model!r}: expected rnn, lstm or gru")
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def shape_of(weights):
    """(model, input_size, hidden, layers, bidirectional, classes) from a
    weight file's tensors ({name: (trainable, array)})."""
    hidden = weights["rnn.weight_hh_l0"][1].shape[1]
    gates = weights["rnn.weight_hh_l0"][1].shape[0] // hidden
    layers = sum(1 for k in weights if k.startswith("rnn.weight_ih_l") and
                 not k.endswith("_reverse"))
    return (GATES[gates], weights["rnn.weight_ih_l0"][1].shape[1], hidden, layers,
            "rnn.weight_ih_l0_reverse" in weights, weights["fc.weight"][1].shape[0])


def from_weights(weights, nonlinearity="tanh"):
    """The module a weight file describes, with its values loaded."""
    model, i, h, layers, bidir, classes = shape_of(weights)
    m = SeqClassifier(model, i, h, layers, bidir, classes, nonlinearity)
    load_into(m, weights)
    return m

GATES_OF = {"RNN": 1, "GRU": 3, "LSTM": 4}
