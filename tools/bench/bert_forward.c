/*
 * The NN core's BERT encoder on its own, without the engine: median time of
 * a forward pass (and of a training step: forward, backward, clip, AdamW)
 * at B x T for an encoder of L layers, H hidden, NH heads, F = 4H, on the
 * naive or openblas kernels, float32. A developer's probe for the encoder's
 * speed; the benchmark of record is tools/bench/bert.sh (engine runs,
 * interleaved with the PyTorch peer).
 *   build/tools_bench_bert_forward [openblas|naive] [B T L H NH [threads reps]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bert.h"

/* CPU time of this thread (MLB_BENCH_WALL=1: wall-clock time): on a
 * shared machine the thread's own time is the steadier figure. With more
 * than one thread, use wall-clock time. */
static int use_wall;
static double now(void)
{
    struct timespec ts;
    clock_gettime(use_wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *kern = argc > 1 ? argv[1] : "openblas";
    int B = argc > 2 ? atoi(argv[2]) : 32, T = argc > 3 ? atoi(argv[3]) : 128;
    int L = argc > 4 ? atoi(argv[4]) : 4, H = argc > 5 ? atoi(argv[5]) : 128;
    int NH = argc > 6 ? atoi(argv[6]) : 2, threads = argc > 7 ? atoi(argv[7]) : 1;
    int reps = argc > 8 ? atoi(argv[8]) : 15;
    if (reps < 1 || reps > 1000)
        reps = 15;
    use_wall = threads > 1 || (getenv("MLB_BENCH_WALL") && atoi(getenv("MLB_BENCH_WALL")));
    nn_bert_config c = {.vocab_size = 30522, .max_len = T, .type_vocab = 2, .num_layers = L,
                        .num_heads = NH, .hidden = H, .ffn = 4 * H,
                        .head = NN_BERT_HEAD_CLASSIFY, .num_classes = 2};
    char err[512];
    nn_backend be;
    const nn_kernels *k = strcmp(kern, "naive") ? &nn_kernels_openblas : &nn_kernels_naive;
    if (nn_backend_init(&be, k, threads, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* Inference on a model without gradients (one layer's activations,
     * reused), training on one with them, as the task runs them. */
    nn_bert m, mi;
    if (nn_bert_create(&m, &c, &be, B, T, 1, err, sizeof err) < 0 ||
        nn_bert_create(&mi, &c, &be, B, T, 0, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    nn_bert_init_weights(&m, 1);
    nn_bert_init_weights(&mi, 1);
    int32_t *ids = malloc(sizeof *ids * (size_t)B * T), *seg = calloc((size_t)B * T, 4);
    int32_t *mask = malloc(sizeof *mask * (size_t)B * T), *lab = calloc((size_t)B, 4);
    nn_rng r;
    nn_rng_seed(&r, 2);
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)nn_rng_below(&r, 30522);
        mask[i] = 1; /* full sequences: the benchmark's shape */
    }
    nn_adamw o = {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .weight_decay = 0.01};
    double *tf = malloc(sizeof *tf * (size_t)reps), *tt = malloc(sizeof *tt * (size_t)reps);
    nn_bert_forward(&mi, ids, seg, mask, NULL, B, T); /* warm-up */
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        nn_bert_forward(&mi, ids, seg, mask, NULL, B, T);
        tf[i] = now() - t0;
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        nn_bert_forward(&m, ids, seg, mask, lab, B, T);
        nn_bert_zero_grad(&m);
        nn_bert_backward(&m);
        nn_bert_clip_grad(&m, 1.0);
        nn_bert_adamw_step(&m, &o);
        tt[i] = now() - t0;
    }
    qsort(tf, (size_t)reps, sizeof *tf, cmp);
    qsort(tt, (size_t)reps, sizeof *tt, cmp);
    printf("%s time: ", use_wall ? "wall-clock" : "thread CPU");
    printf("bert %s threads=%d B=%d T=%d L=%d H=%d NH=%d: forward median %.2f ms (%.1f seq/s), "
           "training step median %.2f ms (%.1f seq/s), %d reps\n",
           kern, threads, B, T, L, H, NH, 1e3 * tf[reps / 2], B / tf[reps / 2],
           1e3 * tt[reps / 2], B / tt[reps / 2], reps);
    free(ids), free(seg), free(mask), free(lab), free(tf), free(tt);
    nn_bert_free(&m);
    nn_bert_free(&mi);
    nn_backend_release(&be);
    return 0;
}
