/*
 * The blocked GEMM for one element type; blocked.c includes this once per
 * type after defining
 *     BL_T    element type          BL_SFX  suffix for the function names
 *     BL_MC   rows of A per block   BL_KC   depth of a block
 *     BL_NC   columns of B per panel
 * The micro-tile is BL_MR rows x BL_NR columns, BL_NR being 64 bytes of
 * BL_T. Each instantiation defines bl_scratch_<sfx> and bl_gemm_<sfx>.
 */
#define BL_CAT_(a, b) a##b
#define BL_CAT(a, b) BL_CAT_(a, b)
#define BL_FN(name) BL_CAT(name, BL_SFX)
#define BL_NR (64 / sizeof(BL_T))

/* Elements of the packed B panel, then of the packed A block (which starts
 * on a 64-byte boundary since the panel is a whole number of NR columns). */
static size_t BL_FN(bl_bpack_elems_)(size_t n, size_t k)
{
    size_t nc = n < BL_NC ? n : BL_NC, kc = k < BL_KC ? k : BL_KC;
    return kc * bl_round_up(nc, BL_NR);
}

static size_t BL_FN(bl_scratch_)(size_t m, size_t n, size_t k)
{
    size_t mc = m < BL_MC ? m : BL_MC, kc = k < BL_KC ? k : BL_KC;
    return (BL_FN(bl_bpack_elems_)(n, k) + bl_round_up(mc, BL_MR) * kc) * sizeof(BL_T);
}

/* Copies rows [0, mr) x columns [0, kc) of A (leading dimension lda) into
 * ap as kc consecutive columns of BL_MR values, zero-padding missing rows so
 * that the micro-kernel never needs an edge case. */
static void BL_FN(bl_pack_a_)(size_t mr, size_t kc, const BL_T *a, size_t lda,
                              BL_T *restrict ap)
{
    for (size_t p = 0; p < kc; p++)
        for (size_t i = 0; i < BL_MR; i++)
            ap[p * BL_MR + i] = i < mr ? a[i * lda + p] : 0;
}

/* Copies rows [0, kc) x columns [0, nr) of B into bp as kc consecutive rows
 * of BL_NR values, zero-padded likewise. */
static void BL_FN(bl_pack_b_)(size_t nr, size_t kc, const BL_T *b, size_t ldb,
                              BL_T *restrict bp)
{
    for (size_t p = 0; p < kc; p++)
        for (size_t j = 0; j < BL_NR; j++)
            bp[p * BL_NR + j] = j < nr ? b[p * ldb + j] : 0;
}

/* C[0..mr)[0..nr) (+)= the BL_MRxBL_NR product of a packed A sliver and a
 * packed B sliver. The accumulators are a small constant-size array: fully
 * unrolled, they live in vector registers and the loop over j becomes one
 * or a few vector multiply-adds. */
BL_CLONES
static void BL_FN(bl_micro_)(size_t kc, const BL_T *restrict ap, const BL_T *restrict bp,
                             BL_T *restrict c, size_t ldc, size_t mr, size_t nr, int accumulate)
{
    BL_T acc[BL_MR][BL_NR];
    BL_UNROLL
    for (size_t i = 0; i < BL_MR; i++) {
        BL_UNROLL
        for (size_t j = 0; j < BL_NR; j++)
            acc[i][j] = 0;
    }
    for (size_t p = 0; p < kc; p++) {
        BL_UNROLL
        for (size_t i = 0; i < BL_MR; i++) {
            BL_T ai = ap[p * BL_MR + i];
            BL_UNROLL
            for (size_t j = 0; j < BL_NR; j++)
                acc[i][j] += ai * bp[p * BL_NR + j];
        }
    }
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

/* C = A*B, Goto-style: for each panel of B (BL_KC x BL_NC, packed, sized
 * for L3) and each block of A (BL_MC x BL_KC, packed, sized for L2), run
 * the micro-kernel over all micro-tiles; one BL_NR sliver of B (BL_KC x 64
 * bytes) stays in L1 while the A slivers stream past it. Threads share the
 * packing and split the micro-tiles by B sliver. The first depth block
 * writes C, later ones add to it, so C needs no zeroing. */
static void BL_FN(bl_gemm_)(gemm_state *s)
{
    const BL_T *a = s->a, *b = s->b;
    BL_T *c = s->c;
    const size_t m = s->m, n = s->n, k = s->k;
    BL_T *bpack = s->scratch;
    BL_T *apack = bpack + BL_FN(bl_bpack_elems_)(n, k);

    BL_OMP(omp parallel num_threads(s->threads))
    for (size_t jc = 0; jc < n; jc += BL_NC) {
        const size_t nc = n - jc < BL_NC ? n - jc : BL_NC;
        const size_t nslivers = (nc + BL_NR - 1) / BL_NR;
        for (size_t pc = 0; pc < k; pc += BL_KC) {
            const size_t kc = k - pc < BL_KC ? k - pc : BL_KC;
            BL_OMP(omp for schedule(static))
            for (size_t q = 0; q < nslivers; q++) {
                size_t nr = nc - q * BL_NR < BL_NR ? nc - q * BL_NR : BL_NR;
                BL_FN(bl_pack_b_)(nr, kc, b + pc * n + jc + q * BL_NR, n, bpack + q * BL_NR * kc);
            }
            for (size_t ic = 0; ic < m; ic += BL_MC) {
                const size_t mc = m - ic < BL_MC ? m - ic : BL_MC;
                const size_t mslivers = (mc + BL_MR - 1) / BL_MR;
                BL_OMP(omp for schedule(static))
                for (size_t r = 0; r < mslivers; r++) {
                    size_t mr = mc - r * BL_MR < BL_MR ? mc - r * BL_MR : BL_MR;
                    BL_FN(bl_pack_a_)(mr, kc, a + (ic + r * BL_MR) * k + pc, k,
                                      apack + r * BL_MR * kc);
                }
                BL_OMP(omp for schedule(static))
                for (size_t q = 0; q < nslivers; q++) {
                    size_t nr = nc - q * BL_NR < BL_NR ? nc - q * BL_NR : BL_NR;
                    for (size_t r = 0; r < mslivers; r++) {
                        size_t mr = mc - r * BL_MR < BL_MR ? mc - r * BL_MR : BL_MR;
                        BL_FN(bl_micro_)(kc, apack + r * BL_MR * kc, bpack + q * BL_NR * kc,
                                         c + (ic + r * BL_MR) * n + jc + q * BL_NR, n, mr, nr,
                                         pc > 0);
                    }
                }
            }
        }
    }
}

#undef BL_NR
#undef BL_FN
#undef BL_CAT
#undef BL_CAT_
