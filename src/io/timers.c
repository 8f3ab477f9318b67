/*
 * timers.c - the endpoint's timer heap (see timers.h).
 *
 * A textbook binary min-heap on an array of pointers, keyed by tern_timer.at;
 * every move writes the element's new index back into it, which is what lets a
 * timer be moved or removed from the middle of the heap.
 */
#include "io/timers.h"

#include <stdlib.h>

static void place(tern_timers *ts, size_t i, tern_timer *t)
{
    ts->heap[i] = t;
    t->idx = i;
}

static void sift_up(tern_timers *ts, size_t i)
{
    tern_timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ts->heap[parent]->at <= t->at)
            break;
        place(ts, i, ts->heap[parent]);
        i = parent;
    }
    place(ts, i, t);
}

static void sift_down(tern_timers *ts, size_t i)
{
    tern_timer *t = ts->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= ts->count)
            break;
        if (child + 1 < ts->count && ts->heap[child + 1]->at < ts->heap[child]->at)
            child++;
        if (t->at <= ts->heap[child]->at)
            break;
        place(ts, i, ts->heap[child]);
        i = child;
    }
    place(ts, i, t);
}

void tern_timers_init(tern_timers *ts)
{
    ts->heap = NULL;
    ts->count = ts->cap = 0;
}

void tern_timers_clear(tern_timers *ts)
{
    for (size_t i = 0; i < ts->count; i++)
        ts->heap[i]->idx = TERN_TIMER_IDLE;
    free(ts->heap);
    tern_timers_init(ts);
}

tern_err tern_timers_reserve(tern_timers *ts, size_t n)
{
    if (n <= ts->cap)
        return TERN_OK;
    size_t cap = ts->cap ? ts->cap : 16;
    while (cap < n)
        cap *= 2;
    tern_timer **heap = realloc(ts->heap, cap * sizeof *heap);
    if (heap == NULL)
        return TERN_ERR_NOMEM;
    ts->heap = heap;
    ts->cap = cap;
    return TERN_OK;
}

void tern_timers_cancel(tern_timers *ts, tern_timer *t)
{
    if (!tern_timer_armed(t))
        return;
    size_t i = t->idx;
    tern_timer *last = ts->heap[--ts->count];
    t->idx = TERN_TIMER_IDLE;
    t->at = UINT64_MAX;
    if (last == t)
        return;
    place(ts, i, last);
    sift_down(ts, i);
    sift_up(ts, last->idx);
}

void tern_timers_set(tern_timers *ts, tern_timer *t, uint64_t at)
{
    if (at == UINT64_MAX) {
        tern_timers_cancel(ts, t);
        return;
    }
    if (!tern_timer_armed(t)) {
        if (ts->count == ts->cap)
            abort(); /* unreachable: room is reserved when an association is made */
        t->at = at;
        place(ts, ts->count++, t);
        sift_up(ts, t->idx);
        return;
    }
    uint64_t old = t->at;
    t->at = at;
    if (at < old)
        sift_up(ts, t->idx);
    else if (at > old)
        sift_down(ts, t->idx);
}

tern_timer *tern_timers_pop_due(tern_timers *ts, uint64_t now)
{
    if (ts->count == 0 || ts->heap[0]->at > now)
        return NULL;
    tern_timer *t = ts->heap[0];
    tern_timers_cancel(ts, t);
    return t;
}
