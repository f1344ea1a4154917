/* SQuAD v1.1 exact match and F1 (plugins/common/squad_metrics.c) against a
 * Python transcription of the official evaluate-v1.1.py
 * (tests/ref/squad/refs.json, made by make_refs.py there). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "squad_metrics.h"

static cJSON *refs;

START_TEST(test_matches_reference)
{
    const cJSON *c = cJSON_GetArrayItem(refs, _i);
    const char *pred = cJSON_GetObjectItem(c, "pred")->valuestring;
    const cJSON *t = cJSON_GetObjectItem(c, "truths");
    size_t n = (size_t)cJSON_GetArraySize(t);
    const char *truths[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++)
        truths[i] = cJSON_GetArrayItem(t, (int)i)->valuestring;
    double em = squad_exact_match(pred, truths, n), f1 = squad_f1(pred, truths, n);
    ck_assert_msg(em == cJSON_GetObjectItem(c, "em")->valuedouble, "case %d '%s': em %g", _i,
                  pred, em);
    ck_assert_msg(fabs(f1 - cJSON_GetObjectItem(c, "f1")->valuedouble) < 1e-12,
                  "case %d '%s': f1 %.17g, reference %.17g", _i, pred, f1,
                  cJSON_GetObjectItem(c, "f1")->valuedouble);
}
END_TEST

START_TEST(test_no_truths)
{
    ck_assert(isnan(squad_exact_match("x", NULL, 0)));
    ck_assert(isnan(squad_f1("x", NULL, 0)));
}
END_TEST

int main(void)
{
    FILE *f = fopen(SQUAD_REF_DIR "/refs.json", "rb");
    static char buf[1 << 16];
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = '\0';
    refs = cJSON_Parse(buf);
    if (!cJSON_IsArray(refs) || cJSON_GetArraySize(refs) < 10) {
        fprintf(stderr, "%s/refs.json: missing or not a list of cases\n", SQUAD_REF_DIR);
        return 1;
    }
    Suite *s = suite_create("squad");
    TCase *tc = tcase_create("squad");
    tcase_add_loop_test(tc, test_matches_reference, 0, cJSON_GetArraySize(refs));
    tcase_add_test(tc, test_no_truths);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cJSON_Delete(refs);
    return failed ? 1 : 0;
}
