/* squad_metrics.h: SQuAD v1.1's normalisation, exact match and token F1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "squad_metrics.h"

/* Python's string.punctuation: every ASCII character that is neither a
 * letter, a digit nor whitespace. */
static int is_punct(unsigned char c)
{
    return c > 32 && c < 127 && !(c >= '0' && c <= '9') && !((c | 32) >= 'a' && (c | 32) <= 'z');
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= 9 && c <= 13) || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x1F;
}

typedef struct {
    char *buf;     /* the normalised text, tokens NUL-separated */
    char **tok;
    size_t n;
} tokens;

static int is_article(const char *t)
{
    return !strcmp(t, "a") || !strcmp(t, "an") || !strcmp(t, "the");
}

/* lower, drop punctuation, split on whitespace, drop articles: with ASCII
 * punctuation gone, \b(a|an|the)\b can only match whole tokens. */
static int normalise(const char *s, tokens *out)
{
    size_t len = strlen(s);
    out->buf = malloc(len + 1);
    out->tok = malloc((len / 2 + 1) * sizeof *out->tok);
    out->n = 0;
    if (!out->buf || !out->tok)
        return -1;
    size_t k = 0;
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_punct(c))
            continue;
        if (is_space(c)) {
            if (in) {
                out->buf[k++] = '\0';
                in = 0;
            }
            continue;
        }
        if (!in) {
            out->tok[out->n++] = out->buf + k;
            in = 1;
        }
        out->buf[k++] = (char)(c >= 'A' && c <= 'Z' ? c | 32 : c);
    }
    out->buf[k] = '\0';
    size_t m = 0;
    for (size_t i = 0; i < out->n; i++)
        if (!is_article(out->tok[i]))
            out->tok[m++] = out->tok[i];
    out->n = m;
    return 0;
}

static void tokens_free(tokens *t)
{
    free(t->buf);
    free(t->tok);
}

static int same(const tokens *a, const tokens *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i]))
            return 0;
    return 1;
}

static int cmp_tok(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Tokens in common as multisets (Counter & Counter): merge of sorted lists. */
static size_t common(tokens *a, tokens *b)
{
    qsort(a->tok, a->n, sizeof *a->tok, cmp_tok);
    qsort(b->tok, b->n, sizeof *b->tok, cmp_tok);
    size_t i = 0, j = 0, n = 0;
    while (i < a->n && j < b->n) {
        int d = strcmp(a->tok[i], b->tok[j]);
        if (!d)
            n++, i++, j++;
        else if (d < 0)
            i++;
        else
            j++;
    }
    return n;
}

static double score(const char *pred, const char *const *truths, size_t n_truths, int f1)
{
    if (!n_truths)
        return NAN;
    double best = 0;
    for (size_t t = 0; t < n_truths; t++) {
        tokens p, g;
        int bad = normalise(pred, &p) | normalise(truths[t], &g);
        double v = NAN;
        if (!bad && !f1) {
            v = same(&p, &g);
        } else if (!bad) {
            size_t np = p.n, ng = g.n, c = common(&p, &g);
            double prec = c ? (double)c / (double)np : 0, rec = c ? (double)c / (double)ng : 0;
            v = c ? 2 * prec * rec / (prec + rec) : 0;
        }
        tokens_free(&p);
        tokens_free(&g);
        if (isnan(v))
            return NAN;
        if (v > best)
            best = v;
    }
    return best;
}

double squad_exact_match(const char *pred, const char *const *truths, size_t n_truths)
{
    return score(pred, truths, n_truths, 0);
}

double squad_f1(const char *pred, const char *const *truths, size_t n_truths)
{
    return score(pred, truths, n_truths, 1);
}
