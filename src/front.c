/*
 * front.c - the stateless server front door (RFC 6347 §4.2.1): tern_server_hello()
 * and tern_conn_accept().
 *
 * A ClientHello from an unknown peer is answered with a HelloVerifyRequest whose
 * cookie binds the peer's address and the ClientHello (cookie.c); nothing is
 * allocated or kept. Only a ClientHello that brings back a valid cookie becomes a
 * connection. The reply is built to be no larger than the datagram that caused it,
 * so the front door cannot be used to amplify traffic.
 *
 * The front door reads the first record of the datagram only. A ClientHello too
 * large for one datagram comes in fragments: the cookie binds only fields at the
 * start of the body (RFC 6347 §4.2.1: version, random, session_id, cipher_suites,
 * compression_method), so the first fragment is enough to mint or verify a cookie
 * without keeping anything. Once its cookie verifies, tern_conn_accept() creates
 * the connection from that first fragment and the connection's reassembly (bounded
 * by the config's max_handshake_msg) takes the rest: nothing is buffered for a peer
 * before its cookie is proven.
 */
#include <string.h>

#include "conn.h"
#include "cookie.h"
#include "hs/tls12.h"

#define HVR_MAX (TERN_DTLS12_HDR_LEN + TERN_HS_HDR_LEN + 3 + TERN_COOKIE_LEN)

typedef struct front_hello {
    tern_hdr12 rec;      /* the record that carried it */
    tern_hs_hdr hs;
    tern_client_hello_prefix pre; /* version, cookie and what the cookie binds */
} front_hello;

static tern_err front_parse(const uint8_t *dgram, size_t len, front_hello *fh)
{
    tern_rd r = tern_rd_init(dgram, len), frag;
    const uint8_t *body;
    if (tern_hdr12_read(&r, &fh->rec, &frag) != TERN_OK)
        return TERN_ERR_DECODE;
    if (fh->rec.type != TERN_CT_HANDSHAKE || fh->rec.epoch != 0 ||
        (fh->rec.version != TERN_DTLS_1_0 && fh->rec.version != TERN_DTLS_1_2))
        return TERN_ERR_UNEXPECTED;
    if (tern_hs_hdr_parse(&frag, &fh->hs, &body) != TERN_OK)
        return TERN_ERR_DECODE;
    if (fh->hs.type != TERN_HS_CLIENT_HELLO)
        return TERN_ERR_UNEXPECTED;
    if (fh->hs.frag_off != 0)
        return TERN_ERR_UNSUPPORTED; /* a later fragment: only a connection takes it */
    tern_err err = tern_client_hello_parse_prefix(body, fh->hs.frag_len, &fh->pre);
    if (err == TERN_OK && fh->hs.frag_len == fh->hs.length) {
        /* Whole: check all of it before answering. */
        tern_client_hello ch;
        err = tern_client_hello_parse(body, fh->hs.length, &ch);
    }
    if (err != TERN_OK)
        return err;
    /* DTLS versions count down (0xfeff is 1.0, 0xfefd 1.2): anything numerically
     * above 1.0 is not DTLS. A 1.0-only client is refused by the state machine,
     * with a protocol_version alert. */
    return fh->pre.version > TERN_DTLS_1_0 ? TERN_ERR_VERSION : TERN_OK;
}

/* see tern.h */
tern_hello_result tern_server_hello(const tern_config *cfg, uint64_t now, const void *addr,
                                    size_t addrlen, const uint8_t *dgram, size_t len,
                                    uint8_t *reply, size_t cap, size_t *replylen, tern_err *errp)
{
    tern_err dummy = TERN_OK;
    tern_err *err = errp ? errp : &dummy;
    front_hello fh;
    *replylen = 0;
    *err = front_parse(dgram, len, &fh);
    if (*err == TERN_OK && fh.hs.length > cfg->max_handshake_msg)
        *err = TERN_ERR_TOO_BIG; /* reassembly would refuse it: refuse it here */
    if (*err != TERN_OK)
        return TERN_HELLO_DROP;
    const tern_iov *parts = fh.pre.parts;
    if (fh.pre.cookie_len > 0) {
        *err = tern_cookie_verify(&cfg->cookie, now, addr, addrlen, parts, 2, fh.pre.cookie,
                                  fh.pre.cookie_len);
        if (*err == TERN_OK)
            return TERN_HELLO_ACCEPT;
        if (*err != TERN_ERR_BAD_COOKIE && *err != TERN_ERR_COOKIE_EXPIRED)
            return TERN_HELLO_DROP;
        /* A stale or foreign cookie gets a fresh one, like a first ClientHello. */
    }

    uint8_t cookie[TERN_COOKIE_LEN];
    tern_err e = tern_cookie_mint(&cfg->cookie, now, addr, addrlen, parts, 2, cookie);
    if (e != TERN_OK) {
        *err = e;
        return TERN_HELLO_DROP;
    }
    /* Never answer with more bytes than the ClientHello brought (amplification). */
    size_t room = cap < len ? cap : len;
    if (room < HVR_MAX) {
        *err = TERN_ERR_BUF;
        return TERN_HELLO_DROP;
    }
    tern_wr w = tern_wr_init(reply, room);
    tern_hdr12 rec = {TERN_CT_HANDSHAKE, TERN_DTLS_1_0, 0, fh.rec.seq, 0};
    size_t at = w.len;
    tern_hdr12_write(&w, &rec);
    size_t hs_at = w.len;
    /* RFC 6347 §4.2.1: HelloVerifyRequest goes out as DTLS 1.0, with the record
     * sequence number and message_seq of the ClientHello it answers. */
    tern_hs_hdr hh = {TERN_HS_HELLO_VERIFY_REQUEST, 3 + TERN_COOKIE_LEN, fh.hs.msg_seq, 0,
                      3 + TERN_COOKIE_LEN};
    tern_hello_verify hvr = {TERN_DTLS_1_0, cookie, sizeof cookie};
    if (tern_hs_hdr_build(&w, &hh) != TERN_OK || tern_hello_verify_build(&w, &hvr) != TERN_OK ||
        w.err) {
        *err = TERN_ERR_INTERNAL;
        return TERN_HELLO_DROP;
    }
    tern_store16(reply + at + TERN_DTLS12_HDR_LEN - 2, (uint16_t)(w.len - hs_at));
    *replylen = w.len;
    *err = TERN_OK;
    return TERN_HELLO_REPLY;
}

/* see tern.h */
tern_conn *tern_conn_accept(tern_config *cfg, uint64_t now, const void *addr, size_t addrlen,
                            uint8_t *dgram, size_t len, tern_err *errp)
{
    tern_err dummy = TERN_OK;
    tern_err *err = errp ? errp : &dummy;
    uint8_t reply[HVR_MAX];
    size_t replylen;
    /* Check again: tern_conn_accept must not become a way around the cookie. */
    if (tern_server_hello(cfg, now, addr, addrlen, dgram, len, reply, sizeof reply, &replylen,
                          err) != TERN_HELLO_ACCEPT) {
        if (*err == TERN_OK)
            *err = TERN_ERR_BAD_COOKIE;
        return NULL;
    }
    front_hello fh;
    *err = front_parse(dgram, len, &fh);
    if (*err != TERN_OK)
        return NULL;
    tern_conn *c = tern_conn_alloc(cfg, TERN_SERVER);
    if (c == NULL) {
        *err = TERN_ERR_NOMEM;
        return NULL;
    }
    c->hs_started = now;
    *err = tern_hs12_new(c, S12_EXPECT_CLIENT_HELLO);
    /* RFC 6347 §4.2.2: the server's first message_seq, and record sequence number
     * (§4.2.1), follow the ClientHello's, the HelloVerifyRequest having used them. */
    if (*err == TERN_OK) {
        c->hs->next_seq = fh.hs.msg_seq;
        tern_reasm_set_next_seq(c->reasm, fh.hs.msg_seq);
        *err = tern_rec_set_write_seq(&c->rec, 0, fh.rec.seq);
    }
    if (*err == TERN_OK)
        *err = tern_conn_recv(c, now, dgram, len);
    /* An unfragmented ClientHello must have been taken; a fragmented one waits for
     * its other fragments in the connection's reassembly. */
    if (*err == TERN_OK && fh.hs.frag_len == fh.hs.length && c->state == TERN_STATE_HANDSHAKE &&
        c->hs != NULL && c->hs->state == S12_EXPECT_CLIENT_HELLO)
        *err = TERN_ERR_DECODE;
    if (*err != TERN_OK && c->state != TERN_STATE_FAILED) {
        tern_conn_free(c);
        return NULL;
    }
    /* A failed handshake is still returned, so its alert can be sent. */
    return c;
}
