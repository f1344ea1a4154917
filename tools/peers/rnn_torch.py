"""rnn:pytorch — PyTorch CPU training and inference of the rnn task's network
(nn.RNN / nn.LSTM / nn.GRU + nn.Linear on the last step,
tools/peers/python/mlbench_rnn_models.py) on exactly the sequences, labels
and initial weights that rnn:openblas prepares (data_from), in the plugin's
loop (tools/peers/python/mlbench_torch_classifier.py: the same batches in
the same order, mini-batch Adam or SGD, optional clipping by global norm, a
test evaluation and progress point per epoch, one batch per inference
query)."""
import mlbench_peer
import mlbench_rnn_models as models
import mlbench_torch_classifier


class RnnTorch(mlbench_torch_classifier.TorchClassifier):
    def build(self, params, weights_path):
        model = models.from_weights(models.read_weights(weights_path),
                                    params.get("nonlinearity", "tanh"))
        # FLOPs per sequence forward, as the plugin counts them: 2 per
        # multiply-add of the input and recurrent GEMMs and of the head.
        _, T, _ = self.x.shape
        rnn, gates = model.rnn, models.GATES_OF[type(model.rnn).__name__]
        dirs = 2 if rnn.bidirectional else 1
        macs = 0
        for layer in range(rnn.num_layers):
            inp = rnn.input_size if layer == 0 else rnn.hidden_size * dirs
            macs += dirs * T * gates * rnn.hidden_size * (inp + rnn.hidden_size)
        macs += model.fc.in_features * model.fc.out_features
        return model, 2.0 * macs, model.fc.out_features


mlbench_peer.run(RnnTorch())
