/* The JSON form of a repetition (docs/results-schema.md, runs[].repetitions[]):
 * what the results record of what the runner measured, and its reading back. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "utf8.h"

static const char *const work_names[MLB_WORK_KINDS] = {"items", "tokens", "steps", "flops"};

static int status_from_name(const char *s)
{
    for (int i = MLB_REP_OK; i <= MLB_REP_UNAVAILABLE; i++)
        if (!strcmp(s, mlb_rep_status_name((mlb_rep_status)i)))
            return i;
    return -1;
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static double get_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

cJSON *mlb_rep_to_json(const mlb_rep *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", mlb_rep_status_name(r->status));
    if (r->message)
        cJSON_AddStringToObject(j, "message", r->message);
    if (r->warning)
        cJSON_AddStringToObject(j, "warning", r->warning);
    cJSON_AddNumberToObject(j, "seed", (double)r->seed);
    cJSON *phases = cJSON_AddObjectToObject(j, "phases");
    for (int i = 0; i < MLB_PH_N; i++) {
        const mlb_phase_meas *p = &r->ph[i];
        if (!p->ran)
            continue;
        cJSON *o = cJSON_AddObjectToObject(phases, mlb_phase_names[i]);
        add_num(o, "wall_s", p->wall_s);
        add_num(o, "start_s", p->start_s);
        add_num(o, "cpu_user_s", p->cpu_user_s);
        add_num(o, "cpu_sys_s", p->cpu_sys_s);
        add_num(o, "cpu_util", p->wall_s > 0 ? (p->cpu_user_s + p->cpu_sys_s) / p->wall_s : NAN);
        add_num(o, "rss_peak_bytes", p->rss_peak_bytes);
        add_num(o, "rss_avg_bytes", p->rss_avg_bytes);
        for (int k = 0; k < MLB_WORK_KINDS; k++)
            if (p->work[k] != 0 || k == MLB_WORK_ITEMS)
                add_num(o, work_names[k], p->work[k]);
    }
    if (isfinite(r->other_cores) || isfinite(r->loadavg_1m)) {
        cJSON *mc = cJSON_AddObjectToObject(j, "machine");
        add_num(mc, "other_cores", r->other_cores);
        add_num(mc, "loadavg_1m", r->loadavg_1m);
    }
    if (isfinite(r->peer_spawn_s)) {
        cJSON *pe = cJSON_AddObjectToObject(j, "peer");
        cJSON_AddNumberToObject(pe, "start_s", r->peer_spawn_s);
        cJSON *hello = r->peer_hello ? cJSON_Parse(r->peer_hello) : NULL;
        if (hello)
            cJSON_AddItemToObject(pe, "hello", hello);
    }
    if (r->n_latency) {
        cJSON *lat = cJSON_AddArrayToObject(j, "infer_latency_s");
        for (size_t i = 0; i < r->n_latency; i++)
            cJSON_AddItemToArray(lat, cJSON_CreateNumber(r->latency_s[i]));
    }
    cJSON *met = cJSON_AddObjectToObject(j, "metrics");
    for (size_t i = 0; i < r->n_metrics; i++) {
        cJSON *o = cJSON_AddObjectToObject(met, r->metrics[i].name);
        add_num(o, "value", r->metrics[i].value);
        cJSON_AddStringToObject(o, "better", r->metrics[i].dir > 0 ? "higher" : "lower");
        if (r->metrics[i].rel_tol > 0 || r->metrics[i].abs_tol > 0) {
            cJSON *t = cJSON_AddObjectToObject(o, "tolerance");
            add_num(t, "relative", r->metrics[i].rel_tol);
            add_num(t, "absolute", r->metrics[i].abs_tol);
        }
        if (r->metrics[i].flags & MLB_METRIC_RESTATES_TIME)
            cJSON_AddBoolToObject(o, "restates_time", 1);
    }
    if (r->n_progress) {
        cJSON *pr = cJSON_AddArrayToObject(j, "progress");
        for (size_t i = 0; i < r->n_progress; i++) {
            const mlb_progress *p = &r->progress[i];
            cJSON *o = cJSON_CreateObject();
            add_num(o, "t_s", p->t);
            add_num(o, "step", p->step);
            add_num(o, "loss", p->loss);
            if (p->metric[0]) {
                cJSON_AddStringToObject(o, "metric", p->metric);
                add_num(o, "value", p->value);
            }
            cJSON_AddItemToArray(pr, o);
        }
    }
    if (r->n_timeline) {
        cJSON *tl = cJSON_AddArrayToObject(j, "memory_timeline");
        for (size_t i = 0; i < r->n_timeline; i++) {
            cJSON *pt = cJSON_CreateArray();
            cJSON_AddItemToArray(pt, cJSON_CreateNumber(r->timeline[i].t));
            cJSON_AddItemToArray(pt, cJSON_CreateNumber(r->timeline[i].rss_bytes));
            cJSON_AddItemToArray(tl, pt);
        }
    }
    return j;
}

int mlb_rep_from_json(const cJSON *j, mlb_rep *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    int s = cJSON_IsString(st) ? status_from_name(st->valuestring) : -1;
    if (s < 0)
        return -EINVAL;
    out->status = (mlb_rep_status)s;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(msg))
        out->message = strdup(msg->valuestring);
    const cJSON *warn = cJSON_GetObjectItemCaseSensitive(j, "warning");
    if (cJSON_IsString(warn))
        out->warning = strdup(warn->valuestring);
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    if (cJSON_IsNumber(seed) && seed->valuedouble >= 0)
        out->seed = (uint64_t)seed->valuedouble;
    const cJSON *phases = cJSON_GetObjectItemCaseSensitive(j, "phases");
    for (int i = 0; i < MLB_PH_N; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(phases, mlb_phase_names[i]);
        if (!cJSON_IsObject(o))
            continue;
        mlb_phase_meas *p = &out->ph[i];
        p->ran = 1;
        p->wall_s = get_num(o, "wall_s");
        p->start_s = get_num(o, "start_s");
        p->cpu_user_s = get_num(o, "cpu_user_s");
        p->cpu_sys_s = get_num(o, "cpu_sys_s");
        p->rss_peak_bytes = get_num(o, "rss_peak_bytes");
        p->rss_avg_bytes = get_num(o, "rss_avg_bytes");
        for (int k = 0; k < MLB_WORK_KINDS; k++) {
            double v = get_num(o, work_names[k]);
            p->work[k] = isnan(v) ? 0 : v;
        }
    }
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(j, "peer");
    out->peer_spawn_s = get_num(pe, "start_s");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(j, "machine");
    out->other_cores = get_num(mc, "other_cores");
    out->loadavg_1m = get_num(mc, "loadavg_1m");
    const cJSON *hello = cJSON_GetObjectItemCaseSensitive(pe, "hello");
    if (hello)
        out->peer_hello = cJSON_PrintUnformatted(hello);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "infer_latency_s");
    int nl = cJSON_GetArraySize(lat);
    if (nl > 0 && (out->latency_s = malloc((size_t)nl * sizeof(double)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, lat) out->latency_s[out->n_latency++] = e->valuedouble;
    }
    const cJSON *met = cJSON_GetObjectItemCaseSensitive(j, "metrics");
    int nm = cJSON_GetArraySize(met);
    if (nm > 0 && (out->metrics = calloc((size_t)nm, sizeof(mlb_metric)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, met)
        {
            mlb_metric *m = &out->metrics[out->n_metrics++];
            mlb_utf8_excerpt(m->name, sizeof m->name, e->string, sizeof m->name - 1);
            m->value = get_num(e, "value");
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, "better");
            m->dir = cJSON_IsString(b) && !strcmp(b->valuestring, "lower") ? -1 : 1;
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "tolerance");
            double rt = get_num(t, "relative"), at = get_num(t, "absolute");
            m->rel_tol = rt >= 0 && isfinite(rt) ? rt : 0;
            m->abs_tol = at >= 0 && isfinite(at) ? at : 0;
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "restates_time")))
                m->flags |= MLB_METRIC_RESTATES_TIME;
        }
    }
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "progress");
    int np = cJSON_GetArraySize(pr);
    if (np > 0 && (out->progress = calloc((size_t)np, sizeof(mlb_progress)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, pr)
        {
            mlb_progress *p = &out->progress[out->n_progress++];
            p->t = get_num(e, "t_s");
            p->step = get_num(e, "step");
            p->loss = get_num(e, "loss");
            p->value = get_num(e, "value");
            const cJSON *mn = cJSON_GetObjectItemCaseSensitive(e, "metric");
            if (cJSON_IsString(mn))
                snprintf(p->metric, sizeof p->metric, "%s", mn->valuestring);
        }
    }
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(j, "memory_timeline");
    int nt = cJSON_GetArraySize(tl);
    if (nt > 0 && (out->timeline = malloc((size_t)nt * sizeof(mlb_mem_sample)))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, tl)
        {
            mlb_mem_sample *m = &out->timeline[out->n_timeline++];
            m->t = cJSON_GetArrayItem(e, 0) ? cJSON_GetArrayItem(e, 0)->valuedouble : NAN;
            m->rss_bytes = cJSON_GetArrayItem(e, 1) ? cJSON_GetArrayItem(e, 1)->valuedouble : NAN;
        }
    }
    return 0;
}
