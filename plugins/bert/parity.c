/*
 * bert-parity: the C half of tools/parity/bert_torch.py. Loads an nn_bert
 * weights file and one batch, runs the NN core's BERT with the chosen
 * kernel table (1 thread), and writes into OUT:
 *
 *   logits_infer.f32  the logits of a forward without labels (raw float32;
 *                     classify [B, K], qa [B, T, 2])
 *   logits.f32        the logits of the forward with labels
 *   losses.txt        the mean loss before each of STEPS AdamW steps on
 *                     the batch, one per line
 *   norms.txt         the gradient norm nn_bert_clip_grad returned at each
 *   grads.bin         the gradients of the first step's mean loss (before
 *                     clipping), in the weights file's layout
 *   lr.txt            nn_bert_lr(1, s, 3, 10) for s = 0..11, one per line
 *   after.bin         the weights after the STEPS steps (nn_bert_save)
 *
 * Each step: zero grad, forward with labels, backward, clip to CLIP,
 * AdamW (betas 0.9/0.999, eps 1e-6, weight decay WD) at lr =
 * nn_bert_lr(LR, s + 1, STEPS, 2 * STEPS), the task's loop with its
 * schedule shifted one step so that no step has lr 0. Not installed.
 *
 * BATCH is little-endian int32: B, T, then ids[B*T], segments[B*T],
 * mask[B*T], labels (classify B, qa 2B: start, end of each).
 *
 *   bert-parity VARIANT WEIGHTS.bin BATCH.i32 STEPS LR WD CLIP OUT
 */
/* The NN core's bert.h by path: a quoted "bert.h" would find the task's
 * header beside this file first. */
#include "../nn/bert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "bert-parity: %s: %s\n", what, msg);
    return 1;
}

static int put_floats(FILE *f, const nn_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)x[i];
        if (fwrite(&v, sizeof v, 1, f) != 1)
            return -1;
    }
    return 0;
}

/* hdr: NULL for raw floats, else an nn_bert header written first. */
static int write_floats(const char *dir, const char *name, const int32_t *hdr, const nn_real *x,
                        size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = hdr && fwrite(hdr, sizeof *hdr, NN_BERT_HEADER_INTS, f) != NN_BERT_HEADER_INTS
                 ? -1
                 : put_floats(f, x, n);
    return fclose(f) != 0 ? -1 : rc;
}

/* The gradients as a weights file (nn_bert_save writes parameters only):
 * the model's header, then grads_mem, which has the parameters' order. */
static int write_grads(const nn_bert *m, const char *dir)
{
    int32_t hdr[NN_BERT_HEADER_INTS] = {NN_BERT_MAGIC,          NN_BERT_VERSION,
                                        m->cfg.vocab_size,      m->cfg.max_len,
                                        m->cfg.type_vocab,      m->cfg.num_layers,
                                        m->cfg.num_heads,       m->cfg.hidden,
                                        m->cfg.ffn,             (int32_t)m->cfg.head,
                                        m->cfg.num_classes};
    return write_floats(dir, "grads.bin", hdr, m->grads_mem, m->n_params);
}

static int write_text(const char *dir, const char *name, const double *v, int n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < n; i++)
        fprintf(f, "%.17g\n", v[i]);
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 9)
        return fail("usage", "bert-parity VARIANT WEIGHTS.bin BATCH.i32 STEPS LR WD CLIP OUT");
    const nn_kernels *k = !strcmp(argv[1], "naive")      ? &nn_kernels_naive
                          : !strcmp(argv[1], "openblas") ? &nn_kernels_openblas
                                                         : NULL;
#ifdef NN_HAVE_ONEDNN /* built with oneDNN (meson) */
    if (!strcmp(argv[1], "onednn"))
        k = &nn_kernels_onednn;
#endif
    if (!k)
        return fail(argv[1], "VARIANT must be naive, openblas or (built with oneDNN) onednn");
    int steps = atoi(argv[4]);
    double lr = atof(argv[5]), wd = atof(argv[6]), clip = atof(argv[7]);
    const char *out = argv[8];
    if (steps < 1 || steps > 100)
        return fail(argv[4], "STEPS must be 1..100");

    FILE *bf = fopen(argv[3], "rb");
    if (!bf)
        return fail(argv[3], "cannot open");
    int32_t BT[2];
    if (fread(BT, sizeof BT, 1, bf) != 1 || BT[0] < 1 || BT[1] < 1 || BT[0] > 1024 ||
        BT[1] > 4096) {
        fclose(bf);
        return fail(argv[3], "bad B, T header");
    }
    int B = BT[0], T = BT[1];
    size_t n = (size_t)B * T;
    int32_t *batch = malloc((3 * n + 2 * (size_t)B) * sizeof *batch);
    size_t got = batch ? fread(batch, sizeof *batch, 3 * n + 2 * (size_t)B, bf) : 0;
    fclose(bf);
    if (!batch)
        return fail(argv[3], "out of memory");

    char err[1024];
    nn_backend be;
    nn_bert_config cfg;
    nn_bert m;
    if (nn_backend_init(&be, k, 1, err, sizeof err) < 0 ||
        nn_bert_read_config(argv[2], &cfg, err, sizeof err) < 0 ||
        nn_bert_create(&m, &cfg, &be, B, T, 1, err, sizeof err) < 0 ||
        nn_bert_load(&m, argv[2], err, sizeof err) < 0)
        return fail(argv[2], err);
    size_t n_labels = cfg.head == NN_BERT_HEAD_QA ? 2 * (size_t)B : (size_t)B;
    if (got != 3 * n + n_labels)
        return fail(argv[3], "size does not match B, T and the head");
    const int32_t *ids = batch, *seg = batch + n, *mask = batch + 2 * n, *labels = batch + 3 * n;
    size_t n_logits = cfg.head == NN_BERT_HEAD_QA ? n * 2 : (size_t)B * cfg.num_classes;

    nn_bert_forward(&m, ids, seg, mask, NULL, B, T);
    if (write_floats(out, "logits_infer.f32", NULL, m.logits, n_logits) != 0)
        return fail(out, "cannot write logits_infer.f32");

    double losses[100], norms[100], lrs[12];
    nn_adamw o = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .weight_decay = wd};
    for (int s = 0; s < steps; s++) {
        nn_bert_zero_grad(&m);
        nn_bert_forward(&m, ids, seg, mask, labels, B, T);
        nn_bert_backward(&m);
        losses[s] = m.mean_loss;
        if (s == 0) {
            if (write_floats(out, "logits.f32", NULL, m.logits, n_logits) != 0 ||
                write_grads(&m, out) != 0)
                return fail(out, "cannot write logits.f32 or grads.bin");
        }
        norms[s] = nn_bert_clip_grad(&m, clip);
        o.lr = nn_bert_lr(lr, s + 1, steps, 2 * steps);
        nn_bert_adamw_step(&m, &o);
    }
    for (int s = 0; s < 12; s++)
        lrs[s] = nn_bert_lr(1.0, s, 3, 10);
    char path[4096];
    snprintf(path, sizeof path, "%s/after.bin", out);
    if (write_text(out, "losses.txt", losses, steps) != 0 ||
        write_text(out, "norms.txt", norms, steps) != 0 ||
        write_text(out, "lr.txt", lrs, 12) != 0 || nn_bert_save(&m, path, err, sizeof err) < 0)
        return fail(out, err[0] ? err : "cannot write the results");
    /* A kernel that failed (a oneDNN primitive not made) fails the run,
     * although its fallback kept the values right. */
    if (nn_backend_status(&be, err, sizeof err) < 0)
        return fail(out, err);
#ifdef NN_HAVE_ONEDNN
    nn_onednn_print_stats(stderr, argv[0], &be);
#endif
    free(batch);
    nn_bert_free(&m);
    nn_backend_release(&be);
    return 0;
}
