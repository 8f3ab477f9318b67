/*
 * tls12.c - what the DTLS 1.2 client and server share: the transcript, the key
 * derivation into the record layer, Finished, peer verification and scheme choice.
 */
#include "hs/tls12.h"

#include <stdlib.h>
#include <string.h>

#define HS12_SCRATCH (64 * 1024) /* largest message body we build */
#define HS12_TRANSCRIPT_CAP (256 * 1024)

const char *tern_hs12_state_name(int state)
{
    static const char *const names[] = {
#define TERN_X_NAME(name) #name,
        TERN_HS12_STATES(TERN_X_NAME)
#undef TERN_X_NAME
    };
    if (state < 0 || (size_t)state >= sizeof names / sizeof names[0])
        return "unknown";
    return names[state];
}

tern_err tern_hs12_new(tern_conn *c, tern_hs12_state first)
{
    tern_hs12 *hs = calloc(1, sizeof *hs);
    if (hs == NULL)
        return TERN_ERR_NOMEM;
    hs->scratch = malloc(HS12_SCRATCH);
    if (hs->scratch == NULL) {
        free(hs);
        return TERN_ERR_NOMEM;
    }
    hs->scratch_cap = HS12_SCRATCH;
    hs->state = first;
    c->hs = hs;
    return TERN_OK;
}

void tern_hs12_free(tern_hs12 *hs)
{
    if (hs == NULL)
        return;
    tern_kex_free(hs->kex);
    tern_pkey_free(hs->peer_key);
    tern_hash_free(hs->thash);
    if (hs->tbuf != NULL) {
        tern_wipe(hs->tbuf, hs->tlen);
        free(hs->tbuf);
    }
    free(hs->scratch);
    tern_wipe(hs, sizeof *hs);
    free(hs);
}

tern_err tern_hs12_transcript_add(tern_hs12 *hs, uint8_t type, uint16_t seq,
                                  const uint8_t *body, size_t len)
{
    size_t need = TERN_HS_HDR_LEN + len;
    if (hs->tlen + need > HS12_TRANSCRIPT_CAP)
        return TERN_ERR_TOO_BIG;
    if (hs->tlen + need > hs->tcap) {
        size_t cap = hs->tcap ? hs->tcap : 4096;
        while (cap < hs->tlen + need)
            cap *= 2;
        uint8_t *p = realloc(hs->tbuf, cap);
        if (p == NULL)
            return TERN_ERR_NOMEM;
        hs->tbuf = p;
        hs->tcap = cap;
    }
    uint8_t *at = hs->tbuf + hs->tlen;
    tern_wr w = tern_wr_init(at, need);
    /* RFC 6347 §4.2.6: hashed as if sent in one fragment. */
    tern_hs_hdr h = {type, (uint32_t)len, seq, 0, (uint32_t)len};
    tern_err err = tern_hs_hdr_build(&w, &h);
    if (err != TERN_OK)
        return err;
    tern_wr_bytes(&w, body, len);
    if (w.err)
        return TERN_ERR_INTERNAL;
    hs->tlen += need;
    return hs->thash != NULL ? tern_hash_update(hs->thash, at, need) : TERN_OK;
}

void tern_hs12_transcript_reset(tern_hs12 *hs)
{
    hs->tlen = 0;
    tern_hash_free(hs->thash);
    hs->thash = NULL;
}

tern_err tern_hs12_transcript_hash_start(tern_hs12 *hs)
{
    tern_err err = tern_hash_new(hs->suite->prf, &hs->thash);
    if (err != TERN_OK)
        return err;
    return tern_hash_update(hs->thash, hs->tbuf, hs->tlen);
}

tern_err tern_hs12_transcript_hash(const tern_hs12 *hs, uint8_t *out, size_t *len)
{
    if (hs->thash == NULL)
        return TERN_ERR_INTERNAL;
    *len = tern_hash_len(hs->suite->prf);
    return tern_hash_peek(hs->thash, out);
}

tern_err tern_hs12_derive_keys(tern_conn *c, const uint8_t *pms, size_t pmslen)
{
    tern_hs12 *hs = c->hs;
    uint8_t session_hash[TERN_HASH_MAX_LEN];
    size_t hashlen = 0;
    tern_err err = TERN_OK;
    if (hs->ems)
        err = tern_hs12_transcript_hash(hs, session_hash, &hashlen);
    if (err == TERN_OK)
        err = tern_ks12_master(hs->suite->prf, pms, pmslen, hs->ems, session_hash, hashlen,
                               hs->client_random, hs->server_random, hs->master);
    tern_ks12_keys k;
    if (err == TERN_OK)
        err = tern_ks12_keys_derive(hs->suite->prf, hs->master, hs->client_random,
                                    hs->server_random, hs->suite->key_len,
                                    hs->suite->fixed_iv_len, &k);
    if (err != TERN_OK)
        return err;
    bool client = c->role == TERN_CLIENT;
    tern_rec_keys wr = {TERN_DTLS12_VERSION, hs->suite->aead, client ? k.client_key : k.server_key,
                        client ? k.client_iv : k.server_iv, k.iv_len};
    tern_rec_keys rd = {TERN_DTLS12_VERSION, hs->suite->aead, client ? k.server_key : k.client_key,
                        client ? k.server_iv : k.client_iv, k.iv_len};
    err = tern_conn_install(c, TERN_REC_WRITE, 1, &wr);
    if (err == TERN_OK)
        err = tern_conn_install(c, TERN_REC_READ, 1, &rd);
    tern_wipe(&k, sizeof k);
    return err;
}

tern_err tern_hs12_finished(tern_hs12 *hs, bool from_client, uint8_t out[12])
{
    uint8_t h[TERN_HASH_MAX_LEN];
    size_t hlen;
    tern_err err = tern_hs12_transcript_hash(hs, h, &hlen);
    if (err != TERN_OK)
        return err;
    return tern_ks12_finished(hs->suite->prf, hs->master, from_client, h, hlen, out);
}

tern_err tern_hs12_emit_certificate(tern_conn *c, bool empty)
{
    tern_hs12 *hs = c->hs;
    const tern_chain *chain = &c->cfg->chain;
    tern_certificate cert = {0};
    if (!empty) {
        cert.count = chain->count < TERN_MAX_CHAIN ? chain->count : TERN_MAX_CHAIN;
        memcpy(cert.certs, chain->certs, cert.count * sizeof cert.certs[0]);
    }
    tern_wr w = tern_wr_init(hs->scratch, hs->scratch_cap);
    tern_err err = tern_certificate_build(&w, &cert);
    return err != TERN_OK ? err : tern_conn_emit(c, 0, TERN_HS_CERTIFICATE, hs->scratch, w.len);
}

tern_err tern_hs12_emit_finished(tern_conn *c)
{
    tern_hs12 *hs = c->hs;
    uint8_t vd[TERN_FINISHED12_LEN];
    tern_err err = tern_flight_add_ccs(c->flight, 0);
    if (err == TERN_OK)
        err = tern_hs12_finished(hs, c->role == TERN_CLIENT, vd);
    if (err != TERN_OK)
        return err;
    tern_finished fin = {vd, sizeof vd};
    tern_wr w = tern_wr_init(hs->scratch, hs->scratch_cap);
    err = tern_finished_build(&w, &fin);
    return err != TERN_OK ? err : tern_conn_emit(c, 1, TERN_HS_FINISHED, hs->scratch, w.len);
}

tern_err tern_hs12_check_finished(tern_conn *c, uint64_t epoch, const uint8_t *body, size_t len)
{
    /* RFC 5246 §7.4.9: Finished is the first message under the new keys. */
    if (epoch != 1)
        return TERN_ERR_UNEXPECTED;
    tern_finished fin;
    uint8_t want[TERN_FINISHED12_LEN];
    tern_err err = tern_finished_parse(body, len, &fin);
    if (err == TERN_OK)
        err = tern_hs12_finished(c->hs, c->role != TERN_CLIENT, want);
    if (err != TERN_OK)
        return err;
    return tern_ct_equal(want, fin.verify_data, sizeof want) ? TERN_OK : TERN_ERR_BAD_FINISHED;
}

void tern_hs12_done(tern_conn *c, uint64_t now)
{
    tern_hs12 *hs = c->hs;
    c->suite = hs->suite->id;
    c->suite_name = hs->suite->name;
    c->group = hs->group;
    hs->state = HS12_DONE;
    tern_conn_established(c, now);
}

static bool pinned(const tern_config *cfg, const tern_der *leaf)
{
    uint8_t fp[32];
    if (tern_cert_fingerprint(leaf->data, leaf->len, fp) != TERN_OK)
        return false;
    bool found = false;
    for (size_t i = 0; i < cfg->n_pins; i++)
        found |= tern_ct_equal(fp, cfg->pins[i], sizeof fp);
    return found;
}

tern_err tern_hs12_verify_chain(tern_conn *c, const tern_certificate *cert, const char *host)
{
    tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    tern_chain chain = {(tern_der *)cert->certs, cert->count};
    tern_verify_mode mode = cfg->verify;
    if (mode == TERN_VERIFY_DEFAULT)
        mode = c->role == TERN_CLIENT ? TERN_VERIFY_PEER : TERN_VERIFY_NONE;
    tern_err err;
    if (cfg->n_pins > 0) {
        /* A pinned leaf is trusted for itself, WebRTC style; the CA store is not asked. */
        if (!pinned(cfg, &cert->certs[0]))
            return TERN_ERR_CERT_UNTRUSTED;
        err = tern_cert_public_key(cert->certs[0].data, cert->certs[0].len, &hs->peer_key);
    } else if (mode == TERN_VERIFY_NONE) {
        err = tern_cert_public_key(cert->certs[0].data, cert->certs[0].len, &hs->peer_key);
    } else if (cfg->trust == NULL) {
        return TERN_ERR_CERT_UNTRUSTED; /* verifying, with nothing to verify against */
    } else {
        err = tern_chain_verify(cfg->trust, &chain, host, 0, &hs->peer_key);
    }
    if (err != TERN_OK)
        return err;
    free(c->peer_cert);
    c->peer_cert = malloc(cert->certs[0].len);
    if (c->peer_cert == NULL)
        return TERN_ERR_NOMEM;
    memcpy(c->peer_cert, cert->certs[0].data, cert->certs[0].len);
    c->peer_cert_len = cert->certs[0].len;
    hs->peer_sent_cert = true;
    return TERN_OK;
}

uint16_t tern_hs12_pick_scheme(const uint16_t *ours, size_t n_ours, const uint16_t *theirs,
                               size_t n_theirs, const tern_pkey *key)
{
    for (size_t i = 0; i < n_ours; i++) {
        if (!tern_pkey_supports(key, (tern_sigscheme)ours[i]))
            continue;
        for (size_t j = 0; j < n_theirs; j++)
            if (theirs[j] == ours[i])
                return ours[i];
    }
    return 0;
}
