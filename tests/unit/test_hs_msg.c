/*
 * test_hs_msg.c - the DTLS 1.2 handshake message codecs.
 *
 * For every message: build from realistic content, parse it back, compare, and
 * rebuild from the parsed struct to the same bytes. Then the hostile side: every
 * strict prefix of the message fails (except where a shorter message is itself valid,
 * a hello without extensions), a trailing byte fails, and single-byte corruptions at
 * every position either parse or fail without reading out of bounds. Each input is
 * copied into a heap buffer of exactly its size, so ASan sees any over-read.
 * Finally, real handshakes captured from OpenSSL and GnuTLS (tests/vectors/
 * hs_captures.vec) are parsed and their contents checked.
 */
#include "hs/msg.h"
#include "tern/tern.h"
#include "test.h"
#include "vec.h"

/* ------------------------------------------------------------------ harness */

typedef tern_err (*parse_fn)(const uint8_t *body, size_t len);

static tern_err p_client_hello(const uint8_t *b, size_t n)
{
    tern_client_hello m;
    return tern_client_hello_parse(b, n, &m);
}
static tern_err p_server_hello(const uint8_t *b, size_t n)
{
    tern_server_hello_msg m;
    return tern_server_hello_parse(b, n, &m);
}
static tern_err p_hello_verify(const uint8_t *b, size_t n)
{
    tern_hello_verify m;
    return tern_hello_verify_parse(b, n, &m);
}
static tern_err p_certificate(const uint8_t *b, size_t n)
{
    tern_certificate m;
    return tern_certificate_parse(b, n, &m);
}
static tern_err p_server_kx(const uint8_t *b, size_t n)
{
    tern_server_kx m;
    return tern_server_kx_parse(b, n, &m);
}
static tern_err p_cert_request(const uint8_t *b, size_t n)
{
    tern_cert_request m;
    return tern_cert_request_parse(b, n, &m);
}
static tern_err p_server_hello_done(const uint8_t *b, size_t n)
{
    return tern_server_hello_done_parse(b, n);
}
static tern_err p_client_kx(const uint8_t *b, size_t n)
{
    tern_client_kx m;
    return tern_client_kx_parse(b, n, &m);
}
static tern_err p_cert_verify(const uint8_t *b, size_t n)
{
    tern_cert_verify m;
    return tern_cert_verify_parse(b, n, &m);
}
static tern_err p_finished(const uint8_t *b, size_t n)
{
    tern_finished m;
    return tern_finished_parse(b, n, &m);
}

/* Run |f| on a copy of |data| in a heap buffer of exactly |len| bytes. */
static tern_err parse_exact(parse_fn f, const uint8_t *data, size_t len)
{
    uint8_t *copy = calloc(len ? len : 1, 1); /* calloc: gcc -O2 warns for len 0 */
    if (copy == NULL)
        return TERN_ERR_NOMEM;
    if (len)
        memcpy(copy, data, len);
    tern_err err = f(copy, len);
    free(copy);
    return err;
}

#define NO_VALID_PREFIX ((size_t)-1)

/*
 * The hostile-input checks for one valid message |msg| of |len| bytes: every prefix
 * fails (except the one of length |valid_prefix|), one extra byte fails, and every
 * single-byte corruption is handled without an over-read (ASan). Reports through
 * test_fail; the caller checks test_failed().
 */
static void check_hostile(const char *what, parse_fn f, const uint8_t *msg, size_t len,
                          size_t valid_prefix)
{
    if (parse_exact(f, msg, len) != TERN_OK) {
        test_fail(__FILE__, __LINE__, "%s: the whole message does not parse", what);
        return;
    }
    for (size_t cut = 0; cut < len; cut++) {
        tern_err err = parse_exact(f, msg, cut);
        if ((err == TERN_OK) != (cut == valid_prefix)) {
            test_fail(__FILE__, __LINE__, "%s cut at %zu of %zu: %s", what, cut, len,
                      tern_err_name(err));
            return;
        }
        if (err != TERN_OK && err != TERN_ERR_DECODE) {
            test_fail(__FILE__, __LINE__, "%s cut at %zu: %s, not TERN_ERR_DECODE", what, cut,
                      tern_err_name(err));
            return;
        }
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, msg, len);
    longer[len] = 0;
    tern_err err = parse_exact(f, longer, len + 1);
    if (err != TERN_ERR_DECODE) {
        test_fail(__FILE__, __LINE__, "%s with a trailing byte: %s", what, tern_err_name(err));
        free(longer);
        return;
    }
    /* Corruptions: any outcome but a crash or an over-read is fine. */
    for (size_t i = 0; i < len; i++) {
        const uint8_t keep = longer[i];
        const uint8_t vals[] = {0x00, 0xff, (uint8_t)(keep ^ 0x01), (uint8_t)(keep + 1)};
        for (size_t k = 0; k < sizeof vals; k++) {
            longer[i] = vals[k];
            (void)parse_exact(f, longer, len);
        }
        longer[i] = keep;
    }
    free(longer);
}

#define HOSTILE(what, f, msg, len, valid_prefix)                                        \
    do {                                                                                 \
        check_hostile(what, f, msg, len, valid_prefix);                                  \
        if (test_failed())                                                               \
            return;                                                                      \
    } while (0)

/* Deterministic filler for randoms, keys and signatures. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 29);
}

/* ------------------------------------------------------------------ header, suites */

TEST(hs_header_round_trip)
{
    uint8_t buf[64];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_hs_hdr a = {TERN_HS_CERTIFICATE, 1000, 2, 100, 5};
    CHECK_OK(tern_hs_hdr_build(&w, &a));
    CHECK_EQ(w.len, TERN_HS_HDR_LEN);
    tern_wr_bytes(&w, "abcde", 5);
    tern_hs_hdr b = {TERN_HS_FINISHED, 12, 7, 0, 12};
    CHECK_OK(tern_hs_hdr_build(&w, &b));
    tern_wr_bytes(&w, "0123456789ab", 12);
    CHECK(!w.err);
    static const uint8_t want[] = {11, 0, 0x03, 0xe8, 0, 2, 0, 0, 100, 0, 0, 5};
    CHECK_MEM(buf, want, sizeof want);

    /* Two fragments in one record's plaintext. */
    tern_rd r = tern_rd_init(buf, w.len);
    tern_hs_hdr h;
    const uint8_t *frag;
    CHECK_OK(tern_hs_hdr_parse(&r, &h, &frag));
    CHECK(h.type == 11 && h.length == 1000 && h.msg_seq == 2 && h.frag_off == 100 &&
          h.frag_len == 5);
    CHECK(frag == buf + TERN_HS_HDR_LEN);
    CHECK_OK(tern_hs_hdr_parse(&r, &h, &frag));
    CHECK(h.type == TERN_HS_FINISHED && h.length == 12 && h.msg_seq == 7 && h.frag_len == 12);
    CHECK_MEM(frag, "0123456789ab", 12);
    CHECK(tern_rd_done(&r));
}

TEST(hs_header_rejects)
{
    /* fragment reaching past the message: off 8 + len 5 > length 12 */
    static const uint8_t past[] = {20, 0, 0, 12, 0, 0, 0, 0, 8, 0, 0, 5, 1, 2, 3, 4, 5};
    /* fragment body shorter than frag_len */
    static const uint8_t short_body[] = {20, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 12, 1, 2, 3};
    /* offset past the end with an empty fragment */
    static const uint8_t off_past[] = {20, 0, 0, 12, 0, 0, 0, 0, 13, 0, 0, 0};
    tern_hs_hdr h;
    const uint8_t *frag;
    tern_rd r = tern_rd_init(past, sizeof past);
    CHECK_ERR(tern_hs_hdr_parse(&r, &h, &frag), TERN_ERR_DECODE);
    CHECK(r.p == past); /* untouched on failure */
    r = tern_rd_init(short_body, sizeof short_body);
    CHECK_ERR(tern_hs_hdr_parse(&r, &h, &frag), TERN_ERR_DECODE);
    CHECK(r.p == short_body);
    r = tern_rd_init(off_past, sizeof off_past);
    CHECK_ERR(tern_hs_hdr_parse(&r, &h, &frag), TERN_ERR_DECODE);
    for (size_t n = 0; n < TERN_HS_HDR_LEN; n++) {
        r = tern_rd_init(off_past, n);
        CHECK_ERR(tern_hs_hdr_parse(&r, &h, &frag), TERN_ERR_DECODE);
    }
    /* An empty fragment at the end of a message, and a whole empty message, are fine. */
    static const uint8_t empty[] = {20, 0, 0, 12, 0, 0, 0, 0, 12, 0, 0, 0,
                                    14, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0};
    r = tern_rd_init(empty, sizeof empty);
    CHECK_OK(tern_hs_hdr_parse(&r, &h, &frag));
    CHECK_OK(tern_hs_hdr_parse(&r, &h, &frag));
    CHECK(h.type == TERN_HS_SERVER_HELLO_DONE && h.length == 0 && h.msg_seq == 5);

    uint8_t buf[16];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_hs_hdr bad = {1, 1u << 24, 0, 0, 0};
    CHECK_ERR(tern_hs_hdr_build(&w, &bad), TERN_ERR_ARG);
    tern_hs_hdr over = {1, 10, 0, 6, 5};
    CHECK_ERR(tern_hs_hdr_build(&w, &over), TERN_ERR_ARG);
    tern_wr tiny = tern_wr_init(buf, TERN_HS_HDR_LEN - 1);
    tern_hs_hdr ok = {1, 10, 0, 0, 10};
    CHECK_ERR(tern_hs_hdr_build(&tiny, &ok), TERN_ERR_BUF);
}

TEST(suite_table)
{
    static const struct {
        uint16_t id;
        const char *name;
        tern_auth_alg auth;
        tern_aead_alg aead;
        tern_hash_alg prf;
        unsigned key, fixed_iv, record_iv;
    } want[] = {
        {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TERN_AUTH_ECDSA,
         TERN_AEAD_AES_128_GCM, TERN_HASH_SHA256, 16, 4, 8},
        {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TERN_AUTH_RSA, TERN_AEAD_AES_128_GCM,
         TERN_HASH_SHA256, 16, 4, 8},
        {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TERN_AUTH_ECDSA,
         TERN_AEAD_AES_256_GCM, TERN_HASH_SHA384, 32, 4, 8},
        {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", TERN_AUTH_RSA, TERN_AEAD_AES_256_GCM,
         TERN_HASH_SHA384, 32, 4, 8},
        {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", TERN_AUTH_ECDSA,
         TERN_AEAD_CHACHA20_POLY1305, TERN_HASH_SHA256, 32, 12, 0},
        {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TERN_AUTH_RSA,
         TERN_AEAD_CHACHA20_POLY1305, TERN_HASH_SHA256, 32, 12, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tern_suite_info *s = tern_suite_find(want[i].id);
        CHECK(s != NULL);
        CHECK(strcmp(s->name, want[i].name) == 0);
        CHECK(s->kx == TERN_KX_ECDHE && s->auth == want[i].auth && s->aead == want[i].aead &&
              s->prf == want[i].prf);
        CHECK(s->key_len == want[i].key && s->fixed_iv_len == want[i].fixed_iv &&
              s->record_iv_len == want[i].record_iv);
    }
    size_t n = 0;
    while (tern_suite_at(n) != NULL)
        n++;
    CHECK_EQ(n, sizeof want / sizeof want[0]);
    CHECK(tern_suite_find(TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV) == NULL);
    CHECK(tern_suite_find(0x009c) == NULL); /* RSA key exchange: not ours */
    CHECK(strcmp(tern_hs_type_name(TERN_HS_SERVER_KEY_EXCHANGE), "server_key_exchange") == 0);
    CHECK(strcmp(tern_hs_type_name(99), "unknown") == 0);
}

/* ------------------------------------------------------------------ ClientHello */

static const uint16_t ch_suites[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8};

/* A ClientHello like the one tern will send after a HelloVerifyRequest. */
static void example_client_hello(tern_client_hello *ch, uint8_t random[32], uint8_t cookie[32])
{
    fill(random, 32, 1);
    fill(cookie, 32, 2);
    memset(ch, 0, sizeof *ch);
    ch->version = TERN_DTLS_1_2;
    ch->random = random;
    ch->cookie = cookie;
    ch->cookie_len = 32;
    memcpy(ch->suites, ch_suites, sizeof ch_suites);
    ch->n_suites = sizeof ch_suites / sizeof ch_suites[0];
    tern_exts *e = &ch->ext;
    e->present = true;
    e->seen = TERN_EXT_BIT(TERN_EXTI_SERVER_NAME) | TERN_EXT_BIT(TERN_EXTI_SUPPORTED_GROUPS) |
              TERN_EXT_BIT(TERN_EXTI_EC_POINT_FORMATS) |
              TERN_EXT_BIT(TERN_EXTI_SIGNATURE_ALGORITHMS) | TERN_EXT_BIT(TERN_EXTI_USE_SRTP) |
              TERN_EXT_BIT(TERN_EXTI_EXTENDED_MASTER_SECRET) |
              TERN_EXT_BIT(TERN_EXTI_RENEGOTIATION_INFO);
    e->host = (const uint8_t *)"media.example.org";
    e->host_len = 17;
    static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                      TERN_GROUP_SECP384R1};
    memcpy(e->groups, groups, sizeof groups);
    e->n_groups = 3;
    static const uint16_t schemes[] = {0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501};
    memcpy(e->sigschemes, schemes, sizeof schemes);
    e->n_sigschemes = 6;
    e->srtp_profiles[0] = TERN_SRTP_AEAD_AES_128_GCM;
    e->srtp_profiles[1] = TERN_SRTP_AES128_CM_HMAC_SHA1_80;
    e->n_srtp_profiles = 2;
}

static size_t build_ch(const tern_client_hello *ch, uint8_t *out, size_t cap)
{
    tern_wr w = tern_wr_init(out, cap);
    return tern_client_hello_build(&w, ch) == TERN_OK ? w.len : 0;
}

TEST(client_hello_round_trip)
{
    uint8_t random[32], cookie[32], buf[1024], again[1024];
    tern_client_hello in, out;
    example_client_hello(&in, random, cookie);
    size_t len = build_ch(&in, buf, sizeof buf);
    CHECK(len > 0);
    CHECK_OK(tern_client_hello_parse(buf, len, &out));
    CHECK_EQ(out.version, TERN_DTLS_1_2);
    CHECK_MEM(out.random, random, 32);
    CHECK_EQ(out.session_id_len, 0);
    CHECK_EQ(out.cookie_len, 32);
    CHECK_MEM(out.cookie, cookie, 32);
    CHECK_EQ(out.n_suites, 6);
    CHECK_MEM(out.suites, ch_suites, sizeof ch_suites);
    CHECK(out.comp_len == 1 && out.comp[0] == 0);
    CHECK(out.ext.present);
    CHECK_EQ(out.ext.seen, in.ext.seen);
    CHECK_EQ(out.ext.host_len, 17);
    CHECK_MEM(out.ext.host, "media.example.org", 17);
    CHECK(out.ext.n_groups == 3 && out.ext.groups[0] == TERN_GROUP_X25519);
    CHECK(out.ext.n_sigschemes == 6 && out.ext.sigschemes[5] == 0x0501);
    CHECK(out.ext.n_srtp_profiles == 2 && out.ext.srtp_mki_len == 0);
    CHECK(out.ext.reneg_len == 0);
    CHECK(tern_client_hello_offers(&out, 0xcca8));
    CHECK(!tern_client_hello_offers(&out, TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV));
    CHECK(tern_client_hello_offers(&in, 0xc030)); /* built struct: searches suites[] */

    CHECK_EQ(build_ch(&out, again, sizeof again), len);
    CHECK_MEM(again, buf, len);

    /* The same hello without extensions is a valid prefix: that cut may parse. */
    tern_client_hello bare = in;
    memset(&bare.ext, 0, sizeof bare.ext);
    size_t bare_len = build_ch(&bare, again, sizeof again);
    CHECK(bare_len > 0 && bare_len < len);
    CHECK_OK(tern_client_hello_parse(again, bare_len, &out));
    CHECK(!out.ext.present);
    HOSTILE("client_hello", p_client_hello, buf, len, bare_len);
}

TEST(client_hello_session_id_and_compression)
{
    uint8_t random[32], cookie[32], sid[32], buf[1024];
    static const uint8_t comp[] = {1, 0};
    tern_client_hello in, out;
    example_client_hello(&in, random, cookie);
    fill(sid, sizeof sid, 9);
    in.session_id = sid;
    in.session_id_len = 32;
    in.cookie_len = 0;
    in.comp = comp; /* DEFLATE offered, null too: fine to parse */
    in.comp_len = 2;
    size_t len = build_ch(&in, buf, sizeof buf);
    CHECK(len > 0);
    CHECK_OK(tern_client_hello_parse(buf, len, &out));
    CHECK(out.session_id_len == 32 && out.cookie_len == 0 && out.comp_len == 2);
    CHECK_MEM(out.session_id, sid, 32);
}

/* A ClientHello written field by field, so each vector can be made wrong. */
static size_t raw_ch(uint8_t *out, size_t cap, size_t sid_len, const uint8_t *suites,
                     size_t suites_len, const uint8_t *comp, size_t comp_len,
                     const uint8_t *exts, size_t exts_len)
{
    tern_wr w = tern_wr_init(out, cap);
    tern_wr_u16(&w, TERN_DTLS_1_2);
    tern_wr_zeros(&w, TERN_RANDOM_LEN);
    size_t at = tern_wr_open8(&w);
    tern_wr_zeros(&w, sid_len);
    tern_wr_close8(&w, at);
    tern_wr_u8(&w, 0); /* empty cookie */
    at = tern_wr_open16(&w);
    tern_wr_bytes(&w, suites, suites_len);
    tern_wr_close16(&w, at);
    at = tern_wr_open8(&w);
    tern_wr_bytes(&w, comp, comp_len);
    tern_wr_close8(&w, at);
    if (exts != NULL) {
        at = tern_wr_open16(&w);
        tern_wr_bytes(&w, exts, exts_len);
        tern_wr_close16(&w, at);
    }
    return w.err ? 0 : w.len;
}

TEST(client_hello_rejects)
{
    static const uint8_t suites[] = {0xc0, 0x2b, 0xc0, 0x2f};
    static const uint8_t null_comp[] = {0};
    static const uint8_t deflate_only[] = {1};
    static const uint8_t ems[] = {0, 23, 0, 0};
    static const uint8_t ems_twice[] = {0, 23, 0, 0, 0, 23, 0, 0};
    uint8_t buf[256];
    tern_client_hello ch;
    size_t n;

    n = raw_ch(buf, sizeof buf, 0, suites, 4, null_comp, 1, ems, 4);
    CHECK_OK(tern_client_hello_parse(buf, n, &ch)); /* the baseline is valid */

    n = raw_ch(buf, sizeof buf, 0, suites, 3, null_comp, 1, NULL, 0);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* odd suites */
    n = raw_ch(buf, sizeof buf, 0, suites, 0, null_comp, 1, NULL, 0);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* no suite */
    n = raw_ch(buf, sizeof buf, 0, suites, 4, deflate_only, 1, NULL, 0);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* no null */
    n = raw_ch(buf, sizeof buf, 0, suites, 4, null_comp, 0, NULL, 0);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* no method */
    n = raw_ch(buf, sizeof buf, 33, suites, 4, null_comp, 1, NULL, 0);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* session_id > 32 */
    n = raw_ch(buf, sizeof buf, 0, suites, 4, null_comp, 1, ems_twice, 8);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* duplicate ext */
    n = raw_ch(buf, sizeof buf, 0, suites, 4, null_comp, 1, ems, 3);
    CHECK_ERR(tern_client_hello_parse(buf, n, &ch), TERN_ERR_DECODE); /* extension cut short */

    /* Builder refusals. */
    uint8_t random[32], cookie[32];
    tern_client_hello in;
    example_client_hello(&in, random, cookie);
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_client_hello bad = in;
    bad.n_suites = 0;
    CHECK_ERR(tern_client_hello_build(&w, &bad), TERN_ERR_ARG);
    bad = in;
    bad.session_id_len = 33;
    CHECK_ERR(tern_client_hello_build(&w, &bad), TERN_ERR_ARG);
    bad = in;
    bad.comp = deflate_only;
    bad.comp_len = 1;
    CHECK_ERR(tern_client_hello_build(&w, &bad), TERN_ERR_ARG);
    bad = in;
    bad.random = NULL;
    CHECK_ERR(tern_client_hello_build(&w, &bad), TERN_ERR_ARG);
    CHECK_EQ(w.len, 0);
    tern_wr tiny = tern_wr_init(buf, 40);
    CHECK_ERR(tern_client_hello_build(&tiny, &in), TERN_ERR_BUF);
}

TEST(client_hello_many_suites)
{
    /* 100 suites, the SCSV last: 64 are kept, the SCSV is still found. */
    uint8_t suites[200], buf[512];
    for (int i = 0; i < 99; i++)
        tern_store16(suites + 2 * i, (uint16_t)(0x1300 + i));
    tern_store16(suites + 198, TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV);
    static const uint8_t null_comp[] = {0};
    size_t n = raw_ch(buf, sizeof buf, 0, suites, sizeof suites, null_comp, 1, NULL, 0);
    tern_client_hello ch;
    CHECK_OK(tern_client_hello_parse(buf, n, &ch));
    CHECK_EQ(ch.n_suites, TERN_MAX_SUITES);
    CHECK_EQ(ch.suites_wire_len, sizeof suites);
    CHECK(tern_client_hello_offers(&ch, TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV));
    CHECK(!tern_client_hello_offers(&ch, 0xc02b));
}

TEST(client_hello_cookie_ranges)
{
    uint8_t random[32], cookie[32], with[1024], without[1024];
    tern_client_hello in, a, b;
    example_client_hello(&in, random, cookie);
    size_t la = build_ch(&in, with, sizeof with);
    in.cookie_len = 0;
    size_t lb = build_ch(&in, without, sizeof without);
    CHECK(la > 0 && lb > 0);
    CHECK_OK(tern_client_hello_parse(with, la, &a));
    CHECK_OK(tern_client_hello_parse(without, lb, &b));
    tern_iov pa[3], pb[3];
    CHECK_OK(tern_client_hello_cookie_ranges(&a, pa));
    CHECK_OK(tern_client_hello_cookie_ranges(&b, pb));
    /* Everything but the cookie field (length byte and cookie) is bound. */
    CHECK_EQ(pa[0].len + pa[1].len + pa[2].len, la - 1 - 32);
    CHECK_EQ(pa[0].len, 2 + 32 + 1); /* version, random, empty session_id */
    CHECK(pa[0].data == with);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(pa[i].len, pb[i].len);
        CHECK_MEM(pa[i].data, pb[i].data, pa[i].len);
    }
    CHECK_EQ(tern_load16(pa[2].data), pa[2].len - 2); /* the extension block with its length */
    CHECK(pa[2].data + pa[2].len == with + la);
    /* No extensions: parts[2] is empty. */
    memset(&in.ext, 0, sizeof in.ext);
    lb = build_ch(&in, without, sizeof without);
    CHECK_OK(tern_client_hello_parse(without, lb, &b));
    CHECK_OK(tern_client_hello_cookie_ranges(&b, pb));
    CHECK_EQ(pb[2].len, 0);
    /* Only for parsed hellos. */
    CHECK_ERR(tern_client_hello_cookie_ranges(&in, pb), TERN_ERR_ARG);
    /* The prefix reads from a first fragment: any cut at or past the end of
     * compression_methods gives the same parts and cookie; any earlier cut fails. */
    tern_client_hello_prefix pre;
    CHECK_OK(tern_client_hello_parse_prefix(with, la, &pre));
    CHECK(pre.cookie_len == 32 && pre.len == pa[0].len + 1 + 32 + pa[1].len);
    for (size_t cut = 0; cut <= la; cut++) {
        tern_client_hello_prefix p2;
        tern_err err = tern_client_hello_parse_prefix(with, cut, &p2);
        CHECK_EQ(err, cut >= pre.len ? TERN_OK : TERN_ERR_DECODE);
        if (err == TERN_OK)
            CHECK(p2.len == pre.len && p2.parts[1].len == pa[1].len && p2.cookie == pre.cookie);
    }
}

/* ------------------------------------------------------------------ ServerHello, HVR */

TEST(server_hello_round_trip)
{
    uint8_t random[32], sid[32], buf[512], again[512];
    static const uint8_t mki[] = {0x42};
    fill(random, 32, 3);
    fill(sid, 32, 4);
    tern_server_hello_msg in = {
        .version = TERN_DTLS_1_2,
        .random = random,
        .session_id = sid,
        .session_id_len = 32,
        .suite = TERN_SUITE_ECDHE_ECDSA_AES_128_GCM_SHA256,
        .compression = 0,
        .ext = {.present = true,
                .seen = TERN_EXT_BIT(TERN_EXTI_SERVER_NAME) |
                        TERN_EXT_BIT(TERN_EXTI_EC_POINT_FORMATS) |
                        TERN_EXT_BIT(TERN_EXTI_USE_SRTP) |
                        TERN_EXT_BIT(TERN_EXTI_EXTENDED_MASTER_SECRET) |
                        TERN_EXT_BIT(TERN_EXTI_RENEGOTIATION_INFO),
                .srtp_profiles = {TERN_SRTP_AEAD_AES_128_GCM},
                .n_srtp_profiles = 1,
                .srtp_mki = mki,
                .srtp_mki_len = 1},
    };
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_server_hello_build(&w, &in));
    size_t len = w.len;
    tern_server_hello_msg out;
    CHECK_OK(tern_server_hello_parse(buf, len, &out));
    CHECK_EQ(out.version, TERN_DTLS_1_2);
    CHECK_MEM(out.random, random, 32);
    CHECK_EQ(out.session_id_len, 32);
    CHECK_MEM(out.session_id, sid, 32);
    CHECK_EQ(out.suite, 0xc02b);
    CHECK_EQ(out.compression, 0);
    CHECK_EQ(out.ext.seen, in.ext.seen);
    CHECK(out.ext.host == NULL);
    CHECK(out.ext.n_srtp_profiles == 1 && out.ext.srtp_profiles[0] == TERN_SRTP_AEAD_AES_128_GCM);
    CHECK(out.ext.srtp_mki_len == 1 && out.ext.srtp_mki[0] == 0x42);

    w = tern_wr_init(again, sizeof again);
    CHECK_OK(tern_server_hello_build(&w, &out));
    CHECK_EQ(w.len, len);
    CHECK_MEM(again, buf, len);

    /* The cut just before the extension block is a valid ServerHello. */
    size_t no_ext = 2 + TERN_RANDOM_LEN + 1 + 32 + 2 + 1;
    HOSTILE("server_hello", p_server_hello, buf, len, no_ext);
    CHECK_OK(tern_server_hello_parse(buf, no_ext, &out));
    CHECK(!out.ext.present);
}

TEST(hello_verify_round_trip)
{
    uint8_t cookie[TERN_COOKIE_MAX], buf[300];
    fill(cookie, sizeof cookie, 5);
    for (size_t clen = 0; clen <= TERN_COOKIE_MAX; clen += 85) {
        tern_hello_verify in = {TERN_DTLS_1_0, cookie, clen}, out;
        tern_wr w = tern_wr_init(buf, sizeof buf);
        CHECK_OK(tern_hello_verify_build(&w, &in));
        CHECK_EQ(w.len, 2 + 1 + clen);
        CHECK_OK(tern_hello_verify_parse(buf, w.len, &out));
        CHECK(out.version == TERN_DTLS_1_0 && out.cookie_len == clen);
        CHECK_MEM(out.cookie, cookie, clen);
        HOSTILE("hello_verify_request", p_hello_verify, buf, w.len, NO_VALID_PREFIX);
    }
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_hello_verify big = {TERN_DTLS_1_0, cookie, 256};
    CHECK_ERR(tern_hello_verify_build(&w, &big), TERN_ERR_ARG);
}

/* ------------------------------------------------------------------ Certificate */

TEST(certificate_round_trip)
{
    static uint8_t der[3][700];
    static const size_t lens[3] = {650, 420, 1};
    tern_certificate in = {.count = 3}, out;
    for (int i = 0; i < 3; i++) {
        fill(der[i], lens[i], (uint8_t)(10 + i));
        der[i][0] = 0x30;
        in.certs[i] = (tern_der){der[i], lens[i]};
    }
    uint8_t buf[2048], again[2048];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_certificate_build(&w, &in));
    size_t len = w.len;
    CHECK_EQ(len, 3 + 3 * 3 + 650 + 420 + 1);
    CHECK_OK(tern_certificate_parse(buf, len, &out));
    CHECK_EQ(out.count, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(out.certs[i].len, lens[i]);
        CHECK_MEM(out.certs[i].data, der[i], lens[i]);
    }
    w = tern_wr_init(again, sizeof again);
    CHECK_OK(tern_certificate_build(&w, &out));
    CHECK(w.len == len && memcmp(again, buf, len) == 0);
    HOSTILE("certificate", p_certificate, buf, len, NO_VALID_PREFIX);

    /* An empty list is a valid message (a client without a certificate). */
    tern_certificate none = {.count = 0};
    w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_certificate_build(&w, &none));
    CHECK_EQ(w.len, 3);
    CHECK_OK(tern_certificate_parse(buf, 3, &out));
    CHECK_EQ(out.count, 0);
}

TEST(certificate_limits)
{
    /* TERN_MAX_CHAIN certificates are fine; one more is TERN_ERR_TOO_BIG. */
    uint8_t buf[256];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    size_t list = tern_wr_open24(&w);
    for (int i = 0; i < TERN_MAX_CHAIN; i++) {
        size_t at = tern_wr_open24(&w);
        tern_wr_u8(&w, 0x30);
        tern_wr_close24(&w, at);
    }
    tern_wr_close24(&w, list);
    tern_certificate out;
    CHECK_OK(tern_certificate_parse(buf, w.len, &out));
    CHECK_EQ(out.count, TERN_MAX_CHAIN);
    tern_wr_u24(&w, 1);
    tern_wr_u8(&w, 0x30);
    tern_wr_close24(&w, list);
    CHECK(!w.err);
    CHECK_ERR(tern_certificate_parse(buf, w.len, &out), TERN_ERR_TOO_BIG);
    /* ... but a malformed long list is still a decode error. */
    buf[w.len - 1 - 3] = 9; /* the last certificate's length now runs past the list */
    CHECK_ERR(tern_certificate_parse(buf, w.len, &out), TERN_ERR_DECODE);

    /* An empty certificate is malformed (ASN.1Cert<1..2^24-1>). */
    static const uint8_t empty_cert[] = {0, 0, 3, 0, 0, 0};
    CHECK_ERR(tern_certificate_parse(empty_cert, sizeof empty_cert, &out), TERN_ERR_DECODE);
    /* A list not used up by its certificates. */
    static const uint8_t slack[] = {0, 0, 5, 0, 0, 1, 0x30, 0};
    CHECK_ERR(tern_certificate_parse(slack, sizeof slack, &out), TERN_ERR_DECODE);

    tern_certificate big = {.count = TERN_MAX_CHAIN + 1};
    w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_certificate_build(&w, &big), TERN_ERR_ARG);
    tern_certificate hole = {.count = 1};
    CHECK_ERR(tern_certificate_build(&w, &hole), TERN_ERR_ARG);
}

/* ------------------------------------------------------------------ ServerKeyExchange */

TEST(server_kx_round_trip)
{
    uint8_t point[65], sig[72], cr[32], sr[32], buf[256], again[256], signed1[256], signed2[256];
    fill(point, sizeof point, 6);
    point[0] = 0x04;
    fill(sig, sizeof sig, 7);
    fill(cr, 32, 8);
    fill(sr, 32, 9);
    tern_server_kx in = {.group = TERN_GROUP_SECP256R1, .point = point, .point_len = 65,
                         .sig = {TERN_SIG_ECDSA_SECP256R1_SHA256, sig, sizeof sig}};
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_server_kx_build(&w, &in));
    size_t len = w.len;
    CHECK_EQ(len, 1 + 2 + 1 + 65 + 2 + 2 + 72);
    tern_server_kx out;
    CHECK_OK(tern_server_kx_parse(buf, len, &out));
    CHECK_EQ(out.group, TERN_GROUP_SECP256R1);
    CHECK(out.point_len == 65 && memcmp(out.point, point, 65) == 0);
    CHECK_EQ(out.sig.scheme, TERN_SIG_ECDSA_SECP256R1_SHA256);
    CHECK(out.sig.sig_len == 72 && memcmp(out.sig.sig, sig, 72) == 0);
    CHECK(out.params == buf && out.params_len == 1 + 2 + 1 + 65);

    w = tern_wr_init(again, sizeof again);
    CHECK_OK(tern_server_kx_build(&w, &out));
    CHECK(w.len == len && memcmp(again, buf, len) == 0);

    /* The signed bytes: client_random || server_random || params, the same whether
     * taken from the received params or rebuilt from group and point. */
    tern_wr s1 = tern_wr_init(signed1, sizeof signed1);
    tern_wr s2 = tern_wr_init(signed2, sizeof signed2);
    CHECK_OK(tern_server_kx_signed_data(&s1, cr, sr, &out));
    CHECK_OK(tern_server_kx_signed_data(&s2, cr, sr, &in));
    CHECK_EQ(s1.len, 64 + out.params_len);
    CHECK(s1.len == s2.len && memcmp(signed1, signed2, s1.len) == 0);
    CHECK_MEM(signed1, cr, 32);
    CHECK_MEM(signed1 + 32, sr, 32);
    CHECK_MEM(signed1 + 64, buf, out.params_len);

    HOSTILE("server_key_exchange", p_server_kx, buf, len, NO_VALID_PREFIX);
}

TEST(server_kx_rejects)
{
    tern_server_kx out;
    /* explicit_prime curve: not something tern can read */
    static const uint8_t explicit_prime[] = {1, 0, 0};
    CHECK_ERR(tern_server_kx_parse(explicit_prime, sizeof explicit_prime, &out),
              TERN_ERR_UNSUPPORTED);
    /* empty point */
    static const uint8_t empty_point[] = {3, 0, 29, 0, 4, 3, 0, 0};
    CHECK_ERR(tern_server_kx_parse(empty_point, sizeof empty_point, &out), TERN_ERR_DECODE);
    /* no signature at all */
    static const uint8_t unsigned_params[] = {3, 0, 29, 1, 9};
    CHECK_ERR(tern_server_kx_parse(unsigned_params, sizeof unsigned_params, &out),
              TERN_ERR_DECODE);
    /* an empty signature is syntactically fine (opaque<0..2^16-1>) */
    static const uint8_t empty_sig[] = {3, 0, 29, 1, 9, 4, 3, 0, 0};
    CHECK_OK(tern_server_kx_parse(empty_sig, sizeof empty_sig, &out));
    CHECK(out.sig.sig_len == 0 && out.point_len == 1);

    uint8_t buf[600], big[300] = {0};
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_server_kx no_point = {.group = 23};
    CHECK_ERR(tern_server_kx_build(&w, &no_point), TERN_ERR_ARG);
    tern_server_kx long_point = {.group = 23, .point = big, .point_len = 256};
    CHECK_ERR(tern_server_kx_build(&w, &long_point), TERN_ERR_ARG);
    tern_server_kx null_sig = {.group = 23, .point = big, .point_len = 65,
                               .sig = {0x0403, NULL, 5}};
    CHECK_ERR(tern_server_kx_build(&w, &null_sig), TERN_ERR_ARG);
    CHECK_ERR(tern_server_kx_signed_data(&w, NULL, big, &null_sig), TERN_ERR_ARG);
    CHECK_EQ(w.len, 0);
}

/* ------------------------------------------------------------------ CertificateRequest */

TEST(cert_request_round_trip)
{
    static const uint8_t types[] = {TERN_CERT_TYPE_ECDSA_SIGN, TERN_CERT_TYPE_RSA_SIGN};
    static uint8_t dn1[90], dn2[40];
    fill(dn1, sizeof dn1, 11);
    fill(dn2, sizeof dn2, 12);
    tern_cert_request in = {.cert_types = types, .n_cert_types = 2,
                            .sigschemes = {0x0403, 0x0503, 0x0804, 0x0401},
                            .n_sigschemes = 4,
                            .cas = {{dn1, sizeof dn1}, {dn2, sizeof dn2}},
                            .n_cas = 2};
    uint8_t buf[512], again[512];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_cert_request_build(&w, &in));
    size_t len = w.len;
    tern_cert_request out;
    CHECK_OK(tern_cert_request_parse(buf, len, &out));
    CHECK(out.n_cert_types == 2 && out.cert_types[0] == TERN_CERT_TYPE_ECDSA_SIGN);
    CHECK(out.n_sigschemes == 4 && out.sigschemes[2] == 0x0804);
    CHECK_EQ(out.n_cas, 2);
    CHECK(out.cas[0].len == sizeof dn1 && memcmp(out.cas[0].data, dn1, sizeof dn1) == 0);
    CHECK(out.cas[1].len == sizeof dn2 && memcmp(out.cas[1].data, dn2, sizeof dn2) == 0);
    CHECK_EQ(out.cas_wire_len, 2 + sizeof dn1 + 2 + sizeof dn2);
    w = tern_wr_init(again, sizeof again);
    CHECK_OK(tern_cert_request_build(&w, &out));
    CHECK(w.len == len && memcmp(again, buf, len) == 0);
    HOSTILE("certificate_request", p_cert_request, buf, len, NO_VALID_PREFIX);

    /* No CA names is valid; no type, no scheme, an odd list or an empty name is not. */
    static const uint8_t no_cas[] = {1, 64, 0, 2, 4, 3, 0, 0};
    CHECK_OK(tern_cert_request_parse(no_cas, sizeof no_cas, &out));
    CHECK_EQ(out.n_cas, 0);
    static const uint8_t no_type[] = {0, 0, 2, 4, 3, 0, 0};
    CHECK_ERR(tern_cert_request_parse(no_type, sizeof no_type, &out), TERN_ERR_DECODE);
    static const uint8_t no_scheme[] = {1, 64, 0, 0, 0, 0};
    CHECK_ERR(tern_cert_request_parse(no_scheme, sizeof no_scheme, &out), TERN_ERR_DECODE);
    static const uint8_t odd[] = {1, 64, 0, 3, 4, 3, 4, 0, 0};
    CHECK_ERR(tern_cert_request_parse(odd, sizeof odd, &out), TERN_ERR_DECODE);
    static const uint8_t empty_dn[] = {1, 64, 0, 2, 4, 3, 0, 2, 0, 0};
    CHECK_ERR(tern_cert_request_parse(empty_dn, sizeof empty_dn, &out), TERN_ERR_DECODE);

    tern_cert_request bad = in;
    bad.n_sigschemes = 0;
    w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_cert_request_build(&w, &bad), TERN_ERR_ARG);
    bad = in;
    bad.n_cert_types = 0;
    CHECK_ERR(tern_cert_request_build(&w, &bad), TERN_ERR_ARG);
}

/* ------------------------------------------------------------------ the small ones */

TEST(server_hello_done)
{
    static const uint8_t one[1] = {0};
    CHECK_OK(tern_server_hello_done_parse(one, 0));
    CHECK_ERR(tern_server_hello_done_parse(one, 1), TERN_ERR_DECODE);
    uint8_t buf[4];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_server_hello_done_build(&w));
    CHECK_EQ(w.len, 0);
    w.err = true;
    CHECK_ERR(tern_server_hello_done_build(&w), TERN_ERR_BUF);
    HOSTILE("server_hello_done", p_server_hello_done, one, 0, NO_VALID_PREFIX);
}

TEST(client_kx_round_trip)
{
    uint8_t point[65], buf[128];
    fill(point, sizeof point, 13);
    point[0] = 0x04;
    for (size_t plen = 1; plen <= 65; plen += 32) {
        tern_client_kx in = {point, plen}, out;
        tern_wr w = tern_wr_init(buf, sizeof buf);
        CHECK_OK(tern_client_kx_build(&w, &in));
        CHECK_EQ(w.len, 1 + plen);
        CHECK_OK(tern_client_kx_parse(buf, w.len, &out));
        CHECK(out.point_len == plen && memcmp(out.point, point, plen) == 0);
        HOSTILE("client_key_exchange", p_client_kx, buf, w.len, NO_VALID_PREFIX);
    }
    static const uint8_t empty[] = {0};
    tern_client_kx out;
    CHECK_ERR(tern_client_kx_parse(empty, 1, &out), TERN_ERR_DECODE); /* ECPoint<1..2^8-1> */
    tern_wr w = tern_wr_init(buf, sizeof buf);
    tern_client_kx none = {point, 0};
    CHECK_ERR(tern_client_kx_build(&w, &none), TERN_ERR_ARG);
}

TEST(cert_verify_round_trip)
{
    uint8_t sig[256], buf[300], again[300];
    fill(sig, sizeof sig, 14);
    tern_cert_verify in = {TERN_SIG_RSA_PSS_RSAE_SHA256, sig, sizeof sig}, out;
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_cert_verify_build(&w, &in));
    size_t len = w.len;
    CHECK_EQ(len, 2 + 2 + 256);
    CHECK_OK(tern_cert_verify_parse(buf, len, &out));
    CHECK(out.scheme == TERN_SIG_RSA_PSS_RSAE_SHA256 && out.sig_len == 256);
    CHECK_MEM(out.sig, sig, 256);
    w = tern_wr_init(again, sizeof again);
    CHECK_OK(tern_cert_verify_build(&w, &out));
    CHECK(w.len == len && memcmp(again, buf, len) == 0);
    HOSTILE("certificate_verify", p_cert_verify, buf, len, NO_VALID_PREFIX);
    tern_cert_verify null_sig = {0x0403, NULL, 3};
    CHECK_ERR(tern_cert_verify_build(&w, &null_sig), TERN_ERR_ARG);
}

TEST(finished_round_trip)
{
    uint8_t vd[TERN_FINISHED12_LEN + 1], buf[32];
    fill(vd, sizeof vd, 15);
    tern_finished in = {vd, TERN_FINISHED12_LEN}, out;
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_OK(tern_finished_build(&w, &in));
    CHECK_EQ(w.len, TERN_FINISHED12_LEN);
    CHECK_OK(tern_finished_parse(buf, w.len, &out));
    CHECK(out.len == TERN_FINISHED12_LEN && memcmp(out.verify_data, vd, out.len) == 0);
    HOSTILE("finished", p_finished, buf, w.len, NO_VALID_PREFIX);
    tern_finished wrong = {vd, TERN_FINISHED12_LEN + 1};
    CHECK_ERR(tern_finished_build(&w, &wrong), TERN_ERR_ARG);
}

/* ------------------------------------------------------------------ real captures */

struct capture_state {
    size_t messages, fragments;
    uint8_t *body; /* the last message body, for its fragments */
    long body_len;
    int body_type, body_seq;
    uint8_t hvr_cookie[2][TERN_COOKIE_MAX]; /* [peer]: the HelloVerifyRequest cookie */
    size_t hvr_cookie_len[2];
    uint8_t ch1_bound[2][1024]; /* [peer]: what the first hello's cookie would bind */
    size_t ch1_bound_len[2];
    uint8_t client_random[2][32], server_random[2][32];
};

#define CAP_CHECK(c, cond)                                                               \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            test_fail(__FILE__, __LINE__, "%s:%d: CHECK(%s)", (c)->file, (c)->line, #cond); \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

static bool has_u16(const uint16_t *v, size_t n, uint16_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static int capture_client_hello(const vec_case *c, struct capture_state *st, int peer,
                                const uint8_t *body, size_t len)
{
    tern_client_hello ch;
    CAP_CHECK(c, tern_client_hello_parse(body, len, &ch) == TERN_OK);
    CAP_CHECK(c, ch.version == TERN_DTLS_1_2 && ch.session_id_len == 0);
    CAP_CHECK(c, ch.comp_len == 1 && ch.comp[0] == 0);
    for (size_t i = 0; tern_suite_at(i) != NULL; i++) /* both offer all six of ours */
        CAP_CHECK(c, tern_client_hello_offers(&ch, tern_suite_at(i)->id));
    const tern_exts *e = &ch.ext;
    CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_EXTENDED_MASTER_SECRET));
    CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_EC_POINT_FORMATS));
    CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_SESSION_TICKET));
    CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_ENCRYPT_THEN_MAC));
    CAP_CHECK(c, e->host_len == 9 && memcmp(e->host, "localhost", 9) == 0);
    CAP_CHECK(c, has_u16(e->groups, e->n_groups, TERN_GROUP_X25519));
    CAP_CHECK(c, has_u16(e->groups, e->n_groups, TERN_GROUP_SECP256R1));
    CAP_CHECK(c, has_u16(e->sigschemes, e->n_sigschemes, TERN_SIG_ECDSA_SECP256R1_SHA256));
    CAP_CHECK(c, has_u16(e->sigschemes, e->n_sigschemes, TERN_SIG_RSA_PSS_RSAE_SHA256));
    CAP_CHECK(c, e->n_unknown == 0);
    if (peer == 0) {
        /* OpenSSL 3.0: 28 suites ending with the renegotiation SCSV, no
         * renegotiation_info extension; groups x25519, P-256, x448, P-521, P-384. */
        CAP_CHECK(c, ch.n_suites == 28 && ch.suites[0] == 0xc02c);
        CAP_CHECK(c, tern_client_hello_offers(&ch, TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV));
        CAP_CHECK(c, !tern_exts_has(e, TERN_EXTI_RENEGOTIATION_INFO));
        static const uint16_t groups[] = {29, 23, 30, 25, 24};
        CAP_CHECK(c, e->n_groups == 5 && memcmp(e->groups, groups, sizeof groups) == 0);
        CAP_CHECK(c, e->n_sigschemes == 20);
    } else {
        /* GnuTLS 3.7: renegotiation_info (empty) instead of the SCSV, plus
         * status_request and record_size_limit; FFDHE groups after the curves. */
        CAP_CHECK(c, ch.n_suites == 25 && ch.suites[0] == 0xc02c);
        CAP_CHECK(c, !tern_client_hello_offers(&ch, TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV));
        CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_RENEGOTIATION_INFO) && e->reneg_len == 0);
        CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_STATUS_REQUEST));
        CAP_CHECK(c, tern_exts_has(e, TERN_EXTI_RECORD_SIZE_LIMIT));
        static const uint16_t groups[] = {23, 24, 25, 29, 30, 256, 257, 258, 259, 260};
        CAP_CHECK(c, e->n_groups == 10 && memcmp(e->groups, groups, sizeof groups) == 0);
        CAP_CHECK(c, e->point_formats_len == 1);
    }

    /* The cookie each client echoes is the server's; and the two hellos bind the
     * same bytes, as a stateless server needs (RFC 6347 §4.2.1). */
    tern_iov parts[3];
    CAP_CHECK(c, tern_client_hello_cookie_ranges(&ch, parts) == TERN_OK);
    uint8_t bound[1024];
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        CAP_CHECK(c, n + parts[i].len <= sizeof bound);
        memcpy(bound + n, parts[i].data, parts[i].len);
        n += parts[i].len;
    }
    CAP_CHECK(c, n == len - 1 - ch.cookie_len);
    if (vec_int(c, "seq", -1) == 0) {
        CAP_CHECK(c, ch.cookie_len == 0);
        memcpy(st->ch1_bound[peer], bound, n);
        st->ch1_bound_len[peer] = n;
    } else {
        CAP_CHECK(c, ch.cookie_len == st->hvr_cookie_len[peer] && ch.cookie_len == 20);
        CAP_CHECK(c, memcmp(ch.cookie, st->hvr_cookie[peer], ch.cookie_len) == 0);
        CAP_CHECK(c, n == st->ch1_bound_len[peer] && memcmp(bound, st->ch1_bound[peer], n) == 0);
        memcpy(st->client_random[peer], ch.random, 32);
    }
    return 0;
}

/* Build |len|-byte |body| again from what was parsed and compare. */
#define REBUILD(c, build, msgp)                                                          \
    do {                                                                                 \
        uint8_t again_[1024];                                                            \
        tern_wr w_ = tern_wr_init(again_, sizeof again_);                                \
        CAP_CHECK(c, build(&w_, msgp) == TERN_OK);                                       \
        CAP_CHECK(c, w_.len == len && memcmp(again_, body, len) == 0);                   \
    } while (0)

static int capture_message(const vec_case *c, struct capture_state *st, int peer, int type,
                           const uint8_t *body, size_t len)
{
    const bool from_client = strcmp(vec_str(c, "dir"), "c2s") == 0;
    switch (type) {
    case TERN_HS_CLIENT_HELLO:
        return capture_client_hello(c, st, peer, body, len);
    case TERN_HS_HELLO_VERIFY_REQUEST: {
        tern_hello_verify hv;
        CAP_CHECK(c, tern_hello_verify_parse(body, len, &hv) == TERN_OK);
        CAP_CHECK(c, hv.version == TERN_DTLS_1_0 && hv.cookie_len == 20);
        memcpy(st->hvr_cookie[peer], hv.cookie, hv.cookie_len);
        st->hvr_cookie_len[peer] = hv.cookie_len;
        REBUILD(c, tern_hello_verify_build, &hv);
        check_hostile("captured hello_verify_request", p_hello_verify, body, len, NO_VALID_PREFIX);
        return test_failed();
    }
    case TERN_HS_SERVER_HELLO: {
        tern_server_hello_msg sh;
        CAP_CHECK(c, tern_server_hello_parse(body, len, &sh) == TERN_OK);
        CAP_CHECK(c, sh.version == TERN_DTLS_1_2 && sh.compression == 0);
        CAP_CHECK(c, sh.suite == TERN_SUITE_ECDHE_ECDSA_AES_256_GCM_SHA384);
        CAP_CHECK(c, tern_exts_has(&sh.ext, TERN_EXTI_EXTENDED_MASTER_SECRET));
        CAP_CHECK(c, tern_exts_has(&sh.ext, TERN_EXTI_RENEGOTIATION_INFO) &&
                         sh.ext.reneg_len == 0);
        CAP_CHECK(c, tern_exts_has(&sh.ext, TERN_EXTI_EC_POINT_FORMATS));
        memcpy(st->server_random[peer], sh.random, 32);
        return 0;
    }
    case TERN_HS_CERTIFICATE: {
        tern_certificate cert;
        CAP_CHECK(c, tern_certificate_parse(body, len, &cert) == TERN_OK);
        CAP_CHECK(c, cert.count == 1 && cert.certs[0].len > 300);
        CAP_CHECK(c, cert.certs[0].data[0] == 0x30 && cert.certs[0].data[1] == 0x82);
        REBUILD(c, tern_certificate_build, &cert);
        check_hostile("captured certificate", p_certificate, body, len, NO_VALID_PREFIX);
        return test_failed();
    }
    case TERN_HS_SERVER_KEY_EXCHANGE: {
        tern_server_kx kx;
        CAP_CHECK(c, tern_server_kx_parse(body, len, &kx) == TERN_OK);
        if (peer == 0)
            CAP_CHECK(c, kx.group == TERN_GROUP_X25519 && kx.point_len == 32);
        else
            CAP_CHECK(c, kx.group == TERN_GROUP_SECP256R1 && kx.point_len == 65 &&
                             kx.point[0] == 0x04);
        CAP_CHECK(c, kx.sig.scheme == TERN_SIG_ECDSA_SECP256R1_SHA256);
        CAP_CHECK(c, kx.sig.sig_len >= 70 && kx.sig.sig[0] == 0x30); /* DER ECDSA */
        REBUILD(c, tern_server_kx_build, &kx);
        uint8_t signed_data[256];
        tern_wr w = tern_wr_init(signed_data, sizeof signed_data);
        CAP_CHECK(c, tern_server_kx_signed_data(&w, st->client_random[peer],
                                                st->server_random[peer], &kx) == TERN_OK);
        CAP_CHECK(c, w.len == 64 + kx.params_len && memcmp(signed_data + 64, body,
                                                           kx.params_len) == 0);
        check_hostile("captured server_key_exchange", p_server_kx, body, len, NO_VALID_PREFIX);
        return test_failed();
    }
    case TERN_HS_CERTIFICATE_REQUEST: {
        tern_cert_request cr;
        CAP_CHECK(c, tern_cert_request_parse(body, len, &cr) == TERN_OK);
        CAP_CHECK(c, memchr(cr.cert_types, TERN_CERT_TYPE_ECDSA_SIGN, cr.n_cert_types) != NULL);
        CAP_CHECK(c, has_u16(cr.sigschemes, cr.n_sigschemes, TERN_SIG_ECDSA_SECP256R1_SHA256));
        CAP_CHECK(c, cr.n_cas == 1 && cr.cas[0].data[0] == 0x30); /* CN=client, from -CAfile */
        REBUILD(c, tern_cert_request_build, &cr);
        check_hostile("captured certificate_request", p_cert_request, body, len, NO_VALID_PREFIX);
        return test_failed();
    }
    case TERN_HS_SERVER_HELLO_DONE:
        CAP_CHECK(c, tern_server_hello_done_parse(body, len) == TERN_OK);
        return 0;
    case TERN_HS_CLIENT_KEY_EXCHANGE: {
        tern_client_kx kx;
        CAP_CHECK(c, from_client && tern_client_kx_parse(body, len, &kx) == TERN_OK);
        CAP_CHECK(c, kx.point_len == (peer == 0 ? 32u : 65u));
        REBUILD(c, tern_client_kx_build, &kx);
        check_hostile("captured client_key_exchange", p_client_kx, body, len, NO_VALID_PREFIX);
        return test_failed();
    }
    case TERN_HS_CERTIFICATE_VERIFY: {
        tern_cert_verify cv;
        CAP_CHECK(c, from_client && tern_cert_verify_parse(body, len, &cv) == TERN_OK);
        CAP_CHECK(c, cv.scheme == TERN_SIG_ECDSA_SECP256R1_SHA256 && cv.sig[0] == 0x30);
        REBUILD(c, tern_cert_verify_build, &cv);
        return 0;
    }
    default:
        CAP_CHECK(c, !"unexpected message type in the capture");
    }
    return 0;
}

/* A fragment line: its header names the message before it, and its bytes are that
 * message's bytes at frag_off. */
static int capture_fragment(const vec_case *c, struct capture_state *st)
{
    uint8_t *raw;
    long n = vec_hex(c, "fragment", &raw);
    CAP_CHECK(c, n >= 0);
    tern_rd r = tern_rd_init(raw, (size_t)n);
    tern_hs_hdr h;
    const uint8_t *frag;
    tern_err err = tern_hs_hdr_parse(&r, &h, &frag);
    bool ok = err == TERN_OK && tern_rd_done(&r) && h.type == st->body_type &&
              h.msg_seq == st->body_seq && h.length == (uint32_t)st->body_len &&
              memcmp(st->body + h.frag_off, frag, h.frag_len) == 0;
    free(raw);
    CAP_CHECK(c, ok);
    st->fragments++;
    return 0;
}

static int capture_case(const vec_case *c, void *ctx)
{
    struct capture_state *st = ctx;
    int peer = strcmp(vec_str(c, "peer"), "openssl") == 0 ? 0 : 1;
    int type = (int)vec_int(c, "type", -1);
    if (vec_str(c, "fragment") != NULL)
        return capture_fragment(c, st);
    free(st->body);
    st->body = NULL;
    st->body_len = vec_hex(c, "body", &st->body);
    CAP_CHECK(c, st->body_len >= 0);
    st->body_type = type;
    st->body_seq = (int)vec_int(c, "seq", -1);
    st->messages++;
    /* Parse from an exactly-sized copy, so the checks see the real bounds. */
    size_t len = (size_t)st->body_len;
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, st->body, len);
    int rc = capture_message(c, st, peer, type, exact, len);
    free(exact);
    return rc;
}

TEST(real_handshakes_parse)
{
    struct capture_state st = {0};
    size_t cases = 0;
    int rc = vec_foreach("hs_captures.vec", capture_case, &st, &cases);
    free(st.body);
    if (test_failed())
        return;
    CHECK_EQ(rc, 0);
    /* OpenSSL: CH, HVR, CH, SH, Cert, SKE, CR, SHD, Cert, CKE, CV; GnuTLS: no client auth. */
    CHECK_EQ(st.messages, 11 + 8);
    CHECK(st.fragments >= 4);
}
