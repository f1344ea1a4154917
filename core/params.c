/* Parameter rules (ABI 1.2): ranges and choices a plugin declares, checked by
 * the engine on every value before any repetition runs, and the nearest-name
 * suggestions that turn a typo into a fix. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

int mlb_param_rule_get(const mlb_plugin *p, const char *name, mlb_param_rule *out)
{
    memset(out, 0, sizeof(*out));
    if (!p->param_rules || !p->param_rule_size)
        return -ENOENT;
    /* The plugin's element size, not ours: a rule table built against a
     * later minor version has longer elements, an earlier one shorter. */
    size_t take = p->param_rule_size < sizeof(*out) ? p->param_rule_size : sizeof(*out);
    const char *base = (const char *)p->param_rules;
    for (size_t i = 0; i < p->n_param_rules; i++) {
        mlb_param_rule r;
        memset(&r, 0, sizeof r);
        memcpy(&r, base + i * p->param_rule_size, take);
        if (r.name && !strcmp(r.name, name)) {
            *out = r;
            return 0;
        }
    }
    return -ENOENT;
}

static void fmt_num(char *b, size_t n, double v, mlb_param_type t)
{
    if (t == MLB_PARAM_INT && fabs(v) < 9.0e15 && v == floor(v))
        snprintf(b, n, "%.0f", v);
    else
        snprintf(b, n, "%.17g", v);
}

int mlb_param_rule_text(const mlb_param_rule *r, mlb_param_type t, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
#define PUT(...)                                                                                  \
    do {                                                                                          \
        int k_ = snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__);                        \
        if (k_ > 0)                                                                               \
            at += (size_t)k_;                                                                     \
    } while (0)
    if (r->choices) {
        PUT("one of ");
        for (size_t i = 0; r->choices[i]; i++)
            PUT("%s%s", i ? ", " : "", r->choices[i]);
    }
    char lo[40], hi[40];
    fmt_num(lo, sizeof lo, r->min, t);
    fmt_num(hi, sizeof hi, r->max, t);
    int has_min = (r->flags & MLB_RULE_HAS_MIN) != 0, has_max = (r->flags & MLB_RULE_HAS_MAX) != 0;
    const char *lop = (r->flags & MLB_RULE_MIN_EXCLUSIVE) ? ">" : ">=";
    const char *hop = (r->flags & MLB_RULE_MAX_EXCLUSIVE) ? "<" : "<=";
    if (has_min && has_max)
        PUT("%s%s %s and %s %s", at ? "; " : "", lop, lo, hop, hi);
    else if (has_min)
        PUT("%s%s %s", at ? "; " : "", lop, lo);
    else if (has_max)
        PUT("%s%s %s", at ? "; " : "", hop, hi);
    if (r->flags & MLB_RULE_ZERO_AUTO)
        PUT("%s0 means auto", at ? ", or " : "");
#undef PUT
    return (int)at;
}

int mlb_param_check(const mlb_plugin *p, const mlb_param_value *v, char *why, size_t why_len)
{
    mlb_param_rule r;
    if (mlb_param_rule_get(p, v->def->name, &r) < 0)
        return 0;
    char rule[512];
    mlb_param_rule_text(&r, v->def->type, rule, sizeof rule);
    if (v->def->type == MLB_PARAM_STRING) {
        if (!r.choices)
            return 0;
        for (size_t i = 0; r.choices[i]; i++)
            if (!strcmp(r.choices[i], v->text))
                return 0;
        const char *near = mlb_closest(v->text, r.choices, (size_t)-1);
        int k = snprintf(why, why_len, "'%s' is not %s", v->text, rule);
        if (near && k > 0 && (size_t)k < why_len)
            snprintf(why + k, why_len - (size_t)k, " (did you mean '%s'?)", near);
        return -ERANGE;
    }
    if (v->def->type != MLB_PARAM_INT && v->def->type != MLB_PARAM_FLOAT)
        return 0;
    double x = v->def->type == MLB_PARAM_INT ? (double)v->i : v->f;
    if ((r.flags & MLB_RULE_ZERO_AUTO) && x == 0)
        return 0;
    int bad = 0;
    if (r.flags & MLB_RULE_HAS_MIN)
        bad |= (r.flags & MLB_RULE_MIN_EXCLUSIVE) ? !(x > r.min) : !(x >= r.min);
    if (r.flags & MLB_RULE_HAS_MAX)
        bad |= (r.flags & MLB_RULE_MAX_EXCLUSIVE) ? !(x < r.max) : !(x <= r.max);
    if (bad) {
        snprintf(why, why_len, "%s is out of range (must be %s)", v->text, rule);
        return -ERANGE;
    }
    return 0;
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions): "lasoo" is one step from "lasso", "gem" one from "gemm". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *mlb_closest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t wl = strlen(word);
    for (size_t i = 0; i < n && names[i]; i++) {
        size_t d = edit_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    /* A suggestion must be closer than a rewrite: at most a third of the
     * word's letters, and never zero letters of a one-letter word. */
    size_t limit = wl / 3 > 2 ? wl / 3 : (wl >= 3 ? 2 : 1);
    if (best && best_d > 0 && best_d <= limit)
        return best;
    if (best && best_d > 0 && strlen(best) > wl && !strncmp(best, word, wl) && wl >= 2)
        return best; /* a prefix: "reg" for "regression" */
    return NULL;
}
