/* libFuzzer target: peer descriptors (*.peer.yaml; core/suite.c,
 * mlb_peer_desc_load) and the plugin entry the engine makes of one
 * (core/peer.c, mlb_peer_entry_init: parameter types and defaults). The
 * availability check is never run (it starts a process). */
#include "fuzz_engine.h"
#include "discover.h"
#include "peer.h"
#include "suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *p = fuzz_write(0, data, size);
    mlb_peer_desc *d = malloc(sizeof *d);
    if (!d)
        abort();
    char err[1024] = "";
    int rc = mlb_peer_desc_load(p, d, err, sizeof err);
    if (rc > 0 || (rc < 0 && !err[0]))
        abort();
    if (rc < 0) {
        free(d);
        return 0;
    }
    if (!d->task || !d->variant || !d->n_command || !d->command[0])
        abort(); /* the loader promises these */
    volatile size_t sink = strlen(d->task) + strlen(d->variant);
    for (size_t i = 0; i < d->n_command; i++)
        sink += strlen(d->command[i]);
    for (size_t i = 0; i < d->n_check; i++)
        sink += strlen(d->check[i]);
    for (size_t i = 0; i < d->n_env; i++)
        sink += strlen(d->env[i].key) + (d->env[i].value ? strlen(d->env[i].value) : 0);
    for (size_t i = 0; i < d->n_params; i++)
        sink += strlen(d->params[i].name) + strlen(d->params[i].type) +
                (d->params[i].def ? strlen(d->params[i].def) : 0);
    (void)sink;
    mlb_plugin_entry e;
    err[0] = '\0';
    rc = mlb_peer_entry_init(&e, d, "/nonexistent/peers", err, sizeof err);
    if (rc > 0 || (rc < 0 && !err[0]))
        abort();
    /* as discovery does (core/discover.c): the entry owns d either way */
    mlb_peer_entry_free(&e);
    free(e.path);
    return 0;
}
