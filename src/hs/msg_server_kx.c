/*
 * msg_server_kx.c - ServerKeyExchange for the ECDHE suites (RFC 8422 §5.4).
 *
 *   ServerECDHParams params = { ECParameters { ECCurveType curve_type = named_curve(3);
 *                                              NamedCurve namedcurve; }
 *                               ECPoint public = opaque point<1..2^8-1>; }
 *   digitally-signed signed_params = { SignatureAndHashAlgorithm; opaque<0..2^16-1> }
 *
 * The signature covers ClientHello.random || ServerHello.random || params. The
 * parser keeps the params exactly as received, so the bytes a client verifies are
 * the bytes the server signed; a builder writes params from group and point in the
 * one canonical form, which tern_server_kx_signed_data() reproduces before signing.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_server_kx_parse(const uint8_t *body, size_t len, tern_server_kx *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), point;
    uint8_t curve_type;
    if (!tern_rd_u8(&r, &curve_type))
        return TERN_ERR_DECODE;
    /* RFC 8422 §5.4: explicit_prime and explicit_char2 are deprecated; their
     * layout differs, so nothing after them can be read. */
    if (curve_type != TERN_CURVE_TYPE_NAMED)
        return TERN_ERR_UNSUPPORTED;
    if (!tern_rd_u16(&r, &out->group) || !tern_rd_vec8(&r, &point) || tern_rd_done(&point))
        return TERN_ERR_DECODE;
    out->point = point.p;
    out->point_len = tern_rd_left(&point);
    out->params = body;
    out->params_len = (size_t)(r.p - body); /* everything read so far */
    if (!tern_hs_signature_read(&r, &out->sig) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    return TERN_OK;
}

static bool point_ok(const tern_server_kx *kx)
{
    return kx->point != NULL && kx->point_len > 0 && kx->point_len <= UINT8_MAX;
}

static void write_params(tern_wr *w, const tern_server_kx *kx)
{
    tern_wr_u8(w, TERN_CURVE_TYPE_NAMED);
    tern_wr_u16(w, kx->group);
    size_t at = tern_wr_open8(w);
    tern_wr_bytes(w, kx->point, kx->point_len);
    tern_wr_close8(w, at);
}

/* see msg.h */
tern_err tern_server_kx_build(tern_wr *w, const tern_server_kx *in)
{
    if (!point_ok(in) || in->sig.sig_len > UINT16_MAX ||
        (in->sig.sig == NULL && in->sig.sig_len > 0))
        return TERN_ERR_ARG;
    write_params(w, in);
    if (!tern_hs_signature_write(w, &in->sig))
        return TERN_ERR_ARG; /* unreachable: checked above */
    return tern_hs_wr_result(w);
}

/* see msg.h */
tern_err tern_server_kx_signed_data(tern_wr *w, const uint8_t *client_random,
                                    const uint8_t *server_random, const tern_server_kx *kx)
{
    if (client_random == NULL || server_random == NULL)
        return TERN_ERR_ARG;
    if (kx->params == NULL && !point_ok(kx))
        return TERN_ERR_ARG;
    tern_wr_bytes(w, client_random, TERN_RANDOM_LEN);
    tern_wr_bytes(w, server_random, TERN_RANDOM_LEN);
    if (kx->params != NULL)
        tern_wr_bytes(w, kx->params, kx->params_len);
    else
        write_params(w, kx);
    return tern_hs_wr_result(w);
}
