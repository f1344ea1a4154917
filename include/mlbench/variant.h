/*
 * One way to write the variants of a task: the task's maths once, against a
 * table of kernels, and per variant a kernel table and one line,
 *
 *     MLB_DEFINE_VARIANT(dot, dot_kernels_naive, "naive", "plain C loop", NULL);
 *
 * plugins/template/ is the example to copy; docs/plugin-guide.md walks
 * through it. Installed with <mlbench/plugin.h>, so that a task built out of
 * tree is written the same way.
 *
 * The macro pastes the task's name onto the names of what every variant
 * shares. For a task `dot`, its header (dot.h) provides
 *
 *     static const mlb_param_def dot_params[] = {...};    parameters
 *     static const mlb_param_rule dot_rules[] = {...};    their rules (ABI 1.2)
 *     int dot_setup(mlb_ctx *ctx, void **state, const dot_kernels *k);
 *     int dot_train(mlb_ctx *ctx, void *state);
 *     int dot_infer(mlb_ctx *ctx, void *state);
 *     int dot_teardown(mlb_ctx *ctx, void *state);
 *     int dot_export_data(mlb_ctx *ctx, void *state, const char *dir);
 *
 * and its shared file (dot.c) defines the functions. The two tables are
 * defined in the header, static, so that the macro counts them with sizeof
 * (an array declared with a size elsewhere would silently zero-fill a
 * forgotten entry); only the variant files use them. A task without an
 * optional phase says so in its header: `#define dot_infer NULL` (likewise
 * dot_train, dot_export_data). Setup receives the variant's kernel table:
 * the shared code reaches the kernels through it, never through a global.
 *
 * The task's name is therefore a C identifier (a-z, 0-9, _), which is also
 * the name the engine shows. The macro defines the descriptor and the one
 * exported symbol, mlbench_plugin_entry; build with -fvisibility=hidden
 * (meson: gnu_symbol_visibility : 'hidden') so that the shared names stay
 * inside each variant's .so (several variants share one process).
 *
 * A unit test that links several variants' kernel tables into one program
 * defines MLB_VARIANT_KERNELS_ONLY: the macro then defines nothing, and the
 * tables (declared in the task's header) are all the variant files give.
 */
#ifndef MLBENCH_VARIANT_H
#define MLBENCH_VARIANT_H

#include <stddef.h>

#include "plugin.h"

#define MLB_VARIANT_COUNT_(a) (sizeof(a) / sizeof((a)[0]))

/* C++ (a variant written in C++, C++20 for the designated initialisers):
 * static_assert is its spelling, and the fields a variant leaves out are
 * meant to be zero, which g++ warns about in C++ only. */
#ifdef __cplusplus
#define MLB_VARIANT_STATIC_ASSERT_ static_assert
#define MLB_VARIANT_OMITTED_FIELDS_BEGIN_                                                          \
    _Pragma("GCC diagnostic push")                                                                 \
        _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define MLB_VARIANT_OMITTED_FIELDS_END_ _Pragma("GCC diagnostic pop")
#else
#define MLB_VARIANT_STATIC_ASSERT_ _Static_assert
#define MLB_VARIANT_OMITTED_FIELDS_BEGIN_
#define MLB_VARIANT_OMITTED_FIELDS_END_
#endif

#ifdef MLB_VARIANT_KERNELS_ONLY
#define MLB_DEFINE_VARIANT(task_id, kernels, variant_name, desc, avail)                            \
    MLB_VARIANT_STATIC_ASSERT_(1, "MLB_VARIANT_KERNELS_ONLY: " #task_id " kernel tables only")
#define MLB_DEFINE_VARIANT_BATCHED(task_id, kernels, variant_name, desc, avail)                    \
    MLB_DEFINE_VARIANT(task_id, kernels, variant_name, desc, avail)
#else
/* The final _Static_assert makes the trailing semicolon of a use a
 * declaration, and catches a rule table longer than its parameter table
 * (a rule for a parameter that is not there). */
#define MLB_DEFINE_VARIANT_(task_id, kernels, variant_name, desc, avail, ...)                      \
    static int mlb_variant_setup_(mlb_ctx *ctx, void **state)                                      \
    {                                                                                              \
        return task_id##_setup(ctx, state, &(kernels));                                            \
    }                                                                                              \
    MLB_VARIANT_OMITTED_FIELDS_BEGIN_                                                              \
    static const mlb_plugin mlb_variant_plugin_ = {                                                \
        MLB_PLUGIN_HEADER,                                                                         \
        .task = #task_id,                                                                          \
        .variant = variant_name,                                                                   \
        .description = desc,                                                                       \
        .params = task_id##_params,                                                                \
        .n_params = MLB_VARIANT_COUNT_(task_id##_params),                                          \
        .available = avail,                                                                        \
        .setup = mlb_variant_setup_,                                                               \
        .train = task_id##_train,                                                                  \
        .infer = task_id##_infer,                                                                  \
        .teardown = task_id##_teardown,                                                            \
        .export_data = task_id##_export_data,                                                      \
        MLB_PARAM_RULES(task_id##_rules),                                                          \
        __VA_ARGS__                                                                                \
    };                                                                                             \
    MLB_VARIANT_OMITTED_FIELDS_END_                                                                \
    MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void)                                        \
    {                                                                                              \
        return &mlb_variant_plugin_;                                                               \
    }                                                                                              \
    MLB_VARIANT_STATIC_ASSERT_(MLB_VARIANT_COUNT_(task_id##_rules) <= MLB_VARIANT_COUNT_(task_id##_params),    \
                   #task_id "_rules has more rules than " #task_id "_params has parameters")
#define MLB_DEFINE_VARIANT(task_id, kernels, variant_name, desc, avail)                            \
    MLB_DEFINE_VARIANT_(task_id, kernels, variant_name, desc, avail, )
/* The same for a task whose header also provides
 *     int dot_infer_n(mlb_ctx *ctx, void *state, int n);
 * n queries at once for the offline scenario (ABI 1.3), batched as it likes. */
#define MLB_DEFINE_VARIANT_BATCHED(task_id, kernels, variant_name, desc, avail)                    \
    MLB_DEFINE_VARIANT_(task_id, kernels, variant_name, desc, avail, .infer_n = task_id##_infer_n, )
#endif

#endif
