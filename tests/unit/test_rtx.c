/*
 * test_rtx.c - the retransmission timer: doubling, the steady phase, the cap, stop,
 * reset, the count of retransmissions, and deadline arithmetic near UINT64_MAX.
 */
#include "flight/flight.h"
#include "test.h"

TEST(defaults_and_clamps)
{
    tern_rtx t;
    tern_rtx_init(&t, 0, 0);
    CHECK_EQ(tern_rtx_timeout(&t), TERN_RTX_DEFAULT_INITIAL_MS);
    CHECK(t.max == TERN_RTX_DEFAULT_MAX_MS);
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX);
    CHECK(!tern_rtx_expired(&t, UINT64_MAX)); /* never armed: never fires */
    CHECK_EQ(tern_rtx_count(&t), 0);

    tern_rtx_init(&t, 5000, 100); /* max below initial is raised to it */
    CHECK_EQ(tern_rtx_timeout(&t), 5000);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, 5000));
    CHECK_EQ(tern_rtx_timeout(&t), 5000);
}

TEST(arm_and_expire)
{
    tern_rtx t;
    tern_rtx_init(&t, 1000, 60000);
    tern_rtx_arm(&t, 500);
    CHECK(tern_rtx_deadline(&t) == 1500);
    CHECK(!tern_rtx_expired(&t, 1499));
    CHECK_EQ(tern_rtx_count(&t), 0);
    CHECK_EQ(tern_rtx_timeout(&t), 1000); /* no change when it does not fire */
    CHECK(tern_rtx_expired(&t, 1500));    /* the deadline itself has passed */
    CHECK_EQ(tern_rtx_count(&t), 1);
    CHECK_EQ(tern_rtx_timeout(&t), 2000);
    /* fired once: disarmed until the caller re-arms, no second doubling */
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX);
    CHECK(!tern_rtx_expired(&t, 99999));
    CHECK_EQ(tern_rtx_timeout(&t), 2000);
    CHECK_EQ(tern_rtx_count(&t), 1);
}

TEST(doubling_up_to_the_cap)
{
    tern_rtx t;
    tern_rtx_init(&t, 1000, 60000);
    uint64_t now = 0;
    const uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tern_rtx_arm(&t, now);
        CHECK(tern_rtx_deadline(&t) == now + want[i]);
        now = tern_rtx_deadline(&t);
        CHECK(tern_rtx_expired(&t, now));
        CHECK_EQ(tern_rtx_count(&t), i + 1);
    }
    CHECK(tern_rtx_total(&t) == 9);

    /* a cap that is not a power-of-two multiple, and a huge one: no overflow */
    tern_rtx_init(&t, 3, 10);
    const uint64_t want2[] = {3, 6, 10, 10};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(tern_rtx_timeout(&t), want2[i]);
        tern_rtx_arm(&t, 0);
        CHECK(tern_rtx_expired(&t, UINT64_MAX));
    }
    tern_rtx_init(&t, UINT64_MAX / 2 + 1, UINT64_MAX);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, UINT64_MAX));
    CHECK(tern_rtx_timeout(&t) == UINT64_MAX);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, UINT64_MAX));
    CHECK(tern_rtx_timeout(&t) == UINT64_MAX);
}

TEST(stop_and_reset)
{
    tern_rtx t;
    tern_rtx_init(&t, 400, 60000);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, 400));
    tern_rtx_arm(&t, 400);
    CHECK(tern_rtx_expired(&t, 1200));
    tern_rtx_arm(&t, 1200);
    CHECK_EQ(tern_rtx_count(&t), 2);

    /* the peer answers: stopped, the count is still readable */
    tern_rtx_stop(&t);
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX);
    CHECK(!tern_rtx_expired(&t, 1000000));
    CHECK_EQ(tern_rtx_count(&t), 2);
    CHECK_EQ(tern_rtx_timeout(&t), 1600); /* RFC 6347 §4.2.4.1: retained after loss */

    /* the next flight: a new count, the backed-off timeout */
    tern_rtx_arm(&t, 2000);
    CHECK_EQ(tern_rtx_count(&t), 0);
    CHECK(tern_rtx_deadline(&t) == 3600);
    tern_rtx_stop(&t);
    CHECK_EQ(tern_rtx_count(&t), 0); /* answered without loss ... */
    tern_rtx_reset_backoff(&t);      /* ... so back to the initial value */
    CHECK_EQ(tern_rtx_timeout(&t), 400);
    tern_rtx_arm(&t, 5000);
    CHECK(tern_rtx_deadline(&t) == 5400);
    CHECK(tern_rtx_total(&t) == 2);

    /* re-arming an armed timer (a retransmission the peer asked for) moves the
     * deadline and keeps the count */
    CHECK(tern_rtx_expired(&t, 5400));
    tern_rtx_arm(&t, 5400);
    tern_rtx_arm(&t, 5500);
    CHECK(tern_rtx_deadline(&t) == 5500 + 800);
    CHECK_EQ(tern_rtx_count(&t), 1);
}

TEST(deadline_near_the_end_of_time)
{
    tern_rtx t;
    tern_rtx_init(&t, 1000, 60000);
    tern_rtx_arm(&t, UINT64_MAX - 1000);
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX); /* exactly at the end */
    tern_rtx_arm(&t, UINT64_MAX - 999);
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX); /* saturated, not wrapped into the past */
    CHECK(!tern_rtx_expired(&t, UINT64_MAX - 1));
    tern_rtx_arm(&t, UINT64_MAX - 1001);
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX - 1);
    CHECK(!tern_rtx_expired(&t, UINT64_MAX - 2));
    CHECK(tern_rtx_expired(&t, UINT64_MAX - 1));
    tern_rtx_arm(&t, UINT64_MAX);
    CHECK(tern_rtx_deadline(&t) == UINT64_MAX);
}

TEST(steady_phase_then_doubling)
{
    tern_rtx t;
    tern_rtx_init(&t, 400, 60000);
    tern_rtx_set_steady(&t, 3);
    uint64_t now = 0;
    /* three timeouts keep the pace, the fourth and later double */
    const uint64_t want[] = {400, 400, 400, 400, 800, 1600, 3200};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tern_rtx_arm(&t, now);
        CHECK(tern_rtx_deadline(&t) == now + want[i]);
        now = tern_rtx_deadline(&t);
        CHECK(tern_rtx_expired(&t, now));
    }
    CHECK_EQ(tern_rtx_count(&t), 7);
    CHECK_EQ(tern_rtx_timeout(&t), 6400);

    /* the next flight: a new count, so a new steady phase, at the retained value
     * (RFC 6347 §4.2.4.1) */
    tern_rtx_stop(&t);
    tern_rtx_arm(&t, now);
    CHECK(tern_rtx_expired(&t, now + 6400));
    CHECK_EQ(tern_rtx_timeout(&t), 6400);
    /* until a flight goes through without loss */
    tern_rtx_stop(&t);
    tern_rtx_reset_backoff(&t);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_deadline(&t) == 400);

    /* the cap still holds, and steady 0 is plain doubling */
    tern_rtx_init(&t, 400, 500);
    tern_rtx_set_steady(&t, 1);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, 400));
    CHECK_EQ(tern_rtx_timeout(&t), 400);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, 400));
    CHECK_EQ(tern_rtx_timeout(&t), 500);
    tern_rtx_init(&t, 400, 60000);
    tern_rtx_set_steady(&t, 0);
    tern_rtx_arm(&t, 0);
    CHECK(tern_rtx_expired(&t, 400));
    CHECK_EQ(tern_rtx_timeout(&t), 800);
}
