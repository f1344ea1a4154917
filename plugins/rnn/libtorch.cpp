/*
 * rnn:libtorch's engine: the rnn task's network as the rnn:pytorch peer
 * defines it (tools/peers/python/mlbench_rnn_models.py), in libtorch's C++
 * modules: torch::nn::{RNN,LSTM,GRU}(batch_first) named `rnn` and a
 * torch::nn::Linear `fc` on the last step's output, with torch::optim's
 * Adam or SGD and torch::nn::utils::clip_grad_norm_ as the peer uses. The
 * shape comes from the NN-core model (plugins/rnn/model.c, the one
 * definition) and the initial weights from its tensors by PyTorch name, so
 * the data, weights, batches and loop are the peer's; only Python and the
 * peer bridge are gone.
 *
 * Written in C++ against the C side through nn_engine.h; every entry
 * catches libtorch's exceptions (none may cross into C).
 */
#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn_engine.h"
#include "libtorch_optim.h"
extern "C" { // the header declares OpenBLAS's blas_thread_shutdown_, a C symbol
#include "openblas_threads.h"
}

namespace {

struct Engine {
    const nn_model *m = nullptr;
    int T = 0, I = 0, classes = 0;
    torch::nn::LSTM lstm{nullptr};
    torch::nn::GRU gru{nullptr};
    torch::nn::RNN rnn{nullptr};
    torch::nn::Linear fc{nullptr};
    // Every parameter by its state_dict name ("rnn.weight_ih_l0",
    // "fc.weight"), the NN core's names.
    std::map<std::string, torch::Tensor> named;
    std::vector<torch::Tensor> params; // the peer's model.parameters() order
    std::unique_ptr<torch::optim::Optimizer> opt;
    double clip = 0;

    // The peer's SeqClassifier.forward: fc(rnn(x)[0][:, -1, :]).
    torch::Tensor run(const torch::Tensor &x)
    {
        torch::Tensor out;
        if (lstm)
            out = std::get<0>(lstm->forward(x));
        else if (gru)
            out = std::get<0>(gru->forward(x));
        else
            out = std::get<0>(rnn->forward(x));
        return fc->forward(out.select(1, T - 1));
    }

    torch::Tensor sequences(const float *x, int n) const
    {
        // A view of the caller's batch: no copy (libtorch does not write it).
        return torch::from_blob(const_cast<float *>(x), {n, T, I}, torch::kFloat32);
    }

    torch::Tensor labels(const int32_t *y, int n) const
    {
        return torch::from_blob(const_cast<int32_t *>(y), {n}, torch::kInt32).to(torch::kInt64);
    }

    void zero_grad()
    {
        // The peer's zero_grad(set_to_none=False): gradients stay allocated.
        for (auto &p : params)
            p.mutable_grad().zero_();
    }
};

const nn_recurrent *find_recurrent(const nn_model *m, const nn_node **head)
{
    const nn_recurrent *r = nullptr;
    *head = nullptr;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].op == NN_OP_RECURRENT)
            r = m->nodes[i].rec;
        else if (m->nodes[i].op == NN_OP_LINEAR)
            *head = &m->nodes[i];
    }
    return r;
}

int lt_create(void **impl, const nn_engine_setup *su, char *err, size_t errlen)
{
    *impl = nullptr;
    try {
        auto e = std::make_unique<Engine>();
        const nn_model *m = su->init;
        const nn_node *head = nullptr;
        const nn_recurrent *r = find_recurrent(m, &head);
        if (!r || !head) {
            snprintf(err, errlen, "libtorch: the model is not a recurrent stack and a head");
            return -EINVAL;
        }
        e->m = m;
        e->T = r->seq_len;
        e->I = r->input_size;
        e->classes = head->c;
        e->clip = su->clip;
        // The peer's thread rules: torch.set_num_threads(threads) with
        // OPENBLAS_NUM_THREADS=1 (whatever BLAS Debian's libtorch calls).
        torch::set_num_threads(su->threads);
        mlb_openblas_set_threads(1);
        bool bidir = r->dirs == 2;
        torch::nn::Module *mod = nullptr;
        switch (r->cell) {
        case NN_CELL_LSTM:
            e->lstm = torch::nn::LSTM(torch::nn::LSTMOptions(r->input_size, r->hidden)
                                          .num_layers(r->layers)
                                          .batch_first(true)
                                          .bidirectional(bidir));
            mod = e->lstm.get();
            break;
        case NN_CELL_GRU:
            e->gru = torch::nn::GRU(torch::nn::GRUOptions(r->input_size, r->hidden)
                                        .num_layers(r->layers)
                                        .batch_first(true)
                                        .bidirectional(bidir));
            mod = e->gru.get();
            break;
        case NN_CELL_RNN_TANH:
        case NN_CELL_RNN_RELU:
            e->rnn = torch::nn::RNN(
                torch::nn::RNNOptions(r->input_size, r->hidden)
                    .num_layers(r->layers)
                    .batch_first(true)
                    .bidirectional(bidir)
                    .nonlinearity(r->cell == NN_CELL_RNN_RELU
                                      ? torch::nn::RNNOptions::nonlinearity_t(torch::kReLU)
                                      : torch::nn::RNNOptions::nonlinearity_t(torch::kTanh)));
            mod = e->rnn.get();
            break;
        }
        e->fc = torch::nn::Linear(r->hidden * r->dirs, e->classes);
        for (const auto &kv : mod->named_parameters())
            e->named["rnn." + kv.key()] = kv.value();
        for (const auto &kv : e->fc->named_parameters())
            e->named["fc." + kv.key()] = kv.value();
        // The initial weights, by name; every tensor of either side once.
        if (e->named.size() != (size_t)m->n_params) {
            snprintf(err, errlen, "libtorch: %zu tensors in torch's module, %d in the model",
                     e->named.size(), m->n_params);
            return -EINVAL;
        }
        {
            torch::NoGradGuard no_grad;
            for (int j = 0; j < m->n_params; j++) {
                const nn_param *p = &m->params[j];
                auto it = e->named.find(p->name);
                if (it == e->named.end() || (size_t)it->second.numel() != p->size) {
                    snprintf(err, errlen, "libtorch: tensor %s: %s", p->name,
                             it == e->named.end() ? "not in torch's module" : "another size");
                    return -EINVAL;
                }
                it->second.copy_(torch::from_blob(p->data, it->second.sizes(), torch::kFloat32));
            }
        }
        for (const auto &t : mod->parameters())
            e->params.push_back(t);
        for (const auto &t : e->fc->parameters())
            e->params.push_back(t);
        for (auto &p : e->params)
            p.mutable_grad() = torch::zeros_like(p);
        e->opt = nn_torch_optimizer(e->params, su);
        *impl = e.release();
        return 0;
    } catch (const std::exception &ex) {
        snprintf(err, errlen, "libtorch: %s", ex.what());
        return -EIO;
    }
}

double lt_train_step(void *impl, const float *x, const int32_t *y, int n)
{
    Engine *e = static_cast<Engine *>(impl);
    try {
        e->zero_grad();
        torch::Tensor loss = at::cross_entropy_loss(e->run(e->sequences(x, n)), e->labels(y, n));
        loss.backward();
        if (e->clip > 0)
            torch::nn::utils::clip_grad_norm_(e->params, e->clip);
        e->opt->step();
        return loss.item<double>();
    } catch (const std::exception &ex) {
        // The C side reports a non-finite loss as the step's failure.
        fprintf(stderr, "rnn:libtorch: %s\n", ex.what());
        return NAN;
    }
}

void lt_forward(void *impl, const float *x, int n, float *logits)
{
    Engine *e = static_cast<Engine *>(impl);
    try {
        torch::NoGradGuard no_grad;
        torch::Tensor z = e->run(e->sequences(x, n)).contiguous();
        std::memcpy(logits, z.data_ptr<float>(), (size_t)z.numel() * sizeof(float));
    } catch (const std::exception &ex) {
        fprintf(stderr, "rnn:libtorch: %s\n", ex.what());
        for (size_t i = 0; i < (size_t)n * (size_t)e->classes; i++)
            logits[i] = NAN;
    }
}

// Copies torch's tensors (or their gradients) into the model's by name.
void copy_out(Engine *e, nn_model *m, bool grads)
{
    for (int j = 0; j < m->n_params; j++) {
        nn_param *p = &m->params[j];
        const torch::Tensor &t = e->named.at(p->name);
        torch::Tensor v = (grads ? t.grad() : t).detach().contiguous();
        std::memcpy(grads ? p->grad : p->data, v.data_ptr<float>(), p->size * sizeof(float));
    }
}

int lt_weights_to(void *impl, nn_model *m, char *err, size_t errlen)
{
    try {
        copy_out(static_cast<Engine *>(impl), m, false);
        return 0;
    } catch (const std::exception &ex) {
        snprintf(err, errlen, "libtorch: %s", ex.what());
        return -EIO;
    }
}

double lt_gradients(void *impl, const float *x, const int32_t *y, int n, float *logits,
                    nn_model *m)
{
    Engine *e = static_cast<Engine *>(impl);
    try {
        e->zero_grad();
        torch::Tensor z = e->run(e->sequences(x, n));
        torch::Tensor loss = at::cross_entropy_loss(z, e->labels(y, n));
        loss.backward();
        torch::Tensor zc = z.detach().contiguous();
        std::memcpy(logits, zc.data_ptr<float>(), (size_t)zc.numel() * sizeof(float));
        copy_out(e, m, true);
        return loss.item<double>();
    } catch (const std::exception &ex) {
        fprintf(stderr, "rnn:libtorch: %s\n", ex.what());
        return NAN;
    }
}

void lt_destroy(void *impl)
{
    delete static_cast<Engine *>(impl);
}

} // namespace

extern "C" const nn_engine rnn_engine_libtorch = {
    "libtorch", lt_create, lt_train_step, lt_forward, lt_weights_to, lt_destroy, lt_gradients,
};
