/* libFuzzer target: SQuAD v1.1 JSON (plugins/bert/qa.c). Whatever parses
 * must give answers that are spans of their contexts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qa_set *s = NULL;
    char err[384];
    if (qa_parse_squad((const char *)data, size, &s, err, sizeof err) == 0) {
        for (size_t i = 0; i < s->n; i++) {
            const qa_example *e = &s->ex[i];
            if (e->answer_start > strlen(e->context) ||
                strncmp(e->context + e->answer_start, e->answer, strlen(e->answer)))
                abort();
        }
        qa_set_free(s);
    }
    return 0;
}
