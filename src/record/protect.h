/*
 * protect.h - AEAD protection of one record in one direction of one epoch.
 *
 * Internal to src/record: record.c owns the epoch slots and calls these. Each
 * protection kind is one way of turning (record number, header fields) into an
 * AEAD nonce and additional data; the differences between kinds are kept in one
 * function in protect.c (prot_nonce_aad), so DTLS 1.3 (RFC 9147 §4.2.2: nonce =
 * IV xor the 64-bit epoch||seq record number, the unified header as additional
 * data) is a new case beside the DTLS 1.2 ones.
 *
 * Record layout after the header:
 *   TERN_PROT_NONE        fragment = plaintext
 *   TERN_PROT_12_EXPLICIT fragment = explicit nonce (8) || ciphertext || tag
 *   TERN_PROT_12_XOR      fragment = ciphertext || tag
 */
#ifndef TERN_RECORD_PROTECT_H
#define TERN_RECORD_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "tern/tern.h"

typedef enum tern_prot_kind {
    TERN_PROT_NONE,        /* epoch 0: no protection */
    TERN_PROT_12_EXPLICIT, /* DTLS 1.2 AES-GCM (RFC 5288 §3), AES-CCM[_8] (RFC 6655 §3) */
    TERN_PROT_12_XOR,      /* DTLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2) */
} tern_prot_kind;

#define TERN_DTLS12_SALT_LEN 4           /* GCM/CCM implicit nonce part (fixed_iv_length) */
#define TERN_DTLS12_EXPLICIT_NONCE_LEN 8 /* GCM/CCM nonce_explicit, sent in the record */
#define TERN_DTLS12_AAD_LEN 13           /* seq_num(8) type(1) version(2) length(2) */
#define TERN_PROT_MAX_AAD TERN_DTLS12_AAD_LEN

/* The key material the caller hands in for one direction of one epoch. Copied
 * (the key into the AEAD, the IV into the slot); the caller wipes its own copy. */
typedef struct tern_rec_keys {
    uint16_t version;   /* negotiated record version, TERN_DTLS12_VERSION */
    tern_aead_alg alg;
    const uint8_t *key; /* tern_aead_key_len(alg) bytes */
    const uint8_t *iv;  /* the write IV of the key block: TERN_DTLS12_SALT_LEN bytes
                           for GCM and CCM, TERN_AEAD_NONCE_LEN for ChaCha20-Poly1305 */
    size_t iv_len;
} tern_rec_keys;

/* One direction of one epoch. All zero is a valid TERN_PROT_NONE state. */
typedef struct tern_prot {
    tern_aead *aead;                 /* owned; NULL for TERN_PROT_NONE */
    uint8_t iv[TERN_AEAD_NONCE_LEN]; /* salt (first 4 bytes) or full IV; secret */
    uint8_t kind;                    /* tern_prot_kind */
    uint8_t tag_len;
    uint16_t version;                /* record version to send and to require */
} tern_prot;

/* What the nonce and additional data are made of, for one record. */
typedef struct tern_prot_rec {
    uint64_t epoch;
    uint64_t seq; /* 48 bits */
    uint8_t type;
    uint16_t version;
} tern_prot_rec;

/* Key |p| from |keys|: picks the kind from the version and algorithm, checks the
 * IV length and creates the AEAD. On failure |p| is all zero.
 * Errors: TERN_ERR_UNSUPPORTED (version or algorithm), TERN_ERR_ARG (IV length, NULL
 * key), and those of tern_aead_new(). */
TERN_MUST_USE tern_err tern_prot_init(tern_prot *p, const tern_rec_keys *keys);

/* Free the AEAD, wipe the IV, and leave |p| all zero (TERN_PROT_NONE). */
void tern_prot_clear(tern_prot *p);

/* Bytes sent before the ciphertext (explicit nonce) and after it (tag). */
size_t tern_prot_prefix_len(const tern_prot *p);
size_t tern_prot_tag_len(const tern_prot *p);

/* Protect one record in place. |frag| is the record's fragment (just after the
 * header): the |len| plaintext bytes must already sit at frag +
 * tern_prot_prefix_len(p); on return the fragment holds prefix || ciphertext ||
 * tag, prefix + len + tag bytes in all. |frag| must have that much room.
 * Errors: TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_prot_seal(tern_prot *p, const tern_prot_rec *rec, uint8_t *frag,
                                      size_t len);

/* Remove protection in place from the |len|-byte fragment |frag|. On success
 * *pt points into |frag| at the |*ptlen| plaintext bytes. On failure the
 * fragment's bytes may have been changed and are not to be trusted.
 * Errors: TERN_ERR_BAD_MAC (too short for prefix and tag, or authentication
 * failed), TERN_ERR_CRYPTO (the backend failed). */
TERN_MUST_USE tern_err tern_prot_open(tern_prot *p, const tern_prot_rec *rec, uint8_t *frag,
                                      size_t len, uint8_t **pt, size_t *ptlen);

#endif /* TERN_RECORD_PROTECT_H */
