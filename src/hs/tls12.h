/*
 * tls12.h - the DTLS 1.2 handshake: state shared by the client (tls12_client.c)
 * and the server (tls12_server.c), and the helpers both use (tls12.c).
 *
 * The full handshake (RFC 6347 §4.2.4, Figure 1), flights numbered as there:
 *
 *   Client                                          Server
 *   1 ClientHello                  -->
 *                                  <--  2 HelloVerifyRequest (stateless front door)
 *   3 ClientHello + cookie         -->
 *                                  <--  4 ServerHello, Certificate, ServerKeyExchange,
 *                                         CertificateRequest*, ServerHelloDone
 *   5 Certificate*, ClientKeyExchange,
 *     CertificateVerify*, [CCS], Finished -->
 *                                  <--  6 [CCS], Finished
 *
 * States are named after what is expected next. Each role has one dispatch (on
 * state and message type) that calls one handler per message; a handler parses with
 * the message codec, updates transcript and keys, emits its reply through
 * tern_conn_emit (the flight layer fragments, packs and retransmits), and sets the
 * next state. The transcript (RFC 6347 §4.2.6) is every handshake message from the
 * ClientHello that carries the cookie on, each with its 12-byte DTLS header as if
 * unfragmented; it is kept as bytes (TLS 1.2 CertificateVerify signs the messages
 * themselves) and hashed with the suite's PRF hash once the suite is known.
 */
#ifndef TERN_HS_TLS12_H
#define TERN_HS_TLS12_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "crypto/crypto.h"
#include "hs/ks12.h"
#include "hs/msg.h"

#define TERN_HS12_STATES(X)                                                                  \
    X(C12_START)                                                                             \
    X(C12_EXPECT_SERVER_HELLO)                                                               \
    X(C12_EXPECT_CERTIFICATE)                                                                \
    X(C12_EXPECT_SERVER_KX)                                                                  \
    X(C12_EXPECT_CERT_REQUEST_OR_DONE)                                                       \
    X(C12_EXPECT_SERVER_HELLO_DONE)                                                          \
    X(C12_EXPECT_FINISHED)                                                                   \
    X(S12_EXPECT_CLIENT_HELLO)                                                               \
    X(S12_EXPECT_CERTIFICATE)                                                                \
    X(S12_EXPECT_CLIENT_KX)                                                                  \
    X(S12_EXPECT_CERT_VERIFY)                                                                \
    X(S12_EXPECT_FINISHED)                                                                   \
    X(HS12_DONE)

typedef enum tern_hs12_state {
#define TERN_X_STATE(name) name,
    TERN_HS12_STATES(TERN_X_STATE)
#undef TERN_X_STATE
} tern_hs12_state;

const char *tern_hs12_state_name(int state);

#define TERN_HS12_MAX_HVR 2 /* HelloVerifyRequests a client answers */

typedef struct tern_hs12 {
    tern_hs12_state state;
    const tern_suite_info *suite;
    uint16_t group;
    uint8_t client_random[TERN_RANDOM_LEN];
    uint8_t server_random[TERN_RANDOM_LEN];
    uint8_t cookie[TERN_COOKIE_MAX];
    size_t cookie_len;
    unsigned hvr_count;
    bool ems;
    uint8_t master[TERN_MASTER_SECRET_LEN];
    tern_kex *kex;
    uint16_t next_seq;           /* message_seq of our next message */

    /* transcript */
    uint8_t *tbuf;
    size_t tlen, tcap;
    tern_hash *thash;            /* over tbuf, once the suite is known */

    /* the peer */
    tern_pkey *peer_key;         /* leaf public key */
    bool peer_sent_cert;
    uint8_t peer_point[TERN_KEX_MAX_SHARE_LEN];  /* client: the server's ECDHE share */
    size_t peer_point_len;

    /* client authentication */
    bool cert_requested;         /* client: the server asked; server: we asked */
    uint16_t cr_schemes[TERN_MAX_SIGSCHEMES]; /* client: schemes the request allows */
    size_t n_cr_schemes;
    bool cr_ecdsa, cr_rsa;       /* client: certificate types the request allows */

    uint8_t *scratch;            /* where message bodies are built */
    size_t scratch_cap;
} tern_hs12;

/* ---- tls12.c ---- */

/* Allocate the handshake state for |c|. Errors: TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_hs12_new(tern_conn *c, tern_hs12_state first);

/* Free it, wiping secrets. */
void tern_hs12_free(tern_hs12 *hs);

/* Append a message to the transcript (header built as unfragmented). */
TERN_MUST_USE tern_err tern_hs12_transcript_add(tern_hs12 *hs, uint8_t type, uint16_t seq,
                                                const uint8_t *body, size_t len);

/* Forget the transcript (a client answering a HelloVerifyRequest). */
void tern_hs12_transcript_reset(tern_hs12 *hs);

/* Start hashing the transcript with the suite's PRF hash (after ServerHello). */
TERN_MUST_USE tern_err tern_hs12_transcript_hash_start(tern_hs12 *hs);

/* The hash of the transcript so far into |out| (*len bytes). */
TERN_MUST_USE tern_err tern_hs12_transcript_hash(const tern_hs12 *hs, uint8_t *out, size_t *len);

/* Derive master secret from the premaster secret and install epoch 1 in both
 * directions (client and server keys as |role| needs them). */
TERN_MUST_USE tern_err tern_hs12_derive_keys(tern_conn *c, const uint8_t *pms, size_t pmslen);

/* verify_data of the Finished that |from_client| sends, over the transcript now. */
TERN_MUST_USE tern_err tern_hs12_finished(tern_hs12 *hs, bool from_client, uint8_t out[12]);

/* Verify the peer's chain per the config (CA + host, pins, or insecure) and keep
 * its leaf key. |host| may be NULL (server verifying a client). */
TERN_MUST_USE tern_err tern_hs12_verify_chain(tern_conn *c, const tern_certificate *cert,
                                              const char *host);

/* Emit our Certificate message: the configured chain, or an empty list when
 * |empty| (a client with no certificate the server accepts). */
TERN_MUST_USE tern_err tern_hs12_emit_certificate(tern_conn *c, bool empty);

/* Add [ChangeCipherSpec] and our Finished (epoch 1) to the flight being prepared. */
TERN_MUST_USE tern_err tern_hs12_emit_finished(tern_conn *c);

/* Check the peer's Finished |body| (received in |epoch|) against the transcript.
 * Errors: TERN_ERR_UNEXPECTED (not in epoch 1), TERN_ERR_DECODE,
 * TERN_ERR_BAD_FINISHED. */
TERN_MUST_USE tern_err tern_hs12_check_finished(tern_conn *c, uint64_t epoch,
                                                const uint8_t *body, size_t len);

/* The handshake is complete: record what was negotiated and hand over to conn. */
void tern_hs12_done(tern_conn *c, uint64_t now);

/* The first scheme of |ours| that |theirs| lists and |key| can use, or 0. */
uint16_t tern_hs12_pick_scheme(const uint16_t *ours, size_t n_ours, const uint16_t *theirs,
                               size_t n_theirs, const tern_pkey *key);

/* ---- per role ---- */

/* Client: queue the first ClientHello. */
TERN_MUST_USE tern_err tern_c12_start(tern_conn *c, uint64_t now);

/* Handle one complete handshake message (|epoch| is the epoch its records came
 * in). Errors: any tern_err; the caller fails the connection with it. */
TERN_MUST_USE tern_err tern_c12_handle(tern_conn *c, uint64_t now, uint8_t type, uint16_t seq,
                                       uint64_t epoch, const uint8_t *body, size_t len);
TERN_MUST_USE tern_err tern_s12_handle(tern_conn *c, uint64_t now, uint8_t type, uint16_t seq,
                                       uint64_t epoch, const uint8_t *body, size_t len);

#endif
