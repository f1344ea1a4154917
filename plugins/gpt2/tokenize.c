/*
 * mlbench-tokenize: GPT-2's BPE from the command line (bpe.h).
 *
 *   mlbench-tokenize --encode FILE [--shard OUT.bin] [--eot]
 *       the ids of FILE's bytes, one per line (or an llm.c token shard;
 *       --eot puts the end-of-text token 50256 first, as llm.c's data
 *       scripts start each document)
 *   mlbench-tokenize --decode FILE [--tokenizer gpt2_tokenizer.bin]
 *       ids one per line (or a .bin shard) back to bytes on stdout
 *   mlbench-tokenize --write-tokenizer OUT.bin
 *       llm.c's tokenizer file (magic 20240328, version 2)
 *
 *   mlbench-tokenize --wordpiece --encode FILE [--vocab vocab.txt]
 *       BERT's uncased WordPiece ids of FILE (plugins/bert/wordpiece.h), one
 *       per line, without [CLS] and [SEP]
 *
 * encoder.json and vocab.bpe are the bundled data/gpt2_*.gz (found on
 * MLBENCH_DATA_PATH and the data directories) unless --encoder and --vocab
 * name others; --wordpiece's vocabulary is data/bert_uncased_vocab.txt.gz
 * unless --vocab names another.
 */
#include "bpe.h"
#include "wordpiece.h"
#include "mlbench/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transformer.h"

static int usage(void)
{
    fprintf(stderr, "usage: mlbench-tokenize [--encoder encoder.json --vocab vocab.bpe] "
                    "(--encode FILE [--shard OUT.bin] [--eot] | --decode FILE [--tokenizer "
                    "TOK.bin] | --write-tokenizer OUT.bin)\n"
                    "       mlbench-tokenize --wordpiece --encode FILE [--vocab vocab.txt]\n");
    return 2;
}

static int die(const char *msg)
{
    fprintf(stderr, "mlbench-tokenize: %s\n", msg);
    return 1;
}

static int slurp(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        return -EIO;
    }
    *out = b;
    *len = n;
    return 0;
}

/* BERT's WordPiece ids of a file: counted first, then written. */
static int wordpiece_encode(const char *vocab, const char *path)
{
    char err[1024], found[4096];
    if (!vocab) {
        if (mlb_data_find("bert_uncased_vocab.txt.gz", found, sizeof found, err, sizeof err) < 0)
            return die(err);
        vocab = found;
    }
    wp_vocab *v = NULL;
    if (wp_vocab_load(vocab, &v, err, sizeof err) < 0)
        return die(err);
    uint8_t *text = NULL;
    size_t len = 0, n = 0, m = 0;
    int rc = slurp(path, &text, &len);
    if (rc < 0) {
        snprintf(err, sizeof err, "%s: %s", path, strerror(-rc));
        wp_vocab_free(v);
        return die(err);
    }
    int32_t *ids = NULL;
    if ((rc = wp_encode(v, (const char *)text, len, NULL, 0, &n)) == 0 &&
        (ids = malloc((n ? n : 1) * sizeof *ids)))
        rc = wp_encode(v, (const char *)text, len, ids, n, &m);
    for (size_t i = 0; rc == 0 && ids && i < m; i++)
        printf("%d\n", ids[i]);
    free(ids);
    free(text);
    wp_vocab_free(v);
    return rc < 0 || !ids ? die("out of memory") : 0;
}

int main(int argc, char **argv)
{
    const char *enc = NULL, *voc = NULL, *encode = NULL, *decode = NULL, *shard = NULL;
    const char *tokfile = NULL, *write_tok = NULL;
    int eot = 0, wordpiece = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--encoder")           ? &enc
                           : !strcmp(a, "--vocab")           ? &voc
                           : !strcmp(a, "--encode")          ? &encode
                           : !strcmp(a, "--decode")          ? &decode
                           : !strcmp(a, "--shard")           ? &shard
                           : !strcmp(a, "--tokenizer")       ? &tokfile
                           : !strcmp(a, "--write-tokenizer") ? &write_tok
                                                             : NULL;
        if (!strcmp(a, "--eot")) {
            eot = 1;
            continue;
        }
        if (!strcmp(a, "--wordpiece")) {
            wordpiece = 1;
            continue;
        }
        if (!dst || i + 1 >= argc)
            return usage();
        *dst = argv[++i];
    }
    if (wordpiece)
        return encode && !decode && !write_tok && !enc && !shard ? wordpiece_encode(voc, encode)
                                                                  : usage();
    if (!!encode + !!decode + !!write_tok != 1 || !enc != !voc)
        return usage();
    char err[1024];
    gpt2_bpe t;
    int rc = decode && tokfile ? gpt2_tokenizer_load(&t, tokfile, err, sizeof err)
             : enc             ? gpt2_bpe_load(&t, enc, voc, err, sizeof err)
                               : gpt2_bpe_load_default(&t, err, sizeof err);
    if (rc < 0)
        return die(err);
    if (write_tok) {
        rc = gpt2_tokenizer_save(&t, write_tok, err, sizeof err);
        gpt2_bpe_free(&t);
        return rc < 0 ? die(err) : 0;
    }
    if (encode) {
        uint8_t *text = NULL;
        size_t n = 0, k;
        int32_t *ids;
        if (slurp(encode, &text, &n) < 0) {
            snprintf(err, sizeof err, "%s: %s", encode, strerror(errno ? errno : EIO));
            return die(err);
        }
        rc = gpt2_bpe_encode(&t, text, n, &ids, &k, err, sizeof err);
        free(text);
        if (rc < 0)
            return die(err);
        if (shard) {
            uint16_t *u = malloc((k + 1) * sizeof *u);
            size_t m = 0;
            if (!u)
                return die("out of memory");
            if (eot)
                u[m++] = (uint16_t)t.eot;
            for (size_t i = 0; i < k; i++)
                u[m++] = (uint16_t)ids[i];
            rc = nn_gpt2_shard_save(shard, u, m, err, sizeof err);
            free(u);
        } else {
            if (eot)
                printf("%d\n", t.eot);
            for (size_t i = 0; i < k; i++)
                printf("%d\n", ids[i]);
        }
        free(ids);
        gpt2_bpe_free(&t);
        return rc < 0 ? die(err) : 0;
    }
    /* --decode: a shard, or ids one per line */
    size_t n = 0, cap = 1024;
    int32_t *ids = malloc(cap * sizeof *ids);
    size_t dl = strlen(decode);
    if (dl > 4 && !strcmp(decode + dl - 4, ".bin")) {
        uint16_t *u;
        if (nn_gpt2_shard_load(decode, &u, &n, err, sizeof err) < 0)
            return die(err);
        free(ids);
        ids = malloc((n ? n : 1) * sizeof *ids);
        for (size_t i = 0; ids && i < n; i++)
            ids[i] = u[i];
        nn_free(u);
    } else {
        FILE *f = fopen(decode, "r");
        if (!f) {
            snprintf(err, sizeof err, "%s: %s", decode, strerror(errno));
            return die(err);
        }
        long v;
        while (ids && fscanf(f, "%ld", &v) == 1) {
            if (n == cap) {
                int32_t *ni = realloc(ids, 2 * cap * sizeof *ids);
                if (!ni) {
                    free(ids);
                    ids = NULL;
                    break;
                }
                ids = ni;
                cap *= 2;
            }
            ids[n++] = v < INT32_MIN || v > INT32_MAX ? -1 : (int32_t)v;
        }
        int bad = !feof(f);
        fclose(f);
        if (bad) {
            snprintf(err, sizeof err, "%s: not integers one per line", decode);
            return die(err);
        }
    }
    if (!ids)
        return die("out of memory");
    uint8_t *bytes;
    size_t nb;
    rc = gpt2_bpe_decode(&t, ids, n, &bytes, &nb, err, sizeof err);
    free(ids);
    gpt2_bpe_free(&t);
    if (rc < 0)
        return die(err);
    fwrite(bytes, 1, nb, stdout);
    free(bytes);
    return 0;
}
