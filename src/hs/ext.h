/*
 * ext.h - hello extensions: one parser for the extension block of a ClientHello or a
 * ServerHello, and one builder per extension tern sends.
 *
 * The parser walks the whole block, rejects any extension type that appears twice,
 * records which known extensions were present as bits of |seen| (by tern's own small
 * index, tern_ext_idx, not by IANA number) and decodes those DTLS 1.2 needs. The
 * others (session_ticket, ALPN, the TLS 1.3 ones, and unknown types) are checked for
 * a well-formed header, recorded and skipped; tern_ext_find() gets at their bodies
 * later. Decoded data points into the parsed message, nothing is copied except
 * lists of 16-bit values, which are kept in fixed arrays (extras are parsed and
 * dropped). TLS 1.3 extensions (supported_versions, key_share, cookie) will be
 * decoded beside these, with their own tern_ext_msg contexts.
 */
#ifndef TERN_HS_EXT_H
#define TERN_HS_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"
#include "wire.h"

/* Extension types, by their IANA numbers. */
enum {
    TERN_EXT_SERVER_NAME = 0,             /* RFC 6066 */
    TERN_EXT_MAX_FRAGMENT_LENGTH = 1,     /* RFC 6066 */
    TERN_EXT_STATUS_REQUEST = 5,          /* RFC 6066 */
    TERN_EXT_SUPPORTED_GROUPS = 10,       /* RFC 8422, RFC 7919 */
    TERN_EXT_EC_POINT_FORMATS = 11,       /* RFC 8422 */
    TERN_EXT_SIGNATURE_ALGORITHMS = 13,   /* RFC 5246, RFC 8446 */
    TERN_EXT_USE_SRTP = 14,               /* RFC 5764 */
    TERN_EXT_HEARTBEAT = 15,              /* RFC 6520 */
    TERN_EXT_ALPN = 16,                   /* RFC 7301 */
    TERN_EXT_SCT = 18,                    /* RFC 6962 */
    TERN_EXT_PADDING = 21,                /* RFC 7685 */
    TERN_EXT_ENCRYPT_THEN_MAC = 22,       /* RFC 7366 */
    TERN_EXT_EXTENDED_MASTER_SECRET = 23, /* RFC 7627 */
    TERN_EXT_RECORD_SIZE_LIMIT = 28,      /* RFC 8449 */
    TERN_EXT_SESSION_TICKET = 35,         /* RFC 5077 */
    TERN_EXT_PRE_SHARED_KEY = 41,         /* RFC 8446 */
    TERN_EXT_EARLY_DATA = 42,
    TERN_EXT_SUPPORTED_VERSIONS = 43,
    TERN_EXT_COOKIE = 44,
    TERN_EXT_PSK_KEY_EXCHANGE_MODES = 45,
    TERN_EXT_CERTIFICATE_AUTHORITIES = 47,
    TERN_EXT_POST_HANDSHAKE_AUTH = 49,
    TERN_EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    TERN_EXT_KEY_SHARE = 51,
    TERN_EXT_CONNECTION_ID = 54,          /* RFC 9146 */
    TERN_EXT_RENEGOTIATION_INFO = 0xff01, /* RFC 5746 */
};

/* tern's own index of the extensions it knows: bit TERN_EXT_BIT(i) of tern_exts.seen. */
typedef enum tern_ext_idx {
    TERN_EXTI_SERVER_NAME,
    TERN_EXTI_MAX_FRAGMENT_LENGTH,
    TERN_EXTI_STATUS_REQUEST,
    TERN_EXTI_SUPPORTED_GROUPS,
    TERN_EXTI_EC_POINT_FORMATS,
    TERN_EXTI_SIGNATURE_ALGORITHMS,
    TERN_EXTI_USE_SRTP,
    TERN_EXTI_HEARTBEAT,
    TERN_EXTI_ALPN,
    TERN_EXTI_SCT,
    TERN_EXTI_PADDING,
    TERN_EXTI_ENCRYPT_THEN_MAC,
    TERN_EXTI_EXTENDED_MASTER_SECRET,
    TERN_EXTI_RECORD_SIZE_LIMIT,
    TERN_EXTI_SESSION_TICKET,
    TERN_EXTI_PRE_SHARED_KEY,
    TERN_EXTI_EARLY_DATA,
    TERN_EXTI_SUPPORTED_VERSIONS,
    TERN_EXTI_COOKIE,
    TERN_EXTI_PSK_KEY_EXCHANGE_MODES,
    TERN_EXTI_CERTIFICATE_AUTHORITIES,
    TERN_EXTI_POST_HANDSHAKE_AUTH,
    TERN_EXTI_SIGNATURE_ALGORITHMS_CERT,
    TERN_EXTI_KEY_SHARE,
    TERN_EXTI_CONNECTION_ID,
    TERN_EXTI_RENEGOTIATION_INFO,
    TERN_EXTI_COUNT
} tern_ext_idx;

#define TERN_EXT_BIT(i) ((uint64_t)1 << (i))

/* The index of IANA extension |type|, or TERN_EXTI_COUNT when tern does not know it. */
tern_ext_idx tern_ext_index(uint16_t type);

/* The IANA number of index |i| (which must be < TERN_EXTI_COUNT). */
uint16_t tern_ext_type(tern_ext_idx i);

/* The extension's name as the RFCs spell it ("extended_master_secret"), static;
 * "unknown" for types tern has no index for. */
const char *tern_ext_name(uint16_t type);

/* Which message an extension block belongs to: some extensions have a different
 * body in the client's and the server's message. */
typedef enum tern_ext_msg {
    TERN_EXT_IN_CLIENT_HELLO,
    TERN_EXT_IN_SERVER_HELLO,
} tern_ext_msg;

/* Bounds of the decoded lists (extras are parsed, checked, and dropped). */
#define TERN_MAX_GROUPS 32
#define TERN_MAX_SIGSCHEMES 32
#define TERN_MAX_SRTP_PROFILES 16
/* Distinct extension types tern has no index for, in one block: a block with more
 * is refused (TERN_ERR_TOO_BIG), which bounds the duplicate check without memory. */
#define TERN_MAX_UNKNOWN_EXTS 32

#define TERN_POINT_FORMAT_UNCOMPRESSED 0 /* RFC 8422 §5.1.2 */
#define TERN_SNI_HOST_NAME 0             /* RFC 6066 §3 NameType host_name */
#define TERN_SNI_MAX_LEN 255             /* longest host_name tern builds */

/* SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2). */
enum {
    TERN_SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001,
    TERN_SRTP_AES128_CM_HMAC_SHA1_32 = 0x0002,
    TERN_SRTP_AEAD_AES_128_GCM = 0x0007,
    TERN_SRTP_AEAD_AES_256_GCM = 0x0008,
};

/*
 * The extensions of one hello message. Filled by tern_ext_parse(), read by
 * tern_ext_build_block() (only the fields named there). Pointers go into the
 * parsed message and live as long as it does.
 */
typedef struct tern_exts {
    bool present;      /* the message had an extensions block (possibly empty) */
    uint64_t seen;     /* TERN_EXT_BIT(idx) of every known extension present */
    size_t n_unknown;  /* extensions of types with no tern index */
    const uint8_t *block; /* parse: the raw block (without its length), for tern_ext_find */
    size_t block_len;

    /* server_name: ClientHello host_name (not NUL-terminated; NULL when no
     * host_name entry); in a ServerHello the extension is empty. */
    const uint8_t *host;
    size_t host_len;

    /* supported_groups: the client's list in its order of preference. */
    uint16_t groups[TERN_MAX_GROUPS];
    size_t n_groups;

    /* ec_point_formats: a valid list always contains uncompressed(0), so only the
     * presence bit matters; the raw list is kept for traces. */
    const uint8_t *point_formats;
    size_t point_formats_len;

    /* signature_algorithms (RFC 5246 §7.4.1.4.1 SignatureAndHashAlgorithm pairs). */
    uint16_t sigschemes[TERN_MAX_SIGSCHEMES];
    size_t n_sigschemes;

    /* renegotiation_info: renegotiated_connection (empty on an initial handshake). */
    const uint8_t *reneg;
    size_t reneg_len;

    /* use_srtp: profiles (the server's has exactly one) and the MKI. */
    uint16_t srtp_profiles[TERN_MAX_SRTP_PROFILES];
    size_t n_srtp_profiles;
    const uint8_t *srtp_mki;
    size_t srtp_mki_len;
} tern_exts;

static inline bool tern_exts_has(const tern_exts *e, tern_ext_idx i)
{
    return (e->seen & TERN_EXT_BIT(i)) != 0;
}

/*
 * Parse the extension block |data|, |len| bytes WITHOUT its 2-byte length (the
 * caller has split it off), found in message |msg|, into |out| (zeroed first; on
 * failure its contents mean nothing). |out| points into |data|.
 * Errors: TERN_ERR_DECODE for a malformed block or extension body, an extension type
 * seen twice (RFC 5246 §7.4.1.4), or a body that breaks its RFC's syntax;
 * TERN_ERR_BAD_SHARE (illegal_parameter) for ec_point_formats without uncompressed
 * (RFC 8422 §5.1.2); TERN_ERR_TOO_BIG for more than TERN_MAX_UNKNOWN_EXTS unknown types.
 */
TERN_MUST_USE tern_err tern_ext_parse(const uint8_t *data, size_t len, tern_ext_msg msg,
                                      tern_exts *out);

/* Find the body of extension |type| in a parsed block |e| (any type, known or
 * not): true and |*body| set to a reader over it, or false when absent. */
bool tern_ext_find(const tern_exts *e, uint16_t type, tern_rd *body);

/*
 * Write the extension block of |e| (its 2-byte length, then the extensions whose
 * bits are set in e->seen, in index order) as for message |msg|. Writes nothing
 * when e->present is false and e->seen is 0. Each extension is built from the
 * fields above. Buildable: server_name, supported_groups, ec_point_formats,
 * signature_algorithms, use_srtp, extended_master_secret, renegotiation_info, and
 * encrypt_then_mac and session_ticket with an empty body.
 * Errors: TERN_ERR_ARG (a bit set for an extension tern cannot build, a field out
 * of its range, a ClientHello server_name without host, a ServerHello use_srtp
 * without exactly one profile), TERN_ERR_BUF (|w| ran out of room). On failure the
 * bytes written to |w| mean nothing.
 */
TERN_MUST_USE tern_err tern_ext_build_block(tern_wr *w, const tern_exts *e, tern_ext_msg msg);

/*
 * One builder per extension tern sends; each writes type, length and body.
 * Errors: TERN_ERR_ARG for a value out of the extension's range (noted below),
 * TERN_ERR_BUF when |w| has no room.
 */
/* ClientHello: host_name |host| (1..TERN_SNI_MAX_LEN bytes). ServerHello: host NULL,
 * an empty body (RFC 6066 §3). */
TERN_MUST_USE tern_err tern_ext_build_server_name(tern_wr *w, const uint8_t *host, size_t len);
/* 1..TERN_MAX_GROUPS groups. */
TERN_MUST_USE tern_err tern_ext_build_supported_groups(tern_wr *w, const uint16_t *groups,
                                                       size_t n);
/* The list tern sends: uncompressed(0) only. */
TERN_MUST_USE tern_err tern_ext_build_ec_point_formats(tern_wr *w);
/* 1..TERN_MAX_SIGSCHEMES schemes. */
TERN_MUST_USE tern_err tern_ext_build_signature_algorithms(tern_wr *w, const uint16_t *schemes,
                                                           size_t n);
TERN_MUST_USE tern_err tern_ext_build_extended_master_secret(tern_wr *w);
/* renegotiated_connection of 0..255 bytes (|data| may be NULL when |len| is 0). */
TERN_MUST_USE tern_err tern_ext_build_renegotiation_info(tern_wr *w, const uint8_t *data,
                                                         size_t len);
/* 1..TERN_MAX_SRTP_PROFILES profiles and an MKI of 0..255 bytes. */
TERN_MUST_USE tern_err tern_ext_build_use_srtp(tern_wr *w, const uint16_t *profiles, size_t n,
                                               const uint8_t *mki, size_t mki_len);
/* An extension with an empty body (encrypt_then_mac, session_ticket request, ...). */
TERN_MUST_USE tern_err tern_ext_build_empty(tern_wr *w, uint16_t type);

#endif /* TERN_HS_EXT_H */
