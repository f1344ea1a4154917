/* The helpers of the selection, validation and assessment phases
 * (phases.h). dpkg-query is the package manager's own account of what is
 * installed, so versions and sizes are this machine's, not the table's. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cli.h"
#include "phases.h"
#include "textbuf.h"

int mlb_phases_discover(mlb_registry *reg, char *const *dirs_in, size_t n_dirs, FILE *warn)
{
    char **dirs = NULL;
    size_t n = 0;
    for (size_t i = 0; i < n_dirs; i++)
        mlb_push(&dirs, &n, dirs_in[i]);
    char *envp = getenv("MLBENCH_PLUGIN_PATH") ? strdup(getenv("MLBENCH_PLUGIN_PATH")) : NULL;
    for (char *save = NULL, *d = envp ? strtok_r(envp, ":", &save) : NULL; d;
         d = strtok_r(NULL, ":", &save))
        mlb_push(&dirs, &n, d);
    char *bundled = mlb_bundled_plugin_dir();
    if (bundled)
        mlb_push(&dirs, &n, bundled);
    char *peers = mlb_peers_dir();
    if (peers)
        mlb_push(&dirs, &n, peers);
    char err[2048];
    int rc = mlb_registry_scan(reg, dirs, n, warn, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "mlbench-engine: %s\n", err);
    free(dirs);
    free(envp);
    free(bundled);
    free(peers);
    return rc;
}

/* ---- config/deps.yaml as JSON ---------------------------------------------- */

static cJSON *node_json(yaml_document_t *doc, yaml_node_t *nd, int depth)
{
    if (!nd || depth > 16)
        return cJSON_CreateNull();
    switch (nd->type) {
    case YAML_SCALAR_NODE:
        return cJSON_CreateString((const char *)nd->data.scalar.value);
    case YAML_SEQUENCE_NODE: {
        cJSON *a = cJSON_CreateArray();
        for (yaml_node_item_t *it = nd->data.sequence.items.start;
             it < nd->data.sequence.items.top; it++)
            cJSON_AddItemToArray(a, node_json(doc, yaml_document_get_node(doc, *it), depth + 1));
        return a;
    }
    case YAML_MAPPING_NODE: {
        cJSON *o = cJSON_CreateObject();
        for (yaml_node_pair_t *p = nd->data.mapping.pairs.start; p < nd->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                cJSON_AddItemToObject(o, (const char *)k->data.scalar.value,
                                      node_json(doc, yaml_document_get_node(doc, p->value),
                                                depth + 1));
        }
        return o;
    }
    default:
        return cJSON_CreateNull();
    }
}

static cJSON *yaml_file_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    yaml_parser_t ps;
    yaml_document_t doc;
    cJSON *out = NULL;
    yaml_parser_initialize(&ps);
    yaml_parser_set_input_file(&ps, f);
    if (yaml_parser_load(&ps, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE)
            out = node_json(&doc, root, 0);
        yaml_document_delete(&doc);
    } else
        fprintf(stderr, "mlbench-engine: %s:%zu: %s\n", path, ps.problem_mark.line + 1,
                ps.problem ? ps.problem : "not YAML");
    yaml_parser_delete(&ps);
    fclose(f);
    return out;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

cJSON *mlb_deps_load(char **root_out)
{
    if (root_out)
        *root_out = NULL;
    const char *envp = getenv("MLBENCH_DEPS");
    char *peers = mlb_peers_dir();
    char cand[2][PATH_MAX + 32];
    int n = 0;
    /* Source tree: tools/peers/../../config; installed: <datadir>/mlbench/{peers,config}. */
    if (peers) {
        snprintf(cand[n++], sizeof cand[0], "%s/../../config/deps.yaml", peers);
        snprintf(cand[n++], sizeof cand[0], "%s/../config/deps.yaml", peers);
    }
    cJSON *deps = NULL;
    const char *from = NULL;
    if (envp) {
        deps = yaml_file_json(envp);
        from = envp;
    }
    for (int i = 0; !deps && !envp && i < n; i++)
        if ((deps = yaml_file_json(cand[i])))
            from = cand[i];
    if (deps && root_out && from) {
        /* The table's tree holds the sources when plugins/ is beside config/. */
        char dir[PATH_MAX], probe[PATH_MAX + 16], real[PATH_MAX];
        if (snprintf(dir, sizeof dir, "%s", from) >= (int)sizeof dir)
            dir[0] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            snprintf(probe, sizeof probe, "%s/../plugins", dir);
            if (is_dir(probe) && realpath(dir, real)) {
                char *up = strrchr(real, '/');
                if (up && up != real) {
                    *up = '\0';
                    *root_out = strdup(real);
                }
            }
        }
    }
    free(peers);
    if (!deps) {
        fprintf(stderr, "mlbench-engine: no dependency table (config/deps.yaml%s%s): packages "
                        "and licences unknown\n",
                envp ? ", MLBENCH_DEPS=" : "", envp ? envp : "");
        deps = cJSON_CreateObject();
    }
    return deps;
}

/* ---- packages ------------------------------------------------------------------ */

static int pkg_name_ok(const char *s)
{
    if (!*s || strlen(s) > 100)
        return 0;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr(".+-", *p)))
            return 0;
    return 1;
}

/* A package's licence from its copyright file: the "Files: *" stanza's
 * License, else the file's first. */
static void copyright_licence(const char *pkg, char *out, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/doc/%s/copyright", pkg);
    out[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[512], first[128] = "";
    int in_star = 0;
    for (int k = 0; k < 4000 && fgets(line, sizeof line, f); k++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "Files:", 6))
            in_star = !strcmp(line + 6 + strspn(line + 6, " \t"), "*");
        else if (!strncmp(line, "License:", 8)) {
            const char *v = line + 8 + strspn(line + 8, " \t");
            if (!*v)
                continue;
            if (in_star) {
                snprintf(out, n, "%s", v);
                break;
            }
            if (!first[0])
                snprintf(first, sizeof first, "%s", v);
        }
    }
    fclose(f);
    if (!out[0])
        snprintf(out, n, "%s", first);
}

static const cJSON *pkg_info(const cJSON *deps, const char *pkg, cJSON *cache)
{
    const cJSON *hit = cJSON_GetObjectItemCaseSensitive(cache, pkg);
    if (hit)
        return hit;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", pkg);
    int installed = 0;
    if (pkg_name_ok(pkg)) {
        char cmd[256];
        snprintf(cmd, sizeof cmd,
                 "dpkg-query -W -f '${db:Status-Abbrev}\\t${Version}\\t${Installed-Size}\\n' "
                 "%s 2>/dev/null",
                 pkg);
        FILE *p = popen(cmd, "r");
        char line[512];
        if (p && fgets(line, sizeof line, p)) {
            line[strcspn(line, "\n")] = '\0';
            char *ver = strchr(line, '\t'), *size = ver ? strchr(ver + 1, '\t') : NULL;
            if (ver && size && line[1] == 'i') { /* "ii ": installed */
                *ver++ = '\0';
                *size++ = '\0';
                installed = 1;
                cJSON_AddStringToObject(o, "version", ver);
                if (*size)
                    cJSON_AddNumberToObject(o, "installed_kib", atof(size));
            }
        }
        if (p)
            pclose(p);
    }
    cJSON_AddBoolToObject(o, "installed", installed);
    const char *lic = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(deps, "licences"), pkg));
    char buf[128];
    if (!lic && installed) {
        copyright_licence(pkg, buf, sizeof buf);
        lic = buf[0] ? buf : NULL;
    }
    if (lic)
        cJSON_AddStringToObject(o, "licence", lic);
    cJSON_AddItemToObject(cache, pkg, o);
    return o;
}

static void add_packages(cJSON *facts, const cJSON *deps, const cJSON *names, cJSON *cache)
{
    cJSON *arr = cJSON_AddArrayToObject(facts, "packages");
    double kib = 0;
    int all_sizes = 1;
    char lic[512] = "";
    const cJSON *nm;
    cJSON_ArrayForEach(nm, names)
    {
        if (!cJSON_IsString(nm))
            continue;
        const cJSON *pi = pkg_info(deps, nm->valuestring, cache);
        cJSON_AddItemToArray(arr, cJSON_Duplicate(pi, 1));
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(pi, "installed_kib");
        if (cJSON_IsNumber(sz))
            kib += sz->valuedouble;
        else
            all_sizes = 0;
        const char *l = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pi, "licence"));
        if (l && !strstr(lic, l)) {
            size_t at = strlen(lic);
            snprintf(lic + at, sizeof lic - at, "%s%s", at ? ", " : "", l);
        }
    }
    if (cJSON_GetArraySize(arr) && all_sizes)
        cJSON_AddNumberToObject(facts, "installed_kib", kib);
    else if (!cJSON_GetArraySize(arr))
        cJSON_AddNumberToObject(facts, "installed_kib", 0);
    else
        cJSON_AddNullToObject(facts, "installed_kib");
    if (lic[0])
        cJSON_AddStringToObject(facts, "licences", lic);
}

/* Non-blank lines of root/rel, or -1 when it cannot be read. Paths from the
 * table stay inside the tree: no "..", no absolute path. */
static long count_loc(const char *root, const char *rel)
{
    if (!root || rel[0] == '/' || strstr(rel, ".."))
        return -1;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path)
        return -1;
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long n = 0;
    int c, blank = 1;
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') {
            n += !blank;
            blank = 1;
        } else if (!isspace(c))
            blank = 0;
    }
    n += !blank;
    fclose(f);
    return n;
}

static long count_all(const char *root, const cJSON *list, int *missing)
{
    long n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, list)
    {
        long k = cJSON_IsString(p) ? count_loc(root, p->valuestring) : -1;
        if (k < 0)
            (*missing)++;
        else
            n += k;
    }
    return n;
}

cJSON *mlb_impl_facts(const cJSON *deps, const char *root, const char *task,
                      const char *variant, int is_peer, cJSON *cache)
{
    char key[256];
    snprintf(key, sizeof key, "%s:%s", task, variant);
    const cJSON *impl =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(deps, "implementations"),
                                         key);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddBoolToObject(f, "in_table", impl != NULL);
    add_packages(f, deps, cJSON_GetObjectItemCaseSensitive(impl, "packages"), cache);
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(impl, "sources");
    const cJSON *shared = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(deps, "tasks"), task),
        "shared");
    int missing = 0;
    if (root && cJSON_GetArraySize(own)) {
        cJSON_AddNumberToObject(f, "loc_own", (double)count_all(root, own, &missing));
        /* A peer is its own program: the task's C maths is not part of it. */
        cJSON_AddNumberToObject(f, "loc_shared",
                                is_peer ? 0 : (double)count_all(root, shared, &missing));
    } else {
        cJSON_AddNullToObject(f, "loc_own");
        cJSON_AddNullToObject(f, "loc_shared");
    }
    if (missing)
        cJSON_AddNumberToObject(f, "sources_missing", missing);
    return f;
}

cJSON *mlb_engine_facts(const cJSON *deps, cJSON *cache)
{
    cJSON *f = cJSON_CreateObject();
    add_packages(f, deps,
                 cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(deps, "engine"),
                                                  "packages"),
                 cache);
    return f;
}

void mlb_packages_text(char *b, size_t n, const cJSON *facts)
{
    size_t at = 0;
    b[0] = '\0';
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(facts, "packages"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
        const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version"));
        const char *lic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "licence"));
        int k = snprintf(b + at, n - at, "%s%s %s%s%s%s", at ? ", " : "", name ? name : "?",
                         ver ? ver : "(not installed)", lic ? " (" : "", lic ? lic : "",
                         lic ? ")" : "");
        if (k < 0 || (size_t)k >= n - at) {
            b[n - 1] = '\0';
            return;
        }
        at += (size_t)k;
    }
    if (!at)
        snprintf(b, n, "none");
}

/* ---- quality against the baseline ----------------------------------------- */

/* Quality of run ri against its baseline: 0 parity, 1 better somewhere and
 * no worse, 2 inconclusive, 3 worse (the worst over metrics); -1 no
 * metric compared. `why` gets the metrics that are not equivalent. */
int mlb_quality_vs_baseline(const cJSON *doc, int ri, int base, char *why, size_t n)
{
    int worst = -1;
    size_t at = 0;
    why[0] = '\0';
    const cJSON *c;
    cJSON_ArrayForEach(c, mlb_jget(doc, "comparisons"))
    {
        const char *q = mlb_jstr(c, "quantity");
        if (!q || strncmp(q, "metric:", 7))
            continue;
        int a = (int)mlb_jnum(c, "run_a"), b = (int)mlb_jnum(c, "run_b");
        if (!((a == ri && b == base) || (a == base && b == ri)))
            continue;
        const char *kind = mlb_jstr(c, "verdict_kind");
        int v;
        if (!kind || !strcmp(kind, "inconclusive"))
            v = 2;
        else if (!strcmp(kind, "equivalent"))
            v = 0;
        else /* better/worse are run_a's */
            v = (!strcmp(kind, "better")) == (a == ri) ? 1 : 3;
        if (v > worst)
            worst = v;
        if (v && at + 1 < n) {
            static const char *const word[] = {"", "better", "inconclusive", "worse"};
            int k = snprintf(why + at, n - at, "%s%s %s", at ? ", " : "", word[v], q + 7);
            at = k > 0 ? at + (size_t)k : at;
            if (at >= n)
                at = n - 1;
        }
    }
    return worst;
}

