/* Statistics of the engine; see stats.h and docs/methodology.md. */
#include "stats.h"
#include "stats_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

/* ------------------------------------------------------------------ helpers */

/* Decorrelates the seeds of the several bootstrap streams one comparison
 * draws (splitmix64 finaliser), so that sample a and b never share one. */
static uint64_t seed_mix(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static gsl_rng *rng_new(uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, (unsigned long)seed);
    return r;
}

static int cmp_double(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* glibc's merge sort: GSL's heapsort takes a second per million values,
 * several times what this does, and the result is the same order. */
static void sort_doubles(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
}

static double *sorted_copy(const double *x, size_t n)
{
    double *s = malloc(n * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, x, n * sizeof *s);
    sort_doubles(s, n);
    return s;
}

/* Binary exponent by which a sample of largest magnitude m is scaled before
 * its statistics are taken, 0 when none is needed. Squares of values beyond
 * 2^400 overflow (Welch's df squares variances: 1e77 is enough) and squares
 * of deviations below 2^-400 lose their digits to underflow, so such samples
 * are summarised scaled by a power of two, which is exact, and the location
 * and scale statistics scaled back. Within the range nothing is scaled, so
 * the results there are bit for bit those of the unscaled formulas. */
static int range_exp_within(double m, int lim)
{
    if (!(m > 0.0) || !isfinite(m) || (ilogb(m) >= -lim && ilogb(m) < lim))
        return 0;
    return ilogb(m);
}

static int range_exp(double m)
{
    return range_exp_within(m, 400);
}

static double max_abs(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Mean with a correction pass, as R's mean(): the second pass recovers the
 * rounding of the first sum, which matters for values like 1.2e8 + noise. */
static double mean_of(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n;
    double c = 0.0;
    for (size_t i = 0; i < n; i++)
        c += x[i] - m;
    return m + c / (double)n;
}

/* Corrected two-pass variance: sums of squared deviations from an accurate
 * mean never cancel catastrophically, unlike sum(x^2) - n mean^2, and the
 * sum(d)^2 / n term removes what error the mean still has. */
static double var_of(const double *x, size_t n, double m)
{
    double ss = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        ss += d * d;
        c += d;
    }
    double v = (ss - c * c / (double)n) / (double)(n - 1);
    return v < 0.0 ? 0.0 : v;
}

/* The median of one bootstrap resample of the sorted s[0..n), scaled by
 * 2^-k, drawn without building the resample: its j-th smallest value is
 * s[floor(n U_(j))] for U_(j) the j-th order statistic of n uniforms, which
 * is Beta(j, n + 1 - j); the next one is the minimum of the n - j uniforms
 * above it. The same distribution as resampling, at O(1) instead of O(n)
 * per resample, so that 10^6 values take seconds. */
static size_t boot_index(double u, size_t n)
{
    size_t i = (size_t)(u * (double)n);
    return i < n ? i : n - 1;
}

static double boot_median_direct(const double *s, size_t n, gsl_rng *r, int k)
{
    size_t m = n / 2;
    if (n % 2)
        return ldexp(s[boot_index(gsl_ran_beta(r, (double)(m + 1), (double)(n - m)), n)], -k);
    double u1 = gsl_ran_beta(r, (double)m, (double)(n - m + 1));
    double u2 = u1 + (1.0 - u1) * gsl_ran_beta(r, 1.0, (double)(n - m));
    return 0.5 * (ldexp(s[boot_index(u1, n)], -k) + ldexp(s[boot_index(u2, n)], -k));
}

/* Percentile bootstrap CI of the median of x[0..n) with `reps` resamples. */
static int boot_median_ci(const double *x, size_t n, uint64_t seed, double *lo, double *hi)
{
    double *work = malloc(n * sizeof *work);
    double *meds = malloc(MLB_STATS_BOOT_REPS * sizeof *meds);
    gsl_rng *r = rng_new(seed);
    if (!work || !meds || !r) {
        free(work);
        free(meds);
        gsl_rng_free(r);
        return -ENOMEM;
    }
    for (size_t b = 0; b < MLB_STATS_BOOT_REPS; b++) {
        if (n > MLB_STATS_BOOT_DIRECT_N) { /* x is sorted (summary_core) */
            meds[b] = boot_median_direct(x, n, r, 0);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            work[i] = x[gsl_rng_uniform_int(r, n)];
        meds[b] = gsl_stats_median(work, 1, n); /* quickselect, reorders work */
    }
    sort_doubles(meds, MLB_STATS_BOOT_REPS);
    *lo = gsl_stats_quantile_from_sorted_data(meds, 1, MLB_STATS_BOOT_REPS, 0.025);
    *hi = gsl_stats_quantile_from_sorted_data(meds, 1, MLB_STATS_BOOT_REPS, 0.975);
    free(work);
    free(meds);
    gsl_rng_free(r);
    return 0;
}

/* ---------------------------------------------------------------- summary */

static int summary_core(const double *x, size_t n, uint64_t seed, mlb_summary *out)
{
    memset(out, 0, sizeof *out);
    double *s = sorted_copy(x, n);
    if (!s)
        return -ENOMEM;
    mlb_summary *o = out;
    o->n = n;
    o->min = s[0];
    o->max = s[n - 1];
    o->constant = o->min == o->max;
    o->median = gsl_stats_median_from_sorted_data(s, 1, n);
    o->q1 = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.25);
    o->q3 = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.75);
    o->iqr = o->q3 - o->q1;
    o->fence_low = o->q1 - 1.5 * o->iqr;
    o->fence_high = o->q3 + 1.5 * o->iqr;
    for (size_t i = 0; i < n; i++)
        if (mlb_summary_is_outlier(o, s[i]))
            o->n_outliers++;

    if (o->constant) {
        /* Exactly the value, not a sum divided back: a constant sample has
         * no spread, whatever rounding a mean would introduce. */
        o->mean = o->min;
        o->sd = n >= 2 ? 0.0 : NAN;
        o->mad = 0.0;
    } else {
        o->mean = mean_of(s, n);
        o->sd = sqrt(var_of(s, n, o->mean));
        double *dev = malloc(n * sizeof *dev);
        if (!dev) {
            free(s);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            dev[i] = fabs(s[i] - o->median);
        sort_doubles(dev, n);
        o->mad = 1.4826 * gsl_stats_median_from_sorted_data(dev, 1, n);
        free(dev);
    }
    o->cv = (n >= 2 && o->mean != 0.0) ? o->sd / o->mean : NAN;
    o->high_cv = isfinite(o->cv) && fabs(o->cv) > MLB_STATS_CV_WARN;

    if (n < 2) {
        o->ci95_low = o->ci95_high = NAN;
    } else if (o->constant) {
        o->ci95_low = o->ci95_high = o->mean;
    } else {
        double half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * o->sd / sqrt((double)n);
        o->ci95_low = o->mean - half;
        o->ci95_high = o->mean + half;
    }

    int rc = 0;
    if (o->constant) {
        o->median_ci95_low = o->median_ci95_high = o->median;
    } else {
        rc = boot_median_ci(s, n, seed, &o->median_ci95_low, &o->median_ci95_high);
        if (rc < 0)
            goto out;
    }

    o->shapiro_w = o->shapiro_p = NAN;
    if (n < 3)
        o->shapiro_why = "n < 3: Shapiro-Wilk needs 3 to 5000 values";
    else if (n > MLB_STATS_SW_MAX_N)
        o->shapiro_why = "n > 5000: Shapiro-Wilk (Royston) is defined for 3 to 5000 values";
    else if (o->constant)
        o->shapiro_why = "all values are identical";
    else if ((rc = mlb_shapiro_wilk(s, n, &o->shapiro_w, &o->shapiro_p)) < 0)
        goto out;

    o->ad_stat = o->ad_stat_adj = o->ad_p = NAN;
    if (n < MLB_STATS_AD_MIN_N)
        o->ad_why = "n < 8: Anderson-Darling needs at least 8 values";
    else if (o->constant)
        o->ad_why = "all values are identical";
    else
        mlb_anderson_darling(s, n, o->mean, o->sd, &o->ad_stat, &o->ad_stat_adj, &o->ad_p);
out:
    free(s);
    return rc;
}

/* Scales a location or scale statistic back by 2^e; one the double range
 * cannot hold becomes NaN (null in JSON) and counts toward range_why. */
static double unscale(double v, int e, int *lost)
{
    if (!isfinite(v))
        return v;
    double r = ldexp(v, e);
    if (!isfinite(r)) {
        *lost = 1;
        return NAN;
    }
    return r;
}

int mlb_summary_compute(const double *x, size_t n, uint64_t seed, mlb_summary *out)
{
    if (!out || !x || n == 0 || !all_finite(x, n))
        return -EINVAL;
    int e = range_exp(max_abs(x, n));
    if (e == 0)
        return summary_core(x, n, seed, out);
    double *xs = malloc(n * sizeof *xs);
    if (!xs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        xs[i] = ldexp(x[i], -e);
    int rc = summary_core(xs, n, seed, out);
    free(xs);
    if (rc < 0)
        return rc;
    mlb_summary *o = out;
    int lost = 0;
    double *const loc[] = {&o->mean, &o->median, &o->sd, &o->q1, &o->q3, &o->iqr, &o->mad,
                           &o->ci95_low, &o->ci95_high, &o->median_ci95_low,
                           &o->median_ci95_high};
    for (size_t i = 0; i < sizeof loc / sizeof loc[0]; i++)
        *loc[i] = unscale(*loc[i], e, &lost);
    /* Exactly the input's extremes, whatever the scaled copy lost. */
    o->min = o->max = x[0];
    for (size_t i = 1; i < n; i++) {
        o->min = fmin(o->min, x[i]);
        o->max = fmax(o->max, x[i]);
    }
    /* A fence beyond the double range flags nothing on its side: infinity
     * keeps mlb_summary_is_outlier right (JSON writes it as null). */
    o->fence_low = ldexp(o->fence_low, e);
    o->fence_high = ldexp(o->fence_high, e);
    if (lost)
        o->range_why = "a statistic of this sample exceeds the range of a double "
                       "(1.8e308) and is null";
    return 0;
}

int mlb_summary_is_outlier(const mlb_summary *s, double v)
{
    return v < s->fence_low || v > s->fence_high;
}

/* ----------------------------------------------------------- two samples */

static void welch(const mlb_summary *a, const mlb_summary *b, mlb_comparison *c)
{
    c->welch_t = c->welch_df = c->welch_p = NAN;
    if (a->n < 2 || b->n < 2) {
        c->welch_why = "each sample needs at least 2 values";
        return;
    }
    if (!isfinite(a->sd) || !isfinite(b->sd) || !isfinite(a->mean) || !isfinite(b->mean)) {
        c->welch_why = "a mean or standard deviation exceeds the range of a double";
        return;
    }
    /* The df squares variances of means, sd^4: scaled by the larger sd
     * beyond 2^±200, so that values near 1e77 (or 1e-77) neither overflow
     * nor underflow. */
    int k = range_exp_within(fmax(a->sd, b->sd), 200);
    double sa = ldexp(a->sd, -k), sb = ldexp(b->sd, -k);
    double va = sa * sa / (double)a->n, vb = sb * sb / (double)b->n;
    double se2 = va + vb;
    if (se2 == 0.0) {
        c->welch_why = "both samples are constant";
        return;
    }
    double t = (ldexp(a->mean, -k) - ldexp(b->mean, -k)) / sqrt(se2);
    double df = se2 * se2 / (va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
    double p = 2.0 * gsl_cdf_tdist_Q(fabs(t), df);
    if (!isfinite(t) || !isfinite(df) || !(p >= 0.0)) {
        c->welch_why = "the t statistic or its degrees of freedom are not computable at these "
                       "values";
        return;
    }
    c->welch_t = t;
    c->welch_df = df;
    c->welch_p = p > 1.0 ? 1.0 : p;
}

/* Number of arrangements of m a's and n b's for each U = 0..m*n, where U
 * counts (a, b) pairs with a above b: the null distribution of
 * Mann-Whitney's U. Additions only, so no cancellation; counts go up to
 * C(98, 49) ~ 2.5e28, far inside double range. */
static double *mwu_counts(size_t m, size_t n)
{
    if (m > n) { /* the distribution is symmetric in (m, n); fewer rows */
        size_t t = m;
        m = n;
        n = t;
    }
    size_t umax = m * n, width = umax + 1;
    double *dp = calloc((m + 1) * width, sizeof *dp);
    if (!dp)
        return NULL;
    /* dp[j][u]: ways to place j a's among the first i items with statistic
     * u; item i placed as the j-th a lies above i - j b's. */
    dp[0] = 1.0;
    for (size_t i = 1; i <= m + n; i++) {
        size_t jmax = i < m ? i : m;
        for (size_t j = jmax; j >= 1; j--) {
            if (i - j > n)
                continue;
            size_t shift = i - j;
            double *row = dp + j * width, *prev = dp + (j - 1) * width;
            for (size_t u = umax; u + 1 > shift; u--) {
                row[u] += prev[u - shift];
                if (u == 0)
                    break;
            }
        }
    }
    double *res = malloc(width * sizeof *res);
    if (res)
        memcpy(res, dp + m * width, width * sizeof *res);
    free(dp);
    return res;
}

typedef struct {
    double v;
    int from_a;
} pooled_val;

static int cmp_pooled(const void *p, const void *q)
{
    double x = ((const pooled_val *)p)->v, y = ((const pooled_val *)q)->v;
    return (x > y) - (x < y);
}

static int mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                        mlb_comparison *c)
{
    size_t N = na + nb;
    pooled_val *pv = malloc(N * sizeof *pv);
    if (!pv)
        return -ENOMEM;
    for (size_t i = 0; i < na; i++)
        pv[i] = (pooled_val){a[i], 1};
    for (size_t i = 0; i < nb; i++)
        pv[na + i] = (pooled_val){b[i], 0};
    qsort(pv, N, sizeof *pv, cmp_pooled);

    /* Midranks of ties; sum(t^3 - t) over tie groups for the variance. */
    double rank_sum_a = 0.0, tie_sum = 0.0;
    int ties = 0;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j + 1 < N && pv[j + 1].v == pv[i].v)
            j++;
        double t = (double)(j - i + 1), mid = ((double)i + (double)j) / 2.0 + 1.0;
        for (size_t k = i; k <= j; k++)
            if (pv[k].from_a)
                rank_sum_a += mid;
        if (j > i) {
            ties = 1;
            tie_sum += t * t * t - t;
        }
        i = j + 1;
    }
    free(pv);

    double dna = (double)na, dnb = (double)nb, dN = (double)N;
    double U = rank_sum_a - dna * (dna + 1.0) / 2.0;
    c->mwu_u = U;
    c->cliffs_delta = (2.0 * U - dna * dnb) / (dna * dnb);
    double ad = fabs(c->cliffs_delta);
    c->cliffs_label = ad < 0.147 ? "negligible" : ad < 0.33 ? "small" : ad < 0.474 ? "medium" : "large";

    int exact_ok = na < MLB_STATS_EXACT_MWU_N && nb < MLB_STATS_EXACT_MWU_N;
    if (exact_ok) {
        /* Smallest two-sided p: one extreme arrangement out of C(N, na). */
        gsl_sf_result ch;
        if (gsl_sf_choose_e((unsigned)N, (unsigned)na, &ch) != GSL_SUCCESS)
            return -ERANGE; /* N < 100: C(N, na) < 1e29, always a double */
        double mp = 2.0 / ch.val;
        c->mwu_min_p = mp > 1.0 ? 1.0 : mp;
    } else {
        double z = (dna * dnb / 2.0 - 0.5) / sqrt(dna * dnb * (dN + 1.0) / 12.0);
        c->mwu_min_p = 2.0 * gsl_cdf_ugaussian_Q(z);
    }

    if (exact_ok && !ties) {
        double *cnt = mwu_counts(na, nb);
        if (!cnt)
            return -ENOMEM;
        size_t umax = na * nb, u = (size_t)U;
        /* As wilcox.test: the tail on the side of U, summed from its far
         * end so that tiny tails keep their precision. */
        double tail = 0.0, total = 0.0;
        for (size_t k = 0; k <= umax; k++)
            total += cnt[k];
        if (U > dna * dnb / 2.0) {
            for (size_t k = umax + 1; k-- > u;)
                tail += cnt[k];
        } else {
            for (size_t k = 0; k <= u; k++)
                tail += cnt[k];
        }
        free(cnt);
        double p = 2.0 * tail / total;
        c->mwu_p = p > 1.0 ? 1.0 : p;
        c->mwu_method = MLB_MWU_EXACT;
    } else {
        double sigma = sqrt((dna * dnb / 12.0) * ((dN + 1.0) - tie_sum / (dN * (dN - 1.0))));
        if (!(sigma > 0.0)) {
            c->mwu_p = NAN;
            c->mwu_method = MLB_MWU_NONE;
            c->mwu_why = "all values of both samples are identical";
            return 0;
        }
        double z = U - dna * dnb / 2.0;
        double corr = z > 0 ? 0.5 : z < 0 ? -0.5 : 0.0;
        z = (z - corr) / sigma;
        double p = 2.0 * gsl_cdf_ugaussian_Q(fabs(z));
        c->mwu_p = p > 1.0 ? 1.0 : p;
        c->mwu_method = MLB_MWU_NORMAL;
    }
    return 0;
}

/* Percentile bootstrap CIs of median(a) / median(b) and median(a) -
 * median(b), resampling each sample independently. Both statistics come
 * from the same resamples, drawn in the order the ratio CI always used, so
 * that ratio_ci95 is unchanged for a seed and the 90% CIs (TOST) and the
 * difference's CIs are reproducible with it. The ratio is skipped when the
 * median of b is 0 (ratio_why already says so). */
static int boot_pair_ci(const double *a, size_t na, const double *b, size_t nb, uint64_t seed,
                        mlb_comparison *c)
{
    double *wa = malloc(na * sizeof *wa), *wb = malloc(nb * sizeof *wb);
    double *rat = malloc(MLB_STATS_BOOT_REPS * sizeof *rat);
    double *dif = malloc(MLB_STATS_BOOT_REPS * sizeof *dif);
    gsl_rng *r = rng_new(seed);
    int rc = 0, ratio_ok = isfinite(c->median_ratio);
    /* Each sample resampled scaled by its own power of two (range_exp), so
     * that a median of two values near 1.8e308 does not overflow; the ratio
     * and difference are put back together from the exponents. */
    int ka = range_exp(max_abs(a, na)), kb = range_exp(max_abs(b, nb));
    /* Large samples draw each resample's median directly, from a sorted copy. */
    double *sa = na > MLB_STATS_BOOT_DIRECT_N ? sorted_copy(a, na) : NULL;
    double *sb = nb > MLB_STATS_BOOT_DIRECT_N ? sorted_copy(b, nb) : NULL;
    if (!wa || !wb || !rat || !dif || !r || (na > MLB_STATS_BOOT_DIRECT_N && !sa) ||
        (nb > MLB_STATS_BOOT_DIRECT_N && !sb)) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < MLB_STATS_BOOT_REPS; k++) {
        /* ldexp only where a scale is needed: it is a tenth of the gate's time. */
        if (!sa)
            for (size_t i = 0; i < na; i++) {
                double v = a[gsl_rng_uniform_int(r, na)];
                wa[i] = ka ? ldexp(v, -ka) : v;
            }
        if (!sb)
            for (size_t i = 0; i < nb; i++) {
                double v = b[gsl_rng_uniform_int(r, nb)];
                wb[i] = kb ? ldexp(v, -kb) : v;
            }
        double mb = sb ? boot_median_direct(sb, nb, r, kb) : gsl_stats_median(wb, 1, nb);
        double ma = sa ? boot_median_direct(sa, na, r, ka) : gsl_stats_median(wa, 1, na);
        dif[k] = ka || kb ? ldexp(ma, ka) - ldexp(mb, kb) : ma - mb;
        if (ratio_ok && mb == 0.0) {
            ratio_ok = 0;
            c->ratio_why = "a resampled median of b is 0";
        }
        if (ratio_ok)
            rat[k] = ka != kb ? ldexp(ma / mb, ka - kb) : ma / mb;
    }
    const size_t R = MLB_STATS_BOOT_REPS;
    sort_doubles(dif, R);
    c->diff_ci95_low = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.025);
    c->diff_ci95_high = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.975);
    c->diff_ci90_low = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.05);
    c->diff_ci90_high = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.95);
    if (!isfinite(c->diff_ci95_low) || !isfinite(c->diff_ci95_high)) {
        c->diff_ci95_low = c->diff_ci95_high = c->diff_ci90_low = c->diff_ci90_high = NAN;
        c->diff_why = "a resampled median difference exceeds the range of a double";
    }
    if (ratio_ok) {
        sort_doubles(rat, R);
        c->ratio_ci95_low = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.025);
        c->ratio_ci95_high = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.975);
        c->ratio_ci90_low = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.05);
        c->ratio_ci90_high = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.95);
        if (!isfinite(c->ratio_ci95_low) || !isfinite(c->ratio_ci95_high)) {
            c->ratio_ci95_low = c->ratio_ci95_high = c->ratio_ci90_low = c->ratio_ci90_high = NAN;
            c->ratio_why = "a resampled median ratio exceeds the range of a double";
        }
    }
out:
    free(sa);
    free(sb);
    free(wa);
    free(wb);
    free(rat);
    free(dif);
    gsl_rng_free(r);
    return rc;
}

static void decide(mlb_comparison *c);
static int both_constant(const mlb_comparison *c);

/* Smallest k such that k vs k values let the exact Mann-Whitney test reach
 * p < alpha: 2 / C(2k, k) < alpha. */
static int min_reps_for_alpha(double alpha)
{
    int k = 1;
    gsl_sf_result ch;
    while (k < 100 && gsl_sf_choose_e(2u * (unsigned)k, (unsigned)k, &ch) == GSL_SUCCESS &&
           2.0 / ch.val >= alpha)
        k++;
    return k;
}

void mlb_comparison_set_family(mlb_comparison *c, size_t m)
{
    if (m < 1)
        m = 1;
    c->family = m;
    /* Bonferroni's bound: Holm may still pass a comparison whose rank lets
     * it be multiplied by less than m, hence "may not" in the warning. */
    c->few_reps = c->mwu_min_p * (double)m >= MLB_STATS_ALPHA;
    c->min_reps = min_reps_for_alpha(MLB_STATS_ALPHA / (double)m);
    if (c->has_margin)
        decide(c);
}

static void update_significant(mlb_comparison *c)
{
    double p = isfinite(c->p_adjusted) ? c->p_adjusted : c->chosen_p;
    c->significant = isfinite(p) && p < MLB_STATS_ALPHA;
}

/* A single value has unknown, not zero, spread: it is left to the tests
 * (which then cannot conclude) rather than compared by value. */
static int both_constant(const mlb_comparison *c)
{
    return c->a.constant && c->b.constant && c->a.n >= 2 && c->b.n >= 2;
}

int mlb_compare_samples(const double *a, size_t na, const double *b, size_t nb, uint64_t seed,
                        mlb_comparison *out)
{
    if (!out || !a || !b || na == 0 || nb == 0 || !all_finite(a, na) || !all_finite(b, nb))
        return -EINVAL;
    memset(out, 0, sizeof *out);
    mlb_comparison *c = out;
    int rc;
    if ((rc = mlb_summary_compute(a, na, seed_mix(seed, 0), &c->a)) < 0 ||
        (rc = mlb_summary_compute(b, nb, seed_mix(seed, 1), &c->b)) < 0)
        return rc;

    welch(&c->a, &c->b, c);
    if ((rc = mann_whitney(a, na, b, nb, c)) < 0)
        return rc;

    c->cohens_d = NAN;
    if (na < 2 || nb < 2) {
        c->cohens_why = "each sample needs at least 2 values";
    } else {
        /* Scaled as in welch(): squares of sds near 1e154 overflow. */
        int k = range_exp(fmax(c->a.sd, c->b.sd));
        double sa = ldexp(c->a.sd, -k), sb = ldexp(c->b.sd, -k);
        double sp = sqrt(((double)(na - 1) * sa * sa + (double)(nb - 1) * sb * sb) /
                         (double)(na + nb - 2));
        double d = (ldexp(c->a.mean, -k) - ldexp(c->b.mean, -k)) / sp;
        if (!isfinite(sp) || !isfinite(c->a.mean) || !isfinite(c->b.mean))
            c->cohens_why = "a mean or standard deviation exceeds the range of a double";
        else if (!(sp > 0.0))
            c->cohens_why = "pooled standard deviation is 0";
        else if (!isfinite(d))
            c->cohens_why = "the effect exceeds the range of a double";
        else
            c->cohens_d = d;
    }

    c->median_ratio = c->ratio_ci95_low = c->ratio_ci95_high = NAN;
    c->ratio_ci90_low = c->ratio_ci90_high = NAN;
    c->median_diff = c->a.median - c->b.median;
    if (!isfinite(c->median_diff)) {
        c->median_diff = NAN;
        c->diff_why = "the median difference exceeds the range of a double";
    }
    if (!isfinite(c->a.median) || !isfinite(c->b.median))
        c->ratio_why = "a median exceeds the range of a double";
    else if (c->b.median == 0.0)
        c->ratio_why = "median of b is 0";
    else if (!isfinite(c->a.median / c->b.median))
        c->ratio_why = "the median ratio exceeds the range of a double";
    else
        c->median_ratio = c->a.median / c->b.median;
    if ((rc = boot_pair_ci(a, na, b, nb, seed_mix(seed, 2), c)) < 0)
        return rc;

    /* Welch only when both samples look normal; Shapiro-Wilk that could not
     * run counts as not passing, since normality is then unsupported. Two
     * constant samples get no test: with zero spread any difference, even
     * in the 16th digit, is "significant" to a rank test, yet it is only a
     * difference of value, which the margin judges (set_margin). */
    int normal = isfinite(c->a.shapiro_p) && isfinite(c->b.shapiro_p) &&
                 c->a.shapiro_p >= MLB_STATS_ALPHA && c->b.shapiro_p >= MLB_STATS_ALPHA;
    c->chosen_why = NULL;
    if (both_constant(c)) {
        c->chosen = MLB_TEST_NONE;
        c->chosen_p = NAN;
        c->chosen_why = "both samples are constant: compared by value against the margin";
    } else if (normal && isfinite(c->welch_p)) {
        c->chosen = MLB_TEST_WELCH;
        c->chosen_p = c->welch_p;
    } else if (isfinite(c->mwu_p)) {
        c->chosen = MLB_TEST_MWU;
        c->chosen_p = c->mwu_p;
    } else {
        c->chosen = MLB_TEST_NONE;
        c->chosen_p = NAN;
        c->chosen_why = c->mwu_why ? c->mwu_why : "no test is computable";
    }
    c->has_margin = 0;
    c->verdict_kind = MLB_KIND_INCONCLUSIVE;
    c->inconclusive_why[0] = '\0';
    c->p_adjusted = NAN;
    c->adjust_method = NULL;
    mlb_comparison_set_family(c, 1);
    update_significant(c);
    return 0;
}

void mlb_comparison_set_adjusted(mlb_comparison *c, double p_adj, const char *method)
{
    c->p_adjusted = p_adj;
    c->adjust_method = method;
    update_significant(c);
    if (c->has_margin)
        decide(c);
}

/* ---------------------------------------------------- practical equivalence */

mlb_margin mlb_margin_default(int lower_is_better)
{
    if (lower_is_better == MLB_BETTER_LOWER_TIME)
        return (mlb_margin){MLB_MARGIN_TIME_REL, NAN};
    return (mlb_margin){MLB_MARGIN_METRIC_REL, MLB_MARGIN_METRIC_ABS};
}

const char *mlb_verdict_kind_name(mlb_verdict_kind k)
{
    switch (k) {
    case MLB_KIND_BETTER:
        return "better";
    case MLB_KIND_WORSE:
        return "worse";
    case MLB_KIND_EQUIVALENT:
        return "equivalent";
    default:
        return "inconclusive";
    }
}

/* A ratio to three decimals near 1, where the margin lives, else to three
 * significant digits. */
void mlb_stats_fmt_ratio(char *b, size_t len, double r)
{
    snprintf(b, len, fabs(r) >= 0.1 && fabs(r) < 10 ? "%.3f" : "%.3g", r);
}

/* The margin as a sentence writes it: "±2%" for a time, "±4.5e-07" for a
 * metric's tolerance. */
void mlb_stats_fmt_margin(char *b, size_t len, const mlb_comparison *c)
{
    if (c->lower_is_better == MLB_BETTER_LOWER_TIME)
        snprintf(b, len, "±%g%%", 100.0 * c->margin.rel);
    else
        snprintf(b, len, "±%.2g", c->margin_high);
}

/* Which side of the region [lo, hi] an interval is on: -1 wholly below, +1
 * wholly above, 0 touching or inside it. */
static int side_of(double ci_lo, double ci_hi, double lo, double hi)
{
    return ci_hi < lo ? -1 : ci_lo > hi ? 1 : 0;
}

static void set_kind(mlb_comparison *c, int a_side, const char *by)
{
    int lower = c->lower_is_better != MLB_BETTER_HIGHER;
    if (a_side == 0)
        c->verdict_kind = MLB_KIND_EQUIVALENT;
    else
        c->verdict_kind = (a_side < 0) == lower ? MLB_KIND_BETTER : MLB_KIND_WORSE;
    c->decided_by = by;
    c->inconclusive_why[0] = '\0';
}

/* The decision of mlb_comparison_set_margin, from the margin, the CIs, the
 * (adjusted) significance and the repetition count. */
static void decide_kind(mlb_comparison *c)
{
    int time = c->lower_is_better == MLB_BETTER_LOWER_TIME;
    double ma = c->a.median, mb = c->b.median;
    if (time) {
        c->margin_low = 1.0 / (1.0 + c->margin.rel);
        c->margin_high = 1.0 + c->margin.rel;
    } else {
        double tol = fmax(c->margin.rel * fmax(fabs(ma), fabs(mb)), c->margin.abs);
        c->margin_low = -tol;
        c->margin_high = tol;
    }
    c->verdict_kind = MLB_KIND_INCONCLUSIVE;
    c->decided_by = NULL;
    char *why = c->inconclusive_why;
    size_t wl = sizeof c->inconclusive_why;
    why[0] = '\0';

    if (both_constant(c)) {
        /* Zero spread on both sides: the values are the truth, and only the
         * margin can say whether they differ in a way that matters. */
        int side;
        if (!time)
            side = side_of(ma - mb, ma - mb, c->margin_low, c->margin_high);
        else if (ma == mb)
            side = 0;
        else if (ma == 0.0 || mb == 0.0)
            side = ma < mb ? -1 : 1; /* no ratio; any time beats none */
        else
            side = side_of(ma / mb, ma / mb, c->margin_low, c->margin_high);
        set_kind(c, side, "value");
        return;
    }

    const char *q = time ? "ratio" : "difference";
    double lo95 = time ? c->ratio_ci95_low : c->diff_ci95_low;
    double hi95 = time ? c->ratio_ci95_high : c->diff_ci95_high;
    double lo90 = time ? c->ratio_ci90_low : c->diff_ci90_low;
    double hi90 = time ? c->ratio_ci90_high : c->diff_ci90_high;
    char m[32], l[32], h[32];
    mlb_stats_fmt_margin(m, sizeof m, c);
    if (!isfinite(lo95) || !isfinite(lo90)) {
        snprintf(why, wl, "the median ratio is not computable: %s",
                 c->ratio_why ? c->ratio_why : "no bootstrap interval");
        return;
    }
    int out95 = side_of(lo95, hi95, c->margin_low, c->margin_high);
    int out90 = side_of(lo90, hi90, c->margin_low, c->margin_high);
    int in90 = lo90 >= c->margin_low && hi90 <= c->margin_high;
    if (c->significant && out95 != 0) {
        /* The test names the direction; a CI of medians on the other side
         * (possible when Welch compares means) is a contradiction. */
        double t = c->chosen == MLB_TEST_WELCH ? c->welch_t : c->cliffs_delta;
        int test_side = t < 0 ? -1 : t > 0 ? 1 : 0;
        if (test_side == out95) {
            set_kind(c, out95, "test");
            return;
        }
        snprintf(why, wl, "the %s test and the median %s's CI disagree on the direction",
                 c->chosen == MLB_TEST_WELCH ? "Welch" : "Mann-Whitney", q);
        return;
    }
    /* Equivalence from a bootstrap CI of a handful of values would be
     * overconfident (n = 1 gives a point); it needs as many repetitions as
     * significance would. */
    if (in90 && !c->few_reps) {
        set_kind(c, 0, "ci");
        return;
    }
    if (c->few_reps) {
        if (c->a.n == c->b.n)
            snprintf(why, wl, "too few repetitions (%zu per variant; at least %d needed)", c->a.n,
                     c->min_reps);
        else
            snprintf(why, wl, "too few repetitions (%zu and %zu; at least %d per variant needed)",
                     c->a.n, c->b.n, c->min_reps);
        return;
    }
    if (time) {
        mlb_stats_fmt_ratio(l, sizeof l, c->significant ? lo95 : lo90);
        mlb_stats_fmt_ratio(h, sizeof h, c->significant ? hi95 : hi90);
    } else {
        snprintf(l, sizeof l, "%.3g", c->significant ? lo95 : lo90);
        snprintf(h, sizeof h, "%.3g", c->significant ? hi95 : hi90);
    }
    if (c->significant)
        snprintf(why, wl, "significant, but the %s's 95%% CI %s–%s reaches into the %s margin", q,
                 l, h, m);
    else if (out90 != 0)
        snprintf(why, wl, "the %s's 90%% CI %s–%s lies outside the %s margin, but the difference "
                          "is not significant",
                 q, l, h, m);
    else
        snprintf(why, wl, "the %s's 90%% CI %s–%s straddles the %s margin", q, l, h, m);
}

static void decide(mlb_comparison *c)
{
    decide_kind(c);
    c->equivalent = c->verdict_kind == MLB_KIND_EQUIVALENT;
}

int mlb_comparison_set_margin(mlb_comparison *c, int lower_is_better, mlb_margin m)
{
    if (!c || lower_is_better < MLB_BETTER_HIGHER || lower_is_better > MLB_BETTER_LOWER)
        return -EINVAL;
    int time = lower_is_better == MLB_BETTER_LOWER_TIME;
    if (!(m.rel >= 0.0) || !isfinite(m.rel) || (!time && (!(m.abs >= 0.0) || !isfinite(m.abs))))
        return -EINVAL;
    if (time)
        m.abs = NAN;
    c->margin = m;
    c->lower_is_better = lower_is_better;
    c->has_margin = 1;
    decide(c);
    return 0;
}

/* ------------------------------------------------------------ adjustment */

int mlb_p_adjust(const double *p, size_t n, double *bonf, double *holm, double *bh)
{
    if (n == 0)
        return 0;
    if (!p)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return -EINVAL;
    size_t *o = malloc(n * sizeof *o);
    if (!o)
        return -ENOMEM;
    /* Heapsort is not stable, but tied p-values get equal adjusted values
     * under both step-down and step-up, so the order among ties is moot. */
    gsl_sort_index(o, p, 1, n);
    double dn = (double)n;
    if (bonf)
        for (size_t i = 0; i < n; i++)
            bonf[i] = fmin(1.0, dn * p[i]);
    if (holm) {
        /* Step-down: running max of (n - k) p_(k) over ascending p. */
        double run = 0.0;
        for (size_t k = 0; k < n; k++) {
            double v = (dn - (double)k) * p[o[k]];
            if (v > run)
                run = v;
            holm[o[k]] = fmin(1.0, run);
        }
    }
    if (bh) {
        /* Step-up: running min of n / k p_(k) over descending p. */
        double run = INFINITY;
        for (size_t k = n; k-- > 0;) {
            double v = dn / (double)(k + 1) * p[o[k]];
            if (v < run)
                run = v;
            bh[o[k]] = fmin(1.0, run);
        }
    }
    free(o);
    return 0;
}

int mlb_comparisons_adjust(mlb_comparison *cs, size_t n, const char *method)
{
    int which;
    if (!method)
        return -EINVAL;
    if (strcmp(method, "bonferroni") == 0)
        which = 0;
    else if (strcmp(method, "holm") == 0)
        which = 1;
    else if (strcmp(method, "bh") == 0)
        which = 2;
    else
        return -EINVAL;
    if (n == 0)
        return 0;
    double *p = malloc(n * sizeof *p), *adj = malloc(n * sizeof *adj);
    size_t *idx = malloc(n * sizeof *idx);
    if (!p || !adj || !idx) {
        free(p);
        free(adj);
        free(idx);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(cs[i].chosen_p)) {
            idx[m] = i;
            p[m++] = cs[i].chosen_p;
        }
    int rc = mlb_p_adjust(p, m, which == 0 ? adj : NULL, which == 1 ? adj : NULL,
                          which == 2 ? adj : NULL);
    if (rc == 0)
        for (size_t k = 0; k < m; k++)
            mlb_comparison_set_adjusted(&cs[idx[k]], adj[k],
                                        which == 0 ? "bonferroni" : which == 1 ? "holm" : "bh");
    free(p);
    free(adj);
    free(idx);
    return rc;
}

/* ------------------------------------------------------------------ names */

const char *mlb_test_name(mlb_test t)
{
    switch (t) {
    case MLB_TEST_WELCH:
        return "welch";
    case MLB_TEST_MWU:
        return "mann-whitney";
    default:
        return "none";
    }
}

const char *mlb_mwu_method_name(mlb_mwu_method m)
{
    switch (m) {
    case MLB_MWU_EXACT:
        return "exact";
    case MLB_MWU_NORMAL:
        return "normal";
    default:
        return NULL;
    }
}
