/*
 * test_vec_snmask.c - the DTLS 1.3 record-number mask (RFC 9147 4.2.3) against
 * block-cipher vectors (tests/vectors/snmask.vec): AES-ECB single blocks for the AES
 * AEADs, ChaCha20 keystream blocks for ChaCha20-Poly1305, which also pins the layout
 * of the sample (counter little-endian in bytes 0-3, nonce in bytes 4-15).
 */
#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

static int mask_case(const vec_case *c, void *ctx)
{
    (void)ctx;
    const char *cipher = vec_str(c, "cipher");
    tern_aead_alg algs[3];
    size_t nalgs = 0;
    if (cipher != NULL && strcmp(cipher, "AES-128") == 0) {
        /* every AES-128 AEAD masks with AES-128-ECB */
        algs[nalgs++] = TERN_AEAD_AES_128_GCM;
        algs[nalgs++] = TERN_AEAD_AES_128_CCM;
        algs[nalgs++] = TERN_AEAD_AES_128_CCM_8;
    } else if (cipher != NULL && strcmp(cipher, "AES-256") == 0) {
        algs[nalgs++] = TERN_AEAD_AES_256_GCM;
    } else if (cipher != NULL && strcmp(cipher, "CHACHA20") == 0) {
        algs[nalgs++] = TERN_AEAD_CHACHA20_POLY1305;
    }
    VCHECK(c, nalgs > 0);
    uint8_t key[32], sample[16], want[16], got[16], other[16] = {0xff};
    long klen = vec_hex_into(c, "key", key, sizeof key);
    VCHECK(c, klen >= 0 && vec_hex_into(c, "sample", sample, 16) == 16);
    VCHECK(c, vec_hex_into(c, "mask", want, 16) == 16);

    for (size_t i = 0; i < nalgs; i++) {
        VCHECK(c, (size_t)klen == tern_aead_key_len(algs[i]));
        tern_snmask *m = NULL;
        VCHECK(c, tern_snmask_new(algs[i], key, &m) == TERN_OK);
        bool ok = tern_snmask_apply(m, sample, got) == TERN_OK && memcmp(got, want, 16) == 0;
        /* no state carried from one mask to the next */
        ok = ok && tern_snmask_apply(m, other, got) == TERN_OK && memcmp(got, want, 16) != 0;
        ok = ok && tern_snmask_apply(m, sample, got) == TERN_OK && memcmp(got, want, 16) == 0;
        /* the mask may overwrite the sample */
        memcpy(got, sample, 16);
        ok = ok && tern_snmask_apply(m, got, got) == TERN_OK && memcmp(got, want, 16) == 0;
        tern_snmask_free(m);
        VCHECK(c, ok);
    }
    return 0;
}

TEST(snmask_block_vectors)
{
    size_t n = 0;
    CHECK_EQ(vec_foreach("snmask.vec", mask_case, NULL, &n), 0);
    CHECK_EQ(n, 12); /* FIPS 197 C.1, C.3; SP 800-38A x2; RFC 8439 2.3.2, 2.4.2 x2, A.1 x5 */
}

TEST(snmask_unknown_alg)
{
    uint8_t key[32] = {0};
    tern_snmask *m = NULL;
    CHECK_ERR(tern_snmask_new((tern_aead_alg)99, key, &m), TERN_ERR_UNSUPPORTED);
    CHECK(m == NULL);
    tern_snmask_free(NULL);
}
