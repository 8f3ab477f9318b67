/*
 * test_crypto_sym.c - properties of the symmetric provider functions that published
 * vectors do not cover: incremental hashing (peek, dup), HMAC over parts, HKDF
 * limits, AEAD round trips in place and failure paths, and the test rngs.
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "seeded_rng.h"
#include "test.h"

static const tern_aead_alg all_aeads[] = {
    TERN_AEAD_AES_128_GCM, TERN_AEAD_AES_256_GCM,   TERN_AEAD_CHACHA20_POLY1305,
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
        CHECK_ERR(tern_aead_open(a, nonce, NULL, 0, buf, tag - 1, out, &outlen), TERN_ERR_BAD_MAC);
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

/* ------------------------------------------------------------------ hashes */

static const tern_hash_alg all_hashes[] = {TERN_HASH_SHA256, TERN_HASH_SHA384};

/* The DTLS 1.2 record entry points against the general path: the same bytes for
 * the same nonce (RFC 5288 §3, RFC 7905 §2), in place, across a nonce_explicit
 * that jumps, a general call in between, and a forged record; CCM declines. */
TEST(aead_record12_matches_general_path)
{
    uint8_t key[32], iv[12], aad[13], frag[8 + 200 + 16], ref[8 + 200 + 16], only[8 + 200 + 16];
    uint8_t nonce[12];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 3);
    for (size_t i = 0; i < sizeof iv; i++)
        iv[i] = (uint8_t)(0xc0 + i);
    static const tern_aead_alg algs[] = {TERN_AEAD_AES_128_GCM, TERN_AEAD_AES_256_GCM,
                                         TERN_AEAD_CHACHA20_POLY1305};
    static const uint64_t seqs[] = {0, 1, 2, 7, 8, 0x1234567890ull};
    for (size_t k = 0; k < sizeof algs / sizeof algs[0]; k++) {
        bool gcm = algs[k] != TERN_AEAD_CHACHA20_POLY1305;
        size_t prefix = gcm ? 8 : 0;
        tern_aead *s, *o, *s12; /* |s12| only ever seals records */
        CHECK_OK(tern_aead_new(algs[k], key, &s));
        CHECK_OK(tern_aead_new(algs[k], key, &o));
        CHECK_OK(tern_aead_new(algs[k], key, &s12));
        for (size_t r = 0; r < sizeof seqs / sizeof seqs[0]; r++) {
            size_t len = 37 * r % 200;
            uint64_t seq = (uint64_t)1 << 48 | seqs[r]; /* epoch 1 */
            for (int i = 0; i < 8; i++)
                aad[i] = (uint8_t)(seq >> (56 - 8 * i));
            aad[8] = 23, aad[9] = 0xfe, aad[10] = 0xfd;
            aad[11] = (uint8_t)(len >> 8), aad[12] = (uint8_t)len;
            memcpy(frag, aad, 8); /* nonce_explicit = epoch||seq (GCM) */
            for (size_t i = 0; i < len; i++)
                frag[prefix + i] = (uint8_t)(i + r);
            memcpy(ref, frag, sizeof ref);
            memcpy(only, frag, sizeof only);
            memcpy(nonce, iv, 12);
            if (gcm)
                memcpy(nonce + 4, frag, 8);
            else
                for (int i = 0; i < 8; i++)
                    nonce[4 + i] ^= aad[i];
            CHECK_OK(tern_aead_seal(s, nonce, aad, sizeof aad, ref + prefix, len, ref + prefix));
            CHECK_OK(tern_aead_seal12(s, iv, aad, frag, len));
            CHECK_MEM(frag, ref, prefix + len + 16);
            CHECK_OK(tern_aead_seal12(s12, iv, aad, only, len));
            CHECK_MEM(only, ref, prefix + len + 16);
            size_t ptlen = 0;
            if (r == 3) { /* forged: refused, and the next record still opens */
                frag[prefix + len] ^= 1;
                CHECK_ERR(tern_aead_open12(o, iv, aad, frag, prefix + len + 16, &ptlen),
                          TERN_ERR_BAD_MAC);
                memcpy(frag, ref, sizeof ref);
            }
            CHECK_OK(tern_aead_open12(o, iv, aad, frag, prefix + len + 16, &ptlen));
            CHECK_EQ(ptlen, len);
            for (size_t i = 0; i < len; i++)
                CHECK_EQ(frag[prefix + i], (uint8_t)(i + r));
        }
        size_t ptlen;
        CHECK_ERR(tern_aead_open12(o, iv, aad, frag, prefix + 15, &ptlen), TERN_ERR_BAD_MAC);
        tern_aead_free(s);
        tern_aead_free(o);
        tern_aead_free(s12);
    }
    tern_aead *ccm;
    CHECK_OK(tern_aead_new(TERN_AEAD_AES_128_CCM, key, &ccm));
    size_t ptlen;
    CHECK_ERR(tern_aead_seal12(ccm, iv, aad, frag, 10), TERN_ERR_UNSUPPORTED);
    CHECK_ERR(tern_aead_open12(ccm, iv, aad, frag, 34, &ptlen), TERN_ERR_UNSUPPORTED);
    tern_aead_free(ccm);
}

TEST(hash_lengths_and_unknown_alg)
{
    CHECK_EQ(tern_hash_len(TERN_HASH_SHA256), 32);
    CHECK_EQ(tern_hash_len(TERN_HASH_SHA384), 48);
    CHECK_EQ(tern_hash_len((tern_hash_alg)7), 0);
    tern_hash *h = NULL;
    uint8_t out[TERN_HASH_MAX_LEN];
    CHECK_ERR(tern_hash_new((tern_hash_alg)7, &h), TERN_ERR_UNSUPPORTED);
    CHECK(h == NULL);
    CHECK_ERR(tern_hash_once((tern_hash_alg)7, out, 1, out), TERN_ERR_UNSUPPORTED);
    tern_iov part = {out, 1};
    CHECK_ERR(tern_hmac((tern_hash_alg)7, out, 1, &part, 1, out), TERN_ERR_UNSUPPORTED);
    CHECK_ERR(tern_hkdf_expand((tern_hash_alg)7, out, 1, NULL, 0, out, 1), TERN_ERR_UNSUPPORTED);
    tern_hash_free(NULL);
}

/* A peek gives the digest so far and leaves the state alone: peeking between
 * updates, even repeatedly, changes nothing in the final digest. */
TEST(hash_peek_keeps_state)
{
    uint8_t msg[300], want[TERN_HASH_MAX_LEN], got[TERN_HASH_MAX_LEN], snap[TERN_HASH_MAX_LEN];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 13 + 1);
    for (size_t k = 0; k < 2; k++) {
        tern_hash_alg alg = all_hashes[k];
        size_t hl = tern_hash_len(alg);
        tern_hash *h = NULL;
        CHECK_OK(tern_hash_new(alg, &h));
        CHECK_EQ(tern_hash_alg_of(h), alg);
        CHECK_OK(tern_hash_peek(h, snap)); /* digest of nothing */
        CHECK_OK(tern_hash_once(alg, msg, 0, want));
        CHECK_MEM(snap, want, hl);
        for (size_t off = 0; off < sizeof msg; off += 100) {
            CHECK_OK(tern_hash_update(h, msg + off, 100));
            CHECK_OK(tern_hash_peek(h, snap));
            CHECK_OK(tern_hash_peek(h, got));
            CHECK_MEM(snap, got, hl);
            CHECK_OK(tern_hash_once(alg, msg, off + 100, want));
            CHECK_MEM(snap, want, hl);
        }
        tern_hash_free(h);
    }
}

/* A dup starts equal and then diverges: updating one does not touch the other. */
TEST(hash_dup_diverges)
{
    static const uint8_t a[] = "transcript: ClientHello ServerHello", b[] = "...Finished";
    uint8_t d1[TERN_HASH_MAX_LEN], d2[TERN_HASH_MAX_LEN], want[TERN_HASH_MAX_LEN];
    uint8_t both[sizeof a + sizeof b];
    memcpy(both, a, sizeof a);
    memcpy(both + sizeof a, b, sizeof b);
    for (size_t k = 0; k < 2; k++) {
        tern_hash_alg alg = all_hashes[k];
        size_t hl = tern_hash_len(alg);
        tern_hash *h = NULL, *d = NULL;
        CHECK_OK(tern_hash_new(alg, &h));
        CHECK_OK(tern_hash_update(h, a, sizeof a));
        CHECK_OK(tern_hash_dup(h, &d));
        CHECK_EQ(tern_hash_alg_of(d), alg);
        CHECK_OK(tern_hash_peek(h, d1));
        CHECK_OK(tern_hash_peek(d, d2));
        CHECK_MEM(d1, d2, hl);

        CHECK_OK(tern_hash_update(d, b, sizeof b)); /* only the copy moves on */
        CHECK_OK(tern_hash_peek(h, d1));
        CHECK_OK(tern_hash_once(alg, a, sizeof a, want));
        CHECK_MEM(d1, want, hl);
        CHECK_OK(tern_hash_peek(d, d2));
        CHECK_OK(tern_hash_once(alg, both, sizeof both, want));
        CHECK_MEM(d2, want, hl);

        tern_hash_free(h); /* the copy outlives the original */
        CHECK_OK(tern_hash_update(d, a, 1));
        CHECK_OK(tern_hash_peek(d, d2));
        tern_hash_free(d);
    }
}

/* ------------------------------------------------------------------ HMAC, HKDF, PRF */

TEST(hmac_parts_equal_one_part)
{
    uint8_t key[201], msg[257], one[TERN_HASH_MAX_LEN], many[TERN_HASH_MAX_LEN];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i ^ 0x5a);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;
    static const size_t keylens[] = {0, 1, 32, 64, 65, 128, 129, 200};
    for (size_t k = 0; k < 2; k++) {
        tern_hash_alg alg = all_hashes[k];
        size_t hl = tern_hash_len(alg);
        for (size_t j = 0; j < sizeof keylens / sizeof keylens[0]; j++) {
            tern_iov whole = {msg, sizeof msg};
            CHECK_OK(tern_hmac(alg, key, keylens[j], &whole, 1, one));
            /* empty parts, odd splits, a NULL empty part */
            tern_iov parts[5] = {
                {msg, 0}, {msg, 7}, {msg + 7, 128}, {NULL, 0}, {msg + 135, sizeof msg - 135},
            };
            CHECK_OK(tern_hmac(alg, key, keylens[j], parts, 5, many));
            CHECK_MEM(one, many, hl);
            /* and a different key gives a different MAC */
            CHECK_OK(tern_hmac(alg, key + 1, keylens[j], &whole, 1, many));
            CHECK(memcmp(one, many, hl) != 0 || keylens[j] == 0);
        }
    }
}

TEST(hkdf_expand_length_limit)
{
    static uint8_t okm[255 * 48 + 1];
    uint8_t prk[48] = {1, 2, 3};
    for (size_t k = 0; k < 2; k++) {
        tern_hash_alg alg = all_hashes[k];
        size_t hl = tern_hash_len(alg);
        /* RFC 5869 2.3: L <= 255*HashLen */
        CHECK_OK(tern_hkdf_expand(alg, prk, hl, NULL, 0, okm, 255 * hl));
        CHECK_ERR(tern_hkdf_expand(alg, prk, hl, NULL, 0, okm, 255 * hl + 1), TERN_ERR_ARG);
        CHECK_OK(tern_hkdf_expand(alg, prk, hl, NULL, 0, okm, 0));
        /* a shorter output is a prefix of a longer one */
        uint8_t a[100], b[40];
        CHECK_OK(tern_hkdf_expand(alg, prk, hl, (const uint8_t *)"info", 4, a, sizeof a));
        CHECK_OK(tern_hkdf_expand(alg, prk, hl, (const uint8_t *)"info", 4, b, sizeof b));
        CHECK_MEM(a, b, sizeof b);
    }
}

TEST(prf_zero_length_and_prefix)
{
    uint8_t secret[48] = {9}, seed[64] = {7}, a[136], b[12];
    CHECK_OK(tern_tls12_prf(TERN_HASH_SHA256, secret, sizeof secret, "key expansion", seed,
                            sizeof seed, a, 0));
    CHECK_OK(tern_tls12_prf(TERN_HASH_SHA384, secret, sizeof secret, "key expansion", seed,
                            sizeof seed, a, sizeof a));
    CHECK_OK(tern_tls12_prf(TERN_HASH_SHA384, secret, sizeof secret, "key expansion", seed,
                            sizeof seed, b, sizeof b));
    CHECK_MEM(a, b, sizeof b);
    /* the label is part of the input */
    CHECK_OK(tern_tls12_prf(TERN_HASH_SHA384, secret, sizeof secret, "client finished", seed,
                            sizeof seed, b, sizeof b));
    CHECK(memcmp(a, b, sizeof b) != 0);
}

/* ------------------------------------------------------------------ test rngs */

TEST(seeded_rng_reproducible)
{
    tern_rng r1, r2, r3;
    test_seeded_state s1, s2, s3;
    test_rng_seeded(&r1, &s1, 42);
    test_rng_seeded(&r2, &s2, 42);
    test_rng_seeded(&r3, &s3, 43);
    uint8_t a[100], b[100], c[100];
    CHECK_OK(tern_random(&r1, a, sizeof a));
    /* the same stream however it is sliced */
    CHECK_OK(tern_random(&r2, b, 3));
    CHECK_OK(tern_random(&r2, b + 3, 0));
    CHECK_OK(tern_random(&r2, b + 3, 61));
    CHECK_OK(tern_random(&r2, b + 64, 36));
    CHECK_MEM(a, b, sizeof a);
    CHECK_OK(tern_random(&r3, c, sizeof c));
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* and it moves on */
    CHECK_OK(tern_random(&r1, c, sizeof c));
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* reseeding restarts it */
    test_rng_seeded(&r1, &s1, 42);
    CHECK_OK(tern_random(&r1, c, sizeof c));
    CHECK_MEM(a, c, sizeof a);
}

TEST(fixed_rng_hands_out_exactly_its_bytes)
{
    static const uint8_t bytes[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    tern_rng rng;
    test_fixed_state st;
    test_rng_fixed(&rng, &st, bytes, sizeof bytes);
    uint8_t out[10] = {0};
    CHECK_OK(tern_random(&rng, out, 4));
    CHECK_MEM(out, bytes, 4);
    CHECK_ERR(tern_random(&rng, out, 7), TERN_ERR_RNG); /* more than is left */
    CHECK_EQ(st.pos, 4);
    CHECK_OK(tern_random(&rng, out, 6));
    CHECK_MEM(out, bytes + 4, 6);
    CHECK_EQ(st.pos, sizeof bytes);
    CHECK_ERR(tern_random(&rng, out, 1), TERN_ERR_RNG);
    CHECK_OK(tern_random(&rng, out, 0));
}

/* Key schedules overwrite a secret with the next one: the key may alias the output. */
TEST(kdf_key_may_alias_output)
{
    uint8_t prk[48], okm[48], buf[48];
    for (size_t i = 0; i < sizeof prk; i++)
        prk[i] = (uint8_t)(3 * i + 1);
    CHECK_OK(tern_hkdf_expand(TERN_HASH_SHA384, prk, 48, (const uint8_t *)"x", 1, okm, 48));
    memcpy(buf, prk, 48);
    CHECK_OK(tern_hkdf_expand(TERN_HASH_SHA384, buf, 48, (const uint8_t *)"x", 1, buf, 48));
    CHECK_MEM(buf, okm, 48);
    CHECK_OK(tern_tls12_prf(TERN_HASH_SHA256, prk, 48, "master secret", prk, 16, okm, 48));
    memcpy(buf, prk, 48);
    CHECK_OK(tern_tls12_prf(TERN_HASH_SHA256, buf, 48, "master secret", prk, 16, buf, 48));
    CHECK_MEM(buf, okm, 48);
}
