/*
 * test_hs_ext.c - hello extensions: decoding of each extension tern needs, the rules
 * that make a block invalid (duplicates, vectors not used up, point formats without
 * uncompressed), the bounds, and every builder against the parser.
 */
#include "hs/ext.h"
#include "hs/msg.h"
#include "tern/tern.h"
#include "test.h"

/* A block under construction: extensions are appended as type + body. */
typedef struct blk {
    uint8_t buf[4096];
    tern_wr w;
} blk;

static void blk_init(blk *b) { b->w = tern_wr_init(b->buf, sizeof b->buf); }

static void blk_add(blk *b, uint16_t type, const void *body, size_t len)
{
    tern_wr_u16(&b->w, type);
    size_t at = tern_wr_open16(&b->w);
    tern_wr_bytes(&b->w, body, len);
    tern_wr_close16(&b->w, at);
}

/* Parse the block in an exactly-sized heap copy, so ASan catches any over-read. */
static tern_err blk_parse(const blk *b, tern_ext_msg msg, tern_exts *out)
{
    uint8_t *copy = malloc(b->w.len ? b->w.len : 1);
    if (copy == NULL)
        return TERN_ERR_NOMEM;
    memcpy(copy, b->buf, b->w.len);
    tern_err err = tern_ext_parse(copy, b->w.len, msg, out);
    free(copy); /* |out| points into it: only the error is used after this */
    return err;
}

#define HEX(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

TEST(index_and_type_agree)
{
    for (int i = 0; i < TERN_EXTI_COUNT; i++) {
        CHECK_EQ(tern_ext_index(tern_ext_type((tern_ext_idx)i)), i);
        CHECK(strcmp(tern_ext_name(tern_ext_type((tern_ext_idx)i)), "unknown") != 0);
    }
    CHECK_EQ(tern_ext_index(0x1a1a), TERN_EXTI_COUNT); /* a GREASE value */
    CHECK(strcmp(tern_ext_name(0x1a1a), "unknown") == 0);
    CHECK(strcmp(tern_ext_name(23), "extended_master_secret") == 0);
    CHECK(strcmp(tern_ext_name(0xff01), "renegotiation_info") == 0);
    CHECK(TERN_EXTI_COUNT <= 64); /* seen is a uint64_t */
}

TEST(decodes_client_hello_extensions)
{
    blk b;
    blk_init(&b);
    blk_add(&b, TERN_EXT_SERVER_NAME, HEX(0, 14, 0, 0, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
                                          'c', 'o', 'm'));
    blk_add(&b, TERN_EXT_SUPPORTED_GROUPS, HEX(0, 6, 0, 29, 0, 23, 0, 24));
    blk_add(&b, TERN_EXT_EC_POINT_FORMATS, HEX(3, 1, 0, 2));
    blk_add(&b, TERN_EXT_SIGNATURE_ALGORITHMS, HEX(0, 4, 4, 3, 8, 4));
    blk_add(&b, TERN_EXT_USE_SRTP, HEX(0, 4, 0, 7, 0, 1, 2, 0xaa, 0xbb));
    blk_add(&b, TERN_EXT_EXTENDED_MASTER_SECRET, NULL, 0);
    blk_add(&b, TERN_EXT_RENEGOTIATION_INFO, HEX(0));
    blk_add(&b, TERN_EXT_SESSION_TICKET, NULL, 0);
    blk_add(&b, 0x3a3a, HEX(0)); /* unknown (GREASE): recorded, skipped */
    CHECK(!b.w.err);

    tern_exts e;
    CHECK_OK(tern_ext_parse(b.buf, b.w.len, TERN_EXT_IN_CLIENT_HELLO, &e));
    CHECK(e.present);
    CHECK_EQ(e.n_unknown, 1);
    CHECK(tern_exts_has(&e, TERN_EXTI_SERVER_NAME));
    CHECK(tern_exts_has(&e, TERN_EXTI_SESSION_TICKET));
    CHECK(!tern_exts_has(&e, TERN_EXTI_ALPN));
    CHECK_EQ(e.host_len, 11);
    CHECK_MEM(e.host, "example.com", 11);
    CHECK_EQ(e.n_groups, 3);
    CHECK(e.groups[0] == 29 && e.groups[1] == 23 && e.groups[2] == 24);
    CHECK_EQ(e.point_formats_len, 3);
    CHECK_EQ(e.n_sigschemes, 2);
    CHECK(e.sigschemes[0] == 0x0403 && e.sigschemes[1] == 0x0804);
    CHECK_EQ(e.n_srtp_profiles, 2);
    CHECK(e.srtp_profiles[0] == 7 && e.srtp_profiles[1] == 1);
    CHECK_EQ(e.srtp_mki_len, 2);
    CHECK_EQ(e.srtp_mki[1], 0xbb);
    CHECK(e.reneg != NULL && e.reneg_len == 0);

    tern_rd body;
    CHECK(tern_ext_find(&e, 0x3a3a, &body) && tern_rd_left(&body) == 1);
    CHECK(tern_ext_find(&e, TERN_EXT_SUPPORTED_GROUPS, &body) && tern_rd_left(&body) == 8);
    CHECK(!tern_ext_find(&e, TERN_EXT_ALPN, &body));
}

TEST(empty_block_is_present_and_empty)
{
    tern_exts e;
    static const uint8_t none[1];
    CHECK_OK(tern_ext_parse(none, 0, TERN_EXT_IN_SERVER_HELLO, &e));
    CHECK(e.present && e.seen == 0 && e.n_unknown == 0);
}

TEST(duplicates_rejected)
{
    blk b;
    tern_exts e;
    /* RFC 5246 §7.4.1.4: no two extensions of the same type, known ... */
    blk_init(&b);
    blk_add(&b, TERN_EXT_EXTENDED_MASTER_SECRET, NULL, 0);
    blk_add(&b, TERN_EXT_SUPPORTED_GROUPS, HEX(0, 2, 0, 29));
    blk_add(&b, TERN_EXT_EXTENDED_MASTER_SECRET, NULL, 0);
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_DECODE);
    /* ... even with different bodies ... */
    blk_init(&b);
    blk_add(&b, TERN_EXT_SUPPORTED_GROUPS, HEX(0, 2, 0, 29));
    blk_add(&b, TERN_EXT_SUPPORTED_GROUPS, HEX(0, 2, 0, 23));
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_DECODE);
    /* ... or unknown to tern. */
    blk_init(&b);
    blk_add(&b, 0x7777, NULL, 0);
    blk_add(&b, 0x1234, HEX(1));
    blk_add(&b, 0x7777, HEX(2));
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_SERVER_HELLO, &e), TERN_ERR_DECODE);
}

TEST(unknown_types_are_bounded)
{
    blk b;
    tern_exts e;
    blk_init(&b);
    for (uint16_t t = 0; t < TERN_MAX_UNKNOWN_EXTS; t++)
        blk_add(&b, (uint16_t)(0x8000 + t), NULL, 0);
    CHECK_OK(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e));
    CHECK_EQ(e.n_unknown, TERN_MAX_UNKNOWN_EXTS);
    blk_add(&b, 0x9000, NULL, 0);
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_TOO_BIG);
    /* A duplicate is still a decode error, whatever the count. */
    blk_init(&b);
    for (uint16_t t = 0; t < TERN_MAX_UNKNOWN_EXTS; t++)
        blk_add(&b, (uint16_t)(0x8000 + t), NULL, 0);
    blk_add(&b, 0x8000, NULL, 0);
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_DECODE);
}

TEST(point_formats_need_uncompressed)
{
    blk b;
    tern_exts e;
    blk_init(&b);
    blk_add(&b, TERN_EXT_EC_POINT_FORMATS, HEX(2, 1, 2)); /* compressed only */
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_BAD_SHARE);
    CHECK_EQ(tern_err_alert(TERN_ERR_BAD_SHARE), TERN_ALERT_ILLEGAL_PARAMETER);
    blk_init(&b);
    blk_add(&b, TERN_EXT_EC_POINT_FORMATS, HEX(0)); /* ec_point_format_list<1..2^8-1> */
    CHECK_ERR(blk_parse(&b, TERN_EXT_IN_SERVER_HELLO, &e), TERN_ERR_DECODE);
    blk_init(&b);
    blk_add(&b, TERN_EXT_EC_POINT_FORMATS, HEX(1, 0));
    CHECK_OK(blk_parse(&b, TERN_EXT_IN_SERVER_HELLO, &e));
}

/* Each body here breaks its extension's syntax; all are TERN_ERR_DECODE. */
TEST(malformed_bodies_rejected)
{
    static const struct {
        uint16_t type;
        tern_ext_msg msg;
        uint8_t body[16];
        size_t len;
        const char *why;
    } bad[] = {
        {TERN_EXT_SUPPORTED_GROUPS, TERN_EXT_IN_CLIENT_HELLO, {0, 3, 0, 29, 0}, 5, "odd list"},
        {TERN_EXT_SUPPORTED_GROUPS, TERN_EXT_IN_CLIENT_HELLO, {0, 0}, 2, "empty list"},
        {TERN_EXT_SUPPORTED_GROUPS, TERN_EXT_IN_CLIENT_HELLO, {0, 2, 0, 29, 0}, 5,
         "list not using up the body"},
        {TERN_EXT_SUPPORTED_GROUPS, TERN_EXT_IN_CLIENT_HELLO, {0, 4, 0, 29}, 4,
         "list longer than the body"},
        {TERN_EXT_SIGNATURE_ALGORITHMS, TERN_EXT_IN_CLIENT_HELLO, {0, 1, 4}, 3, "odd list"},
        {TERN_EXT_SIGNATURE_ALGORITHMS, TERN_EXT_IN_CLIENT_HELLO, {0}, 0, "no list"},
        {TERN_EXT_EXTENDED_MASTER_SECRET, TERN_EXT_IN_CLIENT_HELLO, {0}, 1, "EMS not empty"},
        {TERN_EXT_EXTENDED_MASTER_SECRET, TERN_EXT_IN_SERVER_HELLO, {0}, 1, "EMS not empty"},
        {TERN_EXT_RENEGOTIATION_INFO, TERN_EXT_IN_CLIENT_HELLO, {0, 0}, 2, "trailing byte"},
        {TERN_EXT_RENEGOTIATION_INFO, TERN_EXT_IN_SERVER_HELLO, {0}, 0, "no length"},
        {TERN_EXT_RENEGOTIATION_INFO, TERN_EXT_IN_SERVER_HELLO, {2, 1}, 2, "short"},
        {TERN_EXT_SERVER_NAME, TERN_EXT_IN_SERVER_HELLO, {0, 0}, 2, "server's not empty"},
        {TERN_EXT_SERVER_NAME, TERN_EXT_IN_CLIENT_HELLO, {0, 0}, 2, "empty name list"},
        {TERN_EXT_SERVER_NAME, TERN_EXT_IN_CLIENT_HELLO, {0, 3, 0, 0, 0}, 5, "empty host_name"},
        {TERN_EXT_SERVER_NAME, TERN_EXT_IN_CLIENT_HELLO, {0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b'}, 10,
         "two host_names"},
        {TERN_EXT_SERVER_NAME, TERN_EXT_IN_CLIENT_HELLO, {0, 4, 0, 0, 1, 'a', 0}, 7,
         "body longer than the list"},
        {TERN_EXT_USE_SRTP, TERN_EXT_IN_CLIENT_HELLO, {0, 2, 0, 1}, 4, "no MKI length"},
        {TERN_EXT_USE_SRTP, TERN_EXT_IN_CLIENT_HELLO, {0, 0, 0}, 3, "no profile"},
        {TERN_EXT_USE_SRTP, TERN_EXT_IN_CLIENT_HELLO, {0, 2, 0, 1, 0, 9}, 6, "trailing byte"},
        {TERN_EXT_USE_SRTP, TERN_EXT_IN_SERVER_HELLO, {0, 4, 0, 1, 0, 7, 0}, 7,
         "server picked two profiles"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        blk b;
        tern_exts e;
        blk_init(&b);
        blk_add(&b, bad[i].type, bad[i].body, bad[i].len);
        tern_err err = blk_parse(&b, bad[i].msg, &e);
        if (err != TERN_ERR_DECODE) {
            test_fail(__FILE__, __LINE__, "case %zu (%s, %s): %s", i, tern_ext_name(bad[i].type),
                      bad[i].why, tern_err_name(err));
            return;
        }
    }
}

TEST(server_name_skips_other_name_types)
{
    blk b;
    tern_exts e;
    blk_init(&b);
    blk_add(&b, TERN_EXT_SERVER_NAME, HEX(0, 9, 7, 0, 2, 'x', 'y', 0, 0, 1, 'h'));
    CHECK_OK(blk_parse(&b, TERN_EXT_IN_CLIENT_HELLO, &e));
    CHECK(tern_exts_has(&e, TERN_EXTI_SERVER_NAME));
    blk_init(&b);
    blk_add(&b, TERN_EXT_SERVER_NAME, HEX(0, 5, 7, 0, 2, 'x', 'y'));
    CHECK_OK(tern_ext_parse(b.buf, b.w.len, TERN_EXT_IN_CLIENT_HELLO, &e));
    CHECK(e.host == NULL); /* present, but no host_name in it */
}

TEST(long_lists_keep_the_first)
{
    blk b;
    tern_exts e;
    uint8_t list[2 + 2 * 40];
    tern_wr w = tern_wr_init(list, sizeof list);
    size_t at = tern_wr_open16(&w);
    for (uint16_t g = 0; g < 40; g++)
        tern_wr_u16(&w, (uint16_t)(0x100 + g));
    tern_wr_close16(&w, at);
    CHECK(!w.err);
    blk_init(&b);
    blk_add(&b, TERN_EXT_SUPPORTED_GROUPS, list, w.len);
    blk_add(&b, TERN_EXT_SIGNATURE_ALGORITHMS, list, w.len);
    CHECK_OK(tern_ext_parse(b.buf, b.w.len, TERN_EXT_IN_CLIENT_HELLO, &e));
    CHECK_EQ(e.n_groups, TERN_MAX_GROUPS);
    CHECK_EQ(e.groups[TERN_MAX_GROUPS - 1], 0x100 + TERN_MAX_GROUPS - 1);
    CHECK_EQ(e.n_sigschemes, TERN_MAX_SIGSCHEMES);
}

TEST(block_framing_errors)
{
    tern_exts e;
    /* a dangling byte after the last extension */
    CHECK_ERR(tern_ext_parse(HEX(0, 23, 0, 0, 0xff), TERN_EXT_IN_CLIENT_HELLO, &e),
              TERN_ERR_DECODE);
    /* a body length past the block */
    CHECK_ERR(tern_ext_parse(HEX(0, 23, 0, 1), TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_DECODE);
    /* half a type */
    CHECK_ERR(tern_ext_parse(HEX(0), TERN_EXT_IN_CLIENT_HELLO, &e), TERN_ERR_DECODE);
}

/* Every builder's output parses back to what went in. */
TEST(builders_round_trip)
{
    static const uint16_t groups[] = {29, 23, 24};
    static const uint16_t schemes[] = {0x0403, 0x0503, 0x0804, 0x0401};
    static const uint16_t profiles[] = {TERN_SRTP_AEAD_AES_128_GCM,
                                        TERN_SRTP_AES128_CM_HMAC_SHA1_80};
    static const uint8_t mki[] = {0xde, 0xad};
    static const uint8_t verify[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t buf[512];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_ext_build_server_name(&w, (const uint8_t *)"tern.example", 12));
    CHECK_OK(tern_ext_build_supported_groups(&w, groups, 3));
    CHECK_OK(tern_ext_build_ec_point_formats(&w));
    CHECK_OK(tern_ext_build_signature_algorithms(&w, schemes, 4));
    CHECK_OK(tern_ext_build_use_srtp(&w, profiles, 2, mki, 2));
    CHECK_OK(tern_ext_build_extended_master_secret(&w));
    CHECK_OK(tern_ext_build_renegotiation_info(&w, verify, sizeof verify));
    CHECK_OK(tern_ext_build_empty(&w, TERN_EXT_ENCRYPT_THEN_MAC));

    tern_exts e;
    CHECK_OK(tern_ext_parse(buf, w.len, TERN_EXT_IN_CLIENT_HELLO, &e));
    CHECK_EQ(e.host_len, 12);
    CHECK_MEM(e.host, "tern.example", 12);
    CHECK(e.n_groups == 3 && e.groups[2] == 24);
    CHECK(e.point_formats_len == 1 && e.point_formats[0] == 0);
    CHECK(e.n_sigschemes == 4 && e.sigschemes[3] == 0x0401);
    CHECK(e.n_srtp_profiles == 2 && e.srtp_profiles[0] == TERN_SRTP_AEAD_AES_128_GCM);
    CHECK(e.srtp_mki_len == 2 && e.srtp_mki[0] == 0xde);
    CHECK(tern_exts_has(&e, TERN_EXTI_EXTENDED_MASTER_SECRET));
    CHECK(tern_exts_has(&e, TERN_EXTI_ENCRYPT_THEN_MAC));
    CHECK_EQ(e.reneg_len, 12);
    CHECK_MEM(e.reneg, verify, 12);

    /* tern_ext_build_block writes the same from the struct (in index order). */
    uint8_t again[512];
    tern_wr w2 = tern_wr_init(again, sizeof again);
    CHECK_OK(tern_ext_build_block(&w2, &e, TERN_EXT_IN_CLIENT_HELLO));
    tern_exts e2;
    CHECK_OK(tern_ext_parse(again + 2, w2.len - 2, TERN_EXT_IN_CLIENT_HELLO, &e2));
    CHECK_EQ(tern_load16(again), w2.len - 2);
    CHECK_EQ(e2.seen, e.seen);
    CHECK_EQ(w2.len - 2, w.len); /* same extensions, same sizes */
}

TEST(builders_check_their_input)
{
    uint8_t buf[1024], host[TERN_SNI_MAX_LEN + 1];
    memset(host, 'a', sizeof host);
    static const uint16_t g[TERN_MAX_GROUPS + 1];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_ext_build_server_name(&w, host, sizeof host), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_server_name(&w, host, 0), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_server_name(&w, NULL, 3), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_supported_groups(&w, g, 0), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_supported_groups(&w, g, TERN_MAX_GROUPS + 1), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_signature_algorithms(&w, NULL, 1), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_renegotiation_info(&w, host, 256), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_use_srtp(&w, g, 1, host, 256), TERN_ERR_ARG);
    CHECK_ERR(tern_ext_build_use_srtp(&w, g, 0, NULL, 0), TERN_ERR_ARG);
    CHECK_EQ(w.len, 0); /* nothing was written by a refused call */
    CHECK(!w.err);

    /* The server's server_name is empty; its use_srtp holds one profile. */
    CHECK_OK(tern_ext_build_server_name(&w, NULL, 0));
    CHECK_EQ(w.len, 4);
    tern_exts e = {.present = true, .seen = TERN_EXT_BIT(TERN_EXTI_USE_SRTP),
                   .srtp_profiles = {1, 7}, .n_srtp_profiles = 2};
    CHECK_ERR(tern_ext_build_block(&w, &e, TERN_EXT_IN_SERVER_HELLO), TERN_ERR_ARG);
    /* A client's server_name needs a host_name. */
    tern_exts sni = {.present = true, .seen = TERN_EXT_BIT(TERN_EXTI_SERVER_NAME)};
    CHECK_ERR(tern_ext_build_block(&w, &sni, TERN_EXT_IN_CLIENT_HELLO), TERN_ERR_ARG);
    /* An extension tern cannot build. */
    tern_exts alpn = {.present = true, .seen = TERN_EXT_BIT(TERN_EXTI_ALPN)};
    CHECK_ERR(tern_ext_build_block(&w, &alpn, TERN_EXT_IN_CLIENT_HELLO), TERN_ERR_ARG);
}

TEST(block_presence)
{
    uint8_t buf[8];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_exts none = {0};
    CHECK_OK(tern_ext_build_block(&w, &none, TERN_EXT_IN_CLIENT_HELLO));
    CHECK_EQ(w.len, 0); /* no block at all */
    tern_exts empty = {.present = true};
    CHECK_OK(tern_ext_build_block(&w, &empty, TERN_EXT_IN_CLIENT_HELLO));
    CHECK_EQ(w.len, 2); /* an empty block: its length only */
    CHECK(buf[0] == 0 && buf[1] == 0);
    /* Too little room is TERN_ERR_BUF. */
    tern_wr small = tern_wr_init(buf, 5);
    tern_exts ems = {.present = true, .seen = TERN_EXT_BIT(TERN_EXTI_EXTENDED_MASTER_SECRET)};
    CHECK_ERR(tern_ext_build_block(&small, &ems, TERN_EXT_IN_SERVER_HELLO), TERN_ERR_BUF);
}
