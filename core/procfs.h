/* What the engine reads of a process in /proc to measure it: resident
 * memory, the kernel's high-water mark, CPU time. Shared by the runner (the
 * process a repetition measures) and the peer bridge (its --mem-limit watch). */
#ifndef MLB_CORE_PROCFS_H
#define MLB_CORE_PROCFS_H

#include <sys/types.h>

/* Resident set size of process `pid` in bytes (NaN if unreadable). */
double mlb_proc_rss(pid_t pid);

/* One measured process, its /proc files opened once, so that a phase
 * boundary costs a few reads and no opens. A file that cannot be opened
 * reads as unknown (NaN), never as an error of the repetition. */
typedef struct {
    pid_t pid;     /* 0: this process */
    int statm_fd;  /* opened by mlb_proc_open */
    int status_fd; /* the others on first use; -2: not tried yet */
    int clear_fd;
    int stat_fd;
    double page;   /* bytes */
    double tick;   /* seconds per clock tick */
} mlb_proc;

/* Opens `pid`'s statm (0: this process; for /proc/self the caller must be
 * the process measured, not its parent). Returns 0 or a negative errno; the
 * handle is usable (and must be closed) either way. */
int mlb_proc_open(mlb_proc *p, pid_t pid);
void mlb_proc_close(mlb_proc *p);
/* Resident bytes now (statm). */
double mlb_proc_statm(mlb_proc *p);
/* Resets the high-water mark to the current RSS (writes 5 to clear_refs),
 * which makes the next mlb_proc_hwm the exact peak since this call. */
int mlb_proc_hwm_reset(mlb_proc *p);
/* VmHWM of /proc/<pid>/status, bytes. */
double mlb_proc_hwm(mlb_proc *p);
/* CPU time of all threads: getrusage for this process (microseconds); for
 * another, /proc/<pid>/stat's utime and stime (clock ticks). */
void mlb_proc_cpu(mlb_proc *p, double *user, double *sys);
/* Another process's CPU time in seconds, summed over its threads'
 * schedstat (nanoseconds): the ticks are too coarse for a short phase.
 * Threads that exit take theirs with them. NaN without schedstat. */
double mlb_proc_sched_cpu(const mlb_proc *p);

#endif
