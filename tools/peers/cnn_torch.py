"""cnn:pytorch — PyTorch CPU training and inference of the cnn task's models
(tools/peers/python/mlbench_cnn_models.py) on exactly the images, labels and
initial weights that cnn:openblas prepares (data_from), with the plugin's
parameters and loop: seeded shuffle per epoch, mini-batch SGD or Adam, a test
evaluation and progress point per epoch, one batch per inference query."""
import os

import mlbench_cnn_models as models
import mlbench_peer
import numpy as np
import torch
import torch.nn.functional as F


class CnnTorch(mlbench_peer.Peer):
    def hello(self):
        return {"torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}

    def setup(self, params, data, seed):
        self.p = params
        torch.set_num_threads(int(params["threads"]))
        self.gen = torch.Generator().manual_seed(seed % 2**63)
        self.x = torch.from_numpy(self.load("X_train"))
        self.y = torch.from_numpy(self.load("y_train"))
        self.xt = torch.from_numpy(self.load("X_test"))
        self.yt = torch.from_numpy(self.load("y_test"))
        w = models.read_weights(os.path.join(os.path.dirname(data["X_train"]), "weights_init.bin"))
        classes = w["fc.weight" if "fc.weight" in w else
                    "fc3.weight" if "fc3.weight" in w else "fc2.weight"][1].shape[0]
        _, c, h, _ = self.x.shape
        self.model = models.make_model(params["model"], c, h, classes)
        models.load_into(self.model, w)
        self.classes = classes
        lr, wd = params["lr"], params["weight_decay"]
        if params["optimizer"] == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=wd)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=lr,
                                       momentum=params["momentum"], weight_decay=wd)
        self.batch = int(params["batch_size"])
        self.infer_batch = int(params["infer_batch"])
        self.max_batch = max(self.batch, self.infer_batch)
        self.cursor = 0
        # FLOPs per image forward, as the plugin counts them (conv and linear
        # multiply-adds x 2), from the layers' shapes.
        self.flops = 0.0
        hooks = []
        def count(mod, inp, out):
            if isinstance(mod, torch.nn.Conv2d):
                self.flops += 2.0 * out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
            elif isinstance(mod, torch.nn.Linear):
                self.flops += 2.0 * mod.in_features * mod.out_features
        for mod in self.model.modules():
            hooks.append(mod.register_forward_hook(count))
        # One inference pass, as the plugin's setup does: one-off costs
        # (oneDNN primitives, allocator warm-up) out of the timed phases.
        self.model.eval()
        with torch.no_grad():
            self.model(self.xt[:1])
            for hk in hooks:
                hk.remove()
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
        f1 = self.scores["macro_f1"]
        return tp.sum().item() / len(self.yt), f1, loss / len(self.yt)

    def train(self):
        n, epochs = len(self.x), int(self.p["epochs"])
        target = self.p["target_accuracy"]
        epoch_loss, reached = float("nan"), None
        for e in range(1, epochs + 1):
            self.model.train()
            perm = torch.randperm(n, generator=self.gen)
            total = 0.0
            for b in range(0, n, self.batch):
                i = perm[b:b + self.batch]
                self.opt.zero_grad(set_to_none=False)
                loss = F.cross_entropy(self.model(self.x[i]), self.y[i])
                loss.backward()
                self.opt.step()
                total += loss.item() * len(i)
            epoch_loss = total / n
            if not np.isfinite(epoch_loss):
                raise mlbench_peer.PeerError(f"epoch {e}: the loss diverged; lower lr")
            acc, f1, tloss = self.evaluate()
            self.progress(e, epoch_loss, "accuracy", acc)
            if target > 0 and reached is None and acc >= target:
                reached = e
        if epochs == 0:
            acc, f1, tloss = self.evaluate()
        self.work(items=n * epochs, flops=3 * self.flops * n * epochs)
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


mlbench_peer.run(CnnTorch())
