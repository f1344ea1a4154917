/* `mlbench-engine validate [SUITE]`: the validation phase, before a long
 * run. The machine: what would bias timings (frequency scaling, turbo, other
 * load, swap, too little memory, thread settings that oversubscribe), each
 * with what to do about it. The variants: a short run of the suite by this
 * engine (few repetitions, no warm-up) and each variant's quality against
 * its group's baseline by the equivalence rule, read from that run's
 * document, so that the check is the run's own analysis. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cells.h"
#include "cli.h"
#include "export.h"
#include "phases.h"
#include "textbuf.h"

#define CMD "mlbench-engine validate"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " CMD " [SUITE.yaml] [--plugin SPEC]... [--param P]... [--strict]\n"
            "                               [--repetitions N] [--no-run] [--json]\n"
            "\n"
            "Checks this machine before a long run: the CPU frequency governor and turbo\n"
            "(where /sys shows them), the load average and other processes' CPU use (over\n"
            "half a second), OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / OPENBLAS_CORETYPE,\n"
            "free memory and swap; each with what to fix. Then, for a SUITE (or --plugin\n"
            "specs, as a run takes them), runs it briefly with this engine and checks that\n"
            "every variant reaches quality equivalent to its group's baseline (the\n"
            "reference) on every metric, by the equivalence rule.\n"
            "  --repetitions N  repetitions of the short run (default 3, no warm-up)\n"
            "  --no-run         the machine checks only\n"
            "  --strict         exit 1 when a machine check would bias timings\n"
            "  --json           the checks as one JSON object on stdout\n"
            "Exit status: 0; 1 a variant failed or is worse than its reference (or, with\n"
            "--strict, something would bias timings); 2 usage errors.\n");
}

typedef enum { CK_OK, CK_NOTE, CK_BIAS } ck_level;
static const char *const ck_word[] = {"ok", "note", "bias"};

static void check(cJSON *arr, const char *name, ck_level lv, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void check(cJSON *arr, const char *name, ck_level lv, const char *fix, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "check", name);
    cJSON_AddStringToObject(o, "status", ck_word[lv]);
    cJSON_AddStringToObject(o, "message", msg);
    if (fix)
        cJSON_AddStringToObject(o, "fix", fix);
    cJSON_AddItemToArray(arr, o);
}

static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static void check_governor(cJSON *arr, long ncpu)
{
    int n = 0, perf = 0;
    char other[64] = "";
    for (long c = 0; c < ncpu && c < 4096; c++) {
        char path[128], g[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/cpufreq/scaling_governor", c);
        if (read_line(path, g, sizeof g) < 0)
            continue;
        n++;
        if (!strcmp(g, "performance"))
            perf++;
        else if (!other[0])
            snprintf(other, sizeof other, "%s", g);
    }
    if (!n)
        check(arr, "governor", CK_NOTE, NULL,
              "CPU frequency governor: not exposed in /sys (a VM, or no cpufreq driver); the "
              "host controls the clock");
    else if (perf == n)
        check(arr, "governor", CK_OK, NULL, "CPU frequency governor: performance on %d CPUs", n);
    else
        check(arr, "governor", CK_BIAS,
              "as root: cpupower frequency-set -g performance (or write performance to "
              "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)",
              "CPU frequency governor: %s on %d of %d CPUs (the clock follows the load, so "
              "early repetitions run slower)",
              other, n - perf, n);
}

static void check_turbo(cJSON *arr)
{
    char v[32];
    if (read_line("/sys/devices/system/cpu/intel_pstate/no_turbo", v, sizeof v) == 0) {
        if (atoi(v) == 0)
            check(arr, "turbo", CK_BIAS,
                  "as root: echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo",
                  "turbo boost: on (intel_pstate): the clock depends on temperature and on how "
                  "many cores are busy");
        else
            check(arr, "turbo", CK_OK, NULL, "turbo boost: off (intel_pstate)");
    } else if (read_line("/sys/devices/system/cpu/cpufreq/boost", v, sizeof v) == 0) {
        if (atoi(v) == 1)
            check(arr, "turbo", CK_BIAS, "as root: echo 0 > /sys/devices/system/cpu/cpufreq/boost",
                  "turbo boost: on (cpufreq boost): the clock depends on temperature and load");
        else
            check(arr, "turbo", CK_OK, NULL, "turbo boost: off (cpufreq boost)");
    } else
        check(arr, "turbo", CK_NOTE, NULL,
              "turbo boost: not exposed in /sys (a VM, or no intel_pstate / cpufreq boost)");
}

/* CPU time of every process but this one, per pid, from /proc/PID/stat. */
typedef struct {
    int pid;
    double ticks;
    char comm[32];
} proc_ticks;

static size_t scan_procs(proc_ticks *v, size_t cap)
{
    DIR *d = opendir("/proc");
    size_t n = 0;
    struct dirent *e;
    int self = (int)getpid();
    while (d && n < cap && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        int pid = atoi(e->d_name);
        if (pid == self)
            continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
        if (!lp || !rp)
            continue;
        unsigned long ut = 0, st = 0;
        /* After "comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime. */
        if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        v[n].pid = pid;
        v[n].ticks = (double)(ut + st);
        size_t cl = (size_t)(rp - lp - 1);
        if (cl >= sizeof v[n].comm)
            cl = sizeof v[n].comm - 1;
        memcpy(v[n].comm, lp + 1, cl);
        v[n].comm[cl] = '\0';
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int busy_cmp(const void *a, const void *b)
{
    const proc_ticks *x = a, *y = b;
    return (y->ticks > x->ticks) - (y->ticks < x->ticks);
}

static void check_load(cJSON *arr, long ncpu)
{
    char la[128];
    double l1 = NAN;
    if (read_line("/proc/loadavg", la, sizeof la) == 0)
        l1 = atof(la);
    double lim = fmax(0.5, 0.25 * (double)ncpu);
    if (!isfinite(l1))
        check(arr, "loadavg", CK_NOTE, NULL, "load average: /proc/loadavg unreadable");
    else
        check(arr, "loadavg", l1 > lim ? CK_BIAS : CK_OK,
              l1 > lim ? "wait for the other work to finish, or run on a quieter machine" : NULL,
              "load average (1 min): %.2f on %ld cores%s", l1, ncpu,
              l1 > lim ? ": other work competes for the cores the benchmark times" : "");

    /* Other processes' CPU over half a second: the load average lags by a
     * minute, this is now. */
    enum { CAP = 8192 };
    proc_ticks *a = calloc(CAP, sizeof *a), *b = calloc(CAP, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return;
    }
    size_t na = scan_procs(a, CAP);
    struct timespec ts = {0, 500000000L};
    nanosleep(&ts, NULL);
    size_t nb = scan_procs(b, CAP);
    double hz = (double)sysconf(_SC_CLK_TCK), total = 0;
    for (size_t i = 0; i < nb; i++) {
        double before = 0;
        for (size_t j = 0; j < na; j++)
            if (a[j].pid == b[i].pid) {
                before = a[j].ticks;
                break;
            }
        b[i].ticks = fmax(0, b[i].ticks - before) / hz / 0.5; /* cores */
        total += b[i].ticks;
    }
    qsort(b, nb, sizeof *b, busy_cmp);
    char top[512] = "";
    size_t at = 0;
    for (size_t i = 0; i < nb && i < 3 && b[i].ticks >= 0.05; i++) {
        int k = snprintf(top + at, sizeof top - at, "%s%s (pid %d) %.2f", at ? ", " : "",
                         b[i].comm, b[i].pid, b[i].ticks);
        if (k > 0 && (size_t)k < sizeof top - at)
            at += (size_t)k;
    }
    int busy = total > 0.25;
    char fix[600];
    snprintf(fix, sizeof fix, "stop or wait for the busiest: %s", top);
    check(arr, "other_cpu", busy ? CK_BIAS : CK_OK, busy ? fix : NULL,
          "other processes' CPU: %.2f cores busy over 0.5 s%s%s", total, at ? "; busiest: " : "",
          top);
    free(a);
    free(b);
}

static void check_threads(cJSON *arr, long ncpu)
{
    const char *vars[] = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        char name[64];
        snprintf(name, sizeof name, "%s", vars[i]);
        if (!v)
            check(arr, name, CK_NOTE,
                  "set it to 1 and let each benchmark's threads= parameter choose (the "
                  "plugins and peers set their libraries' threads from it)",
                  "%s: unset: a library that reads it starts one thread per core (%ld) in every "
                  "process that loads it",
                  vars[i], ncpu);
        else if (atol(v) > ncpu)
            check(arr, name, CK_BIAS, "set it to the cores available or fewer",
                  "%s=%s: more threads than the %ld cores: they preempt each other", vars[i], v,
                  ncpu);
        else
            check(arr, name, CK_OK, NULL, "%s=%s", vars[i], v);
    }
    const char *ct = getenv("OPENBLAS_CORETYPE");
    if (ct)
        check(arr, "OPENBLAS_CORETYPE", CK_NOTE,
              "unset it unless the kernel is chosen on purpose",
              "OPENBLAS_CORETYPE=%s: OpenBLAS uses that core's kernels, not the ones it "
              "would detect: its figures are for %s",
              ct, ct);
    else
        check(arr, "OPENBLAS_CORETYPE", CK_OK, NULL,
              "OPENBLAS_CORETYPE: unset (OpenBLAS detects the core)");
}

static void check_memory(cJSON *arr)
{
    FILE *f = fopen("/proc/meminfo", "re");
    double total = NAN, avail = NAN, st = NAN, sf = NAN;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        double v;
        char key[64];
        if (sscanf(line, "%63[^:]: %lf", key, &v) != 2)
            continue;
        v *= 1024;
        if (!strcmp(key, "MemTotal")) total = v;
        else if (!strcmp(key, "MemAvailable")) avail = v;
        else if (!strcmp(key, "SwapTotal")) st = v;
        else if (!strcmp(key, "SwapFree")) sf = v;
    }
    if (f)
        fclose(f);
    char a[32], t[32];
    mlb_fmt_bytes(a, sizeof a, avail);
    mlb_fmt_bytes(t, sizeof t, total);
    int low = avail < 1024.0 * 1048576 || avail < 0.1 * total;
    check(arr, "memory", !isfinite(avail) ? CK_NOTE : low ? CK_BIAS : CK_OK,
          low ? "free memory (stop other programs) or run smaller sizes" : NULL,
          "memory available: %s of %s%s", a, t,
          low ? ": page cache and allocations will compete" : "");
    if (!isfinite(st))
        return;
    double used = st - sf;
    char u[32];
    mlb_fmt_bytes(u, sizeof u, used);
    if (st == 0)
        check(arr, "swap", CK_OK, NULL, "swap: none configured");
    else if (used > 64.0 * 1048576)
        check(arr, "swap", CK_BIAS, "free memory, or as root: swapoff -a (then swapon -a)",
              "swap: %s in use: pages of a run may be swapped in mid-measurement", u);
    else
        check(arr, "swap", CK_NOTE, NULL, "swap: configured, %s in use", u);
}

/* The short run: this engine on the suite or specs, its document read back. */
static cJSON *short_run(const char *suite, char **specs, size_t n_specs, char **params,
                        size_t n_params, int reps, char *err, size_t errlen)
{
    char tmpl[] = "/tmp/mlbench-validate-XXXXXX";
    if (!mkdtemp(tmpl)) {
        snprintf(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
        return NULL;
    }
    char out[sizeof tmpl + 16], rs[16];
    snprintf(out, sizeof out, "%s/r.json", tmpl);
    snprintf(rs, sizeof rs, "%d", reps);
    char **av = NULL;
    size_t n = 0;
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) {
        snprintf(err, errlen, "cannot find this engine (/proc/self/exe)");
        rmdir(tmpl);
        return NULL;
    }
    exe[k] = '\0';
    mlb_push(&av, &n, exe);
    if (suite) {
        mlb_push(&av, &n, "--config");
        mlb_push(&av, &n, suite);
    }
    for (size_t i = 0; i < n_specs; i++) {
        mlb_push(&av, &n, "--plugin");
        mlb_push(&av, &n, specs[i]);
    }
    for (size_t i = 0; i < n_params; i++) {
        mlb_push(&av, &n, "--param");
        mlb_push(&av, &n, params[i]);
    }
    const char *tail[] = {"--repetitions", rs, "--warmup", "0", "--quiet", "--output", out};
    for (size_t i = 0; i < sizeof tail / sizeof *tail; i++)
        mlb_push(&av, &n, tail[i]);
    mlb_push(&av, &n, NULL);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its table is not ours: what validate prints is the verdicts. */
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(exe, av);
        _exit(127);
    }
    free(av);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) {
        snprintf(err, errlen, "cannot run the engine: %s", strerror(errno));
        rmdir(tmpl);
        return NULL;
    }
    cJSON *doc = NULL;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
        snprintf(err, errlen, "the short run refused its input (exit 2; its message above)");
    else
        doc = mlb_results_load(out, err, errlen);
    unlink(out);
    rmdir(tmpl);
    return doc;
}

static int check_quality(cJSON *arr, const cJSON *doc)
{
    int bad = 0;
    const cJSON *runs = mlb_jget(doc, "runs");
    int n = cJSON_GetArraySize(runs);
    for (int i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(runs, i);
        int base = mlb_group_baseline(doc, (int)mlb_jnum(r, "group"));
        const cJSON *b = base >= 0 ? cJSON_GetArrayItem(runs, base) : NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "task", mlb_or_dash(mlb_jstr(r, "task")));
        cJSON_AddStringToObject(o, "variant", mlb_or_dash(mlb_jstr(r, "variant")));
        cJSON_AddNumberToObject(o, "group", mlb_jnum(r, "group"));
        cJSON_AddStringToObject(o, "reference", b ? mlb_or_dash(mlb_jstr(b, "variant")) : "");
        const char *status = mlb_or_dash(mlb_jstr(r, "status"));
        char why[512] = "";
        const char *q, *fix = NULL;
        if (!strcmp(status, "unavailable")) {
            /* Not installed here: select's business, not a wrong result. */
            q = "unavailable";
            snprintf(why, sizeof why, "%s", mlb_or_dash(mlb_jstr(r, "message")));
            fix = "install it (see mlbench-engine select), or leave it out of the suite";
        } else if (strcmp(status, "ok")) {
            q = "failed";
            snprintf(why, sizeof why, "%s: %s", status, mlb_or_dash(mlb_jstr(r, "message")));
            fix = "make it run (its message), or leave it out of the suite";
            bad = 1;
        } else if (base == i) {
            q = "reference";
        } else {
            int v = mlb_quality_vs_baseline(doc, i, base, why, sizeof why);
            static const char *const word[] = {"parity", "better", "inconclusive", "worse"};
            q = v == MLB_Q_NONE ? "no metric" : word[v];
            if (v == MLB_Q_WORSE) {
                fix = "its result differs from the reference's beyond the margin: check its "
                      "parameters (params_differ) and its maths before timing it";
                bad = 1;
            } else if (v == MLB_Q_INCONCLUSIVE)
                fix = "more repetitions (--repetitions), or a metric tolerance in the plugin";
            else if (v == MLB_Q_NONE)
                fix = "the task reports no quality metric: parity cannot be checked";
        }
        cJSON_AddStringToObject(o, "quality", q);
        if (why[0])
            cJSON_AddStringToObject(o, "detail", why);
        if (fix)
            cJSON_AddStringToObject(o, "fix", fix);
        cJSON_AddItemToArray(arr, o);
    }
    return bad;
}

int mlb_cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"strict", no_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
        {"no-run", no_argument, NULL, 'n'},  {"repetitions", required_argument, NULL, 'r'},
        {"plugin", required_argument, NULL, 'p'}, {"param", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0}};
    int strict = 0, json = 0, no_run = 0, reps = 3, ch;
    char **specs = NULL, **params = NULL;
    size_t n_specs = 0, n_params = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's': strict = 1; break;
        case 'j': json = 1; break;
        case 'n': no_run = 1; break;
        case 'r': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 2 || v > 100) {
                fprintf(stderr, CMD ": --repetitions %s: an integer in 2..100\n", optarg);
                free(specs);
                free(params);
                return 2;
            }
            reps = (int)v;
            break;
        }
        case 'p': mlb_push(&specs, &n_specs, optarg); break;
        case 'P': mlb_push(&params, &n_params, optarg); break;
        case 'h': usage(stdout); free(specs); free(params); return 0;
        default: usage(stderr); free(specs); free(params); return 2;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        free(specs);
        free(params);
        return 2;
    }
    const char *suite = optind < argc ? argv[optind] : NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "schema", "mlbench.validate/1");
    cJSON *checks = cJSON_AddArrayToObject(out, "checks");
    check_governor(checks, ncpu);
    check_turbo(checks);
    check_load(checks, ncpu);
    check_threads(checks, ncpu);
    check_memory(checks);
    int n_bias = 0, code = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, checks)
        n_bias += !strcmp(mlb_jstr(c, "status"), "bias");
    cJSON_AddNumberToObject(out, "bias", n_bias);
    cJSON *quality = cJSON_AddArrayToObject(out, "quality");
    int q_bad = 0;
    char err[PATH_MAX + 512] = "";
    if (!no_run && (suite || n_specs)) {
        cJSON *doc = short_run(suite, specs, n_specs, params, n_params, reps, err, sizeof err);
        if (!doc) {
            cJSON_AddStringToObject(out, "quality_error", err);
            code = 2;
        } else {
            q_bad = check_quality(quality, doc);
            cJSON_AddNumberToObject(out, "repetitions", reps);
            cJSON_Delete(doc);
        }
    }
    if (q_bad)
        code = 1;
    if (strict && n_bias && !code)
        code = 1;
    cJSON_AddBoolToObject(out, "strict", strict);
    cJSON_AddNumberToObject(out, "exit_status", code);
    if (json) {
        char *t = cJSON_Print(out);
        if (t)
            printf("%s\n", t);
        free(t);
    } else {
        printf("Machine\n");
        cJSON_ArrayForEach(c, checks)
        {
            const char *st = mlb_jstr(c, "status");
            printf("  %-5s %s\n", !strcmp(st, "bias") ? "BIAS" : st, mlb_jstr(c, "message"));
            if (mlb_jstr(c, "fix") && strcmp(st, "ok"))
                printf("        fix: %s\n", mlb_jstr(c, "fix"));
        }
        if (cJSON_GetArraySize(quality) || err[0])
            printf("\nQuality against each group's reference (%d repetitions)\n", reps);
        if (err[0])
            printf("  ERROR %s\n", err);
        cJSON_ArrayForEach(c, quality)
        {
            const char *q = mlb_jstr(c, "quality");
            int is_bad = !strcmp(q, "worse") || !strcmp(q, "failed");
            printf("  %-5s %s:%s (group %.0f) vs %s: %s%s%s%s\n", is_bad ? "FIX" : "ok",
                   mlb_jstr(c, "task"), mlb_jstr(c, "variant"), mlb_jnum(c, "group"),
                   mlb_jstr(c, "reference"), q, mlb_jstr(c, "detail") ? " (" : "",
                   mlb_jstr(c, "detail") ? mlb_jstr(c, "detail") : "",
                   mlb_jstr(c, "detail") ? ")" : "");
            if (mlb_jstr(c, "fix"))
                printf("        fix: %s\n", mlb_jstr(c, "fix"));
        }
        printf("\n%d check%s would bias timings%s; %s\n", n_bias, n_bias == 1 ? "" : "s",
               strict ? " (--strict)" : "",
               q_bad ? "a variant failed or is worse than its reference"
                     : (suite || n_specs) && !no_run && !err[0]
                         ? "no variant failed or is worse than its reference"
                         : "no variant run (give a SUITE or --plugin)");
    }
    cJSON_Delete(out);
    free(specs);
    free(params);
    return code;
}
