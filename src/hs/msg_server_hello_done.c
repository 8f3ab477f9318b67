/*
 * msg_server_hello_done.c - ServerHelloDone (RFC 5246 §7.4.5): "struct { } ServerHelloDone;"
 *
 * An empty body; anything in it is a decode error.
 */
#include "hs/msg.h"

/* see msg.h */
tern_err tern_server_hello_done_parse(const uint8_t *body, size_t len)
{
    (void)body;
    return len == 0 ? TERN_OK : TERN_ERR_DECODE;
}

/* see msg.h */
tern_err tern_server_hello_done_build(tern_wr *w) { return tern_hs_wr_result(w); }
