/* dataset_params.h: one reading of dataset= and its file parameters. */
#include <errno.h>
#include <string.h>

#include "dataset_params.h"

int common_dataset_load(mlb_ctx *ctx, const char *name, mlb_data_opts *o, const char *others,
                        mlb_dataset **out)
{
    char err[1024];
    mlb_data_file_opts f = MLB_DATA_FILE_OPTS_INIT;
    *out = NULL;
    if (mlb_data_opts_from_params(o, &f, mlb_param_str(ctx, "target"),
                                  mlb_param_str(ctx, "header"), mlb_param_str(ctx, "delimiter"),
                                  mlb_param_str(ctx, "format"), err, sizeof err) < 0)
        return mlb_error(ctx, "parameter %s", err);
    int rc = mlb_dataset_load_file_opts(name, o, &f, out, err, sizeof err);
    if (rc == -ENOENT && !strncmp(err, "unknown dataset", 15))
        return mlb_error(ctx, "parameter dataset: %s, %s", err, others);
    /* The user's file does not load: an input error, said once; err names
     * the file and the place. */
    if (rc < 0 && !mlb_dataset_registered(name))
        return mlb_error(ctx, "parameter dataset: %s", err);
    if (rc < 0)
        return mlb_error(ctx, "dataset=%s: %s", name, err);
    return 0;
}
