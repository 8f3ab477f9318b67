/*
 * rtx.c - the retransmission timer (see flight.h).
 *
 * A deadline and a timeout, nothing else: the caller hands in the time. What it
 * keeps true:
 *   - initial <= timeout <= max at all times; doubling saturates at max and never
 *     overflows (the doubling is compared against max / 2 before it is done);
 *   - the first |steady| timeouts of a flight (count below steady) do not double;
 *   - the deadline is now + timeout, saturated at UINT64_MAX, so a clock near the
 *     end of its range yields a deadline that never comes rather than one in the
 *     past;
 *   - a timer fires once per arm: tern_rtx_expired() disarms it, so asking twice
 *     does not back off twice.
 */
#include "flight/flight.h"

/* see flight.h */
void tern_rtx_init(tern_rtx *t, uint64_t initial_ms, uint64_t max_ms)
{
    if (initial_ms == 0)
        initial_ms = TERN_RTX_DEFAULT_INITIAL_MS;
    if (max_ms == 0)
        max_ms = TERN_RTX_DEFAULT_MAX_MS;
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    t->initial = initial_ms;
    t->max = max_ms;
    t->timeout = initial_ms;
    t->deadline = UINT64_MAX;
    t->armed = false;
    t->stopped = true;
    t->count = 0;
    t->steady = 0;
    t->total = 0;
}

/* see flight.h */
void tern_rtx_arm(tern_rtx *t, uint64_t now)
{
    if (t->stopped)
        t->count = 0;
    t->stopped = false;
    t->armed = true;
    t->deadline = now > UINT64_MAX - t->timeout ? UINT64_MAX : now + t->timeout;
}

/* see flight.h */
bool tern_rtx_expired(tern_rtx *t, uint64_t now)
{
    if (!t->armed || now < t->deadline)
        return false;
    t->armed = false;
    t->deadline = UINT64_MAX;
    /* RFC 6347 §4.2.4.1: "double the value at each retransmission, up to no less
     * than the RFC 6298 maximum of 60 seconds" - our max is the caller's, and a
     * flight's first |steady| retransmissions keep the pace (tern_rtx_set_steady). */
    if (t->count >= t->steady)
        t->timeout = t->timeout > t->max / 2 ? t->max : t->timeout * 2;
    if (t->count < UINT32_MAX)
        t->count++;
    t->total++;
    return true;
}

/* see flight.h */
void tern_rtx_stop(tern_rtx *t)
{
    t->armed = false;
    t->stopped = true;
    t->deadline = UINT64_MAX;
}

/* see flight.h */
void tern_rtx_reset_backoff(tern_rtx *t) { t->timeout = t->initial; }
