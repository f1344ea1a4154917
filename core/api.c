/* libmlbench: the services a plugin calls through its mlb_ctx. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctx.h"
#include "mlbench/data.h"
#include "utf8.h"

double mlb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *mlb_param_type_name(mlb_param_type type)
{
    switch (type) {
    case MLB_PARAM_INT: return "int";
    case MLB_PARAM_FLOAT: return "float";
    case MLB_PARAM_STRING: return "string";
    case MLB_PARAM_BOOL: return "bool";
    }
    return "unknown";
}

int mlb_param_parse(mlb_param_type type, const char *text, mlb_param_value *out, char *why,
                    size_t why_len)
{
    char *end = NULL;
    out->i = 0;
    out->f = 0;
    out->b = 0;
    if (!text) {
        snprintf(why, why_len, "missing value");
        return -1;
    }
    switch (type) {
    case MLB_PARAM_INT: {
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno == ERANGE) {
            snprintf(why, why_len, "'%s' is not an integer", text);
            return -1;
        }
        out->i = v;
        out->f = (double)v;
        return 0;
    }
    case MLB_PARAM_FLOAT: {
        errno = 0;
        double v = strtod(text, &end);
        /* ERANGE on underflow gives the nearest double (5e-324, or 0): a
         * value, unlike an overflow to infinity. */
        if (*text == '\0' || *end != '\0' || (errno == ERANGE && fabs(v) >= 1.0) ||
            !isfinite(v)) {
            snprintf(why, why_len, "'%s' is not a finite number", text);
            return -1;
        }
        out->f = v;
        return 0;
    }
    case MLB_PARAM_BOOL:
        if (!strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "yes") ||
            !strcasecmp(text, "on")) {
            out->b = 1;
            return 0;
        }
        if (!strcasecmp(text, "false") || !strcmp(text, "0") || !strcasecmp(text, "no") ||
            !strcasecmp(text, "off")) {
            out->b = 0;
            return 0;
        }
        snprintf(why, why_len, "'%s' is not a boolean (true/false)", text);
        return -1;
    case MLB_PARAM_STRING:
        return 0;
    }
    snprintf(why, why_len, "unknown parameter type %d", (int)type);
    return -1;
}

int mlb_ctx_init(mlb_ctx *ctx, const mlb_plugin *plugin, uint64_t seed)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->plugin = plugin;
    ctx->seed = seed;
    ctx->log = stderr;
    ctx->n_params = plugin->n_params;
    if (plugin->n_params) {
        ctx->params = calloc(plugin->n_params, sizeof(*ctx->params));
        if (!ctx->params)
            return -ENOMEM;
    }
    for (size_t i = 0; i < plugin->n_params; i++) {
        const mlb_param_def *d = &plugin->params[i];
        char why[256];
        ctx->params[i].def = d;
        if (mlb_ctx_set_param(ctx, d->name, d->def ? d->def : "", why, sizeof why) < 0) {
            snprintf(ctx->err, sizeof ctx->err, "default of parameter '%s': %s", d->name, why);
            return -EINVAL;
        }
    }
    return 0;
}

int mlb_ctx_set_param(mlb_ctx *ctx, const char *name, const char *text, char *why, size_t why_len)
{
    for (size_t i = 0; i < ctx->n_params; i++) {
        mlb_param_value *p = &ctx->params[i];
        if (strcmp(p->def->name, name) != 0)
            continue;
        mlb_param_value v = *p;
        if (mlb_param_parse(p->def->type, text, &v, why, why_len) < 0)
            return -EINVAL;
        v.text = (char *)text;
        int rc = mlb_param_check(ctx->plugin, &v, why, why_len);
        if (rc < 0)
            return rc;
        char *copy = strdup(text);
        if (!copy) {
            snprintf(why, why_len, "out of memory");
            return -ENOMEM;
        }
        free(p->text);
        v.text = copy;
        *p = v;
        return 0;
    }
    snprintf(why, why_len, "no parameter named '%s'", name);
    return -ENOENT;
}

void mlb_ctx_free(mlb_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_params; i++)
        free(ctx->params[i].text);
    free(ctx->params);
    free(ctx->metrics);
    free(ctx->progress);
    memset(ctx, 0, sizeof(*ctx));
}

void mlb_ctx_phase_begin(mlb_ctx *ctx, double t0)
{
    ctx->phase_t0 = t0;
    for (int k = 0; k < MLB_WORK_KINDS; k++)
        ctx->work[k] = 0;
}

/* A plugin asking for a parameter it did not declare, or with the wrong type,
 * is a bug in the plugin: fail loudly rather than return a made-up value. */
static mlb_param_value *param_lookup(mlb_ctx *ctx, const char *name, mlb_param_type type)
{
    for (size_t i = 0; i < ctx->n_params; i++) {
        mlb_param_value *p = &ctx->params[i];
        if (strcmp(p->def->name, name) != 0)
            continue;
        if (p->def->type != type && !(type == MLB_PARAM_STRING)) {
            fprintf(stderr, "mlbench: plugin %s:%s reads parameter '%s' (%s) as %s\n",
                    ctx->plugin->task, ctx->plugin->variant, name,
                    mlb_param_type_name(p->def->type), mlb_param_type_name(type));
            abort();
        }
        return p;
    }
    fprintf(stderr, "mlbench: plugin %s:%s reads undeclared parameter '%s'\n", ctx->plugin->task,
            ctx->plugin->variant, name);
    abort();
}

int64_t mlb_param_int(mlb_ctx *ctx, const char *name)
{
    return param_lookup(ctx, name, MLB_PARAM_INT)->i;
}

double mlb_param_float(mlb_ctx *ctx, const char *name)
{
    mlb_param_value *p = param_lookup(ctx, name, MLB_PARAM_FLOAT);
    return p->f;
}

const char *mlb_param_str(mlb_ctx *ctx, const char *name)
{
    return param_lookup(ctx, name, MLB_PARAM_STRING)->text;
}

int mlb_param_bool(mlb_ctx *ctx, const char *name)
{
    return param_lookup(ctx, name, MLB_PARAM_BOOL)->b;
}

uint64_t mlb_seed(const mlb_ctx *ctx) { return ctx->seed; }

uint64_t mlb_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
int mlb_repetition(const mlb_ctx *ctx) { return ctx->rep; }

void mlb_log(mlb_ctx *ctx, mlb_log_level level, const char *fmt, ...)
{
    /* --quiet keeps warnings: they say something went wrong. */
    if ((level == MLB_LOG_DEBUG && ctx->verbose <= 0) || (level == MLB_LOG_INFO && ctx->verbose < 0))
        return;
    static const char *names[] = {"debug", "info", "warning"};
    FILE *f = ctx->log ? ctx->log : stderr;
    fprintf(f, "[%s:%s] %s: ", ctx->plugin->task, ctx->plugin->variant,
            names[level >= MLB_LOG_DEBUG && level <= MLB_LOG_WARN ? level : MLB_LOG_INFO]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

int mlb_error(mlb_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof ctx->err) /* cut on a character, not inside one */
        mlb_utf8_trim_end(ctx->err);
    return MLB_EFAIL;
}

void mlb_report_work(mlb_ctx *ctx, mlb_work_kind kind, double amount)
{
    if ((int)kind < 0 || (int)kind >= MLB_WORK_KINDS || !isfinite(amount))
        return;
    ctx->work[kind] += amount;
}

void mlb_report_metric(mlb_ctx *ctx, const char *name, double value, mlb_direction dir)
{
    mlb_report_metric_ex(ctx, name, value, dir, 0, 0, 0);
}

void mlb_report_metric_ex(mlb_ctx *ctx, const char *name, double value, mlb_direction dir,
                          double rel_tol, double abs_tol, unsigned flags)
{
    /* A tolerance that is not a finite non-negative number is the default. */
    if (!(rel_tol >= 0) || !isfinite(rel_tol))
        rel_tol = 0;
    if (!(abs_tol >= 0) || !isfinite(abs_tol))
        abs_tol = 0;
    for (size_t i = 0; i < ctx->n_metrics; i++) {
        if (!strcmp(ctx->metrics[i].name, name)) {
            ctx->metrics[i].value = value;
            ctx->metrics[i].dir = dir >= 0 ? 1 : -1;
            ctx->metrics[i].rel_tol = rel_tol;
            ctx->metrics[i].abs_tol = abs_tol;
            ctx->metrics[i].flags = flags;
            return;
        }
    }
    if (ctx->n_metrics == ctx->cap_metrics) {
        size_t cap = ctx->cap_metrics ? 2 * ctx->cap_metrics : 8;
        mlb_metric *m = realloc(ctx->metrics, cap * sizeof(*m));
        if (!m)
            return;
        ctx->metrics = m;
        ctx->cap_metrics = cap;
    }
    mlb_metric *m = &ctx->metrics[ctx->n_metrics++];
    mlb_utf8_excerpt(m->name, sizeof m->name, name, sizeof m->name - 1);
    m->value = value;
    m->dir = dir >= 0 ? 1 : -1;
    m->rel_tol = rel_tol;
    m->abs_tol = abs_tol;
    m->flags = flags;
}

void mlb_report_progress(mlb_ctx *ctx, double step, double loss, const char *metric, double value)
{
    if (ctx->n_progress == ctx->cap_progress) {
        size_t cap = ctx->cap_progress ? 2 * ctx->cap_progress : 32;
        mlb_progress *p = realloc(ctx->progress, cap * sizeof(*p));
        if (!p)
            return;
        ctx->progress = p;
        ctx->cap_progress = cap;
    }
    mlb_progress *p = &ctx->progress[ctx->n_progress++];
    p->t = mlb_now() - ctx->phase_t0;
    p->step = step;
    p->loss = loss;
    p->value = value;
    snprintf(p->metric, sizeof p->metric, "%s", metric ? metric : "");
}

int mlb_npy_save(const char *path, const char *descr, size_t elem, const void *data, int ndim,
                 const size_t *shape, char *err, size_t err_len)
{
    if (ndim < 1 || ndim > 8 || strlen(descr) > 16) {
        snprintf(err, err_len, "%s: bad npy dtype or rank", path);
        return -EINVAL;
    }
    char hdr[256];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                       descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        len += snprintf(hdr + len, sizeof hdr - (size_t)len, "%zu%s", shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
        count *= shape[i];
    }
    len += snprintf(hdr + len, sizeof hdr - (size_t)len, "), }");
    /* Magic (6) + version (2) + header length (2) + header, padded with
     * spaces to a multiple of 64 and ended by a newline, as NumPy writes. */
    size_t total = 10 + (size_t)len + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        snprintf(err, err_len, "%s: %s", path, strerror(e));
        return -e;
    }
    unsigned short hl = (unsigned short)((size_t)len + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                             (unsigned char)(hl >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && (count == 0 || fwrite(data, elem, count, f) == count);
    int e = errno;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, err_len, "%s: write failed: %s", path, strerror(e ? e : EIO));
        return -EIO;
    }
    return 0;
}

int mlb_npy_write(mlb_ctx *ctx, const char *path, mlb_npy_dtype dtype, const void *data,
                  int ndim, const size_t *shape)
{
    static const char *const descr[] = {"<f8", "<f4", "<i8"};
    static const size_t elem[] = {8, 4, 8};
    if ((int)dtype < 0 || dtype > MLB_NPY_I64)
        return mlb_error(ctx, "%s: bad npy dtype or rank", path);
    char err[512];
    if (mlb_npy_save(path, descr[dtype], elem[dtype], data, ndim, shape, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    return 0;
}
