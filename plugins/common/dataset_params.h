/* A task's dataset= parameter: a registered dataset or the user's own file,
 * read with the file parameters every such task declares
 * (MLB_DATA_FILE_PARAMS: target, header, delimiter, format). */
#ifndef MLB_COMMON_DATASET_PARAMS_H
#define MLB_COMMON_DATASET_PARAMS_H

#include "mlbench/data.h"
#include "mlbench/plugin.h"

/* Loads dataset `name` with the task's options `o` (classify, dtype, ...)
 * and the file parameters. Returns 0, or the mlb_error() of the failure:
 * a bad file option, an unknown name (the registered names, then `others`,
 * the task's own, e.g. "synthetic") and a user's file that does not load
 * are "parameter ..." errors (input errors, said once, with the file's
 * position); a registered dataset that fails to load is "dataset=NAME:". */
int common_dataset_load(mlb_ctx *ctx, const char *name, mlb_data_opts *o, const char *others,
                        mlb_dataset **out);

#endif
