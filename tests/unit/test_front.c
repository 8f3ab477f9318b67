/*
 * test_front.c - the stateless front door: HelloVerifyRequest for a first
 * ClientHello, ACCEPT only for a valid cookie from the same address, never a reply
 * larger than the datagram that caused it, and nothing for non-ClientHello input.
 */
#include "conn.h"
#include "hs/msg.h"
#include "record/record.h"
#include "tern/tern.h"
#include "test.h"

static const uint8_t addr_a[] = {10, 1, 2, 3, 0x11, 0x22};
static const uint8_t addr_b[] = {10, 1, 2, 4, 0x11, 0x22};

/* The first datagram a tern client sends. */
static size_t first_hello(tern_config *cfg, uint8_t *out, size_t cap, tern_conn **cp)
{
    tern_conn *c = tern_conn_new_client(cfg);
    size_t n = 0;
    if (c != NULL && tern_conn_start(c, 0) == TERN_OK &&
        tern_conn_send(c, 0, out, cap, &n) == TERN_OK) {
        *cp = c;
        return n;
    }
    tern_conn_free(c);
    return 0;
}

TEST(first_hello_gets_small_hvr_then_accept)
{
    tern_config *cfg = tern_config_new();
    CHECK(cfg != NULL);
    tern_conn *client = NULL;
    uint8_t dgram[1500], reply[1500], again[1500];
    size_t n = first_hello(cfg, dgram, sizeof dgram, &client), rn, n2;
    CHECK(n > 0);
    tern_err err;
    CHECK_EQ(tern_server_hello(cfg, 100, addr_a, sizeof addr_a, dgram, n, reply, sizeof reply,
                               &rn, &err),
             TERN_HELLO_REPLY);
    CHECK(rn > 0 && rn <= n);
    CHECK_OK(tern_conn_recv(client, 100, reply, rn));
    CHECK_OK(tern_conn_send(client, 100, again, sizeof again, &n2));
    uint8_t copy[1500];
    memcpy(copy, again, n2);
    /* the cookie is bound to the address */
    CHECK_EQ(tern_server_hello(cfg, 100, addr_b, sizeof addr_b, copy, n2, reply, sizeof reply,
                               &rn, &err),
             TERN_HELLO_REPLY);
    CHECK_EQ(err, TERN_OK);
    CHECK_EQ(tern_server_hello(cfg, 100, addr_a, sizeof addr_a, copy, n2, reply, sizeof reply,
                               &rn, &err),
             TERN_HELLO_ACCEPT);
    /* ... and expires */
    CHECK_EQ(tern_server_hello(cfg, 100 + 61000, addr_a, sizeof addr_a, copy, n2, reply,
                               sizeof reply, &rn, &err),
             TERN_HELLO_REPLY);
    /* tern_conn_accept checks the cookie itself */
    memcpy(copy, again, n2);
    CHECK(tern_conn_accept(cfg, 100, addr_b, sizeof addr_b, copy, n2, &err) == NULL);
    CHECK_EQ(err, TERN_ERR_BAD_COOKIE);
    tern_conn_free(client);
    tern_config_free(cfg);
}

TEST(reply_never_larger_than_request)
{
    tern_config *cfg = tern_config_new();
    tern_conn *client = NULL;
    uint8_t dgram[1500], reply[1500];
    size_t n = first_hello(cfg, dgram, sizeof dgram, &client), rn;
    tern_err err;
    /* The same hello with room for less than a HelloVerifyRequest: dropped, not sent. */
    CHECK_EQ(tern_server_hello(cfg, 0, addr_a, sizeof addr_a, dgram, n, reply, 20, &rn, &err),
             TERN_HELLO_DROP);
    CHECK_EQ(rn, 0);
    tern_conn_free(client);
    tern_config_free(cfg);
}

TEST(garbage_and_other_messages_dropped)
{
    tern_config *cfg = tern_config_new();
    uint8_t reply[1500];
    size_t rn;
    tern_err err;
    static const uint8_t empty[1] = {0};
    CHECK_EQ(tern_server_hello(cfg, 0, addr_a, sizeof addr_a, empty, 0, reply, sizeof reply, &rn,
                               &err),
             TERN_HELLO_DROP);
    /* application data in epoch 1 */
    uint8_t rec[40] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 27};
    CHECK_EQ(tern_server_hello(cfg, 0, addr_a, sizeof addr_a, rec, sizeof rec, reply,
                               sizeof reply, &rn, &err),
             TERN_HELLO_DROP);
    /* every truncation of a real first hello is dropped without a reply */
    tern_conn *client = NULL;
    uint8_t dgram[1500];
    size_t n = first_hello(cfg, dgram, sizeof dgram, &client);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, dgram, cut);
        tern_hello_result r = tern_server_hello(cfg, 0, addr_a, sizeof addr_a, copy, cut, reply,
                                                sizeof reply, &rn, &err);
        free(copy);
        CHECK(r == TERN_HELLO_DROP && rn == 0);
    }
    tern_conn_free(client);
    tern_config_free(cfg);
}

TEST(server_without_certificate_fails_with_alert)
{
    tern_config *scfg = tern_config_new(), *ccfg = tern_config_new();
    tern_conn *client = NULL;
    uint8_t dgram[1500], reply[1500];
    size_t n = first_hello(ccfg, dgram, sizeof dgram, &client), rn;
    tern_err err;
    CHECK_EQ(tern_server_hello(scfg, 0, addr_a, sizeof addr_a, dgram, n, reply, sizeof reply, &rn,
                               &err),
             TERN_HELLO_REPLY);
    CHECK_OK(tern_conn_recv(client, 0, reply, rn));
    CHECK_OK(tern_conn_send(client, 0, dgram, sizeof dgram, &n));
    tern_conn *server = tern_conn_accept(scfg, 0, addr_a, sizeof addr_a, dgram, n, &err);
    CHECK(server != NULL);
    CHECK_EQ(tern_conn_state(server), TERN_STATE_FAILED);
    CHECK_EQ(err, TERN_ERR_HANDSHAKE);
    /* the alert goes out, then the error sticks */
    CHECK_OK(tern_conn_send(server, 0, reply, sizeof reply, &rn));
    CHECK_OK(tern_conn_recv(client, 0, reply, rn) == TERN_ERR_PEER_ALERT ? TERN_OK : TERN_ERR_INTERNAL);
    tern_alert a;
    bool from_peer;
    tern_conn_error(client, &err, &a, &from_peer);
    CHECK(err == TERN_ERR_PEER_ALERT && a == TERN_ALERT_HANDSHAKE_FAILURE && from_peer);
    CHECK_EQ(tern_conn_send(server, 0, reply, sizeof reply, &rn), TERN_ERR_HANDSHAKE);
    tern_conn_free(server);
    tern_conn_free(client);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* A ClientHello too large for one datagram (a 1500-byte extension), sent as three
 * fragments in three datagrams of one record each. */
static size_t fragment(const uint8_t *body, size_t len, uint16_t msg_seq, uint64_t rec_seq,
                       size_t part, size_t nparts, uint8_t *out)
{
    size_t chunk = (len + nparts - 1) / nparts, off = part * chunk;
    size_t flen = off + chunk > len ? len - off : chunk;
    tern_wr w = tern_wr_init(out, 2048);
    tern_hdr12 rec = {TERN_CT_HANDSHAKE, 0xfefd, 0, rec_seq, (uint16_t)(12 + flen)};
    tern_hdr12_write(&w, &rec);
    tern_wr_u8(&w, 1);
    tern_wr_u24(&w, (uint32_t)len);
    tern_wr_u16(&w, msg_seq);
    tern_wr_u24(&w, (uint32_t)off);
    tern_wr_u24(&w, (uint32_t)flen);
    tern_wr_bytes(&w, body + off, flen);
    return w.err ? 0 : w.len;
}

/* The body of |c|'s first ClientHello with |cookie| put in and a 1500-byte
 * extension of an unknown type appended. */
static size_t big_hello(const uint8_t *dgram, const uint8_t *cookie, size_t cookie_len,
                        uint8_t *out)
{
    const uint8_t *body = dgram + 13 + 12;
    size_t len = tern_load16(dgram + 11) - 12;
    tern_client_hello ch;
    if (tern_client_hello_parse(body, len, &ch) != TERN_OK)
        return 0;
    ch.cookie = cookie;
    ch.cookie_len = cookie_len;
    tern_wr w = tern_wr_init(out, 4096);
    if (tern_client_hello_build(&w, &ch) != TERN_OK || w.len < 2)
        return 0;
    /* the builder ends with the extension block: grow it by one extension */
    size_t ext_len = tern_load16(out + w.len - ch.ext.block_len - 2);
    tern_store16(out + w.len - ch.ext.block_len - 2, (uint16_t)(ext_len + 4 + 1500));
    tern_wr_u16(&w, 0xfafa);
    tern_wr_u16(&w, 1500);
    tern_wr_zeros(&w, 1500);
    return w.err ? 0 : w.len;
}

TEST(fragmented_client_hello_cookie_then_reassembly)
{
    tern_config *scfg = tern_config_new(), *ccfg = tern_config_new();
    CHECK(scfg && ccfg);
    char chain[512], key[512];
    snprintf(chain, sizeof chain, "%s/tests/data/pki/leaf-ecdsa-chain.pem", test_source_dir());
    snprintf(key, sizeof key, "%s/tests/data/pki/leaf-ecdsa.key", test_source_dir());
    CHECK_OK(tern_config_load_certificate(scfg, chain, key));
    tern_conn *client = NULL;
    uint8_t first[1500], body[4096], d[3][2048], reply[1500];
    size_t n = first_hello(ccfg, first, sizeof first, &client), blen, dl[3], rn;
    CHECK(n > 0);
    tern_err err;

    /* 1. First ClientHello, fragmented: the first fragment alone earns the cookie. */
    blen = big_hello(first, NULL, 0, body);
    CHECK(blen > 1500);
    for (size_t i = 0; i < 3; i++)
        CHECK((dl[i] = fragment(body, blen, 0, i, i, 3, d[i])) > 0);
    CHECK_EQ(tern_server_hello(scfg, 0, addr_a, sizeof addr_a, d[1], dl[1], reply, sizeof reply,
                               &rn, &err), TERN_HELLO_DROP); /* not a first fragment */
    CHECK_EQ(tern_server_hello(scfg, 0, addr_a, sizeof addr_a, d[0], dl[0], reply, sizeof reply,
                               &rn, &err), TERN_HELLO_REPLY);
    CHECK(rn <= dl[0]);
    tern_hello_verify hvr;
    CHECK_OK(tern_hello_verify_parse(reply + 13 + 12, rn - 13 - 12, &hvr));

    /* 2. Again with the cookie, fragmented: the first fragment is accepted ... */
    blen = big_hello(first, hvr.cookie, hvr.cookie_len, body);
    for (size_t i = 0; i < 3; i++)
        CHECK((dl[i] = fragment(body, blen, 1, 3 + i, i, 3, d[i])) > 0);
    uint8_t copy[2048];
    memcpy(copy, d[0], dl[0]);
    CHECK_EQ(tern_server_hello(scfg, 0, addr_a, sizeof addr_a, copy, dl[0], reply, sizeof reply,
                               &rn, &err), TERN_HELLO_ACCEPT);
    tern_conn *server = tern_conn_accept(scfg, 0, addr_a, sizeof addr_a, d[0], dl[0], &err);
    CHECK(server != NULL);
    CHECK_EQ(tern_conn_state(server), TERN_STATE_HANDSHAKE);
    CHECK_EQ(tern_conn_send(server, 0, reply, sizeof reply, &rn), TERN_ERR_AGAIN); /* waiting */

    /* ... and the connection reassembles the rest, in any order, then answers. */
    CHECK_OK(tern_conn_recv(server, 0, d[2], dl[2]));
    CHECK_EQ(tern_conn_send(server, 0, reply, sizeof reply, &rn), TERN_ERR_AGAIN);
    CHECK_OK(tern_conn_recv(server, 0, d[1], dl[1]));
    CHECK_OK(tern_conn_send(server, 0, reply, sizeof reply, &rn));
    CHECK(rn > 13 + 12 && reply[0] == TERN_CT_HANDSHAKE && reply[13] == TERN_HS_SERVER_HELLO);
    CHECK_EQ(tern_conn_state(server), TERN_STATE_HANDSHAKE);

    /* A first fragment announcing more than a handshake message may hold: dropped. */
    memcpy(copy, d[0], dl[0]);
    copy[13 + 1] = 0x7f; /* length 0x7fxxxx */
    CHECK_EQ(tern_server_hello(scfg, 0, addr_a, sizeof addr_a, copy, dl[0], reply, sizeof reply,
                               &rn, &err), TERN_HELLO_DROP);
    CHECK_EQ(err, TERN_ERR_TOO_BIG);
    tern_conn_free(server);
    tern_conn_free(client);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}
