/*
 * bert: a BERT encoder (plugins/nn/bert.[ch]) trained from scratch and run
 * for two heads: sequence classification (head=classify: ham or spam
 * e-mail, or the user's labelled text) and extractive question answering
 * (head=qa: a seeded synthetic reading-comprehension set, or the user's
 * SQuAD v1.1 JSON).
 *
 * Every variant is the shared task (bert.c: data, examples, the training
 * loop, evaluation, inference, the files for the pytorch peer) plus one
 * file naming the NN core's kernel table, as in plugins/gpt2.
 *
 * Phases: setup reads and tokenises the data once (WordPiece, wordpiece.h),
 * splits it (seeded, stratified for classify) and builds the model; train
 * runs `epochs` epochs of AdamW with BERT's warm-up and linear decay, a
 * test evaluation after each (the learning curve), and reports the last
 * evaluation's metrics; infer answers one query of `infer_batch` test
 * sequences (one forward pass); infer_n batches queries for the offline
 * scenario. The contract with the peer: /work/notes/bert-spec.md, in
 * docs/bert.md.
 */
#ifndef MLB_BERT_H
#define MLB_BERT_H

#include <stdint.h>

#include "mlbench/variant.h"
/* The NN core's encoder has the same file name as this header: reached by
 * its path, so that neither include shadows the other. */
#include "../nn/bert.h"

#define BERT_MAX_BATCH 65536
#define BERT_MAX_LEN 65536

static const mlb_param_def bert_params[] = {
    {"head", MLB_PARAM_STRING, "classify", "classify (sequence classification) or qa (spans)"},
    {"dataset", MLB_PARAM_STRING, "",
     "\"\" (spam for classify, synthetic for qa), spam (SpamAssassin ham/spam e-mail), "
     "synthetic (qa), or a file: .tsv/.csv(.gz) of text,label (classify) or SQuAD v1.1 .json "
     "(qa)"},
    {"vocab", MLB_PARAM_STRING, "", "\"\" (BERT's uncased vocabulary) or a vocab.txt path"},
    {"n_layer", MLB_PARAM_INT, "2", "encoder layers (ignored with checkpoint)"},
    {"n_head", MLB_PARAM_INT, "2", "attention heads, dividing hidden (ignored with checkpoint)"},
    {"hidden", MLB_PARAM_INT, "128", "hidden size H (ignored with checkpoint)"},
    {"ffn", MLB_PARAM_INT, "0", "feed-forward size (0: 4*hidden; ignored with checkpoint)"},
    {"max_len", MLB_PARAM_INT, "128", "tokens per example T (and rows of the position table)"},
    {"epochs", MLB_PARAM_INT, "2", "passes over the training split (0: forward only)"},
    {"batch_size", MLB_PARAM_INT, "32", "training sequences per step"},
    {"lr", MLB_PARAM_FLOAT, "5e-4", "peak learning rate"},
    {"warmup", MLB_PARAM_FLOAT, "0.1",
     "fraction of the steps warmed up linearly, then linear decay to 0"},
    {"weight_decay", MLB_PARAM_FLOAT, "0.01", "AdamW's decoupled decay of matrices and embeddings"},
    {"grad_clip", MLB_PARAM_FLOAT, "1.0", "clip the gradients' global norm to this (0: no)"},
    {"test_fraction", MLB_PARAM_FLOAT, "0.2", "held-out share (seeded; stratified for classify)"},
    {"max_examples", MLB_PARAM_INT, "0",
     "use at most this many examples (seeded, stratified for classify; 0: all)"},
    {"qa_examples", MLB_PARAM_INT, "2000", "size of the synthetic qa set"},
    {"qa_entities", MLB_PARAM_INT, "3", "people per synthetic context (1..8)"},
    {"infer_batch", MLB_PARAM_INT, "1", "sequences per inference query"},
    {"threads", MLB_PARAM_INT, "1", "threads for the kernels (openblas; naive is serial)"},
    {"checkpoint", MLB_PARAM_STRING, "", "start from this nn_bert weights file"},
    {"checkpoint_out", MLB_PARAM_STRING, "", "write the model here at teardown"},
};

/* Enforced by the engine; bert.c checks what a rule cannot say (n_head
 * dividing hidden, max_len against the head, the files). */
static const mlb_param_rule bert_rules[] = {
    MLB_RULE_CHOICES("head", "classify", "qa"),
    MLB_RULE_RANGE("n_layer", 1, 96),
    MLB_RULE_RANGE("n_head", 1, 1024),
    MLB_RULE_RANGE("hidden", 1, 16384),
    MLB_RULE_RANGE_AUTO("ffn", 1, 65536),
    MLB_RULE_RANGE("max_len", 2, BERT_MAX_LEN),
    MLB_RULE_RANGE("epochs", 0, 100000),
    MLB_RULE_RANGE("batch_size", 1, BERT_MAX_BATCH),
    MLB_RULE_MIN_EXCL("lr", 0),
    MLB_RULE_RANGE("warmup", 0, 1),
    MLB_RULE_MIN("weight_decay", 0),
    MLB_RULE_MIN("grad_clip", 0),
    MLB_RULE_OPEN("test_fraction", 0, 1),
    MLB_RULE_RANGE_AUTO("max_examples", 2, 100000000),
    MLB_RULE_RANGE("qa_examples", 2, 10000000),
    MLB_RULE_RANGE("qa_entities", 1, 8),
    MLB_RULE_RANGE("infer_batch", 1, BERT_MAX_BATCH),
    MLB_RULE_RANGE("threads", 1, 1024),
};

int bert_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels);
int bert_train(mlb_ctx *ctx, void *state);
int bert_infer(mlb_ctx *ctx, void *state);
/* n queries of infer_batch sequences (the offline scenario), in forward
 * passes of up to max(infer_batch, batch_size). */
int bert_infer_n(mlb_ctx *ctx, void *state, int n);
int bert_teardown(mlb_ctx *ctx, void *state);
int bert_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
