/*
 * test_vec_ed25519.c - Ed25519 against RFC 8032 §7.1 TEST 1, 2, 3 and 1024
 * (tests/vectors/ed25519.vec). Each secret key is wrapped in a PKCS#8 DER key
 * (RFC 8410 §7) and parsed by tern; signing must reproduce the published signature
 * exactly (Ed25519 is deterministic), which verifies, and fails with one bit changed.
 */
#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"
#include "vec_check.h"

/* OneAsymmetricKey { version 0, AlgorithmIdentifier { id-Ed25519 1.3.101.112 },
 * privateKey OCTET STRING { CurvePrivateKey OCTET STRING (32) } }, RFC 8410 §7. */
static const uint8_t pkcs8_ed25519_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

/* Whether |needle| occurs in |hay|. */
static bool contains(const uint8_t *hay, size_t haylen, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= haylen; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static int ed25519_case(const vec_case *c, void *ctx)
{
    (void)ctx;
    static uint8_t msg[1024];
    uint8_t seed[32], pub[32], sig[64], der[48], got[TERN_SIG_MAX_LEN];
    VCHECK(c, vec_hex_into(c, "seed", seed, sizeof seed) == 32);
    VCHECK(c, vec_hex_into(c, "pub", pub, sizeof pub) == 32);
    VCHECK(c, vec_hex_into(c, "sig", sig, sizeof sig) == 64);
    long msglen = vec_hex_into(c, "msg", msg, sizeof msg);
    VCHECK(c, msglen >= 0);
    if (strcmp(vec_str(c, "name"), "TEST1024") == 0)
        VCHECK(c, msglen == 1023);

    memcpy(der, pkcs8_ed25519_prefix, 16);
    memcpy(der + 16, seed, 32);
    tern_pkey *key = NULL;
    VCHECK(c, tern_pkey_parse_private(der, sizeof der, &key) == TERN_OK);
    size_t n = 0;
    tern_err signed_ok = tern_sign(key, TERN_SIG_ED25519, msg, (size_t)msglen, got, sizeof got, &n);

    /* The published public key: a certificate for this key must carry it as the
     * subjectPublicKey BIT STRING (03 21 00 || key). */
    tern_chain self = {NULL, 0};
    uint8_t spk[35] = {0x03, 0x21, 0x00};
    memcpy(spk + 3, pub, 32);
    tern_err cert_ok = tern_cert_self_signed(key, "ed25519.test", 1, &self);
    bool has_pub = cert_ok == TERN_OK && contains(self.certs[0].data, self.certs[0].len, spk, 35);

    /* Verify the published signature with the public key alone. */
    tern_pkey *pubkey = NULL;
    tern_err pub_ok = cert_ok == TERN_OK
                          ? tern_cert_public_key(self.certs[0].data, self.certs[0].len, &pubkey)
                          : cert_ok;
    tern_err good = pubkey ? tern_verify(pubkey, TERN_SIG_ED25519, msg, (size_t)msglen, sig, 64)
                           : TERN_ERR_INTERNAL;
    uint8_t bad_sig[64];
    memcpy(bad_sig, sig, 64);
    bad_sig[17] ^= 0x04;
    tern_err flipped_sig = tern_verify(key, TERN_SIG_ED25519, msg, (size_t)msglen, bad_sig, 64);
    uint8_t one = 0x01;
    tern_err flipped_msg;
    if (msglen > 0) {
        msg[msglen - 1] ^= 0x80;
        flipped_msg = tern_verify(key, TERN_SIG_ED25519, msg, (size_t)msglen, sig, 64);
        msg[msglen - 1] ^= 0x80;
    } else {
        flipped_msg = tern_verify(key, TERN_SIG_ED25519, &one, 1, sig, 64);
    }
    tern_key_type type = tern_pkey_type(key);
    unsigned bits = tern_pkey_bits(key);
    tern_pkey_free(pubkey);
    tern_pkey_free(key);
    tern_chain_clear(&self);

    VCHECK(c, type == TERN_KEY_ED25519 && bits == 255);
    VCHECK(c, signed_ok == TERN_OK && n == 64);
    VCHECK_MEM(c, got, sig, 64);
    VCHECK(c, cert_ok == TERN_OK && pub_ok == TERN_OK);
    VCHECK(c, has_pub);
    VCHECK(c, good == TERN_OK);
    VCHECK(c, flipped_sig == TERN_ERR_BAD_SIGNATURE);
    VCHECK(c, flipped_msg == TERN_ERR_BAD_SIGNATURE);
    return 0;
}

TEST(ed25519_rfc8032)
{
    size_t n = 0;
    CHECK_EQ(vec_foreach("ed25519.vec", ed25519_case, NULL, &n), 0);
    CHECK_EQ(n, 4);
}
