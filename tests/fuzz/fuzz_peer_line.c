/* libFuzzer target: the lines a peer writes to the engine (core/peer.c,
 * mlb_peer_parse_line; docs/peer-protocol.md): events, answers, hello's
 * self-description, work and metrics applied to a context. The input is the
 * peer's output, lines split at '\n' as the engine splits them; the first
 * byte picks the request the first line answers, and each answer moves on
 * to the next request, as a repetition's calls do. */
#include "fuzz_engine.h"
#include "ctx.h"
#include "peer.h"
#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ops[] = {"hello", "setup", "train", "infer", "teardown"};
static const mlb_param_def params[] = {{"n", MLB_PARAM_INT, "8", "size"}};
static const mlb_plugin plugin = {MLB_PLUGIN_HEADER, .task = "gemm", .variant = "peer",
                                  .params = params, .n_params = 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    size_t op = size ? data[0] % 5 : 0;
    if (size) {
        data++;
        size--;
    }
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';
    mlb_ctx ctx;
    if (mlb_ctx_init(&ctx, &plugin, 7) < 0)
        abort();
    ctx.log = fuzz_devnull;
    char *hello = NULL;
    char *line = buf, *end = buf + size;
    /* A last line without its newline is never parsed: the engine waits for
     * the rest of it. */
    char *nl;
    while (line < end && (nl = memchr(line, '\n', (size_t)(end - line)))) {
        *nl = '\0';
        int kind = mlb_peer_parse_line(&ctx, ops[op], line, &hello);
        if (kind < MLB_PEER_LINE_MALFORMED || kind > MLB_PEER_LINE_EVENT)
            abort();
        if (kind == MLB_PEER_LINE_ERROR && !ctx.err[0])
            abort(); /* a failed answer must say why */
        if (kind != MLB_PEER_LINE_EVENT) {
            op = (op + 1) % 5;
            ctx.err[0] = '\0';
            mlb_ctx_phase_begin(&ctx, mlb_now());
        }
        line = nl + 1;
    }
    if (hello) {
        cJSON *h = cJSON_Parse(hello);
        if (!cJSON_IsObject(h))
            abort(); /* hello is kept as a JSON object in the results */
        cJSON_Delete(h);
    }
    free(hello);
    mlb_ctx_free(&ctx);
    free(buf);
    return 0;
}
