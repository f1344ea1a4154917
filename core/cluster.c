/* plan, run-job, merge (cluster.h): a matrix of comparison groups as
 * independent jobs, run anywhere, merged into one results document.
 *
 * A job is a set of the plan's runs, one comparison group by default, so
 * that the variants compared with each other are measured on one host,
 * interleaved, as a local run measures them. Every job replays the same
 * engine arguments (the suite with an absolute path, the --param options)
 * and keeps its own runs; merge replays them once more, takes each job's
 * repetitions into the plan's runs and analyses the whole as one run. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster.h"
#include "ctx_json.h"
#include "export.h"
#include "plan.h"
#include "resume.h"
#include "textbuf.h"

#ifndef MLB_VERSION
#define MLB_VERSION "unknown"
#endif

#define jget mlb_jget
#define jstr mlb_jstr
#define jindex mlb_manifest_index

/* ---- the manifest's id ---------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static char *read_bounded(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = cap <= max + 1 ? realloc(buf, cap + 1) : NULL;
            if (!nb) {
                snprintf(err, errlen, "%s: larger than %zu bytes, or out of memory", path, max);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "too large");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The id ties every line and part to one plan: the engine's version, the
 * suite's bytes (a suite edited since the plan is refused) and the args. */
static int manifest_id(char **args, size_t n, char out[17], char *err, size_t errlen)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, MLB_VERSION, sizeof MLB_VERSION);
    for (size_t i = 0; i < n; i++) {
        h = fnv1a(h, args[i], strlen(args[i]) + 1);
        if (!strcmp(args[i], "--config") && i + 1 < n) {
            size_t len;
            char *text = read_bounded(args[i + 1], MLB_MANIFEST_MAX_BYTES, &len, err, errlen);
            if (!text)
                return -1;
            h = fnv1a(h, text, len);
            free(text);
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return 0;
}

/* ---- plan ----------------------------------------------------------------- */

static void job_free(mlb_job *j)
{
    for (size_t i = 0; i < j->n_args; i++)
        free(j->args[i]);
    free(j->args);
    cJSON_Delete(j->line);
    for (size_t i = 0; i < j->n_parts; i++) {
        cJSON_Delete(j->parts[i]);
        free(j->part_paths[i]);
    }
    free(j->parts);
    free(j->part_paths);
}

static int push_arg(mlb_job *j, const char *a)
{
    char **nv = realloc(j->args, (j->n_args + 1) * sizeof *nv);
    if (!nv)
        return -1;
    j->args = nv;
    if (!(j->args[j->n_args] = strdup(a)))
        return -1;
    j->n_args++;
    return 0;
}

/* argv for mlb_engine_main: the program name, the args, then `extra`. */
static char **engine_argv(const mlb_job *j, char **extra, int n_extra, int *argc)
{
    char **v = calloc(j->n_args + (size_t)n_extra + 2, sizeof *v);
    if (!v)
        return NULL;
    int k = 0;
    v[k++] = (char *)"mlbench-engine";
    for (size_t i = 0; i < j->n_args; i++)
        v[k++] = j->args[i];
    for (int i = 0; i < n_extra; i++)
        v[k++] = extra[i];
    *argc = k;
    return v;
}

int mlb_cmd_plan(int argc, char **argv)
{
    static const char usage[] =
        "usage: mlbench-engine plan [SUITE.yaml] [ENGINE OPTIONS...] -o MANIFEST.jsonl\n"
        "                           [--jobs-per-group K]\n"
        "  Expands the suite (and --plugin/--param options, sweeps included) into independent\n"
        "  jobs, one JSON line each: one comparison group per job, or K jobs per group\n"
        "  (comparisons across them are then flagged as measured on different hosts).\n"
        "  Run each with `mlbench-engine run-job MANIFEST --index I --output parts/I.json`\n"
        "  and combine them with `mlbench-engine merge parts/*.json -o results.json`.\n";
    mlb_job job = {.mode = MLB_JOB_PLAN, .jobs_per_group = 1};
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rc = 0;
            goto out;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            job.manifest_out = argv[++i];
        } else if (!strcmp(a, "--jobs-per-group") && i + 1 < argc) {
            char *end;
            long k = strtol(argv[++i], &end, 10);
            if (*end || k < 1 || k > 100000) {
                fprintf(stderr, "mlbench-engine plan: --jobs-per-group: '%s' is not an integer "
                                "from 1 to 100000\n", argv[i]);
                goto out;
            }
            job.jobs_per_group = (int)k;
        } else if (i == 1 && a[0] != '-') {
            char abs[PATH_MAX];
            if (!realpath(a, abs)) {
                fprintf(stderr, "mlbench-engine plan: %s: %s\n", a, strerror(errno));
                goto out;
            }
            if (push_arg(&job, "--config") < 0 || push_arg(&job, abs) < 0)
                goto oom;
        } else if (!strcmp(a, "--config") && i + 1 < argc) {
            char abs[PATH_MAX];
            if (!realpath(argv[++i], abs)) {
                fprintf(stderr, "mlbench-engine plan: %s: %s\n", argv[i], strerror(errno));
                goto out;
            }
            if (push_arg(&job, "--config") < 0 || push_arg(&job, abs) < 0)
                goto oom;
        } else if (!strcmp(a, "--resume") || !strcmp(a, "--dry-run") || !strcmp(a, "--html") ||
                   !strcmp(a, "--csv") || !strcmp(a, "--markdown") ||
                   !strcmp(a, "--export-data")) {
            fprintf(stderr, "mlbench-engine plan: %s belongs to a run, not to a plan\n", a);
            goto out;
        } else if (push_arg(&job, a) < 0) {
            goto oom;
        }
    }
    if (!job.manifest_out) {
        fprintf(stderr, "mlbench-engine plan: -o MANIFEST.jsonl is required\n%s", usage);
        goto out;
    }
    char err[PATH_MAX + 256];
    if (mlb_export_check_path("plan -o", job.manifest_out, err, sizeof err) < 0) {
        fprintf(stderr, "mlbench-engine: %s\n", err);
        goto out;
    }
    if (manifest_id(job.args, job.n_args, job.id, err, sizeof err) < 0) {
        fprintf(stderr, "mlbench-engine plan: %s\n", err);
        goto out;
    }
    int ac;
    char **av = engine_argv(&job, NULL, 0, &ac);
    if (!av)
        goto oom;
    rc = mlb_engine_main(ac, av, &job);
    free(av);
    goto out;
oom:
    fprintf(stderr, "mlbench-engine plan: out of memory\n");
out:
    job_free(&job);
    return rc;
}

/* One line per job: the plan's groups, each cut into at most
 * jobs_per_group parts of consecutive runs. */
static int write_manifest(const mlb_job *job, const mlb_session *s)
{
    size_t n_jobs = 0;
    for (size_t g = 0; g < s->n_groups; g++) {
        size_t k = s->groups[g].n < (size_t)job->jobs_per_group ? s->groups[g].n
                                                                 : (size_t)job->jobs_per_group;
        n_jobs += k;
    }
    mlb_sbuf out = {0};
    size_t index = 0;
    for (size_t g = 0; g < s->n_groups; g++) {
        const mlb_group *gr = &s->groups[g];
        size_t k = gr->n < (size_t)job->jobs_per_group ? gr->n : (size_t)job->jobs_per_group;
        for (size_t part = 0; part < k; part++, index++) {
            size_t lo = gr->first + part * gr->n / k, hi = gr->first + (part + 1) * gr->n / k;
            cJSON *l = cJSON_CreateObject();
            cJSON_AddStringToObject(l, "schema", MLB_MANIFEST_SCHEMA);
            cJSON_AddNumberToObject(l, "index", (double)index);
            cJSON_AddNumberToObject(l, "jobs", (double)n_jobs);
            cJSON_AddStringToObject(l, "manifest_id", job->id);
            cJSON_AddStringToObject(l, "engine_version", MLB_VERSION);
            cJSON *args = cJSON_AddArrayToObject(l, "args");
            for (size_t i = 0; i < job->n_args; i++)
                cJSON_AddItemToArray(args, cJSON_CreateString(job->args[i]));
            cJSON_AddNumberToObject(l, "n_runs", (double)s->n_runs);
            cJSON_AddNumberToObject(l, "group", (double)g);
            cJSON_AddStringToObject(l, "task", gr->task);
            if (gr->label)
                cJSON_AddStringToObject(l, "label", gr->label);
            cJSON *runs = cJSON_AddArrayToObject(l, "runs");
            cJSON *names = cJSON_AddArrayToObject(l, "variants");
            int reps = 0;
            for (size_t r = lo; r < hi; r++) {
                cJSON_AddItemToArray(runs, cJSON_CreateNumber((double)r));
                cJSON_AddItemToArray(names, cJSON_CreateString(s->runs[r].pl->desc.variant));
                reps += s->runs[r].warmup + s->runs[r].repetitions;
            }
            cJSON_AddNumberToObject(l, "repetitions_total", reps);
            char *text = cJSON_PrintUnformatted(l);
            cJSON_Delete(l);
            if (!text) {
                free(out.s);
                fprintf(stderr, "mlbench-engine plan: out of memory\n");
                return -1;
            }
            mlb_sb_puts(&out, text);
            mlb_sb_puts(&out, "\n");
            free(text);
        }
    }
    char err[PATH_MAX + 256];
    int rc = out.oom ? -ENOMEM
                     : mlb_write_file_atomic(job->manifest_out, out.s ? out.s : "", out.len, err,
                                             sizeof err);
    free(out.s);
    if (rc < 0) {
        fprintf(stderr, "mlbench-engine plan: %s\n", out.oom ? "out of memory" : err);
        return -1;
    }
    fprintf(stderr, "mlbench-engine: plan: %zu job%s (%zu runs in %zu groups) written to %s\n",
            n_jobs, n_jobs == 1 ? "" : "s", s->n_runs, s->n_groups, job->manifest_out);
    return 0;
}

/* ---- run-job: keep the job's runs ----------------------------------------- */

/* Reduces s to the runs listed (increasing indices), their groups renumbered
 * in order; a group's baseline that is not kept becomes its first kept run. */
static int keep_runs(mlb_session *s, const long *keep, size_t n_keep)
{
    mlb_run *runs = calloc(n_keep, sizeof *runs);
    mlb_group *groups = calloc(n_keep, sizeof *groups);
    if (!runs || !groups) {
        free(runs);
        free(groups);
        return -1;
    }
    size_t n_groups = 0, k = 0;
    long last_old = -1;
    for (size_t i = 0; i < s->n_runs; i++) {
        if (k >= n_keep || (size_t)keep[k] != i) {
            mlb_run_free(&s->runs[i]);
            continue;
        }
        mlb_run *r = &runs[k];
        *r = s->runs[i];
        mlb_group *og = &s->groups[r->group];
        if (r->group != last_old) { /* the first kept run of its group */
            mlb_group *g = &groups[n_groups++];
            *g = *og; /* takes its strings */
            og->task = og->label = og->params_differ = NULL;
            og->point = NULL;
            og->n_point = 0;
            g->first = k;
            g->n = 0;
            g->baseline = k;
            last_old = r->group;
        }
        mlb_group *g = &groups[n_groups - 1];
        if (og->baseline == i)
            g->baseline = k;
        g->n++;
        r->group = (int)(n_groups - 1);
        k++;
    }
    for (size_t g = 0; g < s->n_groups; g++)
        mlb_group_free(&s->groups[g]);
    free(s->runs);
    free(s->groups);
    s->runs = runs;
    s->n_runs = n_keep;
    s->groups = groups;
    s->n_groups = n_groups;
    return 0;
}

/* The plan this run-job built must be the one the manifest was made from. */
static int select_job_runs(const mlb_job *job, mlb_session *s)
{
    const cJSON *line = job->line, *e;
    long n_runs = jindex(line, "n_runs");
    if (n_runs != (long)s->n_runs) {
        fprintf(stderr, "mlbench-engine run-job: this plan has %zu runs, the manifest's %ld: "
                        "plugins or their parameters changed since it was written\n",
                s->n_runs, n_runs);
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(jget(line, "runs")), k = 0;
    long *keep = malloc(n * sizeof *keep);
    if (!keep)
        return -1;
    const cJSON *names = jget(line, "variants");
    cJSON_ArrayForEach(e, jget(line, "runs"))
    {
        keep[k] = (long)e->valuedouble;
        const cJSON *name = cJSON_GetArrayItem(names, (int)k);
        const mlb_run *r = &s->runs[keep[k]];
        if (!cJSON_IsString(name) || strcmp(name->valuestring, r->pl->desc.variant) ||
            strcmp(jstr(line, "task") ? jstr(line, "task") : "", r->pl->desc.task)) {
            fprintf(stderr, "mlbench-engine run-job: run %ld of this plan is %s:%s, not what the "
                            "manifest says: plugins changed since it was written\n",
                    keep[k], r->pl->desc.task, r->pl->desc.variant);
            free(keep);
            return -1;
        }
        k++;
    }
    int rc = keep_runs(s, keep, n);
    free(keep);
    if (rc < 0)
        fprintf(stderr, "mlbench-engine run-job: out of memory\n");
    return rc;
}

int mlb_job_after_plan(mlb_job *job, mlb_session *s)
{
    if (!job)
        return 0;
    if (job->mode == MLB_JOB_PLAN)
        return write_manifest(job, s);
    if (job->mode == MLB_JOB_RUN)
        return select_job_runs(job, s);
    return 0;
}

/* Reads MANIFEST's line number `index` (its "index" field must agree). */
static cJSON *manifest_line(const char *path, long index, char *err, size_t errlen)
{
    size_t len;
    char *text = read_bounded(path, MLB_MANIFEST_MAX_BYTES, &len, err, errlen);
    if (!text)
        return NULL;
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s: holds a NUL byte: not a manifest", path);
        free(text);
        return NULL;
    }
    cJSON *found = NULL;
    long lineno = 0;
    for (char *p = text, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        if (lineno - 1 != index) {
            if (!nl)
                break;
            continue;
        }
        cJSON *l = cJSON_Parse(p);
        char why[256];
        if (!l || mlb_manifest_line_check(l, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%ld: %s", path, lineno, l ? why : "not valid JSON");
            cJSON_Delete(l);
            break;
        }
        if (jindex(l, "index") != index) {
            snprintf(err, errlen, "%s:%ld: holds index %ld, expected %ld", path, lineno,
                     jindex(l, "index"), index);
            cJSON_Delete(l);
            break;
        }
        found = l;
        break;
    }
    if (!found && !err[0])
        snprintf(err, errlen, "%s: has no line for index %ld (it holds %ld)", path, index,
                 lineno);
    free(text);
    return found;
}

static int args_from_json(mlb_job *job, const cJSON *args)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, args) if (push_arg(job, e->valuestring) < 0) return -1;
    return 0;
}

/* Runs the plan's arguments `args` again, for a job of the manifest `id`
 * (a suite edited since is refused), with `extra` options and --output.
 * `extra` has room for two more entries. Returns the exit status. */
static int replay(mlb_job *job, const char *cmd, const cJSON *args, const char *id,
                  char **extra, int n_extra, const char *output)
{
    char err[PATH_MAX + 256] = "";
    if (args_from_json(job, args) < 0 ||
        manifest_id(job->args, job->n_args, job->id, err, sizeof err) < 0) {
        fprintf(stderr, "mlbench-engine %s: %s\n", cmd, err[0] ? err : "out of memory");
        return 2;
    }
    if (strcmp(job->id, id)) {
        fprintf(stderr, "mlbench-engine %s: the suite changed since the manifest was written "
                        "(id %s, now %s): plan again\n", cmd, id, job->id);
        return 2;
    }
    extra[n_extra++] = (char *)"--output";
    extra[n_extra++] = (char *)output;
    int ac, rc = 2;
    char **av = engine_argv(job, extra, n_extra, &ac);
    if (av)
        rc = mlb_engine_main(ac, av, job);
    free(av);
    return rc;
}

int mlb_cmd_run_job(int argc, char **argv)
{
    static const char usage[] =
        "usage: mlbench-engine run-job MANIFEST.jsonl [--index I] --output PART.json\n"
        "                              [--quiet|--verbose] [--html F ...]\n"
        "  Runs job I of a manifest written by `mlbench-engine plan` (I defaults to\n"
        "  $SLURM_ARRAY_TASK_ID), exactly as the engine runs that group locally.\n";
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *manifest = argv[1], *output = NULL, *idx_text = getenv("SLURM_ARRAY_TASK_ID");
    char **extra = calloc((size_t)argc + 2, sizeof *extra);
    int n_extra = 0, rc = 2;
    mlb_job job = {.mode = MLB_JOB_RUN};
    if (!extra)
        return 2;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--index") && i + 1 < argc)
            idx_text = argv[++i];
        else if (!strcmp(argv[i], "--output") && i + 1 < argc)
            output = argv[++i];
        else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "--verbose"))
            extra[n_extra++] = argv[i];
        else if ((!strcmp(argv[i], "--html") || !strcmp(argv[i], "--csv") ||
                  !strcmp(argv[i], "--markdown")) && i + 1 < argc) {
            extra[n_extra++] = argv[i];
            extra[n_extra++] = argv[++i];
        } else {
            fprintf(stderr, "mlbench-engine run-job: unexpected '%s'\n%s", argv[i], usage);
            goto out;
        }
    }
    char *end = NULL;
    long index = idx_text ? strtol(idx_text, &end, 10) : -1;
    if (!idx_text || !*idx_text || *end || index < 0) {
        fprintf(stderr, "mlbench-engine run-job: --index I (or SLURM_ARRAY_TASK_ID) must be a "
                        "non-negative integer%s%s\n", idx_text ? ", got " : "",
                idx_text ? idx_text : "");
        goto out;
    }
    if (!output) {
        fprintf(stderr, "mlbench-engine run-job: --output PART.json is required\n");
        goto out;
    }
    char err[PATH_MAX + 512] = "";
    if (!(job.line = manifest_line(manifest, index, err, sizeof err))) {
        fprintf(stderr, "mlbench-engine run-job: %s\n", err);
        goto out;
    }
    if (strcmp(jstr(job.line, "engine_version"), MLB_VERSION)) {
        fprintf(stderr, "mlbench-engine run-job: the manifest was written by engine %s, this is "
                        "%s\n", jstr(job.line, "engine_version"), MLB_VERSION);
        goto out;
    }
    rc = replay(&job, "run-job", jget(job.line, "args"), jstr(job.line, "manifest_id"), extra,
                n_extra, output);
out:
    free(extra);
    job_free(&job);
    return rc;
}

/* ---- merge ---------------------------------------------------------------- */

int mlb_cmd_merge(int argc, char **argv)
{
    static const char usage[] =
        "usage: mlbench-engine merge PART.json... -o RESULTS.json [--quiet]\n"
        "                            [--html F] [--csv F] [--markdown F]\n"
        "  Checks that the parts come from one manifest and engine, none missing or twice,\n"
        "  re-plans, takes every part's repetitions and analyses them as one run;\n"
        "  comparisons of runs measured on different hosts are flagged.\n";
    mlb_job job = {.mode = MLB_JOB_MERGE};
    char **extra = calloc((size_t)argc + 2, sizeof *extra);
    const char *output = NULL;
    int n_extra = 0, rc = 2;
    char err[PATH_MAX + 512];
    if (!extra)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rc = 0;
            goto out;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            output = argv[++i];
        } else if (!strcmp(a, "--quiet")) {
            extra[n_extra++] = argv[i];
        } else if ((!strcmp(a, "--html") || !strcmp(a, "--csv") || !strcmp(a, "--markdown")) &&
                   i + 1 < argc) {
            extra[n_extra++] = argv[i];
            extra[n_extra++] = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "mlbench-engine merge: unknown option '%s'\n%s", a, usage);
            goto out;
        } else {
            cJSON **np = realloc(job.parts, (job.n_parts + 1) * sizeof *np);
            char **pp = np ? realloc(job.part_paths, (job.n_parts + 1) * sizeof *pp) : NULL;
            if (np)
                job.parts = np;
            if (pp)
                job.part_paths = pp;
            if (!np || !pp)
                goto out;
            cJSON *doc = mlb_results_load(a, err, sizeof err);
            if (!doc) {
                fprintf(stderr, "mlbench-engine merge: %s\n", err);
                goto out;
            }
            job.parts[job.n_parts] = doc;
            job.part_paths[job.n_parts++] = strdup(a);
        }
    }
    if (!output || !job.n_parts) {
        fprintf(stderr, "mlbench-engine merge: %s\n%s",
                output ? "no parts given" : "-o RESULTS.json is required", usage);
        goto out;
    }
    /* One manifest, one engine, every index once. */
    const cJSON *first = jget(job.parts[0], "job");
    long jobs = jindex(first, "jobs");
    const char *id = jstr(first, "manifest_id");
    if (jobs < 1 || !id) {
        fprintf(stderr, "mlbench-engine merge: %s was not written by run-job (no job block)\n",
                job.part_paths[0]);
        goto out;
    }
    const char **seen = calloc((size_t)jobs, sizeof *seen);
    if (!seen)
        goto out;
    int bad = 0;
    for (size_t p = 0; p < job.n_parts && !bad; p++) {
        const cJSON *j = jget(job.parts[p], "job");
        const char *ver = jstr(jget(job.parts[p], "environment"), "engine_version");
        const char *st = jstr(job.parts[p], "status");
        long index = jindex(j, "index");
        bad = 1;
        if (!j || !jstr(j, "manifest_id") || strcmp(jstr(j, "manifest_id"), id) ||
            jindex(j, "jobs") != jobs)
            fprintf(stderr, "mlbench-engine merge: %s comes from another manifest than %s\n",
                    job.part_paths[p], job.part_paths[0]);
        else if (!ver || strcmp(ver, MLB_VERSION))
            fprintf(stderr, "mlbench-engine merge: %s was written by engine %s, this is %s\n",
                    job.part_paths[p], ver ? ver : "(unknown)", MLB_VERSION);
        else if (index < 0 || index >= jobs)
            fprintf(stderr, "mlbench-engine merge: %s: job index out of range\n",
                    job.part_paths[p]);
        else if (seen[index])
            fprintf(stderr, "mlbench-engine merge: job %ld is there twice: %s and %s\n", index,
                    seen[index], job.part_paths[p]);
        else if (!st || strcmp(st, "complete"))
            fprintf(stderr, "mlbench-engine merge: %s (job %ld) is %s: run that job again\n",
                    job.part_paths[p], index, st ? st : "of unknown status");
        else {
            seen[index] = job.part_paths[p];
            bad = 0;
        }
    }
    if (!bad) {
        mlb_sbuf missing = {0};
        size_t n_missing = 0;
        for (long i = 0; i < jobs; i++)
            if (!seen[i])
                mlb_sb_printf(&missing, "%s%ld", n_missing++ ? ", " : "", i);
        if (n_missing) {
            fprintf(stderr, "mlbench-engine merge: %zu of %ld jobs missing: index%s %s\n",
                    n_missing, jobs, n_missing == 1 ? "" : "es", missing.s ? missing.s : "?");
            bad = 1;
        }
        free(missing.s);
    }
    free(seen);
    if (bad)
        goto out;
    rc = replay(&job, "merge", jget(first, "args"), id, extra, n_extra, output);
out:
    free(extra);
    job_free(&job);
    return rc;
}

/* Each part's runs into the plan's runs they were cut from. */
int mlb_job_after_prepare(mlb_job *job, mlb_session *s)
{
    if (!job || job->mode != MLB_JOB_MERGE)
        return 0;
    char *covered = calloc(s->n_runs ? s->n_runs : 1, 1);
    if (!covered)
        return -1;
    int rc = 0;
    for (size_t p = 0; p < job->n_parts && rc == 0; p++) {
        const cJSON *doc = job->parts[p], *j = jget(doc, "job"), *e;
        const char *host = jstr(jget(doc, "environment"), "hostname");
        const cJSON *runs = jget(doc, "runs");
        if (jindex(j, "n_runs") != (long)s->n_runs ||
            cJSON_GetArraySize(jget(j, "runs")) != cJSON_GetArraySize(runs)) {
            fprintf(stderr, "mlbench-engine merge: %s: its runs are not this plan's (%zu runs): "
                            "plugins changed since the manifest was written\n",
                    job->part_paths[p], s->n_runs);
            rc = -1;
            break;
        }
        int k = 0;
        cJSON_ArrayForEach(e, jget(j, "runs"))
        {
            long idx = cJSON_IsNumber(e) ? (long)e->valuedouble : -1;
            const cJSON *old = cJSON_GetArrayItem(runs, k++);
            mlb_run *r = idx >= 0 && idx < (long)s->n_runs ? &s->runs[idx] : NULL;
            cJSON *params = r ? mlb_ctx_params_json(&r->params) : NULL;
            int same = r && params && !covered[idx] && jstr(old, "task") &&
                       jstr(old, "variant") && !strcmp(jstr(old, "task"), r->pl->desc.task) &&
                       !strcmp(jstr(old, "variant"), r->pl->desc.variant) &&
                       cJSON_Compare(jget(old, "params"), params, 1);
            cJSON_Delete(params);
            if (!same) {
                fprintf(stderr, "mlbench-engine merge: %s: run %d is not run %ld of this plan "
                                "(task, variant or parameters differ)\n",
                        job->part_paths[p], k - 1, idx);
                rc = -1;
                break;
            }
            if (mlb_resume_take_run(r, old) < 0) {
                fprintf(stderr, "mlbench-engine merge: %s: run %d: a repetition cannot be read\n",
                        job->part_paths[p], k - 1);
                rc = -1;
                break;
            }
            covered[idx] = 1;
            r->host = host ? strdup(host) : NULL;
        }
    }
    for (size_t i = 0; rc == 0 && i < s->n_runs; i++)
        if (!covered[i]) {
            fprintf(stderr, "mlbench-engine merge: run %zu (%s:%s) is in no part\n", i,
                    s->runs[i].pl->desc.task, s->runs[i].pl->desc.variant);
            rc = -1;
        }
    free(covered);
    return rc;
}

static int same_host(const mlb_run *a, const mlb_run *b)
{
    return !a->host || !b->host || !strcmp(a->host, b->host);
}

void mlb_job_after_analyze(mlb_job *job, mlb_session *s, cJSON *env)
{
    if (!job || job->mode != MLB_JOB_MERGE)
        return;
    /* Variants measured on two machines differ by the machines too. */
    for (size_t i = 0; i < s->n_cmps; i++) {
        mlb_cmp_entry *c = &s->cmps[i];
        const mlb_run *a = &s->runs[c->a], *b = &s->runs[c->b];
        if (same_host(a, b))
            continue;
        c->cross_host = 1;
        /* Said before the trailing warnings, which reports cut off. */
        char rest[sizeof c->verdict];
        char *w = strstr(c->verdict, ". Warning: ");
        snprintf(rest, sizeof rest, "%s", w ? w : "");
        snprintf(w ? w : c->verdict + strlen(c->verdict),
                 sizeof c->verdict - (size_t)((w ? w : c->verdict + strlen(c->verdict)) - c->verdict),
                 " [measured on different hosts: %s and %s]%s", a->host, b->host, rest);
    }
    cJSON *from = cJSON_AddArrayToObject(env, "merged_from");
    cJSON *hosts = cJSON_AddArrayToObject(env, "hosts");
    for (size_t p = 0; p < job->n_parts; p++) {
        const cJSON *doc = job->parts[p], *j = jget(doc, "job");
        const char *host = jstr(jget(doc, "environment"), "hostname");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)jindex(j, "index"));
        cJSON_AddStringToObject(o, "file", job->part_paths[p]);
        cJSON_AddStringToObject(o, "host", host ? host : "");
        cJSON_AddItemToObject(o, "runs", cJSON_Duplicate(jget(j, "runs"), 1));
        cJSON_AddItemToArray(from, o);
        int known = 0;
        const cJSON *h;
        cJSON_ArrayForEach(h, hosts) known |= host && !strcmp(h->valuestring, host);
        if (host && !known)
            cJSON_AddItemToArray(hosts, cJSON_CreateString(host));
    }
    cJSON_AddStringToObject(env, "manifest_id", job->id);
}

/* A part says which job it is, so that merge can check the set. */
void mlb_job_annotate(const mlb_job *job, cJSON *doc)
{
    if (!job || job->mode != MLB_JOB_RUN)
        return;
    cJSON *j = cJSON_AddObjectToObject(doc, "job");
    const char *const keys[] = {"index", "jobs", "n_runs", "group"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        cJSON_AddNumberToObject(j, keys[k], (double)jindex(job->line, keys[k]));
    cJSON_AddStringToObject(j, "manifest_id", job->id);
    cJSON_AddItemToObject(j, "runs", cJSON_Duplicate(jget(job->line, "runs"), 1));
    cJSON_AddItemToObject(j, "args", cJSON_Duplicate(jget(job->line, "args"), 1));
}
