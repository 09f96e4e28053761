/* Small seeded generator (xorshift64*) so runs with --seed repeat exactly. */
#ifndef CS_RNG_H
#define CS_RNG_H
#include <math.h>
#include <stdint.h>

typedef struct { uint64_t s; } cs_rng;

static inline void cs_rng_seed(cs_rng *r, unsigned long seed) { r->s = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1; }

static inline uint64_t cs_rng_next(cs_rng *r)
{
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1). */
static inline float cs_rng_uniform(cs_rng *r) { return (float)((cs_rng_next(r) >> 40) * (1.0 / 16777216.0)); }

static inline float cs_rng_normal(cs_rng *r)
{
    float u = cs_rng_uniform(r) + 1e-7f, v = cs_rng_uniform(r);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}
#endif
