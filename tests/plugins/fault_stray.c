/* fault:stray: train starts a process and returns without waiting for it,
 * in the way `how` says, for the engine's reaping of a repetition's tree:
 *   fork    a forked copy (no exec) that pauses forever, holding every
 *           descriptor of the repetition's process (its report pipe too);
 *   setsid  a forked copy that leaves the process group (setsid) first;
 *   exec    `sleep 31` in the process group;
 *   daemon  a double fork: the middle process exits, the grandchild, in a
 *           session of its own, sleeps.
 * `alloc_mb` > 0 instead makes train's child allocate and touch that many
 * MiB, hold them `hold_ms` and exit, with train waiting for it (for the
 * memory of the whole tree). */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testplug.h"

static const mlb_param_def params[] = {
    {"how", MLB_PARAM_STRING, "fork", "fork, setsid, exec or daemon"},
    {"alloc_mb", MLB_PARAM_INT, "0", "MiB the child allocates instead (0: a stray)"},
    {"hold_ms", MLB_PARAM_INT, "300", "milliseconds the allocating child holds them"},
};

static void pause_forever(void)
{
    for (;;)
        pause();
}

static void child_alloc(int64_t mb, int64_t hold_ms)
{
    size_t bytes = (size_t)mb << 20;
    volatile unsigned char *buf = malloc(bytes);
    if (!buf)
        _exit(3);
    for (size_t i = 0; i < bytes; i += 4096)
        buf[i] = 1;
    struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    _exit(buf[bytes / 2] == 1 ? 0 : 4);
}

static int stray_train(mlb_ctx *ctx, void *state)
{
    (void)state;
    const char *how = mlb_param_str(ctx, "how");
    int64_t mb = mlb_param_int(ctx, "alloc_mb");
    int64_t hold = mlb_param_int(ctx, "hold_ms");
    /* exec: train returns once the exec happened (the pipe closes on it),
     * so that the leftover the engine finds is `sleep`. */
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0)
        return mlb_error(ctx, "pipe failed");
    pid_t pid = fork();
    if (pid < 0)
        return mlb_error(ctx, "fork failed");
    if (pid == 0) {
        close(sync[0]);
        if (mb > 0)
            child_alloc(mb, hold);
        if (strcmp(how, "exec"))
            close(sync[1]);
        if (!strcmp(how, "setsid")) {
            setsid();
        } else if (!strcmp(how, "exec")) {
            execl("/bin/sleep", "sleep", "31", (char *)NULL);
            _exit(127);
        } else if (!strcmp(how, "daemon")) {
            setsid();
            if (fork() != 0)
                _exit(0);
        }
        pause_forever();
    }
    close(sync[1]);
    char c;
    while (read(sync[0], &c, 1) > 0)
        ;
    close(sync[0]);
    if (mb > 0) {
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return mlb_error(ctx, "the allocating child failed (status %d)", st);
    } else if (!strcmp(how, "daemon")) {
        waitpid(pid, NULL, 0); /* the middle process; its child is the stray */
    }
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "stray",
    .description = "test: train leaves a process behind, or its child allocates",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = tp_setup_nothing,
    .train = stray_train,
    .infer = tp_nothing, /* many queries: a report that outgrows the shared memory */
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
