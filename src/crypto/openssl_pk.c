/*
 * openssl_pk.c - the public-key half of the OpenSSL 3 provider: key exchange,
 * signatures and certificates (see crypto.h).
 *
 * IMPLEMENTATION NOTES
 *
 * Process-wide objects. The NIST groups (EC_GROUP for P-256 and P-384) and the
 * digests the signature schemes name (SHA-256/384/512) are created or fetched once,
 * on first use, under pthread_once, and kept for the life of the process. They are
 * only read afterwards, so any number of threads share them. What OpenSSL 3.0 does
 * not let a caller hold (the X25519 key-exchange method, the signature methods) it
 * looks up in its own method cache on each init, as libssl does.
 *
 * Key exchange. Private keys come from the caller's tern_rng (or the CSPRNG), so a
 * seeded rng gives reproducible shares and the published vectors can be replayed:
 *   - X25519: 32 raw bytes become the private key (OpenSSL clamps on use);
 *   - P-256/P-384: a scalar d is drawn as field-size big-endian bytes and redrawn
 *     until 1 <= d <= n-1 (rejection sampling, no modular bias); the public point
 *     d*G is computed once with EC_POINT_mul and kept in wire form. Derivation is
 *     EC_POINT_mul(d, Q) on the shared group, the X coordinate padded to the field
 *     size. No EC_KEY (deprecated) and no per-key EVP_PKEY is built.
 * The peer's share is checked before any secret is touched; every failure of the
 * check is TERN_ERR_BAD_SHARE. The NIST curves have cofactor 1, so a point on the
 * curve that is not the point at infinity is in the prime-order group.
 *
 * Keys and signatures. tern_pkey wraps an EVP_PKEY and its tern_key_type, decided
 * once at parse time; keys of other types or curves are refused there. Each
 * sign/verify builds a short-lived EVP_MD_CTX (tern_pkey is shared by threads, so
 * it keeps no mutable state). EVP_PKEY_free clears private key material (OpenSSL
 * frees private scalars with BN_clear_free / OPENSSL_secure_clear_free).
 *
 * Certificates. A chain is kept as the DER bytes received; verification parses
 * them, hands intermediates to X509_verify_cert as untrusted, anchors come only
 * from the trust set (X509_STORE, safe for concurrent verification). Any certificate
 * in the trust set is an anchor (RFC 5280 §6.1.1 (d): trust anchor information need
 * not be a self-signed certificate), so a pinned leaf or intermediate verifies.
 *
 * Every failure path clears OpenSSL's per-thread error queue, so errors never leak
 * into a later, unrelated call.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"

/* Largest key, chain or CA file the load and add_file loaders read. */
#define PK_FILE_MAX (16u << 20)

/* Draws of a NIST scalar before giving up on a broken rng. For P-256 and P-384 a
 * draw is rejected with probability below 2^-32, so 64 rejections in a row mean
 * the rng returns the same out-of-range bytes forever. */
#define KEX_MAX_DRAWS 64

/* Latest verification time we pass on: 9999-12-31T23:59:59Z, the last second an
 * X.509 GeneralizedTime can hold. */
#define VERIFY_TIME_MAX 253402300799ull

/* ------------------------------------------------------------------ process-wide */

typedef struct nist_curve {
    int nid;
    size_t len; /* bytes of a field element and of the order */
    EC_GROUP *group;
} nist_curve;

static struct {
    nist_curve p256, p384;
    EVP_MD *sha256, *sha384, *sha512;
    int ok;
} objs;

static pthread_once_t objs_once = PTHREAD_ONCE_INIT;

static void pk_init(void)
{
    objs.p256.nid = NID_X9_62_prime256v1;
    objs.p256.len = 32;
    objs.p256.group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, objs.p256.nid);
    objs.p384.nid = NID_secp384r1;
    objs.p384.len = 48;
    objs.p384.group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, objs.p384.nid);
    objs.sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    objs.sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    objs.sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    objs.ok = objs.p256.group != NULL && objs.p384.group != NULL && objs.sha256 != NULL &&
              objs.sha384 != NULL && objs.sha512 != NULL;
    ERR_clear_error();
}

/* True once the process-wide objects exist. */
static int pk_ready(void)
{
    return pthread_once(&objs_once, pk_init) == 0 && objs.ok;
}

/* ------------------------------------------------------------------ helpers */

/* Drop whatever OpenSSL queued for this thread and return |err|. */
static tern_err fail(tern_err err)
{
    ERR_clear_error();
    return err;
}

/* Constant-time test for a buffer of zeros. */
static int all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

/* ------------------------------------------------------------------ key exchange */

struct tern_kex {
    tern_group group;
    const nist_curve *curve; /* NULL for X25519 */
    EVP_PKEY *x25519;        /* X25519: the key pair */
    BIGNUM *scalar;          /* NIST: the private scalar d */
    size_t share_len;
    uint8_t share[TERN_KEX_MAX_SHARE_LEN];
};

size_t tern_kex_share_len(tern_group g)
{
    switch (g) {
    case TERN_GROUP_X25519:
        return 32;
    case TERN_GROUP_SECP256R1:
        return 65;
    case TERN_GROUP_SECP384R1:
        return 97;
    }
    return 0;
}

static tern_err x25519_keygen(tern_kex *k, const tern_rng *rng)
{
    uint8_t priv[32];
    size_t publen = sizeof k->share;
    tern_err err = tern_random(rng, priv, sizeof priv);
    if (err != TERN_OK)
        return err;
    k->x25519 = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, sizeof priv);
    tern_wipe(priv, sizeof priv);
    if (k->x25519 == NULL || EVP_PKEY_get_raw_public_key(k->x25519, k->share, &publen) != 1 ||
        publen != k->share_len)
        return fail(TERN_ERR_CRYPTO);
    return TERN_OK;
}

static tern_err nist_keygen(tern_kex *k, const tern_rng *rng)
{
    const nist_curve *c = k->curve;
    const BIGNUM *order = EC_GROUP_get0_order(c->group);
    uint8_t buf[TERN_KEX_MAX_SECRET_LEN];
    tern_err err = TERN_ERR_RNG;

    k->scalar = BN_secure_new();
    if (k->scalar == NULL)
        return fail(TERN_ERR_NOMEM);
    BN_set_flags(k->scalar, BN_FLG_CONSTTIME);
    /* Rejection sampling keeps d uniform in [1, n-1]; reducing mod n would not. */
    for (int draw = 0; draw < KEX_MAX_DRAWS; draw++) {
        err = tern_random(rng, buf, c->len);
        if (err != TERN_OK)
            break;
        if (BN_bin2bn(buf, (int)c->len, k->scalar) == NULL) {
            err = TERN_ERR_NOMEM;
            break;
        }
        if (!BN_is_zero(k->scalar) && BN_cmp(k->scalar, order) < 0) {
            err = TERN_OK;
            break;
        }
        err = TERN_ERR_RNG;
    }
    tern_wipe(buf, sizeof buf);
    if (err != TERN_OK)
        return fail(err);

    BN_CTX *bn = BN_CTX_secure_new();
    EC_POINT *pub = EC_POINT_new(c->group);
    if (bn == NULL || pub == NULL || EC_POINT_mul(c->group, pub, k->scalar, NULL, NULL, bn) != 1 ||
        EC_POINT_point2oct(c->group, pub, POINT_CONVERSION_UNCOMPRESSED, k->share, sizeof k->share,
                           bn) != k->share_len)
        err = TERN_ERR_CRYPTO;
    EC_POINT_free(pub);
    BN_CTX_free(bn);
    return err == TERN_OK ? TERN_OK : fail(err);
}

tern_err tern_kex_new(tern_group g, const tern_rng *rng, tern_kex **out)
{
    size_t share_len = tern_kex_share_len(g);
    if (share_len == 0)
        return TERN_ERR_UNSUPPORTED;
    if (out == NULL)
        return TERN_ERR_ARG;
    if (!pk_ready())
        return TERN_ERR_CRYPTO;
    tern_kex *k = calloc(1, sizeof *k);
    if (k == NULL)
        return TERN_ERR_NOMEM;
    k->group = g;
    k->share_len = share_len;
    tern_err err;
    if (g == TERN_GROUP_X25519) {
        err = x25519_keygen(k, rng);
    } else {
        k->curve = g == TERN_GROUP_SECP256R1 ? &objs.p256 : &objs.p384;
        err = nist_keygen(k, rng);
    }
    if (err != TERN_OK) {
        tern_kex_free(k);
        return err;
    }
    *out = k;
    return TERN_OK;
}

tern_err tern_kex_public(const tern_kex *k, uint8_t *out, size_t cap, size_t *outlen)
{
    if (cap < k->share_len)
        return TERN_ERR_BUF;
    memcpy(out, k->share, k->share_len);
    *outlen = k->share_len;
    return TERN_OK;
}

static tern_err x25519_derive(const tern_kex *k, const uint8_t *peer, uint8_t *out)
{
    EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, 32);
    EVP_PKEY_CTX *ctx = theirs ? EVP_PKEY_CTX_new_from_pkey(NULL, k->x25519, NULL) : NULL;
    size_t n = 32;
    tern_err err = TERN_ERR_CRYPTO;
    if (ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
        EVP_PKEY_derive_set_peer_ex(ctx, theirs, 0) == 1) {
        /*
         * RFC 8446 §7.4.2: for X25519 "implementations MUST check whether the computed
         * Diffie-Hellman shared secret is the all-zero value and abort if so". OpenSSL
         * makes the derive fail on that value itself, which is the only way it fails
         * with two well-formed keys; a zero result is refused here too, by ORing the
         * bytes together as RFC 7748 §6.1 suggests.
         */
        if (EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32)
            err = all_zero(out, 32) ? TERN_ERR_BAD_SHARE : TERN_OK;
        else
            err = TERN_ERR_BAD_SHARE;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(theirs);
    return err == TERN_OK ? TERN_OK : fail(err);
}

static tern_err nist_derive(const tern_kex *k, const uint8_t *peer, uint8_t *out)
{
    const nist_curve *c = k->curve;
    /*
     * RFC 8446 §4.2.8.2: the NIST curve shares are UncompressedPointRepresentation,
     * legacy_form 4 (RFC 8422 §5.4.1 gives TLS 1.2 the same single format). This turns
     * away compressed (2, 3), hybrid (6, 7) and the one-byte point at infinity (0).
     */
    if (peer[0] != POINT_CONVERSION_UNCOMPRESSED)
        return TERN_ERR_BAD_SHARE;

    BN_CTX *bn = BN_CTX_secure_new();
    EC_POINT *theirs = EC_POINT_new(c->group);
    EC_POINT *shared = EC_POINT_new(c->group);
    BIGNUM *x = BN_secure_new();
    tern_err err = TERN_OK;
    if (bn == NULL || theirs == NULL || shared == NULL || x == NULL) {
        err = TERN_ERR_NOMEM;
        goto out;
    }
    /*
     * RFC 8446 §4.2.8.2: "peers MUST validate each other's public value Q by ensuring
     * that the point is a valid point on the elliptic curve". oct2point refuses
     * coordinates >= p and points off the curve; the explicit checks state the rule.
     */
    if (EC_POINT_oct2point(c->group, theirs, peer, k->share_len, bn) != 1 ||
        EC_POINT_is_at_infinity(c->group, theirs) ||
        EC_POINT_is_on_curve(c->group, theirs, bn) != 1) {
        err = TERN_ERR_BAD_SHARE;
        goto out;
    }
    if (EC_POINT_mul(c->group, shared, NULL, theirs, k->scalar, bn) != 1 ||
        EC_POINT_is_at_infinity(c->group, shared) ||
        EC_POINT_get_affine_coordinates(c->group, shared, x, NULL, bn) != 1 ||
        BN_bn2binpad(x, out, (int)c->len) != (int)c->len)
        err = TERN_ERR_CRYPTO;
out:
    BN_clear_free(x);
    EC_POINT_clear_free(shared);
    EC_POINT_free(theirs);
    BN_CTX_free(bn);
    return err == TERN_OK ? TERN_OK : fail(err);
}

tern_err tern_kex_derive(const tern_kex *k, const uint8_t *peer, size_t peerlen, uint8_t *out,
                         size_t cap, size_t *outlen)
{
    if (peer == NULL || peerlen != k->share_len)
        return TERN_ERR_BAD_SHARE;
    size_t len = k->curve != NULL ? k->curve->len : 32;
    if (cap < len)
        return TERN_ERR_BUF;
    tern_err err = k->curve != NULL ? nist_derive(k, peer, out) : x25519_derive(k, peer, out);
    if (err != TERN_OK) {
        tern_wipe(out, len);
        return err;
    }
    *outlen = len;
    return TERN_OK;
}

tern_group tern_kex_group(const tern_kex *k)
{
    return k->group;
}

void tern_kex_free(tern_kex *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->x25519);
    BN_clear_free(k->scalar);
    tern_wipe(k, sizeof *k);
    free(k);
}
