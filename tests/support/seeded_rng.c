/*
 * seeded_rng.c - see seeded_rng.h.
 *
 * The seeded source is xoshiro256** (Blackman and Vigna), its 256-bit state filled
 * from the 64-bit seed by splitmix64 as its authors recommend, so even seeds 0 and
 * 1 give unrelated, never all-zero states. Each 64-bit output is handed out
 * little-endian, a byte at a time; leftover bytes of an output are kept for the
 * next fill, so the stream does not depend on how callers slice it.
 */
#include "seeded_rng.h"

#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static int seeded_fill(void *ctx, uint8_t *out, size_t len)
{
    test_seeded_state *st = ctx;
    for (size_t i = 0; i < len; i++) {
        unsigned k = (unsigned)(st->drawn % 8);
        if (k == 0)
            st->word = xoshiro_next(st->s);
        out[i] = (uint8_t)(st->word >> (8 * k));
        st->drawn++;
    }
    return 0;
}

void test_rng_seeded(tern_rng *rng, test_seeded_state *st, uint64_t seed)
{
    memset(st, 0, sizeof *st);
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        st->s[i] = splitmix64(&x);
    rng->fill = seeded_fill;
    rng->ctx = st;
}

static int fixed_fill(void *ctx, uint8_t *out, size_t len)
{
    test_fixed_state *st = ctx;
    if (len > st->len - st->pos)
        return -1;
    if (len > 0)
        memcpy(out, st->bytes + st->pos, len);
    st->pos += len;
    return 0;
}

void test_rng_fixed(tern_rng *rng, test_fixed_state *st, const uint8_t *bytes, size_t len)
{
    st->bytes = bytes;
    st->len = len;
    st->pos = 0;
    rng->fill = fixed_fill;
    rng->ctx = st;
}
