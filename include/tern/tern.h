/*
 * tern.h - tern, a DTLS 1.2 and 1.3 library: the public core API.
 *
 * The core is sans-IO: it never touches a socket or reads a clock. Callers hand in
 * datagrams and the current time and take out datagrams and the next deadline.
 * This header grows with the library; today it holds the error list, the alert
 * codes and the randomness hook shared by every layer.
 *
 * Conventions, everywhere in tern:
 *   - functions that can fail return tern_err: TERN_OK (0) or a negative code;
 *   - inputs are (data, len), outputs are (out, cap, &outlen);
 *   - time is a uint64_t count of milliseconds from any fixed origin the caller
 *     chooses, and "no deadline" is UINT64_MAX.
 */
#ifndef TERN_H
#define TERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_VERSION_MAJOR 0
#define TERN_VERSION_MINOR 1
#define TERN_VERSION_PATCH 0
#define TERN_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define TERN_MUST_USE __attribute__((warn_unused_result))
#define TERN_API __attribute__((visibility("default")))
#else
#define TERN_MUST_USE
#define TERN_API
#endif

/* Error codes: 0 for success, negative for failure. See tern_errors.h. */
typedef enum tern_err {
    TERN_OK = 0,
#define TERN_X_ENUM(name, value, text, alert) name = (value),
    TERN_ERROR_LIST(TERN_X_ENUM)
#undef TERN_X_ENUM
} tern_err;

/* TLS alert descriptions (RFC 5246 §7.2, RFC 8446 §6). TERN_ALERT_NONE (-1) means
 * "no alert": the error is local and nothing is sent to the peer. */
typedef enum tern_alert {
    TERN_ALERT_NONE = -1,
    TERN_ALERT_CLOSE_NOTIFY = 0,
    TERN_ALERT_UNEXPECTED_MESSAGE = 10,
    TERN_ALERT_BAD_RECORD_MAC = 20,
    TERN_ALERT_RECORD_OVERFLOW = 22,
    TERN_ALERT_HANDSHAKE_FAILURE = 40,
    TERN_ALERT_BAD_CERTIFICATE = 42,
    TERN_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    TERN_ALERT_CERTIFICATE_REVOKED = 44,
    TERN_ALERT_CERTIFICATE_EXPIRED = 45,
    TERN_ALERT_CERTIFICATE_UNKNOWN = 46,
    TERN_ALERT_ILLEGAL_PARAMETER = 47,
    TERN_ALERT_UNKNOWN_CA = 48,
    TERN_ALERT_ACCESS_DENIED = 49,
    TERN_ALERT_DECODE_ERROR = 50,
    TERN_ALERT_DECRYPT_ERROR = 51,
    TERN_ALERT_PROTOCOL_VERSION = 70,
    TERN_ALERT_INSUFFICIENT_SECURITY = 71,
    TERN_ALERT_INTERNAL_ERROR = 80,
    TERN_ALERT_INAPPROPRIATE_FALLBACK = 86,
    TERN_ALERT_USER_CANCELED = 90,
    TERN_ALERT_NO_RENEGOTIATION = 100,
    TERN_ALERT_MISSING_EXTENSION = 109,
    TERN_ALERT_UNSUPPORTED_EXTENSION = 110,
    TERN_ALERT_UNRECOGNIZED_NAME = 112,
    TERN_ALERT_UNKNOWN_PSK_IDENTITY = 115,
    TERN_ALERT_CERTIFICATE_REQUIRED = 116,
    TERN_ALERT_NO_APPLICATION_PROTOCOL = 120,
} tern_alert;

/* The sentence describing |err| (never NULL; "unknown error" for codes not in the
 * list). The string is static: do not free it. */
TERN_API const char *tern_strerror(int err);

/* The symbolic name of |err|, such as "TERN_ERR_DECODE" (static; never NULL). */
TERN_API const char *tern_err_name(int err);

/* The alert a fatal error |err| sends to the peer, or TERN_ALERT_NONE. */
TERN_API tern_alert tern_err_alert(int err);

/* The name of alert |alert| as the RFCs spell it ("decode_error"), static. */
TERN_API const char *tern_alert_name(int alert);

/*
 * A source of random bytes. fill() writes |len| random bytes to |out| and returns
 * 0, or returns non-zero on failure. tern never calls it from two threads at once
 * for the same tern_rng. Where tern takes a `const tern_rng *`, NULL means the
 * crypto backend's CSPRNG, which is what production code should use; tests install
 * a seeded deterministic source to make runs reproducible.
 */
typedef struct tern_rng {
    int (*fill)(void *ctx, uint8_t *out, size_t len);
    void *ctx;
} tern_rng;

/* ====================================================================== config */

/*
 * A tern_config holds what many connections share: credentials, trust, algorithms,
 * MTU, timers, limits, the cookie secret and the log callback. Make one, set it up,
 * then create connections from it; a connection takes a reference, so the config
 * may be released with tern_config_free() while connections made from it live on.
 * A config must not be changed once a connection has been made from it.
 */
typedef struct tern_config tern_config;

/* A new config with tern's defaults (DTLS 1.2, all six suites, X25519 then P-256
 * then P-384, MTU 1200, retransmission after 400 ms, backing off after eight
 * tries up to 60 s, handshake timeout 60 s, extended master secret required, peer
 * verification on for clients and off for servers). Returns NULL when out of
 * memory or when no randomness is available for the cookie secret. */
TERN_API tern_config *tern_config_new(void);

/* Drop the caller's reference; the config is freed (secrets wiped) when the last
 * connection made from it is freed too. NULL is fine. */
TERN_API void tern_config_free(tern_config *cfg);

/* Our certificate chain (PEM, leaf first, or one DER certificate) and its private
 * key (PEM or DER), both copied. Replaces any previous one.
 * Errors: TERN_ERR_CERT_PARSE, TERN_ERR_BAD_KEY, TERN_ERR_CERT_KEY (the key is not
 * the certificate's, or of a type tern cannot sign TLS 1.2 handshakes with),
 * TERN_ERR_NOMEM. */
TERN_API TERN_MUST_USE tern_err tern_config_set_certificate(tern_config *cfg,
                                                            const uint8_t *chain, size_t chainlen,
                                                            const uint8_t *key, size_t keylen);

/* The same from files. Errors: TERN_ERR_IO, and those above. */
TERN_API TERN_MUST_USE tern_err tern_config_load_certificate(tern_config *cfg,
                                                             const char *chain_path,
                                                             const char *key_path);

/* Make a fresh ECDSA P-256 key and a self-signed certificate for |common_name| and
 * use them (the built-in default credential of tern-server). Its SHA-256
 * fingerprint is then available from tern_config_fingerprint().
 * Errors: TERN_ERR_CRYPTO, TERN_ERR_NOMEM. */
TERN_API TERN_MUST_USE tern_err tern_config_use_self_signed(tern_config *cfg,
                                                            const char *common_name);

/* The SHA-256 fingerprint of our leaf certificate into |out| (32 bytes).
 * Errors: TERN_ERR_ARG (no certificate set). */
TERN_API TERN_MUST_USE tern_err tern_config_fingerprint(const tern_config *cfg, uint8_t out[32]);

/* Trust anchors for verifying the peer: PEM data (one or more certificates), a
 * file, or a directory of PEM files. May be called several times; anchors add up.
 * Errors: TERN_ERR_CERT_PARSE, TERN_ERR_IO, TERN_ERR_NOMEM. */
TERN_API TERN_MUST_USE tern_err tern_config_add_ca(tern_config *cfg, const uint8_t *pem,
                                                   size_t len);
TERN_API TERN_MUST_USE tern_err tern_config_load_ca_file(tern_config *cfg, const char *path);
TERN_API TERN_MUST_USE tern_err tern_config_load_ca_dir(tern_config *cfg, const char *path);

/* Pin the SHA-256 fingerprint of the peer's leaf certificate (32 bytes). With at
 * least one pin, a peer is accepted when its leaf matches a pin, whatever the CA
 * store says (WebRTC style). Errors: TERN_ERR_NOMEM. */
TERN_API TERN_MUST_USE tern_err tern_config_add_fingerprint(tern_config *cfg,
                                                            const uint8_t sha256[32]);

typedef enum tern_verify_mode {
    TERN_VERIFY_DEFAULT,  /* client: TERN_VERIFY_PEER; server: TERN_VERIFY_NONE */
    TERN_VERIFY_NONE,     /* server: do not ask for a certificate; client: insecure,
                             accept any server certificate (testing only) */
    TERN_VERIFY_PEER,     /* client: verify the server (CA store or pins; host name
                             when set); server: request a client certificate and
                             verify it when one is sent */
    TERN_VERIFY_REQUIRE,  /* as PEER, and a server fails the handshake without a
                             client certificate */
} tern_verify_mode;

TERN_API void tern_config_set_verify(tern_config *cfg, tern_verify_mode mode);

/* The cipher suites to offer or accept, by IANA number, in order of preference.
 * Errors: TERN_ERR_UNSUPPORTED (a suite tern does not implement), TERN_ERR_ARG
 * (empty list). */
TERN_API TERN_MUST_USE tern_err tern_config_set_suites(tern_config *cfg, const uint16_t *suites,
                                                       size_t n);

/* The same from IANA names separated by ':' or ',' ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").
 * Errors: TERN_ERR_UNSUPPORTED (an unknown name), TERN_ERR_ARG. */
TERN_API TERN_MUST_USE tern_err tern_config_set_suite_names(tern_config *cfg, const char *names);

/* The key-exchange groups (IANA numbers: 29 X25519, 23 P-256, 24 P-384), in order of
 * preference. Errors: TERN_ERR_UNSUPPORTED, TERN_ERR_ARG. */
TERN_API TERN_MUST_USE tern_err tern_config_set_groups(tern_config *cfg, const uint16_t *groups,
                                                       size_t n);

/* The largest datagram tern sends, every header tern adds included (DTLS records
 * and handshake fragments; not the UDP/IP headers). At least 256, at most 16384;
 * default 1200. Errors: TERN_ERR_ARG. */
TERN_API TERN_MUST_USE tern_err tern_config_set_mtu(tern_config *cfg, size_t mtu);

/* Retransmission timer: a flight is sent again every |initial_ms| (default 400) for
 * its first eight timeouts, then the timeout doubles after each one up to |max_ms|
 * (default 60000); the handshake fails with TERN_ERR_TIMEOUT after |handshake_ms|
 * in total (default 60000). A timeout doubled by a lossy flight is kept for the
 * next flight until one goes through without loss (RFC 6347 §4.2.4.1). Why these
 * values, measured: docs/ROBUSTNESS.md. A 0 keeps that value as it is, so a
 * program can set only the handshake timeout. Errors: TERN_ERR_ARG (initial over
 * max). */
TERN_API TERN_MUST_USE tern_err tern_config_set_timers(tern_config *cfg, uint32_t initial_ms,
                                                       uint32_t max_ms, uint32_t handshake_ms);

/* Whether the peer must support extended_master_secret (RFC 7627); default true.
 * Turning it off accepts peers without it (weaker: see RFC 7627 §1). */
TERN_API void tern_config_require_ems(tern_config *cfg, bool required);

/* The secret that keys the stateless cookies (server), copied; by default a random
 * one made by tern_config_new(). Servers behind one address share it. Cookies are
 * good for |lifetime_ms| (default 60000). Errors: TERN_ERR_ARG (len < 16). */
TERN_API TERN_MUST_USE tern_err tern_config_set_cookie_secret(tern_config *cfg,
                                                              const uint8_t *secret, size_t len,
                                                              uint32_t lifetime_ms);

/* Randomness for every connection made from |cfg| from now on (copied; |rng->ctx|
 * must outlive them). NULL restores the CSPRNG. For tests and simulations. */
TERN_API void tern_config_set_rng(tern_config *cfg, const tern_rng *rng);

typedef enum tern_log_level {
    TERN_LOG_ERROR,
    TERN_LOG_INFO,  /* one line per handshake, alerts */
    TERN_LOG_DEBUG, /* every message and record */
} tern_log_level;

/* A callback for log lines (no newline at the end), called from whatever tern call
 * produced the line, with |ctx| passed through. |level| is the most verbose level
 * passed to the callback. NULL turns logging off (the default). */
TERN_API void tern_config_set_log(tern_config *cfg, tern_log_level level,
                                  void (*cb)(void *ctx, tern_log_level level, const char *line),
                                  void *ctx);

/* ====================================================================== connections */

/* One DTLS association with one peer. Sans-IO: tern_conn never touches a socket
 * or a clock. The caller feeds every datagram from the peer to tern_conn_recv(),
 * sends every datagram tern_conn_send() gives out, and calls tern_conn_tick() when
 * tern_conn_deadline() comes. A tern_conn is used by one thread at a time. */
typedef struct tern_conn tern_conn;

typedef enum tern_role {
    TERN_CLIENT,
    TERN_SERVER,
} tern_role;

typedef enum tern_state {
    TERN_STATE_HANDSHAKE,   /* handshake in progress */
    TERN_STATE_ESTABLISHED, /* application data flows */
    TERN_STATE_CLOSED,      /* close_notify sent and/or received: orderly end */
    TERN_STATE_FAILED,      /* fatal error; tern_conn_error() says which */
} tern_state;

/* A client connection from |cfg| (which it references). Call
 * tern_conn_set_hostname() if the server's name is to be checked and sent (SNI),
 * then tern_conn_start(). Returns NULL when out of memory. */
TERN_API tern_conn *tern_conn_new_client(tern_config *cfg);

/* The name to send as server_name and to check the server's certificate against
 * (copied). An IP address literal is checked against the certificate's IP
 * addresses and not sent. Errors: TERN_ERR_ARG (empty or over 255 bytes),
 * TERN_ERR_UNEXPECTED (handshake already started), TERN_ERR_NOMEM. */
TERN_API TERN_MUST_USE tern_err tern_conn_set_hostname(tern_conn *c, const char *name);

/* Begin the client's handshake at time |now|: the ClientHello is queued for
 * tern_conn_send(). Errors: TERN_ERR_UNEXPECTED (not a fresh client), TERN_ERR_RNG,
 * TERN_ERR_CRYPTO. */
TERN_API TERN_MUST_USE tern_err tern_conn_start(tern_conn *c, uint64_t now);

/* Hand in one datagram received from the peer at time |now|. |dgram| is writable
 * scratch: tern decrypts records in place and the contents are undefined after
 * the call. Invalid records are dropped and counted, not reported (RFC 6347
 * §4.1.2.7). Returns TERN_OK, or the connection's fatal error when this datagram
 * made the connection fail (an alert may then be waiting in tern_conn_send()).
 * After a fatal error every call returns that error. */
TERN_API TERN_MUST_USE tern_err tern_conn_recv(tern_conn *c, uint64_t now, uint8_t *dgram,
                                               size_t len);

/* The next datagram to send, written to |out| (at most |cap| bytes, never more
 * than the configured MTU) with its size in *outlen. Call it until it returns
 * TERN_ERR_AGAIN (nothing more to send now). Errors: TERN_ERR_AGAIN, TERN_ERR_BUF
 * (|cap| is below the MTU), or the connection's fatal error once its alert, if any,
 * has been sent. */
TERN_API TERN_MUST_USE tern_err tern_conn_send(tern_conn *c, uint64_t now, uint8_t *out,
                                               size_t cap, size_t *outlen);

/* When tern_conn_tick() should next be called, in the caller's time; UINT64_MAX
 * when no timer is running. Besides the handshake's timers: a server keeps its
 * last flight after the handshake to answer the client's retransmissions (RFC 6347
 * §4.2.4) until the client's first application record arrives, or at most
 * 2 MSL (240 s); the deadline is then when that flight is released. */
TERN_API uint64_t tern_conn_deadline(const tern_conn *c);

/* Let timers run at time |now|: retransmissions are queued for tern_conn_send(),
 * a handshake past its total timeout fails with TERN_ERR_TIMEOUT, and a kept last
 * flight past its time is released. Calling it early does nothing. Returns TERN_OK or the
 * connection's fatal error. */
TERN_API TERN_MUST_USE tern_err tern_conn_tick(tern_conn *c, uint64_t now);

/* Queue |len| bytes of application data as one record (sent by tern_conn_send()).
 * Errors: TERN_ERR_UNEXPECTED (not established), TERN_ERR_TOO_BIG (more than
 * fits in one datagram at the MTU: see tern_conn_max_write()), TERN_ERR_AGAIN (the
 * send queue is full: send first), TERN_ERR_NOMEM, or the fatal error. */
TERN_API TERN_MUST_USE tern_err tern_conn_write(tern_conn *c, const uint8_t *data, size_t len);

/* The largest |len| tern_conn_write() takes: one record in one datagram. */
TERN_API size_t tern_conn_max_write(const tern_conn *c);

/* Take the next received application record into |out| (*outlen bytes). A record
 * larger than |cap| is not consumed: TERN_ERR_BUF, with *outlen set to its size.
 * Errors: TERN_ERR_AGAIN (nothing received), TERN_ERR_CLOSED (the peer sent
 * close_notify and everything before it has been read), TERN_ERR_BUF, or the
 * fatal error. */
TERN_API TERN_MUST_USE tern_err tern_conn_read(tern_conn *c, uint8_t *out, size_t cap,
                                               size_t *outlen);

/* Queue close_notify; the connection is CLOSED once it has been sent. */
TERN_API TERN_MUST_USE tern_err tern_conn_close(tern_conn *c);

TERN_API tern_state tern_conn_state(const tern_conn *c);

/* What was negotiated (0 / NULL before the handshake completes): the version
 * (0xfefd for DTLS 1.2), the suite's IANA number and name, the group. */
TERN_API uint16_t tern_conn_version(const tern_conn *c);
TERN_API uint16_t tern_conn_suite(const tern_conn *c);
TERN_API const char *tern_conn_suite_name(const tern_conn *c);
TERN_API uint16_t tern_conn_group(const tern_conn *c);
TERN_API const char *tern_version_name(uint16_t version); /* "DTLS 1.2" */
TERN_API const char *tern_group_name(uint16_t group);     /* "X25519" */

/* The peer's leaf certificate (DER, owned by |c|, valid until tern_conn_free) or
 * NULL when the peer sent none. */
TERN_API const uint8_t *tern_conn_peer_certificate(const tern_conn *c, size_t *len);

/* Why the connection failed or closed: *err is the error (TERN_OK if none),
 * *alert the alert involved (TERN_ALERT_NONE if none), *alert_from_peer whether
 * the peer sent it (true) or we did (false). Any pointer may be NULL. */
TERN_API void tern_conn_error(const tern_conn *c, tern_err *err, tern_alert *alert,
                              bool *alert_from_peer);

/* Counters: records and datagrams in and out, drops by reason, retransmissions. */
/* Why a received record (or handshake fragment) was dropped, one counter each in
 * tern_stats.dropped_by. Invalid records are dropped silently, as RFC 6347
 * §4.1.2.7 asks; these counters are how a caller sees them. */
#define TERN_DROP_LIST(X)                                                                  \
    X(TERN_DROP_BAD_HEADER, "bad_header")       /* record header unreadable; the rest \
                                                   of the datagram went with it */     \
    X(TERN_DROP_BAD_LENGTH, "bad_length")       /* over the length caps */             \
    X(TERN_DROP_BAD_VERSION, "bad_version")     /* record version not accepted */      \
    X(TERN_DROP_BAD_MAC, "bad_mac")             /* failed authentication */            \
    X(TERN_DROP_REPLAY, "replay")               /* a record seen before */             \
    X(TERN_DROP_EPOCH, "epoch")                 /* unknown, retired or far epoch */    \
    X(TERN_DROP_UNSUPPORTED, "unsupported")     /* DTLS 1.3 or CID header, heartbeat */ \
    X(TERN_DROP_CRYPTO, "crypto")               /* the crypto backend failed */        \
    X(TERN_DROP_HS_MALFORMED, "hs_malformed")   /* handshake fragment unreadable */    \
    X(TERN_DROP_HS_REASSEMBLY, "hs_reassembly") /* fragment too far ahead, not \
                                                   matching, or over the memory cap */ \
    X(TERN_DROP_EARLY_FULL, "early_full")       /* next-epoch record, buffer full */   \
    X(TERN_DROP_APP_FULL, "app_full")           /* application data, read queue full */ \
    X(TERN_DROP_UNEXPECTED, "unexpected")       /* not allowed now: application data \
                                                   in epoch 0 or after close_notify, an \
                                                   unauthenticated alert, a bad CCS */

typedef enum tern_drop_reason {
#define TERN_X_DROP(name, text) name,
    TERN_DROP_LIST(TERN_X_DROP)
#undef TERN_X_DROP
    TERN_DROP_COUNT
} tern_drop_reason;

/* The short name of |reason| ("bad_mac"), static; "unknown" when out of range. */
TERN_API const char *tern_drop_name(int reason);

typedef struct tern_stats {
    uint64_t datagrams_in, datagrams_out;
    uint64_t records_in, records_out;
    uint64_t dropped_by[TERN_DROP_COUNT]; /* by tern_drop_reason */
    uint64_t dropped;            /* invalid records, all reasons */
    uint64_t dropped_bad_mac, dropped_replay, dropped_epoch, dropped_malformed, dropped_other;
                                 /* sums of dropped_by: malformed is bad_header,
                                    bad_length, bad_version and hs_malformed; other is
                                    everything else */
    uint64_t retransmits;        /* flights sent again: on our timer, or answering the
                                    peer's retransmission */
    uint64_t handshake_ms;       /* start to completion, 0 while in progress */
    uint64_t timeouts;           /* retransmission timer expiries (of retransmits); a
                                    handshake that gives up fails with TERN_ERR_TIMEOUT */
} tern_stats;

TERN_API void tern_conn_stats(const tern_conn *c, tern_stats *out);

/* Free |c| (NULL is fine), wiping its keys. Does not send anything: call
 * tern_conn_close() and send first for an orderly close. */
TERN_API void tern_conn_free(tern_conn *c);

/* ====================================================================== server front door */

typedef enum tern_hello_result {
    TERN_HELLO_DROP,   /* not a ClientHello, or not parseable: ignore the datagram */
    TERN_HELLO_REPLY,  /* send |reply| (a HelloVerifyRequest) to the peer; keep nothing */
    TERN_HELLO_ACCEPT, /* the cookie is proven: create the connection with
                          tern_conn_accept() from this same datagram */
} tern_hello_result;

/* The stateless front door of a server (RFC 6347 §4.2.1). For a datagram |dgram|
 * from a peer with no connection yet, at address |addr| (|addrlen| bytes of the
 * caller's own representation, e.g. a struct sockaddr): a ClientHello without a
 * valid cookie gets a HelloVerifyRequest in |reply| (never larger than the
 * ClientHello that caused it); a ClientHello with a valid cookie for this address
 * is ACCEPTed. Nothing is allocated and nothing is kept. |dgram| is not modified.
 * If |err| is not NULL it gets why a datagram was dropped (TERN_ERR_DECODE,
 * TERN_ERR_BAD_COOKIE, TERN_ERR_COOKIE_EXPIRED, ...). */
TERN_API tern_hello_result tern_server_hello(const tern_config *cfg, uint64_t now,
                                             const void *addr, size_t addrlen,
                                             const uint8_t *dgram, size_t len, uint8_t *reply,
                                             size_t cap, size_t *replylen, tern_err *err);

/* A server connection for the peer whose datagram tern_server_hello() ACCEPTed
 * (pass the same datagram, time and address; |dgram| is used as scratch, as in
 * tern_conn_recv). The cookie is checked again, the ClientHello processed and the
 * server's flight queued for tern_conn_send(). When the ClientHello is refused (no
 * common suite, a required extension missing, ...) the connection is still
 * returned, in TERN_STATE_FAILED with its alert queued: send it, then free the
 * connection. Returns NULL (with *err, if |err| is not NULL) when out of memory or
 * when the datagram does not hold a ClientHello with a valid cookie. */
TERN_API tern_conn *tern_conn_accept(tern_config *cfg, uint64_t now, const void *addr,
                                     size_t addrlen, uint8_t *dgram, size_t len, tern_err *err);

#ifdef __cplusplus
}
#endif

#endif /* TERN_H */
