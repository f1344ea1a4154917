/* A repetition's process tree through /proc (proctree.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proctree.h"

static ssize_t read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* /proc/PID/stat: the state letter and the parent, after the name in
 * parentheses (which may itself hold spaces and parentheses). The name goes
 * to `comm` when non-NULL. Returns 0 or -1. */
static int read_stat(pid_t pid, char *state, pid_t *ppid, char *comm, size_t commlen)
{
    char path[48], buf[640];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_file(path, buf, sizeof buf) < 0)
        return -1;
    char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
    if (!open_p || !close_p || close_p < open_p)
        return -1;
    if (comm)
        snprintf(comm, commlen, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
    char st;
    int pp;
    if (sscanf(close_p + 1, " %c %d", &st, &pp) != 2)
        return -1;
    *state = st;
    *ppid = (pid_t)pp;
    return 0;
}

static int tree_add(mlb_proc_tree *t, pid_t pid, pid_t ppid)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        mlb_proc_link *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (mlb_proc_link){pid, ppid};
    return 0;
}

int mlb_proc_tree_cheap(void)
{
    static int known = -1;
    if (known < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
        known = access(path, R_OK) == 0;
    }
    return known;
}

static int children_file(mlb_proc_tree *t, pid_t pid, const char *tid)
{
    char cpath[384], buf[4096];
    snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, tid);
    if (read_file(cpath, buf, sizeof buf) <= 0)
        return 0;
    int rc = 0;
    for (char *s = buf, *end; rc == 0 && *s; s = end) {
        long c = strtol(s, &end, 10);
        if (end == s)
            break;
        if (c > 0)
            rc = tree_add(t, (pid_t)c, pid);
    }
    return rc;
}

/* The children of `pid` from its threads' children lists (all_threads = 0:
 * its main thread's only, one read). */
static int children_of(mlb_proc_tree *t, pid_t pid, int all_threads)
{
    char path[64];
    if (!all_threads) {
        snprintf(path, sizeof path, "%d", (int)pid);
        return children_file(t, pid, path);
    }
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno; /* gone: no children */
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)))
        if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
            rc = children_file(t, pid, de->d_name);
    closedir(d);
    return rc;
}

/* Every process of the machine with its parent, then the descendants of
 * root among them (a pass per generation). */
static int scan_all(mlb_proc_tree *t, pid_t root)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    mlb_proc_tree all = {0};
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atoi(de->d_name), ppid;
        char st;
        if (pid != root && read_stat(pid, &st, &ppid, NULL, 0) == 0 && ppid > 0)
            rc = tree_add(&all, pid, ppid);
    }
    closedir(d);
    /* In the tree: a parent that is root or already in it. */
    char *in = calloc(all.n ? all.n : 1, 1);
    if (!in) {
        free(all.v);
        return -ENOMEM;
    }
    for (int grew = 1; rc == 0 && grew;) {
        grew = 0;
        for (size_t i = 0; rc == 0 && i < all.n; i++) {
            if (in[i])
                continue;
            pid_t pp = all.v[i].ppid;
            int under = pp == root;
            for (size_t j = 0; !under && j < t->n; j++)
                under = t->v[j].pid == pp;
            if (under) {
                in[i] = 1;
                grew = 1;
                rc = tree_add(t, all.v[i].pid, pp);
            }
        }
    }
    free(in);
    free(all.v);
    return rc;
}

int mlb_proc_tree_scan_threads(mlb_proc_tree *t, pid_t root, int all_threads)
{
    t->n = 0;
    if (root <= 0)
        root = getpid();
    if (!mlb_proc_tree_cheap())
        return scan_all(t, root);
    int rc = children_of(t, root, all_threads);
    for (size_t i = 0; rc == 0 && i < t->n; i++) /* t grows behind i: breadth first */
        rc = children_of(t, t->v[i].pid, all_threads);
    return rc;
}

int mlb_proc_tree_scan(mlb_proc_tree *t, pid_t root)
{
    return mlb_proc_tree_scan_threads(t, root, 1);
}

void mlb_proc_tree_free(mlb_proc_tree *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

int mlb_proc_tree_under(const mlb_proc_tree *t, pid_t pid, pid_t root)
{
    /* A parent chain is short and t is small: walk it up. */
    for (size_t hops = 0; hops <= t->n; hops++) {
        if (pid == root)
            return 1;
        size_t i = 0;
        while (i < t->n && t->v[i].pid != pid)
            i++;
        if (i == t->n)
            return 0;
        pid = t->v[i].ppid;
    }
    return 0;
}

/* A "Key:   N kB" line of /proc/PID/status, in bytes; -1 if absent. */
static double status_kb(const char *buf, const char *key)
{
    const char *s = strstr(buf, key);
    if (!s)
        return -1;
    return strtod(s + strlen(key), NULL) * 1024.0;
}

double mlb_proc_tree_rss(const mlb_proc_tree *t, pid_t root, double *max_hwm)
{
    static double page;
    if (page == 0)
        page = (double)sysconf(_SC_PAGESIZE);
    double sum = 0, hwm_max = 0;
    for (size_t i = 0; i < t->n; i++) {
        pid_t pid = t->v[i].pid;
        if (!mlb_proc_tree_under(t, t->v[i].ppid, root))
            continue;
        char path[48], buf[2048];
        snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
        if (read_file(path, buf, sizeof buf) > 0) {
            unsigned long size = 0, res = 0;
            if (sscanf(buf, "%lu %lu", &size, &res) == 2)
                sum += (double)res * page;
        }
        if (max_hwm) {
            snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
            if (read_file(path, buf, sizeof buf) > 0) {
                double h = status_kb(buf, "VmHWM:");
                if (h > hwm_max)
                    hwm_max = h;
            }
        }
    }
    if (max_hwm)
        *max_hwm = hwm_max;
    return sum;
}

static void append(char *msg, size_t len, const char *fmt, const char *name, int pid)
{
    size_t o = strlen(msg);
    if (o + 1 < len)
        snprintf(msg + o, len - o, fmt, name, pid);
}

int mlb_proc_reap_strays(char *msg, size_t len)
{
    if (len)
        msg[0] = '\0';
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
        return 0; /* no child at all: nothing was left */
    char names[1024] = "";
    pid_t *seen = NULL;
    size_t n_seen = 0;
    mlb_proc_tree t = {0};
    /* Rounds until nothing is left: a process may fork while the previous
     * round kills, and killed ones are re-parented here as they die. Bounded,
     * as a process in uninterruptible sleep dies only when the kernel lets
     * it. */
    for (int round = 0; round < 2000; round++) {
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            ;
        if (w < 0 && errno == ECHILD)
            break;
        mlb_proc_tree_scan(&t, 0);
        for (size_t i = 0; i < t.n; i++) {
            char state, comm[64];
            pid_t ppid;
            if (read_stat(t.v[i].pid, &state, &ppid, comm, sizeof comm) < 0 || state == 'Z' ||
                state == 'X')
                continue;
            size_t k = 0;
            while (k < n_seen && seen[k] != t.v[i].pid)
                k++;
            if (k == n_seen) {
                pid_t *ns = realloc(seen, (n_seen + 1) * sizeof *ns);
                if (ns) {
                    seen = ns;
                    seen[n_seen++] = t.v[i].pid;
                    append(names, sizeof names, n_seen > 1 ? ", %s (pid %d)" : "%s (pid %d)",
                           comm, (int)t.v[i].pid);
                }
            }
            kill(t.v[i].pid, SIGKILL);
        }
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    mlb_proc_tree_free(&t);
    free(seen);
    if (n_seen && len)
        snprintf(msg, len, "%zu process%s left running by the repetition killed: %s", n_seen,
                 n_seen == 1 ? "" : "es", names);
    return (int)n_seen;
}

void mlb_proc_become_subreaper(void)
{
    static int done;
    if (!done) {
        done = 1;
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
}
