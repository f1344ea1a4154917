/* Extractive question answering scored as SQuAD v1.1's evaluation script
 * scores it: both answers normalised (lower-cased, ASCII punctuation
 * removed, the articles a, an, the removed, whitespace collapsed), then
 * exact match (1 or 0) and the F1 of their bags of tokens, each the best
 * over the ground truths. Lower-casing is ASCII's: the official script's is
 * Python's, which differs only on text outside ASCII. */
#ifndef MLB_PLUGINS_SQUAD_METRICS_H
#define MLB_PLUGINS_SQUAD_METRICS_H

#include <stddef.h>

/* NaN when n_truths is 0 or memory runs out. */
double squad_exact_match(const char *pred, const char *const *truths, size_t n_truths);
double squad_f1(const char *pred, const char *const *truths, size_t n_truths);

#endif
