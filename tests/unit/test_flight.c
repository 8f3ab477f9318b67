/*
 * test_flight.c - outgoing flights against the datagram contract.
 *
 * A server flight (ServerHello, Certificate of 600 or 3500 bytes, ServerKeyExchange,
 * CertificateRequest, ServerHelloDone in epoch 0, then ChangeCipherSpec and a
 * Finished in epoch 1 under AES-128-GCM) is sent at MTUs from 64 to 20000. Every
 * datagram is opened again with the record layer and every record with
 * tern_hs_hdr_parse(), and checked: no datagram over the MTU, nothing in it but
 * whole records, records packed greedily (the first record of a datagram would not
 * have fit in the one before), each message cut into the fewest fragments an empty
 * datagram allows and those of even size. The fragments are then reassembled in
 * order, reversed, shuffled and duplicated, and must give back every message byte
 * for byte. Then rewind (new sequence numbers, same bytes), a change of MTU in the
 * middle of a message, a datagram the caller started, and every error.
 */
#include "crypto/crypto.h"
#include "flight/flight.h"
#include "record/record.h"
#include "seeded_rng.h"
#include "test.h"

#define BUF_CAP 20000
#define MAX_FRAGS 4096
#define ARENA_CAP (256 * 1024)

/* Run a helper that CHECKs, and stop the calling case if it failed. */
#define RUN(call)                                                                        \
    do {                                                                                 \
        call;                                                                            \
        if (test_failed())                                                               \
            return;                                                                      \
    } while (0)

/* ------------------------------------------------------------------ the flight */

typedef struct tmsg {
    uint64_t epoch;
    uint8_t ct;
    uint8_t type;
    uint16_t seq;
    size_t len;
    uint8_t *body;
} tmsg;

static uint8_t bodies[TERN_FLIGHT_MAX_MSGS][48 * 1024];

static size_t server_flight(tmsg *m, size_t cert_len)
{
    const struct {
        uint8_t type;
        size_t len;
    } hs[] = {
        {TERN_HS_SERVER_HELLO, 90},       {TERN_HS_CERTIFICATE, cert_len},
        {TERN_HS_SERVER_KEY_EXCHANGE, 150}, {TERN_HS_CERTIFICATE_REQUEST, 40},
        {TERN_HS_SERVER_HELLO_DONE, 0},
    };
    size_t n = 0;
    for (size_t i = 0; i < 5; i++, n++)
        m[n] = (tmsg){0, TERN_CT_HANDSHAKE, hs[i].type, (uint16_t)(i + 1), hs[i].len, bodies[n]};
    m[n++] = (tmsg){0, TERN_CT_CHANGE_CIPHER_SPEC, 0, 0, 1, bodies[5]};
    bodies[5][0] = 1;
    m[n++] = (tmsg){1, TERN_CT_HANDSHAKE, TERN_HS_FINISHED, 6, 12, bodies[6]};
    for (size_t i = 0; i < n; i++)
        if (m[i].ct == TERN_CT_HANDSHAKE)
            for (size_t k = 0; k < m[i].len; k++)
                m[i].body[k] = (uint8_t)(k * 31 + i * 17 + (k >> 8));
    return n;
}

static tern_err flight_load(tern_flight *f, const tmsg *m, size_t n)
{
    tern_flight_begin(f);
    for (size_t i = 0; i < n; i++) {
        tern_err err = m[i].ct == TERN_CT_HANDSHAKE
                           ? tern_flight_add_hs(f, m[i].epoch, m[i].type, m[i].seq, m[i].body,
                                                m[i].len)
                           : tern_flight_add_ccs(f, m[i].epoch);
        if (err != TERN_OK)
            return err;
    }
    return TERN_OK;
}

/* ------------------------------------------------------------------ record layers */

static uint8_t key[16], salt[4];

/* tx writes epochs 0 and 1, rx reads them; epoch 1 is AES-128-GCM. */
static tern_err pair_setup(tern_rec *tx, tern_rec *rx)
{
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(0x40 + i);
    memcpy(salt, "salt", 4);
    tern_rec_keys k = {TERN_DTLS12_VERSION, TERN_AEAD_AES_128_GCM, key, salt, sizeof salt};
    tern_err err;
    if ((err = tern_rec_init(tx, 0)) != TERN_OK || (err = tern_rec_init(rx, 0)) != TERN_OK)
        return err;
    if ((err = tern_rec_install(tx, TERN_REC_WRITE, 1, &k)) != TERN_OK)
        return err;
    return tern_rec_install(rx, TERN_REC_READ, 1, &k);
}

/* ------------------------------------------------------------------ capture */

/* One record that came out of the flight, as the receiver saw it. */
typedef struct tfrag {
    uint64_t epoch;
    uint64_t rseq; /* record sequence number */
    uint8_t ct;
    tern_hs_hdr h; /* handshake records */
    const uint8_t *data;
    size_t len;
    size_t dgram; /* which datagram carried it */
} tfrag;

typedef struct capture {
    tfrag frag[MAX_FRAGS];
    size_t nfrags;
    size_t ndgrams;
    size_t used;
    uint8_t arena[ARENA_CAP]; /* the fragments' bytes; last, so a reset need not clear it */
} capture;

static capture cap_a, cap_b;

/* The bytes a record with |len| bytes of plaintext took in its datagram. */
static size_t wire_len(tern_rec *tx, uint64_t epoch, size_t len)
{
    size_t ovh = 0;
    if (tern_rec_overhead(tx, epoch, &ovh) != TERN_OK)
        return SIZE_MAX;
    return ovh + len;
}

/* Open the datagram |d| (|n| bytes) as the receiver and add its records to |c|.
 * |first| gets the wire size of its first flight record (after |skip| records the
 * caller put there itself). */
static void take_datagram(capture *c, tern_rec *tx, tern_rec *rx, uint8_t *d, size_t n,
                          size_t skip, size_t *first)
{
    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, rx, d, n);
    size_t total = 0, idx = 0;
    *first = 0;
    tern_rec_kind kind;
    while ((kind = tern_rec_next(&it, &in)) != TERN_REC_END) {
        CHECK_EQ(kind, TERN_REC_RECORD);
        size_t wl = wire_len(tx, in.epoch, in.len);
        total += wl;
        if (idx++ < skip)
            continue;
        if (*first == 0)
            *first = wl;
        CHECK(c->nfrags < MAX_FRAGS);
        tfrag *t = &c->frag[c->nfrags];
        memset(t, 0, sizeof *t);
        t->epoch = in.epoch;
        t->rseq = in.seq;
        t->ct = in.type;
        t->dgram = c->ndgrams;
        const uint8_t *src = in.data;
        size_t len = in.len;
        if (in.type == TERN_CT_HANDSHAKE) {
            /* exactly one whole fragment per record */
            tern_rd r = tern_rd_init(in.data, in.len);
            CHECK_OK(tern_hs_hdr_parse(&r, &t->h, &src));
            CHECK(tern_rd_done(&r));
            len = t->h.frag_len;
        } else {
            CHECK_EQ(in.type, TERN_CT_CHANGE_CIPHER_SPEC);
            CHECK_EQ(in.len, 1);
            CHECK_EQ(in.data[0], 1);
        }
        CHECK(c->used + len <= ARENA_CAP);
        memcpy(c->arena + c->used, src, len);
        t->data = c->arena + c->used;
        t->len = len;
        c->used += len;
        c->nfrags++;
    }
    CHECK_EQ(total, n); /* nothing in the datagram but whole records */
    c->ndgrams++;
}

/* Send the whole transmission at |mtu| into |c|, checking every datagram. */
static void send_all(tern_flight *f, tern_rec *tx, tern_rec *rx, size_t mtu, capture *c)
{
    static uint8_t buf[BUF_CAP];
    memset(c, 0, offsetof(capture, arena));
    size_t prev = 0;
    bool more = tern_flight_pending(f);
    CHECK(more);
    while (more) {
        tern_wr w = tern_wr_init(buf, sizeof buf);
        CHECK_OK(tern_flight_fill(f, tx, mtu, &w, &more));
        CHECK(w.len > 0);
        CHECK(w.len <= mtu);
        CHECK_EQ(more, tern_flight_pending(f));
        size_t first;
        RUN(take_datagram(c, tx, rx, buf, w.len, 0, &first));
        /* packed greedily: this datagram's first record did not fit in the last one */
        if (c->ndgrams > 1)
            CHECK(prev + first > mtu);
        prev = w.len;
        CHECK(c->ndgrams < MAX_FRAGS);
    }
    bool m2;
    tern_wr w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_flight_fill(f, tx, mtu, &w, &m2), TERN_ERR_AGAIN);
    CHECK(!m2);
    CHECK_EQ(w.len, 0);
}

/* The most body bytes of a handshake fragment in an empty datagram. */
static size_t max_frag(tern_rec *tx, uint64_t epoch, size_t mtu)
{
    size_t m = mtu - wire_len(tx, epoch, TERN_HS_HDR_LEN);
    return m > TERN_DTLS_MAX_PLAINTEXT - TERN_HS_HDR_LEN ? TERN_DTLS_MAX_PLAINTEXT - TERN_HS_HDR_LEN
                                                         : m;
}

/* Each message went out once, in order, cut into the fewest even fragments. */
static void check_cuts(const capture *c, const tmsg *m, size_t n, tern_rec *tx, size_t mtu)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i].ct != TERN_CT_HANDSHAKE) {
            CHECK(k < c->nfrags);
            CHECK_EQ(c->frag[k].ct, m[i].ct);
            CHECK_EQ(c->frag[k].epoch, m[i].epoch);
            k++;
            continue;
        }
        size_t max = max_frag(tx, m[i].epoch, mtu);
        size_t want = m[i].len == 0 ? 1 : (m[i].len + max - 1) / max;
        size_t lo = SIZE_MAX, hi = 0, off = 0, got = 0;
        for (; k < c->nfrags && c->frag[k].ct == TERN_CT_HANDSHAKE &&
               c->frag[k].h.msg_seq == m[i].seq;
             k++, got++) {
            const tfrag *t = &c->frag[k];
            CHECK_EQ(t->epoch, m[i].epoch);
            CHECK_EQ(t->h.type, m[i].type);
            CHECK_EQ(t->h.length, m[i].len);
            CHECK_EQ(t->h.frag_off, off);
            CHECK_MEM(t->data, m[i].body + off, t->len);
            off += t->len;
            lo = t->len < lo ? t->len : lo;
            hi = t->len > hi ? t->len : hi;
        }
        CHECK_EQ(off, m[i].len);
        CHECK_EQ(got, want); /* split only when it does not fit an empty datagram */
        CHECK(hi - lo <= 1); /* and then evenly */
    }
    CHECK_EQ(k, c->nfrags);
}

/* Feed the handshake fragments of |c| to a tern_reasm in the order |order|, then
 * pop every message of |m| back. */
static void check_reasm(const capture *c, const size_t *order, size_t norder, const tmsg *m,
                        size_t n)
{
    tern_reasm r;
    tern_reasm_init(&r, 256 * 1024);
    tern_reasm_set_next_seq(&r, 1); /* the server answered a HelloVerifyRequest */
    for (size_t i = 0; i < norder; i++) {
        const tfrag *t = &c->frag[order[i]];
        if (t->ct != TERN_CT_HANDSHAKE)
            continue;
        tern_reasm_result res = tern_reasm_push(&r, t->epoch, &t->h, t->data);
        if (res != TERN_REASM_STORED)
            tern_reasm_clear(&r);
        CHECK_EQ(res, TERN_REASM_STORED);
    }
    tern_hs_msg_in got;
    for (size_t i = 0; i < n; i++) {
        if (m[i].ct != TERN_CT_HANDSHAKE)
            continue;
        tern_err err = tern_reasm_pop(&r, &got);
        if (err != TERN_OK || got.type != m[i].type || got.msg_seq != m[i].seq ||
            got.epoch != m[i].epoch || got.len != m[i].len ||
            memcmp(got.body, m[i].body, m[i].len) != 0) {
            tern_reasm_clear(&r);
            CHECK(!"message reassembled as sent");
        }
    }
    CHECK_ERR(tern_reasm_pop(&r, &got), TERN_ERR_AGAIN);
    tern_reasm_clear(&r);
}

static size_t rand_below(tern_rng *rng, size_t n)
{
    uint8_t b[4];
    if (rng->fill(rng->ctx, b, sizeof b) != 0)
        return 0;
    return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) % n;
}

static void shuffle(tern_rng *rng, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rand_below(rng, i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* In order, reversed, shuffled, and each fragment twice (in place and shuffled). */
static void check_reasm_orders(const capture *c, const tmsg *m, size_t n, uint64_t seed)
{
    static size_t order[2 * MAX_FRAGS];
    size_t nf = c->nfrags;
    test_seeded_state st;
    tern_rng rng;
    test_rng_seeded(&rng, &st, seed);

    for (size_t i = 0; i < nf; i++)
        order[i] = i;
    RUN(check_reasm(c, order, nf, m, n));
    for (size_t i = 0; i < nf; i++)
        order[i] = nf - 1 - i;
    RUN(check_reasm(c, order, nf, m, n));
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < nf; i++)
            order[i] = i;
        shuffle(&rng, order, nf);
        RUN(check_reasm(c, order, nf, m, n));
    }
    for (size_t i = 0; i < 2 * nf; i++)
        order[i] = i / 2;
    RUN(check_reasm(c, order, 2 * nf, m, n));
    for (size_t i = 0; i < 2 * nf; i++)
        order[i] = i % nf;
    shuffle(&rng, order, 2 * nf);
    RUN(check_reasm(c, order, 2 * nf, m, n));
}

/* ------------------------------------------------------------------ cases */

TEST(server_flight_at_every_mtu)
{
    const size_t mtus[] = {64, 256, 576, 1200, 1400, 1500, 9000, 16384, BUF_CAP};
    const size_t certs[] = {600, 3500, 40000};
    for (size_t ci = 0; ci < sizeof certs / sizeof certs[0]; ci++) {
        for (size_t mi = 0; mi < sizeof mtus / sizeof mtus[0]; mi++) {
            size_t mtu = mtus[mi];
            if (certs[ci] == 40000 && mtu < 1200)
                continue; /* 40 KB over a tiny MTU is slow and proves nothing new */
            tern_rec tx, rx;
            tern_flight f;
            tmsg m[8];
            size_t n = server_flight(m, certs[ci]);
            CHECK_OK(pair_setup(&tx, &rx));
            tern_flight_init(&f, 0);
            CHECK_OK(flight_load(&f, m, n));
            send_all(&f, &tx, &rx, mtu, &cap_a);
            if (!test_failed())
                check_cuts(&cap_a, m, n, &tx, mtu);
            if (!test_failed())
                check_reasm_orders(&cap_a, m, n, 1000 * ci + mi);
            if (test_failed())
                fprintf(stderr, "  at mtu %zu, certificate %zu\n", mtu, certs[ci]);
            tern_flight_clear(&f);
            tern_rec_clear(&tx);
            tern_rec_clear(&rx);
            if (test_failed())
                return;
            /* small messages share datagrams: the whole 600-byte flight fits in one */
            if (certs[ci] == 600 && mtu >= 1200)
                CHECK_EQ(cap_a.ndgrams, 1);
            if (certs[ci] == 3500 && mtu == 1200)
                CHECK_EQ(cap_a.ndgrams, 5); /* SH | Cert 1/3 | 2/3 | 3/3 | SKE..Finished */
        }
    }
}

TEST(random_flights_at_random_mtus)
{
    test_seeded_state st;
    tern_rng rng;
    test_rng_seeded(&rng, &st, 0xf11647);
    for (int round = 0; round < 300; round++) {
        /* Epoch 0 then (after an optional CCS) epoch 1; at most as many handshake
         * messages as the receiver holds at once, since all are pushed before any
         * is popped. */
        tmsg m[TERN_FLIGHT_MAX_MSGS];
        size_t n = 1 + rand_below(&rng, TERN_REASM_WINDOW);
        size_t change = rand_below(&rng, n + 1);
        bool ccs = rand_below(&rng, 2) == 0 && change > 0 && change < n;
        n += ccs;
        uint16_t seq = 1;
        for (size_t i = 0; i < n; i++) {
            if (ccs && i == change) {
                m[i] = (tmsg){0, TERN_CT_CHANGE_CIPHER_SPEC, 0, 0, 1, bodies[i]};
                continue;
            }
            size_t len = rand_below(&rng, 4) == 0 ? rand_below(&rng, 40) : rand_below(&rng, 5000);
            m[i] = (tmsg){i >= change, TERN_CT_HANDSHAKE, (uint8_t)(1 + rand_below(&rng, 20)),
                          seq++, len, bodies[i]};
            CHECK(rng.fill(rng.ctx, bodies[i], len) == 0);
        }
        size_t mtu = 80 + rand_below(&rng, 2000); /* 80: at most ~1400 fragments */
        tern_rec tx, rx;
        tern_flight f;
        CHECK_OK(pair_setup(&tx, &rx));
        tern_flight_init(&f, 0);
        CHECK_OK(flight_load(&f, m, n));
        send_all(&f, &tx, &rx, mtu, &cap_a);
        if (!test_failed())
            check_cuts(&cap_a, m, n, &tx, mtu);
        if (!test_failed())
            check_reasm_orders(&cap_a, m, n, (uint64_t)round);
        if (test_failed())
            fprintf(stderr, "  round %d: %zu entries at mtu %zu\n", round, n, mtu);
        tern_flight_clear(&f);
        tern_rec_clear(&tx);
        tern_rec_clear(&rx);
        if (test_failed())
            return;
    }
}

TEST(rewind_resends_with_new_sequence_numbers)
{
    tern_rec tx, rx;
    tern_flight f;
    tmsg m[8];
    size_t n = server_flight(m, 3500);
    CHECK_OK(pair_setup(&tx, &rx));
    tern_flight_init(&f, 0);
    CHECK_OK(flight_load(&f, m, n));

    RUN(send_all(&f, &tx, &rx, 576, &cap_a));
    CHECK(!tern_flight_pending(&f));
    tern_flight_rewind(&f);
    CHECK(tern_flight_pending(&f));
    /* the receiver's replay window would drop a record sent again as it was */
    RUN(send_all(&f, &tx, &rx, 576, &cap_b));
    CHECK_EQ(cap_b.nfrags, cap_a.nfrags);
    CHECK_EQ(cap_b.ndgrams, cap_a.ndgrams);
    uint64_t top[2] = {0, 0};
    for (size_t i = 0; i < cap_a.nfrags; i++)
        if (cap_a.frag[i].rseq >= top[cap_a.frag[i].epoch])
            top[cap_a.frag[i].epoch] = cap_a.frag[i].rseq;
    for (size_t i = 0; i < cap_b.nfrags; i++) {
        const tfrag *a = &cap_a.frag[i], *b = &cap_b.frag[i];
        CHECK(b->rseq > top[b->epoch]); /* a new record ... */
        CHECK_EQ(b->epoch, a->epoch);   /* ... with the same content */
        CHECK_EQ(b->ct, a->ct);
        CHECK(memcmp(&b->h, &a->h, sizeof a->h) == 0);
        CHECK_EQ(b->len, a->len);
        CHECK_MEM(b->data, a->data, a->len);
    }
    CHECK(tern_rec_stats_of(&rx)->accepted == 2 * cap_a.nfrags);
    /* a retransmission at a smaller MTU (PMTU estimate fell) still reassembles */
    tern_flight_rewind(&f);
    RUN(send_all(&f, &tx, &rx, 256, &cap_b));
    RUN(check_cuts(&cap_b, m, n, &tx, 256));
    RUN(check_reasm_orders(&cap_b, m, n, 7));

    /* begin forgets the flight */
    tern_flight_begin(&f);
    CHECK(!tern_flight_pending(&f));
    CHECK_EQ(tern_flight_count(&f), 0);
    tern_flight_rewind(&f);
    CHECK(!tern_flight_pending(&f));
    tern_flight_clear(&f);
    tern_rec_clear(&tx);
    tern_rec_clear(&rx);
}

TEST(mtu_changes_in_the_middle_of_a_message)
{
    static uint8_t buf[BUF_CAP];
    tern_rec tx, rx;
    tern_flight f;
    tmsg m[8];
    size_t n = server_flight(m, 3500);
    CHECK_OK(pair_setup(&tx, &rx));
    tern_flight_init(&f, 0);
    CHECK_OK(flight_load(&f, m, n));
    memset(&cap_a, 0, offsetof(capture, arena));
    bool more = true;
    size_t mtu = 1400, first;
    /* 1400 fits ServerHello and one third of the Certificate, then 300 */
    for (int i = 0; more; i++) {
        tern_wr w = tern_wr_init(buf, sizeof buf);
        CHECK_OK(tern_flight_fill(&f, &tx, mtu, &w, &more));
        CHECK(w.len <= mtu);
        RUN(take_datagram(&cap_a, &tx, &rx, buf, w.len, 0, &first));
        if (i == 1)
            mtu = 300;
    }
    RUN(check_reasm_orders(&cap_a, m, n, 11));
    tern_flight_clear(&f);
    tern_rec_clear(&tx);
    tern_rec_clear(&rx);
}

TEST(datagram_started_by_the_caller)
{
    static uint8_t buf[BUF_CAP];
    tern_rec tx, rx;
    tern_flight f;
    tmsg m[8];
    size_t n = server_flight(m, 600);
    CHECK_OK(pair_setup(&tx, &rx));
    tern_flight_init(&f, 0);
    CHECK_OK(flight_load(&f, m, n));
    const uint8_t ack[100] = {0};
    memset(&cap_a, 0, offsetof(capture, arena));
    bool more = true;
    for (int i = 0; more; i++) {
        tern_wr w = tern_wr_init(buf, sizeof buf);
        CHECK_OK(tern_rec_seal(&tx, 1, TERN_CT_APPLICATION_DATA, ack, sizeof ack, &w, NULL));
        size_t mine = w.len, first;
        CHECK_OK(tern_flight_fill(&f, &tx, 576, &w, &more));
        CHECK(w.len <= 576);
        CHECK(w.len > mine); /* 576 - 137 leaves room for any record of this flight */
        RUN(take_datagram(&cap_a, &tx, &rx, buf, w.len, 1, &first));
        CHECK(i < 10);
    }
    RUN(check_reasm_orders(&cap_a, m, n, 12));

    /* a caller's record leaving no room: nothing added, the datagram is the caller's */
    tern_flight_rewind(&f);
    tern_wr w = tern_wr_init(buf, sizeof buf);
    const uint8_t big[500] = {0};
    CHECK_OK(tern_rec_seal(&tx, 0, TERN_CT_APPLICATION_DATA, big, sizeof big, &w, NULL));
    size_t mine = w.len;
    CHECK_OK(tern_flight_fill(&f, &tx, 576, &w, &more));
    CHECK(more);
    CHECK_EQ(w.len, mine);
    tern_flight_clear(&f);
    tern_rec_clear(&tx);
    tern_rec_clear(&rx);
}

TEST(mtu_too_small_is_refused_before_sealing)
{
    static uint8_t buf[BUF_CAP];
    tern_rec tx, rx;
    tern_flight f;
    tmsg m[8];
    size_t n = server_flight(m, 600);
    CHECK_OK(pair_setup(&tx, &rx));
    tern_flight_init(&f, 0);
    CHECK_OK(flight_load(&f, m, n));
    bool more;
    tern_wr w = tern_wr_init(buf, sizeof buf);
    /* epoch 1 (GCM) needs 13 + 8 + 16 + 12 + 1 = 50 bytes for a 1-byte fragment */
    CHECK_ERR(tern_flight_fill(&f, &tx, 49, &w, &more), TERN_ERR_ARG);
    CHECK_EQ(w.len, 0);
    CHECK(tern_rec_stats_of(&tx)->sent == 0);
    CHECK_OK(tern_flight_fill(&f, &tx, 50, &w, &more));
    CHECK(more);
    /* epoch 0 needs 13 + 12 + 1 */
    tern_flight_begin(&f);
    CHECK_OK(tern_flight_add_hs(&f, 0, TERN_HS_SERVER_HELLO, 0, m[0].body, 90));
    w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_flight_fill(&f, &tx, 25, &w, &more), TERN_ERR_ARG);
    CHECK_OK(tern_flight_fill(&f, &tx, 26, &w, &more));
    CHECK_EQ(w.len, 26);
    /* a record that cannot be cut must fit whole */
    tern_flight_begin(&f);
    CHECK_OK(tern_flight_add_record(&f, 0, TERN_CT_HEARTBEAT, m[0].body, 90));
    w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_flight_fill(&f, &tx, 102, &w, &more), TERN_ERR_ARG);
    CHECK_OK(tern_flight_fill(&f, &tx, 103, &w, &more));
    CHECK(!more);
    /* the writer must hold the MTU, and not be past it already */
    tern_flight_rewind(&f);
    w = tern_wr_init(buf, 200);
    CHECK_ERR(tern_flight_fill(&f, &tx, 201, &w, &more), TERN_ERR_ARG);
    w.len = 150;
    CHECK_ERR(tern_flight_fill(&f, &tx, 140, &w, &more), TERN_ERR_ARG);
    /* an epoch with no write keys */
    tern_flight_begin(&f);
    CHECK_OK(tern_flight_add_hs(&f, 2, TERN_HS_FINISHED, 7, m[0].body, 12));
    w = tern_wr_init(buf, sizeof buf);
    CHECK_ERR(tern_flight_fill(&f, &tx, 576, &w, &more), TERN_ERR_EPOCH);
    CHECK_EQ(w.len, 0);
    tern_flight_clear(&f);
    tern_rec_clear(&tx);
    tern_rec_clear(&rx);
}

TEST(caps_and_limits)
{
    static uint8_t body[2000];
    tern_flight f;
    tern_flight_init(&f, 1000);
    CHECK_OK(tern_flight_add_hs(&f, 0, TERN_HS_CERTIFICATE, 0, body, 600));
    CHECK_ERR(tern_flight_add_hs(&f, 0, TERN_HS_SERVER_KEY_EXCHANGE, 1, body, 401),
              TERN_ERR_TOO_BIG);
    CHECK_OK(tern_flight_add_hs(&f, 0, TERN_HS_SERVER_KEY_EXCHANGE, 1, body, 400));
    CHECK_OK(tern_flight_add_hs(&f, 0, TERN_HS_SERVER_HELLO_DONE, 2, NULL, 0));
    CHECK_ERR(tern_flight_add_ccs(&f, 0), TERN_ERR_TOO_BIG);
    CHECK_EQ(tern_flight_count(&f), 3);
    tern_flight_begin(&f); /* the cap is per flight */
    CHECK_OK(tern_flight_add_hs(&f, 0, TERN_HS_CERTIFICATE, 0, body, 1000));
    tern_flight_clear(&f);

    tern_flight_init(&f, 0);
    CHECK(f.cap == TERN_FLIGHT_DEFAULT_CAP);
    CHECK_ERR(tern_flight_add_hs(&f, 0, 1, 0, body, TERN_HS_BODY_MAX + 1), TERN_ERR_TOO_BIG);
    CHECK_ERR(tern_flight_add_hs(&f, 0, 1, 0, NULL, 5), TERN_ERR_ARG);
    CHECK_ERR(tern_flight_add_record(&f, 0, TERN_CT_HANDSHAKE, body, 5), TERN_ERR_ARG);
    CHECK_ERR(tern_flight_add_record(&f, 0, TERN_CT_HEARTBEAT, body,
                                     TERN_DTLS_MAX_PLAINTEXT + 1),
              TERN_ERR_TOO_BIG);
    for (uint16_t i = 0; i < TERN_FLIGHT_MAX_MSGS; i++)
        CHECK_OK(tern_flight_add_hs(&f, 0, 1, i, body, 10));
    CHECK_ERR(tern_flight_add_hs(&f, 0, 1, 99, body, 10), TERN_ERR_ARG);
    CHECK_ERR(tern_flight_add_ccs(&f, 0), TERN_ERR_ARG);
    CHECK_EQ(tern_flight_count(&f), TERN_FLIGHT_MAX_MSGS);
    CHECK(f.alloc <= f.cap);

    /* the body is copied: the caller's buffer may change at once */
    tern_rec tx, rx;
    CHECK_OK(pair_setup(&tx, &rx));
    tern_flight_begin(&f);
    uint8_t mine[20];
    memset(mine, 0xab, sizeof mine);
    CHECK_OK(tern_flight_add_hs(&f, 0, TERN_HS_FINISHED, 3, mine, sizeof mine));
    memset(mine, 0, sizeof mine);
    uint8_t buf[256];
    tern_wr w = tern_wr_init(buf, sizeof buf);
    bool more;
    CHECK_OK(tern_flight_fill(&f, &tx, sizeof buf, &w, &more));
    CHECK(!more);
    CHECK_EQ(w.len, TERN_DTLS12_HDR_LEN + TERN_HS_HDR_LEN + 20);
    CHECK_EQ(buf[TERN_DTLS12_HDR_LEN + TERN_HS_HDR_LEN], 0xab);
    CHECK_ERR(tern_flight_fill(&f, &tx, sizeof buf, &w, &more), TERN_ERR_AGAIN);
    tern_flight_clear(&f);
    tern_rec_clear(&tx);
    tern_rec_clear(&rx);
}
