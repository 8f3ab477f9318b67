/*
 * test_vec_hkdf.c - HKDF-Extract and HKDF-Expand against RFC 5869 Appendix A
 * (tests/vectors/hkdf.vec).
 */
#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

static int hkdf_case(const vec_case *c, void *ctx)
{
    (void)ctx;
    tern_hash_alg alg;
    uint8_t ikm[128], salt[128], info[128], prk[TERN_HASH_MAX_LEN], okm[128];
    uint8_t got_prk[TERN_HASH_MAX_LEN], got_okm[128];
    VCHECK(c, vec_hash_alg(c, "hash", &alg));
    long ikmlen = vec_hex_into(c, "ikm", ikm, sizeof ikm);
    long saltlen = vec_hex_into(c, "salt", salt, sizeof salt);
    long infolen = vec_hex_into(c, "info", info, sizeof info);
    long prklen = vec_hex_into(c, "prk", prk, sizeof prk);
    long okmlen = vec_hex_into(c, "okm", okm, sizeof okm);
    VCHECK(c, ikmlen >= 0 && saltlen >= 0 && infolen >= 0 && prklen >= 0 && okmlen >= 0);
    VCHECK(c, vec_int(c, "len", -1) == okmlen);
    VCHECK(c, (size_t)prklen == tern_hash_len(alg));

    VCHECK(c,
           tern_hkdf_extract(alg, salt, (size_t)saltlen, ikm, (size_t)ikmlen, got_prk) == TERN_OK);
    VCHECK_MEM(c, got_prk, prk, (size_t)prklen);
    if (saltlen == 0) {
        /* crypto.h: a NULL salt means the same as an empty one */
        memset(got_prk, 0, sizeof got_prk);
        VCHECK(c, tern_hkdf_extract(alg, NULL, 0, ikm, (size_t)ikmlen, got_prk) == TERN_OK);
        VCHECK_MEM(c, got_prk, prk, (size_t)prklen);
    }
    VCHECK(c, tern_hkdf_expand(alg, prk, (size_t)prklen, info, (size_t)infolen, got_okm,
                               (size_t)okmlen) == TERN_OK);
    VCHECK_MEM(c, got_okm, okm, (size_t)okmlen);
    return 0;
}

TEST(hkdf_rfc5869)
{
    size_t n = 0;
    CHECK_EQ(vec_foreach("hkdf.vec", hkdf_case, NULL, &n), 0);
    CHECK_EQ(n, 3);
}
