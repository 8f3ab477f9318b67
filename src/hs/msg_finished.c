/*
 * msg_finished.c - Finished, TLS 1.2 form (RFC 5246 §7.4.9): opaque verify_data
 * [verify_data_length], which is 12 bytes for every suite tern implements (none of
 * them sets another length). The body is nothing but verify_data, so its length is
 * the whole check; comparing verify_data with the expected value, in constant time,
 * is the state machine's job.
 */
#include <string.h>

#include "hs/msg.h"

/* see msg.h */
tern_err tern_finished_parse(const uint8_t *body, size_t len, tern_finished *out)
{
    memset(out, 0, sizeof *out);
    tern_rd r = tern_rd_init(body, len);
    if (!tern_rd_bytes(&r, TERN_FINISHED12_LEN, &out->verify_data) || !tern_rd_done(&r))
        return TERN_ERR_DECODE;
    out->len = TERN_FINISHED12_LEN;
    return TERN_OK;
}

/* see msg.h */
tern_err tern_finished_build(tern_wr *w, const tern_finished *in)
{
    if (in->verify_data == NULL || in->len != TERN_FINISHED12_LEN)
        return TERN_ERR_ARG;
    tern_wr_bytes(w, in->verify_data, in->len);
    return tern_hs_wr_result(w);
}
