/*
 * ks12.h - the TLS 1.2 key schedule as DTLS 1.2 uses it (RFC 5246 §6.3, §8.1,
 * §7.4.9; RFC 7627 for the extended master secret). Pure functions over the
 * crypto provider; the caller owns and wipes every secret buffer.
 */
#ifndef TERN_HS_KS12_H
#define TERN_HS_KS12_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define TERN_MASTER_SECRET_LEN 48
#define TERN_KS12_MAX_KEY_LEN 32
#define TERN_KS12_MAX_IV_LEN 12

/* The record keys of one connection, as the key block splits them (RFC 5246 §6.3;
 * AEAD suites have no MAC keys). */
typedef struct tern_ks12_keys {
    uint8_t client_key[TERN_KS12_MAX_KEY_LEN];
    uint8_t server_key[TERN_KS12_MAX_KEY_LEN];
    uint8_t client_iv[TERN_KS12_MAX_IV_LEN];
    uint8_t server_iv[TERN_KS12_MAX_IV_LEN];
    size_t key_len, iv_len;
} tern_ks12_keys;

/* master_secret from the premaster secret |pms|. With |ems| (RFC 7627 §4):
 * PRF(pms, "extended master secret", |session_hash|); without it (RFC 5246 §8.1):
 * PRF(pms, "master secret", client_random || server_random). |session_hash| is the
 * transcript hash through ClientKeyExchange (ignored without ems).
 * Errors: those of tern_tls12_prf. */
TERN_MUST_USE tern_err tern_ks12_master(tern_hash_alg prf, const uint8_t *pms, size_t pmslen,
                                        bool ems, const uint8_t *session_hash, size_t hashlen,
                                        const uint8_t client_random[32],
                                        const uint8_t server_random[32],
                                        uint8_t out[TERN_MASTER_SECRET_LEN]);

/* Split PRF(master, "key expansion", server_random || client_random) into |out|
 * for |key_len|-byte keys and |iv_len|-byte implicit IVs.
 * Errors: TERN_ERR_ARG (sizes over the maxima), those of tern_tls12_prf. */
TERN_MUST_USE tern_err tern_ks12_keys_derive(tern_hash_alg prf,
                                             const uint8_t master[TERN_MASTER_SECRET_LEN],
                                             const uint8_t client_random[32],
                                             const uint8_t server_random[32], size_t key_len,
                                             size_t iv_len, tern_ks12_keys *out);

/* verify_data = PRF(master, "client finished" or "server finished",
 * |transcript_hash|)[0..11] (RFC 5246 §7.4.9). */
TERN_MUST_USE tern_err tern_ks12_finished(tern_hash_alg prf,
                                          const uint8_t master[TERN_MASTER_SECRET_LEN],
                                          bool from_client, const uint8_t *transcript_hash,
                                          size_t hashlen, uint8_t out[12]);

#endif
