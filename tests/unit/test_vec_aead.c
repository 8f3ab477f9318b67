/*
 * test_vec_aead.c - the five AEADs against published vectors: AES-GCM
 * (tests/vectors/aead_gcm.vec), AES-CCM and CCM_8 (aead_ccm.vec) and
 * ChaCha20-Poly1305 (aead_chacha20poly1305.vec).
 *
 * For every vector: seal gives ct || tag, separately and in place; open gives the
 * plaintext back, separately and in place; and open fails with TERN_ERR_BAD_MAC when
 * one bit of the ciphertext, the tag, the AAD or the nonce is flipped. A vector
 * marked result=fail (a published forgery) must not open.
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

#define BUF 512

static bool aead_alg(const char *name, tern_aead_alg *alg)
{
    static const struct {
        const char *name;
        tern_aead_alg alg;
    } names[] = {
        {"AES-128-GCM", TERN_AEAD_AES_128_GCM},
        {"AES-256-GCM", TERN_AEAD_AES_256_GCM},
        {"CHACHA20-POLY1305", TERN_AEAD_CHACHA20_POLY1305},
        {"AES-128-CCM", TERN_AEAD_AES_128_CCM},
        {"AES-128-CCM-8", TERN_AEAD_AES_128_CCM_8},
    };
    for (size_t i = 0; name != NULL && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *alg = names[i].alg;
            return true;
        }
    }
    return false;
}

/* Open must fail with TERN_ERR_BAD_MAC. */
static bool rejects(tern_aead *a, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                    const uint8_t *sealed, size_t len)
{
    uint8_t out[BUF];
    size_t outlen = 0;
    return tern_aead_open(a, nonce, aad, aadlen, sealed, len, out, &outlen) == TERN_ERR_BAD_MAC;
}

static int aead_case(const vec_case *c, void *ctx)
{
    size_t *opened = ctx;
    tern_aead_alg alg;
    uint8_t key[32], nonce[12], aad[BUF], pt[BUF], ct[BUF], tag[16];
    VCHECK(c, aead_alg(vec_str(c, "alg"), &alg));
    long klen = vec_hex_into(c, "key", key, sizeof key);
    long nlen = vec_hex_into(c, "nonce", nonce, sizeof nonce);
    long alen = vec_hex_into(c, "aad", aad, sizeof aad);
    long clen = vec_hex_into(c, "ct", ct, sizeof ct);
    long tlen = vec_hex_into(c, "tag", tag, sizeof tag);
    VCHECK(c, klen >= 0 && nlen >= 0 && alen >= 0 && clen >= 0 && tlen >= 0);
    VCHECK(c, (size_t)klen == tern_aead_key_len(alg));
    VCHECK(c, nlen == TERN_AEAD_NONCE_LEN);
    VCHECK(c, (size_t)tlen == tern_aead_tag_len(alg));

    size_t len = (size_t)clen, taglen = (size_t)tlen, aadlen = (size_t)alen;
    uint8_t sealed[BUF + 16], buf[BUF + 16];
    memcpy(sealed, ct, len);
    memcpy(sealed + len, tag, taglen);

    tern_aead *a = NULL;
    VCHECK(c, tern_aead_new(alg, key, &a) == TERN_OK);
    bool ok = true;
    const char *result = vec_str(c, "result");
    if (result != NULL && strcmp(result, "fail") == 0) {
        ok = rejects(a, nonce, aad, aadlen, sealed, len + taglen);
        tern_aead_free(a);
        VCHECK(c, ok);
        return 0;
    }
    long plen = vec_hex_into(c, "pt", pt, sizeof pt);
    if (plen != clen) {
        tern_aead_free(a);
        VCHECK(c, plen == clen);
    }

    /* Seal, separately then in place. */
    size_t outlen = 0;
    memset(buf, 0, sizeof buf);
    ok = ok && tern_aead_seal(a, nonce, aad, aadlen, pt, len, buf) == TERN_OK;
    ok = ok && memcmp(buf, sealed, len + taglen) == 0;
    memcpy(buf, pt, len);
    ok = ok && tern_aead_seal(a, nonce, aad, aadlen, buf, len, buf) == TERN_OK;
    ok = ok && memcmp(buf, sealed, len + taglen) == 0;
    if (!ok) {
        tern_aead_free(a);
        VCHECK(c, !"seal gives ct || tag");
    }

    /* Open, separately then in place. */
    memset(buf, 0, sizeof buf);
    ok = tern_aead_open(a, nonce, aad, aadlen, sealed, len + taglen, buf, &outlen) == TERN_OK;
    ok = ok && outlen == len && memcmp(buf, pt, len) == 0;
    memcpy(buf, sealed, len + taglen);
    outlen = 0;
    ok = ok && tern_aead_open(a, nonce, aad, aadlen, buf, len + taglen, buf, &outlen) == TERN_OK;
    ok = ok && outlen == len && memcmp(buf, pt, len) == 0;
    if (!ok) {
        tern_aead_free(a);
        VCHECK(c, !"open recovers the plaintext");
    }

    /* One flipped bit anywhere must make open fail: ciphertext (first and last
     * byte), tag, AAD (or one byte of AAD where there was none), nonce. */
    uint8_t bad[BUF + 16], badaad[BUF + 1], badnonce[12];
    if (len > 0) {
        memcpy(bad, sealed, len + taglen);
        bad[0] ^= 0x01;
        ok = ok && rejects(a, nonce, aad, aadlen, bad, len + taglen);
        memcpy(bad, sealed, len + taglen);
        bad[len - 1] ^= 0x80;
        ok = ok && rejects(a, nonce, aad, aadlen, bad, len + taglen);
    }
    memcpy(bad, sealed, len + taglen);
    bad[len] ^= 0x01;
    ok = ok && rejects(a, nonce, aad, aadlen, bad, len + taglen);
    memcpy(bad, sealed, len + taglen);
    bad[len + taglen - 1] ^= 0x80;
    ok = ok && rejects(a, nonce, aad, aadlen, bad, len + taglen);
    memcpy(badaad, aad, aadlen);
    if (aadlen > 0) {
        badaad[aadlen / 2] ^= 0x04;
        ok = ok && rejects(a, nonce, badaad, aadlen, sealed, len + taglen);
    } else {
        badaad[0] = 0;
        ok = ok && rejects(a, nonce, badaad, 1, sealed, len + taglen);
    }
    memcpy(badnonce, nonce, sizeof badnonce);
    badnonce[11] ^= 0x01;
    ok = ok && rejects(a, badnonce, aad, aadlen, sealed, len + taglen);
    /* and the object still opens the genuine record afterwards */
    ok = ok && tern_aead_open(a, nonce, aad, aadlen, sealed, len + taglen, buf, &outlen) == TERN_OK;
    tern_aead_free(a);
    VCHECK(c, ok);
    (*opened)++;
    return 0;
}

static void run(const char *file, size_t want_cases, size_t want_opened)
{
    size_t n = 0, opened = 0;
    CHECK_EQ(vec_foreach(file, aead_case, &opened, &n), 0);
    CHECK_EQ(n, want_cases);
    CHECK_EQ(opened, want_opened);
}

TEST(aead_gcm_vectors)
{
    /* 8 GCM-spec cases, 6 CAVP encrypt cases, 1 CAVP decrypt pass, 1 CAVP forgery */
    run("aead_gcm.vec", 16, 15);
}

TEST(aead_ccm_vectors)
{
    /* SP 800-38C Example 3, VNT128 50-52, Wycheproof 4 x CCM and 5 x CCM_8 */
    run("aead_ccm.vec", 13, 13);
}

TEST(aead_chacha20_poly1305_vectors)
{
    /* RFC 8439 2.8.2 and A.5 */
    run("aead_chacha20poly1305.vec", 2, 2);
}
