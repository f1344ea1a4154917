/*
 * The rnn task's network (rnn.h says which PyTorch module it is); shared by
 * the plugins and the parity driver.
 */
#include "rnn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int rnn_model_build(nn_model *m, const char *model, const char *nonlinearity, int seq_len,
                    int input_size, int hidden, int layers, int bidirectional, int classes,
                    char *err, size_t errlen)
{
    nn_cell cell;
    if (!strcmp(model, "lstm"))
        cell = NN_CELL_LSTM;
    else if (!strcmp(model, "gru"))
        cell = NN_CELL_GRU;
    else if (!strcmp(model, "rnn"))
        cell = strcmp(nonlinearity, "relu") ? NN_CELL_RNN_TANH : NN_CELL_RNN_RELU;
    else {
        snprintf(err, errlen, "model '%s': expected rnn, lstm or gru", model);
        return -ENOENT;
    }
    int rc = nn_model_init(m, seq_len, input_size, 1), r = -1, fc = -1;
    if (rc == 0 && (r = nn_add_recurrent(m, "rnn", 0, cell, hidden, layers, bidirectional)) < 0)
        rc = r;
    if (rc == 0 && (fc = nn_add_linear(m, "fc", r, classes, 1)) < 0)
        rc = fc;
    if (rc < 0) {
        snprintf(err, errlen, "model %s: cannot build %d layer(s) of %d for %d x %d sequences: %s",
                 model, layers, hidden, seq_len, input_size, strerror(-rc));
        nn_model_free(m);
    }
    return rc;
}
