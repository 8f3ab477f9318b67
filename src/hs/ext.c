/*
 * ext.c - see ext.h.
 *
 * Parsing walks the block once. Each extension's header is read, its type looked up
 * in the table below (tern's index), and the duplicate check made: known types by
 * their bit in |seen|, unknown types against a small array of the ones met so far,
 * so the check costs no memory beyond the stack and at most
 * TERN_MAX_UNKNOWN_EXTS comparisons per extension. Bodies tern needs are decoded by
 * one function each, which must use its body up; the rest are skipped.
 *
 * Building writes each extension as type, a reserved 16-bit length, the body, then
 * the back-patched length. Inputs are range-checked before anything is written.
 */
#include "hs/ext.h"

#include <string.h>

#include "hs/msg.h"

static const struct {
    uint16_t type;
    const char *name;
} ext_table[TERN_EXTI_COUNT] = {
    [TERN_EXTI_SERVER_NAME] = {TERN_EXT_SERVER_NAME, "server_name"},
    [TERN_EXTI_MAX_FRAGMENT_LENGTH] = {TERN_EXT_MAX_FRAGMENT_LENGTH, "max_fragment_length"},
    [TERN_EXTI_STATUS_REQUEST] = {TERN_EXT_STATUS_REQUEST, "status_request"},
    [TERN_EXTI_SUPPORTED_GROUPS] = {TERN_EXT_SUPPORTED_GROUPS, "supported_groups"},
    [TERN_EXTI_EC_POINT_FORMATS] = {TERN_EXT_EC_POINT_FORMATS, "ec_point_formats"},
    [TERN_EXTI_SIGNATURE_ALGORITHMS] = {TERN_EXT_SIGNATURE_ALGORITHMS, "signature_algorithms"},
    [TERN_EXTI_USE_SRTP] = {TERN_EXT_USE_SRTP, "use_srtp"},
    [TERN_EXTI_HEARTBEAT] = {TERN_EXT_HEARTBEAT, "heartbeat"},
    [TERN_EXTI_ALPN] = {TERN_EXT_ALPN, "application_layer_protocol_negotiation"},
    [TERN_EXTI_SCT] = {TERN_EXT_SCT, "signed_certificate_timestamp"},
    [TERN_EXTI_PADDING] = {TERN_EXT_PADDING, "padding"},
    [TERN_EXTI_ENCRYPT_THEN_MAC] = {TERN_EXT_ENCRYPT_THEN_MAC, "encrypt_then_mac"},
    [TERN_EXTI_EXTENDED_MASTER_SECRET] = {TERN_EXT_EXTENDED_MASTER_SECRET,
                                          "extended_master_secret"},
    [TERN_EXTI_RECORD_SIZE_LIMIT] = {TERN_EXT_RECORD_SIZE_LIMIT, "record_size_limit"},
    [TERN_EXTI_SESSION_TICKET] = {TERN_EXT_SESSION_TICKET, "session_ticket"},
    [TERN_EXTI_PRE_SHARED_KEY] = {TERN_EXT_PRE_SHARED_KEY, "pre_shared_key"},
    [TERN_EXTI_EARLY_DATA] = {TERN_EXT_EARLY_DATA, "early_data"},
    [TERN_EXTI_SUPPORTED_VERSIONS] = {TERN_EXT_SUPPORTED_VERSIONS, "supported_versions"},
    [TERN_EXTI_COOKIE] = {TERN_EXT_COOKIE, "cookie"},
    [TERN_EXTI_PSK_KEY_EXCHANGE_MODES] = {TERN_EXT_PSK_KEY_EXCHANGE_MODES,
                                          "psk_key_exchange_modes"},
    [TERN_EXTI_CERTIFICATE_AUTHORITIES] = {TERN_EXT_CERTIFICATE_AUTHORITIES,
                                           "certificate_authorities"},
    [TERN_EXTI_POST_HANDSHAKE_AUTH] = {TERN_EXT_POST_HANDSHAKE_AUTH, "post_handshake_auth"},
    [TERN_EXTI_SIGNATURE_ALGORITHMS_CERT] = {TERN_EXT_SIGNATURE_ALGORITHMS_CERT,
                                             "signature_algorithms_cert"},
    [TERN_EXTI_KEY_SHARE] = {TERN_EXT_KEY_SHARE, "key_share"},
    [TERN_EXTI_CONNECTION_ID] = {TERN_EXT_CONNECTION_ID, "connection_id"},
    [TERN_EXTI_RENEGOTIATION_INFO] = {TERN_EXT_RENEGOTIATION_INFO, "renegotiation_info"},
};

/* see ext.h */
tern_ext_idx tern_ext_index(uint16_t type)
{
    for (int i = 0; i < TERN_EXTI_COUNT; i++)
        if (ext_table[i].type == type)
            return (tern_ext_idx)i;
    return TERN_EXTI_COUNT;
}

/* see ext.h */
uint16_t tern_ext_type(tern_ext_idx i) { return ext_table[i].type; }

/* see ext.h */
const char *tern_ext_name(uint16_t type)
{
    tern_ext_idx i = tern_ext_index(type);
    return i == TERN_EXTI_COUNT ? "unknown" : ext_table[i].name;
}

/* ------------------------------------------------------------------ parsing */

/* A vector16 of 16-bit values, non-empty and even (<2..2^16-2> and the like), read
 * from |r| into |out| (the first |cap|). */
static bool ext_read_u16_list(tern_rd *r, uint16_t *out, size_t cap, size_t *n)
{
    tern_rd list;
    return tern_rd_vec16(r, &list) && tern_hs_read_u16_list(list, out, cap, n);
}

static tern_err ext_server_name(tern_rd body, tern_ext_msg msg, tern_exts *out)
{
    /* RFC 6066 §3: the server's extension_data "SHALL be empty". */
    if (msg == TERN_EXT_IN_SERVER_HELLO)
        return tern_rd_done(&body) ? TERN_OK : TERN_ERR_DECODE;
    tern_rd list;
    if (!tern_rd_vec16(&body, &list) || !tern_rd_done(&body) || tern_rd_done(&list))
        return TERN_ERR_DECODE; /* ServerNameList server_name_list<1..2^16-1> */
    while (!tern_rd_done(&list)) {
        uint8_t type;
        tern_rd name;
        /* Every name type defined so far is opaque<1..2^16-1>; read unknown ones
         * the same way and skip them. */
        if (!tern_rd_u8(&list, &type) || !tern_rd_vec16(&list, &name) || tern_rd_done(&name))
            return TERN_ERR_DECODE;
        if (type != TERN_SNI_HOST_NAME)
            continue;
        /* RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of
         * the same name_type." */
        if (out->host != NULL)
            return TERN_ERR_DECODE;
        out->host = name.p;
        out->host_len = tern_rd_left(&name);
    }
    return TERN_OK;
}

static tern_err ext_point_formats(tern_rd body, tern_exts *out)
{
    tern_rd list;
    if (!tern_rd_vec8(&body, &list) || !tern_rd_done(&body) || tern_rd_done(&list))
        return TERN_ERR_DECODE; /* ec_point_format_list<1..2^8-1> */
    out->point_formats = list.p;
    out->point_formats_len = tern_rd_left(&list);
    /* RFC 8422 §5.1.2: a list without uncompressed means the handshake MUST be
     * aborted, with illegal_parameter (which TERN_ERR_BAD_SHARE sends). */
    if (memchr(list.p, TERN_POINT_FORMAT_UNCOMPRESSED, tern_rd_left(&list)) == NULL)
        return TERN_ERR_BAD_SHARE;
    return TERN_OK;
}

static tern_err ext_use_srtp(tern_rd body, tern_ext_msg msg, tern_exts *out)
{
    /* RFC 5764 §4.1.1: UseSRTPData { SRTPProtectionProfiles<2..2^16-1>;
     * opaque srtp_mki<0..255> } */
    tern_rd list, mki;
    if (!tern_rd_vec16(&body, &list) || !tern_rd_vec8(&body, &mki) || !tern_rd_done(&body))
        return TERN_ERR_DECODE;
    /* The server's reply holds "a single SRTPProtectionProfile value". */
    if (msg == TERN_EXT_IN_SERVER_HELLO && tern_rd_left(&list) != 2)
        return TERN_ERR_DECODE;
    if (!tern_hs_read_u16_list(list, out->srtp_profiles, TERN_MAX_SRTP_PROFILES,
                               &out->n_srtp_profiles))
        return TERN_ERR_DECODE;
    out->srtp_mki = mki.p;
    out->srtp_mki_len = tern_rd_left(&mki);
    return TERN_OK;
}

static tern_err ext_decode(tern_ext_idx i, tern_rd body, tern_ext_msg msg, tern_exts *out)
{
    tern_rd v;
    switch (i) {
    case TERN_EXTI_SERVER_NAME:
        return ext_server_name(body, msg, out);
    case TERN_EXTI_SUPPORTED_GROUPS: /* RFC 8422 §5.1.1 named_group_list<2..2^16-1> */
        if (!ext_read_u16_list(&body, out->groups, TERN_MAX_GROUPS, &out->n_groups) ||
            !tern_rd_done(&body))
            return TERN_ERR_DECODE;
        return TERN_OK;
    case TERN_EXTI_EC_POINT_FORMATS:
        return ext_point_formats(body, out);
    case TERN_EXTI_SIGNATURE_ALGORITHMS: /* RFC 5246 §7.4.1.4.1 <2..2^16-2> */
        if (!ext_read_u16_list(&body, out->sigschemes, TERN_MAX_SIGSCHEMES,
                               &out->n_sigschemes) ||
            !tern_rd_done(&body))
            return TERN_ERR_DECODE;
        return TERN_OK;
    case TERN_EXTI_USE_SRTP:
        return ext_use_srtp(body, msg, out);
    case TERN_EXTI_EXTENDED_MASTER_SECRET:
        /* RFC 7627 §5.1: 'The "extension_data" field of this extension is empty.' */
        return tern_rd_done(&body) ? TERN_OK : TERN_ERR_DECODE;
    case TERN_EXTI_RENEGOTIATION_INFO: /* RFC 5746 §3.2 renegotiated_connection<0..255> */
        if (!tern_rd_vec8(&body, &v) || !tern_rd_done(&body))
            return TERN_ERR_DECODE;
        out->reneg = v.p;
        out->reneg_len = tern_rd_left(&v);
        return TERN_OK;
    default:
        return TERN_OK; /* recorded as seen; decoded by whoever needs it */
    }
}

/* see ext.h */
tern_err tern_ext_parse(const uint8_t *data, size_t len, tern_ext_msg msg, tern_exts *out)
{
    memset(out, 0, sizeof *out);
    out->present = true;
    out->block = data;
    out->block_len = len;
    uint16_t unknown[TERN_MAX_UNKNOWN_EXTS];
    tern_rd r = tern_rd_init(data, len);
    while (!tern_rd_done(&r)) {
        uint16_t type;
        tern_rd body;
        if (!tern_rd_u16(&r, &type) || !tern_rd_vec16(&r, &body))
            return TERN_ERR_DECODE;
        /* RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the
         * same type." (RFC 8446 §4.2 says the same.) */
        tern_ext_idx i = tern_ext_index(type);
        if (i == TERN_EXTI_COUNT) {
            for (size_t k = 0; k < out->n_unknown; k++)
                if (unknown[k] == type)
                    return TERN_ERR_DECODE;
            if (out->n_unknown == TERN_MAX_UNKNOWN_EXTS)
                return TERN_ERR_TOO_BIG;
            unknown[out->n_unknown++] = type;
            continue;
        }
        if (out->seen & TERN_EXT_BIT(i))
            return TERN_ERR_DECODE;
        out->seen |= TERN_EXT_BIT(i);
        tern_err err = ext_decode(i, body, msg, out);
        if (err != TERN_OK)
            return err;
    }
    return TERN_OK;
}

/* see ext.h */
bool tern_ext_find(const tern_exts *e, uint16_t type, tern_rd *body)
{
    if (e->block == NULL)
        return false;
    tern_rd r = tern_rd_init(e->block, e->block_len), b;
    uint16_t t;
    while (tern_rd_u16(&r, &t) && tern_rd_vec16(&r, &b)) {
        if (t == type) {
            *body = b;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ building */

/* see ext.h */
tern_err tern_ext_build_server_name(tern_wr *w, const uint8_t *host, size_t len)
{
    bool ok = host == NULL ? len == 0 : len > 0 && len <= TERN_SNI_MAX_LEN;
    if (!ok)
        return TERN_ERR_ARG;
    tern_wr_u16(w, TERN_EXT_SERVER_NAME);
    size_t at = tern_wr_open16(w);
    if (host != NULL) {
        size_t list = tern_wr_open16(w);
        tern_wr_u8(w, TERN_SNI_HOST_NAME);
        size_t name = tern_wr_open16(w);
        tern_wr_bytes(w, host, len);
        tern_wr_close16(w, name);
        tern_wr_close16(w, list);
    }
    tern_wr_close16(w, at);
    return tern_hs_wr_result(w);
}

static tern_err ext_build_u16s(tern_wr *w, uint16_t type, const uint16_t *v, size_t n,
                               size_t max)
{
    if (n == 0 || n > max || v == NULL)
        return TERN_ERR_ARG;
    tern_wr_u16(w, type);
    size_t at = tern_wr_open16(w);
    tern_hs_write_u16_list(w, v, n);
    tern_wr_close16(w, at);
    return tern_hs_wr_result(w);
}

/* see ext.h */
tern_err tern_ext_build_supported_groups(tern_wr *w, const uint16_t *groups, size_t n)
{
    return ext_build_u16s(w, TERN_EXT_SUPPORTED_GROUPS, groups, n, TERN_MAX_GROUPS);
}

/* see ext.h */
tern_err tern_ext_build_signature_algorithms(tern_wr *w, const uint16_t *schemes, size_t n)
{
    return ext_build_u16s(w, TERN_EXT_SIGNATURE_ALGORITHMS, schemes, n, TERN_MAX_SIGSCHEMES);
}

/* see ext.h */
tern_err tern_ext_build_ec_point_formats(tern_wr *w)
{
    tern_wr_u16(w, TERN_EXT_EC_POINT_FORMATS);
    size_t at = tern_wr_open16(w);
    size_t list = tern_wr_open8(w);
    tern_wr_u8(w, TERN_POINT_FORMAT_UNCOMPRESSED);
    tern_wr_close8(w, list);
    tern_wr_close16(w, at);
    return tern_hs_wr_result(w);
}

/* see ext.h */
tern_err tern_ext_build_empty(tern_wr *w, uint16_t type)
{
    tern_wr_u16(w, type);
    tern_wr_u16(w, 0);
    return tern_hs_wr_result(w);
}

/* see ext.h */
tern_err tern_ext_build_extended_master_secret(tern_wr *w)
{
    return tern_ext_build_empty(w, TERN_EXT_EXTENDED_MASTER_SECRET);
}

/* see ext.h */
tern_err tern_ext_build_renegotiation_info(tern_wr *w, const uint8_t *data, size_t len)
{
    if (len > UINT8_MAX || (data == NULL && len > 0))
        return TERN_ERR_ARG;
    tern_wr_u16(w, TERN_EXT_RENEGOTIATION_INFO);
    size_t at = tern_wr_open16(w);
    size_t v = tern_wr_open8(w);
    tern_wr_bytes(w, data, len);
    tern_wr_close8(w, v);
    tern_wr_close16(w, at);
    return tern_hs_wr_result(w);
}

/* see ext.h */
tern_err tern_ext_build_use_srtp(tern_wr *w, const uint16_t *profiles, size_t n,
                                 const uint8_t *mki, size_t mki_len)
{
    if (n == 0 || n > TERN_MAX_SRTP_PROFILES || profiles == NULL || mki_len > UINT8_MAX ||
        (mki == NULL && mki_len > 0))
        return TERN_ERR_ARG;
    tern_wr_u16(w, TERN_EXT_USE_SRTP);
    size_t at = tern_wr_open16(w);
    tern_hs_write_u16_list(w, profiles, n);
    size_t m = tern_wr_open8(w);
    tern_wr_bytes(w, mki, mki_len);
    tern_wr_close8(w, m);
    tern_wr_close16(w, at);
    return tern_hs_wr_result(w);
}

static tern_err ext_build_one(tern_wr *w, tern_ext_idx i, const tern_exts *e, tern_ext_msg msg)
{
    bool server = msg == TERN_EXT_IN_SERVER_HELLO;
    switch (i) {
    case TERN_EXTI_SERVER_NAME:
        if (server)
            return tern_ext_build_server_name(w, NULL, 0);
        /* A client's server_name without a host_name would be an empty list. */
        return e->host == NULL ? TERN_ERR_ARG
                               : tern_ext_build_server_name(w, e->host, e->host_len);
    case TERN_EXTI_SUPPORTED_GROUPS:
        return tern_ext_build_supported_groups(w, e->groups, e->n_groups);
    case TERN_EXTI_EC_POINT_FORMATS:
        return tern_ext_build_ec_point_formats(w);
    case TERN_EXTI_SIGNATURE_ALGORITHMS:
        return tern_ext_build_signature_algorithms(w, e->sigschemes, e->n_sigschemes);
    case TERN_EXTI_USE_SRTP:
        if (server && e->n_srtp_profiles != 1)
            return TERN_ERR_ARG;
        return tern_ext_build_use_srtp(w, e->srtp_profiles, e->n_srtp_profiles, e->srtp_mki,
                                       e->srtp_mki_len);
    case TERN_EXTI_EXTENDED_MASTER_SECRET:
    case TERN_EXTI_ENCRYPT_THEN_MAC:
    case TERN_EXTI_SESSION_TICKET:
        return tern_ext_build_empty(w, ext_table[i].type);
    case TERN_EXTI_RENEGOTIATION_INFO:
        return tern_ext_build_renegotiation_info(w, e->reneg, e->reneg_len);
    default:
        return TERN_ERR_ARG; /* tern does not send it (yet) */
    }
}

/* see ext.h */
tern_err tern_ext_build_block(tern_wr *w, const tern_exts *e, tern_ext_msg msg)
{
    if (!e->present && e->seen == 0)
        return TERN_OK;
    if (e->seen >> TERN_EXTI_COUNT)
        return TERN_ERR_ARG;
    size_t at = tern_wr_open16(w);
    for (int i = 0; i < TERN_EXTI_COUNT; i++) {
        if (!(e->seen & TERN_EXT_BIT(i)))
            continue;
        tern_err err = ext_build_one(w, (tern_ext_idx)i, e, msg);
        if (err != TERN_OK)
            return err;
    }
    tern_wr_close16(w, at);
    return tern_hs_wr_result(w);
}
