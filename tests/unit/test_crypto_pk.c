/*
 * test_crypto_pk.c - the public-key half of the crypto provider: key exchange share
 * checks, keys, every signature scheme, chains, trust and verification, using the
 * test PKI in tests/data/pki (made by tests/data/pki/make.sh).
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "seeded_rng.h"
#include "test.h"

/* Verification times (seconds since 1970). The PKI is valid from 2025-01-01 to
 * 2125-01-01. */
#define T_2030 1893456000ull  /* 2030-01-01T00:00:00Z: inside every validity */
#define T_2024 1717200000ull  /* 2024-06-01T00:00:00Z: before notBefore      */
#define T_2125 4904409600ull  /* 2125-06-01T00:00:00Z: after notAfter        */
#define T_LAST 4891363199ull  /* 2124-12-31T23:59:59Z: the last valid second */
#define T_AFTER 4891363201ull /* 2125-01-01T00:00:01Z: one second too late   */

/* `openssl x509 -in tests/data/pki/leaf-ecdsa.pem -noout -fingerprint -sha256` */
static const char leaf_ecdsa_fingerprint[] = "1D:DF:37:B9:22:B0:4F:D2:09:54:EA:94:78:6F:DC:D9:B9:"
                                             "AE:83:D7:09:24:4E:C6:8B:5E:BC:61:3A:8F:B3:08";

/* ------------------------------------------------------------------ helpers */

static const char *pki(const char *name)
{
    static char path[8][4096];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/tests/data/pki/%s", test_source_dir(), name);
    return p;
}

/* Read a PKI file into a new buffer (NULL if it cannot be read). */
static uint8_t *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(pki(name), "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(1 << 16);
    *len = buf != NULL ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

/* A tern_rng that repeats one byte forever. */
static int same_byte_fill(void *ctx, uint8_t *out, size_t len)
{
    memset(out, *(const uint8_t *)ctx, len);
    return 0;
}

static const tern_group all_groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                        TERN_GROUP_SECP384R1};

static const tern_sigscheme all_schemes[] = {
    TERN_SIG_RSA_PKCS1_SHA256,       TERN_SIG_RSA_PKCS1_SHA384,       TERN_SIG_RSA_PKCS1_SHA512,
    TERN_SIG_ECDSA_SECP256R1_SHA256, TERN_SIG_ECDSA_SECP384R1_SHA384, TERN_SIG_RSA_PSS_RSAE_SHA256,
    TERN_SIG_RSA_PSS_RSAE_SHA384,    TERN_SIG_RSA_PSS_RSAE_SHA512,    TERN_SIG_ED25519,
};
#define NSCHEMES (sizeof all_schemes / sizeof all_schemes[0])

/* Which key type each scheme needs (ECDSA: either curve, as in TLS 1.2). */
static bool scheme_fits(tern_sigscheme s, tern_key_type t)
{
    switch (s) {
    case TERN_SIG_ECDSA_SECP256R1_SHA256:
    case TERN_SIG_ECDSA_SECP384R1_SHA384:
        return t == TERN_KEY_EC_P256 || t == TERN_KEY_EC_P384;
    case TERN_SIG_ED25519:
        return t == TERN_KEY_ED25519;
    default:
        return t == TERN_KEY_RSA;
    }
}

/* ------------------------------------------------------------------ key exchange */

TEST(kex_agree_every_group)
{
    for (size_t i = 0; i < sizeof all_groups / sizeof all_groups[0]; i++) {
        tern_group g = all_groups[i];
        tern_kex *a = NULL, *b = NULL;
        uint8_t pa[TERN_KEX_MAX_SHARE_LEN], pb[TERN_KEX_MAX_SHARE_LEN];
        uint8_t sa[TERN_KEX_MAX_SECRET_LEN], sb[TERN_KEX_MAX_SECRET_LEN];
        size_t la = 0, lb = 0, na = 0, nb = 0;
        CHECK_OK(tern_kex_new(g, NULL, &a));
        CHECK_OK(tern_kex_new(g, NULL, &b));
        CHECK_EQ(tern_kex_group(a), g);
        CHECK_OK(tern_kex_public(a, pa, sizeof pa, &la));
        CHECK_OK(tern_kex_public(b, pb, sizeof pb, &lb));
        CHECK_EQ(la, tern_kex_share_len(g));
        CHECK_EQ(lb, la);
        CHECK(memcmp(pa, pb, la) != 0);
        if (g != TERN_GROUP_X25519)
            CHECK_EQ(pa[0], 0x04);
        CHECK_ERR(tern_kex_public(a, pa, la - 1, &la), TERN_ERR_BUF);
        CHECK_OK(tern_kex_derive(a, pb, lb, sa, sizeof sa, &na));
        CHECK_OK(tern_kex_derive(b, pa, la, sb, sizeof sb, &nb));
        CHECK_EQ(na, g == TERN_GROUP_SECP384R1 ? 48 : 32);
        CHECK_EQ(nb, na);
        CHECK_MEM(sa, sb, na);
        CHECK_ERR(tern_kex_derive(a, pb, lb, sa, na - 1, &na), TERN_ERR_BUF);
        tern_kex_free(a);
        tern_kex_free(b);
    }
    tern_kex_free(NULL);
}

TEST(kex_seeded_rng_is_reproducible)
{
    for (size_t i = 0; i < sizeof all_groups / sizeof all_groups[0]; i++) {
        tern_rng r1, r2;
        test_seeded_state s1, s2;
        test_rng_seeded(&r1, &s1, 42);
        test_rng_seeded(&r2, &s2, 42);
        tern_kex *a = NULL, *b = NULL, *c = NULL;
        uint8_t pa[TERN_KEX_MAX_SHARE_LEN], pb[TERN_KEX_MAX_SHARE_LEN], pc[TERN_KEX_MAX_SHARE_LEN];
        size_t la, lb, lc;
        CHECK_OK(tern_kex_new(all_groups[i], &r1, &a));
        CHECK_OK(tern_kex_new(all_groups[i], &r2, &b));
        CHECK_OK(tern_kex_new(all_groups[i], &r1, &c)); /* the stream moved on */
        CHECK_OK(tern_kex_public(a, pa, sizeof pa, &la));
        CHECK_OK(tern_kex_public(b, pb, sizeof pb, &lb));
        CHECK_OK(tern_kex_public(c, pc, sizeof pc, &lc));
        CHECK_MEM(pa, pb, la);
        CHECK(memcmp(pa, pc, la) != 0);
        tern_kex_free(a);
        tern_kex_free(b);
        tern_kex_free(c);
    }
}

TEST(kex_unknown_group_and_failing_rng)
{
    tern_kex *k = NULL;
    CHECK_EQ(tern_kex_share_len((tern_group)25), 0);
    CHECK_ERR(tern_kex_new((tern_group)25, NULL, &k), TERN_ERR_UNSUPPORTED);
    tern_rng empty;
    test_fixed_state none;
    test_rng_fixed(&empty, &none, NULL, 0);
    for (size_t i = 0; i < sizeof all_groups / sizeof all_groups[0]; i++)
        CHECK_ERR(tern_kex_new(all_groups[i], &empty, &k), TERN_ERR_RNG);
}

/* NIST scalars are drawn until 1 <= d <= n-1: a draw of all-ones (>= n) and one of
 * zeros are skipped, and the key equals the one made from the good draw alone. */
TEST(kex_nist_scalar_rejection_sampling)
{
    static const tern_group nist[] = {TERN_GROUP_SECP256R1, TERN_GROUP_SECP384R1};
    for (size_t i = 0; i < 2; i++) {
        size_t flen = nist[i] == TERN_GROUP_SECP256R1 ? 32 : 48;
        uint8_t stream[3 * 48], good[48];
        memset(stream, 0xff, flen);        /* >= n: rejected */
        memset(stream + flen, 0x00, flen); /* 0: rejected    */
        for (size_t j = 0; j < flen; j++)
            good[j] = stream[2 * flen + j] = (uint8_t)(j * 7 + 1);
        tern_rng rs, rg;
        test_fixed_state fs, fg;
        test_rng_fixed(&rs, &fs, stream, 3 * flen);
        test_rng_fixed(&rg, &fg, good, flen);
        tern_kex *a = NULL, *b = NULL;
        uint8_t pa[TERN_KEX_MAX_SHARE_LEN], pb[TERN_KEX_MAX_SHARE_LEN];
        size_t la, lb;
        CHECK_OK(tern_kex_new(nist[i], &rs, &a));
        CHECK_EQ(fs.pos, 3 * flen);
        CHECK_OK(tern_kex_new(nist[i], &rg, &b));
        CHECK_OK(tern_kex_public(a, pa, sizeof pa, &la));
        CHECK_OK(tern_kex_public(b, pb, sizeof pb, &lb));
        CHECK_MEM(pa, pb, la);
        tern_kex_free(a);
        tern_kex_free(b);

        /* An rng stuck on out-of-range bytes ends in an error, not a hang. */
        uint8_t ff = 0xff;
        tern_rng stuck = {same_byte_fill, &ff};
        CHECK_ERR(tern_kex_new(nist[i], &stuck, &a), TERN_ERR_RNG);
    }
}

/* Every X25519 input of small order gives an all-zero secret (RFC 7748 §6.1), which
 * tern refuses: u = 0, 1, p - 1 (order 2), and p, p + 1 (0 and 1 not reduced). */
TEST(kex_x25519_rejects_bad_shares)
{
    tern_kex *k = NULL;
    uint8_t out[32], share[34];
    size_t n = 0;
    CHECK_OK(tern_kex_new(TERN_GROUP_X25519, NULL, &k));
    CHECK_OK(tern_kex_public(k, share, sizeof share, &n));
    CHECK_ERR(tern_kex_derive(k, share, 0, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
    CHECK_ERR(tern_kex_derive(k, share, 31, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
    CHECK_ERR(tern_kex_derive(k, share, 33, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
    CHECK_ERR(tern_kex_derive(k, NULL, 32, out, sizeof out, &n), TERN_ERR_BAD_SHARE);

    uint8_t low[5][32];
    memset(low, 0, sizeof low);
    low[1][0] = 1;
    for (int i = 2; i < 5; i++) { /* p - 1, p, p + 1, little-endian, p = 2^255 - 19 */
        memset(low[i], 0xff, 32);
        low[i][31] = 0x7f;
        low[i][0] = (uint8_t)(0xec + (i - 2));
    }
    for (int i = 0; i < 5; i++) {
        memset(out, 0xaa, sizeof out);
        CHECK_ERR(tern_kex_derive(k, low[i], 32, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        uint8_t zero[32] = {0};
        CHECK_MEM(out, zero, 32); /* nothing of a failed derive is left behind */
    }
    tern_kex_free(k);
}

TEST(kex_nist_rejects_bad_shares)
{
    static const tern_group nist[] = {TERN_GROUP_SECP256R1, TERN_GROUP_SECP384R1};
    for (size_t i = 0; i < 2; i++) {
        tern_group g = nist[i];
        size_t len = tern_kex_share_len(g), flen = (len - 1) / 2;
        tern_kex *k = NULL, *peer = NULL;
        uint8_t good[TERN_KEX_MAX_SHARE_LEN], bad[TERN_KEX_MAX_SHARE_LEN + 1];
        uint8_t out[TERN_KEX_MAX_SECRET_LEN];
        size_t n;
        CHECK_OK(tern_kex_new(g, NULL, &k));
        CHECK_OK(tern_kex_new(g, NULL, &peer));
        CHECK_OK(tern_kex_public(peer, good, sizeof good, &n));
        CHECK_OK(tern_kex_derive(k, good, len, out, sizeof out, &n));

        /* wrong lengths, including the compressed size 1 + flen */
        memcpy(bad, good, len);
        bad[len] = 0;
        CHECK_ERR(tern_kex_derive(k, bad, len - 1, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        CHECK_ERR(tern_kex_derive(k, bad, len + 1, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        bad[0] = (uint8_t)(2 + (good[len - 1] & 1));
        CHECK_ERR(tern_kex_derive(k, bad, 1 + flen, out, sizeof out, &n), TERN_ERR_BAD_SHARE);

        /* the right length with another form: compressed, hybrid */
        static const uint8_t forms[] = {0x02, 0x03, 0x06, 0x07};
        for (size_t f = 0; f < sizeof forms; f++) {
            memcpy(bad, good, len);
            bad[0] = forms[f];
            CHECK_ERR(tern_kex_derive(k, bad, len, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        }

        /* the point at infinity: its one-byte encoding 00, padded; and (0, 0) */
        memset(bad, 0, len);
        CHECK_ERR(tern_kex_derive(k, bad, 1, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        CHECK_ERR(tern_kex_derive(k, bad, len, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        bad[0] = 0x04;
        CHECK_ERR(tern_kex_derive(k, bad, len, out, sizeof out, &n), TERN_ERR_BAD_SHARE);

        /* not on the curve: y changed; x and y all ones (beyond p) */
        memcpy(bad, good, len);
        bad[len - 1] ^= 0x01;
        CHECK_ERR(tern_kex_derive(k, bad, len, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        memcpy(bad, good, len);
        bad[1 + flen / 2] ^= 0x10;
        CHECK_ERR(tern_kex_derive(k, bad, len, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        memset(bad + 1, 0xff, len - 1);
        CHECK_ERR(tern_kex_derive(k, bad, len, out, sizeof out, &n), TERN_ERR_BAD_SHARE);

        /* the other curve's valid point */
        tern_kex *other = NULL;
        uint8_t o[TERN_KEX_MAX_SHARE_LEN];
        size_t olen;
        CHECK_OK(tern_kex_new(
            g == TERN_GROUP_SECP256R1 ? TERN_GROUP_SECP384R1 : TERN_GROUP_SECP256R1, NULL, &other));
        CHECK_OK(tern_kex_public(other, o, sizeof o, &olen));
        CHECK_ERR(tern_kex_derive(k, o, olen, out, sizeof out, &n), TERN_ERR_BAD_SHARE);
        tern_kex_free(other);

        /* still usable after all that */
        CHECK_OK(tern_kex_derive(k, good, len, out, sizeof out, &n));
        tern_kex_free(peer);
        tern_kex_free(k);
    }
}

/* ------------------------------------------------------------------ keys */

TEST(pkey_parse_every_format)
{
    static const struct {
        const char *file;
        tern_key_type type;
        unsigned bits;
    } keys[] = {
        {"leaf-ecdsa.key", TERN_KEY_EC_P256, 256},      /* PKCS#8 PEM   */
        {"leaf-ecdsa.trad.key", TERN_KEY_EC_P256, 256}, /* EC PRIVATE KEY */
        {"leaf-ecdsa.key.der", TERN_KEY_EC_P256, 256},  /* PKCS#8 DER   */
        {"p384.key", TERN_KEY_EC_P384, 384},
        {"leaf-rsa.key", TERN_KEY_RSA, 2048},
        {"leaf-rsa.trad.key", TERN_KEY_RSA, 2048}, /* RSA PRIVATE KEY */
        {"leaf-ed25519.key", TERN_KEY_ED25519, 255},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        tern_pkey *k = NULL;
        CHECK_OK(tern_pkey_load_private(pki(keys[i].file), &k));
        CHECK_EQ(tern_pkey_type(k), keys[i].type);
        CHECK_EQ(tern_pkey_bits(k), keys[i].bits);
        tern_pkey_free(k);
    }
    tern_pkey_free(NULL);
    CHECK_EQ(tern_pkey_type(NULL), TERN_KEY_NONE);
}

TEST(pkey_parse_rejects_garbage)
{
    tern_pkey *k = NULL;
    size_t len = 0;
    uint8_t *der = slurp("leaf-ecdsa.key.der", &len);
    CHECK(der != NULL && len > 10);
    CHECK_ERR(tern_pkey_parse_private(der, len - 1, &k), TERN_ERR_BAD_KEY);
    CHECK_ERR(tern_pkey_parse_private(der, 10, &k), TERN_ERR_BAD_KEY);
    der[len] = 0; /* one trailing byte: not exactly one key */
    CHECK_ERR(tern_pkey_parse_private(der, len + 1, &k), TERN_ERR_BAD_KEY);
    CHECK_ERR(tern_pkey_parse_private(der, 0, &k), TERN_ERR_BAD_KEY);
    free(der);

    static const char junk[] =
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    CHECK_ERR(tern_pkey_parse_private((const uint8_t *)junk, sizeof junk - 1, &k),
              TERN_ERR_BAD_KEY);
    uint8_t *cert = slurp("leaf-ecdsa.pem", &len); /* a certificate is no private key */
    CHECK(cert != NULL);
    CHECK_ERR(tern_pkey_parse_private(cert, len, &k), TERN_ERR_BAD_KEY);
    free(cert);
    CHECK_ERR(tern_pkey_load_private(pki("no-such.key"), &k), TERN_ERR_IO);
}

TEST(pkey_generate_every_type)
{
    static const tern_key_type types[] = {TERN_KEY_EC_P256, TERN_KEY_EC_P384, TERN_KEY_RSA,
                                          TERN_KEY_ED25519};
    static const unsigned bits[] = {256, 384, 2048, 255};
    for (size_t i = 0; i < 4; i++) {
        tern_pkey *k = NULL;
        uint8_t sig[TERN_SIG_MAX_LEN];
        size_t n;
        CHECK_OK(tern_pkey_generate(types[i], &k));
        CHECK_EQ(tern_pkey_type(k), types[i]);
        CHECK_EQ(tern_pkey_bits(k), bits[i]);
        for (size_t s = 0; s < NSCHEMES; s++) {
            CHECK_EQ(tern_pkey_supports(k, all_schemes[s]), scheme_fits(all_schemes[s], types[i]));
            if (!scheme_fits(all_schemes[s], types[i]))
                continue;
            CHECK_OK(tern_sign(k, all_schemes[s], (const uint8_t *)"m", 1, sig, sizeof sig, &n));
            CHECK_OK(tern_verify(k, all_schemes[s], (const uint8_t *)"m", 1, sig, n));
        }
        tern_pkey_free(k);
    }
    tern_pkey *k = NULL;
    CHECK_ERR(tern_pkey_generate(TERN_KEY_NONE, &k), TERN_ERR_UNSUPPORTED);
}

/* ------------------------------------------------------------------ signatures */

/* The PKI's private keys, and for the leaves the public key from the certificate. */
typedef struct keyset {
    tern_pkey *priv[4], *pub[4];
} keyset;

static const char *const key_files[4] = {"leaf-ecdsa.key", "p384.key", "leaf-rsa.key",
                                         "leaf-ed25519.key"};
static const char *const cert_files[4] = {"leaf-ecdsa.der", NULL, "leaf-rsa.pem",
                                          "leaf-ed25519.pem"};

static void keyset_free(keyset *ks)
{
    for (int i = 0; i < 4; i++) {
        tern_pkey_free(ks->priv[i]);
        tern_pkey_free(ks->pub[i]);
    }
}

static tern_err keyset_load(keyset *ks)
{
    memset(ks, 0, sizeof *ks);
    for (int i = 0; i < 4; i++) {
        tern_err err = tern_pkey_load_private(pki(key_files[i]), &ks->priv[i]);
        if (err != TERN_OK)
            return err;
        if (cert_files[i] == NULL)
            continue;
        tern_chain c = {NULL, 0};
        err = tern_chain_load(pki(cert_files[i]), &c);
        if (err == TERN_OK)
            err = tern_cert_public_key(c.certs[0].data, c.certs[0].len, &ks->pub[i]);
        tern_chain_clear(&c);
        if (err != TERN_OK)
            return err;
    }
    return TERN_OK;
}

TEST(sign_verify_every_scheme)
{
    static const uint8_t msg[] = "TLS 1.3, server CertificateVerify\0 plus a transcript hash";
    keyset ks;
    tern_err loaded = keyset_load(&ks);
    if (loaded != TERN_OK)
        keyset_free(&ks);
    CHECK_OK(loaded);
    int pairs = 0;
    for (int i = 0; i < 4; i++) {
        tern_key_type t = tern_pkey_type(ks.priv[i]);
        for (size_t s = 0; s < NSCHEMES; s++) {
            tern_sigscheme scheme = all_schemes[s];
            if (!scheme_fits(scheme, t))
                continue;
            uint8_t sig[TERN_SIG_MAX_LEN];
            size_t n = 0;
            CHECK(tern_pkey_supports(ks.priv[i], scheme));
            CHECK_OK(tern_sign(ks.priv[i], scheme, msg, sizeof msg, sig, sizeof sig, &n));
            CHECK_OK(tern_verify(ks.priv[i], scheme, msg, sizeof msg, sig, n));
            if (ks.pub[i] != NULL) /* the certificate holds the same key */
                CHECK_OK(tern_verify(ks.pub[i], scheme, msg, sizeof msg, sig, n));
            if (t == TERN_KEY_RSA)
                CHECK_EQ(n, 256);
            if (t == TERN_KEY_ED25519)
                CHECK_EQ(n, 64);
            if (t == TERN_KEY_EC_P256 || t == TERN_KEY_EC_P384)
                CHECK_EQ(sig[0], 0x30); /* DER SEQUENCE { r, s } */
            CHECK_ERR(tern_sign(ks.priv[i], scheme, msg, sizeof msg, sig, 8, &n), TERN_ERR_BUF);
            pairs++;
        }
    }
    keyset_free(&ks);
    CHECK_EQ(pairs, 2 + 2 + 6 + 1); /* ECDSA x 2 curves x 2 hashes, RSA x 6, Ed25519 */
}

TEST(sign_verify_wrong_scheme_for_key)
{
    keyset ks;
    tern_err loaded = keyset_load(&ks);
    if (loaded != TERN_OK)
        keyset_free(&ks);
    CHECK_OK(loaded);
    uint8_t sig[TERN_SIG_MAX_LEN] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    size_t n;
    for (int i = 0; i < 4; i++) {
        tern_key_type t = tern_pkey_type(ks.priv[i]);
        for (size_t s = 0; s < NSCHEMES; s++) {
            if (scheme_fits(all_schemes[s], t))
                continue;
            CHECK(!tern_pkey_supports(ks.priv[i], all_schemes[s]));
            CHECK_ERR(tern_sign(ks.priv[i], all_schemes[s], sig, 8, sig, sizeof sig, &n),
                      TERN_ERR_CERT_KEY);
            CHECK_ERR(tern_verify(ks.priv[i], all_schemes[s], sig, 8, sig, 8), TERN_ERR_CERT_KEY);
        }
        CHECK(!tern_pkey_supports(ks.priv[i], (tern_sigscheme)0x0203)); /* ecdsa_sha1 */
        CHECK_ERR(tern_verify(ks.priv[i], (tern_sigscheme)0, sig, 8, sig, 8), TERN_ERR_CERT_KEY);
    }
    /* A public key from a certificate cannot sign. */
    CHECK_ERR(tern_sign(ks.pub[0], TERN_SIG_ECDSA_SECP256R1_SHA256, sig, 8, sig, sizeof sig, &n),
              TERN_ERR_CERT_KEY);
    CHECK(!tern_pkey_supports(NULL, TERN_SIG_ED25519));
    keyset_free(&ks);
}

/* Flip, cut, extend and replace signatures of every scheme: always BAD_SIGNATURE. */
TEST(verify_rejects_corrupted_signatures)
{
    static const uint8_t msg[] = "the message that was signed";
    static const size_t garbage_lens[] = {1,  2,   7,   8,   63,  64,  65,  71, 72,
                                          73, 103, 104, 255, 256, 257, 511, 512};
    keyset ks;
    tern_err loaded = keyset_load(&ks);
    if (loaded != TERN_OK)
        keyset_free(&ks);
    CHECK_OK(loaded);
    tern_rng rng;
    test_seeded_state seed;
    test_rng_seeded(&rng, &seed, 7);
    for (int i = 0; i < 4; i++) {
        tern_key_type t = tern_pkey_type(ks.priv[i]);
        for (size_t s = 0; s < NSCHEMES; s++) {
            tern_sigscheme scheme = all_schemes[s];
            if (!scheme_fits(scheme, t))
                continue;
            tern_pkey *k = ks.priv[i];
            uint8_t sig[TERN_SIG_MAX_LEN + 2], bad[TERN_SIG_MAX_LEN + 2];
            size_t n = 0;
            CHECK_OK(tern_sign(k, scheme, msg, sizeof msg, sig, sizeof sig, &n));
            /* one bit, at the start, middle and end */
            size_t at[3] = {0, n / 2, n - 1};
            for (int j = 0; j < 3; j++) {
                memcpy(bad, sig, n);
                bad[at[j]] ^= 0x01;
                CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, bad, n), TERN_ERR_BAD_SIGNATURE);
            }
            /* cut short, one byte more, nothing at all */
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, sig, n - 1), TERN_ERR_BAD_SIGNATURE);
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, sig, 1), TERN_ERR_BAD_SIGNATURE);
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, sig, 0), TERN_ERR_BAD_SIGNATURE);
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, NULL, 0), TERN_ERR_BAD_SIGNATURE);
            memcpy(bad, sig, n);
            bad[n] = 0;
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, bad, n + 1), TERN_ERR_BAD_SIGNATURE);
            /* the right signature over another message */
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg - 1, sig, n), TERN_ERR_BAD_SIGNATURE);
            /* garbage, zeros and ones of many lengths, up to past the largest signature */
            for (size_t g = 0; g < sizeof garbage_lens / sizeof garbage_lens[0]; g++) {
                size_t len = garbage_lens[g];
                CHECK_OK(tern_random(&rng, bad, len));
                CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, bad, len),
                          TERN_ERR_BAD_SIGNATURE);
                memset(bad, 0, len);
                CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, bad, len),
                          TERN_ERR_BAD_SIGNATURE);
                memset(bad, 0xff, len);
                CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, bad, len),
                          TERN_ERR_BAD_SIGNATURE);
            }
            memset(bad, 0x30, sizeof bad);
            CHECK_ERR(tern_verify(k, scheme, msg, sizeof msg, bad, TERN_SIG_MAX_LEN + 1),
                      TERN_ERR_BAD_SIGNATURE);
        }
    }
    /* An RSA signature made with one padding or hash does not pass as another. */
    uint8_t sig[TERN_SIG_MAX_LEN];
    size_t n;
    CHECK_OK(
        tern_sign(ks.priv[2], TERN_SIG_RSA_PKCS1_SHA256, msg, sizeof msg, sig, sizeof sig, &n));
    CHECK_ERR(tern_verify(ks.priv[2], TERN_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof msg, sig, n),
              TERN_ERR_BAD_SIGNATURE);
    CHECK_ERR(tern_verify(ks.priv[2], TERN_SIG_RSA_PKCS1_SHA384, msg, sizeof msg, sig, n),
              TERN_ERR_BAD_SIGNATURE);
    CHECK_OK(
        tern_sign(ks.priv[2], TERN_SIG_RSA_PSS_RSAE_SHA384, msg, sizeof msg, sig, sizeof sig, &n));
    CHECK_ERR(tern_verify(ks.priv[2], TERN_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof msg, sig, n),
              TERN_ERR_BAD_SIGNATURE);
    CHECK_ERR(tern_verify(ks.priv[2], TERN_SIG_RSA_PKCS1_SHA384, msg, sizeof msg, sig, n),
              TERN_ERR_BAD_SIGNATURE);
    /* An ECDSA signature under one hash does not pass under the other. */
    CHECK_OK(tern_sign(ks.priv[0], TERN_SIG_ECDSA_SECP256R1_SHA256, msg, sizeof msg, sig,
                       sizeof sig, &n));
    CHECK_ERR(tern_verify(ks.priv[0], TERN_SIG_ECDSA_SECP384R1_SHA384, msg, sizeof msg, sig, n),
              TERN_ERR_BAD_SIGNATURE);
    /* Another key of the same type. */
    CHECK_ERR(tern_verify(ks.priv[1], TERN_SIG_ECDSA_SECP256R1_SHA256, msg, sizeof msg, sig, n),
              TERN_ERR_BAD_SIGNATURE);
    keyset_free(&ks);
}

/* ------------------------------------------------------------------ chains */

TEST(chain_parse_pem_and_der)
{
    tern_chain c = {NULL, 0}, leaf = {NULL, 0};
    CHECK_OK(tern_chain_load(pki("leaf-ecdsa-chain.pem"), &c));
    CHECK_EQ(c.count, 2);
    CHECK_OK(tern_chain_load(pki("leaf-ecdsa.der"), &leaf));
    CHECK_EQ(leaf.count, 1);
    CHECK_EQ(c.certs[0].len, leaf.certs[0].len);
    CHECK_MEM(c.certs[0].data, leaf.certs[0].data, leaf.certs[0].len);
    tern_chain_clear(&leaf);
    CHECK_OK(tern_chain_load(pki("int-ca.pem"), &leaf));
    CHECK_EQ(leaf.count, 1);
    CHECK_EQ(c.certs[1].len, leaf.certs[0].len);
    CHECK_MEM(c.certs[1].data, leaf.certs[0].data, leaf.certs[0].len);
    tern_chain_clear(&leaf);
    tern_chain_clear(&c);
    CHECK(c.certs == NULL && c.count == 0);
    tern_chain_clear(&c); /* twice is fine */

    /* Other PEM blocks around the certificates are skipped. */
    size_t klen = 0, clen = 0;
    uint8_t *key = slurp("leaf-rsa.key", &klen), *cert = slurp("leaf-rsa-chain.pem", &clen);
    CHECK(key != NULL && cert != NULL);
    uint8_t *mix = malloc(klen + clen + klen);
    CHECK(mix != NULL);
    memcpy(mix, key, klen);
    memcpy(mix + klen, cert, clen);
    memcpy(mix + klen + clen, key, klen);
    tern_err err = tern_chain_parse(mix, klen + clen + klen, &c);
    size_t count = c.count;
    tern_chain_clear(&c);
    err = err == TERN_OK ? tern_chain_parse(key, klen, &c) : err; /* no certificate at all */
    free(mix);
    free(key);
    free(cert);
    CHECK_ERR(err, TERN_ERR_CERT_PARSE);
    CHECK_EQ(count, 2);
    CHECK_ERR(tern_chain_load(pki("no-such.pem"), &c), TERN_ERR_IO);
}

TEST(chain_parse_rejects_broken_input)
{
    tern_chain c = {NULL, 0};
    size_t len = 0;
    uint8_t *der = slurp("leaf-ecdsa.der", &len);
    CHECK(der != NULL);
    CHECK_ERR(tern_chain_parse(der, len - 1, &c), TERN_ERR_CERT_PARSE);
    CHECK_ERR(tern_chain_parse(der, len / 2, &c), TERN_ERR_CERT_PARSE);
    CHECK_ERR(tern_chain_parse(der, 1, &c), TERN_ERR_CERT_PARSE);
    CHECK_ERR(tern_chain_parse(der, 0, &c), TERN_ERR_CERT_PARSE);
    der[len] = 0x00;
    CHECK_ERR(tern_chain_parse(der, len + 1, &c), TERN_ERR_CERT_PARSE);
    der[len / 2] ^= 0xff; /* somewhere inside the TBSCertificate */
    memset(der + 4, 0xa5, 8);
    CHECK_ERR(tern_chain_parse(der, len, &c), TERN_ERR_CERT_PARSE);
    free(der);
    CHECK(c.count == 0 && c.certs == NULL);

    uint8_t *pem = slurp("leaf-ecdsa-chain.pem", &len);
    CHECK(pem != NULL);
    /* cut inside the second block (no END line), then inside the first */
    CHECK_ERR(tern_chain_parse(pem, len - 40, &c), TERN_ERR_CERT_PARSE);
    CHECK_ERR(tern_chain_parse(pem, 200, &c), TERN_ERR_CERT_PARSE);
    /* base64 that is not a certificate */
    static const char fake[] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                               "-----END CERTIFICATE-----\n";
    CHECK_ERR(tern_chain_parse((const uint8_t *)fake, sizeof fake - 1, &c), TERN_ERR_CERT_PARSE);
    static const char text[] = "just some text, no PEM and no DER";
    CHECK_ERR(tern_chain_parse((const uint8_t *)text, sizeof text - 1, &c), TERN_ERR_CERT_PARSE);
    free(pem);
    CHECK(c.count == 0 && c.certs == NULL);
}

TEST(cert_fingerprint_matches_openssl_cli)
{
    tern_chain c = {NULL, 0};
    uint8_t fp[32];
    char hex[3 * 32];
    CHECK_OK(tern_chain_load(pki("leaf-ecdsa.pem"), &c));
    tern_err err = tern_cert_fingerprint(c.certs[0].data, c.certs[0].len, fp);
    tern_chain_clear(&c);
    CHECK_OK(err);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 3 * i, 4, i < 31 ? "%02X:" : "%02X", fp[i]);
    CHECK(strcmp(hex, leaf_ecdsa_fingerprint) == 0);
}

TEST(cert_public_key_rejects_garbage)
{
    tern_pkey *k = NULL;
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    CHECK_ERR(tern_cert_public_key(junk, sizeof junk, &k), TERN_ERR_CERT_PARSE);
    CHECK_ERR(tern_cert_public_key(junk, 0, &k), TERN_ERR_CERT_PARSE);
}

/* ------------------------------------------------------------------ verification */

static tern_err trust_of(const char *file, tern_trust **t)
{
    tern_err err = tern_trust_new(t);
    if (err == TERN_OK)
        err = tern_trust_add_file(*t, pki(file));
    return err;
}

/* Verify chain file |chain_file| against CA file |ca| for |host| at |now|. */
static tern_err verify_files(const char *chain_file, const char *ca, const char *host, uint64_t now,
                             tern_key_type *leaf_type)
{
    tern_trust *t = NULL;
    tern_chain c = {NULL, 0};
    tern_pkey *leaf = NULL;
    tern_err err = trust_of(ca, &t);
    if (err == TERN_OK)
        err = tern_chain_load(pki(chain_file), &c);
    if (err == TERN_OK)
        err = tern_chain_verify(t, &c, host, now, leaf_type ? &leaf : NULL);
    if (leaf_type != NULL)
        *leaf_type = tern_pkey_type(leaf);
    tern_pkey_free(leaf);
    tern_chain_clear(&c);
    tern_trust_free(t);
    return err;
}

TEST(chain_verify_success)
{
    static const struct {
        const char *chain;
        tern_key_type type;
    } ok[] = {
        {"leaf-ecdsa-chain.pem", TERN_KEY_EC_P256},
        {"leaf-rsa-chain.pem", TERN_KEY_RSA},
        {"leaf-ed25519-chain.pem", TERN_KEY_ED25519},
    };
    for (size_t i = 0; i < 3; i++) {
        tern_key_type t = TERN_KEY_NONE;
        CHECK_OK(verify_files(ok[i].chain, "root-ca.pem", "localhost", T_2030, &t));
        CHECK_EQ(t, ok[i].type);
        CHECK_OK(verify_files(ok[i].chain, "root-ca.pem", "127.0.0.1", T_2030, &t));
        CHECK_EQ(t, ok[i].type);
        CHECK_OK(verify_files(ok[i].chain, "root-ca.pem", "LocalHost", T_2030, NULL));
        CHECK_OK(verify_files(ok[i].chain, "root-ca.pem", NULL, T_2030, NULL));
        CHECK_OK(verify_files(ok[i].chain, "root-ca.pem", "localhost", 0, NULL)); /* now */
        CHECK_OK(verify_files(ok[i].chain, "root-ca.pem", "localhost", T_LAST, NULL));
    }
    /* The key handed back verifies what the leaf's private key signs. */
    tern_trust *t = NULL;
    tern_chain c = {NULL, 0};
    tern_pkey *leaf = NULL, *priv = NULL;
    uint8_t sig[TERN_SIG_MAX_LEN];
    size_t n;
    CHECK_OK(trust_of("root-ca.pem", &t));
    CHECK_OK(tern_chain_load(pki("leaf-rsa-chain.pem"), &c));
    CHECK_OK(tern_chain_verify(t, &c, "localhost", T_2030, &leaf));
    CHECK_OK(tern_pkey_load_private(pki("leaf-rsa.key"), &priv));
    static const uint8_t msg[] = "signed by the leaf";
    CHECK_OK(tern_sign(priv, TERN_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof msg, sig, sizeof sig, &n));
    CHECK_OK(tern_verify(leaf, TERN_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof msg, sig, n));
    tern_pkey_free(priv);
    tern_pkey_free(leaf);
    tern_chain_clear(&c);
    tern_trust_free(t);
}

TEST(chain_verify_wrong_ca)
{
    CHECK_ERR(verify_files("leaf-ecdsa-chain.pem", "other-root-ca.pem", "localhost", T_2030, NULL),
              TERN_ERR_CERT_UNTRUSTED);
    CHECK_ERR(verify_files("other-leaf.pem", "root-ca.pem", "localhost", T_2030, NULL),
              TERN_ERR_CERT_UNTRUSTED);
    /* without the intermediate the leaf cannot reach the root */
    CHECK_ERR(verify_files("leaf-ecdsa.pem", "root-ca.pem", "localhost", T_2030, NULL),
              TERN_ERR_CERT_UNTRUSTED);
    /* the other root's own leaf is fine against it */
    CHECK_OK(verify_files("other-leaf.pem", "other-root-ca.pem", "localhost", T_2030, NULL));
    /* an empty trust set trusts nothing */
    tern_trust *t = NULL;
    tern_chain c = {NULL, 0};
    CHECK_OK(tern_trust_new(&t));
    CHECK_OK(tern_chain_load(pki("leaf-ecdsa-chain.pem"), &c));
    tern_err err = tern_chain_verify(t, &c, "localhost", T_2030, NULL);
    tern_chain_clear(&c);
    tern_trust_free(t);
    CHECK_ERR(err, TERN_ERR_CERT_UNTRUSTED);
}

/* Any certificate in the trust set is an anchor: trusting the intermediate, or the
 * leaf itself (pinning), is enough. */
TEST(chain_verify_partial_anchor)
{
    CHECK_OK(verify_files("leaf-ecdsa-chain.pem", "int-ca.pem", "localhost", T_2030, NULL));
    CHECK_OK(verify_files("leaf-ecdsa.pem", "int-ca.pem", "localhost", T_2030, NULL));
    CHECK_OK(verify_files("leaf-ecdsa.pem", "leaf-ecdsa.pem", "localhost", T_2030, NULL));
}

TEST(chain_verify_wrong_host)
{
    static const char *const wrong[] = {
        "example.com", "localhost.example", "local", "127.0.0.2", "::1", "", "tern test PKI"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        CHECK_ERR(verify_files("leaf-ecdsa-chain.pem", "root-ca.pem", wrong[i], T_2030, NULL),
                  TERN_ERR_CERT_NAME);
}

TEST(chain_verify_time)
{
    CHECK_ERR(verify_files("leaf-ecdsa-chain.pem", "root-ca.pem", "localhost", T_2125, NULL),
              TERN_ERR_CERT_EXPIRED);
    CHECK_ERR(verify_files("leaf-ecdsa-chain.pem", "root-ca.pem", "localhost", T_AFTER, NULL),
              TERN_ERR_CERT_EXPIRED);
    CHECK_ERR(verify_files("leaf-rsa-chain.pem", "root-ca.pem", "localhost", T_2024, NULL),
              TERN_ERR_CERT_EXPIRED);
    CHECK_ERR(verify_files("leaf-ecdsa-chain.pem", "root-ca.pem", "localhost", 1, NULL),
              TERN_ERR_CERT_EXPIRED);
    CHECK_ERR(verify_files("leaf-ecdsa-chain.pem", "root-ca.pem", "localhost", UINT64_MAX, NULL),
              TERN_ERR_CERT_EXPIRED);
}

TEST(chain_verify_rejects_broken_der)
{
    tern_trust *t = NULL;
    tern_chain c = {NULL, 0};
    CHECK_OK(trust_of("root-ca.pem", &t));
    CHECK_OK(tern_chain_load(pki("leaf-ecdsa-chain.pem"), &c));
    tern_der saved[2] = {c.certs[0], c.certs[1]};
    static const uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef};
    tern_der bad[2];
    tern_chain view = {bad, 2};
    tern_err e[6];
    bad[0] = (tern_der){saved[0].data, saved[0].len - 1}; /* truncated leaf */
    bad[1] = saved[1];
    e[0] = tern_chain_verify(t, &view, "localhost", T_2030, NULL);
    bad[0] = saved[0]; /* truncated intermediate */
    bad[1] = (tern_der){saved[1].data, saved[1].len / 2};
    e[1] = tern_chain_verify(t, &view, "localhost", T_2030, NULL);
    bad[1] = (tern_der){junk, sizeof junk}; /* garbage intermediate */
    e[2] = tern_chain_verify(t, &view, "localhost", T_2030, NULL);
    bad[0] = (tern_der){junk, sizeof junk};
    view.count = 1;
    e[3] = tern_chain_verify(t, &view, "localhost", T_2030, NULL);
    view.count = 0;
    e[4] = tern_chain_verify(t, &view, "localhost", T_2030, NULL);
    bad[0] = (tern_der){saved[0].data, 0};
    view.count = 1;
    e[5] = tern_chain_verify(t, &view, "localhost", T_2030, NULL);
    tern_chain_clear(&c);
    tern_trust_free(t);
    for (int i = 0; i < 6; i++)
        CHECK_ERR(e[i], TERN_ERR_CERT_PARSE);
}

/* The certificate of the chain, with the leaf's signature value changed, does not
 * verify: the chain is checked, not only its names. */
TEST(chain_verify_rejects_bad_signature)
{
    tern_trust *t = NULL;
    tern_chain c = {NULL, 0};
    CHECK_OK(trust_of("root-ca.pem", &t));
    CHECK_OK(tern_chain_load(pki("leaf-rsa-chain.pem"), &c));
    uint8_t *leaf = (uint8_t *)c.certs[0].data;
    leaf[c.certs[0].len - 5] ^= 0x01; /* inside the signature of the ECDSA-signed leaf */
    tern_err err = tern_chain_verify(t, &c, "localhost", T_2030, NULL);
    tern_chain_clear(&c);
    tern_trust_free(t);
    CHECK_ERR(err, TERN_ERR_CERT_UNTRUSTED);
}

/* A trust set keeps the certificates it parsed: a chain seen again verifies from
 * the cache with every check still made, a certificate differing in one byte is
 * parsed (and judged) afresh, and more distinct certificates than the cache holds
 * evict each other without changing any result. */
TEST(chain_verify_again_from_the_cache)
{
    tern_trust *t = NULL;
    tern_chain good = {NULL, 0}, rsa = {NULL, 0}, ed = {NULL, 0}, other = {NULL, 0};
    CHECK_OK(trust_of("root-ca.pem", &t));
    CHECK_OK(tern_chain_load(pki("leaf-ecdsa-chain.pem"), &good));
    CHECK_OK(tern_chain_load(pki("leaf-rsa-chain.pem"), &rsa));
    CHECK_OK(tern_chain_load(pki("leaf-ed25519-chain.pem"), &ed));
    CHECK_OK(tern_chain_load(pki("other-leaf.pem"), &other));
    size_t len = good.certs[0].len;
    uint8_t *flipped = malloc(len);
    CHECK(flipped != NULL);
    for (int round = 0; round < 3 && flipped != NULL; round++) {
        tern_pkey *leaf = NULL;
        CHECK_OK(tern_chain_verify(t, &good, "localhost", T_2030, &leaf));
        CHECK_EQ(tern_pkey_type(leaf), TERN_KEY_EC_P256);
        tern_pkey_free(leaf);
        CHECK_ERR(tern_chain_verify(t, &good, "example.com", T_2030, NULL), TERN_ERR_CERT_NAME);
        CHECK_ERR(tern_chain_verify(t, &good, "localhost", T_2125, NULL), TERN_ERR_CERT_EXPIRED);
        CHECK_OK(tern_chain_verify(t, &rsa, "localhost", T_2030, NULL));
        CHECK_OK(tern_chain_verify(t, &ed, "localhost", T_2030, NULL));
        CHECK_ERR(tern_chain_verify(t, &other, "localhost", T_2030, NULL),
                  TERN_ERR_CERT_UNTRUSTED);
        /* Twelve leaves of the same length, each with one signature byte changed. */
        for (size_t k = 0; k < 12; k++) {
            memcpy(flipped, good.certs[0].data, len);
            flipped[len - 2 - k] ^= 0x01;
            tern_der certs[2] = {{flipped, len}, good.certs[1]};
            tern_chain bad = {certs, 2};
            tern_err err = tern_chain_verify(t, &bad, "localhost", T_2030, NULL);
            CHECK(err == TERN_ERR_CERT_UNTRUSTED || err == TERN_ERR_CERT_PARSE);
        }
    }
    free(flipped);
    tern_chain_clear(&good);
    tern_chain_clear(&rsa);
    tern_chain_clear(&ed);
    tern_chain_clear(&other);
    tern_trust_free(t);
}

TEST(trust_from_data_file_and_dir)
{
    tern_trust *t = NULL;
    tern_chain c = {NULL, 0};
    size_t len = 0;
    CHECK_OK(tern_trust_new(&t));
    uint8_t *root = slurp("root-ca.pem", &len);
    CHECK(root != NULL);
    tern_err err = tern_trust_add(t, root, len);
    free(root);
    CHECK_OK(err);
    CHECK_OK(tern_chain_load(pki("leaf-ed25519-chain.pem"), &c));
    err = tern_chain_verify(t, &c, "localhost", T_2030, NULL);
    tern_trust_free(t);
    CHECK_OK(err);

    /* The PKI directory holds both roots (and keys, which are skipped). */
    CHECK_OK(tern_trust_new(&t));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/pki", test_source_dir());
    err = tern_trust_add_dir(t, dir);
    tern_err e1 = tern_chain_verify(t, &c, "localhost", T_2030, NULL);
    tern_chain_clear(&c);
    CHECK_OK(tern_chain_load(pki("other-leaf.pem"), &c));
    tern_err e2 = tern_chain_verify(t, &c, "localhost", T_2030, NULL);
    tern_chain_clear(&c);
    tern_trust_free(t);
    CHECK_OK(err);
    CHECK_OK(e1);
    CHECK_OK(e2);

    CHECK_OK(tern_trust_new(&t));
    tern_err e3 = tern_trust_add_file(t, pki("root-ca.key")); /* no certificate */
    tern_err e4 = tern_trust_add_file(t, pki("no-such.pem"));
    tern_err e5 = tern_trust_add_dir(t, pki("no-such-dir"));
    snprintf(dir, sizeof dir, "%s/tests/vectors", test_source_dir()); /* files, no certs */
    tern_err e6 = tern_trust_add_dir(t, dir);
    tern_err e7 = tern_trust_add(t, (const uint8_t *)"x", 1);
    tern_trust_free(t);
    tern_trust_free(NULL);
    CHECK_ERR(e3, TERN_ERR_CERT_PARSE);
    CHECK_ERR(e4, TERN_ERR_IO);
    CHECK_ERR(e5, TERN_ERR_IO);
    CHECK_ERR(e6, TERN_ERR_CERT_PARSE);
    CHECK_ERR(e7, TERN_ERR_CERT_PARSE);
}

/* ------------------------------------------------------------------ self-signed */

/* Make a self-signed certificate for |k|, then verify it with itself as the only
 * anchor: by its name, by another name, and against an unrelated root. */
static tern_err self_signed_check(tern_pkey *k, const char *name, tern_err *by_other_name,
                                  tern_err *by_other_root)
{
    tern_chain c = {NULL, 0};
    tern_trust *self = NULL, *root = NULL;
    tern_pkey *leaf = NULL;
    tern_err err = tern_cert_self_signed(k, name, 30, &c);
    if (err == TERN_OK)
        err = tern_trust_new(&self);
    if (err == TERN_OK)
        err = tern_trust_add(self, c.certs[0].data, c.certs[0].len);
    if (err == TERN_OK)
        err = trust_of("root-ca.pem", &root);
    if (err == TERN_OK) {
        *by_other_name = tern_chain_verify(self, &c, "other.test", 0, NULL);
        *by_other_root = tern_chain_verify(root, &c, name, 0, NULL);
        err = tern_chain_verify(self, &c, name, 0, &leaf);
    }
    /* it holds |k|'s public key */
    uint8_t sig[TERN_SIG_MAX_LEN];
    size_t n;
    tern_sigscheme s = tern_pkey_type(k) == TERN_KEY_ED25519 ? TERN_SIG_ED25519
                       : tern_pkey_type(k) == TERN_KEY_RSA   ? TERN_SIG_RSA_PSS_RSAE_SHA256
                                                             : TERN_SIG_ECDSA_SECP256R1_SHA256;
    if (err == TERN_OK)
        err = tern_sign(k, s, (const uint8_t *)name, strlen(name), sig, sizeof sig, &n);
    if (err == TERN_OK)
        err = tern_verify(leaf, s, (const uint8_t *)name, strlen(name), sig, n);
    tern_pkey_free(leaf);
    tern_trust_free(self);
    tern_trust_free(root);
    tern_chain_clear(&c);
    return err;
}

TEST(self_signed_verifies_against_itself)
{
    static const char *const files[] = {"leaf-ecdsa.key", "p384.key", "leaf-rsa.key",
                                        "leaf-ed25519.key"};
    for (size_t i = 0; i < 4; i++) {
        tern_pkey *k = NULL;
        tern_err other_name = TERN_OK, other_root = TERN_OK;
        CHECK_OK(tern_pkey_load_private(pki(files[i]), &k));
        tern_err err = self_signed_check(k, "webrtc.tern.test", &other_name, &other_root);
        tern_err ip = self_signed_check(k, "192.0.2.7", &other_name, &other_root);
        tern_pkey_free(k);
        CHECK_OK(err);
        CHECK_OK(ip); /* an IP literal goes in as an iPAddress entry */
        CHECK_ERR(other_name, TERN_ERR_CERT_NAME);
        CHECK_ERR(other_root, TERN_ERR_CERT_UNTRUSTED);
    }
}

TEST(self_signed_is_fresh_and_checked)
{
    tern_pkey *k = NULL;
    tern_chain a = {NULL, 0}, b = {NULL, 0};
    CHECK_OK(tern_pkey_load_private(pki("leaf-ecdsa.key"), &k));
    tern_err e1 = tern_cert_self_signed(k, "a.test", 1, &a);
    tern_err e2 = tern_cert_self_signed(k, "a.test", 1, &b);
    tern_err e3 = tern_cert_self_signed(k, "", 1, &b);
    tern_err e4 = tern_cert_self_signed(k, "a.test", 0, &b);
    /* valid from an hour ago, for one day: not in two days */
    tern_trust *t = NULL;
    tern_err e5 = tern_trust_new(&t);
    if (e5 == TERN_OK && e1 == TERN_OK)
        e5 = tern_trust_add(t, a.certs[0].data, a.certs[0].len);
    bool differ = e1 == TERN_OK && e2 == TERN_OK &&
                  (a.certs[0].len != b.certs[0].len ||
                   memcmp(a.certs[0].data, b.certs[0].data, a.certs[0].len) != 0);
    tern_trust_free(t);
    tern_chain_clear(&a);
    tern_chain_clear(&b);
    tern_pkey_free(k);
    CHECK_OK(e1);
    CHECK_OK(e2);
    CHECK(differ); /* random serial (and signature) */
    CHECK_ERR(e3, TERN_ERR_ARG);
    CHECK_ERR(e4, TERN_ERR_ARG);
    CHECK_OK(e5);
}
