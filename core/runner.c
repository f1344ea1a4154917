/* One repetition: phases timed in the process that runs the target, which by
 * default is a forked child reporting back over a pipe, so that a plugin's
 * crash, hang or runaway allocation costs one repetition and not the engine.
 * What runs, an in-process plugin or a peer, is behind target.h: this file
 * only measures.
 *
 * The cost of a forked repetition is kept near that of fork and wait
 * (docs/PERFORMANCE.md): the child reports each finished phase in one
 * binary write, reads /proc through files opened once, and starts no
 * thread: the parent, idle while it waits, samples the measured process's
 * memory itself, told the current phase through a shared page. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

volatile sig_atomic_t mlb_interrupted;

const char *const mlb_phase_names[MLB_PH_N] = {"setup", "train", "infer", "teardown"};

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

/* Sampled RSS: per-phase sums for the average, and the timeline, kept within
 * TIMELINE_CAP points by halving its resolution when full. */
typedef struct {
    double sum[MLB_PH_N], count[MLB_PH_N], max[MLB_PH_N];
    double t0; /* the timeline's origin, just before setup */
    mlb_mem_sample *timeline;
    size_t n_timeline, cap_timeline, stride, skipped;
} mem_acc;

static void acc_init(mem_acc *a, double t0)
{
    memset(a, 0, sizeof *a);
    a->t0 = t0;
    a->stride = 1;
}

/* A sample taken at CLOCK_MONOTONIC time t during phase ph (-1: between
 * phases, or not attributable: timeline only). */
static void acc_add(mem_acc *a, int ph, double t, double rss)
{
    if (isnan(rss))
        return;
    if (ph >= 0 && ph < MLB_PH_N) {
        a->sum[ph] += rss;
        a->count[ph] += 1;
        if (rss > a->max[ph])
            a->max[ph] = rss;
    }
    if (++a->skipped < a->stride)
        return;
    a->skipped = 0;
    if (a->n_timeline == TIMELINE_CAP) {
        for (size_t i = 0; i < TIMELINE_CAP / 2; i++)
            a->timeline[i] = a->timeline[2 * i];
        a->n_timeline = TIMELINE_CAP / 2;
        a->stride *= 2;
    }
    if (a->n_timeline == a->cap_timeline) {
        /* Grown as needed: most repetitions hold a handful of points. */
        size_t cap = a->cap_timeline ? 2 * a->cap_timeline : 64;
        mlb_mem_sample *nt = realloc(a->timeline, cap * sizeof *nt);
        if (!nt)
            return; /* the per-phase figures above still count it */
        a->timeline = nt;
        a->cap_timeline = cap;
    }
    a->timeline[a->n_timeline].t = t - a->t0;
    a->timeline[a->n_timeline].rss_bytes = rss;
    a->n_timeline++;
}

/* Average of a phase's samples, and their maximum (NaN without any). */
static void acc_phase(const mem_acc *a, int ph, double *avg, double *max)
{
    *avg = a->count[ph] > 0 ? a->sum[ph] / a->count[ph] : NAN;
    *max = a->count[ph] > 0 ? a->max[ph] : NAN;
}

/* Hands the timeline to rep in time order: the parent adds the child's
 * boundary samples when their report arrives, after its own later ones. */
static void acc_take_timeline(mem_acc *a, mlb_rep *rep)
{
    for (size_t i = 1; i < a->n_timeline; i++) {
        mlb_mem_sample s = a->timeline[i];
        size_t j = i;
        for (; j > 0 && a->timeline[j - 1].t > s.t; j--)
            a->timeline[j] = a->timeline[j - 1];
        a->timeline[j] = s;
    }
    free(rep->timeline);
    rep->timeline = a->n_timeline ? a->timeline : NULL;
    rep->n_timeline = a->n_timeline;
    if (!a->n_timeline)
        free(a->timeline);
    a->timeline = NULL;
    a->n_timeline = a->cap_timeline = 0;
}

/* --no-fork: a thread of this process samples the measured process. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* stop is immediate, not after the current interval */
    pthread_t thread;
    int running, stop;
    int phase;
    double interval_s;
    mlb_proc *proc;
    mem_acc acc;
} thread_sampler;

static void *sampler_main(void *arg)
{
    thread_sampler *m = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long step_ns = (long)(m->interval_s * 1e9);
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        double rss = mlb_proc_statm(m->proc);
        acc_add(&m->acc, m->phase, mlb_now(), rss);
        next.tv_nsec += step_ns;
        next.tv_sec += next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &next) == 0)
            ; /* woken without stop: a spurious wake-up, wait on */
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* Forked: memory shared by the child and the parent. Through it the parent,
 * sampling the measured process, learns the phase under way, and it holds
 * the child's report (below), which survives the child's death without
 * costing it a system call or waking the parent. Mapped once; a repetition
 * touches only the pages it writes. */
#define SHARED_BYTES (256 * 1024)
typedef struct {
    atomic_uint seq;  /* odd while the phase changes (a seqlock): a sample that
                       * straddles a change is not attributed to either phase */
    atomic_int phase; /* MLB_PH_* under way, -1 between phases */
    atomic_int pid;   /* the process to sample; 0: the child itself */
    atomic_int armed; /* 1 from the start of measurement to its end */
    double t0;        /* the timeline's origin; written before armed */
    atomic_size_t used;  /* bytes of complete report messages in data */
    atomic_int overflow; /* data was full: the rest of the report is on the pipe */
    char data[];
} rep_shared;
#define SHARED_DATA (SHARED_BYTES - offsetof(rep_shared, data))

/* The measured process, seen from the process that runs the target. */
typedef struct {
    mlb_proc proc;
    thread_sampler *ts; /* --no-fork: the sampler thread; NULL when forked */
    thread_sampler ts_store;
    rep_shared *sh;     /* forked: the parent samples */
    /* Forked: each phase's samples at its start and end, which the parent
     * adds to its own for the phase's average. */
    double b_t[MLB_PH_N][2], b_rss[MLB_PH_N][2];
} meter;

static void meter_start(meter *mt, pid_t pid, double interval_s, rep_shared *sh)
{
    memset(mt, 0, sizeof *mt);
    mlb_proc_open(&mt->proc, pid); /* unreadable: figures are NaN, the run goes on */
    double t0 = mlb_now();
    if (sh) {
        mt->sh = sh;
        sh->t0 = t0;
        atomic_store(&sh->pid, (int)pid);
        atomic_store(&sh->armed, 1);
        return;
    }
    thread_sampler *m = mt->ts = &mt->ts_store;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_condattr_destroy(&ca);
    m->phase = -1;
    m->interval_s = interval_s;
    m->proc = &mt->proc;
    acc_init(&m->acc, t0);
    if (interval_s > 0 && mt->proc.statm_fd >= 0 &&
        pthread_create(&m->thread, NULL, sampler_main, m) == 0)
        m->running = 1;
}

/* Ends sampling; in-process, the timeline goes to rep (forked, the parent
 * has it). */
static void meter_stop(meter *mt, mlb_rep *rep)
{
    thread_sampler *m = mt->ts;
    if (m) {
        if (m->running) {
            pthread_mutex_lock(&m->lock);
            m->stop = 1;
            pthread_cond_signal(&m->wake);
            pthread_mutex_unlock(&m->lock);
            pthread_join(m->thread, NULL);
            m->running = 0;
        }
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->wake);
        acc_take_timeline(&m->acc, rep);
    } else if (mt->sh) {
        atomic_store(&mt->sh->armed, 0);
    }
    mlb_proc_close(&mt->proc);
}

static void publish_phase(rep_shared *sh, int ph)
{
    atomic_fetch_add(&sh->seq, 1);
    atomic_store(&sh->phase, ph);
    atomic_fetch_add(&sh->seq, 1);
}

typedef struct {
    double t0;
    double user, sys;
    double sched; /* a peer's schedstat CPU seconds at the start */
    int hwm_ok;
} phase_mark;

/* Peak RSS is exact, not sampled: the kernel's high-water mark (VmHWM),
 * reset at the start of each phase and read at its end. */
static void phase_begin(meter *mt, mlb_ctx *ctx, int ph, phase_mark *mk)
{
    mk->hwm_ok = mlb_proc_hwm_reset(&mt->proc) == 0;
    if (mt->ts) {
        pthread_mutex_lock(&mt->ts->lock);
        mt->ts->phase = ph;
        double rss = mlb_proc_statm(&mt->proc);
        acc_add(&mt->ts->acc, ph, mlb_now(), rss);
        pthread_mutex_unlock(&mt->ts->lock);
    } else {
        publish_phase(mt->sh, ph);
        mt->b_rss[ph][0] = mlb_proc_statm(&mt->proc);
        mt->b_t[ph][0] = mlb_now();
    }
    mlb_proc_cpu(&mt->proc, &mk->user, &mk->sys);
    mk->sched = mlb_proc_sched_cpu(&mt->proc);
    mk->t0 = mlb_now();
    mlb_ctx_phase_begin(ctx, mk->t0);
}

static void phase_end(meter *mt, mlb_ctx *ctx, int ph, const phase_mark *mk, mlb_rep *rep)
{
    double t1 = mlb_now();
    double user, sys;
    mlb_proc_cpu(&mt->proc, &user, &sys);
    mlb_phase_meas *p = &rep->ph[ph];
    p->ran = 1;
    p->wall_s = t1 - mk->t0;
    p->cpu_user_s = user - mk->user;
    p->cpu_sys_s = sys - mk->sys;
    if (mt->proc.pid > 0) {
        /* A peer: the precise total from schedstat, split as the ticks split
         * it; the ticks alone when threads that exited took theirs away. */
        double total = mlb_proc_sched_cpu(&mt->proc) - mk->sched;
        double ticks = p->cpu_user_s + p->cpu_sys_s;
        if (isfinite(total) && total >= 0 && total > ticks - 2 * mt->proc.tick) {
            double share = ticks > 0 ? p->cpu_user_s / ticks : 1.0;
            p->cpu_user_s = total * share;
            p->cpu_sys_s = total - p->cpu_user_s;
        }
    }
    memcpy(p->work, ctx->work, sizeof p->work);
    double sampled_max = NAN;
    p->rss_avg_bytes = NAN; /* forked: the parent's, from its samples and these */
    double rss = mlb_proc_statm(&mt->proc);
    if (mt->ts) {
        pthread_mutex_lock(&mt->ts->lock);
        acc_add(&mt->ts->acc, ph, mlb_now(), rss);
        acc_phase(&mt->ts->acc, ph, &p->rss_avg_bytes, &sampled_max);
        mt->ts->phase = -1;
        pthread_mutex_unlock(&mt->ts->lock);
    } else {
        mt->b_rss[ph][1] = rss;
        mt->b_t[ph][1] = mlb_now();
        publish_phase(mt->sh, -1);
    }
    double hwm = mk->hwm_ok ? mlb_proc_hwm(&mt->proc) : NAN;
    p->rss_peak_bytes = isnan(hwm) ? sampled_max : hwm;
}

/* ---- the child's report to the parent -------------------------------------
 * Tagged binary messages; everything new at a phase boundary is appended at
 * once, so that a crash leaves the parent every phase finished before it
 * (with the metrics and progress reported so far). They go to the shared
 * memory, or, once a report outgrows it (a million latencies), to the pipe.
 * Both ends are this very binary, so the structures travel as they are. */

enum { MSG_PHASE = 1, MSG_METRICS, MSG_PROGRESS, MSG_LATENCY, MSG_PEER, MSG_FINAL };

typedef struct {
    uint32_t type, len; /* len: bytes of the body that follows */
} msg_hdr;

typedef struct {
    int32_t ph, pad;
    mlb_phase_meas m;
    double t[2], rss[2]; /* the samples at its start and end */
} msg_phase;

typedef struct {
    double start_s;
} msg_peer; /* then the hello text, unterminated */

typedef struct {
    int32_t status, pad;
} msg_final; /* then the message, unterminated */

typedef struct {
    int fd;
    rep_shared *sh;
    unsigned sent_phases; /* 1u << MLB_PH_* */
    size_t sent_progress;
    int sent_latency, sent_peer;
} report;

#define BATCH_IOV 32
#define MSG_MAX ((size_t)1 << 30) /* a message's length is 32 bits: arrays go in pieces */
typedef struct {
    struct iovec v[BATCH_IOV];
    msg_hdr h[BATCH_IOV / 3];
    int nv, nh;
} batch;

static void batch_send(report *rp, batch *b);

/* Adds one message (x then y as its body); a full batch is sent first. */
static void batch_add(report *rp, batch *b, uint32_t type, const void *x, size_t nx,
                      const void *y, size_t ny)
{
    if (b->nv + 3 > BATCH_IOV || b->nh == BATCH_IOV / 3) {
        batch_send(rp, b);
        b->nv = b->nh = 0;
    }
    msg_hdr *h = &b->h[b->nh++];
    h->type = type;
    h->len = (uint32_t)(nx + ny);
    b->v[b->nv++] = (struct iovec){h, sizeof *h};
    if (nx)
        b->v[b->nv++] = (struct iovec){(void *)x, nx};
    if (ny)
        b->v[b->nv++] = (struct iovec){(void *)y, ny};
}

static void batch_write(int fd, batch *b)
{
    struct iovec *v = b->v;
    int n = b->nv;
    while (n > 0) {
        ssize_t w = writev(fd, v, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the parent is gone: there is no one to tell */
        size_t done = (size_t)w;
        while (n > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
}

/* An array in messages of whole elements, each at most MSG_MAX bytes. */
static void batch_array(report *rp, batch *b, uint32_t type, const void *x, size_t n,
                        size_t elem)
{
    const char *p = x;
    size_t piece = MSG_MAX / elem;
    while (n > 0) {
        size_t k = n < piece ? n : piece;
        batch_add(rp, b, type, p, k * elem, NULL, 0);
        p += k * elem;
        n -= k;
    }
}

/* Appends the batch to the shared memory, published whole (a crash in the
 * middle leaves none of it); to the pipe from the first that does not fit. */
static void batch_send(report *rp, batch *b)
{
    rep_shared *sh = rp->sh;
    size_t total = 0;
    for (int i = 0; i < b->nv; i++)
        total += b->v[i].iov_len;
    size_t used = atomic_load(&sh->used);
    if (!atomic_load(&sh->overflow) && total <= SHARED_DATA - used) {
        for (int i = 0; i < b->nv; i++) {
            memcpy(sh->data + used, b->v[i].iov_base, b->v[i].iov_len);
            used += b->v[i].iov_len;
        }
        atomic_store(&sh->used, used);
        return;
    }
    atomic_store(&sh->overflow, 1);
    batch_write(rp->fd, b);
}

/* Sends what the parent does not have yet; `final` adds the status. */
static void report_send(report *rp, const meter *mt, const mlb_rep *rep, const mlb_ctx *ctx,
                        int final)
{
    batch b;
    b.nv = b.nh = 0;
    msg_phase phs[MLB_PH_N];
    int nph = 0;
    for (int ph = 0; mt && ph < MLB_PH_N; ph++) {
        if (!rep->ph[ph].ran || (rp->sent_phases & (1u << ph)))
            continue;
        msg_phase *m = &phs[nph++];
        memset(m, 0, sizeof *m);
        m->ph = ph;
        m->m = rep->ph[ph];
        for (int i = 0; i < 2; i++) {
            m->t[i] = mt->b_t[ph][i];
            m->rss[i] = mt->b_rss[ph][i];
        }
        batch_add(rp, &b, MSG_PHASE, m, sizeof *m, NULL, 0);
        rp->sent_phases |= 1u << ph;
    }
    msg_peer pe;
    if (!rp->sent_peer && isfinite(rep->peer_spawn_s)) {
        pe.start_s = rep->peer_spawn_s;
        batch_add(rp, &b, MSG_PEER, &pe, sizeof pe, rep->peer_hello,
                  rep->peer_hello ? strlen(rep->peer_hello) : 0);
        rp->sent_peer = 1;
    }
    if (ctx->n_metrics) /* all of them, as a metric can be reported again; a few */
        batch_add(rp, &b, MSG_METRICS, ctx->metrics, ctx->n_metrics * sizeof(mlb_metric), NULL,
                  0);
    if (ctx->n_progress > rp->sent_progress) {
        batch_array(rp, &b, MSG_PROGRESS, ctx->progress + rp->sent_progress,
                    ctx->n_progress - rp->sent_progress, sizeof(mlb_progress));
        rp->sent_progress = ctx->n_progress;
    }
    if (!rp->sent_latency && rep->n_latency) {
        batch_array(rp, &b, MSG_LATENCY, rep->latency_s, rep->n_latency, sizeof(double));
        rp->sent_latency = 1;
    }
    msg_final fin;
    if (final) {
        fin.status = (int32_t)rep->status;
        fin.pad = 0;
        batch_add(rp, &b, MSG_FINAL, &fin, sizeof fin, rep->message,
                  rep->message ? strlen(rep->message) : 0);
    }
    batch_send(rp, &b);
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

static void phase_failed(mlb_rep *rep, mlb_ctx *ctx, const mlb_target *t, int ph, int rc)
{
    if (rep->status != MLB_REP_OK)
        return; /* the first failure is the one reported */
    callback_failed(rep, ctx, mlb_phase_names[ph], rc);
    switch (t->fault) {
    case MLB_TARGET_TIMEOUT: rep->status = MLB_REP_TIMEOUT; break;
    case MLB_TARGET_MEMLIMIT: rep->status = MLB_REP_MEMLIMIT; break;
    case MLB_TARGET_CRASHED: rep->status = MLB_REP_CRASHED; break;
    default: break;
    }
}

/* One timed phase; infer runs `queries` queries, each timed. On failure the
 * repetition's status and message say so. Returns the target's result. */
static int timed_phase(meter *mt, mlb_ctx *ctx, mlb_target *t, int ph, mlb_rep *rep, int queries)
{
    int (*run)(mlb_target *, mlb_ctx *, int) = t->ops->phase;
    phase_mark mk;
    int rc = 0;
    phase_begin(mt, ctx, ph, &mk);
    if (ph != MLB_PH_INFER)
        rc = run(t, ctx, ph);
    for (int q = 0; ph == MLB_PH_INFER && q < queries && rc >= 0; q++) {
        double t0 = mlb_now();
        rc = run(t, ctx, ph);
        rep->latency_s[q] = mlb_now() - t0;
        rep->n_latency = (size_t)q + 1;
    }
    phase_end(mt, ctx, ph, &mk, rep);
    if (rc < 0)
        phase_failed(rep, ctx, t, ph, rc);
    return rc;
}

/* An entry built without discovery (a unit test's) is an in-process plugin. */
static const mlb_target_ops *target_ops(const mlb_plugin_entry *e)
{
    return e->ops ? e->ops : &mlb_target_plugin_ops;
}

/* The phases, in this process. Forked, `rp` reports to the parent and `sh`
 * tells it the phase; in-process (--no-fork) both are NULL. */
static void run_phases(const mlb_plugin_entry *e, mlb_ctx *ctx, const mlb_run_opts *opts,
                       mlb_rep *rep, report *rp, rep_shared *sh)
{
    const mlb_target_ops *ops = target_ops(e);
    mlb_target_opts to = {
        .deadline = opts->timeout_s > 0 ? mlb_now() + opts->timeout_s : 0,
        .mem_limit = opts->mem_limit_bytes,
        .data_from = opts->data_from,
    };
    mlb_target t;
    meter mt;
    const meter *sent = NULL; /* what the report reads the boundary samples from */
    rep->status = MLB_REP_OK;
    rep->peer_spawn_s = NAN;
    int rc = ops->start(&t, e, &to, ctx);
    if (rc < 0) {
        callback_failed(rep, ctx, "start", rc);
        goto stop;
    }
    rep->peer_spawn_s = t.start_s;
    rep->peer_hello = t.hello ? strdup(t.hello) : NULL;
    meter_start(&mt, t.pid, opts->sample_interval_s, sh);
    sent = &mt;

    if (timed_phase(&mt, ctx, &t, MLB_PH_SETUP, rep, 0) < 0)
        goto out;
    if (rp)
        report_send(rp, &mt, rep, ctx, 0);

    if (t.phases & (1u << MLB_PH_TRAIN)) {
        if (timed_phase(&mt, ctx, &t, MLB_PH_TRAIN, rep, 0) < 0)
            goto teardown;
        if (rp)
            report_send(rp, &mt, rep, ctx, 0);
    }

    if ((t.phases & (1u << MLB_PH_INFER)) && opts->infer_queries > 0) {
        /* Allocated before the phase so that the timed region holds only queries. */
        rep->latency_s = calloc((size_t)opts->infer_queries, sizeof(double));
        if (!rep->latency_s) {
            rep->status = MLB_REP_FAILED;
            rep_set_message(rep, "engine: out of memory for latencies");
            goto teardown;
        }
        if (timed_phase(&mt, ctx, &t, MLB_PH_INFER, rep, opts->infer_queries) < 0)
            goto teardown;
        if (rp)
            report_send(rp, &mt, rep, ctx, 0);
    }

teardown:
    /* A target that is gone or stuck gets no teardown. Teardown runs after a
     * failed train or infer too; the first failure is the one kept. */
    if (!t.gone) {
        ctx->err[0] = '\0'; /* train's message is in rep already */
        timed_phase(&mt, ctx, &t, MLB_PH_TEARDOWN, rep, 0);
    }
out:
    meter_stop(&mt, rep);
stop:
    ops->stop(&t);
    if (rp)
        report_send(rp, sent, rep, ctx, 1);
    else
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

/* ---- the parent's side of a forked repetition ---------------------------- */

/* What the parent gathers while the child runs. */
typedef struct {
    char *buf; /* report bytes not yet applied */
    size_t len, cap;
    int final;    /* the child's last message arrived */
    int acc_ready;
    mem_acc acc;  /* the parent's samples, and the child's boundary ones */
    mlb_proc proc; /* the measured process, opened once the child says which */
    int proc_open;
    size_t shared_taken; /* bytes of the shared report applied */
} watch;

static void watch_acc(watch *w, const rep_shared *sh)
{
    if (!w->acc_ready) {
        acc_init(&w->acc, sh->t0);
        w->acc_ready = 1;
    }
}

/* One sample of the measured process, attributed to the phase the shared
 * page says is under way throughout the read. */
static void watch_sample(watch *w, rep_shared *sh, pid_t child)
{
    if (!atomic_load(&sh->armed))
        return;
    watch_acc(w, sh);
    if (!w->proc_open) {
        pid_t pid = (pid_t)atomic_load(&sh->pid);
        mlb_proc_open(&w->proc, pid > 0 ? pid : child);
        w->proc_open = 1;
    }
    unsigned s1 = atomic_load(&sh->seq);
    int ph = atomic_load(&sh->phase);
    double rss = mlb_proc_statm(&w->proc);
    unsigned s2 = atomic_load(&sh->seq);
    acc_add(&w->acc, s1 == s2 && !(s1 & 1u) ? ph : -1, mlb_now(), rss);
}

static char *text_of(const char *s, size_t n) { return n ? strndup(s, n) : NULL; }

/* The value as the results file will hold it. cJSON prints 15 significant
 * digits when they read back within an epsilon (else 17), so a value can
 * lose its last bit there; rounding it the same way here keeps what the
 * engine reports from memory (tables, CSV) identical to what a report from
 * the file shows, as when the child's report was JSON itself. */
static double as_json(double d)
{
    if (!isfinite(d) || (d == floor(d) && fabs(d) < 1e15))
        return d; /* null, or an integer cJSON prints exactly */
    char buf[32];
    snprintf(buf, sizeof buf, "%1.15g", d);
    double t = strtod(buf, NULL);
    double m = fabs(t) > fabs(d) ? fabs(t) : fabs(d);
    return fabs(t - d) <= m * DBL_EPSILON ? t : d;
}

static void meas_as_json(mlb_phase_meas *p)
{
    p->wall_s = as_json(p->wall_s);
    p->cpu_user_s = as_json(p->cpu_user_s);
    p->cpu_sys_s = as_json(p->cpu_sys_s);
    p->rss_peak_bytes = as_json(p->rss_peak_bytes);
    p->rss_avg_bytes = as_json(p->rss_avg_bytes);
    for (int k = 0; k < MLB_WORK_KINDS; k++)
        p->work[k] = as_json(p->work[k]);
}

/* Appends or replaces an array of rep from a message body. */
static int take_array(void **dst, size_t *n_dst, size_t elem, const char *body, size_t len,
                      int append)
{
    if (len % elem)
        return -EPROTO;
    size_t n = len / elem, keep = append ? *n_dst : 0;
    if (keep + n == 0) {
        free(*dst);
        *dst = NULL;
        *n_dst = 0;
        return 0;
    }
    char *v = realloc(append ? *dst : NULL, (keep + n) * elem);
    if (!v)
        return -ENOMEM;
    memcpy(v + keep * elem, body, len);
    if (!append)
        free(*dst);
    *dst = v;
    *n_dst = keep + n;
    return 0;
}

static int apply_message(watch *w, const rep_shared *sh, mlb_rep *out, uint32_t type,
                         const char *body, size_t len)
{
    int rc = 0;
    switch (type) {
    case MSG_PHASE: {
        msg_phase m;
        if (len != sizeof m)
            return -EPROTO;
        memcpy(&m, body, len);
        if (m.ph < 0 || m.ph >= MLB_PH_N)
            return -EPROTO;
        watch_acc(w, sh);
        for (int i = 0; i < 2; i++)
            acc_add(&w->acc, m.ph, m.t[i], m.rss[i]);
        double max;
        acc_phase(&w->acc, m.ph, &m.m.rss_avg_bytes, &max);
        if (isnan(m.m.rss_peak_bytes))
            m.m.rss_peak_bytes = max; /* no kernel mark: the sampled peak */
        meas_as_json(&m.m);
        out->ph[m.ph] = m.m;
        return 0;
    }
    case MSG_METRICS:
        rc = take_array((void **)&out->metrics, &out->n_metrics, sizeof(mlb_metric), body, len, 0);
        for (size_t i = 0; rc == 0 && i < out->n_metrics; i++) {
            out->metrics[i].name[sizeof out->metrics[i].name - 1] = '\0';
            out->metrics[i].value = as_json(out->metrics[i].value);
            out->metrics[i].rel_tol = as_json(out->metrics[i].rel_tol);
            out->metrics[i].abs_tol = as_json(out->metrics[i].abs_tol);
        }
        return rc;
    case MSG_PROGRESS: {
        size_t old = out->n_progress;
        rc = take_array((void **)&out->progress, &out->n_progress, sizeof(mlb_progress), body,
                        len, 1);
        for (size_t i = old; rc == 0 && i < out->n_progress; i++) {
            mlb_progress *q = &out->progress[i];
            q->metric[sizeof q->metric - 1] = '\0';
            q->t = as_json(q->t);
            q->step = as_json(q->step);
            q->loss = as_json(q->loss);
            q->value = as_json(q->value);
        }
        return rc;
    }
    case MSG_LATENCY: {
        size_t old = out->n_latency;
        rc = take_array((void **)&out->latency_s, &out->n_latency, sizeof(double), body, len, 1);
        for (size_t i = old; rc == 0 && i < out->n_latency; i++)
            out->latency_s[i] = as_json(out->latency_s[i]);
        return rc;
    }
    case MSG_PEER: {
        msg_peer pe;
        if (len < sizeof pe)
            return -EPROTO;
        memcpy(&pe, body, sizeof pe);
        out->peer_spawn_s = as_json(pe.start_s);
        free(out->peer_hello);
        out->peer_hello = text_of(body + sizeof pe, len - sizeof pe);
        return 0;
    }
    case MSG_FINAL: {
        msg_final f;
        if (len < sizeof f)
            return -EPROTO;
        memcpy(&f, body, sizeof f);
        if (f.status < MLB_REP_OK || f.status > MLB_REP_UNAVAILABLE)
            return -EPROTO;
        out->status = (mlb_rep_status)f.status;
        free(out->message);
        out->message = text_of(body + sizeof f, len - sizeof f);
        w->final = 1;
        return 0;
    }
    }
    return -EPROTO;
}

/* Applies the complete messages in buf[0, len); a partial one (the child
 * died writing it to the pipe) waits for bytes that may never come. Sets
 * *used to the bytes applied; returns 0 or negative on a malformed one. */
static int apply_messages(watch *w, const rep_shared *sh, mlb_rep *out, const char *buf,
                          size_t len, size_t *used)
{
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && len - off >= sizeof(msg_hdr)) {
        msg_hdr h;
        memcpy(&h, buf + off, sizeof h);
        if (len - off - sizeof h < h.len)
            break;
        rc = apply_message(w, sh, out, h.type, buf + off + sizeof h, h.len);
        off += sizeof h + h.len;
    }
    *used = off;
    return rc;
}

/* The report so far: the shared part first, as the child writes to the
 * pipe only once that is full, then what the pipe brought. */
static int take_messages(watch *w, const rep_shared *sh, mlb_rep *out)
{
    size_t shared = atomic_load(&((rep_shared *)sh)->used), off;
    if (shared > w->shared_taken) {
        int rc = apply_messages(w, sh, out, sh->data + w->shared_taken, shared - w->shared_taken,
                                &off);
        w->shared_taken += off;
        if (rc < 0)
            return rc;
    }
    int rc = apply_messages(w, sh, out, w->buf, w->len, &off);
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return rc;
}

/* Room for one more read; returns 0 or -ENOMEM. Messages are applied as
 * they arrive, so the buffer only grows for one that is larger than it. */
static int watch_room(watch *w)
{
    if (w->cap - w->len >= 4096)
        return 0;
    size_t cap = w->cap * 2;
    char *nb = realloc(w->buf, cap);
    if (!nb)
        return -ENOMEM;
    w->buf = nb;
    w->cap = cap;
    return 0;
}

static const char *signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? abbrev : "unknown";
}

/* The page the child tells the phase through; mapped once for the engine's
 * life and reset before each fork. */
static rep_shared *shared_page(void)
{
    static rep_shared *page;
    if (!page) {
        void *p = mmap(NULL, SHARED_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        page = p;
    }
    atomic_store(&page->seq, 0);
    atomic_store(&page->phase, -1);
    atomic_store(&page->pid, 0);
    atomic_store(&page->armed, 0);
    atomic_store(&page->used, 0);
    atomic_store(&page->overflow, 0);
    page->t0 = 0;
    return page;
}

/* Becomes readable when the child exits, so that the parent sleeps until
 * something happens instead of polling waitpid. -1 where unsupported. */
static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

static struct timespec ts_of(double s)
{
    if (s < 0)
        s = 0;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    return ts;
}

/* Binds, once, the library calls that only a repetition's child makes:
 * bound lazily, they would be looked up anew in every child (fork copies
 * the engine's GOT as it is), symbol searches and the page faults they take
 * costing tens of µs per repetition here. Each call is harmless in the
 * engine: a query, or an error on purpose. (-z now at link time would make
 * this unnecessary.) */
static void bind_child_calls(void)
{
    static int bound;
    if (bound)
        return;
    bound = 1;
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, NULL, &sa);
    int sig = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    (void)getppid();
    (void)syscall(SYS_getpid); /* the child's exit is a syscall() */
    (void)dup2(-1, -1);
    if (write(-1, "", 0) < 0 || writev(-1, NULL, 0) < 0)
        errno = 0;
    mlb_proc p;
    mlb_proc_open(&p, 0);
    double u, s;
    u = mlb_proc_statm(&p) + mlb_proc_hwm(&p);
    mlb_proc_cpu(&p, &u, &s);
    mlb_proc_close(&p);
    mlb_ctx c;
    memset(&c, 0, sizeof c);
    mlb_ctx_phase_begin(&c, 0);
    FILE *f = fopen("/dev/null", "we");
    if (f) {
        setvbuf(f, NULL, _IOLBF, 0);
        fclose(f);
    }
}

static int run_forked(const mlb_plugin_entry *pl, mlb_ctx *ctx, const mlb_run_opts *opts,
                      mlb_rep *out)
{
    bind_child_calls();
    rep_shared *sh = shared_page();
    if (!sh)
        return -ENOMEM;
    watch w;
    memset(&w, 0, sizeof w);
    w.cap = 4096; /* the pipe carries only what outgrows the shared memory */
    if (!(w.buf = malloc(w.cap)))
        return -ENOMEM;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        int e = errno;
        free(w.buf);
        return -e;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        free(w.buf);
        return -e;
    }
    if (pid == 0) {
        /* Own process group: a terminal's ^C reaches only the engine, and a
         * timeout kills whatever the plugin started too. */
        setpgid(0, 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sa.sa_handler = SIG_IGN; /* a dead peer is an EPIPE to report, not our death */
        sigaction(SIGPIPE, &sa, NULL);
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
        report rp = {.fd = pfd[1], .sh = sh};
        run_phases(pl, ctx, opts, &rep, &rp, sh);
        close(pfd[1]);
        fflush(NULL); /* what the plugin printed; _exit would drop it */
        /* _exit itself, without its lazy binding: the symbol search through
         * every loaded library would cost this child a dozen page faults.
         * syscall() is bound already (bind_child_calls). */
        syscall(SYS_exit_group, 0);
        _exit(0);
    }
    setpgid(pid, pid); /* also here, so there is no window before the child's own call */
    close(pfd[1]);
    int pidfd = pidfd_of(pid);

    double t0 = mlb_now();
    /* A target with a deadline of its own reports first (a peer's stderr). */
    double kill_at = opts->timeout_s > 0 ? t0 + opts->timeout_s + target_ops(pl)->kill_grace_s
                                         : INFINITY;
    double interval = opts->sample_interval_s;
    double next_sample = interval > 0 ? t0 + interval : INFINITY;
    double next_mem = opts->mem_limit_bytes > 0 ? t0 : INFINITY;
    int eof = 0, killed = 0, status = 0, reaped = 0, broken = 0;
    mlb_rep_status kill_status = MLB_REP_OK;
    char kill_msg[256] = "";
    while (!reaped) {
        double now = mlb_now();
        /* Never asleep for long: SIGINT may land just before ppoll. Without
         * a pidfd, waitpid is polled (every 10 ms, 0.1 ms once the pipe
         * closed: the child is exiting). */
        double wake = now + (pidfd >= 0 ? 0.05 : eof ? 1e-4 : 0.010);
        if (next_sample < wake)
            wake = next_sample;
        if (!killed && next_mem < wake)
            wake = next_mem;
        if (!killed && kill_at < wake)
            wake = kill_at;
        /* The pipe is watched only when the report overflowed to it, or for
         * the child's exit where there is no pidfd: otherwise the parent
         * wakes once, when the child has gone. */
        int on_pipe = !eof && (pidfd < 0 || atomic_load(&sh->overflow));
        struct pollfd fds[2];
        nfds_t nf = 0;
        if (on_pipe)
            fds[nf++] = (struct pollfd){.fd = pfd[0], .events = POLLIN};
        nfds_t at_pidfd = nf;
        if (pidfd >= 0)
            fds[nf++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        struct timespec ts = ts_of(wake - now);
        int pr = nf ? ppoll(fds, nf, &ts, NULL) : nanosleep(&ts, NULL);
        if (on_pipe && pr > 0 && fds[0].revents) {
            if (watch_room(&w) < 0) {
                broken = 1; /* no memory for the report: nothing it says can be kept */
                eof = 1;
            } else {
                ssize_t n = read(pfd[0], w.buf + w.len, w.cap - w.len);
                if (n > 0) {
                    w.len += (size_t)n;
                    if (!broken && take_messages(&w, sh, out) < 0)
                        broken = 1;
                } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                    eof = 1;
                }
            }
        }
        /* With a pidfd, only once it says the child has gone. */
        int gone = pidfd < 0 || (pr > 0 && fds[at_pidfd].revents);
        pid_t wr = gone ? waitpid(pid, &status, WNOHANG) : 0;
        if (wr == pid || (wr < 0 && errno == ECHILD)) { /* ECHILD: reaped by someone else */
            reaped = 1;
            break;
        }
        now = mlb_now();
        if (now >= next_sample) {
            watch_sample(&w, sh, pid);
            next_sample += interval;
            if (next_sample < now) /* the parent was descheduled: no burst to catch up */
                next_sample = now + interval;
        }
        if (killed)
            continue;
        if (mlb_interrupted) {
            kill_status = MLB_REP_INTERRUPTED;
            snprintf(kill_msg, sizeof kill_msg, "interrupted by SIGINT");
        } else if (now > kill_at) {
            kill_status = MLB_REP_TIMEOUT;
            snprintf(kill_msg, sizeof kill_msg, "timed out after %.3g s", opts->timeout_s);
        } else if (broken) {
            kill_status = MLB_REP_FAILED;
            snprintf(kill_msg, sizeof kill_msg,
                     "engine: out of memory for the repetition's report");
        } else if (now >= next_mem) {
            next_mem = now + 0.010;
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
    /* Drain what the child wrote before it ended; without blocking, as
     * something the plugin started may still hold the pipe open. */
    if (!broken && take_messages(&w, sh, out) < 0)
        broken = 1;
    if (!eof && !broken && (pidfd < 0 || atomic_load(&sh->overflow))) {
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        for (;;) {
            if (watch_room(&w) < 0)
                break;
            ssize_t n = read(pfd[0], w.buf + w.len, w.cap - w.len);
            if (n <= 0)
                break;
            w.len += (size_t)n;
            if (take_messages(&w, sh, out) < 0)
                break;
        }
    }
    close(pfd[0]);
    if (pidfd >= 0)
        close(pidfd);
    if (killed)
        kill(-pid, SIGKILL); /* anything the plugin left in its group */
    free(w.buf);
    if (w.proc_open)
        mlb_proc_close(&w.proc);
    if (w.acc_ready) {
        acc_take_timeline(&w.acc, out);
        for (size_t i = 0; i < out->n_timeline; i++) {
            out->timeline[i].t = as_json(out->timeline[i].t);
            out->timeline[i].rss_bytes = as_json(out->timeline[i].rss_bytes);
        }
    }

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
    } else if (!w.final) {
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
        run_phases(pl, &ctx, opts, out, NULL, NULL);
    mlb_ctx_free(&ctx);
    return rc;
}
