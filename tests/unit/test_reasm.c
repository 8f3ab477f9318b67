/*
 * test_reasm.c - reassembly of handshake messages: in order and out of order,
 * overlapping and repeated fragments, empty messages, message order, and every
 * kind of drop (OLD, TOO_FAR, INVALID, FULL) with its counter, hostile headers
 * included.
 */
#include "flight/flight.h"
#include "seeded_rng.h"
#include "test.h"

/* A fragment of message |seq| of |len| bytes: bytes off..off+n of |body|. */
static tern_reasm_result push(tern_reasm *r, uint64_t epoch, uint8_t type, uint16_t seq,
                              const uint8_t *body, uint32_t len, uint32_t off, uint32_t n)
{
    tern_hs_hdr h = {type, len, seq, off, n};
    return tern_reasm_push(r, epoch, &h, body + off);
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t salt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + salt + (i >> 8));
}

TEST(whole_messages_in_order)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t a[90], b[600];
    fill_pattern(a, sizeof a, 1);
    fill_pattern(b, sizeof b, 2);
    tern_hs_msg_in m;
    CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
    CHECK_EQ(push(&r, 0, TERN_HS_SERVER_HELLO, 0, a, sizeof a, 0, sizeof a), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, TERN_HS_CERTIFICATE, 1, b, sizeof b, 0, sizeof b), TERN_REASM_STORED);
    /* ServerHelloDone: an empty body is complete at once */
    CHECK_EQ(push(&r, 0, TERN_HS_SERVER_HELLO_DONE, 2, NULL, 0, 0, 0), TERN_REASM_STORED);

    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.type, TERN_HS_SERVER_HELLO);
    CHECK_EQ(m.msg_seq, 0);
    CHECK_EQ(m.epoch, 0);
    CHECK_EQ(m.len, sizeof a);
    CHECK_MEM(m.body, a, sizeof a);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.type, TERN_HS_CERTIFICATE);
    CHECK_EQ(m.len, sizeof b);
    CHECK_MEM(m.body, b, sizeof b);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.type, TERN_HS_SERVER_HELLO_DONE);
    CHECK_EQ(m.msg_seq, 2);
    CHECK_EQ(m.len, 0);
    CHECK(m.body != NULL);
    CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
    CHECK_EQ(tern_reasm_next_seq(&r), 3);
    CHECK(tern_reasm_count(&r, TERN_REASM_STORED) == 3);
    tern_reasm_clear(&r);
    CHECK_EQ(r.held, 0);
}

TEST(pop_waits_for_the_next_in_order)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t a[50], b[60];
    fill_pattern(a, sizeof a, 3);
    fill_pattern(b, sizeof b, 4);
    tern_hs_msg_in m;
    /* message 1 complete, message 0 still missing its middle */
    CHECK_EQ(push(&r, 0, 11, 1, b, sizeof b, 0, sizeof b), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 2, 0, a, sizeof a, 0, 20), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 2, 0, a, sizeof a, 30, 20), TERN_REASM_STORED);
    CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
    CHECK_EQ(push(&r, 0, 2, 0, a, sizeof a, 20, 10), TERN_REASM_STORED);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.msg_seq, 0);
    CHECK_MEM(m.body, a, sizeof a);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.msg_seq, 1);
    CHECK_MEM(m.body, b, sizeof b);
    tern_reasm_clear(&r);
}

TEST(overlapping_and_repeated_fragments)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t body[3500];
    fill_pattern(body, sizeof body, 5);
    const uint32_t len = sizeof body;
    /* a retransmission cut for a smaller MTU overlaps the first cut everywhere */
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 0, 1200), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 2400, 1100), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 0, 500), TERN_REASM_STORED);    /* inside */
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 1000, 500), TERN_REASM_STORED); /* straddles */
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 1499, 1), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 2000, 1000), TERN_REASM_STORED); /* fills the gap */
    CHECK_EQ(push(&r, 0, 11, 0, body, len, 0, len), TERN_REASM_STORED);     /* whole again */
    tern_hs_msg_in m;
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.len, len);
    CHECK_MEM(m.body, body, len);
    CHECK(tern_reasm_count(&r, TERN_REASM_STORED) == 7);
    tern_reasm_clear(&r);
}

TEST(every_order_of_byte_fragments)
{
    /* single-byte fragments in a seeded random order, each sent twice */
    test_seeded_state st;
    tern_rng rng;
    test_rng_seeded(&rng, &st, 0x5eed);
    uint8_t body[257];
    fill_pattern(body, sizeof body, 6);
    uint16_t order[2 * sizeof body];
    for (size_t i = 0; i < 2 * sizeof body; i++)
        order[i] = (uint16_t)(i % sizeof body);
    for (size_t i = 2 * sizeof body - 1; i > 0; i--) {
        uint8_t rb[4];
        CHECK(rng.fill(rng.ctx, rb, sizeof rb) == 0);
        size_t j = ((uint32_t)rb[0] << 24 | (uint32_t)rb[1] << 16 | rb[2] << 8 | rb[3]) % (i + 1);
        uint16_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    tern_reasm r;
    tern_reasm_init(&r, 0);
    tern_hs_msg_in m;
    bool seen[sizeof body] = {false};
    size_t distinct = 0;
    for (size_t i = 0; i < 2 * sizeof body; i++) {
        if (distinct < sizeof body) /* not complete yet */
            CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
        CHECK_EQ(push(&r, 1, 20, 0, body, sizeof body, order[i], 1), TERN_REASM_STORED);
        if (!seen[order[i]]) {
            seen[order[i]] = true;
            distinct++;
        }
        CHECK_EQ(r.slot[0].have, distinct);
    }
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.epoch, 1);
    CHECK_MEM(m.body, body, sizeof body);
    tern_reasm_clear(&r);
}

TEST(old_and_too_far)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t a[10] = {0};
    tern_hs_msg_in m;
    CHECK_EQ(push(&r, 0, 1, 0, a, sizeof a, 0, sizeof a), TERN_REASM_STORED);
    CHECK_OK(tern_reasm_pop(&r, &m));
    /* the peer retransmits message 0: already processed */
    CHECK_EQ(push(&r, 0, 1, 0, a, sizeof a, 0, sizeof a), TERN_REASM_OLD);
    CHECK_EQ(push(&r, 0, 1, 0, a, sizeof a, 0, 5), TERN_REASM_OLD);
    /* the window: next .. next + 7 held, next + 8 dropped */
    CHECK_EQ(push(&r, 0, 1, 1 + TERN_REASM_WINDOW - 1, a, sizeof a, 0, 1), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 1, 1 + TERN_REASM_WINDOW, a, sizeof a, 0, 1), TERN_REASM_TOO_FAR);
    CHECK_EQ(push(&r, 0, 1, 0xffff, a, sizeof a, 0, 1), TERN_REASM_TOO_FAR);
    CHECK(tern_reasm_count(&r, TERN_REASM_OLD) == 2);
    CHECK(tern_reasm_count(&r, TERN_REASM_TOO_FAR) == 2);
    CHECK(tern_reasm_count(&r, TERN_REASM_STORED) == 2);
    CHECK(strcmp(tern_reasm_result_name(TERN_REASM_TOO_FAR), "too_far") == 0);
    CHECK(strcmp(tern_reasm_result_name(99), "unknown") == 0);
    tern_reasm_clear(&r);
}

TEST(invalid_type_length_epoch_and_bytes)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t a[100], other[100];
    fill_pattern(a, sizeof a, 7);
    memcpy(other, a, sizeof a);
    other[45] ^= 1;
    CHECK_EQ(push(&r, 0, 11, 0, a, 100, 0, 50), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 12, 0, a, 100, 50, 50), TERN_REASM_INVALID); /* other type */
    CHECK_EQ(push(&r, 0, 11, 0, a, 99, 50, 49), TERN_REASM_INVALID);  /* other length */
    CHECK_EQ(push(&r, 1, 11, 0, a, 100, 50, 50), TERN_REASM_INVALID); /* other epoch */
    /* a byte that differs from the one held: the whole fragment is dropped, its new
     * bytes 50..59 with it */
    CHECK_EQ(push(&r, 0, 11, 0, other, 100, 40, 20), TERN_REASM_INVALID);
    CHECK_EQ(r.slot[0].have, 50);
    /* a header the parser would have refused */
    tern_hs_hdr h = {11, 100, 0, 90, 20};
    CHECK_EQ(tern_reasm_push(&r, 0, &h, a), TERN_REASM_INVALID);
    h = (tern_hs_hdr){11, 1u << 24, 1, 0, 0};
    CHECK_EQ(tern_reasm_push(&r, 0, &h, a), TERN_REASM_INVALID);
    CHECK(tern_reasm_count(&r, TERN_REASM_INVALID) == 6);

    tern_hs_msg_in m;
    CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
    CHECK_EQ(push(&r, 0, 11, 0, a, 100, 50, 50), TERN_REASM_STORED);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_MEM(m.body, a, 100);
    tern_reasm_clear(&r);
}

TEST(full_byte_cap_and_message_cap)
{
    tern_reasm r;
    tern_reasm_init(&r, 4096);
    static uint8_t big[4096];
    /* 3000 bytes + 375 bitmap fit; another 1000 + 125 does not */
    CHECK_EQ(push(&r, 0, 11, 0, big, 3000, 0, 100), TERN_REASM_STORED);
    CHECK_EQ(r.held, 3000 + 375);
    CHECK_EQ(push(&r, 0, 12, 1, big, 1000, 0, 100), TERN_REASM_FULL);
    CHECK_EQ(push(&r, 0, 12, 1, big, 600, 0, 100), TERN_REASM_STORED);
    /* a message over the cap by itself */
    CHECK_EQ(push(&r, 0, 13, 2, big, 4096, 0, 10), TERN_REASM_FULL);
    /* a hostile length: 16 MiB announced, nothing allocated */
    tern_hs_hdr h = {13, (1u << 24) - 1, 2, 0, 4};
    CHECK_EQ(tern_reasm_push(&r, 0, &h, big), TERN_REASM_FULL);
    CHECK_EQ(r.held, 3000 + 375 + 600 + 75);
    CHECK(tern_reasm_count(&r, TERN_REASM_FULL) == 3);

    /* a message cap below the byte cap */
    tern_reasm_set_msg_cap(&r, 30);
    CHECK_EQ(push(&r, 0, 14, 3, big, 31, 0, 1), TERN_REASM_FULL);
    CHECK_EQ(push(&r, 0, 14, 3, big, 30, 0, 1), TERN_REASM_STORED);
    CHECK_EQ(r.held, 3000 + 375 + 600 + 75 + 30 + 4);
    tern_reasm_set_msg_cap(&r, 1u << 30); /* raised only up to the byte cap */
    CHECK(r.msg_cap == 4096);

    /* popping gives memory back, once the popped body is released at the next pop */
    CHECK_EQ(push(&r, 0, 11, 0, big, 3000, 100, 2900), TERN_REASM_STORED);
    tern_hs_msg_in m;
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.len, 3000);
    CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
    CHECK_EQ(r.held, 600 + 75 + 30 + 4);
    tern_reasm_clear(&r);
    CHECK_EQ(r.held, 0);
}

TEST(hostile_headers_from_the_wire)
{
    /* Fragments come through tern_hs_hdr_parse(): one reaching past its message is
     * refused there; one announcing a huge length passes it and is FULL here. */
    uint8_t rec[TERN_HS_HDR_LEN + 4] = {11, 0, 0, 10, 0, 0, 0, 0, 8, 0, 0, 4, 1, 2, 3, 4};
    tern_rd rd = tern_rd_init(rec, sizeof rec);
    tern_hs_hdr h;
    const uint8_t *frag;
    CHECK_ERR(tern_hs_hdr_parse(&rd, &h, &frag), TERN_ERR_DECODE); /* 8 + 4 > 10 */

    uint8_t huge[TERN_HS_HDR_LEN + 4] = {11, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    rd = tern_rd_init(huge, sizeof huge);
    CHECK_OK(tern_hs_hdr_parse(&rd, &h, &frag));
    tern_reasm r;
    tern_reasm_init(&r, 0);
    CHECK_EQ(tern_reasm_push(&r, 0, &h, frag), TERN_REASM_FULL);
    CHECK_EQ(r.held, 0);
    CHECK(!r.slot[0].used);
    /* and a zero-length fragment of a huge message changes nothing either */
    h.frag_len = 0;
    CHECK_EQ(tern_reasm_push(&r, 0, &h, frag), TERN_REASM_FULL);
    CHECK_EQ(r.held, 0);
    tern_reasm_clear(&r);
}

TEST(window_slides_as_messages_pop)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t a[3] = {1, 2, 3};
    tern_hs_msg_in m;
    for (uint16_t seq = 0; seq < 40; seq++) {
        /* message seq + 7 arrives before message seq */
        if (seq == 0)
            for (uint16_t k = 0; k < TERN_REASM_WINDOW - 1; k++)
                CHECK_EQ(push(&r, 0, 1, k + 1, a, 3, 0, 3), TERN_REASM_STORED);
        else
            CHECK_EQ(push(&r, 0, 1, (uint16_t)(seq + TERN_REASM_WINDOW - 1), a, 3, 0, 3),
                     TERN_REASM_STORED);
        if (seq == 0)
            CHECK_EQ(push(&r, 0, 1, 0, a, 3, 0, 3), TERN_REASM_STORED);
        CHECK_OK(tern_reasm_pop(&r, &m));
        CHECK_EQ(m.msg_seq, seq);
    }
    CHECK_EQ(tern_reasm_next_seq(&r), 40);
    tern_reasm_clear(&r);
}

TEST(set_next_seq_after_hello_verify)
{
    tern_reasm r;
    tern_reasm_init(&r, 0);
    uint8_t a[4] = {9, 9, 9, 9};
    tern_hs_msg_in m;
    /* held before the switch: message 0 (old after it) and 2 (still in the window) */
    CHECK_EQ(push(&r, 0, 1, 0, a, 4, 0, 2), TERN_REASM_STORED);
    CHECK_EQ(push(&r, 0, 1, 2, a, 4, 0, 4), TERN_REASM_STORED);
    tern_reasm_set_next_seq(&r, 1);
    CHECK_EQ(tern_reasm_next_seq(&r), 1);
    CHECK(!r.slot[0].used);
    CHECK_EQ(r.held, 4 + 1);
    CHECK_EQ(push(&r, 0, 1, 0, a, 4, 0, 4), TERN_REASM_OLD);
    CHECK_EQ(push(&r, 0, 1, 1, a, 4, 0, 4), TERN_REASM_STORED);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.msg_seq, 1);
    CHECK_OK(tern_reasm_pop(&r, &m));
    CHECK_EQ(m.msg_seq, 2);
    /* jumping ahead drops what falls behind */
    CHECK_EQ(push(&r, 0, 1, 3, a, 4, 0, 4), TERN_REASM_STORED);
    tern_reasm_set_next_seq(&r, 4);
    CHECK_ERR(tern_reasm_pop(&r, &m), TERN_ERR_AGAIN);
    CHECK_EQ(r.held, 0);
    tern_reasm_clear(&r);
}
