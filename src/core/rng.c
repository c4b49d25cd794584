/* rng.c — xoshiro256** 1.0 (D. Blackman, S. Vigna, "Scrambled linear
 * pseudorandom number generators", 2018), seeded with splitmix64.
 * Normals by the Box–Muller transform; bounded integers by Lemire's
 * multiply-and-reject method (unbiased). */
#include <math.h>

#include "../internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void dcx_rng_seed(dcx_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

void dcx_rng_seed_stream(dcx_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number through splitmix64 before combining it, so that
     * consecutive (seed, stream) pairs give unrelated states. */
    uint64_t x = stream ^ 0xD1B54A32D192ED03ULL;
    uint64_t mixed = splitmix64(&x);
    dcx_rng_seed(r, seed ^ mixed);
}

uint64_t dcx_rng_u64(dcx_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double dcx_rng_uniform(dcx_rng *r) { return (double)(dcx_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t dcx_rng_below(dcx_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    unsigned __int128 m = (unsigned __int128)dcx_rng_u64(r) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            m = (unsigned __int128)dcx_rng_u64(r) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double dcx_rng_normal(dcx_rng *r)
{
    double u1;
    do u1 = dcx_rng_uniform(r);
    while (u1 <= 0.0);
    double u2 = dcx_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void dcx_rng_shuffle_i64(dcx_rng *r, int64_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)dcx_rng_below(r, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
