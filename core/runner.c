/* One repetition: phases timed in the process that runs the target, which by
 * default is a forked child, so that a plugin's crash, hang or runaway
 * allocation costs one repetition and not the engine. What runs, an
 * in-process plugin or a peer, is behind target.h: this file only measures.
 *
 * The cost of a forked repetition is kept near that of fork and exit
 * (docs/PERFORMANCE.md): the child reports each finished phase into memory
 * shared with the engine (rep_channel.h), reads /proc through files opened
 * once, and starts no thread: the engine, idle while it waits, samples the
 * measured process's memory itself. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem_sampler.h"
#include "peer.h"
#include "proctree.h"
#include "rep_channel.h"
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
    free(r->warning);
    memset(r, 0, sizeof(*r));
}

static void rep_set_message(mlb_rep *r, const char *msg)
{
    free(r->message);
    r->message = msg ? strdup(msg) : NULL;
}

/* ---- measuring the process that runs the target -------------------------- */

/* The measured process (this one, or the peer it started), seen from the
 * process that runs the target. */
typedef struct {
    mlb_proc proc;
    mlb_sampler *ts;    /* --no-fork: the sampler thread; NULL when forked */
    mlb_sampler ts_store;
    mlb_rep_shared *sh; /* forked: the engine samples, told the phase here */
    /* Forked: each phase's samples at its start and end, which the engine
     * adds to its own for the phase's average. */
    double b_t[MLB_PH_N][2], b_rss[MLB_PH_N][2];
    double t0; /* the timeline's 0, from which phases' start_s count */
} meter;

static void meter_start(meter *mt, pid_t pid, double interval_s, mlb_rep_shared *sh)
{
    memset(mt, 0, sizeof *mt);
    mlb_proc_open(&mt->proc, pid); /* unreadable: figures are NaN, the run goes on */
    double t0 = mlb_now();
    mt->t0 = t0;
    if (sh) {
        mt->sh = sh;
        mlb_rep_shared_arm(sh, pid, t0);
        return;
    }
    mt->ts = &mt->ts_store;
    mlb_sampler_start(mt->ts, &mt->proc, interval_s, t0);
}

/* Ends sampling; in process, the timeline goes to rep (forked, the engine
 * has it). */
static void meter_stop(meter *mt, mlb_rep *rep)
{
    if (mt->ts)
        mlb_sampler_stop(mt->ts, rep);
    else if (mt->sh)
        mlb_rep_shared_disarm(mt->sh);
    mlb_proc_close(&mt->proc);
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
        mlb_sampler_enter(mt->ts, ph, mlb_proc_statm(&mt->proc));
    } else {
        mlb_rep_shared_phase(mt->sh, ph);
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
    p->start_s = mk->t0 - mt->t0;
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
    p->rss_avg_bytes = NAN; /* forked: the engine's, from its samples and these */
    double rss = mlb_proc_statm(&mt->proc);
    if (mt->ts) {
        mlb_sampler_leave(mt->ts, ph, rss, &p->rss_avg_bytes, &sampled_max);
    } else {
        mt->b_rss[ph][1] = rss;
        mt->b_t[ph][1] = mlb_now();
        mlb_rep_shared_phase(mt->sh, -1);
    }
    double hwm = mk->hwm_ok ? mlb_proc_hwm(&mt->proc) : NAN;
    p->rss_peak_bytes = isnan(hwm) ? sampled_max : hwm;
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

/* The scenario's view of the target: one query, n queries, items so far. */
typedef struct {
    mlb_target *t;
    mlb_ctx *ctx;
} query_arg;

static int query_one(void *a)
{
    query_arg *q = a;
    return q->t->ops->phase(q->t, q->ctx, MLB_PH_INFER);
}

static int query_many(void *a, int n)
{
    query_arg *q = a;
    return q->t->ops->infer_n(q->t, q->ctx, n);
}

static double query_items(void *a)
{
    return ((query_arg *)a)->ctx->work[MLB_WORK_ITEMS];
}

/* The scenario's figures as engine metrics of the repetition, so that they
 * are summarised and compared like any metric. Latency percentiles other
 * than p99 restate the latencies: recorded, not compared. */
static void scenario_metrics(mlb_ctx *ctx, const mlb_run_opts *o, const mlb_scenario_figures *f)
{
    double m = o->scenario_margin > 0 ? o->scenario_margin : 0.02;
    if (o->scenario.kind == MLB_SCN_OFFLINE) {
        mlb_report_metric_ex(ctx, MLB_SCN_M_SAMPLES_PER_S, f->samples_per_s, MLB_HIGHER_IS_BETTER,
                             m, 0, 0);
    } else if (o->scenario.kind == MLB_SCN_SERVER) {
        mlb_report_metric_ex(ctx, MLB_SCN_M_P50, f->p50_s * 1e3, MLB_LOWER_IS_BETTER, m, 0,
                             MLB_METRIC_RESTATES_TIME);
        mlb_report_metric_ex(ctx, MLB_SCN_M_P90, f->p90_s * 1e3, MLB_LOWER_IS_BETTER, m, 0,
                             MLB_METRIC_RESTATES_TIME);
        mlb_report_metric_ex(ctx, MLB_SCN_M_P99, f->p99_s * 1e3, MLB_LOWER_IS_BETTER, m, 0, 0);
        if (o->scenario.find_peak)
            mlb_report_metric_ex(ctx, MLB_SCN_M_PEAK, f->peak_qps, MLB_HIGHER_IS_BETTER, m, 0, 0);
    }
}

/* One timed phase; infer runs `queries` queries under the scenario. On
 * failure the repetition's status and message say so. Returns the
 * target's result. */
static int timed_phase(meter *mt, mlb_ctx *ctx, mlb_target *t, int ph, mlb_rep *rep, int queries,
                       const mlb_run_opts *o)
{
    phase_mark mk;
    int rc = 0;
    mlb_scenario_figures fig;
    phase_begin(mt, ctx, ph, &mk);
    if (ph != MLB_PH_INFER) {
        rc = t->ops->phase(t, ctx, ph);
    } else {
        query_arg qa = {t, ctx};
        mlb_query_ops q = {.one = query_one, .many = t->ops->infer_n ? query_many : NULL,
                           .max_many = t->max_infer_n, .arg = &qa};
        /* Arrivals differ between repetitions and agree between variants. */
        uint64_t seed = ctx->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)(int64_t)ctx->rep;
        rc = mlb_scenario_run(&o->scenario, queries, seed, &q, query_items, rep->latency_s,
                              &rep->n_latency, &fig);
    }
    phase_end(mt, ctx, ph, &mk, rep);
    if (ph == MLB_PH_INFER && rc >= 0)
        scenario_metrics(ctx, o, &fig);
    if (rc < 0)
        phase_failed(rep, ctx, t, ph, rc);
    return rc;
}

/* An entry built without discovery (a unit test's) is an in-process plugin. */
static const mlb_target_ops *target_ops(const mlb_plugin_entry *e)
{
    return e->ops ? e->ops : &mlb_target_plugin_ops;
}

/* The phases, in this process. Forked, `rp` reports to the engine and `sh`
 * tells it the phase; in process (--no-fork) both are NULL. */
static void run_phases(const mlb_plugin_entry *e, mlb_ctx *ctx, const mlb_run_opts *opts,
                       mlb_rep *rep, mlb_chan_writer *rp, mlb_rep_shared *sh)
{
    const mlb_target_ops *ops = target_ops(e);
    mlb_target_opts to = {
        .deadline = opts->timeout_s > 0 ? mlb_now() + opts->timeout_s : 0,
        .mem_limit = opts->mem_limit_bytes,
        .data_from = opts->data_from,
    };
    mlb_target t;
    meter mt;
    int metered = 0; /* the boundary samples in mt are there to report */
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
    metered = 1;

    if (timed_phase(&mt, ctx, &t, MLB_PH_SETUP, rep, 0, opts) < 0)
        goto out;
    if (rp)
        mlb_chan_send(rp, mt.b_t, mt.b_rss, rep, ctx, 0);

    if (t.phases & (1u << MLB_PH_TRAIN)) {
        if (timed_phase(&mt, ctx, &t, MLB_PH_TRAIN, rep, 0, opts) < 0)
            goto teardown;
        if (rp)
            mlb_chan_send(rp, mt.b_t, mt.b_rss, rep, ctx, 0);
    }

    if ((t.phases & (1u << MLB_PH_INFER)) && opts->infer_queries > 0) {
        /* Allocated before the phase so that the timed region holds only queries. */
        rep->latency_s = calloc((size_t)opts->infer_queries, sizeof(double));
        if (!rep->latency_s) {
            rep->status = MLB_REP_FAILED;
            rep_set_message(rep, "engine: out of memory for latencies");
            goto teardown;
        }
        if (timed_phase(&mt, ctx, &t, MLB_PH_INFER, rep, opts->infer_queries, opts) < 0)
            goto teardown;
        if (rp)
            mlb_chan_send(rp, mt.b_t, mt.b_rss, rep, ctx, 0);
    }

teardown:
    /* A target that is gone or stuck gets no teardown. Teardown runs after a
     * failed train or infer too; the first failure is the one kept. */
    if (!t.gone) {
        ctx->err[0] = '\0'; /* train's message is in rep already */
        timed_phase(&mt, ctx, &t, MLB_PH_TEARDOWN, rep, 0, opts);
    }
out:
    meter_stop(&mt, rep);
stop:
    ops->stop(&t);
    if (rp)
        mlb_chan_send(rp, metered ? mt.b_t : NULL, metered ? mt.b_rss : NULL, rep, ctx, 1);
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

/* ---- the engine's side of a forked repetition ---------------------------- */

static const char *signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? abbrev : "unknown";
}

/* Becomes readable when the child exits, so that the engine sleeps until
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
    mlb_rep_shared *sh = mlb_rep_shared_get();
    if (!sh)
        return -ENOMEM;
    mlb_chan_reader w;
    if (mlb_chan_reader_init(&w) < 0)
        return -ENOMEM;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        int e = errno;
        mlb_chan_reader_finish(&w, out);
        return -e;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        mlb_chan_reader_finish(&w, out);
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
        mlb_chan_writer rp = {.fd = pfd[1], .sh = sh};
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
         * the child's exit where there is no pidfd: otherwise the engine
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
            if (mlb_chan_reader_room(&w) < 0) {
                broken = 1; /* no memory for the report: nothing it says can be kept */
                eof = 1;
            } else {
                ssize_t n = read(pfd[0], w.buf + w.len, w.cap - w.len);
                if (n > 0) {
                    w.len += (size_t)n;
                    if (!broken && mlb_chan_reader_take(&w, sh, out) < 0)
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
            mlb_chan_reader_sample(&w, sh, pid);
            next_sample += interval;
            if (next_sample < now) /* the engine was descheduled: no burst to catch up */
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
            /* The whole tree: what the plugin or peer started counts too. */
            next_mem = now + 0.010;
            mlb_chan_reader_tree(&w, pid, now);
            double rss = mlb_chan_reader_tree_rss(&w, pid);
            if (rss > opts->mem_limit_bytes) {
                int ph = atomic_load(&sh->phase);
                kill_status = MLB_REP_MEMLIMIT;
                snprintf(kill_msg, sizeof kill_msg,
                         "resident memory of the repetition's processes %.0f MiB exceeded "
                         "--mem-limit %.0f MiB during %s",
                         rss / 1048576.0, opts->mem_limit_bytes / 1048576.0,
                         ph >= 0 && ph < MLB_PH_N ? mlb_phase_names[ph] : "the repetition");
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
    if (!broken && mlb_chan_reader_take(&w, sh, out) < 0)
        broken = 1;
    if (!eof && !broken && (pidfd < 0 || atomic_load(&sh->overflow))) {
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        for (;;) {
            if (mlb_chan_reader_room(&w) < 0)
                break;
            ssize_t n = read(pfd[0], w.buf + w.len, w.cap - w.len);
            if (n <= 0)
                break;
            w.len += (size_t)n;
            if (mlb_chan_reader_take(&w, sh, out) < 0)
                break;
        }
    }
    close(pfd[0]);
    if (pidfd >= 0)
        close(pidfd);
    if (killed)
        kill(-pid, SIGKILL); /* anything the plugin left in its group */
    /* A child that did not get to its end (killed, crashed, exited) left
     * its peer's temporary directory behind. */
    if (pl->peer && (killed || !w.final))
        mlb_peer_tmp_cleanup(pid);
    mlb_chan_reader_finish(&w, out);

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

/* CPU seconds the whole machine has spent busy since boot (/proc/stat's
 * first line: everything but idle and iowait); NaN if unreadable. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return NAN;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return NAN;
    long tck = sysconf(_SC_CLK_TCK);
    /* user nice system [idle] [iowait] irq softirq steal */
    double busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    return tck > 0 ? busy / (double)tck : NAN;
}

static double loadavg_1m(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = NAN;
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

static int run_repetition(const mlb_plugin_entry *pl, const mlb_ctx *tmpl, int rep_index,
                          const mlb_run_opts *opts, mlb_rep *out);

int mlb_run_repetition(const mlb_plugin_entry *pl, const mlb_ctx *tmpl, int rep_index,
                       const mlb_run_opts *opts, mlb_rep *out)
{
    /* Before the first repetition: from then on, whatever a repetition
     * starts stays below the engine, whoever its parent was. */
    mlb_proc_become_subreaper();
    double b0 = machine_busy_s(), t0 = mlb_now();
    int rc = run_repetition(pl, tmpl, rep_index, opts, out);
    /* Every repetition, whatever its status: the repetition's own process
     * is reaped, so each child of the engine still there is a leftover. */
    char strays[1024];
    if (mlb_proc_reap_strays(strays, sizeof strays) > 0) {
        free(out->warning);
        out->warning = strdup(strays);
    }
    double b1 = machine_busy_s(), t1 = mlb_now();
    double own = 0;
    for (int ph = 0; ph < MLB_PH_N; ph++)
        if (out->ph[ph].ran)
            own += out->ph[ph].cpu_user_s + out->ph[ph].cpu_sys_s;
    /* /proc/stat ticks are 10 ms: over a short repetition the figure is
     * coarse, so it is kept only for repetitions of at least 50 ms. */
    out->other_cores = t1 - t0 >= 0.05 && isfinite(b0) && isfinite(b1)
                           ? fmax(0, (b1 - b0 - own) / (t1 - t0))
                           : NAN;
    out->loadavg_1m = loadavg_1m();
    return rc;
}

static int run_repetition(const mlb_plugin_entry *pl, const mlb_ctx *tmpl, int rep_index,
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
    /* Warm-ups (negative indices) keep the base seed. */
    if (opts->vary_seed && rep_index >= 0)
        ctx.seed = tmpl->seed + (uint64_t)rep_index;
    if (opts->fork)
        rc = run_forked(pl, &ctx, opts, out);
    else
        run_phases(pl, &ctx, opts, out, NULL, NULL);
    out->seed = ctx.seed;
    mlb_ctx_free(&ctx);
    return rc;
}
