/* A repetition's process tree: the processes a plugin or peer started,
 * found through /proc, for the memory they hold (--mem-limit, peak RSS) and
 * so that none outlives its repetition. The engine is a child subreaper
 * (PR_SET_CHILD_SUBREAPER): a descendant whose parent exits is re-parented
 * to the engine, not to init, so that leaving the process group (setsid) or
 * double forking does not take a process out of the tree. */
#ifndef MLB_CORE_PROCTREE_H
#define MLB_CORE_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid, ppid;
} mlb_proc_link;

/* Descendants of one process, each with its parent. */
typedef struct {
    mlb_proc_link *v;
    size_t n, cap;
} mlb_proc_tree;

/* Whether the kernel lists a process's children (/proc/PID/task/TID/children,
 * CONFIG_PROC_CHILDREN): then a scan costs a few reads per process of the
 * tree; without, every /proc/N/stat of the machine is read. */
int mlb_proc_tree_cheap(void);
/* Replaces t's contents with the descendants of `root` (0: this process),
 * zombies included. Returns 0 or a negative errno (t then holds what was
 * found). */
int mlb_proc_tree_scan(mlb_proc_tree *t, pid_t root);
/* The same; with children lists and all_threads = 0, only each process's
 * main thread's (one read per process instead of a directory and a read per
 * thread): a child forked by another thread is missed until a full scan. */
int mlb_proc_tree_scan_threads(mlb_proc_tree *t, pid_t root, int all_threads);
void mlb_proc_tree_free(mlb_proc_tree *t);
/* Whether `pid` is `root` or one of its descendants in t. */
int mlb_proc_tree_under(const mlb_proc_tree *t, pid_t pid, pid_t root);
/* Resident bytes of the descendants of `root` in t (root's own excluded;
 * 0 with none); *max_hwm, when non-NULL, gets the largest VmHWM among them
 * (0 with none). A process that is gone counts nothing. */
double mlb_proc_tree_rss(const mlb_proc_tree *t, pid_t root, double *max_hwm);

/* Kills and reaps every process left below this one: its children (all of
 * them are a repetition's leftovers once the repetition's own process is
 * reaped) and their descendants. Writes "N process(es) ... : NAME (pid P),
 * ..." to msg (empty when none were left). Returns how many were killed. The
 * common case, no child at all, costs one waitid. */
int mlb_proc_reap_strays(char *msg, size_t len);

/* Makes this process the subreaper of its descendants, once. */
void mlb_proc_become_subreaper(void);

#endif
