/* kmeans.c — k-means: greedy k-means++ seeding (Arthur & Vassilvitskii 2007,
 * with 2 + ⌊ln k⌋ local trials as in scikit-learn) and Lloyd iterations.
 *
 * Squared distances to the centres are computed as
 *     ‖x‖² − 2 x·c + ‖c‖²
 * by a kernel of our own (dotsn_body): NPT points at a time against all
 * centres stored transposed, with independent vector accumulators, reading
 * the points in place. For K <= 32 and r = 64 a dgemm per block spent as
 * much time packing its operands (and we gathering the rows of the points
 * Hamerly's bounds could not settle) as multiplying. Inertias (the trace, the final value and
 * the restart comparison) are recomputed directly as Σ ‖x − c‖², so that
 * they do not carry the cancellation error of the expanded form.
 *
 * Lloyd iterations use Hamerly's bounds (G. Hamerly, "Making k-means even
 * faster", SDM 2010): an upper bound u on the distance to the own centre and
 * a lower bound l on the second nearest, moved by the centre shifts; a point
 * with u <= max(l, half the distance to the nearest other centre) keeps its
 * label without any distance computation. The assignments are those of plain
 * Lloyd (up to rounding at near-ties); only the work differs. Centres are
 * kept as running sums, and the final centres are recomputed as exact means.
 * The assignments use float distances (twice the speed, eight lanes) with
 * a rigorous error bound; the 0.1 % of close calls are recomputed in
 * double, so the labels are those of the double kernel (dotsn32_body).
 * When most points of a block would be open anyway (the first iteration,
 * small k, data whose distances concentrate), the block is assigned whole
 * from panels of transposed points instead (panel_dist_body: the same
 * float distances, bit for bit, without the filter's per-point costs;
 * from 16 dimensions on, panel16: dot products of the points and centres
 * rounded to 16-bit integers, exact in 32-bit sums, with a measured
 * rounding bound, ~1.4× the float panels' speed).
 * The seeding's potentials are sums of double distances; from 16
 * dimensions on, float distances from the panels first bound each
 * candidate's potential (seed_settle32): when the bounds single out the
 * winner, only its double distances are made, for the points it may bring
 * nearer (~5 % of them); otherwise the float distances screen out the
 * points that no candidate can bring nearer (seed_pass32), whose terms are
 * known without them. Either way the centres, D² and potentials are those
 * of the double kernel, bit for bit. (Elkan's per-centre bounds were tried on
 * the 10,000 × 64, K <= 32 benchmark: no faster, see docs/benchmarks.md.)
 *
 * Monotonicity: with labels L_t assigned from centres c_t, the inertia
 * J(L_t, c_t) never increases: the mean update lowers J for fixed labels,
 * moving the farthest point into an empty cluster (centre = that point)
 * lowers it further, and the next assignment lowers it again. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "obs_internal.h"

void dcx_kmeans_params_default(dcx_kmeans_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = 1;
    p->restarts = 3;
    p->max_iter = 100;
}

void dcx_kmeans_free(dcx_kmeans_result *r)
{
    if (!r) return;
    free(r->labels);
    free(r->centres);
    free(r->sizes);
    free(r);
}

/* Vectors of four doubles (GCC/Clang vector extensions): element-wise
 * arithmetic in a fixed order, lowered to SSE2 pairs or to AVX2 registers
 * alike. v4du is the same for 8-byte aligned (unaligned) memory. The types
 * that read and write double arrays are may_alias (as the compilers' own
 * __m256d): a vector lvalue does not otherwise alias its element type. */
typedef double v4d __attribute__((vector_size(32), may_alias));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));
typedef long long v4di __attribute__((vector_size(32)));
typedef double v2d __attribute__((vector_size(16)));
typedef double v2du __attribute__((vector_size(16), aligned(8), may_alias));
typedef int v4si __attribute__((vector_size(16)));

/* max(v, 0) lane-wise for a v4d variable v (0 for NaN, as v > 0 ? v : 0):
 * the comparison mask keeps the bits of the positive lanes. */
#define POS4(v) ((v4d)((v4di)(v) & (v4di)((v) > (v4d){0, 0, 0, 0})))

/* ‖a − b‖², with eight partial sums (lane t sums the elements j ≡ t mod 8,
 * in order), combined pairwise: ((s0 + s1) + (s2 + s3)) + ((s4 + s5) +
 * (s6 + s7)), the tail (d mod 8 elements) added to s0. Four independent
 * vector chains instead of one; compiled for baseline x86-64 (SSE2 pairs)
 * and for AVX2 without FMA, which do the same arithmetic bit for bit. */
static inline __attribute__((always_inline)) double dist2_body(const double *a, const double *b, int64_t d)
{
    v4d s0 = {0, 0, 0, 0}, s1 = s0;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        const v4d t0 = *(const v4du *)(a + j) - *(const v4du *)(b + j);
        const v4d t1 = *(const v4du *)(a + j + 4) - *(const v4du *)(b + j + 4);
        s0 += t0 * t0;
        s1 += t1 * t1;
    }
    double h = s0[0];
    for (; j < d; j++) {
        const double t = a[j] - b[j];
        h += t * t;
    }
    return ((h + s0[1]) + (s0[2] + s0[3])) + ((s1[0] + s1[1]) + (s1[2] + s1[3]));
}

/* name_base (baseline x86-64) and, on x86-64 with GCC or clang, name_avx2
 * (built for the target features TGT) around the always-inline name_body:
 * one body, two builds, the faster picked once at run time (pick_kernels).
 * RET is the return type, PARAMS the parameter list, ARGS the call's
 * arguments, RETURN `return` for a value or empty for void. */
#if defined(__x86_64__) && defined(__GNUC__)
#define DEFINE_BUILDS(RET, name, TGT, PARAMS, ARGS, RETURN)                                                           \
    static RET name##_base PARAMS { RETURN name##_body ARGS; }                                                         \
    __attribute__((target(TGT))) static RET name##_avx2 PARAMS { RETURN name##_body ARGS; }
#else
#define DEFINE_BUILDS(RET, name, TGT, PARAMS, ARGS, RETURN) static RET name##_base PARAMS { RETURN name##_body ARGS; }
#endif

DEFINE_BUILDS(double, dist2, "avx2", (const double *a, const double *b, int64_t d), (a, b, d), return)

/* set by pick_kernels; both builds give the same sums */
static double (*dist2_impl)(const double *, const double *, int64_t) = dist2_base;

static double dist2(const double *a, const double *b, int64_t d)
{
    return __atomic_load_n(&dist2_impl, __ATOMIC_RELAXED)(a, b, d);
}

#define NPT 6 /* points per kernel call */

/* Squared distances of NPT points x[0..NPT) (d each; norms xs) to the kp
 * centres stored transposed in ct (d, kp; kp a multiple of 4, 32-byte
 * aligned; norms csq), as ‖x‖² − 2 x·c + ‖c‖² clamped at 0, into out
 * (NPT, kp). Every dot product is one chain over j in a fixed order, so a
 * point's distances do not depend on the other points, the block or the
 * thread. The body is compiled twice: baseline x86-64 (SSE2) and AVX2+FMA,
 * chosen once at run time (the FMA build rounds each product-sum once
 * instead of twice: results may differ between machines by rounding, as
 * with OpenBLAS's kernels, never between runs or thread counts on one
 * machine). */
/* The kernel for element type T in vectors V of W lanes (VU: the same for
 * unaligned memory), kp a multiple of W: two vectors of centres per step,
 * one for a last group of W. POS clamps a vector at 0. */
#define DEFINE_DOTSN(name, T, V, VU, W, POS)                                                                         \
    static inline __attribute__((always_inline)) void name(const T *const *x, const T *xs, const T *ct,             \
                                                            const T *csq, int64_t d, int64_t kp, T *out)            \
    {                                                                                                                \
        int64_t c0 = 0;                                                                                              \
        for (; c0 + 2 * (W) <= kp; c0 += 2 * (W)) {                                                                  \
            V acc[NPT][2];                                                                                           \
            _Pragma("GCC unroll 8") for (int p = 0; p < NPT; p++) acc[p][0] = acc[p][1] = (V){0};                    \
            const T *cj = ct + c0;                                                                                   \
            for (int64_t j = 0; j < d; j++, cj += kp) {                                                              \
                const V u0 = *(const V *)cj, u1 = *(const V *)(cj + (W));                                            \
                _Pragma("GCC unroll 8") for (int p = 0; p < NPT; p++)                                                \
                {                                                                                                    \
                    const T xv = x[p][j];                                                                            \
                    acc[p][0] += xv * u0;                                                                            \
                    acc[p][1] += xv * u1;                                                                            \
                }                                                                                                    \
            }                                                                                                        \
            const V q0 = *(const V *)(csq + c0), q1 = *(const V *)(csq + c0 + (W));                                  \
            _Pragma("GCC unroll 8") for (int p = 0; p < NPT; p++)                                                    \
            {                                                                                                        \
                const V r0 = ((T)-2 * acc[p][0] + xs[p]) + q0, r1 = ((T)-2 * acc[p][1] + xs[p]) + q1;                \
                *(VU *)(out + p * kp + c0) = POS(r0);                                                                \
                *(VU *)(out + p * kp + c0 + (W)) = POS(r1);                                                          \
            }                                                                                                        \
        }                                                                                                            \
        if (c0 < kp) { /* kp − c0 = W */                                                                             \
            V acc[NPT];                                                                                              \
            _Pragma("GCC unroll 8") for (int p = 0; p < NPT; p++) acc[p] = (V){0};                                   \
            const T *cj = ct + c0;                                                                                   \
            for (int64_t j = 0; j < d; j++, cj += kp) {                                                              \
                const V u0 = *(const V *)cj;                                                                         \
                _Pragma("GCC unroll 8") for (int p = 0; p < NPT; p++) acc[p] += x[p][j] * u0;                        \
            }                                                                                                        \
            const V q0 = *(const V *)(csq + c0);                                                                     \
            _Pragma("GCC unroll 8") for (int p = 0; p < NPT; p++)                                                    \
            {                                                                                                        \
                const V r0 = ((T)-2 * acc[p] + xs[p]) + q0;                                                          \
                *(VU *)(out + p * kp + c0) = POS(r0);                                                                \
            }                                                                                                        \
        }                                                                                                            \
    }

/* name_fn, and name_base (baseline x86-64) and name_avx2 (AVX2+FMA) around
 * name_body. */
#define DEFINE_DOTSN_BUILDS(name, T)                                                                                 \
    typedef void (*name##_fn)(const T *const *, const T *, const T *, const T *, int64_t, int64_t, T *);           \
    DEFINE_BUILDS(void, name, "avx2,fma",                                                                            \
                  (const T *const *x, const T *xs, const T *ct, const T *csq, int64_t d, int64_t kp, T *out),        \
                  (x, xs, ct, csq, d, kp, out), )

DEFINE_DOTSN(dotsn_body, double, v4d, v4du, 4, POS4)

DEFINE_DOTSN_BUILDS(dotsn, double)

/* The nearest and second-nearest of the k distances row (kp entries, a
 * multiple of 4, 32-byte aligned; the padding is ignored): *best the lowest
 * index of the minimum, *d1 the minimum, *d2 the second smallest value (=
 * d1 at a tie), as a sequential scan with strict comparisons gives. Lane t
 * of four keeps the two smallest of the entries j ≡ t mod 4 and the index
 * of the smallest (the first one); the lanes are merged at the end. */
#define BLEND4(m, a, b) ((v4d)(((v4di)(a) & (m)) | ((v4di)(b) & ~(m))))
static inline __attribute__((always_inline)) void scan2_body(const double *row, int64_t k, int64_t *best,
                                                             double *d1, double *d2)
{
    const v4d inf = {INFINITY, INFINITY, INFINITY, INFINITY};
    v4d m1 = inf, m2 = inf;
    v4di ix = {-1, -1, -1, -1}, jv = {0, 1, 2, 3};
    const v4di four = {4, 4, 4, 4};
    int64_t j = 0;
    for (; j + 4 <= k; j += 4, jv += four) {
        const v4d v = *(const v4d *)(row + j);
        const v4di lt = (v4di)(v < m1), l2 = (v4di)(v < m2);
        const v4d mn2 = BLEND4(l2, v, m2);
        m2 = BLEND4(lt, m1, mn2);
        m1 = BLEND4(lt, v, m1);
        ix = (jv & lt) | (ix & ~lt);
    }
    int64_t b = -1;
    double e1 = INFINITY, e2 = INFINITY;
    if (k >= 4) { /* merge the lanes without branches: lowest index wins a tie */
        e1 = m1[0];
        e2 = m2[0];
        b = ix[0];
        for (int t = 1; t < 4; t++) {
            const double a = m1[t], a2 = m2[t];
            const int64_t it = ix[t];
            const int win = a < e1 || (a == e1 && it < b);
            const double lo = win ? e1 : a; /* the larger of the two minima */
            e2 = lo < e2 ? lo : e2;         /* a2 >= a: it only matters when a wins */
            e2 = a2 < e2 ? a2 : e2;
            e1 = win ? a : e1;
            b = win ? it : b;
        }
    }
    for (; j < k; j++) { /* k mod 4 remaining, after all lanes: sequential */
        const double v = row[j];
        if (v < e1) {
            e2 = e1;
            e1 = v;
            b = j;
        } else if (v < e2) {
            e2 = v;
        }
    }
    *best = b;
    *d1 = e1;
    *d2 = e2;
}

typedef void (*scan2_fn)(const double *, int64_t, int64_t *, double *, double *);

DEFINE_BUILDS(void, scan2, "avx2", (const double *row, int64_t k, int64_t *best, double *d1, double *d2),
              (row, k, best, d1, d2), )

/* ---- single precision distances for Lloyd's assignments ----
 * The same expanded form on float copies of the points and centres, eight
 * lanes per register: twice the double kernel's speed. Every value is
 * within δ = (d + 16)·2⁻²³·(‖x‖² + max‖c‖²) (+ a floor for underflow) of
 * the true squared distance: the dot product's error bound γ_d·‖x‖‖c‖ ≤
 * d·2⁻²⁴·(‖x‖² + ‖c‖²)/(1 − d·2⁻²⁴) doubled, plus the rounding of the
 * inputs to float and of the final sums, with a factor 2 to spare. A point
 * whose two nearest float distances are more than 2δ apart (and than the
 * double kernel's own error) has the same nearest centre in the double
 * kernel; every closer call is recomputed in double. The labels are thus
 * those of the double kernel; the bounds u and l get δ of slack, so that
 * they stay bounds. */
typedef float v8f __attribute__((vector_size(32), may_alias));
typedef float v8fu __attribute__((vector_size(32), aligned(4), may_alias));
typedef int v8si __attribute__((vector_size(32)));

#define POS8(v) ((v8f)((v8si)(v) & (v8si)((v) > (v8f){0, 0, 0, 0, 0, 0, 0, 0})))

/* dotsn_body in float: kp a multiple of 8. */
DEFINE_DOTSN(dotsn32_body, float, v8f, v8fu, 8, POS8)

DEFINE_DOTSN_BUILDS(dotsn32, float)
/* One float squared distance ‖x‖² − 2 x·c + ‖c‖² (clamped at 0), x and c
 * rows of d floats: the dot product in sixteen lanes (two vectors), the
 * tail added to the sum. Within the same δ of the true distance as the
 * kernel's values (the error bound holds for any order of the sums). For
 * tightening a point's bound on its own centre. */
static inline __attribute__((always_inline)) float dist32_body(const float *x, float xs, const float *c, float cs,
                                                               int64_t d)
{
    v8f a0 = {0, 0, 0, 0, 0, 0, 0, 0}, a1 = a0;
    int64_t j = 0;
    for (; j + 16 <= d; j += 16) {
        a0 += *(const v8fu *)(x + j) * *(const v8fu *)(c + j);
        a1 += *(const v8fu *)(x + j + 8) * *(const v8fu *)(c + j + 8);
    }
    if (j + 8 <= d) {
        a0 += *(const v8fu *)(x + j) * *(const v8fu *)(c + j);
        j += 8;
    }
    a0 += a1;
    float s = ((a0[0] + a0[4]) + (a0[1] + a0[5])) + ((a0[2] + a0[6]) + (a0[3] + a0[7]));
    for (; j < d; j++) s += x[j] * c[j];
    const float v = (-2.0f * s + xs) + cs;
    return v > 0 ? v : 0.0f;
}


/* As scan2_body on k floats, k a multiple of 8 (row 32-byte aligned;
 * padding columns hold +∞): the lowest index of the minimum and the two
 * smallest values. Lane t keeps the two smallest of the entries j ≡ t mod
 * 8 and the first index of its minimum; the lanes are then merged in three
 * butterfly steps (lanes t and t ^ s, s = 4, 2, 1), each keeping the lower
 * minimum (ties: the lower index) and the smaller of the loser's minimum
 * and both second values. No branches, no scalar tail. */
#define BLEND8(m, a, b) ((v8f)(((v8si)(a) & (m)) | ((v8si)(b) & ~(m))))
#define BLEND8I(m, a, b) (((a) & (m)) | ((b) & ~(m)))
static inline __attribute__((always_inline)) void scan2_32_body(const float *row, int64_t k, int64_t *best,
                                                                float *d1, float *d2)
{
    const v8f inf = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
    v8f m1 = inf, m2 = inf;
    v8si ix = {0, 1, 2, 3, 4, 5, 6, 7}, jv = ix;
    const v8si eight = {8, 8, 8, 8, 8, 8, 8, 8};
    for (int64_t j = 0; j < k; j += 8, jv += eight) {
        const v8f v = *(const v8f *)(row + j);
        const v8si lt = (v8si)(v < m1), l2 = (v8si)(v < m2);
        const v8f mn2 = BLEND8(l2, v, m2);
        m2 = BLEND8(lt, m1, mn2);
        m1 = BLEND8(lt, v, m1);
        ix = BLEND8I(lt, jv, ix);
    }
    /* lane t meets lane t ^ s (__builtin_shufflevector: GCC >= 12, clang) */
#define MERGE8(...)                                                                                                    \
    do {                                                                                                               \
        const v8f b1 = __builtin_shufflevector(m1, m1, __VA_ARGS__), b2 = __builtin_shufflevector(m2, m2, __VA_ARGS__); \
        const v8si bi = __builtin_shufflevector(ix, ix, __VA_ARGS__);                                                  \
        const v8si win = (v8si)(b1 < m1) | ((v8si)(b1 == m1) & (bi < ix));                                             \
        const v8f lo = BLEND8(win, m1, b1); /* the larger of the two minima */                                         \
        const v8f s2 = BLEND8((v8si)(b2 < m2), b2, m2);                                                                \
        m2 = BLEND8((v8si)(lo < s2), lo, s2);                                                                          \
        m1 = BLEND8(win, b1, m1);                                                                                      \
        ix = BLEND8I(win, bi, ix);                                                                                     \
    } while (0)
    MERGE8(4, 5, 6, 7, 0, 1, 2, 3);
    MERGE8(2, 3, 0, 1, 6, 7, 4, 5);
    MERGE8(1, 0, 3, 2, 5, 4, 7, 6);
#undef MERGE8
    *best = ix[0];
    *d1 = m1[0];
    *d2 = m2[0];
}

typedef void (*scan2_32_fn)(const float *, int64_t, int64_t *, float *, float *);

DEFINE_BUILDS(void, scan2_32, "avx2", (const float *row, int64_t k, int64_t *best, float *d1, float *d2),
              (row, k, best, d1, d2), )

/* ---- every point at once: panels ----
 * When most points would be open anyway, Hamerly's filter costs more than
 * it saves (the bounds, the tightening, a kernel row and two square roots
 * per open point). A full pass computes every point's float distances from
 * panels: PW consecutive points stored transposed (d, PW), so that the
 * points sit in the vector lanes and each centre's coordinate is one
 * broadcast; nothing is padded to a multiple of 8 centres. Each distance
 * is the same chain over j as in dotsn32_body (one product-sum per j, in
 * order, then −2·acc + ‖x‖² + ‖c‖² clamped at 0), so the values, and the
 * labels, are those of the row kernel bit for bit. */
#define PW 32  /* points per panel: four vectors of eight */
#define PA 3   /* centres per pass over a panel */

/* NA centres from c (rows of d floats, norms csq) against the PW points of
 * a panel (d, PW; float norms xs), into out (NA, PW). */
#define PANEL_GROUP(NA)                                                                                             \
    do {                                                                                                             \
        v8f acc[NA][4];                                                                                              \
        _Pragma("GCC unroll 4") for (int a = 0; a < NA; a++) _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)    \
            acc[a][v] = (v8f){0};                                                                                    \
        const float *pj = pan;                                                                                       \
        for (int64_t j = 0; j < d; j++, pj += PW) {                                                                  \
            v8f xv[4];                                                                                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) xv[v] = *(const v8f *)(pj + 8 * v);                 \
            _Pragma("GCC unroll 4") for (int a = 0; a < NA; a++)                                                     \
            {                                                                                                        \
                const float cj = c[a * d + j];                                                                       \
                _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) acc[a][v] += xv[v] * cj;                         \
            }                                                                                                        \
        }                                                                                                            \
        _Pragma("GCC unroll 4") for (int a = 0; a < NA; a++) _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)    \
        {                                                                                                            \
            const v8f r = ((float)-2 * acc[a][v] + *(const v8f *)(xs + 8 * v)) + csq[a];                            \
            *(v8f *)(out + a * PW + 8 * v) = POS8(r);                                                                \
        }                                                                                                            \
    } while (0)

/* Distances of the PW points of a panel (d, PW; float norms xs) to the kc
 * centres c (rows of d floats; norms csq) into out (kc, PW): PA centres per
 * pass, the last one or two in a pass of their own (no padded centres). */
static inline __attribute__((always_inline)) void panel_dist_body(const float *pan, const float *xs, const float *c,
                                                                  const float *csq, int64_t d, int64_t kc,
                                                                  float *out)
{
    int64_t a0 = 0;
    for (; a0 + PA <= kc; a0 += PA, c += PA * d, csq += PA, out += PA * PW) PANEL_GROUP(PA);
    if (kc - a0 == 2) PANEL_GROUP(2);
    else if (kc - a0 == 1) PANEL_GROUP(1);
}

DEFINE_BUILDS(void, panel_dist, "avx2,fma",
              (const float *pan, const float *xs, const float *c, const float *csq, int64_t d, int64_t kc,
               float *out),
              (pan, xs, c, csq, d, kc, out), )
typedef void (*panel_dist_fn)(const float *, const float *, const float *, const float *, int64_t, int64_t, float *);

/* ---- full passes in 16-bit integers ----
 * From 16 dimensions on, a full pass takes its dot products from the
 * points and centres rounded to 16-bit integers, each vector on a scale of
 * its own: x ≈ x̂ = s_x·q_x, c ≈ ĉ = s_c·q_c (q integers, |q_j| <= 32767,
 * ‖q‖ <= 46340, so that every partial sum of q_x·q_c is exact in 32 bits).
 * Two adjacent coordinates of eight points sit in a 256-bit vector, and one
 * vpmaddwd multiplies them by a centre's pair and adds the two products:
 * ~1.6× the float panel kernel's distances per second on Zen 3. The dot
 * product x̂·ĉ = s_x·s_c·(q_x·q_c) is exact up to the float rounding of
 * its last steps, and
 *     |x·c − x̂·ĉ| <= ‖x̂‖·‖c − ĉ‖ + ‖x − x̂‖·‖c‖,
 * the two residual norms measured when the vectors are rounded (about 5e-5
 * of their length). The distances thus carry, per point, δ = the float
 * path's δ + 2(‖x̂‖·max‖c − ĉ‖ + ‖x − x̂‖·max‖c‖): ~1e-4 of ‖x‖² + ‖c‖²,
 * and about 0.3 % of the points of the benchmark's passes are close calls
 * (the double kernel decides) instead of 0.1 %. The labels, again, are the
 * double kernel's; only the work differs. The integer sums are exact, so
 * both builds give the same values bit for bit. */
#define Q16_NORM 43237.0 /* 2^15.4: the rounded vector's target norm */
#define Q16_LIMIT 2147395600LL /* 46340²: the largest Σ q² allowed */
#define Q16_MIN_D 16            /* dimensions at least */
typedef int v8sia __attribute__((vector_size(32), may_alias)); /* reads the int16 panels */
typedef unsigned v8su __attribute__((vector_size(32)));
typedef int32_t i32a __attribute__((may_alias, aligned(4))); /* a centre's pair of int16 */

/* NA centres (cq: d2 pairs of int16 each; scales cs, norms csq) against the PW
 * points of an int16 panel (d2 pairs × PW points × 2; −2·scale sx2, float
 * norms xs) into out (NA, PW). MADD(acc, x, c): acc += the pair products. */
#define PANEL16_GROUP(NA, MADD)                                                                                     \
    do {                                                                                                            \
        v8si acc[NA][4];                                                                                            \
        _Pragma("GCC unroll 4") for (int a = 0; a < NA; a++) _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)    \
            acc[a][v] = (v8si){0};                                                                                  \
        const int16_t *pj = pan;                                                                                    \
        for (int64_t j = 0; j < d2; j++, pj += 2 * PW) {                                                            \
            v8si xv[4];                                                                                             \
            _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) xv[v] = *(const v8sia *)(pj + 16 * v);              \
            _Pragma("GCC unroll 4") for (int a = 0; a < NA; a++)                                                    \
            {                                                                                                       \
                const int32_t cj = *(const i32a *)(cq + 2 * (a * d2 + j));                                          \
                _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) MADD(acc[a][v], xv[v], cj);                     \
            }                                                                                                       \
        }                                                                                                           \
        _Pragma("GCC unroll 4") for (int a = 0; a < NA; a++) _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)    \
        {                                                                                                           \
            const v8f p = __builtin_convertvector(acc[a][v], v8f) * (*(const v8f *)(sx2 + 8 * v) * cs[a]);          \
            const v8f r = (p + *(const v8f *)(xs + 8 * v)) + csq[a];                                                \
            *(v8f *)(out + a * PW + 8 * v) = POS8(r);                                                               \
        }                                                                                                           \
    } while (0)

/* the pair products of x (eight lanes of two int16) and the pair c (low
 * half: the even coordinate), added to acc: exact, as vpmaddwd */
#define MADD_BASE(acc, x, c)                                                                                        \
    do {                                                                                                            \
        const v8si lo = (v8si)((v8su)(x) << 16) >> 16, hi = (x) >> 16;                                              \
        const int32_t c0 = (int16_t)((c)&0xffff), c1 = (int16_t)((uint32_t)(c) >> 16);                              \
        (acc) += lo * c0 + hi * c1;                                                                                 \
    } while (0)

static inline __attribute__((always_inline)) void panel16_body_base(const int16_t *pan, const float *sx2,
                                                                    const float *xs, const int16_t *cq,
                                                                    const float *cs, const float *csq, int64_t d2,
                                                                    int64_t kc, float *out)
{
    int64_t a0 = 0;
    for (; a0 + 2 <= kc; a0 += 2, cq += 4 * d2, cs += 2, csq += 2, out += 2 * PW) PANEL16_GROUP(2, MADD_BASE);
    if (kc - a0 == 1) PANEL16_GROUP(1, MADD_BASE);
}

static void panel16_base(const int16_t *pan, const float *sx2, const float *xs, const int16_t *cq, const float *cs,
                         const float *csq, int64_t d2, int64_t kc, float *out)
{
    panel16_body_base(pan, sx2, xs, cq, cs, csq, d2, kc, out);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same in vpmaddwd and vpaddd, written out: four centres against two
 * of the panel's four vectors of points (half a panel), eight
 * accumulators, one pair of coordinates per step (4 × 2: 277 µs a pass at
 * K = 32, 10,000 × 64, against 320 µs for 2 × 4, as two more centres'
 * broadcasts cost less than two more vectors of points); the last k mod 4
 * centres one at a time against the whole panel. The step is one asm
 * statement: GCC's allocation of the intrinsics' form copied (or spilled)
 * accumulators at every step, ~25 % slower. */
#define Q16_STEP(A, X, C) "vpmaddwd %[" X "], %[" C "], %[t]\n\tvpaddd %[t], %[" A "], %[" A "]\n\t"
#define Q16_FINISH(acc, a, v)                                                                                      \
    do {                                                                                                            \
        const __m256 p_ = _mm256_mul_ps(_mm256_cvtepi32_ps(acc),                                                    \
                                        _mm256_mul_ps(_mm256_load_ps(sx2 + 8 * (v)), _mm256_set1_ps(cs[a])));     \
        const __m256 r_ = _mm256_add_ps(_mm256_add_ps(p_, _mm256_load_ps(xs + 8 * (v))), _mm256_set1_ps(csq[a])); \
        _mm256_store_ps(out + (a) * PW + 8 * (v), _mm256_and_ps(r_, _mm256_cmp_ps(r_, _mm256_setzero_ps(), _CMP_GT_OQ))); \
    } while (0)
#define Q16_PAIR(a, j) _mm256_set1_epi32(*(const i32a *)(cq + 2 * ((a) * d2 + (j))))

__attribute__((target("avx2"))) static void panel16_avx2(const int16_t *pan, const float *sx2, const float *xs,
                                                         const int16_t *cq, const float *cs, const float *csq,
                                                         int64_t d2, int64_t kc, float *out)
{
    int64_t a0 = 0;
    __m256i t;
    for (; a0 + 4 <= kc; a0 += 4)
        for (int h = 0; h < 2; h++) {
            __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
                    a30 = a00, a31 = a00;
            const int16_t *pj = pan + 32 * h;
            for (int64_t j = 0; j < d2; j++, pj += 2 * PW) {
                const __m256i x0 = _mm256_load_si256((const __m256i *)pj),
                              x1 = _mm256_load_si256((const __m256i *)(pj + 16));
                const __m256i c0 = Q16_PAIR(a0, j), c1 = Q16_PAIR(a0 + 1, j), c2 = Q16_PAIR(a0 + 2, j),
                              c3 = Q16_PAIR(a0 + 3, j);
                __asm__(Q16_STEP("a00", "x0", "c0") Q16_STEP("a01", "x1", "c0") Q16_STEP("a10", "x0", "c1")
                            Q16_STEP("a11", "x1", "c1") Q16_STEP("a20", "x0", "c2") Q16_STEP("a21", "x1", "c2")
                                Q16_STEP("a30", "x0", "c3") Q16_STEP("a31", "x1", "c3")
                        : [a00] "+x"(a00), [a01] "+x"(a01), [a10] "+x"(a10), [a11] "+x"(a11), [a20] "+x"(a20),
                          [a21] "+x"(a21), [a30] "+x"(a30), [a31] "+x"(a31), [t] "=&x"(t)
                        : [x0] "x"(x0), [x1] "x"(x1), [c0] "x"(c0), [c1] "x"(c1), [c2] "x"(c2), [c3] "x"(c3));
            }
            const __m256i acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
            for (int a = 0; a < 4; a++)
                for (int v = 0; v < 2; v++) Q16_FINISH(acc[a][v], a0 + a, 2 * h + v);
        }
    for (; a0 < kc; a0++) {
        __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
        const int16_t *pj = pan;
        for (int64_t j = 0; j < d2; j++, pj += 2 * PW) {
            const __m256i x0 = _mm256_load_si256((const __m256i *)pj),
                          x1 = _mm256_load_si256((const __m256i *)(pj + 16)),
                          x2 = _mm256_load_si256((const __m256i *)(pj + 32)),
                          x3 = _mm256_load_si256((const __m256i *)(pj + 48));
            const __m256i c0 = Q16_PAIR(a0, j);
            __asm__(Q16_STEP("a00", "x0", "c0") Q16_STEP("a01", "x1", "c0") Q16_STEP("a02", "x2", "c0")
                        Q16_STEP("a03", "x3", "c0")
                    : [a00] "+x"(a00), [a01] "+x"(a01), [a02] "+x"(a02), [a03] "+x"(a03), [t] "=&x"(t)
                    : [x0] "x"(x0), [x1] "x"(x1), [x2] "x"(x2), [x3] "x"(x3), [c0] "x"(c0));
        }
        const __m256i acc[4] = {a00, a01, a02, a03};
        for (int v = 0; v < 4; v++) Q16_FINISH(acc[v], a0, v);
    }
}
#endif
typedef void (*panel16_fn)(const int16_t *, const float *, const float *, const int16_t *, const float *,
                           const float *, int64_t, int64_t, float *);

/* ---- Hamerly's open points in 16-bit integers ----
 * The rows of the points Hamerly's bounds leave open, from the same 16-bit
 * form as the full passes: NPT points (each a pointer to its lane of its
 * 16-bit panel: pair j at p[j·2·PW]) against the loaded centres' pairs
 * stored transposed (ct: d2 rows of kc centres × 2 int16, kc a multiple of
 * 8; scales cs, float norms csq, kc each), into out (NPT, kc), with the
 * distances of panel16 (the same values for a point and centre, bit for
 * bit). sx2 and xs: the points' −2·s_x and float norms. */
static inline __attribute__((always_inline)) void rows16_body_base(const int16_t *const *x, const float *sx2,
                                                                   const float *xs, const int16_t *ct,
                                                                   const float *cs, const float *csq, int64_t d2,
                                                                   int64_t kc, float *out)
{
    for (int p = 0; p < NPT; p++)
        for (int64_t c0 = 0; c0 < kc; c0 += 8) {
            v8si acc = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int64_t j = 0; j < d2; j++) {
                const int32_t xj = *(const i32a *)(x[p] + j * 2 * PW);
                MADD_BASE(acc, *(const v8sia *)(ct + 2 * (j * kc + c0)), xj);
            }
            const v8f sc = *(const v8fu *)(cs + c0) * sx2[p];
            const v8f r = (__builtin_convertvector(acc, v8f) * sc + xs[p]) + *(const v8fu *)(csq + c0);
            *(v8fu *)(out + p * kc + c0) = POS8(r);
        }
}

static void rows16_base(const int16_t *const *x, const float *sx2, const float *xs, const int16_t *ct,
                        const float *cs, const float *csq, int64_t d2, int64_t kc, float *out)
{
    rows16_body_base(x, sx2, xs, ct, cs, csq, d2, kc, out);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Six points against two vectors of eight centres: twelve accumulators,
 * the point's pair broadcast from its panel inside the step. */
#define R16_STEP(P)                                                                                               \
    "vpbroadcastd %[m" P "], %[b]\n\tvpmaddwd %[u0], %[b], %[t]\n\tvpaddd %[t], %[a" P "0], %[a" P "0]\n\t"           \
    "vpmaddwd %[u1], %[b], %[t]\n\tvpaddd %[t], %[a" P "1], %[a" P "1]\n\t"
#define R16_STEP1(P) "vpbroadcastd %[m" P "], %[b]\n\tvpmaddwd %[u0], %[b], %[t]\n\tvpaddd %[t], %[a" P "0], %[a" P "0]\n\t"
#define R16_FINISH(acc, p, c)                                                                                     \
    do {                                                                                                            \
        const __m256 sc_ = _mm256_mul_ps(_mm256_loadu_ps(cs + (c)), _mm256_set1_ps(sx2[p]));                       \
        const __m256 r_ = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), sc_), _mm256_set1_ps(xs[p])), \
                                        _mm256_loadu_ps(csq + (c)));                                                \
        _mm256_storeu_ps(out + (p) * kc + (c), _mm256_and_ps(r_, _mm256_cmp_ps(r_, _mm256_setzero_ps(), _CMP_GT_OQ))); \
    } while (0)
#define R16_M(p) *(const i32a *)(x[p] + j * 2 * PW)

__attribute__((target("avx2"))) static void rows16_avx2(const int16_t *const *x, const float *sx2, const float *xs,
                                                        const int16_t *ct, const float *cs, const float *csq,
                                                        int64_t d2, int64_t kc, float *out)
{
    int64_t c0 = 0;
    __m256i t, b;
    for (; c0 + 16 <= kc; c0 += 16) {
        __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        for (int64_t j = 0; j < d2; j++) {
            const __m256i u0 = _mm256_loadu_si256((const __m256i *)(ct + 2 * (j * kc + c0))),
                          u1 = _mm256_loadu_si256((const __m256i *)(ct + 2 * (j * kc + c0 + 8)));
            /* two statements: an asm takes at most 30 operands */
            __asm__(R16_STEP("0") R16_STEP("1") R16_STEP("2")
                    : [a00] "+x"(a00), [a01] "+x"(a01), [a10] "+x"(a10), [a11] "+x"(a11), [a20] "+x"(a20),
                      [a21] "+x"(a21), [t] "=&x"(t), [b] "=&x"(b)
                    : [u0] "x"(u0), [u1] "x"(u1), [m0] "m"(R16_M(0)), [m1] "m"(R16_M(1)), [m2] "m"(R16_M(2)));
            __asm__(R16_STEP("3") R16_STEP("4") R16_STEP("5")
                    : [a30] "+x"(a30), [a31] "+x"(a31), [a40] "+x"(a40), [a41] "+x"(a41), [a50] "+x"(a50),
                      [a51] "+x"(a51), [t] "=&x"(t), [b] "=&x"(b)
                    : [u0] "x"(u0), [u1] "x"(u1), [m3] "m"(R16_M(3)), [m4] "m"(R16_M(4)), [m5] "m"(R16_M(5)));
        }
        const __m256i acc[NPT][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
        for (int p = 0; p < NPT; p++)
            for (int v = 0; v < 2; v++) R16_FINISH(acc[p][v], p, c0 + 8 * v);
    }
    if (c0 < kc) { /* kc − c0 = 8 */
        __m256i a00 = _mm256_setzero_si256(), a10 = a00, a20 = a00, a30 = a00, a40 = a00, a50 = a00;
        for (int64_t j = 0; j < d2; j++) {
            const __m256i u0 = _mm256_loadu_si256((const __m256i *)(ct + 2 * (j * kc + c0)));
            __asm__(R16_STEP1("0") R16_STEP1("1") R16_STEP1("2") R16_STEP1("3") R16_STEP1("4") R16_STEP1("5")
                    : [a00] "+x"(a00), [a10] "+x"(a10), [a20] "+x"(a20), [a30] "+x"(a30), [a40] "+x"(a40),
                      [a50] "+x"(a50), [t] "=&x"(t), [b] "=&x"(b)
                    : [u0] "x"(u0), [m0] "m"(R16_M(0)), [m1] "m"(R16_M(1)), [m2] "m"(R16_M(2)),
                      [m3] "m"(R16_M(3)), [m4] "m"(R16_M(4)), [m5] "m"(R16_M(5)));
        }
        const __m256i acc[NPT] = {a00, a10, a20, a30, a40, a50};
        for (int p = 0; p < NPT; p++) R16_FINISH(acc[p], p, c0);
    }
}
#endif
typedef void (*rows16_fn)(const int16_t *const *, const float *, const float *, const int16_t *, const float *,
                          const float *, int64_t, int64_t, float *);

/* The pairs cq (k centres, d2 pairs each) transposed into ct (d2 rows of
 * k8 >= k centres' pairs, the centres past k zero), as rows16 reads them. */
static void pairs_transposed(const int16_t *cq, int64_t k, int64_t d2, int64_t k8, int16_t *ct)
{
    for (int64_t j = 0; j < d2; j++)
        for (int64_t a = 0; a < k8; a++)
            for (int e = 0; e < 2; e++) ct[2 * (j * k8 + a) + e] = a < k ? cq[a * 2 * d2 + 2 * j + e] : 0;
}

int dcx__km_panel16_builds_agree(uint64_t seed)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return 1;
    enum { D2 = 40, KC = 11 };
    int16_t *pan = aligned_alloc(64, (size_t)(D2 * 2 * PW) * sizeof *pan), cq[KC * 2 * D2];
    float *sx2 = aligned_alloc(64, PW * sizeof *sx2), *xs = aligned_alloc(64, PW * sizeof *xs);
    float *o1 = aligned_alloc(64, (size_t)(KC * PW) * sizeof *o1), *o2 = aligned_alloc(64, (size_t)(KC * PW) * sizeof *o2);
    float cs[KC], csq[KC];
    enum { KC8 = (KC + 7) / 8 * 8 };
    int16_t *ct = aligned_alloc(32, (size_t)(D2 * KC8 * 2) * sizeof *ct);
    float cs8[KC8], csq8[KC8], r1[NPT * KC8], r2[NPT * KC8];
    int lanes[NPT];
    int ok = pan && sx2 && xs && o1 && o2 && ct;
    dcx_rng r;
    dcx_rng_seed(&r, seed);
    /* values below 2^12 in magnitude: every sum of up to 80 products exact */
    for (int rep = 0; ok && rep < 200; rep++) {
        const int64_t d2 = 1 + (int64_t)(dcx_rng_u64(&r) % D2), kc = 1 + (int64_t)(dcx_rng_u64(&r) % KC);
        for (int64_t i = 0; i < d2 * 2 * PW; i++) pan[i] = (int16_t)((int64_t)(dcx_rng_u64(&r) % 8191) - 4095);
        for (int64_t i = 0; i < kc * 2 * d2; i++) cq[i] = (int16_t)((int64_t)(dcx_rng_u64(&r) % 8191) - 4095);
        for (int s = 0; s < PW; s++) {
            sx2[s] = -2.0f * (float)dcx_rng_uniform(&r);
            xs[s] = 1e6f * (float)dcx_rng_uniform(&r);
        }
        for (int64_t a = 0; a < kc; a++) {
            cs[a] = (float)dcx_rng_uniform(&r);
            csq[a] = 1e6f * (float)dcx_rng_uniform(&r);
        }
        panel16_base(pan, sx2, xs, cq, cs, csq, d2, kc, o1);
        panel16_avx2(pan, sx2, xs, cq, cs, csq, d2, kc, o2);
        ok = memcmp(o1, o2, (size_t)(kc * PW) * sizeof *o1) == 0;
        /* the rows of six of the panel's points against the same centres
         * transposed (padded to 8 with zero pairs, norm ∞): the same
         * values in both builds, and the panel's values */
        const int64_t k8 = (kc + 7) / 8 * 8;
        const int16_t *xr[NPT];
        float s2[NPT], n2[NPT];
        pairs_transposed(cq, kc, d2, k8, ct);
        for (int64_t a = 0; a < KC8; a++) {
            cs8[a] = a < kc ? cs[a] : 0;
            csq8[a] = a < kc ? csq[a] : INFINITY;
        }
        for (int p = 0; p < NPT; p++) {
            const int lane = (int)(dcx_rng_u64(&r) % PW);
            xr[p] = pan + (lane / 8) * 16 + (lane % 8) * 2;
            s2[p] = sx2[lane];
            n2[p] = xs[lane];
            lanes[p] = lane;
        }
        rows16_base(xr, s2, n2, ct, cs8, csq8, d2, k8, r1);
        rows16_avx2(xr, s2, n2, ct, cs8, csq8, d2, k8, r2);
        ok = ok && memcmp(r1, r2, (size_t)(NPT * k8) * sizeof *r1) == 0;
        for (int p = 0; p < NPT; p++)
            for (int64_t a = 0; a < kc; a++) ok = ok && memcmp(&r1[p * k8 + a], &o1[a * PW + lanes[p]], sizeof *r1) == 0;
    }
    free(pan);
    free(sx2);
    free(xs);
    free(o1);
    free(o2);
    free(ct);
    return ok;
#else
    (void)seed;
    return 1;
#endif
}

/* v rounded up to a float (v >= 0, below FLT_MAX): the nearest float, one
 * ulp up (the bits of a non-negative float order as its values) when that
 * is below v */
static float float_up(double v)
{
    float f = (float)v;
    if ((double)f < v) {
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        b++;
        memcpy(&f, &b, sizeof f);
    }
    return f;
}

/* quant16's two steps, baseline builds: absmax, max |x_j|; round16, x·inv
 * rounded to the nearest integers (clamped at ±32767) into q as quant16
 * stores them, with Σ (x − sd·q)², Σ (sd·q)² and Σ q² in out, two
 * coordinates a step */
static double absmax_base(const double *x, int64_t d)
{
    double m[4] = {0, 0, 0, 0};
    for (int64_t j = 0; j < d; j++) {
        const double a = fabs(x[j]);
        m[j & 3] = a > m[j & 3] ? a : m[j & 3];
    }
    const double m01 = m[0] > m[1] ? m[0] : m[1], m23 = m[2] > m[3] ? m[2] : m[3];
    return m01 > m23 ? m01 : m23;
}

static void round16_base(const double *x, int64_t d, double inv, double sd, int16_t *q, int64_t S, double out[3])
{
    double e0 = 0, e1 = 0, h0 = 0, h1 = 0, q0 = 0, q1 = 0;
    for (int64_t j = 0; j < d; j += 2) {
        const double xa = x[j], xb = j + 1 < d ? x[j + 1] : 0;
        double ta = xa * inv, tb = xb * inv;
        ta = ta > 32767.0 ? 32767.0 : ta;
        tb = tb > 32767.0 ? 32767.0 : tb;
        ta = ta < -32767.0 ? -32767.0 : ta;
        tb = tb < -32767.0 ? -32767.0 : tb;
        const double ra = (ta + 0x1.8p52) - 0x1.8p52, rb = (tb + 0x1.8p52) - 0x1.8p52; /* to nearest */
        const double ha = sd * ra, hb = sd * rb, da = xa - ha, db = xb - hb;
        e0 += da * da;
        e1 += db * db;
        h0 += ha * ha;
        h1 += hb * hb;
        q0 += ra * ra;
        q1 += rb * rb;
        q[(j / 2) * S] = (int16_t)(int)ra;
        if (j + 1 < d) q[(j / 2) * S + 1] = (int16_t)(int)rb;
    }
    out[0] = e0 + e1;
    out[1] = h0 + h1;
    out[2] = q0 + q1;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* the same, four coordinates a step (the values of q are the same; the
 * sums differ in their rounding only) */
__attribute__((target("avx2"))) static double absmax_avx2(const double *x, int64_t d)
{
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d m = _mm256_setzero_pd();
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) m = _mm256_max_pd(m, _mm256_andnot_pd(sign, _mm256_loadu_pd(x + j)));
    double v[4], mx;
    _mm256_storeu_pd(v, m);
    mx = v[0] > v[1] ? v[0] : v[1];
    mx = v[2] > mx ? v[2] : mx;
    mx = v[3] > mx ? v[3] : mx;
    for (; j < d; j++) mx = fabs(x[j]) > mx ? fabs(x[j]) : mx;
    return mx;
}

__attribute__((target("avx2,fma"))) static void round16_avx2(const double *x, int64_t d, double inv, double sd,
                                                             int16_t *q, int64_t S, double out[3])
{
    const __m256d vi = _mm256_set1_pd(inv), vs = _mm256_set1_pd(sd), hi = _mm256_set1_pd(32767.0),
                  lo = _mm256_set1_pd(-32767.0);
    __m256d e = _mm256_setzero_pd(), h = e, qq = e;
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        const __m256d xv = _mm256_loadu_pd(x + j);
        const __m256d t = _mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(xv, vi), lo), hi);
        const __m256d r = _mm256_round_pd(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256d xh = _mm256_mul_pd(vs, r), dr = _mm256_sub_pd(xv, xh);
        e = _mm256_fmadd_pd(dr, dr, e);
        h = _mm256_fmadd_pd(xh, xh, h);
        qq = _mm256_fmadd_pd(r, r, qq);
        const __m128i p = _mm_packs_epi32(_mm256_cvtpd_epi32(r), _mm_setzero_si128()); /* q_j … q_j+3 */
        const int32_t p01 = _mm_cvtsi128_si32(p), p23 = _mm_extract_epi32(p, 1);
        memcpy(q + (j / 2) * S, &p01, sizeof p01);
        memcpy(q + (j / 2 + 1) * S, &p23, sizeof p23);
    }
    double ve[4], vh[4], vq[4];
    _mm256_storeu_pd(ve, e);
    _mm256_storeu_pd(vh, h);
    _mm256_storeu_pd(vq, qq);
    double tail[3] = {0, 0, 0};
    if (j < d) round16_base(x + j, d - j, inv, sd, q + (j / 2) * S, S, tail);
    out[0] = (ve[0] + ve[1]) + (ve[2] + ve[3]) + tail[0];
    out[1] = (vh[0] + vh[1]) + (vh[2] + vh[3]) + tail[1];
    out[2] = (vq[0] + vq[1]) + (vq[2] + vq[3]) + tail[2];
}
#endif

/* 1 when the AVX2 builds of absmax and round16 run here (decided once) */
static int q16_use_avx2(void)
{
    static int known = -1;
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (v < 0) {
        v = 0;
#if defined(__x86_64__) && defined(__GNUC__)
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The 16-bit form of a vector x (d, norm nrm = ‖x‖): coordinate j into
 * q[(j/2)·S + j%2] (S = 2: pairs in a row; S = 2·PW: a panel's lane), the
 * scale s (a float; x̂ = s·q), and upper bounds on ‖x − x̂‖ (*eu) and ‖x̂‖
 * (*nu). Any rounding would do: the bounds are measured, not assumed; the
 * sums are within 1e-9 (relative) of exact. */
static void quant16(const double *x, int64_t d, double nrm, int16_t *q, int64_t S, float *s, float *eu, float *nu)
{
    const int avx2 = q16_use_avx2();
    double mx;
#if defined(__x86_64__) && defined(__GNUC__)
    mx = avx2 ? absmax_avx2(x, d) : absmax_base(x, d);
#else
    mx = absmax_base(x, d);
#endif
    float sf = float_up(nrm / Q16_NORM > mx / 32767.0 ? nrm / Q16_NORM : mx / 32767.0);
    double sums[3];
    for (;;) {
        if (!(sf >= FLT_MIN) || !isfinite(sf)) sf = 0; /* a tiny (or no) vector: q = 0, x̂ = 0 */
        const double inv = sf > 0 ? 1.0 / (double)sf : 0, sd = sf;
#if defined(__x86_64__) && defined(__GNUC__)
        if (avx2) round16_avx2(x, d, inv, sd, q, S, sums);
        else round16_base(x, d, inv, sd, q, S, sums);
#else
        round16_base(x, d, inv, sd, q, S, sums);
#endif
        if (sums[2] <= (double)Q16_LIMIT) break; /* Σ q² exact: every term below 2³⁰ */
        sf = float_up((double)sf * 1.01); /* not reached with the target norm above */
    }
    *s = sf;
    *eu = float_up(sqrt(sums[0]) * (1 + 1e-9));
    *nu = float_up(sqrt(sums[1]) * (1 + 1e-9));
}

/* For each of the PW points of out (k centres, PW points each): the lowest
 * index of the minimum (best), the minimum (f1) and the second smallest
 * value (f2; = f1 at a tie), as scan2_32_body finds them: a sequential
 * scan over the centres with strict comparisons, one point per lane. */
static inline __attribute__((always_inline)) void panel_scan_body(const float *out, int64_t k, int32_t *best,
                                                                  float *f1, float *f2)
{
    const float inf = INFINITY;
    for (int v = 0; v < 4; v++) {
        v8f m1 = {inf, inf, inf, inf, inf, inf, inf, inf}, m2 = m1;
        v8si ix = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t a = 0; a < k; a++) {
            const v8f x = *(const v8f *)(out + a * PW + 8 * v);
            const v8si lt = (v8si)(x < m1), l2 = (v8si)(x < m2);
            const v8f mn2 = BLEND8(l2, x, m2);
            m2 = BLEND8(lt, m1, mn2);
            m1 = BLEND8(lt, x, m1);
            const int ai = (int)a;
            ix = BLEND8I(lt, ((v8si){ai, ai, ai, ai, ai, ai, ai, ai}), ix);
        }
        *(v8si *)(best + 8 * v) = ix;
        *(v8f *)(f1 + 8 * v) = m1;
        *(v8f *)(f2 + 8 * v) = m2;
    }
}

DEFINE_BUILDS(void, panel_scan, "avx2", (const float *out, int64_t k, int32_t *best, float *f1, float *f2),
              (out, k, best, f1, f2), )
typedef void (*panel_scan_fn)(const float *, int64_t, int32_t *, float *, float *);

/* √v rounded up (sqrt_up4) or down (sqrt_dn4), four lanes, for 0 <= v
 * below float's range: v rounded to float and moved one ulp outward, its
 * float square root (correctly rounded) moved one ulp outward again. A
 * bound at most ~2.4e-7 (relative) looser than the double root, far inside
 * the slack δ of the float distances, at about half the cost (Zen 3: one
 * vsqrtps of four floats every ~5 cycles, one vsqrtpd of four doubles every
 * ~9; the bounds of every assigned point need two). The labels do not
 * depend on how loose a valid bound is. Both builds give the same bits. */
typedef float v4f __attribute__((vector_size(16), may_alias));
static inline __attribute__((always_inline)) v4f sqrt4f(v4f x)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return (v4f)_mm_sqrt_ps((__m128)x);
#else
    return (v4f){sqrtf(x[0]), sqrtf(x[1]), sqrtf(x[2]), sqrtf(x[3])};
#endif
}
/* the next float up (x >= 0 finite) or down (x >= 0; 0 stays 0) */
#define UP4F(x) ((v4f)((v4si)(x) + 1))
#define DN4F(x) ((v4f)((v4si)(x) - ((v4si)((x) > (v4f){0, 0, 0, 0}) & 1)))
#define sqrt_up4(v) __builtin_convertvector(UP4F(sqrt4f(UP4F(__builtin_convertvector((v), v4f)))), v4d)
#define sqrt_dn4(v) __builtin_convertvector(DN4F(sqrt4f(DN4F(__builtin_convertvector((v), v4f)))), v4d)

/* Hamerly's bounds of m points (a multiple of 4; dec 32-byte aligned) from
 * their two smallest float distances f1 <= f2 and their squared norms xq
 * (doubles), with δ = eps·(xq + cmax) + 1e-30 of slack: u >= √(f1 + δ),
 * l <= √(max(f2 − δ, 0)) (sqrt_up4, sqrt_dn4); dec[s] = −1 when f2 − f1 >
 * 2δ (the float distances decide), 0 for a close call (the double kernel
 * decides, see close_call). u NULL: dec alone (no bounds). Four points per
 * step. */
static inline __attribute__((always_inline)) void panel_bounds_body(const float *f1, const float *f2,
                                                                    const double *xq, double eps, double cmax,
                                                                    const float *nx, const float *ex, double qa,
                                                                    double qb, double *u, double *l, int64_t *dec,
                                                                    int m)
{
    const v4d e = {eps, eps, eps, eps}, cm = {cmax, cmax, cmax, cmax}, tiny = {1e-30, 1e-30, 1e-30, 1e-30};
    const v4d va = {qa, qa, qa, qa}, vb = {qb, qb, qb, qb};
    for (int s = 0; s < m; s += 4) {
        const v4d a = __builtin_convertvector(*(const v4f *)(f1 + s), v4d);
        const v4d b = __builtin_convertvector(*(const v4f *)(f2 + s), v4d);
        v4d delta = e * (*(const v4du *)(xq + s) + cm) + tiny;
        if (nx) /* 16-bit distances: their rounding's share */
            delta += va * __builtin_convertvector(*(const v4f *)(nx + s), v4d) +
                     vb * __builtin_convertvector(*(const v4f *)(ex + s), v4d);
        const v4d lo = b - delta, ua = a + delta;
        *(v4di *)(dec + s) = (v4di)(b - a > 2.0 * delta);
        if (!u) continue; /* the close calls alone */
        *(v4du *)(u + s) = sqrt_up4(ua);
        *(v4du *)(l + s) = sqrt_dn4(POS4(lo));
    }
}

DEFINE_BUILDS(void, panel_bounds, "avx2",
              (const float *f1, const float *f2, const double *xq, double eps, double cmax, const float *nx,
               const float *ex, double qa, double qb, double *u, double *l, int64_t *dec, int m),
              (f1, f2, xq, eps, cmax, nx, ex, qa, qb, u, l, dec, m), )
typedef void (*panel_bounds_fn)(const float *, const float *, const double *, double, double, const float *,
                                const float *, double, double, double *, double *, int64_t *, int);


/* The float form of n points (d each, squared norms xsq) in one buffer of
 * dcx__km_floats_count(n, d) floats: from the first 64-byte boundary, the
 * panels (np/PW of them, np = n rounded up to PW; zero-padded), then the
 * points' float norms (np), then the points as float rows (n, d); from d =
 * Q16_MIN_D on, from the next 64-byte boundary, the 16-bit panels (np/PW
 * of them, each d2 = ⌈d/2⌉ pairs of coordinates × PW points, a point's
 * pair in 32 bits, zero-padded), then per point −2·s_x and upper bounds on
 * ‖x − x̂‖ and ‖x̂‖ (np floats each; see quant16). */
static const float *km_panels(const float *buf) { return (const float *)(((uintptr_t)buf + 63) & ~(uintptr_t)63); }
static int64_t km_np(int64_t n) { return (n + PW - 1) / PW * PW; }
static int64_t km_d2(int64_t d) { return (d + 1) / 2; }
/* point i's pair 0 in the 16-bit panels: lane i % PW of its panel, in
 * vector (i % PW) / 8, two int16 per lane (pair j at 2·PW·j further on) */
static int64_t km_q16_lane(int64_t i, int64_t d2) { return (i / PW) * PW * 2 * d2 + (i % PW / 8) * 16 + (i % 8) * 2; }
static const float *km_q16(const float *buf, int64_t n, int64_t d)
{
    const float *end = km_panels(buf) + km_np(n) * (d + 1) + n * d;
    return (const float *)(((uintptr_t)end + 63) & ~(uintptr_t)63);
}

int64_t dcx__km_floats_count(int64_t n, int64_t d)
{
    return km_np(n) * (d + 1) + n * d + 16 + (d >= Q16_MIN_D ? km_np(n) * (km_d2(d) + 3) + 16 : 0);
}

void dcx__km_floats_fill(const double *x, const double *xsq, int64_t n, int64_t d, float *buf)
{
    dcx__km_floats_fill_rows(x, xsq, n, d, buf, 0, n);
}

void dcx__km_floats_fill_rows(const double *x, const double *xsq, int64_t n, int64_t d, float *buf, int64_t i0,
                              int64_t i1)
{
    const int64_t np = km_np(n), d2 = km_d2(d);
    float *pan = (float *)km_panels(buf), *nrm = pan + np * d, *rows = nrm + np;
    for (int64_t i = i0; i < i1; i++) {
        float *pi = pan + (i / PW) * PW * d + i % PW;
        for (int64_t j = 0; j < d; j++) pi[j * PW] = rows[i * d + j] = (float)x[i * d + j];
        nrm[i] = (float)xsq[i];
    }
    if (d < Q16_MIN_D) return;
    float *qf = (float *)km_q16(buf, n, d), *sx2 = qf + np * d2, *eu = sx2 + np, *nu = eu + np;
    int16_t *q16 = (int16_t *)qf;
    for (int64_t i = i0; i < i1; i++) {
        int16_t *qi = q16 + km_q16_lane(i, d2);
        float sc;
        quant16(x + i * d, d, sqrt(xsq[i]), qi, 2 * PW, &sc, eu + i, nu + i);
        sx2[i] = -2.0f * sc;
    }
}

/* Hamerly's tightening of the candidates idx[0..n1) (float rows x32,
 * centres c32, labels lab): u >= √(float distance to the own centre + δ) (sqrt_up4),
 * and the points still open (u > max(half of their centre, l)) compacted
 * to the front of idx, their count returned. The same values as
 * dist32_body one point at a time; the square roots four at a time. */
#define DEFINE_TIGHTEN(name, ATTR, SQRT4)                                                                           \
    ATTR static int64_t name(const float *x32, const double *xsq, const float *c32, const float *csq32,           \
                             const int64_t *lab, const double *l, const double *half, int64_t *idx, int64_t n1,   \
                             int64_t d, double eps, double cmax, double *u)                                      \
    {                                                                                                                \
        int64_t nf = 0;                                                                                              \
        for (int64_t t0 = 0; t0 < n1; t0 += 4) {                                                                     \
            const int nb = n1 - t0 < 4 ? (int)(n1 - t0) : 4;                                                         \
            v4d a = {0, 0, 0, 0};                                                                                    \
            int64_t ii[4];                                                                                           \
            for (int q = 0; q < 4; q++) {                                                                            \
                const int64_t i = ii[q] = idx[t0 + (q < nb ? q : 0)];                                               \
                const double delta = eps * (xsq[i] + cmax) + 1e-30;                                                  \
                a[q] = (double)dist32_body(x32 + i * d, (float)xsq[i], c32 + lab[i] * d, csq32[lab[i]], d) + delta; \
            }                                                                                                        \
            const v4d r = SQRT4(a);                                                                                  \
            for (int q = 0; q < nb; q++) {                                                                           \
                const int64_t i = ii[q];                                                                             \
                const double m = half[lab[i]] > l[i] ? half[lab[i]] : l[i];                                          \
                u[i] = r[q];                                                                                         \
                idx[nf] = i;                                                                                         \
                nf += !(r[q] <= m);                                                                                  \
            }                                                                                                        \
        }                                                                                                            \
        return nf;                                                                                                   \
    }
DEFINE_TIGHTEN(tighten32_base, , sqrt_up4)
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_TIGHTEN(tighten32_avx2, __attribute__((target("avx2,fma"))), sqrt_up4)
#endif
typedef int64_t (*tighten32_fn)(const float *, const double *, const float *, const float *, const int64_t *,
                                const double *, const double *, int64_t *, int64_t, int64_t, double, double,
                                double *);

/* Hamerly's filter over the points i0 … i1 − 1: the bounds follow the
 * centres' last moves (u its own centre's move, l the largest move of the
 * other centres: m2 for the points of centre am, m1 for the rest), and the
 * points whose u exceeds max(half[own centre], l) are listed in idx, their
 * count returned. Four points per step, no branches. */
static inline __attribute__((always_inline)) int64_t filter_body(const int64_t *lab, double *u, double *l,
                                                                 const double *move, const double *half,
                                                                 int64_t am, double m1, double m2, int64_t i0,
                                                                 int64_t i1, int64_t *idx)
{
    int64_t n1 = 0, i = i0;
    const v4d vm1 = {m1, m1, m1, m1}, vm2 = {m2, m2, m2, m2};
    const v4di vam = {am, am, am, am};
    for (; i + 4 <= i1; i += 4) {
        const v4di a = {lab[i], lab[i + 1], lab[i + 2], lab[i + 3]};
        const v4d mv = {move[a[0]], move[a[1]], move[a[2]], move[a[3]]};
        const v4d hf = {half[a[0]], half[a[1]], half[a[2]], half[a[3]]};
        const v4d ui = *(const v4du *)(u + i) + mv;
        const v4d li = *(const v4du *)(l + i) - BLEND4(a == vam, vm2, vm1);
        const v4d m = BLEND4(hf > li, hf, li);
        *(v4du *)(u + i) = ui;
        *(v4du *)(l + i) = li;
        const v4di open = ~(v4di)(ui <= m);
        for (int q = 0; q < 4; q++) {
            idx[n1] = i + q;
            n1 += open[q] & 1;
        }
    }
    for (; i < i1; i++) {
        const int64_t a = lab[i];
        const double ui = u[i] + move[a], li = l[i] - (a == am ? m2 : m1);
        const double m = half[a] > li ? half[a] : li;
        u[i] = ui;
        l[i] = li;
        idx[n1] = i;
        n1 += !(ui <= m);
    }
    return n1;
}

DEFINE_BUILDS(int64_t, filter, "avx2",
              (const int64_t *lab, double *u, double *l, const double *move, const double *half, int64_t am,
               double m1, double m2, int64_t i0, int64_t i1, int64_t *idx),
              (lab, u, l, move, half, am, m1, m2, i0, i1, idx), return)
typedef int64_t (*filter_fn)(const int64_t *, double *, double *, const double *, const double *, int64_t, double,
                             double, int64_t, int64_t, int64_t *);

/* ---- the seeding's float pass (see seed_pass32) ---- */
#define SEED_W 16 /* trials at most: four vectors of sums */
#define SEED_MIN_D 16 /* dimensions at least */
#define SEED_GROUP 4  /* panels screened before their double rows are made (full kernel calls) */

/* The points s < m of a panel (float distances pbuf (trials, PW) to the
 * candidates) with a candidate possibly nearer than closest: their indices
 * s into need, their count returned. xq: the points' squared norms. */
static inline __attribute__((always_inline)) int64_t seed_near_body(const float *pbuf, const double *xq,
                                                                    const double *closest, int64_t m,
                                                                    int64_t trials, double eps, double cmax,
                                                                    int64_t *need)
{
    int64_t nn = 0, s = 0;
    const v4d e = {eps, eps, eps, eps}, cm = {cmax, cmax, cmax, cmax}, tiny = {1e-30, 1e-30, 1e-30, 1e-30};
    for (; s + 4 <= m; s += 4) { /* four points per step */
        const v4d delta = e * (*(const v4du *)(xq + s) + cm) + tiny, ci = *(const v4du *)(closest + s);
        v4di far = {-1, -1, -1, -1};
        for (int64_t t = 0; t < trials; t++)
            far &= (v4di)(__builtin_convertvector(*(const v4f *)(pbuf + t * PW + s), v4d) - delta > ci);
        for (int q = 0; q < 4; q++) {
            need[nn] = s + q;
            nn += !far[q];
        }
    }
    for (; s < m; s++) {
        const double delta = eps * (xq[s] + cmax) + 1e-30, ci = closest[s];
        int near = 0;
        for (int64_t t = 0; t < trials; t++) near |= !((double)pbuf[t * PW + s] - delta > ci);
        need[nn] = s;
        nn += near;
    }
    return nn;
}

DEFINE_BUILDS(int64_t, seed_near, "avx2",
              (const float *pbuf, const double *xq, const double *closest, int64_t m, int64_t trials, double eps,
               double cmax, int64_t *need),
              (pbuf, xq, closest, m, trials, eps, cmax, need), return)
typedef int64_t (*seed_near_fn)(const float *, const double *, const double *, int64_t, int64_t, double, double,
                                int64_t *);

/* The seeding's approximate potentials from a panel's float distances
 * pbuf (trials, PW) to the candidates: acc[t] (four lanes, any order) +=
 * min(closest, float distance) of the points s < m, and err[t] += δ for
 * each point the candidate may be nearer than closest (|min(closest, d) −
 * min(closest, f)| <= |d − f| <= δ; elsewhere both are closest); mask[s]
 * gets bit t set for those. xq: the points' squared norms. */
static inline __attribute__((always_inline)) void seed_screen_body(const float *pbuf, const double *xq,
                                                                   const double *closest, int64_t m,
                                                                   int64_t trials, double eps, double cmax,
                                                                   uint16_t *mask, double *acc, double *err)
{
    const v4d e = {eps, eps, eps, eps}, cm = {cmax, cmax, cmax, cmax}, tiny = {1e-30, 1e-30, 1e-30, 1e-30},
              zero = {0, 0, 0, 0};
    int64_t s = 0;
    for (; s + 4 <= m; s += 4) {
        const v4d delta = e * (*(const v4du *)(xq + s) + cm) + tiny, ci = *(const v4du *)(closest + s);
        v4di bits = {0, 0, 0, 0};
        for (int64_t t = 0; t < trials; t++) {
            const v4d f = __builtin_convertvector(*(const v4f *)(pbuf + t * PW + s), v4d);
            const v4di near = ~(v4di)(f - delta > ci);
            *(v4du *)(acc + 4 * t) += BLEND4((v4di)(f < ci), f, ci);
            *(v4du *)(err + 4 * t) += BLEND4(near, delta, zero);
            bits |= near & (v4di){1LL << t, 1LL << t, 1LL << t, 1LL << t};
        }
        for (int q = 0; q < 4; q++) mask[s + q] = (uint16_t)bits[q];
    }
    for (; s < m; s++) {
        const double delta = eps * (xq[s] + cmax) + 1e-30, ci = closest[s];
        unsigned bits = 0;
        for (int64_t t = 0; t < trials; t++) {
            const double f = (double)pbuf[t * PW + s];
            const int near = !(f - delta > ci);
            acc[4 * t] += f < ci ? f : ci;
            if (near) err[4 * t] += delta;
            bits |= (unsigned)near << t;
        }
        mask[s] = (uint16_t)bits;
    }
}

DEFINE_BUILDS(void, seed_screen, "avx2",
              (const float *pbuf, const double *xq, const double *closest, int64_t m, int64_t trials, double eps,
               double cmax, uint16_t *mask, double *acc, double *err),
              (pbuf, xq, closest, m, trials, eps, cmax, mask, acc, err), )
typedef void (*seed_screen_fn)(const float *, const double *, const double *, int64_t, int64_t, double, double,
                               uint16_t *, double *, double *);

/* acc (SEED_W lanes, lane t for candidate t) += min(row_t, closest) of the
 * points s < m in order: rows (stride SEED_W) for the points need[e]
 * (ascending), closest alone for the others. */
static inline __attribute__((always_inline)) void seed_sums_body(const double *closest, int64_t m,
                                                                 const int64_t *need, int64_t nn,
                                                                 const double *rows, double *acc)
{
    v4d a0 = *(v4d *)acc, a1 = *(v4d *)(acc + 4), a2 = *(v4d *)(acc + 8), a3 = *(v4d *)(acc + 12);
    for (int64_t s = 0, e = 0; s < m; s++) {
        const double ci = closest[s];
        const v4d c4 = {ci, ci, ci, ci};
        if (e < nn && need[e] == s) {
            const double *r = rows + e * SEED_W;
            const v4d r0 = *(const v4d *)r, r1 = *(const v4d *)(r + 4), r2 = *(const v4d *)(r + 8),
                      r3 = *(const v4d *)(r + 12);
            a0 += BLEND4((v4di)(r0 < c4), r0, c4);
            a1 += BLEND4((v4di)(r1 < c4), r1, c4);
            a2 += BLEND4((v4di)(r2 < c4), r2, c4);
            a3 += BLEND4((v4di)(r3 < c4), r3, c4);
            e++;
        } else {
            a0 += c4;
            a1 += c4;
            a2 += c4;
            a3 += c4;
        }
    }
    *(v4d *)acc = a0;
    *(v4d *)(acc + 4) = a1;
    *(v4d *)(acc + 8) = a2;
    *(v4d *)(acc + 12) = a3;
}

DEFINE_BUILDS(void, seed_sums, "avx2",
              (const double *closest, int64_t m, const int64_t *need, int64_t nn, const double *rows, double *acc),
              (closest, m, need, nn, rows, acc), )
typedef void (*seed_sums_fn)(const double *, int64_t, const int64_t *, int64_t, const double *, double *);

/* dst += sign · src (d), sign = ±1: exact negation, so the same as
 * dst[j] -= src[j] for −1; element by element, so both builds give the
 * same sums. */
static inline __attribute__((always_inline)) void add_row_body(double *dst, const double *src, int64_t d,
                                                               double sign)
{
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) *(v4du *)(dst + j) += sign * *(const v4du *)(src + j);
    for (; j < d; j++) dst[j] += sign * src[j];
}

DEFINE_BUILDS(void, add_row, "avx2", (double *dst, const double *src, int64_t d, double sign), (dst, src, d, sign), )
typedef void (*add_row_fn)(double *, const double *, int64_t, double);

typedef struct km_ws {
    const double *x;
    const dcx__rows *rows; /* this rank's rows of all (n of them here) */
    int64_t n, d, k, kp;   /* kp: max(k, trials) rounded up to a multiple of 4 */
    int64_t kq;            /* columns of ct now: the loaded rows rounded up to a multiple of 4 */
    const double *xsq; /* (n) ‖x_i‖² */
    double *ct;   /* (d, kp) centres (or candidates) transposed, zero-padded; 32-byte aligned */
    double *csq;  /* (kp) their ‖c‖², zero-padded; 32-byte aligned */
    double *buf;  /* (NPT, kp) distances of NPT points; 32-byte aligned */
    dotsn_fn dotsn;
    scan2_fn scan2;
    /* float distances for the assignments (NULL x32: double only) */
    const float *x32;     /* (n, d) the points as floats */
    const float *xp;      /* their panels (see dcx__km_floats_fill) */
    const float *xpsq;    /* (np) their float norms */
    int64_t kp8, kq8;     /* kp and the loaded columns rounded up to a multiple of 8 */
    int64_t kc;           /* rows of c32 and csq32 (>= kp8) */
    float *ct32, *csq32;  /* (d, kp8), (kc): the loaded centres; 32-byte aligned */
    float *pbuf;          /* (kc, PW) a panel's distances; 32-byte aligned */
    double *prow;         /* (SEED_GROUP·PW, SEED_W) double rows of the screened points (seeding); 32-byte aligned */
    seed_near_fn snear;
    seed_screen_fn sscreen;
    seed_sums_fn ssums;
    tighten32_fn tight;
    filter_fn filt;
    panel_dist_fn pdist;
    panel_scan_fn pscan;
    panel_bounds_fn pbounds;
    float *buf32;         /* (NPT, kp8); 32-byte aligned */
    double cmax;          /* max ‖c‖² of the loaded centres */
    double eps32;         /* δ = eps32 · (‖x‖² + cmax): (d + 16)·2⁻²³ */
    dotsn32_fn dotsn32;
    scan2_32_fn scan32;
    float *c32; /* (kc, d) the loaded centres as float rows (the rows from q on: padding, csq32 = ∞) */
    /* the full passes in 16-bit integers (NULL xq16: in float) */
    const int16_t *xq16;  /* the points' 16-bit panels (see dcx__km_floats_fill) */
    const float *xs2;     /* (np) −2·s_x */
    const float *xeu;     /* (np) ‖x − x̂‖, rounded up */
    const float *xnu;     /* (np) ‖x̂‖, rounded up */
    int16_t *cq16;        /* (k, 2·d2) the loaded centres' 16-bit pairs */
    int16_t *ct16;        /* (d2, kq8, 2) the same transposed, zero-padded; 32-byte aligned */
    float *cs16;          /* (kp8) their scales (0 past k) */
    double q16a, q16b;    /* δ's terms: 2·max ‖c − ĉ‖ (times ‖x̂‖), 2·max ‖c‖ (times ‖x − x̂‖) */
    const double *cload;  /* the loaded centres (k, d) */
    int64_t loads, q16at; /* centres loaded so far; cq16 made at load q16at (0: never) */
    panel16_fn p16;
    rows16_fn r16;
    add_row_fn addrow;
} km_ws;

/* The kernels for this CPU into ws (dist2's pointer is global: a benign
 * race, every thread stores the same one). */
static void pick_kernels(km_ws *ws)
{
    double (*g)(const double *, const double *, int64_t) = dist2_base;
    ws->dotsn = dotsn_base;
    ws->scan2 = scan2_base;
    ws->dotsn32 = dotsn32_base;
    ws->scan32 = scan2_32_base;
    ws->pdist = panel_dist_base;
    ws->p16 = panel16_base;
    ws->r16 = rows16_base;
    ws->addrow = add_row_base;
    ws->pscan = panel_scan_base;
    ws->pbounds = panel_bounds_base;
    ws->snear = seed_near_base;
    ws->sscreen = seed_screen_base;
    ws->ssums = seed_sums_base;
    ws->tight = tighten32_base;
    ws->filt = filter_base;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        g = dist2_avx2;
        ws->scan2 = scan2_avx2;
        ws->scan32 = scan2_32_avx2;
        ws->pscan = panel_scan_avx2;
        ws->p16 = panel16_avx2;
        ws->r16 = rows16_avx2;
        ws->addrow = add_row_avx2;
        ws->pbounds = panel_bounds_avx2;
        ws->snear = seed_near_avx2;
        ws->sscreen = seed_screen_avx2;
        ws->ssums = seed_sums_avx2;
        ws->filt = filter_avx2;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        ws->dotsn = dotsn_avx2;
        ws->dotsn32 = dotsn32_avx2;
        ws->pdist = panel_dist_avx2;
        ws->tight = tighten32_avx2;
    }
#endif
    __atomic_store_n(&dist2_impl, g, __ATOMIC_RELAXED);
}


static void row_norms(const double *a, int64_t m, int64_t d, double *out)
{
    for (int64_t i = 0; i < m; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += a[i * d + j] * a[i * d + j];
        out[i] = s;
    }
}

/* The float rows c32 and norms csq32 of the q rows of c (norms in ws->csq),
 * the rows q..kc−1 padding (norm ∞: never the nearest), and cmax, the
 * largest norm. */
static void load_rows32(km_ws *ws, const double *c, int64_t q)
{
    const int64_t d = ws->d;
    ws->cmax = 0;
    for (int64_t a = 0; a < q; a++) {
        for (int64_t j = 0; j < d; j++) ws->c32[a * d + j] = (float)c[a * d + j];
        ws->csq32[a] = (float)ws->csq[a];
        if (ws->csq[a] > ws->cmax) ws->cmax = ws->csq[a];
    }
    for (int64_t a = q; a < ws->kc; a++) ws->csq32[a] = INFINITY;
}

/* ct, csq from the q rows of c (q, d): transposed, the columns q..kp−1 zero. */
static void load_centres(km_ws *ws, const double *c, int64_t q)
{
    const int64_t d = ws->d, kp = ws->kq = (q + 3) / 4 * 4;
    memset(ws->ct, 0, (size_t)(d * kp) * sizeof *ws->ct);
    memset(ws->csq, 0, (size_t)kp * sizeof *ws->csq);
    for (int64_t a = 0; a < q; a++)
        for (int64_t j = 0; j < d; j++) ws->ct[j * kp + a] = c[a * d + j];
    row_norms(c, q, d, ws->csq);
    if (ws->x32) {
        const int64_t k8 = ws->kq8 = (q + 7) / 8 * 8;
        load_rows32(ws, c, q);
        memset(ws->ct32, 0, (size_t)(d * k8) * sizeof *ws->ct32);
        for (int64_t a = 0; a < q; a++)
            for (int64_t j = 0; j < d; j++) ws->ct32[j * k8 + a] = ws->c32[a * d + j];
        ws->cload = c; /* their 16-bit form when a full pass needs it (load16) */
        ws->loads++;
    }
}

/* The 16-bit form of the loaded centres ws->cload (k of them) and δ's
 * factors for them. */
static void load16(km_ws *ws)
{
    const int64_t d = ws->d, d2 = km_d2(d);
    double emax = 0;
    for (int64_t a = 0; a < ws->k; a++) {
        float eu, nu;
        quant16(ws->cload + a * d, d, sqrt(ws->csq[a]), ws->cq16 + a * 2 * d2, 2, ws->cs16 + a, &eu, &nu);
        emax = eu > emax ? eu : emax;
    }
    pairs_transposed(ws->cq16, ws->k, d2, ws->kq8, ws->ct16);
    ws->q16a = 2.0 * emax;
    ws->q16b = 2.0 * (double)float_up(sqrt(ws->cmax) * (1 + 1e-9));
    ws->q16at = ws->loads;
}

/* Move point p to centre best (updating the running sums and sizes). */
static inline void relabel(km_ws *ws, int64_t p, int64_t best, int64_t *labels, double *sums, int64_t *sizes,
                           int64_t *changed)
{
    const int64_t d = ws->d, old = labels[p];
    if (old == best) return;
    const double *xi = ws->x + p * d;
    if (old >= 0) {
        ws->addrow(sums + old * d, xi, d, -1.0);
        sizes[old]--;
    }
    ws->addrow(sums + best * d, xi, d, 1.0);
    sizes[best]++;
    labels[p] = best;
    (*changed)++;
}

/* The points of one kernel call into pt: idx[i … i + np) (i … i + np − 1
 * when idx is NULL), np = min(NPT, m − i), the spare slots repeating the
 * first. Returns np. */
static int block_points(const int64_t *idx, int64_t i, int64_t m, int64_t pt[NPT])
{
    const int np = m - i < NPT ? (int)(m - i) : NPT;
    for (int s = 0; s < NPT; s++) pt[s] = s < np ? (idx ? idx[i + s] : i + s) : pt[0];
    return np;
}

/* The double kernel's rows of the NPT points pt against the loaded
 * columns, into ws->buf (NPT, kq). */
static void rows64(km_ws *ws, const int64_t pt[NPT])
{
    const double *xp[NPT];
    double xs[NPT];
    for (int s = 0; s < NPT; s++) {
        xp[s] = ws->x + pt[s] * ws->d;
        xs[s] = ws->xsq[pt[s]];
    }
    ws->dotsn(xp, xs, ws->ct, ws->csq, ws->d, ws->kq, ws->buf);
}

/* A close call: point p's nearest centre from the double kernel, whose
 * distances give its bounds u and l. */
static int64_t close_call(km_ws *ws, int64_t p, double *u, double *l)
{
    int64_t one[NPT], best;
    double d1, d2;
    for (int t = 0; t < NPT; t++) one[t] = p;
    rows64(ws, one);
    ws->scan2(ws->buf, ws->k, &best, &d1, &d2);
    u[p] = sqrt(d1);
    l[p] = sqrt(d2);
    return best;
}

/* assign_points for the points i0 … i1 − 1 (i0 a multiple of PW), all of
 * them, from the panels: the same labels and (bounds set) bounds; without
 * bounds u and l are left as they are (only close calls write theirs): the
 * passes of small k, where a point's distances cost less than keeping its
 * bounds (LEAN_K). Out of line: inlined into the restart, it slowed the
 * 2-d seeding loops there by 8 %. */
__attribute__((noinline)) static void assign_range32(km_ws *ws, int64_t i0, int64_t i1, int64_t *labels, double *u,
                                                     double *l, double *sums, int64_t *sizes, int64_t *changed,
                                                     int bounds)
{
    const int64_t d = ws->d, k = ws->k, d2 = km_d2(d);
    int32_t best[PW] __attribute__((aligned(32)));
    int64_t dec[PW] __attribute__((aligned(32)));
    float f1[PW] __attribute__((aligned(32))), f2[PW] __attribute__((aligned(32)));
    double xq[PW] __attribute__((aligned(32))), uu[PW] __attribute__((aligned(32))),
        ll[PW] __attribute__((aligned(32)));
    if (ws->xq16 && ws->q16at != ws->loads) load16(ws);
    for (int64_t p0 = i0; p0 < i1; p0 += PW) {
        const int64_t m = i1 - p0 < PW ? i1 - p0 : PW;
        const float *nx = NULL, *ex = NULL;
        if (ws->xq16) {
            ws->p16(ws->xq16 + p0 * 2 * d2, ws->xs2 + p0, ws->xpsq + p0, ws->cq16, ws->cs16, ws->csq32, d2, k,
                    ws->pbuf);
            nx = ws->xnu + p0;
            ex = ws->xeu + p0;
        } else {
            ws->pdist(ws->xp + p0 * d, ws->xpsq + p0, ws->c32, ws->csq32, d, k, ws->pbuf);
        }
        ws->pscan(ws->pbuf, k, best, f1, f2);
        if (m == PW) { /* in place */
            ws->pbounds(f1, f2, ws->xsq + p0, ws->eps32, ws->cmax, nx, ex, ws->q16a, ws->q16b,
                        bounds ? u + p0 : NULL, l + p0, dec, PW);
        } else { /* the last panel: through PW-long copies */
            for (int64_t s = 0; s < PW; s++) xq[s] = s < m ? ws->xsq[p0 + s] : 0;
            ws->pbounds(f1, f2, xq, ws->eps32, ws->cmax, nx, ex, ws->q16a, ws->q16b, bounds ? uu : NULL, ll,
                        dec, PW);
            for (int64_t s = 0; s < m && bounds; s++) {
                u[p0 + s] = uu[s];
                l[p0 + s] = ll[s];
            }
        }
        for (int64_t s = 0; s < m; s++) {
            const int64_t b = dec[s] ? best[s] : close_call(ws, p0 + s, u, l);
            relabel(ws, p0 + s, b, labels, sums, sizes, changed);
        }
    }
}

/* assign_points with float distances (ws->x32 set, centres loaded): the
 * same labels as the double kernel (see dotsn32_body), bounds with δ of
 * slack; a close call is recomputed with the double kernel. */
static void assign_points32(km_ws *ws, const int64_t *idx, int64_t m, int64_t *labels, double *u, double *l,
                            double *sums, int64_t *sizes, int64_t *changed)
{
    const int64_t d = ws->d, k8 = ws->kq8, d2 = km_d2(d);
    /* the NPT points' two smallest distances, their bounds in one call
     * (eight lanes: the spare ones padded) */
    int64_t bst[8], dec[8] __attribute__((aligned(32)));
    float f1[8] __attribute__((aligned(32))) = {0}, f2[8] __attribute__((aligned(32))) = {0};
    float nx[8] __attribute__((aligned(32))) = {0}, ex[8] __attribute__((aligned(32))) = {0};
    double xq[8] __attribute__((aligned(32))) = {0}, uu[8], ll[8];
    if (ws->xq16 && ws->q16at != ws->loads) load16(ws);
    for (int64_t i = 0; i < m; i += NPT) {
        int64_t pt[NPT];
        const float *xp[NPT];
        float xs[NPT];
        const int np = block_points(idx, i, m, pt);
        if (ws->xq16) { /* 16-bit rows from the panels */
            const int16_t *xr[NPT];
            float s2[NPT];
            for (int s = 0; s < NPT; s++) {
                const int64_t p = pt[s];
                xr[s] = ws->xq16 + km_q16_lane(p, d2);
                s2[s] = ws->xs2[p];
                xs[s] = ws->xpsq[p];
            }
            ws->r16(xr, s2, xs, ws->ct16, ws->cs16, ws->csq32, d2, k8, ws->buf32);
        } else {
            for (int s = 0; s < NPT; s++) {
                xp[s] = ws->x32 + pt[s] * d;
                xs[s] = (float)ws->xsq[pt[s]];
            }
            ws->dotsn32(xp, xs, ws->ct32, ws->csq32, d, k8, ws->buf32);
        }
        for (int s = 0; s < np; s++) {
            ws->scan32(ws->buf32 + s * k8, k8, &bst[s], &f1[s], &f2[s]);
            xq[s] = ws->xsq[pt[s]];
            if (ws->xq16) {
                nx[s] = ws->xnu[pt[s]];
                ex[s] = ws->xeu[pt[s]];
            }
        }
        ws->pbounds(f1, f2, xq, ws->eps32, ws->cmax, ws->xq16 ? nx : NULL, ex, ws->q16a, ws->q16b, uu, ll, dec, 8);
        for (int s = 0; s < np; s++) {
            const int64_t p = pt[s];
            int64_t b = bst[s];
            if (dec[s]) {
                u[p] = uu[s];
                l[p] = ll[s];
            } else {
                b = close_call(ws, p, u, l);
            }
            relabel(ws, p, b, labels, sums, sizes, changed);
        }
    }
}

/* Assign the points idx[0..m) (all n points when idx is NULL) to their
 * nearest centre (ws->ct, loaded; ties: lowest index), NPT points at a
 * time (float distances when ws->x32 is set). Sets u = distance to the
 * nearest centre, l = distance to the second nearest (Hamerly's bounds),
 * moves changed points between the running sums and sizes, and adds the
 * number of changed labels to *changed. */
static void assign_points(km_ws *ws, const int64_t *idx, int64_t m, int64_t *labels, double *u, double *l,
                          double *sums, int64_t *sizes, int64_t *changed)
{
    const int64_t k = ws->k, kp = ws->kq;
    if (ws->x32) {
        assign_points32(ws, idx, m, labels, u, l, sums, sizes, changed);
        return;
    }
    for (int64_t i = 0; i < m; i += NPT) {
        int64_t pt[NPT];
        const int np = block_points(idx, i, m, pt);
        rows64(ws, pt);
        for (int s = 0; s < np; s++) {
            const double *row = ws->buf + s * kp;
            int64_t best;
            double d1, d2;
            ws->scan2(row, k, &best, &d1, &d2);
            const int64_t p = pt[s];
            u[p] = sqrt(d1);
            l[p] = sqrt(d2);
            relabel(ws, p, best, labels, sums, sizes, changed);
        }
    }
}

/* Σ ‖x_i − c_{l(i)}‖² over all ranks' rows (collective). */
static dcx_status inertia_of(const km_ws *ws, const int64_t *labels, const double *c, double *out)
{
    double s = 0;
    for (int64_t i = 0; i < ws->n; i++) s += dist2(ws->x + i * ws->d, c + labels[i] * ws->d, ws->d);
    dcx_status st = dcx_dist_sum_f64(ws->rows->dist, &s, 1);
    *out = s;
    return st;
}

/* Centres = means of their clusters (sums and sizes over all ranks); an
 * empty cluster gets the point farthest from its centre among clusters of
 * size > 1 — the largest distance over all ranks, ties to the lowest global
 * row index — until none is empty. sizes are the global sizes; scratch (P)
 * f64 and iscratch (P) i64. Collective. */
static dcx_status update_centres(const km_ws *ws, int64_t *labels, double *c, int64_t *sizes, double *far,
                                 double *scratch, int64_t *iscratch)
{
    dcx_status st = DCX_OK;
    const dcx__rows *rw = ws->rows;
    const int64_t n = ws->n, d = ws->d, k = ws->k;
    for (;;) {
        memset(c, 0, (size_t)(k * d) * sizeof *c);
        memset(sizes, 0, (size_t)k * sizeof *sizes);
        for (int64_t i = 0; i < n; i++) {
            const double *xi = ws->x + i * d;
            double *ci = c + labels[i] * d;
            for (int64_t j = 0; j < d; j++) ci[j] += xi[j];
            sizes[labels[i]]++;
        }
        DCX_TRY(dcx_dist_sum_f64(rw->dist, c, k * d));
        DCX_TRY(dcx_dist_sum_i64(rw->dist, sizes, k));
        int64_t empty = -1;
        for (int64_t q = 0; q < k; q++) {
            if (sizes[q] > 0) {
                double inv = 1.0 / (double)sizes[q];
                for (int64_t j = 0; j < d; j++) c[q * d + j] *= inv;
            } else if (empty < 0) {
                empty = q;
            }
        }
        if (empty < 0) break;
        /* n >= k guarantees a cluster of size > 1 while one is empty. */
        int64_t pick = -1;
        double best = -1;
        for (int64_t i = 0; i < n; i++) {
            if (sizes[labels[i]] < 2) continue;
            far[i] = dist2(ws->x + i * d, c + labels[i] * d, d);
            if (far[i] > best) {
                best = far[i];
                pick = i;
            }
        }
        /* every rank's candidate: the farthest overall, ties to the lower
         * rank, i.e. the lower global row (each rank's slot is summed with
         * zeros: exact) */
        memset(scratch, 0, (size_t)rw->size * sizeof *scratch);
        memset(iscratch, 0, (size_t)rw->size * sizeof *iscratch);
        scratch[rw->rank] = best;
        iscratch[rw->rank] = pick;
        DCX_TRY(dcx_dist_sum_f64(rw->dist, scratch, rw->size));
        DCX_TRY(dcx_dist_sum_i64(rw->dist, iscratch, rw->size));
        int win = -1;
        for (int q = 0; q < rw->size; q++)
            if (iscratch[q] >= 0 && (win < 0 || scratch[q] > scratch[win])) win = q;
        DCX_ASSERT(win >= 0);
        if (win == rw->rank) labels[pick] = empty;
    }
fail:
    return st;
}

/* 1 when this rank holds global row g. A row is sent to every rank by
 * summing a zeroed buffer that only its holder fills: adding zeros is
 * exact. */
static int owns(const dcx__rows *rw, int64_t g) { return dcx__rows_owner(rw, g) == rw->rank; }

/* The rows drawn with probability ∝ closest (D²) for the m draws u[t]
 * (each a uniform draw times the total potential; m <= 64), tot (P) every
 * rank's part of the potential. The rows are scanned in global order, so a
 * pick does not depend on P beyond the rounding of the partial sums. For
 * draw t: owner[t] the rank holding its row and, on that rank, its local
 * index pick[t] (-1 elsewhere). The draws of this rank share one scan of
 * closest, in increasing order of u: the running sums, and so the picks,
 * are those of a scan per draw. */
static void draw_d2(const km_ws *ws, const double *closest, const double *tot, const double *u, int64_t m,
                    int *owner, int64_t *pick)
{
    const dcx__rows *rw = ws->rows;
    int64_t mine[64], nm = 0;
    double start = 0; /* the running sum where this rank's rows begin */
    for (int64_t t = 0; t < m; t++) {
        double acc = 0;
        int own = -1, last = -1;
        for (int q = 0; q < rw->size; q++) {
            if (!(tot[q] > 0)) continue;
            last = q;
            if (acc + tot[q] > u[t]) {
                own = q;
                break;
            }
            acc += tot[q];
        }
        pick[t] = -1;
        if (own < 0) { /* u at the very top (rounding): the last positive rank, scanned on its own */
            owner[t] = last;
            if (last == rw->rank) {
                double a = acc;
                for (int64_t i = 0; i < ws->n; i++) {
                    if (closest[i] <= 0) continue;
                    a += closest[i];
                    pick[t] = i;
                    if (a > u[t]) break;
                }
            }
            continue;
        }
        owner[t] = own;
        if (own != rw->rank) continue;
        start = acc;
        int64_t at = nm++; /* insertion by u, ties in draw order */
        while (at > 0 && u[mine[at - 1]] > u[t]) {
            mine[at] = mine[at - 1];
            at--;
        }
        mine[at] = t;
    }
    if (nm == 0) return;
    double acc = start;
    int64_t next = 0, lastpos = -1;
    for (int64_t i = 0; i < ws->n && next < nm; i++) {
        if (closest[i] <= 0) continue;
        acc += closest[i];
        lastpos = i;
        while (next < nm && acc > u[mine[next]]) pick[mine[next++]] = i;
    }
    while (next < nm) pick[mine[next++]] = lastpos; /* the scan ran out: its last positive row */
}

/* The seeding's first pass from the float panels (ws->xp set; the double
 * candidates loaded in ct; trials <= SEED_W): each point's potentials
 * min(D², closest) added to mine (trials) in point order, the same sums as
 * the double pass, bit for bit. A candidate whose float distance exceeds
 * the point's closest by more than δ is farther in double too, so
 * min(D², closest) = closest; a point with any candidate nearer than that
 * (~20 % of the points per step at k = 32, fewer later) gets its row from
 * the double kernel, and only those rows are kept: row e of keep (trials
 * each) for point kidx[e], e < the count returned. */

static int64_t seed_pass32(km_ws *ws, const double *cand, int64_t trials, const double *closest, double *mine,
                           double *keep, int64_t *kidx)
{
    const int64_t n = ws->n, d = ws->d, kq = ws->kq;
    load_rows32(ws, cand, trials);
    const double cmax = ws->cmax;
    double acc[SEED_W] __attribute__((aligned(32))) = {0};
    int64_t nkeep = 0, need[SEED_GROUP * PW], at[SEED_GROUP * PW], cnt[SEED_GROUP];
    for (int64_t g0 = 0; g0 < n; g0 += SEED_GROUP * PW) {
        /* the group's panels screened, their points' indices into need
         * (within its panel) and at (global) */
        int64_t tot = 0, np = 0;
        for (int64_t p0 = g0; p0 < n && np < SEED_GROUP; p0 += PW, np++) {
            const int64_t m = n - p0 < PW ? n - p0 : PW;
            ws->pdist(ws->xp + p0 * d, ws->xpsq + p0, ws->c32, ws->csq32, d, trials, ws->pbuf);
            cnt[np] = ws->snear(ws->pbuf, ws->xsq + p0, closest + p0, m, trials, ws->eps32, cmax, need + tot);
            for (int64_t e = tot; e < tot + cnt[np]; e++) at[e] = need[e] + p0;
            tot += cnt[np];
        }
        for (int64_t b = 0; b < tot; b += NPT) { /* their double rows, NPT at a time, into keep */
            int64_t pt[NPT];
            const int nb = block_points(at, b, tot, pt);
            rows64(ws, pt);
            for (int s = 0; s < nb; s++) {
                memcpy(ws->prow + (b + s) * SEED_W, ws->buf + s * kq, (size_t)kq * sizeof *ws->prow);
                memcpy(keep + (nkeep + b + s) * trials, ws->buf + s * kq, (size_t)trials * sizeof *keep);
                kidx[nkeep + b + s] = pt[s];
            }
        }
        /* the sums, panel by panel in point order */
        for (int64_t q = 0, e0 = 0, p0 = g0; q < np; q++, p0 += PW) {
            const int64_t m = n - p0 < PW ? n - p0 : PW;
            ws->ssums(closest + p0, m, need + e0, cnt[q], ws->prow + e0 * SEED_W, acc);
            e0 += cnt[q];
        }
        nkeep += tot;
    }
    for (int64_t t = 0; t < trials; t++) mine[t] += acc[t];
    return nkeep;
}

/* D² of the points idx[0..m) (all n when idx is NULL) lowered to their
 * double distances to the chosen candidate w (d doubles): the winner alone
 * in the kernel (each distance is its own chain over j, the same whichever
 * column the centre sits in). */
static void winner_into_closest(km_ws *ws, const double *w, const int64_t *idx, int64_t m, double *closest)
{
    load_centres(ws, w, 1);
    for (int64_t b = 0; b < m; b += NPT) {
        int64_t pt[NPT];
        const int np = block_points(idx, b, m, pt);
        rows64(ws, pt);
        for (int s = 0; s < np; s++) {
            const double v = ws->buf[s * ws->kq];
            if (v < closest[pt[s]]) closest[pt[s]] = v;
        }
    }
}

/* The seeding step's winner from float distances, when they settle it
 * (ws->xp set, trials <= SEED_W; the candidates as doubles loaded): each
 * candidate's potential Σ min(closest, d²) is summed from the float
 * distances, with a bound on its error (δ for each point the candidate may
 * be nearer than its closest centre, plus the rounding of the sum). When
 * one candidate's upper bound lies below every other one's lower bound it
 * is the winner of the double potentials too (their ties would be
 * unsettled): returned, with mask[i] the candidates that may be nearer
 * than point i's closest centre. −1 otherwise (the caller computes the
 * potentials in double). Distributed, the sums are summed over the ranks
 * first (collective). */
static dcx_status seed_settle32(km_ws *ws, const double *cand, int64_t trials, const double *closest,
                                uint16_t *mask, int64_t *winner)
{
    const int64_t n = ws->n, d = ws->d;
    double acc[4 * SEED_W] __attribute__((aligned(32))) = {0}, err[4 * SEED_W] __attribute__((aligned(32))) = {0};
    double ae[2 * SEED_W];
    *winner = -1;
    load_rows32(ws, cand, trials);
    for (int64_t p0 = 0; p0 < n; p0 += PW) {
        const int64_t m = n - p0 < PW ? n - p0 : PW;
        ws->pdist(ws->xp + p0 * d, ws->xpsq + p0, ws->c32, ws->csq32, d, trials, ws->pbuf);
        ws->sscreen(ws->pbuf, ws->xsq + p0, closest + p0, m, trials, ws->eps32, ws->cmax, mask + p0, acc, err);
    }
    for (int64_t t = 0; t < trials; t++) {
        ae[t] = (acc[4 * t] + acc[4 * t + 1]) + (acc[4 * t + 2] + acc[4 * t + 3]);
        ae[trials + t] = (err[4 * t] + err[4 * t + 1]) + (err[4 * t + 2] + err[4 * t + 3]);
    }
    dcx_status st = dcx_dist_sum_f64(ws->rows->dist, ae, 2 * trials);
    if (st != DCX_OK) return st;
    /* the rounding of two sums of N terms (the float one and the double
     * one), each within N·2⁻⁵³ of the sum of their magnitudes: 4·N·2⁻⁵³
     * of it, with room to spare */
    const double rnd = 4.0 * (double)ws->rows->n * 0x1p-53;
    int64_t bt = 0;
    for (int64_t t = 1; t < trials; t++)
        if (ae[t] < ae[bt]) bt = t;
    const double hi = ae[bt] + ae[trials + bt] + rnd * fabs(ae[bt]);
    for (int64_t t = 0; t < trials; t++)
        if (t != bt && !(hi < ae[t] - ae[trials + t] - rnd * fabs(ae[t]))) return DCX_OK; /* unsettled */
    *winner = bt;
    return DCX_OK;
}

/* Greedy k-means++: first centre uniform; each next one the best (lowest
 * potential) of `trials` candidates drawn with probability ∝ D². A first
 * pass sums each candidate's potential; the winner's distances are then
 * taken into D²: kept from the first pass (keep, n × trials, when the
 * caller can spare 8·trials bytes per sample) or computed again (keep NULL;
 * each of the kernel's distances is its own chain over j, so the values
 * are those of the first pass).
 * Distributed: the draws come from the same stream on every rank;
 * the rank holding a drawn row sends it (one sum of the candidate rows);
 * the potentials of the candidates are summed per rank (tp, P x trials), so
 * that every rank also knows each rank's part of the new potential. */
static dcx_status seed_plusplus(km_ws *ws, dcx_rng *rng, double *c, double *closest, double *cand, double *tp,
                                double *tot, double *keep, int64_t *kidx, uint16_t *smask)
{
    dcx_status st = DCX_OK;
    const dcx__rows *rw = ws->rows;
    const int P = rw->size, me = rw->rank;
    const int64_t n = ws->n, d = ws->d, k = ws->k;
    const int64_t trials = 2 + (int64_t)floor(log((double)k));
    int64_t first = (int64_t)dcx_rng_below(rng, (uint64_t)rw->n);
    memset(c, 0, (size_t)d * sizeof *c);
    if (owns(rw, first)) memcpy(c, ws->x + (first - rw->row0) * d, (size_t)d * sizeof *c);
    DCX_TRY(dcx_dist_sum_f64(rw->dist, c, d));
    double pot = 0;
    for (int64_t i = 0; i < n; i++) pot += closest[i] = dist2(ws->x + i * d, c, d);
    memset(tot, 0, (size_t)P * sizeof *tot);
    tot[me] = pot;
    DCX_TRY(dcx_dist_sum_f64(rw->dist, tot, P));
    pot = tot[0];
    for (int q = 1; q < P; q++) pot += tot[q];
    for (int64_t q = 1; q < k; q++) {
        memset(cand, 0, (size_t)(trials * d) * sizeof *cand);
        if (pot > 0) { /* all draws first (the same stream), then one scan */
            double u[64];
            int owner[64];
            int64_t pick[64];
            for (int64_t t = 0; t < trials; t++) u[t] = dcx_rng_uniform(rng) * pot;
            draw_d2(ws, closest, tot, u, trials, owner, pick);
            for (int64_t t = 0; t < trials; t++)
                if (owner[t] == me) memcpy(cand + t * d, ws->x + pick[t] * d, (size_t)d * sizeof *cand);
        } else {
            for (int64_t t = 0; t < trials; t++) {
                int64_t g = (int64_t)dcx_rng_below(rng, (uint64_t)rw->n);
                if (owns(rw, g)) memcpy(cand + t * d, ws->x + (g - rw->row0) * d, (size_t)d * sizeof *cand);
            }
        }
        DCX_TRY(dcx_dist_sum_f64(rw->dist, cand, trials * d));
        load_centres(ws, cand, trials);
        /* potential with each candidate added */
        double *mine = tp + (int64_t)me * trials;
        memset(tp, 0, (size_t)(P * trials) * sizeof *tp);
        int64_t nkeep = 0;
        /* the float screen pays for itself when the distances cost more
         * than its per-point tests (d = 2: three times slower) */
        if (keep && ws->xp && trials <= SEED_W && ws->d >= SEED_MIN_D) {
            /* most steps: the float distances settle the winner, and only
             * its double distances are made, for the points it may bring
             * nearer; the same centres, D² and potentials, bit for bit */
            int64_t bt = -1;
            if (smask) DCX_TRY(seed_settle32(ws, cand, trials, closest, smask, &bt));
            if (bt >= 0) {
                memcpy(c + q * d, cand + bt * d, (size_t)d * sizeof *c);
                const uint16_t bit = (uint16_t)(1u << bt);
                int64_t na = 0; /* the points it may bring nearer, into kidx */
                for (int64_t i = 0; i < n; i++) {
                    kidx[na] = i;
                    na += (smask[i] & bit) != 0;
                }
                winner_into_closest(ws, cand + bt * d, kidx, na, closest);
                /* the new potential: this rank's part summed in point
                 * order (as the double potentials are), then the ranks' */
                double part = 0;
                for (int64_t i = 0; i < n; i++) part += closest[i];
                memset(tot, 0, (size_t)P * sizeof *tot);
                tot[me] = part;
                DCX_TRY(dcx_dist_sum_f64(rw->dist, tot, P));
                pot = tot[0];
                for (int r = 1; r < P; r++) pot += tot[r];
                continue;
            }
            nkeep = seed_pass32(ws, cand, trials, closest, mine, keep, kidx);
        } else {
            for (int64_t i = 0; i < n; i += NPT) {
                int64_t pt[NPT];
                const int np = block_points(NULL, i, n, pt);
                rows64(ws, pt);
                for (int64_t s = 0; s < np; s++) {
                    const double *row = ws->buf + s * ws->kq, ci = closest[i + s];
                    for (int64_t t = 0; t < trials; t++) {
                        double v = row[t];
                        mine[t] += v < ci ? v : ci;
                    }
                    if (keep) {
                        memcpy(keep + (i + s) * trials, row, (size_t)trials * sizeof *keep);
                        kidx[i + s] = i + s;
                    }
                }
            }
            nkeep = keep ? n : 0;
        }
        DCX_TRY(dcx_dist_sum_f64(rw->dist, tp, P * trials));
        double tpot[64];
        for (int64_t t = 0; t < trials; t++) {
            tpot[t] = tp[t];
            for (int r = 1; r < P; r++) tpot[t] += tp[(int64_t)r * trials + t];
        }
        int64_t bt = 0;
        for (int64_t t = 1; t < trials; t++)
            if (tpot[t] < tpot[bt]) bt = t;
        memcpy(c + q * d, cand + bt * d, (size_t)d * sizeof *c);
        if (keep) { /* the winner's distances, kept from the first pass */
            for (int64_t e = 0; e < nkeep; e++) {
                const double v = keep[e * trials + bt];
                if (v < closest[kidx[e]]) closest[kidx[e]] = v;
            }
        } else {
            winner_into_closest(ws, cand + bt * d, NULL, n, closest);
        }
        /* the new potential: each rank's part was summed above, in the
         * order in which closest is summed */
        pot = tpot[bt];
        for (int r = 0; r < P; r++) tot[r] = tp[(int64_t)r * trials + bt];
    }
fail:
    return st;
}

void dcx__km_run_free(dcx__km_run *run)
{
    if (!run) return;
    if (run->labels_big) dcx__big_free(run->labels);
    else free(run->labels);
    free(run->centres);
    free(run->sizes);
    memset(run, 0, sizeof *run);
}

void dcx__row_norms(const double *x, int64_t n, int64_t d, double *out) { row_norms(x, n, d, out); }

/* calloc of a local buffer; the ranks agree on the outcome before the next
 * collective (dcx_dist_agree), so an allocation failure stops all. */
#define LOCAL_ALLOC(ptr, count) (((ptr) = dcx__calloc((size_t)(count), sizeof *(ptr))) != NULL)

/* Test hook (dcx__km_force_path): 0 the cost model chooses each block's
 * path, 1 Hamerly's filter and rows always (after the first pass), 2 full
 * passes always. The labels are the same whichever path. */
static int km_path;
void dcx__km_force_path(int path) { __atomic_store_n(&km_path, path, __ATOMIC_RELAXED); }

/* The open points of Hamerly's filter are collected and assigned in blocks
 * of this many, so that the index list does not grow with n. */
#define FILTER_BLOCK 4096
/* A block's points are all assigned from the panels when its open points
 * would cost more through Hamerly's path. Costs in units of one float
 * multiply-add lane (~0.024 ns here), measured on the 10,000 × 64
 * benchmark (and the per-centre part at d = 2 on the 16,000 × 2 one): an
 * open point costs OPEN_COST plus its kernel row, kq8 centres of
 * CENTRE_COST(d) each, plus TIGHT_COST when its bound is tightened first;
 * a point of a full pass costs POINT_COST plus k centres. A centre costs
 * its d multiply-adds and, whatever d, its store and its scan (~8). Only
 * the work depends on the choice, never the labels. */
#define LEAN_K 4 /* k up to which Hamerly's filter is not used */
#define OPEN_COST 1220
#define TIGHT_COST 900
#define POINT_COST 137
#define CENTRE_COST(d) ((d) * 7 / 8 + 8)

dcx_status dcx__kmeans_restart(const double *x, const float *x32, const double *xsq, const dcx__rows *rows, int64_t d,
                               int64_t k, int max_iter, uint64_t seed, int restart, int scratch,
                               dcx_kmeans_trace_fn trace, void *trace_ctx, dcx__km_run *run)
{
    dcx_status st = DCX_OK;
    km_ws ws = {0};
    int64_t *lab = NULL, *sz = NULL, *szl = NULL, *isc = NULL;
    double *cen = NULL, *cand = NULL, *tp = NULL, *tot = NULL;
    double *u = NULL, *l = NULL, *sums = NULL, *gsum = NULL, *half = NULL, *move = NULL;
    int64_t *fail_idx = NULL;
    memset(run, 0, sizeof *run);
    const int64_t n = rows->nloc;
    const int P = rows->size;
    const dcx_dist *dist = rows->dist;
    const int64_t trials = 2 + (int64_t)floor(log((double)k));
    const int64_t width = k > trials ? k : trials;
    const int64_t kp = (width + 3) / 4 * 4;
    ws.x = x;
    ws.rows = rows;
    ws.n = n;
    ws.d = d;
    ws.k = k;
    ws.xsq = xsq;
    ws.kp = kp;
    pick_kernels(&ws);
    ws.ct = aligned_alloc(32, (size_t)(d * kp) * sizeof *ws.ct);
    ws.csq = aligned_alloc(32, (size_t)kp * sizeof *ws.csq);
    ws.buf = aligned_alloc(32, (size_t)(NPT * kp) * sizeof *ws.buf);
    /* float distances unless the squared norms come near float's range
     * (the error bound is relative to them; subnormals are covered by
     * δ's floor) */
    double xmax = 0;
    for (int64_t i = 0; i < n; i++) xmax = xsq[i] > xmax ? xsq[i] : xmax;
    int use32 = x32 && xmax < 1e30;
    ws.kp8 = (width + 7) / 8 * 8;
    ws.kc = ws.kp8 + PA;
    ws.kc = (ws.kc + 7) / 8 * 8;
    ws.eps32 = (double)(d + 16) * 0x1p-23;
    if (use32) {
        const int64_t np = km_np(n);
        ws.xp = km_panels(x32);
        ws.xpsq = ws.xp + np * d;
        if (d >= Q16_MIN_D) { /* the 16-bit form for the full passes */
            const float *qf = km_q16(x32, n, d);
            ws.xq16 = (const int16_t *)qf;
            ws.xs2 = qf + np * km_d2(d);
            ws.xeu = ws.xs2 + np;
            ws.xnu = ws.xeu + np;
            ws.cq16 = dcx__calloc((size_t)(k * 2 * km_d2(d)), sizeof *ws.cq16);
            ws.cs16 = dcx__calloc((size_t)ws.kp8, sizeof *ws.cs16);
            ws.ct16 = aligned_alloc(32, (size_t)(km_d2(d) * ws.kp8 * 2) * sizeof *ws.ct16);
        }
        x32 = ws.xpsq + np; /* the rows */
        ws.ct32 = aligned_alloc(32, (size_t)(d * ws.kp8) * sizeof *ws.ct32);
        ws.csq32 = aligned_alloc(32, (size_t)ws.kc * sizeof *ws.csq32);
        ws.buf32 = aligned_alloc(32, (size_t)(NPT * ws.kp8) * sizeof *ws.buf32);
        ws.pbuf = aligned_alloc(32, (size_t)(PW * ws.kc) * sizeof *ws.pbuf);
        ws.c32 = dcx__calloc((size_t)(ws.kc * d), sizeof *ws.c32);
        ws.prow = aligned_alloc(32, (size_t)(SEED_GROUP * PW * SEED_W) * sizeof *ws.prow);
        if (ws.prow) memset(ws.prow, 0, (size_t)(SEED_GROUP * PW * SEED_W) * sizeof *ws.prow);
        use32 = ws.ct32 && ws.csq32 && ws.buf32 && ws.pbuf && ws.c32 && ws.prow &&
                (!ws.xq16 || (ws.cq16 && ws.cs16 && ws.ct16));
        if (!use32) { /* double distances throughout */
            ws.xp = NULL;
            ws.xq16 = NULL;
        }
    }
    /* per point: the label and Hamerly's two bounds, 24 bytes (in the
     * scratch file when the caller's data are); u also serves as D² while
     * seeding and as the distances to the own centres when an empty
     * cluster is repaired, both before the bounds are (re)set */
    dcx_status big = dcx__big_calloc(&lab, n, sizeof *lab, scratch);
    if (big == DCX_OK) big = dcx__big_calloc(&u, n, sizeof *u, scratch);
    if (big == DCX_OK) big = dcx__big_calloc(&l, n, sizeof *l, scratch);
    int ok = big == DCX_OK && ws.ct && ws.csq && ws.buf && LOCAL_ALLOC(sz, k) && LOCAL_ALLOC(szl, k) &&
             LOCAL_ALLOC(cen, k * d) && LOCAL_ALLOC(cand, trials * d) && LOCAL_ALLOC(tp, (int64_t)P * trials) &&
             LOCAL_ALLOC(tot, P) && LOCAL_ALLOC(isc, P) && LOCAL_ALLOC(sums, k * d) &&
             LOCAL_ALLOC(gsum, k * d + k + 1) && LOCAL_ALLOC(half, k) && LOCAL_ALLOC(move, k) &&
             LOCAL_ALLOC(fail_idx, n < FILTER_BLOCK ? n : FILTER_BLOCK);
    DCX_TRY(dcx_dist_agree(dist, ok ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "k-means: out of memory")));
    const int q = restart;
    dcx_rng rng;
    dcx_rng_seed_stream(&rng, seed, (uint64_t)q);
    /* the candidates' distances of the seeding's first pass are kept for
     * its second (n x trials doubles) unless they would take more than
     * 32 MiB or the per-sample state lives in the scratch file */
    double *keep = NULL;
    int64_t *kidx = NULL;
    if (!scratch && n * trials <= ((int64_t)4 << 20)) {
        keep = dcx__calloc((size_t)(n * trials), sizeof *keep);
        kidx = dcx__calloc((size_t)n, sizeof *kidx);
        if (!kidx) {
            free(keep);
            keep = NULL;
        }
    }
    uint16_t *smask = keep ? dcx__calloc((size_t)n, sizeof *smask) : NULL;
    st = seed_plusplus(&ws, &rng, cen, u, cand, tp, tot, keep, kidx, smask);
    free(keep);
    free(kidx);
    free(smask);
    DCX_TRY(st);
    if (use32) ws.x32 = x32; /* from here on, the assignments */
    for (int64_t i = 0; i < n; i++) lab[i] = -1;
    int it, conv = 0, tighten = 1;
    double m1 = 0, m2 = 0; /* the two largest moves of the centres, the largest of am */
    int64_t am = -1;
    /* small k in many dimensions, where the bounds leave many points open:
     * every iteration a full pass without bounds (the 10,000 x 64
     * benchmark's three restarts: K = 2 25.5 -> 24.1 ms, K = 4 39.2 -> 36.1;
     * K = 8 slower; in 2 dimensions the bounds settle nearly every point
     * and the full passes made the 16,000 x 2 input 8 % slower) */
    const int path = __atomic_load_n(&km_path, __ATOMIC_RELAXED);
    const int lean = ws.x32 && k <= LEAN_K && d >= SEED_MIN_D && path == 0;
    for (it = 0; it < max_iter; it++) {
        int64_t changed = 0;
        load_centres(&ws, cen, k);
        if (lean) {
            assign_range32(&ws, 0, n, lab, u, l, sums, szl, &changed, 0);
        } else if (it == 0) {
            if (ws.x32) assign_range32(&ws, 0, n, lab, u, l, sums, szl, &changed, 1);
            else assign_points(&ws, NULL, n, lab, u, l, sums, szl, &changed);
        } else {
            /* Hamerly: a point whose upper bound u stays below both half
             * the distance from its centre to the nearest other centre
             * and the lower bound l on the second-nearest cannot move. */
            for (int64_t a = 0; a < k; a++) half[a] = INFINITY;
            for (int64_t a = 0; a < k; a++)
                for (int64_t b = a + 1; b < k; b++) {
                    double h = 0.5 * sqrt(dist2(cen + a * d, cen + b * d, d));
                    if (h < half[a]) half[a] = h;
                    if (h < half[b]) half[b] = h;
                }
            /* Tightening u to the distance (in float, δ of slack)
             * rescues many points in low dimension and few in high
             * dimension, where it only costs a pass over the data. It costs about one distance
             * and saves, for each point it rescues, a row of the kernel
             * (~kq8/8 distances' worth): it is kept while it rescues at
             * least a fraction 8/kq8 of the candidates (a quarter at K =
             * 32, all of them for K <= 8), and retried every 8th
             * iteration. Either way the assignments are Lloyd's. */
            int do_tight = tighten || it % 8 == 0;
            int64_t open = 0, rescued = 0; /* over the blocks on Hamerly's path */
            for (int64_t b0 = 0; b0 < n; b0 += FILTER_BLOCK) {
                const int64_t b1 = n - b0 < FILTER_BLOCK ? n : b0 + FILTER_BLOCK;
                int64_t nf = 0, n1 = 0;
                /* the bounds follow the centres' last moves, and the
                 * candidates are listed */
                n1 = ws.filt(lab, u, l, move, half, am, m1, m2, b0, b1, fail_idx);
                /* many candidates: all of the block's points from the panels */
                if (ws.x32 && path != 1 &&
                    (path == 2 || n1 * ((do_tight ? TIGHT_COST : 0) + OPEN_COST + ws.kq8 * CENTRE_COST(d)) >=
                                      (b1 - b0) * (POINT_COST + k * CENTRE_COST(d)))) {
                    assign_range32(&ws, b0, b1, lab, u, l, sums, szl, &changed, 1);
                    continue;
                }
                if (do_tight && ws.x32) { /* in float, δ of slack (the bound stays a bound) */
                    nf = ws.tight(x32, xsq, ws.c32, ws.csq32, lab, l, half, fail_idx, n1, d, ws.eps32, ws.cmax, u);
                    rescued += n1 - nf;
                } else if (do_tight) { /* in double */
                    for (int64_t t = 0; t < n1; t++) {
                        const int64_t i = fail_idx[t];
                        const double m = half[lab[i]] > l[i] ? half[lab[i]] : l[i];
                        u[i] = sqrt(dist2(x + i * d, cen + lab[i] * d, d));
                        fail_idx[nf] = i;
                        nf += !(u[i] <= m);
                    }
                    rescued += n1 - nf;
                } else {
                    nf = n1;
                }
                open += n1;
                /* the kernel reads the points in place: no gathering */
                assign_points(&ws, fail_idx, nf, lab, u, l, sums, szl, &changed);
            }
            if (do_tight) tighten = rescued * ws.kq8 >= 8 * open;
        }
        if (trace) {
            double jt;
            DCX_TRY(inertia_of(&ws, lab, cen, &jt));
            trace(trace_ctx, q, it, jt);
        }
        /* the centre sums, the sizes and the number of changed labels over
         * all ranks, in one all-reduce (counts as doubles: exact below 2^53) */
        memcpy(gsum, sums, (size_t)(k * d) * sizeof *gsum);
        for (int64_t a = 0; a < k; a++) gsum[k * d + a] = (double)szl[a];
        gsum[k * d + k] = (double)changed;
        DCX_TRY(dcx_dist_sum_f64(dist, gsum, k * d + k + 1));
        for (int64_t a = 0; a < k; a++) sz[a] = (int64_t)gsum[k * d + a];
        changed = (int64_t)gsum[k * d + k];
        if (it > 0 && changed == 0) {
            conv = 1;
            break;
        }
        /* update the centres from the running sums; move the bounds */
        int empty = 0;
        for (int64_t a = 0; a < k; a++) empty |= sz[a] == 0;
        if (empty) {
            DCX_TRY(update_centres(&ws, lab, cen, sz, u, tot, isc));
            memset(sums, 0, (size_t)(k * d) * sizeof *sums);
            memset(szl, 0, (size_t)k * sizeof *szl);
            for (int64_t i = 0; i < n; i++) {
                for (int64_t j = 0; j < d; j++) sums[lab[i] * d + j] += x[i * d + j];
                szl[lab[i]]++;
            }
            for (int64_t i = 0; i < n; i++) {
                u[i] = INFINITY;
                l[i] = 0;
            }
            memset(move, 0, (size_t)k * sizeof *move); /* nothing left to move by */
            m1 = m2 = 0;
            am = -1;
        } else { /* the bounds move with the next iteration's filter */
            m1 = m2 = 0;
            am = -1;
            for (int64_t a = 0; a < k; a++) {
                double inv = 1.0 / (double)sz[a], mv = 0;
                for (int64_t j = 0; j < d; j++) {
                    double c = gsum[a * d + j] * inv, t = c - cen[a * d + j];
                    mv += t * t;
                    cen[a * d + j] = c;
                }
                move[a] = mv = sqrt(mv);
                if (mv > m1) {
                    m2 = m1;
                    m1 = mv;
                    am = a;
                } else if (mv > m2) {
                    m2 = mv;
                }
            }
        }
    }
    /* final centres: exact means of the final labels (no running-sum drift) */
    DCX_TRY(update_centres(&ws, lab, cen, sz, u, tot, isc));
    double j;
    DCX_TRY(inertia_of(&ws, lab, cen, &j));
    if (!isfinite(j)) DCX_FAIL(DCX_ERR_NUMERIC, "k-means: non-finite inertia (overflow in the data?)");
    run->labels = lab;
    run->labels_big = 1;
    run->centres = cen;
    run->sizes = sz;
    lab = NULL;
    cen = NULL;
    sz = NULL;
    run->inertia = j;
    run->iterations = conv ? it + 1 : it;
    run->converged = conv;
fail:
    free(ws.csq);
    free(ws.ct);
    free(ws.buf);
    free(ws.csq32);
    free(ws.ct32);
    free(ws.buf32);
    free(ws.pbuf);
    free(ws.c32);
    free(ws.prow);
    free(ws.cq16);
    free(ws.cs16);
    free(ws.ct16);
    dcx__big_free(lab);
    free(sz);
    free(szl);
    free(isc);
    free(cen);
    free(cand);
    free(tp);
    free(tot);
    dcx__big_free(u);
    dcx__big_free(l);
    free(sums);
    free(gsum);
    free(half);
    free(move);
    free(fail_idx);
    return st;
}

typedef struct km_job {
    const double *x, *xsq;
    const float *x32;
    const dcx__rows *rows;
    int64_t n, d;
    const dcx_kmeans_params *p;
    dcx__km_run *runs; /* (restarts) */
} km_job;

static dcx_status km_task(void *ctx, int64_t t)
{
    km_job *jb = ctx;
    return dcx__kmeans_restart(jb->x, jb->x32, jb->xsq, jb->rows, jb->d, jb->p->k, jb->p->max_iter, jb->p->seed,
                               (int)t, 0, NULL, NULL, &jb->runs[t]);
}

dcx_status dcx__kmeans_f64(const double *x, int64_t n, int64_t d, const dcx_kmeans_params *p,
                           dcx_kmeans_result **out)
{
    dcx_status st = DCX_OK;
    dcx_kmeans_result *res = NULL;
    double *xsq = NULL;
    float *x32 = NULL;
    dcx__km_run *runs = NULL;
    dcx__rows rows = {0};
    *out = NULL;
    const int64_t k = p->k;
    if (k < 1 || k > n)
        DCX_FAIL(DCX_ERR_ARG, "k-means: k = %lld must be between 1 and the number of samples %lld",
                 (long long)k, (long long)n);
    if (p->restarts < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: restarts must be >= 1 (got %d)", p->restarts);
    if (p->max_iter < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: max_iter must be >= 1 (got %d)", p->max_iter);
    if (d < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: data has no columns");
    DCX_ALLOC(xsq, n);
    DCX_ALLOC(x32, dcx__km_floats_count(n, d));
    DCX_ALLOC(runs, p->restarts);
    DCX_TRY(dcx__rows_init(NULL, n, &rows)); /* one process holds all rows */
    row_norms(x, n, d, xsq);
    dcx__km_floats_fill(x, xsq, n, d, x32);
    if (p->trace) { /* the trace is called from the calling thread, in order */
        for (int q = 0; q < p->restarts; q++)
            DCX_TRY(dcx__kmeans_restart(x, x32, xsq, &rows, d, k, p->max_iter, p->seed, q, 0, p->trace,
                                        p->trace_ctx, &runs[q]));
    } else {
        km_job jb = {x, xsq, x32, &rows, n, d, p, runs};
        DCX_TRY(dcx__parallel_tasks(p->restarts, dcx_get_threads(), km_task, &jb, NULL, NULL));
    }
    int best = 0; /* lowest inertia; ties: the lower restart index */
    for (int q = 1; q < p->restarts; q++)
        if (runs[q].inertia < runs[best].inertia) best = q;
    DCX_ALLOC(res, 1);
    res->n = n;
    res->d = d;
    res->k = k;
    DCX_ALLOC(res->labels, n); /* the run's labels are a dcx__big_calloc buffer */
    memcpy(res->labels, runs[best].labels, (size_t)n * sizeof *res->labels);
    res->centres = runs[best].centres;
    res->sizes = runs[best].sizes;
    runs[best].centres = NULL;
    runs[best].sizes = NULL;
    res->inertia = runs[best].inertia;
    res->iterations = runs[best].iterations;
    res->converged = runs[best].converged;
    res->best_restart = best;
    *out = res;
    res = NULL;
fail:
    if (runs)
        for (int q = 0; q < p->restarts; q++) dcx__km_run_free(&runs[q]);
    free(runs);
    free(xsq);
    free(x32);
    dcx__rows_free(&rows);
    dcx_kmeans_free(res);
    return st;
}

void dcx__load_rows_f64(const dcx_matrix *m, int64_t i0, int64_t rows, double *dst)
{
    const int64_t c = m->cols;
    for (int64_t i = 0; i < rows; i++) {
        double *restrict out = dst + i * c;
        if (m->dtype == DCX_F32) {
            const float *restrict src = dcx_matrix_row(m, i0 + i);
            for (int64_t j = 0; j < c; j++) out[j] = (double)src[j];
        } else {
            memcpy(out, dcx_matrix_row(m, i0 + i), (size_t)c * sizeof *out);
        }
    }
}

dcx_status dcx__check_finite_rows(const double *a, int64_t i0, int64_t rows, int64_t cols, const char *what)
{
    for (int64_t i = 0; i < rows; i++) {
        const double *r = a + i * cols;
        /* x − x is 0 for a finite x and NaN otherwise; one test per row */
        double acc = 0;
        for (int64_t j = 0; j < cols; j++) acc += r[j] - r[j];
        if (acc == 0) continue;
        for (int64_t j = 0; j < cols; j++)
            if (!isfinite(r[j]))
                return dcx_set_error(DCX_ERR_NUMERIC, "%s: %s value at row %lld, column %lld", what,
                                     isnan(r[j]) ? "NaN" : "Inf", (long long)(i0 + i), (long long)j);
    }
    return DCX_OK;
}

dcx_status dcx__matrix_to_f64(const dcx_matrix *m, const char *what, double **out)
{
    dcx_status st = DCX_OK;
    double *a = NULL;
    *out = NULL;
    int64_t cnt;
    if (!dcx__mul_ok(m->rows, m->cols, &cnt)) DCX_FAIL(DCX_ERR_ARG, "%s: matrix too large", what);
    DCX_ALLOC(a, cnt > 0 ? cnt : 1);
    dcx__load_rows_f64(m, 0, m->rows, a);
    DCX_TRY(dcx__check_finite_rows(a, 0, m->rows, m->cols, what));
    *out = a;
    return DCX_OK;
fail:
    free(a);
    return st;
}

dcx_status dcx_kmeans(const dcx_matrix *x, const dcx_kmeans_params *p, dcx_kmeans_result **out)
{
    dcx_status st = DCX_OK;
    double *a = NULL;
    *out = NULL;
    if (!x || !p) DCX_FAIL(DCX_ERR_ARG, "k-means: NULL argument");
    DCX_TRY(dcx__matrix_to_f64(x, "k-means input", &a));
    DCX_TRY(dcx__kmeans_f64(a, x->rows, x->cols, p, out));
fail:
    free(a);
    return st;
}
