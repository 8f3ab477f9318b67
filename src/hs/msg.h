/*
 * msg.h - handshake message codecs: the DTLS handshake header, the cipher-suite
 * table, and one parse/build pair per DTLS 1.2 handshake message.
 *
 * Every parser reads a message BODY (the bytes after the 12-byte DTLS handshake
 * header, reassembled by the flight layer) through tern_rd, checks it against the
 * RFC's syntax, and fills a struct whose pointers go INTO the body: nothing is
 * copied or allocated, so the struct is valid as long as the body is. Lists of
 * 16-bit values are decoded into fixed arrays; when the peer sends more than an
 * array holds, the rest is still parsed and checked, then dropped. A body with
 * bytes left over, or a vector not used up, is TERN_ERR_DECODE.
 *
 * Every builder writes the BODY only (the flight layer adds the handshake header)
 * from the same struct, into a tern_wr. Builders check their input first
 * (TERN_ERR_ARG for a field out of its RFC range), so the only other failure is
 * TERN_ERR_BUF: |w| had no room, and its err flag is set. After any failure the
 * bytes written to |w| mean nothing.
 *
 * Parsers check syntax and what the RFCs make part of a message's validity (for
 * example that compression_methods holds null). Whether a value is acceptable in
 * this handshake (the suite the server chose was offered, the version, the group)
 * is for the state machines.
 *
 * TLS 1.3 messages whose layout differs (Certificate, CertificateRequest, ...) will
 * get their own codecs beside these (tern_certificate13_*); ClientHello, ServerHello
 * and CertificateVerify already have the TLS 1.3 layout.
 */
#ifndef TERN_HS_MSG_H
#define TERN_HS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "hs/ext.h"
#include "tern/tern.h"
#include "wire.h"

/* ------------------------------------------------------------------ versions, sizes */

#define TERN_DTLS_1_0 0xfeff
#define TERN_DTLS_1_2 0xfefd
#define TERN_DTLS_1_3 0xfefc

#define TERN_RANDOM_LEN 32
#define TERN_SESSION_ID_MAX 32  /* SessionID <0..32> */
#define TERN_COOKIE_MAX 255     /* RFC 6347 §4.2.1: opaque cookie<0..2^8-1> */
#define TERN_FINISHED12_LEN 12  /* RFC 5246 §7.4.9 verify_data_length */
#define TERN_MAX_SUITES 64      /* cipher suites kept from a ClientHello */
#define TERN_MAX_CHAIN 10       /* certificates accepted in a Certificate message */
#define TERN_MAX_CAS 16         /* certificate_authorities kept from a CertificateRequest */

/* ------------------------------------------------------------------ handshake types */

/* HandshakeType, by IANA number (RFC 5246, RFC 6347, RFC 8446, RFC 9147). */
typedef enum tern_hs_type {
    TERN_HS_HELLO_REQUEST = 0,
    TERN_HS_CLIENT_HELLO = 1,
    TERN_HS_SERVER_HELLO = 2,
    TERN_HS_HELLO_VERIFY_REQUEST = 3,
    TERN_HS_NEW_SESSION_TICKET = 4,
    TERN_HS_END_OF_EARLY_DATA = 5,
    TERN_HS_ENCRYPTED_EXTENSIONS = 8,
    TERN_HS_REQUEST_CONNECTION_ID = 9,
    TERN_HS_NEW_CONNECTION_ID = 10,
    TERN_HS_CERTIFICATE = 11,
    TERN_HS_SERVER_KEY_EXCHANGE = 12,
    TERN_HS_CERTIFICATE_REQUEST = 13,
    TERN_HS_SERVER_HELLO_DONE = 14,
    TERN_HS_CERTIFICATE_VERIFY = 15,
    TERN_HS_CLIENT_KEY_EXCHANGE = 16,
    TERN_HS_FINISHED = 20,
    TERN_HS_KEY_UPDATE = 24,
    TERN_HS_MESSAGE_HASH = 254,
} tern_hs_type;

/* The message's name as the RFCs spell it ("client_hello"); "unknown" otherwise. */
const char *tern_hs_type_name(int type);

/* ------------------------------------------------------------------ DTLS handshake header */

#define TERN_HS_HDR_LEN 12

/* RFC 6347 §4.2.2: the header in front of every handshake fragment. */
typedef struct tern_hs_hdr {
    uint8_t type;      /* tern_hs_type */
    uint32_t length;   /* of the whole message body */
    uint16_t msg_seq;
    uint32_t frag_off; /* where this fragment starts in the body */
    uint32_t frag_len; /* bytes of body in this fragment */
} tern_hs_hdr;

/*
 * Read one handshake fragment from |r| (a record's plaintext may hold several):
 * the header into |h|, and |*frag| pointed at its h->frag_len body bytes inside
 * |r|'s buffer. |r| moves past the fragment; on failure |r| is unchanged.
 * Errors: TERN_ERR_DECODE (short header, fragment body shorter than frag_len, or a
 * fragment reaching past the message: frag_off + frag_len > length).
 */
TERN_MUST_USE tern_err tern_hs_hdr_parse(tern_rd *r, tern_hs_hdr *h, const uint8_t **frag);

/* Write the 12-byte header |h|. For the transcript (RFC 6347 §4.2.6) pass the
 * unfragmented form: frag_off 0, frag_len = length.
 * Errors: TERN_ERR_ARG (a length >= 2^24, or frag_off + frag_len > length), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_hs_hdr_build(tern_wr *w, const tern_hs_hdr *h);

/* ------------------------------------------------------------------ cipher suites */

enum {
    TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff, /* RFC 5746 §3.3 */
    TERN_SUITE_FALLBACK_SCSV = 0x5600,                 /* RFC 7507 */
    TERN_SUITE_ECDHE_ECDSA_AES_128_GCM_SHA256 = 0xc02b,
    TERN_SUITE_ECDHE_RSA_AES_128_GCM_SHA256 = 0xc02f,
    TERN_SUITE_ECDHE_ECDSA_AES_256_GCM_SHA384 = 0xc02c,
    TERN_SUITE_ECDHE_RSA_AES_256_GCM_SHA384 = 0xc030,
    TERN_SUITE_ECDHE_ECDSA_CHACHA20_POLY1305_SHA256 = 0xcca9,
    TERN_SUITE_ECDHE_RSA_CHACHA20_POLY1305_SHA256 = 0xcca8,
};

typedef enum tern_kx_alg {
    TERN_KX_ECDHE,
} tern_kx_alg;

typedef enum tern_auth_alg {
    TERN_AUTH_ECDSA,
    TERN_AUTH_RSA,
} tern_auth_alg;

/* What a TLS 1.2 cipher suite means. */
typedef struct tern_suite_info {
    uint16_t id;
    const char *name;      /* IANA name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" */
    tern_kx_alg kx;
    tern_auth_alg auth;
    tern_aead_alg aead;
    tern_hash_alg prf;     /* PRF and Finished hash (RFC 5246 §5) */
    uint8_t key_len;       /* enc_key_length */
    uint8_t fixed_iv_len;  /* from the key block: 4 for GCM (RFC 5288 §3), 12 for ChaCha */
    uint8_t record_iv_len; /* explicit nonce per record: 8 for GCM, 0 for ChaCha (RFC 7905 §2) */
} tern_suite_info;

/* The suite |id|, or NULL when tern does not implement it (SCSVs included). */
const tern_suite_info *tern_suite_find(uint16_t id);

/* The |i|th suite tern implements (in tern's order of preference), or NULL past the end. */
const tern_suite_info *tern_suite_at(size_t i);

/* ------------------------------------------------------------------ ClientHello */

/* RFC 5246 §7.4.1.2 with the DTLS cookie (RFC 6347 §4.2.1); the TLS 1.3 and DTLS 1.3
 * ClientHello has the same layout (legacy_cookie). */
typedef struct tern_client_hello {
    uint16_t version;
    const uint8_t *random; /* TERN_RANDOM_LEN bytes */
    const uint8_t *session_id;
    size_t session_id_len; /* 0..32 */
    const uint8_t *cookie;
    size_t cookie_len;     /* 0..255 */
    uint16_t suites[TERN_MAX_SUITES]; /* the first TERN_MAX_SUITES offered, in order */
    size_t n_suites;
    const uint8_t *suites_wire; /* parse: the whole list as sent (2 bytes each) */
    size_t suites_wire_len;
    const uint8_t *comp;   /* compression methods, 1 byte each; build: NULL means {null} */
    size_t comp_len;
    tern_exts ext;
    const uint8_t *body;   /* parse: the whole body, for tern_client_hello_cookie_ranges */
    size_t body_len;
} tern_client_hello;

/*
 * Parse a ClientHello body. Errors: TERN_ERR_DECODE (malformed; session_id over 32
 * bytes; cipher_suites empty or of odd length; compression_methods empty or without
 * null(0) (RFC 5246 §7.4.1.2); bytes after the extensions), and what
 * tern_ext_parse returns for the extension block.
 */
TERN_MUST_USE tern_err tern_client_hello_parse(const uint8_t *body, size_t len,
                                               tern_client_hello *out);

/* Build a ClientHello body from |in| (version, random, session_id, cookie, suites[0..
 * n_suites), comp, ext). Errors: TERN_ERR_ARG (random NULL, session_id over 32,
 * cookie over 255, no suite, compression list empty/over 255 or without null),
 * those of tern_ext_build_block, TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_client_hello_build(tern_wr *w, const tern_client_hello *in);

/* Whether |ch| offers |suite|: searches the whole list as sent (suites_wire) when the
 * hello was parsed, else suites[]. Use it for the SCSVs, which may sit past the kept
 * ones. */
bool tern_client_hello_offers(const tern_client_hello *ch, uint16_t suite);

/* The start of a ClientHello body, up to the end of compression_methods: what a
 * stateless front door needs, readable from the first fragment of a fragmented
 * ClientHello. Pointers go into the body. */
typedef struct tern_client_hello_prefix {
    uint16_t version;
    const uint8_t *cookie;
    size_t cookie_len;
    tern_iov parts[2]; /* as parts[0] and parts[1] of tern_client_hello_cookie_ranges */
    size_t len;        /* bytes of the body the prefix takes */
} tern_client_hello_prefix;

/* Read the prefix of a ClientHello body from its first |len| bytes (the whole body,
 * or only its first fragment). Errors: TERN_ERR_DECODE (malformed: session_id over
 * 32, cipher_suites empty or odd, compression_methods empty; or cut before the end
 * of compression_methods). */
TERN_MUST_USE tern_err tern_client_hello_parse_prefix(const uint8_t *body, size_t len,
                                                      tern_client_hello_prefix *out);

/*
 * The bytes a stateless cookie binds: the parsed ClientHello |ch| without its cookie
 * field. parts[0] is version, random and session_id (with its length); parts[1] is
 * cipher_suites and compression_methods (with their lengths); parts[2] is the
 * extension block with its length (empty when there is none). Concatenated they are
 * the ClientHello minus the cookie, which the cookie's HMAC covers (RFC 6347 §4.2.1).
 * A server that binds only what §4.2.1 says the client MUST repeat (version, random,
 * session_id, cipher_suites, compression_method) leaves out parts[2].
 * Errors: TERN_ERR_ARG when |ch| was not filled by tern_client_hello_parse.
 */
TERN_MUST_USE tern_err tern_client_hello_cookie_ranges(const tern_client_hello *ch,
                                                       tern_iov parts[3]);

/* ------------------------------------------------------------------ ServerHello */

/* RFC 5246 §7.4.1.3 (same layout as TLS 1.3's ServerHello and HelloRetryRequest). */
typedef struct tern_server_hello_msg {
    uint16_t version;
    const uint8_t *random; /* TERN_RANDOM_LEN bytes */
    const uint8_t *session_id;
    size_t session_id_len;
    uint16_t suite;
    uint8_t compression;   /* the state machine requires null(0) */
    tern_exts ext;
} tern_server_hello_msg;

/* Errors: TERN_ERR_DECODE (malformed, session_id over 32, trailing bytes), and what
 * tern_ext_parse returns. */
TERN_MUST_USE tern_err tern_server_hello_parse(const uint8_t *body, size_t len,
                                               tern_server_hello_msg *out);
/* Errors: TERN_ERR_ARG (random NULL, session_id over 32), tern_ext_build_block's,
 * TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_server_hello_build(tern_wr *w, const tern_server_hello_msg *in);

/* ------------------------------------------------------------------ HelloVerifyRequest */

/* RFC 6347 §4.2.1. A DTLS 1.2 server SHOULD send version TERN_DTLS_1_0 here. */
typedef struct tern_hello_verify {
    uint16_t version;
    const uint8_t *cookie;
    size_t cookie_len; /* 0..255 */
} tern_hello_verify;

/* Errors: TERN_ERR_DECODE. */
TERN_MUST_USE tern_err tern_hello_verify_parse(const uint8_t *body, size_t len,
                                               tern_hello_verify *out);
/* Errors: TERN_ERR_ARG (cookie over 255), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_hello_verify_build(tern_wr *w, const tern_hello_verify *in);

/* ------------------------------------------------------------------ Certificate */

/* RFC 5246 §7.4.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>, leaf first.
 * certs[] points into the message; a tern_chain can point at it for verification. */
typedef struct tern_certificate {
    tern_der certs[TERN_MAX_CHAIN];
    size_t count; /* 0 is valid: a client with no certificate */
} tern_certificate;

/* Errors: TERN_ERR_DECODE (malformed, an empty certificate, trailing bytes);
 * TERN_ERR_TOO_BIG for a well-formed list of more than TERN_MAX_CHAIN certificates. */
TERN_MUST_USE tern_err tern_certificate_parse(const uint8_t *body, size_t len,
                                              tern_certificate *out);
/* Errors: TERN_ERR_ARG (count over TERN_MAX_CHAIN, an empty or NULL certificate, a
 * list over 2^24-1 bytes), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_certificate_build(tern_wr *w, const tern_certificate *in);

/* ------------------------------------------------------------------ signatures */

/* A TLS 1.2 digitally-signed element (RFC 5246 §4.7 with §7.4.1.4.1), which is also
 * the whole body of a TLS 1.2 or 1.3 CertificateVerify. */
typedef struct tern_hs_signature {
    uint16_t scheme;    /* SignatureAndHashAlgorithm / SignatureScheme (tern_sigscheme) */
    const uint8_t *sig;
    size_t sig_len;     /* opaque signature<0..2^16-1> */
} tern_hs_signature;

/* ------------------------------------------------------------------ ServerKeyExchange */

#define TERN_CURVE_TYPE_NAMED 3 /* RFC 8422 §5.4 ECCurveType named_curve */

/* RFC 8422 §5.4: ServerECDHParams (named curve only) and their signature. */
typedef struct tern_server_kx {
    uint16_t group;        /* NamedCurve (tern_group) */
    const uint8_t *point;  /* ECPoint point<1..2^8-1> */
    size_t point_len;
    tern_hs_signature sig; /* over client_random || server_random || params */
    const uint8_t *params; /* parse: the ServerECDHParams bytes as received */
    size_t params_len;
} tern_server_kx;

/* Errors: TERN_ERR_DECODE (malformed, empty point, trailing bytes);
 * TERN_ERR_UNSUPPORTED for a curve_type other than named_curve (explicit curves are
 * deprecated, RFC 8422 §5.4). */
TERN_MUST_USE tern_err tern_server_kx_parse(const uint8_t *body, size_t len,
                                            tern_server_kx *out);
/* Errors: TERN_ERR_ARG (point empty or over 255 bytes, signature over 65535 bytes or
 * NULL with a length), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_server_kx_build(tern_wr *w, const tern_server_kx *in);

/* Write the exact bytes the ServerKeyExchange signature covers (RFC 8422 §5.4):
 * |client_random| || |server_random| (32 bytes each) || ServerECDHParams of |kx|
 * (group and point; for a parsed message these are the params as received).
 * Errors: TERN_ERR_ARG (point empty or over 255), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_server_kx_signed_data(tern_wr *w, const uint8_t *client_random,
                                                  const uint8_t *server_random,
                                                  const tern_server_kx *kx);

/* ------------------------------------------------------------------ CertificateRequest */

enum {
    TERN_CERT_TYPE_RSA_SIGN = 1,
    TERN_CERT_TYPE_ECDSA_SIGN = 64, /* RFC 8422 §5.5 */
};

/* RFC 5246 §7.4.4. */
typedef struct tern_cert_request {
    const uint8_t *cert_types; /* ClientCertificateType<1..2^8-1>, 1 byte each */
    size_t n_cert_types;
    uint16_t sigschemes[TERN_MAX_SIGSCHEMES];
    size_t n_sigschemes;
    tern_der cas[TERN_MAX_CAS]; /* DER DistinguishedNames, the first TERN_MAX_CAS */
    size_t n_cas;
    const uint8_t *cas_wire;    /* parse: the whole certificate_authorities list */
    size_t cas_wire_len;
} tern_cert_request;

/* Errors: TERN_ERR_DECODE (malformed; no certificate type; signature list empty or
 * odd; an empty DistinguishedName; trailing bytes). */
TERN_MUST_USE tern_err tern_cert_request_parse(const uint8_t *body, size_t len,
                                               tern_cert_request *out);
/* Errors: TERN_ERR_ARG (no certificate type or over 255, no scheme or
 * over TERN_MAX_SIGSCHEMES, over TERN_MAX_CAS names, an empty name, names over
 * 65535 bytes in all), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_cert_request_build(tern_wr *w, const tern_cert_request *in);

/* ------------------------------------------------------------------ ServerHelloDone */

/* RFC 5246 §7.4.5: an empty body. Errors: TERN_ERR_DECODE when |len| is not 0. */
TERN_MUST_USE tern_err tern_server_hello_done_parse(const uint8_t *body, size_t len);
/* Writes nothing. Errors: TERN_ERR_BUF when |w| already failed. */
TERN_MUST_USE tern_err tern_server_hello_done_build(tern_wr *w);

/* ------------------------------------------------------------------ ClientKeyExchange */

/* RFC 8422 §5.7 ClientECDiffieHellmanPublic, explicit form: ECPoint ecdh_Yc. */
typedef struct tern_client_kx {
    const uint8_t *point; /* 1..255 bytes */
    size_t point_len;
} tern_client_kx;

/* Errors: TERN_ERR_DECODE (empty point, malformed, trailing bytes). */
TERN_MUST_USE tern_err tern_client_kx_parse(const uint8_t *body, size_t len,
                                            tern_client_kx *out);
/* Errors: TERN_ERR_ARG (point empty or over 255 bytes), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_client_kx_build(tern_wr *w, const tern_client_kx *in);

/* ------------------------------------------------------------------ CertificateVerify */

/* RFC 5246 §7.4.8 (and RFC 8446 §4.4.3: same layout). */
typedef tern_hs_signature tern_cert_verify;

/* Errors: TERN_ERR_DECODE (malformed, trailing bytes). */
TERN_MUST_USE tern_err tern_cert_verify_parse(const uint8_t *body, size_t len,
                                              tern_cert_verify *out);
/* Errors: TERN_ERR_ARG (signature over 65535 bytes, or NULL with a length), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_cert_verify_build(tern_wr *w, const tern_cert_verify *in);

/* ------------------------------------------------------------------ Finished */

/* RFC 5246 §7.4.9: verify_data, TERN_FINISHED12_LEN bytes for every suite tern has. */
typedef struct tern_finished {
    const uint8_t *verify_data;
    size_t len;
} tern_finished;

/* Errors: TERN_ERR_DECODE when |len| is not TERN_FINISHED12_LEN. */
TERN_MUST_USE tern_err tern_finished_parse(const uint8_t *body, size_t len, tern_finished *out);
/* Errors: TERN_ERR_ARG (len not TERN_FINISHED12_LEN, or verify_data NULL), TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_finished_build(tern_wr *w, const tern_finished *in);

/* ------------------------------------------------------------------ internal helpers */

/* Read a digitally-signed element from |r| (scheme, then opaque<0..2^16-1>).
 * False, |r| unchanged, when malformed. */
bool tern_hs_signature_read(tern_rd *r, tern_hs_signature *sig);

/* Write one; false (nothing written) when the signature is over 65535 bytes or NULL
 * with a length. */
bool tern_hs_signature_write(tern_wr *w, const tern_hs_signature *sig);

/* Write a list of 16-bit values as <2..2^16-2> (the caller checks n > 0). */
void tern_hs_write_u16_list(tern_wr *w, const uint16_t *v, size_t n);

/* Read a <2..2^16-2> list of 16-bit values from the bounded reader |list| (its
 * length already split off) into |out| (the first |cap|; *n gets how many were
 * kept). False when the list is empty or of odd length. */
bool tern_hs_read_u16_list(tern_rd list, uint16_t *out, size_t cap, size_t *n);

/* TERN_ERR_BUF when |w| failed, else TERN_OK: the single check at the end of a builder. */
static inline tern_err tern_hs_wr_result(const tern_wr *w)
{
    return w->err ? TERN_ERR_BUF : TERN_OK;
}

#endif /* TERN_HS_MSG_H */
