/*
 * fuzz_record.c - the record layer's receive iterator on one arbitrary datagram,
 * for a tern_rec with only epoch 0 (tern_rec_init): the first-byte dispatch, the
 * DTLS 1.2 header codec, length checks, and future and unknown epochs.
 *
 * The input is the datagram. A small model written from record.h (the check order
 * documented for tern_rec_next) walks the same bytes alongside the iterator and
 * says, for every record, how many bytes it covers and what must come out: the
 * results tile the datagram exactly, in order. Beyond the model, the checks are
 * the iterator's promises: every result's data lies inside the datagram, the
 * iteration ends (and stays ended), and the counters add up to the results seen.
 * A change in what the record layer accepts (DTLS 1.3, CIDs) changes the model.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "record/record.h"

#define HDR TERN_DTLS12_HDR_LEN

/* What record.h says happens to the record starting at |p| with |left| bytes to the
 * end of the datagram, for a tern_rec reading epoch 0 only (newest read epoch 0). */
typedef struct expect {
    size_t span; /* datagram bytes this result covers */
    tern_rec_kind kind;
    tern_rec_drop reason; /* DROPPED */
    uint8_t type;
    uint16_t epoch, length;
    uint64_t seq;
} expect;

static void model(const uint8_t *p, size_t left, expect *e)
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
    e->seq = 0;
    for (int i = 5; i < 11; i++)
        e->seq = e->seq << 8 | p[i];
    e->length = (uint16_t)(p[11] << 8 | p[12]);
    if ((size_t)e->length > left - HDR)
        return;
    e->span = HDR + (size_t)e->length;

    if (e->type == TERN_CT_HEARTBEAT || e->type == TERN_CT_ACK) {
        e->reason = TERN_REC_DROP_UNSUPPORTED;
    } else if (e->epoch > TERN_REC_FUTURE_SPAN) {
        e->reason = TERN_REC_DROP_EPOCH; /* never keyed, too far ahead */
    } else if (e->epoch > 0) {
        if (version != TERN_DTLS12_VERSION)
            e->reason = TERN_REC_DROP_BAD_VERSION;
        else if (e->length > TERN_DTLS12_MAX_CIPHERTEXT)
            e->reason = TERN_REC_DROP_BAD_LENGTH;
        else
            e->kind = TERN_REC_FUTURE;
    } else {
        if (version != TERN_DTLS10_VERSION && version != TERN_DTLS12_VERSION)
            e->reason = TERN_REC_DROP_BAD_VERSION;
        else if (e->length > TERN_DTLS_MAX_PLAINTEXT)
            e->reason = TERN_REC_DROP_BAD_LENGTH;
        else
            e->kind = TERN_REC_RECORD;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The datagram in a buffer of its own size, so ASan sees any over-read. */
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    tern_rec rec;
    CHECK(tern_rec_init(&rec, 0) == TERN_OK);

    tern_rec_iter it;
    tern_rec_iter_init(&it, &rec, buf, size);
    uint64_t seen[4] = {0}, dropped[TERN_REC_DROP_COUNT] = {0};
    size_t off = 0;
    tern_rec_in in;
    /* Every result but END covers at least one byte: size + 1 calls must end it. */
    for (size_t n = 0;; n++) {
        CHECK(n <= size);
        tern_rec_kind kind = tern_rec_next(&it, &in);
        CHECK(kind == in.kind);
        if (kind == TERN_REC_END) {
            CHECK(off == size);
            break;
        }
        CHECK(off < size);
        CHECK(in.data >= buf && in.len <= size && (size_t)(in.data - buf) <= size - in.len);

        expect e;
        model(data + off, size - off, &e);
        CHECK(kind == e.kind);
        const uint8_t *start = buf + off;
        switch (kind) {
        case TERN_REC_RECORD:
            /* Epoch 0 is unprotected: the plaintext is the fragment, in place. */
            CHECK(in.data == start + HDR && in.len == e.length);
            CHECK(memcmp(in.data, data + off + HDR, in.len) == 0);
            CHECK(in.type == e.type && in.epoch == 0 && in.seq == e.seq);
            break;
        case TERN_REC_FUTURE:
            /* Handed back untouched, header included, to be fed again later. */
            CHECK(in.data == start && in.len == e.span);
            CHECK(memcmp(in.data, data + off, in.len) == 0);
            CHECK(in.type == e.type && in.epoch == e.epoch && in.seq == e.seq);
            break;
        case TERN_REC_DROPPED:
            CHECK(in.data == start && in.len == e.span && in.reason == e.reason);
            dropped[in.reason]++;
            break;
        default:
            CHECK(0);
        }
        seen[kind]++;
        off += e.span;
    }
    CHECK(tern_rec_next(&it, &in) == TERN_REC_END && in.kind == TERN_REC_END);

    const tern_rec_stats *st = tern_rec_stats_of(&rec);
    uint64_t total_dropped = 0;
    for (int r = 0; r < TERN_REC_DROP_COUNT; r++) {
        CHECK(st->dropped[r] == dropped[r]);
        total_dropped += st->dropped[r];
    }
    CHECK(st->sent == 0 && st->accepted == seen[TERN_REC_RECORD]);
    CHECK(st->future == seen[TERN_REC_FUTURE] && total_dropped == seen[TERN_REC_DROPPED]);

    tern_rec_clear(&rec);
    free(buf);
    return 0;
}
