/*
 * ks12.c - see ks12.h. Every intermediate secret lives on the stack and is wiped
 * before returning.
 */
#include "hs/ks12.h"

#include <string.h>

/* see ks12.h */
tern_err tern_ks12_master(tern_hash_alg prf, const uint8_t *pms, size_t pmslen, bool ems,
                          const uint8_t *session_hash, size_t hashlen,
                          const uint8_t client_random[32], const uint8_t server_random[32],
                          uint8_t out[TERN_MASTER_SECRET_LEN])
{
    if (ems)
        return tern_tls12_prf(prf, pms, pmslen, "extended master secret", session_hash, hashlen,
                              out, TERN_MASTER_SECRET_LEN);
    uint8_t seed[64];
    memcpy(seed, client_random, 32);
    memcpy(seed + 32, server_random, 32);
    return tern_tls12_prf(prf, pms, pmslen, "master secret", seed, sizeof seed, out,
                          TERN_MASTER_SECRET_LEN);
}

/* see ks12.h */
tern_err tern_ks12_keys_derive(tern_hash_alg prf, const uint8_t master[TERN_MASTER_SECRET_LEN],
                               const uint8_t client_random[32], const uint8_t server_random[32],
                               size_t key_len, size_t iv_len, tern_ks12_keys *out)
{
    if (key_len > TERN_KS12_MAX_KEY_LEN || iv_len > TERN_KS12_MAX_IV_LEN)
        return TERN_ERR_ARG;
    uint8_t seed[64], block[2 * (TERN_KS12_MAX_KEY_LEN + TERN_KS12_MAX_IV_LEN)];
    size_t need = 2 * (key_len + iv_len);
    /* RFC 5246 §6.3: the key block's seed is server_random + client_random. */
    memcpy(seed, server_random, 32);
    memcpy(seed + 32, client_random, 32);
    tern_err err = tern_tls12_prf(prf, master, TERN_MASTER_SECRET_LEN, "key expansion", seed,
                                  sizeof seed, block, need);
    if (err != TERN_OK)
        return err;
    const uint8_t *p = block;
    memcpy(out->client_key, p, key_len), p += key_len;
    memcpy(out->server_key, p, key_len), p += key_len;
    memcpy(out->client_iv, p, iv_len), p += iv_len;
    memcpy(out->server_iv, p, iv_len);
    out->key_len = key_len;
    out->iv_len = iv_len;
    tern_wipe(block, sizeof block);
    return TERN_OK;
}

/* see ks12.h */
tern_err tern_ks12_finished(tern_hash_alg prf, const uint8_t master[TERN_MASTER_SECRET_LEN],
                            bool from_client, const uint8_t *transcript_hash, size_t hashlen,
                            uint8_t out[12])
{
    return tern_tls12_prf(prf, master, TERN_MASTER_SECRET_LEN,
                          from_client ? "client finished" : "server finished", transcript_hash,
                          hashlen, out, 12);
}
