/* One repetition: phases timed in the process that runs the plugin, which by
 * default is a forked child reporting back over a pipe, so that a plugin's
 * crash, hang or runaway allocation costs one repetition and not the engine. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"
#include "runner.h"

volatile sig_atomic_t mlb_interrupted;

const char *const mlb_phase_names[MLB_PH_N] = {"setup", "train", "infer", "teardown"};
static const char *const work_names[MLB_WORK_KINDS] = {"items", "tokens", "steps", "flops"};

const char *mlb_rep_status_name(mlb_rep_status s)
{
    switch (s) {
    case MLB_REP_OK: return "ok";
    case MLB_REP_FAILED: return "failed";
    case MLB_REP_CRASHED: return "crashed";
    case MLB_REP_TIMEOUT: return "timeout";
    case MLB_REP_MEMLIMIT: return "memory_limit";
    case MLB_REP_INTERRUPTED: return "interrupted";
    case MLB_REP_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}

static int status_from_name(const char *s)
{
    for (int i = MLB_REP_OK; i <= MLB_REP_UNAVAILABLE; i++)
        if (!strcmp(s, mlb_rep_status_name((mlb_rep_status)i)))
            return i;
    return -1;
}

void mlb_rep_free(mlb_rep *r)
{
    free(r->message);
    free(r->latency_s);
    free(r->metrics);
    free(r->progress);
    free(r->timeline);
    free(r->peer_hello);
    memset(r, 0, sizeof(*r));
}

static void rep_set_message(mlb_rep *r, const char *msg)
{
    free(r->message);
    r->message = msg ? strdup(msg) : NULL;
}

/* ---- memory: exact per-phase peak, sampled average and timeline ---------- */

#define TIMELINE_CAP 4096

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* stop is immediate, not after the current interval */
    pthread_t thread;
    int running, stop;
    int statm_fd;
    long page;
    double interval_s, t0;
    int phase;
    double sum[MLB_PH_N];
    double count[MLB_PH_N];
    double max[MLB_PH_N];
    mlb_mem_sample *timeline;
    size_t n_timeline, stride, skipped;
} mem_sampler;

static double read_rss(mem_sampler *m)
{
    char buf[128];
    ssize_t n = pread(m->statm_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return NAN;
    buf[n] = '\0';
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return NAN;
    return (double)resident * (double)m->page;
}

/* Caller holds the lock. */
static void mem_record(mem_sampler *m, double rss)
{
    if (isnan(rss))
        return;
    int ph = m->phase;
    if (ph >= 0 && ph < MLB_PH_N) {
        m->sum[ph] += rss;
        m->count[ph] += 1;
        if (rss > m->max[ph])
            m->max[ph] = rss;
    }
    if (!m->timeline)
        return;
    /* Keep the whole run in TIMELINE_CAP points: halve the resolution when full. */
    if (++m->skipped < m->stride)
        return;
    m->skipped = 0;
    if (m->n_timeline == TIMELINE_CAP) {
        for (size_t i = 0; i < TIMELINE_CAP / 2; i++)
            m->timeline[i] = m->timeline[2 * i];
        m->n_timeline = TIMELINE_CAP / 2;
        m->stride *= 2;
    }
    m->timeline[m->n_timeline].t = mlb_now() - m->t0;
    m->timeline[m->n_timeline].rss_bytes = rss;
    m->n_timeline++;
}

static void *sampler_main(void *arg)
{
    mem_sampler *m = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long step_ns = (long)(m->interval_s * 1e9);
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        mem_record(m, read_rss(m));
        next.tv_nsec += step_ns;
        next.tv_sec += next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &next) == 0)
            ; /* woken without stop: a spurious wake-up, wait on */
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* The process measured: this one (0) or a peer's pid. */
static void proc_path(char *buf, size_t len, pid_t pid, const char *file)
{
    if (pid > 0)
        snprintf(buf, len, "/proc/%d/%s", (int)pid, file);
    else
        snprintf(buf, len, "/proc/self/%s", file);
}

static int mem_start(mem_sampler *m, double interval_s, pid_t pid)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_condattr_destroy(&ca);
    m->page = sysconf(_SC_PAGESIZE);
    char path[64];
    proc_path(path, sizeof path, pid, "statm");
    m->statm_fd = open(path, O_RDONLY | O_CLOEXEC);
    m->phase = -1;
    m->t0 = mlb_now();
    m->stride = 1;
    m->interval_s = interval_s;
    if (m->statm_fd < 0)
        return -errno;
    m->timeline = malloc(TIMELINE_CAP * sizeof(*m->timeline));
    if (interval_s > 0 && pthread_create(&m->thread, NULL, sampler_main, m) == 0)
        m->running = 1;
    return 0;
}

static void mem_stop(mem_sampler *m)
{
    if (m->running) {
        pthread_mutex_lock(&m->lock);
        m->stop = 1;
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
        pthread_join(m->thread, NULL);
        m->running = 0;
    }
    if (m->statm_fd >= 0)
        close(m->statm_fd);
    m->statm_fd = -1;
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
}

/* Writing 5 to clear_refs resets the kernel's high-water mark (VmHWM) to the
 * current RSS, which makes the peak of each phase exact, not sampled. */
static int hwm_reset(pid_t pid)
{
    char path[64];
    proc_path(path, sizeof path, pid, "clear_refs");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static double hwm_read(pid_t pid)
{
    char path[64];
    proc_path(path, sizeof path, pid, "status");
    FILE *f = fopen(path, "re");
    if (!f)
        return NAN;
    char line[256];
    double v = NAN;
    while (fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "VmHWM: %lu kB", &kb) == 1) {
            v = (double)kb * 1024.0;
            break;
        }
    }
    fclose(f);
    return v;
}

typedef struct {
    double t0;
    double user, sys;
    double sched; /* a peer's schedstat CPU seconds at the start */
    int hwm_ok;
    pid_t pid; /* 0: this process */
} phase_mark;

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6; }

/* CPU time of all threads: getrusage for this process (microseconds); for a
 * peer, /proc/<pid>/stat's utime and stime (clock ticks, 10 ms). */
static void cpu_read(pid_t pid, double *user, double *sys)
{
    *user = *sys = NAN;
    if (pid <= 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        *user = tv_s(ru.ru_utime);
        *sys = tv_s(ru.ru_stime);
        return;
    }
    char path[64], buf[1024];
    proc_path(path, sizeof path, pid, "stat");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        *user = (double)ut / hz;
        *sys = (double)st / hz;
    }
}

/* CPU time of all of a peer's threads in nanoseconds: /proc/<pid>/stat
 * counts only in clock ticks (10 ms), too coarse for a short phase, while
 * each thread's schedstat counts nanoseconds. Threads that exit take theirs
 * with them, so phase_end falls back to the ticks when the sum shrinks. */
static double sched_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return NAN;
    double total = 0;
    int read_any = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char f[320], buf[128];
        snprintf(f, sizeof f, "%s/%.200s/schedstat", path, de->d_name);
        int fd = open(f, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        unsigned long long ns;
        if (n > 0) {
            buf[n] = '\0';
            if (sscanf(buf, "%llu", &ns) == 1) {
                total += (double)ns * 1e-9;
                read_any = 1;
            }
        }
    }
    closedir(d);
    return read_any ? total : NAN; /* NaN: no schedstat (kernel without it) */
}

static void phase_begin(mem_sampler *m, mlb_ctx *ctx, int ph, phase_mark *mk, pid_t pid)
{
    mk->pid = pid;
    mk->hwm_ok = hwm_reset(pid) == 0;
    pthread_mutex_lock(&m->lock);
    m->phase = ph;
    mem_record(m, read_rss(m));
    pthread_mutex_unlock(&m->lock);
    cpu_read(pid, &mk->user, &mk->sys);
    mk->sched = pid > 0 ? sched_cpu_s(pid) : NAN;
    mk->t0 = mlb_now();
    mlb_ctx_phase_begin(ctx, mk->t0);
}

static void phase_end(mem_sampler *m, mlb_ctx *ctx, int ph, const phase_mark *mk, mlb_rep *rep)
{
    double t1 = mlb_now();
    double user, sys;
    cpu_read(mk->pid, &user, &sys);
    mlb_phase_meas *p = &rep->ph[ph];
    p->ran = 1;
    p->wall_s = t1 - mk->t0;
    p->cpu_user_s = user - mk->user;
    p->cpu_sys_s = sys - mk->sys;
    if (mk->pid > 0) {
        /* Precise total from schedstat, split as the ticks split it. */
        double total = sched_cpu_s(mk->pid) - mk->sched;
        double ticks = p->cpu_user_s + p->cpu_sys_s;
        double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
        if (isfinite(total) && total >= 0 && total > ticks - 2 * tick) {
            double share = ticks > 0 ? p->cpu_user_s / ticks : 1.0;
            p->cpu_user_s = total * share;
            p->cpu_sys_s = total - p->cpu_user_s;
        }
    }
    memcpy(p->work, ctx->work, sizeof p->work);
    pthread_mutex_lock(&m->lock);
    mem_record(m, read_rss(m));
    p->rss_avg_bytes = m->count[ph] > 0 ? m->sum[ph] / m->count[ph] : NAN;
    double sampled_max = m->max[ph];
    m->phase = -1;
    pthread_mutex_unlock(&m->lock);
    double hwm = mk->hwm_ok ? hwm_read(mk->pid) : NAN;
    p->rss_peak_bytes = isnan(hwm) ? sampled_max : hwm;
}

/* ---- JSON form of a repetition ------------------------------------------- */

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static double get_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

cJSON *mlb_rep_to_json(const mlb_rep *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", mlb_rep_status_name(r->status));
    if (r->message)
        cJSON_AddStringToObject(j, "message", r->message);
    cJSON *phases = cJSON_AddObjectToObject(j, "phases");
    for (int i = 0; i < MLB_PH_N; i++) {
        const mlb_phase_meas *p = &r->ph[i];
        if (!p->ran)
            continue;
        cJSON *o = cJSON_AddObjectToObject(phases, mlb_phase_names[i]);
        add_num(o, "wall_s", p->wall_s);
        add_num(o, "cpu_user_s", p->cpu_user_s);
        add_num(o, "cpu_sys_s", p->cpu_sys_s);
        add_num(o, "cpu_util", p->wall_s > 0 ? (p->cpu_user_s + p->cpu_sys_s) / p->wall_s : NAN);
        add_num(o, "rss_peak_bytes", p->rss_peak_bytes);
        add_num(o, "rss_avg_bytes", p->rss_avg_bytes);
        for (int k = 0; k < MLB_WORK_KINDS; k++)
            if (p->work[k] != 0 || k == MLB_WORK_ITEMS)
                add_num(o, work_names[k], p->work[k]);
    }
    if (isfinite(r->peer_spawn_s)) {
        cJSON *pe = cJSON_AddObjectToObject(j, "peer");
        cJSON_AddNumberToObject(pe, "start_s", r->peer_spawn_s);
        cJSON *hello = r->peer_hello ? cJSON_Parse(r->peer_hello) : NULL;
        if (hello)
            cJSON_AddItemToObject(pe, "hello", hello);
    }
    if (r->n_latency) {
        cJSON *lat = cJSON_AddArrayToObject(j, "infer_latency_s");
        for (size_t i = 0; i < r->n_latency; i++)
            cJSON_AddItemToArray(lat, cJSON_CreateNumber(r->latency_s[i]));
    }
    cJSON *met = cJSON_AddObjectToObject(j, "metrics");
    for (size_t i = 0; i < r->n_metrics; i++) {
        cJSON *o = cJSON_AddObjectToObject(met, r->metrics[i].name);
        add_num(o, "value", r->metrics[i].value);
        cJSON_AddStringToObject(o, "better", r->metrics[i].dir > 0 ? "higher" : "lower");
    }
    if (r->n_progress) {
        cJSON *pr = cJSON_AddArrayToObject(j, "progress");
        for (size_t i = 0; i < r->n_progress; i++) {
            const mlb_progress *p = &r->progress[i];
            cJSON *o = cJSON_CreateObject();
            add_num(o, "t_s", p->t);
            add_num(o, "step", p->step);
            add_num(o, "loss", p->loss);
            if (p->metric[0]) {
                cJSON_AddStringToObject(o, "metric", p->metric);
                add_num(o, "value", p->value);
            }
            cJSON_AddItemToArray(pr, o);
        }
    }
    if (r->n_timeline) {
        cJSON *tl = cJSON_AddArrayToObject(j, "memory_timeline");
        for (size_t i = 0; i < r->n_timeline; i++) {
            cJSON *pt = cJSON_CreateArray();
            cJSON_AddItemToArray(pt, cJSON_CreateNumber(r->timeline[i].t));
            cJSON_AddItemToArray(pt, cJSON_CreateNumber(r->timeline[i].rss_bytes));
            cJSON_AddItemToArray(tl, pt);
        }
    }
    return j;
}

int mlb_rep_from_json(const cJSON *j, mlb_rep *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    int s = cJSON_IsString(st) ? status_from_name(st->valuestring) : -1;
    if (s < 0)
        return -EINVAL;
    out->status = (mlb_rep_status)s;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(msg))
        out->message = strdup(msg->valuestring);
    const cJSON *phases = cJSON_GetObjectItemCaseSensitive(j, "phases");
    for (int i = 0; i < MLB_PH_N; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(phases, mlb_phase_names[i]);
        if (!cJSON_IsObject(o))
            continue;
        mlb_phase_meas *p = &out->ph[i];
        p->ran = 1;
        p->wall_s = get_num(o, "wall_s");
        p->cpu_user_s = get_num(o, "cpu_user_s");
        p->cpu_sys_s = get_num(o, "cpu_sys_s");
        p->rss_peak_bytes = get_num(o, "rss_peak_bytes");
        p->rss_avg_bytes = get_num(o, "rss_avg_bytes");
        for (int k = 0; k < MLB_WORK_KINDS; k++) {
            double v = get_num(o, work_names[k]);
            p->work[k] = isnan(v) ? 0 : v;
        }
    }
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(j, "peer");
    out->peer_spawn_s = get_num(pe, "start_s");
    const cJSON *hello = cJSON_GetObjectItemCaseSensitive(pe, "hello");
    if (hello)
        out->peer_hello = cJSON_PrintUnformatted(hello);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "infer_latency_s");
    int nl = cJSON_GetArraySize(lat);
    if (nl > 0 && (out->latency_s = malloc((size_t)nl * sizeof(double)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, lat) out->latency_s[out->n_latency++] = e->valuedouble;
    }
    const cJSON *met = cJSON_GetObjectItemCaseSensitive(j, "metrics");
    int nm = cJSON_GetArraySize(met);
    if (nm > 0 && (out->metrics = calloc((size_t)nm, sizeof(mlb_metric)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, met)
        {
            mlb_metric *m = &out->metrics[out->n_metrics++];
            snprintf(m->name, sizeof m->name, "%s", e->string);
            m->value = get_num(e, "value");
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, "better");
            m->dir = cJSON_IsString(b) && !strcmp(b->valuestring, "lower") ? -1 : 1;
        }
    }
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "progress");
    int np = cJSON_GetArraySize(pr);
    if (np > 0 && (out->progress = calloc((size_t)np, sizeof(mlb_progress)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, pr)
        {
            mlb_progress *p = &out->progress[out->n_progress++];
            p->t = get_num(e, "t_s");
            p->step = get_num(e, "step");
            p->loss = get_num(e, "loss");
            p->value = get_num(e, "value");
            const cJSON *mn = cJSON_GetObjectItemCaseSensitive(e, "metric");
            if (cJSON_IsString(mn))
                snprintf(p->metric, sizeof p->metric, "%s", mn->valuestring);
        }
    }
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(j, "memory_timeline");
    int nt = cJSON_GetArraySize(tl);
    if (nt > 0 && (out->timeline = malloc((size_t)nt * sizeof(mlb_mem_sample)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, tl)
        {
            mlb_mem_sample *m = &out->timeline[out->n_timeline++];
            m->t = cJSON_GetArrayItem(e, 0) ? cJSON_GetArrayItem(e, 0)->valuedouble : NAN;
            m->rss_bytes = cJSON_GetArrayItem(e, 1) ? cJSON_GetArrayItem(e, 1)->valuedouble : NAN;
        }
    }
    return 0;
}

/* ---- running the phases -------------------------------------------------- */

static void rep_take_ctx(mlb_rep *rep, const mlb_ctx *ctx)
{
    free(rep->metrics);
    rep->metrics = NULL;
    rep->n_metrics = 0;
    if (ctx->n_metrics && (rep->metrics = malloc(ctx->n_metrics * sizeof(mlb_metric)))) {
        memcpy(rep->metrics, ctx->metrics, ctx->n_metrics * sizeof(mlb_metric));
        rep->n_metrics = ctx->n_metrics;
    }
    free(rep->progress);
    rep->progress = NULL;
    rep->n_progress = 0;
    if (ctx->n_progress && (rep->progress = malloc(ctx->n_progress * sizeof(mlb_progress)))) {
        memcpy(rep->progress, ctx->progress, ctx->n_progress * sizeof(mlb_progress));
        rep->n_progress = ctx->n_progress;
    }
}

/* Sends the repetition so far to the parent: what a crash leaves behind. */
static void emit(int fd, mlb_rep *rep, const mlb_ctx *ctx, int final)
{
    if (fd < 0)
        return;
    rep_take_ctx(rep, ctx);
    cJSON *j = mlb_rep_to_json(rep);
    if (final)
        cJSON_AddTrueToObject(j, "final");
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        return;
    size_t n = strlen(s);
    s[n] = '\n'; /* replaces the terminator; length is known */
    const char *p = s;
    size_t left = n + 1;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    free(s);
}

static void callback_failed(mlb_rep *rep, mlb_ctx *ctx, const char *phase, int rc)
{
    char msg[1200];
    if (ctx->err[0])
        snprintf(msg, sizeof msg, "%s: %s", phase, ctx->err);
    else
        snprintf(msg, sizeof msg, "%s returned %d", phase, rc);
    rep->status = MLB_REP_FAILED;
    rep_set_message(rep, msg);
}

/* Calls one phase's callback: the plugin's, or a request to the peer. */
typedef struct {
    const mlb_plugin *pl;
    mlb_peer_proc *peer; /* NULL for a native plugin */
    void *state;
    int peer_timeout;    /* the peer missed the deadline: stop, no teardown request */
    int peer_memlimit;   /* the peer passed --mem-limit and was killed */
} phase_driver;

static int drive(phase_driver *d, mlb_ctx *ctx, int ph)
{
    if (d->peer) {
        mlb_peer_rc r = mlb_peer_call(d->peer, ctx, mlb_phase_names[ph]);
        if (r == MLB_PEER_TIMEOUT)
            d->peer_timeout = 1;
        if (r == MLB_PEER_MEMLIMIT)
            d->peer_memlimit = 1;
        return r == MLB_PEER_OK ? 0 : MLB_EFAIL;
    }
    switch (ph) {
    case MLB_PH_SETUP: return d->pl->setup(ctx, &d->state);
    case MLB_PH_TRAIN: return d->pl->train(ctx, d->state);
    case MLB_PH_INFER: return d->pl->infer(ctx, d->state);
    default: return d->pl->teardown(ctx, d->state);
    }
}

static void phase_failed(mlb_rep *rep, mlb_ctx *ctx, const phase_driver *d, int ph, int rc)
{
    if (rep->status != MLB_REP_OK)
        return; /* the first failure is the one reported */
    callback_failed(rep, ctx, mlb_phase_names[ph], rc);
    if (d->peer_timeout)
        rep->status = MLB_REP_TIMEOUT;
    else if (d->peer_memlimit)
        rep->status = MLB_REP_MEMLIMIT;
    else if (d->peer && d->peer->crashed)
        rep->status = MLB_REP_CRASHED;
}

/* One timed phase; infer runs `queries` queries, each timed. On failure the
 * repetition's status and message say so. Returns the callback's result. */
static int timed_phase(mem_sampler *ms, mlb_ctx *ctx, phase_driver *d, int ph, pid_t target,
                       mlb_rep *rep, int queries)
{
    phase_mark mk;
    int rc = 0;
    phase_begin(ms, ctx, ph, &mk, target);
    if (ph != MLB_PH_INFER)
        rc = drive(d, ctx, ph);
    for (int q = 0; ph == MLB_PH_INFER && q < queries && rc >= 0; q++) {
        double t0 = mlb_now();
        rc = drive(d, ctx, ph);
        rep->latency_s[q] = mlb_now() - t0;
        rep->n_latency = (size_t)q + 1;
    }
    phase_end(ms, ctx, ph, &mk, rep);
    if (rc < 0)
        phase_failed(rep, ctx, d, ph, rc);
    return rc;
}

/* The phases, in this process. `fd` >= 0 streams progress to the parent. */
static void run_phases(const mlb_plugin_entry *e, mlb_ctx *ctx, const mlb_run_opts *opts,
                       mlb_rep *rep, int fd)
{
    phase_driver d = {.pl = &e->desc};
    mlb_peer_proc peer;
    pid_t target = 0;
    rep->status = MLB_REP_OK;
    rep->peer_spawn_s = NAN;
    if (e->peer) {
        double deadline = opts->timeout_s > 0 ? mlb_now() + opts->timeout_s : 0;
        int rc = mlb_peer_start(e, opts->data_from, ctx, deadline, opts->mem_limit_bytes, &peer);
        if (rc < 0) {
            callback_failed(rep, ctx, "start", rc);
            mlb_peer_stop(&peer);
            return;
        }
        rep->peer_spawn_s = peer.spawn_s;
        rep->peer_hello = peer.hello ? strdup(peer.hello) : NULL;
        d.peer = &peer;
        target = peer.pid;
    }
    mem_sampler ms;
    if (mem_start(&ms, opts->sample_interval_s, target) < 0)
        ms.statm_fd = -1;

    if (timed_phase(&ms, ctx, &d, MLB_PH_SETUP, target, rep, 0) < 0)
        goto out;
    emit(fd, rep, ctx, 0);

    if (d.peer || d.pl->train) {
        if (timed_phase(&ms, ctx, &d, MLB_PH_TRAIN, target, rep, 0) < 0)
            goto teardown;
        emit(fd, rep, ctx, 0);
    }

    if ((d.peer || d.pl->infer) && opts->infer_queries > 0) {
        /* Allocated before the phase so that the timed region holds only queries. */
        rep->latency_s = calloc((size_t)opts->infer_queries, sizeof(double));
        if (!rep->latency_s) {
            rep->status = MLB_REP_FAILED;
            rep_set_message(rep, "engine: out of memory for latencies");
            goto teardown;
        }
        if (timed_phase(&ms, ctx, &d, MLB_PH_INFER, target, rep, opts->infer_queries) < 0)
            goto teardown;
        emit(fd, rep, ctx, 0);
    }

teardown:
    /* A peer that is gone or stuck gets no teardown request. Teardown runs
     * after a failed train or infer too; the first failure is the one kept. */
    if (!d.peer_timeout && !(d.peer && d.peer->pid < 0)) {
        ctx->err[0] = '\0'; /* train's message is in rep already */
        timed_phase(&ms, ctx, &d, MLB_PH_TEARDOWN, target, rep, 0);
    }
out:
    mem_stop(&ms);
    if (d.peer)
        mlb_peer_stop(d.peer);
    if (ms.timeline) {
        rep->timeline = ms.timeline;
        rep->n_timeline = ms.n_timeline;
    }
    rep_take_ctx(rep, ctx);
}

static int ctx_clone(mlb_ctx *dst, const mlb_ctx *tmpl, int rep_index, int verbose)
{
    int rc = mlb_ctx_init(dst, tmpl->plugin, tmpl->seed);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < tmpl->n_params; i++) {
        char why[256];
        rc = mlb_ctx_set_param(dst, tmpl->params[i].def->name, tmpl->params[i].text, why,
                               sizeof why);
        if (rc < 0)
            return rc;
    }
    dst->rep = rep_index;
    dst->verbose = verbose;
    return 0;
}

double mlb_proc_rss(pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NAN;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return NAN;
    buf[n] = '\0';
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return NAN;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Parses the last complete line the child sent. */
static void take_last_line(char *buf, size_t len, mlb_rep *out, int *final)
{
    *final = 0;
    if (len == 0)
        return;
    buf[len] = '\0';
    char *end = buf + len;
    while (end > buf && end[-1] != '\n')
        end--; /* drop a partial trailing line */
    if (end == buf)
        return;
    end[-1] = '\0';
    char *start = end - 1;
    while (start > buf && start[-1] != '\n')
        start--;
    cJSON *j = cJSON_Parse(start);
    if (!j)
        return;
    mlb_rep r;
    if (mlb_rep_from_json(j, &r) == 0) {
        mlb_rep_free(out);
        *out = r;
        *final = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "final"));
    }
    cJSON_Delete(j);
}

static const char *signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? abbrev : "unknown";
}

static int run_forked(const mlb_plugin_entry *pl, mlb_ctx *ctx, const mlb_run_opts *opts,
                      mlb_rep *out)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return -e;
    }
    if (pid == 0) {
        /* Own process group: a terminal's ^C reaches only the engine, and a
         * timeout kills whatever the plugin started too. */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_IGN); /* a dead peer is an EPIPE to report, not our death */
        /* Outside the engine's process group, nothing else would end a
         * repetition whose engine died (kill -9, a lost session). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        close(pfd[0]);
        dup2(STDERR_FILENO, STDOUT_FILENO); /* engine's stdout stays for its own output */
        setvbuf(stdout, NULL, _IOLBF, 0);
        mlb_rep rep;
        memset(&rep, 0, sizeof rep);
        run_phases(pl, ctx, opts, &rep, pfd[1]);
        emit(pfd[1], &rep, ctx, 1);
        close(pfd[1]);
        fflush(NULL); /* what the plugin printed; _exit would drop it */
        _exit(0);
    }
    setpgid(pid, pid); /* also here, so there is no window before the child's own call */
    close(pfd[1]);

    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    double t0 = mlb_now();
    /* A peer's own deadline fires first, so that its stderr is reported. */
    double grace = pl->peer ? 2.0 : 0.0;
    int eof = 0, killed = 0, status = 0, reaped = 0;
    mlb_rep_status kill_status = MLB_REP_OK;
    char kill_msg[256] = "";
    while (!reaped) {
        if (!eof) {
            struct pollfd p = {.fd = pfd[0], .events = POLLIN};
            int pr = poll(&p, 1, 10);
            if (pr > 0) {
                if (len + 65536 > cap) {
                    cap *= 2;
                    char *nb = realloc(buf, cap + 1);
                    if (nb)
                        buf = nb;
                    else
                        cap /= 2;
                }
                ssize_t n = read(pfd[0], buf + len, cap - len);
                if (n > 0)
                    len += (size_t)n;
                else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    eof = 1;
            }
        } else {
            /* The pipe closed: the child is exiting; reap it promptly. */
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = 1;
            break;
        }
        if (killed)
            continue;
        if (mlb_interrupted) {
            kill_status = MLB_REP_INTERRUPTED;
            snprintf(kill_msg, sizeof kill_msg, "interrupted by SIGINT");
        } else if (opts->timeout_s > 0 && mlb_now() - t0 > opts->timeout_s + grace) {
            kill_status = MLB_REP_TIMEOUT;
            snprintf(kill_msg, sizeof kill_msg, "timed out after %.3g s", opts->timeout_s);
        } else if (opts->mem_limit_bytes > 0) {
            double rss = mlb_proc_rss(pid);
            if (rss > opts->mem_limit_bytes) {
                kill_status = MLB_REP_MEMLIMIT;
                snprintf(kill_msg, sizeof kill_msg,
                         "resident memory %.0f MiB exceeded --mem-limit %.0f MiB",
                         rss / 1048576.0, opts->mem_limit_bytes / 1048576.0);
            }
        }
        if (kill_status != MLB_REP_OK) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    /* Drain what the child wrote before it ended. */
    for (;;) {
        if (len + 4096 > cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(pfd[0], buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(pfd[0]);
    if (killed)
        kill(-pid, SIGKILL); /* anything the plugin left in its group */

    int final = 0;
    take_last_line(buf, len, out, &final);
    free(buf);
    if (killed) {
        out->status = kill_status;
        rep_set_message(out, kill_msg);
    } else if (WIFSIGNALED(status)) {
        char msg[128];
        int sig = WTERMSIG(status);
        snprintf(msg, sizeof msg, "killed by signal SIG%s (%s)", signal_name(sig),
                 strsignal(sig));
        out->status = MLB_REP_CRASHED;
        rep_set_message(out, msg);
    } else if (!final) {
        char msg[128];
        snprintf(msg, sizeof msg, "plugin exited with status %d before the repetition finished",
                 WEXITSTATUS(status));
        out->status = MLB_REP_FAILED;
        rep_set_message(out, msg);
    }
    return 0;
}

int mlb_run_repetition(const mlb_plugin_entry *pl, const mlb_ctx *tmpl, int rep_index,
                       const mlb_run_opts *opts, mlb_rep *out)
{
    memset(out, 0, sizeof(*out));
    out->peer_spawn_s = NAN;
    if (pl->unavailable) {
        out->status = MLB_REP_UNAVAILABLE;
        rep_set_message(out, pl->unavailable);
        return 0;
    }
    mlb_ctx ctx;
    int rc = ctx_clone(&ctx, tmpl, rep_index, opts->verbose);
    if (rc < 0) {
        mlb_ctx_free(&ctx);
        return rc;
    }
    if (opts->fork)
        rc = run_forked(pl, &ctx, opts, out);
    else
        run_phases(pl, &ctx, opts, out, -1);
    mlb_ctx_free(&ctx);
    return rc;
}
