/* libFuzzer target: labelled text (plugins/bert/textdata.c), TSV or CSV. */
#include <stdint.h>
#include <stdlib.h>

#include "textdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    text_set *t = NULL;
    char err[256];
    if (text_set_parse((const char *)data, size, &t, err, sizeof err) == 0) {
        for (size_t i = 0; i < t->n; i++)
            if (t->label[i] < 0 || t->label[i] >= t->n_classes || !t->text[i])
                abort();
        text_set_free(t);
    }
    return 0;
}
