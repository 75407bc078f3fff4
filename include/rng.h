/* rng.h — seeded random numbers: a sequential generator for init and data sampling, and a
 * counter-based hash for dropout masks.
 *
 * The sequential generator is xoshiro256** seeded through splitmix64; its whole state is four
 * words, so a checkpoint can store it and a resumed run continues the exact same stream. Nothing
 * here reads the clock: the same seed always gives the same numbers.
 *
 * Dropout needs millions of bits per step, made by several threads, and identical whatever the
 * thread count. drop_hash(key, i) depends only on a per-(step, site) key and the element index,
 * so any thread can make any element's bit, and backward can remake the mask instead of storing it.
 */
#ifndef MINGPT_RNG_H
#define MINGPT_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} Rng;

static inline uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
/* Uniform in [0, 1) with 24 bits, exactly representable as a float. */
float rng_uniform(Rng *r);
/* Standard normal (Box-Muller in double precision). */
float rng_normal(Rng *r);
/* Uniform integer in [0, n), unbiased; n must be > 0. */
uint64_t rng_below(Rng *r, uint64_t n);
/* Fills perm[0..n) with a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void rng_permutation(Rng *r, int64_t *perm, size_t n);

/* 32-bit avalanche hash of (key, index) for dropout; see the file comment. */
static inline uint32_t drop_hash(uint32_t key, uint32_t index) {
    uint32_t x = index * 0x9E3779B9u ^ key;
    x ^= x >> 16;
    x *= 0x21F0AAADu;
    x ^= x >> 15;
    x *= 0x735A2D97u;
    x ^= x >> 15;
    return x;
}

/* Key for one dropout site in one forward pass. */
static inline uint32_t drop_key(uint64_t seed, uint64_t pass, uint32_t site) {
    uint64_t x = seed ^ (pass * 0xD1B54A32D192ED03ull) ^ ((uint64_t)site << 40);
    return (uint32_t)(splitmix64(&x) >> 32);
}

#endif
