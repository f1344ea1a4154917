/* qa.h: the synthetic reading-comprehension set and SQuAD v1.1 JSON. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa.h"

void qa_set_free(qa_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->ex[i].context);
        free(s->ex[i].question);
        for (size_t t = 0; t < s->ex[i].n_truths; t++)
            free(s->ex[i].truths[t]);
        free(s->ex[i].truths);
    }
    free(s->ex);
    free(s);
}

/* ---- synthetic ------------------------------------------------------------ */

static const char *const first_names[] = {
    "Ada", "Bruno", "Chen", "Dmitri", "Elena", "Farah", "Goran", "Hana", "Ivan", "Jonas",
    "Kiri", "Leila", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
    "Ursula", "Viktor", "Wen", "Ximena", "Yusuf", "Zofia"};
static const char *const last_names[] = {
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Haddad", "Kowalski", "Silva", "Novak", "Reyes",
    "Fischer", "Mensah", "Ivanova", "Castillo", "Nakamura", "Petrov", "Osei", "Larsen", "Duarte",
    "Kaur", "Bianchi"};
static const char *const cities[] = {
    "Lisbon", "Nairobi", "Osaka", "Toronto", "Krakow", "Valparaiso", "Tbilisi", "Bergen",
    "Marrakesh", "Hanoi", "Adelaide", "Bogota", "Tallinn", "Cork", "Lyon", "Accra", "Quito",
    "Dundee", "Porto", "Gdansk"};
static const char *const jobs[] = {
    "chemist", "carpenter", "pilot", "translator", "surgeon", "architect", "librarian",
    "geologist", "baker", "violinist", "engineer", "journalist", "botanist", "lawyer", "nurse",
    "astronomer"};
static const char *const employers[] = {
    "the city museum", "a shipping company", "the national bank", "a small bakery",
    "the royal observatory", "a textile mill", "the public library", "a railway firm",
    "the regional hospital", "a glass factory", "the university", "a river ferry service"};

#define PICK(rng, a) ((a)[next(rng) % (sizeof(a) / sizeof((a)[0]))])

static uint64_t next(uint64_t *x) /* splitmix64: the set depends on the seed alone */
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static int put(sbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        size_t cap = (b->n + l + 1) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns)
            return -ENOMEM;
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
    return 0;
}

static int set_truth(qa_example *e, const char *answer, size_t start)
{
    e->truths = malloc(sizeof *e->truths);
    if (!e->truths || !(e->truths[0] = strdup(answer)))
        return -ENOMEM;
    e->n_truths = 1;
    e->answer = e->truths[0];
    e->answer_start = start;
    return 0;
}

int qa_synth(uint64_t seed, size_t n, int entities, qa_set **out)
{
    *out = NULL;
    if (entities < 1 || entities > 8 || n > QA_MAX_EXAMPLES)
        return -EINVAL;
    qa_set *s = calloc(1, sizeof *s);
    if (!s || !(s->ex = calloc(n ? n : 1, sizeof *s->ex))) {
        free(s);
        return -ENOMEM;
    }
    uint64_t rng = seed ^ 0x9a5ULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++, s->n++) {
        qa_example *e = &s->ex[i];
        sbuf c = {0};
        const char *name[8][2], *city[8], *job[8], *emp[8];
        size_t at[8][4]; /* where each attribute starts in the context */
        for (int k = 0; k < entities; k++) {
            /* distinct full names within a context */
            int again;
            do {
                name[k][0] = PICK(&rng, first_names);
                name[k][1] = PICK(&rng, last_names);
                again = 0;
                for (int j = 0; j < k; j++)
                    again |= name[j][0] == name[k][0] || name[j][1] == name[k][1];
            } while (again);
            city[k] = PICK(&rng, cities);
            job[k] = PICK(&rng, jobs);
            emp[k] = PICK(&rng, employers);
            char y[8];
            snprintf(y, sizeof y, "%d", 1900 + (int)(next(&rng) % 110));
            rc |= put(&c, c.n ? " " : "");
            rc |= put(&c, name[k][0]);
            rc |= put(&c, " ");
            rc |= put(&c, name[k][1]);
            rc |= put(&c, " was born in ");
            at[k][0] = c.n;
            rc |= put(&c, city[k]);
            rc |= put(&c, " in ");
            at[k][1] = c.n;
            rc |= put(&c, y);
            rc |= put(&c, ". ");
            rc |= put(&c, name[k][1]);
            rc |= put(&c, " worked as a ");
            at[k][2] = c.n;
            rc |= put(&c, job[k]);
            rc |= put(&c, " at ");
            at[k][3] = c.n;
            rc |= put(&c, emp[k]);
            rc |= put(&c, ".");
        }
        int who = (int)(next(&rng) % (uint64_t)entities), what = (int)(next(&rng) % 4);
        char q[160];
        static const char *const qform[4] = {"Where was %s %s born?", "In which year was %s %s born?",
                                             "What did %s %s work as?", "Where did %s %s work?"};
        snprintf(q, sizeof q, qform[what], name[who][0], name[who][1]);
        char yb[8]; /* the year, from the context: always four digits */
        snprintf(yb, sizeof yb, "%.4s", c.s ? c.s + at[who][1] : "");
        const char *ans = what == 0 ? city[who] : what == 1 ? yb : what == 2 ? job[who] : emp[who];
        e->context = c.s;
        if (rc || !(e->question = strdup(q)) || set_truth(e, ans, at[who][what]) < 0)
            rc = -ENOMEM;
    }
    if (rc) {
        qa_set_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- SQuAD v1.1 ----------------------------------------------------------- */

/* The byte offset of code point `chars` in s, or -1 past its end. */
static long byte_of_char(const char *s, size_t chars)
{
    size_t i = 0, c = 0;
    while (c < chars && s[i]) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        c++;
    }
    return c == chars ? (long)i : -1;
}

int qa_parse_squad(const char *json, size_t len, qa_set **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!doc) {
        snprintf(err, errlen, "not valid JSON (near byte %ld)",
                 end ? (long)(end - json) : 0L);
        return -EINVAL;
    }
    while (end && end < json + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    qa_set *s = calloc(1, sizeof *s);
    size_t cap = 0;
    int rc = 0;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data"), *art, *par, *qa;
    if (end && end < json + len) {
        snprintf(err, errlen, "data after the JSON document (byte %ld)", (long)(end - json));
        rc = -EINVAL;
    } else if (!s) {
        rc = -ENOMEM;
    } else if (!cJSON_IsArray(data)) {
        snprintf(err, errlen, "data: expected a list of articles");
        rc = -EINVAL;
    }
    int ai = 0;
    const cJSON *arts = rc ? NULL : data;
    cJSON_ArrayForEach(art, arts)
    {
        int pi = 0;
        cJSON_ArrayForEach(par, cJSON_GetObjectItemCaseSensitive(art, "paragraphs"))
        {
            const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(par, "context");
            if (!cJSON_IsString(ctx)) {
                snprintf(err, errlen, "data[%d].paragraphs[%d].context: expected a string", ai, pi);
                rc = -EINVAL;
                goto done;
            }
            int qi = 0;
            cJSON_ArrayForEach(qa, cJSON_GetObjectItemCaseSensitive(par, "qas"))
            {
                const cJSON *q = cJSON_GetObjectItemCaseSensitive(qa, "question");
                const cJSON *ans = cJSON_GetObjectItemCaseSensitive(qa, "answers"), *a;
                char where[96];
                snprintf(where, sizeof where, "data[%d].paragraphs[%d].qas[%d]", ai, pi, qi);
                if (!cJSON_IsString(q) || !cJSON_IsArray(ans) || cJSON_GetArraySize(ans) < 1) {
                    snprintf(err, errlen, "%s: needs a question and at least one answer", where);
                    rc = -EINVAL;
                    goto done;
                }
                if (s->n == QA_MAX_EXAMPLES) {
                    snprintf(err, errlen, "more than %d questions", QA_MAX_EXAMPLES);
                    rc = -EINVAL;
                    goto done;
                }
                if (s->n == cap) {
                    size_t nc = cap ? 2 * cap : 256;
                    qa_example *ne = realloc(s->ex, nc * sizeof *ne);
                    if (!ne) {
                        rc = -ENOMEM;
                        goto done;
                    }
                    s->ex = ne;
                    cap = nc;
                }
                qa_example *e = &s->ex[s->n];
                memset(e, 0, sizeof *e);
                s->n++;
                size_t na = (size_t)cJSON_GetArraySize(ans);
                if (!(e->context = strdup(ctx->valuestring)) ||
                    !(e->question = strdup(q->valuestring)) ||
                    !(e->truths = calloc(na, sizeof *e->truths))) {
                    rc = -ENOMEM;
                    goto done;
                }
                int k = 0;
                cJSON_ArrayForEach(a, ans)
                {
                    const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "text");
                    const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "answer_start");
                    long b = cJSON_IsNumber(st) && st->valuedouble >= 0 && st->valuedouble < 1e9
                                 ? byte_of_char(e->context, (size_t)st->valuedouble) : -1;
                    if (!cJSON_IsString(t) || !*t->valuestring || b < 0 ||
                        strncmp(e->context + b, t->valuestring, strlen(t->valuestring))) {
                        snprintf(err, errlen, "%s.answers[%d]: text and answer_start must give a "
                                              "span of the context", where, k);
                        rc = -EINVAL;
                        goto done;
                    }
                    if (!(e->truths[e->n_truths++] = strdup(t->valuestring))) {
                        rc = -ENOMEM;
                        goto done;
                    }
                    if (k++ == 0) {
                        e->answer = e->truths[0];
                        e->answer_start = (size_t)b;
                    }
                }
                qi++;
            }
            pi++;
        }
        ai++;
    }
    if (rc == 0 && s && !s->n) {
        snprintf(err, errlen, "no questions");
        rc = -EINVAL;
    }
done:
    cJSON_Delete(doc);
    if (rc) {
        qa_set_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int qa_load_squad(const char *path, qa_set **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    int rc = 0;
    do {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 1 << 16;
            char *nb = nc <= QA_MAX_FILE ? realloc(buf, nc) : NULL;
            if (!nb) {
                snprintf(err, errlen, "%s: larger than %zu bytes, or out of memory", path,
                         QA_MAX_FILE);
                rc = -EFBIG;
                break;
            }
            buf = nb;
            cap = nc;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    if (rc == 0) {
        char why[384];
        if ((rc = qa_parse_squad(buf, n, out, why, sizeof why)) < 0)
            snprintf(err, errlen, "%s: %s", path, rc == -ENOMEM ? "out of memory" : why);
    }
    free(buf);
    return rc;
}
