/* The channel between a forked repetition's child and the engine: memory
 * they share, through which the engine, sampling the measured process while
 * it waits, learns the phase under way, and which holds the child's report
 * of each finished phase (it survives the child's death, costs the child no
 * system call and does not wake the engine); a report that outgrows it goes
 * on over a pipe. Both ends are the same binary, so the structures travel
 * as they are. */
#ifndef MLB_CORE_REP_CHANNEL_H
#define MLB_CORE_REP_CHANNEL_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctx.h"
#include "mem_sampler.h"
#include "procfs.h"
#include "proctree.h"
#include "runner.h"

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
} mlb_rep_shared;

/* The shared memory, mapped once for the engine's life (a repetition touches
 * only the pages it writes) and reset for a new repetition; NULL if it
 * cannot be mapped. */
mlb_rep_shared *mlb_rep_shared_get(void);
/* The child: measurement of process `pid` (0: itself) starts, or ends. */
void mlb_rep_shared_arm(mlb_rep_shared *sh, pid_t pid, double t0);
void mlb_rep_shared_disarm(mlb_rep_shared *sh);
/* The child: phase `ph` starts (-1: it ended). */
void mlb_rep_shared_phase(mlb_rep_shared *sh, int ph);

/* The child's end: what was sent already. */
typedef struct {
    int fd; /* the pipe, for what does not fit */
    mlb_rep_shared *sh;
    unsigned sent_phases; /* 1u << MLB_PH_* */
    size_t sent_progress;
    int sent_latency, sent_peer;
} mlb_chan_writer;

/* Sends what the engine does not have yet of rep and ctx: finished phases
 * (with each one's samples at its start and end, bt and brss, for the
 * average), metrics, new progress, latencies, the peer's start; `final` adds
 * the status. bt and brss may be NULL when no phase ran. */
void mlb_chan_send(mlb_chan_writer *w, const double (*bt)[2], const double (*brss)[2],
                   const mlb_rep *rep, const mlb_ctx *ctx, int final);

/* The engine's end: what it gathers while the child runs. */
typedef struct {
    char *buf; /* pipe bytes not yet applied */
    size_t len, cap;
    int final;     /* the child's last message arrived */
    int acc_ready;
    mlb_mem_acc acc; /* the engine's samples, and the child's boundary ones */
    mlb_proc proc;   /* the measured process, opened once the child says which */
    int proc_open;
    size_t shared_taken; /* bytes of the shared report applied */
    /* The descendants of the repetition's process, as last scanned: their
     * memory counts in the samples, the peak and --mem-limit. */
    mlb_proc_tree tree;
    double next_tree_scan, next_full_scan;
    double desc_hwm[MLB_PH_N]; /* largest VmHWM of a descendant sampled in each phase */
} mlb_chan_reader;

/* Returns 0 or -ENOMEM. */
int mlb_chan_reader_init(mlb_chan_reader *r);
/* Room for one more read of the pipe into buf + len; 0 or -ENOMEM. */
int mlb_chan_reader_room(mlb_chan_reader *r);
/* Applies to out what has arrived: the shared report first, as the child
 * writes to the pipe only once that is full, then the pipe's bytes in buf.
 * Returns 0, or negative on a malformed message or without memory. */
int mlb_chan_reader_take(mlb_chan_reader *r, const mlb_rep_shared *sh, mlb_rep *out);
/* One sample of the measured process (`child`, or the process the child
 * named), attributed to the phase under way throughout the read. */
void mlb_chan_reader_sample(mlb_chan_reader *r, mlb_rep_shared *sh, pid_t child);
/* Rescans the descendants of the repetition's process `child` when due:
 * every 4 ms where the kernel lists children (the main threads' lists, a
 * read per process; every thread's every 50 ms), else every 50 ms
 * from 50 ms on (a read of every process's stat), so that a short
 * repetition pays nothing. */
void mlb_chan_reader_tree(mlb_chan_reader *r, pid_t child, double now);
/* Resident bytes of `child` and all its descendants. */
double mlb_chan_reader_tree_rss(mlb_chan_reader *r, pid_t child);
/* Hands the timeline to out and frees the rest. */
void mlb_chan_reader_finish(mlb_chan_reader *r, mlb_rep *out);

#endif
