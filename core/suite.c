/* Suite files: read with libyaml's document API, then walked with strict
 * structural checks. The document API is used rather than events because it
 * gives every node its start mark, which is what error messages and the
 * engine's later plugin checks need, and it resolves aliases for us. */
#include "suite.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* A suite is a few kilobytes; anything larger than this is a wrong path
 * (exactly 16 MiB is still read). */
#define MLB_SUITE_MAX_BYTES (16u << 20)
/* Aliases share one node in libyaml's document, but the loader copies what
 * it reads once per reference: a 3 MB file of `*b` a million times would
 * expand to gigabytes. The document's size with every alias expanded, and
 * its nesting, are checked against these before it is read. */
#define MLB_SUITE_MAX_NODES 1000000
#define MLB_SUITE_MAX_DEPTH 64

typedef struct {
    const char *path;
    char *err;
    size_t errlen;
    yaml_document_t *doc;
} ld_ctx;

static mlb_pos pos_of(yaml_mark_t m)
{
    /* libyaml marks are 0-based; editors and compilers count from 1. */
    return (mlb_pos){ (int)m.line + 1, (int)m.column + 1 };
}

__attribute__((format(printf, 4, 5)))
static int fail_at(ld_ctx *c, int line, int col, const char *fmt, ...)
{
    if (c->err && c->errlen > 0) {
        int n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->path, line, col);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}

__attribute__((format(printf, 3, 4)))
static int fail(ld_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mlb_pos p = pos_of(at->start_mark);
    return fail_at(c, p.line, p.col, "%s", msg);
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* YAML 1.1's plain-scalar spellings of null. A quoted "" is a real string. */
static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = sval(n);
    return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* A quoted scalar that would otherwise pass for a number: worth naming, as
 * "got '3'" alone would puzzle the reader. */
static int quoted(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
           !memchr(n->data.scalar.value, '\0', n->data.scalar.length);
}

/* Scalar text as a C string; a "\0" escape would silently truncate it. */
static int scalar_text(ld_ctx *c, const yaml_node_t *n, const char *what, const char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(c, n, "%s: expected a scalar, got %s", what, kind_name(n));
    if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return fail(c, n, "%s: value contains a NUL character", what);
    *out = sval(n);
    return 0;
}

static int dup_str(const char *s, char **out)
{
    *out = strdup(s);
    return *out ? 0 : -ENOMEM;
}

/* A non-empty string: names of suites, tasks, variants, metrics. */
static int get_name(ld_ctx *c, const yaml_node_t *n, const char *what, char **out)
{
    const char *s = NULL;
    if (n->type != YAML_SCALAR_NODE || is_null(n))
        return fail(c, n, "%s: expected a name, got %s", what,
                    is_null(n) ? "nothing" : kind_name(n));
    int rc = scalar_text(c, n, what, &s);
    if (rc)
        return rc;
    if (!*s)
        return fail(c, n, "%s: expected a name, got an empty string", what);
    return dup_str(s, out);
}

/* Numbers must be plain scalars: a quoted "5" is a string in YAML, and
 * accepting it would hide a mistake in the file. */
static int get_int(ld_ctx *c, const yaml_node_t *n, const char *what, int min, int *out)
{
    const char *s = NULL;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        is_null(n))
        goto bad;
    s = sval(n);
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (!s[i])
        goto bad;
    for (; s[i]; i++)
        if (s[i] < '0' || s[i] > '9')
            goto bad;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
        return fail(c, n, "%s: %s is out of range", what, s);
    if (v < min)
        return fail(c, n, "%s: must be >= %d, got %ld", what, min, v);
    /* Counts (repetitions, warm-ups, queries) past a million are a typo,
     * and would have the engine allocate gigabytes of records. */
    if (v > MLB_SUITE_MAX_COUNT)
        return fail(c, n, "%s: at most %d, got %ld", what, MLB_SUITE_MAX_COUNT, v);
    *out = (int)v;
    return 0;
bad:
    if (quoted(n))
        return fail(c, n, "%s: expected an integer >= %d, got the quoted string \"%s\"", what,
                    min, sval(n));
    if (n->type == YAML_SCALAR_NODE && !is_null(n) &&
        !memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return fail(c, n, "%s: expected an integer >= %d, got '%s'", what, min, sval(n));
    return fail(c, n, "%s: expected an integer >= %d, got %s", what, min,
                is_null(n) ? "nothing" : kind_name(n));
}

/* YAML 1.2's core booleans, unquoted. */
static int get_bool(ld_ctx *c, const yaml_node_t *n, const char *what, int *out)
{
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *s = sval(n);
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
            *out = 0;
            return 0;
        }
    }
    if (n->type == YAML_SCALAR_NODE && !is_null(n) &&
        !memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return fail(c, n, "%s: expected true or false, got '%s'", what, sval(n));
    return fail(c, n, "%s: expected true or false, got %s", what,
                is_null(n) ? "nothing" : kind_name(n));
}

/* Decimal only: strtod would also take "inf", "nan" and hex floats, none of
 * which is a sensible timeout or quality target. */
static int get_double(ld_ctx *c, const yaml_node_t *n, const char *what, int positive,
                      double *out)
{
    const char *s = NULL;
    char *end;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        is_null(n))
        goto bad;
    s = sval(n);
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        goto bad;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s)
        goto bad;
    if (errno == ERANGE || !isfinite(v))
        return fail(c, n, "%s: %s is out of range", what, s);
    if (positive && !(v > 0))
        return fail(c, n, "%s: must be > 0, got %s", what, s);
    *out = v;
    return 0;
bad:
    if (quoted(n))
        return fail(c, n, "%s: expected a%s number, got the quoted string \"%s\"", what,
                    positive ? " positive" : "", sval(n));
    if (n->type == YAML_SCALAR_NODE && !is_null(n) &&
        !memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return fail(c, n, "%s: expected a%s number, got '%s'", what,
                    positive ? " positive" : "", sval(n));
    return fail(c, n, "%s: expected a%s number, got %s", what, positive ? " positive" : "",
                is_null(n) ? "nothing" : kind_name(n));
}

/* FNV-1a, for the duplicate-key set. */
static size_t str_hash(const char *s)
{
    size_t h = (size_t)14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
    return h;
}

/* Iterates a mapping's pairs after checking that every key is a non-empty
 * scalar and none repeats; YAML forbids duplicates, but libyaml keeps both
 * and a silent "last one wins" would hide typos. The keys seen go into an
 * open-addressing hash set, so that 40 000 keys cost 40 000 probes, not
 * 800 million comparisons. */
static int check_keys(ld_ctx *c, const yaml_node_t *map, const char *where)
{
    yaml_node_pair_t *b = map->data.mapping.pairs.start, *e = map->data.mapping.pairs.top;
    size_t n = (size_t)(e - b), cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    const yaml_node_t **set = calloc(cap, sizeof *set);
    if (!set)
        return -ENOMEM;
    int rc = 0;
    for (yaml_node_pair_t *p = b; p < e && !rc; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        const char *ks = NULL;
        if (k->type != YAML_SCALAR_NODE || is_null(k)) {
            rc = fail(c, k, "%s: keys must be names, got %s", where,
                      is_null(k) ? "nothing" : kind_name(k));
            break;
        }
        if ((rc = scalar_text(c, k, where, &ks)))
            break;
        size_t i = str_hash(ks) & (cap - 1);
        for (; set[i]; i = (i + 1) & (cap - 1))
            if (!strcmp(sval(set[i]), ks)) {
                mlb_pos first = pos_of(set[i]->start_mark);
                rc = fail(c, k, "%s: duplicate key '%s' (first at line %d)", where, ks,
                          first.line);
                break;
            }
        if (!rc)
            set[i] = k;
    }
    free(set);
    return rc;
}

/* The number of nodes under node `id` (itself included) with every alias
 * expanded, memoised per node in `size` (0: not yet known), and its depth.
 * Returns 0, or -E2BIG / -ELOOP past the limits, with the node at *at. */
static int expanded_size(yaml_document_t *d, int id, int depth, size_t *size,
                         const yaml_node_t **at)
{
    yaml_node_t *n = yaml_document_get_node(d, id);
    if (!n)
        return 0;
    size_t idx = (size_t)(id - 1);
    if (size[idx])
        return 0;
    if (depth > MLB_SUITE_MAX_DEPTH) {
        *at = n;
        return -ELOOP;
    }
    size_t total = 1;
    int rc = 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top && !rc; it++)
            if (!(rc = expanded_size(d, *it, depth + 1, size, at)))
                total += size[*it - 1];
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top && !rc; p++)
            if (!(rc = expanded_size(d, p->key, depth + 1, size, at)) &&
                !(rc = expanded_size(d, p->value, depth + 1, size, at)))
                total += size[p->key - 1] + size[p->value - 1];
    }
    if (rc)
        return rc;
    if (total > MLB_SUITE_MAX_NODES) {
        *at = n;
        return -E2BIG;
    }
    size[idx] = total;
    return 0;
}

static int check_expansion(ld_ctx *c, yaml_document_t *d)
{
    size_t nodes = (size_t)(d->nodes.top - d->nodes.start);
    if (nodes == 0)
        return 0;
    size_t *size = calloc(nodes, sizeof *size);
    if (!size)
        return -ENOMEM;
    const yaml_node_t *at = NULL;
    int rc = expanded_size(d, 1, 0, size, &at);
    free(size);
    if (rc == -E2BIG)
        return fail(c, at, "the document expands to more than %d nodes with its aliases "
                           "(an alias bomb?)",
                    MLB_SUITE_MAX_NODES);
    if (rc == -ELOOP)
        return fail(c, at, "nesting deeper than %d levels", MLB_SUITE_MAX_DEPTH);
    return rc;
}

static int unknown_key(ld_ctx *c, const yaml_node_t *k, const char *where, const char *allowed)
{
    return fail(c, k, "%s: unknown key '%s' (expected one of: %s)", where, sval(k), allowed);
}

static int load_variants(ld_ctx *c, const yaml_node_t *n, const char *where,
                         mlb_bench_spec *b)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "%s: expected a list of variant names, got %s", where,
                    is_null(n) ? "nothing" : kind_name(n));
    yaml_node_item_t *it = n->data.sequence.items.start;
    size_t cnt = (size_t)(n->data.sequence.items.top - it);
    if (cnt == 0)
        return fail(c, n, "%s: empty list (omit the key to run every variant)",
                    where);
    b->variants = calloc(cnt, sizeof *b->variants);
    b->variant_pos = calloc(cnt, sizeof *b->variant_pos);
    if (!b->variants || !b->variant_pos)
        return -ENOMEM;
    b->n_variants = cnt;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *v = yaml_document_get_node(c->doc, it[i]);
        int rc = get_name(c, v, where, &b->variants[i]);
        if (rc)
            return rc;
        b->variant_pos[i] = pos_of(v->start_mark);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(b->variants[j], b->variants[i]))
                return fail(c, v, "%s: '%s' is listed twice", where,
                            b->variants[i]);
    }
    return 0;
}

static int load_params(ld_ctx *c, const yaml_node_t *n, const char *where, mlb_bench_spec *b)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "%s: expected a mapping of name: value, got %s", where,
                    is_null(n) ? "nothing" : kind_name(n));
    const char *sub = where;
    int rc = check_keys(c, n, sub);
    if (rc)
        return rc;
    yaml_node_pair_t *p = n->data.mapping.pairs.start;
    size_t cnt = (size_t)(n->data.mapping.pairs.top - p);
    if (cnt == 0)
        return 0;
    b->params = calloc(cnt, sizeof *b->params);
    if (!b->params)
        return -ENOMEM;
    b->n_params = cnt;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p[i].key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p[i].value);
        const char *vs = NULL;
        mlb_kv *kv = &b->params[i];
        kv->pos = pos_of(k->start_mark);
        kv->value_pos = pos_of(v->start_mark);
        if ((rc = dup_str(sval(k), &kv->key)))
            return rc;
        if (v->type == YAML_SEQUENCE_NODE) { /* a sweep: each value is a point */
            yaml_node_item_t *it = v->data.sequence.items.start;
            size_t nv = (size_t)(v->data.sequence.items.top - it);
            if (nv == 0)
                return fail(c, v, "%s: '%s' is an empty list: a sweep needs at least one value",
                            sub, sval(k));
            if (nv > MLB_SUITE_MAX_SWEEP)
                return fail(c, v, "%s: '%s' sweeps %zu values (at most %d)", sub, sval(k), nv,
                            MLB_SUITE_MAX_SWEEP);
            kv->values = calloc(nv, sizeof(char *));
            if (!kv->values)
                return -ENOMEM;
            for (size_t j = 0; j < nv; j++) {
                yaml_node_t *e = yaml_document_get_node(c->doc, it[j]);
                if (e->type != YAML_SCALAR_NODE || is_null(e))
                    return fail(c, e, "%s: '%s': every value of a sweep must be a single value, "
                                      "got %s", sub, sval(k), is_null(e) ? "nothing" : kind_name(e));
                if ((rc = scalar_text(c, e, sval(k), &vs)) || (rc = dup_str(vs, &kv->values[j])))
                    return rc;
                kv->n_values = j + 1;
            }
            if ((rc = dup_str(kv->values[0], &kv->value)))
                return rc;
            continue;
        }
        if (v->type != YAML_SCALAR_NODE)
            return fail(c, v, "%s: '%s' must be a single value or a list of values, got %s", sub,
                        sval(k), kind_name(v));
        if (is_null(v))
            return fail(c, v, "%s: '%s' has no value", sub, sval(k));
        if ((rc = scalar_text(c, v, sval(k), &vs)))
            return rc;
        /* Kept as written: the plugin's declared type decides how to read it,
         * so "0.010" or "yes" must reach it unchanged. */
        if ((rc = dup_str(vs, &kv->value)))
            return rc;
    }
    return 0;
}

static int load_target(ld_ctx *c, const yaml_node_t *n, const char *where, mlb_bench_spec *b)
{
    static const char allowed[] = "metric, value";
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "%s: expected a mapping {metric: NAME, value: NUMBER}, got %s",
                    where, is_null(n) ? "nothing" : kind_name(n));
    const char *sub = where;
    char what[160];
    int rc = check_keys(c, n, sub);
    if (rc)
        return rc;
    int have_value = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = sval(k);
        if (!strcmp(ks, "metric")) {
            snprintf(what, sizeof what, "%s: metric", sub);
            if ((rc = get_name(c, v, what, &b->target_metric)))
                return rc;
            b->target_pos = pos_of(v->start_mark);
        } else if (!strcmp(ks, "value")) {
            snprintf(what, sizeof what, "%s: value", sub);
            if ((rc = get_double(c, v, what, 0, &b->target)))
                return rc;
            have_value = 1;
        } else {
            return unknown_key(c, k, sub, allowed);
        }
    }
    if (!b->target_metric)
        return fail(c, n, "%s: missing required key 'metric'", sub);
    if (!have_value)
        return fail(c, n, "%s: missing required key 'value'", sub);
    return 0;
}

static int load_bench(ld_ctx *c, const yaml_node_t *n, size_t idx, mlb_bench_spec *b)
{
    static const char allowed[] =
        "task, variants, baseline, params, repetitions, warmup, timeout, infer_queries, target, "
        "vary_seed";
    char where[32];
    snprintf(where, sizeof where, "benchmark %zu", idx + 1);
    b->pos = pos_of(n->start_mark);
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "%s: expected a mapping with a 'task' key, got %s", where,
                    is_null(n) ? "nothing" : kind_name(n));
    int rc = check_keys(c, n, where);
    if (rc)
        return rc;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = sval(k);
        char what[128];
        snprintf(what, sizeof what, "%s: %s", where, ks);
        if (!strcmp(ks, "task")) {
            rc = get_name(c, v, what, &b->task);
            b->task_pos = pos_of(v->start_mark);
        } else if (!strcmp(ks, "variants")) {
            rc = load_variants(c, v, what, b);
        } else if (!strcmp(ks, "baseline")) {
            rc = get_name(c, v, what, &b->baseline);
            b->baseline_pos = pos_of(v->start_mark);
        } else if (!strcmp(ks, "params")) {
            rc = load_params(c, v, what, b);
        } else if (!strcmp(ks, "repetitions")) {
            rc = get_int(c, v, what, 1, &b->repetitions);
        } else if (!strcmp(ks, "warmup")) {
            rc = get_int(c, v, what, 0, &b->warmup);
        } else if (!strcmp(ks, "infer_queries")) {
            rc = get_int(c, v, what, 0, &b->infer_queries);
        } else if (!strcmp(ks, "timeout")) {
            rc = get_double(c, v, what, 1, &b->timeout_s);
        } else if (!strcmp(ks, "target")) {
            rc = load_target(c, v, what, b);
        } else if (!strcmp(ks, "vary_seed")) {
            rc = get_bool(c, v, what, &b->vary_seed);
        } else {
            rc = unknown_key(c, k, where, allowed);
        }
        if (rc)
            return rc;
    }
    if (!b->task)
        return fail(c, n, "%s: missing required key 'task'", where);
    return 0;
}

static int load_benches(ld_ctx *c, const yaml_node_t *n, mlb_suite *s)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "benchmarks: expected a list of benchmarks, got %s",
                    is_null(n) ? "nothing" : kind_name(n));
    yaml_node_item_t *it = n->data.sequence.items.start;
    size_t cnt = (size_t)(n->data.sequence.items.top - it);
    if (cnt == 0)
        return fail(c, n, "benchmarks: empty list, nothing to run");
    s->benches = calloc(cnt, sizeof *s->benches);
    if (!s->benches)
        return -ENOMEM;
    /* Every entry gets its "unset" values before any is filled, so a failure
     * part-way leaves an array that mlb_suite_free can walk whole. */
    for (size_t i = 0; i < cnt; i++) {
        mlb_bench_spec *b = &s->benches[i];
        b->repetitions = b->warmup = b->infer_queries = -1;
        b->timeout_s = -1;
        b->target = NAN;
    }
    s->n_benches = cnt;
    for (size_t i = 0; i < cnt; i++) {
        int rc = load_bench(c, yaml_document_get_node(c->doc, it[i]), i, &s->benches[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_root(ld_ctx *c, const yaml_node_t *root, void *out)
{
    mlb_suite *s = out;
    static const char allowed[] =
        "suite, repetitions, warmup, timeout, infer_queries, scenario, qps, latency_bound_ms, "
        "find_peak_qps, benchmarks";
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, root, "a suite must be a mapping with a 'benchmarks' list, got %s",
                    kind_name(root));
    int rc = check_keys(c, root, "suite file");
    if (rc)
        return rc;
    int have_benches = 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = sval(k);
        if (!strcmp(ks, "suite")) {
            rc = get_name(c, v, "suite", &s->name);
        } else if (!strcmp(ks, "repetitions")) {
            rc = get_int(c, v, "repetitions", 1, &s->repetitions);
        } else if (!strcmp(ks, "warmup")) {
            rc = get_int(c, v, "warmup", 0, &s->warmup);
        } else if (!strcmp(ks, "infer_queries")) {
            rc = get_int(c, v, "infer_queries", 0, &s->infer_queries);
        } else if (!strcmp(ks, "timeout")) {
            rc = get_double(c, v, "timeout", 1, &s->timeout_s);
        } else if (!strcmp(ks, "scenario")) {
            const char *name = NULL;
            s->has_scenario = 1;
            if (v->type != YAML_SCALAR_NODE ||
                (rc = scalar_text(c, v, "scenario", &name)) ||
                mlb_scenario_parse(name, &s->scenario.kind) < 0)
                rc = rc ? rc
                        : fail(c, v, "scenario: expected single-stream, offline or server");
        } else if (!strcmp(ks, "qps")) {
            rc = get_double(c, v, "qps", 1, &s->scenario.qps);
        } else if (!strcmp(ks, "latency_bound_ms")) {
            double ms = 0;
            rc = get_double(c, v, "latency_bound_ms", 1, &ms);
            s->scenario.latency_bound_s = ms / 1000.0;
        } else if (!strcmp(ks, "find_peak_qps")) {
            const char *b = v->type == YAML_SCALAR_NODE ? sval(v) : "";
            if (!strcmp(b, "true"))
                s->scenario.find_peak = 1;
            else if (strcmp(b, "false"))
                rc = fail(c, v, "find_peak_qps: expected true or false");
        } else if (!strcmp(ks, "benchmarks")) {
            rc = load_benches(c, v, s);
            have_benches = 1;
        } else {
            rc = unknown_key(c, k, "suite file", allowed);
        }
        if (rc)
            return rc;
    }
    if (!have_benches)
        return fail(c, root, "missing required key 'benchmarks'");
    return 0;
}

/* libyaml reports reader errors (bad encoding) as a byte offset only. */
static mlb_pos pos_of_offset(const unsigned char *buf, size_t len, size_t off)
{
    mlb_pos p = { 1, 1 };
    for (size_t i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n') {
            p.line++;
            p.col = 1;
        } else if ((buf[i] & 0xC0) != 0x80) {
            p.col++;
        }
    }
    return p;
}

static int yaml_error(ld_ctx *c, const yaml_parser_t *ps, const unsigned char *buf, size_t len)
{
    if (ps->error == YAML_MEMORY_ERROR)
        return -ENOMEM;
    const char *problem = ps->problem ? ps->problem : "malformed YAML";
    if (ps->error == YAML_READER_ERROR) {
        mlb_pos p = pos_of_offset(buf, len, ps->problem_offset);
        return fail_at(c, p.line, p.col, "invalid input: %s", problem);
    }
    mlb_pos p = pos_of(ps->problem_mark);
    if (ps->context) {
        mlb_pos cp = pos_of(ps->context_mark);
        return fail_at(c, p.line, p.col, "YAML syntax error: %s (%s at %d:%d)", problem,
                       ps->context, cp.line, cp.col);
    }
    return fail_at(c, p.line, p.col, "YAML syntax error: %s", problem);
}

static int read_file(const char *path, unsigned char **out, size_t *outlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    int rc = buf ? 0 : -ENOMEM;
    while (!rc) {
        if (len == cap) {
            if (cap >= MLB_SUITE_MAX_BYTES) {
                /* Exactly the cap is allowed: only a byte more is too big. */
                if (fgetc(f) != EOF)
                    rc = -EFBIG;
                else if (ferror(f))
                    rc = errno ? -errno : -EIO;
                break;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            /* A directory opens fine on Linux and fails here with EISDIR. */
            if (ferror(f))
                rc = errno ? -errno : -EIO;
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

typedef int (*root_loader)(ld_ctx *c, const yaml_node_t *root, void *out);

static int parse(ld_ctx *c, const unsigned char *buf, size_t len, root_loader load, void *out,
                 const char *empty_msg)
{
    yaml_parser_t ps;
    yaml_document_t doc, extra;
    if (!yaml_parser_initialize(&ps))
        return -ENOMEM;
    yaml_parser_set_input_string(&ps, buf, len);
    if (!yaml_parser_load(&ps, &doc)) {
        int rc = yaml_error(c, &ps, buf, len);
        yaml_parser_delete(&ps);
        return rc;
    }
    c->doc = &doc;
    int rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = fail_at(c, 1, 1, "%s", empty_msg);
    } else if (!(rc = check_expansion(c, &doc))) {
        rc = load(c, root, out);
    }
    /* A second document would be silently ignored otherwise. */
    if (!rc) {
        if (!yaml_parser_load(&ps, &extra)) {
            rc = yaml_error(c, &ps, buf, len);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&extra);
            if (r2)
                rc = fail(c, r2, "the file must hold a single YAML document");
            yaml_document_delete(&extra);
        }
    }
    c->doc = NULL;
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    return rc;
}

int mlb_suite_load(const char *path, mlb_suite *out, char *err, size_t errlen)
{
    ld_ctx c = { .path = path ? path : "(null)", .err = err, .errlen = errlen };
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->repetitions = out->warmup = out->infer_queries = -1;
    out->timeout_s = -1;
    if (!path) {
        if (err && errlen)
            snprintf(err, errlen, "no suite file given");
        return -EINVAL;
    }

    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read suite: %s", path,
                     rc == -EFBIG ? "file too large" : strerror(-rc));
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = dup_str(path, &out->path);
    if (!rc)
        rc = parse(&c, buf, len, load_root, out,
                   "empty suite file: expected a mapping with a 'benchmarks' list");
    free(buf);
    if (rc) {
        if (rc == -ENOMEM && err && errlen)
            snprintf(err, errlen, "%s: out of memory", path);
        mlb_suite_free(out);
    }
    return rc;
}

void mlb_suite_free(mlb_suite *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_benches; i++) {
        mlb_bench_spec *b = &s->benches[i];
        free(b->task);
        for (size_t j = 0; j < b->n_variants; j++)
            free(b->variants[j]);
        free(b->variants);
        free(b->variant_pos);
        for (size_t j = 0; j < b->n_params; j++) {
            free(b->params[j].key);
            free(b->params[j].value);
            for (size_t v = 0; v < b->params[j].n_values; v++)
                free(b->params[j].values[v]);
            free(b->params[j].values);
        }
        free(b->params);
        free(b->target_metric);
        free(b->baseline);
    }
    free(s->benches);
    free(s->name);
    free(s->path);
    memset(s, 0, sizeof *s);
}

/* ---- peer descriptors ---------------------------------------------------- */

static int load_argv(ld_ctx *c, const yaml_node_t *n, const char *what, char ***out, size_t *cnt)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "%s: expected a list of arguments, got %s", what,
                    is_null(n) ? "nothing" : kind_name(n));
    yaml_node_item_t *it = n->data.sequence.items.start;
    size_t k = (size_t)(n->data.sequence.items.top - it);
    if (k == 0)
        return fail(c, n, "%s: empty list: the first item is the program", what);
    *out = calloc(k + 1, sizeof **out); /* NULL-terminated for execv */
    if (!*out)
        return -ENOMEM;
    *cnt = k;
    for (size_t i = 0; i < k; i++) {
        const char *s = NULL;
        int rc = scalar_text(c, yaml_document_get_node(c->doc, it[i]), what, &s);
        if (rc || (rc = dup_str(s, &(*out)[i])))
            return rc;
    }
    return 0;
}

static int load_peer_params(ld_ctx *c, const yaml_node_t *n, mlb_peer_desc *d)
{
    static const char allowed[] = "name, type, default, help";
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "params: expected a list of {name, type, default, help}, got %s",
                    is_null(n) ? "nothing" : kind_name(n));
    yaml_node_item_t *it = n->data.sequence.items.start;
    size_t k = (size_t)(n->data.sequence.items.top - it);
    if (k && !(d->params = calloc(k, sizeof *d->params)))
        return -ENOMEM;
    d->n_params = k;
    for (size_t i = 0; i < k; i++) {
        yaml_node_t *m = yaml_document_get_node(c->doc, it[i]);
        char where[48];
        snprintf(where, sizeof where, "params item %zu", i + 1);
        if (m->type != YAML_MAPPING_NODE)
            return fail(c, m, "%s: expected a mapping, got %s", where, kind_name(m));
        int rc = check_keys(c, m, where);
        if (rc)
            return rc;
        mlb_peer_param *p = &d->params[i];
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top;
             q++) {
            yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, q->value);
            const char *ks = sval(k2), *vs = NULL;
            if (strcmp(ks, "name") && strcmp(ks, "type") && strcmp(ks, "default") &&
                strcmp(ks, "help"))
                return unknown_key(c, k2, where, allowed);
            if ((rc = scalar_text(c, v, ks, &vs)))
                return rc;
            char **slot = !strcmp(ks, "name") ? &p->name
                        : !strcmp(ks, "type") ? &p->type
                        : !strcmp(ks, "default") ? &p->def : &p->help;
            if ((rc = dup_str(vs, slot)))
                return rc;
            if (slot == &p->type && strcmp(vs, "int") && strcmp(vs, "float") &&
                strcmp(vs, "string") && strcmp(vs, "bool"))
                return fail(c, v, "%s: type '%s' is not int, float, string or bool", where, vs);
        }
        if (!p->name || !p->type || !p->def)
            return fail(c, m, "%s: 'name', 'type' and 'default' are required", where);
    }
    return 0;
}

static int load_peer_root(ld_ctx *c, const yaml_node_t *root, void *out)
{
    static const char allowed[] =
        "task, variant, description, command, available, unavailable_message, env, data_from, params";
    mlb_peer_desc *d = out;
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, root, "a peer descriptor must be a mapping, got %s", kind_name(root));
    int rc = check_keys(c, root, "peer descriptor");
    if (rc)
        return rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = sval(k);
        if (!strcmp(ks, "task"))
            rc = get_name(c, v, "task", &d->task);
        else if (!strcmp(ks, "variant"))
            rc = get_name(c, v, "variant", &d->variant);
        else if (!strcmp(ks, "description"))
            rc = get_name(c, v, "description", &d->description);
        else if (!strcmp(ks, "unavailable_message"))
            rc = get_name(c, v, "unavailable_message", &d->unavailable);
        else if (!strcmp(ks, "data_from"))
            rc = get_name(c, v, "data_from", &d->data_from);
        else if (!strcmp(ks, "command"))
            rc = load_argv(c, v, "command", &d->command, &d->n_command);
        else if (!strcmp(ks, "available"))
            rc = load_argv(c, v, "available", &d->check, &d->n_check);
        else if (!strcmp(ks, "params"))
            rc = load_peer_params(c, v, d);
        else if (!strcmp(ks, "env")) {
            mlb_bench_spec tmp;
            memset(&tmp, 0, sizeof tmp);
            rc = load_params(c, v, "env", &tmp);
            d->env = tmp.params;
            d->n_env = tmp.n_params;
            for (size_t i = 0; rc == 0 && i < d->n_env; i++)
                if (d->env[i].values)
                    rc = fail(c, v, "env: '%s' is a list; an environment variable takes one value",
                              d->env[i].key);
        } else
            rc = unknown_key(c, k, "peer descriptor", allowed);
        if (rc)
            return rc;
    }
    if (!d->task || !d->variant || !d->command)
        return fail(c, root, "peer descriptor: 'task', 'variant' and 'command' are required");
    return 0;
}

int mlb_peer_desc_load(const char *path, mlb_peer_desc *out, char *err, size_t errlen)
{
    ld_ctx c = {.path = path, .err = err, .errlen = errlen};
    memset(out, 0, sizeof *out);
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc) {
        snprintf(err, errlen, "%s: cannot read peer descriptor: %s", path, strerror(-rc));
        return rc;
    }
    rc = dup_str(path, &out->path);
    if (!rc)
        rc = parse(&c, buf, len, load_peer_root, out, "empty peer descriptor");
    free(buf);
    if (rc)
        mlb_peer_desc_free(out);
    return rc;
}

static void free_argv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void mlb_peer_desc_free(mlb_peer_desc *d)
{
    if (!d)
        return;
    free(d->path);
    free(d->task);
    free(d->variant);
    free(d->description);
    free(d->unavailable);
    free(d->data_from);
    free_argv(d->command, d->n_command);
    free_argv(d->check, d->n_check);
    for (size_t i = 0; i < d->n_env; i++) {
        free(d->env[i].key);
        free(d->env[i].value);
        /* A list in env is refused, but a refused descriptor frees it too. */
        for (size_t v = 0; v < d->env[i].n_values; v++)
            free(d->env[i].values[v]);
        free(d->env[i].values);
    }
    free(d->env);
    for (size_t i = 0; i < d->n_params; i++) {
        free(d->params[i].name);
        free(d->params[i].type);
        free(d->params[i].def);
        free(d->params[i].help);
    }
    free(d->params);
    memset(d, 0, sizeof *d);
}
