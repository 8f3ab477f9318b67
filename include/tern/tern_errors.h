/*
 * tern_errors.h - the one list of tern's error codes.
 *
 * Each entry is X(name, value, text, alert): the negative code, the sentence
 * tern_strerror() returns for it, and the TLS alert a fatal error of this kind
 * sends to the peer (NONE: no alert, the error is local or the record is dropped).
 * The enum in tern.h and the table in src/err.c are both generated from this list,
 * so a code, its text and its alert cannot drift apart.
 *
 * Included by tern.h; not meant to be included on its own.
 */
#ifndef TERN_ERRORS_H
#define TERN_ERRORS_H

#define TERN_ERROR_LIST(X)                                                                   \
    X(TERN_ERR_INTERNAL,       -1, "internal error",                         INTERNAL_ERROR) \
    X(TERN_ERR_NOMEM,          -2, "out of memory",                          INTERNAL_ERROR) \
    X(TERN_ERR_ARG,            -3, "invalid argument",                       NONE)           \
    X(TERN_ERR_BUF,            -4, "output buffer too small",                NONE)           \
    X(TERN_ERR_DECODE,         -5, "malformed message",                      DECODE_ERROR)   \
    X(TERN_ERR_UNEXPECTED,     -6, "message not allowed here",               UNEXPECTED_MESSAGE) \
    X(TERN_ERR_UNSUPPORTED,    -7, "algorithm or feature not supported",     HANDSHAKE_FAILURE) \
    X(TERN_ERR_CRYPTO,         -8, "cryptographic operation failed",         INTERNAL_ERROR) \
    X(TERN_ERR_RNG,            -9, "random number generator failed",         INTERNAL_ERROR) \
    X(TERN_ERR_BAD_MAC,       -10, "record failed authentication",           BAD_RECORD_MAC) \
    X(TERN_ERR_BAD_SHARE,     -11, "invalid key share from peer",            ILLEGAL_PARAMETER) \
    X(TERN_ERR_BAD_SIGNATURE, -12, "signature did not verify",               DECRYPT_ERROR)  \
    X(TERN_ERR_BAD_KEY,       -13, "key could not be parsed or used",        NONE)           \
    X(TERN_ERR_CERT_PARSE,    -14, "certificate could not be parsed",        BAD_CERTIFICATE) \
    X(TERN_ERR_CERT_UNTRUSTED,-15, "certificate chain not trusted",          UNKNOWN_CA)     \
    X(TERN_ERR_CERT_EXPIRED,  -16, "certificate expired or not yet valid",   CERTIFICATE_EXPIRED) \
    X(TERN_ERR_CERT_NAME,     -17, "certificate does not match the host name", BAD_CERTIFICATE) \
    X(TERN_ERR_CERT_KEY,      -18, "certificate key unusable for this algorithm", UNSUPPORTED_CERTIFICATE) \
    X(TERN_ERR_SEQ_EXHAUSTED, -19, "record sequence numbers exhausted",      NONE)           \
    X(TERN_ERR_EPOCH,         -20, "epoch not available",                    NONE)           \
    X(TERN_ERR_TOO_BIG,       -21, "record or message exceeds the limit",    RECORD_OVERFLOW) \
    X(TERN_ERR_IO,            -22, "file could not be read",                 NONE)           \
    X(TERN_ERR_BAD_COOKIE,    -23, "cookie did not verify",                  NONE)           \
    X(TERN_ERR_COOKIE_EXPIRED,-24, "cookie expired",                         NONE)           \
    X(TERN_ERR_AGAIN,         -25, "nothing to do now; try again later",     NONE)           \
    X(TERN_ERR_CLOSED,        -26, "connection closed by close_notify",      NONE)           \
    X(TERN_ERR_TIMEOUT,       -27, "handshake timed out",                    NONE)           \
    X(TERN_ERR_PEER_ALERT,    -28, "peer sent a fatal alert",                NONE)           \
    X(TERN_ERR_HANDSHAKE,     -29, "no acceptable parameters in common with the peer", HANDSHAKE_FAILURE) \
    X(TERN_ERR_VERSION,       -30, "protocol version not supported",         PROTOCOL_VERSION) \
    X(TERN_ERR_ILLEGAL,       -31, "illegal parameter from peer",            ILLEGAL_PARAMETER) \
    X(TERN_ERR_BAD_FINISHED,  -32, "Finished did not verify",                DECRYPT_ERROR)  \
    X(TERN_ERR_CERT_REQUIRED, -33, "peer sent no certificate but one is required", HANDSHAKE_FAILURE) \
    X(TERN_ERR_EMS_REQUIRED,  -34, "peer does not support extended master secret", HANDSHAKE_FAILURE) \
    X(TERN_ERR_RENEGOTIATION, -35, "renegotiation refused",                  NO_RENEGOTIATION) \
    X(TERN_ERR_STATE,         -36, "call not valid in this connection state", NONE)

#endif
