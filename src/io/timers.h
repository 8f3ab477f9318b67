/*
 * timers.h - every timer of an endpoint in one binary min-heap.
 *
 * Each association embeds one tern_timer: its next deadline (the earliest of its
 * connection's retransmission or handshake timeout and its idle timeout) and its
 * place in the heap, so moving or cancelling it is O(log n) without a search. The
 * endpoint sleeps until the top of the heap and then pops what is due.
 *
 * Room is reserved when an association is made (tern_timers_reserve), so arming a
 * timer never allocates and never fails. A pure module, tested alone.
 */
#ifndef TERN_IO_TIMERS_H
#define TERN_IO_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

#define TERN_TIMER_IDLE SIZE_MAX /* tern_timer.idx when not in the heap */

typedef struct tern_timer {
    uint64_t at; /* deadline while in the heap */
    size_t idx;  /* position in the heap, or TERN_TIMER_IDLE */
} tern_timer;

typedef struct tern_timers {
    tern_timer **heap;
    size_t count, cap;
} tern_timers;

static inline void tern_timer_init(tern_timer *t)
{
    t->at = UINT64_MAX;
    t->idx = TERN_TIMER_IDLE;
}

static inline bool tern_timer_armed(const tern_timer *t)
{
    return t->idx != TERN_TIMER_IDLE;
}

void tern_timers_init(tern_timers *ts);
void tern_timers_clear(tern_timers *ts);

/* Make room for |n| timers in all. Errors: TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_timers_reserve(tern_timers *ts, size_t n);

/* Arm |t| for |at|, or move it there; UINT64_MAX disarms it. Room must have been
 * reserved for it. */
void tern_timers_set(tern_timers *ts, tern_timer *t, uint64_t at);

/* Take |t| out of the heap (nothing when it is not in). */
void tern_timers_cancel(tern_timers *ts, tern_timer *t);

/* The earliest deadline, or UINT64_MAX when no timer is armed. */
static inline uint64_t tern_timers_next(const tern_timers *ts)
{
    return ts->count ? ts->heap[0]->at : UINT64_MAX;
}

/* Remove and return a timer due at |now| (at <= now), earliest first, or NULL. */
tern_timer *tern_timers_pop_due(tern_timers *ts, uint64_t now);

#endif
