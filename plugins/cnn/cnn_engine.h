/*
 * The cnn task's engine hook (see cnn.h), in a header of its own so that an
 * engine written in C++ (libtorch.cpp) includes it without cnn.h's static
 * parameter tables (C compound literals).
 */
#ifndef MLB_CNN_ENGINE_H
#define MLB_CNN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nn_engine.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The task's engines (plugins/nn/nn_engine.h): the NN core's generic engine
 * hook, for a cnn model. */
typedef nn_engine_setup cnn_engine_setup;
typedef nn_engine cnn_engine;

/* The engines this build has (libtorch.cpp, ...). */
extern const cnn_engine cnn_engine_libtorch;
/* cnn:libtorch's plugin side: loads cnn_libtorch_engine.engine (libtorch.cpp) on
 * first use (libtorch_loader.c); available() says when it is missing. */
extern const cnn_engine cnn_engine_libtorch_loader;
const char *cnn_libtorch_available(void);
extern const cnn_engine cnn_engine_onednn;

#ifdef __cplusplus
}
#endif

#endif
