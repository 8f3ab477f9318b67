/*
 * test_endpoint.c - the endpoint on loopback, in one process: handshakes and echo
 * over IPv4 and IPv6, many associations on one socket in both roles, demux by
 * exact address (a peer moving to another port reaches nobody), a client that
 * starts over on the same port (RFC 6347 §4.2.8), a retransmitted ClientHello
 * answered from the cached flight, idle timeout, limits, the blocking API and the
 * ready-made loop, an unreachable server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io_test.h"
#include "test.h"

/* ------------------------------------------------------------------ helpers */

static tern_endpoint *server_on(tern_config *cfg, const char *bind, tern_endpoint_opts *o)
{
    tern_endpoint_opts def;
    if (o == NULL) {
        tern_endpoint_opts_init(&def);
        o = &def;
    }
    o->bind = bind;
    o->accept = true;
    return tern_endpoint_new(cfg, o, NULL);
}

static tern_endpoint *client_ep(tern_config *cfg, const char *bind)
{
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.bind = bind;
    o.accept = false;
    o.batch = 4;
    return tern_endpoint_new(cfg, &o, NULL);
}

typedef struct waitset {
    tern_assoc **a;
    size_t n;
} waitset;

static bool all_established(void *ctx)
{
    waitset *w = ctx;
    for (size_t i = 0; i < w->n; i++)
        if (tern_assoc_state(w->a[i]) != TERN_STATE_ESTABLISHED)
            return false;
    return true;
}

/* Read what arrived on |a| into |out| (NUL-terminated); true when something did. */
static bool got(tern_assoc *a, char *out, size_t cap)
{
    size_t n = 0;
    if (tern_assoc_read(a, (uint8_t *)out, cap - 1, &n, 0) != TERN_OK)
        return false;
    out[n] = '\0';
    return true;
}

typedef struct reply_wait {
    tern_assoc **a;
    size_t n;
    char (*buf)[64];
    bool *have;
} reply_wait;

static bool all_replied(void *ctx)
{
    reply_wait *w = ctx;
    bool all = true;
    for (size_t i = 0; i < w->n; i++) {
        if (!w->have[i])
            w->have[i] = got(w->a[i], w->buf[i], sizeof w->buf[i]);
        all = all && w->have[i];
    }
    return all;
}

/* ------------------------------------------------------------------ echo, both families */

static void echo_family(const char *bind, bool v6)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    io_echo srv = {.ep = server_on(scfg, bind, NULL)};
    tern_endpoint *cep = client_ep(ccfg, v6 ? "::1" : "127.0.0.1");
    CHECK(srv.ep != NULL && cep != NULL);
    struct sockaddr_storage to;
    socklen_t tolen = io_loopback(srv.ep, v6, &to);
    tern_err err;
    tern_assoc *a = tern_endpoint_connect(cep, (struct sockaddr *)&to, tolen, "localhost", &err);
    CHECK_OK(err);
    waitset w = {&a, 1};
    CHECK(io_pump(&srv, &cep, 1, 5000, all_established, &w));
    CHECK(tern_endpoint_ready(cep) == a); /* the completed handshake is news */

    const char *msgs[] = {"one", "two, a little longer", "three"};
    for (size_t i = 0; i < 3; i++) {
        char buf[64];
        bool have = false;
        reply_wait rw = {&a, 1, (char(*)[64])buf, &have};
        CHECK_OK(tern_assoc_write(a, (const uint8_t *)msgs[i], strlen(msgs[i]), 0));
        CHECK(io_pump(&srv, &cep, 1, 5000, all_replied, &rw));
        CHECK(strcmp(buf, msgs[i]) == 0);
    }
    tern_endpoint_stats st;
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.assocs_created, 1);
    CHECK_EQ(st.hello_replies, 1);
    CHECK_EQ(st.handshakes_done, 1);
    CHECK_EQ(st.assocs, 1);
    CHECK_EQ(srv.n_accepted, 1);
    CHECK(st.datagrams_in >= 5 && st.recv_calls > 0);

    /* close_notify reaches the server's association */
    CHECK_OK(tern_assoc_close(a));
    CHECK_EQ(tern_assoc_end_reason(a), TERN_END_CLOSED);
    io_pump(&srv, &cep, 1, 300, NULL, NULL);
    CHECK_EQ(tern_assoc_end_reason(srv.accepted[0]), TERN_END_CLOSED);
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.assocs, 0);

    tern_assoc_free(a);
    io_echo_clear(&srv);
    tern_endpoint_free(cep);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

TEST(echo_ipv4)
{
    echo_family("127.0.0.1", false);
}

TEST(echo_ipv6)
{
    echo_family("::1", true);
}

TEST(echo_ipv4_on_dual_stack_socket)
{
    echo_family("::", false);
}

/* ------------------------------------------------------------------ many on one socket */

TEST(many_servers_from_one_client_socket)
{
    enum { NSERVERS = 4 };
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    io_echo srv[NSERVERS];
    tern_endpoint *cep = client_ep(ccfg, "127.0.0.1");
    tern_assoc *a[NSERVERS];
    CHECK(cep != NULL);
    for (int i = 0; i < NSERVERS; i++) {
        memset(&srv[i], 0, sizeof srv[i]);
        srv[i].ep = server_on(scfg, "127.0.0.1", NULL);
        CHECK(srv[i].ep != NULL);
        struct sockaddr_storage to;
        socklen_t tolen = io_loopback(srv[i].ep, false, &to);
        tern_err err;
        a[i] = tern_endpoint_connect(cep, (struct sockaddr *)&to, tolen, "localhost", &err);
        CHECK_OK(err);
        /* one association per address */
        CHECK(tern_endpoint_connect(cep, (struct sockaddr *)&to, tolen, NULL, &err) == NULL);
        CHECK_EQ(err, TERN_ERR_STATE);
    }
    waitset w = {a, NSERVERS};
    uint64_t end = tern_endpoint_now() + 5000;
    while (!all_established(&w) && tern_endpoint_now() < end) {
        for (int i = 0; i < NSERVERS; i++)
            io_echo_step(&srv[i], 0);
        io_pump(NULL, &cep, 1, 10, NULL, NULL);
    }
    CHECK(all_established(&w));
    char msg[NSERVERS][64], reply[NSERVERS][64];
    bool have[NSERVERS] = {false};
    for (int i = 0; i < NSERVERS; i++) {
        snprintf(msg[i], sizeof msg[i], "to server %d", i);
        CHECK_OK(tern_assoc_write(a[i], (uint8_t *)msg[i], strlen(msg[i]), 0));
    }
    reply_wait rw = {a, NSERVERS, reply, have};
    end = tern_endpoint_now() + 5000;
    while (!all_replied(&rw) && tern_endpoint_now() < end) {
        for (int i = 0; i < NSERVERS; i++)
            io_echo_step(&srv[i], 0);
        io_pump(NULL, &cep, 1, 10, NULL, NULL);
    }
    for (int i = 0; i < NSERVERS; i++) {
        CHECK(have[i]);
        CHECK(strcmp(reply[i], msg[i]) == 0);
    }
    tern_endpoint_stats st;
    tern_endpoint_get_stats(cep, &st);
    CHECK_EQ(st.assocs, NSERVERS);
    CHECK_EQ(st.handshakes_done, NSERVERS);
    for (int i = 0; i < NSERVERS; i++) {
        tern_assoc_free(a[i]);
        io_pump(&srv[i], NULL, 0, 50, NULL, NULL);
        io_echo_clear(&srv[i]);
        tern_endpoint_free(srv[i].ep);
    }
    tern_endpoint_free(cep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

TEST(many_clients_one_server_socket)
{
    enum { NCLIENTS = 24 };
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(srv.ep != NULL);
    tern_endpoint *cep[NCLIENTS];
    tern_assoc *a[NCLIENTS];
    struct sockaddr_storage to;
    socklen_t tolen = io_loopback(srv.ep, false, &to);
    for (int i = 0; i < NCLIENTS; i++) {
        cep[i] = client_ep(ccfg, "127.0.0.1");
        CHECK(cep[i] != NULL);
        a[i] = tern_endpoint_connect(cep[i], (struct sockaddr *)&to, tolen, "localhost", NULL);
        CHECK(a[i] != NULL);
    }
    waitset w = {a, NCLIENTS};
    CHECK(io_pump(&srv, cep, NCLIENTS, 10000, all_established, &w));
    char msg[NCLIENTS][64], reply[NCLIENTS][64];
    bool have[NCLIENTS] = {false};
    for (int i = 0; i < NCLIENTS; i++) {
        snprintf(msg[i], sizeof msg[i], "client %d says hello", i);
        CHECK_OK(tern_assoc_write(a[i], (uint8_t *)msg[i], strlen(msg[i]), 0));
    }
    reply_wait rw = {a, NCLIENTS, reply, have};
    CHECK(io_pump(&srv, cep, NCLIENTS, 10000, all_replied, &rw));
    for (int i = 0; i < NCLIENTS; i++)
        CHECK(strcmp(reply[i], msg[i]) == 0);
    tern_endpoint_stats st;
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.assocs, NCLIENTS);
    CHECK_EQ(st.handshakes_done, NCLIENTS);
    CHECK_EQ(srv.n_accepted, NCLIENTS);
    for (int i = 0; i < NCLIENTS; i++) {
        tern_assoc_free(a[i]);
        tern_endpoint_free(cep[i]);
    }
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* ------------------------------------------------------------------ raw clients */

typedef struct raw_wait {
    io_raw **r;
    size_t n;
    tern_state want;
} raw_wait;

static bool raws_in_state(void *ctx)
{
    raw_wait *w = ctx;
    for (size_t i = 0; i < w->n; i++)
        if (w->r[i]->c == NULL || tern_conn_state(w->r[i]->c) != w->want)
            return false;
    return true;
}

typedef struct raw_read {
    io_raw *r;
    char buf[64];
    bool have;
} raw_read;

static bool raw_got(void *ctx)
{
    raw_read *w = ctx;
    size_t n;
    if (!w->have && tern_conn_read(w->r->c, (uint8_t *)w->buf, sizeof w->buf - 1, &n) == TERN_OK) {
        w->buf[n] = '\0';
        w->have = true;
    }
    return w->have;
}

/* Send |msg| from raw client |r| and wait (up to |ms|) for its echo. */
static bool raw_echo(io_echo *srv, io_raw *r, const char *msg, int ms)
{
    raw_read w = {.r = r};
    if (tern_conn_write(r->c, (const uint8_t *)msg, strlen(msg)) != TERN_OK)
        return false;
    io_pump_raw(srv, &r, 1, ms, raw_got, &w);
    return w.have && strcmp(w.buf, msg) == 0;
}

/* A peer whose datagrams come from a new port is a stranger there: its records
 * reach no association, and nobody else's data reaches it. */
TEST(port_change_not_mixed_up)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(srv.ep != NULL);
    io_raw ra, rb;
    CHECK(io_raw_open(&ra, srv.ep, 0) && io_raw_open(&rb, srv.ep, 0));
    CHECK(io_raw_start(&ra, ccfg) && io_raw_start(&rb, ccfg));
    io_raw *both[2] = {&ra, &rb};
    raw_wait w = {both, 2, TERN_STATE_ESTABLISHED};
    CHECK(io_pump_raw(&srv, both, 2, 5000, raws_in_state, &w));
    CHECK(raw_echo(&srv, &ra, "from A", 3000));
    CHECK(raw_echo(&srv, &rb, "from B", 3000));

    /* A moves: same conn, new socket, new port. */
    uint16_t old_port = io_raw_port(&ra);
    io_raw_close_socket(&ra);
    io_raw moved;
    CHECK(io_raw_open(&moved, srv.ep, 0));
    CHECK(io_raw_port(&moved) != old_port);
    moved.c = ra.c;
    ra.c = NULL;
    tern_endpoint_stats before, after;
    tern_endpoint_get_stats(srv.ep, &before);
    size_t b_rx = rb.n_rx;
    CHECK(!raw_echo(&srv, &moved, "A from a new port", 500));
    io_raw_step(&rb);
    CHECK_EQ(rb.n_rx, b_rx); /* nothing of A's reached B */
    tern_endpoint_get_stats(srv.ep, &after);
    CHECK(after.hello_dropped > before.hello_dropped); /* seen as a stranger, dropped */
    CHECK_EQ(after.assocs_created, before.assocs_created);
    CHECK_EQ(after.assocs, 2);
    CHECK_EQ(moved.n_rx, 0);
    CHECK(raw_echo(&srv, &rb, "B again", 3000));
    io_raw_free(&moved);
    io_raw_free(&ra);
    io_raw_free(&rb);
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* ------------------------------------------------------------------ restart (RFC 6347 §4.2.8) */

/* Step the server and |r| until the server's counter at |counter| reaches |want|, with
 * |r| stepped only before that: what it sends after is not sent. */
static bool until_server(io_echo *srv, io_raw *r, size_t counter, uint64_t want, int ms)
{
    uint64_t end = tern_endpoint_now() + (uint64_t)ms;
    tern_endpoint_stats st;
    while (tern_endpoint_now() < end) {
        io_echo_step(srv, 0);
        tern_endpoint_get_stats(srv->ep, &st);
        uint64_t v;
        memcpy(&v, (const char *)&st + counter, sizeof v);
        if (v >= want)
            return true;
        io_raw_step(r);
        io_pump_raw(NULL, &r, 1, 2, NULL, NULL);
    }
    return false;
}

TEST(restart_on_same_port_replaces_only_when_complete)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(srv.ep != NULL);
    io_raw r;
    CHECK(io_raw_open(&r, srv.ep, 0));
    CHECK(io_raw_start(&r, ccfg));
    io_raw *rp = &r;
    raw_wait w = {&rp, 1, TERN_STATE_ESTABLISHED};
    CHECK(io_pump_raw(&srv, &rp, 1, 5000, raws_in_state, &w));
    CHECK(raw_echo(&srv, &r, "before the restart", 3000));
    CHECK_EQ(srv.n_accepted, 1);
    tern_assoc *first = srv.accepted[0];

    /* The client starts over on the same address and port; it gets as far as a
     * ClientHello with a valid cookie, and the server's flight, but no further. */
    tern_conn *old = r.c;
    r.c = NULL;
    CHECK(io_raw_start(&r, ccfg));
    tern_endpoint_stats st;
    CHECK(until_server(&srv, &r, offsetof(tern_endpoint_stats, restarts), 1, 5000));
    r.mute = true;
    io_pump_raw(&srv, &rp, 1, 100, NULL, NULL);
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.hello_replies, 2); /* the new ClientHello went through the front door */
    CHECK_EQ(st.assocs, 2);        /* old + new */
    CHECK_EQ(st.handshakes, 1);
    CHECK_EQ(st.replaced, 0);
    CHECK_EQ(tern_assoc_end_reason(first), TERN_END_NONE);
    CHECK_EQ(tern_assoc_state(first), TERN_STATE_ESTABLISHED);

    /* Until the new handshake completes, the old association still carries data. */
    tern_conn *fresh = r.c;
    r.c = old;
    r.mute = false;
    CHECK(raw_echo(&srv, &r, "old association still works", 3000));
    r.c = fresh;

    /* The new handshake completes: the new association takes the address over. */
    w.want = TERN_STATE_ESTABLISHED;
    CHECK(io_pump_raw(&srv, &rp, 1, 5000, raws_in_state, &w));
    io_pump_raw(&srv, &rp, 1, 50, NULL, NULL);
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.replaced, 1);
    CHECK_EQ(st.assocs, 1);
    CHECK_EQ(st.handshakes_done, 2);
    CHECK_EQ(srv.n_accepted, 2);
    CHECK_EQ(tern_assoc_end_reason(first), TERN_END_REPLACED);
    CHECK_EQ(tern_assoc_state(first), TERN_STATE_CLOSED);
    CHECK(raw_echo(&srv, &r, "after the restart", 3000));

    /* The old keys reach nothing any more. */
    r.c = old;
    CHECK(!raw_echo(&srv, &r, "old keys", 300));
    r.c = fresh;
    tern_conn_free(old);
    io_raw_free(&r);
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* A restart that never completes leaves the old association in place, and the
 * abandoned handshake times out. */
TEST(restart_that_never_completes_keeps_old)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    CHECK_OK(tern_config_set_timers(scfg, 100, 200, 600));
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(srv.ep != NULL);
    io_raw r;
    CHECK(io_raw_open(&r, srv.ep, 0));
    CHECK(io_raw_start(&r, ccfg));
    io_raw *rp = &r;
    raw_wait w = {&rp, 1, TERN_STATE_ESTABLISHED};
    CHECK(io_pump_raw(&srv, &rp, 1, 5000, raws_in_state, &w));
    tern_conn *old = r.c;
    r.c = NULL;
    CHECK(io_raw_start(&r, ccfg));
    tern_endpoint_stats st;
    CHECK(until_server(&srv, &r, offsetof(tern_endpoint_stats, restarts), 1, 5000));
    tern_conn *fresh = r.c;
    r.c = NULL; /* the new client vanishes */
    io_pump_raw(&srv, &rp, 1, 1200, NULL, NULL);
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.handshakes_failed, 1);
    CHECK_EQ(st.assocs, 1);
    CHECK_EQ(st.handshakes, 0);
    CHECK_EQ(tern_assoc_end_reason(srv.accepted[0]), TERN_END_NONE);
    r.c = old;
    CHECK(raw_echo(&srv, &r, "still here", 3000));
    tern_conn_free(fresh);
    io_raw_free(&r);
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* ------------------------------------------------------------------ retransmitted ClientHello */

/* Two datagrams of |len| bytes hold the same records, sequence numbers aside
 * (which must differ: a retransmission is new records with the same messages). */
static bool same_but_seq(const uint8_t *a, const uint8_t *b, size_t len)
{
    size_t at = 0;
    while (at + 13 <= len) {
        size_t rlen = (size_t)a[at + 11] << 8 | a[at + 12];
        if (at + 13 + rlen > len || memcmp(a + at, b + at, 5) != 0 ||
            memcmp(a + at + 5, b + at + 5, 6) == 0 ||
            memcmp(a + at + 11, b + at + 11, 2 + rlen) != 0)
            return false;
        at += 13 + rlen;
    }
    return at == len;
}

TEST(retransmitted_client_hello_gets_cached_flight)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    /* the server's own retransmission timer stays out of the way */
    CHECK_OK(tern_config_set_timers(scfg, 5000, 10000, 60000));
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(srv.ep != NULL);
    io_raw r;
    CHECK(io_raw_open(&r, srv.ep, 0));
    CHECK(io_raw_start(&r, ccfg));
    tern_endpoint_stats st;
    CHECK(until_server(&srv, &r, offsetof(tern_endpoint_stats, assocs_created), 1, 5000));
    r.mute = true; /* the client never answers the server's flight */
    io_raw *rp = &r;
    io_pump_raw(&srv, &rp, 1, 100, NULL, NULL);
    size_t first = r.n_rx; /* HelloVerifyRequest + the flight */
    CHECK(first >= 2);
    CHECK(r.last_sent_len > 0);

    /* The ClientHello with the cookie again, byte for byte: a copy the network
     * made, which the conn ignores (a record number it has seen). */
    CHECK(sendto(r.fd, r.last_sent, r.last_sent_len, 0, (struct sockaddr *)&r.server,
                 r.serverlen) == (ssize_t)r.last_sent_len);
    io_pump_raw(&srv, &rp, 1, 150, NULL, NULL);
    CHECK_EQ(r.n_rx, first);
    /* Now as the client retransmits it: the same message in a new record (the next
     * record sequence number, RFC 6347 §4.1). */
    r.last_sent[10]++;
    CHECK(sendto(r.fd, r.last_sent, r.last_sent_len, 0, (struct sockaddr *)&r.server,
                 r.serverlen) == (ssize_t)r.last_sent_len);
    io_pump_raw(&srv, &rp, 1, 150, NULL, NULL);
    size_t flight = first - 1;
    CHECK_EQ(r.n_rx, first + flight);
    /* The same messages (ServerHello random, key share, signature): only the record
     * sequence numbers differ. */
    for (size_t i = 0; i < flight && 1 + i + flight < 16; i++) {
        CHECK_EQ(r.rx_len[1 + i], r.rx_len[1 + i + flight]);
        CHECK(same_but_seq(r.rx[1 + i], r.rx[1 + i + flight], r.rx_len[1 + i]));
    }
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.assocs_created, 1);
    CHECK_EQ(st.hello_replies, 1);
    CHECK_EQ(st.restarts, 0);
    io_raw_free(&r);
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* ------------------------------------------------------------------ idle timeout */

static bool ended(void *ctx)
{
    return tern_assoc_end_reason(ctx) != TERN_END_NONE;
}

TEST(idle_timeout_closes)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.idle_ms = 1000;
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", &o)};
    tern_endpoint *cep = client_ep(ccfg, "127.0.0.1");
    CHECK(srv.ep != NULL && cep != NULL);
    struct sockaddr_storage to;
    socklen_t tolen = io_loopback(srv.ep, false, &to);
    tern_assoc *a = tern_endpoint_connect(cep, (struct sockaddr *)&to, tolen, "localhost", NULL);
    CHECK(a != NULL);
    waitset w = {&a, 1};
    CHECK(io_pump(&srv, &cep, 1, 5000, all_established, &w));
    io_pump(&srv, &cep, 1, 20, NULL, NULL);
    CHECK_EQ(srv.n_accepted, 1);
    uint64_t deadline = tern_endpoint_deadline(srv.ep);
    CHECK(deadline != UINT64_MAX && deadline <= tern_endpoint_now() + 1000);
    /* 1.5 s later, as far as the server knows */
    io_echo_step(&srv, tern_endpoint_now() + 1500);
    CHECK_EQ(tern_assoc_end_reason(srv.accepted[0]), TERN_END_IDLE);
    tern_endpoint_stats st;
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK_EQ(st.idle_closed, 1);
    CHECK_EQ(st.assocs, 0);
    CHECK_EQ(tern_endpoint_deadline(srv.ep), UINT64_MAX);
    /* the client hears close_notify */
    CHECK(io_pump(NULL, &cep, 1, 2000, ended, a));
    CHECK_EQ(tern_assoc_end_reason(a), TERN_END_CLOSED);
    uint8_t buf[16];
    size_t n;
    CHECK_ERR(tern_assoc_read(a, buf, sizeof buf, &n, 0), TERN_ERR_CLOSED);
    tern_assoc_free(a);
    io_echo_clear(&srv);
    tern_endpoint_free(cep);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* ------------------------------------------------------------------ limits */

static size_t limit_events;

static void count_limits(void *ctx, tern_endpoint_event ev, const tern_assoc *a,
                         const struct sockaddr *peer, socklen_t peerlen)
{
    (void)ctx;
    (void)peer;
    (void)peerlen;
    if (ev == TERN_EVENT_LIMIT && a == NULL)
        limit_events++;
}

TEST(limits_are_counted)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    CHECK_OK(tern_config_set_timers(ccfg, 200, 400, 10000));
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.max_handshakes = 1;
    o.max_assocs = 2;
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", &o)};
    CHECK(srv.ep != NULL);
    limit_events = 0;
    tern_endpoint_set_event_cb(srv.ep, count_limits, NULL);
    io_raw r[3];
    io_raw *rp[3] = {&r[0], &r[1], &r[2]};
    for (int i = 0; i < 3; i++) {
        CHECK(io_raw_open(&r[i], srv.ep, 0));
        CHECK(io_raw_start(&r[i], ccfg));
    }
    /* Two at once: one handshake at a time, the second gets in on its retransmission. */
    raw_wait w = {rp, 2, TERN_STATE_ESTABLISHED};
    CHECK(io_pump_raw(&srv, rp, 2, 5000, raws_in_state, &w));
    tern_endpoint_stats st;
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK(st.limit_handshakes >= 1);
    CHECK_EQ(st.assocs, 2);
    /* A third peer: no room. */
    io_pump_raw(&srv, rp + 2, 1, 700, NULL, NULL);
    tern_endpoint_get_stats(srv.ep, &st);
    CHECK(st.limit_assocs >= 1);
    CHECK_EQ(st.assocs, 2);
    CHECK(tern_conn_state(r[2].c) == TERN_STATE_HANDSHAKE);
    CHECK_EQ(limit_events, st.limit_assocs + st.limit_handshakes);
    for (int i = 0; i < 3; i++)
        io_raw_free(&r[i]);
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

/* ------------------------------------------------------------------ blocking API, run loop */

typedef struct run_server {
    tern_endpoint *ep;
    tern_assoc *accepted[64];
    size_t n;
    tern_err rc;
    atomic_int ended;  /* associations seen ending, by the server's thread */
    atomic_int failed; /* handshakes failed (event callback) */
} run_server;

static void rs_event(void *ctx, tern_endpoint_event ev, const tern_assoc *a,
                     const struct sockaddr *peer, socklen_t peerlen)
{
    run_server *s = ctx;
    (void)a;
    (void)peer;
    (void)peerlen;
    if (ev == TERN_EVENT_HANDSHAKE_FAILED)
        atomic_fetch_add(&s->failed, 1);
}

/* Wait (bounded) until the server's thread has seen |*counter| reach |want|. */
static bool wait_for(atomic_int *counter, int want)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 500 && atomic_load(counter) < want; i++)
        nanosleep(&tick, NULL);
    return atomic_load(counter) >= want;
}

static void rs_accept(void *ctx, tern_assoc *a)
{
    run_server *s = ctx;
    if (s->n < 64)
        s->accepted[s->n++] = a;
    else
        tern_assoc_free(a);
}

static void rs_ready(void *ctx, tern_assoc *a)
{
    run_server *s = ctx;
    uint8_t buf[2048];
    size_t n;
    while (tern_assoc_read(a, buf, sizeof buf, &n, 0) == TERN_OK)
        if (tern_assoc_write(a, buf, n, 0) != TERN_OK)
            break;
    if (tern_assoc_end_reason(a) != TERN_END_NONE)
        atomic_fetch_add(&s->ended, 1);
}

static void *rs_main(void *arg)
{
    run_server *s = arg;
    tern_endpoint_handlers h = {rs_accept, rs_ready};
    tern_endpoint_set_event_cb(s->ep, rs_event, s);
    s->rc = tern_endpoint_run(s->ep, &h, s);
    return NULL;
}

TEST(blocking_dial_write_read_close)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    run_server s = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(s.ep != NULL);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, rs_main, &s) == 0);
    char port[8];
    snprintf(port, sizeof port, "%u", io_port(s.ep));

    tern_err err;
    tern_assoc *a = tern_dial(ccfg, "127.0.0.1", port, "localhost", &err);
    CHECK(a != NULL);
    /* write waits for the handshake by itself */
    CHECK_OK(tern_assoc_write(a, (const uint8_t *)"hello, blocking", 15, 5000));
    CHECK_EQ(tern_assoc_state(a), TERN_STATE_ESTABLISHED);
    uint8_t buf[64];
    size_t n;
    CHECK_OK(tern_assoc_read(a, buf, sizeof buf, &n, 5000));
    CHECK_EQ(n, 15);
    CHECK_MEM(buf, "hello, blocking", 15);
    /* nothing more: the timeout */
    uint64_t t0 = tern_endpoint_now();
    CHECK_ERR(tern_assoc_read(a, buf, sizeof buf, &n, 100), TERN_ERR_AGAIN);
    CHECK(tern_endpoint_now() - t0 >= 90);
    CHECK_OK(tern_assoc_handshake(a, 0));
    /* a record larger than the buffer stays */
    CHECK_OK(tern_assoc_write(a, (const uint8_t *)"0123456789", 10, 1000));
    CHECK_ERR(tern_assoc_read(a, buf, 4, &n, 5000), TERN_ERR_BUF);
    CHECK_EQ(n, 10);
    CHECK_OK(tern_assoc_read(a, buf, sizeof buf, &n, 0));
    CHECK_EQ(n, 10);
    tern_assoc_free(a); /* close_notify, and the private endpoint */
    CHECK(wait_for(&s.ended, 1));

    tern_endpoint_stop(s.ep);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_OK(s.rc);
    CHECK_EQ(s.n, 1);
    CHECK_EQ(tern_assoc_end_reason(s.accepted[0]), TERN_END_CLOSED);
    for (size_t i = 0; i < s.n; i++)
        tern_assoc_free(s.accepted[i]);
    tern_endpoint_free(s.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

TEST(blocking_handshake_failure_reports_the_error)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    run_server s = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    CHECK(s.ep != NULL);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, rs_main, &s) == 0);
    char port[8];
    snprintf(port, sizeof port, "%u", io_port(s.ep));
    tern_assoc *a = tern_dial(ccfg, "127.0.0.1", port, "wrong.example.com", NULL);
    CHECK(a != NULL);
    CHECK_ERR(tern_assoc_handshake(a, 5000), TERN_ERR_CERT_NAME);
    CHECK_EQ(tern_assoc_end_reason(a), TERN_END_FAILED);
    tern_assoc_free(a);
    CHECK(wait_for(&s.failed, 1)); /* our alert reached the server */
    tern_endpoint_stop(s.ep);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ(s.n, 0);
    tern_endpoint_stats st;
    tern_endpoint_get_stats(s.ep, &st);
    CHECK_EQ(st.handshakes_failed, 1);
    CHECK_EQ(st.assocs, 0);
    tern_endpoint_free(s.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

TEST(unreachable_server_ends_the_dial)
{
    tern_config *ccfg = io_client_cfg();
    CHECK(ccfg != NULL);
    /* a port that was just free: nobody listens there */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof me;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&me, sizeof me) == 0 &&
          getsockname(fd, (struct sockaddr *)&me, &len) == 0);
    close(fd);
    char port[8];
    snprintf(port, sizeof port, "%u", ntohs(me.sin_port));
    tern_assoc *a = tern_dial(ccfg, "127.0.0.1", port, "localhost", NULL);
    CHECK(a != NULL);
    CHECK_ERR(tern_assoc_handshake(a, 3000), TERN_ERR_CLOSED);
    CHECK_EQ(tern_assoc_end_reason(a), TERN_END_UNREACHABLE);
    tern_assoc_free(a);
    tern_config_free(ccfg);
}

TEST(endpoint_free_detaches_callers_associations)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    io_echo srv = {.ep = server_on(scfg, "127.0.0.1", NULL)};
    tern_endpoint *cep = client_ep(ccfg, "127.0.0.1");
    CHECK(srv.ep != NULL && cep != NULL);
    struct sockaddr_storage to;
    socklen_t tolen = io_loopback(srv.ep, false, &to);
    tern_assoc *a = tern_endpoint_connect(cep, (struct sockaddr *)&to, tolen, "localhost", NULL);
    CHECK(a != NULL);
    waitset w = {&a, 1};
    CHECK(io_pump(&srv, &cep, 1, 5000, all_established, &w));
    tern_endpoint_free(cep); /* close_notify to the server; |a| stays valid */
    CHECK_EQ(tern_assoc_end_reason(a), TERN_END_SHUTDOWN);
    CHECK(tern_assoc_endpoint(a) == NULL);
    uint8_t buf[8];
    size_t n;
    CHECK_ERR(tern_assoc_read(a, buf, sizeof buf, &n, 100), TERN_ERR_CLOSED);
    CHECK_ERR(tern_assoc_write(a, buf, 1, 100), TERN_ERR_CLOSED);
    tern_assoc_free(a);
    io_pump(&srv, NULL, 0, 200, NULL, NULL);
    CHECK_EQ(srv.n_accepted, 1);
    CHECK_EQ(tern_assoc_end_reason(srv.accepted[0]), TERN_END_CLOSED);
    io_echo_clear(&srv);
    tern_endpoint_free(srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}

TEST(bad_options_refused)
{
    tern_config *cfg = tern_config_new();
    CHECK(cfg != NULL);
    tern_endpoint_opts o;
    tern_err err;
    tern_endpoint_opts_init(&o);
    o.bind = "localhost"; /* numeric only */
    CHECK(tern_endpoint_new(cfg, &o, &err) == NULL);
    CHECK_EQ(err, TERN_ERR_ARG);
    tern_endpoint_opts_init(&o);
    o.batch = 0;
    CHECK(tern_endpoint_new(cfg, &o, &err) == NULL);
    CHECK_EQ(err, TERN_ERR_ARG);
    /* a port in use */
    tern_endpoint_opts_init(&o);
    o.bind = "127.0.0.1";
    tern_endpoint *a = tern_endpoint_new(cfg, &o, &err);
    CHECK(a != NULL);
    o.port = io_port(a);
    CHECK(tern_endpoint_new(cfg, &o, &err) == NULL);
    CHECK_EQ(err, TERN_ERR_IO);
    CHECK_EQ(errno, EADDRINUSE);
    /* ... unless both ask for SO_REUSEPORT */
    tern_endpoint_free(a);
    o.port = 0;
    o.reuseport = true;
    a = tern_endpoint_new(cfg, &o, &err);
    CHECK(a != NULL);
    o.port = io_port(a);
    tern_endpoint *b = tern_endpoint_new(cfg, &o, &err);
    CHECK(b != NULL);
    tern_endpoint_free(b);
    tern_endpoint_free(a);
    tern_config_free(cfg);
}
