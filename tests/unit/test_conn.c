/*
 * test_conn.c - two tern_conn in memory: the full DTLS 1.2 handshake through the
 * stateless front door, data both ways, close, and the failures a user meets
 * (wrong CA, wrong host name, wrong pin, missing client certificate).
 */
#include <stdlib.h>

#include "conn.h"
#include "tern/tern.h"
#include "test.h"

#define PKI(name) pki_path(name)

static const char *pki_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/tests/data/pki/%s", test_source_dir(), name);
    return p;
}

static const uint8_t client_addr[] = {127, 0, 0, 1, 0xc3, 0x50};

typedef struct pair {
    tern_config *ccfg, *scfg;
    tern_conn *client, *server;
    uint64_t now;
    int hvr_seen;
} pair;

static tern_config *server_config(const char *chain, const char *key)
{
    tern_config *cfg = tern_config_new();
    if (cfg != NULL && tern_config_load_certificate(cfg, PKI(chain), PKI(key)) != TERN_OK) {
        tern_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static tern_config *client_config(const char *ca)
{
    tern_config *cfg = tern_config_new();
    if (cfg != NULL && ca != NULL && tern_config_load_ca_file(cfg, PKI(ca)) != TERN_OK) {
        tern_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Move every datagram one side has to send over to the other, until both are
 * quiet or |rounds| run out. The server side goes through the front door until
 * it has a connection. */
static void pump(pair *p, int rounds)
{
    uint8_t buf[16384];
    size_t n;
    for (int r = 0; r < rounds; r++) {
        bool moved = false;
        while (p->client && tern_conn_send(p->client, p->now, buf, sizeof buf, &n) == TERN_OK) {
            moved = true;
            if (p->server != NULL) {
                if (tern_conn_recv(p->server, p->now, buf, n) != TERN_OK) { /* the state says why */ }
                continue;
            }
            uint8_t reply[1500];
            size_t rn;
            tern_err err;
            switch (tern_server_hello(p->scfg, p->now, client_addr, sizeof client_addr, buf, n,
                                      reply, sizeof reply, &rn, &err)) {
            case TERN_HELLO_REPLY:
                p->hvr_seen++;
                if (tern_conn_recv(p->client, p->now, reply, rn) != TERN_OK) { /* the state says why */ }
                break;
            case TERN_HELLO_ACCEPT:
                p->server = tern_conn_accept(p->scfg, p->now, client_addr, sizeof client_addr,
                                             buf, n, &err);
                break;
            case TERN_HELLO_DROP:
                break;
            }
        }
        while (p->server && tern_conn_send(p->server, p->now, buf, sizeof buf, &n) == TERN_OK) {
            moved = true;
            if (tern_conn_recv(p->client, p->now, buf, n) != TERN_OK) { /* the state says why */ }
        }
        if (!moved)
            break;
        p->now += 10;
    }
}

static void pair_free(pair *p)
{
    tern_conn_free(p->client);
    tern_conn_free(p->server);
    tern_config_free(p->ccfg);
    tern_config_free(p->scfg);
}

static bool handshake(pair *p, const char *host)
{
    p->client = tern_conn_new_client(p->ccfg);
    if (p->client == NULL || (host && tern_conn_set_hostname(p->client, host) != TERN_OK) ||
        tern_conn_start(p->client, p->now) != TERN_OK)
        return false;
    pump(p, 20);
    return tern_conn_state(p->client) == TERN_STATE_ESTABLISHED && p->server != NULL &&
           tern_conn_state(p->server) == TERN_STATE_ESTABLISHED;
}

static bool echo_both_ways(pair *p)
{
    static const uint8_t ping[] = "ping from client", pong[] = "pong from server";
    uint8_t buf[256];
    size_t n;
    if (tern_conn_write(p->client, ping, sizeof ping) != TERN_OK)
        return false;
    pump(p, 4);
    if (tern_conn_read(p->server, buf, sizeof buf, &n) != TERN_OK || n != sizeof ping ||
        memcmp(buf, ping, n) != 0)
        return false;
    if (tern_conn_write(p->server, pong, sizeof pong) != TERN_OK)
        return false;
    pump(p, 4);
    return tern_conn_read(p->client, buf, sizeof buf, &n) == TERN_OK && n == sizeof pong &&
           memcmp(buf, pong, n) == 0 && tern_conn_read(p->client, buf, sizeof buf, &n) == TERN_ERR_AGAIN;
}

TEST(handshake_ecdsa_every_suite_and_group)
{
    static const char *const suites[] = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                         "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                         "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
    static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                      TERN_GROUP_SECP384R1};
    for (size_t s = 0; s < 3; s++) {
        for (size_t g = 0; g < 3; g++) {
            pair p = {0};
            p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
            p.ccfg = client_config("root-ca.pem");
            CHECK(p.scfg && p.ccfg);
            CHECK_OK(tern_config_set_suite_names(p.ccfg, suites[s]));
            CHECK_OK(tern_config_set_groups(p.ccfg, &groups[g], 1));
            bool ok = handshake(&p, "localhost");
            if (!ok) {
                tern_err e;
                tern_conn_error(p.client, &e, NULL, NULL);
                test_fail(__FILE__, __LINE__, "%s group %u: client %s", suites[s], groups[g],
                          tern_strerror(e));
                pair_free(&p);
                return;
            }
            CHECK_EQ(p.hvr_seen, 1);
            CHECK(strcmp(tern_conn_suite_name(p.client), suites[s]) == 0);
            CHECK(strcmp(tern_conn_suite_name(p.server), suites[s]) == 0);
            CHECK_EQ(tern_conn_group(p.client), groups[g]);
            CHECK_EQ(tern_conn_version(p.server), 0xfefd);
            CHECK(echo_both_ways(&p));
            pair_free(&p);
        }
    }
}

TEST(handshake_rsa_mutual_and_close)
{
    pair p = {0};
    p.scfg = server_config("leaf-rsa-chain.pem", "leaf-rsa.key");
    p.ccfg = client_config("root-ca.pem");
    CHECK(p.scfg && p.ccfg);
    CHECK_OK(tern_config_load_ca_file(p.scfg, PKI("root-ca.pem")));
    tern_config_set_verify(p.scfg, TERN_VERIFY_REQUIRE);
    CHECK_OK(tern_config_load_certificate(p.ccfg, PKI("leaf-ecdsa-chain.pem"),
                                          PKI("leaf-ecdsa.key")));
    CHECK(handshake(&p, "127.0.0.1"));
    CHECK(strncmp(tern_conn_suite_name(p.client), "TLS_ECDHE_RSA_", 14) == 0);
    size_t len;
    CHECK(tern_conn_peer_certificate(p.server, &len) != NULL && len > 0);
    CHECK(echo_both_ways(&p));
    CHECK_OK(tern_conn_close(p.client));
    pump(&p, 4);
    uint8_t buf[16];
    size_t n;
    CHECK_EQ(tern_conn_read(p.server, buf, sizeof buf, &n), TERN_ERR_CLOSED);
    CHECK_EQ(tern_conn_state(p.server), TERN_STATE_CLOSED);
    CHECK_EQ(tern_conn_state(p.client), TERN_STATE_CLOSED);
    pair_free(&p);
}

/* The handshake fails with |want| on the side that detects it, and the other side
 * learns the alert. */
static bool fails_with(pair *p, const char *host, tern_err want, bool client_detects)
{
    if (handshake(p, host))
        return false;
    tern_err e;
    tern_alert a;
    bool from_peer;
    tern_conn *detector = client_detects ? p->client : p->server;
    tern_conn *other = client_detects ? p->server : p->client;
    if (detector == NULL)
        return false;
    tern_conn_error(detector, &e, &a, &from_peer);
    if (e != want || from_peer) {
        fprintf(stderr, "  got %s (%s)\n", tern_strerror(e), tern_err_name(e));
        return false;
    }
    if (other == NULL)
        return true;
    tern_conn_error(other, &e, &a, &from_peer);
    return e == TERN_ERR_PEER_ALERT && from_peer && a == tern_err_alert(want);
}

TEST(wrong_ca_wrong_host_wrong_pin)
{
    pair p = {0};
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config("other-root-ca.pem");
    CHECK(fails_with(&p, "localhost", TERN_ERR_CERT_UNTRUSTED, true));
    pair_free(&p);

    memset(&p, 0, sizeof p);
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config("root-ca.pem");
    CHECK(fails_with(&p, "example.com", TERN_ERR_CERT_NAME, true));
    pair_free(&p);

    memset(&p, 0, sizeof p);
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config(NULL);
    uint8_t pin[32] = {1};
    CHECK_OK(tern_config_add_fingerprint(p.ccfg, pin));
    CHECK(fails_with(&p, "localhost", TERN_ERR_CERT_UNTRUSTED, true));
    pair_free(&p);
}

TEST(pinned_fingerprint_and_self_signed)
{
    pair p = {0};
    p.scfg = tern_config_new();
    p.ccfg = client_config(NULL);
    CHECK(p.scfg && p.ccfg);
    CHECK_OK(tern_config_use_self_signed(p.scfg, "localhost"));
    uint8_t fp[32];
    CHECK_OK(tern_config_fingerprint(p.scfg, fp));
    CHECK_OK(tern_config_add_fingerprint(p.ccfg, fp));
    CHECK(handshake(&p, "localhost"));
    CHECK(echo_both_ways(&p));
    pair_free(&p);
}

TEST(required_client_certificate_missing)
{
    pair p = {0};
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config("root-ca.pem");
    CHECK_OK(tern_config_load_ca_file(p.scfg, PKI("root-ca.pem")));
    tern_config_set_verify(p.scfg, TERN_VERIFY_REQUIRE);
    CHECK(fails_with(&p, "localhost", TERN_ERR_CERT_REQUIRED, false));
    pair_free(&p);
}

TEST(client_without_trust_refuses)
{
    pair p = {0};
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config(NULL);
    CHECK(fails_with(&p, "localhost", TERN_ERR_CERT_UNTRUSTED, true));
    pair_free(&p);
}

/* Hand |d| to |c|; a failure shows in the connection's state. */
static void deliver(tern_conn *c, uint64_t now, uint8_t *d, size_t n)
{
    tern_err err = tern_conn_recv(c, now, d, n);
    (void)err;
}

/* Like pump(), but every datagram the server sends once it is established (its
 * last flight) is lost. */
static void pump_losing_server_final(pair *p, int rounds)
{
    uint8_t buf[16384];
    size_t n;
    for (int r = 0; r < rounds; r++) {
        bool moved = false;
        while (p->client && tern_conn_send(p->client, p->now, buf, sizeof buf, &n) == TERN_OK) {
            moved = true;
            if (p->server != NULL) {
                deliver(p->server, p->now, buf, n);
                continue;
            }
            uint8_t reply[1500];
            size_t rn;
            tern_err err;
            tern_hello_result res =
                tern_server_hello(p->scfg, p->now, client_addr, sizeof client_addr, buf, n, reply,
                                  sizeof reply, &rn, &err);
            if (res == TERN_HELLO_REPLY)
                deliver(p->client, p->now, reply, rn);
            if (res == TERN_HELLO_ACCEPT)
                p->server = tern_conn_accept(p->scfg, p->now, client_addr, sizeof client_addr, buf,
                                             n, &err);
        }
        while (p->server && tern_conn_send(p->server, p->now, buf, sizeof buf, &n) == TERN_OK) {
            moved = true;
            if (tern_conn_state(p->server) != TERN_STATE_ESTABLISHED)
                deliver(p->client, p->now, buf, n);
        }
        if (!moved)
            break;
        p->now += 10;
    }
}

/* The client's timer fires: it sends its last flight again. True when the server
 * answered (and the answer completed the client's handshake). */
static bool client_retransmits(pair *p)
{
    p->now = tern_conn_deadline(p->client);
    if (tern_conn_tick(p->client, p->now) != TERN_OK)
        return false;
    uint8_t buf[16384];
    size_t n;
    while (tern_conn_send(p->client, p->now, buf, sizeof buf, &n) == TERN_OK)
        deliver(p->server, p->now, buf, n);
    bool answered = false;
    while (tern_conn_send(p->server, p->now, buf, sizeof buf, &n) == TERN_OK) {
        answered = true;
        deliver(p->client, p->now, buf, n);
    }
    return answered && tern_conn_state(p->client) == TERN_STATE_ESTABLISHED;
}

TEST(server_keeps_last_flight_for_a_bounded_time)
{
    /* RFC 6347 §4.2.4: the server answers a retransmission of the client's last
     * flight with its own, for 2 MSL (tern_conn_deadline says until when). */
    pair p = {0};
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config("root-ca.pem");
    CHECK(p.scfg && p.ccfg);
    p.client = tern_conn_new_client(p.ccfg);
    CHECK_OK(tern_conn_set_hostname(p.client, "localhost"));
    CHECK_OK(tern_conn_start(p.client, p.now));
    pump_losing_server_final(&p, 20);
    CHECK(p.server != NULL && tern_conn_state(p.server) == TERN_STATE_ESTABLISHED);
    CHECK_EQ(tern_conn_state(p.client), TERN_STATE_HANDSHAKE);
    uint64_t until = tern_conn_deadline(p.server);
    CHECK(until != UINT64_MAX && until >= p.now + 2 * 120000 - 1000);
    CHECK(client_retransmits(&p));
    CHECK(echo_both_ways(&p));
    /* The client's application data showed it has the flight: released. */
    CHECK_EQ(tern_conn_deadline(p.server), UINT64_MAX);
    pair_free(&p);

    /* Past the deadline, tern_conn_tick releases it and a late retransmission
     * goes unanswered. */
    pair q = {0};
    q.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    q.ccfg = client_config("root-ca.pem");
    CHECK(q.scfg && q.ccfg);
    q.client = tern_conn_new_client(q.ccfg);
    CHECK_OK(tern_conn_start(q.client, q.now));
    pump_losing_server_final(&q, 20);
    CHECK(q.server != NULL && tern_conn_state(q.server) == TERN_STATE_ESTABLISHED);
    until = tern_conn_deadline(q.server);
    CHECK_OK(tern_conn_tick(q.server, until - 1));
    CHECK_EQ(tern_conn_deadline(q.server), until); /* early: nothing happens */
    CHECK_OK(tern_conn_tick(q.server, until));
    CHECK_EQ(tern_conn_deadline(q.server), UINT64_MAX);
    CHECK(!client_retransmits(&q));
    pair_free(&q);
}

TEST(cancel_during_handshake_ends_both_sides)
{
    pair p = {0};
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config("root-ca.pem");
    CHECK(p.scfg && p.ccfg);
    p.client = tern_conn_new_client(p.ccfg);
    CHECK_OK(tern_conn_start(p.client, 0));
    /* ClientHello, HelloVerifyRequest, ClientHello with cookie: the server exists */
    uint8_t buf[2048], reply[1500];
    size_t n, rn;
    tern_err err;
    CHECK_OK(tern_conn_send(p.client, 0, buf, sizeof buf, &n));
    CHECK_EQ(tern_server_hello(p.scfg, 0, client_addr, sizeof client_addr, buf, n, reply,
                               sizeof reply, &rn, &err), TERN_HELLO_REPLY);
    CHECK_OK(tern_conn_recv(p.client, 0, reply, rn));
    CHECK_OK(tern_conn_send(p.client, 0, buf, sizeof buf, &n));
    p.server = tern_conn_accept(p.scfg, 0, client_addr, sizeof client_addr, buf, n, &err);
    CHECK(p.server != NULL && tern_conn_state(p.server) == TERN_STATE_HANDSHAKE);
    CHECK_OK(tern_conn_close(p.client));
    CHECK_EQ(tern_conn_state(p.client), TERN_STATE_CLOSED);
    while (tern_conn_send(p.client, 0, buf, sizeof buf, &n) == TERN_OK)
        CHECK_OK(tern_conn_recv(p.server, 0, buf, n));
    tern_alert a;
    bool from_peer;
    tern_conn_error(p.server, &err, &a, &from_peer);
    CHECK_EQ(tern_conn_state(p.server), TERN_STATE_CLOSED);
    CHECK(err == TERN_ERR_CLOSED && a == TERN_ALERT_USER_CANCELED && from_peer);
    CHECK_EQ(tern_conn_deadline(p.server), UINT64_MAX); /* nothing left to wait for */
    pair_free(&p);
}

TEST(timers_zero_keeps_value)
{
    tern_config *cfg = tern_config_new();
    CHECK_OK(tern_config_set_timers(cfg, 0, 0, 5000));
    CHECK_EQ(cfg->handshake_timeout_ms, 5000);
    CHECK(cfg->rtx_initial_ms > 0 && cfg->rtx_max_ms >= cfg->rtx_initial_ms);
    CHECK_ERR(tern_config_set_timers(cfg, 2000, 1000, 0), TERN_ERR_ARG);
    CHECK_EQ(cfg->handshake_timeout_ms, 5000);
    tern_config_free(cfg);
}

TEST(drops_counted_by_reason)
{
    pair p = {0};
    p.scfg = server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key");
    p.ccfg = client_config("root-ca.pem");
    CHECK(handshake(&p, "localhost"));
    static const uint8_t msg[] = "counted";
    uint8_t d[1500], copy[1500];
    size_t n;
    CHECK_OK(tern_conn_write(p.client, msg, sizeof msg));
    CHECK_OK(tern_conn_send(p.client, p.now, d, sizeof d, &n));
    memcpy(copy, d, n);
    copy[n - 1] ^= 0x80; /* the tag */
    CHECK_OK(tern_conn_recv(p.server, p.now, copy, n));
    memcpy(copy, d, n);
    CHECK_OK(tern_conn_recv(p.server, p.now, d, n));
    CHECK_OK(tern_conn_recv(p.server, p.now, copy, n)); /* the same record again */
    uint8_t garbage[3] = {0x99, 1, 2};
    CHECK_OK(tern_conn_recv(p.server, p.now, garbage, sizeof garbage));
    tern_stats st;
    tern_conn_stats(p.server, &st);
    CHECK_EQ(st.dropped_by[TERN_DROP_BAD_MAC], 1);
    CHECK_EQ(st.dropped_by[TERN_DROP_REPLAY], 1);
    CHECK_EQ(st.dropped_by[TERN_DROP_BAD_HEADER], 1);
    CHECK_EQ(st.dropped, 3);
    CHECK_EQ(st.dropped_bad_mac + st.dropped_replay + st.dropped_malformed, 3);
    CHECK(strcmp(tern_drop_name(TERN_DROP_BAD_MAC), "bad_mac") == 0);
    CHECK(strcmp(tern_drop_name(TERN_DROP_COUNT), "unknown") == 0);
    uint8_t out[64];
    CHECK_OK(tern_conn_read(p.server, out, sizeof out, &n)); /* the good one, once */
    CHECK_EQ(tern_conn_read(p.server, out, sizeof out, &n), TERN_ERR_AGAIN);
    pair_free(&p);
}
