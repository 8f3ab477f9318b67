/*
 * msg_client_hello.c - ClientHello (RFC 5246 §7.4.1.2, with the DTLS cookie of
 * RFC 6347 §4.2.1).
 *
 *   ProtocolVersion client_version; Random random; SessionID session_id<0..32>;
 *   opaque cookie<0..2^8-1>; CipherSuite cipher_suites<2..2^16-2>;
 *   CompressionMethod compression_methods<1..2^8-1>; Extension extensions<0..2^16-1>
 *
 * The extension block is optional: a body that ends after compression_methods has
 * none (RFC 5246 §7.4.1.2 "the presence of extensions can be detected"). The parser
 * keeps the first TERN_MAX_SUITES suites and a pointer to the whole list, so no
 * offered suite (an SCSV at the end, say) is lost to the bound; and it keeps the
 * whole body, because a stateless cookie binds the hello minus its cookie.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_client_hello_parse(const uint8_t *body, size_t len, tern_client_hello *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), sid, cookie, suites, comp, exts;
    if (!tern_rd_u16(&r, &out->version) || !tern_rd_bytes(&r, TERN_RANDOM_LEN, &out->random) ||
        !tern_rd_vec8(&r, &sid) || !tern_rd_vec8(&r, &cookie) || !tern_rd_vec16(&r, &suites) ||
        !tern_rd_vec8(&r, &comp))
        return TERN_ERR_DECODE;
    if (tern_rd_left(&sid) > TERN_SESSION_ID_MAX)
        return TERN_ERR_DECODE;
    out->session_id = sid.p;
    out->session_id_len = tern_rd_left(&sid);
    out->cookie = cookie.p;
    out->cookie_len = tern_rd_left(&cookie);

    out->suites_wire = suites.p;
    out->suites_wire_len = tern_rd_left(&suites);
    if (!tern_hs_read_u16_list(suites, out->suites, TERN_MAX_SUITES, &out->n_suites))
        return TERN_ERR_DECODE; /* cipher_suites<2..2^16-2>: non-empty, whole suites */

    /* RFC 5246 §7.4.1.2: compression_methods "MUST contain, and all implementations
     * MUST support, CompressionMethod.null". */
    out->comp = comp.p;
    out->comp_len = tern_rd_left(&comp);
    if (out->comp_len == 0 || memchr(out->comp, 0, out->comp_len) == NULL)
        return TERN_ERR_DECODE;

    out->body = body;
    out->body_len = len;
    if (tern_rd_done(&r))
        return TERN_OK; /* no extensions */
    if (!tern_rd_vec16(&r, &exts) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    return tern_ext_parse(exts.p, tern_rd_left(&exts), TERN_EXT_IN_CLIENT_HELLO, &out->ext);
}

/* see msg.h */
tern_err tern_client_hello_build(tern_wr *w, const tern_client_hello *in)
{
    static const uint8_t null_only[] = {0};
    const uint8_t *comp = in->comp ? in->comp : null_only;
    size_t comp_len = in->comp ? in->comp_len : sizeof null_only;
    if (in->random == NULL || in->session_id_len > TERN_SESSION_ID_MAX ||
        (in->session_id == NULL && in->session_id_len > 0) || in->cookie_len > TERN_COOKIE_MAX ||
        (in->cookie == NULL && in->cookie_len > 0) || in->n_suites == 0 ||
        in->n_suites > TERN_MAX_SUITES || comp_len == 0 || comp_len > UINT8_MAX ||
        memchr(comp, 0, comp_len) == NULL)
        return TERN_ERR_ARG;

    tern_wr_u16(w, in->version);
    tern_wr_bytes(w, in->random, TERN_RANDOM_LEN);
    size_t at = tern_wr_open8(w);
    tern_wr_bytes(w, in->session_id, in->session_id_len);
    tern_wr_close8(w, at);
    at = tern_wr_open8(w);
    tern_wr_bytes(w, in->cookie, in->cookie_len);
    tern_wr_close8(w, at);
    tern_hs_write_u16_list(w, in->suites, in->n_suites);
    at = tern_wr_open8(w);
    tern_wr_bytes(w, comp, comp_len);
    tern_wr_close8(w, at);
    tern_err err = tern_ext_build_block(w, &in->ext, TERN_EXT_IN_CLIENT_HELLO);
    if (err != TERN_OK)
        return err;
    return tern_hs_wr_result(w);
}

/* see msg.h */
bool tern_client_hello_offers(const tern_client_hello *ch, uint16_t suite)
{
    if (ch->suites_wire != NULL) {
        for (size_t i = 0; i + 1 < ch->suites_wire_len; i += 2)
            if (tern_load16(ch->suites_wire + i) == suite)
                return true;
        return false;
    }
    for (size_t i = 0; i < ch->n_suites; i++)
        if (ch->suites[i] == suite)
            return true;
    return false;
}

/* see msg.h */
tern_err tern_client_hello_parse_prefix(const uint8_t *body, size_t len,
                                        tern_client_hello_prefix *out)
{
    /* The ranges are where the reader stands between fields, never offsets
     * computed by hand. */
    tern_rd r = tern_rd_init(body, len), sid, cookie, suites, comp;
    if (!tern_rd_u16(&r, &out->version) || !tern_rd_skip(&r, TERN_RANDOM_LEN) ||
        !tern_rd_vec8(&r, &sid) || tern_rd_left(&sid) > TERN_SESSION_ID_MAX)
        return TERN_ERR_DECODE;
    out->parts[0] = (tern_iov){body, (size_t)(r.p - body)};
    if (!tern_rd_vec8(&r, &cookie)) /* left out of the parts */
        return TERN_ERR_DECODE;
    out->cookie = cookie.p;
    out->cookie_len = tern_rd_left(&cookie);
    const uint8_t *mark = r.p;
    if (!tern_rd_vec16(&r, &suites) || tern_rd_left(&suites) < 2 ||
        tern_rd_left(&suites) % 2 != 0 || !tern_rd_vec8(&r, &comp) || tern_rd_done(&comp))
        return TERN_ERR_DECODE;
    out->parts[1] = (tern_iov){mark, (size_t)(r.p - mark)};
    out->len = (size_t)(r.p - body);
    return TERN_OK;
}

/* see msg.h */
tern_err tern_client_hello_cookie_ranges(const tern_client_hello *ch, tern_iov parts[3])
{
    tern_client_hello_prefix pre;
    if (ch->body == NULL ||
        tern_client_hello_parse_prefix(ch->body, ch->body_len, &pre) != TERN_OK)
        return TERN_ERR_ARG;
    parts[0] = pre.parts[0];
    parts[1] = pre.parts[1];
    parts[2] = (tern_iov){ch->body + pre.len, ch->body_len - pre.len};
    return TERN_OK;
}
