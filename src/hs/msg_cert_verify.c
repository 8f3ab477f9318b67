/*
 * msg_cert_verify.c - CertificateVerify (RFC 5246 §7.4.8; RFC 8446 §4.4.3 has the
 * same layout): one digitally-signed element, the scheme then opaque<0..2^16-1>.
 *
 * What was signed (the transcript in 1.2, the padded context string in 1.3) is the
 * state machine's business; this is only the envelope.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_cert_verify_parse(const uint8_t *body, size_t len, tern_cert_verify *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len);
    if (!tern_hs_signature_read(&r, out) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    return TERN_OK;
}

/* see msg.h */
tern_err tern_cert_verify_build(tern_wr *w, const tern_cert_verify *in)
{
    if (!tern_hs_signature_write(w, in))
        return TERN_ERR_ARG;
    return tern_hs_wr_result(w);
}
