/*
 * gpt2-parity: the C half of tools/parity/gpt2_torch.py, as llm.c's
 * test_gpt2.c is to its PyTorch reference. Loads an llm.c checkpoint and a
 * token shard of B*T+1 tokens (inputs and targets shifted by one), runs
 * with the chosen kernel table, and writes into OUT:
 *
 *   logits.f32   the logits of the batch [B, T, Vp], raw float32
 *   grads.bin    the gradients of the mean loss, in llm.c's checkpoint
 *                layout (same header as the model)
 *   losses.txt   the loss before each of STEPS AdamW steps on the same
 *                batch (lr LR, betas 0.9/0.95, eps 1e-8, weight decay WD on
 *                the 2-D weights, no clipping), one per line
 *   gen_kv.txt, gen_full.txt   NEW greedy tokens after the prompt shard's
 *                tokens, with the KV cache and by recomputing the context
 *
 * Generation runs on the loaded weights, before any step. Not installed.
 *
 *   gpt2-parity VARIANT MODEL.bin BATCH.bin PROMPT.bin B T STEPS LR WD NEW OUT
 */
#include "transformer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *msg)
{
    fprintf(stderr, "gpt2-parity: %s\n", msg);
    return 1;
}

static int write_tokens(const char *dir, const char *name, const int32_t *t, int n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < n; i++)
        fprintf(f, "%d\n", t[i]);
    return fclose(f);
}

static int32_t argmax(const nn_real *l, int V)
{
    int32_t best = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 12)
        return fail("usage: gpt2-parity VARIANT MODEL.bin BATCH.bin PROMPT.bin B T STEPS LR WD "
                    "NEW OUT");
    const nn_kernels *k = !strcmp(argv[1], "naive")      ? &nn_kernels_naive
                          : !strcmp(argv[1], "openblas") ? &nn_kernels_openblas
                                                         : NULL;
#ifdef NN_HAVE_ONEDNN /* built with oneDNN (meson) */
    if (!strcmp(argv[1], "onednn"))
        k = &nn_kernels_onednn;
#endif
    if (!k)
        return fail("VARIANT must be naive, openblas or (built with oneDNN) onednn");
    int B = atoi(argv[5]), T = atoi(argv[6]), steps = atoi(argv[7]), n_new = atoi(argv[10]);
    double lr = atof(argv[8]), wd = atof(argv[9]);
    const char *out = argv[11];
    char err[1024], path[4096];
    nn_backend be;
    nn_gpt2_config cfg;
    nn_gpt2 m;
    if (nn_backend_init(&be, k, 1, err, sizeof err) < 0 ||
        nn_gpt2_ckpt_read_config(argv[2], &cfg, err, sizeof err) < 0 ||
        nn_gpt2_create(&m, &cfg, &be, B, cfg.max_seq_len, 1, err, sizeof err) < 0 ||
        nn_gpt2_ckpt_load(&m, argv[2], err, sizeof err) < 0)
        return fail(err);
    uint16_t *batch, *prompt;
    size_t nb, np;
    if (nn_gpt2_shard_load(argv[3], &batch, &nb, err, sizeof err) < 0 ||
        nn_gpt2_shard_load(argv[4], &prompt, &np, err, sizeof err) < 0)
        return fail(err);
    if (nb != (size_t)B * T + 1 || np < 1 || np + (size_t)n_new > (size_t)cfg.max_seq_len)
        return fail("the batch must hold B*T+1 tokens, the prompt + NEW at most maxT");

    /* Generation first, on the checkpoint's weights. */
    int32_t *seq = calloc((size_t)cfg.max_seq_len, sizeof *seq);
    int32_t *gen = calloc((size_t)n_new + 1, sizeof *gen);
    for (int pass = 0; pass < 2; pass++) {
        int len = (int)np;
        for (int i = 0; i < len; i++)
            seq[i] = prompt[i];
        for (int i = 0; pass == 0 && i < len - 1; i++)
            (void)nn_gpt2_step(&m, seq[i], i);
        for (int j = 0; j < n_new; j++) {
            const nn_real *l;
            if (pass == 0) {
                l = nn_gpt2_step(&m, seq[len - 1], len - 1);
            } else {
                nn_gpt2_forward(&m, seq, NULL, 1, len);
                l = m.acts.logits + (size_t)(len - 1) * cfg.padded_vocab_size;
            }
            gen[j] = seq[len++] = argmax(l, cfg.vocab_size);
        }
        if (write_tokens(out, pass == 0 ? "gen_kv.txt" : "gen_full.txt", gen, n_new) != 0)
            return fail("cannot write the generated tokens");
    }

    int32_t *x = malloc((size_t)B * T * sizeof *x), *y = malloc((size_t)B * T * sizeof *y);
    nn_gpt2_loader l;
    nn_gpt2_loader_init(&l, batch, nb, B, T);
    if (nn_gpt2_loader_next(&l, x, y) != 0)
        return fail("no batch");
    snprintf(path, sizeof path, "%s/losses.txt", out);
    FILE *lf = fopen(path, "w");
    if (!lf)
        return fail("cannot write losses.txt");
    nn_adamw o = {.lr = lr, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = wd};
    for (int s = 0; s < steps; s++) {
        nn_gpt2_forward(&m, x, y, B, T);
        nn_gpt2_zero_grad(&m);
        nn_gpt2_backward(&m);
        fprintf(lf, "%.9g\n", m.mean_loss);
        if (s == 0) {
            snprintf(path, sizeof path, "%s/logits.f32", out);
            FILE *f = fopen(path, "wb");
            size_t n = (size_t)B * T * cfg.padded_vocab_size;
            if (!f || fwrite(m.acts.logits, sizeof(float), n, f) != n || fclose(f) != 0)
                return fail("cannot write logits.f32");
            nn_gpt2 g = m; /* a view whose "parameters" are the gradients */
            g.params_mem = m.grads_mem;
            snprintf(path, sizeof path, "%s/grads.bin", out);
            if (nn_gpt2_ckpt_save(&g, path, err, sizeof err) < 0)
                return fail(err);
        }
        nn_gpt2_adamw_step(&m, &o);
    }
    if (fclose(lf) != 0)
        return fail("cannot write losses.txt");
    free(x);
    free(y);
    free(seq);
    free(gen);
    nn_free(batch);
    nn_free(prompt);
    /* A kernel that failed (a oneDNN primitive not made) fails the run,
     * although its fallback kept the values right. */
    if (nn_backend_status(&be, err, sizeof err) < 0)
        return fail(err);
#ifdef NN_HAVE_ONEDNN
    nn_onednn_print_stats(stderr, argv[0], &be);
#endif
    nn_gpt2_free(&m);
    nn_backend_release(&be);
    return 0;
}
