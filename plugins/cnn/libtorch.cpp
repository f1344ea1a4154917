/*
 * cnn:libtorch's engine: the NN-core model's graph (models.c, the one
 * definition of each architecture) run by libtorch's functional API, the
 * ATen calls torch.nn's modules make from Python (conv2d, batch_norm,
 * max_pool2d, linear, cross_entropy), with torch::optim's SGD and Adam as
 * the cnn:pytorch peer uses. Same kernels as the peer, no interpreter: the
 * difference between the two is the cost of Python and the peer bridge.
 *
 * Written in C++ against the C side through cnn_engine.h; every entry
 * catches libtorch's exceptions (none may cross into C).
 */
#include <stdexcept>
#include <ATen/ATen.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "cnn_engine.h"
#include "libtorch_optim.h"
extern "C" { // the header declares OpenBLAS's blas_thread_shutdown_, a C symbol
#include "openblas_threads.h"
}

namespace {

struct Engine {
    const nn_model *m = nullptr;
    std::vector<torch::Tensor> t;         // one per nn_param, same index
    std::vector<torch::Tensor> trainable; // the optimiser's parameters
    std::unique_ptr<torch::optim::Optimizer> opt;
    std::vector<int64_t> in_shape; // c, h, w

    torch::Tensor param(int idx) const
    {
        return idx >= 0 ? t[(size_t)idx] : torch::Tensor();
    }

    // The graph in node order; node outputs kept until the pass ends (the
    // residual adds read earlier ones).
    torch::Tensor run(const torch::Tensor &x, bool training) const
    {
        std::vector<torch::Tensor> y((size_t)m->n_nodes);
        y[0] = x;
        for (int i = 1; i < m->n_nodes; i++) {
            const nn_node *nd = &m->nodes[i];
            const torch::Tensor &a = y[(size_t)nd->in0];
            torch::Tensor &out = y[(size_t)i];
            switch (nd->op) {
            case NN_OP_CONV:
                out = at::conv2d(a, param(nd->p_weight), param(nd->p_bias),
                                 {nd->conv.stride, nd->conv.stride}, {nd->conv.pad, nd->conv.pad});
                break;
            case NN_OP_LINEAR:
                out = at::linear(a, param(nd->p_weight), param(nd->p_bias));
                break;
            case NN_OP_BN:
                out = at::batch_norm(a, param(nd->p_weight), param(nd->p_bias), param(nd->p_mean),
                                     param(nd->p_var), training, m->bn.momentum, m->bn.eps,
                                     false);
                break;
            case NN_OP_RELU:
                out = at::relu(a);
                break;
            case NN_OP_MAXPOOL:
                out = at::max_pool2d(a, {nd->pool.k, nd->pool.k},
                                     {nd->pool.stride, nd->pool.stride},
                                     {nd->pool.pad, nd->pool.pad});
                break;
            case NN_OP_AVGPOOL:
                out = at::avg_pool2d(a, {nd->pool.k, nd->pool.k},
                                     {nd->pool.stride, nd->pool.stride},
                                     {nd->pool.pad, nd->pool.pad});
                break;
            case NN_OP_GAP:
                out = at::flatten(at::adaptive_avg_pool2d(a, {1, 1}), 1);
                break;
            case NN_OP_ADD:
                out = a + y[(size_t)nd->in1];
                break;
            case NN_OP_FLATTEN:
                out = at::flatten(a, 1);
                break;
            case NN_OP_INPUT:
                out = a;
                break;
            case NN_OP_RECURRENT: /* the NN core's, never in a cnn model */
                throw std::runtime_error("cnn:libtorch: a recurrent layer in a cnn model");
            }
        }
        return y.back();
    }

    torch::Tensor images(const float *x, int n) const
    {
        // A view of the caller's batch: no copy (libtorch does not write it).
        return torch::from_blob(const_cast<float *>(x),
                                {n, in_shape[0], in_shape[1], in_shape[2]}, torch::kFloat32);
    }
};

int lt_create(void **impl, const cnn_engine_setup *su, char *err, size_t errlen)
{
    *impl = nullptr;
    try {
        auto e = std::make_unique<Engine>();
        const nn_model *m = su->init;
        e->m = m;
        e->in_shape = {m->nodes[0].c, m->nodes[0].h, m->nodes[0].w};
        // The peer's thread rules: torch.set_num_threads(threads) with
        // OPENBLAS_NUM_THREADS=1 (whatever BLAS Debian's libtorch calls).
        torch::set_num_threads(su->threads);
        mlb_openblas_set_threads(1);
        for (int j = 0; j < m->n_params; j++) {
            const nn_param *p = &m->params[j];
            std::vector<int64_t> dims(p->dims, p->dims + p->ndim);
            torch::Tensor v = torch::from_blob(p->data, dims, torch::kFloat32).clone();
            if (p->trainable) {
                v.set_requires_grad(true);
                v.mutable_grad() = torch::zeros_like(v);
                e->trainable.push_back(v);
            }
            e->t.push_back(v);
        }
        e->opt = nn_torch_optimizer(e->trainable, su);
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
        torch::Tensor labels =
            torch::from_blob(const_cast<int32_t *>(y), {n}, torch::kInt32).to(torch::kInt64);
        // The peer's zero_grad(set_to_none=False): gradients stay allocated.
        for (auto &p : e->trainable)
            p.mutable_grad().zero_();
        torch::Tensor loss = at::cross_entropy_loss(e->run(e->images(x, n), true), labels);
        loss.backward();
        e->opt->step();
        return loss.item<double>();
    } catch (const std::exception &ex) {
        // The C side reports a non-finite loss as the step's failure.
        fprintf(stderr, "cnn:libtorch: %s\n", ex.what());
        return NAN;
    }
}

void lt_forward(void *impl, const float *x, int n, float *logits)
{
    Engine *e = static_cast<Engine *>(impl);
    try {
        torch::NoGradGuard no_grad;
        torch::Tensor z = e->run(e->images(x, n), false).contiguous();
        std::memcpy(logits, z.data_ptr<float>(), (size_t)z.numel() * sizeof(float));
    } catch (const std::exception &ex) {
        fprintf(stderr, "cnn:libtorch: %s\n", ex.what());
        size_t k = (size_t)n * (size_t)e->m->nodes[e->m->n_nodes - 1].c;
        for (size_t i = 0; i < k; i++)
            logits[i] = NAN;
    }
}

int lt_weights_to(void *impl, nn_model *m, char *err, size_t errlen)
{
    Engine *e = static_cast<Engine *>(impl);
    try {
        for (int j = 0; j < m->n_params; j++) {
            torch::Tensor v = e->t[(size_t)j].detach().contiguous();
            std::memcpy(m->params[j].data, v.data_ptr<float>(),
                        m->params[j].size * sizeof(float));
        }
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
        torch::Tensor labels =
            torch::from_blob(const_cast<int32_t *>(y), {n}, torch::kInt32).to(torch::kInt64);
        for (auto &p : e->trainable)
            p.mutable_grad().zero_();
        torch::Tensor z = e->run(e->images(x, n), true);
        torch::Tensor loss = at::cross_entropy_loss(z, labels);
        loss.backward();
        torch::Tensor zc = z.detach().contiguous();
        std::memcpy(logits, zc.data_ptr<float>(), (size_t)zc.numel() * sizeof(float));
        for (int j = 0; j < m->n_params; j++) {
            nn_param *p = &m->params[j];
            torch::Tensor v = (p->trainable ? e->t[(size_t)j].grad() : e->t[(size_t)j])
                                  .detach()
                                  .contiguous();
            std::memcpy(p->trainable ? p->grad : p->data, v.data_ptr<float>(),
                        p->size * sizeof(float));
        }
        return loss.item<double>();
    } catch (const std::exception &ex) {
        fprintf(stderr, "cnn:libtorch: %s\n", ex.what());
        return NAN;
    }
}

void lt_destroy(void *impl)
{
    delete static_cast<Engine *>(impl);
}

} // namespace

extern "C" const cnn_engine cnn_engine_libtorch = {
    "libtorch", lt_create, lt_train_step, lt_forward, lt_weights_to, lt_destroy, lt_gradients,
};
