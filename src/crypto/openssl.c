/*
 * openssl.c - the symmetric half of the OpenSSL 3 backend of crypto.h: randomness,
 * constant-time compare, wiping, hashes, HMAC, HKDF, the TLS 1.2 PRF, AEADs and
 * the DTLS 1.3 record-number mask. (Key exchange, signatures and certificates live
 * in openssl_pk.c.)
 *
 * How it works:
 *   - Every EVP_MD and EVP_CIPHER this file uses is fetched once per process,
 *     under pthread_once, into the table `algs`. Nothing fetches per operation; an
 *     algorithm the default provider lacks stays NULL and reports
 *     TERN_ERR_UNSUPPORTED when someone asks for it.
 *   - HMAC is built here on EVP_MD (RFC 2104: H(K^opad || H(K^ipad || m))) rather
 *     than on EVP_MAC or EVP_KDF, whose init looks the digest up by name on every
 *     call. One keyed `hmac` holds the padded key blocks and one EVP_MD_CTX that
 *     serves every block of an HKDF-Expand or TLS 1.2 PRF call. (OpenSSL 3.0 still
 *     re-creates the provider's small digest state at each digest init: two
 *     allocations per HMAC block, no fetch.) The key may alias the output.
 *   - A hash peek copies the running context into a scratch context kept in the
 *     object and finishes the copy, so the running state is never touched.
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"

/* ------------------------------------------------------------------ one-time fetch */

#define AEAD_COUNT 5

static struct {
    EVP_MD *md[2];                /* indexed by tern_hash_alg */
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
    algs.md[TERN_HASH_SHA256] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    algs.md[TERN_HASH_SHA384] = EVP_MD_fetch(NULL, "SHA2-384", NULL);
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
    if (p == NULL || len == 0)
        return;
#if defined(__GNUC__) || defined(__clang__)
    /* memset, then an empty asm that takes |p| and clobbers memory: the compiler
     * must assume the zeros are read, so it cannot drop the memset (glibc's
     * explicit_bzero does the same). OPENSSL_cleanse stores a byte or a word at a
     * time, which made wiping each received 1200-byte record cost as much as a
     * tenth of decrypting it. */
    memset(p, 0, len);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    OPENSSL_cleanse(p, len);
#endif
}

/* ------------------------------------------------------------------ hashes */

/* The fetched digest for |alg|, or NULL when unknown or unavailable. */
static const EVP_MD *md_of(tern_hash_alg alg)
{
    if (alg != TERN_HASH_SHA256 && alg != TERN_HASH_SHA384)
        return NULL;
    algs_init();
    return algs.md[alg];
}

size_t tern_hash_len(tern_hash_alg alg)
{
    switch (alg) {
    case TERN_HASH_SHA256:
        return 32;
    case TERN_HASH_SHA384:
        return 48;
    }
    return 0;
}

/* Input block size of |alg| in bytes (the HMAC pad length). */
static size_t hash_block_len(tern_hash_alg alg)
{
    return alg == TERN_HASH_SHA384 ? 128 : 64;
}

struct tern_hash {
    tern_hash_alg alg;
    EVP_MD_CTX *ctx;     /* the running state */
    EVP_MD_CTX *scratch; /* where a peek finishes a copy of it */
};

static tern_hash *hash_alloc(tern_hash_alg alg)
{
    tern_hash *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->alg = alg;
    h->ctx = EVP_MD_CTX_new();
    h->scratch = EVP_MD_CTX_new();
    if (h->ctx == NULL || h->scratch == NULL) {
        tern_hash_free(h);
        return NULL;
    }
    return h;
}

tern_err tern_hash_new(tern_hash_alg alg, tern_hash **out)
{
    const EVP_MD *md = md_of(alg);
    if (md == NULL)
        return TERN_ERR_UNSUPPORTED;
    tern_hash *h = hash_alloc(alg);
    if (h == NULL)
        return TERN_ERR_NOMEM;
    if (EVP_DigestInit_ex2(h->ctx, md, NULL) != 1) {
        tern_hash_free(h);
        return TERN_ERR_CRYPTO;
    }
    *out = h;
    return TERN_OK;
}

tern_err tern_hash_update(tern_hash *h, const uint8_t *data, size_t len)
{
    return EVP_DigestUpdate(h->ctx, data, len) == 1 ? TERN_OK : TERN_ERR_CRYPTO;
}

tern_err tern_hash_peek(const tern_hash *h, uint8_t *out)
{
    if (EVP_MD_CTX_copy_ex(h->scratch, h->ctx) != 1 ||
        EVP_DigestFinal_ex(h->scratch, out, NULL) != 1)
        return TERN_ERR_CRYPTO;
    return TERN_OK;
}

tern_err tern_hash_dup(const tern_hash *h, tern_hash **out)
{
    tern_hash *d = hash_alloc(h->alg);
    if (d == NULL)
        return TERN_ERR_NOMEM;
    if (EVP_MD_CTX_copy_ex(d->ctx, h->ctx) != 1) {
        tern_hash_free(d);
        return TERN_ERR_CRYPTO;
    }
    *out = d;
    return TERN_OK;
}

tern_hash_alg tern_hash_alg_of(const tern_hash *h)
{
    return h->alg;
}

void tern_hash_free(tern_hash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_CTX_free(h->scratch);
    free(h);
}

tern_err tern_hash_once(tern_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
    const EVP_MD *md = md_of(alg);
    if (md == NULL)
        return TERN_ERR_UNSUPPORTED;
    return EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? TERN_OK : TERN_ERR_CRYPTO;
}

/* ------------------------------------------------------------------ HMAC, HKDF, PRF */

/* HMAC keyed once (RFC 2104 §2), for as many MACs as the caller needs. */
typedef struct hmac {
    const EVP_MD *md;
    EVP_MD_CTX *ctx;
    size_t hlen, block;
    uint8_t ipad[TERN_HASH_MAX_BLOCK]; /* K ^ 0x36..., then K ^ 0x5c... */
    uint8_t opad[TERN_HASH_MAX_BLOCK];
} hmac;

static void hmac_clear(hmac *m)
{
    EVP_MD_CTX_free(m->ctx);
    tern_wipe(m, sizeof *m);
}

static tern_err hmac_init(hmac *m, tern_hash_alg alg, const uint8_t *key, size_t keylen)
{
    memset(m, 0, sizeof *m);
    m->md = md_of(alg);
    if (m->md == NULL)
        return TERN_ERR_UNSUPPORTED;
    m->hlen = tern_hash_len(alg);
    m->block = hash_block_len(alg);
    m->ctx = EVP_MD_CTX_new();
    if (m->ctx == NULL)
        return TERN_ERR_NOMEM;
    /* RFC 2104 §2: a key longer than the block is replaced by its hash; a shorter
     * one is padded with zeros to the block. */
    if (keylen > m->block) {
        if (EVP_DigestInit_ex2(m->ctx, m->md, NULL) != 1 ||
            EVP_DigestUpdate(m->ctx, key, keylen) != 1 ||
            EVP_DigestFinal_ex(m->ctx, m->ipad, NULL) != 1) {
            hmac_clear(m);
            return TERN_ERR_CRYPTO;
        }
    } else if (keylen > 0) {
        memcpy(m->ipad, key, keylen);
    }
    for (size_t i = 0; i < m->block; i++) {
        m->opad[i] = m->ipad[i] ^ 0x5c;
        m->ipad[i] ^= 0x36;
    }
    return TERN_OK;
}

/* One MAC over the concatenation of |parts| into |out| (hlen bytes). */
static tern_err hmac_run(hmac *m, const tern_iov *parts, size_t nparts, uint8_t *out)
{
    uint8_t inner[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = m->ctx;
    if (EVP_DigestInit_ex2(ctx, m->md, NULL) != 1 || EVP_DigestUpdate(ctx, m->ipad, m->block) != 1)
        return TERN_ERR_CRYPTO;
    for (size_t i = 0; i < nparts; i++)
        if (EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1)
            return TERN_ERR_CRYPTO;
    tern_err err = TERN_OK;
    if (EVP_DigestFinal_ex(ctx, inner, NULL) != 1 || EVP_DigestInit_ex2(ctx, m->md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, m->opad, m->block) != 1 ||
        EVP_DigestUpdate(ctx, inner, m->hlen) != 1 || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        err = TERN_ERR_CRYPTO;
    tern_wipe(inner, sizeof inner);
    return err;
}

tern_err tern_hmac(tern_hash_alg alg, const uint8_t *key, size_t keylen, const tern_iov *parts,
                   size_t nparts, uint8_t *out)
{
    hmac m;
    tern_err err = hmac_init(&m, alg, key, keylen);
    if (err != TERN_OK)
        return err;
    err = hmac_run(&m, parts, nparts, out);
    hmac_clear(&m);
    return err;
}

tern_err tern_hkdf_extract(tern_hash_alg alg, const uint8_t *salt, size_t saltlen,
                           const uint8_t *ikm, size_t ikmlen, uint8_t *out)
{
    /* RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); "if not provided, [salt] is set to
     * a string of HashLen zeros", which as an HMAC key equals the empty key. */
    tern_iov part = {ikm, ikmlen};
    return tern_hmac(alg, salt, salt != NULL ? saltlen : 0, &part, 1, out);
}

tern_err tern_hkdf_expand(tern_hash_alg alg, const uint8_t *prk, size_t prklen, const uint8_t *info,
                          size_t infolen, uint8_t *out, size_t outlen)
{
    size_t hlen = tern_hash_len(alg);
    if (hlen == 0)
        return TERN_ERR_UNSUPPORTED;
    /* RFC 5869 §2.3: L <= 255*HashLen. */
    if (outlen > 255 * hlen)
        return TERN_ERR_ARG;
    hmac m;
    tern_err err = hmac_init(&m, alg, prk, prklen);
    if (err != TERN_OK)
        return err;
    /* T(i) = HMAC-Hash(PRK, T(i-1) | info | i), T(0) empty; OKM = first L octets. */
    uint8_t t[EVP_MAX_MD_SIZE];
    uint8_t counter = 0;
    size_t tlen = 0;
    while (outlen > 0) {
        counter++;
        tern_iov parts[3] = {{t, tlen}, {info, infolen}, {&counter, 1}};
        err = hmac_run(&m, parts, 3, t);
        if (err != TERN_OK)
            break;
        tlen = hlen;
        size_t n = outlen < hlen ? outlen : hlen;
        memcpy(out, t, n);
        out += n;
        outlen -= n;
    }
    tern_wipe(t, sizeof t);
    hmac_clear(&m);
    return err;
}

tern_err tern_tls12_prf(tern_hash_alg alg, const uint8_t *secret, size_t secretlen,
                        const char *label, const uint8_t *seed, size_t seedlen, uint8_t *out,
                        size_t outlen)
{
    hmac m;
    tern_err err = hmac_init(&m, alg, secret, secretlen);
    if (err != TERN_OK)
        return err;
    /* RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed), where
     *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) +
     *                          HMAC_hash(secret, A(2) + seed) + ...
     *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1)),
     * iterated as far as needed and cut to |outlen|. */
    const tern_iov label_seed[2] = {{(const uint8_t *)label, strlen(label)}, {seed, seedlen}};
    uint8_t a[EVP_MAX_MD_SIZE], block[EVP_MAX_MD_SIZE];
    size_t hlen = m.hlen;
    err = hmac_run(&m, label_seed, 2, a); /* A(1) */
    while (err == TERN_OK && outlen > 0) {
        tern_iov parts[3] = {{a, hlen}, label_seed[0], label_seed[1]};
        err = hmac_run(&m, parts, 3, block);
        if (err != TERN_OK)
            break;
        size_t n = outlen < hlen ? outlen : hlen;
        memcpy(out, block, n);
        out += n;
        outlen -= n;
        if (outlen > 0) {
            tern_iov prev = {a, hlen};
            err = hmac_run(&m, &prev, 1, a); /* A(i+1) */
        }
    }
    tern_wipe(a, sizeof a);
    tern_wipe(block, sizeof block);
    hmac_clear(&m);
    return err;
}

/* ------------------------------------------------------------------ AEAD */

struct tern_aead {
    EVP_CIPHER_CTX *seal; /* keyed for encryption */
    EVP_CIPHER_CTX *open; /* the same context, except for CCM (see aead_key) */
    uint8_t alg;          /* tern_aead_alg */
    uint8_t taglen;
    bool ccm;
    /* Record mode (tern_aead_seal12/open12), on |seal| (never CCM): */
    int8_t dir;       /* the direction |seal| was last set up for: 1, 0, or -1 */
    bool rec_iv;      /* the record IV is loaded for |dir| */
    bool rec_next_ok; /* GCM sealing: |rec_next| is what the provider sends next */
    uint64_t rec_next;
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
    a->alg = (uint8_t)alg;
    a->dir = -1;
    a->taglen = (uint8_t)tern_aead_tag_len(alg);
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

tern_aead_alg tern_aead_alg_of(const tern_aead *a)
{
    return (tern_aead_alg)a->alg;
}

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
    a->dir = 1;
    a->rec_iv = false; /* the nonce below replaces the record IV */
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
    if (!a->ccm) {
        a->dir = 0;
        a->rec_iv = false; /* the nonce below replaces the record IV */
    }
    if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 0, params) != 1)
        return TERN_ERR_CRYPTO;
    if (a->ccm && EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)ctlen) != 1)
        return TERN_ERR_CRYPTO;
    if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        return TERN_ERR_CRYPTO;
    if (a->ccm) {
        /* CCM verifies the tag inside this update and fails it on a mismatch. Unlike
         * GCM and ChaCha20-Poly1305 it also queues an OpenSSL error then; a forged
         * record is routine on a datagram transport (RFC 9147 §4.5.2: discard it),
         * so take that error back off the thread's queue. */
        ERR_set_mark();
        if (EVP_CipherUpdate(ctx, out, &n, ctlen > 0 ? in : empty_msg, (int)ctlen) != 1) {
            ERR_pop_to_mark();
            return TERN_ERR_BAD_MAC;
        }
        ERR_clear_last_mark();
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

/* ------------------------------------------------------------------ DTLS 1.2 records */

/*
 * OpenSSL's AES-GCM and ChaCha20-Poly1305 providers have a TLS record mode: given
 * the 13-byte additional data as a parameter, one EVP_Cipher call over the
 * fragment builds the nonce, encrypts or decrypts in place and appends or checks
 * the tag (libssl's own path). It skips the per-call re-initialisation, the
 * IV-length query, the final call and the tag parameter of the general path:
 * about a quarter of the instructions of a 1200-byte AES-GCM record and a sixth of
 * a ChaCha20-Poly1305 one (docs/PERFORMANCE.md).
 *
 * The provider keeps the IV: the salt (GCM) or the whole IV (ChaCha20-Poly1305,
 * which xors in the seq_num of each record's additional data) is loaded once per
 * direction. Sealing GCM, the provider writes its own counter as nonce_explicit;
 * we load salt || nonce_explicit as its counter (EVP_CTRL_GCM_SET_IV_FIXED with
 * length -1, "restore the whole IV") whenever the caller's nonce_explicit is not
 * the one the provider would send next, which for tern's epoch||seq is only at the
 * first record of an epoch, and check afterwards that it sent the caller's.
 */

static uint64_t rec_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Set |a|'s context up for records in direction |enc|. */
static tern_err rec_setup(tern_aead *a, int enc, const uint8_t *iv)
{
    EVP_CIPHER_CTX *ctx = a->seal;
    a->rec_iv = false;
    a->rec_next_ok = false;
    if (a->dir != enc && EVP_CipherInit_ex2(ctx, NULL, NULL, NULL, enc, NULL) != 1)
        return TERN_ERR_CRYPTO;
    a->dir = (int8_t)enc;
    bool chacha = a->alg == TERN_AEAD_CHACHA20_POLY1305;
    if (chacha || !enc) {
        /* ChaCha20-Poly1305: the whole IV; GCM opening: the salt (sealing loads the
         * whole IV in tern_aead_seal12) */
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, (void *)iv,
                                              chacha ? TERN_AEAD_NONCE_LEN : 4),
            OSSL_PARAM_END,
        };
        if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
            return TERN_ERR_CRYPTO;
    }
    a->rec_iv = true;
    return TERN_OK;
}

/* One TLS-mode call over |frag| (|len| bytes in all) with |aad|, whose length field
 * becomes |adlen| as the provider expects it. Returns EVP_Cipher's result. */
static int rec_cipher(EVP_CIPHER_CTX *ctx, const uint8_t aad[13], size_t adlen, uint8_t *frag,
                      size_t len)
{
    uint8_t ad[13];
    memcpy(ad, aad, 11);
    ad[11] = (uint8_t)(adlen >> 8);
    ad[12] = (uint8_t)adlen;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, ad, sizeof ad),
        OSSL_PARAM_END,
    };
    if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
        return -1;
    return EVP_Cipher(ctx, frag, frag, (unsigned)len);
}

static bool rec_supported(const tern_aead *a)
{
    return a->alg == TERN_AEAD_AES_128_GCM || a->alg == TERN_AEAD_AES_256_GCM ||
           a->alg == TERN_AEAD_CHACHA20_POLY1305;
}

tern_err tern_aead_seal12(tern_aead *a, const uint8_t *iv, const uint8_t aad[13], uint8_t *frag,
                          size_t len)
{
    if (!rec_supported(a))
        return TERN_ERR_UNSUPPORTED;
    size_t prefix = a->alg == TERN_AEAD_CHACHA20_POLY1305 ? 0 : 8;
    if (len > 0xffff - prefix) /* the additional data's length field */
        return TERN_ERR_CRYPTO;
    if ((a->dir != 1 || !a->rec_iv) && rec_setup(a, 1, iv) != TERN_OK)
        return TERN_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = a->seal;
    uint8_t want[8];
    if (prefix > 0) {
        uint64_t explicit = rec_be64(frag);
        if (!a->rec_next_ok || explicit != a->rec_next) {
            uint8_t whole[TERN_AEAD_NONCE_LEN];
            memcpy(whole, iv, 4);
            memcpy(whole + 4, frag, 8);
            int ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, whole);
            tern_wipe(whole, sizeof whole);
            if (ok <= 0)
                return TERN_ERR_CRYPTO;
        }
        memcpy(want, frag, 8);
        a->rec_next = explicit + 1; /* the provider's 64-bit counter wraps the same way */
        a->rec_next_ok = true;
    }
    /* GCM counts nonce_explicit in the length it is given (RFC 5246 §6.2.3.3 wants
     * the plaintext's; the provider subtracts it again). */
    if (rec_cipher(ctx, aad, len + prefix, frag, prefix + len + a->taglen) < 0 ||
        (prefix > 0 && memcmp(frag, want, 8) != 0)) {
        a->rec_next_ok = false;
        return TERN_ERR_CRYPTO;
    }
    return TERN_OK;
}

tern_err tern_aead_open12(tern_aead *a, const uint8_t *iv, const uint8_t aad[13], uint8_t *frag,
                          size_t len, size_t *ptlen)
{
    if (!rec_supported(a))
        return TERN_ERR_UNSUPPORTED;
    size_t prefix = a->alg == TERN_AEAD_CHACHA20_POLY1305 ? 0 : 8;
    if (len < prefix + a->taglen)
        return TERN_ERR_BAD_MAC;
    if (len > 0xffff)
        return TERN_ERR_CRYPTO;
    if ((a->dir != 0 || !a->rec_iv) && rec_setup(a, 0, iv) != TERN_OK)
        return TERN_ERR_CRYPTO;
    /* Opening, the provider takes the whole fragment's length and subtracts
     * nonce_explicit and tag. A tag mismatch queues no OpenSSL error. */
    if (rec_cipher(a->seal, aad, len, frag, len) < 0)
        return TERN_ERR_BAD_MAC;
    *ptlen = len - prefix - a->taglen;
    return TERN_OK;
}

/* ------------------------------------------------------------------ record-number mask */

struct tern_snmask {
    bool chacha;
    EVP_CIPHER_CTX *ctx;
};

tern_err tern_snmask_new(tern_aead_alg alg, const uint8_t *sn_key, tern_snmask **out)
{
    if (tern_aead_key_len(alg) == 0)
        return TERN_ERR_UNSUPPORTED;
    algs_init();
    /* RFC 9147 §4.2.3: the AES AEADs mask with AES in ECB mode under sn_key (as
     * long as the AEAD key); ChaCha20-Poly1305 with the raw ChaCha20 function. */
    const EVP_CIPHER *cipher;
    switch (alg) {
    case TERN_AEAD_AES_256_GCM:
        cipher = algs.aes256_ecb;
        break;
    case TERN_AEAD_CHACHA20_POLY1305:
        cipher = algs.chacha20;
        break;
    default:
        cipher = algs.aes128_ecb;
        break;
    }
    if (cipher == NULL)
        return TERN_ERR_UNSUPPORTED;

    tern_snmask *m = calloc(1, sizeof *m);
    if (m == NULL)
        return TERN_ERR_NOMEM;
    m->chacha = alg == TERN_AEAD_CHACHA20_POLY1305;
    m->ctx = EVP_CIPHER_CTX_new();
    if (m->ctx == NULL) {
        free(m);
        return TERN_ERR_NOMEM;
    }
    if (EVP_CipherInit_ex2(m->ctx, cipher, sn_key, NULL, 1, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(m->ctx, 0) != 1) {
        tern_snmask_free(m);
        return TERN_ERR_CRYPTO;
    }
    *out = m;
    return TERN_OK;
}

tern_err tern_snmask_apply(tern_snmask *m, const uint8_t sample[16], uint8_t mask[16])
{
    static const uint8_t zeros[16];
    int n;
    if (!m->chacha) {
        /* Mask = AES-ECB(sn_key, Ciphertext[0..15]); ECB keeps no state between
         * whole blocks, so no re-initialisation is needed. */
        if (EVP_EncryptUpdate(m->ctx, mask, &n, sample, 16) != 1 || n != 16)
            return TERN_ERR_CRYPTO;
        return TERN_OK;
    }
    /* Mask = ChaCha20(sn_key, Ciphertext[0..3], Ciphertext[4..15]): the first four
     * bytes are the block counter, read little-endian, and the next twelve the
     * nonce. OpenSSL's 16-byte ChaCha20 IV is exactly that layout (RFC 8439
     * §2.3: counter word then three nonce words, all little-endian), so the
     * sample is the IV as it stands. */
    if (EVP_CipherInit_ex2(m->ctx, NULL, NULL, sample, 1, NULL) != 1 ||
        EVP_EncryptUpdate(m->ctx, mask, &n, zeros, 16) != 1 || n != 16)
        return TERN_ERR_CRYPTO;
    return TERN_OK;
}

void tern_snmask_free(tern_snmask *m)
{
    if (m == NULL)
        return;
    EVP_CIPHER_CTX_free(m->ctx);
    free(m);
}
