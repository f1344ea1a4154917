/*
 * nn: the neural-network core the deep-learning plugins share.
 *
 * One place for the maths. Every layer's forward and backward pass is
 * written once (layers.c); what differs between a plugin's variants is only
 * the kernel table (nn_kernels) that supplies the heavy inner loops: GEMM and
 * 2-D convolution. `naive` runs direct loops, `openblas` runs cblas_sgemm and
 * im2col. The element type nn_real is float; the unit tests compile the
 * same sources with -DNN_DOUBLE to check every backward pass against finite
 * differences in double precision.
 *
 * Conventions:
 *  - Tensors are dense and row-major; images are NCHW, as in PyTorch, so
 *    that weight files and activations compare with PyTorch directly.
 *  - Backward passes ACCUMULATE into the gradients they produce (dx += ...,
 *    dw += ...). A value consumed twice (a residual block's input) then gets
 *    the sum of its consumers' gradients with no extra bookkeeping; callers
 *    zero the gradients before a backward pass.
 *  - A NULL dx means "no gradient wanted" (the network's input) and skips
 *    that work.
 *  - Functions that can fail return 0 or a negative errno value and describe
 *    the failure in a caller-supplied buffer (err, errlen). Kernels and layer
 *    passes cannot fail: everything they need is allocated up front, except
 *    in a table that makes its kernels on first use (onednn), which keeps
 *    its first failure for nn_backend_status.
 */
#ifndef MLB_NN_H
#define MLB_NN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* the libtorch engine (C++) reads models */
#endif

#ifdef NN_DOUBLE
typedef double nn_real;
#define NN_REAL_NAME "f64"
#else
typedef float nn_real;
#define NN_REAL_NAME "f32"
#endif

/* ---- random numbers --------------------------------------------------- */

/* splitmix64: seeded, portable, no library state; the same seed gives the
 * same weights and the same shuffles on every host and in every variant. */
typedef struct {
    uint64_t s;
} nn_rng;

void nn_rng_seed(nn_rng *r, uint64_t seed);
uint64_t nn_rng_next(nn_rng *r);
double nn_rng_uniform(nn_rng *r); /* [0, 1) */
double nn_rng_normal(nn_rng *r);  /* standard normal (Box-Muller) */
uint64_t nn_rng_below(nn_rng *r, uint64_t n); /* [0, n), n > 0 */

/* ---- memory ----------------------------------------------------------- */

/* 64-byte aligned, zeroed; NULL on failure or on overflow of count*size. */
void *nn_alloc(size_t count, size_t size);
void nn_free(void *p);

/* ---- kernels ---------------------------------------------------------- */

/* One 2-D convolution's geometry (square kernel, same stride and padding in
 * both directions, as all the models here need). */
typedef struct {
    int c_in, h_in, w_in;
    int c_out, k, stride, pad;
    int h_out, w_out;
} nn_conv_shape;

/* Fills s; returns 0, or -EINVAL when the geometry is empty or invalid. */
int nn_conv_shape_init(nn_conv_shape *s, int c_in, int h_in, int w_in, int c_out, int k,
                       int stride, int pad);

typedef struct nn_backend nn_backend;

/* What a variant supplies. All but init/release run inside timed loops and
 * must neither allocate nor fail. */
typedef struct {
    const char *name;
    /* Optional: resolve libraries, set thread counts; fills be->data. */
    int (*init)(nn_backend *be, char *err, size_t errlen);
    void (*release)(nn_backend *be);
    /* C = op(A) op(B) + beta*C, row-major; op(X) = X^T when trans_x. C is
     * m x n, op(A) is m x k, op(B) is k x n. */
    void (*gemm)(const nn_backend *be, int trans_a, int trans_b, int m, int n, int k,
                 const nn_real *a, int lda, const nn_real *b, int ldb, nn_real beta, nn_real *c,
                 int ldc);
    /* Scratch elements conv_forward/conv_backward need for a batch of n. */
    size_t (*conv_scratch)(const nn_conv_shape *s, int n);
    /* Optional (NULL: none): elements of a per-layer cache that forward may
     * fill with what backward would otherwise recompute (im2col). */
    size_t (*conv_cache)(const nn_conv_shape *s, int n);
    /* y = conv(x, w) (+ bias when b is not NULL); y is overwritten. cache:
     * conv_cache() elements or NULL; forward fills it, and the backward pass
     * of the same batch (same x and n) reads it. */
    void (*conv_forward)(const nn_backend *be, const nn_conv_shape *s, int n, const nn_real *x,
                         const nn_real *w, const nn_real *b, nn_real *y, nn_real *scratch,
                         nn_real *cache);
    /* dx += dconv/dx (skipped when dx is NULL), dw += dconv/dw, db += sum dy
     * (skipped when db is NULL). */
    void (*conv_backward)(const nn_backend *be, const nn_conv_shape *s, int n, const nn_real *x,
                          const nn_real *w, const nn_real *dy, nn_real *dx, nn_real *dw,
                          nn_real *db, nn_real *scratch, const nn_real *cache);
    /* Optional (NULL: callers use gemm with one row): y = A x + beta*y, A
     * row-major m x n. A single row through GEMM packs all of A first,
     * which costs as much as the product (a transformer's decoding step). */
    void (*gemv)(const nn_backend *be, int m, int n, const nn_real *a, int lda, const nn_real *x,
                 nn_real beta, nn_real *y);
    /* Optional, the transformer's (transformer.c; NULL: the core's loops,
     * nn_layernorm_forward_eps / nn_layernorm_backward): LayerNorm over the
     * last axis of x[N,C], out = (x - mean) rstd w + b with the biased
     * variance, saving mean[N] and rstd[N] = 1/sqrt(var + eps) as the
     * core's loops do (either backward reads either forward's); backward
     * accumulates dx, dw, db. */
    void (*layernorm_forward)(const nn_backend *be, int N, int C, const nn_real *x,
                              const nn_real *w, const nn_real *b, double eps, nn_real *out,
                              nn_real *mean, nn_real *rstd);
    void (*layernorm_backward)(const nn_backend *be, int N, int C, const nn_real *x,
                               const nn_real *w, const nn_real *mean, const nn_real *rstd,
                               double eps, const nn_real *dout, nn_real *dx, nn_real *dw,
                               nn_real *db);
    /* Optional: y = softmax of each of the N rows of x[N, V], rows ld apart
     * in both (y's columns V..ld untouched). 0, or nonzero when it could
     * not (the caller then computes the rows itself). */
    int (*softmax)(const nn_backend *be, int N, int V, int ld, const nn_real *x, nn_real *y);
    /* Optional (NULL: never fails): a table whose kernels can fail (the
     * onednn one creates primitives on a shape's first call) keeps its
     * first failure; 0, or that negative errno with its message in err.
     * Read by nn_backend_status. */
    int (*status)(const nn_backend *be, char *err, size_t errlen);
} nn_kernels;

/* For kernels: the output positions [lo, hi) along one axis whose input
 * position o*stride - pad + k_off lies inside [0, in), so that loops over
 * them need no bounds checks. */
static inline void nn_conv_valid_range(int k_off, int stride, int pad, int in, int out, int *lo,
                                       int *hi)
{
    int a = pad - k_off;          /* o*stride >= a */
    int b = in - 1 + pad - k_off; /* o*stride <= b */
    int l = a <= 0 ? 0 : (a + stride - 1) / stride;
    int h = b < 0 ? 0 : b / stride + 1;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
}

extern const nn_kernels nn_kernels_naive;
extern const nn_kernels nn_kernels_openblas;
/* oneDNN's dnnl_sgemm (kernels_onednn.c), in its own library (nn_onednn_dep
 * in meson) so that only the plugins that use it depend on libdnnl; float32
 * only. nn_onednn_available() is NULL when oneDNN runs here, else why not
 * (for the variants' available()). */
extern const nn_kernels nn_kernels_onednn;
const char *nn_onednn_available(void);
/* The onednn table's primitive cache (kernels_onednn.c), for tests and
 * debug logs: primitives cached now, created and evicted since init,
 * families of matmul shapes on a runtime-dimension primitive, and calls
 * that ran on one. */
typedef struct {
    int cached, runtime_families;
    long created, evicted, runtime_calls;
} nn_onednn_counts;
void nn_onednn_stats(const nn_backend *be, nn_onednn_counts *out);
/* Those counts as one line on f, prefixed by `who`, when be runs the
 * onednn table (the parity drivers' report); nothing otherwise. */
void nn_onednn_print_stats(FILE *f, const char *who, const nn_backend *be);

/* Convolution as im2col + be->k->gemm (kernels_openblas.c), for a kernel
 * table whose GEMM is what it brings: the openblas and onednn tables share
 * it, each running it on its own GEMM. */
size_t nn_im2col_conv_scratch(const nn_conv_shape *s, int n);
size_t nn_im2col_conv_cache(const nn_conv_shape *s, int n);
void nn_im2col_conv_forward(const nn_backend *be, const nn_conv_shape *s, int n, const nn_real *x,
                            const nn_real *w, const nn_real *b, nn_real *y, nn_real *scratch,
                            nn_real *cache);
void nn_im2col_conv_backward(const nn_backend *be, const nn_conv_shape *s, int n,
                             const nn_real *x, const nn_real *w, const nn_real *dy, nn_real *dx,
                             nn_real *dw, nn_real *db, nn_real *scratch, const nn_real *cache);

/* A kernel table bound to its run-time state. */
struct nn_backend {
    const nn_kernels *k;
    int threads;
    void *data; /* owned by k->init / k->release */
};

int nn_backend_init(nn_backend *be, const nn_kernels *k, int threads, char *err, size_t errlen);
void nn_backend_release(nn_backend *be);
/* 0, or the first failure of the backend's kernels since init (sticky; the
 * table's status entry), with its message in err: callers check it after
 * a pass or a phase, since the kernels themselves return nothing. */
static inline int nn_backend_status(const nn_backend *be, char *err, size_t errlen)
{
    return be->k && be->k->status ? be->k->status(be, err, errlen) : 0;
}

/* ---- layers (layers.c): each written once, kernels from the backend ---- */

/* x [n, in], w [out, in] (PyTorch's layout), b [out] or NULL, y [n, out]. */
void nn_linear_forward(const nn_backend *be, int n, int in, int out, const nn_real *x,
                       const nn_real *w, const nn_real *b, nn_real *y);
void nn_linear_backward(const nn_backend *be, int n, int in, int out, const nn_real *x,
                        const nn_real *w, const nn_real *dy, nn_real *dx, nn_real *dw,
                        nn_real *db);

/* Pooling over square windows; max pooling records the winning input index
 * (within the image plane) for backward. Average pooling counts padding
 * cells in the divisor (PyTorch's count_include_pad=True). */
typedef struct {
    int c, h_in, w_in, k, stride, pad, h_out, w_out;
} nn_pool_shape;

int nn_pool_shape_init(nn_pool_shape *s, int c, int h_in, int w_in, int k, int stride, int pad);
void nn_maxpool_forward(const nn_pool_shape *s, int n, const nn_real *x, nn_real *y,
                        int32_t *argmax);
void nn_maxpool_backward(const nn_pool_shape *s, int n, const nn_real *dy, const int32_t *argmax,
                         nn_real *dx);
void nn_avgpool_forward(const nn_pool_shape *s, int n, const nn_real *x, nn_real *y);
void nn_avgpool_backward(const nn_pool_shape *s, int n, const nn_real *dy, nn_real *dx);

/* Global average pooling: x [n, c, hw] -> y [n, c]. */
void nn_gap_forward(int n, int c, int hw, const nn_real *x, nn_real *y);
void nn_gap_backward(int n, int c, int hw, const nn_real *dy, nn_real *dx);

/* Batch normalisation over x [n, c, hw] per channel (hw = 1 after a linear
 * layer). Training: normalise with the batch's mean and biased variance,
 * and update the running statistics with momentum and the unbiased
 * variance (PyTorch's rule). Inference: normalise with the running
 * statistics. Either way the mean and 1/sqrt(var + eps) used are saved for
 * backward, which then differentiates the mode that ran. */
typedef struct {
    int training;
    nn_real momentum, eps;
} nn_bn_mode;

void nn_batchnorm_forward(nn_bn_mode mode, int n, int c, int hw, const nn_real *x,
                          const nn_real *gamma, const nn_real *beta, nn_real *running_mean,
                          nn_real *running_var, nn_real *save_mean, nn_real *save_invstd,
                          nn_real *y);
void nn_batchnorm_backward(nn_bn_mode mode, int n, int c, int hw, const nn_real *x,
                           const nn_real *gamma, const nn_real *save_mean,
                           const nn_real *save_invstd, const nn_real *dy, nn_real *dx,
                           nn_real *dgamma, nn_real *dbeta);

void nn_relu_forward(size_t count, const nn_real *x, nn_real *y);
/* Uses the forward output y (y > 0 exactly where x > 0). */
void nn_relu_backward(size_t count, const nn_real *y, const nn_real *dy, nn_real *dx);

void nn_add_forward(size_t count, const nn_real *a, const nn_real *b, nn_real *y);
void nn_add_backward(size_t count, const nn_real *dy, nn_real *da, nn_real *db);

/* Softmax cross-entropy averaged over the batch: logits [n, k], labels in
 * [0, k). Writes the softmax probabilities (for backward) and returns the
 * mean loss, computed in double. */
double nn_xent_forward(int n, int k, const nn_real *logits, const int32_t *labels,
                       nn_real *probs);
/* dlogits += (probs - onehot(labels)) / n */
void nn_xent_backward(int n, int k, const nn_real *probs, const int32_t *labels,
                      nn_real *dlogits);

/* Huber loss (PyTorch's smooth_l1_loss with beta = delta, mean reduction)
 * of pred [n] against target [n], computed in double (losses.c). */
double nn_huber_forward(int n, const nn_real *pred, const nn_real *target, double delta);
/* dpred[i] += d loss / d pred[i] = clamp(pred - target, -delta, delta) /
 * (delta * n). */
void nn_huber_backward(int n, const nn_real *pred, const nn_real *target, double delta,
                       nn_real *dpred);

/* ---- models: a static graph of layers (model.c) ------------------------ */

typedef enum {
    NN_OP_INPUT = 0,
    NN_OP_CONV,
    NN_OP_LINEAR,
    NN_OP_BN,
    NN_OP_RELU,
    NN_OP_MAXPOOL,
    NN_OP_AVGPOOL,
    NN_OP_GAP,
    NN_OP_ADD,
    NN_OP_FLATTEN,
    NN_OP_RECURRENT, /* recurrent.c: rnn, lstm, gru over a sequence */
} nn_op;

#define NN_NAME_MAX 64
#define NN_MAX_DIMS 4

/* A named tensor of the model: a trainable parameter (with a gradient) or a
 * buffer (batch norm's running statistics). Names follow PyTorch's
 * state_dict keys, so that weight files map onto PyTorch modules. */
typedef struct {
    char name[NN_NAME_MAX];
    int ndim;
    int dims[NN_MAX_DIMS];
    size_t size;
    int trainable;
    size_t offset;  /* into the model's params (trainable) or buffers block */
    nn_real *data;  /* set by nn_model_compile */
    nn_real *grad;  /* trainable only */
} nn_param;

typedef struct {
    nn_op op;
    int in0, in1;  /* input nodes; -1 when unused */
    int c, h, w;   /* per-sample output shape; vectors are (c, 1, 1) */
    size_t size;   /* c*h*w */
    nn_conv_shape conv;
    nn_pool_shape pool;
    int has_bias;
    int p_weight, p_bias, p_mean, p_var; /* indices into params, -1 when unused */
    int aliases;     /* output and gradient are the input's (flatten) */
    nn_real *y, *dy; /* [max_batch * size] */
    int32_t *argmax; /* max pooling */
    nn_real *save_mean, *save_invstd; /* batch norm, [c] */
    nn_real *cache;                   /* convolution's forward-to-backward cache, or NULL */
    struct nn_recurrent *rec;         /* NN_OP_RECURRENT: shape and buffers, owned */
} nn_node;

typedef struct {
    nn_node *nodes;
    int n_nodes, cap_nodes;
    nn_param *params;
    int n_params, cap_params;
    size_t n_weights; /* trainable elements */
    size_t n_buffers; /* buffer elements */
    nn_real *weights, *grads, *buffers; /* flat blocks, owned */
    nn_real *scratch;                   /* kernels' scratch, owned */
    size_t scratch_size;
    nn_real *probs; /* softmax output [max_batch * classes] */
    /* Bytes the convolutions' caches may take in all (set before compiling;
     * nn_model_init sets NN_CONV_CACHE_BUDGET). Layers are given a cache in
     * graph order while it fits. */
    size_t cache_budget;
    int max_batch;
    int compiled;
    int last_training; /* the mode of the last forward pass, for backward */
    const nn_backend *be; /* the kernels the model was compiled for */
    nn_bn_mode bn; /* momentum and eps of every batch-norm layer */
} nn_model;

#define NN_CONV_CACHE_BUDGET ((size_t)64 << 20)

/* Starts a graph whose node 0 is the input, of per-sample shape c x h x w. */
int nn_model_init(nn_model *m, int c, int h, int w);
void nn_model_free(nn_model *m);

/* Builders: each appends a node reading node `in` (and `in1`) and returns
 * its index, or a negative errno (shape mismatch, out of memory). `name` is
 * the PyTorch module path of the layer's parameters ("layer1.0.conv1"). */
int nn_add_conv(nn_model *m, const char *name, int in, int c_out, int k, int stride, int pad,
                int bias);
int nn_add_linear(nn_model *m, const char *name, int in, int out, int bias);
int nn_add_bn(nn_model *m, const char *name, int in);
int nn_add_relu(nn_model *m, int in);
int nn_add_maxpool(nn_model *m, int in, int k, int stride, int pad);
int nn_add_avgpool(nn_model *m, int in, int k, int stride, int pad);
int nn_add_gap(nn_model *m, int in);
int nn_add_add(nn_model *m, int in0, int in1);
int nn_add_flatten(nn_model *m, int in);

/* Allocates weights, gradients, activations for batches up to max_batch,
 * and the scratch the backend's kernels need, and binds the model to `be`
 * (which must outlive it). After it, no pass allocates. */
int nn_model_compile(nn_model *m, const nn_backend *be, int max_batch, char *err, size_t errlen);

/* PyTorch's default initialisation, from a seeded generator: conv and linear
 * weights Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)); batch norm
 * gamma 1, beta 0, running mean 0, running variance 1. */
void nn_model_init_weights(nn_model *m, uint64_t seed);

/* Output node's values: [n, classes]. */
const nn_real *nn_model_output(const nn_model *m);
int nn_model_classes(const nn_model *m);
size_t nn_model_input_size(const nn_model *m);

/* Runs the graph on x [n, input size], n <= max_batch. */
void nn_model_forward(nn_model *m, const nn_real *x, int n, int training);
/* After a forward pass: softmax cross-entropy against labels; returns the
 * mean loss. */
double nn_model_loss(nn_model *m, int n, const int32_t *labels);
/* After nn_model_loss: zeroes activations' gradients, then accumulates the
 * loss's gradient into m->grads (which the caller zeroes per step, see
 * nn_model_zero_grad). */
void nn_model_backward(nn_model *m, int n, const int32_t *labels);
void nn_model_zero_grad(nn_model *m);
/* After a forward pass, for losses the model does not hold (reinforcement
 * learning's): as nn_model_backward, from dout [n, outputs], the loss's
 * gradient with respect to the output node. */
void nn_model_backward_from(nn_model *m, int n, const nn_real *dout);
const nn_param *nn_model_find(const nn_model *m, const char *name);

/* Floating-point operations (2 per multiply-add of the convolutions and
 * linear layers) of one sample's forward pass, for GFLOP/s figures; a
 * training step costs about 3x forward (2x for the first layer, whose input
 * needs no gradient, is ignored). */
double nn_model_forward_flops(const nn_model *m);

/* ---- optimisers (optim.c) ---------------------------------------------- */

typedef enum { NN_SGD = 0, NN_ADAM = 1 } nn_optim_kind;

/* PyTorch's torch.optim.SGD (momentum, dampening 0, L2 weight decay added
 * to the gradient) and torch.optim.Adam (L2 weight decay, bias-corrected). */
typedef struct {
    nn_optim_kind kind;
    double lr, momentum, weight_decay;
    double beta1, beta2, eps;
    long step;
    size_t n;
    nn_real *m, *v; /* owned; v is NULL for SGD */
} nn_optim;

int nn_optim_init(nn_optim *o, nn_optim_kind kind, size_t n, double lr, double momentum,
                  double weight_decay, char *err, size_t errlen);
void nn_optim_step(nn_optim *o, nn_real *w, const nn_real *g);
void nn_optim_free(nn_optim *o);

/* ---- weight files (weights.c; the format is docs/weights-format.md) ----- */

#define NN_WEIGHTS_MAGIC "MLBNNWT\0"
#define NN_WEIGHTS_VERSION 1

/* Every parameter and buffer of the model, by name. */
int nn_weights_save(const nn_model *m, const char *path, char *err, size_t errlen);
/* Loads into a model of identical structure: every tensor of the model must
 * be in the file with the same shape, and the file must hold nothing else.
 * On error, the model's values are unspecified. */
int nn_weights_load(nn_model *m, const char *path, char *err, size_t errlen);

/* ---- recurrent layers (recurrent.c) ------------------------------------
 *
 * PyTorch's nn.RNN (tanh or relu), nn.LSTM and nn.GRU with batch_first=True
 * and bias=True: the same equations, gate order (LSTM i, f, g, o; GRU r, z,
 * n, the reset gate applied to W_hn h + b_hn) and parameter names and
 * layout ("<name>.weight_ih_l0" [G*H, in], "weight_hh_l0" [G*H, H],
 * "bias_ih_l0", "bias_hh_l0" [G*H], "_reverse" for the second direction),
 * so that a state_dict maps onto a weight file one to one.
 *
 * As a graph node it reads a per-sample input of shape (T, I, 1), i.e.
 * x [n, T, I] batch-first, and outputs the last time step of the top
 * layer, [n, H * directions] (PyTorch's output[:, -1, :]), for a linear
 * head. Inside, sequences are time-major so that one step of the whole
 * batch, and the previous step's hidden state, are one strided matrix: the
 * input projections of all steps are one GEMM, and only the recurrent GEMM
 * runs per step, forward and backward. Initial states are zero. */

typedef enum { NN_CELL_RNN_TANH = 0, NN_CELL_RNN_RELU, NN_CELL_LSTM, NN_CELL_GRU } nn_cell;

typedef struct nn_recurrent {
    nn_cell cell;
    int seq_len, input_size, hidden, layers, dirs;
    int gates;     /* G: 1 (rnn), 4 (lstm: i f g o), 3 (gru: r z n) */
    int p_first;   /* params[p_first + 4 * (layer * dirs + dir) + k]: k = w_ih, w_hh, b_ih, b_hh */
    int max_batch; /* B, the batch the buffers below hold */
    nn_real *x0, *dx0; /* [T, B, I]: the input, time-major, and its gradient */
    nn_real *y, *dy;   /* per layer [T, B, H*D]: hidden states (both directions side by side) */
    nn_real *act;      /* per layer and direction [T, B, G*H]: gates after their nonlinearity */
    nn_real *c, *tc;   /* lstm, per layer and direction [T, B, H]: cell state and its tanh */
    nn_real *hn;       /* gru, per layer and direction [T, B, H]: W_hn h + b_hn */
    nn_real *dg, *dhh; /* [T, B, G*H]: gates' pre-activation gradients, input and recurrent side
                        * (the same buffer except for gru, where the n gate's differ by r) */
    nn_real *hh;       /* [B, G*H]: one step's h W_hh^T + b_hh */
    nn_real *dh, *dc, *dhz; /* [B, H]: gradients carried to the previous step */
} nn_recurrent;

/* "rnn_tanh", "rnn_relu", "lstm", "gru"; -1 for another name. */
int nn_cell_parse(const char *name);
const char *nn_cell_name(nn_cell cell);

/* Appends a stack of `layers` recurrent layers of `hidden` units (two
 * directions when bidirectional) reading node `in`, whose per-sample shape
 * must be (T, I, 1). Returns the node's index or a negative errno. */
int nn_add_recurrent(nn_model *m, const char *name, int in, nn_cell cell, int hidden, int layers,
                     int bidirectional);

/* For model.c: buffers for batches up to max_batch, release, PyTorch's
 * initialisation (every tensor U(-1/sqrt(H), 1/sqrt(H))), the passes, and
 * the forward pass's floating-point operations per sample. */
int nn_recurrent_compile(nn_node *nd, int max_batch, double *bytes);
void nn_recurrent_free(nn_node *nd);
void nn_recurrent_init_weights(nn_model *m, const nn_node *nd, nn_rng *r);
void nn_recurrent_forward(const nn_model *m, nn_node *nd, const nn_real *x, int n);
void nn_recurrent_backward(const nn_model *m, nn_node *nd, nn_real *dx, int n);
double nn_recurrent_flops(const nn_node *nd);

/* Builders' access to the graph (model.c), for layers defined in other
 * files: append a node or a named tensor; index or negative errno. */
int nn_model_push_node(nn_model *m, nn_op op, int in0, int in1);
int nn_model_push_param(nn_model *m, const char *module, const char *leaf, int trainable,
                        int ndim, const int *dims);

/* torch.nn.utils.clip_grad_norm_: scales g by max_norm / (norm + 1e-6) when
 * that is below 1; returns the norm before clipping (computed in double). */
double nn_clip_grad_norm(nn_real *g, size_t n, double max_norm);

/* ---- batches and predictions, for every task that classifies (core.c) -- */

/* One batch of a labelled set x [rows, d], y [rows]: row idx[first + i]
 * (idx NULL: (first + i) % rows, so consecutive rows wrap around) into
 * xb [n, d] and yb [n]. */
void nn_gather_batch(const float *x, const int32_t *y, size_t rows, size_t d, const size_t *idx,
                     size_t first, int n, float *xb, int32_t *yb);
/* The index of the largest of row[0..k) (the first of ties). */
int32_t nn_argmax(const nn_real *row, int k);
/* out[i] = nn_argmax of row i of z [n, k]. */
void nn_argmax_rows(const nn_real *z, int n, int k, int32_t *out);
/* For the parity drivers (tools/parity/): DIR/NAME as a .npy file of NumPy
 * dtype descr ("<f4", "<i8", "|u1", ...) of elem bytes (mlb_npy_save);
 * on failure prints "PROG: reason" to stderr. 0 or -1. */
int nn_npy_save(const char *prog, const char *dir, const char *name, const char *descr,
                const void *data, size_t elem, int ndim, const size_t *shape);
#ifdef __cplusplus
}
#endif

#endif
