/* The report entry points: mlb_export_* for a run's --html, --csv and
 * --markdown, and `mlbench-engine report` for a saved document. Both render
 * the JSON document only, never the in-memory session, so that a saved
 * result and the live run produce the same bytes, and the document's rules
 * hold (unknown fields ignored, null where a value could not be computed). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "export.h"
#include "phases.h"
#include "textbuf.h"

#define RESULT_SCHEMA "mlbench.result/1"

/* "mlbench.result/1" with `runs` an array of objects: anything else is not
 * a document these reports can read. */
static int doc_check(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "%s: not an mlbench result (not a JSON object)", path);
        return -EINVAL;
    }
    const char *schema = mlb_jstr(doc, "schema");
    if (!schema) {
        snprintf(err, errlen, "%s: not an mlbench result (field 'schema' is missing)", path);
        return -EINVAL;
    }
    if (strcmp(schema, RESULT_SCHEMA) != 0) {
        snprintf(err, errlen, "%s: field 'schema': '%s' is not %s, the schema this engine reads",
                 path, schema, RESULT_SCHEMA);
        return -EINVAL;
    }
    const cJSON *runs = mlb_jget(doc, "runs"), *r;
    if (!cJSON_IsArray(runs)) {
        snprintf(err, errlen, "%s: field 'runs' is missing or not an array", path);
        return -EINVAL;
    }
    int i = 0;
    cJSON_ArrayForEach(r, runs)
    {
        if (!cJSON_IsObject(r)) {
            snprintf(err, errlen, "%s: field 'runs[%d]' is not an object", path, i);
            return -EINVAL;
        }
        if (!mlb_jstr(r, "task") || !mlb_jstr(r, "variant")) {
            snprintf(err, errlen, "%s: field 'runs[%d]': 'task' and 'variant' must be strings",
                     path, i);
            return -EINVAL;
        }
        i++;
    }
    const cJSON *cmps = mlb_jget(doc, "comparisons");
    if (cmps && !cJSON_IsArray(cmps) && !cJSON_IsNull(cmps)) {
        snprintf(err, errlen, "%s: field 'comparisons' is not an array", path);
        return -EINVAL;
    }
    return 0;
}

/* One of mlb_render_html, mlb_render_csv, mlb_render_markdown. */
typedef int (*builder)(const cJSON *doc, mlb_sbuf *b);

static int build(builder fn, const cJSON *doc, const char *path, mlb_sbuf *b, char *err,
                 size_t errlen)
{
    memset(b, 0, sizeof *b);
    int rc = doc_check(doc, path, err, errlen);
    if (rc < 0)
        return rc;
    rc = fn(doc, b);
    if (rc == 0 && (b->oom || !b->s))
        rc = -ENOMEM;
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot build the report: %s", path, strerror(-rc));
        free(b->s);
        memset(b, 0, sizeof *b);
    }
    return rc;
}

static int export_with(builder fn, const cJSON *doc, const char *path, char *err, size_t errlen)
{
    mlb_sbuf b;
    int rc = build(fn, doc, path, &b, err, errlen);
    if (rc < 0)
        return rc;
    rc = mlb_write_file_atomic(path, b.s, b.len, err, errlen);
    free(b.s);
    return rc;
}

/* The HTML report with the assessment's section (phases.h): asking dpkg is
 * the writer's business, not the pure renderer's. */
static int render_html_assessed(const cJSON *doc, mlb_sbuf *b)
{
    cJSON *assessment = mlb_assess_json(doc); /* NULL: the report goes without it */
    int rc = mlb_render_html_with(doc, assessment, b);
    cJSON_Delete(assessment);
    return rc;
}

int mlb_export_html(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    return export_with(render_html_assessed, doc, path, err, errlen);
}

int mlb_export_csv(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    return export_with(mlb_render_csv, doc, path, err, errlen);
}

int mlb_export_markdown(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    return export_with(mlb_render_markdown, doc, path, err, errlen);
}

int mlb_export_check_path(const char *what, const char *path, char *err, size_t errlen)
{
    if (!*path) {
        snprintf(err, errlen, "%s: empty file name", what);
        return -EINVAL;
    }
    /* Through a link, the temporary file goes next to the file it names;
     * a device or FIFO is written through, its directory untouched. */
    char dir[PATH_MAX];
    int rc = mlb_output_check(what, path, dir, sizeof dir, err, errlen);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s %s: directory %s: %s", what, path, dir, strerror(e));
        return -e;
    }
    /* access() says yes to root everywhere, and to a read-only or special
     * filesystem's directory: creating the temporary file the write will
     * need is the only sure test, and it costs one file. */
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/.mlbench-probe-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s %s: directory %s: cannot create a file in it: %s", what, path,
                 dir, strerror(e));
        return -e;
    }
    close(fd);
    unlink(probe);
    return 0;
}

/* ---- `mlbench-engine report` --------------------------------------------------- */

static void report_usage(FILE *f)
{
    fprintf(f, "Usage: mlbench-engine report RESULTS.json [--html OUT.html] [--csv OUT.csv] "
               "[--markdown OUT.md]\n"
               "\n"
               "Renders a results document (written by --output) as:\n"
               "  --html FILE       one self-contained page: environment, tables, box plots,\n"
               "                    throughput, learning curves, memory, verdicts, failures\n"
               "  --csv FILE        one row per repetition: phases' times, memory, items, metrics\n"
               "  --markdown FILE   the tables and verdicts as GitHub Markdown\n"
               "At least one is required. Nothing is written unless every output can be.\n"
               "A document is read up to 1 GiB; nothing but white space may follow it.\n"
               "Exit status: 0 written, 2 on usage or input errors.\n");
}

/* The most of a results document `report`, `compare` and `--resume` read: a
 * run of 50 000 repetitions is about 100 MB. */
#define MLB_RESULTS_MAX_BYTES (1ull << 30)

/* Reads and checks a results document; NULL with a message naming the file
 * (and the line, for invalid JSON). */
cJSON *mlb_results_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (unsigned long long)st.st_size > MLB_RESULTS_MAX_BYTES) {
        snprintf(err, errlen, "%s: %lld bytes: a results document is read up to 1 GiB", path,
                 (long long)st.st_size);
        fclose(f);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap + 1);
    int too_big = 0;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len > MLB_RESULTS_MAX_BYTES) { /* a pipe or device: no size to check first */
            too_big = 1;
            break;
        }
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (too_big) {
        snprintf(err, errlen, "%s: more than 1 GiB: a results document is read up to 1 GiB",
                 path);
        free(buf);
        return NULL;
    }
    if (!buf || rerr) {
        snprintf(err, errlen, "%s: cannot read: %s", path, buf ? "read error" : strerror(ENOMEM));
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(buf, &end, 0);
    if (!doc) {
        size_t off = end ? (size_t)(end - buf) : 0, line = 1;
        for (size_t i = 0; i < off && i < len; i++)
            line += buf[i] == '\n';
        snprintf(err, errlen, "%s:%zu: not valid JSON (byte %zu)", path, line, off);
        free(buf);
        return NULL;
    }
    /* Only white space may follow the document: trailing bytes (a second
     * document, a NUL, the rest of a botched edit) are not silently dropped. */
    size_t off = (size_t)(end - buf);
    while (off < len && (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' ||
                         buf[off] == '\r'))
        off++;
    if (off < len) {
        size_t line = 1;
        for (size_t i = 0; i < off; i++)
            line += buf[i] == '\n';
        snprintf(err, errlen, "%s:%zu: data after the JSON document (byte %zu)", path, line, off);
        cJSON_Delete(doc);
        free(buf);
        return NULL;
    }
    free(buf);
    /* A document edited by hand or by another tool: what is rendered from
     * it is valid UTF-8 whatever it holds. */
    if (mlb_json_fix_utf8(doc) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        cJSON_Delete(doc);
        return NULL;
    }
    if (doc_check(doc, path, err, errlen) < 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int mlb_cmd_report(int argc, char **argv)
{
    static const char *const opt[3] = {"--html", "--csv", "--markdown"};
    static const builder fns[3] = {render_html_assessed, mlb_render_csv, mlb_render_markdown};
    const char *in = NULL, *out[3] = {NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            report_usage(stdout);
            return 0;
        }
        int k = -1;
        const char *val = NULL;
        for (int j = 0; j < 3 && k < 0; j++) {
            size_t l = strlen(opt[j]);
            if (!strncmp(a, opt[j], l) && (a[l] == '\0' || a[l] == '=')) {
                k = j;
                val = a[l] == '=' ? a + l + 1 : NULL;
            }
        }
        if (k >= 0) {
            if (!val && i + 1 < argc)
                val = argv[++i];
            if (!val || !*val) {
                fprintf(stderr, "mlbench-engine report: %s needs a file name\n", opt[k]);
                return 2;
            }
            if (out[k]) {
                fprintf(stderr, "mlbench-engine report: %s given twice\n", opt[k]);
                return 2;
            }
            out[k] = val;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mlbench-engine report: unknown option '%s'\n", a);
            report_usage(stderr);
            return 2;
        }
        if (in) {
            fprintf(stderr, "mlbench-engine report: unexpected argument '%s' (one results "
                            "file)\n", a);
            return 2;
        }
        in = a;
    }
    if (!in) {
        fprintf(stderr, "mlbench-engine report: no results file given\n");
        report_usage(stderr);
        return 2;
    }
    char err[PATH_MAX + 512];
    if (!out[0] && !out[1] && !out[2]) { /* no file asked for: the terminal table */
        cJSON *doc = mlb_results_load(in, err, sizeof err);
        if (!doc) {
            fprintf(stderr, "mlbench-engine report: %s\n", err);
            return 2;
        }
        mlb_report_terminal(stdout, doc);
        cJSON_Delete(doc);
        return 0;
    }
    for (int k = 0; k < 3; k++)
        if (out[k] && mlb_export_check_path(opt[k], out[k], err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine report: %s\n", err);
            return 2;
        }
    cJSON *doc = mlb_results_load(in, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "mlbench-engine report: %s\n", err);
        return 2;
    }
    /* Every text first, then the files: an error leaves nothing half-done. */
    mlb_sbuf text[3];
    memset(text, 0, sizeof text);
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++)
        if (out[k])
            rc = build(fns[k], doc, out[k], &text[k], err, sizeof err);
    for (int k = 0; k < 3 && rc == 0; k++)
        if (out[k]) {
            rc = mlb_write_file_atomic(out[k], text[k].s, text[k].len, err, sizeof err);
            if (rc == 0)
                fprintf(stderr, "mlbench-engine report: wrote %s\n", out[k]);
        }
    if (rc < 0)
        fprintf(stderr, "mlbench-engine report: %s\n", err);
    for (int k = 0; k < 3; k++)
        free(text[k].s);
    cJSON_Delete(doc);
    return rc < 0 ? 2 : 0;
}
