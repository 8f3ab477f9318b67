/*
 * test_sim_contract.c - the datagram contract (sim.h) on thousands of seeded
 * handshakes over random links: loss, duplication, reordering, delay and jitter,
 * a size-limited relay, different MTUs on each side, several certificate chains,
 * with and without client certificates. Every datagram of every run is checked;
 * every run must end either done (handshake and echo) or with a clean
 * TERN_ERR_TIMEOUT - never a hang, never another error.
 *
 * And first, that the checker itself catches each kind of breach.
 *
 * TERN_SIM_SEED=<seed> [TERN_SIM_TRACE=1] replays one seed; TERN_SIM_SEEDS=<n>
 * runs more of them.
 */
#include <stdlib.h>

#include "hs/msg.h"
#include "record/record.h"
#include "sim.h"
#include "test.h"

/* ------------------------------------------------------------------ the checker */

/* Append a DTLS 1.2 record of |type| in |epoch| holding |body| to |out|. */
static size_t put_record(uint8_t *out, uint8_t type, uint16_t epoch, const uint8_t *body,
                         size_t len)
{
    tern_wr w = tern_wr_init(out, TERN_DTLS12_HDR_LEN + len);
    tern_hdr12 h = {type, TERN_DTLS12_VERSION, epoch, 7, (uint16_t)len};
    tern_hdr12_write(&w, &h);
    memcpy(out + TERN_DTLS12_HDR_LEN, body, len);
    return TERN_DTLS12_HDR_LEN + len;
}

/* A handshake fragment (header and |flen| zero bytes) into |out|. */
static size_t put_frag(uint8_t *out, uint32_t length, uint32_t off, uint32_t flen)
{
    tern_wr w = tern_wr_init(out, TERN_HS_HDR_LEN + flen);
    tern_hs_hdr h = {TERN_HS_CERTIFICATE, length, 2, off, flen};
    if (tern_hs_hdr_build(&w, &h) != TERN_OK)
        return 0;
    memset(out + TERN_HS_HDR_LEN, 0, flen);
    return TERN_HS_HDR_LEN + flen;
}

/* A datagram of one handshake record carrying one fragment. */
static size_t frag_dgram(uint8_t *out, uint32_t length, uint32_t off, uint32_t flen)
{
    uint8_t body[2048];
    size_t n = put_frag(body, length, off, flen);
    return put_record(out, TERN_CT_HANDSHAKE, 0, body, n);
}

static bool breach(size_t mtu, const uint8_t *d, size_t len, size_t prev_len, int prev_kind)
{
    char why[256];
    sim_contract_check(mtu, d, len, prev_len, prev_kind, why, sizeof why);
    return why[0] != '\0';
}

TEST(contract_checker_catches_breaches)
{
    uint8_t d[4096], body[2048];
    size_t n;

    /* whole messages, one record each: fine */
    n = frag_dgram(d, 100, 0, 100);
    CHECK(!breach(1200, d, n, 0, 0));
    CHECK_EQ(sim_contract_check(1200, d, n, 0, 0, (char[256]){0}, 256), SIM_KIND_HS);

    /* over the MTU */
    CHECK(breach(n - 1, d, n, 0, 0));
    CHECK(breach(1200, d, 0, 0, 0));

    /* a record cut short (it would span datagrams), and trailing bytes */
    CHECK(breach(1200, d, n - 1, 0, 0));
    memset(d + n, 0, 3);
    CHECK(breach(1200, d, n + 3, 0, 0));

    /* two fragments in one record, and a record with a bit of one */
    size_t b = put_frag(body, 100, 0, 50);
    b += put_frag(body + b, 100, 50, 50);
    n = put_record(d, TERN_CT_HANDSHAKE, 0, body, b);
    CHECK(breach(1200, d, n, 0, 0));
    n = put_record(d, TERN_CT_HANDSHAKE, 0, body, 5);
    CHECK(breach(1200, d, n, 0, 0));

    /* MTU 256: an epoch-0 record carries at most 231 bytes of a message. A 300-byte
     * message goes in two fragments of 150, not 231 + 69; a 200-byte one whole. */
    n = frag_dgram(d, 300, 0, 150);
    CHECK(!breach(256, d, n, 0, 0));
    n = frag_dgram(d, 301, 150, 151);
    CHECK(!breach(256, d, n, 0, 0));
    n = frag_dgram(d, 300, 0, 231);
    CHECK(breach(256, d, n, 0, 0));
    n = frag_dgram(d, 300, 231, 69);
    CHECK(breach(256, d, n, 0, 0));
    n = frag_dgram(d, 200, 0, 100);
    CHECK(breach(256, d, n, 0, 0));

    /* packing: a 75-byte first record would have fit after a 1000-byte datagram of
     * the same kind and burst; not after a 1150-byte one, nor after an alert */
    n = frag_dgram(d, 50, 0, 50);
    CHECK(breach(1200, d, n, 1000, SIM_KIND_HS));
    CHECK(!breach(1200, d, n, 1150, SIM_KIND_HS));
    CHECK(!breach(1200, d, n, 1000, SIM_KIND_ALERT));

    /* unknown content type, unknown version */
    n = put_record(d, 99, 0, body, 10);
    CHECK(breach(1200, d, n, 0, 0));
    n = frag_dgram(d, 10, 0, 10);
    d[1] = 0x03;
    CHECK(breach(1200, d, n, 0, 0));
}

/* ------------------------------------------------------------------ random links */

typedef struct draw {
    uint64_t x;
} draw;

static uint64_t draw_next(draw *g)
{
    uint64_t z = (g->x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t draw_in(draw *g, uint64_t lo, uint64_t hi)
{
    return lo + draw_next(g) % (hi - lo + 1);
}

/* Server chains with deterministic signatures (Ed25519, RSA), so a seed replays
 * exactly: ECDSA signatures vary in length with OpenSSL's nonce. */
static const struct {
    const char *chain, *key, *ca;
} servers[] = {
    {"leaf-ed25519-chain.pem", "leaf-ed25519.key", "root-ca.pem"},
    {"leaf-rsa-chain.pem", "leaf-rsa.key", "root-ca.pem"},
    {"rsa4096-chain.pem", "rsa4096-leaf.key", "rsa4096-root-ca.pem"},
};

typedef struct outcome {
    unsigned runs, done, timed_out;
} outcome;

/* One seeded run on a random link. False (after printing the seed) when the run
 * breaks the contract, hangs or fails other than by timing out. */
static bool random_run(uint64_t seed, bool trace, outcome *o)
{
    draw g = {seed * 0x2545f4914f6cdd1dULL};
    size_t mtu_c = draw_in(&g, 0, 3) == 0 ? 256 : draw_in(&g, 256, 1500);
    size_t mtu_s = draw_in(&g, 0, 3) == 0 ? 256 : draw_in(&g, 256, 1500);
    size_t srv = draw_in(&g, 0, 15) == 0 ? 2 : draw_in(&g, 0, 1); /* RSA-4096: 1 in 16 */
    bool mutual = draw_in(&g, 0, 3) == 0;
    tern_config *scfg = sim_server_config(servers[srv].chain, servers[srv].key, mtu_s);
    tern_config *ccfg = sim_client_config(servers[srv].ca, mtu_c);
    bool ok = scfg != NULL && ccfg != NULL;
    if (ok && mutual) {
        ok = tern_config_load_certificate(ccfg, sim_pki("leaf-ed25519-chain.pem"),
                                          sim_pki("leaf-ed25519.key")) == TERN_OK &&
             tern_config_load_ca_file(scfg, sim_pki("root-ca.pem")) == TERN_OK;
        tern_config_set_verify(scfg, TERN_VERIFY_REQUIRE);
    }
    sim_params p = {0};
    p.ccfg = ccfg;
    p.scfg = scfg;
    p.hostname = "localhost";
    p.echo = true;
    p.trace = trace;
    p.server_first = draw_in(&g, 0, 1) == 0;
    for (int w = 0; w < 2; w++) {
        sim_dir *d = &p.dir[w];
        d->loss = (double)draw_in(&g, 0, 45) / 100.0;
        d->dup = draw_in(&g, 0, 2) == 0 ? (double)draw_in(&g, 0, 30) / 100.0 : 0;
        d->reorder = draw_in(&g, 0, 2) == 0 ? (double)draw_in(&g, 0, 30) / 100.0 : 0;
        d->reorder_ms = (uint32_t)draw_in(&g, 0, 600);
        d->delay_ms = (uint32_t)draw_in(&g, 0, 150);
        d->jitter_ms = (uint32_t)draw_in(&g, 0, 80);
        d->reverse_bursts = draw_in(&g, 0, 7) == 0;
        /* a relay whose limit tern's MTUs respect: it must never bite */
        if (draw_in(&g, 0, 3) == 0)
            d->max_size = (mtu_c > mtu_s ? mtu_c : mtu_s) + draw_in(&g, 0, 100);
    }
    sim_result r;
    if (ok) {
        sim_run(&p, seed, &r);
        o->runs++;
        o->done += r.done;
        bool timed_out = !r.done && (r.cerr == TERN_ERR_TIMEOUT || r.serr == TERN_ERR_TIMEOUT);
        o->timed_out += timed_out;
        bool other_error = (r.cerr != TERN_OK && r.cerr != TERN_ERR_TIMEOUT) ||
                           (r.serr != TERN_OK && r.serr != TERN_ERR_TIMEOUT);
        if (!r.contract_ok || (!r.done && !timed_out) || other_error ||
            r.oversize[0] + r.oversize[1] != 0) {
            char what[160];
            snprintf(what, sizeof what, "random link (MTU %zu/%zu, %s%s, loss %.0f%%/%.0f%%)",
                     mtu_c, mtu_s, servers[srv].chain, mutual ? ", client cert" : "",
                     p.dir[0].loss * 100, p.dir[1].loss * 100);
            sim_print_failure(what, &r);
            ok = false;
        }
    } else {
        fprintf(stderr, "  seed %llu: configs not made\n", (unsigned long long)seed);
    }
    tern_config_free(ccfg);
    tern_config_free(scfg);
    return ok;
}

TEST(random_links_every_datagram_checked)
{
    uint64_t first = 1, n = 2000, s;
    bool trace = sim_trace_env();
    if (sim_replay_seed(&s)) {
        first = s;
        n = 1;
    } else if (getenv("TERN_SIM_SEEDS") != NULL) {
        n = strtoull(getenv("TERN_SIM_SEEDS"), NULL, 10);
    }
    outcome o = {0};
    unsigned bad = 0;
    for (uint64_t seed = first; seed < first + n; seed++)
        if (!random_run(seed, trace, &o) && ++bad >= 10)
            break;
    fprintf(stderr, "  %u runs: %u done, %u timed out (loss up to 45 %% each way)\n", o.runs,
            o.done, o.timed_out);
    CHECK_EQ(bad, 0);
    /* timing out is allowed, but must stay rare at these loss rates */
    CHECK_INT(o.done * 100, >=, o.runs * 98);
}
