/*
 * The NN core's transformer: GPT-2 (decoder-only, pre-LayerNorm) written the
 * way llm.c's train_gpt2.c is: plain structs, one flat block of parameters
 * in llm.c's checkpoint order, one flat block of activations, forward and
 * backward of each layer by hand. Matrix products go through the backend's
 * GEMM (nn_kernels.gemm), so the naive and openblas variants share all of
 * this and differ only in their kernel table, as the CNN layers do.
 *
 * Shapes: B batch, T sequence, C channels, NH heads (hs = C/NH), L layers,
 * V vocabulary, Vp V padded (llm.c pads 50257 to 50304 so that the logits'
 * GEMM runs on a multiple of 64 columns; the padded rows of wte are zero
 * and the padded logits never enter the loss). N = B*T rows.
 *
 * Backward passes ACCUMULATE into their gradients, as the rest of nn does.
 */
#ifndef MLB_NN_TRANSFORMER_H
#define MLB_NN_TRANSFORMER_H

#include "nn.h"

/* ---- layers (transformer.c); each used by nn_gpt2 and gradient-checked
 * on its own in tests/test_transformer.c ---------------------------------- */

/* out[B,T,C] = wte[inp[b,t]] + wpe[t]; tokens must be < the rows of wte. */
void nn_encoder_forward(int B, int T, int C, const int32_t *inp, const nn_real *wte,
                        const nn_real *wpe, nn_real *out);
void nn_encoder_backward(int B, int T, int C, const int32_t *inp, const nn_real *dout,
                         nn_real *dwte, nn_real *dwpe);

/* LayerNorm over the last axis of x[N,C] (eps 1e-5, biased variance, as
 * torch.nn.LayerNorm); saves mean[N] and rstd[N] for backward. */
void nn_layernorm_forward(int N, int C, const nn_real *x, const nn_real *w, const nn_real *b,
                          nn_real *out, nn_real *mean, nn_real *rstd);
void nn_layernorm_backward(int N, int C, const nn_real *x, const nn_real *w, const nn_real *mean,
                           const nn_real *rstd, const nn_real *dout, nn_real *dx, nn_real *dw,
                           nn_real *db);

/* Causal self-attention. qkv[B,T,3C] holds q, k, v side by side (the fused
 * projection's output, head h at channels h*hs.. of each); out[B,T,C].
 * att[B,NH,T,T] receives the softmax probabilities (zero above the
 * diagonal), which backward differentiates from: the softmax's gradient is
 * att * (datt - sum(att * datt)), with no second pass of exponentials.
 * scratch: T*T elements for backward (datt of one head). */
void nn_attention_forward(const nn_backend *be, int B, int T, int C, int NH, const nn_real *qkv,
                          nn_real *out, nn_real *att);
void nn_attention_backward(const nn_backend *be, int B, int T, int C, int NH, const nn_real *qkv,
                           const nn_real *att, const nn_real *dout, nn_real *dqkv,
                           nn_real *scratch);

/* GELU, tanh approximation (GPT-2's; torch's approximate='tanh'). */
void nn_gelu_forward(size_t n, const nn_real *x, nn_real *y);
void nn_gelu_backward(size_t n, const nn_real *x, const nn_real *dy, nn_real *dx);

/* BERT's layers (nn_bert, bert.h): */

/* Bidirectional self-attention over qkv[B,T,3H] with a padding mask[B,T]
 * (NULL: none): out[B,T,H], att[B,NH,T,T] the probabilities (0 on masked
 * keys). scratch for backward: T*T. */
void nn_attention_masked_forward(const nn_backend *be, int B, int T, int C, int NH,
                                 const nn_real *qkv, const int32_t *mask, nn_real *out,
                                 nn_real *att);
void nn_attention_masked_backward(const nn_backend *be, int B, int T, int C, int NH,
                                  const nn_real *qkv, const nn_real *att, const nn_real *dout,
                                  nn_real *dqkv, nn_real *scratch);
/* GELU, exact: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (BERT's; torch's
 * default). */
void nn_gelu_erf_forward(size_t n, const nn_real *x, nn_real *y);
void nn_gelu_erf_backward(size_t n, const nn_real *x, const nn_real *dy, nn_real *dx);
/* nn_layernorm_forward with another epsilon (BERT: 1e-12). */
void nn_layernorm_forward_eps(int N, int C, const nn_real *x, const nn_real *w, const nn_real *b,
                              double eps, nn_real *out, nn_real *mean, nn_real *rstd);

/* Softmax over the first V of Vp logits per row, probs[N,Vp] (padded
 * columns 0); returns the mean cross-entropy against targets, in double.
 * Row maxima are subtracted first. */
double nn_softmax_xent_forward(int N, int V, int Vp, const nn_real *logits,
                               const int32_t *targets, nn_real *probs);
/* The same three through the backend's optional table entries
 * (layernorm_forward, layernorm_backward, softmax; the core's loops where
 * the table has none), which nn_gpt2 and nn_bert call. The backward pass
 * takes the forward's eps (a table may save the variance in another
 * form). */
void nn_layernorm_forward_be(const nn_backend *be, int N, int C, const nn_real *x,
                             const nn_real *w, const nn_real *b, double eps, nn_real *out,
                             nn_real *mean, nn_real *rstd);
void nn_layernorm_backward_be(const nn_backend *be, int N, int C, const nn_real *x,
                              const nn_real *w, const nn_real *mean, const nn_real *rstd,
                              double eps, const nn_real *dout, nn_real *dx, nn_real *dw,
                              nn_real *db);
double nn_softmax_xent_forward_be(const nn_backend *be, int N, int V, int Vp,
                                  const nn_real *logits, const int32_t *targets, nn_real *probs);
/* GPT-2's LayerNorm epsilon (torch.nn.LayerNorm's default). */
#define NN_GPT2_LN_EPS 1e-5
/* dlogits += (probs - onehot) / N over the first V columns. */
void nn_softmax_xent_backward(int N, int V, int Vp, const nn_real *probs, const int32_t *targets,
                              nn_real *dlogits);

/* ---- GPT-2 ---------------------------------------------------------------- */

typedef struct {
    int max_seq_len; /* maxT: rows of wpe */
    int vocab_size;  /* V */
    int padded_vocab_size; /* Vp >= V */
    int num_layers;  /* L */
    int num_heads;   /* NH, divides C */
    int channels;    /* C */
} nn_gpt2_config;

/* Checks the sizes (positive, NH | C, Vp >= V, products within size_t and
 * int); 0 or -EINVAL with the reason. */
int nn_gpt2_config_check(const nn_gpt2_config *c, char *err, size_t errlen);

#define NN_GPT2_NUM_TENSORS 16
/* The parameter tensors, in llm.c's checkpoint order. */
typedef struct {
    nn_real *wte;      /* [Vp, C] */
    nn_real *wpe;      /* [maxT, C] */
    nn_real *ln1w, *ln1b; /* [L, C] */
    nn_real *qkvw;     /* [L, 3C, C] */
    nn_real *qkvb;     /* [L, 3C] */
    nn_real *attprojw; /* [L, C, C] */
    nn_real *attprojb; /* [L, C] */
    nn_real *ln2w, *ln2b; /* [L, C] */
    nn_real *fcw;      /* [L, 4C, C] */
    nn_real *fcb;      /* [L, 4C] */
    nn_real *fcprojw;  /* [L, C, 4C] */
    nn_real *fcprojb;  /* [L, C] */
    nn_real *lnfw, *lnfb; /* [C] */
} nn_gpt2_params;

/* Elements of each tensor, in the same order; the total is returned. */
size_t nn_gpt2_param_sizes(const nn_gpt2_config *c, size_t sizes[NN_GPT2_NUM_TENSORS]);
/* Names as in llm.c ("wte", ..., "lnfb"), for messages and parity tools. */
extern const char *const nn_gpt2_tensor_names[NN_GPT2_NUM_TENSORS];
/* Whether AdamW decays the tensor: the 2-D weights (wte, wpe, the four
 * matrices), not LayerNorm's gains and the biases, as GPT-2 trains. */
extern const int nn_gpt2_tensor_decays[NN_GPT2_NUM_TENSORS];

/* Activations of one forward pass, each [.., B, T, ..] for the pass's B, T. */
#define NN_GPT2_NUM_ACTS 21
typedef struct {
    nn_real *encoded;  /* [B,T,C] */
    nn_real *ln1;      /* [L,B,T,C] */
    nn_real *ln1_mean, *ln1_rstd; /* [L,B,T] */
    nn_real *qkv;      /* [L,B,T,3C] */
    nn_real *atty;     /* [L,B,T,C] */
    nn_real *att;      /* [L,B,NH,T,T] */
    nn_real *attproj;  /* [L,B,T,C] */
    nn_real *residual2; /* [L,B,T,C] */
    nn_real *ln2;      /* [L,B,T,C] */
    nn_real *ln2_mean, *ln2_rstd; /* [L,B,T] */
    nn_real *fch;      /* [L,B,T,4C] */
    nn_real *fch_gelu; /* [L,B,T,4C] */
    nn_real *fcproj;   /* [L,B,T,C] */
    nn_real *residual3; /* [L,B,T,C] */
    nn_real *lnf;      /* [B,T,C] */
    nn_real *lnf_mean, *lnf_rstd; /* [B,T] */
    nn_real *logits;   /* [B,T,Vp] */
    nn_real *probs;    /* [B,T,Vp] */
} nn_gpt2_acts;

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
} nn_adamw;

/* AdamW's step number step_no (1-based, for the bias corrections) over a
 * flat block of n_tensors tensors of sizes[], decaying those with
 * decays[t] set: the one update rule of nn_gpt2 and nn_bert. */
void nn_adamw_apply(const nn_adamw *o, long step_no, int n_tensors, const size_t *sizes,
                    const int *decays, nn_real *params, const nn_real *grads, nn_real *m,
                    nn_real *v);

typedef struct {
    nn_gpt2_config cfg;
    const nn_backend *be;
    size_t sizes[NN_GPT2_NUM_TENSORS];
    size_t n_params;
    nn_real *params_mem, *grads_mem; /* [n_params] each */
    nn_gpt2_params params, grads;    /* views into them */
    nn_real *m_mem, *v_mem;          /* AdamW's moments (training only) */
    int training;
    long adam_step;
    /* Activations for batches up to max_B x max_T (both blocks sized for
     * them; a pass lays them out for its own B, T). */
    int max_B, max_T;
    size_t n_acts;
    nn_real *acts_mem, *grads_acts_mem;
    nn_gpt2_acts acts, grads_acts;
    int32_t *inputs, *targets; /* copies of the last forward's batch */
    int B, T;                  /* the last forward's */
    int have_targets;
    double mean_loss; /* of the last forward with targets; -1 without */
    /* KV cache for single-sequence generation (nn_gpt2_step). */
    nn_real *kv;   /* [L, maxT, 2C]: k then v of each position */
    nn_real *step_buf; /* one token's activations */
    nn_real *step_logits; /* [Vp] */
} nn_gpt2;

/* Allocates parameters, activations for B <= max_B, T <= max_T <=
 * cfg->max_seq_len and the KV cache, and, when `training`, gradients of
 * both and AdamW's moments (nothing is allocated later), and binds the
 * model to `be` (which must outlive it). Parameters are zero; see
 * nn_gpt2_init_weights. */
int nn_gpt2_create(nn_gpt2 *m, const nn_gpt2_config *cfg, const nn_backend *be, int max_B,
                   int max_T, int training, char *err, size_t errlen);
void nn_gpt2_free(nn_gpt2 *m);

/* GPT-2's initialisation from a seeded generator: weights N(0, 0.02),
 * the residual projections (attprojw, fcprojw) N(0, 0.02/sqrt(2L)),
 * LayerNorm gains 1, biases 0; padded rows of wte 0. */
void nn_gpt2_init_weights(nn_gpt2 *m, uint64_t seed);

/* Forward over inputs[B,T] (tokens < V). With targets (may be NULL), also
 * the loss, in m->mean_loss. B <= max_B, T <= max_T. */
void nn_gpt2_forward(nn_gpt2 *m, const int32_t *inputs, const int32_t *targets, int B, int T);
void nn_gpt2_zero_grad(nn_gpt2 *m);
/* After a forward with targets: accumulates d(mean loss)/d(params) into
 * m->grads. */
void nn_gpt2_backward(nn_gpt2 *m);
/* The gradients' global L2 norm, and, when max_norm > 0 and the norm
 * exceeds it, the gradients scaled by max_norm / (norm + 1e-6), as
 * torch.nn.utils.clip_grad_norm_. Returns the norm before clipping. */
double nn_gpt2_clip_grad(nn_gpt2 *m, double max_norm);
/* One AdamW step (torch.optim.AdamW's rule, bias-corrected; decoupled
 * weight decay on the nn_gpt2_tensor_decays tensors only). */
void nn_gpt2_adamw_step(nn_gpt2 *m, const nn_adamw *o);

/* Learning rate at step (0-based): linear warmup over `warmup` steps to
 * lr, then constant, or a cosine decay to lr*min_frac at `total`. */
double nn_lr_schedule(double lr, int step, int warmup, int total, int cosine, double min_frac);

/* Incremental decoding of one sequence with the KV cache: the logits[Vp]
 * of `token` at position pos (0 <= pos < max_seq_len), given that
 * positions 0..pos-1 were fed before. */
const nn_real *nn_gpt2_step(nn_gpt2 *m, int32_t token, int pos);

/* ---- llm.c's files (gpt2_io.c) ------------------------------------------ */

#define NN_GPT2_CKPT_MAGIC 20240326
#define NN_GPT2_CKPT_VERSION 3 /* float32 */
#define NN_GPT2_SHARD_MAGIC 20240520
#define NN_GPT2_SHARD_VERSION 1
#define NN_GPT2_TOKENIZER_MAGIC 20240328
#define NN_GPT2_HEADER_INTS 256

/* Parses bytes in memory (a fuzz target drives each such parser); arg is
 * the parser's output. 0 or a negative errno, the message in err. */
typedef int (*nn_bytes_parser)(void *arg, const unsigned char *data, size_t len, char *err,
                               size_t errlen);
/* Runs parse on a file's bytes, the path before its message: the whole
 * file, or with head > 0 only its first head bytes, with the file's size
 * as len, so that a header check sees the length without reading the
 * tensors. And a header then a body written to a file. 0 or a negative
 * errno, the path in err. Shared by the GPT-2 and BERT files. */
int nn_file_parse(const char *path, size_t head, nn_bytes_parser parse, void *arg, char *err,
                  size_t errlen);
int nn_file_write_all(const char *path, const void *hdr, size_t hlen, const void *body,
                      size_t blen, char *err, size_t errlen);
/* A little-endian int32 from 4 bytes (the file headers). */
static inline int32_t nn_le32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}
/* Files of an int32 header then float32 parameters, little-endian (llm.c's
 * checkpoints, nn_bert's weights): the parameters decoded into dst, tensor
 * by tensor (sizes[], names[] for messages "what: name[i] is NaN"), NaN
 * and infinity refused; and such a file written, the n_ints header values
 * zero-padded to hdr_bytes. 0 or a negative errno, the message in err. */
int nn_params_decode(nn_real *dst, const unsigned char *src, const size_t *sizes,
                     size_t n_tensors, const char *const *names, const char *what, char *err,
                     size_t errlen);
int nn_params_save(const char *path, const int32_t *ints, int n_ints, size_t hdr_bytes,
                   const nn_real *params, size_t n, char *err, size_t errlen);

/* The configuration of a checkpoint in memory (the header and size checks
 * only), so that a caller can size a model before loading it. */
int nn_gpt2_ckpt_parse_header(const void *data, size_t len, nn_gpt2_config *cfg, char *err,
                              size_t errlen);
/* Checks header and length of a whole checkpoint in memory and copies its
 * tensors into m, whose configuration must equal the file's. */
int nn_gpt2_ckpt_parse(nn_gpt2 *m, const void *data, size_t len, char *err, size_t errlen);
/* From a file: reads the header, then the tensors. cfg may be NULL. */
int nn_gpt2_ckpt_read_config(const char *path, nn_gpt2_config *cfg, char *err, size_t errlen);
int nn_gpt2_ckpt_load(nn_gpt2 *m, const char *path, char *err, size_t errlen);
int nn_gpt2_ckpt_save(const nn_gpt2 *m, const char *path, char *err, size_t errlen);

/* Token shards: a 256-int32 header (magic, version, count), then count
 * uint16 tokens. parse: tokens -> *out (nn_alloc'd), count -> *n. */
int nn_gpt2_shard_parse(const void *data, size_t len, uint16_t **out, size_t *n, char *err,
                        size_t errlen);
int nn_gpt2_shard_load(const char *path, uint16_t **out, size_t *n, char *err, size_t errlen);
int nn_gpt2_shard_save(const char *path, const uint16_t *tokens, size_t n, char *err,
                       size_t errlen);

/* llm.c's evaluation loader: windows of B*T+1 tokens read sequentially
 * from the start, advancing B*T tokens per batch (inputs are disjoint;
 * the last target of one batch is the first input of the next). */
typedef struct {
    const uint16_t *tokens;
    size_t n, pos;
    int B, T;
} nn_gpt2_loader;

/* Batches a shard of n tokens holds: (n - 1) / (B*T). */
size_t nn_gpt2_loader_batches(size_t n, int B, int T);
void nn_gpt2_loader_init(nn_gpt2_loader *l, const uint16_t *tokens, size_t n, int B, int T);
/* The next batch into inputs[B*T], targets[B*T]; -ENODATA when the shard
 * has no whole window left (then it rewinds), else 0. */
int nn_gpt2_loader_next(nn_gpt2_loader *l, int32_t *inputs, int32_t *targets);

#endif
