/*
 * The plugin ABI from C++: <mlbench/plugin.h> and <mlbench/variant.h>
 * compile as C++ (C++20 for MLB_DEFINE_VARIANT's designated initialisers),
 * and a variant defined with the macro has C linkage and the fields a C
 * plugin gets. Compiled with -Wall -Wextra -Werror like everything else.
 */
#include <mlbench/plugin.h>
#include <mlbench/variant.h>

#include <cstdio>
#include <cstring>

namespace {

struct dot_kernels {
    const char *name;
};

const dot_kernels dot_kernels_cxx = {"cxx"};

const mlb_param_def dot_params[] = {
    {"n", MLB_PARAM_INT, "4", "length"},
};
const mlb_param_rule dot_rules[] = {
    MLB_RULE_RANGE("n", 1, 1024),
};

int dot_setup(mlb_ctx *, void **state, const dot_kernels *k)
{
    *state = const_cast<dot_kernels *>(k);
    return 0;
}
int dot_teardown(mlb_ctx *, void *) { return 0; }

} // namespace

#define dot_train NULL
#define dot_infer NULL
#define dot_export_data NULL

MLB_DEFINE_VARIANT(dot, dot_kernels_cxx, "cxx", "a variant written in C++", NULL);

int main()
{
    /* Declared in plugin.h with C linkage: the engine finds the entry by its
     * unmangled name. */
    const mlb_plugin *p = mlbench_plugin_entry();
    void *state = nullptr;
    int ok = p->abi_major == MLB_ABI_MAJOR && p->struct_size == sizeof(mlb_plugin) &&
             !std::strcmp(p->task, "dot") && !std::strcmp(p->variant, "cxx") &&
             p->n_params == 1 && p->n_param_rules == 1 && p->train == nullptr &&
             p->setup(nullptr, &state) == 0 && state == &dot_kernels_cxx;
    std::printf("%s\n", ok ? "ok" : "FAIL: the C++ variant's descriptor is wrong");
    return ok ? 0 : 1;
}
