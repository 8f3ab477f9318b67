/*
 * fuzz_hs_msg.c - every handshake message parser, and the fragment header, on
 * arbitrary input.
 *
 * The first byte picks the parser (its handshake type; anything else parses the
 * input as a run of DTLS handshake fragments), the rest is the message body. What
 * parses must build again: for messages whose encoding has one form the rebuilt
 * bytes are the input; hellos (whose extension builders write tern's own forms) must
 * at least parse again. The checks abort, so libFuzzer reports them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hs/msg.h"

static uint8_t out[1 << 17];

/* Building what was parsed (|err|) succeeded and wrote the parsed bytes again. */
static void same_bytes(tern_err err, const tern_wr *w, const uint8_t *body, size_t len)
{
    CHECK(err == TERN_OK);
    CHECK(w->len == len && memcmp(w->buf, body, len) == 0);
}

static void fragments(const uint8_t *body, size_t len)
{
    tern_rd r = tern_rd_init(body, len);
    tern_hs_hdr h;
    const uint8_t *frag;
    while (tern_hs_hdr_parse(&r, &h, &frag) == TERN_OK) {
        CHECK(h.frag_off + h.frag_len <= h.length && frag >= body && frag + h.frag_len <= r.p);
        tern_wr w = tern_wr_init(out, sizeof out);
        CHECK(tern_hs_hdr_build(&w, &h) == TERN_OK && w.len == TERN_HS_HDR_LEN);
        CHECK(memcmp(out, frag - TERN_HS_HDR_LEN, TERN_HS_HDR_LEN) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The body in a buffer of its own size, so ASan sees any over-read. */
    size_t len = size - 1;
    uint8_t *body = malloc(len ? len : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data + 1, len);
    tern_wr w = tern_wr_init(out, sizeof out);

    switch (data[0]) {
    case TERN_HS_CLIENT_HELLO: {
        tern_client_hello m, again;
        if (tern_client_hello_parse(body, len, &m) != TERN_OK)
            break;
        tern_iov parts[3];
        CHECK(tern_client_hello_cookie_ranges(&m, parts) == TERN_OK);
        CHECK(parts[0].len + parts[1].len + parts[2].len == len - 1 - m.cookie_len);
        if (tern_client_hello_build(&w, &m) == TERN_OK)
            CHECK(tern_client_hello_parse(out, w.len, &again) == TERN_OK);
        break;
    }
    case TERN_HS_SERVER_HELLO: {
        tern_server_hello_msg m, again;
        if (tern_server_hello_parse(body, len, &m) != TERN_OK)
            break;
        if (tern_server_hello_build(&w, &m) == TERN_OK)
            CHECK(tern_server_hello_parse(out, w.len, &again) == TERN_OK);
        break;
    }
    case TERN_HS_HELLO_VERIFY_REQUEST: {
        tern_hello_verify m;
        if (tern_hello_verify_parse(body, len, &m) == TERN_OK)
            same_bytes(tern_hello_verify_build(&w, &m), &w, body, len);
        break;
    }
    case TERN_HS_CERTIFICATE: {
        tern_certificate m;
        if (tern_certificate_parse(body, len, &m) == TERN_OK)
            same_bytes(tern_certificate_build(&w, &m), &w, body, len);
        break;
    }
    case TERN_HS_SERVER_KEY_EXCHANGE: {
        tern_server_kx m;
        if (tern_server_kx_parse(body, len, &m) == TERN_OK)
            same_bytes(tern_server_kx_build(&w, &m), &w, body, len);
        break;
    }
    case TERN_HS_CERTIFICATE_REQUEST: {
        tern_cert_request m;
        /* a list longer than its array: the rebuilt message keeps the first ones */
        if (tern_cert_request_parse(body, len, &m) == TERN_OK && m.n_cas < TERN_MAX_CAS &&
            m.n_sigschemes < TERN_MAX_SIGSCHEMES)
            same_bytes(tern_cert_request_build(&w, &m), &w, body, len);
        break;
    }
    case TERN_HS_SERVER_HELLO_DONE:
        CHECK((tern_server_hello_done_parse(body, len) == TERN_OK) == (len == 0));
        break;
    case TERN_HS_CLIENT_KEY_EXCHANGE: {
        tern_client_kx m;
        if (tern_client_kx_parse(body, len, &m) == TERN_OK)
            same_bytes(tern_client_kx_build(&w, &m), &w, body, len);
        break;
    }
    case TERN_HS_CERTIFICATE_VERIFY: {
        tern_cert_verify m;
        if (tern_cert_verify_parse(body, len, &m) == TERN_OK)
            same_bytes(tern_cert_verify_build(&w, &m), &w, body, len);
        break;
    }
    case TERN_HS_FINISHED: {
        tern_finished m;
        if (tern_finished_parse(body, len, &m) == TERN_OK)
            same_bytes(tern_finished_build(&w, &m), &w, body, len);
        break;
    }
    default:
        fragments(body, len);
        break;
    }
    free(body);
    return 0;
}
