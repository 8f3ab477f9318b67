/*
 * test_vec_hmac.c - HMAC-SHA-256 and HMAC-SHA-384 against RFC 4231
 * (tests/vectors/hmac.vec), with the message in one part and split in three.
 */
#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

static int hmac_case(const vec_case *c, void *ctx)
{
    (void)ctx;
    tern_hash_alg alg;
    uint8_t key[256], msg[256], want[TERN_HASH_MAX_LEN], got[TERN_HASH_MAX_LEN];
    VCHECK(c, vec_hash_alg(c, "hash", &alg));
    long klen = vec_hex_into(c, "key", key, sizeof key);
    long mlen = vec_hex_into(c, "msg", msg, sizeof msg);
    long wlen = vec_hex_into(c, "mac", want, sizeof want);
    VCHECK(c, klen >= 0 && mlen >= 0 && wlen >= 0);
    /* RFC 4231 4.6 publishes only the leftmost 128 bits; the field says so. */
    long cmp = vec_int(c, "truncated", (long)tern_hash_len(alg));
    VCHECK(c, cmp == wlen);

    tern_iov one = {msg, (size_t)mlen};
    VCHECK(c, tern_hmac(alg, key, (size_t)klen, &one, 1, got) == TERN_OK);
    VCHECK_MEM(c, got, want, (size_t)cmp);

    size_t a = (size_t)mlen / 3, b = (size_t)mlen / 2;
    tern_iov three[3] = {{msg, a}, {msg + a, b - a}, {msg + b, (size_t)mlen - b}};
    memset(got, 0, sizeof got);
    VCHECK(c, tern_hmac(alg, key, (size_t)klen, three, 3, got) == TERN_OK);
    VCHECK_MEM(c, got, want, (size_t)cmp);
    return 0;
}

TEST(hmac_rfc4231)
{
    size_t n = 0;
    CHECK_EQ(vec_foreach("hmac.vec", hmac_case, NULL, &n), 0);
    CHECK_EQ(n, 14); /* test cases 1-7, SHA-256 and SHA-384 each */
}
