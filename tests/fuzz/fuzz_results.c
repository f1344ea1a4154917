/* libFuzzer target: results JSON as the engine reads it back: `report`
 * (mlb_results_load, then the terminal table and the HTML, CSV and Markdown
 * renderers), --resume (mlb_resume_load into a one-run plan, through
 * mlb_rep_from_json) and --dry-run --estimate-from (mlb_dry_run). The read
 * size limit that another change adds is kept out of the runs by -max_len. */
#include "fuzz_engine.h"
#include "ctx.h"
#include "discover.h"
#include "engine.h"
#include "export.h"
#include "resume.h"
#include "textbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The plan --resume matches the file against: gemm:naive with n = 8, seed
 * 42, 3 repetitions (the seeds in tests/fuzz/corpus/results/ are of it). */
static const mlb_param_def fake_params[] = {{"n", MLB_PARAM_INT, "8", "size"}};

static void render(int (*fn)(const cJSON *, mlb_sbuf *), const cJSON *doc)
{
    mlb_sbuf b;
    memset(&b, 0, sizeof b);
    if (fn(doc, &b) > 0)
        abort();
    free(b.s);
}

static void resume_and_estimate(const char *path)
{
    mlb_plugin_entry pl;
    memset(&pl, 0, sizeof pl);
    pl.desc.abi_major = MLB_ABI_MAJOR;
    pl.desc.struct_size = sizeof pl.desc;
    pl.desc.task = "gemm";
    pl.desc.variant = "naive";
    pl.desc.params = fake_params;
    pl.desc.n_params = 1;
    mlb_run run;
    memset(&run, 0, sizeof run);
    run.pl = &pl;
    run.repetitions = 3;
    run.warmup = 1;
    run.reps = calloc(3, sizeof *run.reps);
    if (!run.reps || mlb_ctx_init(&run.params, &pl.desc, 42) < 0)
        abort();
    mlb_group g = {.task = "gemm", .first = 0, .n = 1, .baseline = 0, .baseline_rule = "naive"};
    mlb_session s = {.runs = &run, .n_runs = 1, .groups = &g, .n_groups = 1, .seed = 42};
    cJSON *env = NULL;
    int rc = mlb_resume_load(&s, path, &env);
    if (rc == 0 && run.n_reps > (size_t)run.repetitions)
        abort();
    if (rc != 0 && env)
        abort();
    cJSON_Delete(env);
    mlb_dry_run(fuzz_devnull, &s, path);
    for (size_t i = 0; i < run.n_reps; i++)
        mlb_rep_free(&run.reps[i]);
    free(run.reps);
    free(run.message);
    mlb_ctx_free(&run.params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *p = fuzz_write(0, data, size);
    char err[4096] = "";
    cJSON *doc = mlb_results_load(p, err, sizeof err);
    if (!doc) {
        if (!err[0])
            abort();
    } else {
        mlb_report_terminal(fuzz_devnull, doc);
        render(mlb_render_html, doc);
        render(mlb_render_csv, doc);
        render(mlb_render_markdown, doc);
        cJSON_Delete(doc);
    }
    resume_and_estimate(p);
    return 0;
}
