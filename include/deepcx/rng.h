/* deepcx/rng.h — explicit, seedable random number generator.
 *
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64. There is no
 * global generator: every function that needs randomness takes a dcx_rng *.
 * The state is a plain value (copy it to fork a reproducible stream). */
#ifndef DEEPCX_RNG_H
#define DEEPCX_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_rng {
    uint64_t s[4];
} dcx_rng;

/* Seed the generator; any 64-bit seed (0 included) gives a valid state. */
void dcx_rng_seed(dcx_rng *r, uint64_t seed);

/* Seed an independent stream `stream` derived from `seed` (e.g. one stream per
 * restart or per purpose) so that results do not depend on call order. */
void dcx_rng_seed_stream(dcx_rng *r, uint64_t seed, uint64_t stream);

uint64_t dcx_rng_u64(dcx_rng *r);
/* Uniform double in [0, 1), 53 random bits. */
double dcx_rng_uniform(dcx_rng *r);
/* Uniform integer in [0, n), unbiased; n must be > 0. */
uint64_t dcx_rng_below(dcx_rng *r, uint64_t n);
/* Standard normal (Box–Muller, no cached second value). */
double dcx_rng_normal(dcx_rng *r);
/* Fisher–Yates shuffle of idx[0..n). */
void dcx_rng_shuffle_i64(dcx_rng *r, int64_t *idx, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
