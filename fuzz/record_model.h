/*
 * record_model.h - what src/record/record.h says happens to one received record,
 * written from the header's documentation alone, so the fuzz targets can check the
 * record layer against it. Included by fuzz_record.c and fuzz_unprotect.c.
 */
#ifndef TERN_FUZZ_RECORD_MODEL_H
#define TERN_FUZZ_RECORD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record/record.h"

#define HDR TERN_DTLS12_HDR_LEN

/* What happens to the record starting at |p| with |left| bytes to the end of the
 * datagram, for a reader with epoch 0 (unprotected) and, when |keyed| is 1, epoch 1
 * (protected, a fragment at least |min_frag| bytes), up to the replay window and
 * the AEAD. */
typedef struct expect {
    size_t span; /* datagram bytes this result covers */
    tern_rec_kind kind;
    tern_rec_drop reason; /* DROPPED */
    bool auth;            /* RECORD, if the replay window and the tag agree */
    uint8_t type;
    uint16_t epoch, length;
    uint64_t seq;
} expect;

static inline void model(const uint8_t *p, size_t left, unsigned keyed, size_t min_frag,
                         expect *e)
{
    memset(e, 0, sizeof *e);
    e->span = left; /* until a header parses, a drop takes the rest */
    e->kind = TERN_REC_DROPPED;
    switch (p[0]) {
    case TERN_CT_CHANGE_CIPHER_SPEC:
    case TERN_CT_ALERT:
    case TERN_CT_HANDSHAKE:
    case TERN_CT_APPLICATION_DATA:
    case TERN_CT_HEARTBEAT:
    case TERN_CT_ACK:
        break;
    case TERN_CT_TLS12_CID:
        e->reason = TERN_REC_DROP_UNSUPPORTED;
        return;
    default:
        /* a DTLS 1.3 unified header, or nothing we know */
        e->reason = (p[0] & TERN_DTLS13_UNIFIED_MASK) == TERN_DTLS13_UNIFIED_BITS
                        ? TERN_REC_DROP_UNSUPPORTED
                        : TERN_REC_DROP_BAD_HEADER;
        return;
    }
    e->reason = TERN_REC_DROP_BAD_HEADER;
    if (left < HDR)
        return;
    uint16_t version = (uint16_t)(p[1] << 8 | p[2]);
    e->type = p[0];
    e->epoch = (uint16_t)(p[3] << 8 | p[4]);
    for (int i = 5; i < 11; i++)
        e->seq = e->seq << 8 | p[i];
    e->length = (uint16_t)(p[11] << 8 | p[12]);
    if ((size_t)e->length > left - HDR)
        return;
    e->span = HDR + (size_t)e->length;

    if (e->type == TERN_CT_HEARTBEAT || e->type == TERN_CT_ACK) {
        e->reason = TERN_REC_DROP_UNSUPPORTED;
    } else if (e->epoch > keyed + TERN_REC_FUTURE_SPAN) {
        e->reason = TERN_REC_DROP_EPOCH; /* never keyed, too far ahead */
    } else if (e->epoch > keyed) {
        if (version != TERN_DTLS12_VERSION)
            e->reason = TERN_REC_DROP_BAD_VERSION;
        else if (e->length > TERN_DTLS12_MAX_CIPHERTEXT)
            e->reason = TERN_REC_DROP_BAD_LENGTH;
        else
            e->kind = TERN_REC_FUTURE;
    } else if (e->epoch > 0) {
        if (version != TERN_DTLS12_VERSION)
            e->reason = TERN_REC_DROP_BAD_VERSION;
        else if (e->length > TERN_DTLS12_MAX_CIPHERTEXT || e->length < min_frag)
            e->reason = TERN_REC_DROP_BAD_LENGTH;
        else
            e->auth = true;
    } else {
        if (version != TERN_DTLS10_VERSION && version != TERN_DTLS12_VERSION)
            e->reason = TERN_REC_DROP_BAD_VERSION;
        else if (e->length > TERN_DTLS_MAX_PLAINTEXT)
            e->reason = TERN_REC_DROP_BAD_LENGTH;
        else
            e->kind = TERN_REC_RECORD;
    }
}

#endif
