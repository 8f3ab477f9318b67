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
 * Parsed-certificate cache. In OpenSSL 3.0, d2i_X509 decodes the subject public key
 * through the provider decoder machinery, about 1.5 million instructions for one
 * P-256 certificate: parsing a two-certificate chain cost more than the three ECDSA
 * verifications of a client handshake together. A trust set therefore keeps the
 * last CERT_CACHE_SLOTS certificates it parsed, keyed by their exact DER bytes
 * (length, then memcmp: a certificate differing in any byte is parsed afresh), and
 * hands out new references to the same X509. Only parsing is saved: every chain is
 * verified in full each time (signatures, validity at the given time, host name,
 * purpose). OpenSSL shares X509 objects between threads for verification (its own
 * stores do), the cache itself is guarded by a mutex, and an entry is replaced least
 * recently used first, so a peer sending endless new certificates costs a copy and
 * a free each, never more memory.
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

/* Whether |data| holds a PEM block: DER never contains this text by design. */
static int looks_pem(const uint8_t *data, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    const size_t n = sizeof tag - 1;
    for (size_t i = 0; i + n <= len; i++)
        if (data[i] == '-' && memcmp(data + i, tag, n) == 0)
            return 1;
    return 0;
}

/* Read the regular file |path| (at most PK_FILE_MAX bytes) into a new buffer. */
static tern_err read_file(const char *path, uint8_t **out, size_t *outlen)
{
    if (path == NULL)
        return TERN_ERR_ARG;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return TERN_ERR_IO;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (unsigned long long)st.st_size > PK_FILE_MAX) {
        fclose(f);
        return TERN_ERR_IO;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    if (buf == NULL) {
        fclose(f);
        return TERN_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != size) {
        tern_wipe(buf, size);
        free(buf);
        return TERN_ERR_IO;
    }
    *out = buf;
    *outlen = size;
    return TERN_OK;
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

/* ------------------------------------------------------------------ keys */

struct tern_pkey {
    EVP_PKEY *pk;
    tern_key_type type;
    unsigned bits;
    int is_private;
};

/* The tern type of |pk|, TERN_KEY_NONE for anything tern does not use. */
static tern_key_type key_type_of(const EVP_PKEY *pk, unsigned *bits)
{
    if (EVP_PKEY_is_a(pk, "ED25519")) {
        *bits = 255;
        return TERN_KEY_ED25519;
    }
    if (EVP_PKEY_is_a(pk, "RSA")) { /* rsaEncryption only: RSA-PSS-only keys are not "RSA" */
        int b = EVP_PKEY_get_bits(pk);
        *bits = b > 0 ? (unsigned)b : 0;
        return b > 0 ? TERN_KEY_RSA : TERN_KEY_NONE;
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        char name[80];
        size_t n = 0;
        if (EVP_PKEY_get_group_name(pk, name, sizeof name, &n) != 1)
            return TERN_KEY_NONE;
        int nid = OBJ_txt2nid(name);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(name);
        if (nid == NID_X9_62_prime256v1) {
            *bits = 256;
            return TERN_KEY_EC_P256;
        }
        if (nid == NID_secp384r1) {
            *bits = 384;
            return TERN_KEY_EC_P384;
        }
    }
    return TERN_KEY_NONE;
}

/* Wrap |pk| (ownership taken, freed on failure); |bad| is the error for a key of a
 * type tern does not use. */
static tern_err pkey_wrap(EVP_PKEY *pk, int is_private, tern_err bad, tern_pkey **out)
{
    unsigned bits = 0;
    tern_key_type type = key_type_of(pk, &bits);
    if (type == TERN_KEY_NONE) {
        EVP_PKEY_free(pk);
        return fail(bad);
    }
    tern_pkey *k = calloc(1, sizeof *k);
    if (k == NULL) {
        EVP_PKEY_free(pk);
        return TERN_ERR_NOMEM;
    }
    k->pk = pk;
    k->type = type;
    k->bits = bits;
    k->is_private = is_private;
    *out = k;
    return TERN_OK;
}

/* PEM password callback: tern reads unencrypted keys only and must never prompt. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

tern_err tern_pkey_parse_private(const uint8_t *data, size_t len, tern_pkey **out)
{
    if (out == NULL)
        return TERN_ERR_ARG;
    if (data == NULL || len == 0 || len > INT_MAX)
        return TERN_ERR_BAD_KEY;
    EVP_PKEY *pk = NULL;
    if (looks_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (bio == NULL)
            return fail(TERN_ERR_NOMEM);
        pk = PEM_read_bio_PrivateKey_ex(bio, NULL, no_password, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        pk = d2i_AutoPrivateKey_ex(NULL, &p, (long)len, NULL, NULL);
        if (pk != NULL && p != data + len) { /* trailing bytes: not one DER key */
            EVP_PKEY_free(pk);
            pk = NULL;
        }
    }
    if (pk == NULL)
        return fail(TERN_ERR_BAD_KEY);
    return pkey_wrap(pk, 1, TERN_ERR_BAD_KEY, out);
}

tern_err tern_pkey_load_private(const char *path, tern_pkey **out)
{
    uint8_t *buf;
    size_t len;
    tern_err err = read_file(path, &buf, &len);
    if (err != TERN_OK)
        return err;
    err = tern_pkey_parse_private(buf, len, out);
    tern_wipe(buf, len);
    free(buf);
    return err;
}

tern_err tern_pkey_generate(tern_key_type type, tern_pkey **out)
{
    EVP_PKEY *pk;
    switch (type) {
    case TERN_KEY_EC_P256:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case TERN_KEY_EC_P384:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case TERN_KEY_RSA:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case TERN_KEY_ED25519:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    default:
        return TERN_ERR_UNSUPPORTED;
    }
    if (pk == NULL)
        return fail(TERN_ERR_CRYPTO);
    return pkey_wrap(pk, 1, TERN_ERR_CRYPTO, out);
}

tern_key_type tern_pkey_type(const tern_pkey *k)
{
    return k != NULL ? k->type : TERN_KEY_NONE;
}

unsigned tern_pkey_bits(const tern_pkey *k)
{
    return k != NULL ? k->bits : 0;
}

void tern_pkey_free(tern_pkey *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pk); /* clears the private key material (see the notes above) */
    tern_wipe(k, sizeof *k);
    free(k);
}

/* ------------------------------------------------------------------ signatures */

typedef enum sig_kind { SIG_NONE, SIG_ECDSA, SIG_PKCS1, SIG_PSS, SIG_ED25519 } sig_kind;

/* What |scheme| is, and the digest it names (NULL for Ed25519, which hashes itself). */
static sig_kind scheme_kind(tern_sigscheme scheme, const EVP_MD **md)
{
    *md = NULL;
    switch (scheme) {
    case TERN_SIG_ECDSA_SECP256R1_SHA256:
        *md = objs.sha256;
        return SIG_ECDSA;
    case TERN_SIG_ECDSA_SECP384R1_SHA384:
        *md = objs.sha384;
        return SIG_ECDSA;
    case TERN_SIG_RSA_PKCS1_SHA256:
        *md = objs.sha256;
        return SIG_PKCS1;
    case TERN_SIG_RSA_PKCS1_SHA384:
        *md = objs.sha384;
        return SIG_PKCS1;
    case TERN_SIG_RSA_PKCS1_SHA512:
        *md = objs.sha512;
        return SIG_PKCS1;
    case TERN_SIG_RSA_PSS_RSAE_SHA256:
        *md = objs.sha256;
        return SIG_PSS;
    case TERN_SIG_RSA_PSS_RSAE_SHA384:
        *md = objs.sha384;
        return SIG_PSS;
    case TERN_SIG_RSA_PSS_RSAE_SHA512:
        *md = objs.sha512;
        return SIG_PSS;
    case TERN_SIG_ED25519:
        return SIG_ED25519;
    }
    return SIG_NONE;
}

bool tern_pkey_supports(const tern_pkey *k, tern_sigscheme scheme)
{
    if (k == NULL || !pk_ready())
        return false;
    const EVP_MD *md;
    switch (scheme_kind(scheme, &md)) {
    case SIG_ECDSA:
        /* In TLS 1.2 the codepoint names the hash only; TLS 1.3 callers check the curve. */
        return k->type == TERN_KEY_EC_P256 || k->type == TERN_KEY_EC_P384;
    case SIG_PKCS1:
        return k->type == TERN_KEY_RSA && k->bits <= 8 * TERN_SIG_MAX_LEN;
    case SIG_PSS: {
        if (k->type != TERN_KEY_RSA || k->bits < 2 || k->bits > 8 * TERN_SIG_MAX_LEN)
            return false;
        /* RFC 8017 §9.1.1: emLen = ceil((modBits - 1) / 8) >= hLen + sLen + 2, and
         * sLen = hLen (RFC 8446 §4.2.3). */
        size_t em_len = (k->bits - 1 + 7) / 8;
        return em_len >= 2 * (size_t)EVP_MD_get_size(md) + 2;
    }
    case SIG_ED25519:
        return k->type == TERN_KEY_ED25519;
    case SIG_NONE:
        break;
    }
    return false;
}

/* A digest-sign or digest-verify context for |k| under |scheme| (already checked
 * with tern_pkey_supports), or NULL. */
static EVP_MD_CTX *sig_ctx(const tern_pkey *k, tern_sigscheme scheme, int sign)
{
    const EVP_MD *md;
    sig_kind kind = scheme_kind(scheme, &md);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (mctx == NULL)
        return NULL;
    int ok = sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, k->pk)
                  : EVP_DigestVerifyInit(mctx, &pctx, md, NULL, k->pk);
    ok = ok == 1;
    if (ok && kind == SIG_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    /*
     * RFC 8446 §4.2.3: RSASSA-PSS with MGF1 on the same digest, and "the length of
     * the Salt MUST be equal to the length of the output of the digest algorithm";
     * in verification OpenSSL then refuses any other salt length.
     */
    if (ok && kind == SIG_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
    if (!ok) {
        EVP_MD_CTX_free(mctx);
        return NULL;
    }
    return mctx;
}

tern_err tern_sign(const tern_pkey *k, tern_sigscheme scheme, const uint8_t *msg, size_t len,
                   uint8_t *sig, size_t cap, size_t *siglen)
{
    /* A public key (from a certificate) cannot sign: it does not fit the operation. */
    if (!tern_pkey_supports(k, scheme) || !k->is_private)
        return TERN_ERR_CERT_KEY;
    static const uint8_t empty[1];
    uint8_t tmp[TERN_SIG_MAX_LEN];
    size_t n = sizeof tmp;
    EVP_MD_CTX *mctx = sig_ctx(k, scheme, 1);
    if (mctx == NULL)
        return fail(TERN_ERR_CRYPTO);
    int ok = EVP_DigestSign(mctx, tmp, &n, msg != NULL ? msg : empty, len);
    EVP_MD_CTX_free(mctx);
    if (ok != 1)
        return fail(TERN_ERR_CRYPTO);
    if (n > cap)
        return TERN_ERR_BUF;
    memcpy(sig, tmp, n);
    *siglen = n;
    return TERN_OK;
}

tern_err tern_verify(const tern_pkey *k, tern_sigscheme scheme, const uint8_t *msg, size_t len,
                     const uint8_t *sig, size_t siglen)
{
    if (!tern_pkey_supports(k, scheme))
        return TERN_ERR_CERT_KEY;
    if (sig == NULL || siglen == 0 || siglen > TERN_SIG_MAX_LEN)
        return TERN_ERR_BAD_SIGNATURE;
    static const uint8_t empty[1];
    EVP_MD_CTX *mctx = sig_ctx(k, scheme, 0);
    if (mctx == NULL)
        return fail(TERN_ERR_CRYPTO);
    /* 1 is a good signature; 0 a bad one, < 0 one that does not even parse. */
    int ok = EVP_DigestVerify(mctx, sig, siglen, msg != NULL ? msg : empty, len);
    EVP_MD_CTX_free(mctx);
    return ok == 1 ? TERN_OK : fail(TERN_ERR_BAD_SIGNATURE);
}

/* ------------------------------------------------------------------ certificates */

/* Parse exactly one DER certificate filling |len| bytes, or NULL. */
static X509 *der_to_x509(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > LONG_MAX)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Called for each certificate found: its DER bytes and the parsed certificate (which
 * the callee may up-ref but does not free). */
typedef tern_err (*cert_fn)(void *ctx, const uint8_t *der, size_t len, X509 *x);

/*
 * Call |fn| for every "CERTIFICATE" PEM block of |data| in order (other blocks are
 * skipped), or once for |data| as a single DER certificate. A block or DER that does
 * not parse, or no certificate at all, is TERN_ERR_CERT_PARSE.
 */
static tern_err each_cert(const uint8_t *data, size_t len, cert_fn fn, void *ctx)
{
    if (data == NULL || len == 0)
        return TERN_ERR_CERT_PARSE;
    if (!looks_pem(data, len)) {
        X509 *x = der_to_x509(data, len);
        if (x == NULL)
            return fail(TERN_ERR_CERT_PARSE);
        tern_err err = fn(ctx, data, len, x);
        X509_free(x);
        return err;
    }
    if (len > INT_MAX)
        return TERN_ERR_CERT_PARSE;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL)
        return fail(TERN_ERR_NOMEM);
    size_t found = 0;
    tern_err err = TERN_OK;
    while (err == TERN_OK) {
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long derlen = 0;
        if (PEM_read_bio(bio, &name, &header, &der, &derlen) != 1) {
            /* The normal end: no further BEGIN line. Anything else is a broken block. */
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
                err = TERN_ERR_CERT_PARSE;
            break;
        }
        if (strcmp(name, PEM_STRING_X509) == 0) {
            X509 *x = der_to_x509(der, (size_t)derlen);
            if (x == NULL) {
                err = TERN_ERR_CERT_PARSE;
            } else {
                found++;
                err = fn(ctx, der, (size_t)derlen, x);
                X509_free(x);
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (err == TERN_OK && found == 0)
        err = TERN_ERR_CERT_PARSE;
    return err;
}

static tern_err chain_push(void *ctx, const uint8_t *der, size_t len, X509 *x)
{
    tern_chain *chain = ctx;
    (void)x;
    tern_der *grown = realloc(chain->certs, (chain->count + 1) * sizeof *grown);
    if (grown == NULL)
        return TERN_ERR_NOMEM;
    chain->certs = grown;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return TERN_ERR_NOMEM;
    memcpy(copy, der, len);
    chain->certs[chain->count].data = copy;
    chain->certs[chain->count].len = len;
    chain->count++;
    return TERN_OK;
}

tern_err tern_chain_parse(const uint8_t *pem, size_t len, tern_chain *chain)
{
    if (chain == NULL)
        return TERN_ERR_ARG;
    tern_chain got = {NULL, 0};
    tern_err err = each_cert(pem, len, chain_push, &got);
    if (err != TERN_OK) {
        tern_chain_clear(&got);
        return err;
    }
    *chain = got;
    return TERN_OK;
}

tern_err tern_chain_load(const char *path, tern_chain *chain)
{
    uint8_t *buf;
    size_t len;
    tern_err err = read_file(path, &buf, &len);
    if (err != TERN_OK)
        return err;
    err = tern_chain_parse(buf, len, chain);
    free(buf);
    return err;
}

void tern_chain_clear(tern_chain *chain)
{
    if (chain == NULL)
        return;
    for (size_t i = 0; i < chain->count; i++)
        free((void *)chain->certs[i].data);
    free(chain->certs);
    chain->certs = NULL;
    chain->count = 0;
}

/* subjectAltName with one entry: an iPAddress when |name| is an IP literal, else a
 * dNSName (RFC 5280 §4.2.1.6 keeps the two apart). */
static int add_san(X509 *x, const char *name)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
    int ok = gens != NULL && gn != NULL;
    if (ok && ip != NULL) {
        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
        ip = NULL;
    } else if (ok) {
        ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
        ok = dns != NULL && ASN1_STRING_set(dns, name, -1) == 1;
        if (ok)
            GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
        else
            ASN1_IA5STRING_free(dns);
    }
    if (ok && sk_GENERAL_NAME_push(gens, gn) > 0)
        gn = NULL;
    else
        ok = 0;
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
    ASN1_OCTET_STRING_free(ip);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    return ok;
}

/* basicConstraints, critical, cA FALSE: this certificate can never issue another. */
static int add_not_ca(X509 *x)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    int ok =
        bc != NULL && X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1;
    BASIC_CONSTRAINTS_free(bc);
    return ok;
}

/* A random serial number: RFC 5280 §4.1.2.2 wants it positive and at most 20
 * octets; 16 octets with the top bit clear and the next set are both, and never 0. */
static int set_serial(X509 *x)
{
    uint8_t raw[16];
    if (tern_random(NULL, raw, sizeof raw) != TERN_OK)
        return 0;
    raw[0] = (uint8_t)((raw[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    ASN1_INTEGER *serial = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = serial != NULL && X509_set_serialNumber(x, serial) == 1;
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok;
}

tern_err tern_cert_self_signed(const tern_pkey *key, const char *common_name, unsigned days,
                               tern_chain *chain)
{
    if (key == NULL || common_name == NULL || common_name[0] == '\0' || chain == NULL ||
        days == 0 || days > 3650000u)
        return TERN_ERR_ARG;
    if (!pk_ready())
        return TERN_ERR_CRYPTO;
    X509 *x = X509_new_ex(NULL, NULL);
    X509_NAME *name = X509_NAME_new();
    tern_der *one = malloc(sizeof *one);
    uint8_t *der = NULL;
    tern_err err = TERN_ERR_CRYPTO;
    if (x == NULL || name == NULL || one == NULL) {
        err = TERN_ERR_NOMEM;
        goto out;
    }
    /* Ed25519 signs the certificate in its pure form (RFC 8410 §6); others SHA-256. */
    const EVP_MD *md = key->type == TERN_KEY_ED25519 ? NULL : objs.sha256;
    if (X509_set_version(x, X509_VERSION_3) != 1 || !set_serial(x) ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)common_name,
                                   -1, -1, 0) != 1 ||
        X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), (int)days, -3600, NULL) == NULL ||
        X509_set_pubkey(x, key->pk) != 1 || !add_san(x, common_name) || !add_not_ca(x) ||
        X509_sign(x, key->pk, md) <= 0)
        goto out;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        goto out;
    one->data = der;
    one->len = (size_t)n;
    chain->certs = one;
    chain->count = 1;
    one = NULL;
    der = NULL;
    err = TERN_OK;
out:
    OPENSSL_free(der);
    free(one);
    X509_NAME_free(name);
    X509_free(x);
    return err == TERN_OK ? TERN_OK : fail(err);
}

tern_err tern_cert_public_key(const uint8_t *der, size_t len, tern_pkey **out)
{
    if (out == NULL)
        return TERN_ERR_ARG;
    X509 *x = der_to_x509(der, len);
    if (x == NULL)
        return fail(TERN_ERR_CERT_PARSE);
    EVP_PKEY *pub = X509_get_pubkey(x); /* a new reference */
    X509_free(x);
    if (pub == NULL)
        return fail(TERN_ERR_BAD_KEY);
    return pkey_wrap(pub, 0, TERN_ERR_BAD_KEY, out);
}

tern_err tern_cert_fingerprint(const uint8_t *der, size_t len, uint8_t out[32])
{
    if (der == NULL || len == 0)
        return TERN_ERR_ARG;
    if (!pk_ready())
        return TERN_ERR_CRYPTO;
    unsigned n = 0;
    if (EVP_Digest(der, len, out, &n, objs.sha256, NULL) != 1 || n != 32)
        return fail(TERN_ERR_CRYPTO);
    return TERN_OK;
}

/* ------------------------------------------------------------------ trust */

#define CERT_CACHE_SLOTS 8 /* a chain or two, with room for a few peers */

/* One parsed certificate kept by a trust set. */
typedef struct cert_slot {
    uint8_t *der; /* its DER bytes (owned); NULL when the slot is free */
    size_t len;
    X509 *x;      /* parsed from |der|; the slot holds one reference */
    uint64_t last; /* tick of its last use: the smallest goes first */
} cert_slot;

struct tern_trust {
    X509_STORE *store;
    pthread_mutex_t lock; /* guards |cache| and |tick| */
    cert_slot cache[CERT_CACHE_SLOTS];
    uint64_t tick;
};

tern_err tern_trust_new(tern_trust **out)
{
    if (out == NULL)
        return TERN_ERR_ARG;
    tern_trust *t = calloc(1, sizeof *t);
    if (t == NULL)
        return TERN_ERR_NOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return TERN_ERR_NOMEM;
    }
    t->store = X509_STORE_new();
    if (t->store == NULL) {
        pthread_mutex_destroy(&t->lock);
        free(t);
        return fail(TERN_ERR_NOMEM);
    }
    *out = t;
    return TERN_OK;
}

/* The certificate |der| parsed (a new reference: the caller frees it), from |t|'s
 * cache when these exact bytes were parsed before, else parsed now and cached.
 * NULL when it does not parse. */
static X509 *trust_x509(tern_trust *t, const uint8_t *der, size_t len)
{
    X509 *x = NULL;
    if (pthread_mutex_lock(&t->lock) == 0) {
        for (size_t i = 0; i < CERT_CACHE_SLOTS && x == NULL; i++) {
            cert_slot *s = &t->cache[i];
            if (s->der != NULL && s->len == len && memcmp(s->der, der, len) == 0 &&
                X509_up_ref(s->x) == 1) {
                s->last = ++t->tick;
                x = s->x;
            }
        }
        pthread_mutex_unlock(&t->lock);
    }
    if (x != NULL)
        return x;

    x = der_to_x509(der, len);
    if (x == NULL)
        return NULL;
    uint8_t *copy = malloc(len);
    if (copy == NULL || X509_up_ref(x) != 1) {
        free(copy);
        return x; /* parsed, just not cached */
    }
    memcpy(copy, der, len);
    if (pthread_mutex_lock(&t->lock) != 0) {
        X509_free(x); /* the reference meant for the cache */
        free(copy);
        return x;
    }
    cert_slot *victim = &t->cache[0];
    for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
        if (t->cache[i].der == NULL) {
            victim = &t->cache[i];
            break;
        }
        if (t->cache[i].last < victim->last)
            victim = &t->cache[i];
    }
    cert_slot old = *victim;
    *victim = (cert_slot){copy, len, x, ++t->tick};
    pthread_mutex_unlock(&t->lock);
    X509_free(old.x);
    free(old.der);
    return x;
}

static tern_err collect_x509(void *ctx, const uint8_t *der, size_t len, X509 *x)
{
    STACK_OF(X509) *certs = ctx;
    (void)der;
    (void)len;
    if (X509_up_ref(x) != 1)
        return TERN_ERR_CRYPTO;
    if (sk_X509_push(certs, x) <= 0) {
        X509_free(x);
        return TERN_ERR_NOMEM;
    }
    return TERN_OK;
}

tern_err tern_trust_add(tern_trust *t, const uint8_t *data, size_t len)
{
    if (t == NULL)
        return TERN_ERR_ARG;
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (certs == NULL)
        return fail(TERN_ERR_NOMEM);
    /* Parse everything first, so a file that fails half way adds nothing. */
    tern_err err = each_cert(data, len, collect_x509, certs);
    for (int i = 0; err == TERN_OK && i < sk_X509_num(certs); i++)
        if (X509_STORE_add_cert(t->store, sk_X509_value(certs, i)) != 1)
            err = TERN_ERR_NOMEM;
    sk_X509_pop_free(certs, X509_free);
    return err == TERN_OK ? TERN_OK : fail(err);
}

tern_err tern_trust_add_file(tern_trust *t, const char *path)
{
    if (t == NULL)
        return TERN_ERR_ARG;
    uint8_t *buf;
    size_t len;
    tern_err err = read_file(path, &buf, &len);
    if (err != TERN_OK)
        return err;
    err = tern_trust_add(t, buf, len);
    free(buf);
    return err;
}

tern_err tern_trust_add_dir(tern_trust *t, const char *path)
{
    if (t == NULL || path == NULL)
        return TERN_ERR_ARG;
    DIR *dir = opendir(path);
    if (dir == NULL)
        return TERN_ERR_IO;
    size_t added = 0;
    struct dirent *e;
    char full[4096];
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int n = snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (n < 0 || (size_t)n >= sizeof full)
            continue;
        uint8_t *buf;
        size_t len;
        if (read_file(full, &buf, &len) != TERN_OK) /* not a regular file, or unreadable */
            continue;
        if (tern_trust_add(t, buf, len) == TERN_OK)
            added++;
        free(buf);
    }
    closedir(dir);
    return added > 0 ? TERN_OK : TERN_ERR_CERT_PARSE;
}

void tern_trust_free(tern_trust *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
        X509_free(t->cache[i].x);
        free(t->cache[i].der);
    }
    pthread_mutex_destroy(&t->lock);
    X509_STORE_free(t->store);
    free(t);
}

/* ------------------------------------------------------------------ chain verification */

static tern_err verify_error(int code)
{
    switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return TERN_ERR_CERT_EXPIRED;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return TERN_ERR_CERT_NAME;
    case X509_V_ERR_OUT_OF_MEM:
        return TERN_ERR_NOMEM;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        return TERN_ERR_CERT_PARSE;
    default:
        return TERN_ERR_CERT_UNTRUSTED;
    }
}

/* Ask for |host| in the leaf: an iPAddress entry for an IP literal, else a dNSName.
 * The subject CN is never consulted: RFC 9525, which obsoletes RFC 6125, drops the
 * CN-ID fallback that RFC 6125 §6.4.4 still allowed. */
static int set_host(X509_VERIFY_PARAM *param, const char *host)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    if (ip != NULL) {
        int ok = X509_VERIFY_PARAM_set1_ip(param, ASN1_STRING_get0_data(ip),
                                           (size_t)ASN1_STRING_length(ip));
        ASN1_OCTET_STRING_free(ip);
        return ok == 1;
    }
    ERR_clear_error();
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
                                               X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, host, 0) == 1;
}

tern_err tern_chain_verify(const tern_trust *trust, const tern_chain *chain, const char *host,
                           uint64_t now_unix, tern_pkey **leaf_key)
{
    if (trust == NULL || chain == NULL)
        return TERN_ERR_ARG;
    if (chain->count == 0 || chain->certs == NULL)
        return TERN_ERR_CERT_PARSE;
    /* An empty name would make OpenSSL skip the name check altogether. */
    if (host != NULL && host[0] == '\0')
        return TERN_ERR_CERT_NAME;

    /* The cache is logically const: it changes what parsing costs, not any result. */
    tern_trust *cache = (tern_trust *)trust;
    X509 *leaf = trust_x509(cache, chain->certs[0].data, chain->certs[0].len);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = NULL;
    tern_err err = TERN_OK;
    if (leaf == NULL) {
        err = TERN_ERR_CERT_PARSE;
        goto out;
    }
    if (untrusted == NULL) {
        err = TERN_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 1; i < chain->count; i++) {
        X509 *x = trust_x509(cache, chain->certs[i].data, chain->certs[i].len);
        if (x == NULL) {
            err = TERN_ERR_CERT_PARSE;
            goto out;
        }
        if (sk_X509_push(untrusted, x) <= 0) {
            X509_free(x);
            err = TERN_ERR_NOMEM;
            goto out;
        }
    }
    ctx = X509_STORE_CTX_new_ex(NULL, NULL);
    if (ctx == NULL || X509_STORE_CTX_init(ctx, trust->store, leaf, untrusted) != 1) {
        err = TERN_ERR_NOMEM;
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (now_unix != 0)
        X509_VERIFY_PARAM_set_time(
            param, (time_t)(now_unix < VERIFY_TIME_MAX ? now_unix : VERIFY_TIME_MAX));
    if (host != NULL && !set_host(param, host)) {
        err = TERN_ERR_NOMEM;
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        err = verify_error(X509_STORE_CTX_get_error(ctx));
        goto out;
    }
    if (leaf_key != NULL) {
        EVP_PKEY *pub = X509_get_pubkey(leaf);
        /* A chain that verifies but whose leaf key tern cannot use for anything. */
        err = pub != NULL ? pkey_wrap(pub, 0, TERN_ERR_CERT_KEY, leaf_key) : TERN_ERR_CERT_KEY;
    }
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    return err == TERN_OK ? TERN_OK : fail(err);
}
