/* Extractive question answering data for the bert task's qa head: a seeded
 * synthetic reading-comprehension set (SQuAD cannot be had offline) and
 * the user's own SQuAD v1.1 JSON. An answer is a span of its context,
 * given by its first character (answer_start, in bytes of the UTF-8
 * context) and its text.
 *
 * The synthetic set: each context tells of `entities` people, one or two
 * sentences each, with a birthplace, a birth year, an occupation and an
 * employer drawn from fixed lists; the question asks one attribute of one
 * of them ("Where was Ada Okafor born?"). It tests that a model finds the
 * entity the question names among distractors and returns the attribute's
 * span; it does not test paraphrase, reasoning over several sentences, or
 * world knowledge, and its vocabulary is small. */
#ifndef MLB_BERT_QA_H
#define MLB_BERT_QA_H

#include <stddef.h>
#include <stdint.h>

#define QA_MAX_EXAMPLES 10000000
#define QA_MAX_FILE ((size_t)1 << 30)

typedef struct {
    char *context, *question, *answer; /* the first ground truth */
    size_t answer_start;               /* byte offset of answer in context */
    char **truths;                     /* every ground truth (SQuAD dev sets have several) */
    size_t n_truths;
} qa_example;

typedef struct {
    qa_example *ex;
    size_t n;
} qa_set;

/* n examples from `seed`, `entities` (1..8) people per context. 0, or
 * -ENOMEM / -EINVAL. */
int qa_synth(uint64_t seed, size_t n, int entities, qa_set **out);
/* SQuAD v1.1 JSON ({"data": [{"paragraphs": [{"context", "qas": [{"question",
 * "answers": [{"text", "answer_start"}]}]}]}]}); answer_start counts
 * characters (code points), as SQuAD's does, and must point at the answer
 * text in the context. Errors name the file and the JSON path. */
int qa_load_squad(const char *path, qa_set **out, char *err, size_t errlen);
int qa_parse_squad(const char *json, size_t len, qa_set **out, char *err, size_t errlen);
void qa_set_free(qa_set *s);

#endif
