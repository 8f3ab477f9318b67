/*
 * msg_server_hello.c - ServerHello (RFC 5246 §7.4.1.3).
 *
 *   ProtocolVersion server_version; Random random; SessionID session_id<0..32>;
 *   CipherSuite cipher_suite; CompressionMethod compression_method;
 *   Extension extensions<0..2^16-1>   (optional)
 *
 * TLS 1.3's ServerHello and HelloRetryRequest share this layout, so the codec only
 * reads and writes; the version, the suite (one the client offered) and the
 * compression method (null) are checked by the state machine, which knows what was
 * sent.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_server_hello_parse(const uint8_t *body, size_t len, tern_server_hello_msg *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), sid, exts;
    if (!tern_rd_u16(&r, &out->version) || !tern_rd_bytes(&r, TERN_RANDOM_LEN, &out->random) ||
        !tern_rd_vec8(&r, &sid) || !tern_rd_u16(&r, &out->suite) ||
        !tern_rd_u8(&r, &out->compression))
        return TERN_ERR_DECODE;
    if (tern_rd_left(&sid) > TERN_SESSION_ID_MAX)
        return TERN_ERR_DECODE;
    out->session_id = sid.p;
    out->session_id_len = tern_rd_left(&sid);
    if (tern_rd_done(&r))
        return TERN_OK; /* no extensions */
    if (!tern_rd_vec16(&r, &exts) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    return tern_ext_parse(exts.p, tern_rd_left(&exts), TERN_EXT_IN_SERVER_HELLO, &out->ext);
}

/* see msg.h */
tern_err tern_server_hello_build(tern_wr *w, const tern_server_hello_msg *in)
{
    if (in->random == NULL || in->session_id_len > TERN_SESSION_ID_MAX ||
        (in->session_id == NULL && in->session_id_len > 0))
        return TERN_ERR_ARG;
    tern_wr_u16(w, in->version);
    tern_wr_bytes(w, in->random, TERN_RANDOM_LEN);
    size_t at = tern_wr_open8(w);
    tern_wr_bytes(w, in->session_id, in->session_id_len);
    tern_wr_close8(w, at);
    tern_wr_u16(w, in->suite);
    tern_wr_u8(w, in->compression);
    tern_err err = tern_ext_build_block(w, &in->ext, TERN_EXT_IN_SERVER_HELLO);
    if (err != TERN_OK)
        return err;
    return tern_hs_wr_result(w);
}
