/*
 * msg.c - what the message codecs share: the DTLS handshake header, the cipher-suite
 * table, message names, and the small readers and writers several messages use
 * (digitally-signed elements, lists of 16-bit values).
 *
 * The header is a fixed layout, so its size is checked once and its fields then
 * decoded; a fragment is valid only when it lies inside its message
 * (frag_off + frag_len <= length), which is all the flight layer's reassembly needs
 * to trust. The suite table is static and ordered by tern's preference: AES-128-GCM
 * first (fast everywhere with AES-NI), then AES-256-GCM, then ChaCha20-Poly1305.
 */
#include "hs/msg.h"

/* see msg.h */
const char *tern_hs_type_name(int type)
{
    switch (type) {
    case TERN_HS_HELLO_REQUEST: return "hello_request";
    case TERN_HS_CLIENT_HELLO: return "client_hello";
    case TERN_HS_SERVER_HELLO: return "server_hello";
    case TERN_HS_HELLO_VERIFY_REQUEST: return "hello_verify_request";
    case TERN_HS_NEW_SESSION_TICKET: return "new_session_ticket";
    case TERN_HS_END_OF_EARLY_DATA: return "end_of_early_data";
    case TERN_HS_ENCRYPTED_EXTENSIONS: return "encrypted_extensions";
    case TERN_HS_REQUEST_CONNECTION_ID: return "request_connection_id";
    case TERN_HS_NEW_CONNECTION_ID: return "new_connection_id";
    case TERN_HS_CERTIFICATE: return "certificate";
    case TERN_HS_SERVER_KEY_EXCHANGE: return "server_key_exchange";
    case TERN_HS_CERTIFICATE_REQUEST: return "certificate_request";
    case TERN_HS_SERVER_HELLO_DONE: return "server_hello_done";
    case TERN_HS_CERTIFICATE_VERIFY: return "certificate_verify";
    case TERN_HS_CLIENT_KEY_EXCHANGE: return "client_key_exchange";
    case TERN_HS_FINISHED: return "finished";
    case TERN_HS_KEY_UPDATE: return "key_update";
    case TERN_HS_MESSAGE_HASH: return "message_hash";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------------ header */

/* see msg.h */
tern_err tern_hs_hdr_parse(tern_rd *r, tern_hs_hdr *h, const uint8_t **frag)
{
    tern_rd save = *r;
    if (tern_rd_left(r) < TERN_HS_HDR_LEN)
        return TERN_ERR_DECODE;
    tern_hs_hdr v;
    /* cannot fail: the whole header is there */
    (void)(tern_rd_u8(r, &v.type) && tern_rd_u24(r, &v.length) && tern_rd_u16(r, &v.msg_seq) &&
           tern_rd_u24(r, &v.frag_off) && tern_rd_u24(r, &v.frag_len));
    /* RFC 6347 §4.2.3: a fragment carries bytes frag_off .. frag_off+frag_len of a
     * message of |length| bytes; one that reaches past the end describes no message. */
    if (v.frag_off > v.length || v.frag_len > v.length - v.frag_off ||
        !tern_rd_bytes(r, v.frag_len, frag)) {
        *r = save;
        return TERN_ERR_DECODE;
    }
    *h = v;
    return TERN_OK;
}

/* see msg.h */
tern_err tern_hs_hdr_build(tern_wr *w, const tern_hs_hdr *h)
{
    const uint32_t max = (1u << 24) - 1;
    if (h->length > max || h->frag_off > h->length || h->frag_len > h->length - h->frag_off)
        return TERN_ERR_ARG;
    tern_wr_u8(w, h->type);
    tern_wr_u24(w, h->length);
    tern_wr_u16(w, h->msg_seq);
    tern_wr_u24(w, h->frag_off);
    tern_wr_u24(w, h->frag_len);
    return tern_hs_wr_result(w);
}

/* ------------------------------------------------------------------ suites */

static const tern_suite_info suites[] = {
    {TERN_SUITE_ECDHE_ECDSA_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
     TERN_KX_ECDHE, TERN_AUTH_ECDSA, TERN_AEAD_AES_128_GCM, TERN_HASH_SHA256, 16, 4, 8},
    {TERN_SUITE_ECDHE_RSA_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
     TERN_KX_ECDHE, TERN_AUTH_RSA, TERN_AEAD_AES_128_GCM, TERN_HASH_SHA256, 16, 4, 8},
    {TERN_SUITE_ECDHE_ECDSA_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
     TERN_KX_ECDHE, TERN_AUTH_ECDSA, TERN_AEAD_AES_256_GCM, TERN_HASH_SHA384, 32, 4, 8},
    {TERN_SUITE_ECDHE_RSA_AES_256_GCM_SHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     TERN_KX_ECDHE, TERN_AUTH_RSA, TERN_AEAD_AES_256_GCM, TERN_HASH_SHA384, 32, 4, 8},
    {TERN_SUITE_ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", TERN_KX_ECDHE, TERN_AUTH_ECDSA,
     TERN_AEAD_CHACHA20_POLY1305, TERN_HASH_SHA256, 32, 12, 0},
    {TERN_SUITE_ECDHE_RSA_CHACHA20_POLY1305_SHA256, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     TERN_KX_ECDHE, TERN_AUTH_RSA, TERN_AEAD_CHACHA20_POLY1305, TERN_HASH_SHA256, 32, 12, 0},
};

/* see msg.h */
const tern_suite_info *tern_suite_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/* see msg.h */
const tern_suite_info *tern_suite_at(size_t i)
{
    return i < sizeof suites / sizeof suites[0] ? &suites[i] : NULL;
}

/* ------------------------------------------------------------------ shared pieces */

/* see msg.h */
bool tern_hs_signature_read(tern_rd *r, tern_hs_signature *sig)
{
    tern_rd save = *r, body;
    uint16_t scheme;
    if (!tern_rd_u16(r, &scheme) || !tern_rd_vec16(r, &body)) {
        *r = save;
        return false;
    }
    sig->scheme = scheme;
    sig->sig = body.p;
    sig->sig_len = tern_rd_left(&body);
    return true;
}

/* see msg.h */
bool tern_hs_signature_write(tern_wr *w, const tern_hs_signature *sig)
{
    if (sig->sig_len > UINT16_MAX || (sig->sig == NULL && sig->sig_len > 0))
        return false;
    tern_wr_u16(w, sig->scheme);
    size_t at = tern_wr_open16(w);
    tern_wr_bytes(w, sig->sig, sig->sig_len);
    tern_wr_close16(w, at);
    return true;
}

/* see msg.h */
void tern_hs_write_u16_list(tern_wr *w, const uint16_t *v, size_t n)
{
    size_t at = tern_wr_open16(w);
    for (size_t i = 0; i < n; i++)
        tern_wr_u16(w, v[i]);
    tern_wr_close16(w, at);
}

/* see msg.h */
bool tern_hs_read_u16_list(tern_rd list, uint16_t *out, size_t cap, size_t *n)
{
    if (tern_rd_done(&list) || tern_rd_left(&list) % 2 != 0)
        return false;
    size_t kept = 0;
    uint16_t v;
    while (tern_rd_u16(&list, &v))
        if (kept < cap)
            out[kept++] = v;
    *n = kept;
    return true;
}
