/*
 * test_vec_tls12_prf.c - the TLS 1.2 PRF (P_SHA256, P_SHA384) against the vectors
 * from the IETF TLS list (tests/vectors/tls12_prf.vec), at full length and cut
 * short (a shorter output must be a prefix of the longer one).
 */
#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

static int prf_case(const vec_case *c, void *ctx)
{
    (void)ctx;
    tern_hash_alg alg;
    uint8_t secret[64], seed[64], label[64], want[256], got[256];
    VCHECK(c, vec_hash_alg(c, "hash", &alg));
    long slen = vec_hex_into(c, "secret", secret, sizeof secret);
    long seedlen = vec_hex_into(c, "seed", seed, sizeof seed);
    long llen = vec_hex_into(c, "label", label, sizeof label - 1);
    long olen = vec_hex_into(c, "out", want, sizeof want);
    VCHECK(c, slen >= 0 && seedlen >= 0 && llen >= 0 && olen > 0);
    label[llen] = '\0';
    VCHECK(c, strlen((const char *)label) == (size_t)llen);

    static const size_t cuts[] = {0, 1, 31, 32, 33, 48, 49};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t n = cuts[i] < (size_t)olen ? cuts[i] : (size_t)olen;
        memset(got, 0xee, sizeof got);
        VCHECK(c, tern_tls12_prf(alg, secret, (size_t)slen, (const char *)label, seed,
                                 (size_t)seedlen, got, n) == TERN_OK);
        VCHECK_MEM(c, got, want, n);
        VCHECK(c, got[n] == 0xee); /* nothing written past the requested length */
    }
    VCHECK(c, tern_tls12_prf(alg, secret, (size_t)slen, (const char *)label, seed, (size_t)seedlen,
                             got, (size_t)olen) == TERN_OK);
    VCHECK_MEM(c, got, want, (size_t)olen);
    return 0;
}

TEST(tls12_prf_ietf_vectors)
{
    size_t n = 0;
    CHECK_EQ(vec_foreach("tls12_prf.vec", prf_case, NULL, &n), 0);
    CHECK_EQ(n, 2);
}
