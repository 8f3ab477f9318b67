/*
 * test_replay.c - the anti-replay window on its own (RFC 6347 §4.1.2.6).
 */
#include <stdlib.h>

#include "record/replay.h"
#include "test.h"

TEST(replay_fresh_and_duplicate)
{
    TERN_REPLAY_STORAGE(ws);
    tern_replay *w = &ws.w;
    CHECK_OK(tern_replay_init(w, 0));
    CHECK_EQ(w->size, TERN_REPLAY_DEFAULT);
    CHECK(tern_replay_check(w, 0)); /* the counter starts at zero: 0 is new */
    CHECK(tern_replay_update(w, 0));
    CHECK(!tern_replay_check(w, 0));
    CHECK(!tern_replay_update(w, 0));

    /* out of order inside the window */
    CHECK(tern_replay_update(w, 5));
    CHECK(tern_replay_check(w, 3));
    CHECK(tern_replay_update(w, 3));
    CHECK(tern_replay_update(w, 4));
    CHECK(!tern_replay_check(w, 3));
    CHECK(!tern_replay_check(w, 4));
    CHECK(!tern_replay_check(w, 5));
    CHECK(tern_replay_check(w, 1));
    CHECK(tern_replay_check(w, 2));
    CHECK(tern_replay_check(w, 6));
}

/* The window's edges for one size: top - size + 1 is inside, top - size is not. */
static void edges(unsigned size)
{
    TERN_REPLAY_STORAGE(ws);
    tern_replay *w = &ws.w;
    CHECK_OK(tern_replay_init(w, size));
    uint64_t top = 100000;
    CHECK(tern_replay_update(w, top));
    CHECK(tern_replay_check(w, top - size + 1)); /* lower edge: accepted */
    CHECK(!tern_replay_check(w, top - size));    /* just beyond: rejected */
    CHECK(!tern_replay_check(w, 0));
    CHECK(!tern_replay_update(w, top - size));
    CHECK(tern_replay_update(w, top - size + 1));
    CHECK(!tern_replay_check(w, top - size + 1)); /* now seen */
    /* every number between is new until accepted */
    for (uint64_t s = top - size + 2; s < top; s++) {
        CHECK(tern_replay_check(w, s));
        CHECK(tern_replay_update(w, s));
        CHECK(!tern_replay_check(w, s));
    }
    CHECK(tern_replay_check(w, top + 1));
}

TEST(replay_edges_default) { edges(TERN_REPLAY_DEFAULT); }

TEST(replay_edges_configurable_sizes)
{
    static const unsigned sizes[] = {TERN_REPLAY_MIN, 63, 65, 100, 128, 1000, TERN_REPLAY_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        edges(sizes[i]);
        if (test_failed()) {
            fprintf(stderr, "  size %u\n", sizes[i]);
            return;
        }
    }
}

TEST(replay_size_limits)
{
    TERN_REPLAY_STORAGE(ws);
    tern_replay *w = &ws.w;
    w->size = 7;
    CHECK_ERR(tern_replay_init(w, TERN_REPLAY_MIN - 1), TERN_ERR_ARG);
    CHECK_ERR(tern_replay_init(w, TERN_REPLAY_MAX + 1), TERN_ERR_ARG);
    CHECK_EQ(w->size, 7); /* untouched on failure */
    CHECK_OK(tern_replay_init(w, TERN_REPLAY_MAX));
    CHECK_EQ(w->size, TERN_REPLAY_MAX);
    CHECK(tern_replay_bytes(TERN_REPLAY_MAX) <= 160); /* per-epoch memory stays small */
    CHECK(tern_replay_bytes(0) <= 24);                /* and the default pays for 64 bits */
    CHECK_EQ(tern_replay_bytes(TERN_REPLAY_MAX + 1), 0);
}

TEST(replay_far_ahead_slides)
{
    TERN_REPLAY_STORAGE(ws);
    tern_replay *w = &ws.w;
    CHECK_OK(tern_replay_init(w, 64));
    CHECK(tern_replay_update(w, 10));
    CHECK(tern_replay_update(w, 12));
    uint64_t far = 10 + 1000000;
    CHECK(tern_replay_check(w, far));
    CHECK(tern_replay_update(w, far));
    CHECK_EQ(w->top, far);
    CHECK(!tern_replay_check(w, 10)); /* far left of the window now */
    CHECK(!tern_replay_check(w, 12));
    CHECK(!tern_replay_check(w, far));
    CHECK(tern_replay_check(w, far - 1));
    CHECK(tern_replay_check(w, far - 63));
    CHECK(!tern_replay_check(w, far - 64));
    /* the largest 48-bit sequence number is just another number */
    CHECK(tern_replay_update(w, (1ull << 48) - 1));
    CHECK(!tern_replay_check(w, (1ull << 48) - 1));
    CHECK(tern_replay_check(w, (1ull << 48) - 2));
}

TEST(replay_short_slide_forgets_old_bits)
{
    /* Fill a whole window, then slide by less than its width: the ring positions
     * reused by the new numbers must not remember the old ones. */
    TERN_REPLAY_STORAGE(ws);
    tern_replay *w = &ws.w;
    CHECK_OK(tern_replay_init(w, 64));
    for (uint64_t s = 0; s < 64; s++)
        CHECK(tern_replay_update(w, s));
    CHECK(tern_replay_update(w, 74));
    for (uint64_t s = 64; s < 74; s++)
        CHECK(tern_replay_check(w, s));
    for (uint64_t s = 11; s < 64; s++)
        CHECK(!tern_replay_check(w, s)); /* still remembered */
    CHECK(!tern_replay_check(w, 10));    /* left of the window */
}

TEST(replay_check_does_not_move)
{
    /* A record that fails authentication is checked but never updated: the check
     * alone must leave the window as it was. */
    TERN_REPLAY_STORAGE(ws);
    TERN_REPLAY_STORAGE(before);
    tern_replay *w = &ws.w;
    CHECK_OK(tern_replay_init(w, 64));
    CHECK(tern_replay_update(w, 100));
    CHECK(tern_replay_update(w, 90));
    memcpy(&before, &ws, sizeof ws);
    CHECK(tern_replay_check(w, 5000000)); /* a forged far-ahead number */
    CHECK(tern_replay_check(w, 95));
    CHECK(!tern_replay_check(w, 90));
    CHECK(memcmp(&ws, &before, sizeof ws) == 0);
    CHECK(tern_replay_check(w, 99)); /* the real ones are still accepted */
    CHECK(tern_replay_update(w, 99));
    CHECK(!tern_replay_check(w, 99));
}

/* Against a naive model (every accepted number remembered), on a seeded walk. */
TEST(replay_matches_model)
{
    enum { N = 20000 };
    static bool seen[N];
    static const unsigned sizes[] = {32, 64, 200, 1024};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        unsigned size = sizes[k];
        TERN_REPLAY_STORAGE(ws);
        tern_replay *w = &ws.w;
        CHECK_OK(tern_replay_init(w, size));
        memset(seen, 0, sizeof seen);
        uint64_t top = 0;
        uint32_t x = 12345 + (uint32_t)k;
        for (int i = 0; i < 50000; i++) {
            x = x * 1103515245u + 12345u;
            int64_t delta = (int64_t)((x >> 8) % (3 * size)) - (int64_t)(2 * size);
            int64_t s = (int64_t)top + delta;
            if (s < 0 || s >= N)
                continue;
            uint64_t seq = (uint64_t)s;
            bool model = seq > top || (top - seq < size && !seen[seq]);
            CHECK_EQ(tern_replay_check(w, seq), model);
            if ((x >> 28) & 1) { /* half of them "authenticate" */
                CHECK_EQ(tern_replay_update(w, seq), model);
                if (model) {
                    seen[seq] = true;
                    if (seq > top)
                        top = seq;
                }
            }
        }
        CHECK(top > 1000); /* the walk went somewhere */
    }
}
