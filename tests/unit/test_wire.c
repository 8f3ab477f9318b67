/*
 * test_wire.c - the byte cursors: reads, vectors, writes, back-patching, and the
 * promise that a failed read leaves the reader where it was.
 */
#include "tern/tern.h"
#include "test.h"
#include "wire.h"

TEST(reads_big_endian)
{
    static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
                                 0x15, 0x16, 0x17, 0x18};
    tern_rd r = tern_rd_init(in, sizeof in);
    uint8_t a;
    uint16_t b;
    uint32_t c, d;
    uint64_t e, f;
    CHECK(tern_rd_u8(&r, &a) && a == 0x01);
    CHECK(tern_rd_u16(&r, &b) && b == 0x0203);
    CHECK(tern_rd_u24(&r, &c) && c == 0x040506);
    CHECK(tern_rd_u32(&r, &d) && d == 0x0708090a);
    CHECK(tern_rd_u48(&r, &e) && e == 0x0b0c0d0e0f10ULL);
    CHECK(tern_rd_u64(&r, &f) && f == 0x1112131415161718ULL);
    CHECK(tern_rd_done(&r));
    CHECK(!tern_rd_u8(&r, &a));
}

TEST(short_read_leaves_cursor)
{
    static const uint8_t in[] = {1, 2, 3, 4, 5};
    tern_rd r = tern_rd_init(in, sizeof in);
    uint64_t v48 = 99;
    uint32_t v32 = 99;
    uint8_t buf[8];
    CHECK(!tern_rd_u48(&r, &v48));
    CHECK(!tern_rd_u64(&r, &v48));
    CHECK(!tern_rd_copy(&r, buf, 6));
    CHECK(!tern_rd_skip(&r, 6));
    CHECK(r.p == in && tern_rd_left(&r) == 5 && v48 == 99);
    CHECK(tern_rd_u32(&r, &v32) && v32 == 0x01020304);
    CHECK(!tern_rd_u16(&r, &(uint16_t){0}));
    CHECK(tern_rd_left(&r) == 1);
}

TEST(vectors_are_bounded_readers)
{
    /* vec8 "ab", vec16 "cde", vec24 "" */
    static const uint8_t in[] = {2, 'a', 'b', 0, 3, 'c', 'd', 'e', 0, 0, 0};
    tern_rd r = tern_rd_init(in, sizeof in), body;
    uint8_t ch;
    CHECK(tern_rd_vec8(&r, &body) && tern_rd_left(&body) == 2);
    CHECK(tern_rd_u8(&body, &ch) && ch == 'a');
    CHECK(!tern_rd_done(&body)); /* a parser that stops here has not used it up */
    CHECK(tern_rd_vec16(&r, &body) && tern_rd_left(&body) == 3 && body.p[0] == 'c');
    CHECK(tern_rd_vec24(&r, &body) && tern_rd_done(&body));
    CHECK(tern_rd_done(&r));
}

TEST(vector_longer_than_input_fails_whole)
{
    static const uint8_t in[] = {0, 5, 1, 2, 3};
    tern_rd r = tern_rd_init(in, sizeof in), body = {0};
    CHECK(!tern_rd_vec16(&r, &body));
    CHECK(r.p == in);
    CHECK(!tern_rd_vec24(&r, &body));
    CHECK(r.p == in);
    CHECK(tern_rd_vec8(&r, &body) && tern_rd_done(&body)); /* length 0 */
}

TEST(writer_back_patches_nested_lengths)
{
    uint8_t out[32];
    tern_wr w = tern_wr_init(out, sizeof out);
    size_t outer = tern_wr_open16(&w);
    tern_wr_u8(&w, 0xaa);
    size_t inner = tern_wr_open8(&w);
    tern_wr_bytes(&w, "xyz", 3);
    tern_wr_close8(&w, inner);
    size_t empty = tern_wr_open24(&w);
    tern_wr_close24(&w, empty);
    tern_wr_close16(&w, outer);
    CHECK(!w.err);
    static const uint8_t want[] = {0, 8, 0xaa, 3, 'x', 'y', 'z', 0, 0, 0};
    CHECK_EQ(w.len, sizeof want);
    CHECK_MEM(out, want, sizeof want);
}

TEST(writer_never_passes_cap)
{
    uint8_t out[8];
    memset(out, 0xee, sizeof out);
    tern_wr w = tern_wr_init(out, 5);
    tern_wr_u32(&w, 0x01020304);
    CHECK(!w.err);
    tern_wr_u16(&w, 0x0506); /* one byte short: nothing written, err sticks */
    CHECK(w.err && w.len == 4 && out[4] == 0xee);
    tern_wr_u8(&w, 7); /* would fit, but err is sticky */
    CHECK(w.len == 4 && out[4] == 0xee);
    CHECK(tern_wr_reserve(&w, 0) == NULL);
    CHECK_EQ(tern_wr_room(&w), 0);
}

TEST(writer_rejects_oversized_values)
{
    uint8_t out[300];
    tern_wr w = tern_wr_init(out, sizeof out);
    tern_wr_u24(&w, 1u << 24);
    CHECK(w.err);
    w = tern_wr_init(out, sizeof out);
    tern_wr_u48(&w, 1ULL << 48);
    CHECK(w.err);
    w = tern_wr_init(out, sizeof out);
    size_t at = tern_wr_open8(&w);
    tern_wr_zeros(&w, 256); /* one more than an 8-bit length holds */
    tern_wr_close8(&w, at);
    CHECK(w.err);
}

TEST(writer_u48_and_reserve)
{
    uint8_t out[16];
    tern_wr w = tern_wr_init(out, sizeof out);
    tern_wr_u48(&w, 0x0102030405a6ULL);
    uint8_t *slot = tern_wr_reserve(&w, 2);
    CHECK(slot == out + 6);
    slot[0] = 0x77;
    slot[1] = 0x88;
    tern_wr_u64(&w, 0x1122334455667788ULL);
    CHECK(!w.err && w.len == 16);
    CHECK_EQ(tern_load48(out), 0x0102030405a6ULL);
    CHECK_EQ(tern_load16(out + 6), 0x7788);
    uint8_t back[8];
    tern_store64(back, 0x1122334455667788ULL);
    CHECK_MEM(back, out + 8, 8);
}

/*
 * A DTLS 1.2 ClientHello body parsed the way the handshake codecs will parse it.
 * Every truncation of a valid message must fail, and never read past the end
 * (ASan watches: the truncated copy lives in a buffer of exactly that size).
 */
static bool parse_client_hello(const uint8_t *data, size_t len)
{
    tern_rd r = tern_rd_init(data, len), sid, cookie, suites, comp, exts;
    uint16_t version;
    uint8_t random[32];
    if (!tern_rd_u16(&r, &version) || !tern_rd_copy(&r, random, sizeof random) ||
        !tern_rd_vec8(&r, &sid) || !tern_rd_vec8(&r, &cookie) || !tern_rd_vec16(&r, &suites) ||
        !tern_rd_vec8(&r, &comp))
        return false;
    while (!tern_rd_done(&suites)) {
        uint16_t suite;
        if (!tern_rd_u16(&suites, &suite))
            return false;
    }
    if (tern_rd_done(&r))
        return true; /* extensions are optional */
    if (!tern_rd_vec16(&r, &exts) || !tern_rd_done(&r))
        return false;
    while (!tern_rd_done(&exts)) {
        uint16_t type;
        tern_rd body;
        if (!tern_rd_u16(&exts, &type) || !tern_rd_vec16(&exts, &body))
            return false;
    }
    return true;
}

static size_t build_client_hello(uint8_t *out, size_t cap)
{
    tern_wr w = tern_wr_init(out, cap);
    tern_wr_u16(&w, 0xfefd);
    tern_wr_zeros(&w, 32);
    size_t at = tern_wr_open8(&w); /* session id */
    tern_wr_close8(&w, at);
    at = tern_wr_open8(&w); /* cookie */
    tern_wr_bytes(&w, "0123456789abcdef", 16);
    tern_wr_close8(&w, at);
    at = tern_wr_open16(&w);
    tern_wr_u16(&w, 0xc02b);
    tern_wr_u16(&w, 0xc02f);
    tern_wr_close16(&w, at);
    at = tern_wr_open8(&w);
    tern_wr_u8(&w, 0);
    tern_wr_close8(&w, at);
    size_t exts = tern_wr_open16(&w);
    tern_wr_u16(&w, 10); /* supported_groups */
    size_t body = tern_wr_open16(&w);
    size_t list = tern_wr_open16(&w);
    tern_wr_u16(&w, 29);
    tern_wr_u16(&w, 23);
    tern_wr_close16(&w, list);
    tern_wr_close16(&w, body);
    tern_wr_u16(&w, 23); /* extended_master_secret, empty */
    tern_wr_u16(&w, 0);
    tern_wr_close16(&w, exts);
    return w.err ? 0 : w.len;
}

TEST(every_truncation_fails_cleanly)
{
    uint8_t msg[256];
    size_t len = build_client_hello(msg, sizeof msg);
    CHECK(len > 0);
    CHECK(parse_client_hello(msg, len));
    /* Cutting inside the extensions block, or right before it, is the one place a
     * shorter message is still valid: exactly at the end of compression methods. */
    size_t no_ext = 2 + 32 + 1 + 1 + 16 + 2 + 4 + 1 + 1;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        CHECK(copy != NULL);
        memcpy(copy, msg, cut);
        bool ok = parse_client_hello(copy, cut);
        free(copy);
        if (cut == no_ext)
            CHECK(ok);
        else if (ok) {
            test_fail(__FILE__, __LINE__, "truncation at %zu of %zu parsed", cut, len);
            return;
        }
    }
}
