/*
 * Recurrent layers: PyTorch's RNN (tanh, relu), LSTM and GRU, forward and
 * backpropagation through time, written once for every kernel table.
 *
 * Layout. Inside the node everything is time-major, [T, n, ...]: the rows
 * of one step for the whole batch are contiguous, and the previous step's
 * hidden state is the same matrix n rows up. That makes the input side of
 * every step one GEMM (X [T*n, in] W_ih^T), leaves only h W_hh^T per step,
 * and lets the backward pass accumulate dW_hh over all steps in one GEMM
 * too (the hidden states shifted by one step against the recurrent-side
 * gradients). The element-wise cell maths between the GEMMs is here, once;
 * the GEMMs are the backend's.
 *
 * Equations (PyTorch's documentation, h_{-1} = c_{-1} = 0):
 *   rnn:  h = act(W_ih x + b_ih + W_hh h' + b_hh)
 *   lstm: i, f, g, o = s(.), s(.), tanh(.), s(.) of W_ih x + b_ih + W_hh h' + b_hh
 *         c = f c' + i g;  h = o tanh(c)
 *   gru:  r, z = s(W_ir x + b_ir + W_hr h' + b_hr), s(W_iz x + b_iz + W_hz h' + b_hz)
 *         n = tanh(W_in x + b_in + r (W_hn h' + b_hn));  h = (1 - z) n + z h'
 * The reverse direction runs the same cell from t = T-1 down to 0.
 */
#include "nn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The gates' nonlinearities, a third of a float32 training step with libm's
 * scalar expf and tanhf. In float32 they are computed here instead, with a
 * branch-free exp (Cephes' expf polynomial, relative error about 1e-7) that
 * the compiler vectorises across a row of gates; tools/parity/rnn_torch.py
 * holds the results to PyTorch's. The float64 build, whose finite
 * differences need every digit, keeps libm. */
#ifdef NN_DOUBLE
static inline nn_real sigm(nn_real v)
{
    return 1 / (1 + exp(-v));
}

static inline nn_real tanh_r(nn_real v)
{
    return tanh(v);
}
#else
static inline float exp_f(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (no SSE4.1 round) */
    float t = x * 1.44269504088896341f + 12582912.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    float n = t - 12582912.0f;
    int32_t ni = (int32_t)(tb - 0x4B400000u);
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t sb = (uint32_t)(ni + 127) << 23;
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

static inline float sigm(float v)
{
    return 1.0f / (1.0f + exp_f(-v));
}

static inline float tanh_r(float v)
{
    float e = exp_f(-2.0f * (v < 0 ? -v : v)); /* in (0, 1]: no overflow */
    float t = (1.0f - e) / (1.0f + e);
    return v < 0 ? -t : t;
}
#endif

#ifdef NN_OPENMP_SIMD
#define R_SIMD _Pragma("omp simd")
#else
#define R_SIMD
#endif

/* p[0, n) = f(p + q), the loops the compiler vectorises */
static void add_sigm(nn_real *restrict p, const nn_real *restrict q, int n)
{
    R_SIMD
    for (int j = 0; j < n; j++)
        p[j] = sigm(p[j] + q[j]);
}

static void add_tanh(nn_real *restrict p, const nn_real *restrict q, int n)
{
    R_SIMD
    for (int j = 0; j < n; j++)
        p[j] = tanh_r(p[j] + q[j]);
}

static const char *const cell_names[] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};

int nn_cell_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, cell_names[i]))
            return i;
    return -1;
}

const char *nn_cell_name(nn_cell cell)
{
    return (unsigned)cell < 4 ? cell_names[cell] : "?";
}

static int cell_gates(nn_cell cell)
{
    return cell == NN_CELL_LSTM ? 4 : cell == NN_CELL_GRU ? 3 : 1;
}

int nn_add_recurrent(nn_model *m, const char *name, int in, nn_cell cell, int hidden, int layers,
                     int bidirectional)
{
    if (in < 0 || in >= m->n_nodes || (unsigned)cell > NN_CELL_GRU || hidden < 1 || layers < 1)
        return -EINVAL;
    const nn_node *src = &m->nodes[in];
    if (src->w != 1 || src->c < 1 || src->h < 1)
        return -EINVAL; /* a sequence is (T, I, 1) per sample */
    nn_recurrent *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->cell = cell;
    r->seq_len = src->c;
    r->input_size = src->h;
    r->hidden = hidden;
    r->layers = layers;
    r->dirs = bidirectional ? 2 : 1;
    r->gates = cell_gates(cell);
    int i = nn_model_push_node(m, NN_OP_RECURRENT, in, -1);
    if (i < 0) {
        free(r);
        return i;
    }
    nn_node *nd = &m->nodes[i];
    nd->rec = r;
    nd->c = hidden * r->dirs;
    nd->h = nd->w = 1;
    nd->size = (size_t)nd->c;
    r->p_first = m->n_params;
    int gh = r->gates * hidden;
    /* PyTorch's state_dict order: per layer, per direction, w_ih w_hh b_ih
     * b_hh. */
    for (int l = 0; l < layers; l++)
        for (int d = 0; d < r->dirs; d++) {
            const char *sfx = d ? "_reverse" : "";
            char leaf[4][48];
            snprintf(leaf[0], sizeof leaf[0], "weight_ih_l%d%s", l, sfx);
            snprintf(leaf[1], sizeof leaf[1], "weight_hh_l%d%s", l, sfx);
            snprintf(leaf[2], sizeof leaf[2], "bias_ih_l%d%s", l, sfx);
            snprintf(leaf[3], sizeof leaf[3], "bias_hh_l%d%s", l, sfx);
            int wih[2] = {gh, l ? hidden * r->dirs : r->input_size}, whh[2] = {gh, hidden};
            int rc;
            if ((rc = nn_model_push_param(m, name, leaf[0], 1, 2, wih)) < 0 ||
                (rc = nn_model_push_param(m, name, leaf[1], 1, 2, whh)) < 0 ||
                (rc = nn_model_push_param(m, name, leaf[2], 1, 1, &gh)) < 0 ||
                (rc = nn_model_push_param(m, name, leaf[3], 1, 1, &gh)) < 0)
                return rc; /* the node (and r) is freed with the model */
        }
    return i;
}

int nn_recurrent_compile(nn_node *nd, int max_batch, double *bytes)
{
    nn_recurrent *r = nd->rec;
    size_t T = (size_t)r->seq_len, B = (size_t)max_batch, H = (size_t)r->hidden;
    size_t L = (size_t)r->layers, D = (size_t)r->dirs, GH = (size_t)r->gates * H;
    size_t I = (size_t)r->input_size;
    r->max_batch = max_batch;
    size_t seq = T * B; /* rows of one sequence matrix */
    size_t total = 0;
    /* The GEMMs take int dimensions: rows T*B (and T*B - B). */
    if (seq > (size_t)INT_MAX || GH > (size_t)INT_MAX / 4)
        return -EOVERFLOW;
#define TAKE(field, count)                                                                         \
    do {                                                                                           \
        size_t c_ = (count);                                                                       \
        if (!(r->field = nn_alloc(c_ ? c_ : 1, sizeof(nn_real))))                                  \
            return -ENOMEM;                                                                        \
        total += c_;                                                                               \
    } while (0)
    TAKE(x0, seq * I);
    TAKE(dx0, seq * I);
    TAKE(y, L * seq * H * D);
    TAKE(dy, L * seq * H * D);
    TAKE(act, L * D * seq * GH);
    if (r->cell == NN_CELL_LSTM) {
        TAKE(c, L * D * seq * H);
        TAKE(tc, L * D * seq * H);
    }
    if (r->cell == NN_CELL_GRU) {
        TAKE(hn, L * D * seq * H);
        TAKE(dhh, seq * GH);
    }
    TAKE(dg, seq * GH);
    TAKE(hh, B * GH);
    TAKE(dh, B * H);
    TAKE(dc, B * H);
    TAKE(dhz, B * H);
#undef TAKE
    if (!r->dhh)
        r->dhh = r->dg;
    *bytes += (double)total * sizeof(nn_real);
    return 0;
}

void nn_recurrent_free(nn_node *nd)
{
    nn_recurrent *r = nd->rec;
    if (!r)
        return;
    if (r->dhh != r->dg)
        nn_free(r->dhh);
    nn_real *bufs[] = {r->x0, r->dx0, r->y, r->dy, r->act, r->c, r->tc, r->hn,
                       r->dg, r->hh, r->dh, r->dc, r->dhz};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        nn_free(bufs[i]);
    free(r);
    nd->rec = NULL;
}

void nn_recurrent_init_weights(nn_model *m, const nn_node *nd, nn_rng *rng)
{
    const nn_recurrent *r = nd->rec;
    /* RNNBase.reset_parameters: every weight and bias U(-k, k), k =
     * 1/sqrt(hidden_size). */
    double bound = 1.0 / sqrt((double)r->hidden);
    int count = 4 * r->layers * r->dirs;
    for (int i = 0; i < count; i++) {
        nn_param *p = &m->params[r->p_first + i];
        for (size_t j = 0; j < p->size; j++)
            p->data[j] = (nn_real)((2.0 * nn_rng_uniform(rng) - 1.0) * bound);
    }
}

double nn_recurrent_flops(const nn_node *nd)
{
    const nn_recurrent *r = nd->rec;
    double gh = (double)r->gates * r->hidden, macs = 0;
    for (int l = 0; l < r->layers; l++) {
        int in = l ? r->hidden * r->dirs : r->input_size;
        macs += (double)r->dirs * r->seq_len * gh * (in + r->hidden);
    }
    return 2 * macs;
}

/* The buffers of one layer (l) or one layer and direction (ld = l*D + d),
 * for a batch of n: regions are sized for max_batch, used densely for n. */
static size_t seq_rows(const nn_recurrent *r)
{
    return (size_t)r->seq_len * (size_t)r->max_batch;
}

static nn_real *layer_y(const nn_recurrent *r, nn_real *base, int l)
{
    return base + (size_t)l * seq_rows(r) * (size_t)(r->hidden * r->dirs);
}

static nn_real *ld_buf(const nn_recurrent *r, nn_real *base, int ld, int width)
{
    return base + (size_t)ld * seq_rows(r) * (size_t)width;
}

static const nn_param *rparam(const nn_model *m, const nn_recurrent *r, int l, int d, int k)
{
    return &m->params[r->p_first + 4 * (l * r->dirs + d) + k];
}

static void fill_rows(nn_real *dst, size_t rows, int width, const nn_real *row)
{
    for (size_t i = 0; i < rows; i++)
        memcpy(dst + i * (size_t)width, row, (size_t)width * sizeof *row);
}

static void add_colsum(nn_real *acc, const nn_real *a, size_t rows, int width)
{
    for (size_t i = 0; i < rows; i++) {
        const nn_real *ai = a + i * (size_t)width;
        for (int j = 0; j < width; j++)
            acc[j] += ai[j];
    }
}

/* One step of the cell for the batch. a: [n, GH] the input side (pre-
 * activation) in, the gates out; hh: [n, GH] the recurrent side; hp: the
 * previous hidden state (row stride ldh) or NULL at the first step; h: the
 * new hidden state (stride ldh). c, tc, cp (lstm) and hn (gru): [n, H]. */
static void cell_forward(const nn_recurrent *r, int n, nn_real *restrict a,
                         const nn_real *restrict hh, const nn_real *hp, nn_real *h, int ldh,
                         nn_real *restrict c, nn_real *restrict tc, const nn_real *cp,
                         nn_real *restrict hn)
{
    const int H = r->hidden, GH = r->gates * H;
    for (int b = 0; b < n; b++) {
        nn_real *ab = a + (size_t)b * GH;
        const nn_real *hb = hh + (size_t)b * GH;
        nn_real *restrict ho = h + (size_t)b * ldh;
        switch (r->cell) {
        case NN_CELL_RNN_TANH:
            add_tanh(ab, hb, H);
            memcpy(ho, ab, (size_t)H * sizeof *ho);
            break;
        case NN_CELL_RNN_RELU:
            for (int j = 0; j < H; j++) {
                nn_real v = ab[j] + hb[j];
                ho[j] = ab[j] = v > 0 ? v : 0;
            }
            break;
        case NN_CELL_LSTM: {
            nn_real *restrict cb = c + (size_t)b * H, *restrict tcb = tc + (size_t)b * H;
            const nn_real *cpb = cp ? cp + (size_t)b * H : NULL;
            add_sigm(ab, hb, 2 * H); /* i, f */
            add_tanh(ab + 2 * H, hb + 2 * H, H); /* g */
            add_sigm(ab + 3 * H, hb + 3 * H, H); /* o */
            const nn_real *ig = ab, *fg = ab + H, *gg = ab + 2 * H, *og = ab + 3 * H;
            if (cpb) {
                R_SIMD
                for (int j = 0; j < H; j++)
                    cb[j] = ig[j] * gg[j] + fg[j] * cpb[j];
            } else {
                R_SIMD
                for (int j = 0; j < H; j++)
                    cb[j] = ig[j] * gg[j];
            }
            R_SIMD
            for (int j = 0; j < H; j++) {
                tcb[j] = tanh_r(cb[j]);
                ho[j] = og[j] * tcb[j];
            }
            break;
        }
        case NN_CELL_GRU: {
            nn_real *restrict hnb = hn + (size_t)b * H;
            const nn_real *hpb = hp ? hp + (size_t)b * ldh : NULL;
            add_sigm(ab, hb, 2 * H); /* r, z */
            const nn_real *rg = ab, *zg = ab + H;
            nn_real *ng = ab + 2 * H;
            R_SIMD
            for (int j = 0; j < H; j++) {
                hnb[j] = hb[2 * H + j];
                ng[j] = tanh_r(ng[j] + rg[j] * hnb[j]);
            }
            if (hpb) {
                R_SIMD
                for (int j = 0; j < H; j++)
                    ho[j] = (1 - zg[j]) * ng[j] + zg[j] * hpb[j];
            } else {
                R_SIMD
                for (int j = 0; j < H; j++)
                    ho[j] = (1 - zg[j]) * ng[j];
            }
            break;
        }
        }
    }
}

void nn_recurrent_forward(const nn_model *m, nn_node *nd, const nn_real *x, int n)
{
    nn_recurrent *r = nd->rec;
    const nn_backend *be = m->be;
    const int T = r->seq_len, I = r->input_size, H = r->hidden, D = r->dirs;
    const int GH = r->gates * H, HD = H * D;
    const size_t nb = (size_t)n, rows = (size_t)T * nb;
    /* [n, T, I] batch-first -> [T, n, I] */
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++)
            memcpy(r->x0 + ((size_t)t * nb + (size_t)b) * (size_t)I,
                   x + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I, (size_t)I * sizeof *x);
    for (int l = 0; l < r->layers; l++) {
        const nn_real *xin = l ? layer_y(r, r->y, l - 1) : r->x0;
        const int in = l ? HD : I;
        nn_real *y = layer_y(r, r->y, l);
        for (int d = 0; d < D; d++) {
            int ld = l * D + d;
            const nn_real *w_ih = rparam(m, r, l, d, 0)->data, *w_hh = rparam(m, r, l, d, 1)->data;
            const nn_real *b_ih = rparam(m, r, l, d, 2)->data, *b_hh = rparam(m, r, l, d, 3)->data;
            nn_real *act = ld_buf(r, r->act, ld, GH);
            nn_real *c = r->c ? ld_buf(r, r->c, ld, H) : NULL;
            nn_real *tc = r->tc ? ld_buf(r, r->tc, ld, H) : NULL;
            nn_real *hn = r->hn ? ld_buf(r, r->hn, ld, H) : NULL;
            /* The input side of every step: act [T*n, GH] = X W_ih^T + b_ih. */
            fill_rows(act, rows, GH, b_ih);
            be->k->gemm(be, 0, 1, (int)rows, GH, in, xin, in, w_ih, in, 1, act, GH);
            for (int s = 0; s < T; s++) {
                int t = d ? T - 1 - s : s, tp = d ? t + 1 : t - 1;
                size_t at = (size_t)t * nb, atp = (size_t)tp * nb;
                const nn_real *hp = s ? y + atp * (size_t)HD + (size_t)d * H : NULL;
                fill_rows(r->hh, nb, GH, b_hh);
                if (hp)
                    be->k->gemm(be, 0, 1, n, GH, H, hp, HD, w_hh, H, 1, r->hh, GH);
                cell_forward(r, n, act + at * (size_t)GH, r->hh, hp,
                             y + at * (size_t)HD + (size_t)d * H, HD,
                             c ? c + at * (size_t)H : NULL, tc ? tc + at * (size_t)H : NULL,
                             c && s ? c + atp * (size_t)H : NULL, hn ? hn + at * (size_t)H : NULL);
            }
        }
    }
    /* output[:, -1, :] of the top layer: both directions at t = T-1 */
    memcpy(nd->y, layer_y(r, r->y, r->layers - 1) + (size_t)(T - 1) * nb * (size_t)HD,
           nb * (size_t)HD * sizeof *nd->y);
}

/* One step backward for the batch: dy is the gradient reaching this step's
 * hidden state from above (stride ldh), r->dh (and r->dc) what came from
 * the next step. Writes the pre-activation gradients dg (input side) and
 * dhh (recurrent side; the same buffer except for gru), the lstm's cell
 * gradient for the previous step into r->dc, and the gru's direct path
 * z * dh into r->dhz. */
static void cell_backward(nn_recurrent *r, int n, const nn_real *restrict a, const nn_real *dy,
                          int ldh, const nn_real *hp, const nn_real *restrict tc,
                          const nn_real *cp, const nn_real *restrict hn, nn_real *dg, nn_real *dhh)
{
    const int H = r->hidden, GH = r->gates * H;
    for (int b = 0; b < n; b++) {
        const nn_real *ab = a + (size_t)b * GH;
        const nn_real *dyb = dy + (size_t)b * ldh;
        const nn_real *carry = r->dh + (size_t)b * H;
        nn_real *gb = dg + (size_t)b * GH;
        switch (r->cell) {
        case NN_CELL_RNN_TANH:
            for (int j = 0; j < H; j++) {
                nn_real g = dyb[j] + carry[j];
                gb[j] = g * (1 - ab[j] * ab[j]);
            }
            break;
        case NN_CELL_RNN_RELU:
            for (int j = 0; j < H; j++)
                gb[j] = ab[j] > 0 ? dyb[j] + carry[j] : 0;
            break;
        case NN_CELL_LSTM: {
            nn_real *dcb = r->dc + (size_t)b * H;
            const nn_real *tcb = tc + (size_t)b * H;
            const nn_real *cpb = cp ? cp + (size_t)b * H : NULL;
            for (int j = 0; j < H; j++) {
                nn_real g = dyb[j] + carry[j];
                nn_real ig = ab[j], fg = ab[H + j], gg = ab[2 * H + j], og = ab[3 * H + j];
                nn_real t = tcb[j];
                nn_real dc = dcb[j] + g * og * (1 - t * t);
                gb[j] = dc * gg * ig * (1 - ig);
                gb[H + j] = cpb ? dc * cpb[j] * fg * (1 - fg) : 0;
                gb[2 * H + j] = dc * ig * (1 - gg * gg);
                gb[3 * H + j] = g * t * og * (1 - og);
                dcb[j] = dc * fg;
            }
            break;
        }
        case NN_CELL_GRU: {
            const nn_real *hpb = hp ? hp + (size_t)b * ldh : NULL;
            const nn_real *hnb = hn + (size_t)b * H;
            nn_real *hb = dhh + (size_t)b * GH, *dz = r->dhz + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                nn_real g = dyb[j] + carry[j];
                nn_real rg = ab[j], zg = ab[H + j], ng = ab[2 * H + j];
                nn_real hpv = hpb ? hpb[j] : 0;
                nn_real dn = g * (1 - zg) * (1 - ng * ng);
                nn_real dzp = g * (hpv - ng) * zg * (1 - zg);
                nn_real drp = dn * hnb[j] * rg * (1 - rg);
                gb[j] = hb[j] = drp;
                gb[H + j] = hb[H + j] = dzp;
                gb[2 * H + j] = dn;
                hb[2 * H + j] = dn * rg;
                dz[j] = g * zg;
            }
            break;
        }
        }
    }
}

void nn_recurrent_backward(const nn_model *m, nn_node *nd, nn_real *dx, int n)
{
    nn_recurrent *r = nd->rec;
    const nn_backend *be = m->be;
    const int T = r->seq_len, I = r->input_size, H = r->hidden, D = r->dirs;
    const int GH = r->gates * H, HD = H * D, L = r->layers;
    const size_t nb = (size_t)n, rows = (size_t)T * nb;
    /* Only the last step of the top layer is read by the head. */
    nn_real *dtop = layer_y(r, r->dy, L - 1);
    memset(dtop, 0, rows * (size_t)HD * sizeof *dtop);
    memcpy(dtop + (size_t)(T - 1) * nb * (size_t)HD, nd->dy, nb * (size_t)HD * sizeof *dtop);
    for (int l = L - 1; l >= 0; l--) {
        const nn_real *xin = l ? layer_y(r, r->y, l - 1) : r->x0;
        const int in = l ? HD : I;
        nn_real *dxin = l ? layer_y(r, r->dy, l - 1) : dx ? r->dx0 : NULL;
        const nn_real *y = layer_y(r, r->y, l), *dyl = layer_y(r, r->dy, l);
        /* Both directions accumulate into the layer below. */
        if (dxin)
            memset(dxin, 0, rows * (size_t)in * sizeof *dxin);
        for (int d = 0; d < D; d++) {
            int ld = l * D + d;
            const nn_param *pw_ih = rparam(m, r, l, d, 0), *pw_hh = rparam(m, r, l, d, 1);
            const nn_param *pb_ih = rparam(m, r, l, d, 2), *pb_hh = rparam(m, r, l, d, 3);
            const nn_real *act = ld_buf(r, r->act, ld, GH);
            const nn_real *c = r->c ? ld_buf(r, r->c, ld, H) : NULL;
            const nn_real *tc = r->tc ? ld_buf(r, r->tc, ld, H) : NULL;
            const nn_real *hn = r->hn ? ld_buf(r, r->hn, ld, H) : NULL;
            memset(r->dh, 0, nb * (size_t)H * sizeof *r->dh);
            memset(r->dc, 0, nb * (size_t)H * sizeof *r->dc);
            for (int s = T - 1; s >= 0; s--) {
                int t = d ? T - 1 - s : s, tp = d ? t + 1 : t - 1;
                size_t at = (size_t)t * nb, atp = (size_t)tp * nb;
                const nn_real *hp = s ? y + atp * (size_t)HD + (size_t)d * H : NULL;
                nn_real *dg = r->dg + at * (size_t)GH, *dhh = r->dhh + at * (size_t)GH;
                cell_backward(r, n, act + at * (size_t)GH, dyl + at * (size_t)HD + (size_t)d * H,
                              HD, hp, tc ? tc + at * (size_t)H : NULL,
                              c && s ? c + atp * (size_t)H : NULL,
                              hn ? hn + at * (size_t)H : NULL, dg, dhh);
                if (!s)
                    break;
                /* dh' = dhh W_hh (+ z dh, gru's direct path) */
                if (r->cell == NN_CELL_GRU)
                    memcpy(r->dh, r->dhz, nb * (size_t)H * sizeof *r->dh);
                be->k->gemm(be, 0, 0, n, H, GH, dhh, GH, pw_hh->data, H,
                            r->cell == NN_CELL_GRU ? 1 : 0, r->dh, H);
            }
            /* dW_hh += sum over steps after the first of dhh_t^T h_{prev(t)}:
             * forward, rows t = 1..T-1 against hidden rows 0..T-2; reverse,
             * rows 0..T-2 against 1..T-1. */
            if (T > 1) {
                const nn_real *ga = r->dhh + (d ? 0 : nb * (size_t)GH);
                const nn_real *hb = y + (d ? nb * (size_t)HD : 0) + (size_t)d * H;
                be->k->gemm(be, 1, 0, GH, H, (int)(rows - nb), ga, GH, hb, HD, 1, pw_hh->grad, H);
            }
            /* The input side over all steps: dW_ih += dg^T X, dX += dg W_ih. */
            be->k->gemm(be, 1, 0, GH, in, (int)rows, r->dg, GH, xin, in, 1, pw_ih->grad, in);
            if (dxin)
                be->k->gemm(be, 0, 0, (int)rows, in, GH, r->dg, GH, pw_ih->data, in, 1, dxin, in);
            add_colsum(pb_ih->grad, r->dg, rows, GH);
            add_colsum(pb_hh->grad, r->dhh, rows, GH);
        }
    }
    if (dx) /* [T, n, I] -> += [n, T, I] */
        for (int b = 0; b < n; b++)
            for (int t = 0; t < T; t++) {
                const nn_real *src = r->dx0 + ((size_t)t * nb + (size_t)b) * (size_t)I;
                nn_real *dst = dx + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I;
                for (int i = 0; i < I; i++)
                    dst[i] += src[i];
            }
}

double nn_clip_grad_norm(nn_real *g, size_t n, double max_norm)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1)
        for (size_t i = 0; i < n; i++)
            g[i] = (nn_real)((double)g[i] * coef);
    return norm;
}
