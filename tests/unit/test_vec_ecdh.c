/*
 * test_vec_ecdh.c - ECDH on P-256 and P-384 against RFC 5903 §8.1 and §8.2
 * (tests/vectors/ecdh.vec), through tern_kex with the private scalar fed by a
 * fixed-bytes rng: both public shares and the shared x coordinate must match.
 */
#include "crypto/crypto.h"
#include "seeded_rng.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

static int ecdh_case(const vec_case *c, void *ctx)
{
    size_t *per_group = ctx;
    const char *name = vec_str(c, "group");
    tern_group g;
    if (name != NULL && strcmp(name, "P-256") == 0) {
        g = TERN_GROUP_SECP256R1;
        per_group[0]++;
    } else if (name != NULL && strcmp(name, "P-384") == 0) {
        g = TERN_GROUP_SECP384R1;
        per_group[1]++;
    } else {
        VCHECK(c, !"group is P-256 or P-384");
        return 0;
    }
    size_t flen = g == TERN_GROUP_SECP256R1 ? 32 : 48;
    uint8_t priv[48], pub[97], peer[97], shared[48];
    VCHECK(c, vec_hex_into(c, "priv", priv, sizeof priv) == (long)flen);
    VCHECK(c, vec_hex_into(c, "pub", pub, sizeof pub) == (long)tern_kex_share_len(g));
    VCHECK(c, vec_hex_into(c, "peer", peer, sizeof peer) == (long)tern_kex_share_len(g));
    VCHECK(c, vec_hex_into(c, "shared", shared, sizeof shared) == (long)flen);

    tern_rng rng;
    test_fixed_state src;
    test_rng_fixed(&rng, &src, priv, flen);
    tern_kex *k = NULL;
    uint8_t got_pub[TERN_KEX_MAX_SHARE_LEN], got[TERN_KEX_MAX_SECRET_LEN];
    size_t publen = 0, outlen = 0;
    tern_err e1 = tern_kex_new(g, &rng, &k), e2 = TERN_ERR_INTERNAL, e3 = TERN_ERR_INTERNAL;
    if (e1 == TERN_OK) {
        e2 = tern_kex_public(k, got_pub, sizeof got_pub, &publen);
        e3 = tern_kex_derive(k, peer, tern_kex_share_len(g), got, sizeof got, &outlen);
        tern_kex_free(k);
    }
    VCHECK(c, e1 == TERN_OK && e2 == TERN_OK && e3 == TERN_OK);
    VCHECK(c, src.pos == flen); /* the scalar was taken as drawn: one draw, no rejection */
    VCHECK(c, publen == tern_kex_share_len(g) && outlen == flen);
    VCHECK_MEM(c, got_pub, pub, publen);
    VCHECK_MEM(c, got, shared, flen);
    return 0;
}

TEST(ecdh_rfc5903)
{
    size_t n = 0, per_group[2] = {0, 0};
    CHECK_EQ(vec_foreach("ecdh.vec", ecdh_case, per_group, &n), 0);
    CHECK_EQ(n, 4);
    CHECK_EQ(per_group[0], 2);
    CHECK_EQ(per_group[1], 2);
}
