/* What the HTML report's files share (report_html.c, report_html_parts.c). */
#ifndef MLB_CORE_REPORT_HTML_H
#define MLB_CORE_REPORT_HTML_H

#include <cjson/cJSON.h>

#include "cells.h"
#include "textbuf.h"

/* Run i of g by its plots' colour and its name. */
void mlb_html_variant(mlb_sbuf *b, const mlb_doc_group *g, size_t i);
/* A group's heading text: its task, the parameters that matter and its
 * baseline ("gemm m=48 n=40 k=56, baseline naive"). */
void mlb_html_group_title(mlb_sbuf *b, const mlb_doc_group *g);
/* The page's opening answer: one row per group (summary.h) and the
 * recommendation per task. Nothing for a document without groups. */
void mlb_html_summary(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl);
/* Every pair's speed-up with its CI, coloured by the verdict's kind; nothing
 * for a group of one run. */
void mlb_html_speedup_matrix(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g);
/* GFLOP/s per variant against the machine's measured peak where the
 * environment has one (else alone, saying so); 1 drawn, 0 no FLOPs, -ENOMEM. */
int mlb_html_gflops(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g);

#endif
