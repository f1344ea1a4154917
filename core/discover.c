/* Plugin discovery. Plugins are opened once in the engine, to read their
 * descriptors; the child process of each repetition inherits the mapping.
 * Peers' descriptors (NAME.peer.yaml) become entries through peer.c. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover.h"
#include "peer.h"

#ifndef MLB_BUILD_PLUGIN_DIR
#define MLB_BUILD_PLUGIN_DIR ""
#endif
#ifndef MLB_BUILD_ENGINE_DIR
#define MLB_BUILD_ENGINE_DIR ""
#endif
#ifndef MLB_BIN_TO_PLUGINS
#define MLB_BIN_TO_PLUGINS "../lib/mlbench/plugins"
#endif
#ifndef MLB_SOURCE_PEERS_DIR
#define MLB_SOURCE_PEERS_DIR ""
#endif
#ifndef MLB_BIN_TO_PEERS
#define MLB_BIN_TO_PEERS "../share/mlbench/peers"
#endif

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_entry(const void *a, const void *b)
{
    const mlb_plugin_entry *x = a, *y = b;
    int c = strcmp(x->desc.task, y->desc.task);
    return c ? c : strcmp(x->desc.variant, y->desc.variant);
}

static int valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* The same file reached twice (a bundled directory also named with
 * --plugin-dir, a symlink) is one plugin, not a duplicate. */
static int seen_path(const mlb_registry *r, const char *path)
{
    char real[PATH_MAX], other[PATH_MAX];
    if (!realpath(path, real))
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (realpath(r->v[i].path, other) && !strcmp(real, other))
            return 1;
    return 0;
}

static int add_entry(mlb_registry *r, const mlb_plugin_entry *e)
{
    mlb_plugin_entry *v = realloc(r->v, (r->n + 1) * sizeof(*v));
    if (!v)
        return -1;
    r->v = v;
    r->v[r->n++] = *e;
    return 0;
}

/* ${MLBENCH_PEERS}, looked up once per scan (readlink, realpath) rather
 * than once per repetition of a peer. */
typedef struct {
    int looked;
    char *dir;
} peers_dir_cache;

/* A NAME.peer.yaml descriptor: an external program as a variant. */
static int try_peer(mlb_registry *r, const char *path, FILE *warn, peers_dir_cache *pc)
{
    mlb_peer_desc *d = calloc(1, sizeof *d);
    char err[1024];
    if (!d)
        return 0;
    if (mlb_peer_desc_load(path, d, err, sizeof err) < 0) {
        fprintf(warn, "mlbench: warning: %s\n", err);
        free(d);
        return 0;
    }
    if (!pc->looked) {
        pc->dir = mlb_peers_dir();
        pc->looked = 1;
    }
    mlb_plugin_entry e;
    snprintf(err, sizeof err, "%.900s: out of memory", path);
    if (mlb_peer_entry_init(&e, d, pc->dir, err, sizeof err) < 0 || add_entry(r, &e) < 0) {
        fprintf(warn, "mlbench: warning: %s\n", err);
        mlb_peer_entry_free(&e);
        free(e.path);
        return 0;
    }
    return 1;
}

/* Opens one candidate. Returns 1 if added, 0 if skipped (warning printed). */
static int try_load(mlb_registry *r, const char *path, FILE *warn)
{
    lt_dlhandle h = lt_dlopen(path);
    if (!h) {
        const char *why = lt_dlerror();
        fprintf(warn, "mlbench: warning: %s: skipped, cannot load: %s\n", path,
                why ? why : "unknown error");
        return 0;
    }
    const mlb_plugin *(*entry)(void);
    *(void **)&entry = lt_dlsym(h, MLB_ENTRY_SYMBOL);
    if (!entry) {
        fprintf(warn, "mlbench: warning: %s: skipped, not an mlbench plugin (no %s symbol)\n",
                path, MLB_ENTRY_SYMBOL);
        lt_dlclose(h);
        return 0;
    }
    const mlb_plugin *d = entry();
    const char *why = NULL;
    if (!d)
        why = "entry point returned NULL";
    else if (d->abi_major != MLB_ABI_MAJOR) {
        fprintf(warn, "mlbench: warning: %s: ABI version %u, engine expects %d\n", path,
                d->abi_major, MLB_ABI_MAJOR);
        lt_dlclose(h);
        return 0;
    } else if (d->struct_size < offsetof(mlb_plugin, teardown) + sizeof(d->teardown))
        why = "descriptor too small (struct_size)";
    else if (!valid_name(d->task) || !valid_name(d->variant))
        why = "task and variant must be non-empty [a-z0-9_-] names";
    else if (!d->setup || !d->teardown)
        why = "setup and teardown are required";
    else if (d->n_params && !d->params)
        why = "n_params > 0 but params is NULL";
    if (why) {
        fprintf(warn, "mlbench: warning: %s: skipped, invalid descriptor: %s\n", path, why);
        lt_dlclose(h);
        return 0;
    }
    mlb_plugin_entry e;
    memset(&e, 0, sizeof e);
    size_t sz = d->struct_size < sizeof(mlb_plugin) ? d->struct_size : sizeof(mlb_plugin);
    memcpy(&e.desc, d, sz);
    if (!e.desc.description)
        e.desc.description = "";
    e.path = strdup(path);
    e.handle = h;
    e.ops = &mlb_target_plugin_ops;
    e.unavailable = e.desc.available ? e.desc.available() : NULL;
    e.checked = 1;
    if (add_entry(r, &e) < 0) {
        free(e.path);
        lt_dlclose(h);
        return 0;
    }
    return 1;
}

static void scan_dir(mlb_registry *r, const char *dir, int depth, FILE *warn, peers_dir_cache *pc)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0)
            fprintf(warn, "mlbench: warning: plugin directory %s: %s\n", dir, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(*nn));
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[2 * PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth == 0)
                scan_dir(r, path, depth + 1, warn, pc);
            else if (S_ISREG(st.st_mode) && seen_path(r, path))
                ; /* already loaded under another name */
            else if (S_ISREG(st.st_mode) && ends_with(names[i], ".so"))
                try_load(r, path, warn);
            else if (S_ISREG(st.st_mode) && ends_with(names[i], ".peer.yaml"))
                try_peer(r, path, warn, pc);
        }
        free(names[i]);
    }
    free(names);
}

int mlb_registry_scan(mlb_registry *r, char *const *dirs, size_t n_dirs, FILE *warn, char *err,
                      size_t errlen)
{
    static int lt_ready; /* lt_dlinit is reference counted; once per process is enough */
    if (!lt_ready) {
        if (lt_dlinit() != 0) {
            snprintf(err, errlen, "libltdl initialisation failed: %s", lt_dlerror());
            return -EIO;
        }
        lt_ready = 1;
    }
    peers_dir_cache pc = {0, NULL};
    for (size_t i = 0; i < n_dirs; i++)
        scan_dir(r, dirs[i], 0, warn, &pc);
    free(pc.dir);
    /* Listed and planned by task, then variant, whichever directory or kind
     * (plugin or peer) each came from. */
    qsort(r->v, r->n, sizeof *r->v, cmp_entry);
    /* A peer that declares no parameters takes those of its data_from
     * variant: same names, types and defaults as the native variants. */
    for (size_t i = 0; i < r->n; i++) {
        mlb_plugin_entry *e = &r->v[i];
        if (!e->peer || !e->peer->data_from || e->desc.n_params)
            continue;
        const mlb_plugin_entry *from = mlb_registry_find(r, e->desc.task, e->peer->data_from);
        if (from && !from->peer) {
            e->desc.params = from->desc.params;
            e->desc.n_params = from->desc.n_params;
            /* The same parameters obey the same rules (ABI 1.2). */
            e->desc.param_rules = from->desc.param_rules;
            e->desc.n_param_rules = from->desc.n_param_rules;
            e->desc.param_rule_size = from->desc.param_rule_size;
        }
    }
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = i + 1; j < r->n; j++)
            if (!strcmp(r->v[i].desc.task, r->v[j].desc.task) &&
                !strcmp(r->v[i].desc.variant, r->v[j].desc.variant)) {
                snprintf(err, errlen, "duplicate plugin %s:%s in %s and %s", r->v[i].desc.task,
                         r->v[i].desc.variant, r->v[i].path, r->v[j].path);
                return -EEXIST;
            }
    return 0;
}

void mlb_registry_free(mlb_registry *r)
{
    for (size_t i = 0; i < r->n; i++) {
        mlb_peer_entry_free(&r->v[i]);
        free(r->v[i].path);
    }
    /* Handles stay open: plugin threads (OpenBLAS) may still reference code. */
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

const char *mlb_entry_unavailable(mlb_plugin_entry *e)
{
    if (!e->checked) {
        if (e->peer)
            mlb_peer_check(e);
        e->checked = 1;
    }
    return e->unavailable;
}

mlb_plugin_entry *mlb_registry_find(mlb_registry *r, const char *task, const char *variant)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].desc.task, task) && (!variant || !strcmp(r->v[i].desc.variant, variant)))
            return &r->v[i];
    return NULL;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *mlb_exe_relative_dir(const char *rel)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    if (!rel)
        return strdup(exe);
    char p[2 * PATH_MAX], real[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", exe, rel);
    return realpath(p, real) && is_dir(real) ? strdup(real) : NULL;
}

char *mlb_peers_dir(void)
{
    char *installed = mlb_exe_relative_dir(MLB_BIN_TO_PEERS);
    if (installed)
        return installed;
    return MLB_SOURCE_PEERS_DIR[0] && is_dir(MLB_SOURCE_PEERS_DIR) ? strdup(MLB_SOURCE_PEERS_DIR)
                                                                  : NULL;
}

char *mlb_bundled_plugin_dir(void)
{
    char *exe = mlb_exe_relative_dir(NULL);
    if (!exe)
        return NULL;
    /* Running from the build tree: its plugins/ directory. */
    char real_build[PATH_MAX];
    int in_build = MLB_BUILD_ENGINE_DIR[0] && realpath(MLB_BUILD_ENGINE_DIR, real_build) &&
                   !strcmp(real_build, exe) && is_dir(MLB_BUILD_PLUGIN_DIR);
    free(exe);
    if (in_build)
        return strdup(MLB_BUILD_PLUGIN_DIR);
    /* Installed: relative to bindir, so a relocated (DESTDIR) tree works. */
    return mlb_exe_relative_dir(MLB_BIN_TO_PLUGINS);
}
