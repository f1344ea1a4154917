/* Question answering data (plugins/bert/qa.c): the synthetic set's answers
 * are spans of their contexts and depend on the seed alone; SQuAD v1.1
 * JSON with character offsets past multi-byte text; broken files. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "qa.h"
#include "squad_metrics.h"
#include "parse_checks.h"

START_TEST(test_synthetic_spans)
{
    qa_set *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(qa_synth(7, 200, 3, &a), 0);
    ck_assert_int_eq(qa_synth(7, 200, 3, &b), 0);
    ck_assert_int_eq(qa_synth(8, 200, 3, &c), 0);
    ck_assert_uint_eq(a->n, 200);
    int differ = 0, kinds[4] = {0};
    for (size_t i = 0; i < a->n; i++) {
        const qa_example *e = &a->ex[i];
        ck_assert_msg(!strncmp(e->context + e->answer_start, e->answer, strlen(e->answer)),
                      "example %zu: '%s' not at %zu of '%s'", i, e->answer, e->answer_start,
                      e->context);
        ck_assert_str_eq(e->context, b->ex[i].context); /* the seed alone */
        ck_assert_str_eq(e->question, b->ex[i].question);
        differ += strcmp(e->context, c->ex[i].context) != 0;
        /* the question names someone in the context */
        char first[32];
        sscanf(strstr(e->question, "was ") ? strstr(e->question, "was ") + 4
                                           : strstr(e->question, "did ") + 4, "%31s", first);
        ck_assert_ptr_nonnull(strstr(e->context, first));
        kinds[e->question[0] == 'I' ? 1 : e->question[0] == 'W' && e->question[1] == 'h' &&
                                              e->question[2] == 'a' ? 2
              : strstr(e->question, "born") ? 0 : 3]++;
        const char *t = e->answer;
        ck_assert(squad_exact_match(e->answer, &t, 1) == 1.0);
    }
    ck_assert_int_gt(differ, 190);
    for (int k = 0; k < 4; k++)
        ck_assert_int_gt(kinds[k], 20); /* every kind of question is asked */
    qa_set_free(c);
    ck_assert_int_eq(qa_synth(1, 1, 9, &c), -22);
    ck_assert_ptr_null(c);
    qa_set_free(a);
    qa_set_free(b);
}
END_TEST

START_TEST(test_squad_json)
{
    const char *j = "{\"version\": \"1.1\", \"data\": [{\"title\": \"t\", \"paragraphs\": [{"
                    "\"context\": \"Caf\xc3\xa9 Noir opened in 1920 in S\xc3\xa3o Paulo.\","
                    "\"qas\": [{\"id\": \"1\", \"question\": \"Where?\", \"answers\": ["
                    "{\"text\": \"S\xc3\xa3o Paulo\", \"answer_start\": 28},"
                    "{\"text\": \"Paulo\", \"answer_start\": 32}]}]}]}]}";
    qa_set *s = NULL;
    char err[256] = "";
    ck_assert_msg(qa_parse_squad(j, strlen(j), &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_uint_eq(s->ex[0].n_truths, 2);
    /* 28 characters in, past the two bytes of 'é': byte 29 */
    ck_assert_uint_eq(s->ex[0].answer_start, 29);
    ck_assert_str_eq(s->ex[0].answer, "S\xc3\xa3o Paulo");
    qa_set_free(s);
}
END_TEST

static void fails(const char *j, const char *want)
{
    CHECK_PARSE_FAILS(qa_parse_squad, qa_set, j, want);
}

START_TEST(test_squad_broken)
{
    fails("{\"data\": [", "not valid JSON");
    fails("{\"data\": 3}", "data: expected a list");
    fails("{\"data\": []} x", "data after the JSON document");
    fails("{\"data\": []}", "no questions");
    fails("{\"data\": [{\"paragraphs\": [{\"context\": 5}]}]}",
          "data[0].paragraphs[0].context: expected a string");
    fails("{\"data\": [{\"paragraphs\": [{\"context\": \"abc\", \"qas\": [{\"question\": \"q\", "
          "\"answers\": [{\"text\": \"bc\", \"answer_start\": 0}]}]}]}]}",
          "data[0].paragraphs[0].qas[0].answers[0]: text and answer_start");
    fails("{\"data\": [{\"paragraphs\": [{\"context\": \"abc\", \"qas\": [{\"question\": \"q\", "
          "\"answers\": [{\"text\": \"c\", \"answer_start\": 9}]}]}]}]}", "answer_start");
    fails("{\"data\": [{\"paragraphs\": [{\"context\": \"abc\", \"qas\": [{\"question\": \"q\", "
          "\"answers\": []}]}]}]}", "at least one answer");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qa");
    TCase *tc = tcase_create("qa");
    tcase_add_test(tc, test_synthetic_spans);
    tcase_add_test(tc, test_squad_json);
    tcase_add_test(tc, test_squad_broken);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
