/* The external-process bridge (docs/peer-protocol.md): a peer's registry
 * entry, and the peer target (target.h). The child process of a repetition
 * starts the peer and speaks JSON lines over its stdin/stdout; the runner
 * measures the peer's process, not its own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "ctx.h"
#include "ctx_json.h"
#include "peer.h"
#include "procfs.h"
#include "utf8.h"

#define PEER_PROTOCOL 1
#define STDERR_TAIL 1200

/* The protocol's requests for the phases (MLB_PH_*), named by the protocol,
 * not by the engine's reports. */
static const char *const phase_ops[MLB_PH_N] = {"setup", "train", "infer", "teardown"};

/* ${DIR} is the descriptor's directory, ${MLBENCH_PEERS} the bundled peers. */
static char *expand(const char *arg, const char *dir, const char *peers)
{
    char out[4096];
    size_t o = 0;
    for (const char *s = arg; *s && o < sizeof out - 1;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(s, "${DIR}", 6))
            rep = dir, skip = 6;
        else if (!strncmp(s, "${MLBENCH_PEERS}", 16))
            rep = peers ? peers : "", skip = 16;
        if (rep) {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s", rep);
            if (o >= sizeof out)
                o = sizeof out - 1;
            s += skip;
        } else
            out[o++] = *s++;
    }
    out[o] = '\0';
    return strdup(out);
}

static void peer_env(const mlb_peer_desc *d, const char *peers)
{
    for (size_t i = 0; i < d->n_env; i++)
        setenv(d->env[i].key, d->env[i].value, 1);
    if (peers) {
        char py[PATH_MAX + 16], pp[3 * PATH_MAX];
        snprintf(py, sizeof py, "%s/python", peers);
        const char *old = getenv("PYTHONPATH");
        snprintf(pp, sizeof pp, "%s%s%s", py, old && *old ? ":" : "", old ? old : "");
        setenv("PYTHONPATH", pp, 1);
        setenv("MLBENCH_PEERS", peers, 1);
    }
}

/* Runs the descriptor's availability check; returns NULL or a reason. */
static char *check_available(const mlb_peer_desc *d, const char *dir, const char *peers)
{
    if (!d->check)
        return NULL;
    pid_t pid = fork();
    if (pid < 0)
        return strdup("cannot run the availability check");
    if (pid == 0) {
        setpgid(0, 0); /* killed as a whole if it hangs */
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close_range(3, ~0U, 0);
        peer_env(d, peers);
        char **argv = calloc(d->n_check + 1, sizeof *argv);
        for (size_t i = 0; argv && i < d->n_check; i++)
            argv[i] = expand(d->check[i], dir, peers);
        if (argv)
            execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    /* Bounded: a check that hangs must not hang --list or a run. */
    int st = 0;
    pid_t w = 0;
    for (int i = 0; i < 6000 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (w == 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        char msg[256];
        snprintf(msg, sizeof msg, "availability check %s did not finish within 60 s",
                 d->check[0]);
        return strdup(msg);
    }
    kill(-pid, SIGKILL); /* whatever the check left in its group */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return NULL;
    if (d->unavailable)
        return strdup(d->unavailable);
    char msg[256];
    snprintf(msg, sizeof msg, "availability check %s failed", d->check[0]);
    return strdup(msg);
}

static int param_type(const char *t)
{
    return !strcmp(t, "int") ? MLB_PARAM_INT
         : !strcmp(t, "float") ? MLB_PARAM_FLOAT
         : !strcmp(t, "bool") ? MLB_PARAM_BOOL : MLB_PARAM_STRING;
}

int mlb_peer_entry_init(mlb_plugin_entry *e, mlb_peer_desc *d, const char *peers_dir, char *err,
                        size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->peer = d;
    e->ops = &mlb_target_peer_ops;
    e->path = strdup(d->path);
    if (peers_dir && !(e->peers_dir = strdup(peers_dir))) {
        snprintf(err, errlen, "%s: out of memory", d->path);
        return -ENOMEM;
    }
    if (d->n_params && !(e->owned_params = calloc(d->n_params, sizeof *e->owned_params))) {
        snprintf(err, errlen, "%s: out of memory", d->path);
        return -ENOMEM;
    }
    for (size_t i = 0; i < d->n_params; i++) {
        e->owned_params[i].name = d->params[i].name;
        e->owned_params[i].type = (mlb_param_type)param_type(d->params[i].type);
        e->owned_params[i].def = d->params[i].def;
        e->owned_params[i].help = d->params[i].help ? d->params[i].help : "";
        mlb_param_value v;
        char why[256];
        if (mlb_param_parse(e->owned_params[i].type, d->params[i].def, &v, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: parameter '%s': default %s", d->path, d->params[i].name,
                     why);
            return -EINVAL;
        }
    }
    e->desc.abi_major = MLB_ABI_MAJOR;
    e->desc.struct_size = sizeof e->desc;
    e->desc.task = d->task;
    e->desc.variant = d->variant;
    e->desc.description = d->description ? d->description : "external peer";
    e->desc.params = e->owned_params;
    e->desc.n_params = d->n_params;
    return 0;
}

void mlb_peer_check(mlb_plugin_entry *e)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", e->peer->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    free(e->owned_reason);
    e->owned_reason = check_available(e->peer, dir, e->peers_dir);
    e->unavailable = e->owned_reason;
}

void mlb_peer_entry_free(mlb_plugin_entry *e)
{
    if (!e->peer)
        return;
    mlb_peer_desc_free(e->peer);
    free(e->peer);
    free(e->owned_params);
    free(e->owned_reason);
    free(e->peers_dir);
    e->owned_params = NULL;
    e->owned_reason = NULL;
    e->peers_dir = NULL;
    e->peer = NULL;
}

/* ---- a running peer ------------------------------------------------------ */

/* A running peer, seen from the process that runs the repetition. */
typedef struct {
    pid_t pid;
    int pidfd; /* readable once the peer has exited; -1 where unsupported */
    int to_fd, from_fd;
    char tmpdir[256]; /* data files and the peer's stderr */
    char *buf;        /* unread answer bytes */
    size_t len, cap;
    double deadline;  /* CLOCK_MONOTONIC; 0: none */
    double mem_limit; /* bytes of the peer's RSS (--mem-limit); 0: none */
    double next_mem_check;
    double spawn_s;
    int crashed;      /* the peer died of a signal */
    char *hello;      /* the peer's hello answer (JSON text, its settings) */
} peer_proc;

typedef enum {
    PEER_OK = 0,
    PEER_ERROR = -1,    /* the peer answered ok:false, or spoke nonsense, or died */
    PEER_TIMEOUT = -2,
    PEER_MEMLIMIT = -3, /* the peer's resident memory passed --mem-limit */
} peer_rc;

static peer_rc proc_call(peer_proc *p, mlb_ctx *ctx, const char *op);

static void stderr_tail(const peer_proc *p, char *out, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stderr", p->tmpdir);
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)(len - 1) ? end - (off_t)(len - 1) : 0;
    ssize_t n = pread(fd, out, len - 1, start);
    close(fd);
    if (n < 0)
        n = 0;
    out[n] = '\0';
    if (start > 0) { /* a tail cut at a byte offset: from the first whole character */
        const char *w = mlb_utf8_skip_partial(out);
        n -= (ssize_t)(w - out);
        memmove(out, w, (size_t)n + 1);
    }
    for (ssize_t i = 0; i < n; i++) /* one line in the results: newlines become " | " */
        if (out[i] == '\n')
            out[i] = i == n - 1 ? '\0' : ';';
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    return rmdir(dir);
}

static const char *tmp_root(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp && strlen(tmp) <= 200 ? tmp : "/tmp";
}

void mlb_peer_tmp_cleanup(pid_t pid)
{
    const char *root = tmp_root();
    char prefix[64];
    int np = snprintf(prefix, sizeof prefix, "mlbench-peer-%d-", (int)pid);
    DIR *d = opendir(root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, (size_t)np) != 0)
            continue;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", root, de->d_name);
        /* Only a directory of ours: not a link someone placed there. */
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
            rm_tree(path);
    }
    closedir(d);
}

static cJSON *data_json(const char *dir)
{
    cJSON *o = cJSON_CreateObject();
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".npy")) {
            char key[256], path[PATH_MAX];
            snprintf(key, sizeof key, "%.*s", (int)(n - 4), de->d_name);
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            cJSON_AddStringToObject(o, key, path);
        }
    }
    if (d)
        closedir(d);
    return o;
}

/* Starts the peer of entry `e` (and exports the data of its `data_from`
 * variant first). On failure returns negative with the reason in ctx->err. */
static int proc_start(const mlb_plugin_entry *e, const mlb_plugin_entry *data_from, mlb_ctx *ctx,
                      double deadline, double mem_limit, peer_proc *p)
{
    const mlb_peer_desc *d = e->peer;
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->pidfd = -1;
    p->to_fd = p->from_fd = -1;
    p->deadline = deadline;
    p->mem_limit = mem_limit;
    /* Named after this process, so that the engine can remove it when this
     * process is killed before it could (mlb_peer_tmp_cleanup). */
    snprintf(p->tmpdir, sizeof p->tmpdir, "%.200s/mlbench-peer-%d-XXXXXX", tmp_root(),
             (int)getpid());
    if (!mkdtemp(p->tmpdir)) {
        p->tmpdir[0] = '\0';
        return mlb_error(ctx, "cannot create a temporary directory: %s", strerror(errno));
    }
    char datadir[512];
    snprintf(datadir, sizeof datadir, "%s/data", p->tmpdir);
    mkdir(datadir, 0700);
    if (data_from) {
        char why[1400] = "";
        if (mlb_plugin_export_data(data_from, ctx, datadir, why, sizeof why) < 0)
            return mlb_error(ctx, "%s", why);
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", d->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    const char *peers = e->peers_dir;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return mlb_error(ctx, "pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC) < 0) {
        int err = errno;
        close(in[0]);
        close(in[1]);
        return mlb_error(ctx, "pipe: %s", strerror(err));
    }
    char errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr", p->tmpdir);
    double t0 = mlb_now();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return mlb_error(ctx, "fork: %s", strerror(err));
    }
    if (pid == 0) {
        int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        if (efd >= 0)
            dup2(efd, STDERR_FILENO);
        close_range(3, ~0U, 0); /* nothing of the engine's leaks into the peer */
        signal(SIGPIPE, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the repetition's process */
        peer_env(d, peers);
        char **argv = calloc(d->n_command + 1, sizeof *argv);
        for (size_t i = 0; argv && i < d->n_command; i++)
            argv[i] = expand(d->command[i], dir, peers);
        if (argv)
            execvp(argv[0], argv);
        fprintf(stderr, "cannot start %s: %s\n", argv ? argv[0] : d->command[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->pid = pid;
#ifdef SYS_pidfd_open
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    p->to_fd = in[1];
    p->from_fd = out[0];
    /* hello: the interpreter's start and imports, measured apart from setup. */
    if (proc_call(p, ctx, "hello") != PEER_OK)
        return MLB_EFAIL;
    p->spawn_s = mlb_now() - t0;
    return 0;
}

static void died(peer_proc *p, mlb_ctx *ctx, const char *op)
{
    char tail[STDERR_TAIL];
    int st = 0;
    pid_t w = -1;
    for (int i = 0; i < 100 && (w = waitpid(p->pid, &st, WNOHANG)) == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    stderr_tail(p, tail, sizeof tail);
    char how[96] = "closed its output";
    if (w == p->pid) {
        if (WIFSIGNALED(st)) {
            snprintf(how, sizeof how, "was killed by signal SIG%s (%s)",
                     sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                     strsignal(WTERMSIG(st)));
            p->crashed = 1;
        }
        else
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
        p->pid = -1;
    }
    mlb_error(ctx, "peer %s during %s; stderr: %s", how, op, tail[0] ? tail : "(empty)");
}

static void apply_answer(mlb_ctx *ctx, const cJSON *a)
{
    static const char *const work[MLB_WORK_KINDS] = {"items", "tokens", "steps", "flops"};
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(a, "work");
    for (int k = 0; k < MLB_WORK_KINDS; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(w, work[k]);
        if (cJSON_IsNumber(v))
            mlb_report_work(ctx, (mlb_work_kind)k, v->valuedouble);
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(a, "metrics"))
    {
        const cJSON *v = cJSON_IsNumber(m) ? m : cJSON_GetObjectItemCaseSensitive(m, "value");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "better");
        /* As mlb_report_metric_ex: an optional tolerance, and whether the
         * value restates a phase time (docs/peer-protocol.md). */
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(m, "rel_tol");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(m, "abs_tol");
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(m, "restates_time");
        if (cJSON_IsNumber(v) && m->string)
            mlb_report_metric_ex(ctx, m->string, v->valuedouble,
                                 cJSON_IsString(b) && !strcmp(b->valuestring, "lower")
                                     ? MLB_LOWER_IS_BETTER
                                     : MLB_HIGHER_IS_BETTER,
                                 cJSON_IsNumber(rt) ? rt->valuedouble : 0,
                                 cJSON_IsNumber(at) ? at->valuedouble : 0,
                                 cJSON_IsTrue(re) ? MLB_METRIC_RESTATES_TIME : 0);
    }
}

static double num_or_nan(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Whether the peer process has ended (without reaping it). */
static int peer_exited(const peer_proc *p)
{
    if (p->pid <= 0)
        return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

/* One request/answer: applies the answer's work, metrics and progress to ctx. */
static peer_rc proc_call(peer_proc *p, mlb_ctx *ctx, const char *op)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", op);
    if (!strcmp(op, "hello"))
        cJSON_AddNumberToObject(req, "protocol", PEER_PROTOCOL);
    if (!strcmp(op, "setup")) {
        cJSON_AddStringToObject(req, "task", ctx->plugin->task);
        cJSON_AddStringToObject(req, "variant", ctx->plugin->variant);
        cJSON_AddItemToObject(req, "params", mlb_ctx_params_json(ctx));
        cJSON_AddNumberToObject(req, "seed", (double)ctx->seed);
        char datadir[512];
        snprintf(datadir, sizeof datadir, "%s/data", p->tmpdir);
        cJSON_AddItemToObject(req, "data", data_json(datadir));
    }
    char *line = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!line)
        return mlb_error(ctx, "out of memory"), PEER_ERROR;
    size_t n = strlen(line);
    line[n] = '\n';
    int wr = write_all(p->to_fd, line, n + 1);
    free(line);
    if (wr < 0) {
        died(p, ctx, op);
        return PEER_ERROR;
    }
    for (;;) {
        /* A complete line in the buffer? */
        char *nl = p->len ? memchr(p->buf, '\n', p->len) : NULL;
        if (nl) {
            *nl = '\0';
            size_t used = (size_t)(nl - p->buf) + 1;
            char head[160];
            snprintf(head, sizeof head, "%s", p->buf);
            int kind = mlb_peer_parse_line(ctx, op, p->buf, &p->hello);
            memmove(p->buf, p->buf + used, p->len - used);
            p->len -= used;
            if (kind == MLB_PEER_LINE_EVENT)
                continue;
            if (kind == MLB_PEER_LINE_MALFORMED) {
                char tail[STDERR_TAIL];
                stderr_tail(p, tail, sizeof tail);
                mlb_error(ctx, "peer sent a malformed answer to %s: '%s'; stderr: %s", op, head,
                          tail[0] ? tail : "(empty)");
                return PEER_ERROR;
            }
            return kind == MLB_PEER_LINE_ANSWER ? PEER_OK : PEER_ERROR;
        }
        if (p->len + 4096 > p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 65536;
            char *nb = realloc(p->buf, cap + 1);
            if (!nb)
                return mlb_error(ctx, "out of memory"), PEER_ERROR;
            p->buf = nb;
            p->cap = cap;
        }
        int wait_ms = -1;
        if (p->deadline > 0) {
            double left = p->deadline - mlb_now();
            if (left <= 0) {
                char tail[STDERR_TAIL];
                stderr_tail(p, tail, sizeof tail);
                mlb_error(ctx, "peer did not answer %s before the timeout; stderr: %s", op,
                          tail[0] ? tail : "(empty)");
                return PEER_TIMEOUT;
            }
            wait_ms = (int)(left * 1000) + 1;
        }
        /* The engine's own --mem-limit check sees only this process, not the
         * peer it started: watch the peer here, every 10 ms on the clock, so
         * that a peer streaming events cannot slip past it. */
        if (p->mem_limit > 0) {
            double now = mlb_now();
            if (now >= p->next_mem_check) {
                p->next_mem_check = now + 0.010;
                double rss = mlb_proc_rss(p->pid);
                if (rss > p->mem_limit) {
                    /* Reaped at once: its memory is gone before the engine's
                     * own watch of the whole tree looks again. */
                    kill(p->pid, SIGKILL);
                    int st;
                    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
                        ;
                    p->pid = -1;
                    mlb_error(ctx,
                              "peer's resident memory %.0f MiB exceeded --mem-limit %.0f MiB "
                              "during %s",
                              rss / 1048576.0, p->mem_limit / 1048576.0, op);
                    return PEER_MEMLIMIT;
                }
            }
            if (wait_ms < 0 || wait_ms > 10)
                wait_ms = 10;
        }
        /* The peer's exit ends the wait too: a process it started may hold
         * its output open, and would make this read wait forever. */
        struct pollfd pf[2] = {{.fd = p->from_fd, .events = POLLIN},
                               {.fd = p->pidfd, .events = POLLIN}};
        if (p->pidfd < 0 && (wait_ms < 0 || wait_ms > 100))
            wait_ms = 100; /* no pidfd: look at the peer every 100 ms */
        int pr = poll(pf, p->pidfd >= 0 ? 2 : 1, wait_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && peer_exited(p)) {
            died(p, ctx, op);
            return PEER_ERROR;
        }
        if (pr == 0)
            continue; /* the checks above report a timeout or the memory limit */
        ssize_t r = read(p->from_fd, p->buf + p->len, p->cap - p->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            died(p, ctx, op);
            return PEER_ERROR;
        }
        p->len += (size_t)r;
    }
}

/* One line of a peer's output, apart from the pipe it came through, so that
 * it can be fuzzed (tests/fuzz/fuzz_peer_line.c). */
int mlb_peer_parse_line(mlb_ctx *ctx, const char *op, const char *line, char **hello)
{
    char head[160];
    snprintf(head, sizeof head, "%s", line);
    cJSON *a = cJSON_Parse(line);
    if (!a || !cJSON_IsObject(a)) {
        cJSON_Delete(a);
        return MLB_PEER_LINE_MALFORMED;
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(a, "event");
    if (cJSON_IsString(ev)) { /* streamed before the answer */
        if (!strcmp(ev->valuestring, "progress")) {
            const cJSON *mn = cJSON_GetObjectItemCaseSensitive(a, "metric");
            mlb_report_progress(ctx, num_or_nan(a, "step"), num_or_nan(a, "loss"),
                                cJSON_IsString(mn) ? mn->valuestring : NULL,
                                num_or_nan(a, "value"));
        } else if (!strcmp(ev->valuestring, "log")) {
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(a, "message");
            if (cJSON_IsString(msg))
                mlb_log(ctx, MLB_LOG_INFO, "%s", msg->valuestring);
        }
        cJSON_Delete(a);
        return MLB_PEER_LINE_EVENT;
    }
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(a, "ok");
    if (!cJSON_IsBool(ok)) {
        cJSON_Delete(a);
        mlb_error(ctx, "peer's answer to %s has no boolean 'ok': '%s'", op, head);
        return MLB_PEER_LINE_ERROR;
    }
    if (!cJSON_IsTrue(ok)) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "error");
        mlb_error(ctx, "peer: %s", cJSON_IsString(e) ? e->valuestring : "failed");
        cJSON_Delete(a);
        return MLB_PEER_LINE_ERROR;
    }
    if (!strcmp(op, "hello")) {
        double v = num_or_nan(a, "protocol");
        if (v != PEER_PROTOCOL) {
            cJSON_Delete(a);
            mlb_error(ctx, "peer speaks protocol %g, engine speaks %d", v, PEER_PROTOCOL);
            return MLB_PEER_LINE_ERROR;
        }
        /* What the peer says of itself (versions, threads): kept with
         * the results, so that its settings are on record. */
        cJSON *info = cJSON_Duplicate(a, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(info, "ok");
        cJSON_DeleteItemFromObjectCaseSensitive(info, "work");
        cJSON_DeleteItemFromObjectCaseSensitive(info, "metrics");
        free(*hello);
        *hello = cJSON_PrintUnformatted(info);
        cJSON_Delete(info);
    }
    apply_answer(ctx, a);
    cJSON_Delete(a);
    return MLB_PEER_LINE_ANSWER;
}

/* Closes the peer's stdin, waits briefly, kills what is left, removes tmpdir. */
static void proc_stop(peer_proc *p)
{
    if (p->to_fd >= 0)
        close(p->to_fd);
    if (p->from_fd >= 0)
        close(p->from_fd);
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->to_fd = p->from_fd = p->pidfd = -1;
    if (p->pid > 0) {
        int st;
        pid_t w = 0;
        for (int i = 0; i < 200 && (w = waitpid(p->pid, &st, WNOHANG)) == 0; i++) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (w == 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
        }
        p->pid = -1;
    }
    free(p->buf);
    p->buf = NULL;
    free(p->hello);
    p->hello = NULL;
    if (p->tmpdir[0])
        rm_tree(p->tmpdir);
    p->tmpdir[0] = '\0';
}

/* ---- the peer target (target.h) ------------------------------------------ */

static int peer_start(mlb_target *t, const mlb_plugin_entry *e, const mlb_target_opts *o,
                      mlb_ctx *ctx)
{
    memset(t, 0, sizeof *t);
    t->ops = &mlb_target_peer_ops;
    t->entry = e;
    t->start_s = NAN;
    /* The protocol has every phase; a peer with nothing to do answers ok. */
    t->phases = 1u << MLB_PH_SETUP | 1u << MLB_PH_TRAIN | 1u << MLB_PH_INFER |
                1u << MLB_PH_TEARDOWN;
    peer_proc *p = calloc(1, sizeof *p);
    if (!p)
        return mlb_error(ctx, "out of memory");
    t->impl = p;
    int rc = proc_start(e, o->data_from, ctx, o->deadline, o->mem_limit, p);
    if (rc < 0)
        return rc;
    t->pid = p->pid;
    t->start_s = p->spawn_s;
    t->hello = p->hello;
    return 0;
}

static int peer_phase(mlb_target *t, mlb_ctx *ctx, int ph)
{
    peer_proc *p = t->impl;
    peer_rc r = proc_call(p, ctx, phase_ops[ph]);
    if (r == PEER_OK) {
        t->fault = MLB_TARGET_OK;
        return 0;
    }
    t->fault = r == PEER_TIMEOUT    ? MLB_TARGET_TIMEOUT
             : r == PEER_MEMLIMIT   ? MLB_TARGET_MEMLIMIT
             : p->crashed           ? MLB_TARGET_CRASHED
                                    : MLB_TARGET_FAILED;
    /* A stuck peer would not answer teardown either; a reaped one cannot. */
    if (r == PEER_TIMEOUT || p->pid < 0)
        t->gone = 1;
    return MLB_EFAIL;
}

static void peer_stop(mlb_target *t)
{
    if (t->impl) {
        proc_stop(t->impl);
        free(t->impl);
    }
    t->impl = NULL;
    t->hello = NULL;
}

const mlb_target_ops mlb_target_peer_ops = {
    .kind = "peer",
    .kill_grace_s = 2.0,
    .start = peer_start,
    .phase = peer_phase,
    .stop = peer_stop,
};
