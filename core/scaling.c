/* Scaling curves of a sweep: for every swept numeric parameter, each
 * variant's cost against it, fitted as a power law t = a·x^b in log-log
 * space (with a 95% CI on b from the repetitions) and matched to the
 * nearest complexity class, as Google Benchmark's Complexity() does. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scaling.h"
#include "suite.h"

/* A repetition's cost: train seconds, one infer query's median seconds,
 * or the memory train added since the repetition started. */
typedef double (*cost_fn)(const mlb_rep *r);

static double cost_train(const mlb_rep *r)
{
    return r->ph[MLB_PH_TRAIN].ran ? r->ph[MLB_PH_TRAIN].wall_s : NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double cost_query(const mlb_rep *r)
{
    if (!r->n_latency)
        return NAN;
    double *v = malloc(r->n_latency * sizeof *v);
    if (!v)
        return NAN;
    memcpy(v, r->latency_s, r->n_latency * sizeof *v);
    double m = median_of(v, r->n_latency);
    free(v);
    return m;
}

static double cost_memory(const mlb_rep *r)
{
    if (!r->ph[MLB_PH_TRAIN].ran || !r->n_timeline)
        return NAN;
    double added = r->ph[MLB_PH_TRAIN].rss_peak_bytes - r->timeline[0].rss_bytes;
    return added > 0 ? added : NAN;
}

static const struct {
    const char *name;
    cost_fn fn;
    int offset; /* fitted as floor + power law (memory), else a pure power law */
} quantities[] = {
    {"train_s", cost_train, 0},
    {"infer_query_s", cost_query, 0},
    {"train_rss_added_bytes", cost_memory, 1},
};

/* The complexity classes Google Benchmark fits: y ~ c·f(x). */
static const struct {
    const char *name;
} classes[] = {
    {"O(1)"}, {"O(log n)"}, {"O(n)"}, {"O(n log n)"}, {"O(n^2)"}, {"O(n^3)"},
};

static double class_f(size_t k, double x)
{
    switch (k) {
    case 0: return 1;
    case 1: return log(x);
    case 2: return x;
    case 3: return x * log(x);
    case 4: return x * x;
    default: return x * x * x;
    }
}

/* The value of parameter `key` ("m" or "m=n=k") at group g, as a number. */
static int point_value(const mlb_group *g, const char *key, double *x)
{
    for (size_t q = 0; q < g->n_point; q++)
        if (!strcmp(g->point[2 * q], key)) {
            char *end;
            *x = strtod(g->point[2 * q + 1], &end);
            return *end == '\0' && isfinite(*x) && *x > 0 ? 0 : -1;
        }
    return -1;
}

/* Whether groups a and b sit on one slice of `key`: same task, and equal
 * values of every other swept key. */
static int same_slice(const mlb_group *a, const mlb_group *b, const char *key)
{
    if (strcmp(a->task, b->task) != 0 || a->n_point != b->n_point)
        return 0;
    for (size_t q = 0; q < a->n_point; q++) {
        if (!strcmp(a->point[2 * q], key))
            continue;
        int found = 0;
        for (size_t r = 0; r < b->n_point && !found; r++)
            found = !strcmp(a->point[2 * q], b->point[2 * r]) &&
                    !strcmp(a->point[2 * q + 1], b->point[2 * r + 1]);
        if (!found)
            return 0;
    }
    return 1;
}

/* y = c + a·x^b with c >= 0: memory has a floor that does not grow with the
 * work (the allocator's arenas, library state), which a pure power law
 * would read as a smaller exponent. b on a grid, (c, a) by least squares
 * at each b; the 95% CI of b is the profile-likelihood interval
 * {b : SSE(b) <= SSE_min·(1 + F(0.95; 1, n-3)/(n-3))}. Returns 0, or -1
 * when the data do not determine it. */
static int fit_offset_power(const double *x, const double *y, size_t n, double *b_out,
                            double *lo, double *hi, double *c_out, double *a_out)
{
    enum { STEPS = 801 }; /* b from 0 to 4 by 0.005 */
    double sse[STEPS], best = INFINITY;
    size_t bi = 0;
    for (size_t k = 0; k < STEPS; k++) {
        double b = 4.0 * (double)k / (STEPS - 1);
        /* Least squares on y = c + a·f, f = x^b. */
        double sf = 0, sff = 0, sy = 0, sfy = 0;
        for (size_t i = 0; i < n; i++) {
            double f = pow(x[i], b);
            sf += f;
            sff += f * f;
            sy += y[i];
            sfy += f * y[i];
        }
        double det = (double)n * sff - sf * sf, a, c;
        if (fabs(det) < 1e-300 * (sff + 1)) {
            sse[k] = INFINITY;
            continue;
        }
        a = ((double)n * sfy - sf * sy) / det;
        c = (sy - a * sf) / (double)n;
        if (c < 0) { /* the floor cannot be negative: fit through 0 */
            c = 0;
            a = sfy / sff;
        }
        double e2 = 0;
        for (size_t i = 0; i < n; i++) {
            double e = y[i] - c - a * pow(x[i], b);
            e2 += e * e;
        }
        sse[k] = a > 0 ? e2 : INFINITY;
        if (sse[k] < best) {
            best = sse[k];
            bi = k;
            *c_out = c;
            *a_out = a;
        }
    }
    if (!isfinite(best) || n < 4)
        return -1;
    double lim = best * (1 + gsl_cdf_fdist_Pinv(0.95, 1, (double)(n - 3)) / (double)(n - 3));
    size_t l = bi, h = bi;
    while (l > 0 && sse[l - 1] <= lim)
        l--;
    while (h + 1 < STEPS && sse[h + 1] <= lim)
        h++;
    *b_out = 4.0 * (double)bi / (STEPS - 1);
    *lo = 4.0 * (double)l / (STEPS - 1);
    *hi = 4.0 * (double)h / (STEPS - 1);
    return 0;
}

/* Fits one variant's curve over the groups of a slice; NULL when fewer than
 * three sizes have data. */
static cJSON *fit_curve(const mlb_session *s, const size_t *gs, size_t ng, const char *key,
                        const char *variant, size_t qi)
{
    size_t cap = 0;
    for (size_t i = 0; i < ng; i++)
        cap += (size_t)s->runs[s->groups[gs[i]].first].repetitions + 1;
    double *lx = malloc(cap * sizeof(double)), *ly = malloc(cap * sizeof(double));
    double xs[MLB_SUITE_MAX_SWEEP], med[MLB_SUITE_MAX_SWEEP];
    size_t n = 0, nx = 0;
    cJSON *o = NULL;
    if (!lx || !ly)
        goto out;
    for (size_t i = 0; i < ng; i++) {
        const mlb_group *g = &s->groups[gs[i]];
        double x;
        if (point_value(g, key, &x) < 0)
            continue;
        for (size_t k = g->first; k < g->first + g->n; k++) {
            const mlb_run *r = &s->runs[k];
            if (strcmp(r->pl->desc.variant, variant) != 0)
                continue;
            size_t n0 = n;
            for (size_t q = 0; q < r->n_reps && n < cap; q++) {
                if (r->reps[q].status != MLB_REP_OK)
                    continue;
                double y = quantities[qi].fn(&r->reps[q]);
                if (!(y > 0) || !isfinite(y))
                    continue;
                lx[n] = log(x);
                ly[n++] = log(y);
            }
            if (n > n0 && nx < MLB_SUITE_MAX_SWEEP) {
                double *tmp = malloc((n - n0) * sizeof(double));
                if (!tmp)
                    goto out;
                for (size_t q = n0; q < n; q++)
                    tmp[q - n0] = exp(ly[q]);
                xs[nx] = x;
                med[nx++] = median_of(tmp, n - n0);
                free(tmp);
            }
        }
    }
    if (nx < 3)
        goto out;
    /* Least squares on (log x, log y) over every repetition. */
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += lx[i];
        my += ly[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (lx[i] - mx) * (lx[i] - mx);
        sxy += (lx[i] - mx) * (ly[i] - my);
    }
    if (!(sxx > 0))
        goto out;
    double b = sxy / sxx, a = my - b * mx, sse = 0;
    for (size_t i = 0; i < n; i++) {
        double e = ly[i] - (a + b * lx[i]);
        sse += e * e;
    }
    double se = n > 2 ? sqrt(sse / (double)(n - 2) / sxx) : NAN;
    double t = n > 2 ? gsl_cdf_tdist_Pinv(0.975, (double)(n - 2)) : NAN;
    double ci_lo = b - t * se, ci_hi = b + t * se, floor_c = NAN;
    const char *model = "power";
    if (quantities[qi].offset) {
        double *ex = malloc(n * sizeof(double)), *ey = malloc(n * sizeof(double));
        double bb = 0, l = 0, h = 0, cc = 0, aa = 1;
        if (ex && ey) {
            for (size_t i = 0; i < n; i++) {
                ex[i] = exp(lx[i]);
                ey[i] = exp(ly[i]);
            }
            if (fit_offset_power(ex, ey, n, &bb, &l, &h, &cc, &aa) == 0) {
                b = bb;
                ci_lo = l;
                ci_hi = h;
                a = log(aa);
                floor_c = cc;
                model = "offset_power";
                se = t = 0; /* the CI is the profile interval above */
            }
        }
        free(ex);
        free(ey);
    }
    /* The nearest class on the medians: y ~ c·f(x), c by least squares,
     * the RMS error relative to the mean, as Google Benchmark reports. */
    if (isfinite(floor_c)) /* the class of what grows, above the floor */
        for (size_t i = 0; i < nx; i++)
            med[i] -= floor_c;
    size_t best = 0;
    double best_rms = INFINITY, best_c = NAN, mean = 0;
    for (size_t i = 0; i < nx; i++)
        mean += med[i] / (double)nx;
    for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++) {
        double num = 0, den = 0;
        for (size_t i = 0; i < nx; i++) {
            double f = class_f(k, xs[i]);
            num += med[i] * f;
            den += f * f;
        }
        if (!(den > 0))
            continue;
        double c = num / den, ss = 0;
        for (size_t i = 0; i < nx; i++) {
            double e = med[i] - c * class_f(k, xs[i]);
            ss += e * e;
        }
        double rms = sqrt(ss / (double)nx) / mean;
        if (rms < best_rms) {
            best_rms = rms;
            best = k;
            best_c = c;
        }
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", s->groups[gs[0]].task);
    cJSON_AddStringToObject(o, "param", key);
    cJSON_AddStringToObject(o, "variant", variant);
    cJSON_AddStringToObject(o, "quantity", quantities[qi].name);
    cJSON *fixed = cJSON_AddObjectToObject(o, "fixed");
    const mlb_group *g0 = &s->groups[gs[0]];
    for (size_t q = 0; q < g0->n_point; q++)
        if (strcmp(g0->point[2 * q], key) != 0)
            cJSON_AddStringToObject(fixed, g0->point[2 * q], g0->point[2 * q + 1]);
    cJSON *gj = cJSON_AddArrayToObject(o, "groups");
    for (size_t i = 0; i < ng; i++)
        cJSON_AddItemToArray(gj, cJSON_CreateNumber((double)gs[i]));
    cJSON_AddItemToObject(o, "x", cJSON_CreateDoubleArray(xs, (int)nx));
    if (isfinite(floor_c))
        for (size_t i = 0; i < nx; i++)
            med[i] += floor_c;
    cJSON_AddItemToObject(o, "median", cJSON_CreateDoubleArray(med, (int)nx));
    cJSON_AddNumberToObject(o, "n_points", (double)n);
    cJSON_AddNumberToObject(o, "exponent", b);
    cJSON_AddNumberToObject(o, "coefficient", exp(a));
    cJSON_AddStringToObject(o, "model", model);
    if (isfinite(floor_c))
        cJSON_AddNumberToObject(o, "floor", floor_c);
    cJSON *ci = cJSON_AddArrayToObject(o, "exponent_ci95");
    if (isfinite(ci_lo) && isfinite(ci_hi)) {
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(ci_lo));
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(ci_hi));
    }
    cJSON_AddStringToObject(o, "complexity", classes[best].name);
    cJSON_AddNumberToObject(o, "complexity_coefficient", best_c);
    cJSON_AddNumberToObject(o, "complexity_rms", best_rms);
out:
    free(lx);
    free(ly);
    return o;
}

cJSON *mlb_scaling_json(const mlb_session *s)
{
    cJSON *arr = NULL;
    size_t *gs = malloc((s->n_groups + 1) * sizeof(size_t));
    char *done = calloc(s->n_groups + 1, 1);
    if (!gs || !done)
        goto out;
    /* Every swept key of every group, once per slice. */
    for (size_t g = 0; g < s->n_groups; g++)
        for (size_t q = 0; q < s->groups[g].n_point; q++) {
            const char *key = s->groups[g].point[2 * q];
            double x;
            if (point_value(&s->groups[g], key, &x) < 0)
                continue; /* not numeric: no curve */
            /* The slice through g along key, unless an earlier group's was. */
            size_t ng = 0;
            int seen = 0;
            for (size_t h = 0; h < s->n_groups; h++)
                if (same_slice(&s->groups[g], &s->groups[h], key)) {
                    if (h < g)
                        seen = 1;
                    gs[ng++] = h;
                }
            if (seen || ng < 3)
                continue;
            /* One curve per variant of the slice's first group and quantity. */
            const mlb_group *g0 = &s->groups[g];
            for (size_t k = g0->first; k < g0->first + g0->n; k++)
                for (size_t qi = 0; qi < sizeof quantities / sizeof quantities[0]; qi++) {
                    cJSON *c = fit_curve(s, gs, ng, key, s->runs[k].pl->desc.variant, qi);
                    if (!c)
                        continue;
                    if (!arr)
                        arr = cJSON_CreateArray();
                    cJSON_AddItemToArray(arr, c);
                }
        }
out:
    free(gs);
    free(done);
    return arr;
}
