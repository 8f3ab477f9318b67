/*
 * test_cookie.c - stateless cookies: mint then verify succeeds; another address,
 * another ClientHello, another secret, an expired or future cookie, and every
 * flipped byte each fail with their own error.
 */
#include "cookie.h"
#include "test.h"

static const uint8_t addr_a[] = {127, 0, 0, 1, 0x30, 0x39};
static const uint8_t addr_b[] = {127, 0, 0, 1, 0x30, 0x3a};
static const uint8_t hello_fields[] = "fefd|random|sid|suites|comp|exts";

static tern_cookie_cfg make_cfg(uint8_t fill)
{
    tern_cookie_cfg cfg;
    memset(cfg.secret, fill, sizeof cfg.secret);
    cfg.rotation_ms = 30000;
    cfg.lifetime_ms = 60000;
    return cfg;
}

static const tern_iov hello[] = {{hello_fields, 5}, {hello_fields + 5, sizeof hello_fields - 5}};

TEST(mint_then_verify)
{
    tern_cookie_cfg cfg = make_cfg(7);
    uint8_t c[TERN_COOKIE_LEN];
    CHECK_OK(tern_cookie_mint(&cfg, 1000, addr_a, sizeof addr_a, hello, 2, c));
    CHECK_OK(tern_cookie_verify(&cfg, 1000, addr_a, sizeof addr_a, hello, 2, c, sizeof c));
    /* still good later in its lifetime, across a key rotation */
    CHECK_OK(tern_cookie_verify(&cfg, 1000 + 59999, addr_a, sizeof addr_a, hello, 2, c, sizeof c));
}

TEST(bound_to_address_hello_and_secret)
{
    tern_cookie_cfg cfg = make_cfg(7), other = make_cfg(8);
    uint8_t c[TERN_COOKIE_LEN];
    CHECK_OK(tern_cookie_mint(&cfg, 5000, addr_a, sizeof addr_a, hello, 2, c));
    CHECK_ERR(tern_cookie_verify(&cfg, 5000, addr_b, sizeof addr_b, hello, 2, c, sizeof c),
              TERN_ERR_BAD_COOKIE);
    CHECK_ERR(tern_cookie_verify(&cfg, 5000, addr_a, sizeof addr_a - 1, hello, 2, c, sizeof c),
              TERN_ERR_BAD_COOKIE);
    tern_iov changed[] = {{hello_fields, 5}, {hello_fields + 6, sizeof hello_fields - 6}};
    CHECK_ERR(tern_cookie_verify(&cfg, 5000, addr_a, sizeof addr_a, changed, 2, c, sizeof c),
              TERN_ERR_BAD_COOKIE);
    CHECK_ERR(tern_cookie_verify(&other, 5000, addr_a, sizeof addr_a, hello, 2, c, sizeof c),
              TERN_ERR_BAD_COOKIE);
    /* the same bytes split differently are the same ClientHello */
    tern_iov resplit[] = {{hello_fields, sizeof hello_fields}};
    CHECK_OK(tern_cookie_verify(&cfg, 5000, addr_a, sizeof addr_a, resplit, 1, c, sizeof c));
}

TEST(expired_and_future)
{
    tern_cookie_cfg cfg = make_cfg(1);
    uint8_t c[TERN_COOKIE_LEN];
    CHECK_OK(tern_cookie_mint(&cfg, 100000, addr_a, sizeof addr_a, hello, 2, c));
    CHECK_ERR(tern_cookie_verify(&cfg, 100000 + 60001, addr_a, sizeof addr_a, hello, 2, c, sizeof c),
              TERN_ERR_COOKIE_EXPIRED);
    CHECK_ERR(tern_cookie_verify(&cfg, 99999, addr_a, sizeof addr_a, hello, 2, c, sizeof c),
              TERN_ERR_COOKIE_EXPIRED);
}

TEST(every_flipped_byte_and_wrong_length)
{
    tern_cookie_cfg cfg = make_cfg(3);
    uint8_t c[TERN_COOKIE_LEN];
    CHECK_OK(tern_cookie_mint(&cfg, 42, addr_a, sizeof addr_a, hello, 2, c));
    for (size_t i = 0; i < sizeof c; i++) {
        c[i] ^= 0x01;
        int err = tern_cookie_verify(&cfg, 42, addr_a, sizeof addr_a, hello, 2, c, sizeof c);
        c[i] ^= 0x01;
        CHECK_EQ(err, TERN_ERR_BAD_COOKIE); /* a forged timestamp is not trusted either */
    }
    CHECK_ERR(tern_cookie_verify(&cfg, 42, addr_a, sizeof addr_a, hello, 2, c, sizeof c - 1),
              TERN_ERR_BAD_COOKIE);
    CHECK_ERR(tern_cookie_verify(&cfg, 42, addr_a, sizeof addr_a, hello, 2, c, 0),
              TERN_ERR_BAD_COOKIE);
}

TEST(rotation_changes_the_key)
{
    tern_cookie_cfg cfg = make_cfg(9);
    uint8_t c1[TERN_COOKIE_LEN], c2[TERN_COOKIE_LEN];
    /* same inputs, timestamps in two periods: the MACs must differ beyond the ts */
    CHECK_OK(tern_cookie_mint(&cfg, 29999, addr_a, sizeof addr_a, hello, 2, c1));
    CHECK_OK(tern_cookie_mint(&cfg, 30000, addr_a, sizeof addr_a, hello, 2, c2));
    CHECK(memcmp(c1 + TERN_COOKIE_TS_LEN, c2 + TERN_COOKIE_TS_LEN, TERN_COOKIE_MAC_LEN) != 0);
    cfg.rotation_ms = 0;
    CHECK_ERR(tern_cookie_mint(&cfg, 1, addr_a, sizeof addr_a, hello, 2, c1), TERN_ERR_ARG);
}
