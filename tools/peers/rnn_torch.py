"""rnn:pytorch — PyTorch CPU training and inference of the rnn task's network
(nn.RNN / nn.LSTM / nn.GRU + nn.Linear on the last step,
tools/peers/python/mlbench_rnn_models.py) on exactly the sequences, labels
and initial weights that rnn:openblas prepares (data_from), with the
plugin's parameters and loop: a shuffle per epoch, mini-batch Adam or SGD,
optional clipping by global norm, a test evaluation and progress point per
epoch, one batch per inference query.

The shuffle is the plugin's own (splitmix64 seeded with seed ^ "shuffle!",
Fisher-Yates with rejection sampling, as plugins/nn/core.c and
plugins/rnn/rnn.c), so both see the same batches in the same order."""
import os

import mlbench_peer
import mlbench_rnn_models as models
import numpy as np
import torch
import torch.nn.functional as F

MASK = (1 << 64) - 1


class Shuffle:
    """nn_rng (splitmix64, mlb_rand_u64) and nn_rng_below."""

    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        limit = MASK - MASK % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


class RnnTorch(mlbench_peer.Peer):
    def hello(self):
        return {"torch": torch.__version__,
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}

    def setup(self, params, data, seed):
        self.p = params
        torch.set_num_threads(int(params["threads"]))
        self.x = torch.from_numpy(self.load("X_train"))
        self.y = torch.from_numpy(self.load("y_train"))
        self.xt = torch.from_numpy(self.load("X_test"))
        self.yt = torch.from_numpy(self.load("y_test"))
        w = models.read_weights(os.path.join(os.path.dirname(data["X_train"]), "weights_init.bin"))
        self.model = models.from_weights(w, params.get("nonlinearity", "tanh"))
        self.classes = self.model.fc.out_features
        lr, wd = params["lr"], params["weight_decay"]
        if params["optimizer"] == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=wd)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=lr,
                                       momentum=params["momentum"], weight_decay=wd)
        self.clip = float(params["clip_grad"])
        self.batch = int(params["batch_size"])
        self.infer_batch = int(params["infer_batch"])
        self.max_batch = max(self.batch, self.infer_batch)
        self.cursor = 0
        # Every epoch's order now, outside the timed train: the Python loop
        # costs about 0.3 s per 60,000 sequences.
        shuffle = Shuffle(seed ^ 0x73687566666c6521)  # "shuffle!", as rnn.c
        order = list(range(len(self.x)))
        self.perms = []
        for _ in range(int(params["epochs"])):
            for i in range(len(order) - 1, 0, -1):  # Fisher-Yates, as rnn_train
                j = shuffle.below(i + 1)
                order[i], order[j] = order[j], order[i]
            self.perms.append(torch.tensor(order))
        # FLOPs per sequence forward, as the plugin counts them: 2 per
        # multiply-add of the input and recurrent GEMMs and of the head.
        _, T, _ = self.x.shape
        rnn, gates = self.model.rnn, models.GATES_OF[type(self.model.rnn).__name__]
        dirs = 2 if rnn.bidirectional else 1
        macs = 0
        for layer in range(rnn.num_layers):
            inp = rnn.input_size if layer == 0 else rnn.hidden_size * dirs
            macs += dirs * T * gates * rnn.hidden_size * (inp + rnn.hidden_size)
        macs += self.model.fc.in_features * self.model.fc.out_features
        self.flops = 2.0 * macs
        # One inference pass, as the plugin's setup does: one-off costs out
        # of the timed phases.
        self.model.eval()
        with torch.no_grad():
            self.model(self.xt[:min(len(self.xt), self.max_batch)])

    def evaluate(self):
        self.model.eval()
        conf = torch.zeros(self.classes, self.classes, dtype=torch.int64)
        loss = 0.0
        with torch.no_grad():
            for b in range(0, len(self.xt), self.max_batch):
                out = self.model(self.xt[b:b + self.max_batch])
                y = self.yt[b:b + self.max_batch]
                loss += F.cross_entropy(out, y, reduction="sum").item()
                conf += torch.bincount(y * self.classes + out.argmax(1),
                                       minlength=self.classes ** 2).view(self.classes, -1)
        tp = conf.diag().double()
        fp = conf.sum(0).double() - tp
        fn = conf.sum(1).double() - tp
        # scikit-learn's rules, as plugins/common/metrics.c
        present = (tp + fp + fn) > 0
        support = conf.sum(1) > 0
        self.scores = {
            "macro_f1": (2 * tp / (2 * tp + fp + fn).clamp(min=1))[present].mean().item(),
            "macro_precision": (tp / (tp + fp).clamp(min=1))[present].mean().item(),
            "macro_recall": (tp / (tp + fn).clamp(min=1))[present].mean().item(),
            "balanced_accuracy": (tp / (tp + fn).clamp(min=1))[support].mean().item(),
        }
        return tp.sum().item() / len(self.yt), loss / len(self.yt)

    def train(self):
        n, epochs = len(self.x), int(self.p["epochs"])
        target = self.p["target_accuracy"]
        epoch_loss, reached, steps = float("nan"), None, 0
        for e in range(1, epochs + 1):
            perm = self.perms[e - 1]
            self.model.train()
            total = 0.0
            for b in range(0, n, self.batch):
                i = perm[b:b + self.batch]
                self.opt.zero_grad(set_to_none=False)
                loss = F.cross_entropy(self.model(self.x[i]), self.y[i])
                loss.backward()
                if self.clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
                self.opt.step()
                total += loss.item() * len(i)
                steps += 1
            epoch_loss = total / n
            if not np.isfinite(epoch_loss):
                raise mlbench_peer.PeerError(f"epoch {e}: the loss diverged; lower lr")
            acc, tloss = self.evaluate()
            self.progress(e, epoch_loss, "accuracy", acc)
            if target > 0 and reached is None and acc >= target:
                reached = e
        if epochs == 0:
            acc, tloss = self.evaluate()
        self.work(items=n * epochs, steps=steps, flops=3 * self.flops * n * epochs)
        self.metric("accuracy", acc, "higher")
        for name in ("balanced_accuracy", "macro_f1", "macro_precision", "macro_recall"):
            self.metric(name, self.scores[name], "higher")
        if epochs:
            self.metric("loss", epoch_loss, "lower")
        self.metric("test_loss", tloss, "lower")
        if reached is not None:  # the plugin reports null when never reached
            self.metric("epochs_to_target", reached, "lower")

    def infer(self):
        idx = [(self.cursor + k) % len(self.xt) for k in range(self.infer_batch)]
        self.cursor = (self.cursor + self.infer_batch) % len(self.xt)
        self.model.eval()
        with torch.no_grad():
            self.model(self.xt[idx]).argmax(1)
        self.work(items=self.infer_batch, flops=self.flops * self.infer_batch)


mlbench_peer.run(RnnTorch())
