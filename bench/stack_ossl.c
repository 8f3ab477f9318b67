/*
 * stack_ossl.c - OpenSSL libssl's half of tern-bench: DTLS_method pinned to DTLS
 * 1.2, a client and a server SSL in one thread over the same datagram queues as
 * tern, through a small BIO_METHOD that keeps datagram boundaries (OpenSSL 3.0 has
 * no datagram pair BIO): one BIO_write is one datagram, one BIO_read takes one.
 *
 * Configured to do the work tern does and no more:
 *   - the same certificate chain and key, suite, groups and MTU
 *     (SSL_OP_NO_QUERY_MTU with SSL_set_mtu: datagrams of at most that many bytes,
 *     record headers included, as tern counts them);
 *   - cookie exchange on: SSL_OP_COOKIE_EXCHANGE, DTLSv1_listen on a fresh SSL,
 *     cookie callbacks with an HMAC-SHA256 keyed once (a 22-byte cookie, as tern's);
 *   - the client verifies the chain against the root CA and the host name, and
 *     sends SNI, like tern's client;
 *   - no session tickets and no session cache (tern has no resumption yet);
 *   - a DTLS timer callback with a 60 s timeout, so no retransmission can fire
 *     however slowly (valgrind) the handshake runs.
 * Each handshake creates and frees both SSL objects, as tern creates and frees
 * both tern_conn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "bench.h"

#define MAX_ROUNDS 64
#define COOKIE_LEN 22

struct ossl_side {
    SSL_CTX *cctx, *sctx;
    BIO_METHOD *meth;
    int mtu;
    dq c2s, s2c;
    BIO_ADDR *peer;
    SSL *bulk_c, *bulk_s; /* the pair bulk runs over */
};

/* ------------------------------------------------------------------ the datagram BIO */

typedef struct endpoint {
    dq *rx, *tx;
} endpoint;

static int qbio_write(BIO *b, const char *data, int len)
{
    endpoint *e = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len < 0 || !dq_push(e->tx, (const uint8_t *)data, (size_t)len))
        return -1; /* a full queue is a lost datagram, as on a socket */
    return len;
}

static int qbio_read(BIO *b, char *out, int cap)
{
    endpoint *e = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t n;
    uint8_t *d = dq_front(e->rx, &n);
    if (d == NULL) {
        BIO_set_retry_read(b);
        return -1;
    }
    if (n > (size_t)cap)
        n = (size_t)cap; /* truncated, as recv() would */
    memcpy(out, d, n);
    dq_pop(e->rx);
    return (int)n;
}

static long qbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 0;
    default:
        return 0; /* not supported: peers, MTU queries, timeouts */
    }
}

static int qbio_destroy(BIO *b)
{
    free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    return 1;
}

static BIO *qbio_new(BIO_METHOD *meth, dq *rx, dq *tx)
{
    BIO *b = BIO_new(meth);
    endpoint *e = malloc(sizeof *e);
    if (b == NULL || e == NULL) {
        BIO_free(b);
        free(e);
        return NULL;
    }
    e->rx = rx;
    e->tx = tx;
    BIO_set_data(b, e);
    BIO_set_init(b, 1);
    return b;
}

/* ------------------------------------------------------------------ cookies */

static EVP_MAC_CTX *cookie_mac;

static int cookie_compute(uint8_t out[COOKIE_LEN])
{
    /* The peer address is fixed in this bench (the queue BIO has no addresses),
     * so the MAC covers a fixed 6-byte address. */
    static const uint8_t addr[] = {10, 0, 0, 2, 0x30, 0x39};
    uint8_t mac[32];
    size_t maclen;
    if (EVP_MAC_init(cookie_mac, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(cookie_mac, addr, sizeof addr) != 1 ||
        EVP_MAC_final(cookie_mac, mac, &maclen, sizeof mac) != 1)
        return 0;
    memset(out, 0, 6); /* tern's cookie starts with a 6-byte timestamp */
    memcpy(out + 6, mac, COOKIE_LEN - 6);
    return 1;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    (void)ssl;
    if (!cookie_compute(cookie))
        return 0;
    *len = COOKIE_LEN;
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    (void)ssl;
    uint8_t want[COOKIE_LEN];
    return len == COOKIE_LEN && cookie_compute(want) && CRYPTO_memcmp(want, cookie, len) == 0;
}

static bool cookie_init(void)
{
    if (cookie_mac != NULL)
        return true;
    static const uint8_t secret[32] = {42};
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac == NULL)
        return false;
    cookie_mac = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_END};
    return cookie_mac != NULL && EVP_MAC_init(cookie_mac, secret, sizeof secret, params) == 1;
}

/* ------------------------------------------------------------------ contexts */

const char *ob_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

static unsigned int long_timer(SSL *ssl, unsigned int timer_us)
{
    (void)ssl, (void)timer_us;
    return 60u * 1000 * 1000;
}

static SSL_CTX *ctx_for(bench_group g, bench_aead a, bool server)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (ctx == NULL)
        return NULL;
    const char *cipher = a == AEAD_AES128GCM ? "ECDHE-ECDSA-AES128-GCM-SHA256"
                                             : "ECDHE-ECDSA-CHACHA20-POLY1305";
    bool ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
              SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
              SSL_CTX_set_cipher_list(ctx, cipher) == 1 &&
              SSL_CTX_set1_groups_list(ctx, g == GROUP_X25519 ? "X25519:P-256" : "P-256") == 1;
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU |
                                 SSL_OP_NO_RENEGOTIATION | (server ? SSL_OP_COOKIE_EXCHANGE : 0));
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server) {
        ok = ok &&
             SSL_CTX_use_certificate_chain_file(ctx, bench_pki("leaf-ecdsa-chain.pem")) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, bench_pki("leaf-ecdsa.key"), SSL_FILETYPE_PEM) ==
                 1 &&
             cookie_init();
        SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate);
        SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
    } else {
        ok = ok && SSL_CTX_load_verify_locations(ctx, bench_pki("root-ca.pem"), NULL) == 1;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (!ok) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

ossl_side *ob_new(bench_group g, bench_aead a, int mtu)
{
    ossl_side *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->mtu = mtu;
    o->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "datagram queue");
    if (o->meth != NULL) {
        BIO_meth_set_write(o->meth, qbio_write);
        BIO_meth_set_read(o->meth, qbio_read);
        BIO_meth_set_ctrl(o->meth, qbio_ctrl);
        BIO_meth_set_destroy(o->meth, qbio_destroy);
    }
    o->cctx = ctx_for(g, a, false);
    o->sctx = ctx_for(g, a, true);
    o->peer = BIO_ADDR_new();
    if (o->meth == NULL || o->cctx == NULL || o->sctx == NULL || o->peer == NULL) {
        ob_free(o);
        return NULL;
    }
    return o;
}

void ob_free(ossl_side *o)
{
    if (o == NULL)
        return;
    ob_bulk_stop(o);
    SSL_CTX_free(o->cctx);
    SSL_CTX_free(o->sctx);
    BIO_meth_free(o->meth);
    BIO_ADDR_free(o->peer);
    free(o);
}

/* ------------------------------------------------------------------ handshakes */

static SSL *ssl_for(ossl_side *o, bool server)
{
    SSL *ssl = SSL_new(server ? o->sctx : o->cctx);
    BIO *b = server ? qbio_new(o->meth, &o->c2s, &o->s2c) : qbio_new(o->meth, &o->s2c, &o->c2s);
    if (ssl == NULL || b == NULL) {
        SSL_free(ssl);
        BIO_free(b);
        return NULL;
    }
    SSL_set_bio(ssl, b, b);
    SSL_set_mtu(ssl, o->mtu);
    DTLS_set_timer_cb(ssl, long_timer);
    if (!server && (SSL_set1_host(ssl, BENCH_HOST) != 1 ||
                    SSL_set_tlsext_host_name(ssl, BENCH_HOST) != 1)) {
        SSL_free(ssl);
        return NULL;
    }
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    return ssl;
}

/* Step |ssl|'s handshake once. 1: done; 0: waiting for the peer; -1: failed. */
static int step(SSL *ssl, bench_side side)
{
    bench_zone_enter(side);
    int r = SSL_do_handshake(ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    bench_zone_leave(side);
    if (r == 1)
        return 1;
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

static bool handshake(ossl_side *o, SSL **client, SSL **server)
{
    dq_reset(&o->c2s);
    dq_reset(&o->s2c);
    bench_zone_enter(SIDE_CLIENT);
    SSL *c = ssl_for(o, false);
    bench_zone_leave(SIDE_CLIENT);
    bench_zone_enter(SIDE_SERVER);
    SSL *s = ssl_for(o, true);
    bench_zone_leave(SIDE_SERVER);
    *client = c;
    *server = s;
    if (c == NULL || s == NULL)
        return false;
    bool listened = false;
    int cdone = 0, sdone = 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        if (cdone == 0)
            cdone = step(c, SIDE_CLIENT);
        if (!listened) {
            bench_zone_enter(SIDE_SERVER);
            int r = DTLSv1_listen(s, o->peer);
            bench_zone_leave(SIDE_SERVER);
            if (r < 0)
                break;
            listened = r == 1;
        }
        if (listened && sdone == 0)
            sdone = step(s, SIDE_SERVER);
        if (cdone < 0 || sdone < 0)
            break;
        if (cdone == 1 && sdone == 1 && o->c2s.count == 0 && o->s2c.count == 0)
            return true;
    }
    fprintf(stderr, "openssl handshake failed (client %d, server %d)\n", cdone, sdone);
    ERR_print_errors_fp(stderr);
    return false;
}

static void free_pair(SSL *client, SSL *server)
{
    bench_zone_enter(SIDE_CLIENT);
    SSL_free(client);
    bench_zone_leave(SIDE_CLIENT);
    bench_zone_enter(SIDE_SERVER);
    SSL_free(server);
    bench_zone_leave(SIDE_SERVER);
}

bool ob_hs_run(ossl_side *o, int n, hs_counts *counts)
{
    for (int i = 0; i < n; i++) {
        SSL *c, *s;
        bool ok = handshake(o, &c, &s);
        if (ok)
            snprintf(counts->negotiated, sizeof counts->negotiated, "%s %s %s",
                     SSL_get_version(s), SSL_CIPHER_standard_name(SSL_get_current_cipher(s)),
                     SSL_group_to_name(c, SSL_get_negotiated_group(c)));
        free_pair(c, s);
        if (!ok) {
            counts->failures++;
            return false;
        }
        counts->handshakes++;
        counts->datagrams += o->c2s.pushed + o->s2c.pushed;
        counts->bytes += o->c2s.bytes + o->s2c.bytes;
        if (o->c2s.largest > counts->largest)
            counts->largest = o->c2s.largest;
        if (o->s2c.largest > counts->largest)
            counts->largest = o->s2c.largest;
    }
    return true;
}

/* ------------------------------------------------------------------ bulk */

static bool one_way(SSL *c, SSL *s, int n)
{
    static uint8_t msg[BENCH_RECORD], got[BENCH_RECORD];
    for (int i = 0; i < n; i++) {
        msg[0] = (uint8_t)i;
        bench_zone_enter(SIDE_CLIENT);
        int w = SSL_write(c, msg, sizeof msg);
        bench_zone_leave(SIDE_CLIENT);
        bench_zone_enter(SIDE_SERVER);
        int r = SSL_read(s, got, sizeof got);
        bench_zone_leave(SIDE_SERVER);
        if (w != (int)sizeof msg || r != (int)sizeof msg || got[0] != msg[0])
            return false;
    }
    return true;
}

bool ob_bulk_start(ossl_side *o)
{
    ob_bulk_stop(o);
    if (handshake(o, &o->bulk_c, &o->bulk_s))
        return true;
    ob_bulk_stop(o);
    return false;
}

bool ob_bulk_run(ossl_side *o, int n)
{
    return o->bulk_c != NULL && one_way(o->bulk_c, o->bulk_s, n);
}

void ob_bulk_stop(ossl_side *o)
{
    free_pair(o->bulk_c, o->bulk_s);
    o->bulk_c = o->bulk_s = NULL;
}

bool ob_heap(ossl_side *o, int n, heap_figures *out)
{
    SSL **cs = calloc((size_t)n, sizeof *cs), **ss = calloc((size_t)n, sizeof *ss);
    bool ok = cs != NULL && ss != NULL;
    static const uint8_t ping[32] = "ping", pong[32] = "pong";
    uint8_t buf[64];
    for (int i = 0; ok && i < n; i++) {
        ok = handshake(o, &cs[i], &ss[i]);
        /* One record each way, then idle: the association has been used. */
        ok = ok && SSL_write(cs[i], ping, sizeof ping) == (int)sizeof ping &&
             SSL_read(ss[i], buf, sizeof buf) == (int)sizeof ping &&
             SSL_write(ss[i], pong, sizeof pong) == (int)sizeof pong &&
             SSL_read(cs[i], buf, sizeof buf) == (int)sizeof pong;
    }
    long long before = bench_heap_bytes();
    for (int i = 0; i < n && cs != NULL; i++)
        SSL_free(cs[i]);
    long long mid = bench_heap_bytes();
    for (int i = 0; i < n && ss != NULL; i++)
        SSL_free(ss[i]);
    long long after = bench_heap_bytes();
    out->client = (double)(before - mid) / n;
    out->server = (double)(mid - after) / n;
    free(cs);
    free(ss);
    return ok;
}
