/* Inference scenarios (scenario.h): the infer phase's query loop for each. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h" /* mlb_now */
#include "scenario.h"

static const char *const names[] = {"single-stream", "offline", "server"};

const char *mlb_scenario_name(mlb_scenario_kind k)
{
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

int mlb_scenario_parse(const char *name, mlb_scenario_kind *k)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) {
            *k = (mlb_scenario_kind)i;
            return 0;
        }
    return -1;
}

int mlb_scenario_check(const mlb_scenario *s, char *why, size_t whylen)
{
    if (s->kind != MLB_SCN_SERVER) {
        if (s->qps > 0 || s->latency_bound_s > 0 || s->find_peak) {
            snprintf(why, whylen, "--qps, --latency-bound and --find-peak-qps belong to "
                                  "--scenario server (the scenario is %s)",
                     mlb_scenario_name(s->kind));
            return -1;
        }
        return 0;
    }
    if (s->find_peak) {
        if (!(s->latency_bound_s > 0)) {
            snprintf(why, whylen, "--find-peak-qps needs --latency-bound MS: the peak is the "
                                  "highest qps whose p99 latency meets it");
            return -1;
        }
        return 0;
    }
    if (!(s->qps > 0) || !isfinite(s->qps)) {
        snprintf(why, whylen, "--scenario server needs --qps N (the Poisson arrival rate, "
                              "N > 0), or --find-peak-qps with --latency-bound MS");
        return -1;
    }
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile type 7 of n sorted values. */
static double quantile7(const double *s, size_t n, double p)
{
    if (!n)
        return NAN;
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    return lo + 1 < n ? s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]) : s[lo];
}

static void percentiles(const double *lat, size_t n, mlb_scenario_figures *f)
{
    double *s = n ? malloc(n * sizeof *s) : NULL;
    if (!s) {
        f->p50_s = f->p90_s = f->p99_s = NAN;
        return;
    }
    memcpy(s, lat, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    f->p50_s = quantile7(s, n, 0.50);
    f->p90_s = quantile7(s, n, 0.90);
    f->p99_s = quantile7(s, n, 0.99);
    free(s);
}

/* splitmix64, as mlb_rand_u64: the arrivals depend on the seed alone. */
static uint64_t next_u64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Sleeps to shortly before t, then spins: a scheduler's wake-up is late by
 * tens of microseconds, and lateness here would count as the target's. */
static void wait_until(double t)
{
    const double spin = 2e-4;
    double now = mlb_now();
    if (t - now > spin) {
        double w = t - spin;
        struct timespec ts = {.tv_sec = (time_t)w, .tv_nsec = (long)((w - floor(w)) * 1e9)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    while (mlb_now() < t)
        ;
}

/* ---- the scenarios -------------------------------------------------------- */

static int run_single(int queries, const mlb_query_ops *q, double *lat, size_t *n_lat)
{
    int rc = 0;
    for (int i = 0; i < queries && rc >= 0; i++) {
        double t0 = mlb_now();
        rc = q->one(q->arg);
        lat[i] = mlb_now() - t0;
        *n_lat = (size_t)i + 1;
    }
    return rc;
}

static int run_offline(int queries, const mlb_query_ops *q, double (*items)(void *),
                       mlb_scenario_figures *f)
{
    double before = items ? items(q->arg) : 0;
    double t0 = mlb_now();
    int rc = 0;
    for (int done = 0; done < queries && rc >= 0;) {
        int n = queries - done;
        if (q->many) {
            if (q->max_many > 0 && n > q->max_many)
                n = q->max_many;
            rc = q->many(q->arg, n);
        } else {
            n = 1;
            rc = q->one(q->arg);
        }
        done += n;
    }
    double wall = mlb_now() - t0;
    double samples = items ? items(q->arg) - before : 0;
    if (!(samples > 0))
        samples = queries; /* a target that reports no items: a query is a sample */
    f->samples_per_s = rc >= 0 && wall > 0 ? samples / wall : NAN;
    return rc;
}

/* `queries` Poisson arrivals at `qps` (unit-rate gaps from `seed`, scaled,
 * so that probes of a search see one arrival pattern at different rates). */
static int run_server(int queries, double qps, uint64_t seed, const mlb_query_ops *q,
                      double *lat, size_t *n_lat)
{
    uint64_t st = seed ^ 0x5ca1ab1e5eedULL;
    double t = mlb_now();
    int rc = 0;
    *n_lat = 0;
    for (int i = 0; i < queries && rc >= 0; i++) {
        double u = ((double)(next_u64(&st) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
        t += -log(u) / qps;
        wait_until(t);
        rc = q->one(q->arg);
        lat[i] = mlb_now() - t;
        *n_lat = (size_t)i + 1;
    }
    return rc;
}

static int met(const double *lat, size_t n, double bound, mlb_scenario_figures *f)
{
    percentiles(lat, n, f);
    return f->p99_s <= bound;
}

/* Bisection on qps between 0 and the back-to-back service rate, the rate
 * past which a single server's queue grows without bound. */
static int find_peak(int queries, uint64_t seed, double bound, const mlb_query_ops *q,
                     double *lat, size_t *n_lat, mlb_scenario_figures *f)
{
    int calib = queries < 16 ? queries : 16;
    size_t n = 0;
    int rc = run_single(calib, q, lat, &n);
    if (rc < 0)
        return rc;
    mlb_scenario_figures c;
    percentiles(lat, n, &c);
    double service = c.p50_s > 1e-9 ? c.p50_s : 1e-9;
    double lo = 0, hi = 1.0 / service;
    double *probe = malloc((size_t)queries * sizeof *probe);
    if (!probe)
        return -ENOMEM;
    size_t kept = 0;
    mlb_scenario_figures best = {.p50_s = NAN, .p90_s = NAN, .p99_s = NAN};
    const int steps = 8; /* the peak to within 1/256 of the service rate */
    for (int i = 0; i <= steps && rc >= 0; i++) {
        double rate = i == 0 ? hi : 0.5 * (lo + hi);
        size_t np = 0;
        rc = run_server(queries, rate, seed, q, probe, &np);
        f->n_probes++;
        if (rc < 0)
            break;
        mlb_scenario_figures pf;
        if (met(probe, np, bound, &pf)) {
            lo = rate;
            best = pf;
            memcpy(lat, probe, np * sizeof *lat);
            kept = np;
            if (i == 0)
                break; /* met at the service rate itself: the search's upper end */
        } else {
            hi = rate;
            if (!kept) { /* until one meets the bound, report the latest */
                best = pf;
                memcpy(lat, probe, np * sizeof *lat);
                *n_lat = np;
            }
        }
    }
    free(probe);
    if (kept)
        *n_lat = kept;
    f->p50_s = best.p50_s;
    f->p90_s = best.p90_s;
    f->p99_s = best.p99_s;
    f->peak_qps = lo;
    f->met_bound = kept > 0;
    return rc;
}

int mlb_scenario_run(const mlb_scenario *s, int queries, uint64_t seed, const mlb_query_ops *q,
                     double (*items)(void *arg), double *latency, size_t *n_latency,
                     mlb_scenario_figures *fig)
{
    memset(fig, 0, sizeof *fig);
    fig->samples_per_s = fig->p50_s = fig->p90_s = fig->p99_s = fig->peak_qps = NAN;
    fig->met_bound = -1;
    *n_latency = 0;
    switch (s->kind) {
    case MLB_SCN_OFFLINE: return run_offline(queries, q, items, fig);
    case MLB_SCN_SERVER: {
        if (s->find_peak)
            return find_peak(queries, seed, s->latency_bound_s, q, latency, n_latency, fig);
        int rc = run_server(queries, s->qps, seed, q, latency, n_latency);
        percentiles(latency, *n_latency, fig);
        if (s->latency_bound_s > 0)
            fig->met_bound = fig->p99_s <= s->latency_bound_s;
        return rc;
    }
    default: return run_single(queries, q, latency, n_latency);
    }
}
