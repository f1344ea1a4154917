"""cnn:pytorch — PyTorch CPU training and inference of the cnn task's models
(tools/peers/python/mlbench_cnn_models.py) on exactly the images, labels and
initial weights that cnn:openblas prepares (data_from), in the plugin's loop
(tools/peers/python/mlbench_torch_classifier.py: the same batches in the
same order, mini-batch SGD or Adam, a test evaluation and progress point per
epoch, one batch per inference query)."""
import mlbench_cnn_models as models
import mlbench_peer
import mlbench_torch_classifier
import torch


class CnnTorch(mlbench_torch_classifier.TorchClassifier):
    def build(self, params, weights_path):
        w = models.read_weights(weights_path)
        classes = w["fc.weight" if "fc.weight" in w else
                    "fc3.weight" if "fc3.weight" in w else "fc2.weight"][1].shape[0]
        _, c, h, _ = self.x.shape
        model = models.make_model(params["model"], c, h, classes)
        models.load_into(model, w)
        # FLOPs per image forward, as the plugin counts them (conv and linear
        # multiply-adds x 2), from the layers' shapes.
        flops = [0.0]

        def count(mod, inp, out):
            if isinstance(mod, torch.nn.Conv2d):
                flops[0] += (2.0 * out[0].numel() * mod.in_channels * mod.kernel_size[0] *
                             mod.kernel_size[1])
            elif isinstance(mod, torch.nn.Linear):
                flops[0] += 2.0 * mod.in_features * mod.out_features
        hooks = [mod.register_forward_hook(count) for mod in model.modules()]
        model.eval()
        with torch.no_grad():
            model(self.xt[:1])
        for hk in hooks:
            hk.remove()
        return model, flops[0], classes


mlbench_peer.run(CnnTorch())
