/*
 * The part of the gpt2 task every variant shares: the corpus and its
 * tokens, the model (seeded or from an llm.c checkpoint), the three modes,
 * metrics, and the files for the pytorch peer.
 *
 * Batches are llm.c's: windows of B*T+1 tokens read in order from the start
 * of the split (nn_gpt2_loader), so a loss on a shard compares with llm.c's
 * and a peer given the same shards sees the same batches.
 */
#include "gpt2.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bpe.h"
#include "mlbench/data.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the gpt2 plugins run the float32 NN core");

#define GPT2_BYTE_V 256
#define GPT2_BPE_V 50257
#define GPT2_BPE_VP 50304 /* llm.c's padding: a multiple of 128 */
#define GPT2_VAL_FRACTION 0.1
#define GPT2_MOBY_FILE "moby_dick.txt.gz"

typedef enum { MODE_TRAIN, MODE_EVAL, MODE_GENERATE } gpt2_mode;

typedef struct {
    gpt2_mode mode;
    nn_backend be;
    nn_gpt2 model;
    int B, T, steps, warmup, cosine, eval_batches;
    double lr, weight_decay, grad_clip, temperature;
    int top_k, max_new, kv_cache, byte_vocab;
    uint16_t *train_tok, *val_tok;
    size_t n_train, n_val;
    int32_t *x, *y; /* one batch [B*T] */
    nn_gpt2_loader train_loader, val_loader;
    int32_t *prompt;
    int n_prompt;
    int32_t *seq;          /* prompt + generated [maxT] */
    double *lat, *sorted;  /* per-token latencies [max_new] */
    float *scratch;        /* sampling [Vp] */
    int32_t *gen_out;      /* the last generation's tokens [max_new] */
    int32_t *iseq;         /* infer's sequence [maxT] */
    int ilen, iprimed;
    size_t icursor;
    char checkpoint_out[4096];
    char dataset[4096];
    gpt2_bpe bpe; /* vocab=gpt2 with text: the tokeniser */
    int have_bpe;
} gpt2_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void state_free(gpt2_state *s)
{
    if (!s)
        return;
    nn_gpt2_free(&s->model);
    nn_backend_release(&s->be);
    nn_free(s->train_tok);
    nn_free(s->val_tok);
    nn_free(s->x);
    nn_free(s->y);
    nn_free(s->prompt);
    nn_free(s->seq);
    nn_free(s->lat);
    nn_free(s->sorted);
    nn_free(s->scratch);
    nn_free(s->gen_out);
    nn_free(s->iseq);
    if (s->have_bpe)
        gpt2_bpe_free(&s->bpe);
    free(s);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* A text file, plain or gzip (zlib reads both), into memory. */
static int read_text(mlb_ctx *ctx, const char *path, unsigned char **out, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return mlb_error(ctx, "parameter dataset: %s: %s", path, strerror(errno ? errno : EIO));
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (cap - n < (1 << 16)) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            int e;
            const char *msg = gzerror(f, &e);
            int rc = mlb_error(ctx, "parameter dataset: %s: %s", path, msg);
            free(buf);
            gzclose(f);
            return rc;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    gzclose(f);
    if (!buf)
        return mlb_error(ctx, "parameter dataset: %s: out of memory", path);
    *out = buf;
    *len = n;
    return 0;
}

/* GPT-2's tokeniser, loaded on first use (text under vocab=gpt2). */
static int need_bpe(mlb_ctx *ctx, gpt2_state *s)
{
    char err[1024];
    if (s->have_bpe)
        return 0;
    if (gpt2_bpe_load_default(&s->bpe, err, sizeof err) < 0)
        return mlb_error(ctx, "vocab=gpt2: GPT-2's tokeniser: %s", err);
    s->have_bpe = 1;
    return 0;
}

/* Tokens of `text` into a new array: its bytes (vocab=byte), or GPT-2's
 * BPE after an end-of-text token, as llm.c's data scripts start each
 * document. */
static int text_tokens(mlb_ctx *ctx, gpt2_state *s, const unsigned char *text, size_t n,
                       uint16_t **out, size_t *n_out)
{
    if (s->byte_vocab) {
        uint16_t *t = nn_alloc(n ? n : 1, sizeof *t);
        if (!t)
            return mlb_error(ctx, "out of memory for %zu tokens", n);
        for (size_t i = 0; i < n; i++)
            t[i] = text[i];
        *out = t;
        *n_out = n;
        return 0;
    }
    int rc = need_bpe(ctx, s);
    if (rc < 0)
        return rc;
    char err[512];
    int32_t *ids;
    size_t k;
    if (gpt2_bpe_encode(&s->bpe, text, n, &ids, &k, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    uint16_t *t = nn_alloc(k + 1, sizeof *t);
    if (!t) {
        free(ids);
        return mlb_error(ctx, "out of memory for %zu tokens", k + 1);
    }
    t[0] = (uint16_t)s->bpe.eot;
    for (size_t i = 0; i < k; i++)
        t[i + 1] = (uint16_t)ids[i];
    free(ids);
    *out = t;
    *n_out = k + 1;
    return 0;
}

/* Splits all[n] into the first 90% (train) and the rest (validation). */
static int split(mlb_ctx *ctx, gpt2_state *s, uint16_t *all, size_t n)
{
    size_t n_val = (size_t)((double)n * GPT2_VAL_FRACTION);
    s->n_train = n - n_val;
    s->n_val = n_val;
    s->train_tok = all;
    s->val_tok = nn_alloc(n_val ? n_val : 1, sizeof *s->val_tok);
    if (!s->val_tok)
        return mlb_error(ctx, "out of memory for %zu tokens", n_val);
    memcpy(s->val_tok, all + s->n_train, n_val * sizeof *all);
    return 0;
}

static int load_data(mlb_ctx *ctx, gpt2_state *s)
{
    char path[4096], err[1024];
    const char *ds = s->dataset;
    if (!strcmp(ds, "moby-dick")) {
        if (mlb_data_find(GPT2_MOBY_FILE, path, sizeof path, err, sizeof err) < 0)
            return mlb_error(ctx, "parameter dataset: moby-dick: %s", err);
        ds = path;
    } else if (mlb_dataset_registered(ds)) {
        return mlb_error(ctx,
                         "parameter dataset: '%s' is a registered dataset the gpt2 task does not "
                         "take; give moby-dick, a text file or an llm.c .bin shard",
                         ds);
    }
    uint16_t *all = NULL;
    size_t n = 0;
    if (ends_with(ds, ".bin")) {
        int rc = nn_gpt2_shard_load(ds, &all, &n, err, sizeof err);
        if (rc < 0)
            return mlb_error(ctx, "parameter dataset: %s", err);
        int V = s->model.cfg.vocab_size;
        for (size_t i = 0; i < n; i++)
            if (all[i] >= V) {
                rc = mlb_error(ctx,
                               "parameter dataset: %s: token %u at %zu is outside the model's "
                               "vocabulary of %d (vocab=%s)",
                               ds, all[i], i, V, s->byte_vocab ? "byte" : "gpt2");
                nn_free(all);
                return rc;
            }
        if (s->mode == MODE_EVAL) { /* a shard given for evaluation is all validation */
            s->val_tok = all;
            s->n_val = n;
            s->train_tok = nn_alloc(1, sizeof *s->train_tok);
            return s->train_tok ? 0 : mlb_error(ctx, "out of memory");
        }
        return split(ctx, s, all, n);
    }
    unsigned char *text = NULL;
    size_t len = 0;
    int rc = read_text(ctx, ds, &text, &len);
    if (rc < 0)
        return rc;
    rc = text_tokens(ctx, s, text, len, &all, &n);
    free(text);
    if (rc < 0)
        return rc;
    return split(ctx, s, all, n);
}

/* The prompt's tokens: its bytes, or "ids:1,2,3" (any vocabulary). */
static int parse_prompt(mlb_ctx *ctx, gpt2_state *s, const char *p, int V)
{
    size_t cap = strlen(p) + 1;
    s->prompt = nn_alloc(cap, sizeof *s->prompt);
    if (!s->prompt)
        return mlb_error(ctx, "out of memory");
    if (!strncmp(p, "ids:", 4)) {
        const char *q = p + 4;
        while (*q) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q || v < 0 || v >= V)
                return mlb_error(ctx,
                                 "parameter prompt: '%s': ids must be integers in [0, %d), "
                                 "comma-separated",
                                 p, V);
            s->prompt[s->n_prompt++] = (int32_t)v;
            q = *end == ',' ? end + 1 : end;
            if (*end && *end != ',')
                return mlb_error(ctx, "parameter prompt: '%s': unexpected '%c'", p, *end);
        }
    } else if (s->byte_vocab) {
        for (const unsigned char *q = (const unsigned char *)p; *q; q++)
            s->prompt[s->n_prompt++] = *q;
    } else {
        int rc = need_bpe(ctx, s);
        if (rc < 0)
            return rc;
        char err[512];
        int32_t *ids;
        size_t k;
        if (gpt2_bpe_encode(&s->bpe, (const uint8_t *)p, strlen(p), &ids, &k, err, sizeof err) <
            0)
            return mlb_error(ctx, "parameter prompt: %s", err);
        memcpy(s->prompt, ids, k * sizeof *ids); /* k <= strlen(p) < cap */
        s->n_prompt = (int)k;
        free(ids);
    }
    if (s->n_prompt == 0)
        return mlb_error(ctx, "parameter prompt: empty; generation needs at least one token");
    return 0;
}

static int model_config(mlb_ctx *ctx, gpt2_state *s, const char *ckpt, nn_gpt2_config *cfg)
{
    char err[1024];
    if (ckpt[0]) {
        if (nn_gpt2_ckpt_read_config(ckpt, cfg, err, sizeof err) < 0)
            return mlb_error(ctx, "parameter checkpoint: %s", err);
        int want = s->byte_vocab ? GPT2_BYTE_V : GPT2_BPE_V;
        if (cfg->vocab_size != want)
            return mlb_error(ctx,
                             "parameter checkpoint: %s has a vocabulary of %d, vocab=%s needs %d",
                             ckpt, cfg->vocab_size, s->byte_vocab ? "byte" : "gpt2", want);
        return 0;
    }
    *cfg = (nn_gpt2_config){.max_seq_len = (int)mlb_param_int(ctx, "block_size"),
                            .vocab_size = s->byte_vocab ? GPT2_BYTE_V : GPT2_BPE_V,
                            .padded_vocab_size = s->byte_vocab ? GPT2_BYTE_V : GPT2_BPE_VP,
                            .num_layers = (int)mlb_param_int(ctx, "n_layer"),
                            .num_heads = (int)mlb_param_int(ctx, "n_head"),
                            .channels = (int)mlb_param_int(ctx, "n_embd")};
    if (cfg->channels % cfg->num_heads)
        return mlb_error(ctx, "parameters n_head=%d, n_embd=%d: n_head must divide n_embd",
                         cfg->num_heads, cfg->channels);
    return 0;
}

int gpt2_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels)
{
    *state = NULL;
    gpt2_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    char err[1024];
    const char *mode = mlb_param_str(ctx, "mode");
    s->mode = !strcmp(mode, "train") ? MODE_TRAIN : !strcmp(mode, "eval") ? MODE_EVAL
                                                                           : MODE_GENERATE;
    s->byte_vocab = !strcmp(mlb_param_str(ctx, "vocab"), "byte");
    s->B = (int)mlb_param_int(ctx, "batch_size");
    s->T = (int)mlb_param_int(ctx, "seq_len");
    s->steps = (int)mlb_param_int(ctx, "steps");
    s->warmup = (int)mlb_param_int(ctx, "warmup_steps");
    s->cosine = !strcmp(mlb_param_str(ctx, "lr_schedule"), "cosine");
    s->eval_batches = (int)mlb_param_int(ctx, "eval_batches");
    s->lr = mlb_param_float(ctx, "lr");
    s->weight_decay = mlb_param_float(ctx, "weight_decay");
    s->grad_clip = mlb_param_float(ctx, "grad_clip");
    s->temperature = mlb_param_float(ctx, "temperature");
    s->top_k = (int)mlb_param_int(ctx, "top_k");
    s->max_new = (int)mlb_param_int(ctx, "max_new_tokens");
    s->kv_cache = mlb_param_bool(ctx, "kv_cache");
    int threads = (int)mlb_param_int(ctx, "threads");
    const char *ckpt = mlb_param_str(ctx, "checkpoint");
    const char *co = mlb_param_str(ctx, "checkpoint_out");
    const char *ds = mlb_param_str(ctx, "dataset");
    int rc = 0;
    if (strlen(co) >= sizeof s->checkpoint_out || strlen(ds) >= sizeof s->dataset)
        rc = mlb_error(ctx, "parameter checkpoint_out or dataset: path too long");
    snprintf(s->checkpoint_out, sizeof s->checkpoint_out, "%s", co);
    snprintf(s->dataset, sizeof s->dataset, "%s", ds);
    if (rc == 0 && (rc = nn_backend_init(&s->be, kernels, threads, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && threads > 1 && kernels == &nn_kernels_naive &&
        mlb_repetition(ctx) <= 0)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    nn_gpt2_config cfg = {0};
    if (rc == 0)
        rc = model_config(ctx, s, ckpt, &cfg);
    if (rc == 0 && s->T > cfg.max_seq_len)
        rc = mlb_error(ctx, "parameter seq_len=%d exceeds the model's block size %d", s->T,
                       cfg.max_seq_len);
    if (rc == 0 && s->mode == MODE_GENERATE) {
        rc = parse_prompt(ctx, s, mlb_param_str(ctx, "prompt"), cfg.vocab_size);
        if (rc == 0 && s->n_prompt + s->max_new > cfg.max_seq_len)
            rc = mlb_error(ctx,
                           "parameters prompt (%d tokens) + max_new_tokens (%d) exceed the "
                           "model's block size %d",
                           s->n_prompt, s->max_new, cfg.max_seq_len);
    }
    if (rc == 0) {
        int max_B = s->mode == MODE_GENERATE ? 1 : s->B;
        /* Generation recomputing the context needs activations for the
         * longest context it reaches; with the cache, for one token. */
        int max_T = s->mode != MODE_GENERATE ? s->T : s->kv_cache ? 1 : s->n_prompt + s->max_new;
        if ((rc = nn_gpt2_create(&s->model, &cfg, &s->be, max_B, max_T, s->mode == MODE_TRAIN,
                                 err, sizeof err)) < 0)
            rc = mlb_error(ctx, "%s", err);
    }
    if (rc == 0) {
        nn_gpt2_init_weights(&s->model, mlb_seed(ctx));
        if (ckpt[0] && (rc = nn_gpt2_ckpt_load(&s->model, ckpt, err, sizeof err)) < 0)
            rc = mlb_error(ctx, "parameter checkpoint: %s", err);
    }
    if (rc == 0 && s->mode != MODE_GENERATE) {
        rc = load_data(ctx, s);
        size_t need = (size_t)s->B * (size_t)s->T + 1;
        if (rc == 0 && s->mode == MODE_TRAIN && s->n_train < need)
            rc = mlb_error(ctx,
                           "parameter dataset: %s: %zu training tokens, fewer than one batch "
                           "(batch_size x seq_len + 1 = %zu)",
                           s->dataset, s->n_train, need);
        if (rc == 0 && s->n_val < need)
            rc = mlb_error(ctx,
                           "parameter dataset: %s: %zu validation tokens, fewer than one batch "
                           "(batch_size x seq_len + 1 = %zu)",
                           s->dataset, s->n_val, need);
    }
    int Vp = cfg.padded_vocab_size, maxT = cfg.max_seq_len;
    if (rc == 0) {
        size_t bt = (size_t)s->B * (size_t)s->T;
        s->x = nn_alloc(bt, sizeof *s->x);
        s->y = nn_alloc(bt, sizeof *s->y);
        s->seq = nn_alloc((size_t)maxT, sizeof *s->seq);
        s->iseq = nn_alloc((size_t)maxT, sizeof *s->iseq);
        s->lat = nn_alloc((size_t)s->max_new, sizeof *s->lat);
        s->sorted = nn_alloc((size_t)s->max_new, sizeof *s->sorted);
        s->gen_out = nn_alloc((size_t)s->max_new, sizeof *s->gen_out);
        s->scratch = nn_alloc((size_t)Vp, sizeof *s->scratch);
        if (!s->x || !s->y || !s->seq || !s->iseq || !s->lat || !s->sorted || !s->gen_out ||
            !s->scratch)
            rc = mlb_error(ctx, "out of memory for batch buffers");
    }
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    nn_gpt2_loader_init(&s->train_loader, s->train_tok, s->n_train, s->B, s->T);
    nn_gpt2_loader_init(&s->val_loader, s->val_tok, s->n_val, s->B, s->T);
    /* One step and one short pass now, so that one-off costs (OpenBLAS's
     * buffers, first touches, the onednn table's primitives for each
     * shape) stay out of the timed phases; the cache entry it writes is
     * overwritten by the first real step. Training and evaluation run
     * whole batches: one forward pass of a batch (with targets, as they
     * run) and, for training, its backward pass, whose gradients the
     * first step zeroes before its own. Generation without the cache
     * starts from the prompt's context: its first token's pass. */
    int32_t tok0 = 0;
    (void)nn_gpt2_step(&s->model, tok0, 0);
    if (s->mode == MODE_GENERATE && !s->kv_cache)
        nn_gpt2_forward(&s->model, s->prompt, NULL, 1, s->n_prompt);
    else
        nn_gpt2_forward(&s->model, s->x, NULL, 1, s->mode == MODE_GENERATE ? 1 : s->T);
    if (s->mode != MODE_GENERATE) {
        nn_gpt2_forward(&s->model, s->x, s->y, s->B, s->T);
        if (s->mode == MODE_TRAIN)
            nn_gpt2_backward(&s->model);
    }
    if ((rc = nn_backend_status(&s->be, err, sizeof err)) < 0) {
        rc = mlb_error(ctx, "setup's warm-up pass: %s", err);
        state_free(s);
        return rc;
    }
    mlb_log(ctx, MLB_LOG_DEBUG,
            "GPT-2 %s: L=%d NH=%d C=%d maxT=%d V=%d (Vp %d), %zu parameters; %zu train / %zu "
            "validation tokens; %s kernels",
            mode, cfg.num_layers, cfg.num_heads, cfg.channels, cfg.max_seq_len, cfg.vocab_size,
            cfg.padded_vocab_size, s->model.n_params, s->n_train, s->n_val, kernels->name);
    *state = s;
    return 0;
}

/* Forward FLOPs per token: 2 per weight of the matrices (embeddings aside,
 * the head included) plus attention's two T x T products (causal: half). */
static double flops_per_token(const nn_gpt2 *m, int T)
{
    const nn_gpt2_config *c = &m->cfg;
    double C = c->channels, L = c->num_layers;
    double mats = L * 12 * C * C + (double)c->padded_vocab_size * C;
    return 2 * mats + L * 2 * C * T;
}

/* Mean loss over n batches (0: all) of the validation split. */
static double evaluate(gpt2_state *s, int n, int *done)
{
    size_t avail = nn_gpt2_loader_batches(s->n_val, s->B, s->T);
    size_t want = n > 0 && (size_t)n < avail ? (size_t)n : avail;
    nn_gpt2_loader_init(&s->val_loader, s->val_tok, s->n_val, s->B, s->T);
    double sum = 0;
    for (size_t b = 0; b < want; b++) {
        nn_gpt2_loader_next(&s->val_loader, s->x, s->y);
        nn_gpt2_forward(&s->model, s->x, s->y, s->B, s->T);
        sum += s->model.mean_loss;
    }
    *done = (int)want;
    return want ? sum / (double)want : NAN;
}


static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Greedy at temperature 0; else a draw from softmax(logits / t) over the
 * top_k likeliest (all when 0). */
static int32_t sample(gpt2_state *s, const nn_real *l, nn_rng *r)
{
    int V = s->model.cfg.vocab_size;
    if (s->temperature == 0)
        return nn_argmax(l, V);
    float thresh = -INFINITY;
    if (s->top_k > 0 && s->top_k < V) {
        memcpy(s->scratch, l, (size_t)V * sizeof *s->scratch);
        qsort(s->scratch, (size_t)V, sizeof *s->scratch, cmp_desc);
        thresh = s->scratch[s->top_k - 1];
    }
    float mx = l[nn_argmax(l, V)];
    double sum = 0;
    for (int i = 0; i < V; i++) {
        double p = l[i] >= thresh ? exp((double)(l[i] - mx) / s->temperature) : 0;
        s->scratch[i] = (float)p;
        sum += p;
    }
    double u = nn_rng_uniform(r) * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        acc += s->scratch[i];
        if (u < acc && s->scratch[i] > 0)
            return i;
    }
    return nn_argmax(l, V);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default (linear interpolation) of sorted v[n]. */
static double percentile(const double *v, int n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q / 100.0 * (n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

/* Logits of the next token after seq[0..len): a decoding step of the last
 * token with the cache, or the whole context's forward pass. */
static const nn_real *next_logits(gpt2_state *s, const int32_t *seq, int len)
{
    if (s->kv_cache)
        return nn_gpt2_step(&s->model, seq[len - 1], len - 1);
    nn_gpt2_forward(&s->model, seq, NULL, 1, len);
    return s->model.acts.logits + (size_t)(len - 1) * s->model.cfg.padded_vocab_size;
}

static void log_text(mlb_ctx *ctx, gpt2_state *s, const int32_t *t, int n)
{
    char buf[2048];
    size_t used = 0;
    for (int i = 0; i < n && used + 16 < sizeof buf; i++) {
        if (!s->byte_vocab && !s->have_bpe) { /* ids given as ids:..., no tokeniser */
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%d", i ? "," : "", t[i]);
            continue;
        }
        unsigned char one = (unsigned char)t[i];
        const unsigned char *p = &one;
        size_t len = 1;
        if (!s->byte_vocab) {
            p = s->bpe.bytes + s->bpe.off[t[i]];
            len = s->bpe.off[t[i] + 1] - s->bpe.off[t[i]];
        }
        for (size_t j = 0; j < len && used + 16 < sizeof buf; j++) {
            unsigned char c = p[j];
            if (c >= 32 && c < 127 && c != '\\')
                buf[used++] = (char)c;
            else
                used += (size_t)snprintf(buf + used, sizeof buf - used, "\\x%02x", c);
        }
    }
    buf[used] = 0;
    /* Once per run at the default level: every repetition makes the same. */
    mlb_log(ctx, mlb_repetition(ctx) == 0 ? MLB_LOG_INFO : MLB_LOG_DEBUG, "generated: %s", buf);
}

static int run_generate(mlb_ctx *ctx, gpt2_state *s)
{
    nn_rng r;
    nn_rng_seed(&r, mlb_seed(ctx));
    int len = s->n_prompt;
    memcpy(s->seq, s->prompt, (size_t)len * sizeof *s->seq);
    double t0 = now_s(), ttft = 0;
    /* Prefill: with the cache, every prompt token but the last goes in
     * first; the last one's step gives the first new token's logits. */
    if (s->kv_cache)
        for (int i = 0; i < len - 1; i++)
            (void)nn_gpt2_step(&s->model, s->seq[i], i);
    for (int k = 0; k < s->max_new; k++) {
        double a = now_s();
        const nn_real *l = next_logits(s, s->seq, len);
        int32_t tok = sample(s, l, &r);
        double b = now_s();
        s->seq[len++] = tok;
        s->gen_out[k] = tok;
        if (k == 0)
            ttft = b - t0;
        else
            s->lat[k - 1] = b - a;
    }
    double total = now_s() - t0;
    int n = s->max_new - 1;
    memcpy(s->sorted, s->lat, (size_t)n * sizeof *s->sorted);
    qsort(s->sorted, (size_t)n, sizeof *s->sorted, cmp_double);
    log_text(ctx, s, s->gen_out, s->max_new);
    mlb_report_work(ctx, MLB_WORK_TOKENS, s->max_new);
    mlb_report_work(ctx, MLB_WORK_FLOPS,
                    flops_per_token(&s->model, len) * (s->kv_cache ? s->max_new + s->n_prompt - 1
                                                                   : (double)s->max_new * len));
    unsigned f = MLB_METRIC_RESTATES_TIME;
    mlb_report_metric_ex(ctx, "tokens_per_s", s->max_new / total, MLB_HIGHER_IS_BETTER, 0, 0, f);
    mlb_report_metric_ex(ctx, "ttft_ms", 1e3 * ttft, MLB_LOWER_IS_BETTER, 0, 0, f);
    mlb_report_metric_ex(ctx, "latency_p50_ms", 1e3 * percentile(s->sorted, n, 50),
                         MLB_LOWER_IS_BETTER, 0, 0, f);
    mlb_report_metric_ex(ctx, "latency_p90_ms", 1e3 * percentile(s->sorted, n, 90),
                         MLB_LOWER_IS_BETTER, 0, 0, f);
    mlb_report_metric_ex(ctx, "latency_p99_ms", 1e3 * percentile(s->sorted, n, 99),
                         MLB_LOWER_IS_BETTER, 0, 0, f);
    /* The tokens themselves, so that runs (and variants) compare: the first
     * and a position-weighted sum. */
    double h = 0;
    for (int k = 0; k < s->max_new; k++)
        h += (double)(k + 1) * s->gen_out[k];
    mlb_report_metric_ex(ctx, "first_token", s->gen_out[0], MLB_HIGHER_IS_BETTER, 0, 0.5, 0);
    mlb_report_metric_ex(ctx, "token_checksum", h, MLB_HIGHER_IS_BETTER, 0, 0.5, 0);
    return 0;
}

/* The kernels' first failure (the onednn table's, a primitive it could
 * not make), which they cannot return themselves: fails the phase. */
static int kernels_status(mlb_ctx *ctx, gpt2_state *s, int rc)
{
    char err[512];
    if (rc == 0 && nn_backend_status(&s->be, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    return rc;
}

static int run_train(mlb_ctx *ctx, gpt2_state *s);

int gpt2_train(mlb_ctx *ctx, void *state)
{
    gpt2_state *s = state;
    return kernels_status(ctx, s, s->mode == MODE_GENERATE ? run_generate(ctx, s)
                                                            : run_train(ctx, s));
}

static int run_train(mlb_ctx *ctx, gpt2_state *s)
{
    double bt = (double)s->B * s->T, fpt = flops_per_token(&s->model, s->T);
    double last = NAN;
    if (s->mode == MODE_TRAIN) {
        nn_adamw o = {.lr = s->lr, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8,
                      .weight_decay = s->weight_decay};
        for (int step = 0; step < s->steps; step++) {
            if (nn_gpt2_loader_next(&s->train_loader, s->x, s->y) < 0)
                nn_gpt2_loader_next(&s->train_loader, s->x, s->y); /* an epoch ended */
            nn_gpt2_forward(&s->model, s->x, s->y, s->B, s->T);
            last = s->model.mean_loss;
            if (!isfinite(last))
                return mlb_error(ctx, "step %d: the loss diverged (%g); lower lr", step + 1,
                                 last);
            nn_gpt2_zero_grad(&s->model);
            nn_gpt2_backward(&s->model);
            nn_gpt2_clip_grad(&s->model, s->grad_clip);
            o.lr = nn_lr_schedule(s->lr, step, s->warmup, s->steps, s->cosine, 0.1);
            nn_gpt2_adamw_step(&s->model, &o);
            mlb_report_progress(ctx, step + 1, last, "lr", o.lr);
        }
        mlb_report_work(ctx, MLB_WORK_STEPS, s->steps);
        mlb_report_work(ctx, MLB_WORK_TOKENS, bt * s->steps);
        mlb_report_work(ctx, MLB_WORK_FLOPS, 3 * fpt * bt * s->steps);
        mlb_report_metric(ctx, "train_loss", last, MLB_LOWER_IS_BETTER);
    }
    int batches = 0;
    double val = evaluate(s, s->eval_batches, &batches);
    if (s->mode == MODE_EVAL) {
        mlb_report_work(ctx, MLB_WORK_TOKENS, bt * batches);
        mlb_report_work(ctx, MLB_WORK_FLOPS, fpt * bt * batches);
    }
    /* float32 sums over different GEMM orders: 1e-4 relative is the
     * parity bound the variants are held to. */
    mlb_report_metric_ex(ctx, "val_loss", val, MLB_LOWER_IS_BETTER, 1e-4, 0, 0);
    mlb_report_metric_ex(ctx, "perplexity", exp(val), MLB_LOWER_IS_BETTER, 1e-4, 0, 0);
    return 0;
}

int gpt2_infer(mlb_ctx *ctx, void *state)
{
    gpt2_state *s = state;
    if (s->mode == MODE_GENERATE) {
        /* One decoding step. The sequence starts from the prompt on the
         * first call (train's generation has overwritten the cache) and
         * again when the context (or, without the cache, the activations
         * setup sized) is full; those calls include the
         * prompt's prefill. */
        int cap = s->kv_cache ? s->model.cfg.max_seq_len : s->model.max_T;
        if (!s->iprimed || s->ilen >= cap) {
            memcpy(s->iseq, s->prompt, (size_t)s->n_prompt * sizeof *s->iseq);
            s->ilen = s->n_prompt;
            if (s->kv_cache)
                for (int i = 0; i < s->ilen - 1; i++)
                    (void)nn_gpt2_step(&s->model, s->iseq[i], i);
            s->iprimed = 1;
        }
        const nn_real *l = next_logits(s, s->iseq, s->ilen);
        s->iseq[s->ilen++] = nn_argmax(l, s->model.cfg.vocab_size);
        mlb_report_work(ctx, MLB_WORK_TOKENS, 1);
        return kernels_status(ctx, s, 0);
    }
    /* One sequence of validation tokens, next-token logits for each. */
    size_t span = s->n_val - (size_t)s->T;
    if (s->icursor >= span)
        s->icursor = 0;
    for (int i = 0; i < s->T; i++)
        s->x[i] = s->val_tok[s->icursor + (size_t)i];
    s->icursor += (size_t)s->T;
    nn_gpt2_forward(&s->model, s->x, NULL, 1, s->T);
    mlb_report_work(ctx, MLB_WORK_TOKENS, s->T);
    mlb_report_work(ctx, MLB_WORK_FLOPS, flops_per_token(&s->model, s->T) * s->T);
    return kernels_status(ctx, s, 0);
}

/* Tokens as int64 .npy, the peer protocol's arrays. */
static int write_tokens(mlb_ctx *ctx, const char *dir, const char *name, const uint16_t *u16,
                        const int32_t *i32, size_t n)
{
    char path[4200];
    int64_t *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return mlb_error(ctx, "out of memory");
    for (size_t i = 0; i < n; i++)
        t[i] = u16 ? u16[i] : i32[i];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    size_t shape[1] = {n};
    int rc = mlb_npy_write(ctx, path, MLB_NPY_I64, t, 1, shape);
    free(t);
    return rc;
}

/* For the pytorch peer (docs/peer-protocol.md): the initial weights as an
 * llm.c checkpoint (init.bin) and the splits and the prompt as token
 * arrays, so that it trains the same model from the same start on the same
 * batches, or continues the same prompt. */
int gpt2_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    gpt2_state *s = state;
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/init.bin", dir);
    if (nn_gpt2_ckpt_save(&s->model, path, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    int rc = write_tokens(ctx, dir, "train_tokens", s->train_tok, NULL, s->n_train);
    if (rc == 0)
        rc = write_tokens(ctx, dir, "val_tokens", s->val_tok, NULL, s->n_val);
    if (rc == 0)
        rc = write_tokens(ctx, dir, "prompt_tokens", NULL, s->prompt, (size_t)s->n_prompt);
    return rc;
}

int gpt2_teardown(mlb_ctx *ctx, void *state)
{
    gpt2_state *s = state;
    int rc = 0;
    char err[1024];
    if (s && s->checkpoint_out[0] &&
        nn_gpt2_ckpt_save(&s->model, s->checkpoint_out, err, sizeof err) < 0)
        rc = mlb_error(ctx, "parameter checkpoint_out: %s", err);
    state_free(s);
    return rc;
}
