/*
 * Quality metrics shared by every task, as scikit-learn 1.2 computes them
 * (see metrics.h; tests/test_metrics.c holds them to sklearn's values).
 */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-class counts ------------------------------------------------------ */

/* What precision, recall and F1 of one class need. */
typedef struct {
    size_t tp;    /* true c, predicted c */
    size_t pred;  /* predicted c */
    size_t truth; /* true c (the support) */
} class_counts;

/* Every score below reads its counts through this, so that the label
 * functions (counts gathered once, O(n)) and the confusion-matrix functions
 * (which must not allocate: O(k) per class instead) share one definition
 * of each metric. Exactly one of cm and counts is set. */
typedef struct {
    const size_t *cm;           /* k x k, row-major, row = true */
    const class_counts *counts; /* k */
    int k;
} source;

static class_counts counts_of(const source *s, int c)
{
    if (s->counts)
        return s->counts[c];
    size_t k = (size_t)s->k, cc = (size_t)c;
    class_counts r = {s->cm[cc * k + cc], 0, 0};
    for (size_t o = 0; o < k; o++) {
        r.pred += s->cm[o * k + cc];
        r.truth += s->cm[cc * k + o];
    }
    return r;
}

static int label_ok(int y, int k)
{
    return y >= 0 && y < k;
}

/* Per-class counts of n label pairs (k of them, caller frees), or NULL when
 * the input is empty or invalid or memory runs out. */
static class_counts *count_labels(const int *y_true, const int *y_pred, size_t n, int k)
{
    if (!y_true || !y_pred || n == 0 || k < 1)
        return NULL;
    class_counts *c = calloc((size_t)k, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int t = y_true[i], p = y_pred[i];
        if (!label_ok(t, k) || !label_ok(p, k)) {
            free(c);
            return NULL;
        }
        c[t].truth++;
        c[p].pred++;
        c[t].tp += t == p;
    }
    return c;
}

static int cm_ok(const size_t *cm, int k)
{
    return cm && k >= 1;
}

/* ---- the scores, over a source ------------------------------------------ */

typedef enum { ACCURACY, BALANCED_ACCURACY, PRECISION, RECALL, F1 } score_kind;

/* One class's precision, recall or F1; 0 where the ratio is 0/0
 * (zero_division="warn"). */
static double class_score(class_counts c, score_kind kind)
{
    switch (kind) {
    case PRECISION: return c.pred ? (double)c.tp / (double)c.pred : 0.0;
    case RECALL: return c.truth ? (double)c.tp / (double)c.truth : 0.0;
    case F1:
        /* 2PR/(P+R) with the denominators multiplied out: 2tp + fp + fn is
         * pred + truth. Exact in the counts, and 0 when tp is 0 as
         * scikit-learn's 0-for-0/0 precision and recall make it. */
        return c.pred + c.truth ? 2.0 * (double)c.tp / (double)(c.pred + c.truth) : 0.0;
    default: return NAN;
    }
}

static double prf_average(const source *s, score_kind kind, metrics_average avg)
{
    double sum = 0;
    size_t present = 0, support = 0;
    for (int c = 0; c < s->k; c++) {
        class_counts cc = counts_of(s, c);
        if (cc.pred + cc.truth == 0) /* not a label of y_true or y_pred */
            continue;
        double v = class_score(cc, kind);
        if (avg == METRICS_WEIGHTED) {
            sum += (double)cc.truth * v;
            support += cc.truth;
        } else {
            sum += v;
            present++;
        }
    }
    if (avg == METRICS_WEIGHTED)
        return support ? sum / (double)support : NAN;
    return present ? sum / (double)present : NAN;
}

static double accuracy_of(const source *s)
{
    size_t correct = 0, total = 0;
    for (int c = 0; c < s->k; c++) {
        class_counts cc = counts_of(s, c);
        correct += cc.tp;
        total += cc.truth;
    }
    return total ? (double)correct / (double)total : NAN;
}

/* Classes only predicted have no recall to average: scikit-learn drops
 * them (with a warning), so the mean is over the true classes. */
static double balanced_accuracy_of(const source *s)
{
    double sum = 0;
    size_t present = 0;
    for (int c = 0; c < s->k; c++) {
        class_counts cc = counts_of(s, c);
        if (cc.truth) {
            sum += (double)cc.tp / (double)cc.truth;
            present++;
        }
    }
    return present ? sum / (double)present : NAN;
}

static double score(const source *s, score_kind kind, metrics_average avg)
{
    switch (kind) {
    case ACCURACY: return accuracy_of(s);
    case BALANCED_ACCURACY: return balanced_accuracy_of(s);
    default: return prf_average(s, kind, avg);
    }
}

/* Counts once, in O(n), then scores like the _cm functions. */
static double score_labels(const int *y_true, const int *y_pred, size_t n, int k,
                           score_kind kind, metrics_average avg)
{
    class_counts *counts = count_labels(y_true, y_pred, n, k);
    if (!counts)
        return NAN;
    const source s = {NULL, counts, k};
    double v = score(&s, kind, avg);
    free(counts);
    return v;
}

static double score_cm(const size_t *cm, int k, score_kind kind, metrics_average avg)
{
    if (!cm_ok(cm, k))
        return NAN;
    const source s = {cm, NULL, k};
    return score(&s, kind, avg);
}

/* ---- from labels ---------------------------------------------------------- */

double metrics_accuracy(const int *y_true, const int *y_pred, size_t n, int n_classes)
{
    if (!y_true || !y_pred || n == 0 || n_classes < 1)
        return NAN;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        if (!label_ok(y_true[i], n_classes) || !label_ok(y_pred[i], n_classes))
            return NAN;
        correct += y_true[i] == y_pred[i];
    }
    return (double)correct / (double)n;
}

double metrics_balanced_accuracy(const int *y_true, const int *y_pred, size_t n, int n_classes)
{
    return score_labels(y_true, y_pred, n, n_classes, BALANCED_ACCURACY, METRICS_MACRO);
}

double metrics_precision(const int *y_true, const int *y_pred, size_t n, int n_classes,
                         metrics_average avg)
{
    return score_labels(y_true, y_pred, n, n_classes, PRECISION, avg);
}

double metrics_recall(const int *y_true, const int *y_pred, size_t n, int n_classes,
                      metrics_average avg)
{
    return score_labels(y_true, y_pred, n, n_classes, RECALL, avg);
}

double metrics_f1(const int *y_true, const int *y_pred, size_t n, int n_classes,
                  metrics_average avg)
{
    return score_labels(y_true, y_pred, n, n_classes, F1, avg);
}

int metrics_confusion_add(const int *y_true, const int *y_pred, size_t n, int n_classes,
                          size_t *cm)
{
    if (!cm || n_classes < 1 || (n && (!y_true || !y_pred)))
        return -EINVAL;
    /* Check first, so that a bad batch leaves the counts of the earlier
     * ones intact. */
    for (size_t i = 0; i < n; i++)
        if (!label_ok(y_true[i], n_classes) || !label_ok(y_pred[i], n_classes))
            return -EINVAL;
    size_t k = (size_t)n_classes;
    for (size_t i = 0; i < n; i++)
        cm[(size_t)y_true[i] * k + (size_t)y_pred[i]]++;
    return 0;
}

int metrics_confusion_matrix(const int *y_true, const int *y_pred, size_t n, int n_classes,
                             size_t *cm)
{
    if (!cm || n_classes < 1)
        return -EINVAL;
    memset(cm, 0, (size_t)n_classes * (size_t)n_classes * sizeof *cm);
    return metrics_confusion_add(y_true, y_pred, n, n_classes, cm);
}

/* ---- from a confusion matrix --------------------------------------------- */

double metrics_accuracy_cm(const size_t *cm, int n_classes)
{
    return score_cm(cm, n_classes, ACCURACY, METRICS_MACRO);
}

double metrics_balanced_accuracy_cm(const size_t *cm, int n_classes)
{
    return score_cm(cm, n_classes, BALANCED_ACCURACY, METRICS_MACRO);
}

double metrics_precision_cm(const size_t *cm, int n_classes, metrics_average avg)
{
    return score_cm(cm, n_classes, PRECISION, avg);
}

double metrics_recall_cm(const size_t *cm, int n_classes, metrics_average avg)
{
    return score_cm(cm, n_classes, RECALL, avg);
}

double metrics_f1_cm(const size_t *cm, int n_classes, metrics_average avg)
{
    return score_cm(cm, n_classes, F1, avg);
}

/* ---- probabilistic classification ---------------------------------------- */

/* np.clip's order (max first, then min), written with comparisons so that
 * a NaN probability stays NaN and poisons the loss instead of vanishing. */
static double clip_proba(double p)
{
    const double eps = METRICS_LOG_LOSS_EPS;
    if (p < eps)
        return eps;
    if (p > 1.0 - eps)
        return 1.0 - eps;
    return p;
}

double metrics_log_loss(const int *y_true, const double *proba, size_t n, int n_classes)
{
    if (!y_true || !proba || n == 0 || n_classes < 2)
        return NAN;
    size_t k = (size_t)n_classes;
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        const double *row = proba + i * k; /* k */
        if (!label_ok(y_true[i], n_classes))
            return NAN;
        double sum = 0;
        for (size_t j = 0; j < k; j++)
            sum += clip_proba(row[j]);
        /* Divide, then log, in scikit-learn's order. */
        loss -= log(clip_proba(row[y_true[i]]) / sum);
    }
    return loss / (double)n;
}

typedef struct {
    double score;
    int positive;
} scored;

/* Descending by score; ties in any order, as they are scored together. */
static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

double metrics_roc_auc(const int *y_true, const double *score, size_t n)
{
    if (!y_true || !score || n == 0)
        return NAN;
    size_t n_pos = 0;
    for (size_t i = 0; i < n; i++) {
        if ((y_true[i] != 0 && y_true[i] != 1) || isnan(score[i]))
            return NAN;
        n_pos += (size_t)y_true[i];
    }
    if (n_pos == 0 || n_pos == n)
        return NAN;
    scored *v = malloc(n * sizeof *v); /* n */
    if (!v)
        return NAN;
    for (size_t i = 0; i < n; i++)
        v[i] = (scored){score[i], y_true[i]};
    qsort(v, n, sizeof *v, by_score_desc);
    /* The ROC curve has one point per distinct score; a group of tied
     * scores moves along a diagonal, so a tied positive-negative pair
     * counts one half. Summing the trapezoids in counts (twice their area,
     * integers held exactly in a double up to 2^53) and dividing once at
     * the end rounds once, where sklearn's trapz over fpr and tpr rounds
     * at every point; the two agree to a few ulps. */
    double tp = 0, fp = 0, tp_prev = 0, fp_prev = 0, area2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].positive)
            tp += 1;
        else
            fp += 1;
        if (i + 1 == n || v[i + 1].score != v[i].score) {
            area2 += (fp - fp_prev) * (tp + tp_prev);
            tp_prev = tp;
            fp_prev = fp;
        }
    }
    free(v);
    return area2 / (2.0 * (double)n_pos * (double)(n - n_pos));
}

/* ---- regression ----------------------------------------------------------- */

double metrics_r2(const double *y_true, const double *y_pred, size_t n)
{
    if (!y_true || !y_pred || n == 0)
        return NAN;
    double mean = 0, ss_res = 0, ss_tot = 0;
    for (size_t i = 0; i < n; i++)
        mean += y_true[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double r = y_true[i] - y_pred[i];
        ss_res += r * r;
        ss_tot += (y_true[i] - mean) * (y_true[i] - mean);
    }
    /* A constant target has no variance to explain: scikit-learn scores a
     * perfect prediction 1 and anything else 0 rather than -inf or NaN. */
    if (ss_tot != 0)
        return 1.0 - ss_res / ss_tot;
    return ss_res == 0 ? 1.0 : 0.0;
}

double metrics_rmse(const double *y_true, const double *y_pred, size_t n)
{
    if (!y_true || !y_pred || n == 0)
        return NAN;
    double ss_res = 0;
    for (size_t i = 0; i < n; i++) {
        double r = y_true[i] - y_pred[i];
        ss_res += r * r;
    }
    return sqrt(ss_res / (double)n);
}

double metrics_mae(const double *y_true, const double *y_pred, size_t n)
{
    if (!y_true || !y_pred || n == 0)
        return NAN;
    double abs_err = 0;
    for (size_t i = 0; i < n; i++)
        abs_err += fabs(y_true[i] - y_pred[i]);
    return abs_err / (double)n;
}

/* ---- reporting -------------------------------------------------------------- */

/* The names are the cnn task's ("accuracy", "macro_f1"), which its results,
 * tests and PyTorch peer already use; the new ones follow their pattern. */
static void report_source(mlb_ctx *ctx, const source *s)
{
    mlb_report_metric(ctx, "accuracy", accuracy_of(s), MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "balanced_accuracy", balanced_accuracy_of(s), MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "macro_f1", prf_average(s, F1, METRICS_MACRO), MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "macro_precision", prf_average(s, PRECISION, METRICS_MACRO),
                      MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "macro_recall", prf_average(s, RECALL, METRICS_MACRO),
                      MLB_HIGHER_IS_BETTER);
}

int metrics_report_classification(mlb_ctx *ctx, const int *y_true, const int *y_pred, size_t n,
                                  int n_classes)
{
    if (!y_true || !y_pred || n == 0 || n_classes < 1)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!label_ok(y_true[i], n_classes) || !label_ok(y_pred[i], n_classes))
            return -EINVAL;
    class_counts *counts = count_labels(y_true, y_pred, n, n_classes);
    if (!counts)
        return -ENOMEM;
    const source s = {NULL, counts, n_classes};
    report_source(ctx, &s);
    free(counts);
    return 0;
}

void metrics_report_confusion(mlb_ctx *ctx, const size_t *cm, int n_classes)
{
    if (!cm_ok(cm, n_classes))
        return;
    const source s = {cm, NULL, n_classes};
    report_source(ctx, &s);
}

void metrics_report_regression(mlb_ctx *ctx, const double *y_true, const double *y_pred,
                               size_t n)
{
    mlb_report_metric(ctx, "r2", metrics_r2(y_true, y_pred, n), MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "rmse", metrics_rmse(y_true, y_pred, n), MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "mae", metrics_mae(y_true, y_pred, n), MLB_LOWER_IS_BETTER);
}
