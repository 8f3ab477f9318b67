/*
 * unit_io.c - the endpoint's pure modules alone: the demux map (SipHash-2-4
 * against its published vector; insert, find, replace, remove with backward
 * shifting, against a simple model) and the timer heap (order, moves, cancels).
 */
#include <stdlib.h>

#include "io/demux.h"
#include "io/timers.h"
#include "test.h"

/* SipHash paper, appendix A: key 00..0f, message 00..0e. */
TEST(siphash24_vector)
{
    uint8_t msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    CHECK(tern_demux_siphash(k0, k1, msg, 15) == 0xa129ca6149be45e5ULL);
    CHECK(tern_demux_siphash(k0, k1, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

TEST(demux_against_model)
{
    enum { N = 3000 };
    static tern_demux_key keys[N];
    static bool in[N];
    uint8_t seed[16] = {1, 2, 3};
    tern_demux d;
    tern_demux_init(&d, seed);
    for (int i = 0; i < N; i++) {
        keys[i].kind = TERN_DEMUX_ADDR;
        keys[i].len = 7;
        keys[i].b[0] = 4;
        keys[i].b[1] = (uint8_t)(i >> 8);
        keys[i].b[2] = (uint8_t)i;
        keys[i].b[3] = 127;
        keys[i].b[6] = 1;
    }
    for (int step = 0; step < 40000; step++) {
        int i = (int)(rnd() % N);
        switch (rnd() % 3) {
        case 0:
            if (in[i]) {
                CHECK_ERR(tern_demux_insert(&d, &keys[i], &keys[i]), TERN_ERR_STATE);
            } else {
                CHECK_OK(tern_demux_insert(&d, &keys[i], &keys[i]));
                in[i] = true;
            }
            break;
        case 1:
            CHECK(tern_demux_remove(&d, &keys[i]) == (in[i] ? &keys[i] : NULL));
            in[i] = false;
            break;
        default:
            CHECK(tern_demux_find(&d, &keys[i]) == (in[i] ? &keys[i] : NULL));
            break;
        }
    }
    size_t count = 0;
    for (int i = 0; i < N; i++) {
        CHECK(tern_demux_find(&d, &keys[i]) == (in[i] ? &keys[i] : NULL));
        count += in[i];
    }
    CHECK_EQ(d.count, count);
    CHECK(d.count * 2 <= d.cap);
    /* replace keeps the slot, with the new key pointer and value */
    int i = 0;
    while (!in[i])
        i++;
    tern_demux_key copy = keys[i];
    int v;
    CHECK(tern_demux_replace(&d, &copy, &v));
    CHECK(tern_demux_find(&d, &keys[i]) == &v);
    CHECK(tern_demux_remove(&d, &keys[i]) == &v);
    /* an address key and a CID key with the same bytes are different keys */
    tern_demux_key cid = keys[(i + 1) % N];
    cid.kind = TERN_DEMUX_CID;
    CHECK(tern_demux_find(&d, &cid) == NULL);
    tern_demux_clear(&d);
}

TEST(timers_order_moves_cancels)
{
    enum { N = 500 };
    static tern_timer t[N];
    tern_timers ts;
    tern_timers_init(&ts);
    CHECK_OK(tern_timers_reserve(&ts, N));
    for (int i = 0; i < N; i++) {
        tern_timer_init(&t[i]);
        tern_timers_set(&ts, &t[i], 1000 + rnd() % 100000);
    }
    /* move some, cancel some */
    for (int i = 0; i < N; i += 3)
        tern_timers_set(&ts, &t[i], 1000 + rnd() % 100000);
    for (int i = 1; i < N; i += 7)
        tern_timers_cancel(&ts, &t[i]);
    for (int i = 2; i < N; i += 11)
        tern_timers_set(&ts, &t[i], UINT64_MAX);
    size_t armed = 0;
    for (int i = 0; i < N; i++)
        armed += tern_timer_armed(&t[i]);
    CHECK_EQ(ts.count, armed);
    CHECK(tern_timers_pop_due(&ts, 999) == NULL);
    uint64_t last = 0;
    size_t popped = 0;
    tern_timer *x;
    while ((x = tern_timers_pop_due(&ts, UINT64_MAX - 1)) != NULL) {
        CHECK(x->at == UINT64_MAX); /* cancelled on the way out */
        CHECK(!tern_timer_armed(x));
        popped++;
    }
    CHECK_EQ(popped, armed);
    (void)last;
    CHECK_EQ(tern_timers_next(&ts), UINT64_MAX);
    tern_timers_clear(&ts);
}

TEST(timers_pop_in_deadline_order)
{
    enum { N = 300 };
    static tern_timer t[N];
    tern_timers ts;
    tern_timers_init(&ts);
    CHECK_OK(tern_timers_reserve(&ts, N));
    for (int i = 0; i < N; i++) {
        tern_timer_init(&t[i]);
        tern_timers_set(&ts, &t[i], rnd() % 5000);
    }
    for (int i = 0; i < N; i += 2)
        tern_timers_set(&ts, &t[i], rnd() % 5000);
    uint64_t prev = 0;
    for (uint64_t now = 0; now < 5000; now += 37) {
        uint64_t next = tern_timers_next(&ts);
        tern_timer *x;
        while ((x = tern_timers_pop_due(&ts, now)) != NULL) {
            (void)x;
            CHECK(next <= now);
            CHECK(next >= prev);
            prev = next;
            next = tern_timers_next(&ts);
        }
        CHECK(tern_timers_next(&ts) > now);
    }
    tern_timers_clear(&ts);
}
