/*
 * gpt2: a GPT-2 language model that trains, evaluates and generates on the
 * NN core's transformer (plugins/nn/transformer.[ch]), reading and writing
 * llm.c's checkpoints and token shards.
 *
 * Every variant is the shared task (gpt2.c: data, the three modes, metrics)
 * plus one file naming the NN core's kernel table, as in plugins/cnn.
 *
 * Phases: setup loads the data and the model; train runs the mode (train:
 * `steps` AdamW steps then the validation loss; eval: the validation loss;
 * generate: max_new_tokens from the prompt, timed per token); infer answers
 * one next-token query (generate: one decoding step, with the KV cache or
 * recomputing the context; otherwise one forward pass over seq_len tokens).
 */
#ifndef MLB_GPT2_H
#define MLB_GPT2_H

#include <stdint.h>

#include "mlbench/variant.h"
#include "transformer.h"

static const mlb_param_def gpt2_params[] = {
    {"mode", MLB_PARAM_STRING, "train", "train, eval or generate"},
    {"dataset", MLB_PARAM_STRING, "moby-dick",
     "moby-dick (the bundled text, split 90/10), a text file (split 90/10), or an llm.c token "
     "shard (.bin: all of it is validation data for eval, split 90/10 for train)"},
    {"vocab", MLB_PARAM_STRING, "byte",
     "byte (256 ids, one per byte) or gpt2 (GPT-2's 50257 ids: .bin shards or a gpt2 "
     "checkpoint)"},
    {"n_layer", MLB_PARAM_INT, "2", "transformer blocks (ignored with checkpoint)"},
    {"n_head", MLB_PARAM_INT, "2", "attention heads (ignored with checkpoint)"},
    {"n_embd", MLB_PARAM_INT, "64", "channels (ignored with checkpoint)"},
    {"block_size", MLB_PARAM_INT, "64", "longest context, rows of wpe (ignored with checkpoint)"},
    {"batch_size", MLB_PARAM_INT, "4", "sequences per batch (B)"},
    {"seq_len", MLB_PARAM_INT, "32", "tokens per sequence (T <= block_size)"},
    {"steps", MLB_PARAM_INT, "20", "AdamW steps (train)"},
    {"lr", MLB_PARAM_FLOAT, "0.001", "peak learning rate"},
    {"lr_schedule", MLB_PARAM_STRING, "cosine",
     "cosine (to lr/10 at the last step) or constant, after warmup"},
    {"warmup_steps", MLB_PARAM_INT, "0", "linear warmup steps"},
    {"weight_decay", MLB_PARAM_FLOAT, "0.1", "AdamW's decoupled decay of the 2-D weights"},
    {"grad_clip", MLB_PARAM_FLOAT, "1.0", "clip the gradients' global norm to this (0: no)"},
    {"eval_batches", MLB_PARAM_INT, "0",
     "validation batches of batch_size x seq_len (0: all the validation data)"},
    {"checkpoint", MLB_PARAM_STRING, "", "start from this llm.c checkpoint (gpt2_124M.bin "
                                         "layout) instead of a seeded init"},
    {"checkpoint_out", MLB_PARAM_STRING, "", "write the model here at teardown (llm.c layout)"},
    {"prompt", MLB_PARAM_STRING, "Call me Ishmael.", "generate: the text to continue"},
    {"max_new_tokens", MLB_PARAM_INT, "32", "generate: tokens to produce"},
    {"kv_cache", MLB_PARAM_BOOL, "true",
     "generate: reuse keys and values (false: recompute the whole context per token)"},
    {"temperature", MLB_PARAM_FLOAT, "0", "generate: 0 greedy, else sample softmax(logits/t)"},
    {"top_k", MLB_PARAM_INT, "0", "generate: sample among the k likeliest (0: all)"},
    {"threads", MLB_PARAM_INT, "1", "threads for the kernels (openblas, onednn; naive is serial)"},
};

static const mlb_param_rule gpt2_rules[] = {
    MLB_RULE_CHOICES("mode", "train", "eval", "generate"),
    MLB_RULE_CHOICES("vocab", "byte", "gpt2"),
    MLB_RULE_RANGE("n_layer", 1, 96),
    MLB_RULE_RANGE("n_head", 1, 128),
    MLB_RULE_RANGE("n_embd", 1, 16384),
    MLB_RULE_RANGE("block_size", 1, 65536),
    MLB_RULE_RANGE("batch_size", 1, 4096),
    MLB_RULE_RANGE("seq_len", 1, 65536),
    MLB_RULE_RANGE("steps", 0, 10000000),
    MLB_RULE_MIN_EXCL("lr", 0),
    MLB_RULE_CHOICES("lr_schedule", "cosine", "constant"),
    MLB_RULE_RANGE("warmup_steps", 0, 10000000),
    MLB_RULE_MIN("weight_decay", 0),
    MLB_RULE_MIN("grad_clip", 0),
    MLB_RULE_RANGE("eval_batches", 0, 100000000),
    MLB_RULE_RANGE("max_new_tokens", 1, 65536),
    MLB_RULE_MIN("temperature", 0),
    MLB_RULE_RANGE("top_k", 0, 1 << 20),
    MLB_RULE_RANGE("threads", 1, 1024),
};

int gpt2_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels);
int gpt2_train(mlb_ctx *ctx, void *state);
int gpt2_infer(mlb_ctx *ctx, void *state);
int gpt2_teardown(mlb_ctx *ctx, void *state);
int gpt2_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
