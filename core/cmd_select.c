/* `mlbench-engine select [TASK...]`: the selection phase. A task ×
 * implementation matrix of what can run here and why not, and each
 * implementation's dependencies with this machine's versions and their
 * licences, so that a user sees which frameworks a comparison will cover
 * before running it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "export.h"
#include "phases.h"

#define CMD "mlbench-engine select"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " CMD " [TASK...] [--matrix] [--list] [--json] [--plugin-dir DIR]\n"
            "\n"
            "What can run here: every task's implementations (native plugins and peers),\n"
            "whether each is available and, if not, why (its library missing, no device,\n"
            "peer not installed), and the Debian packages each needs with the versions\n"
            "installed (dpkg-query) and their licences (config/deps.yaml).\n"
            "  TASK...         only these tasks (default: all)\n"
            "  --matrix        only the task x implementation matrix\n"
            "  --list          only one line per implementation\n"
            "  --json          everything as one JSON object on stdout\n"
            "  --plugin-dir D  search D for plugins first (repeatable)\n"
            "Exit status: 0; 2 on usage errors or a TASK that no plugin implements.\n");
}

static int wanted(const char *task, char **tasks, size_t n)
{
    if (!n)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tasks[i], task))
            return 1;
    return 0;
}

/* naive first (the reference by the default rule), then by name. */
static int variant_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (strcmp(x, y) && (!strcmp(x, "naive") || !strcmp(y, "naive")))
        return strcmp(x, "naive") ? 1 : -1;
    return strcmp(x, y);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add_unique(const char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s))
            return;
    const char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return;
    *v = nv;
    (*v)[(*n)++] = s;
}

int mlb_cmd_select(int argc, char **argv)
{
    static const struct option opts[] = {{"matrix", no_argument, NULL, 'm'},
                                         {"list", no_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"plugin-dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int matrix = 0, list = 0, json = 0, ch;
    char **dirs = NULL;
    size_t n_dirs = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': matrix = 1; break;
        case 'l': list = 1; break;
        case 'j': json = 1; break;
        case 'd': mlb_push(&dirs, &n_dirs, optarg); break;
        case 'h': usage(stdout); free(dirs); return 0;
        default: usage(stderr); free(dirs); return 2;
        }
    }
    if (!matrix && !list)
        matrix = list = 1;
    char **tasks = argv + optind;
    size_t n_tasks = (size_t)(argc - optind);
    mlb_registry reg = {0};
    int code = 0;
    if (mlb_phases_discover(&reg, dirs, n_dirs, stderr) < 0) {
        free(dirs);
        mlb_registry_free(&reg);
        return 2;
    }
    free(dirs);
    for (size_t i = 0; i < n_tasks; i++) {
        int found = 0;
        for (size_t k = 0; k < reg.n && !found; k++)
            found = !strcmp(reg.v[k].desc.task, tasks[i]);
        if (!found) {
            fprintf(stderr, CMD ": no plugin implements task '%s' (see " CMD ")\n", tasks[i]);
            code = 2;
        }
    }
    if (code) {
        mlb_registry_free(&reg);
        return code;
    }
    char *root = NULL;
    cJSON *deps = mlb_deps_load(&root), *cache = cJSON_CreateObject();
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "schema", "mlbench.select/1");
    cJSON_AddItemToObject(out, "engine", mlb_engine_facts(deps, cache));
    cJSON *impls = cJSON_AddArrayToObject(out, "implementations");
    const char **tnames = NULL, **vnames = NULL;
    size_t nt = 0, nv = 0;
    for (size_t k = 0; k < reg.n; k++) {
        mlb_plugin_entry *e = &reg.v[k];
        if (!wanted(e->desc.task, tasks, n_tasks))
            continue;
        add_unique(&tnames, &nt, e->desc.task);
        add_unique(&vnames, &nv, e->desc.variant);
        const char *why = mlb_entry_unavailable(e);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "task", e->desc.task);
        cJSON_AddStringToObject(o, "variant", e->desc.variant);
        cJSON_AddStringToObject(o, "kind", e->peer ? "peer" : "native");
        cJSON_AddStringToObject(o, "description", e->desc.description ? e->desc.description : "");
        cJSON_AddStringToObject(o, "path", e->path ? e->path : "");
        cJSON_AddBoolToObject(o, "available", why == NULL);
        if (why)
            cJSON_AddStringToObject(o, "why_not", why);
        cJSON *facts = mlb_impl_facts(deps, root, e->desc.task, e->desc.variant, e->peer != NULL, cache);
        /* A package the table names but dpkg does not know is the likely
         * reason, and what to install. */
        const cJSON *p;
        cJSON *missing = cJSON_AddArrayToObject(o, "packages_missing");
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(facts, "packages"))
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "installed")))
                cJSON_AddItemToArray(missing, cJSON_Duplicate(
                    cJSON_GetObjectItemCaseSensitive(p, "name"), 0));
        cJSON_AddItemToObject(o, "dependencies", facts);
        cJSON_AddItemToArray(impls, o);
    }
    qsort(tnames, nt, sizeof *tnames, str_cmp);
    qsort(vnames, nv, sizeof *vnames, variant_cmp);
    if (json) {
        cJSON *m = cJSON_AddObjectToObject(out, "matrix");
        cJSON *ta = cJSON_AddArrayToObject(m, "tasks"), *va = cJSON_AddArrayToObject(m, "variants");
        for (size_t i = 0; i < nt; i++)
            cJSON_AddItemToArray(ta, cJSON_CreateString(tnames[i]));
        for (size_t i = 0; i < nv; i++)
            cJSON_AddItemToArray(va, cJSON_CreateString(vnames[i]));
        char *t = cJSON_Print(out);
        if (t)
            printf("%s\n", t);
        free(t);
        goto done;
    }
    char pk[2048];
    mlb_packages_text(pk, sizeof pk, cJSON_GetObjectItemCaseSensitive(out, "engine"));
    printf("Native plugins run on the engine's libraries: %s\n", pk);
    if (matrix) {
        printf("\n%-12s", "TASK");
        for (size_t j = 0; j < nv; j++)
            printf(" %-9.9s", vnames[j]);
        printf("\n");
        for (size_t i = 0; i < nt; i++) {
            printf("%-12s", tnames[i]);
            for (size_t j = 0; j < nv; j++) {
                const char *cell = "\xc2\xb7"; /* "·": no such implementation */
                const cJSON *o;
                cJSON_ArrayForEach(o, impls)
                    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "task")), tnames[i]) &&
                        !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "variant")), vnames[j]))
                        cell = cJSON_IsTrue(cJSON_GetObjectItem(o, "available")) ? "yes" : "no";
                /* "·" is 2 bytes, 1 column: pad by columns. */
                printf(" %s%*s", cell, 9 - (int)(strcmp(cell, "\xc2\xb7") ? strlen(cell) : 1), "");
            }
            printf("\n");
        }
        printf("(yes: runs here; no: see why below; \xc2\xb7: not implemented)\n");
    }
    if (list) {
        printf("\n%-22s %-6s %-9s %s\n", "IMPLEMENTATION", "KIND", "AVAILABLE",
               "DEPENDENCIES (installed version, licence) / WHY NOT");
        const cJSON *o;
        cJSON_ArrayForEach(o, impls)
        {
            char name[160];
            snprintf(name, sizeof name, "%s:%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, "task")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(o, "variant")));
            const cJSON *facts = cJSON_GetObjectItem(o, "dependencies");
            mlb_packages_text(pk, sizeof pk, facts);
            if (!strcmp(pk, "none") && cJSON_IsTrue(cJSON_GetObjectItem(facts, "in_table")))
                snprintf(pk, sizeof pk, "%s",
                         strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")), "peer")
                             ? "none beyond the engine's"
                             : "none (a program of this repository)");
            int ok = cJSON_IsTrue(cJSON_GetObjectItem(o, "available"));
            printf("%-22s %-6s %-9s %s\n", name, cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")),
                   ok ? "yes" : "no", pk);
            if (!ok)
                printf("%-40s why not: %s\n", "",
                       cJSON_GetStringValue(cJSON_GetObjectItem(o, "why_not")));
            if (!cJSON_IsTrue(cJSON_GetObjectItem(facts, "in_table")))
                printf("%-40s (not in config/deps.yaml: dependencies unknown)\n", "");
        }
    }
done:
    free(tnames);
    free(vnames);
    free(root);
    cJSON_Delete(out);
    cJSON_Delete(cache);
    cJSON_Delete(deps);
    mlb_registry_free(&reg);
    return code;
}
