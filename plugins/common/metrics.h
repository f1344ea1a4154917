/*
 * Quality metrics shared by every task, defined as scikit-learn 1.2 defines
 * them (tests/test_metrics.c checks each against sklearn.metrics to 1e-12),
 * so that a native variant and a scikit-learn or PyTorch peer report
 * numbers that can be compared.
 *
 * Classification takes integer labels in [0, n_classes). Precision, recall
 * and F1 use scikit-learn's zero_division="warn" (scored as 0): a class that
 * is never predicted has precision 0, one that never occurs has recall 0.
 * Macro averages run over the classes present in y_true or y_pred, as
 * scikit-learn's labels=None does: a class absent from both is not a class
 * of the problem and does not drag the mean down.
 *
 * Functions returning a double return NaN when the metric is undefined or
 * the input invalid (n == 0, a label out of range, allocation failure);
 * functions filling an array return 0 or a negative errno. None keeps
 * state. The *_cm variants score a confusion matrix the caller owns and
 * allocate nothing, for use inside a timed phase.
 */
#ifndef MLB_PLUGINS_METRICS_H
#define MLB_PLUGINS_METRICS_H

#include <stddef.h>

#include <mlbench/plugin.h>

typedef enum {
    METRICS_MACRO,    /* unweighted mean over the classes present in y_true or y_pred */
    METRICS_WEIGHTED, /* mean weighted by support (each class's count in y_true) */
} metrics_average;

/* Clipping bound of metrics_log_loss (scikit-learn 1.2 with eps=1e-15). */
#define METRICS_LOG_LOSS_EPS 1e-15

/* ---- classification from labels (y_true, y_pred: n labels each) ---------- */

double metrics_accuracy(const int *y_true, const int *y_pred, size_t n, int n_classes);
/* Mean recall over the classes present in y_true (balanced_accuracy_score). */
double metrics_balanced_accuracy(const int *y_true, const int *y_pred, size_t n, int n_classes);
double metrics_precision(const int *y_true, const int *y_pred, size_t n, int n_classes,
                         metrics_average avg);
double metrics_recall(const int *y_true, const int *y_pred, size_t n, int n_classes,
                      metrics_average avg);
double metrics_f1(const int *y_true, const int *y_pred, size_t n, int n_classes,
                  metrics_average avg);

/* cm (n_classes x n_classes, row-major; row = true class, column = predicted)
 * = the counts of (y_true[i], y_pred[i]). Returns 0, or -EINVAL for a label
 * outside [0, n_classes). */
int metrics_confusion_matrix(const int *y_true, const int *y_pred, size_t n, int n_classes,
                             size_t *cm);
/* The same without clearing cm first, to count a data set batch by batch;
 * on -EINVAL cm is left as it was. */
int metrics_confusion_add(const int *y_true, const int *y_pred, size_t n, int n_classes,
                          size_t *cm);

/* ---- classification from a confusion matrix (n_classes x n_classes) ------ */

double metrics_accuracy_cm(const size_t *cm, int n_classes);
double metrics_balanced_accuracy_cm(const size_t *cm, int n_classes);
double metrics_precision_cm(const size_t *cm, int n_classes, metrics_average avg);
double metrics_recall_cm(const size_t *cm, int n_classes, metrics_average avg);
double metrics_f1_cm(const size_t *cm, int n_classes, metrics_average avg);

/* ---- probabilistic classification ---------------------------------------- */

/* Mean cross-entropy of proba (n x n_classes, row-major; column c is class c)
 * against y_true, after clipping every entry to [eps, 1 - eps] and dividing
 * each row by its sum, as log_loss(..., eps=1e-15, labels=range(n_classes))
 * does. NaN when n_classes < 2. */
double metrics_log_loss(const int *y_true, const double *proba, size_t n, int n_classes);

/* Area under the ROC curve of a binary problem (y_true 0 or 1; class 1 is
 * positive) from scores where higher means more likely positive: the
 * trapezoid over the distinct thresholds, so that a tie between a positive
 * and a negative counts one half, as roc_auc_score. NaN when only one class
 * is present, a label is not 0 or 1, a score is NaN, or allocation fails. */
double metrics_roc_auc(const int *y_true, const double *score, size_t n);

/* ---- regression (y_true, y_pred: n values each) --------------------------- */

/* 1 - SS_res / SS_tot; for a constant y_true 1.0 when the prediction is
 * perfect, else 0.0 (r2_score's force_finite). */
double metrics_r2(const double *y_true, const double *y_pred, size_t n);
double metrics_rmse(const double *y_true, const double *y_pred, size_t n);
double metrics_mae(const double *y_true, const double *y_pred, size_t n);

/* ---- reporting through the engine ---------------------------------------- */

/* Reports accuracy, balanced_accuracy, macro_f1, macro_precision and
 * macro_recall (all MLB_HIGHER_IS_BETTER). Allocates; returns 0, -EINVAL
 * for a label out of range or n == 0, or -ENOMEM (nothing reported). */
int metrics_report_classification(mlb_ctx *ctx, const int *y_true, const int *y_pred, size_t n,
                                  int n_classes);
/* The same set from a confusion matrix (n_classes x n_classes), allocating
 * nothing. */
void metrics_report_confusion(mlb_ctx *ctx, const size_t *cm, int n_classes);
/* Reports r2 (MLB_HIGHER_IS_BETTER), rmse and mae (MLB_LOWER_IS_BETTER). */
void metrics_report_regression(mlb_ctx *ctx, const double *y_true, const double *y_pred,
                               size_t n);

#endif
