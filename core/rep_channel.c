/* The channel between a forked repetition's child and the engine
 * (rep_channel.h). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rep_channel.h"

/* ---- the shared memory ------------------------------------------------------ */

#define SHARED_BYTES (256 * 1024)
#define SHARED_DATA (SHARED_BYTES - offsetof(mlb_rep_shared, data))

mlb_rep_shared *mlb_rep_shared_get(void)
{
    static mlb_rep_shared *page;
    if (!page) {
        void *p = mmap(NULL, SHARED_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        page = p;
    }
    atomic_store(&page->seq, 0);
    atomic_store(&page->phase, -1);
    atomic_store(&page->pid, 0);
    atomic_store(&page->armed, 0);
    atomic_store(&page->used, 0);
    atomic_store(&page->overflow, 0);
    page->t0 = 0;
    return page;
}

void mlb_rep_shared_arm(mlb_rep_shared *sh, pid_t pid, double t0)
{
    sh->t0 = t0;
    atomic_store(&sh->pid, (int)pid);
    atomic_store(&sh->armed, 1);
}

void mlb_rep_shared_disarm(mlb_rep_shared *sh) { atomic_store(&sh->armed, 0); }

void mlb_rep_shared_phase(mlb_rep_shared *sh, int ph)
{
    atomic_fetch_add(&sh->seq, 1);
    atomic_store(&sh->phase, ph);
    atomic_fetch_add(&sh->seq, 1);
}

/* ---- the child's report ------------------------------------------------------
 * Tagged binary messages; everything new at a phase boundary is appended at
 * once, so that a crash leaves the engine every phase finished before it
 * (with the metrics and progress reported so far). They go to the shared
 * memory, or, once a report outgrows it (a million latencies), to the pipe. */

enum { MSG_PHASE = 1, MSG_METRICS, MSG_PROGRESS, MSG_LATENCY, MSG_PEER, MSG_FINAL };

typedef struct {
    uint32_t type, len; /* len: bytes of the body that follows */
} msg_hdr;

typedef struct {
    int32_t ph, pad;
    mlb_phase_meas m;
    double t[2], rss[2]; /* the samples at its start and end */
} msg_phase;

typedef struct {
    double start_s;
} msg_peer; /* then the hello text, unterminated */

typedef struct {
    int32_t status, pad;
} msg_final; /* then the message, unterminated */


#define BATCH_IOV 32
#define MSG_MAX ((size_t)1 << 30) /* a message's length is 32 bits: arrays go in pieces */
typedef struct {
    struct iovec v[BATCH_IOV];
    msg_hdr h[BATCH_IOV / 3];
    int nv, nh;
} batch;

static void batch_send(mlb_chan_writer *rp, batch *b);

/* Adds one message (x then y as its body); a full batch is sent first. */
static void batch_add(mlb_chan_writer *rp, batch *b, uint32_t type, const void *x, size_t nx,
                      const void *y, size_t ny)
{
    if (b->nv + 3 > BATCH_IOV || b->nh == BATCH_IOV / 3) {
        batch_send(rp, b);
        b->nv = b->nh = 0;
    }
    msg_hdr *h = &b->h[b->nh++];
    h->type = type;
    h->len = (uint32_t)(nx + ny);
    b->v[b->nv++] = (struct iovec){h, sizeof *h};
    if (nx)
        b->v[b->nv++] = (struct iovec){(void *)x, nx};
    if (ny)
        b->v[b->nv++] = (struct iovec){(void *)y, ny};
}

static void batch_write(int fd, batch *b)
{
    struct iovec *v = b->v;
    int n = b->nv;
    while (n > 0) {
        ssize_t w = writev(fd, v, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the engine is gone: there is no one to tell */
        size_t done = (size_t)w;
        while (n > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
}

/* An array in messages of whole elements, each at most MSG_MAX bytes. */
static void batch_array(mlb_chan_writer *rp, batch *b, uint32_t type, const void *x, size_t n,
                        size_t elem)
{
    const char *p = x;
    size_t piece = MSG_MAX / elem;
    while (n > 0) {
        size_t k = n < piece ? n : piece;
        batch_add(rp, b, type, p, k * elem, NULL, 0);
        p += k * elem;
        n -= k;
    }
}

/* Appends the batch to the shared memory, published whole (a crash in the
 * middle leaves none of it); to the pipe from the first that does not fit. */
static void batch_send(mlb_chan_writer *rp, batch *b)
{
    mlb_rep_shared *sh = rp->sh;
    size_t total = 0;
    for (int i = 0; i < b->nv; i++)
        total += b->v[i].iov_len;
    size_t used = atomic_load(&sh->used);
    if (!atomic_load(&sh->overflow) && total <= SHARED_DATA - used) {
        for (int i = 0; i < b->nv; i++) {
            memcpy(sh->data + used, b->v[i].iov_base, b->v[i].iov_len);
            used += b->v[i].iov_len;
        }
        atomic_store(&sh->used, used);
        return;
    }
    atomic_store(&sh->overflow, 1);
    batch_write(rp->fd, b);
}

void mlb_chan_send(mlb_chan_writer *rp, const double (*bt)[2], const double (*brss)[2],
                   const mlb_rep *rep, const mlb_ctx *ctx, int final)
{
    batch b;
    b.nv = b.nh = 0;
    msg_phase phs[MLB_PH_N];
    int nph = 0;
    for (int ph = 0; bt && brss && ph < MLB_PH_N; ph++) {
        if (!rep->ph[ph].ran || (rp->sent_phases & (1u << ph)))
            continue;
        msg_phase *m = &phs[nph++];
        memset(m, 0, sizeof *m);
        m->ph = ph;
        m->m = rep->ph[ph];
        for (int i = 0; i < 2; i++) {
            m->t[i] = bt[ph][i];
            m->rss[i] = brss[ph][i];
        }
        batch_add(rp, &b, MSG_PHASE, m, sizeof *m, NULL, 0);
        rp->sent_phases |= 1u << ph;
    }
    msg_peer pe;
    if (!rp->sent_peer && isfinite(rep->peer_spawn_s)) {
        pe.start_s = rep->peer_spawn_s;
        batch_add(rp, &b, MSG_PEER, &pe, sizeof pe, rep->peer_hello,
                  rep->peer_hello ? strlen(rep->peer_hello) : 0);
        rp->sent_peer = 1;
    }
    if (ctx->n_metrics) /* all of them, as a metric can be reported again; a few */
        batch_add(rp, &b, MSG_METRICS, ctx->metrics, ctx->n_metrics * sizeof(mlb_metric), NULL,
                  0);
    if (ctx->n_progress > rp->sent_progress) {
        batch_array(rp, &b, MSG_PROGRESS, ctx->progress + rp->sent_progress,
                    ctx->n_progress - rp->sent_progress, sizeof(mlb_progress));
        rp->sent_progress = ctx->n_progress;
    }
    if (!rp->sent_latency && rep->n_latency) {
        batch_array(rp, &b, MSG_LATENCY, rep->latency_s, rep->n_latency, sizeof(double));
        rp->sent_latency = 1;
    }
    msg_final fin;
    if (final) {
        fin.status = (int32_t)rep->status;
        fin.pad = 0;
        batch_add(rp, &b, MSG_FINAL, &fin, sizeof fin, rep->message,
                  rep->message ? strlen(rep->message) : 0);
    }
    batch_send(rp, &b);
}

/* ---- the engine's end ------------------------------------------------------- */

static void watch_acc(mlb_chan_reader *w, const mlb_rep_shared *sh)
{
    if (!w->acc_ready) {
        mlb_mem_acc_init(&w->acc, sh->t0);
        w->acc_ready = 1;
    }
}

#define TREE_SCAN_S 0.050  /* without children lists: a scan of all of /proc */
#define TREE_CHEAP_S 0.004 /* with them: a few reads, shared by the sampler and --mem-limit */

void mlb_chan_reader_tree(mlb_chan_reader *w, pid_t child, double now)
{
    if (w->next_tree_scan == 0)
        w->next_tree_scan = now + (mlb_proc_tree_cheap() ? 0 : TREE_SCAN_S);
    if (now < w->next_tree_scan)
        return;
    /* With children lists: the main threads' every 4 ms, every thread's
     * every 50 ms (a directory read per process). */
    int full = !mlb_proc_tree_cheap() || now >= w->next_full_scan;
    mlb_proc_tree_scan_threads(&w->tree, child, full);
    if (full)
        w->next_full_scan = now + TREE_SCAN_S;
    w->next_tree_scan = now + (mlb_proc_tree_cheap() ? TREE_CHEAP_S : TREE_SCAN_S);
}

double mlb_chan_reader_tree_rss(mlb_chan_reader *w, pid_t child)
{
    double rss = mlb_proc_rss(child);
    return w->tree.n ? rss + mlb_proc_tree_rss(&w->tree, child, NULL) : rss;
}

void mlb_chan_reader_sample(mlb_chan_reader *w, mlb_rep_shared *sh, pid_t child)
{
    if (!atomic_load(&sh->armed))
        return;
    watch_acc(w, sh);
    pid_t pid = (pid_t)atomic_load(&sh->pid);
    pid_t root = pid > 0 ? pid : child;
    if (!w->proc_open) {
        mlb_proc_open(&w->proc, root);
        w->proc_open = 1;
    }
    double now = mlb_now();
    mlb_chan_reader_tree(w, child, now);
    unsigned s1 = atomic_load(&sh->seq);
    int ph = atomic_load(&sh->phase);
    double rss = mlb_proc_statm(&w->proc), desc_hwm = 0;
    /* The measured process's descendants: their resident memory on each
     * sample, and their own high-water marks, which catch a peak between
     * samples (each one a lower bound of the tree's peak). */
    if (w->tree.n)
        rss += mlb_proc_tree_rss(&w->tree, root, &desc_hwm);
    unsigned s2 = atomic_load(&sh->seq);
    int at = s1 == s2 && !(s1 & 1u) ? ph : -1;
    if (at >= 0 && at < MLB_PH_N && desc_hwm > w->desc_hwm[at])
        w->desc_hwm[at] = desc_hwm;
    mlb_mem_acc_add(&w->acc, at, now, rss);
}

static char *text_of(const char *s, size_t n) { return n ? strndup(s, n) : NULL; }

/* The value as the results file will hold it. cJSON prints 15 significant
 * digits when they read back within an epsilon (else 17), so a value can
 * lose its last bit there; rounding it the same way here keeps what the
 * engine reports from memory (tables, CSV) identical to what a report from
 * the file shows, as when the child's report was JSON itself. */
static double as_json(double d)
{
    if (!isfinite(d) || (d == floor(d) && fabs(d) < 1e15))
        return d; /* null, or an integer cJSON prints exactly */
    char buf[32];
    snprintf(buf, sizeof buf, "%1.15g", d);
    double t = strtod(buf, NULL);
    double m = fabs(t) > fabs(d) ? fabs(t) : fabs(d);
    return fabs(t - d) <= m * DBL_EPSILON ? t : d;
}

static void meas_as_json(mlb_phase_meas *p)
{
    p->wall_s = as_json(p->wall_s);
    p->start_s = as_json(p->start_s);
    p->cpu_user_s = as_json(p->cpu_user_s);
    p->cpu_sys_s = as_json(p->cpu_sys_s);
    p->rss_peak_bytes = as_json(p->rss_peak_bytes);
    p->rss_avg_bytes = as_json(p->rss_avg_bytes);
    for (int k = 0; k < MLB_WORK_KINDS; k++)
        p->work[k] = as_json(p->work[k]);
}

/* Appends or replaces an array of rep from a message body. */
static int take_array(void **dst, size_t *n_dst, size_t elem, const char *body, size_t len,
                      int append)
{
    if (len % elem)
        return -EPROTO;
    size_t n = len / elem, keep = append ? *n_dst : 0;
    if (keep + n == 0) {
        free(*dst);
        *dst = NULL;
        *n_dst = 0;
        return 0;
    }
    char *v = realloc(append ? *dst : NULL, (keep + n) * elem);
    if (!v)
        return -ENOMEM;
    memcpy(v + keep * elem, body, len);
    if (!append)
        free(*dst);
    *dst = v;
    *n_dst = keep + n;
    return 0;
}

static int apply_message(mlb_chan_reader *w, const mlb_rep_shared *sh, mlb_rep *out, uint32_t type,
                         const char *body, size_t len)
{
    int rc = 0;
    switch (type) {
    case MSG_PHASE: {
        msg_phase m;
        if (len != sizeof m)
            return -EPROTO;
        memcpy(&m, body, len);
        if (m.ph < 0 || m.ph >= MLB_PH_N)
            return -EPROTO;
        watch_acc(w, sh);
        for (int i = 0; i < 2; i++)
            mlb_mem_acc_add(&w->acc, m.ph, m.t[i], m.rss[i]);
        double max;
        mlb_mem_acc_phase(&w->acc, m.ph, &m.m.rss_avg_bytes, &max);
        /* The kernel's exact mark of the measured process; the tree's
         * sampled sums and its descendants' marks where they are higher
         * (without a mark: the sampled peak). */
        if (w->desc_hwm[m.ph] > 0)
            max = fmax(max, w->desc_hwm[m.ph]);
        m.m.rss_peak_bytes = fmax(m.m.rss_peak_bytes, max);
        meas_as_json(&m.m);
        out->ph[m.ph] = m.m;
        return 0;
    }
    case MSG_METRICS:
        rc = take_array((void **)&out->metrics, &out->n_metrics, sizeof(mlb_metric), body, len, 0);
        for (size_t i = 0; rc == 0 && i < out->n_metrics; i++) {
            out->metrics[i].name[sizeof out->metrics[i].name - 1] = '\0';
            out->metrics[i].value = as_json(out->metrics[i].value);
            out->metrics[i].rel_tol = as_json(out->metrics[i].rel_tol);
            out->metrics[i].abs_tol = as_json(out->metrics[i].abs_tol);
        }
        return rc;
    case MSG_PROGRESS: {
        size_t old = out->n_progress;
        rc = take_array((void **)&out->progress, &out->n_progress, sizeof(mlb_progress), body,
                        len, 1);
        for (size_t i = old; rc == 0 && i < out->n_progress; i++) {
            mlb_progress *q = &out->progress[i];
            q->metric[sizeof q->metric - 1] = '\0';
            q->t = as_json(q->t);
            q->step = as_json(q->step);
            q->loss = as_json(q->loss);
            q->value = as_json(q->value);
        }
        return rc;
    }
    case MSG_LATENCY: {
        size_t old = out->n_latency;
        rc = take_array((void **)&out->latency_s, &out->n_latency, sizeof(double), body, len, 1);
        for (size_t i = old; rc == 0 && i < out->n_latency; i++)
            out->latency_s[i] = as_json(out->latency_s[i]);
        return rc;
    }
    case MSG_PEER: {
        msg_peer pe;
        if (len < sizeof pe)
            return -EPROTO;
        memcpy(&pe, body, sizeof pe);
        out->peer_spawn_s = as_json(pe.start_s);
        free(out->peer_hello);
        out->peer_hello = text_of(body + sizeof pe, len - sizeof pe);
        return 0;
    }
    case MSG_FINAL: {
        msg_final f;
        if (len < sizeof f)
            return -EPROTO;
        memcpy(&f, body, sizeof f);
        if (f.status < MLB_REP_OK || f.status > MLB_REP_UNAVAILABLE)
            return -EPROTO;
        out->status = (mlb_rep_status)f.status;
        free(out->message);
        out->message = text_of(body + sizeof f, len - sizeof f);
        w->final = 1;
        return 0;
    }
    }
    return -EPROTO;
}

/* Applies the complete messages in buf[0, len); a partial one (the child
 * died writing it to the pipe) waits for bytes that may never come. Sets
 * *used to the bytes applied; returns 0 or negative on a malformed one. */
static int apply_messages(mlb_chan_reader *w, const mlb_rep_shared *sh, mlb_rep *out, const char *buf,
                          size_t len, size_t *used)
{
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && len - off >= sizeof(msg_hdr)) {
        msg_hdr h;
        memcpy(&h, buf + off, sizeof h);
        if (len - off - sizeof h < h.len)
            break;
        rc = apply_message(w, sh, out, h.type, buf + off + sizeof h, h.len);
        off += sizeof h + h.len;
    }
    *used = off;
    return rc;
}

int mlb_chan_reader_take(mlb_chan_reader *w, const mlb_rep_shared *sh, mlb_rep *out)
{
    size_t shared = atomic_load(&((mlb_rep_shared *)sh)->used), off;
    if (shared > w->shared_taken) {
        int rc = apply_messages(w, sh, out, sh->data + w->shared_taken, shared - w->shared_taken,
                                &off);
        w->shared_taken += off;
        if (rc < 0)
            return rc;
    }
    int rc = apply_messages(w, sh, out, w->buf, w->len, &off);
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return rc;
}

/* Messages are applied as they arrive, so the buffer only grows for one
 * that is larger than it. */
int mlb_chan_reader_room(mlb_chan_reader *w)
{
    if (w->cap - w->len >= 4096)
        return 0;
    size_t cap = w->cap * 2;
    char *nb = realloc(w->buf, cap);
    if (!nb)
        return -ENOMEM;
    w->buf = nb;
    w->cap = cap;
    return 0;
}

int mlb_chan_reader_init(mlb_chan_reader *w)
{
    memset(w, 0, sizeof *w);
    w->cap = 4096; /* the pipe carries only what outgrows the shared memory */
    w->buf = malloc(w->cap);
    return w->buf ? 0 : -ENOMEM;
}

void mlb_chan_reader_finish(mlb_chan_reader *w, mlb_rep *out)
{
    free(w->buf);
    w->buf = NULL;
    if (w->proc_open)
        mlb_proc_close(&w->proc);
    w->proc_open = 0;
    mlb_proc_tree_free(&w->tree);
    if (!w->acc_ready)
        return;
    mlb_mem_acc_take_timeline(&w->acc, out);
    for (size_t i = 0; i < out->n_timeline; i++) {
        out->timeline[i].t = as_json(out->timeline[i].t);
        out->timeline[i].rss_bytes = as_json(out->timeline[i].rss_bytes);
    }
    w->acc_ready = 0;
}
