/*
 * The part of the bert task every variant shares: data into examples
 * (tokenised once, here), the seeded split and subsample, the training
 * loop, evaluation and metrics of both heads, inference, the files for the
 * pytorch peer, checkpoints.
 *
 * Every example is max_len tokens, padded: the batches the C trains on
 * and the ones the peer reads (export) are the same arrays.
 */
#include "bert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "mlbench/data.h"
#include "metrics.h"
#include "qa.h"
#include "squad_metrics.h"
#include "textdata.h"
#include "wordpiece.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the bert plugins run the float32 NN core");

#define BERT_SPAM_FILE "spam_assassin.tsv.gz"
#define BERT_VOCAB_FILE "bert_uncased_vocab.txt.gz"
#define BERT_MAX_ANSWER 30 /* tokens; end - start < this, as BERT's run_squad */
#define BERT_PATH 4096

typedef enum { HEAD_CLASSIFY = 0, HEAD_QA = 1 } bert_head;

/* One split's examples, each T tokens (row-major [n, T]). */
typedef struct {
    size_t n;
    int32_t *ids, *seg, *mask; /* [n*T] */
    int32_t *labels;           /* classify [n]; qa [n*2], -1 -1 when the answer was cut */
    /* qa only: the source example (context, truths) and each position's
     * bytes of the context, -1 -1 off the context. */
    const qa_example **src;    /* [n] */
    int64_t *off;              /* [n*T*2] */
} bert_split;

typedef struct {
    bert_head head;
    nn_backend be;
    nn_bert model;
    int T, B, epochs, infer_batch, max_batch;
    double lr, warmup, weight_decay, grad_clip;
    bert_split train, test;
    int n_classes, positive;
    char **class_names;      /* [n_classes] (classify), for the peer's meta.json */
    size_t *order;           /* [epochs * train.n]: each epoch's training order */
    int32_t *bids, *bseg, *bmask, *blab; /* one batch: [max_batch*T], labels [max_batch*2] */
    int *truth, *pred;       /* classify evaluation [max_batch] */
    size_t *conf;            /* [K*K] */
    char *span;              /* qa: a predicted answer's text [longest context + 1] */
    size_t qa_dropped;       /* examples whose answer truncation cut off */
    size_t infer_cursor;
    qa_set *qa;              /* owns the qa examples the splits point into */
    char checkpoint_out[BERT_PATH];
} bert_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void split_free(bert_split *d)
{
    nn_free(d->ids);
    nn_free(d->seg);
    nn_free(d->mask);
    nn_free(d->labels);
    nn_free(d->src);
    nn_free(d->off);
}

static void state_free(bert_state *s)
{
    if (!s)
        return;
    nn_bert_free(&s->model);
    nn_backend_release(&s->be);
    split_free(&s->train);
    split_free(&s->test);
    nn_free(s->order);
    nn_free(s->bids);
    nn_free(s->bseg);
    nn_free(s->bmask);
    nn_free(s->blab);
    nn_free(s->truth);
    nn_free(s->pred);
    nn_free(s->conf);
    nn_free(s->span);
    qa_set_free(s->qa);
    for (int c = 0; s->class_names && c < s->n_classes; c++)
        free(s->class_names[c]);
    free(s->class_names);
    free(s);
}

static int split_alloc(bert_split *d, size_t n, int T, int qa)
{
    size_t nt = (n ? n : 1) * (size_t)T;
    d->n = n;
    d->ids = nn_alloc(nt, sizeof *d->ids);
    d->seg = nn_alloc(nt, sizeof *d->seg);
    d->mask = nn_alloc(nt, sizeof *d->mask);
    d->labels = nn_alloc((n ? n : 1) * 2, sizeof *d->labels);
    if (qa) {
        d->src = nn_alloc(n ? n : 1, sizeof *d->src);
        d->off = nn_alloc(nt * 2, sizeof *d->off);
    }
    return d->ids && d->seg && d->mask && d->labels && (!qa || (d->src && d->off)) ? 0
                                                                                   : -ENOMEM;
}

static void shuffle(size_t *v, size_t n, nn_rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nn_rng_below(r, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Seeded, stratified by label (one class for qa): which of n examples are
 * used (at most max, each class in proportion) and which of those are
 * test (test_fraction of each class, at least one of a class of two or
 * more). Both lists come back in the data's order. */
static int choose_split(const int32_t *label, size_t n, int k, size_t max, double frac,
                        uint64_t seed, size_t **tr, size_t *ntr, size_t **te, size_t *nte)
{
    size_t *by = malloc((n ? n : 1) * sizeof *by), *count = calloc((size_t)k, sizeof *count);
    *tr = malloc((n ? n : 1) * sizeof **tr);
    *te = malloc((n ? n : 1) * sizeof **te);
    if (!by || !count || !*tr || !*te) {
        free(by);
        free(count);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        count[label ? label[i] : 0]++;
    nn_rng r;
    nn_rng_seed(&r, seed ^ UINT64_C(0x73706c6974212121)); /* "split!!!" */
    size_t use_total = max && max < n ? max : n, given = 0;
    *ntr = *nte = 0;
    for (int c = 0; c < k; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if ((label ? label[i] : 0) == c)
                by[m++] = i;
        shuffle(by, m, &r);
        /* The last class takes what rounding left, so that max is exact. */
        size_t left = use_total - given; /* given <= use_total: the cap below */
        size_t use = c == k - 1 ? left
                                : (size_t)((double)m * (double)use_total / (double)n + 0.5);
        if (use > left)
            use = left;
        if (use > m)
            use = m;
        given += use;
        size_t test = (size_t)((double)use * frac + 0.5);
        if (test == 0 && use >= 2)
            test = 1;
        if (test == use && use >= 2)
            test = use - 1;
        for (size_t i = 0; i < use; i++) {
            if (i < test)
                (*te)[(*nte)++] = by[i];
            else
                (*tr)[(*ntr)++] = by[i];
        }
    }
    qsort(*tr, *ntr, sizeof **tr, cmp_size);
    qsort(*te, *nte, sizeof **te, cmp_size);
    free(by);
    free(count);
    return 0;
}

static int load_vocab(mlb_ctx *ctx, wp_vocab **v)
{
    char path[BERT_PATH], err[1024];
    const char *p = mlb_param_str(ctx, "vocab");
    if (!p[0]) {
        if (mlb_data_find(BERT_VOCAB_FILE, path, sizeof path, err, sizeof err) < 0)
            return mlb_error(ctx, "parameter vocab: BERT's uncased vocabulary: %s", err);
        p = path;
    }
    if (wp_vocab_load(p, v, err, sizeof err) < 0)
        return mlb_error(ctx, "parameter vocab: %s", err);
    return 0;
}

/* ---- classify: labelled text ---------------------------------------------- */

static int classify_fill(mlb_ctx *ctx, bert_state *s, const wp_vocab *v, const text_set *t,
                         const size_t *idx, size_t n, bert_split *d)
{
    if (split_alloc(d, n, s->T, 0) < 0)
        return mlb_error(ctx, "out of memory for %zu examples of %d tokens", n, s->T);
    for (size_t i = 0; i < n; i++) {
        size_t o = i * (size_t)s->T;
        const char *x = t->text[idx[i]];
        int rc = wp_encode_example(v, x, strlen(x), NULL, 0, s->T, d->ids + o, d->seg + o,
                                   d->mask + o);
        if (rc < 0)
            return mlb_error(ctx, "tokenising example %zu: %s", idx[i], strerror(-rc));
        d->labels[i] = t->label[idx[i]];
    }
    return 0;
}

static int classify_data(mlb_ctx *ctx, bert_state *s, const wp_vocab *v, const char *ds)
{
    char path[BERT_PATH], err[1024];
    if (!ds[0] || !strcmp(ds, "spam")) {
        if (mlb_data_find(BERT_SPAM_FILE, path, sizeof path, err, sizeof err) < 0)
            return mlb_error(ctx, "parameter dataset: spam: %s (tools/setup.sh fetches it)",
                             err);
        ds = path;
    } else if (!strcmp(ds, "synthetic")) {
        return mlb_error(ctx, "parameter dataset: synthetic is qa's; head=classify takes spam "
                              "or a .tsv/.csv file of text,label");
    }
    text_set *t = NULL;
    if (text_set_load(ds, &t, err, sizeof err) < 0)
        return mlb_error(ctx, "parameter dataset: %s", err);
    int rc = 0;
    if (t->n_classes < 2)
        rc = mlb_error(ctx, "parameter dataset: %s: %d class; classification needs two or more",
                       ds, t->n_classes);
    s->n_classes = t->n_classes;
    s->class_names = calloc((size_t)t->n_classes, sizeof *s->class_names);
    for (int c = 0; rc == 0 && c < t->n_classes; c++)
        if (!s->class_names || !(s->class_names[c] = strdup(t->class_names[c])))
            rc = mlb_error(ctx, "out of memory");
    int spam = text_set_class(t, "spam");
    s->positive = spam >= 0 ? spam : 1;
    size_t *tr = NULL, *te = NULL, ntr = 0, nte = 0;
    if (rc == 0 && choose_split(t->label, t->n, t->n_classes,
                                (size_t)mlb_param_int(ctx, "max_examples"),
                                mlb_param_float(ctx, "test_fraction"), mlb_seed(ctx), &tr, &ntr,
                                &te, &nte) < 0)
        rc = mlb_error(ctx, "out of memory");
    if (rc == 0 && (ntr == 0 || nte == 0))
        rc = mlb_error(ctx, "parameter dataset: %s: %zu training and %zu test examples; both "
                            "splits need one (more data, or another test_fraction)",
                       ds, ntr, nte);
    if (rc == 0)
        rc = classify_fill(ctx, s, v, t, tr, ntr, &s->train);
    if (rc == 0)
        rc = classify_fill(ctx, s, v, t, te, nte, &s->test);
    free(tr);
    free(te);
    text_set_free(t);
    return rc;
}

/* ---- qa: [CLS] question [SEP] context [SEP] ------------------------------- */

/* One qa example into row i of d. The question keeps what leaves room for
 * one context token; the context is cut at the end (only the second part
 * is truncated, as BERT's SQuAD code without its sliding windows). Returns
 * 1 when the answer span survived, 0 when it was cut off (labels -1), or
 * negative. */
static int qa_fill_one(bert_state *s, const wp_vocab *v, const qa_example *e, bert_split *d,
                       size_t i, int32_t *qbuf, int32_t *cbuf, size_t *cs, size_t *ce)
{
    int T = s->T;
    size_t cap = (size_t)T, nq = 0, nc = 0;
    if (wp_encode(v, e->question, strlen(e->question), qbuf, cap, &nq) < 0 ||
        wp_encode_offsets(v, e->context, strlen(e->context), cbuf, cs, ce, cap, &nc) < 0)
        return -ENOMEM;
    size_t q_keep = nq < cap - 4 ? nq : cap - 4; /* T >= 4 here */
    size_t room = cap - 3 - q_keep, c_keep = nc < room ? nc : room;
    int32_t *ids = d->ids + i * cap, *seg = d->seg + i * cap, *mask = d->mask + i * cap;
    int64_t *off = d->off + i * cap * 2;
    int k = 0;
    for (int t = 0; t < T; t++)
        off[2 * t] = off[2 * t + 1] = -1;
    ids[k] = wp_cls(v), seg[k] = 0, k++;
    for (size_t j = 0; j < q_keep; j++)
        ids[k] = qbuf[j], seg[k] = 0, k++;
    ids[k] = wp_sep(v), seg[k] = 0, k++;
    int c0 = k;
    for (size_t j = 0; j < c_keep; j++) {
        off[2 * k] = (int64_t)cs[j];
        off[2 * k + 1] = (int64_t)ce[j];
        ids[k] = cbuf[j], seg[k] = 1, k++;
    }
    ids[k] = wp_sep(v), seg[k] = 1, k++;
    for (int t = 0; t < T; t++)
        mask[t] = t < k;
    for (int t = k; t < T; t++)
        ids[t] = wp_pad(v), seg[t] = 0;
    d->src[i] = e;
    /* The answer's bytes [a0, a1): the first and last kept context tokens
     * that overlap them; cut off when a token past the kept ones does. */
    size_t a0 = e->answer_start, a1 = a0 + strlen(e->answer);
    int first = -1, last = -1;
    for (size_t j = 0; j < c_keep; j++)
        if (cs[j] < a1 && ce[j] > a0) {
            if (first < 0)
                first = (int)j;
            last = (int)j;
        }
    int cut = c_keep < nc && cs[c_keep] < a1;
    if (first < 0 || cut) {
        d->labels[2 * i] = d->labels[2 * i + 1] = -1;
        return 0;
    }
    d->labels[2 * i] = c0 + first;
    d->labels[2 * i + 1] = c0 + last;
    return 1;
}

/* Fills d with the examples idx[0..n); for training (keep_cut 0) the ones
 * whose answer was cut off are left out, for testing they stay (a miss). */
static int qa_fill(mlb_ctx *ctx, bert_state *s, const wp_vocab *v, const size_t *idx, size_t n,
                   int keep_cut, bert_split *d)
{
    size_t cap = (size_t)s->T;
    int32_t *qbuf = malloc(cap * sizeof *qbuf), *cbuf = malloc(cap * sizeof *cbuf);
    size_t *cs = malloc(cap * sizeof *cs), *ce = malloc(cap * sizeof *ce);
    int rc = qbuf && cbuf && cs && ce ? split_alloc(d, n, s->T, 1) : -ENOMEM;
    size_t kept = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int ok = qa_fill_one(s, v, &s->qa->ex[idx[i]], d, kept, qbuf, cbuf, cs, ce);
        if (ok < 0)
            rc = ok;
        else if (ok || keep_cut)
            kept++;
        if (ok == 0)
            s->qa_dropped++;
    }
    d->n = kept;
    free(qbuf);
    free(cbuf);
    free(cs);
    free(ce);
    return rc < 0 ? mlb_error(ctx, "out of memory for %zu qa examples of %d tokens", n, s->T) : 0;
}

static int qa_data(mlb_ctx *ctx, bert_state *s, const wp_vocab *v, const char *ds)
{
    char err[1024];
    if (!ds[0] || !strcmp(ds, "synthetic")) {
        int rc = qa_synth(mlb_seed(ctx), (size_t)mlb_param_int(ctx, "qa_examples"),
                          (int)mlb_param_int(ctx, "qa_entities"), &s->qa);
        if (rc < 0)
            return mlb_error(ctx, "the synthetic qa set: %s", strerror(-rc));
    } else if (!strcmp(ds, "spam")) {
        return mlb_error(ctx, "parameter dataset: spam is classify's; head=qa takes synthetic "
                              "or a SQuAD v1.1 .json file");
    } else if (qa_load_squad(ds, &s->qa, err, sizeof err) < 0) {
        return mlb_error(ctx, "parameter dataset: %s", err);
    }
    size_t *tr = NULL, *te = NULL, ntr = 0, nte = 0, longest = 0;
    int rc = 0;
    if (choose_split(NULL, s->qa->n, 1, (size_t)mlb_param_int(ctx, "max_examples"),
                     mlb_param_float(ctx, "test_fraction"), mlb_seed(ctx), &tr, &ntr, &te,
                     &nte) < 0)
        rc = mlb_error(ctx, "out of memory");
    if (rc == 0)
        rc = qa_fill(ctx, s, v, tr, ntr, 0, &s->train);
    if (rc == 0)
        rc = qa_fill(ctx, s, v, te, nte, 1, &s->test);
    if (rc == 0 && (s->train.n == 0 || s->test.n == 0))
        rc = mlb_error(ctx,
                       "parameter dataset: %s: %zu training and %zu test examples (%zu with "
                       "their answer cut off at max_len=%d); both splits need one",
                       ds[0] ? ds : "synthetic", s->train.n, s->test.n, s->qa_dropped, s->T);
    for (size_t i = 0; rc == 0 && i < s->test.n; i++) {
        size_t l = strlen(s->test.src[i]->context);
        longest = l > longest ? l : longest;
    }
    if (rc == 0 && !(s->span = nn_alloc(longest + 1, 1)))
        rc = mlb_error(ctx, "out of memory");
    free(tr);
    free(te);
    return rc;
}

/* ---- the model ------------------------------------------------------------ */

static int model_config(mlb_ctx *ctx, bert_state *s, const wp_vocab *v, nn_bert_config *cfg)
{
    char err[1024];
    const char *ckpt = mlb_param_str(ctx, "checkpoint");
    int K = s->head == HEAD_QA ? 2 : s->n_classes;
    nn_bert_head h = s->head == HEAD_QA ? NN_BERT_HEAD_QA : NN_BERT_HEAD_CLASSIFY;
    if (ckpt[0]) {
        if (nn_bert_read_config(ckpt, cfg, err, sizeof err) < 0)
            return mlb_error(ctx, "parameter checkpoint: %s", err);
        if (cfg->head != h || cfg->num_classes != K || cfg->vocab_size != (int)wp_vocab_size(v))
            return mlb_error(ctx,
                             "parameter checkpoint: %s is a %s model of %d outputs over %d "
                             "tokens; this run needs %s with %d over the vocabulary's %zu",
                             ckpt, cfg->head == NN_BERT_HEAD_QA ? "qa" : "classify",
                             cfg->num_classes, cfg->vocab_size,
                             h == NN_BERT_HEAD_QA ? "qa" : "classify", K, wp_vocab_size(v));
        if (cfg->max_len < s->T)
            return mlb_error(ctx,
                             "parameter max_len: %d exceeds the checkpoint's %d positions (%s)",
                             s->T, cfg->max_len, ckpt);
        return 0;
    }
    int H = (int)mlb_param_int(ctx, "hidden"), NH = (int)mlb_param_int(ctx, "n_head");
    int F = (int)mlb_param_int(ctx, "ffn");
    if (H % NH)
        return mlb_error(ctx, "parameter n_head: %d does not divide hidden=%d", NH, H);
    *cfg = (nn_bert_config){.vocab_size = (int)wp_vocab_size(v),
                            .max_len = s->T,
                            .type_vocab = 2,
                            .num_layers = (int)mlb_param_int(ctx, "n_layer"),
                            .num_heads = NH,
                            .hidden = H,
                            .ffn = F ? F : 4 * H,
                            .head = h,
                            .num_classes = K};
    if (nn_bert_config_check(cfg, err, sizeof err) < 0)
        return mlb_error(ctx, "the model: %s", err);
    return 0;
}

/* Forward FLOPs of one sequence of T tokens: 2 per weight of the layers'
 * matrices per token, attention's two T x T products, pooler and head. */
static double flops_per_seq(const nn_bert *m, int T)
{
    const nn_bert_config *c = &m->cfg;
    double H = c->hidden, F = c->ffn, L = c->num_layers, K = c->num_classes;
    double per_tok = L * (2 * (4 * H * H + 2 * H * F) + 4 * T * H);
    return per_tok * T + 2 * H * H + 2 * H * K * (c->head == NN_BERT_HEAD_QA ? T : 1);
}

static int kernels_status(mlb_ctx *ctx, bert_state *s, int rc);

int bert_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels)
{
    char err[1024];
    bert_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->head = strcmp(mlb_param_str(ctx, "head"), "qa") ? HEAD_CLASSIFY : HEAD_QA;
    s->T = (int)mlb_param_int(ctx, "max_len");
    s->B = (int)mlb_param_int(ctx, "batch_size");
    s->epochs = (int)mlb_param_int(ctx, "epochs");
    s->infer_batch = (int)mlb_param_int(ctx, "infer_batch");
    s->lr = mlb_param_float(ctx, "lr");
    s->warmup = mlb_param_float(ctx, "warmup");
    s->weight_decay = mlb_param_float(ctx, "weight_decay");
    s->grad_clip = mlb_param_float(ctx, "grad_clip");
    s->max_batch = s->B > s->infer_batch ? s->B : s->infer_batch;
    int threads = (int)mlb_param_int(ctx, "threads");
    const char *ds = mlb_param_str(ctx, "dataset");
    const char *out = mlb_param_str(ctx, "checkpoint_out");
    int rc = 0;
    /* [CLS] q [SEP] c [SEP] with a token of each: 5; the rule's floor is
     * classify's [CLS] x. */
    if (s->head == HEAD_QA && s->T < 5)
        rc = mlb_error(ctx, "parameter max_len: %d; head=qa needs at least 5 ([CLS] question "
                            "[SEP] context [SEP])",
                       s->T);
    if (rc == 0 && strlen(out) >= sizeof s->checkpoint_out)
        rc = mlb_error(ctx, "parameter checkpoint_out: longer than %zu bytes",
                       sizeof s->checkpoint_out - 1);
    if (rc == 0)
        snprintf(s->checkpoint_out, sizeof s->checkpoint_out, "%s", out);
    if (rc == 0 && (rc = nn_backend_init(&s->be, kernels, threads, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && threads > 1 && kernels == &nn_kernels_naive)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    wp_vocab *v = NULL;
    if (rc == 0)
        rc = load_vocab(ctx, &v);
    if (rc == 0)
        rc = s->head == HEAD_QA ? qa_data(ctx, s, v, ds) : classify_data(ctx, s, v, ds);
    nn_bert_config cfg;
    if (rc == 0)
        rc = model_config(ctx, s, v, &cfg);
    wp_vocab_free(v);
    if (rc == 0 && (rc = nn_bert_create(&s->model, &cfg, &s->be, s->max_batch, s->T,
                                        s->epochs > 0, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0) {
        nn_bert_init_weights(&s->model, mlb_seed(ctx));
        const char *ckpt = mlb_param_str(ctx, "checkpoint");
        if (ckpt[0] && (rc = nn_bert_load(&s->model, ckpt, err, sizeof err)) < 0)
            rc = mlb_error(ctx, "parameter checkpoint: %s", err);
    }
    size_t bt = (size_t)s->max_batch * (size_t)s->T, ntr = s->train.n;
    if (rc == 0) {
        s->bids = nn_alloc(bt, sizeof *s->bids);
        s->bseg = nn_alloc(bt, sizeof *s->bseg);
        s->bmask = nn_alloc(bt, sizeof *s->bmask);
        s->blab = nn_alloc((size_t)s->max_batch * 2, sizeof *s->blab);
        s->truth = nn_alloc((size_t)s->max_batch, sizeof *s->truth);
        s->pred = nn_alloc((size_t)s->max_batch, sizeof *s->pred);
        s->conf = nn_alloc((size_t)cfg.num_classes * (size_t)cfg.num_classes, sizeof *s->conf);
        s->order = nn_alloc((size_t)(s->epochs ? s->epochs : 1) * ntr, sizeof *s->order);
        if (!s->bids || !s->bseg || !s->bmask || !s->blab || !s->truth || !s->pred || !s->conf ||
            !s->order)
            rc = mlb_error(ctx, "out of memory for batch buffers");
    }
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    /* Every epoch's order now, so that the peer gets the same batches. */
    nn_rng r;
    nn_rng_seed(&r, mlb_seed(ctx) ^ UINT64_C(0x73687566666c6521)); /* "shuffle!" */
    for (int e = 0; e < s->epochs; e++) {
        size_t *o = s->order + (size_t)e * ntr;
        for (size_t i = 0; i < ntr; i++)
            o[i] = i;
        shuffle(o, ntr, &r);
    }
    /* One query's forward pass now, so that one-off costs (OpenBLAS's
     * buffers, first touches of the weights) stay out of the timed phases;
     * not a whole training batch, which at BERT-base's sizes costs as much
     * as the benchmark. */
    int warm = s->test.n < (size_t)s->infer_batch ? (int)s->test.n : s->infer_batch;
    nn_bert_forward(&s->model, s->test.ids, s->test.seg, s->test.mask, NULL, warm, s->T);
    if ((rc = kernels_status(ctx, s, 0)) < 0) {
        state_free(s);
        return rc;
    }
    mlb_log(ctx, MLB_LOG_DEBUG,
            "BERT %s: L=%d NH=%d H=%d F=%d T=%d V=%d K=%d, %zu parameters; %zu train / %zu "
            "test examples (%zu qa answers cut off); %s kernels, %d thread(s)",
            s->head == HEAD_QA ? "qa" : "classify", cfg.num_layers, cfg.num_heads, cfg.hidden,
            cfg.ffn, s->T, cfg.vocab_size, cfg.num_classes, s->model.n_params, s->train.n,
            s->test.n, s->qa_dropped, kernels->name, threads);
    *state = s;
    return 0;
}

/* ---- batches, evaluation -------------------------------------------------- */

/* Rows idx[0..n) (or first..first+n when idx is NULL) of d into the batch
 * buffers. */
static void gather(bert_state *s, const bert_split *d, const size_t *idx, size_t first, int n)
{
    size_t T = (size_t)s->T, nl = s->head == HEAD_QA ? 2 : 1;
    for (int b = 0; b < n; b++) {
        size_t i = idx ? idx[b] : (first + (size_t)b) % d->n;
        memcpy(s->bids + (size_t)b * T, d->ids + i * T, T * sizeof *s->bids);
        memcpy(s->bseg + (size_t)b * T, d->seg + i * T, T * sizeof *s->bseg);
        memcpy(s->bmask + (size_t)b * T, d->mask + i * T, T * sizeof *s->bmask);
        memcpy(s->blab + (size_t)b * nl, d->labels + i * nl, nl * sizeof *s->blab);
    }
}

/* The best span of example row b of the last forward's qa logits [B,T,2]:
 * start <= end on context tokens, end - start < BERT_MAX_ANSWER, the
 * highest start + end logit (the first such on ties). */
static void best_span(const bert_state *s, const int64_t *off, int b, int *bs, int *be)
{
    const nn_real *l = s->model.logits + (size_t)b * (size_t)s->T * 2;
    double best = -INFINITY;
    *bs = *be = -1;
    for (int i = 0; i < s->T; i++) {
        if (off[2 * i] < 0)
            continue;
        for (int j = i; j < s->T && j - i < BERT_MAX_ANSWER; j++) {
            if (off[2 * j] < 0)
                continue;
            double v = (double)l[2 * i] + (double)l[2 * j + 1];
            if (v > best) {
                best = v;
                *bs = i;
                *be = j;
            }
        }
    }
}

typedef struct {
    double loss;     /* mean over the scored examples */
    double accuracy; /* classify; precision etc. from s->conf */
    double em, f1;   /* qa, percent over every test example */
} bert_eval;

/* The test split's metrics. For qa, the loss is over the examples whose
 * answer survived truncation (the others have no label to score) and a cut
 * answer is a miss. */
static void evaluate(bert_state *s, bert_eval *ev)
{
    const bert_split *d = &s->test;
    int K = s->model.cfg.num_classes, T = s->T;
    memset(s->conf, 0, (size_t)K * (size_t)K * sizeof *s->conf);
    double loss = 0, em = 0, f1 = 0;
    size_t scored = 0;
    for (size_t b0 = 0; b0 < d->n; b0 += (size_t)s->max_batch) {
        int n = d->n - b0 < (size_t)s->max_batch ? (int)(d->n - b0) : s->max_batch;
        if (s->head == HEAD_CLASSIFY) {
            gather(s, d, NULL, b0, n);
            nn_bert_forward(&s->model, s->bids, s->bseg, s->bmask, s->blab, n, T);
            loss += s->model.mean_loss * n;
            scored += (size_t)n;
            nn_argmax_rows(s->model.logits, n, K, s->pred);
            for (int i = 0; i < n; i++)
                s->truth[i] = s->blab[i];
            (void)metrics_confusion_add(s->truth, s->pred, (size_t)n, K, s->conf);
            continue;
        }
        /* qa: the loss over the labelled rows of this range, in one pass
         * with labels; the spans of every row from a pass without. */
        int nl = 0;
        for (int i = 0; i < n; i++)
            if (d->labels[2 * (b0 + (size_t)i)] >= 0)
                nl++;
        if (nl > 0) {
            int k = 0;
            size_t Tz = (size_t)T;
            for (int i = 0; i < n; i++) {
                size_t r = b0 + (size_t)i;
                if (d->labels[2 * r] < 0)
                    continue;
                memcpy(s->bids + (size_t)k * Tz, d->ids + r * Tz, Tz * sizeof *s->bids);
                memcpy(s->bseg + (size_t)k * Tz, d->seg + r * Tz, Tz * sizeof *s->bseg);
                memcpy(s->bmask + (size_t)k * Tz, d->mask + r * Tz, Tz * sizeof *s->bmask);
                s->blab[2 * k] = d->labels[2 * r];
                s->blab[2 * k + 1] = d->labels[2 * r + 1];
                k++;
            }
            nn_bert_forward(&s->model, s->bids, s->bseg, s->bmask, s->blab, k, T);
            loss += s->model.mean_loss * k;
            scored += (size_t)k;
            for (int i = 0, k2 = 0; i < n; i++) {
                size_t r = b0 + (size_t)i;
                if (d->labels[2 * r] < 0)
                    continue;
                const qa_example *e = d->src[r];
                const int64_t *off = d->off + r * (size_t)T * 2;
                int bs, be;
                best_span(s, off, k2++, &bs, &be);
                size_t a = bs < 0 ? 0 : (size_t)off[2 * bs];
                size_t z = bs < 0 ? 0 : (size_t)off[2 * be + 1];
                memcpy(s->span, e->context + a, z - a);
                s->span[z - a] = 0;
                const char *const *truths = (const char *const *)e->truths;
                em += squad_exact_match(s->span, truths, e->n_truths);
                f1 += squad_f1(s->span, truths, e->n_truths);
            }
        }
    }
    ev->loss = scored ? loss / (double)scored : NAN;
    ev->accuracy = s->head == HEAD_CLASSIFY ? metrics_accuracy_cm(s->conf, K) : NAN;
    ev->em = s->head == HEAD_QA ? 100.0 * em / (double)d->n : NAN;
    ev->f1 = s->head == HEAD_QA ? 100.0 * f1 / (double)d->n : NAN;
}

/* Precision, recall and F1 of class p from the confusion matrix (0 when
 * undefined: scikit-learn's zero_division, as metrics.h). */
static void positive_scores(const size_t *cm, int K, int p, double *prec, double *rec,
                            double *f1)
{
    size_t tp = cm[(size_t)p * (size_t)K + (size_t)p], col = 0, row = 0;
    for (int c = 0; c < K; c++) {
        col += cm[(size_t)c * (size_t)K + (size_t)p];
        row += cm[(size_t)p * (size_t)K + (size_t)c];
    }
    *prec = col ? (double)tp / (double)col : 0;
    *rec = row ? (double)tp / (double)row : 0;
    *f1 = *prec + *rec > 0 ? 2 * *prec * *rec / (*prec + *rec) : 0;
}

/* ---- phases ---------------------------------------------------------------- */

/* The kernels' first failure (the onednn table's, a primitive it could
 * not make), which they cannot return themselves: fails the phase. */
static int kernels_status(mlb_ctx *ctx, bert_state *s, int rc)
{
    char err[512];
    if (rc == 0 && nn_backend_status(&s->be, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    return rc;
}

static int run_train(mlb_ctx *ctx, bert_state *s);

int bert_train(mlb_ctx *ctx, void *state)
{
    bert_state *s = state;
    return kernels_status(ctx, s, run_train(ctx, s));
}

static int run_train(mlb_ctx *ctx, bert_state *s)
{
    size_t ntr = s->train.n, B = (size_t)s->B;
    int steps_per_epoch = (int)((ntr + B - 1) / B);
    int total = s->epochs * steps_per_epoch, warm = (int)(s->warmup * total), step = 0;
    nn_adamw o = {.lr = s->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6,
                  .weight_decay = s->weight_decay};
    double train_loss = NAN, train_time = 0, fps = flops_per_seq(&s->model, s->T);
    bert_eval ev;
    int qa = s->head == HEAD_QA;
    for (int e = 0; e < s->epochs; e++) {
        const size_t *order = s->order + (size_t)e * ntr;
        double sum = 0, t0 = now_s();
        for (size_t b0 = 0; b0 < ntr; b0 += B) {
            int n = ntr - b0 < B ? (int)(ntr - b0) : (int)B;
            gather(s, &s->train, order + b0, 0, n);
            nn_bert_zero_grad(&s->model);
            nn_bert_forward(&s->model, s->bids, s->bseg, s->bmask, s->blab, n, s->T);
            double loss = s->model.mean_loss;
            if (!isfinite(loss))
                return mlb_error(ctx, "epoch %d, step %d: the loss diverged (%g); lower lr",
                                 e + 1, step + 1, loss);
            sum += loss * n;
            nn_bert_backward(&s->model);
            nn_bert_clip_grad(&s->model, s->grad_clip);
            o.lr = nn_bert_lr(s->lr, step, warm, total);
            nn_bert_adamw_step(&s->model, &o);
            step++;
        }
        train_time += now_s() - t0;
        train_loss = sum / (double)ntr;
        evaluate(s, &ev);
        mlb_report_progress(ctx, e + 1, train_loss, qa ? "exact_match" : "accuracy",
                            qa ? ev.em : ev.accuracy);
    }
    if (s->epochs == 0)
        evaluate(s, &ev);
    double trained = (double)ntr * s->epochs, tested = (double)s->test.n * (s->epochs ? s->epochs : 1);
    mlb_report_work(ctx, MLB_WORK_ITEMS, trained + tested);
    mlb_report_work(ctx, MLB_WORK_TOKENS, (trained + tested) * s->T);
    mlb_report_work(ctx, MLB_WORK_STEPS, step);
    /* Backward costs about twice the forward pass. */
    mlb_report_work(ctx, MLB_WORK_FLOPS, fps * (3 * trained + tested));
    /* float32 sums in another GEMM order: the variants' 1e-4 relative. */
    mlb_report_metric_ex(ctx, "loss", ev.loss, MLB_LOWER_IS_BETTER, 1e-4, 0, 0);
    if (s->epochs > 0) {
        mlb_report_metric_ex(ctx, "train_loss", train_loss, MLB_LOWER_IS_BETTER, 1e-4, 0, 0);
        mlb_report_metric_ex(ctx, "train_seq_per_s", trained / train_time, MLB_HIGHER_IS_BETTER,
                             0, 0, MLB_METRIC_RESTATES_TIME);
    }
    if (qa) {
        mlb_report_metric(ctx, "exact_match", ev.em, MLB_HIGHER_IS_BETTER);
        mlb_report_metric(ctx, "f1", ev.f1, MLB_HIGHER_IS_BETTER);
        mlb_report_metric_ex(ctx, "qa_dropped", (double)s->qa_dropped, MLB_LOWER_IS_BETTER, 0,
                             0.5, 0);
        return 0;
    }
    double p, r, f;
    int K = s->model.cfg.num_classes;
    positive_scores(s->conf, K, s->positive, &p, &r, &f);
    mlb_report_metric(ctx, "accuracy", ev.accuracy, MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "precision", p, MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "recall", r, MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "f1", f, MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "macro_f1", metrics_f1_cm(s->conf, K, METRICS_MACRO),
                      MLB_HIGHER_IS_BETTER);
    return 0;
}

/* n test sequences in one forward pass (n <= max_batch), consecutive and
 * wrapping around, so that every query does the same work on real text. */
static void infer_seqs(mlb_ctx *ctx, bert_state *s, int n)
{
    gather(s, &s->test, NULL, s->infer_cursor, n);
    s->infer_cursor = (s->infer_cursor + (size_t)n) % s->test.n;
    nn_bert_forward(&s->model, s->bids, s->bseg, s->bmask, NULL, n, s->T);
    mlb_report_work(ctx, MLB_WORK_ITEMS, n);
    mlb_report_work(ctx, MLB_WORK_TOKENS, (double)n * s->T);
    mlb_report_work(ctx, MLB_WORK_FLOPS, flops_per_seq(&s->model, s->T) * n);
}

int bert_infer(mlb_ctx *ctx, void *state)
{
    bert_state *s = state;
    infer_seqs(ctx, s, s->infer_batch);
    return kernels_status(ctx, s, 0);
}

int bert_infer_n(mlb_ctx *ctx, void *state, int n)
{
    bert_state *s = state;
    for (long left = (long)n * s->infer_batch; left > 0; left -= s->max_batch)
        infer_seqs(ctx, s, left < s->max_batch ? (int)left : s->max_batch);
    return kernels_status(ctx, s, 0);
}

/* ---- the files for the peer ------------------------------------------------ */

static int write_i64(mlb_ctx *ctx, const char *dir, const char *name, const int32_t *v32,
                     const size_t *vz, int ndim, const size_t *shape)
{
    char path[BERT_PATH + 64];
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    int64_t *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return mlb_error(ctx, "out of memory");
    for (size_t i = 0; i < n; i++)
        t[i] = v32 ? v32[i] : (int64_t)vz[i];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    int rc = mlb_npy_write(ctx, path, MLB_NPY_I64, t, ndim, shape);
    free(t);
    return rc;
}

static int write_split(mlb_ctx *ctx, bert_state *s, const char *dir, const char *part,
                       const bert_split *d)
{
    char name[64];
    size_t shape[2] = {d->n, (size_t)s->T}, lshape[2] = {d->n, 2};
    int rc = 0;
    const int32_t *arrays[3] = {d->ids, d->seg, d->mask};
    const char *names[3] = {"ids", "seg", "mask"};
    for (int k = 0; k < 3 && rc == 0; k++) {
        snprintf(name, sizeof name, "%s_%s", part, names[k]);
        rc = write_i64(ctx, dir, name, arrays[k], NULL, 2, shape);
    }
    snprintf(name, sizeof name, "%s_labels", part);
    if (rc == 0)
        rc = write_i64(ctx, dir, name, d->labels, NULL, s->head == HEAD_QA ? 2 : 1, lshape);
    return rc;
}

/* A whole text file; the error names it. */
static int write_text(mlb_ctx *ctx, const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return mlb_error(ctx, "%s: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    return bad ? mlb_error(ctx, "%s: %s", path, strerror(errno ? errno : EIO)) : 0;
}

static int write_qa_json(mlb_ctx *ctx, bert_state *s, const char *dir)
{
    char path[BERT_PATH + 64];
    const bert_split *d = &s->test;
    cJSON *all = cJSON_CreateArray();
    int ok = all != NULL;
    for (size_t i = 0; ok && i < d->n; i++) {
        const qa_example *e = d->src[i];
        cJSON *o = cJSON_CreateObject(), *tr = cJSON_CreateArray(), *off = cJSON_CreateArray();
        ok = o && tr && off;
        if (ok) {
            cJSON_AddItemToArray(all, o);
            cJSON_AddItemToObject(o, "truths", tr);
            cJSON_AddItemToObject(o, "offsets", off);
            ok = cJSON_AddStringToObject(o, "context", e->context) != NULL;
        } else {
            cJSON_Delete(o);
            cJSON_Delete(tr);
            cJSON_Delete(off);
        }
        for (size_t k = 0; ok && k < e->n_truths; k++) {
            cJSON *t = cJSON_CreateString(e->truths[k]);
            ok = t != NULL;
            if (ok)
                cJSON_AddItemToArray(tr, t);
        }
        const int64_t *p = d->off + i * (size_t)s->T * 2;
        for (int t = 0; ok && t < s->T; t++) {
            double pair[2] = {(double)p[2 * t], (double)p[2 * t + 1]};
            cJSON *a = cJSON_CreateDoubleArray(pair, 2);
            ok = a != NULL;
            if (ok)
                cJSON_AddItemToArray(off, a);
        }
    }
    char *text = ok ? cJSON_PrintUnformatted(all) : NULL;
    cJSON_Delete(all);
    if (!text)
        return mlb_error(ctx, "out of memory for test_qa.json");
    snprintf(path, sizeof path, "%s/test_qa.json", dir);
    int rc = write_text(ctx, path, text);
    free(text);
    return rc;
}

/* What the arrays cannot say: the examples training left out (qa), the
 * class names and which one precision, recall and F1 are of (classify). */
static int write_meta(mlb_ctx *ctx, bert_state *s, const char *dir)
{
    char path[BERT_PATH + 64];
    cJSON *o = cJSON_CreateObject(), *names = cJSON_CreateArray();
    int ok = o && names;
    if (ok)
        cJSON_AddItemToObject(o, "classes", names);
    else
        cJSON_Delete(names);
    for (int c = 0; ok && s->head == HEAD_CLASSIFY && c < s->n_classes; c++) {
        cJSON *n = cJSON_CreateString(s->class_names[c]);
        ok = n != NULL;
        if (ok)
            cJSON_AddItemToArray(names, n);
    }
    ok = ok && cJSON_AddStringToObject(o, "head", s->head == HEAD_QA ? "qa" : "classify") &&
         cJSON_AddNumberToObject(o, "positive", s->head == HEAD_QA ? -1 : s->positive) &&
         cJSON_AddNumberToObject(o, "qa_dropped", (double)s->qa_dropped);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return mlb_error(ctx, "out of memory for meta.json");
    snprintf(path, sizeof path, "%s/meta.json", dir);
    int rc = write_text(ctx, path, text);
    free(text);
    return rc;
}

/* For the pytorch peer (docs/bert.md): the initial weights, both splits as
 * the C sees them, every epoch's order, and for qa what it takes to turn a
 * span into text, so that it trains the same model from the same start on
 * the same batches and scores it the same way. */
int bert_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    bert_state *s = state;
    char path[BERT_PATH + 64], err[1024];
    snprintf(path, sizeof path, "%s/init.bin", dir);
    if (nn_bert_save(&s->model, path, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    int rc = write_split(ctx, s, dir, "train", &s->train);
    if (rc == 0)
        rc = write_split(ctx, s, dir, "test", &s->test);
    size_t oshape[2] = {(size_t)s->epochs, s->train.n};
    if (rc == 0)
        rc = write_i64(ctx, dir, "order", NULL, s->order, 2, oshape);
    if (rc == 0 && s->head == HEAD_QA)
        rc = write_qa_json(ctx, s, dir);
    if (rc == 0)
        rc = write_meta(ctx, s, dir);
    return rc;
}

int bert_teardown(mlb_ctx *ctx, void *state)
{
    bert_state *s = state;
    int rc = 0;
    char err[1024];
    if (s && s->checkpoint_out[0] &&
        nn_bert_save(&s->model, s->checkpoint_out, err, sizeof err) < 0)
        rc = mlb_error(ctx, "parameter checkpoint_out: %s", err);
    state_free(s);
    return rc;
}
