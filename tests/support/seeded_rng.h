/*
 * seeded_rng.h - deterministic tern_rng sources for tests.
 *
 * Protocol code takes its randomness through a `const tern_rng *` (NULL means the
 * backend's CSPRNG). Tests install one of these instead, so a run can be repeated
 * exactly from its seed, or so a published vector can fix a "random" value such
 * as an ephemeral private key. Neither is cryptographic: never use them outside
 * tests.
 *
 * Both keep their state in a struct the caller owns (usually on the stack); the
 * tern_rng they fill points at that state, so the state must outlive every use
 * of the rng. Neither allocates, and neither needs to be freed.
 */
#ifndef TERN_TEST_SEEDED_RNG_H
#define TERN_TEST_SEEDED_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

/* State of a seeded generator: xoshiro256** seeded through splitmix64. */
typedef struct test_seeded_state {
    uint64_t s[4];  /* generator state */
    uint64_t word;  /* the current 64-bit output, handed out a byte at a time */
    uint64_t drawn; /* bytes handed out so far */
} test_seeded_state;

/* Make |rng| an endless deterministic source: the byte stream depends only on
 * |seed| (the same seed gives the same bytes, in any sequence of fill sizes,
 * since bytes are handed out in order from one stream). Its fill never fails. */
void test_rng_seeded(tern_rng *rng, test_seeded_state *st, uint64_t seed);

/* State of a fixed source. |bytes| is not copied: it must outlive the rng. */
typedef struct test_fixed_state {
    const uint8_t *bytes;
    size_t len;
    size_t pos; /* bytes handed out so far */
} test_fixed_state;

/* Make |rng| hand out exactly the |len| bytes at |bytes|, in order, then fail: a
 * fill asking for more than what is left writes nothing and returns -1 (tern
 * reports TERN_ERR_RNG). Use it to fix the private key of a published vector;
 * check `st->pos == len` afterwards to prove every byte was consumed. */
void test_rng_fixed(tern_rng *rng, test_fixed_state *st, const uint8_t *bytes, size_t len);

#endif
