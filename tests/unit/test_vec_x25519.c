/*
 * test_vec_x25519.c - X25519 key exchange against RFC 7748 §5.2 and §6.1
 * (tests/vectors/x25519.vec), through tern_kex with the private key fed by a
 * fixed-bytes rng.
 */
#include "crypto/crypto.h"
#include "seeded_rng.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

/* X25519(k, u) through tern_kex: k is the private key, u the peer's share. The
 * public share X25519(k, 9) goes to |pub|. */
static tern_err x25519(const uint8_t k[32], const uint8_t u[32], uint8_t pub[32], uint8_t out[32])
{
    tern_rng rng;
    test_fixed_state src;
    test_rng_fixed(&rng, &src, k, 32);
    tern_kex *kex = NULL;
    size_t publen = 0, outlen = 0;
    tern_err err = tern_kex_new(TERN_GROUP_X25519, &rng, &kex);
    if (err == TERN_OK)
        err = tern_kex_public(kex, pub, 32, &publen);
    if (err == TERN_OK)
        err = tern_kex_derive(kex, u, 32, out, 32, &outlen);
    tern_kex_free(kex);
    if (err == TERN_OK && (publen != 32 || outlen != 32 || src.pos != 32))
        err = TERN_ERR_INTERNAL;
    return err;
}

/* RFC 7748 §5.2: start with k = u = 9; each iteration sets k to X25519(k, u) and
 * u to the old k. */
static tern_err iterate(long n, uint8_t k[32])
{
    uint8_t u[32] = {9}, r[32], pub[32];
    memset(k, 0, 32);
    k[0] = 9;
    for (long i = 0; i < n; i++) {
        tern_err err = x25519(k, u, pub, r);
        if (err != TERN_OK)
            return err;
        memcpy(u, k, 32);
        memcpy(k, r, 32);
    }
    return TERN_OK;
}

static int x25519_case(const vec_case *c, void *ctx)
{
    size_t *iterated = ctx;
    uint8_t want[32], got[32], scalar[32], peer[32], pub[32], got_pub[32];
    VCHECK(c, vec_hex_into(c, "out", want, sizeof want) == 32);

    long n = vec_int(c, "iterations", 0);
    if (n > 0) {
        VCHECK(c, iterate(n, got) == TERN_OK);
        VCHECK_MEM(c, got, want, 32);
        (*iterated)++;
        return 0;
    }
    VCHECK(c, vec_hex_into(c, "scalar", scalar, sizeof scalar) == 32);
    VCHECK(c, vec_hex_into(c, "peer", peer, sizeof peer) == 32);
    VCHECK(c, x25519(scalar, peer, got_pub, got) == TERN_OK);
    VCHECK_MEM(c, got, want, 32);
    if (vec_str(c, "pub") != NULL) {
        VCHECK(c, vec_hex_into(c, "pub", pub, sizeof pub) == 32);
        VCHECK_MEM(c, got_pub, pub, 32);
    }
    return 0;
}

TEST(x25519_rfc7748)
{
    size_t n = 0, iterated = 0;
    CHECK_EQ(vec_foreach("x25519.vec", x25519_case, &iterated, &n), 0);
    CHECK_EQ(n, 6);
    CHECK_EQ(iterated, 2);
}
