/*
 * test_crypto_sym.c - properties of the symmetric provider functions that published
 * vectors do not cover: round trips, in-place operation, failure paths.
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "test.h"

static const tern_aead_alg all_aeads[] = {
    TERN_AEAD_AES_128_GCM, TERN_AEAD_AES_256_GCM, TERN_AEAD_CHACHA20_POLY1305,
    TERN_AEAD_AES_128_CCM, TERN_AEAD_AES_128_CCM_8,
};
#define NAEADS (sizeof all_aeads / sizeof all_aeads[0])

TEST(random_fills_and_ct_equal)
{
    uint8_t a[64] = {0}, b[64] = {0};
    CHECK_OK(tern_random(NULL, a, sizeof a));
    CHECK_OK(tern_random(NULL, b, sizeof b));
    CHECK(!tern_ct_equal(a, b, sizeof a)); /* 2^-512 chance of a false failure */
    memcpy(b, a, sizeof a);
    CHECK(tern_ct_equal(a, b, sizeof a));
    b[63] ^= 1;
    CHECK(!tern_ct_equal(a, b, sizeof a));
    CHECK(tern_ct_equal(a, b, 0));
    tern_wipe(a, sizeof a);
    static const uint8_t zero[64];
    CHECK_MEM(a, zero, sizeof a);
}

static int failing_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx, (void)out, (void)len;
    return -1;
}

TEST(random_reports_rng_failure)
{
    tern_rng rng = {failing_fill, NULL};
    uint8_t x[4];
    CHECK_ERR(tern_random(&rng, x, sizeof x), TERN_ERR_RNG);
}

/* Seal then open every AEAD over several lengths (empty included), separately and
 * in place; a second key must not open what the first sealed. */
TEST(aead_round_trip_all)
{
    uint8_t key[32], key2[32], nonce[12], aad[13], msg[300], ct[316], pt[316];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)i, key2[i] = (uint8_t)(i + 1);
    memset(nonce, 0xa5, sizeof nonce);
    memset(aad, 0x17, sizeof aad);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7);
    static const size_t lens[] = {0, 1, 15, 16, 17, 64, 300};

    for (size_t k = 0; k < NAEADS; k++) {
        tern_aead *a = NULL, *b = NULL;
        CHECK_OK(tern_aead_new(all_aeads[k], key, &a));
        CHECK_OK(tern_aead_new(all_aeads[k], key2, &b));
        CHECK_EQ(tern_aead_alg_of(a), all_aeads[k]);
        size_t tag = tern_aead_tag_len(all_aeads[k]);
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t len = lens[l], outlen = 0;
            nonce[0] = (uint8_t)l;
            CHECK_OK(tern_aead_seal(a, nonce, aad, sizeof aad, msg, len, ct));
            CHECK_OK(tern_aead_open(a, nonce, aad, sizeof aad, ct, len + tag, pt, &outlen));
            CHECK_EQ(outlen, len);
            CHECK_MEM(pt, msg, len);
            CHECK_ERR(tern_aead_open(b, nonce, aad, sizeof aad, ct, len + tag, pt, &outlen),
                      TERN_ERR_BAD_MAC);
            /* in place, without AAD */
            memcpy(pt, msg, len);
            CHECK_OK(tern_aead_seal(a, nonce, NULL, 0, pt, len, pt));
            CHECK_OK(tern_aead_open(a, nonce, NULL, 0, pt, len + tag, pt, &outlen));
            CHECK_EQ(outlen, len);
            CHECK_MEM(pt, msg, len);
        }
        tern_aead_free(a);
        tern_aead_free(b);
    }
}

TEST(aead_short_input_is_bad_mac)
{
    uint8_t key[32] = {0}, nonce[12] = {0}, buf[16] = {0}, out[16];
    size_t outlen;
    for (size_t k = 0; k < NAEADS; k++) {
        tern_aead *a = NULL;
        CHECK_OK(tern_aead_new(all_aeads[k], key, &a));
        size_t tag = tern_aead_tag_len(all_aeads[k]);
        CHECK_ERR(tern_aead_open(a, nonce, NULL, 0, buf, tag - 1, out, &outlen),
                  TERN_ERR_BAD_MAC);
        CHECK_ERR(tern_aead_open(a, nonce, NULL, 0, buf, 0, out, &outlen), TERN_ERR_BAD_MAC);
        /* a failed open leaves the object usable */
        CHECK_OK(tern_aead_seal(a, nonce, NULL, 0, NULL, 0, buf));
        CHECK_OK(tern_aead_open(a, nonce, NULL, 0, buf, tag, out, &outlen));
        CHECK_EQ(outlen, 0);
        tern_aead_free(a);
    }
}

TEST(aead_lengths_and_unknown_alg)
{
    CHECK_EQ(tern_aead_key_len(TERN_AEAD_AES_128_GCM), 16);
    CHECK_EQ(tern_aead_key_len(TERN_AEAD_AES_256_GCM), 32);
    CHECK_EQ(tern_aead_key_len(TERN_AEAD_CHACHA20_POLY1305), 32);
    CHECK_EQ(tern_aead_key_len(TERN_AEAD_AES_128_CCM), 16);
    CHECK_EQ(tern_aead_key_len(TERN_AEAD_AES_128_CCM_8), 16);
    CHECK_EQ(tern_aead_tag_len(TERN_AEAD_AES_128_CCM), 16);
    CHECK_EQ(tern_aead_tag_len(TERN_AEAD_AES_128_CCM_8), 8);
    CHECK_EQ(tern_aead_tag_len(TERN_AEAD_CHACHA20_POLY1305), 16);
    CHECK_EQ(tern_aead_key_len((tern_aead_alg)99), 0);
    uint8_t key[32] = {0};
    tern_aead *a = NULL;
    CHECK_ERR(tern_aead_new((tern_aead_alg)99, key, &a), TERN_ERR_UNSUPPORTED);
    CHECK(a == NULL);
    tern_aead_free(NULL);
}
