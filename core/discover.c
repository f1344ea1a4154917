/* Plugin discovery. Plugins are opened once in the engine, to read their
 * descriptors; the child process of each repetition inherits the mapping.
 * Peers' descriptors (NAME.peer.yaml) become entries through peer.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ltdl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static int valid_param_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Every field of a descriptor that the engine will use, checked before it
 * uses any: NULL when valid, else why not (naming the field) in buf. */
static const char *desc_invalid(const mlb_plugin *d, char *buf, size_t len)
{
    if (!d)
        return "entry point returned NULL";
    if (d->struct_size < offsetof(mlb_plugin, teardown) + sizeof(d->teardown))
        return "descriptor too small (struct_size)";
    if (!valid_name(d->task) || !valid_name(d->variant))
        return "task and variant must be non-empty [a-z0-9_-] names";
    if (!d->setup || !d->teardown)
        return "setup and teardown are required";
    if (d->n_params && !d->params)
        return "n_params > 0 but params is NULL";
    if (d->n_params > 4096)
        return "n_params is implausibly large (over 4096)";
    for (size_t i = 0; i < d->n_params; i++) {
        const mlb_param_def *p = &d->params[i];
        if (!valid_param_name(p->name)) {
            snprintf(buf, len, "params[%zu].name is %s", i,
                     p->name ? "not a [A-Za-z0-9_.-] name" : "NULL");
            return buf;
        }
        if (p->type < MLB_PARAM_INT || p->type > MLB_PARAM_BOOL) {
            snprintf(buf, len, "params[%zu] '%s': unknown type %d", i, p->name, (int)p->type);
            return buf;
        }
        if (!p->def) {
            snprintf(buf, len, "params[%zu] '%s': default (def) is NULL", i, p->name);
            return buf;
        }
        mlb_param_value v;
        char why[200];
        if (mlb_param_parse(p->type, p->def, &v, why, sizeof why) < 0) {
            snprintf(buf, len, "params[%zu] '%.40s': default '%.40s': %.120s", i, p->name, p->def,
                     why);
            return buf;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->params[j].name, p->name)) {
                snprintf(buf, len, "params[%zu] '%s' is declared twice", i, p->name);
                return buf;
            }
    }
    /* The rules are part of the descriptor only where struct_size covers them. */
    if (d->struct_size >= offsetof(mlb_plugin, param_rule_size) + sizeof(d->param_rule_size) &&
        d->n_param_rules) {
        if (!d->param_rules)
            return "n_param_rules > 0 but param_rules is NULL";
        if (d->param_rule_size < offsetof(mlb_param_rule, name) + sizeof(const char *))
            return "param_rule_size is too small";
        if (d->n_param_rules > 4096)
            return "n_param_rules is implausibly large (over 4096)";
        for (size_t i = 0; i < d->n_param_rules; i++) {
            const char *name;
            memcpy(&name, (const char *)d->param_rules + i * d->param_rule_size, sizeof name);
            size_t k = 0;
            while (name && k < d->n_params && strcmp(d->params[k].name, name))
                k++;
            if (!name || k == d->n_params) {
                snprintf(buf, len, "param_rules[%zu].name %s%.40s%s is not a declared parameter",
                         i, name ? "'" : "", name ? name : "(NULL)", name ? "'" : "");
                return buf;
            }
        }
    }
    return NULL;
}

/* ---- the discovery probe ---------------------------------------------------
 * A plugin's constructors, entry point and available() are the plugin's
 * code: they run first in a child process, one child for every candidate
 * of a scan, so that one that crashes or hangs costs that plugin and not
 * the engine. A child that dies or stops answering is replaced by a new one
 * for the candidates after the culprit. */

enum {
    PROBE_PENDING = 0,
    PROBE_SKIP,      /* no handle or no entry: the engine's own load says why */
    PROBE_ENTERED,   /* the entry point returned a descriptor; checking it */
    PROBE_INVALID,   /* the descriptor is invalid: the engine's check says why */
    PROBE_AVAIL,     /* available() is running */
    PROBE_DONE,      /* reason: available()'s answer, "" when available */
    PROBE_DIED,      /* reason: how the child died or hung, in stage `at` */
};

typedef struct {
    uint32_t index, stage;
    char reason[504]; /* one record is one atomic pipe write */
} probe_rec;

typedef struct {
    int stage, at; /* at: the stage during which the probe died */
    char reason[504];
} probe_result;

static void probe_send(int fd, size_t i, int stage, const char *reason)
{
    probe_rec r;
    memset(&r, 0, sizeof r);
    r.index = (uint32_t)i;
    r.stage = (uint32_t)stage;
    if (reason)
        snprintf(r.reason, sizeof r.reason, "%s", reason);
    ssize_t w = write(fd, &r, sizeof r);
    (void)w;
}

static void probe_child(char **paths, size_t n, size_t from, int fd)
{
    for (size_t i = from; i < n; i++) {
        lt_dlhandle h = lt_dlopen(paths[i]);
        const mlb_plugin *(*entry)(void) = NULL;
        if (h)
            *(void **)&entry = lt_dlsym(h, MLB_ENTRY_SYMBOL);
        if (!entry) {
            probe_send(fd, i, PROBE_SKIP, NULL);
            continue;
        }
        const mlb_plugin *d = entry();
        probe_send(fd, i, PROBE_ENTERED, NULL);
        char buf[256];
        if (!d || d->abi_major != MLB_ABI_MAJOR || desc_invalid(d, buf, sizeof buf)) {
            probe_send(fd, i, PROBE_INVALID, NULL);
            continue;
        }
        probe_send(fd, i, PROBE_AVAIL, NULL);
        const char *u = d->available ? d->available() : NULL;
        probe_send(fd, i, PROBE_DONE, u ? u : "");
    }
}

/* Seconds a probe may take for one plugin: MLBENCH_DISCOVERY_TIMEOUT_S, else 5. */
static double probe_timeout(void)
{
    const char *s = getenv("MLBENCH_DISCOVERY_TIMEOUT_S");
    char *end;
    double v = s ? strtod(s, &end) : 0;
    return s && *s && !*end && v > 0 && v <= 3600 ? v : 5.0;
}

/* Runs candidates [from, n) in one child; returns the index after the last
 * one it finished or died in. */
static size_t probe_batch(char **paths, size_t n, size_t from, probe_result *res, double limit)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return n; /* cannot probe: the results stay pending (loaded as before) */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return n;
    }
    if (pid == 0) {
        setpgid(0, 0); /* whatever available() starts goes with it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pfd[0]);
        dup2(STDERR_FILENO, STDOUT_FILENO); /* the engine's stdout is its listing */
        probe_child(paths, n, from, pfd[1]);
        fflush(NULL);
        _exit(0);
    }
    setpgid(pid, pid);
    close(pfd[1]);
    size_t cur = from; /* the candidate under way */
    int stage = PROBE_PENDING;
    char how[160] = "";
    for (;;) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        int pr = poll(&pf, 1, (int)(limit * 1000));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            snprintf(how, sizeof how, "did not return within %g s", limit);
            break;
        }
        probe_rec r;
        ssize_t got = read(pfd[0], &r, sizeof r);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != (ssize_t)sizeof r || r.index >= n)
            break; /* the child ended: finished, or died (waitpid says) */
        cur = r.index;
        stage = (int)r.stage;
        res[cur].stage = stage;
        if (stage == PROBE_DONE) {
            r.reason[sizeof r.reason - 1] = '\0';
            snprintf(res[cur].reason, sizeof res[cur].reason, "%s", r.reason);
        }
        if (stage == PROBE_SKIP || stage == PROBE_INVALID || stage == PROBE_DONE) {
            cur++;
            stage = PROBE_PENDING;
        }
    }
    close(pfd[0]);
    kill(-pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (cur >= n)
        return n;
    if (!how[0]) {
        if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
            snprintf(how, sizeof how, "crashed (SIG%s)",
                     sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
        else
            snprintf(how, sizeof how, "ended the discovery probe (status %d)",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    res[cur].stage = PROBE_DIED;
    res[cur].at = stage;
    snprintf(res[cur].reason, sizeof res[cur].reason, "%s", how);
    return cur + 1;
}

static void probe_all(char **paths, size_t n, probe_result *res)
{
    double limit = probe_timeout();
    for (size_t from = 0; from < n;)
        from = probe_batch(paths, n, from, res, limit);
}

/* Opens one candidate that its probe survived. Returns 1 if added, 0 if
 * skipped (warning printed). */
static int try_load(mlb_registry *r, const char *path, FILE *warn, const probe_result *pr)
{
    if (pr->stage == PROBE_DIED && pr->at != PROBE_AVAIL) {
        fprintf(warn, "mlbench: warning: %s: skipped, %s while %s in a discovery probe\n", path,
                pr->reason, pr->at == PROBE_ENTERED ? "its descriptor was checked"
                                                    : "loading or in its entry point");
        return 0;
    }
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
    char buf[256];
    const char *why = NULL;
    if (d && d->abi_major != MLB_ABI_MAJOR) {
        fprintf(warn, "mlbench: warning: %s: ABI version %u, engine expects %d\n", path,
                d->abi_major, MLB_ABI_MAJOR);
        lt_dlclose(h);
        return 0;
    }
    why = desc_invalid(d, buf, sizeof buf);
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
    if (pr->stage == PROBE_DIED) {
        char msg[700];
        snprintf(msg, sizeof msg, "available() %s in a discovery probe", pr->reason);
        e.owned_reason = strdup(msg);
        e.unavailable = e.owned_reason ? e.owned_reason : "available() failed in a discovery probe";
    } else if (pr->stage == PROBE_DONE) {
        e.owned_reason = pr->reason[0] ? strdup(pr->reason) : NULL;
        e.unavailable = e.owned_reason;
    } else {
        /* Not probed (no process could be started for it): in the engine. */
        e.unavailable = e.desc.available ? e.desc.available() : NULL;
    }
    e.checked = 1;
    if (add_entry(r, &e) < 0) {
        free(e.owned_reason);
        free(e.path);
        lt_dlclose(h);
        return 0;
    }
    return 1;
}

/* The shared objects of a scan, probed together once all are known. */
typedef struct {
    char **paths;
    size_t n;
} candidates;

static int seen_candidate(const candidates *c, const char *path)
{
    char real[PATH_MAX], other[PATH_MAX];
    if (!realpath(path, real))
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (realpath(c->paths[i], other) && !strcmp(real, other))
            return 1;
    return 0;
}

static void scan_dir(mlb_registry *r, const char *dir, int depth, FILE *warn, peers_dir_cache *pc,
                     candidates *cand)
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
                scan_dir(r, path, depth + 1, warn, pc, cand);
            else if (S_ISREG(st.st_mode) && (seen_path(r, path) || seen_candidate(cand, path)))
                ; /* already loaded under another name */
            else if (S_ISREG(st.st_mode) && ends_with(names[i], ".so")) {
                char **nc = realloc(cand->paths, (cand->n + 1) * sizeof *nc);
                if (nc && (nc[cand->n] = strdup(path)))
                    cand->n++;
                if (nc)
                    cand->paths = nc;
            }
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
    candidates cand = {NULL, 0};
    for (size_t i = 0; i < n_dirs; i++)
        scan_dir(r, dirs[i], 0, warn, &pc, &cand);
    free(pc.dir);
    probe_result *res = cand.n ? calloc(cand.n, sizeof *res) : NULL;
    if (res)
        probe_all(cand.paths, cand.n, res);
    for (size_t i = 0; i < cand.n; i++) {
        probe_result none = {PROBE_PENDING, 0, ""};
        try_load(r, cand.paths[i], warn, res ? &res[i] : &none);
        free(cand.paths[i]);
    }
    free(res);
    free(cand.paths);
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
        free(r->v[i].owned_reason); /* a plugin's available() answer (a peer's is freed above) */
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
