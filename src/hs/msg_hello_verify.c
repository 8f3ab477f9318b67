/*
 * msg_hello_verify.c - HelloVerifyRequest (RFC 6347 §4.2.1).
 *
 *   ProtocolVersion server_version; opaque cookie<0..2^8-1>;
 *
 * The server sends it statelessly in answer to a ClientHello without a valid
 * cookie. §4.2.1: "DTLS 1.2 server implementations SHOULD use DTLS version 1.0
 * regardless of the version of TLS that is expected to be negotiated", so the
 * version is carried, not checked, here.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_hello_verify_parse(const uint8_t *body, size_t len, tern_hello_verify *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), cookie;
    if (!tern_rd_u16(&r, &out->version) || !tern_rd_vec8(&r, &cookie) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    out->cookie = cookie.p;
    out->cookie_len = tern_rd_left(&cookie);
    return TERN_OK;
}

/* see msg.h */
tern_err tern_hello_verify_build(tern_wr *w, const tern_hello_verify *in)
{
    if (in->cookie_len > TERN_COOKIE_MAX || (in->cookie == NULL && in->cookie_len > 0))
        return TERN_ERR_ARG;
    tern_wr_u16(w, in->version);
    size_t at = tern_wr_open8(w);
    tern_wr_bytes(w, in->cookie, in->cookie_len);
    tern_wr_close8(w, at);
    return tern_hs_wr_result(w);
}
