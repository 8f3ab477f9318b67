/*
 * openssl.c - the symmetric half of the OpenSSL 3 backend of crypto.h: randomness,
 * constant-time compare, wiping, AEADs and the DTLS 1.3 record-number mask.
 * (Key exchange, signatures and certificates live in openssl_pk.c.)
 *
 * How it works:
 *   - Every EVP_CIPHER this file uses is fetched once per process, under
 *     pthread_once, into the table `algs`. Nothing fetches per operation; an
 *     algorithm the default provider lacks stays NULL and reports
 *     TERN_ERR_UNSUPPORTED when someone asks for it.
 *   - An AEAD owns one EVP_CIPHER_CTX, keyed once in tern_aead_new. A seal or open
 *     re-initialises that context with the nonce only (cipher and key NULL), which
 *     OpenSSL does without allocating, and passes the expected tag as a parameter
 *     of that same call when opening. So a record costs no allocation.
 *   - CCM differs from GCM and ChaCha20-Poly1305: OpenSSL wants the nonce length
 *     (12) and the tag length (16 or 8) set before the key, the total message
 *     length passed before the AAD, and it produces (or checks) the tag inside the
 *     one update over the message, even an empty one. Its key setup also fixes the
 *     direction, so a CCM AEAD keeps two contexts, one for seal and one for open.
 *
 * What it keeps true:
 *   - Open never hands back plaintext as trusted unless the tag verified; a tag
 *     mismatch, or input shorter than the tag, is TERN_ERR_BAD_MAC.
 *   - Keys live only inside OpenSSL contexts, which are freed with
 *     EVP_CIPHER_CTX_free; OpenSSL's cipher providers clear their key schedules
 *     on free (OPENSSL_clear_free), and our structs hold no copy of a key.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"

/* ------------------------------------------------------------------ one-time fetch */

#define AEAD_COUNT 5

static struct {
    EVP_CIPHER *aead[AEAD_COUNT]; /* indexed by tern_aead_alg */
    EVP_CIPHER *aes128_ecb;       /* record-number masks (RFC 9147 §4.2.3) */
    EVP_CIPHER *aes256_ecb;
    EVP_CIPHER *chacha20;
} algs;

static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_fetch(void)
{
    static const char *const aead_names[AEAD_COUNT] = {
        [TERN_AEAD_AES_128_GCM] = "AES-128-GCM",
        [TERN_AEAD_AES_256_GCM] = "AES-256-GCM",
        [TERN_AEAD_CHACHA20_POLY1305] = "ChaCha20-Poly1305",
        [TERN_AEAD_AES_128_CCM] = "AES-128-CCM",
        [TERN_AEAD_AES_128_CCM_8] = "AES-128-CCM",
    };
    for (int i = 0; i < AEAD_COUNT; i++)
        algs.aead[i] = EVP_CIPHER_fetch(NULL, aead_names[i], NULL);
    algs.aes128_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
    algs.aes256_ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
    algs.chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
}

static void algs_init(void)
{
    /* pthread_once only fails on invalid arguments; the table then stays empty and
     * every request reports TERN_ERR_UNSUPPORTED. */
    (void)pthread_once(&algs_once, algs_fetch);
}

/* ------------------------------------------------------------------ randomness */

tern_err tern_random(const tern_rng *rng, uint8_t *out, size_t len)
{
    if (rng != NULL)
        return rng->fill(rng->ctx, out, len) == 0 ? TERN_OK : TERN_ERR_RNG;
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(out, n) != 1)
            return TERN_ERR_RNG;
        out += n;
        len -= (size_t)n;
    }
    return TERN_OK;
}

bool tern_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void tern_wipe(void *p, size_t len)
{
    if (p != NULL)
        OPENSSL_cleanse(p, len);
}

/* ------------------------------------------------------------------ AEAD */

struct tern_aead {
    tern_aead_alg alg;
    size_t taglen;
    bool ccm;
    EVP_CIPHER_CTX *seal; /* keyed for encryption */
    EVP_CIPHER_CTX *open; /* the same context, except for CCM (see aead_key) */
};

size_t tern_aead_key_len(tern_aead_alg alg)
{
    switch (alg) {
    case TERN_AEAD_AES_128_GCM:
    case TERN_AEAD_AES_128_CCM:
    case TERN_AEAD_AES_128_CCM_8:
        return 16;
    case TERN_AEAD_AES_256_GCM:
    case TERN_AEAD_CHACHA20_POLY1305:
        return 32;
    }
    return 0;
}

size_t tern_aead_tag_len(tern_aead_alg alg)
{
    switch (alg) {
    case TERN_AEAD_AES_128_GCM:
    case TERN_AEAD_AES_256_GCM:
    case TERN_AEAD_CHACHA20_POLY1305:
    case TERN_AEAD_AES_128_CCM:
        return 16;
    case TERN_AEAD_AES_128_CCM_8:
        return 8;
    }
    return 0;
}

/* A new context of |cipher| keyed with |key| for direction |enc|. */
static EVP_CIPHER_CTX *aead_key(const EVP_CIPHER *cipher, const uint8_t *key, bool ccm,
                                size_t taglen, int enc)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return NULL;
    size_t ivlen = TERN_AEAD_NONCE_LEN;
    OSSL_PARAM params[3] = {OSSL_PARAM_END, OSSL_PARAM_END, OSSL_PARAM_END};
    params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
    if (ccm) {
        /* CCM: nonce length 15 - L with L = 3 and tag length M (RFC 6655 §3: M = 16,
         * or 8 for CCM_8), both fixed before the key. */
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, NULL, taglen);
    }
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, params) != 1 ||
        EVP_CipherInit_ex2(ctx, NULL, key, NULL, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

tern_err tern_aead_new(tern_aead_alg alg, const uint8_t *key, tern_aead **out)
{
    if (tern_aead_key_len(alg) == 0)
        return TERN_ERR_UNSUPPORTED;
    algs_init();
    const EVP_CIPHER *cipher = algs.aead[alg];
    if (cipher == NULL)
        return TERN_ERR_UNSUPPORTED;

    tern_aead *a = calloc(1, sizeof *a);
    if (a == NULL)
        return TERN_ERR_NOMEM;
    a->alg = alg;
    a->taglen = tern_aead_tag_len(alg);
    a->ccm = alg == TERN_AEAD_AES_128_CCM || alg == TERN_AEAD_AES_128_CCM_8;
    a->seal = aead_key(cipher, key, a->ccm, a->taglen, 1);
    /* OpenSSL's CCM picks its bulk routine (which MACs the plaintext before or
     * after the keystream) by the direction the key was set for, so CCM needs a
     * context per direction; GCM and ChaCha20-Poly1305 switch with the nonce. */
    a->open = a->ccm ? aead_key(cipher, key, true, a->taglen, 0) : a->seal;
    if (a->seal == NULL || a->open == NULL) {
        tern_aead_free(a);
        return TERN_ERR_CRYPTO;
    }
    *out = a;
    return TERN_OK;
}

tern_aead_alg tern_aead_alg_of(const tern_aead *a) { return a->alg; }

void tern_aead_free(tern_aead *a)
{
    if (a == NULL)
        return;
    if (a->open != a->seal)
        EVP_CIPHER_CTX_free(a->open);
    EVP_CIPHER_CTX_free(a->seal);
    free(a);
}

/* CCM computes or checks its tag in the update over the message, which must be
 * called even for an empty message, with a non-NULL input (OpenSSL reads a NULL
 * input with a non-NULL output as "final", which does nothing for CCM). */
static const uint8_t empty_msg[1];

tern_err tern_aead_seal(tern_aead *a, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, uint8_t *out)
{
    if (len > INT_MAX - 16 || aadlen > INT_MAX)
        return TERN_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = a->seal;
    int n;
    if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 1, NULL) != 1)
        return TERN_ERR_CRYPTO;
    if (a->ccm && EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)len) != 1)
        return TERN_ERR_CRYPTO;
    if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        return TERN_ERR_CRYPTO;
    if (len > 0 || a->ccm) {
        if (EVP_CipherUpdate(ctx, out, &n, len > 0 ? in : empty_msg, (int)len) != 1)
            return TERN_ERR_CRYPTO;
    }
    uint8_t fin[EVP_MAX_BLOCK_LENGTH]; /* an AEAD's final writes nothing */
    if (!a->ccm && EVP_CipherFinal_ex(ctx, fin, &n) != 1)
        return TERN_ERR_CRYPTO;

    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out + len, a->taglen),
        OSSL_PARAM_END,
    };
    if (EVP_CIPHER_CTX_get_params(ctx, params) != 1)
        return TERN_ERR_CRYPTO;
    return TERN_OK;
}

tern_err tern_aead_open(tern_aead *a, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    if (len < a->taglen)
        return TERN_ERR_BAD_MAC;
    size_t ctlen = len - a->taglen;
    if (ctlen > INT_MAX || aadlen > INT_MAX)
        return TERN_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = a->open;
    int n;

    /* The expected tag goes in with the nonce; OpenSSL copies it, so decrypting in
     * place over the ciphertext cannot disturb it. */
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)(in + ctlen),
                                          a->taglen),
        OSSL_PARAM_END,
    };
    if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 0, params) != 1)
        return TERN_ERR_CRYPTO;
    if (a->ccm && EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)ctlen) != 1)
        return TERN_ERR_CRYPTO;
    if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        return TERN_ERR_CRYPTO;
    if (a->ccm) {
        /* CCM verifies the tag inside this update and fails it on a mismatch. */
        if (EVP_CipherUpdate(ctx, out, &n, ctlen > 0 ? in : empty_msg, (int)ctlen) != 1)
            return TERN_ERR_BAD_MAC;
    } else {
        if (ctlen > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)ctlen) != 1)
            return TERN_ERR_CRYPTO;
        uint8_t fin[EVP_MAX_BLOCK_LENGTH];
        if (EVP_CipherFinal_ex(ctx, fin, &n) != 1)
            return TERN_ERR_BAD_MAC;
    }
    *outlen = ctlen;
    return TERN_OK;
}
