/*
 * mlbench-env-trace ENV SEED ACTIONS_FILE: the environment's internal state
 * after the reset and after every step of the given actions (one integer
 * per line), one line per state with 17 significant digits, stopping at
 * termination, truncation or the end of the actions; for checking the
 * dynamics against an independent implementation
 * (tests/integration/test_rl_env.py).
 */
#include "rl_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_state(const rl_env *e)
{
    for (int i = 0; i < e->kind->state_dim; i++)
        printf(i ? " %.17g" : "%.17g", e->s[i]);
    putchar('\n');
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mlbench-env-trace ENV SEED ACTIONS_FILE\n");
        return 2;
    }
    const rl_env_kind *k = rl_env_find(argv[1]);
    if (!k) {
        fprintf(stderr, "mlbench-env-trace: unknown environment '%s' (known:", argv[1]);
        for (int i = 0; rl_env_kinds[i]; i++)
            fprintf(stderr, " %s", rl_env_kinds[i]->name);
        fprintf(stderr, ")\n");
        return 2;
    }
    char *end;
    errno = 0;
    unsigned long long seed = strtoull(argv[2], &end, 10);
    if (errno || end == argv[2] || *end || argv[2][0] == '-') {
        fprintf(stderr, "mlbench-env-trace: seed '%s' is not a non-negative integer\n", argv[2]);
        return 2;
    }
    FILE *f = fopen(argv[3], "r");
    if (!f) {
        fprintf(stderr, "mlbench-env-trace: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    rl_env e;
    float obs[RL_OBS_MAX];
    rl_env_init(&e, k, (uint64_t)seed);
    rl_env_reset(&e, obs);
    print_state(&e);
    char line[64];
    int rc = 0;
    for (long lineno = 1; fgets(line, sizeof line, f); lineno++) {
        if (line[0] == '\n' || line[0] == '#')
            continue;
        long a = strtol(line, &end, 10);
        if (end == line || (*end && *end != '\n') || a < 0 || a >= k->n_actions) {
            fprintf(stderr, "mlbench-env-trace: %s:%ld: action '%.*s' not in 0..%d\n", argv[3],
                    lineno, (int)strcspn(line, "\n"), line, k->n_actions - 1);
            rc = 1;
            break;
        }
        int term, trunc;
        rl_env_step(&e, (int)a, obs, &term, &trunc);
        print_state(&e);
        if (term || trunc)
            break;
    }
    fclose(f);
    return rc;
}
