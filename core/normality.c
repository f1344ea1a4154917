/* Normality tests of a sample: Shapiro-Wilk (Royston's algorithm, as R's
 * shapiro.test) and Anderson-Darling (as R's nortest::ad.test). */
#include "stats.h"
#include "stats_internal.h"
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
int mlb_shapiro_wilk(const double *sorted, size_t nz, double *w_out, double *p_out)
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
void mlb_anderson_darling(const double *x, size_t n, double mean, double sd, double *a2,
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

