/* Seeded synthetic datasets for scaling studies.
 *
 * Every value comes from one MT19937 stream (GSL) in a fixed order: first
 * the model (coefficients or class centres), then the rows one after
 * another. Gaussians use GSL's ziggurat, whose common path is table lookups
 * and multiplications, so the output is the same on every IEEE-754 machine
 * for the same parameters. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "data_internal.h"

static const char *kind_name(mlb_synth_kind k)
{
    switch (k) {
    case MLB_SYNTH_REGRESSION: return "synthetic-regression";
    case MLB_SYNTH_CLASSIFICATION: return "synthetic-classification";
    case MLB_SYNTH_BLOBS: return "synthetic-blobs";
    }
    return "synthetic";
}

int mlb_data_synth(const mlb_synth_opts *o, mlb_dataset **out, char *err, size_t err_len)
{
    *out = NULL;
    const char *name = kind_name(o->kind);
    if (o->kind != MLB_SYNTH_REGRESSION && o->kind != MLB_SYNTH_CLASSIFICATION &&
        o->kind != MLB_SYNTH_BLOBS)
        return mlb_data_fail(err, err_len, -EINVAL, "synthetic: unknown kind %d", (int)o->kind);
    if (o->n_samples < 1 || o->n_features < 1)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: n_samples=%zu, n_features=%zu: both must be at least 1", name,
                             o->n_samples, o->n_features);
    int rc = mlb_data_check_shape(name, o->n_samples, o->n_features, err, err_len);
    if (rc < 0)
        return rc;
    if (!isfinite(o->noise) || o->noise < 0)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: noise=%g must be finite and >= 0", name,
                             o->noise);
    int k = o->n_classes;
    if (o->kind != MLB_SYNTH_REGRESSION) {
        if (k == 0)
            k = o->kind == MLB_SYNTH_BLOBS ? 3 : 2;
        if (k < 2 || (size_t)k > o->n_samples || k > 65536)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s: n_classes=%d: must be from 2 to min(n_samples, 65536)", name,
                                 k);
    }
    size_t n = o->n_samples, d = o->n_features;
    size_t informative = o->n_informative > 0 ? (size_t)o->n_informative : d;
    if (o->kind == MLB_SYNTH_REGRESSION && informative > d)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: n_informative=%d > n_features=%zu",
                             name, o->n_informative, d);

    mlb_dataset *ds = mlb_data_new(name);
    gsl_rng *rng = mlb_data_rng(o->seed, (uint64_t)o->kind + 1);
    size_t model_len = o->kind == MLB_SYNTH_REGRESSION ? d : (size_t)k * d;
    double *model = malloc(model_len * sizeof *model);
    if (!ds || !rng || !model || mlb_data_alloc(ds, n, d, MLB_DTYPE_F64) < 0) {
        mlb_dataset_free(ds);
        gsl_rng_free(rng);
        free(model);
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: cannot allocate %zu x %zu", name, n, d);
    }
    double spread = o->noise > 0 ? o->noise : 1.0; /* cluster std for the classifiers */

    if (o->kind == MLB_SYNTH_REGRESSION) {
        /* As scikit-learn's make_regression: informative coefficients
         * uniform in [0, 100), the others zero. */
        for (size_t j = 0; j < d; j++)
            model[j] = j < informative ? 100.0 * gsl_rng_uniform(rng) : 0.0;
        for (size_t i = 0; i < n; i++) {
            double *x = ds->X + i * d, t = 0;
            for (size_t j = 0; j < d; j++) {
                x[j] = gsl_ran_gaussian_ziggurat(rng, 1.0);
                t += x[j] * model[j];
            }
            ds->y[i] = o->noise > 0 ? t + gsl_ran_gaussian_ziggurat(rng, o->noise) : t;
        }
        if (o->coef_out)
            memcpy(o->coef_out, model, d * sizeof *model);
    } else {
        /* Centres: Gaussian with std 2 per feature (classification, which
         * gives overlapping classes), or uniform in [-10, 10] (blobs, as
         * make_blobs' center_box). Labels cycle 0..k-1 so the classes are
         * balanced to within one row. */
        for (size_t c = 0; c < model_len; c++)
            model[c] = o->kind == MLB_SYNTH_BLOBS ? gsl_ran_flat(rng, -10.0, 10.0)
                                                  : gsl_ran_gaussian_ziggurat(rng, 2.0);
        for (size_t i = 0; i < n; i++) {
            size_t c = i % (size_t)k;
            double *x = ds->X + i * d;
            for (size_t j = 0; j < d; j++)
                x[j] = model[c * d + j] + gsl_ran_gaussian_ziggurat(rng, spread);
            ds->y[i] = (double)c;
        }
        ds->n_classes = k;
    }
    gsl_rng_free(rng);
    free(model);
    *out = ds;
    return 0;
}
