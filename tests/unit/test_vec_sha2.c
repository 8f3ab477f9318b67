/*
 * test_vec_sha2.c - SHA-256 and SHA-384 against the FIPS 180 examples
 * (tests/vectors/sha2.vec), one-shot and incremental.
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

static int sha2_case(const vec_case *c, void *ctx)
{
    (void)ctx;
    tern_hash_alg alg;
    uint8_t msg[256], want[TERN_HASH_MAX_LEN], got[TERN_HASH_MAX_LEN];
    VCHECK(c, vec_hash_alg(c, "hash", &alg));
    long len = vec_hex_into(c, "msg", msg, sizeof msg);
    long dlen = vec_hex_into(c, "digest", want, sizeof want);
    long repeat = vec_int(c, "repeat", 1);
    VCHECK(c, len >= 0 && dlen >= 0 && repeat >= 1);
    VCHECK(c, (size_t)dlen == tern_hash_len(alg));

    /* Incremental, one repetition per update (the million-'a' case makes a
     * million small updates, crossing block boundaries everywhere). */
    tern_hash *h = NULL;
    VCHECK(c, tern_hash_new(alg, &h) == TERN_OK);
    bool ok = true;
    for (long i = 0; i < repeat && ok; i++)
        ok = tern_hash_update(h, msg, (size_t)len) == TERN_OK;
    ok = ok && tern_hash_peek(h, got) == TERN_OK;
    tern_hash_free(h);
    VCHECK(c, ok);
    VCHECK_MEM(c, got, want, (size_t)dlen);

    /* One shot over the whole message. */
    size_t total = (size_t)len * (size_t)repeat;
    uint8_t *all = malloc(total + 1);
    VCHECK(c, all != NULL);
    for (long i = 0; i < repeat; i++)
        memcpy(all + (size_t)i * (size_t)len, msg, (size_t)len);
    memset(got, 0, sizeof got);
    ok = tern_hash_once(alg, all, total, got) == TERN_OK;
    free(all);
    VCHECK(c, ok);
    VCHECK_MEM(c, got, want, (size_t)dlen);
    return 0;
}

TEST(sha2_fips180_examples)
{
    size_t n = 0;
    CHECK_EQ(vec_foreach("sha2.vec", sha2_case, NULL, &n), 0);
    CHECK_EQ(n, 8);
}
