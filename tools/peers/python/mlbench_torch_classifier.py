"""What the cnn and rnn PyTorch peers share: the plugins' classifier loop
(plugins/nn/classifier.c) in PyTorch. The arrays and initial weights the
plugin's openblas variant exports (X_/y_ train/test .npy, weights_init.bin),
the same per-epoch order of the training set (mlbench_rng.epoch_orders),
mini-batch Adam or SGD with optional clipping by global norm, a test
evaluation and progress point per epoch, metrics by scikit-learn's rules as
plugins/common/metrics.c, one batch of consecutive test samples per
inference query.

A task's peer subclasses TorchClassifier and defines build(params, w),
returning the model, its forward FLOPs per sample as the plugin counts
them, and its number of classes."""
import os

import mlbench_peer
import mlbench_rng
import numpy as np
import torch
import torch.nn.functional as F


class TorchClassifier(mlbench_peer.Peer):
    def hello(self):
        return {"torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}

    def build(self, params, weights_path):
        """The model with the initial weights, its forward FLOPs per sample
        and its number of classes."""
        raise NotImplementedError

    def setup(self, params, data, seed):
        self.p = params
        torch.set_num_threads(int(params["threads"]))
        self.x = torch.from_numpy(self.load("X_train"))
        self.y = torch.from_numpy(self.load("y_train"))
        self.xt = torch.from_numpy(self.load("X_test"))
        self.yt = torch.from_numpy(self.load("y_test"))
        self.model, self.flops, self.classes = self.build(
            params, os.path.join(os.path.dirname(data["X_train"]), "weights_init.bin"))
        lr, wd = params["lr"], params["weight_decay"]
        if params["optimizer"] == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=wd)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=lr,
                                       momentum=params["momentum"], weight_decay=wd)
        self.clip = float(params.get("clip_grad", 0))
        self.batch = int(params["batch_size"])
        self.infer_batch = int(params["infer_batch"])
        self.max_batch = max(self.batch, self.infer_batch)
        self.cursor = 0
        # Every epoch's order now, outside the timed train: the Python loop
        # costs about 0.3 s per 60,000 samples.
        self.perms = [torch.tensor(o) for o in
                      mlbench_rng.epoch_orders(seed, len(self.x), int(params["epochs"]))]
        # One inference pass, as the plugin's setup does: one-off costs
        # (oneDNN primitives, allocator warm-up) out of the timed phases.
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
        # scikit-learn's rules (as plugins/common/metrics.c): macro means over
        # the classes in the labels or the predictions, 0 for 0/0; balanced
        # accuracy over the classes in the labels.
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
