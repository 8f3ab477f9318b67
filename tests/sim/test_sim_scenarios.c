/*
 * test_sim_scenarios.c - one case per failure that real deployments meet, each on
 * the simulated network (sim.h) with the datagram contract checked on every
 * datagram and data echoed through the new connection at the end:
 *
 *   the server's last flight (CCS + Finished) lost once and three times: the
 *     client's retransmission makes the server send it again (RFC 6347 §4.2.4);
 *   application data of the new epoch arriving before the Finished: kept and
 *     delivered after it, never dropped (RFC 9147 §5.8.1);
 *   a certificate chain over 4 KB (three RSA-4096 certificates) through MTUs of
 *     1500, 1200, 576 and 256, and through a relay that drops datagrams over 1600
 *     bytes while tern is set to 1500;
 *   every datagram duplicated;
 *   every flight delivered in reverse order (epoch-1 Finished before the keys);
 *   the peer gone: TERN_ERR_TIMEOUT after the total handshake timeout, with the
 *     retransmissions counted.
 *
 * A failing run prints its seed; TERN_SIM_SEED=<seed> TERN_SIM_TRACE=1 replays it.
 */
#include "config.h"
#include "record/record.h"
#include "sim.h"
#include "test.h"

#define BIG_CHAIN "rsa4096-chain.pem"
#define BIG_KEY "rsa4096-leaf.key"
#define BIG_ROOT "rsa4096-root-ca.pem"

/* A pair of configs; the server's chain and key, the client's trust anchor. */
typedef struct cfgs {
    tern_config *c, *s;
} cfgs;

static bool cfgs_make(cfgs *k, const char *chain, const char *key, const char *ca, size_t mtu)
{
    k->s = sim_server_config(chain, key, mtu);
    k->c = sim_client_config(ca, mtu);
    return k->s != NULL && k->c != NULL;
}

static void cfgs_free(cfgs *k)
{
    tern_config_free(k->c);
    tern_config_free(k->s);
}

static sim_params params(const cfgs *k)
{
    sim_params p = {0};
    p.ccfg = k->c;
    p.scfg = k->s;
    p.hostname = "localhost";
    p.echo = true;
    p.trace = sim_trace_env();
    for (int w = 0; w < 2; w++)
        p.dir[w].delay_ms = 25;
    return p;
}

/* The seed to run: TERN_SIM_SEED when replaying, else |seed|. */
static uint64_t pick_seed(uint64_t seed)
{
    uint64_t s;
    return sim_replay_seed(&s) ? s : seed;
}

/* A run must have kept the contract and reached its goal; else say why and fail. */
#define CHECK_RUN(r, what)                                                                         \
    do {                                                                                           \
        if (!(r).contract_ok || !(r).done) {                                                       \
            sim_print_failure(what, &(r));                                                         \
            CHECK((r).contract_ok && (r).done);                                                    \
        }                                                                                          \
    } while (0)

TEST(clean_handshake_and_echo)
{
    cfgs k;
    CHECK(cfgs_make(&k, "leaf-ed25519-chain.pem", "leaf-ed25519.key", "root-ca.pem", 0));
    sim_params p = params(&k);
    sim_result r;
    sim_run(&p, pick_seed(1), &r);
    CHECK_RUN(r, "clean");
    /* ClientHello, HelloVerifyRequest, ClientHello, the server's flight in two
     * datagrams at MTU 1200, the client's flight, the server's Finished. */
    CHECK_EQ(r.hs_sent, 7);
    CHECK_EQ(r.cstats.retransmits, 0);
    CHECK_EQ(r.sstats.retransmits, 0);
    CHECK_EQ(r.cstats.dropped + r.sstats.dropped, 0);
    CHECK_EQ(r.hs_ms, 25 * 6); /* three round trips */
    cfgs_free(&k);
}

/* Drop the first |drops| datagrams of the server that carry a ChangeCipherSpec: its
 * final flight (RFC 6347 §4.2.4: "the last flight is lost"). */
typedef struct drop_final {
    unsigned left;                 /* to drop (or hold) */
    uint32_t hold_ms;              /* instead of dropping, hold it back this long */
    bool missing;                  /* the last final flight sent was dropped or held */
    bool app_passed_while_missing; /* an application datagram of the server went
                                      through then: it arrives before the Finished */
} drop_final;

static bool drop_final_filter(void *ctx, sim_way way, const uint8_t *d, size_t len, uint64_t n,
                              uint32_t *hold_ms)
{
    (void)n;
    drop_final *df = ctx;
    if (way != SIM_S2C)
        return false;
    if (sim_has_record(d, len, TERN_CT_APPLICATION_DATA) && df->missing)
        df->app_passed_while_missing = true;
    if (!sim_has_record(d, len, TERN_CT_CHANGE_CIPHER_SPEC))
        return false;
    df->missing = df->left > 0;
    if (df->left == 0)
        return false;
    df->left--;
    if (df->hold_ms != 0) {
        *hold_ms = df->hold_ms;
        return false;
    }
    return true;
}

static uint64_t final_flight_run(const cfgs *k, unsigned drops, sim_result *r)
{
    drop_final df = {drops, 0, false, false};
    sim_params p = params(k);
    p.filter = drop_final_filter;
    p.filter_ctx = &df;
    sim_run(&p, pick_seed(1), r);
    return df.left == 0 ? r->hs_ms : UINT64_MAX;
}

TEST(final_flight_lost_once)
{
    cfgs k;
    CHECK(cfgs_make(&k, "leaf-ecdsa-chain.pem", "leaf-ecdsa.key", "root-ca.pem", 0));
    sim_result clean, r;
    uint64_t t0 = final_flight_run(&k, 0, &clean);
    CHECK_RUN(clean, "final flight, clean");
    uint64_t t1 = final_flight_run(&k, 1, &r);
    CHECK_RUN(r, "final flight lost once");
    CHECK(t1 != UINT64_MAX);
    /* The client's timer resent its flight; the server, done already, answered. */
    CHECK_EQ(r.cstats.retransmits, 1);
    CHECK_EQ(r.sstats.retransmits, 1);
    CHECK_INT(t1 - t0, <=, k.c->rtx_initial_ms + 2 * 25);
    cfgs_free(&k);
}

TEST(final_flight_lost_three_times)
{
    cfgs k;
    CHECK(cfgs_make(&k, "leaf-ecdsa-chain.pem", "leaf-ecdsa.key", "root-ca.pem", 0));
    sim_result clean, r;
    uint64_t t0 = final_flight_run(&k, 0, &clean);
    CHECK_RUN(clean, "final flight, clean");
    uint64_t t3 = final_flight_run(&k, 3, &r);
    CHECK_RUN(r, "final flight lost three times");
    CHECK(t3 != UINT64_MAX);
    CHECK_EQ(r.cstats.retransmits, 3);
    CHECK_EQ(r.sstats.retransmits, 3);
    /* docs/ROBUSTNESS.md: losing the final flight three times costs at most 2.5 s
     * with the default timers. */
    fprintf(stderr, "  final flight lost three times: +%llu ms\n", (unsigned long long)(t3 - t0));
    CHECK_INT(t3 - t0, <=, 2500);
    cfgs_free(&k);
}

/* The server speaks first, as soon as it is established; its CCS + Finished is lost
 * (or held back), so the client gets the greeting, in epoch 1, before the Finished
 * that completes its handshake. The greeting must be kept and read afterwards. */
TEST(new_epoch_data_before_finished)
{
    for (int held = 0; held < 2; held++) {
        cfgs k;
        CHECK(cfgs_make(&k, "leaf-ecdsa-chain.pem", "leaf-ecdsa.key", "root-ca.pem", 0));
        drop_final df = {1, held ? 300 : 0, false, false};
        sim_params p = params(&k);
        p.server_first = true;
        p.filter = drop_final_filter;
        p.filter_ctx = &df;
        sim_result r;
        sim_run(&p, pick_seed(1), &r);
        CHECK_RUN(r, held ? "greeting before a held Finished" : "greeting before a lost Finished");
        CHECK(df.app_passed_while_missing);
        CHECK_EQ(r.cstats.dropped, 0); /* kept, not dropped */
        if (held)
            CHECK_EQ(r.cstats.retransmits, 0); /* reordering alone costs nothing */
        cfgs_free(&k);
    }
}

/* The three-certificate RSA-4096 chain (over 4 KB) through small MTUs, clean and at
 * 20 % loss, with client authentication by the same chain so both sides fragment. */
TEST(big_chain_small_mtus)
{
    static const size_t mtus[] = {1500, 1200, 576, 256};
    for (size_t i = 0; i < sizeof mtus / sizeof mtus[0]; i++) {
        cfgs k;
        CHECK(cfgs_make(&k, BIG_CHAIN, BIG_KEY, BIG_ROOT, mtus[i]));
        CHECK_OK(tern_config_load_certificate(k.c, sim_pki(BIG_CHAIN), sim_pki(BIG_KEY)));
        CHECK_OK(tern_config_load_ca_file(k.s, sim_pki(BIG_ROOT)));
        tern_config_set_verify(k.s, TERN_VERIFY_REQUIRE);
        for (uint64_t seed = 1; seed <= 8; seed++) {
            sim_params p = params(&k);
            if (seed > 1)
                p.dir[0].loss = p.dir[1].loss = 0.2;
            sim_result r;
            sim_run(&p, pick_seed(seed), &r);
            char what[64];
            snprintf(what, sizeof what, "RSA-4096 chain at MTU %zu", mtus[i]);
            CHECK_RUN(r, what);
            CHECK_INT(r.largest[SIM_C2S], <=, mtus[i]);
            CHECK_INT(r.largest[SIM_S2C], <=, mtus[i]);
            /* the chain alone needs this many datagrams each way */
            CHECK_INT(r.hs_sent, >=, 2 * (4200 / mtus[i]));
            if (seed == 1) {
                CHECK_EQ(r.cstats.retransmits + r.sstats.retransmits, 0);
                CHECK_EQ(r.cstats.dropped + r.sstats.dropped, 0);
            }
        }
        cfgs_free(&k);
    }
}

/* A relay (a TURN server, a VPN) that drops every datagram over 1600 bytes, with
 * tern set to 1500: nothing is lost to it. With tern set past the relay's limit the
 * handshake cannot complete: the relay model bites. */
TEST(relay_drops_over_1600)
{
    for (int over = 0; over < 2; over++) {
        cfgs k;
        CHECK(cfgs_make(&k, BIG_CHAIN, BIG_KEY, BIG_ROOT, over ? 4000 : 1500));
        CHECK_OK(tern_config_set_timers(k.c, 400, 60000, 10000));
        CHECK_OK(tern_config_set_timers(k.s, 400, 60000, 10000));
        sim_params p = params(&k);
        p.dir[0].max_size = p.dir[1].max_size = 1600;
        sim_result r;
        sim_run(&p, pick_seed(1), &r);
        if (!over) {
            CHECK_RUN(r, "relay 1600, MTU 1500");
            CHECK_EQ(r.oversize[0] + r.oversize[1], 0);
            CHECK_INT(r.largest[SIM_S2C], <=, 1500);
        } else {
            CHECK(r.contract_ok);
            CHECK(!r.done);
            CHECK(r.oversize[SIM_S2C] > 0);
            CHECK_EQ(r.cerr, TERN_ERR_TIMEOUT);
        }
        cfgs_free(&k);
    }
}

/* Every datagram arrives twice. Copies repeat a record number, so the replay window
 * drops them: a copy is never taken for a retransmission. Then the same with loss. */
TEST(every_datagram_duplicated)
{
    cfgs k;
    CHECK(cfgs_make(&k, "leaf-ecdsa-chain.pem", "leaf-ecdsa.key", "root-ca.pem", 0));
    sim_params p = params(&k);
    p.dir[0].dup = p.dir[1].dup = 1.0;
    p.dir[0].jitter_ms = p.dir[1].jitter_ms = 20;
    sim_result r;
    sim_run(&p, pick_seed(1), &r);
    CHECK_RUN(r, "every datagram duplicated");
    CHECK_EQ(r.cstats.retransmits, 0);
    CHECK_EQ(r.sstats.retransmits, 0);
    CHECK(r.cstats.dropped_replay > 0 && r.sstats.dropped_replay > 0);
    CHECK_EQ(r.cstats.dropped, r.cstats.dropped_replay);
    CHECK_EQ(r.sstats.dropped, r.sstats.dropped_replay);

    p.dir[0].loss = p.dir[1].loss = 0.2;
    uint64_t first = 1, n = 200, s;
    if (sim_replay_seed(&s))
        first = s, n = 1;
    for (uint64_t seed = first; seed < first + n; seed++) {
        sim_run(&p, seed, &r);
        CHECK_RUN(r, "every datagram duplicated, 20 % loss");
    }
    cfgs_free(&k);
}

/* Each burst of datagrams (a flight) arrives in reverse order: fragments last to
 * first, and the client's epoch-1 Finished before the ClientKeyExchange that makes
 * its keys, so the server must keep it (RFC 6347 §4.1) rather than drop it. */
TEST(flight_in_reverse_order)
{
    static const size_t mtus[] = {1200, 576, 256};
    for (size_t i = 0; i < sizeof mtus / sizeof mtus[0]; i++) {
        cfgs k;
        CHECK(cfgs_make(&k, BIG_CHAIN, BIG_KEY, BIG_ROOT, mtus[i]));
        CHECK_OK(tern_config_load_certificate(k.c, sim_pki(BIG_CHAIN), sim_pki(BIG_KEY)));
        CHECK_OK(tern_config_load_ca_file(k.s, sim_pki(BIG_ROOT)));
        tern_config_set_verify(k.s, TERN_VERIFY_REQUIRE);
        sim_params p = params(&k);
        p.dir[0].reverse_bursts = p.dir[1].reverse_bursts = true;
        sim_result r;
        sim_run(&p, pick_seed(1), &r);
        CHECK_RUN(r, "reverse order");
        CHECK_EQ(r.cstats.retransmits + r.sstats.retransmits, 0);
        CHECK_EQ(r.cstats.dropped + r.sstats.dropped, 0);
        cfgs_free(&k);
    }
}

/* The client's first two datagrams (its two ClientHellos) pass, nothing after. */
static bool drop_after_two(void *ctx, sim_way way, const uint8_t *d, size_t len, uint64_t n,
                           uint32_t *hold_ms)
{
    (void)ctx, (void)d, (void)len, (void)hold_ms;
    return way == SIM_C2S && n >= 2;
}

/* Nobody answers: the client retransmits on its timer and, at the total handshake
 * timeout, fails with TERN_ERR_TIMEOUT, its retransmissions counted. Then a server
 * whose client vanishes after the ClientHello: the server times out the same way. */
TEST(peer_gone_times_out)
{
    cfgs k;
    CHECK(cfgs_make(&k, "leaf-ecdsa-chain.pem", "leaf-ecdsa.key", "root-ca.pem", 0));
    sim_params p = params(&k);
    p.dir[SIM_C2S].loss = 1.0;
    sim_result r;
    sim_run(&p, pick_seed(1), &r);
    CHECK(r.contract_ok && !r.done && !r.server_made);
    CHECK_EQ(r.cstate, TERN_STATE_FAILED);
    CHECK_EQ(r.cerr, TERN_ERR_TIMEOUT);
    CHECK_EQ(r.end_ms, k.c->handshake_timeout_ms);
    CHECK(r.cstats.retransmits > 0);
    CHECK_EQ(r.cstats.retransmits + 1, r.sent[SIM_C2S]); /* every ClientHello but the first */
    fprintf(stderr, "  peer gone: TERN_ERR_TIMEOUT at %llu ms after %llu retransmissions\n",
            (unsigned long long)r.end_ms, (unsigned long long)r.cstats.retransmits);

    /* The client goes away once its ClientHello with the cookie is out. */
    p.dir[SIM_C2S].loss = 0;
    p.filter = drop_after_two;
    sim_run(&p, pick_seed(1), &r);
    CHECK(r.contract_ok && !r.done && r.server_made);
    CHECK_EQ(r.cerr, TERN_ERR_TIMEOUT);
    CHECK_EQ(r.sstate, TERN_STATE_FAILED);
    CHECK_EQ(r.serr, TERN_ERR_TIMEOUT);
    CHECK(r.sstats.retransmits > 0);
    CHECK_EQ(r.end_ms, 3 * 25 + k.s->handshake_timeout_ms); /* from its accept */
    cfgs_free(&k);
}
