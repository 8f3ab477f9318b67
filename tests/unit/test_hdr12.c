/*
 * test_hdr12.c - the DTLS 1.2 record header codec.
 */
#include "record/record.h"
#include "test.h"

/* type 22, DTLS 1.2, epoch 0x0102, seq 0x030405060708, length 3, fragment "abc" */
static const uint8_t rec1[] = {0x16, 0xfe, 0xfd, 0x01, 0x02, 0x03, 0x04, 0x05,
                               0x06, 0x07, 0x08, 0x00, 0x03, 'a',  'b',  'c'};

TEST(hdr12_read_fields)
{
    tern_rd r = tern_rd_init(rec1, sizeof rec1), frag;
    tern_hdr12 h;
    CHECK_OK(tern_hdr12_read(&r, &h, &frag));
    CHECK_EQ(h.type, TERN_CT_HANDSHAKE);
    CHECK_EQ(h.version, TERN_DTLS12_VERSION);
    CHECK_EQ(h.epoch, 0x0102);
    CHECK(h.seq == 0x030405060708ull);
    CHECK_EQ(h.length, 3);
    CHECK_EQ(tern_rd_left(&frag), 3);
    CHECK(frag.p == rec1 + TERN_DTLS12_HDR_LEN);
    CHECK(tern_rd_done(&r));
}

TEST(hdr12_round_trip)
{
    tern_hdr12 h = {TERN_CT_APPLICATION_DATA, TERN_DTLS10_VERSION, 0xfffe,
                    TERN_DTLS_SEQ_LIMIT - 1, 0};
    uint8_t buf[TERN_DTLS12_HDR_LEN];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_hdr12_write(&w, &h);
    CHECK(!w.err);
    CHECK_EQ(w.len, TERN_DTLS12_HDR_LEN);

    tern_rd r = tern_rd_init(buf, sizeof buf), frag;
    tern_hdr12 back;
    CHECK_OK(tern_hdr12_read(&r, &back, &frag));
    CHECK_EQ(back.type, h.type);
    CHECK_EQ(back.version, h.version);
    CHECK_EQ(back.epoch, h.epoch);
    CHECK(back.seq == h.seq);
    CHECK_EQ(back.length, 0);
    CHECK(tern_rd_done(&frag));
    CHECK(tern_rd_done(&r));

    /* and the bytes are those of the published layout */
    tern_hdr12 h1 = {0x16, 0xfefd, 0x0102, 0x030405060708ull, 3};
    w = tern_wr_init(buf, sizeof buf);
    tern_hdr12_write(&w, &h1);
    CHECK(!w.err);
    CHECK_MEM(buf, rec1, TERN_DTLS12_HDR_LEN);
}

TEST(hdr12_write_refuses)
{
    uint8_t buf[TERN_DTLS12_HDR_LEN + 4];
    tern_hdr12 h = {TERN_CT_ALERT, TERN_DTLS12_VERSION, 1, TERN_DTLS_SEQ_LIMIT, 0};
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_hdr12_write(&w, &h); /* sequence number does not fit in 48 bits */
    CHECK(w.err);
    CHECK_EQ(w.len, 0);

    h.seq = 1;
    w = tern_wr_init(buf, TERN_DTLS12_HDR_LEN - 1); /* no room */
    tern_hdr12_write(&w, &h);
    CHECK(w.err);
    CHECK_EQ(w.len, 0);
}

TEST(hdr12_truncated_every_length)
{
    for (size_t n = 0; n < TERN_DTLS12_HDR_LEN; n++) {
        tern_rd r = tern_rd_init(rec1, n), frag;
        tern_hdr12 h;
        CHECK_ERR(tern_hdr12_read(&r, &h, &frag), TERN_ERR_DECODE);
        CHECK(r.p == rec1);
        CHECK(r.end == rec1 + n);
    }
}

TEST(hdr12_length_past_datagram)
{
    /* every cut inside the fragment: the header is whole but its length runs past */
    for (size_t n = TERN_DTLS12_HDR_LEN; n < sizeof rec1; n++) {
        tern_rd r = tern_rd_init(rec1, n), frag;
        tern_hdr12 h;
        CHECK_ERR(tern_hdr12_read(&r, &h, &frag), TERN_ERR_DECODE);
        CHECK(r.p == rec1);
    }
    /* a maximal length with a short datagram */
    uint8_t big[TERN_DTLS12_HDR_LEN + 1];
    memcpy(big, rec1, TERN_DTLS12_HDR_LEN);
    big[11] = 0xff;
    big[12] = 0xff;
    tern_rd r = tern_rd_init(big, sizeof big), frag;
    tern_hdr12 h;
    CHECK_ERR(tern_hdr12_read(&r, &h, &frag), TERN_ERR_DECODE);
    CHECK(r.p == big);
}

TEST(hdr12_several_records_per_datagram)
{
    uint8_t dgram[2 * sizeof rec1 + TERN_DTLS12_HDR_LEN];
    memcpy(dgram, rec1, sizeof rec1);
    memcpy(dgram + sizeof rec1, rec1, sizeof rec1);
    dgram[sizeof rec1 + 10] = 0x09; /* second record: other sequence number */
    tern_hdr12 empty = {TERN_CT_ALERT, TERN_DTLS12_VERSION, 0, 7, 0};
    tern_wr w = tern_wr_init(dgram + 2 * sizeof rec1, TERN_DTLS12_HDR_LEN);
    tern_hdr12_write(&w, &empty);
    CHECK(!w.err);

    tern_rd r = tern_rd_init(dgram, sizeof dgram), frag;
    tern_hdr12 h;
    CHECK_OK(tern_hdr12_read(&r, &h, &frag));
    CHECK(h.seq == 0x030405060708ull);
    CHECK_OK(tern_hdr12_read(&r, &h, &frag));
    CHECK(h.seq == 0x030405060709ull);
    CHECK_MEM(frag.p, "abc", 3);
    CHECK_OK(tern_hdr12_read(&r, &h, &frag));
    CHECK_EQ(h.type, TERN_CT_ALERT);
    CHECK(h.seq == 7);
    CHECK(tern_rd_done(&frag));
    CHECK(tern_rd_done(&r));
    CHECK_ERR(tern_hdr12_read(&r, &h, &frag), TERN_ERR_DECODE);
}
