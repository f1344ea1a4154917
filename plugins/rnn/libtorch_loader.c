/*
 * rnn:libtorch's plugin side: its engine (libtorch.cpp, which links
 * libtorch) is the module rnn_libtorch_engine.engine beside the plugin,
 * opened when a repetition first needs it (plugins/nn/nn_engine.h says why).
 */
#include "rnn.h"

#define ENGINE_FILE "rnn_libtorch_engine.engine"

const char *rnn_libtorch_available(void)
{
    return nn_engine_module_present(ENGINE_FILE)
               ? NULL
               : "its engine module " ENGINE_FILE " is not beside the plugin (rebuild or reinstall)";
}

static int ld_create(void **impl, const nn_engine_setup *su, char *err, size_t errlen)
{
    return nn_engine_load(impl, ENGINE_FILE, "rnn_engine_libtorch", su, err, errlen);
}

const nn_engine rnn_engine_libtorch_loader = {"libtorch", ld_create, NN_ENGINE_LOADED_OPS};
