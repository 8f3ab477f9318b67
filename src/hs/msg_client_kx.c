/*
 * msg_client_kx.c - ClientKeyExchange for the ECDHE suites (RFC 8422 §5.7).
 *
 *   ClientECDiffieHellmanPublic = ECPoint ecdh_Yc = opaque point<1..2^8-1>;
 *
 * With ECDHE the public value is always explicit (the implicit form belongs to
 * fixed-ECDH client certificates), so an empty point is malformed. Whether the point
 * is on the curve is the key exchange's check (tern_kex_derive).
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_client_kx_parse(const uint8_t *body, size_t len, tern_client_kx *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), point;
    if (!tern_rd_vec8(&r, &point) || tern_rd_done(&point) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    out->point = point.p;
    out->point_len = tern_rd_left(&point);
    return TERN_OK;
}

/* see msg.h */
tern_err tern_client_kx_build(tern_wr *w, const tern_client_kx *in)
{
    if (in->point == NULL || in->point_len == 0 || in->point_len > UINT8_MAX)
        return TERN_ERR_ARG;
    size_t at = tern_wr_open8(w);
    tern_wr_bytes(w, in->point, in->point_len);
    tern_wr_close8(w, at);
    return tern_hs_wr_result(w);
}
