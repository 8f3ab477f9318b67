/*
 * test_flood.c - 100 000 ClientHellos without a valid cookie, from 256 source
 * ports, against one endpoint in this process.
 *
 * The hellos are real tern ClientHellos of several sizes (server names of
 * different lengths), first hellos without a cookie and second hellos whose cookie
 * was made for another address or is corrupted, each sent with a fresh random and
 * a record sequence number that numbers it. The HelloVerifyRequest repeats the
 * sequence number (RFC 6347 §4.2.1), which ties every reply to the hello that
 * caused it. Checked:
 *   - no association is created (the endpoint's counters);
 *   - the heap does not grow: bytes in use (mallinfo2, or ASan's count) after the
 *     flood against before it, after a warm-up;
 *   - no reply is larger than the hello that caused it, and each is a
 *     HelloVerifyRequest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_test.h"
#include "test.h"

#define TOTAL 100000
#define WARMUP 2000
#define SENDERS 256
#define BURST 128 /* hellos in flight at once: well under any socket buffer */
#define VARIANTS 6
#define REC_HDR 13
#define RANDOM_AT (REC_HDR + 12 + 2)

typedef struct hello {
    uint8_t b[1500]; /* tern_conn_send wants room for a datagram at the MTU */
    size_t len;
} hello;

static hello variants[VARIANTS];
static uint16_t sizes[TOTAL + WARMUP]; /* size of the hello numbered i */

/* A first ClientHello of a tern client naming |name| (NULL: no SNI). */
static bool first_hello(tern_config *cfg, const char *name, hello *out, tern_conn **keep)
{
    tern_conn *c = tern_conn_new_client(cfg);
    if (c == NULL || (name != NULL && tern_conn_set_hostname(c, name) != TERN_OK) ||
        tern_conn_start(c, 1000) != TERN_OK ||
        tern_conn_send(c, 1000, out->b, sizeof out->b, &out->len) != TERN_OK) {
        tern_conn_free(c);
        return false;
    }
    *keep = c;
    return true;
}

/* The second ClientHello of |c|, carrying a cookie for another address. */
static bool second_hello(tern_config *scfg, tern_conn *c, const hello *first, hello *out)
{
    static const uint8_t elsewhere[] = {4, 0x12, 0x34, 10, 9, 8, 7};
    uint8_t reply[256];
    size_t rlen;
    if (tern_server_hello(scfg, 1000, elsewhere, sizeof elsewhere, first->b, first->len, reply,
                          sizeof reply, &rlen, NULL) != TERN_HELLO_REPLY ||
        tern_conn_recv(c, 1000, reply, rlen) != TERN_OK ||
        tern_conn_send(c, 1000, out->b, sizeof out->b, &out->len) != TERN_OK)
        return false;
    return true;
}

static bool make_variants(tern_config *scfg, tern_config *ccfg)
{
    static const char *names[3] = {NULL, "localhost",
                                   "a-rather-long-server-name.in.a.subdomain.example.com"};
    for (int i = 0; i < 3; i++) {
        tern_conn *c = NULL;
        if (!first_hello(ccfg, names[i], &variants[i], &c))
            return false;
        bool ok = second_hello(scfg, c, &variants[i], &variants[3 + i]);
        tern_conn_free(c);
        if (!ok)
            return false;
    }
    /* The last one's cookie corrupted: after the random, session_id<0..32>, then
     * cookie<0..255>. */
    size_t sid = variants[5].b[RANDOM_AT + 32];
    size_t cookie_at = RANDOM_AT + 32 + 1 + sid;
    if (variants[5].b[cookie_at] == 0)
        return false;
    variants[5].b[cookie_at + 1] ^= 0x55;
    return true;
}

typedef struct flood {
    io_echo srv;
    int fd[SENDERS];
    struct sockaddr_storage to;
    socklen_t tolen;
    size_t sent, replies, too_big, not_hvr, unmatched;
} flood;

static void send_one(flood *f, size_t idx)
{
    hello h = variants[idx % VARIANTS];
    /* a fresh random and the hello's number as its record sequence number */
    uint64_t n = idx;
    for (int k = 0; k < 8; k++)
        h.b[RANDOM_AT + k] ^= (uint8_t)(n >> (8 * k));
    for (int k = 0; k < 6; k++)
        h.b[5 + k] = (uint8_t)(n >> (8 * (5 - k)));
    sizes[idx] = (uint16_t)h.len;
    if (sendto(f->fd[idx % SENDERS], h.b, h.len, 0, (struct sockaddr *)&f->to, f->tolen) ==
        (ssize_t)h.len)
        f->sent++;
}

static void take_replies(flood *f)
{
    uint8_t buf[2048];
    for (int s = 0; s < SENDERS; s++) {
        ssize_t n;
        while ((n = recv(f->fd[s], buf, sizeof buf, 0)) > 0) {
            f->replies++;
            uint64_t idx = 0;
            for (int k = 0; k < 6; k++)
                idx = idx << 8 | buf[5 + k];
            if (n < REC_HDR + 1 || buf[0] != 22 || buf[REC_HDR] != 3)
                f->not_hvr++;
            else if (idx >= TOTAL + WARMUP || idx % SENDERS != (uint64_t)s)
                f->unmatched++;
            else if ((size_t)n > sizes[idx])
                f->too_big++;
        }
    }
}

/* Send hellos numbered [from, to) in bursts, letting the server and the senders
 * read between bursts. False when the server stops taking them in. */
static bool blast(flood *f, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        size_t end = i + BURST < to ? i + BURST : to;
        for (; i < end; i++)
            send_one(f, i);
        uint64_t deadline = tern_endpoint_now() + 5000;
        tern_endpoint_stats st;
        do {
            io_echo_step(&f->srv, 0);
            tern_endpoint_get_stats(f->srv.ep, &st);
        } while (st.datagrams_in < f->sent && tern_endpoint_now() < deadline &&
                 tern_endpoint_wait(f->srv.ep, 5) != TERN_ERR_IO);
        take_replies(f);
        if (tern_endpoint_now() >= deadline)
            return false;
    }
    return true;
}

TEST(flood_of_hellos_without_cookie)
{
    tern_config *scfg = io_server_cfg(), *ccfg = io_client_cfg();
    CHECK(scfg != NULL && ccfg != NULL);
    CHECK(make_variants(scfg, ccfg));
    static flood f;
    memset(&f, 0, sizeof f);
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.bind = "127.0.0.1";
    o.rcvbuf = 1 << 20;
    f.srv.ep = tern_endpoint_new(scfg, &o, NULL);
    CHECK(f.srv.ep != NULL);
    f.tolen = io_loopback(f.srv.ep, false, &f.to);
    for (int s = 0; s < SENDERS; s++) {
        struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        f.fd[s] = socket(AF_INET, SOCK_DGRAM, 0);
        CHECK(f.fd[s] >= 0 && bind(f.fd[s], (struct sockaddr *)&me, sizeof me) == 0);
        CHECK(fcntl(f.fd[s], F_SETFL, O_NONBLOCK) == 0);
    }

    /* Warm up (the crypto backend's lazy setup), then measure. */
    CHECK(blast(&f, TOTAL, TOTAL + WARMUP));
    size_t heap_before = io_heap_in_use();
    uint64_t t0 = tern_endpoint_now();
    size_t sent0 = f.sent;
    CHECK(blast(&f, 0, TOTAL));
    uint64_t ms = tern_endpoint_now() - t0;
    size_t heap_after = io_heap_in_use();

    tern_endpoint_stats st;
    tern_endpoint_get_stats(f.srv.ep, &st);
    fprintf(stderr,
            "  %zu hellos in %llu ms from %d ports: %llu HelloVerifyRequests, %llu dropped, "
            "%llu associations; heap %zu -> %zu bytes; %llu recv calls, %llu send calls\n",
            f.sent - sent0, (unsigned long long)ms, SENDERS, (unsigned long long)st.hello_replies,
            (unsigned long long)st.hello_dropped, (unsigned long long)st.assocs_created,
            heap_before, heap_after, (unsigned long long)st.recv_calls,
            (unsigned long long)st.send_calls);
    CHECK_EQ(f.sent, TOTAL + WARMUP);
    CHECK_EQ(st.assocs_created, 0);
    CHECK_EQ(st.assocs, 0);
    CHECK_EQ(st.handshakes, 0);
    CHECK_EQ(st.datagrams_in, f.sent);
    CHECK_EQ(st.hello_replies + st.hello_dropped, f.sent);
    CHECK_EQ(st.hello_replies, f.sent); /* every one of them gets a fresh cookie */
    CHECK_EQ(f.replies, st.hello_replies);
    CHECK_EQ(f.not_hvr, 0);
    CHECK_EQ(f.unmatched, 0);
    CHECK_EQ(f.too_big, 0);
    CHECK(heap_after <= heap_before);
    CHECK_EQ(tern_endpoint_deadline(f.srv.ep), UINT64_MAX); /* not a timer either */

    for (int s = 0; s < SENDERS; s++)
        close(f.fd[s]);
    tern_endpoint_free(f.srv.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
}
