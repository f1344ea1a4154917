/*
 * The NN core's BERT encoder (Devlin et al. 2018, as Google's
 * modeling.py and Hugging Face's BertModel define it), on the transformer
 * layers of transformer.[ch] and the backend's GEMM, so that the naive and
 * openblas variants share all of it and differ only in their kernel table.
 *
 *   x0  = LN_emb(wte[ids] + wpe[t] + wtt[seg])
 *   per layer (post-LayerNorm):
 *     a   = attention(x W_qkv^T + b_qkv, padding mask)   bidirectional
 *     x1  = LN_1(x + a W_o^T + b_o)
 *     x'  = LN_2(x1 + GELU_erf(x1 W_fc^T + b_fc) W_proj^T + b_proj)
 *   pooled = tanh(x_L[:, 0] W_pool^T + b_pool)            ([CLS])
 *   classify: logits[B,K] = pooled W_head^T + b_head; mean cross-entropy
 *   qa:       logits[B,T,2] = x_L W_head^T + b_head (start, end);
 *             loss = (CE(start over real tokens) + CE(end ...)) / 2
 *
 * Weights are [out, in] (torch.nn.Linear's layout); qkv is one fused
 * projection whose output rows are q, then k, then v (heads at h*hs.. of
 * each), so a PyTorch model with separate query/key/value Linears maps by
 * concatenating their weights along dim 0. LayerNorm eps 1e-12 (BERT's).
 *
 * Attention: scores q.k/sqrt(hs) over all T keys; a key whose mask is 0
 * (padding) gets probability exactly 0 (as masked_fill(-inf) in
 * PyTorch), never a large negative number added; every row has at least
 * [CLS] to attend to. Padded query positions are computed like the others
 * (their outputs enter no loss: classify reads [CLS] only, qa's softmax
 * runs over real tokens only).
 *
 * Shapes: B batch, T sequence (<= max_len), H hidden, NH heads (hs =
 * H/NH), L layers, F = 4H feed-forward, V vocabulary, S segment types (2),
 * K classes (classify) or 2 (qa). N = B*T rows.
 *
 * Backward passes ACCUMULATE into m->grads, as the rest of nn does.
 */
#ifndef MLB_NN_BERT_H
#define MLB_NN_BERT_H

#include "transformer.h"

typedef enum { NN_BERT_HEAD_CLASSIFY = 0, NN_BERT_HEAD_QA = 1 } nn_bert_head;

typedef struct {
    int vocab_size; /* V */
    int max_len;    /* rows of wpe (BERT's max_position_embeddings) */
    int type_vocab; /* S, 2 */
    int num_layers; /* L */
    int num_heads;  /* NH, divides hidden */
    int hidden;     /* H */
    int ffn;        /* F, 4H for BERT */
    nn_bert_head head;
    int num_classes; /* K >= 2 for classify; 2 (start, end) for qa */
} nn_bert_config;

/* Checks the sizes (positive, NH | H, K, products within size_t and int);
 * 0 or -EINVAL with the field and reason in err. */
int nn_bert_config_check(const nn_bert_config *c, char *err, size_t errlen);

#define NN_BERT_NUM_TENSORS 21
/* The parameter tensors, in this order in memory and in the weights file. */
typedef struct {
    nn_real *wte;          /* [V, H] */
    nn_real *wpe;          /* [max_len, H] */
    nn_real *wtt;          /* [S, H] */
    nn_real *lnew, *lneb;  /* [H] embedding LayerNorm */
    nn_real *qkvw;         /* [L, 3H, H] */
    nn_real *qkvb;         /* [L, 3H] */
    nn_real *attow;        /* [L, H, H] */
    nn_real *attob;        /* [L, H] */
    nn_real *ln1w, *ln1b;  /* [L, H] after attention */
    nn_real *fcw;          /* [L, F, H] */
    nn_real *fcb;          /* [L, F] */
    nn_real *fcprojw;      /* [L, H, F] */
    nn_real *fcprojb;      /* [L, H] */
    nn_real *ln2w, *ln2b;  /* [L, H] after the feed-forward */
    nn_real *poolw;        /* [H, H] */
    nn_real *poolb;        /* [H] */
    nn_real *headw;        /* [K, H] */
    nn_real *headb;        /* [K] */
} nn_bert_params;

/* Elements of each tensor, in order; the total is returned. */
size_t nn_bert_param_sizes(const nn_bert_config *c, size_t sizes[NN_BERT_NUM_TENSORS]);
/* Names ("wte", ..., "headb"), for messages, the converter and parity. */
extern const char *const nn_bert_tensor_names[NN_BERT_NUM_TENSORS];
/* Whether AdamW decays the tensor: every weight matrix and embedding, not
 * LayerNorm's gains and the biases (BERT's optimiser). */
extern const int nn_bert_tensor_decays[NN_BERT_NUM_TENSORS];

typedef struct {
    nn_bert_config cfg;
    const nn_backend *be;
    size_t sizes[NN_BERT_NUM_TENSORS];
    size_t n_params;
    nn_real *params_mem, *grads_mem; /* [n_params] each; grads when training */
    nn_bert_params params, grads;    /* views into them */
    nn_real *m_mem, *v_mem;          /* AdamW's moments (training only) */
    int training;
    long adam_step;
    int max_B, max_T;
    /* Activations and their gradients (layout private to bert.c). */
    size_t n_acts;
    nn_real *acts_mem, *grads_acts_mem;
    int32_t *ids, *segments, *mask; /* copies of the last forward's batch [B*T] */
    int32_t *labels;                /* classify [B]; qa [B*2] (start, end) */
    int B, T, have_labels;
    double mean_loss;      /* of the last forward with labels; -1 without */
    nn_real *logits;       /* the last forward's: classify [B,K]; qa [B,T,2] */
} nn_bert;

/* Allocates parameters, activations for B <= max_B, T <= max_T <=
 * cfg->max_len, and, when `training`, the gradients of both and AdamW's
 * moments (nothing is allocated later), and binds the model to `be`
 * (which must outlive it). Parameters are zero; see nn_bert_init_weights.
 * 0, or -ENOMEM / -EINVAL with the reason in err. */
int nn_bert_create(nn_bert *m, const nn_bert_config *cfg, const nn_backend *be, int max_B,
                   int max_T, int training, char *err, size_t errlen);
void nn_bert_free(nn_bert *m);

/* BERT's initialisation from a seeded generator (nn_rng): every weight
 * matrix and embedding N(0, 0.02) (truncation omitted), LayerNorm gains 1,
 * biases 0. */
void nn_bert_init_weights(nn_bert *m, uint64_t seed);

/* Forward over ids[B,T] (< V), segments[B,T] (< S) and mask[B,T] (1 real,
 * 0 padding; mask[b,0] must be 1). labels: classify, labels[B] (< K);
 * qa, labels[2B] (start, end of each, < T, on real tokens); NULL for
 * inference (then no loss). The logits are in m->logits. B <= max_B,
 * T <= max_T. */
void nn_bert_forward(nn_bert *m, const int32_t *ids, const int32_t *segments,
                     const int32_t *mask, const int32_t *labels, int B, int T);
void nn_bert_zero_grad(nn_bert *m);
/* After a forward with labels: accumulates d(mean loss)/d(params). */
void nn_bert_backward(nn_bert *m);
/* Global L2 norm of the gradients, clipped to max_norm when > 0 (as
 * torch.nn.utils.clip_grad_norm_); returns the norm before clipping. */
double nn_bert_clip_grad(nn_bert *m, double max_norm);
/* One AdamW step (torch.optim.AdamW's rule; decay on nn_bert_tensor_decays
 * only), the nn_adamw of transformer.h. */
void nn_bert_adamw_step(nn_bert *m, const nn_adamw *o);

/* BERT's schedule: linear warm-up over `warmup` steps to lr, then linear
 * decay to 0 at `total` (transformers' get_linear_schedule_with_warmup:
 * lr * step/warmup, then lr * (total - step) / (total - warmup)). */
double nn_bert_lr(double lr, int step, int warmup, int total);

/* ---- the weights file (bert.c; docs/bert-weights-format.md) --------------
 * A header of NN_BERT_HEADER_INTS int32 (little-endian): magic, version,
 * vocab_size, max_len, type_vocab, num_layers, num_heads, hidden, ffn,
 * head, num_classes, the rest 0; then the tensors in nn_bert_tensor_names'
 * order as float32, nothing after. */
#define NN_BERT_MAGIC 20261218
#define NN_BERT_VERSION 1
#define NN_BERT_HEADER_INTS 256

/* The configuration in a file's bytes (header checks only). */
int nn_bert_parse_header(const void *data, size_t len, nn_bert_config *cfg, char *err,
                         size_t errlen);
/* Checks a whole file in memory and copies its tensors into m, whose
 * configuration must equal the file's. */
int nn_bert_parse(nn_bert *m, const void *data, size_t len, char *err, size_t errlen);
int nn_bert_read_config(const char *path, nn_bert_config *cfg, char *err, size_t errlen);
int nn_bert_load(nn_bert *m, const char *path, char *err, size_t errlen);
int nn_bert_save(const nn_bert *m, const char *path, char *err, size_t errlen);

/* Its layers (nn_attention_masked_*, nn_gelu_erf_*, nn_layernorm_forward_eps)
 * are declared in transformer.h, with the others. */

#endif
