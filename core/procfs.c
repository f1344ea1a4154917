/* /proc readers for the measured process (procfs.h). Files stay open for a
 * repetition and are re-read with pread at offset 0, which makes the kernel
 * generate them afresh: one system call per value at a phase boundary. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "procfs.h"

/* The files are read at every phase boundary of a fresh child, whose page
 * tables start without the library code it has not run yet: plain loops
 * here rather than printf and scanf, whose code is large, spare it page
 * faults as well as time. */

/* Parses an unsigned decimal after optional blanks; returns the end, or
 * NULL when there is no digit. */
static const char *parse_ul(const char *s, unsigned long long *v)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return NULL;
    unsigned long long x = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        x = x * 10 + (unsigned long long)(*s - '0');
    *v = x;
    return s;
}

static int proc_file(pid_t pid, const char *file, int flags)
{
    char path[64] = "/proc/self/";
    size_t o = strlen(path);
    if (pid > 0) { /* "/proc/<pid>/" */
        char digits[16];
        size_t n = 0;
        for (unsigned long v = (unsigned long)pid; v && n < sizeof digits; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        o = strlen("/proc/");
        while (n)
            path[o++] = digits[--n];
        path[o++] = '/';
    }
    size_t f = strlen(file);
    if (o + f + 1 > sizeof path)
        return -1;
    memcpy(path + o, file, f + 1);
    return open(path, flags | O_CLOEXEC);
}

/* Page size and clock tick, asked once in the engine: its children inherit
 * them instead of asking again. */
static double page_bytes, tick_s;

static void sys_units(void)
{
    if (page_bytes == 0) {
        page_bytes = (double)sysconf(_SC_PAGESIZE);
        tick_s = 1.0 / (double)sysconf(_SC_CLK_TCK);
    }
}

/* Reads a small /proc file whole; returns its length or -1. */
static ssize_t read_at0(int fd, char *buf, size_t len)
{
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, len - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return n;
}

static double statm_bytes(int fd, double page)
{
    char buf[128];
    if (read_at0(fd, buf, sizeof buf) < 0)
        return NAN;
    unsigned long long size, resident; /* in pages */
    const char *s = parse_ul(buf, &size);
    if (!s || !parse_ul(s, &resident))
        return NAN;
    return (double)resident * page;
}

double mlb_proc_rss(pid_t pid)
{
    sys_units();
    int fd = proc_file(pid, "statm", O_RDONLY);
    double v = statm_bytes(fd, page_bytes);
    if (fd >= 0)
        close(fd);
    return v;
}

int mlb_proc_open(mlb_proc *p, pid_t pid)
{
    p->pid = pid;
    p->status_fd = p->clear_fd = p->stat_fd = -2;
    sys_units();
    p->page = page_bytes;
    p->tick = tick_s;
    p->statm_fd = proc_file(pid, "statm", O_RDONLY);
    return p->statm_fd < 0 ? -errno : 0;
}

void mlb_proc_close(mlb_proc *p)
{
    int *fds[] = {&p->statm_fd, &p->status_fd, &p->clear_fd, &p->stat_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

/* Opens on first use: a phase boundary that does not need a file (the
 * status of this process when its HWM is not asked for) never opens it. */
static int lazy(int *fd, pid_t pid, const char *file, int flags)
{
    if (*fd == -2)
        *fd = proc_file(pid, file, flags);
    return *fd;
}

double mlb_proc_statm(mlb_proc *p) { return statm_bytes(p->statm_fd, p->page); }

int mlb_proc_hwm_reset(mlb_proc *p)
{
    int fd = lazy(&p->clear_fd, p->pid, "clear_refs", O_WRONLY);
    if (fd < 0)
        return -EACCES;
    return write(fd, "5", 1) == 1 ? 0 : -EIO;
}

static double hwm_in(const char *buf)
{
    const char *s = strstr(buf, "\nVmHWM:");
    unsigned long long kb;
    if (!s || !parse_ul(s + 7, &kb))
        return NAN;
    return (double)kb * 1024.0; /* the kernel writes it in kB */
}

double mlb_proc_hwm(mlb_proc *p)
{
    /* VmHWM comes a few hundred bytes in; a small buffer spares the child
     * the stack pages (each a copy-on-write fault) of a large one. */
    char buf[1024];
    int fd = lazy(&p->status_fd, p->pid, "status", O_RDONLY);
    ssize_t n = read_at0(fd, buf, sizeof buf);
    if (n < 0)
        return NAN;
    double v = hwm_in(buf);
    if (!isnan(v) || (size_t)n < sizeof buf - 1)
        return v;
    char *big = malloc(65536); /* a long Groups: line pushed it further */
    if (!big)
        return NAN;
    v = read_at0(fd, big, 65536) < 0 ? NAN : hwm_in(big);
    free(big);
    return v;
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6; }

void mlb_proc_cpu(mlb_proc *p, double *user, double *sys)
{
    *user = *sys = NAN;
    if (p->pid <= 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        *user = tv_s(ru.ru_utime);
        *sys = tv_s(ru.ru_stime);
        return;
    }
    char buf[1024];
    if (read_at0(lazy(&p->stat_fd, p->pid, "stat", O_RDONLY), buf, sizeof buf) < 0)
        return;
    const char *s = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
        *user = (double)ut * p->tick;
        *sys = (double)st * p->tick;
    }
}

double mlb_proc_sched_cpu(const mlb_proc *p)
{
    if (p->pid <= 0)
        return NAN;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)p->pid);
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
        ssize_t n = read_at0(fd, buf, sizeof buf);
        close(fd);
        unsigned long long ns;
        if (n > 0 && parse_ul(buf, &ns)) {
            total += (double)ns * 1e-9;
            read_any = 1;
        }
    }
    closedir(d);
    return read_any ? total : NAN; /* NaN: no schedstat (kernel without it) */
}
