/* The sampled side of a measured process's memory: per-phase sums for the
 * average RSS, and the timeline, from samples taken at each phase's start
 * and end and every sampling interval. Forked, the engine's process takes
 * the periodic samples (rep_channel.h); in process (--no-fork), the sampler
 * thread here does. The exact peak is the kernel's high-water mark, not a
 * sample (runner.c). */
#ifndef MLB_CORE_MEM_SAMPLER_H
#define MLB_CORE_MEM_SAMPLER_H

#include <pthread.h>
#include <stddef.h>

#include "procfs.h"
#include "runner.h"

#define MLB_TIMELINE_CAP 4096

/* Samples: per-phase sums, and the timeline kept within MLB_TIMELINE_CAP
 * points by halving its resolution when full. */
typedef struct {
    double sum[MLB_PH_N], count[MLB_PH_N], max[MLB_PH_N];
    double t0; /* the timeline's origin, just before setup */
    mlb_mem_sample *timeline;
    size_t n_timeline, cap_timeline, stride, skipped;
} mlb_mem_acc;

void mlb_mem_acc_init(mlb_mem_acc *a, double t0);
/* A sample taken at CLOCK_MONOTONIC time t during phase ph (-1: between
 * phases, or not attributable: timeline only). NaN is ignored. */
void mlb_mem_acc_add(mlb_mem_acc *a, int ph, double t, double rss);
/* Average of a phase's samples, and their maximum (NaN without any). */
void mlb_mem_acc_phase(const mlb_mem_acc *a, int ph, double *avg, double *max);
/* Hands the timeline to rep, in time order. */
void mlb_mem_acc_take_timeline(mlb_mem_acc *a, mlb_rep *rep);

/* --no-fork: a thread of this process samples the measured process. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* stop is immediate, not after the current interval */
    pthread_t thread;
    int running, stop;
    int phase;
    double interval_s;
    mlb_proc *proc;
    mlb_mem_acc acc;
} mlb_sampler;

/* Starts sampling `proc` every interval_s (0: boundaries only). */
void mlb_sampler_start(mlb_sampler *s, mlb_proc *proc, double interval_s, double t0);
/* Stops the thread; the timeline goes to rep. */
void mlb_sampler_stop(mlb_sampler *s, mlb_rep *rep);
/* Phase ph starts, with `rss` sampled at its start. */
void mlb_sampler_enter(mlb_sampler *s, int ph, double rss);
/* Phase ph ends with `rss` sampled at its end; its average and maximum. */
void mlb_sampler_leave(mlb_sampler *s, int ph, double rss, double *avg, double *max);

#endif
