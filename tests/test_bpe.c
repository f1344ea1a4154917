/*
 * GPT-2's BPE tokeniser (plugins/gpt2/bpe.c) against the npm package
 * gpt-3-encoder's own Encoder.js: tests/ref/gpt2_bpe/ids.txt are its ids of
 * sample.txt (a Moby-Dick excerpt, contractions, numbers, whitespace runs,
 * many scripts, emoji), made by make_ids.js there. Also decoding, bytes that
 * are not UTF-8, and llm.c's tokenizer file.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"

static gpt2_bpe tok;

static void setup(void)
{
    char err[1024];
    ck_assert_msg(gpt2_bpe_load_default(&tok, err, sizeof err) == 0, "%s", err);
}

static void teardown(void)
{
    gpt2_bpe_free(&tok);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    ck_assert(fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

START_TEST(test_vocabulary)
{
    ck_assert_int_eq(tok.n_vocab, 50257);
    ck_assert_int_eq(tok.eot, GPT2_BPE_EOT);
    ck_assert_int_eq(tok.n_merges, 50000);
    /* "!" is id 0, " the" is 262 in GPT-2's vocabulary. */
    ck_assert_int_eq(tok.byte_id['!'], 0);
    int32_t *ids;
    size_t n;
    char err[256];
    ck_assert(gpt2_bpe_encode(&tok, (const uint8_t *)" the", 4, &ids, &n, err, sizeof err) == 0);
    ck_assert(n == 1 && ids[0] == 262);
    free(ids);
}
END_TEST

START_TEST(test_matches_encoder_js)
{
    size_t n, nref = 0;
    uint8_t *text = slurp(BPE_REF_DIR "/sample.txt", &n);
    FILE *f = fopen(BPE_REF_DIR "/ids.txt", "r");
    ck_assert_ptr_nonnull(f);
    int32_t *ref = malloc(n * sizeof *ref);
    int v;
    while (fscanf(f, "%d", &v) == 1)
        ref[nref++] = v;
    fclose(f);
    int32_t *ids;
    size_t k;
    char err[256];
    ck_assert(gpt2_bpe_encode(&tok, text, n, &ids, &k, err, sizeof err) == 0);
    for (size_t i = 0; i < k && i < nref; i++)
        ck_assert_msg(ids[i] == ref[i], "id %zu: %d, Encoder.js %d", i, ids[i], ref[i]);
    ck_assert_uint_eq(k, nref);
    uint8_t *back;
    size_t nb;
    ck_assert(gpt2_bpe_decode(&tok, ids, k, &back, &nb, err, sizeof err) == 0);
    ck_assert(nb == n && !memcmp(back, text, n));
    free(back);
    free(ids);
    free(ref);
    free(text);
}
END_TEST

/* Any bytes round-trip, UTF-8 or not. */
START_TEST(test_any_bytes)
{
    const uint8_t raw[] = {0xff, 0xfe, ' ', 'a', 'b', 0xc3, ' ', 0xe2, 0x82, '\n', 0,
                           0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, ' ', ' ', 0xc3, 0xa9};
    int32_t *ids;
    size_t k, nb;
    uint8_t *back;
    char err[256];
    ck_assert(gpt2_bpe_encode(&tok, raw, sizeof raw, &ids, &k, err, sizeof err) == 0);
    ck_assert(gpt2_bpe_decode(&tok, ids, k, &back, &nb, err, sizeof err) == 0);
    ck_assert(nb == sizeof raw && !memcmp(back, raw, nb));
    free(ids);
    free(back);
    int32_t bad = 50257;
    ck_assert(gpt2_bpe_decode(&tok, &bad, 1, &back, &nb, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "outside the vocabulary"), "%s", err);
}
END_TEST

/* The pre-tokeniser's pieces of a few known strings. */
START_TEST(test_pretokens)
{
    struct {
        const char *text;
        const char *pieces; /* '|'-separated */
    } cases[] = {
        {"Hello world", "Hello| world"},
        {"a   b", "a|  | b"},
        {"it's done", "it|'s| done"},
        {"x \n\n y", "x| \n\n| y"},
        {"end  ", "end|  "},
        {"1,000!!", "1|,|000|!!"},
        {"'x", "'|x"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const uint8_t *s = (const uint8_t *)cases[c].text;
        size_t n = strlen(cases[c].text);
        char got[64] = "";
        size_t used = 0;
        for (size_t p = 0; p < n;) {
            size_t e = gpt2_bpe_pretoken(s, n, p);
            used += (size_t)snprintf(got + used, sizeof got - used, "%s%.*s", p ? "|" : "",
                                     (int)(e - p), s + p);
            p = e;
        }
        ck_assert_msg(!strcmp(got, cases[c].pieces), "'%s': '%s'", cases[c].text, got);
    }
}
END_TEST

START_TEST(test_llmc_tokenizer_file)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "/tmp/mlb_test_bpe_%d.bin", (int)getpid());
    ck_assert_msg(gpt2_tokenizer_save(&tok, path, err, sizeof err) == 0, "%s", err);
    gpt2_bpe dec;
    ck_assert_msg(gpt2_tokenizer_load(&dec, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(dec.n_vocab, 50257);
    ck_assert_int_eq(dec.eot, 50256);
    ck_assert(!memcmp(dec.off, tok.off, (size_t)(tok.n_vocab + 1) * sizeof *tok.off));
    ck_assert(!memcmp(dec.bytes, tok.bytes, tok.off[tok.n_vocab]));
    int32_t *ids;
    size_t k;
    ck_assert(gpt2_bpe_encode(&dec, (const uint8_t *)"x", 1, &ids, &k, err, sizeof err) ==
              -EINVAL);
    gpt2_bpe_free(&dec);

    size_t n;
    uint8_t *raw = slurp(path, &n);
    uint8_t *copy = malloc(n + 4);
    struct {
        size_t off;
        uint32_t val;
        size_t len;
        const char *expect;
    } bad[] = {{0, 20240326, n, "magic 20240326"},
               {4, 3, n, "version 3"},
               {0, GPT2_TOKENIZER_MAGIC, n - 1, "truncated"},
               {0, GPT2_TOKENIZER_MAGIC, n + 4, "trailing"},
               {12, 50257, n, "eot < size"},
               {1024, 0, n, "length 0"},
               {0, GPT2_TOKENIZER_MAGIC, 100, "shorter than its 1024-byte header"}};
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        memset(copy, 0, n + 4);
        memcpy(copy, raw, n);
        if (bad[c].off == 1024)
            copy[1024] = 0;
        else
            memcpy(copy + bad[c].off, &bad[c].val, 4);
        int rc = gpt2_tokenizer_parse(&dec, copy, bad[c].len, err, sizeof err);
        ck_assert_msg(rc == -EINVAL && strstr(err, bad[c].expect), "case %zu: %d '%s'", c, rc,
                      err);
    }
    free(copy);
    free(raw);
    unlink(path);
}
END_TEST

START_TEST(test_bad_encoder_files)
{
    char err[512];
    gpt2_bpe t;
    ck_assert(gpt2_bpe_load_mem(&t, "[1]", 3, "", 0, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "not a JSON object"), "%s", err);
    ck_assert(gpt2_bpe_load_mem(&t, "{\"a\": 0}", 8, "", 0, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "1 entries"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bpe");
    TCase *tc = tcase_create("bpe");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_vocabulary);
    tcase_add_test(tc, test_matches_encoder_js);
    tcase_add_test(tc, test_any_bytes);
    tcase_add_test(tc, test_pretokens);
    tcase_add_test(tc, test_llmc_tokenizer_file);
    tcase_add_test(tc, test_bad_encoder_files);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
