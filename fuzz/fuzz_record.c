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
#include "record_model.h"
#include "record/record.h"



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
        model(data + off, size - off, 0, 0, &e);
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
