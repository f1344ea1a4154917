/* Sampled memory of a measured process (mem_sampler.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_sampler.h"

void mlb_mem_acc_init(mlb_mem_acc *a, double t0)
{
    memset(a, 0, sizeof *a);
    a->t0 = t0;
    a->stride = 1;
}

void mlb_mem_acc_add(mlb_mem_acc *a, int ph, double t, double rss)
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
    if (a->n_timeline == MLB_TIMELINE_CAP) {
        for (size_t i = 0; i < MLB_TIMELINE_CAP / 2; i++)
            a->timeline[i] = a->timeline[2 * i];
        a->n_timeline = MLB_TIMELINE_CAP / 2;
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

void mlb_mem_acc_phase(const mlb_mem_acc *a, int ph, double *avg, double *max)
{
    *avg = a->count[ph] > 0 ? a->sum[ph] / a->count[ph] : NAN;
    *max = a->count[ph] > 0 ? a->max[ph] : NAN;
}

/* In time order: the engine adds the child's boundary samples when their
 * report arrives, after its own later ones. */
void mlb_mem_acc_take_timeline(mlb_mem_acc *a, mlb_rep *rep)
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

static void *sampler_main(void *arg)
{
    mlb_sampler *m = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long step_ns = (long)(m->interval_s * 1e9);
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        double rss = mlb_proc_statm(m->proc);
        mlb_mem_acc_add(&m->acc, m->phase, mlb_now(), rss);
        next.tv_nsec += step_ns;
        next.tv_sec += next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &next) == 0)
            ; /* woken without stop: a spurious wake-up, wait on */
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

void mlb_sampler_start(mlb_sampler *m, mlb_proc *proc, double interval_s, double t0)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_condattr_destroy(&ca);
    m->phase = -1;
    m->interval_s = interval_s;
    m->proc = proc;
    mlb_mem_acc_init(&m->acc, t0);
    if (interval_s > 0 && proc->statm_fd >= 0 &&
        pthread_create(&m->thread, NULL, sampler_main, m) == 0)
        m->running = 1;
}

void mlb_sampler_stop(mlb_sampler *m, mlb_rep *rep)
{
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
    mlb_mem_acc_take_timeline(&m->acc, rep);
}

void mlb_sampler_enter(mlb_sampler *m, int ph, double rss)
{
    pthread_mutex_lock(&m->lock);
    m->phase = ph;
    mlb_mem_acc_add(&m->acc, ph, mlb_now(), rss);
    pthread_mutex_unlock(&m->lock);
}

void mlb_sampler_leave(mlb_sampler *m, int ph, double rss, double *avg, double *max)
{
    pthread_mutex_lock(&m->lock);
    mlb_mem_acc_add(&m->acc, ph, mlb_now(), rss);
    mlb_mem_acc_phase(&m->acc, ph, avg, max);
    m->phase = -1;
    pthread_mutex_unlock(&m->lock);
}
