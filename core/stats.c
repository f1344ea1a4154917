/* Statistics of the engine; see stats.h and docs/methodology.md. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
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

static double *sorted_copy(const double *x, size_t n)
{
    double *s = malloc(n * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, x, n * sizeof *s);
    gsl_sort(s, 1, n);
    return s;
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
        for (size_t i = 0; i < n; i++)
            work[i] = x[gsl_rng_uniform_int(r, n)];
        meds[b] = gsl_stats_median(work, 1, n); /* quickselect, reorders work */
    }
    gsl_sort(meds, 1, MLB_STATS_BOOT_REPS);
    *lo = gsl_stats_quantile_from_sorted_data(meds, 1, MLB_STATS_BOOT_REPS, 0.025);
    *hi = gsl_stats_quantile_from_sorted_data(meds, 1, MLB_STATS_BOOT_REPS, 0.975);
    free(work);
    free(meds);
    gsl_rng_free(r);
    return 0;
}

/* ----------------------------------------------------------- Shapiro-Wilk */

/* Algorithm AS 181.2: polynomial with coefficients cc[0..nord), cc[0] the
 * constant term, evaluated in the same order as R's swilk.c so that the
 * rounding matches. */
static double sw_poly(const double *cc, int nord, double x)
{
    double ret = cc[0];
    if (nord > 1) {
        double p1 = x * cc[nord - 1];
        for (int j = nord - 2; j > 0; j--)
            p1 = (p1 + cc[j]) * x;
        ret += p1;
    }
    return ret;
}

/* Royston (1995), algorithm AS R94, as R's swilk.c computes it, on sorted
 * x[0..n), 3 <= n <= 5000, with a nonzero range. The data are first mapped
 * onto [0, 1] (W is invariant to location and scale) so that samples like
 * 1.5e-9 +- 1e-11 need no special case, where R's wrapper refuses them. */
static int shapiro_wilk(const double *sorted, size_t nz, double *w_out, double *p_out)
{
    int n = (int)nz, nn2 = n / 2;
    static const double g[2] = {-2.273, .459};
    static const double c1[6] = {0., .221157, -.147981, -2.07119, 4.434685, -2.706056};
    static const double c2[6] = {0., .042981, -.293762, -1.752461, 5.682633, -3.582633};
    static const double c3[4] = {.544, -.39978, .025054, -6.714e-4};
    static const double c4[4] = {1.3822, -.77857, .062767, -.0020322};
    static const double c5[4] = {-1.5861, -.31082, -.083751, .0038915};
    static const double c6[3] = {-.4803, -.082676, .0030302};
    double *a = malloc((size_t)(nn2 + 1) * sizeof *a); /* 1-based, as AS R94 */
    double *x = malloc(nz * sizeof *x);
    if (!a || !x) {
        free(a);
        free(x);
        return -ENOMEM;
    }
    double range0 = sorted[n - 1] - sorted[0];
    for (int i = 0; i < n; i++)
        x[i] = (sorted[i] - sorted[0]) / range0;

    double an = (double)n;
    if (n == 3) {
        a[1] = sqrt(0.5);
    } else {
        double an25 = an + .25, summ2 = 0.0;
        for (int i = 1; i <= nn2; i++) {
            a[i] = gsl_cdf_ugaussian_Pinv((i - .375) / an25);
            summ2 += a[i] * a[i];
        }
        summ2 *= 2.;
        double ssumm2 = sqrt(summ2), rsn = 1. / sqrt(an);
        double a1 = sw_poly(c1, 6, rsn) - a[1] / ssumm2, fac;
        int i1;
        if (n > 5) {
            i1 = 3;
            double a2 = -a[2] / ssumm2 + sw_poly(c2, 6, rsn);
            fac = sqrt((summ2 - 2. * (a[1] * a[1]) - 2. * (a[2] * a[2])) /
                       (1. - 2. * (a1 * a1) - 2. * (a2 * a2)));
            a[2] = a2;
        } else {
            i1 = 2;
            fac = sqrt((summ2 - 2. * (a[1] * a[1])) / (1. - 2. * (a1 * a1)));
        }
        a[1] = a1;
        for (int i = i1; i <= nn2; i++)
            a[i] /= -fac;
    }

    /* x is on [0, 1] now, so the range is 1 up to rounding; keep AS R94's
     * division for fidelity. */
    double range = x[n - 1] - x[0];
    double sx = x[0] / range, sa = -a[1];
    for (int i = 1, j = n - 1; i < n; j--) {
        sx += x[i] / range;
        i++;
        if (i != j)
            sa += (double)((i - j > 0) - (i - j < 0)) * a[i < j ? i : j];
    }
    sa /= n;
    sx /= n;
    double ssa = 0., ssx = 0., sax = 0.;
    for (int i = 0, j = n - 1; i < n; i++, j--) {
        double asa;
        if (i != j)
            asa = (double)((i - j > 0) - (i - j < 0)) * a[1 + (i < j ? i : j)] - sa;
        else
            asa = -sa;
        double xsx = x[i] / range - sx;
        ssa += asa * asa;
        ssx += xsx * xsx;
        sax += asa * xsx;
    }
    /* w1 = 1 - W, computed so as to keep precision when W is near 1. */
    double ssassx = sqrt(ssa * ssx);
    double w1 = (ssassx - sax) * (ssassx + sax) / (ssa * ssx);
    double w = 1. - w1, pw;
    free(a);
    free(x);

    if (n == 3) { /* exact */
        const double pi6 = 1.90985931710274, stqr = 1.04719755119660;
        pw = pi6 * (asin(sqrt(w)) - stqr);
        if (pw < 0.)
            pw = 0.;
        if (pw > 1.)
            pw = 1.;
    } else {
        double y = log(w1), xx = log(an), m, s;
        if (n <= 11) {
            double gamma = sw_poly(g, 2, an);
            if (y >= gamma) {
                pw = 1e-99; /* as R: W so small that p is "obviously" 0 */
                goto done;
            }
            y = -log(gamma - y);
            m = sw_poly(c3, 4, an);
            s = exp(sw_poly(c4, 4, an));
        } else {
            m = sw_poly(c5, 4, xx);
            s = exp(sw_poly(c6, 3, xx));
        }
        pw = gsl_cdf_gaussian_Q(y - m, s);
    }
done:
    *w_out = w;
    *p_out = pw;
    return 0;
}

/* -------------------------------------------------------- Anderson-Darling */

/* log Phi(z) without underflow in the tails: Phi(z) = erfc(-z / sqrt 2) / 2. */
static double log_pnorm(double z)
{
    return gsl_sf_log_erfc(-z / M_SQRT2) - M_LN2;
}

/* nortest::ad.test on sorted x[0..n), n >= 8, sd > 0. */
static void anderson_darling(const double *x, size_t n, double mean, double sd, double *a2,
                             double *a2adj, double *p)
{
    double h = 0.0;
    for (size_t i = 0; i < n; i++) {
        double zi = (x[i] - mean) / sd, zr = (x[n - 1 - i] - mean) / sd;
        h += (2.0 * (double)(i + 1) - 1.0) * (log_pnorm(zi) + log_pnorm(-zr));
    }
    double dn = (double)n;
    double A = -dn - h / dn;
    double AA = (1.0 + 0.75 / dn + 2.25 / (dn * dn)) * A;
    double pv;
    if (AA < 0.2)
        pv = 1.0 - exp(-13.436 + 101.14 * AA - 223.73 * AA * AA);
    else if (AA < 0.34)
        pv = 1.0 - exp(-8.318 + 42.796 * AA - 59.938 * AA * AA);
    else if (AA < 0.6)
        pv = exp(0.9177 - 4.279 * AA - 1.38 * AA * AA);
    else if (AA < 10)
        pv = exp(1.2937 - 5.709 * AA + 0.0186 * AA * AA);
    else
        pv = 3.7e-24;
    *a2 = A;
    *a2adj = AA;
    *p = pv;
}

/* ---------------------------------------------------------------- summary */

int mlb_summary_compute(const double *x, size_t n, uint64_t seed, mlb_summary *out)
{
    if (!out || !x || n == 0 || !all_finite(x, n))
        return -EINVAL;
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
        gsl_sort(dev, 1, n);
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
    else if ((rc = shapiro_wilk(s, n, &o->shapiro_w, &o->shapiro_p)) < 0)
        goto out;

    o->ad_stat = o->ad_stat_adj = o->ad_p = NAN;
    if (n < MLB_STATS_AD_MIN_N)
        o->ad_why = "n < 8: Anderson-Darling needs at least 8 values";
    else if (o->constant)
        o->ad_why = "all values are identical";
    else
        anderson_darling(s, n, o->mean, o->sd, &o->ad_stat, &o->ad_stat_adj, &o->ad_p);
out:
    free(s);
    return rc;
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
    double va = a->sd * a->sd / (double)a->n, vb = b->sd * b->sd / (double)b->n;
    double se2 = va + vb;
    if (se2 == 0.0) {
        c->welch_why = "both samples are constant";
        return;
    }
    c->welch_t = (a->mean - b->mean) / sqrt(se2);
    c->welch_df = se2 * se2 /
                  (va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
    double p = 2.0 * gsl_cdf_tdist_Q(fabs(c->welch_t), c->welch_df);
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
        double mp = 2.0 / gsl_sf_choose((unsigned)N, (unsigned)na);
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
    int rc = 0, ratio_ok = c->b.median != 0.0;
    if (!wa || !wb || !rat || !dif || !r) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < MLB_STATS_BOOT_REPS; k++) {
        for (size_t i = 0; i < na; i++)
            wa[i] = a[gsl_rng_uniform_int(r, na)];
        for (size_t i = 0; i < nb; i++)
            wb[i] = b[gsl_rng_uniform_int(r, nb)];
        double mb = gsl_stats_median(wb, 1, nb), ma = gsl_stats_median(wa, 1, na);
        dif[k] = ma - mb;
        if (ratio_ok && mb == 0.0) {
            ratio_ok = 0;
            c->ratio_why = "a resampled median of b is 0";
        }
        if (ratio_ok)
            rat[k] = ma / mb;
    }
    const size_t R = MLB_STATS_BOOT_REPS;
    gsl_sort(dif, 1, R);
    c->diff_ci95_low = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.025);
    c->diff_ci95_high = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.975);
    c->diff_ci90_low = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.05);
    c->diff_ci90_high = gsl_stats_quantile_from_sorted_data(dif, 1, R, 0.95);
    if (ratio_ok) {
        gsl_sort(rat, 1, R);
        c->ratio_ci95_low = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.025);
        c->ratio_ci95_high = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.975);
        c->ratio_ci90_low = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.05);
        c->ratio_ci90_high = gsl_stats_quantile_from_sorted_data(rat, 1, R, 0.95);
    }
out:
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
    while (k < 100 && 2.0 / gsl_sf_choose(2u * (unsigned)k, (unsigned)k) >= alpha)
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
        double sp = sqrt(((double)(na - 1) * c->a.sd * c->a.sd +
                          (double)(nb - 1) * c->b.sd * c->b.sd) /
                         (double)(na + nb - 2));
        if (sp > 0.0)
            c->cohens_d = (c->a.mean - c->b.mean) / sp;
        else
            c->cohens_why = "pooled standard deviation is 0";
    }

    c->median_ratio = c->ratio_ci95_low = c->ratio_ci95_high = NAN;
    c->ratio_ci90_low = c->ratio_ci90_high = NAN;
    c->median_diff = c->a.median - c->b.median;
    if (c->b.median == 0.0)
        c->ratio_why = "median of b is 0";
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
static void fmt_ratio(char *b, size_t len, double r)
{
    snprintf(b, len, fabs(r) >= 0.1 && fabs(r) < 10 ? "%.3f" : "%.3g", r);
}

/* The margin as a sentence writes it: "±2%" for a time, "±4.5e-07" for a
 * metric's tolerance. */
static void fmt_margin(char *b, size_t len, const mlb_comparison *c)
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
    fmt_margin(m, sizeof m, c);
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
        fmt_ratio(l, sizeof l, c->significant ? lo95 : lo90);
        fmt_ratio(h, sizeof h, c->significant ? hi95 : hi90);
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

/* ---------------------------------------------------------------- warnings */

/* snprintf that appends at *pos and remembers truncation. */
static void app(char *buf, size_t len, size_t *pos, int *trunc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void app(char *buf, size_t len, size_t *pos, int *trunc, const char *fmt, ...)
{
    if (*pos >= len) {
        *trunc = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= len - *pos) {
        *trunc = 1;
        *pos = len;
    } else {
        *pos += (size_t)k;
    }
}

static void fmt_p(char *b, size_t len, double p)
{
    if (p < 0.001)
        snprintf(b, len, "p < 0.001");
    else
        snprintf(b, len, "p = %.3f", p);
}

/* The k-th possible warning (0: too few repetitions, 1 and 2: sample a or
 * b noisy) into buf; 0 when that one does not apply. */
static int warning_k(char *buf, size_t len, int k, const char *name_a, const char *name_b,
                     const mlb_comparison *c)
{
    if (k == 0 && c->few_reps && c->family > 1) {
        snprintf(buf, len,
                 "few repetitions (%zu vs %zu) for a family of %zu comparisons: the smallest "
                 "Mann-Whitney p, %.2g, may not survive the adjustment (with at least %d per "
                 "variant it can)",
                 c->a.n, c->b.n, c->family, c->mwu_min_p, c->min_reps);
        return 1;
    }
    if (k == 0 && c->few_reps) {
        snprintf(buf, len,
                 "too few repetitions (%zu vs %zu): Mann-Whitney cannot go below p = %.2g, so no "
                 "difference can reach significance at %.2g (use at least %d per variant)",
                 c->a.n, c->b.n, c->mwu_min_p, MLB_STATS_ALPHA, c->min_reps);
        return 1;
    }
    const mlb_summary *s = k == 1 ? &c->a : &c->b;
    if ((k == 1 || k == 2) && s->high_cv) {
        snprintf(buf, len, "%s is noisy: coefficient of variation %.0f%% (above %.0f%%)",
                 k == 1 ? name_a : name_b, 100.0 * fabs(s->cv), 100.0 * MLB_STATS_CV_WARN);
        return 1;
    }
    return 0;
}

#define N_WARNINGS 3

int mlb_comparison_warnings(char *buf, size_t len, const char *name_a, const char *name_b,
                            const mlb_comparison *c)
{
    if (!buf || len == 0 || !c || !name_a || !name_b)
        return -EINVAL;
    buf[0] = '\0';
    size_t pos = 0;
    int trunc = 0;
    const char *sep = "";
    char w[512];
    for (int k = 0; k < N_WARNINGS; k++)
        if (warning_k(w, sizeof w, k, name_a, name_b, c)) {
            app(buf, len, &pos, &trunc, "%s%s", sep, w);
            sep = "; ";
        }
    return trunc ? -ENOSPC : 0;
}

/* ------------------------------------------------------------------- JSON */

static int add_num(cJSON *o, const char *k, double v)
{
    cJSON *item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
    return item && cJSON_AddItemToObject(o, k, item) ? 0 : -1;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    cJSON *item = v ? cJSON_CreateString(v) : cJSON_CreateNull();
    return item && cJSON_AddItemToObject(o, k, item) ? 0 : -1;
}

cJSON *mlb_summary_to_json(const mlb_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= add_num(o, "n", (double)s->n);
    bad |= add_num(o, "mean", s->mean);
    bad |= add_num(o, "median", s->median);
    bad |= add_num(o, "sd", s->sd);
    bad |= add_num(o, "min", s->min);
    bad |= add_num(o, "max", s->max);
    bad |= add_num(o, "q1", s->q1);
    bad |= add_num(o, "q3", s->q3);
    bad |= add_num(o, "iqr", s->iqr);
    bad |= add_num(o, "mad", s->mad);
    bad |= add_num(o, "cv", s->cv);
    bad |= add_num(o, "ci95_low", s->ci95_low);
    bad |= add_num(o, "ci95_high", s->ci95_high);
    bad |= add_num(o, "median_ci95_low", s->median_ci95_low);
    bad |= add_num(o, "median_ci95_high", s->median_ci95_high);
    bad |= add_num(o, "outlier_fence_low", s->fence_low);
    bad |= add_num(o, "outlier_fence_high", s->fence_high);
    bad |= add_num(o, "n_outliers", (double)s->n_outliers);
    bad |= cJSON_AddBoolToObject(o, "constant", s->constant) ? 0 : -1;
    bad |= cJSON_AddBoolToObject(o, "high_cv", s->high_cv) ? 0 : -1;
    bad |= add_num(o, "shapiro_w", s->shapiro_w);
    bad |= add_num(o, "shapiro_p", s->shapiro_p);
    bad |= add_str(o, "shapiro_why", s->shapiro_why);
    bad |= add_num(o, "ad_stat", s->ad_stat);
    bad |= add_num(o, "ad_stat_adj", s->ad_stat_adj);
    bad |= add_num(o, "ad_p", s->ad_p);
    bad |= add_str(o, "ad_why", s->ad_why);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *mlb_comparison_to_json(const mlb_comparison *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *sa = mlb_summary_to_json(&c->a), *sb = mlb_summary_to_json(&c->b);
    if (!o || !sa || !sb) {
        cJSON_Delete(o);
        cJSON_Delete(sa);
        cJSON_Delete(sb);
        return NULL;
    }
    cJSON_AddItemToObject(o, "a", sa);
    cJSON_AddItemToObject(o, "b", sb);
    int bad = 0;
    bad |= add_num(o, "welch_t", c->welch_t);
    bad |= add_num(o, "welch_df", c->welch_df);
    bad |= add_num(o, "welch_p", c->welch_p);
    bad |= add_str(o, "welch_why", c->welch_why);
    bad |= add_num(o, "mwu_u", c->mwu_u);
    bad |= add_num(o, "mwu_p", c->mwu_p);
    bad |= add_str(o, "mwu_method", mlb_mwu_method_name(c->mwu_method));
    bad |= add_str(o, "mwu_why", c->mwu_why);
    bad |= add_num(o, "mwu_min_p", c->mwu_min_p);
    bad |= add_num(o, "family", (double)c->family);
    /* Whether the family can ever make this comparison significant, and the
     * repetitions per sample it would take. */
    bad |= !cJSON_AddBoolToObject(o, "few_reps", c->few_reps);
    bad |= add_num(o, "min_reps", c->few_reps ? (double)c->min_reps : NAN);
    bad |= add_num(o, "cohens_d", c->cohens_d);
    bad |= add_str(o, "cohens_why", c->cohens_why);
    bad |= add_num(o, "cliffs_delta", c->cliffs_delta);
    bad |= add_str(o, "cliffs_label", c->cliffs_label);
    bad |= add_num(o, "median_ratio", c->median_ratio);
    bad |= add_num(o, "median_ratio_ci95_low", c->ratio_ci95_low);
    bad |= add_num(o, "median_ratio_ci95_high", c->ratio_ci95_high);
    bad |= add_str(o, "median_ratio_why", c->ratio_why);
    bad |= add_str(o, "chosen_test", mlb_test_name(c->chosen));
    bad |= add_num(o, "chosen_p", c->chosen_p);
    bad |= add_num(o, "p_adjusted", c->p_adjusted);
    bad |= add_str(o, "adjust_method", c->adjust_method);
    bad |= cJSON_AddBoolToObject(o, "significant", c->significant) ? 0 : -1;
    bad |= add_str(o, "chosen_why", c->chosen_why);
    bad |= add_num(o, "median_ratio_ci90_low", c->ratio_ci90_low);
    bad |= add_num(o, "median_ratio_ci90_high", c->ratio_ci90_high);
    bad |= add_num(o, "median_diff", c->median_diff);
    bad |= add_num(o, "median_diff_ci90_low", c->diff_ci90_low);
    bad |= add_num(o, "median_diff_ci90_high", c->diff_ci90_high);
    bad |= add_num(o, "median_diff_ci95_low", c->diff_ci95_low);
    bad |= add_num(o, "median_diff_ci95_high", c->diff_ci95_high);
    if (c->has_margin) {
        /* low/high: the equivalence region on the quantity the CIs are of,
         * so that a reader can redo the decision from this object alone. */
        cJSON *mo = cJSON_AddObjectToObject(o, "margin");
        int time = c->lower_is_better == MLB_BETTER_LOWER_TIME;
        if (!mo)
            bad = -1;
        else {
            bad |= add_num(mo, "relative", c->margin.rel);
            bad |= add_num(mo, "absolute", time ? NAN : c->margin.abs);
            bad |= add_str(mo, "on", time ? "median_ratio" : "median_diff");
            bad |= add_num(mo, "low", c->margin_low);
            bad |= add_num(mo, "high", c->margin_high);
        }
    } else {
        bad |= cJSON_AddNullToObject(o, "margin") ? 0 : -1;
    }
    bad |= cJSON_AddBoolToObject(o, "equivalent", c->has_margin && c->equivalent) ? 0 : -1;
    bad |= add_str(o, "verdict_kind",
                   c->has_margin ? mlb_verdict_kind_name(c->verdict_kind) : NULL);
    bad |= add_str(o, "decided_by", c->has_margin ? c->decided_by : NULL);
    bad |= add_str(o, "inconclusive_why",
                   c->has_margin && c->verdict_kind == MLB_KIND_INCONCLUSIVE ? c->inconclusive_why
                                                                             : NULL);
    cJSON *warr = cJSON_AddArrayToObject(o, "warnings");
    if (!warr)
        bad = -1;
    char w[512];
    for (int k = 0; warr && k < N_WARNINGS; k++)
        if (warning_k(w, sizeof w, k, "a", "b", c)) {
            cJSON *s = cJSON_CreateString(w);
            if (!s || !cJSON_AddItemToArray(warr, s))
                bad = -1;
        }
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---------------------------------------------------------------- verdict */

/* Seconds with a unit and three significant digits: a verdict never shows
 * raw seconds. Local rather than mlb_fmt_time so that stats.c keeps linking
 * on its own into the unit tests. */
static void fmt_time(char *b, size_t len, double s)
{
    static const char *const unit[4] = {"ns", "µs", "ms", "s"};
    static const double scale[4] = {1e9, 1e6, 1e3, 1.0};
    if (s == 0.0) {
        snprintf(b, len, "0 s");
        return;
    }
    /* The unit is picked on the value as rounded, so that 999.7 µs reads
     * 1.00 ms and not 1000 µs. */
    int k = 0;
    while (k < 3 && fabs(s) * scale[k] >= 999.5)
        k++;
    double v = s * scale[k], av = fabs(v);
    const char *u = unit[k];
    snprintf(b, len, av < 10 ? "%.2f %s" : av < 100 ? "%.1f %s" : "%.0f %s", v, u);
}

/* Two metric values to 4 significant digits, or as many more as it takes
 * to tell them apart when they differ (a "higher r2" must not read
 * "0.4483 vs 0.4483"). */
static void fmt_pair(char *ba, char *bb, size_t len, double a, double b, int distinct)
{
    for (int d = 4; d <= 17; d++) {
        snprintf(ba, len, "%.*g", d, a);
        snprintf(bb, len, "%.*g", d, b);
        if (!distinct || a == b || strcmp(ba, bb) != 0)
            return;
    }
}

/* "1e-06 relative" or "1e-12 absolute": whichever bound sets a metric's
 * tolerance at these values. */
static void fmt_tolerance(char *b, size_t len, const mlb_comparison *c)
{
    double relpart = c->margin.rel * fmax(fabs(c->a.median), fabs(c->b.median));
    if (relpart >= c->margin.abs)
        snprintf(b, len, "%g relative", c->margin.rel);
    else
        snprintf(b, len, "%g absolute", c->margin.abs);
}

/* A speed-up factor: 2.44×, 24.4×, 244×. */
static void fmt_factor(char *b, size_t len, double f)
{
    snprintf(b, len, f < 10 ? "%.2f" : f < 100 ? "%.1f" : "%.0f", f);
}

int mlb_verdict(char *buf, size_t len, const char *name_a, const char *name_b, const char *what,
                int lower_is_better, const mlb_comparison *c0)
{
    if (!buf || len == 0 || !c0 || !name_a || !name_b || lower_is_better < MLB_BETTER_HIGHER ||
        lower_is_better > MLB_BETTER_LOWER)
        return -EINVAL;
    buf[0] = '\0';
    int is_time = lower_is_better == MLB_BETTER_LOWER_TIME;
    /* A margin set for this kind of quantity is used as set; otherwise the
     * default, on a copy, so that a caller that never set one still gets a
     * verdict built on a margin. */
    mlb_comparison local;
    const mlb_comparison *c = c0;
    if (!c0->has_margin || c0->lower_is_better != lower_is_better) {
        int same = c0->has_margin && (c0->lower_is_better == MLB_BETTER_LOWER_TIME) == is_time;
        local = *c0;
        if (mlb_comparison_set_margin(&local, lower_is_better,
                                      same ? c0->margin : mlb_margin_default(lower_is_better)) < 0)
            return -EINVAL;
        c = &local;
    }
    size_t pos = 0;
    int trunc = 0;
    int lower = lower_is_better != MLB_BETTER_HIGHER;
    const char *metric = what && *what ? what : "value";
    const char *in = is_time && what ? " in " : "", *wt = is_time && what ? what : "";
    mlb_verdict_kind k = c->verdict_kind;
    int by_value = c->decided_by && strcmp(c->decided_by, "value") == 0;
    int a_wins = k == MLB_KIND_BETTER;
    const char *win = a_wins ? name_a : name_b, *lose = a_wins ? name_b : name_a;
    double ma = c->a.median, mb = c->b.median;
    double mw = a_wins ? ma : mb, ml = a_wins ? mb : ma;
    char ta[48], tb[48], tw[48], tl[48], mtxt[32], x1[32], x2[32], x3[32];
    fmt_margin(mtxt, sizeof mtxt, c);

    /* The test's part of the parenthesis, with delta oriented so that a
     * positive value favours whoever is named first. */
    char tp[160] = "";
    if (c->chosen != MLB_TEST_NONE) {
        int adjusted = isfinite(c->p_adjusted);
        char ptxt[32];
        fmt_p(ptxt, sizeof ptxt, adjusted ? c->p_adjusted : c->chosen_p);
        double delta = c->cliffs_delta * (lower ? -1.0 : 1.0);
        if (k == MLB_KIND_WORSE)
            delta = -delta;
        snprintf(tp, sizeof tp, "%s %s%s; Cliff's δ = %.2f, %s",
                 c->chosen == MLB_TEST_WELCH ? "Welch" : "Mann-Whitney", ptxt,
                 adjusted ? ", adjusted" : "", delta, c->cliffs_label);
    }

    if (is_time) {
        fmt_time(ta, sizeof ta, ma);
        fmt_time(tb, sizeof tb, mb);
        fmt_time(tw, sizeof tw, mw);
        fmt_time(tl, sizeof tl, ml);
    } else {
        fmt_pair(ta, tb, sizeof ta, ma, mb, k != MLB_KIND_EQUIVALENT);
        snprintf(tw, sizeof tw, "%s", a_wins ? ta : tb);
        snprintf(tl, sizeof tl, "%s", a_wins ? tb : ta);
    }

    if (k == MLB_KIND_BETTER || k == MLB_KIND_WORSE) {
        if (is_time) {
            /* The factor is the loser's median over the winner's, with the
             * CI of the median ratio turned the same way. */
            int have = isfinite(c->median_ratio) && c->median_ratio > 0;
            double f = have ? (a_wins ? 1.0 / c->median_ratio : c->median_ratio) : NAN;
            app(buf, len, &pos, &trunc, "%s is ", win);
            if (isfinite(f)) {
                fmt_factor(x1, sizeof x1, f);
                app(buf, len, &pos, &trunc, "%s× ", x1);
            }
            app(buf, len, &pos, &trunc, "faster than %s%s%s (", lose, in, wt);
            if (by_value) {
                app(buf, len, &pos, &trunc, "%s vs %s, both constant: outside the %s margin)", tw,
                    tl, mtxt);
            } else {
                double lo = a_wins ? 1.0 / c->ratio_ci95_high : c->ratio_ci95_low;
                double hi = a_wins ? 1.0 / c->ratio_ci95_low : c->ratio_ci95_high;
                fmt_factor(x2, sizeof x2, lo);
                fmt_factor(x3, sizeof x3, hi);
                app(buf, len, &pos, &trunc, "median %s vs %s; 95%% CI %s–%s×; %s)", tw, tl, x2,
                    x3, tp);
            }
        } else {
            app(buf, len, &pos, &trunc, "%s has %s %s than %s (", win, lower ? "lower" : "higher",
                metric, lose);
            if (by_value) {
                fmt_tolerance(x1, sizeof x1, c);
                app(buf, len, &pos, &trunc, "%s vs %s, both constant: beyond %s)", tw, tl, x1);
            } else {
                double lo = a_wins ? c->diff_ci95_low : -c->diff_ci95_high;
                double hi = a_wins ? c->diff_ci95_high : -c->diff_ci95_low;
                app(buf, len, &pos, &trunc, "median %s vs %s; difference 95%% CI %.3g–%.3g; %s)",
                    tw, tl, lo, hi, tp);
            }
        }
    } else if (k == MLB_KIND_EQUIVALENT) {
        if (is_time)
            app(buf, len, &pos, &trunc, "%s and %s are equivalent%s%s (", name_a, name_b, in, wt);
        else
            app(buf, len, &pos, &trunc, "%s and %s are equivalent in %s (", name_a, name_b,
                metric);
        if (by_value && is_time) {
            app(buf, len, &pos, &trunc, "%s vs %s, both constant, within %s)", ta, tb, mtxt);
        } else if (by_value) {
            fmt_tolerance(x1, sizeof x1, c);
            app(buf, len, &pos, &trunc, "%s vs %s, within %s)", ta, tb, x1);
        } else if (is_time) {
            fmt_ratio(x1, sizeof x1, c->median_ratio);
            fmt_ratio(x2, sizeof x2, c->ratio_ci90_low);
            fmt_ratio(x3, sizeof x3, c->ratio_ci90_high);
            app(buf, len, &pos, &trunc, "median %s vs %s; ratio %s, 90%% CI %s–%s within %s)", ta,
                tb, x1, x2, x3, mtxt);
        } else {
            app(buf, len, &pos, &trunc, "median %s vs %s; difference 90%% CI %.3g–%.3g within %s)",
                ta, tb, c->diff_ci90_low, c->diff_ci90_high, mtxt);
        }
    } else {
        if (is_time)
            app(buf, len, &pos, &trunc, "inconclusive: %s vs %s%s%s: %s (median %s vs %s%s%s)",
                name_a, name_b, in, wt, c->inconclusive_why, ta, tb, tp[0] ? "; " : "", tp);
        else
            app(buf, len, &pos, &trunc, "inconclusive: %s vs %s in %s: %s (median %s vs %s%s%s)",
                name_a, name_b, metric, c->inconclusive_why, ta, tb, tp[0] ? "; " : "", tp);
    }

    /* Warnings: the repetition count only where it is news, i.e. not when
     * it is the reason already given, nor for constants, which need no
     * test. */
    int few_said = k == MLB_KIND_INCONCLUSIVE &&
                   strncmp(c->inconclusive_why, "too few repetitions", 19) == 0;
    const char *sep = ". Warning: ";
    char w[512];
    for (int kw = 0; kw < N_WARNINGS; kw++) {
        if (kw == 0 && (few_said || by_value))
            continue;
        if (warning_k(w, sizeof w, kw, name_a, name_b, c)) {
            app(buf, len, &pos, &trunc, "%s%s", sep, w);
            sep = "; ";
        }
    }
    return trunc ? -ENOSPC : 0;
}
