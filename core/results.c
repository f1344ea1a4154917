/* The results document (schema mlbench.result/1, docs/results-schema.md) and
 * its atomic write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx_json.h"
#include "engine.h"
#include "scaling.h"
#include "suite.h"

#define RESULT_SCHEMA "mlbench.result/1"

static double rep_metric(const mlb_rep *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_metrics; i++)
        if (!strcmp(rep->metrics[i].name, name))
            return rep->metrics[i].value;
    return NAN;
}

/* config.scenario: the settings; the run's "scenario": in how many of its
 * repetitions p99 met the bound (server with a bound). */
static void scenario_json(cJSON *cfg, cJSON *run, const mlb_run *r)
{
    const mlb_scenario *sc = &r->scenario;
    cJSON *o = cJSON_AddObjectToObject(cfg, "scenario");
    cJSON_AddStringToObject(o, "name", mlb_scenario_name(sc->kind));
    if (sc->kind != MLB_SCN_SERVER)
        return;
    cJSON_AddStringToObject(o, "arrivals", "poisson");
    if (sc->find_peak)
        cJSON_AddBoolToObject(o, "find_peak_qps", 1);
    else
        cJSON_AddNumberToObject(o, "qps", sc->qps);
    if (!(sc->latency_bound_s > 0))
        return;
    cJSON_AddNumberToObject(o, "latency_bound_ms", sc->latency_bound_s * 1e3);
    int met = 0, of = 0;
    for (size_t i = 0; i < r->n_reps; i++) {
        if (r->reps[i].status != MLB_REP_OK)
            continue;
        of++;
        double v = sc->find_peak ? rep_metric(&r->reps[i], MLB_SCN_M_PEAK)
                                 : rep_metric(&r->reps[i], MLB_SCN_M_P99);
        met += sc->find_peak ? v > 0 : v <= sc->latency_bound_s * 1e3;
    }
    cJSON *f = cJSON_AddObjectToObject(run, "scenario");
    cJSON_AddNumberToObject(f, "bound_met", met);
    cJSON_AddNumberToObject(f, "of", of);
}

static cJSON *run_json(const mlb_run *r, int index)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", index);
    cJSON_AddStringToObject(o, "task", r->pl->desc.task);
    cJSON_AddStringToObject(o, "variant", r->pl->desc.variant);
    cJSON_AddStringToObject(o, "plugin_path", r->pl->path);
    if (r->pl->peer) { /* how the peer was run: its settings are part of the result */
        const mlb_peer_desc *d = r->pl->peer;
        cJSON *pe = cJSON_AddObjectToObject(o, "peer");
        cJSON *cmd = cJSON_AddArrayToObject(pe, "command");
        for (size_t i = 0; i < d->n_command; i++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(d->command[i]));
        cJSON *env = cJSON_AddObjectToObject(pe, "env");
        for (size_t i = 0; i < d->n_env; i++)
            cJSON_AddStringToObject(env, d->env[i].key, d->env[i].value);
        if (d->data_from)
            cJSON_AddStringToObject(pe, "data_from", d->data_from);
    }
    cJSON_AddNumberToObject(o, "group", r->group);
    cJSON_AddItemToObject(o, "params", mlb_ctx_params_json(&r->params));
    cJSON_AddStringToObject(o, "status", mlb_rep_status_name(r->status));
    if (r->host)
        cJSON_AddStringToObject(o, "host", r->host);
    if (r->message)
        cJSON_AddStringToObject(o, "message", r->message);
    cJSON *cfg = cJSON_AddObjectToObject(o, "config");
    cJSON_AddNumberToObject(cfg, "repetitions", r->repetitions);
    cJSON_AddNumberToObject(cfg, "warmup", r->warmup);
    cJSON_AddNumberToObject(cfg, "infer_queries", r->infer_queries);
    cJSON_AddNumberToObject(cfg, "timeout_s", r->timeout_s);
    scenario_json(cfg, o, r);
    if (r->vary_seed)
        cJSON_AddBoolToObject(cfg, "vary_seed", 1);
    cJSON *w = cJSON_AddArrayToObject(o, "warmup_status");
    for (size_t i = 0; i < r->n_warmup; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(mlb_rep_status_name(r->warmup_status[i])));
    cJSON *reps = cJSON_AddArrayToObject(o, "repetitions");
    for (size_t i = 0; i < r->n_reps; i++)
        cJSON_AddItemToArray(reps, mlb_rep_to_json(&r->reps[i]));
    if (r->summary)
        cJSON_AddItemToObject(o, "summary", cJSON_Duplicate(r->summary, 1));
    return o;
}

cJSON *mlb_results_json(const mlb_session *s, cJSON *environment)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "schema", RESULT_SCHEMA);
    cJSON_AddStringToObject(doc, "status", s->interrupted ? "interrupted" : "complete");
    if (s->analysis_error[0])
        cJSON_AddStringToObject(doc, "analysis_error", s->analysis_error);
    cJSON_AddItemToObject(doc, "environment", environment);
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    for (size_t i = 0; i < s->n_runs; i++)
        cJSON_AddItemToArray(runs, run_json(&s->runs[i], (int)i));
    cJSON *groups = cJSON_AddArrayToObject(doc, "groups");
    for (size_t g = 0; g < s->n_groups; g++) {
        const mlb_group *gr = &s->groups[g];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)g);
        cJSON_AddStringToObject(o, "task", gr->task);
        cJSON_AddStringToObject(o, "label", gr->label ? gr->label : "");
        cJSON *ri = cJSON_AddArrayToObject(o, "runs");
        for (size_t k = gr->first; k < gr->first + gr->n; k++)
            cJSON_AddItemToArray(ri, cJSON_CreateNumber((double)k));
        cJSON_AddNumberToObject(o, "baseline", (double)gr->baseline);
        cJSON_AddStringToObject(o, "baseline_variant", s->runs[gr->baseline].pl->desc.variant);
        cJSON_AddStringToObject(o, "baseline_rule", gr->baseline_rule ? gr->baseline_rule : "first");
        if (gr->n_point) { /* this group's point of a sweep, typed as the parameter */
            cJSON *pt = cJSON_AddObjectToObject(o, "point");
            const cJSON *params = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(runs, (int)gr->first), "params");
            for (size_t q = 0; q < gr->n_point; q++) {
                char first[256];
                snprintf(first, sizeof first, "%s", gr->point[2 * q]);
                char *eq = strchr(first, '=');
                if (eq)
                    *eq = '\0';
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, first);
                cJSON_AddItemToObject(pt, gr->point[2 * q],
                                      v ? cJSON_Duplicate(v, 0) : cJSON_CreateString(gr->point[2 * q + 1]));
            }
        }
        cJSON *pd = cJSON_AddArrayToObject(o, "params_differ");
        if (gr->params_differ) {
            char buf[1024];
            snprintf(buf, sizeof buf, "%s", gr->params_differ);
            for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t;
                 t = strtok_r(NULL, ", ", &save))
                cJSON_AddItemToArray(pd, cJSON_CreateString(t));
        }
        cJSON_AddItemToArray(groups, o);
    }
    /* The sweep: which parameters vary; each group's point is in groups[]. */
    cJSON *sw = NULL;
    for (size_t g = 0; g < s->n_groups; g++)
        for (size_t q = 0; q < s->groups[g].n_point; q++) {
            if (!sw)
                sw = cJSON_AddArrayToObject(cJSON_AddObjectToObject(doc, "sweep"), "params");
            int seen = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, sw) seen |= !strcmp(e->valuestring, s->groups[g].point[2 * q]);
            if (!seen)
                cJSON_AddItemToArray(sw, cJSON_CreateString(s->groups[g].point[2 * q]));
        }
    cJSON *scaling = mlb_scaling_json(s);
    if (scaling)
        cJSON_AddItemToObject(doc, "scaling", scaling);
    cJSON *cmps = cJSON_AddArrayToObject(doc, "comparisons");
    for (size_t i = 0; i < s->n_cmps; i++) {
        const mlb_cmp_entry *e = &s->cmps[i];
        cJSON *c = mlb_comparison_to_json(&e->c);
        if (!c)
            continue;
        /* The samples' summaries are in the runs; here a and b name them. */
        cJSON_DeleteItemFromObjectCaseSensitive(c, "a");
        cJSON_DeleteItemFromObjectCaseSensitive(c, "b");
        cJSON_AddStringToObject(c, "task", s->runs[e->a].pl->desc.task);
        cJSON_AddStringToObject(c, "a", s->runs[e->a].pl->desc.variant);
        cJSON_AddStringToObject(c, "b", s->runs[e->b].pl->desc.variant);
        cJSON_AddNumberToObject(c, "run_a", e->a);
        cJSON_AddNumberToObject(c, "run_b", e->b);
        cJSON_AddStringToObject(c, "quantity", e->what);
        cJSON_AddStringToObject(c, "better", e->better == MLB_BETTER_HIGHER ? "higher" : "lower");
        cJSON *adj = cJSON_AddObjectToObject(c, "p_adjusted_family");
        const double pv[3] = {e->p_bonferroni, e->p_holm, e->p_bh};
        const char *pn[3] = {"bonferroni", "holm", "bh"};
        for (int k = 0; k < 3; k++) {
            if (isfinite(pv[k]))
                cJSON_AddNumberToObject(adj, pn[k], pv[k]);
            else
                cJSON_AddNullToObject(adj, pn[k]);
        }
        cJSON_AddStringToObject(c, "verdict", e->verdict);
        if (e->cross_host)
            cJSON_AddBoolToObject(c, "cross_host", 1);
        cJSON_AddItemToArray(cmps, c);
    }
    return doc;
}

static int write_all(int fd, const char *text, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO; /* a 0-byte write leaves errno as it was */
        off += (size_t)w;
    }
    return 0;
}

/* A character device or FIFO named as an output (/dev/null, /dev/stdout, a
 * pipe to a reader) is written through: rename() would replace the node
 * itself, which as root turns /dev/null into a regular file. A FIFO without
 * a reader is an error rather than a hang. */
static int write_through(const char *path, const char *text, size_t len, char *err,
                         size_t errlen)
{
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot write: %s", path,
                 e == ENXIO ? "a FIFO with no reader" : strerror(e));
        return -e;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int rc = write_all(fd, text, len);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-rc));
    return rc;
}

/* Follows symbolic links from `path` to what they finally name, which may
 * not exist yet (a link to a file still to be written). 0, or -ELOOP. */
static int follow_links(const char *path, char *real, size_t reallen)
{
    char cur[PATH_MAX], target[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode)) {
            snprintf(real, reallen, "%s", cur);
            return 0;
        }
        ssize_t n = readlink(cur, target, sizeof target - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        char *slash = strrchr(cur, '/');
        if (target[0] == '/' || !slash) {
            snprintf(cur, sizeof cur, "%s", target);
        } else {
            slash[1] = '\0';
            char next[PATH_MAX];
            if (snprintf(next, sizeof next, "%s%s", cur, target) >= (int)sizeof next)
                return -ENAMETOOLONG;
            snprintf(cur, sizeof cur, "%s", next);
        }
    }
    return -ELOOP;
}

int mlb_output_check(const char *what, const char *path, char *real, size_t reallen, char *err,
                     size_t errlen)
{
    struct stat st;
    snprintf(real, reallen, "%s", path);
    if (stat(path, &st) == 0) {
        if (S_ISREG(st.st_mode)) {
            char *r = realpath(path, NULL);
            if (r)
                snprintf(real, reallen, "%s", r);
            free(r);
            return 0;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s %s: is a directory", what, path);
            return -EISDIR;
        }
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
            return 1; /* opened by its own name: /dev/stdout's link is not a path */
        snprintf(err, errlen, "%s %s: is a %s, not a file: refusing to write it", what, path,
                 S_ISBLK(st.st_mode)    ? "block device"
                 : S_ISSOCK(st.st_mode) ? "socket"
                                        : "special file");
        return -EINVAL;
    }
    int e = errno;
    if (e != ENOENT) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
        return -e;
    }
    /* Nothing there yet, or a link to a file still to be written: the file
     * it will name. Its directory is checked by the caller. */
    int rc = follow_links(path, real, reallen);
    if (rc < 0) {
        snprintf(err, errlen, "%s %s: cannot follow the symbolic link: %s", what, path,
                 strerror(-rc));
        return rc;
    }
    return 0;
}

int mlb_write_file_atomic(const char *path, const char *text, size_t len, char *err,
                          size_t errlen)
{
    char real[PATH_MAX], tmp[PATH_MAX + 16];
    int kind = mlb_output_check("output", path, real, sizeof real, err, errlen);
    if (kind < 0)
        return kind;
    if (kind == 1)
        return write_through(real, text, len, err, errlen);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", real) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot create temporary file: %s", path, strerror(e));
        return -e;
    }
    int rc = write_all(fd, text, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    fchmod(fd, 0644);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, real) < 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-rc));
        unlink(tmp);
    }
    return rc;
}

int mlb_write_json_atomic(const char *path, const cJSON *doc, char *err, size_t errlen)
{
    char *text = cJSON_Print(doc);
    if (!text) {
        snprintf(err, errlen, "%s: cannot serialise results (out of memory)", path);
        return -ENOMEM;
    }
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (!withnl) {
        free(text);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    int rc = mlb_write_file_atomic(path, withnl, len + 1, err, errlen);
    free(withnl);
    return rc;
}
