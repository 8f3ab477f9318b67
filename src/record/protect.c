/*
 * protect.c - AEAD protection of DTLS records; see protect.h.
 *
 * DTLS 1.2 (RFC 6347 §4.1.2.1 with RFC 5246 §6.2.3.3):
 *   additional_data = seq_num(8) || type || version || length
 * where seq_num is "the 64-bit value formed by concatenating the epoch and the
 * sequence number in the order they appear on the wire" and length is that of the
 * plaintext.
 *   AES-GCM (RFC 5288 §3), AES-CCM and CCM_8 (RFC 6655 §3):
 *     nonce = salt(4, implicit, from the key block) || nonce_explicit(8, sent)
 *   We send epoch||seq as nonce_explicit: a (key, epoch, seq) triple is never
 *   sealed twice, so the nonce is never reused under one key. A receiver takes
 *   nonce_explicit from the record as it came, whatever the peer chose.
 *   ChaCha20-Poly1305 (RFC 7905 §2): nonce = IV(12) xor (0^32 || epoch||seq), and
 *   nothing explicit on the wire.
 *
 * prot_nonce_aad() is the one place a protection kind's nonce and additional data
 * are built; DTLS 1.3 adds its case there.
 *
 * DTLS 1.2 records go through the provider's record entry points
 * (tern_aead_seal12/open12), which build the same nonce themselves in one call and
 * cost less per record; a backend or algorithm without them (CCM) answers
 * TERN_ERR_UNSUPPORTED at once, and the record takes the general path
 * (tern_aead_seal/open with the nonce made here).
 */
#include "record/protect.h"

#include <string.h>

#include "record/record.h"
#include "wire.h"

/* The 64-bit record number of DTLS 1.2: epoch(16) || sequence_number(48). */
static uint64_t seq_num12(const tern_prot_rec *r) { return r->epoch << 48 | r->seq; }

/* Build the nonce (always TERN_AEAD_NONCE_LEN bytes; not when |nonce| is NULL: the
 * record entry points make it themselves) and the additional data for one record
 * of |p|'s kind. |explicit| is the nonce_explicit field for the explicit kinds
 * (NULL otherwise); |ptlen| the plaintext length. Returns the AAD length. */
static size_t prot_nonce_aad(const tern_prot *p, const tern_prot_rec *r,
                             const uint8_t *explicit, size_t ptlen,
                             uint8_t nonce[TERN_AEAD_NONCE_LEN], uint8_t aad[TERN_PROT_MAX_AAD])
{
    switch (nonce != NULL ? p->kind : TERN_PROT_NONE) {
    case TERN_PROT_NONE:
        break; /* only the additional data */
    case TERN_PROT_12_EXPLICIT:
        memcpy(nonce, p->iv, TERN_DTLS12_SALT_LEN);
        memcpy(nonce + TERN_DTLS12_SALT_LEN, explicit, TERN_DTLS12_EXPLICIT_NONCE_LEN);
        break;
    case TERN_PROT_12_XOR: {
        uint8_t padded[TERN_AEAD_NONCE_LEN] = {0};
        tern_store64(padded + TERN_AEAD_NONCE_LEN - 8, seq_num12(r));
        for (size_t i = 0; i < TERN_AEAD_NONCE_LEN; i++)
            nonce[i] = p->iv[i] ^ padded[i];
        break;
    }
    default:
        return 0; /* unreachable: every kind is listed */
    }
    tern_store64(aad, seq_num12(r));
    aad[8] = r->type;
    tern_store16(aad + 9, r->version);
    tern_store16(aad + 11, (uint16_t)ptlen);
    return TERN_DTLS12_AAD_LEN;
}

tern_err tern_prot_init(tern_prot *p, const tern_rec_keys *keys)
{
    memset(p, 0, sizeof *p);
    if (keys->version != TERN_DTLS12_VERSION)
        return TERN_ERR_UNSUPPORTED;
    size_t tag_len = tern_aead_tag_len(keys->alg);
    if (tag_len == 0)
        return TERN_ERR_UNSUPPORTED;
    tern_prot_kind kind;
    size_t iv_len;
    if (keys->alg == TERN_AEAD_CHACHA20_POLY1305) {
        kind = TERN_PROT_12_XOR;
        iv_len = TERN_AEAD_NONCE_LEN;
    } else {
        kind = TERN_PROT_12_EXPLICIT;
        iv_len = TERN_DTLS12_SALT_LEN;
    }
    if (keys->key == NULL || keys->iv == NULL || keys->iv_len != iv_len)
        return TERN_ERR_ARG;

    tern_aead *aead;
    tern_err err = tern_aead_new(keys->alg, keys->key, &aead);
    if (err != TERN_OK)
        return err;
    p->aead = aead;
    memcpy(p->iv, keys->iv, iv_len);
    p->kind = (uint8_t)kind;
    p->tag_len = (uint8_t)tag_len;
    p->version = keys->version;
    return TERN_OK;
}

void tern_prot_clear(tern_prot *p)
{
    tern_aead_free(p->aead);
    tern_wipe(p, sizeof *p);
}

size_t tern_prot_prefix_len(const tern_prot *p)
{
    return p->kind == TERN_PROT_12_EXPLICIT ? TERN_DTLS12_EXPLICIT_NONCE_LEN : 0;
}

size_t tern_prot_tag_len(const tern_prot *p) { return p->tag_len; }

tern_err tern_prot_seal(tern_prot *p, const tern_prot_rec *rec, uint8_t *frag, size_t len)
{
    size_t prefix = tern_prot_prefix_len(p);
    if (prefix > 0)
        tern_store64(frag, seq_num12(rec)); /* nonce_explicit = epoch||seq */
    uint8_t nonce[TERN_AEAD_NONCE_LEN], aad[TERN_PROT_MAX_AAD];
    (void)prot_nonce_aad(p, rec, frag, len, NULL, aad);
    tern_err err = tern_aead_seal12(p->aead, p->iv, aad, frag, len);
    if (err == TERN_ERR_UNSUPPORTED) {
        size_t aadlen = prot_nonce_aad(p, rec, frag, len, nonce, aad);
        err = tern_aead_seal(p->aead, nonce, aad, aadlen, frag + prefix, len, frag + prefix);
        tern_wipe(nonce, sizeof nonce);
    }
    return err == TERN_OK ? TERN_OK : TERN_ERR_CRYPTO;
}

tern_err tern_prot_open(tern_prot *p, const tern_prot_rec *rec, uint8_t *frag, size_t len,
                        uint8_t **pt, size_t *ptlen)
{
    size_t prefix = tern_prot_prefix_len(p);
    if (len < prefix + p->tag_len)
        return TERN_ERR_BAD_MAC;
    uint8_t *ct = frag + prefix;
    size_t ctlen = len - prefix;
    uint8_t nonce[TERN_AEAD_NONCE_LEN], aad[TERN_PROT_MAX_AAD];
    size_t outlen;
    (void)prot_nonce_aad(p, rec, frag, ctlen - p->tag_len, NULL, aad);
    tern_err err = tern_aead_open12(p->aead, p->iv, aad, frag, len, &outlen);
    if (err == TERN_ERR_UNSUPPORTED) {
        size_t aadlen = prot_nonce_aad(p, rec, frag, ctlen - p->tag_len, nonce, aad);
        err = tern_aead_open(p->aead, nonce, aad, aadlen, ct, ctlen, ct, &outlen);
        tern_wipe(nonce, sizeof nonce);
    }
    if (err != TERN_OK)
        return err == TERN_ERR_BAD_MAC ? TERN_ERR_BAD_MAC : TERN_ERR_CRYPTO;
    *pt = ct;
    *ptlen = outlen;
    return TERN_OK;
}
