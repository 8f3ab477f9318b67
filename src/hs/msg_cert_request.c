/*
 * msg_cert_request.c - CertificateRequest, TLS 1.2 form (RFC 5246 §7.4.4).
 *
 *   ClientCertificateType certificate_types<1..2^8-1>;
 *   SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;
 *   DistinguishedName certificate_authorities<0..2^16-1>;  opaque DistinguishedName<1..2^16-1>;
 *
 * Certificate types are single bytes and are pointed at in place; schemes are kept
 * up to TERN_MAX_SIGSCHEMES, names up to TERN_MAX_CAS (with the whole list kept as
 * sent, for a client that wants to look at every name).
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_cert_request_parse(const uint8_t *body, size_t len, tern_cert_request *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), types, schemes, cas;
    if (!tern_rd_vec8(&r, &types) || !tern_rd_vec16(&r, &schemes) || !tern_rd_vec16(&r, &cas) ||
        !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    if (tern_rd_done(&types))
        return TERN_ERR_DECODE; /* certificate_types<1..2^8-1> */
    out->cert_types = types.p;
    out->n_cert_types = tern_rd_left(&types);
    if (!tern_hs_read_u16_list(schemes, out->sigschemes, TERN_MAX_SIGSCHEMES,
                               &out->n_sigschemes))
        return TERN_ERR_DECODE;
    out->cas_wire = cas.p;
    out->cas_wire_len = tern_rd_left(&cas);
    while (!tern_rd_done(&cas)) {
        tern_rd dn;
        if (!tern_rd_vec16(&cas, &dn) || tern_rd_done(&dn))
            return TERN_ERR_DECODE;
        if (out->n_cas < TERN_MAX_CAS)
            out->cas[out->n_cas++] = (tern_der){dn.p, tern_rd_left(&dn)};
    }
    return TERN_OK;
}

/* see msg.h */
tern_err tern_cert_request_build(tern_wr *w, const tern_cert_request *in)
{
    if (in->n_cert_types == 0 || in->n_cert_types > UINT8_MAX ||
        in->cert_types == NULL || in->n_sigschemes == 0 ||
        in->n_sigschemes > TERN_MAX_SIGSCHEMES || in->n_cas > TERN_MAX_CAS)
        return TERN_ERR_ARG;
    size_t total = 0;
    for (size_t i = 0; i < in->n_cas; i++) {
        if (in->cas[i].data == NULL || in->cas[i].len == 0 || in->cas[i].len > UINT16_MAX)
            return TERN_ERR_ARG;
        total += 2 + in->cas[i].len; /* each name's 16-bit length, then the name */
    }
    if (total > UINT16_MAX)
        return TERN_ERR_ARG;

    size_t at = tern_wr_open8(w);
    tern_wr_bytes(w, in->cert_types, in->n_cert_types);
    tern_wr_close8(w, at);
    tern_hs_write_u16_list(w, in->sigschemes, in->n_sigschemes);
    size_t list = tern_wr_open16(w);
    for (size_t i = 0; i < in->n_cas; i++) {
        at = tern_wr_open16(w);
        tern_wr_bytes(w, in->cas[i].data, in->cas[i].len);
        tern_wr_close16(w, at);
    }
    tern_wr_close16(w, list);
    return tern_hs_wr_result(w);
}
