/*
 * sim.c - the simulated network (see sim.h).
 *
 * The event loop: carry out everything due at the current virtual time (a datagram
 * arriving at one end, a connection's timer, the application's next try), each
 * followed by draining both ends' tern_conn_send() into the link; then jump to the
 * earliest of the next arrival, the two tern_conn_deadline()s and the
 * application's next try. Nothing left to happen before the goal is a hang and
 * ends the run. Each drain is one "burst": the datagrams one side sends at one
 * instant, the unit of the packing check and of reverse delivery.
 *
 * Randomness of the link: each way has its own generator, and every datagram draws
 * the same five numbers whatever happens to it, so changing one impairment does
 * not move the others' decisions.
 */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hs/msg.h"
#include "record/record.h"
#include "seeded_rng.h"
#include "wire.h"

#define SIM_DGRAM_MAX 16384
#define SIM_DEFAULT_LIMIT_MS 600000
#define SIM_DEFAULT_APP_RETRY_MS 1000
#define SIM_MAX_EVENTS 1000000 /* turns a livelock into a failure */

static const uint8_t client_addr[] = {192, 0, 2, 1, 0x16, 0x34};
static const uint8_t ping[] = "ping from the simulated client";
static const uint8_t greeting[] = "greeting from the simulated server";

/* ------------------------------------------------------------------ randomness */

static test_seeded_state rng_state;
static tern_rng rng_conn;

const tern_rng *sim_rng(void)
{
    if (rng_conn.fill == NULL)
        test_rng_seeded(&rng_conn, &rng_state, 0);
    return &rng_conn;
}

/* xoshiro256** for the link, one per way (seeded through splitmix64). */
typedef struct link_rng {
    uint64_t s[4];
} link_rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void link_seed(link_rng *g, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t link_next(link_rng *g)
{
    uint64_t *s = g->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static double link_unit(link_rng *g)
{
    return (double)(link_next(g) >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------ environment */

bool sim_replay_seed(uint64_t *seed)
{
    const char *e = getenv("TERN_SIM_SEED");
    if (e == NULL || *e == '\0')
        return false;
    *seed = strtoull(e, NULL, 0);
    return true;
}

bool sim_trace_env(void)
{
    const char *e = getenv("TERN_SIM_TRACE");
    return e != NULL && *e != '\0' && strcmp(e, "0") != 0;
}

const char *sim_pki(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/tests/data/pki/%s", TERN_SIM_SOURCE_DIR, name);
    return p;
}

tern_config *sim_server_config(const char *chain, const char *key, size_t mtu)
{
    tern_config *cfg = tern_config_new();
    tern_err err =
        cfg ? tern_config_load_certificate(cfg, sim_pki(chain), sim_pki(key)) : TERN_ERR_NOMEM;
    if (err == TERN_OK && mtu != 0)
        err = tern_config_set_mtu(cfg, mtu);
    if (err != TERN_OK) {
        fprintf(stderr, "  server config %s: %s\n", chain, tern_strerror(err));
        tern_config_free(cfg);
        return NULL;
    }
    tern_config_set_rng(cfg, sim_rng());
    return cfg;
}

tern_config *sim_client_config(const char *ca, size_t mtu)
{
    tern_config *cfg = tern_config_new();
    tern_err err = cfg ? TERN_OK : TERN_ERR_NOMEM;
    if (err == TERN_OK && ca != NULL)
        err = tern_config_load_ca_file(cfg, sim_pki(ca));
    if (err == TERN_OK && mtu != 0)
        err = tern_config_set_mtu(cfg, mtu);
    if (err != TERN_OK) {
        fprintf(stderr, "  client config: %s\n", tern_strerror(err));
        tern_config_free(cfg);
        return NULL;
    }
    tern_config_set_rng(cfg, sim_rng());
    return cfg;
}

/* ------------------------------------------------------------------ the contract */

/* see sim.h */
int sim_contract_check(size_t mtu, const uint8_t *dgram, size_t len, size_t prev_len, int prev_kind,
                       char *why, size_t whycap)
{
    why[0] = '\0';
    if (len == 0) {
        snprintf(why, whycap, "empty datagram");
        return 0;
    }
    if (len > mtu) {
        snprintf(why, whycap, "datagram of %zu bytes over the MTU of %zu", len, mtu);
        return 0;
    }
    tern_rd r = tern_rd_init(dgram, len);
    bool hs = false, app = false, alert = false;
    size_t first_len = 0;
    /* The most handshake body an epoch-0 record carries in an empty datagram. */
    size_t max_frag = mtu - TERN_DTLS12_HDR_LEN - TERN_HS_HDR_LEN;
    while (!tern_rd_done(&r)) {
        size_t at = len - (size_t)(r.end - r.p);
        tern_hdr12 h;
        tern_rd frag;
        if (tern_hdr12_read(&r, &h, &frag) != TERN_OK) {
            snprintf(why, whycap,
                     "bytes %zu..%zu of a %zu-byte datagram are not a whole record "
                     "(a record spans datagrams, or trailing bytes)",
                     at, len, len);
            return 0;
        }
        if (first_len == 0)
            first_len = TERN_DTLS12_HDR_LEN + h.length;
        if (h.version != TERN_DTLS12_VERSION && h.version != TERN_DTLS10_VERSION) {
            snprintf(why, whycap, "record at %zu has version %04x", at, h.version);
            return 0;
        }
        switch (h.type) {
        case TERN_CT_HANDSHAKE:
        case TERN_CT_CHANGE_CIPHER_SPEC:
            hs = true;
            break;
        case TERN_CT_APPLICATION_DATA:
            app = true;
            break;
        case TERN_CT_ALERT:
            alert = true;
            break;
        default:
            snprintf(why, whycap, "record at %zu has content type %u", at, h.type);
            return 0;
        }
        if (h.type != TERN_CT_HANDSHAKE || h.epoch != 0)
            continue; /* encrypted: nothing more to see */
        tern_hs_hdr hh;
        const uint8_t *body;
        if (tern_hs_hdr_parse(&frag, &hh, &body) != TERN_OK || !tern_rd_done(&frag)) {
            snprintf(why, whycap, "handshake record at %zu is not exactly one fragment", at);
            return 0;
        }
        if (hh.frag_len == hh.length)
            continue;
        if (hh.length <= max_frag) {
            snprintf(why, whycap,
                     "message seq %u of %u bytes fits an empty datagram but was fragmented "
                     "(%u bytes at %u)",
                     hh.msg_seq, hh.length, hh.frag_len, hh.frag_off);
            return 0;
        }
        size_t n = (hh.length + max_frag - 1) / max_frag;
        size_t lo = hh.length / n, hi = (hh.length + n - 1) / n;
        if (hh.frag_len != lo && hh.frag_len != hi) {
            snprintf(why, whycap,
                     "message seq %u of %u bytes has a fragment of %u bytes at %u: not an "
                     "even cut into %zu (%zu or %zu bytes each)",
                     hh.msg_seq, hh.length, hh.frag_len, hh.frag_off, n, lo, hi);
            return 0;
        }
    }
    int kind = (hs + app + alert) > 1 ? SIM_KIND_MIXED
               : hs                   ? SIM_KIND_HS
               : app                  ? SIM_KIND_APP
                                      : SIM_KIND_ALERT;
    if (prev_len != 0 && prev_kind == kind && (kind == SIM_KIND_HS || kind == SIM_KIND_APP) &&
        prev_len + first_len <= mtu) {
        snprintf(why, whycap,
                 "not packed: this datagram's first record (%zu bytes) would have fit after "
                 "the previous %zu-byte datagram (MTU %zu)",
                 first_len, prev_len, mtu);
        return kind;
    }
    return kind;
}

/* see sim.h */
bool sim_has_record(const uint8_t *dgram, size_t len, uint8_t ct)
{
    tern_rd r = tern_rd_init(dgram, len);
    tern_hdr12 h;
    tern_rd frag;
    while (tern_hdr12_read(&r, &h, &frag) == TERN_OK)
        if (h.type == ct)
            return true;
    return false;
}

/* ------------------------------------------------------------------ the link */

typedef struct sim_item {
    uint64_t at;    /* arrival time */
    uint64_t order; /* tie-break among equal arrival times */
    sim_way way;
    uint8_t *data;
    size_t len;
} sim_item;

typedef struct sim {
    const sim_params *p;
    sim_result *r;
    uint64_t now;
    tern_conn *c, *s;
    link_rng rng[2];
    sim_item *q;
    size_t nq, capq;
    uint64_t burst;     /* counts drains */
    uint64_t burst_pos; /* datagrams sent in the current burst */
    size_t last_len[2]; /* previous datagram of the burst, by way */
    int last_kind[2];
    uint64_t last_burst[2];
    uint64_t n_way[2];
    bool both_established;
    /* the application */
    bool ponged, got_ping, greet_read;
    uint64_t next_ping, next_greet;
} sim;

static void trace(const sim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trace(const sim *m, const char *fmt, ...)
{
    if (!m->p->trace)
        return;
    va_list ap;
    fprintf(stderr, "%8llu ms  ", (unsigned long long)m->now);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A short description of a datagram's records, for traces. */
static void describe(const uint8_t *d, size_t len, char *out, size_t cap)
{
    tern_rd r = tern_rd_init(d, len);
    size_t used = 0;
    out[0] = '\0';
    while (!tern_rd_done(&r) && used + 48 < cap) {
        tern_hdr12 h;
        tern_rd frag;
        if (tern_hdr12_read(&r, &h, &frag) != TERN_OK) {
            snprintf(out + used, cap - used, " ?");
            return;
        }
        tern_hs_hdr hh;
        const uint8_t *body;
        if (h.type == TERN_CT_HANDSHAKE && h.epoch == 0 &&
            tern_hs_hdr_parse(&frag, &hh, &body) == TERN_OK)
            used += (size_t)snprintf(out + used, cap - used, " [%s#%u %u+%u/%u]",
                                     tern_hs_type_name(hh.type), hh.msg_seq, hh.frag_off,
                                     hh.frag_len, hh.length);
        else
            used += (size_t)snprintf(out + used, cap - used, " [%s e%u %u]",
                                     h.type == TERN_CT_HANDSHAKE            ? "hs"
                                     : h.type == TERN_CT_CHANGE_CIPHER_SPEC ? "ccs"
                                     : h.type == TERN_CT_ALERT              ? "alert"
                                     : h.type == TERN_CT_APPLICATION_DATA   ? "app"
                                                                            : "?",
                                     h.epoch, h.length);
    }
}

static void fail_contract(sim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_contract(sim *m, const char *fmt, ...)
{
    if (!m->r->contract_ok)
        return; /* keep the first */
    m->r->contract_ok = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->r->why, sizeof m->r->why, fmt, ap);
    va_end(ap);
}

static void enqueue(sim *m, sim_way way, uint64_t at, uint64_t order, const uint8_t *d, size_t len)
{
    if (m->nq == m->capq) {
        size_t cap = m->capq ? m->capq * 2 : 64;
        sim_item *q = realloc(m->q, cap * sizeof *q);
        if (q == NULL) {
            fail_contract(m, "simulator out of memory");
            return;
        }
        m->q = q;
        m->capq = cap;
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        fail_contract(m, "simulator out of memory");
        return;
    }
    memcpy(copy, d, len);
    m->q[m->nq++] = (sim_item){at, order, way, copy, len};
}

/* Put one datagram on the link: check it, count it, impair it, schedule it. */
static void carry(sim *m, sim_way way, size_t mtu, const uint8_t *d, size_t len)
{
    sim_result *r = m->r;
    const sim_dir *dir = &m->p->dir[way];
    char why[256];
    bool same_burst = m->last_burst[way] == m->burst;
    int kind = sim_contract_check(mtu, d, len, same_burst ? m->last_len[way] : 0,
                                  same_burst ? m->last_kind[way] : 0, why, sizeof why);
    if (why[0] != '\0')
        fail_contract(m, "contract: %s datagram #%llu at %llu ms: %s",
                      way == SIM_C2S ? "client" : "server", (unsigned long long)m->n_way[way],
                      (unsigned long long)m->now, why);
    m->last_burst[way] = m->burst;
    m->last_len[way] = len;
    m->last_kind[way] = kind;

    uint64_t n = m->n_way[way]++;
    r->sent[way]++;
    if (kind == SIM_KIND_HS || kind == SIM_KIND_MIXED)
        r->hs_sent++;
    if (len > r->largest[way])
        r->largest[way] = len;

    /* Always the same draws, whatever becomes of the datagram. */
    link_rng *g = &m->rng[way];
    double u_loss = link_unit(g), u_jit = link_unit(g), u_reord = link_unit(g);
    double u_dup = link_unit(g), u_jit2 = link_unit(g);

    char desc[512] = "";
    if (m->p->trace)
        describe(d, len, desc, sizeof desc);
    const char *fate = NULL;
    uint32_t hold = 0;
    if (m->p->filter != NULL && m->p->filter(m->p->filter_ctx, way, d, len, n, &hold)) {
        r->filtered[way]++;
        fate = "DROPPED (script)";
    } else if (dir->max_size != 0 && len > dir->max_size) {
        r->oversize[way]++;
        fate = "DROPPED (over the relay's size limit)";
    } else if (u_loss < dir->loss) {
        r->lost[way]++;
        fate = "LOST";
    }
    if (fate != NULL) {
        trace(m, "%s #%llu %4zu B%s  %s", way == SIM_C2S ? "C->S" : "S->C", (unsigned long long)n,
              len, m->p->trace ? desc : "", fate);
        return;
    }
    uint64_t pos = m->burst_pos++;
    uint64_t order = (m->burst << 20) | (dir->reverse_bursts ? 0xfffffu - pos : pos);
    uint64_t at = m->now + dir->delay_ms + (uint64_t)(u_jit * (dir->jitter_ms + 1));
    if (u_reord < dir->reorder)
        at += dir->reorder_ms;
    at += hold;
    enqueue(m, way, at, order, d, len);
    bool dup = u_dup < dir->dup;
    if (dup) {
        r->dups[way]++;
        enqueue(m, way, m->now + dir->delay_ms + (uint64_t)(u_jit2 * (dir->jitter_ms + 1)), order,
                d, len);
    }
    trace(m, "%s #%llu %4zu B%s  arrives at %llu%s", way == SIM_C2S ? "C->S" : "S->C",
          (unsigned long long)n, len, m->p->trace ? desc : "", (unsigned long long)at,
          dup ? " (and a duplicate)" : "");
}

/* Give everything one end has to send to the link. */
static void drain(sim *m, sim_way way)
{
    tern_conn *conn = way == SIM_C2S ? m->c : m->s;
    if (conn == NULL)
        return;
    size_t mtu = (way == SIM_C2S ? m->p->ccfg : m->p->scfg)->mtu;
    uint8_t buf[SIM_DGRAM_MAX];
    size_t n;
    m->burst++;
    m->burst_pos = 0;
    while (tern_conn_send(conn, m->now, buf, sizeof buf, &n) == TERN_OK)
        carry(m, way, mtu, buf, n);
}

/* The application on both ends: echo, greeting. */
static void app_step(sim *m)
{
    const sim_params *p = m->p;
    uint8_t buf[2048];
    size_t n;
    uint64_t retry = p->app_retry_ms ? p->app_retry_ms : SIM_DEFAULT_APP_RETRY_MS;
    /* Application data is not retransmitted by DTLS: like a real application (CoAP
     * confirmable messages), each end repeats its message until it sees an answer.
     * The server greets until the client's first message comes; the client, after
     * the greeting when there is one, pings until the echo comes. */
    if (m->s != NULL) {
        if (p->server_first && !m->got_ping && tern_conn_state(m->s) == TERN_STATE_ESTABLISHED &&
            m->now >= m->next_greet) {
            if (tern_conn_write(m->s, greeting, sizeof greeting) == TERN_OK)
                trace(m, "server app: greeting written");
            m->next_greet = m->now + retry;
        }
        while (tern_conn_read(m->s, buf, sizeof buf, &n) == TERN_OK) {
            trace(m, "server app: read %zu bytes%s", n, p->echo ? ", echoing" : "");
            m->got_ping = true;
            if (p->echo && tern_conn_write(m->s, buf, n) != TERN_OK)
                trace(m, "server app: echo refused");
        }
    }
    while (tern_conn_read(m->c, buf, sizeof buf, &n) == TERN_OK) {
        if (n == sizeof ping && memcmp(buf, ping, n) == 0)
            m->ponged = true;
        else if (n == sizeof greeting && memcmp(buf, greeting, n) == 0)
            m->greet_read = true;
        trace(m, "client app: read %zu bytes", n);
    }
    if (tern_conn_state(m->c) == TERN_STATE_ESTABLISHED && p->echo && !m->ponged &&
        (!p->server_first || m->greet_read) && m->now >= m->next_ping) {
        if (tern_conn_write(m->c, ping, sizeof ping) == TERN_OK)
            trace(m, "client app: ping written");
        m->next_ping = m->now + retry;
    }
    drain(m, SIM_C2S);
    drain(m, SIM_S2C);
}

static void deliver(sim *m, sim_item *it)
{
    const char *who = it->way == SIM_C2S ? "server" : "client";
    trace(m, "%s receives %zu B", who, it->len);
    if (it->way == SIM_S2C) {
        if (tern_conn_recv(m->c, m->now, it->data, it->len) != TERN_OK) { /* state says */
        }
    } else if (m->s != NULL) {
        if (tern_conn_recv(m->s, m->now, it->data, it->len) != TERN_OK) { /* state says */
        }
    } else {
        uint8_t reply[SIM_DGRAM_MAX];
        size_t rn;
        tern_err err;
        switch (tern_server_hello(m->p->scfg, m->now, client_addr, sizeof client_addr, it->data,
                                  it->len, reply, sizeof reply, &rn, &err)) {
        case TERN_HELLO_REPLY:
            trace(m, "front door: HelloVerifyRequest");
            m->burst++;
            m->burst_pos = 0;
            carry(m, SIM_S2C, m->p->scfg->mtu, reply, rn);
            break;
        case TERN_HELLO_ACCEPT:
            m->s = tern_conn_accept(m->p->scfg, m->now, client_addr, sizeof client_addr, it->data,
                                    it->len, &err);
            m->r->server_made = m->s != NULL;
            trace(m, "front door: accept -> %s", m->s ? "connection" : tern_strerror(err));
            break;
        case TERN_HELLO_DROP:
            trace(m, "front door: drop (%s)", tern_strerror(err));
            break;
        }
    }
    drain(m, SIM_C2S);
    drain(m, SIM_S2C);
}

/* The index of the next item to arrive, or SIZE_MAX. */
static size_t next_item(const sim *m)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m->nq; i++)
        if (best == SIZE_MAX || m->q[i].at < m->q[best].at ||
            (m->q[i].at == m->q[best].at && m->q[i].order < m->q[best].order))
            best = i;
    return best;
}

static bool goal(const sim *m)
{
    if (!m->both_established)
        return false;
    if (m->p->echo && !m->ponged)
        return false;
    return !m->p->server_first || m->greet_read;
}

static void tick(sim *m, tern_conn *conn, const char *who)
{
    if (conn == NULL || tern_conn_deadline(conn) > m->now)
        return;
    trace(m, "%s timer", who);
    if (tern_conn_tick(conn, m->now) != TERN_OK) { /* state says */
    }
    drain(m, SIM_C2S);
    drain(m, SIM_S2C);
}

static void stop(sim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void stop(sim *m, const char *fmt, ...)
{
    if (m->r->why[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->r->why, sizeof m->r->why, fmt, ap);
    va_end(ap);
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* see sim.h */
void sim_run(const sim_params *p, uint64_t seed, sim_result *r)
{
    memset(r, 0, sizeof *r);
    r->seed = seed;
    r->contract_ok = true;
    r->hs_ms = r->done_ms = UINT64_MAX;
    sim m = {0};
    m.p = p;
    m.r = r;
    link_seed(&m.rng[SIM_C2S], seed * 2 + 1);
    link_seed(&m.rng[SIM_S2C], seed * 2 + 2);
    sim_rng();
    test_rng_seeded(&rng_conn, &rng_state, seed);
    uint64_t limit = p->limit_ms ? p->limit_ms : SIM_DEFAULT_LIMIT_MS;

    m.c = tern_conn_new_client(p->ccfg);
    if (m.c == NULL || (p->hostname && tern_conn_set_hostname(m.c, p->hostname) != TERN_OK) ||
        tern_conn_start(m.c, 0) != TERN_OK) {
        stop(&m, "client did not start");
        goto out;
    }
    drain(&m, SIM_C2S);
    for (uint64_t events = 0;; events++) {
        if (events == SIM_MAX_EVENTS) {
            stop(&m, "livelock: %d events without an end", SIM_MAX_EVENTS);
            break;
        }
        app_step(&m);
        if (!m.both_established && m.s != NULL && tern_conn_state(m.c) == TERN_STATE_ESTABLISHED &&
            tern_conn_state(m.s) == TERN_STATE_ESTABLISHED) {
            m.both_established = true;
            r->hs_ms = m.now;
            trace(&m, "both ends established");
        }
        if (goal(&m)) {
            r->done = true;
            r->done_ms = m.now;
            break;
        }
        /* A failure ends the run once neither end is still handshaking (the other
         * may yet time out, or learn of it from an alert). */
        bool c_live = tern_conn_state(m.c) == TERN_STATE_HANDSHAKE;
        bool s_live = m.s != NULL && tern_conn_state(m.s) == TERN_STATE_HANDSHAKE;
        if ((tern_conn_state(m.c) == TERN_STATE_FAILED ||
             (m.s != NULL && tern_conn_state(m.s) == TERN_STATE_FAILED)) &&
            !c_live && !s_live) {
            stop(&m, "a connection failed");
            break;
        }
        if (tern_conn_state(m.c) == TERN_STATE_CLOSED ||
            (m.s != NULL && tern_conn_state(m.s) == TERN_STATE_CLOSED)) {
            stop(&m, "a connection closed");
            break;
        }
        size_t i = next_item(&m);
        uint64_t next = min3(i == SIZE_MAX ? UINT64_MAX : m.q[i].at, tern_conn_deadline(m.c),
                             m.s ? tern_conn_deadline(m.s) : UINT64_MAX);
        if (p->echo && m.both_established && !m.ponged && (!p->server_first || m.greet_read) &&
            m.next_ping < next)
            next = m.next_ping;
        if (p->server_first && m.s != NULL && tern_conn_state(m.s) == TERN_STATE_ESTABLISHED &&
            !m.got_ping && m.next_greet < next)
            next = m.next_greet;
        if (next == UINT64_MAX) {
            stop(&m, "hang: no datagram on the way and no timer running");
            break;
        }
        if (next > limit) {
            stop(&m, "not done within %llu ms", (unsigned long long)limit);
            break;
        }
        if (next > m.now)
            m.now = next;
        while ((i = next_item(&m)) != SIZE_MAX && m.q[i].at <= m.now) {
            sim_item it = m.q[i];
            m.q[i] = m.q[--m.nq];
            deliver(&m, &it);
            free(it.data);
        }
        tick(&m, m.c, "client");
        tick(&m, m.s, "server");
    }
out:
    r->end_ms = m.now;
    if (m.c != NULL) {
        r->cstate = tern_conn_state(m.c);
        tern_conn_error(m.c, &r->cerr, NULL, NULL);
        tern_conn_stats(m.c, &r->cstats);
    }
    if (m.s != NULL) {
        r->sstate = tern_conn_state(m.s);
        tern_conn_error(m.s, &r->serr, NULL, NULL);
        tern_conn_stats(m.s, &r->sstats);
    }
    tern_conn_free(m.c);
    tern_conn_free(m.s);
    for (size_t i = 0; i < m.nq; i++)
        free(m.q[i].data);
    free(m.q);
}

void sim_print_failure(const char *what, const sim_result *r)
{
    fprintf(stderr,
            "  %s: seed %llu: %s%s%s; client %s (%s, %llu retransmissions), server %s (%s); "
            "datagrams %llu/%llu sent, %llu/%llu lost; at %llu ms\n"
            "    replay: TERN_SIM_SEED=%llu TERN_SIM_TRACE=1 <this test> <case>\n",
            what, (unsigned long long)r->seed, r->done ? "done" : "NOT DONE", r->why[0] ? ": " : "",
            r->why,
            r->cstate == TERN_STATE_ESTABLISHED ? "established"
            : r->cstate == TERN_STATE_FAILED    ? "failed"
            : r->cstate == TERN_STATE_CLOSED    ? "closed"
                                                : "in handshake",
            tern_err_name(r->cerr), (unsigned long long)r->cstats.retransmits,
            !r->server_made                       ? "never made"
            : r->sstate == TERN_STATE_ESTABLISHED ? "established"
            : r->sstate == TERN_STATE_FAILED      ? "failed"
                                                  : "in handshake",
            tern_err_name(r->serr), (unsigned long long)r->sent[0], (unsigned long long)r->sent[1],
            (unsigned long long)r->lost[0], (unsigned long long)r->lost[1],
            (unsigned long long)r->end_ms, (unsigned long long)r->seed);
}
