/*
 * test_record.c - the DTLS 1.2 record layer: epochs, sealing, the receive
 * iterator, protection with all five AEADs, and the drop counters.
 */
#include "crypto/crypto.h"
#include "record/record.h"
#include "test.h"

static const tern_aead_alg all_algs[] = {
    TERN_AEAD_AES_128_GCM, TERN_AEAD_AES_256_GCM, TERN_AEAD_CHACHA20_POLY1305,
    TERN_AEAD_AES_128_CCM, TERN_AEAD_AES_128_CCM_8,
};
#define NALGS (sizeof all_algs / sizeof all_algs[0])

/* Key material for tests: fixed bytes from |seed|. */
typedef struct {
    uint8_t key[TERN_AEAD_MAX_KEY_LEN];
    uint8_t iv[TERN_AEAD_NONCE_LEN];
    tern_rec_keys k;
} test_keys;

static void keys_make(test_keys *t, tern_aead_alg alg, uint8_t seed)
{
    for (size_t i = 0; i < sizeof t->key; i++)
        t->key[i] = (uint8_t)(seed + 3 * i);
    for (size_t i = 0; i < sizeof t->iv; i++)
        t->iv[i] = (uint8_t)(seed ^ (0xa0 + i));
    t->k.version = TERN_DTLS12_VERSION;
    t->k.alg = alg;
    t->k.key = t->key;
    t->k.iv = t->iv;
    t->k.iv_len = alg == TERN_AEAD_CHACHA20_POLY1305 ? TERN_AEAD_NONCE_LEN : TERN_DTLS12_SALT_LEN;
}

/* A sender and a receiver, both at epoch 0, with epoch 1 keyed for |alg|. */
static tern_err pair_setup(tern_rec *tx, tern_rec *rx, tern_aead_alg alg)
{
    test_keys t;
    keys_make(&t, alg, 0x40);
    tern_err err;
    if ((err = tern_rec_init(tx, 0)) != TERN_OK || (err = tern_rec_init(rx, 0)) != TERN_OK)
        return err;
    if ((err = tern_rec_install(tx, TERN_REC_WRITE, 1, &t.k)) != TERN_OK)
        return err;
    return tern_rec_install(rx, TERN_REC_READ, 1, &t.k);
}

static void pair_clear(tern_rec *tx, tern_rec *rx)
{
    tern_rec_clear(tx);
    tern_rec_clear(rx);
}

/* The first result of the datagram |d|. */
static tern_rec_kind first(tern_rec *rx, uint8_t *d, size_t n, tern_rec_in *in)
{
    tern_rec_iter it;
    tern_rec_iter_init(&it, rx, d, n);
    return tern_rec_next(&it, in);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

/* ------------------------------------------------------------------ epoch 0 */

TEST(epoch0_round_trip)
{
    tern_rec tx, rx;
    CHECK_OK(tern_rec_init(&tx, 0));
    CHECK_OK(tern_rec_init(&rx, 0));
    uint8_t buf[128];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    uint64_t seq = 99;
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"hello", 5, &w, &seq));
    CHECK(seq == 0);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_ALERT, (const uint8_t *)"\x01\x00", 2, &w, &seq));
    CHECK(seq == 1);
    static const uint8_t want[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
                                   'h', 'e', 'l', 'l', 'o',
                                   21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0};
    CHECK_EQ(w.len, sizeof want);
    CHECK_MEM(buf, want, sizeof want);
    size_t ovh;
    CHECK_OK(tern_rec_overhead(&tx, 0, &ovh));
    CHECK_EQ(ovh, TERN_DTLS12_HDR_LEN);

    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &rx, buf, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_EQ(in.type, TERN_CT_HANDSHAKE);
    CHECK(in.epoch == 0 && in.seq == 0);
    CHECK_EQ(in.len, 5);
    CHECK_MEM(in.data, "hello", 5);
    CHECK(in.data == buf + TERN_DTLS12_HDR_LEN); /* no copy */
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_EQ(in.type, TERN_CT_ALERT);
    CHECK(in.seq == 1);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    CHECK(tern_rec_stats_of(&tx)->sent == 2);
    CHECK(tern_rec_stats_of(&rx)->accepted == 2);
    pair_clear(&tx, &rx);
}

TEST(epoch0_versions)
{
    tern_rec rx;
    CHECK_OK(tern_rec_init(&rx, 0));
    static const struct {
        uint16_t version;
        tern_rec_kind kind;
    } cases[] = {{TERN_DTLS10_VERSION, TERN_REC_RECORD}, {TERN_DTLS12_VERSION, TERN_REC_RECORD},
                 {0xfefc, TERN_REC_DROPPED}, {0x0303, TERN_REC_DROPPED}, {0xfefe, TERN_REC_DROPPED}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t d[TERN_DTLS12_HDR_LEN + 1];
        tern_wr w = tern_wr_init(d, sizeof d);
        tern_hdr12 h = {TERN_CT_HANDSHAKE, cases[i].version, 0, i, 1};
        tern_hdr12_write(&w, &h);
        tern_wr_u8(&w, 0x42);
        CHECK(!w.err);
        tern_rec_in in;
        CHECK_EQ(first(&rx, d, sizeof d, &in), cases[i].kind);
        if (in.kind == TERN_REC_DROPPED)
            CHECK_EQ(in.reason, TERN_REC_DROP_BAD_VERSION);
    }
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_BAD_VERSION] == 3);
    tern_rec_clear(&rx);
}

/* ------------------------------------------------------------------ AEADs */

TEST(aead_round_trip_all)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 1000, TERN_DTLS_MAX_PLAINTEXT};
    static uint8_t pt[TERN_DTLS_MAX_PLAINTEXT], buf[TERN_DTLS12_MAX_CIPHERTEXT + 64];
    for (size_t a = 0; a < NALGS; a++) {
        tern_rec tx, rx;
        CHECK_OK(pair_setup(&tx, &rx, all_algs[a]));
        size_t ovh, prefix = all_algs[a] == TERN_AEAD_CHACHA20_POLY1305 ? 0 : 8;
        CHECK_OK(tern_rec_overhead(&tx, 1, &ovh));
        CHECK_EQ(ovh, TERN_DTLS12_HDR_LEN + prefix + tern_aead_tag_len(all_algs[a]));
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            size_t n = lens[i];
            fill(pt, n, (uint8_t)(a + i));
            tern_wr w = tern_wr_init(buf, sizeof buf);
            uint64_t seq;
            CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, pt, n, &w, &seq));
            CHECK(seq == i);
            CHECK_EQ(w.len, n + ovh);
            CHECK_EQ(buf[0], TERN_CT_APPLICATION_DATA);
            CHECK_EQ(tern_load16(buf + 3), 1); /* epoch */
            if (prefix) { /* nonce_explicit = epoch || seq */
                CHECK(tern_load16(buf + 13) == 1 && tern_load48(buf + 15) == seq);
            }
            if (n >= 16) /* the plaintext is not on the wire */
                CHECK(memcmp(buf + TERN_DTLS12_HDR_LEN + prefix, pt, n) != 0);

            tern_rec_in in;
            CHECK_EQ(first(&rx, buf, w.len, &in), TERN_REC_RECORD);
            CHECK_EQ(in.type, TERN_CT_APPLICATION_DATA);
            CHECK(in.epoch == 1 && in.seq == seq);
            CHECK_EQ(in.len, n);
            CHECK_MEM(in.data, pt, n);
            CHECK(in.data == buf + TERN_DTLS12_HDR_LEN + prefix); /* in place */
        }
        CHECK(tern_rec_stats_of(&rx)->accepted == sizeof lens / sizeof lens[0]);
        pair_clear(&tx, &rx);
    }
}

/* The wire format, checked by code independent of protect.c: rebuild the nonce and
 * additional data from the RFC text and open the sealed record directly. */
TEST(aead_wire_format_independent)
{
    for (size_t a = 0; a < NALGS; a++) {
        tern_aead_alg alg = all_algs[a];
        test_keys t;
        keys_make(&t, alg, 0x40);
        tern_rec tx;
        CHECK_OK(tern_rec_init(&tx, 0));
        CHECK_OK(tern_rec_install(&tx, TERN_REC_WRITE, 1, &t.k));
        CHECK_OK(tern_rec_set_write_seq(&tx, 1, 0x0000a1b2c3d4ull));
        uint8_t buf[256], pt[37];
        fill(pt, sizeof pt, 9);
        tern_wr w = tern_wr_init(buf, sizeof buf);
        CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_HANDSHAKE, pt, sizeof pt, &w, NULL));

        /* seq_num(8) = epoch(2) || seq(6); AAD = seq_num type version length(plaintext) */
        static const uint8_t seq_num[8] = {0x00, 0x01, 0x00, 0x00, 0xa1, 0xb2, 0xc3, 0xd4};
        uint8_t aad[13];
        memcpy(aad, seq_num, 8);
        aad[8] = TERN_CT_HANDSHAKE;
        aad[9] = 0xfe;
        aad[10] = 0xfd;
        aad[11] = 0;
        aad[12] = sizeof pt;
        uint8_t nonce[12];
        const uint8_t *ct;
        size_t ctlen;
        if (alg == TERN_AEAD_CHACHA20_POLY1305) { /* RFC 7905 §2 */
            for (int i = 0; i < 12; i++)
                nonce[i] = t.iv[i] ^ (i < 4 ? 0 : seq_num[i - 4]);
            ct = buf + 13;
            ctlen = w.len - 13;
        } else { /* RFC 5288 §3 / RFC 6655 §3: salt || nonce_explicit */
            memcpy(nonce, t.iv, 4);
            memcpy(nonce + 4, buf + 13, 8);
            CHECK_MEM(buf + 13, seq_num, 8);
            ct = buf + 21;
            ctlen = w.len - 21;
        }
        CHECK_EQ(tern_load16(buf + 11), w.len - 13); /* record length: the fragment */
        tern_aead *aead;
        CHECK_OK(tern_aead_new(alg, t.key, &aead));
        uint8_t out[64];
        size_t outlen;
        tern_err err = tern_aead_open(aead, nonce, aad, sizeof aad, ct, ctlen, out, &outlen);
        tern_aead_free(aead);
        CHECK_OK(err);
        CHECK_EQ(outlen, sizeof pt);
        CHECK_MEM(out, pt, sizeof pt);
        tern_rec_clear(&tx);
    }
}

/* Flipping any single bit of a sealed record: never delivered as that record with
 * that content, and the real record is still accepted afterwards. */
TEST(aead_every_bit_flip)
{
    for (size_t a = 0; a < NALGS; a++) {
        tern_rec tx, rx;
        CHECK_OK(pair_setup(&tx, &rx, all_algs[a]));
        uint8_t pt[24], rec[128], d[128];
        fill(pt, sizeof pt, 0x33);
        tern_wr w = tern_wr_init(rec, sizeof rec);
        CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, pt, sizeof pt, &w, NULL));
        size_t n = w.len;
        uint64_t handed_up = 0;
        for (size_t bit = 0; bit < 8 * n; bit++) {
            memcpy(d, rec, n);
            d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            tern_rec_iter it;
            tern_rec_in in;
            tern_rec_iter_init(&it, &rx, d, n);
            while (tern_rec_next(&it, &in) != TERN_REC_END) {
                if (in.kind == TERN_REC_RECORD) {
                    /* Only possible by turning epoch 1 into epoch 0, which is plaintext:
                     * then it is not this record, and not its content. */
                    CHECK(in.epoch == 0);
                    CHECK(!(in.len == sizeof pt && memcmp(in.data, pt, sizeof pt) == 0));
                    handed_up++;
                } else if (in.kind == TERN_REC_FUTURE) {
                    CHECK(in.epoch == 2); /* raw, not decrypted: the caller re-feeds it */
                    handed_up++;
                }
            }
        }
        const tern_rec_stats *st = tern_rec_stats_of(&rx);
        uint64_t dropped = 0;
        for (int r = 0; r < TERN_REC_DROP_COUNT; r++)
            dropped += st->dropped[r];
        CHECK(st->dropped[TERN_REC_DROP_BAD_MAC] > 0);
        CHECK(dropped + handed_up >= 8 * n); /* a shortened length gives two drops */
        CHECK(handed_up <= 1);                /* epoch 1 -> 0 at most */
        /* no failed record moved the window */
        memcpy(d, rec, n);
        tern_rec_in in;
        CHECK_EQ(first(&rx, d, n, &in), TERN_REC_RECORD);
        CHECK_MEM(in.data, pt, sizeof pt);
        pair_clear(&tx, &rx);
    }
}

TEST(aead_wrong_key_or_version)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_AES_128_GCM));
    tern_rec rx2;
    test_keys other;
    keys_make(&other, TERN_AEAD_AES_128_GCM, 0x41);
    CHECK_OK(tern_rec_init(&rx2, 0));
    CHECK_OK(tern_rec_install(&rx2, TERN_REC_READ, 1, &other.k));
    uint8_t d[128], copy[128];
    tern_wr w = tern_wr_init(d, sizeof d);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"data", 4, &w, NULL));
    memcpy(copy, d, w.len);
    tern_rec_in in;
    CHECK_EQ(first(&rx2, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_MAC);
    /* DTLS 1.0 record version in a protected epoch */
    memcpy(d, copy, w.len);
    tern_store16(d + 1, TERN_DTLS10_VERSION);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_VERSION);
    memcpy(d, copy, w.len);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_RECORD);
    pair_clear(&tx, &rx);
    tern_rec_clear(&rx2);
}

/* ------------------------------------------------------------------ datagrams */

TEST(datagram_good_bad_good)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_CHACHA20_POLY1305));
    uint8_t d[512];
    tern_wr w = tern_wr_init(d, sizeof d);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"one", 3, &w, NULL));
    size_t mid = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"two", 3, &w, NULL));
    size_t end2 = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"six", 3, &w, NULL));
    d[end2 - 1] ^= 0x80; /* the middle record's tag */

    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &rx, d, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_MEM(in.data, "one", 3);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_MAC);
    CHECK(in.data == d + mid && in.len == end2 - mid);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_MEM(in.data, "six", 3);
    CHECK(in.seq == 2);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    const tern_rec_stats *st = tern_rec_stats_of(&rx);
    CHECK(st->accepted == 2);
    CHECK(st->dropped[TERN_REC_DROP_BAD_MAC] == 1);
    pair_clear(&tx, &rx);
}

TEST(datagram_bad_header_drops_rest_once)
{
    tern_rec tx, rx;
    CHECK_OK(tern_rec_init(&tx, 0));
    CHECK_OK(tern_rec_init(&rx, 0));
    uint8_t d[256];
    tern_wr w = tern_wr_init(d, sizeof d);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"ok", 2, &w, NULL));
    size_t second = w.len;
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"cut", 3, &w, NULL));
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"lost", 4, &w, NULL));
    tern_store16(d + second + 11, 200); /* second length runs past the datagram */

    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &rx, d, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_HEADER);
    CHECK(in.data == d + second && in.len == w.len - second);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_BAD_HEADER] == 1);

    /* a short header at the end of a datagram, and an unknown first byte */
    for (size_t cut = 1; cut < TERN_DTLS12_HDR_LEN; cut++) {
        tern_rec_iter_init(&it, &rx, d, second + cut);
        CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
        CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
        CHECK_EQ(in.reason, TERN_REC_DROP_BAD_HEADER);
        CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    }
    d[second] = 0x00;
    tern_store16(d + second + 11, 3);
    tern_rec_iter_init(&it, &rx, d, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_HEADER);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    pair_clear(&tx, &rx);
}

TEST(datagram_unsupported_headers)
{
    tern_rec tx, rx;
    CHECK_OK(tern_rec_init(&tx, 0));
    CHECK_OK(tern_rec_init(&rx, 0));
    uint8_t d[256];
    tern_rec_iter it;
    tern_rec_in in;

    /* DTLS 1.3 unified header (0b001CSLEE) and tls12_cid: the rest goes, counted once */
    static const uint8_t firsts[] = {0x20, 0x2c, 0x3f, TERN_CT_TLS12_CID};
    for (size_t i = 0; i < sizeof firsts; i++) {
        tern_wr w = tern_wr_init(d, sizeof d);
        CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"a", 1, &w, NULL));
        size_t at = w.len;
        CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"b", 1, &w, NULL));
        CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"c", 1, &w, NULL));
        d[at] = firsts[i];
        tern_rec_iter_init(&it, &rx, d, w.len);
        CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
        CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
        CHECK_EQ(in.reason, TERN_REC_DROP_UNSUPPORTED);
        CHECK(in.len == w.len - at);
        CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    }
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_UNSUPPORTED] == sizeof firsts);

    /* heartbeat and ack in a DTLS 1.2 header: only that record goes */
    tern_wr w = tern_wr_init(d, sizeof d);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HEARTBEAT, (const uint8_t *)"hb", 2, &w, NULL));
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_ACK, (const uint8_t *)"ak", 2, &w, NULL));
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"hs", 2, &w, NULL));
    tern_rec_iter_init(&it, &rx, d, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_UNSUPPORTED);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_DROPPED);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_MEM(in.data, "hs", 2);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_UNSUPPORTED] == sizeof firsts + 2);
    pair_clear(&tx, &rx);
}

TEST(datagram_empty)
{
    tern_rec rx;
    CHECK_OK(tern_rec_init(&rx, 0));
    uint8_t d[1];
    tern_rec_in in;
    CHECK_EQ(first(&rx, d, 0, &in), TERN_REC_END);
    tern_rec_clear(&rx);
}

/* ------------------------------------------------------------------ epochs */

TEST(epoch_future_returned_raw_then_refed)
{
    tern_rec tx, rx;
    test_keys t;
    keys_make(&t, TERN_AEAD_AES_256_GCM, 7);
    CHECK_OK(tern_rec_init(&tx, 0));
    CHECK_OK(tern_rec_init(&rx, 0));
    CHECK_OK(tern_rec_install(&tx, TERN_REC_WRITE, 1, &t.k));

    /* A retransmitted flight mixes epochs: ... ChangeCipherSpec (0), Finished (1). */
    uint8_t d[256], saved[256];
    tern_wr w = tern_wr_init(d, sizeof d);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_CHANGE_CIPHER_SPEC, (const uint8_t *)"\x01", 1, &w,
                           NULL));
    size_t at = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_HANDSHAKE, (const uint8_t *)"finished", 8, &w, NULL));
    memcpy(saved, d, w.len);

    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &rx, d, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK_EQ(in.type, TERN_CT_CHANGE_CIPHER_SPEC);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_FUTURE);
    CHECK(in.epoch == 1 && in.seq == 0 && in.type == TERN_CT_HANDSHAKE);
    CHECK(in.data == d + at && in.len == w.len - at);
    CHECK_MEM(in.data, saved + at, in.len); /* untouched */
    uint8_t held[256]; /* the caller's buffer for future records */
    size_t heldlen = in.len;
    memcpy(held, in.data, heldlen);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_END);
    CHECK(tern_rec_stats_of(&rx)->future == 1);

    CHECK_OK(tern_rec_install(&rx, TERN_REC_READ, 1, &t.k));
    CHECK_EQ(first(&rx, held, heldlen, &in), TERN_REC_RECORD);
    CHECK(in.epoch == 1);
    CHECK_MEM(in.data, "finished", 8);

    /* and the epoch 0 record is still readable until epoch 0 is retired */
    memcpy(d, saved, at);
    CHECK_EQ(first(&rx, d, at, &in), TERN_REC_RECORD);
    CHECK_OK(tern_rec_retire(&rx, TERN_REC_READ, 0));
    memcpy(d, saved, at);
    CHECK_EQ(first(&rx, d, at, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_EPOCH);
    pair_clear(&tx, &rx);
}

TEST(epoch_unknown_and_retired)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_AES_128_CCM));
    uint8_t d[128], saved[128];
    tern_wr w = tern_wr_init(d, sizeof d);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"x", 1, &w, NULL));
    memcpy(saved, d, w.len);
    tern_rec_in in;

    /* epoch 2 is just past the newest (1): future; epoch 3 and beyond: dropped */
    tern_store16(d + 3, 2);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_FUTURE);
    tern_store16(d + 3, 3);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_EPOCH);
    tern_store16(d + 3, 0xffff);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_EPOCH);

    /* retired: dropped, and sealing in a retired write epoch fails */
    CHECK_OK(tern_rec_retire(&rx, TERN_REC_READ, 1));
    CHECK(!tern_rec_has_epoch(&rx, TERN_REC_READ, 1));
    memcpy(d, saved, w.len);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_EPOCH);
    CHECK_ERR(tern_rec_retire(&rx, TERN_REC_READ, 1), TERN_ERR_EPOCH);
    CHECK_OK(tern_rec_retire(&tx, TERN_REC_WRITE, 1));
    w = tern_wr_init(d, sizeof d);
    CHECK_ERR(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, NULL, 0, &w, NULL), TERN_ERR_EPOCH);
    CHECK_ERR(tern_rec_seal(&tx, 7, TERN_CT_APPLICATION_DATA, NULL, 0, &w, NULL), TERN_ERR_EPOCH);
    size_t ovh;
    CHECK_ERR(tern_rec_overhead(&tx, 1, &ovh), TERN_ERR_EPOCH);
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_EPOCH] == 3);
    pair_clear(&tx, &rx);
}

TEST(epoch_install_rules)
{
    tern_rec rec;
    test_keys t;
    keys_make(&t, TERN_AEAD_AES_128_GCM, 1);
    CHECK_OK(tern_rec_init(&rec, 0));
    CHECK(tern_rec_has_epoch(&rec, TERN_REC_READ, 0));
    CHECK(tern_rec_has_epoch(&rec, TERN_REC_WRITE, 0));
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 0, &t.k), TERN_ERR_EPOCH);

    /* bad keys change nothing: the same epoch installs afterwards */
    t.k.iv_len = 12;
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 1, &t.k), TERN_ERR_ARG);
    t.k.iv_len = TERN_DTLS12_SALT_LEN;
    t.k.version = TERN_DTLS10_VERSION;
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 1, &t.k), TERN_ERR_UNSUPPORTED);
    t.k.version = TERN_DTLS12_VERSION;
    t.k.alg = (tern_aead_alg)99;
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 1, &t.k), TERN_ERR_UNSUPPORTED);
    t.k.alg = TERN_AEAD_AES_128_GCM;
    CHECK(!tern_rec_has_epoch(&rec, TERN_REC_WRITE, 1));
    CHECK_OK(tern_rec_install(&rec, TERN_REC_WRITE, 1, &t.k));
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 1, &t.k), TERN_ERR_EPOCH); /* no reuse */
    CHECK_OK(tern_rec_install(&rec, TERN_REC_READ, 1, &t.k)); /* same slot, other half */
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_READ, 0x10000, &t.k), TERN_ERR_EPOCH);

    /* slots: 0 and 1 used; 2 and 3 fill the table; 4 needs a retired one */
    CHECK_OK(tern_rec_install(&rec, TERN_REC_WRITE, 2, &t.k));
    CHECK_OK(tern_rec_install(&rec, TERN_REC_READ, 3, &t.k));
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 4, &t.k), TERN_ERR_EPOCH);
    CHECK_OK(tern_rec_retire(&rec, TERN_REC_READ, 0)); /* write 0 still holds the slot */
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 4, &t.k), TERN_ERR_EPOCH);
    CHECK_OK(tern_rec_retire(&rec, TERN_REC_WRITE, 0));
    CHECK_OK(tern_rec_install(&rec, TERN_REC_WRITE, 4, &t.k));
    CHECK(tern_rec_has_epoch(&rec, TERN_REC_WRITE, 1)); /* older epochs still usable */
    CHECK(tern_rec_has_epoch(&rec, TERN_REC_WRITE, 2));
    CHECK(!tern_rec_has_epoch(&rec, TERN_REC_WRITE, 3));
    CHECK(!tern_rec_has_epoch(&rec, TERN_REC_WRITE, 0));
    CHECK_ERR(tern_rec_install(&rec, TERN_REC_WRITE, 3, &t.k), TERN_ERR_EPOCH); /* below newest */
    CHECK_ERR(tern_rec_init(&rec, TERN_REPLAY_MAX + 1), TERN_ERR_ARG);
    tern_rec_clear(&rec);
    static const tern_rec zero;
    CHECK(memcmp(&rec, &zero, sizeof rec) == 0); /* wiped */
}

TEST(epoch_retire_wipes)
{
    tern_rec rec;
    test_keys t;
    keys_make(&t, TERN_AEAD_CHACHA20_POLY1305, 0x77);
    CHECK_OK(tern_rec_init(&rec, 0));
    CHECK_OK(tern_rec_install(&rec, TERN_REC_READ, 1, &t.k));
    CHECK_OK(tern_rec_install(&rec, TERN_REC_WRITE, 1, &t.k));
    tern_rec_slot *s = NULL;
    for (int i = 0; i < TERN_REC_EPOCH_SLOTS; i++)
        if (rec.slot[i].epoch == 1)
            s = &rec.slot[i];
    CHECK(s != NULL);
    CHECK_MEM(s->rd.iv, t.iv, 12);
    CHECK(s->rd.aead != NULL);
    CHECK_OK(tern_rec_retire(&rec, TERN_REC_READ, 1));
    static const tern_prot zero;
    CHECK(memcmp(&s->rd, &zero, sizeof zero) == 0);
    CHECK(s->wr.aead != NULL); /* the other half stays */
    CHECK_OK(tern_rec_retire(&rec, TERN_REC_WRITE, 1));
    static const tern_rec_slot zslot;
    CHECK(memcmp(s, &zslot, sizeof zslot) == 0);
    tern_rec_clear(&rec);
}

/* ------------------------------------------------------------------ sealing */

TEST(seal_does_not_fit_leaves_writer)
{
    for (size_t a = 0; a < NALGS; a++) {
        tern_rec tx, rx;
        CHECK_OK(pair_setup(&tx, &rx, all_algs[a]));
        size_t ovh;
        CHECK_OK(tern_rec_overhead(&tx, 1, &ovh));
        uint8_t buf[200], pattern[200];
        memset(buf, 0xee, sizeof buf);
        memcpy(pattern, buf, sizeof buf);
        /* 10 bytes already in the datagram, room for a 50-byte record minus one */
        tern_wr w = tern_wr_init(buf, 10 + 50 + ovh - 1);
        tern_wr_zeros(&w, 10);
        memcpy(pattern, buf, 10);
        uint8_t pt[50];
        fill(pt, sizeof pt, 1);
        CHECK_ERR(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, pt, 50, &w, NULL), TERN_ERR_BUF);
        CHECK_EQ(w.len, 10);
        CHECK(!w.err);
        CHECK_MEM(buf, pattern, sizeof buf); /* not a byte written */
        /* 49 bytes fit exactly, with sequence number 0: the failure used none */
        uint64_t seq = 9;
        CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, pt, 49, &w, &seq));
        CHECK(seq == 0);
        CHECK_EQ(w.len, w.cap);
        CHECK_ERR(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, NULL, 0, &w, NULL), TERN_ERR_BUF);
        tern_rec_in in;
        CHECK_EQ(first(&rx, buf + 10, w.len - 10, &in), TERN_REC_RECORD);
        CHECK_EQ(in.len, 49);
        pair_clear(&tx, &rx);
    }
    /* a writer already in error takes nothing */
    tern_rec tx;
    CHECK_OK(tern_rec_init(&tx, 0));
    uint8_t buf[64];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    w.err = true;
    CHECK_ERR(tern_rec_seal(&tx, 0, TERN_CT_ALERT, NULL, 0, &w, NULL), TERN_ERR_BUF);
    CHECK_EQ(w.len, 0);
    CHECK(tern_rec_stats_of(&tx)->sent == 0);
    tern_rec_clear(&tx);
}

TEST(seal_plaintext_limits)
{
    static uint8_t pt[TERN_DTLS_MAX_PLAINTEXT + 1], buf[TERN_DTLS12_MAX_CIPHERTEXT + 64];
    tern_rec tx;
    CHECK_OK(tern_rec_init(&tx, 0));
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_rec_seal(&tx, 0, TERN_CT_APPLICATION_DATA, pt, sizeof pt, &w, NULL),
              TERN_ERR_TOO_BIG);
    CHECK_EQ(w.len, 0);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_APPLICATION_DATA, pt, sizeof pt - 1, &w, NULL));
    tern_rec_clear(&tx);
}

TEST(seal_plaintext_built_in_place)
{
    /* The plaintext may sit in the writer's free space, even where the header goes. */
    for (size_t a = 0; a < NALGS; a++) {
        tern_rec tx, rx;
        CHECK_OK(pair_setup(&tx, &rx, all_algs[a]));
        uint8_t buf[256], pt[40];
        fill(pt, sizeof pt, 5);
        tern_wr w = tern_wr_init(buf, sizeof buf);
        tern_wr_zeros(&w, 3);
        memcpy(buf + 3, pt, sizeof pt);
        CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_HANDSHAKE, buf + 3, sizeof pt, &w, NULL));
        tern_rec_in in;
        CHECK_EQ(first(&rx, buf + 3, w.len - 3, &in), TERN_REC_RECORD);
        CHECK_EQ(in.len, sizeof pt);
        CHECK_MEM(in.data, pt, sizeof pt);
        pair_clear(&tx, &rx);
    }
}

TEST(seal_sequence_exhausted)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_AES_128_CCM_8));
    CHECK_OK(tern_rec_set_write_seq(&tx, 1, TERN_DTLS_SEQ_LIMIT - 2));
    CHECK_ERR(tern_rec_set_write_seq(&tx, 1, 5), TERN_ERR_ARG); /* never backwards */
    CHECK_ERR(tern_rec_set_write_seq(&tx, 1, TERN_DTLS_SEQ_LIMIT + 1), TERN_ERR_ARG);
    CHECK_ERR(tern_rec_set_write_seq(&tx, 9, 5), TERN_ERR_EPOCH);
    uint8_t d[256];
    tern_wr w = tern_wr_init(d, sizeof d);
    uint64_t seq;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"a", 1, &w, &seq));
    CHECK(seq == TERN_DTLS_SEQ_LIMIT - 2);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"b", 1, &w, &seq));
    CHECK(seq == TERN_DTLS_SEQ_LIMIT - 1);
    size_t len = w.len;
    CHECK_ERR(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"c", 1, &w, &seq),
              TERN_ERR_SEQ_EXHAUSTED);
    CHECK_ERR(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, NULL, 0, &w, NULL),
              TERN_ERR_SEQ_EXHAUSTED);
    CHECK_EQ(w.len, len);
    CHECK(tern_rec_stats_of(&tx)->sent == 2);
    /* the last two numbers arrive fine */
    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &rx, d, w.len);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK(in.seq == TERN_DTLS_SEQ_LIMIT - 2);
    CHECK_EQ(tern_rec_next(&it, &in), TERN_REC_RECORD);
    CHECK(in.seq == TERN_DTLS_SEQ_LIMIT - 1);
    CHECK_MEM(in.data, "b", 1);
    /* epoch 0 exhausts the same way; another epoch is unaffected */
    CHECK_OK(tern_rec_set_write_seq(&tx, 0, TERN_DTLS_SEQ_LIMIT));
    w = tern_wr_init(d, sizeof d);
    CHECK_ERR(tern_rec_seal(&tx, 0, TERN_CT_ALERT, NULL, 0, &w, NULL), TERN_ERR_SEQ_EXHAUSTED);
    pair_clear(&tx, &rx);
}

/* ------------------------------------------------------------------ receiving */

TEST(replay_in_record_layer)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_AES_128_GCM));
    uint8_t r0[64], d[64];
    tern_wr w = tern_wr_init(r0, sizeof r0);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"zero", 4, &w, NULL));
    size_t n = w.len;
    tern_rec_in in;

    /* a forged far-ahead sequence number fails authentication: window not moved */
    memcpy(d, r0, n);
    tern_store48(d + 5, 1000000);
    CHECK_EQ(first(&rx, d, n, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_MAC);
    memcpy(d, r0, n);
    CHECK_EQ(first(&rx, d, n, &in), TERN_REC_RECORD); /* seq 0 still new */
    memcpy(d, r0, n);
    CHECK_EQ(first(&rx, d, n, &in), TERN_REC_DROPPED); /* now a duplicate */
    CHECK_EQ(in.reason, TERN_REC_DROP_REPLAY);

    /* a real record far ahead moves it; a record left of the window is rejected
     * before decryption */
    uint8_t far[64], old[64];
    CHECK_OK(tern_rec_set_write_seq(&tx, 1, 5));
    w = tern_wr_init(old, sizeof old);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"five", 4, &w, NULL));
    CHECK_OK(tern_rec_set_write_seq(&tx, 1, 5 + TERN_REPLAY_DEFAULT));
    w = tern_wr_init(far, sizeof far);
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"farr", 4, &w, NULL));
    CHECK_EQ(first(&rx, far, w.len, &in), TERN_REC_RECORD);
    CHECK_EQ(first(&rx, old, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_REPLAY);
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_REPLAY] == 2);

    /* epoch 0 has no window: a repeat is handed up (the handshake layer dedups) */
    w = tern_wr_init(r0, sizeof r0);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"ch", 2, &w, NULL));
    memcpy(d, r0, w.len);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_RECORD);
    CHECK_EQ(first(&rx, r0, w.len, &in), TERN_REC_RECORD);
    pair_clear(&tx, &rx);
}

TEST(receive_length_caps)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_AES_128_GCM));
    static uint8_t d[TERN_DTLS12_MAX_CIPHERTEXT + 2 * TERN_DTLS12_HDR_LEN];
    tern_rec_in in;

    /* epoch 0: a plaintext of 2^14 + 1 */
    tern_wr w = tern_wr_init(d, sizeof d);
    tern_hdr12 h = {TERN_CT_HANDSHAKE, TERN_DTLS12_VERSION, 0, 0, TERN_DTLS_MAX_PLAINTEXT + 1};
    tern_hdr12_write(&w, &h);
    tern_wr_zeros(&w, h.length);
    CHECK(!w.err);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_LENGTH);

    /* epoch 1: a ciphertext of 2^14 + 2048 + 1, and one shorter than nonce + tag */
    w = tern_wr_init(d, sizeof d);
    h = (tern_hdr12){TERN_CT_APPLICATION_DATA, TERN_DTLS12_VERSION, 1, 0,
                     TERN_DTLS12_MAX_CIPHERTEXT + 1};
    tern_hdr12_write(&w, &h);
    tern_wr_zeros(&w, h.length);
    CHECK(!w.err);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_LENGTH);
    w = tern_wr_init(d, sizeof d);
    h.length = 8 + 16 - 1;
    tern_hdr12_write(&w, &h);
    tern_wr_zeros(&w, h.length);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_LENGTH);

    /* epoch 1: authentic, but the plaintext is 2^14 + 1 (a peer that ignores the cap):
     * sealed by hand, below the record layer's own limit */
    test_keys t;
    keys_make(&t, TERN_AEAD_AES_128_GCM, 0x40);
    tern_prot p;
    CHECK_OK(tern_prot_init(&p, &t.k));
    size_t ptlen = TERN_DTLS_MAX_PLAINTEXT + 1;
    w = tern_wr_init(d, sizeof d);
    h.seq = 3;
    h.length = (uint16_t)(8 + ptlen + 16);
    tern_hdr12_write(&w, &h);
    tern_wr_zeros(&w, h.length);
    CHECK(!w.err);
    tern_prot_rec pr = {1, 3, TERN_CT_APPLICATION_DATA, TERN_DTLS12_VERSION};
    tern_err err = tern_prot_seal(&p, &pr, d + TERN_DTLS12_HDR_LEN, ptlen);
    tern_prot_clear(&p);
    CHECK_OK(err);
    CHECK_EQ(first(&rx, d, w.len, &in), TERN_REC_DROPPED);
    CHECK_EQ(in.reason, TERN_REC_DROP_BAD_LENGTH);
    CHECK(tern_rec_stats_of(&rx)->dropped[TERN_REC_DROP_BAD_LENGTH] == 4);
    /* it authenticated but was not accepted: its number is still free */
    const tern_replay *win = NULL;
    for (int i = 0; i < TERN_REC_EPOCH_SLOTS; i++)
        if (rx.slot[i].rd_on && rx.slot[i].epoch == 1)
            win = rx.slot[i].window;
    CHECK(win != NULL);
    CHECK(tern_replay_check(win, 3));
    pair_clear(&tx, &rx);
}

TEST(counters_by_reason)
{
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx, TERN_AEAD_AES_256_GCM));
    uint8_t d[1024];
    tern_wr w = tern_wr_init(d, sizeof d);
    /* one datagram: good(0) good(1) dup-of-previous bad-version(1) bad-mac(1)
     * epoch(5) heartbeat short-protected, then a tls12_cid that ends it */
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HANDSHAKE, (const uint8_t *)"h", 1, &w, NULL));
    size_t a = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"g", 1, &w, NULL));
    size_t b = w.len;
    tern_wr_bytes(&w, d + a, b - a); /* duplicate */
    size_t c = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"v", 1, &w, NULL));
    tern_store16(d + c + 1, 0xfefc);
    size_t e = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"m", 1, &w, NULL));
    d[w.len - 1] ^= 1;
    size_t f = w.len;
    CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, (const uint8_t *)"e", 1, &w, NULL));
    tern_store16(d + f + 3, 5);
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_HEARTBEAT, (const uint8_t *)"b", 1, &w, NULL));
    tern_hdr12 h = {TERN_CT_APPLICATION_DATA, TERN_DTLS12_VERSION, 1, 77, 4};
    tern_hdr12_write(&w, &h);
    tern_wr_zeros(&w, 4);
    tern_wr_u8(&w, TERN_CT_TLS12_CID);
    tern_wr_zeros(&w, 20);
    CHECK(!w.err);
    (void)e;

    static const tern_rec_kind want[] = {TERN_REC_RECORD,  TERN_REC_RECORD,  TERN_REC_DROPPED,
                                         TERN_REC_DROPPED, TERN_REC_DROPPED, TERN_REC_DROPPED,
                                         TERN_REC_DROPPED, TERN_REC_DROPPED, TERN_REC_DROPPED,
                                         TERN_REC_END};
    static const tern_rec_drop why[] = {0, 0, TERN_REC_DROP_REPLAY, TERN_REC_DROP_BAD_VERSION,
                                        TERN_REC_DROP_BAD_MAC, TERN_REC_DROP_EPOCH,
                                        TERN_REC_DROP_UNSUPPORTED, TERN_REC_DROP_BAD_LENGTH,
                                        TERN_REC_DROP_UNSUPPORTED};
    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &rx, d, w.len);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_EQ(tern_rec_next(&it, &in), want[i]);
        if (in.kind == TERN_REC_DROPPED)
            CHECK_EQ(in.reason, why[i]);
    }
    /* a bad header in a second datagram */
    uint8_t junk[5] = {TERN_CT_HANDSHAKE, 0xfe, 0xfd, 0, 0};
    CHECK_EQ(first(&rx, junk, sizeof junk, &in), TERN_REC_DROPPED);

    const tern_rec_stats *st = tern_rec_stats_of(&rx);
    CHECK(st->accepted == 2);
    CHECK(st->future == 0);
    CHECK(st->dropped[TERN_REC_DROP_BAD_HEADER] == 1);
    CHECK(st->dropped[TERN_REC_DROP_BAD_LENGTH] == 1);
    CHECK(st->dropped[TERN_REC_DROP_BAD_VERSION] == 1);
    CHECK(st->dropped[TERN_REC_DROP_BAD_MAC] == 1);
    CHECK(st->dropped[TERN_REC_DROP_REPLAY] == 1);
    CHECK(st->dropped[TERN_REC_DROP_EPOCH] == 1);
    CHECK(st->dropped[TERN_REC_DROP_UNSUPPORTED] == 2);
    CHECK(st->dropped[TERN_REC_DROP_CRYPTO] == 0);
    CHECK(tern_rec_stats_of(&tx)->sent == 6);

    CHECK(strcmp(tern_rec_drop_name(TERN_REC_DROP_BAD_MAC), "bad_mac") == 0);
    CHECK(strcmp(tern_rec_drop_name(TERN_REC_DROP_CRYPTO), "crypto") == 0);
    CHECK(strcmp(tern_rec_drop_name(TERN_REC_DROP_COUNT), "unknown") == 0);
    CHECK(strcmp(tern_rec_drop_name(-1), "unknown") == 0);
    pair_clear(&tx, &rx);
}
