/*
 * stack_tern.c - tern's half of tern-bench: a client and a server tern_conn in one
 * thread over two datagram queues, through the stateless front door
 * (tern_server_hello, then tern_conn_accept) so every handshake does the cookie
 * exchange. Time is virtual: it moves 1 ms per round, so no retransmission timer
 * ever fires.
 *
 * Datagrams go straight from tern_conn_send() into a queue slot and from the slot
 * into tern_conn_recv() (which decrypts in place): the sans-IO API needs no copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "tern/tern.h"

#define MAX_ROUNDS 64

static const uint8_t client_addr[] = {10, 0, 0, 2, 0x30, 0x39}; /* what a sockaddr would say */

struct tern_side {
    tern_config *ccfg, *scfg;
    bench_group group;
    bench_aead aead;
    int mtu;
    dq c2s, s2c;
    uint64_t now;
    tern_conn *bulk_c, *bulk_s; /* the pair bulk runs over */
};

static tern_config *config_for(bench_group g, bench_aead a, int mtu, bool server)
{
    static const char *const suites[] = {
        [AEAD_AES128GCM] = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        [AEAD_CHACHA20] = "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    };
    /* For X25519 both stacks offer P-256 too: OpenSSL's server will not use a P-256
     * certificate with a client that does not list P-256 (RFC 8422 §5.1). */
    static const uint16_t x25519[] = {29, 23}, p256[] = {23};
    tern_config *cfg = tern_config_new();
    if (cfg == NULL)
        return NULL;
    tern_err err = tern_config_set_suite_names(cfg, suites[a]);
    if (err == TERN_OK)
        err = g == GROUP_X25519 ? tern_config_set_groups(cfg, x25519, 2)
                                : tern_config_set_groups(cfg, p256, 1);
    if (err == TERN_OK)
        err = tern_config_set_mtu(cfg, (size_t)mtu);
    if (err == TERN_OK && server)
        err = tern_config_load_certificate(cfg, bench_pki("leaf-ecdsa-chain.pem"),
                                           bench_pki("leaf-ecdsa.key"));
    if (err == TERN_OK && !server)
        err = tern_config_load_ca_file(cfg, bench_pki("root-ca.pem"));
    if (err != TERN_OK) {
        fprintf(stderr, "tern config: %s\n", tern_strerror(err));
        tern_config_free(cfg);
        return NULL;
    }
    return cfg;
}

tern_side *tb_new(bench_group g, bench_aead a, int mtu)
{
    tern_side *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->group = g;
    t->aead = a;
    t->mtu = mtu;
    t->ccfg = config_for(g, a, mtu, false);
    t->scfg = config_for(g, a, mtu, true);
    if (t->ccfg == NULL || t->scfg == NULL) {
        tb_free(t);
        return NULL;
    }
    t->now = 1000;
    return t;
}

void tb_free(tern_side *t)
{
    if (t == NULL)
        return;
    tb_bulk_stop(t);
    tern_config_free(t->ccfg);
    tern_config_free(t->scfg);
    free(t);
}

/* Everything |c| has to send, into |q|. */
static void drain_send(tern_side *t, tern_conn *c, dq *q, bench_side side)
{
    for (;;) {
        uint8_t *slot = dq_tail(q);
        if (slot == NULL)
            return;
        size_t n;
        bench_zone_enter(side);
        tern_err err = tern_conn_send(c, t->now, slot, DQ_SLOT_SIZE, &n);
        bench_zone_leave(side);
        if (err != TERN_OK)
            return;
        dq_commit(q, n);
    }
}

/* Every datagram in |q|, into |c|. */
static void drain_recv(tern_side *t, tern_conn *c, dq *q, bench_side side)
{
    uint8_t *d;
    size_t n;
    while ((d = dq_front(q, &n)) != NULL) {
        bench_zone_enter(side);
        tern_err err = tern_conn_recv(c, t->now, d, n);
        bench_zone_leave(side);
        (void)err; /* the state says how it went */
        dq_pop(q);
    }
}

/* The server side before it has a connection: the front door. */
static void front_door(tern_side *t, tern_conn **server)
{
    uint8_t *d;
    size_t n;
    while (*server == NULL && (d = dq_front(&t->c2s, &n)) != NULL) {
        uint8_t *reply = dq_tail(&t->s2c);
        if (reply == NULL)
            return;
        size_t rn = 0;
        tern_err err;
        bench_zone_enter(SIDE_SERVER);
        tern_hello_result res = tern_server_hello(t->scfg, t->now, client_addr, sizeof client_addr,
                                                  d, n, reply, DQ_SLOT_SIZE, &rn, &err);
        if (res == TERN_HELLO_ACCEPT)
            *server = tern_conn_accept(t->scfg, t->now, client_addr, sizeof client_addr, d, n,
                                       &err);
        bench_zone_leave(SIDE_SERVER);
        if (res == TERN_HELLO_REPLY)
            dq_commit(&t->s2c, rn);
        dq_pop(&t->c2s);
    }
}

/* One full handshake; *client and *server are left established (or NULL/failed). */
static bool handshake(tern_side *t, tern_conn **client, tern_conn **server)
{
    dq_reset(&t->c2s);
    dq_reset(&t->s2c);
    *server = NULL;
    bench_zone_enter(SIDE_CLIENT);
    tern_conn *c = tern_conn_new_client(t->ccfg);
    bool ok = c != NULL && tern_conn_set_hostname(c, BENCH_HOST) == TERN_OK &&
              tern_conn_start(c, t->now) == TERN_OK;
    bench_zone_leave(SIDE_CLIENT);
    *client = c;
    if (!ok)
        return false;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        drain_send(t, c, &t->c2s, SIDE_CLIENT);
        front_door(t, server);
        if (*server != NULL) {
            drain_recv(t, *server, &t->c2s, SIDE_SERVER);
            drain_send(t, *server, &t->s2c, SIDE_SERVER);
        }
        drain_recv(t, c, &t->s2c, SIDE_CLIENT);
        t->now++;
        if (*server != NULL && tern_conn_state(c) == TERN_STATE_ESTABLISHED &&
            tern_conn_state(*server) == TERN_STATE_ESTABLISHED && t->c2s.count == 0 &&
            t->s2c.count == 0)
            return true;
        if (tern_conn_state(c) == TERN_STATE_FAILED ||
            (*server != NULL && tern_conn_state(*server) == TERN_STATE_FAILED))
            break;
    }
    tern_err e = TERN_OK;
    tern_conn_error(c, &e, NULL, NULL);
    fprintf(stderr, "tern handshake failed: client %s\n", tern_strerror(e));
    return false;
}

static void free_pair(tern_conn *client, tern_conn *server)
{
    bench_zone_enter(SIDE_CLIENT);
    tern_conn_free(client);
    bench_zone_leave(SIDE_CLIENT);
    bench_zone_enter(SIDE_SERVER);
    tern_conn_free(server);
    bench_zone_leave(SIDE_SERVER);
}

bool tb_hs_run(tern_side *t, int n, hs_counts *counts)
{
    for (int i = 0; i < n; i++) {
        tern_conn *c, *s;
        bool ok = handshake(t, &c, &s);
        if (ok)
            snprintf(counts->negotiated, sizeof counts->negotiated, "%s %s %s",
                     tern_version_name(tern_conn_version(s)), tern_conn_suite_name(s),
                     tern_group_name(tern_conn_group(c)));
        free_pair(c, s);
        if (!ok) {
            counts->failures++;
            return false;
        }
        counts->handshakes++;
        counts->datagrams += t->c2s.pushed + t->s2c.pushed;
        counts->bytes += t->c2s.bytes + t->s2c.bytes;
        if (t->c2s.largest > counts->largest)
            counts->largest = t->c2s.largest;
        if (t->s2c.largest > counts->largest)
            counts->largest = t->s2c.largest;
    }
    return true;
}

bool tb_hs_run_cold(tern_side *t, int n, hs_counts *counts)
{
    for (int i = 0; i < n; i++) {
        tern_config *fresh = config_for(t->group, t->aead, t->mtu, false);
        if (fresh == NULL)
            return false;
        tern_config_free(t->ccfg);
        t->ccfg = fresh;
        if (!tb_hs_run(t, 1, counts))
            return false;
    }
    return true;
}

/* Client writes one record, it crosses, the server reads it; |n| times. */
static bool one_way(tern_side *t, tern_conn *c, tern_conn *s, int n)
{
    static uint8_t msg[BENCH_RECORD], got[BENCH_RECORD];
    for (int i = 0; i < n; i++) {
        msg[0] = (uint8_t)i;
        size_t len;
        bench_zone_enter(SIDE_CLIENT);
        tern_err err = tern_conn_write(c, msg, sizeof msg);
        bench_zone_leave(SIDE_CLIENT);
        if (err != TERN_OK)
            return false;
        drain_send(t, c, &t->c2s, SIDE_CLIENT);
        drain_recv(t, s, &t->c2s, SIDE_SERVER);
        bench_zone_enter(SIDE_SERVER);
        err = tern_conn_read(s, got, sizeof got, &len);
        bench_zone_leave(SIDE_SERVER);
        if (err != TERN_OK || len != sizeof msg || got[0] != msg[0])
            return false;
    }
    return true;
}

bool tb_bulk_start(tern_side *t)
{
    tb_bulk_stop(t);
    if (handshake(t, &t->bulk_c, &t->bulk_s))
        return true;
    tb_bulk_stop(t);
    return false;
}

bool tb_bulk_run(tern_side *t, int n)
{
    return t->bulk_c != NULL && one_way(t, t->bulk_c, t->bulk_s, n);
}

void tb_bulk_stop(tern_side *t)
{
    free_pair(t->bulk_c, t->bulk_s);
    t->bulk_c = t->bulk_s = NULL;
}

bool tb_heap(tern_side *t, int n, heap_figures *out)
{
    tern_conn **cs = calloc((size_t)n, sizeof *cs), **ss = calloc((size_t)n, sizeof *ss);
    bool ok = cs != NULL && ss != NULL;
    static const uint8_t ping[32] = "ping", pong[32] = "pong";
    uint8_t buf[64];
    size_t len;
    for (int i = 0; ok && i < n; i++) {
        ok = handshake(t, &cs[i], &ss[i]);
        /* One record each way, then idle: the association has been used. */
        ok = ok && tern_conn_write(cs[i], ping, sizeof ping) == TERN_OK;
        if (ok) {
            drain_send(t, cs[i], &t->c2s, SIDE_CLIENT);
            drain_recv(t, ss[i], &t->c2s, SIDE_SERVER);
        }
        ok = ok && tern_conn_read(ss[i], buf, sizeof buf, &len) == TERN_OK &&
             tern_conn_write(ss[i], pong, sizeof pong) == TERN_OK;
        if (ok) {
            drain_send(t, ss[i], &t->s2c, SIDE_SERVER);
            drain_recv(t, cs[i], &t->s2c, SIDE_CLIENT);
        }
        ok = ok && tern_conn_read(cs[i], buf, sizeof buf, &len) == TERN_OK;
    }
    /* What each side holds is what freeing it gives back. */
    long long before = bench_heap_bytes();
    for (int i = 0; i < n && cs != NULL; i++)
        tern_conn_free(cs[i]);
    long long mid = bench_heap_bytes();
    for (int i = 0; i < n && ss != NULL; i++)
        tern_conn_free(ss[i]);
    long long after = bench_heap_bytes();
    out->client = (double)(before - mid) / n;
    out->server = (double)(mid - after) / n;
    free(cs);
    free(ss);
    return ok;
}

/* ------------------------------------------------------------------ raw AEAD */

bool tb_raw_aead(bench_aead a, int n, bool rec12)
{
    static const uint8_t key[32] = {1, 2, 3}, iv[12] = {4, 5, 6};
    static uint8_t buf[8 + BENCH_RECORD + 16];
    tern_aead_alg alg = a == AEAD_AES128GCM ? TERN_AEAD_AES_128_GCM : TERN_AEAD_CHACHA20_POLY1305;
    size_t prefix = alg == TERN_AEAD_AES_128_GCM ? 8 : 0; /* GCM's nonce_explicit */
    tern_aead *seal, *open;
    if (tern_aead_new(alg, key, &seal) != TERN_OK)
        return false;
    if (tern_aead_new(alg, key, &open) != TERN_OK) {
        tern_aead_free(seal);
        return false;
    }
    uint8_t nonce[12] = {0}, aad[13] = {0};
    bool ok = true;
    for (int i = 0; ok && i < n; i++) {
        size_t len;
        memcpy(nonce + 4, &i, sizeof i);
        memcpy(aad, &i, sizeof i);
        if (!rec12) {
            ok = tern_aead_seal(seal, nonce, aad, sizeof aad, buf, BENCH_RECORD, buf) == TERN_OK &&
                 tern_aead_open(open, nonce, aad, sizeof aad, buf, BENCH_RECORD + 16, buf, &len) ==
                     TERN_OK;
            continue;
        }
        aad[11] = BENCH_RECORD >> 8, aad[12] = BENCH_RECORD & 0xff;
        memcpy(buf, nonce + 4, 8);
        ok = tern_aead_seal12(seal, iv, aad, buf, BENCH_RECORD) == TERN_OK &&
             tern_aead_open12(open, iv, aad, buf, prefix + BENCH_RECORD + 16, &len) == TERN_OK;
    }
    tern_aead_free(seal);
    tern_aead_free(open);
    return ok;
}
