/* Unit tests of the engine core: parameter parsing, the plugin context,
 * ABI checks at discovery, and the results JSON writer. */
#include <check.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "discover.h"
#include "engine.h"
#include "runner.h"
#include "textbuf.h"
#include "utf8.h"

/* ---- parameter parsing --------------------------------------------------- */

static int parse_ok(mlb_param_type t, const char *s, mlb_param_value *v)
{
    char why[128];
    return mlb_param_parse(t, s, v, why, sizeof why);
}

START_TEST(param_int)
{
    mlb_param_value v;
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "42", &v), 0);
    ck_assert_int_eq(v.i, 42);
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "-7", &v), 0);
    ck_assert_int_eq(v.i, -7);
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "9223372036854775807", &v), 0);
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "9223372036854775808", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "4.5", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_INT, "12abc", &v), -1);
    char why[128];
    mlb_param_parse(MLB_PARAM_INT, "abc", &v, why, sizeof why);
    ck_assert_ptr_nonnull(strstr(why, "'abc' is not an integer"));
}
END_TEST

START_TEST(param_float_bool)
{
    mlb_param_value v;
    ck_assert_int_eq(parse_ok(MLB_PARAM_FLOAT, "0.010", &v), 0);
    ck_assert(fabs(v.f - 0.01) < 1e-15);
    ck_assert_int_eq(parse_ok(MLB_PARAM_FLOAT, "1e-3", &v), 0);
    ck_assert_int_eq(parse_ok(MLB_PARAM_FLOAT, "nan", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_FLOAT, "inf", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_FLOAT, "1e999", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_FLOAT, "x", &v), -1);
    const char *yes[] = {"true", "TRUE", "1", "yes", "on"}, *no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(parse_ok(MLB_PARAM_BOOL, yes[i], &v), 0);
        ck_assert_int_eq(v.b, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(parse_ok(MLB_PARAM_BOOL, no[i], &v), 0);
        ck_assert_int_eq(v.b, 0);
    }
    ck_assert_int_eq(parse_ok(MLB_PARAM_BOOL, "maybe", &v), -1);
    ck_assert_int_eq(parse_ok(MLB_PARAM_STRING, "anything at all", &v), 0);
}
END_TEST

static int dummy_setup(mlb_ctx *c, void **s) { (void)c; *s = NULL; return 0; }
static int dummy_teardown(mlb_ctx *c, void *s) { (void)c; (void)s; return 0; }
static const mlb_param_def dummy_params[] = {
    {"n", MLB_PARAM_INT, "10", "count"},
    {"lr", MLB_PARAM_FLOAT, "0.5", "rate"},
    {"mode", MLB_PARAM_STRING, "fast", "mode"},
    {"flag", MLB_PARAM_BOOL, "false", "flag"},
};
static const mlb_plugin dummy = {
    MLB_PLUGIN_HEADER, .task = "t", .variant = "v", .description = "d",
    .params = dummy_params, .n_params = 4, .setup = dummy_setup, .teardown = dummy_teardown,
};

START_TEST(ctx_defaults_and_overrides)
{
    mlb_ctx c;
    ck_assert_int_eq(mlb_ctx_init(&c, &dummy, 99), 0);
    ck_assert_int_eq(mlb_param_int(&c, "n"), 10);
    ck_assert(mlb_param_float(&c, "lr") == 0.5);
    ck_assert_str_eq(mlb_param_str(&c, "mode"), "fast");
    ck_assert_int_eq(mlb_param_bool(&c, "flag"), 0);
    ck_assert_uint_eq(mlb_seed(&c), 99);
    char why[128];
    ck_assert_int_eq(mlb_ctx_set_param(&c, "n", "25", why, sizeof why), 0);
    ck_assert_int_eq(mlb_param_int(&c, "n"), 25);
    ck_assert_str_eq(mlb_param_str(&c, "n"), "25"); /* any parameter reads as its text */
    ck_assert_int_eq(mlb_ctx_set_param(&c, "n", "x", why, sizeof why), -EINVAL);
    ck_assert_int_eq(mlb_param_int(&c, "n"), 25); /* a rejected value changes nothing */
    ck_assert_int_eq(mlb_ctx_set_param(&c, "nope", "1", why, sizeof why), -ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "nope"));
    ck_assert_int_eq(mlb_ctx_set_param(&c, "flag", "yes", why, sizeof why), 0);
    ck_assert_int_eq(mlb_param_bool(&c, "flag"), 1);
    mlb_ctx_free(&c);
}
END_TEST

START_TEST(ctx_bad_default_rejected)
{
    static const mlb_param_def bad[] = {{"n", MLB_PARAM_INT, "ten", "count"}};
    mlb_plugin p = dummy;
    p.params = bad;
    p.n_params = 1;
    mlb_ctx c;
    ck_assert_int_eq(mlb_ctx_init(&c, &p, 1), -EINVAL);
    ck_assert_ptr_nonnull(strstr(c.err, "default of parameter 'n'"));
    mlb_ctx_free(&c);
}
END_TEST

START_TEST(ctx_reports)
{
    mlb_ctx c;
    ck_assert_int_eq(mlb_ctx_init(&c, &dummy, 1), 0);
    mlb_ctx_phase_begin(&c, mlb_now());
    mlb_report_work(&c, MLB_WORK_ITEMS, 3);
    mlb_report_work(&c, MLB_WORK_ITEMS, 4);
    mlb_report_work(&c, MLB_WORK_FLOPS, 1e9);
    mlb_report_work(&c, (mlb_work_kind)99, 1); /* ignored, not a crash */
    ck_assert(c.work[MLB_WORK_ITEMS] == 7);
    ck_assert(c.work[MLB_WORK_FLOPS] == 1e9);
    for (int i = 0; i < 20; i++)
        mlb_report_metric(&c, i % 2 ? "loss" : "accuracy", i, i % 2 ? MLB_LOWER_IS_BETTER : MLB_HIGHER_IS_BETTER);
    ck_assert_uint_eq(c.n_metrics, 2); /* the last value of a name wins */
    ck_assert(c.metrics[0].value == 18 && c.metrics[1].value == 19);
    ck_assert_int_eq(c.metrics[1].dir, -1);
    for (int i = 0; i < 100; i++)
        mlb_report_progress(&c, i, 1.0 / (i + 1), "accuracy", i / 100.0);
    ck_assert_uint_eq(c.n_progress, 100);
    ck_assert(c.progress[99].step == 99 && c.progress[99].t >= 0);
    ck_assert_int_eq(mlb_error(&c, "bad %s %d", "thing", 3), MLB_EFAIL);
    ck_assert_str_eq(c.err, "bad thing 3");
    mlb_ctx_phase_begin(&c, mlb_now());
    ck_assert(c.work[MLB_WORK_ITEMS] == 0);
    mlb_ctx_free(&c);
}
END_TEST

/* ---- discovery and ABI checks -------------------------------------------- */

static char *tmpdir_with(const char *const *plugins, size_t n)
{
    char *dir = strdup("/tmp/mlb-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (size_t i = 0; i < n; i++) {
        char src[4096], dst[4096], cmd[9000];
        snprintf(src, sizeof src, "%s/%s.so", TEST_PLUGINS_DIR, plugins[i]);
        snprintf(dst, sizeof dst, "%s/%s.so", dir, plugins[i]);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
        ck_assert_int_eq(system(cmd), 0);
    }
    return dir;
}

static void rm_tree(char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}

START_TEST(discover_abi_checks)
{
    const char *names[] = {"wrongabi", "notplugin", "fault_spin", "empty_noop"};
    char *dir = tmpdir_with(names, 4);
    char garbage[4200];
    snprintf(garbage, sizeof garbage, "%s/x.so", dir);
    FILE *g = fopen(garbage, "w");
    fputs("garbage\n", g);
    fclose(g);
    char *warn_buf = NULL;
    size_t warn_len = 0;
    FILE *warn = open_memstream(&warn_buf, &warn_len);
    mlb_registry reg = {0};
    char err[1024] = "";
    ck_assert_int_eq(mlb_registry_scan(&reg, &dir, 1, warn, err, sizeof err), 0);
    fclose(warn);
    ck_assert_uint_eq(reg.n, 2);
    ck_assert_ptr_nonnull(mlb_registry_find(&reg, "fault", "spin"));
    ck_assert_ptr_nonnull(mlb_registry_find(&reg, "empty", "noop"));
    ck_assert_ptr_null(mlb_registry_find(&reg, "fault", "wrongabi"));
    ck_assert_ptr_nonnull(strstr(warn_buf, "wrongabi.so: ABI version 2, engine expects 1"));
    ck_assert_ptr_nonnull(strstr(warn_buf, "notplugin.so: skipped, not an mlbench plugin"));
    ck_assert_ptr_nonnull(strstr(warn_buf, "x.so: skipped, cannot load"));
    /* The descriptor copy is complete, and parameters came through. */
    mlb_plugin_entry *e = mlb_registry_find(&reg, "fault", "spin");
    ck_assert_uint_eq(e->desc.n_params, 1);
    ck_assert_str_eq(e->desc.params[0].name, "ms");
    free(warn_buf);
    mlb_registry_free(&reg);
    rm_tree(dir);
}
END_TEST

START_TEST(discover_duplicates)
{
    const char *names[] = {"dup_a", "dup_b"};
    char *dir = tmpdir_with(names, 2);
    mlb_registry reg = {0};
    char err[2048] = "";
    FILE *devnull = fopen("/dev/null", "w");
    ck_assert_int_eq(mlb_registry_scan(&reg, &dir, 1, devnull, err, sizeof err), -EEXIST);
    fclose(devnull);
    ck_assert_ptr_nonnull(strstr(err, "dup:same"));
    ck_assert_ptr_nonnull(strstr(err, "dup_a.so"));
    ck_assert_ptr_nonnull(strstr(err, "dup_b.so"));
    mlb_registry_free(&reg);
    rm_tree(dir);
}
END_TEST

/* ---- repetition JSON and the atomic writer -------------------------------- */

START_TEST(rep_json_round_trip)
{
    mlb_rep r;
    memset(&r, 0, sizeof r);
    r.status = MLB_REP_CRASHED;
    r.message = strdup("killed by signal SIGSEGV");
    r.ph[MLB_PH_SETUP].ran = 1;
    r.ph[MLB_PH_SETUP].wall_s = 0.25;
    r.ph[MLB_PH_SETUP].rss_peak_bytes = 1 << 20;
    r.ph[MLB_PH_SETUP].rss_avg_bytes = NAN; /* not sampled: null, not garbage */
    r.ph[MLB_PH_SETUP].work[MLB_WORK_FLOPS] = 2e9;
    r.n_latency = 3;
    r.latency_s = malloc(3 * sizeof(double));
    r.latency_s[0] = 1e-3, r.latency_s[1] = 2e-3, r.latency_s[2] = 3e-3;
    r.n_metrics = 1;
    r.metrics = calloc(1, sizeof(mlb_metric));
    strcpy(r.metrics[0].name, "rmse");
    r.metrics[0].value = 0.5;
    r.metrics[0].dir = -1;
    cJSON *j = mlb_rep_to_json(&r);
    char *s = cJSON_PrintUnformatted(j);
    ck_assert_ptr_nonnull(strstr(s, "\"rss_avg_bytes\":null"));
    ck_assert_ptr_nonnull(strstr(s, "\"better\":\"lower\""));
    ck_assert_ptr_null(strstr(s, "\"train\"")); /* phases that did not run are absent */
    mlb_rep back;
    ck_assert_int_eq(mlb_rep_from_json(j, &back), 0);
    ck_assert_int_eq(back.status, MLB_REP_CRASHED);
    ck_assert_str_eq(back.message, r.message);
    ck_assert(back.ph[MLB_PH_SETUP].ran && !back.ph[MLB_PH_TRAIN].ran);
    ck_assert(back.ph[MLB_PH_SETUP].wall_s == 0.25);
    ck_assert(isnan(back.ph[MLB_PH_SETUP].rss_avg_bytes));
    ck_assert(back.ph[MLB_PH_SETUP].work[MLB_WORK_FLOPS] == 2e9);
    ck_assert_uint_eq(back.n_latency, 3);
    ck_assert(back.latency_s[2] == 3e-3);
    ck_assert_int_eq(back.metrics[0].dir, -1);
    cJSON *bad = cJSON_Parse("{\"status\":\"exploded\"}");
    mlb_rep junk;
    ck_assert_int_eq(mlb_rep_from_json(bad, &junk), -EINVAL);
    cJSON_Delete(bad);
    free(s);
    cJSON_Delete(j);
    mlb_rep_free(&r);
    mlb_rep_free(&back);
}
END_TEST

START_TEST(atomic_write)
{
    char dir[] = "/tmp/mlb-aw-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/out.json", dir);
    cJSON *doc = cJSON_Parse("{\"schema\":\"mlbench.result/1\",\"x\":[1,2,3]}");
    ck_assert_int_eq(mlb_write_json_atomic(path, doc, err, sizeof err), 0);
    FILE *f = fopen(path, "r");
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *back = cJSON_Parse(buf);
    ck_assert(cJSON_Compare(doc, back, 1));
    cJSON_Delete(back);
    /* No temporary file is left behind. */
    char pat[300];
    snprintf(pat, sizeof pat, "%s/*", dir);
    glob_t g;
    ck_assert_int_eq(glob(pat, 0, NULL, &g), 0);
    ck_assert_uint_eq(g.gl_pathc, 1);
    globfree(&g);
    /* A directory that does not exist: an error naming the path, no file. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/out.json", dir);
    ck_assert_int_lt(mlb_write_json_atomic(bad, doc, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, bad));
    /* The target is a directory: rename fails, the temporary is removed. */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_lt(mlb_write_json_atomic(sub, doc, err, sizeof err), 0);
    ck_assert_int_eq(glob(pat, 0, NULL, &g), 0);
    ck_assert_uint_eq(g.gl_pathc, 2); /* out.json and adir, no temporaries */
    globfree(&g);
    cJSON_Delete(doc);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- UTF-8 (issue 12) ------------------------------------------------------ */

START_TEST(utf8_valid_and_fix)
{
    ck_assert(mlb_utf8_valid("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 17));
    static const char *const bad[] = {"\xff", "\xc3", "\xc3(", "\xe2\x82", "\xc0\xaf",
                                      "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!mlb_utf8_valid(bad[i], strlen(bad[i])), "case %zu", i);
    char *f = mlb_utf8_fix("a\xff" "b\xc3(c\xe2\x82", 8);
    ck_assert_str_eq(f, "a\xef\xbf\xbd" "b\xef\xbf\xbd(c\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert(mlb_utf8_valid(f, strlen(f)));
    free(f);
    f = mlb_utf8_fix("ok \xc3\xa9", 5);
    ck_assert_str_eq(f, "ok \xc3\xa9");
    free(f);
}
END_TEST

START_TEST(utf8_cut_on_boundaries)
{
    char s[16] = "a\xc3\xa9\xe2\x82\xac"; /* a é € : 1 + 2 + 3 bytes */
    mlb_utf8_cut(s, 5);
    ck_assert_str_eq(s, "a\xc3\xa9");
    mlb_utf8_cut(s, 2);
    ck_assert_str_eq(s, "a");
    char t[16] = "ab\xe2\x82";
    mlb_utf8_trim_end(t);
    ck_assert_str_eq(t, "ab");
    char u[16] = "ab\xe2\x82\xac";
    mlb_utf8_trim_end(u);
    ck_assert_str_eq(u, "ab\xe2\x82\xac");
    ck_assert_str_eq(mlb_utf8_skip_partial("\xa9\xc3\xa9x"), "\xc3\xa9x");
    char ex[8];
    /* 40 bytes of é from an odd start: "%.40s" would end inside one */
    ck_assert_str_eq(mlb_utf8_excerpt(ex, sizeof ex, "x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6),
                     "x\xc3\xa9\xc3\xa9");
    ck_assert_str_eq(MLB_EXCERPT("x\xc3\xa9\xc3\xa9", 4), "x\xc3\xa9");
    ck_assert_str_eq(MLB_EXCERPT("x\xc3\xa9", 40), "x\xc3\xa9");
    /* mlb_error's buffer: a message cut at its size ends on a character */
    mlb_plugin desc = {MLB_PLUGIN_HEADER, .task = "t", .variant = "v"};
    mlb_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.plugin = &desc;
    char big[3000];
    big[0] = 'x';
    for (size_t i = 1; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[sizeof big - 1] = '\0';
    mlb_error(&ctx, "%s", big);
    ck_assert(strlen(ctx.err) < sizeof ctx.err);
    ck_assert(mlb_utf8_valid(ctx.err, strlen(ctx.err)));
}
END_TEST

START_TEST(utf8_json_tree)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "msg\xff", "bad \xc3( value");
    cJSON *a = cJSON_AddArrayToObject(o, "list");
    cJSON_AddItemToArray(a, cJSON_CreateString("\xe2\x82"));
    ck_assert_int_eq(mlb_json_fix_utf8(o), 0);
    char *txt = cJSON_PrintUnformatted(o);
    ck_assert(mlb_utf8_valid(txt, strlen(txt)));
    ck_assert_ptr_nonnull(strstr(txt, "msg\xef\xbf\xbd"));
    free(txt);
    cJSON_Delete(o);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *t = tcase_create("params");
    tcase_add_test(t, param_int);
    tcase_add_test(t, param_float_bool);
    tcase_add_test(t, ctx_defaults_and_overrides);
    tcase_add_test(t, ctx_bad_default_rejected);
    tcase_add_test(t, ctx_reports);
    suite_add_tcase(s, t);
    t = tcase_create("discovery");
    tcase_add_test(t, discover_abi_checks);
    tcase_add_test(t, discover_duplicates);
    suite_add_tcase(s, t);
    t = tcase_create("json");
    tcase_add_test(t, rep_json_round_trip);
    tcase_add_test(t, atomic_write);
    suite_add_tcase(s, t);
    t = tcase_create("utf8");
    tcase_add_test(t, utf8_valid_and_fix);
    tcase_add_test(t, utf8_cut_on_boundaries);
    tcase_add_test(t, utf8_json_tree);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
