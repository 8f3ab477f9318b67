/*
 * replay.c - see replay.h.
 *
 * The bitmap is a ring: sequence number s lives at bit s % nbits. Because
 * nbits >= size, the numbers of one window never share a bit. Bits of numbers that
 * left the window may stay set; they are never consulted (check() rejects anything
 * left of the window before looking at a bit) and are cleared when the window
 * slides over their position again, which is the only time the ring is written
 * besides setting the accepted bit.
 */
#include "record/replay.h"

#include <string.h>

static bool ring_get(const tern_replay *w, uint64_t seq)
{
    unsigned bit = (unsigned)(seq % w->nbits);
    return (w->ring[bit / TERN_REPLAY_WORD_BITS] >> (bit % TERN_REPLAY_WORD_BITS)) & 1;
}

static void ring_put(tern_replay *w, uint64_t seq, bool on)
{
    unsigned bit = (unsigned)(seq % w->nbits);
    uint64_t mask = (uint64_t)1 << (bit % TERN_REPLAY_WORD_BITS);
    if (on)
        w->ring[bit / TERN_REPLAY_WORD_BITS] |= mask;
    else
        w->ring[bit / TERN_REPLAY_WORD_BITS] &= ~mask;
}

/* Words of the ring of a window of |size| (already range-checked). */
static size_t ring_words(unsigned size)
{
    return (size + TERN_REPLAY_WORD_BITS - 1) / TERN_REPLAY_WORD_BITS;
}

size_t tern_replay_bytes(unsigned size)
{
    if (size == 0)
        size = TERN_REPLAY_DEFAULT;
    if (size < TERN_REPLAY_MIN || size > TERN_REPLAY_MAX)
        return 0;
    return sizeof(tern_replay) + ring_words(size) * sizeof(uint64_t);
}

tern_err tern_replay_init(tern_replay *w, unsigned size)
{
    size_t bytes = tern_replay_bytes(size);
    if (bytes == 0)
        return TERN_ERR_ARG;
    if (size == 0)
        size = TERN_REPLAY_DEFAULT;
    memset(w, 0, bytes);
    w->size = (uint16_t)size;
    w->nbits = (uint16_t)(ring_words(size) * TERN_REPLAY_WORD_BITS);
    return TERN_OK;
}

bool tern_replay_check(const tern_replay *w, uint64_t seq)
{
    if (seq > w->top)
        return true;
    /* RFC 6347 §4.1.2.6: "Records that contain sequence numbers lower than the
     * 'left' edge of the window are rejected." */
    if (w->top - seq >= w->size)
        return false;
    return !ring_get(w, seq);
}

bool tern_replay_update(tern_replay *w, uint64_t seq)
{
    if (!tern_replay_check(w, seq))
        return false;
    if (seq > w->top) {
        uint64_t ahead = seq - w->top;
        if (ahead >= w->nbits) {
            memset(w->ring, 0, w->nbits / 8);
        } else {
            /* The positions of top+1 .. seq held numbers that are now left of the
             * window; forget them. */
            for (uint64_t s = w->top + 1; s <= seq; s++)
                ring_put(w, s, false);
        }
        w->top = seq;
    }
    ring_put(w, seq, true);
    return true;
}
