/*
 * msg_certificate.c - Certificate, TLS 1.2 form (RFC 5246 §7.4.2).
 *
 *   ASN.1Cert certificate_list<0..2^24-1>;   opaque ASN.1Cert<1..2^24-1>;
 *
 * The list is walked to its end even past TERN_MAX_CHAIN, so a malformed message is
 * always TERN_ERR_DECODE; only a well-formed list with too many certificates is
 * TERN_ERR_TOO_BIG (a limit of ours, not a fault of the encoding). The DER inside
 * is not looked at: certificates are parsed by the crypto provider when the chain is
 * verified.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_certificate_parse(const uint8_t *body, size_t len, tern_certificate *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len), list;
    if (!tern_rd_vec24(&r, &list) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    size_t total = 0;
    while (!tern_rd_done(&list)) {
        tern_rd cert;
        if (!tern_rd_vec24(&list, &cert) || tern_rd_done(&cert))
            return TERN_ERR_DECODE;
        if (total < TERN_MAX_CHAIN)
            out->certs[total] = (tern_der){cert.p, tern_rd_left(&cert)};
        total++;
    }
    if (total > TERN_MAX_CHAIN)
        return TERN_ERR_TOO_BIG;
    out->count = total;
    return TERN_OK;
}

/* see msg.h */
tern_err tern_certificate_build(tern_wr *w, const tern_certificate *in)
{
    const size_t max = (1u << 24) - 1;
    if (in->count > TERN_MAX_CHAIN)
        return TERN_ERR_ARG;
    size_t total = 0;
    for (size_t i = 0; i < in->count; i++) {
        const tern_der *c = &in->certs[i];
        if (c->data == NULL || c->len == 0 || c->len > max)
            return TERN_ERR_ARG;
        total += 3 + c->len; /* each certificate's 24-bit length, then the DER */
    }
    if (total > max)
        return TERN_ERR_ARG;
    size_t list = tern_wr_open24(w);
    for (size_t i = 0; i < in->count; i++) {
        size_t at = tern_wr_open24(w);
        tern_wr_bytes(w, in->certs[i].data, in->certs[i].len);
        tern_wr_close24(w, at);
    }
    tern_wr_close24(w, list);
    return tern_hs_wr_result(w);
}
