/* libFuzzer target: suite YAML files (core/suite.c, mlb_suite_load). A
 * loaded suite must be whole; a refused one must say why. Known costs that
 * another change bounds (alias expansion, duplicate keys, nesting depth) are
 * kept out of the runs by -max_len, -rss_limit_mb and -timeout
 * (tools/fuzz.sh). */
#include "fuzz_engine.h"
#include "suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_kv(const mlb_kv *kv, volatile size_t *sink)
{
    *sink += strlen(kv->key) + (size_t)kv->pos.line + (size_t)kv->value_pos.col;
    if (kv->value)
        *sink += strlen(kv->value);
    for (size_t i = 0; i < kv->n_values; i++)
        *sink += strlen(kv->values[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *p = fuzz_write(0, data, size);
    mlb_suite s;
    char err[1024] = "";
    int rc = mlb_suite_load(p, &s, err, sizeof err);
    if (rc > 0 || (rc < 0 && !err[0]))
        abort();
    if (rc < 0)
        return 0;
    volatile size_t sink = strlen(s.path) + (s.name ? strlen(s.name) : 0);
    for (size_t b = 0; b < s.n_benches; b++) {
        const mlb_bench_spec *bs = &s.benches[b];
        if (!bs->task)
            abort(); /* the loader promises a task */
        sink += strlen(bs->task);
        for (size_t v = 0; v < bs->n_variants; v++)
            sink += strlen(bs->variants[v]) + (size_t)bs->variant_pos[v].line;
        for (size_t k = 0; k < bs->n_params; k++)
            touch_kv(&bs->params[k], &sink);
        if (bs->target_metric)
            sink += strlen(bs->target_metric);
        if (bs->baseline)
            sink += strlen(bs->baseline);
    }
    (void)sink;
    mlb_suite_free(&s);
    return 0;
}
