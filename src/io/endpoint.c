/*
 * endpoint.c - one UDP socket, many DTLS associations (see tern_io.h).
 *
 * How a datagram travels. tern_endpoint_process() reads a batch (batch.c) and
 * looks each source address up in the map (demux.c):
 *
 *   - unknown address: the stateless front door, tern_server_hello(). A ClientHello
 *     without a valid cookie is answered with a HelloVerifyRequest written straight
 *     into the send batch; anything else is dropped. Neither allocates anything. Only
 *     a ClientHello whose cookie proves the address makes a tern_conn
 *     (tern_conn_accept), within the limits on associations and handshakes.
 *   - known address: the association's tern_conn, unless it is a ClientHello with
 *     another random than the one the association was made from. The same random
 *     is a retransmission: the conn answers it with its last flight, no new
 *     signature. Another random is a client that started over on the same address
 *     and port (RFC 6347 §4.2.8): it goes through the front door, and a proven cookie
 *     makes a second association, the successor. An association still in its
 *     handshake is replaced at once; an established one only once the successor's
 *     handshake completes ("the server MUST NOT destroy the existing association
 *     until the client has demonstrated reachability ... [by] completing a full
 *     handshake"). Meanwhile other datagrams try the successor first (a copy; an
 *     epoch-0 record is always the successor's) and go to the old association when
 *     the successor used no record of them.
 *
 * After each event, tern_io_assoc_update() pulls the conn's datagrams into the send
 * batch, acts on a completed handshake (accept queue or ready list; a successor
 * takes its predecessor's place in the map) or an end, and moves the association's
 * one timer in the heap (timers.c): the earliest of the conn's deadline and the
 * idle timeout. Due timers run after the reads. The batch leaves when full and at
 * the end of the round.
 *
 * Who owns what: the endpoint owns associations until they are accepted (or it
 * frees them: failed handshakes, idle completed ones nobody accepted, replaced
 * ones); the caller owns accepted and connected ones, which the endpoint only
 * marks ended. Every association of the endpoint is on its |all| list.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto/crypto.h"
#include "hs/msg.h"
#include "io/io.h"
#include "record/record.h"
#include "wire.h"

#define DEFAULT_MAX_ASSOCS 100000
#define DEFAULT_MAX_HANDSHAKES 1000
#define DEFAULT_IDLE_MS 600000u
#define DEFAULT_BATCH 32
#define MAX_BATCH 256
#define MIN_DATAGRAM 512
#define MAX_DATAGRAM 65535
/* Batches read per tern_endpoint_process() before timers get their turn. */
#define RX_ROUNDS 8

/* The association whose embedded timer |t| is. */
static tern_assoc *assoc_of(tern_timer *t)
{
    return (tern_assoc *)(void *)((char *)t - offsetof(tern_assoc, timer));
}

/* ------------------------------------------------------------------ time */

/* see tern_io.h */
uint64_t tern_endpoint_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t tern_io_time(tern_endpoint *ep, uint64_t now)
{
    if (now > ep->now)
        ep->now = now;
    return ep->now;
}

/* ------------------------------------------------------------------ lists */

static void list_push(tern_assoc_list *l, tern_assoc *a, uint8_t which)
{
    a->q = which;
    a->q_next = NULL;
    a->q_prev = l->tail;
    if (l->tail != NULL)
        l->tail->q_next = a;
    else
        l->head = a;
    l->tail = a;
    l->count++;
}

static void list_remove(tern_assoc_list *l, tern_assoc *a)
{
    if (a->q_prev != NULL)
        a->q_prev->q_next = a->q_next;
    else
        l->head = a->q_next;
    if (a->q_next != NULL)
        a->q_next->q_prev = a->q_prev;
    else
        l->tail = a->q_prev;
    a->q_prev = a->q_next = NULL;
    a->q = TERN_ASSOC_Q_NONE;
    l->count--;
}

static void unqueue(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    if (a->q == TERN_ASSOC_Q_ACCEPT)
        list_remove(&ep->accept_q, a);
    else if (a->q == TERN_ASSOC_Q_READY)
        list_remove(&ep->ready, a);
}

/* The caller's association |a| has news (tern_endpoint_ready). */
static void ready_push(tern_assoc *a)
{
    if (a->app_owned && a->q == TERN_ASSOC_Q_NONE)
        list_push(&a->ep->ready, a, TERN_ASSOC_Q_READY);
}

static void event(tern_endpoint *ep, tern_endpoint_event ev, const tern_assoc *a,
                  const struct sockaddr *peer, socklen_t peerlen)
{
    if (ep->event_cb != NULL)
        ep->event_cb(ep->event_ctx, ev, a, peer, peerlen);
}

static void assoc_event(tern_assoc *a, tern_endpoint_event ev)
{
    event(a->ep, ev, a, (const struct sockaddr *)&a->addr, a->addrlen);
}

/* ------------------------------------------------------------------ sending */

static void send_batch(tern_endpoint *ep)
{
    if (ep->io.tx_count == 0)
        return;
    tern_batch_sent r;
    tern_batch_send(&ep->io, ep->fd, &r);
    ep->st.datagrams_out += r.sent;
    ep->st.send_calls += r.calls;
    ep->st.send_dropped += r.dropped;
    if (r.refused && ep->connected)
        ep->refused = true;
}

/* Everything |a|'s conn has to send, into the send batch. */
static void assoc_drain(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    for (;;) {
        uint8_t *slot = tern_batch_tx_slot(&ep->io);
        if (slot == NULL) {
            send_batch(ep);
            slot = tern_batch_tx_slot(&ep->io);
        }
        size_t n;
        if (tern_conn_send(a->c, ep->now, slot, ep->io.tx_size, &n) != TERN_OK)
            return;
        tern_batch_tx_commit(&ep->io, n, ep->connected ? NULL : (struct sockaddr *)&a->addr,
                             a->addrlen);
        if (n > a->st.largest_out)
            a->st.largest_out = n;
    }
}

static void end_all(tern_endpoint *ep, tern_assoc_end why);

void tern_io_flush(tern_endpoint *ep)
{
    if (ep->in_process || ep->corked)
        return;
    send_batch(ep);
    if (ep->refused) {
        /* A connected socket has one peer: the system says it is not there. */
        ep->refused = false;
        end_all(ep, TERN_END_UNREACHABLE);
    }
}

/* ------------------------------------------------------------------ life cycle */

static tern_assoc *assoc_new(tern_endpoint *ep, tern_conn *c, const tern_demux_key *k,
                             const struct sockaddr *addr, socklen_t addrlen)
{
    if (tern_timers_reserve(&ep->timers, ep->n_timed + 1) != TERN_OK)
        return NULL;
    tern_assoc *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->ep = ep;
    a->c = c;
    a->key = *k;
    memcpy(&a->addr, addr, addrlen);
    a->addrlen = addrlen;
    tern_timer_init(&a->timer);
    a->last_rx = ep->now;
    a->all_next = ep->all;
    if (ep->all != NULL)
        ep->all->all_prev = a;
    ep->all = a;
    ep->n_timed++;
    a->counted = true;
    if (++ep->n_assocs > ep->st.assocs_peak)
        ep->st.assocs_peak = ep->n_assocs;
    return a;
}

static void uncount(tern_assoc *a)
{
    if (a->counted) {
        a->counted = false;
        a->ep->n_assocs--;
    }
    if (a->counted_hs) {
        a->counted_hs = false;
        a->ep->n_handshakes--;
    }
}

/* Take |a| out of the map. A successor waiting on it takes its place; a successor
 * itself is only unhooked from its predecessor. */
static void unmap(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    if (a->predecessor != NULL) {
        a->predecessor->successor = NULL;
        a->predecessor = NULL;
    }
    if (!a->in_map)
        return;
    a->in_map = false;
    tern_assoc *s = a->successor;
    if (s != NULL) {
        a->successor = NULL;
        s->predecessor = NULL;
        if (tern_demux_replace(&ep->map, &s->key, s))
            s->in_map = true;
        return;
    }
    (void)tern_demux_remove(&ep->map, &a->key);
}

/* Unlink |a| from everything of the endpoint (it stays allocated). */
static void detach(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    unmap(a);
    if (a->successor != NULL) {
        a->successor->predecessor = NULL;
        a->successor = NULL;
    }
    unqueue(a);
    tern_timers_cancel(&ep->timers, &a->timer);
    uncount(a);
    if (a->all_prev != NULL)
        a->all_prev->all_next = a->all_next;
    else
        ep->all = a->all_next;
    if (a->all_next != NULL)
        a->all_next->all_prev = a->all_prev;
    a->all_prev = a->all_next = NULL;
    ep->n_timed--;
    a->ep = NULL;
}

static void assoc_destroy(tern_assoc *a)
{
    if (a->ep != NULL)
        detach(a);
    tern_conn_free(a->c);
    free(a);
}

/*
 * |a| has ended for |why|: out of the map and the timers. A handshake the endpoint
 * owned is reported and freed; the caller's association is marked and, when
 * |notify|, put on the ready list; a completed one in the accept queue waits there.
 * Returns false when |a| was freed.
 */
static bool assoc_end(tern_assoc *a, tern_assoc_end why, bool notify)
{
    tern_endpoint *ep = a->ep;
    if (a->end != TERN_END_NONE)
        return true;
    a->end = why;
    unmap(a);
    tern_timers_cancel(&ep->timers, &a->timer);
    if (a->counted_hs) {
        a->counted_hs = false;
        ep->n_handshakes--;
    }
    if (!a->established_seen)
        ep->st.handshakes_failed++;
    if (!a->app_owned && !a->established_seen) {
        assoc_event(a, TERN_EVENT_HANDSHAKE_FAILED);
        assoc_destroy(a);
        return false;
    }
    if (a->app_owned) {
        uncount(a);
        if (notify)
            ready_push(a);
    }
    return true;
}

static void end_all(tern_endpoint *ep, tern_assoc_end why)
{
    /* assoc_end frees at most the association it ends, never another */
    tern_assoc *a = ep->all, *next;
    for (; a != NULL; a = next) {
        next = a->all_next;
        if (a->end == TERN_END_NONE)
            (void)assoc_end(a, why, true);
    }
}

/* An association the endpoint owns and will free: |old| lost its place to the
 * successor that completed. */
static void retire(tern_assoc *old)
{
    tern_endpoint *ep = old->ep;
    ep->st.replaced++;
    if (assoc_end(old, TERN_END_REPLACED, true) && !old->app_owned)
        assoc_destroy(old);
}

/* The handshake of |a| has just completed. */
static void on_established(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    a->established_seen = true;
    a->st.established_at = ep->now;
    a->last_rx = ep->now;
    ep->st.handshakes_done++;
    if (a->counted_hs) {
        a->counted_hs = false;
        ep->n_handshakes--;
    }
    if (!a->server) {
        ready_push(a);
        return;
    }
    tern_assoc *old = a->predecessor;
    if (old != NULL) {
        /* RFC 6347 §4.2.8: the new association has proven itself; it takes the
         * address over now, and only now the old one goes. */
        old->successor = NULL;
        a->predecessor = NULL;
        old->in_map = false;
        if (tern_demux_replace(&ep->map, &a->key, a))
            a->in_map = true;
        retire(old);
    }
    list_push(&ep->accept_q, a, TERN_ASSOC_Q_ACCEPT);
}

static void assoc_schedule(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    uint64_t at = tern_conn_deadline(a->c);
    if (a->established_seen && ep->opt.idle_ms != 0 &&
        tern_conn_state(a->c) == TERN_STATE_ESTABLISHED) {
        uint64_t idle = a->last_rx + ep->opt.idle_ms;
        if (idle < at)
            at = idle;
    }
    /* A deadline that did not move past now waits one tick, so that a round of
     * timers always ends. */
    if (at != UINT64_MAX && at <= ep->now)
        at = ep->now + 1;
    tern_timers_set(&ep->timers, &a->timer, at);
}

void tern_io_assoc_update(tern_assoc *a)
{
    if (a->ep == NULL || a->end != TERN_END_NONE)
        return;
    assoc_drain(a);
    switch (tern_conn_state(a->c)) {
    case TERN_STATE_HANDSHAKE:
        break;
    case TERN_STATE_ESTABLISHED:
        if (!a->established_seen)
            on_established(a);
        break;
    case TERN_STATE_CLOSED:
        (void)assoc_end(a, TERN_END_CLOSED, true);
        return;
    case TERN_STATE_FAILED:
        (void)assoc_end(a, TERN_END_FAILED, true);
        return;
    }
    assoc_schedule(a);
}

/* ------------------------------------------------------------------ receiving */

/* A ClientHello at the start of the datagram (epoch 0, first fragment): its random. */
static bool peek_client_hello(const uint8_t *d, size_t len, uint8_t random[TERN_RANDOM_LEN])
{
    tern_rd r = tern_rd_init(d, len), frag;
    tern_hdr12 rec;
    tern_hs_hdr hs;
    const uint8_t *body;
    uint16_t version;
    if (tern_hdr12_read(&r, &rec, &frag) != TERN_OK || rec.type != TERN_CT_HANDSHAKE ||
        rec.epoch != 0 || tern_hs_hdr_parse(&frag, &hs, &body) != TERN_OK ||
        hs.type != TERN_HS_CLIENT_HELLO || hs.frag_off != 0)
        return false;
    tern_rd b = tern_rd_init(body, hs.frag_len);
    return tern_rd_u16(&b, &version) && tern_rd_copy(&b, random, TERN_RANDOM_LEN);
}

/* Feed |d| to |a|. Returns whether |a|'s conn used a record of it (before |a|
 * may have been freed by the update). */
static bool deliver(tern_assoc *a, uint8_t *d, size_t len)
{
    tern_endpoint *ep = a->ep;
    tern_stats before, after;
    tern_conn_stats(a->c, &before);
    if (len > a->st.largest_in)
        a->st.largest_in = len;
    tern_io_via_state(tern_conn_recv(a->c, ep->now, d, len)); /* a failure shows in the state */
    tern_conn_stats(a->c, &after);
    bool used = after.records_in != before.records_in;
    /* Only records that authenticated keep an association from going idle: anyone
     * can send datagrams with its peer's source address. */
    if (used)
        a->last_rx = ep->now;
    /* News for the caller: records (a client's completed handshake and an end are
     * reported by the update). */
    if (used && tern_conn_state(a->c) != TERN_STATE_HANDSHAKE)
        ready_push(a);
    tern_io_assoc_update(a);
    return used;
}

/* |a| has a successor: a peer that started over. */
static void deliver_pair(tern_assoc *a, uint8_t *d, size_t len)
{
    tern_endpoint *ep = a->ep;
    tern_assoc *s = a->successor;
    /* Epoch 0 is a handshake in the clear: only the new one has one running. */
    bool epoch0 = len >= TERN_DTLS12_HDR_LEN && d[3] == 0 && d[4] == 0;
    if (epoch0 || ep->scratch == NULL) {
        (void)deliver(s, d, len);
        return;
    }
    memcpy(ep->scratch, d, len); /* the conn decrypts in place */
    if (!deliver(s, ep->scratch, len))
        (void)deliver(a, d, len); /* |s| took nothing, so |a| is still there */
}

/* The stateless front door, for an unknown address or a restart from |existing|. */
static void front_door(tern_endpoint *ep, const tern_demux_key *k, const struct sockaddr *from,
                       socklen_t fromlen, uint8_t *d, size_t len, tern_assoc *existing)
{
    uint8_t *slot = tern_batch_tx_slot(&ep->io);
    if (slot == NULL) {
        send_batch(ep);
        slot = tern_batch_tx_slot(&ep->io);
    }
    size_t rlen = 0;
    tern_err err;
    switch (tern_server_hello(ep->cfg, ep->now, k->b, k->len, d, len, slot, ep->io.tx_size, &rlen,
                              &err)) {
    case TERN_HELLO_REPLY:
        /* The HelloVerifyRequest is never larger than |len| (tern_server_hello). */
        tern_batch_tx_commit(&ep->io, rlen, ep->connected ? NULL : from, fromlen);
        ep->st.hello_replies++;
        return;
    case TERN_HELLO_DROP:
        ep->st.hello_dropped++;
        return;
    case TERN_HELLO_ACCEPT:
        break;
    }
    /* A restart replaces an association, so only new peers meet max_assocs. */
    if (existing == NULL && ep->n_assocs >= ep->opt.max_assocs) {
        ep->st.limit_assocs++;
        event(ep, TERN_EVENT_LIMIT, NULL, from, fromlen);
        return;
    }
    if (ep->n_handshakes >= ep->opt.max_handshakes) {
        ep->st.limit_handshakes++;
        event(ep, TERN_EVENT_LIMIT, NULL, from, fromlen);
        return;
    }
    uint8_t random[TERN_RANDOM_LEN] = {0};
    (void)peek_client_hello(d, len, random); /* before |d| becomes scratch */
    tern_conn *c = tern_conn_accept(ep->cfg, ep->now, k->b, k->len, d, len, &err);
    if (c == NULL) {
        ep->st.hello_dropped++;
        return;
    }
    tern_assoc *a = assoc_new(ep, c, k, from, fromlen);
    if (a == NULL) {
        tern_conn_free(c);
        return;
    }
    ep->st.assocs_created++;
    a->server = true;
    memcpy(a->random, random, sizeof random);
    a->counted_hs = true;
    ep->n_handshakes++;

    if (existing == NULL) {
        if (tern_demux_insert(&ep->map, &a->key, a) != TERN_OK) {
            assoc_destroy(a);
            return;
        }
        a->in_map = true;
    } else if (!existing->established_seen) {
        /* Started over during the handshake: nothing established to protect. */
        ep->st.restarts++;
        if (existing->successor != NULL)
            assoc_destroy(existing->successor);
        if (tern_demux_replace(&ep->map, &a->key, a)) {
            a->in_map = true;
            existing->in_map = false;
        }
        assoc_event(a, TERN_EVENT_RESTART);
        if (existing->app_owned)
            (void)assoc_end(existing, TERN_END_REPLACED, true);
        else
            assoc_destroy(existing);
    } else {
        /* RFC 6347 §4.2.8: a new handshake; the old association stays until it
         * completes. A second restart replaces the first one's handshake. */
        ep->st.restarts++;
        if (existing->successor != NULL)
            assoc_destroy(existing->successor);
        existing->successor = a;
        a->predecessor = existing;
        if (ep->scratch == NULL)
            ep->scratch = malloc(ep->io.rx_size);
        assoc_event(a, TERN_EVENT_RESTART);
    }
    tern_io_assoc_update(a); /* the server's flight, or the refusal's alert */
}

static void on_datagram(tern_endpoint *ep, uint8_t *d, size_t len, const struct sockaddr *from,
                        socklen_t fromlen)
{
    tern_demux_key k;
    if (!tern_io_addr_key(from, fromlen, &k))
        return;
    tern_assoc *a = tern_demux_find(&ep->map, &k);
    if (a == NULL) {
        if (!ep->opt.accept) {
            ep->st.unknown_dropped++;
            return;
        }
        front_door(ep, &k, from, fromlen, d, len, NULL);
        return;
    }
    uint8_t random[TERN_RANDOM_LEN];
    if (a->server && ep->opt.accept && peek_client_hello(d, len, random)) {
        /* RFC 6347 §4.2.1: a client answering a HelloVerifyRequest or
         * retransmitting keeps its random; another random is a new handshake. */
        if (memcmp(random, a->random, sizeof random) == 0)
            (void)deliver(a, d, len);
        else if (a->successor != NULL && memcmp(random, a->successor->random, sizeof random) == 0)
            (void)deliver(a->successor, d, len);
        else
            front_door(ep, &k, from, fromlen, d, len, a);
        return;
    }
    if (a->successor != NULL)
        deliver_pair(a, d, len);
    else
        (void)deliver(a, d, len);
}

static void on_timer(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    uint64_t now = ep->now;
    if (a->established_seen && ep->opt.idle_ms != 0 &&
        tern_conn_state(a->c) == TERN_STATE_ESTABLISHED && now - a->last_rx >= ep->opt.idle_ms) {
        ep->st.idle_closed++;
        tern_io_via_state(tern_conn_close(a->c));
        assoc_drain(a);
        if (!assoc_end(a, TERN_END_IDLE, true))
            return;
        if (!a->app_owned) {
            assoc_event(a, TERN_EVENT_EXPIRED);
            assoc_destroy(a);
        }
        return;
    }
    if (now >= tern_conn_deadline(a->c))
        tern_io_via_state(tern_conn_tick(a->c, now)); /* a failure shows in the state */
    tern_io_assoc_update(a);
}

/* see tern_io.h */
tern_err tern_endpoint_process(tern_endpoint *ep, uint64_t now)
{
    tern_err rc = TERN_OK;
    tern_io_time(ep, now);
    ep->in_process = true;
    for (int round = 0; round < RX_ROUNDS; round++) {
        unsigned calls = 0;
        int n = tern_batch_recv(&ep->io, ep->fd, &calls);
        ep->st.recv_calls += calls;
        if (n < 0) {
            int e = errno;
            if (e == ECONNREFUSED && ep->connected) {
                ep->refused = true;
                continue;
            }
            if (e == EBADF || e == ENOTSOCK || e == EINVAL || e == EFAULT)
                rc = TERN_ERR_IO;
            break; /* ICMP reports and the like: nothing for a particular peer */
        }
        for (int i = 0; i < n; i++) {
            if (ep->io.rx_trunc[i]) {
                ep->st.truncated++;
                continue;
            }
            ep->st.datagrams_in++;
            on_datagram(ep, tern_batch_rx(&ep->io, (unsigned)i), ep->io.rx_len[i],
                        (const struct sockaddr *)&ep->io.rx_addr[i], ep->io.rx_addrlen[i]);
        }
        if ((unsigned)n < ep->io.n)
            break;
    }
    tern_timer *t;
    while ((t = tern_timers_pop_due(&ep->timers, ep->now)) != NULL)
        on_timer(assoc_of(t));
    ep->in_process = false;
    tern_io_flush(ep);
    return rc;
}

/* ------------------------------------------------------------------ the endpoint */

/* see tern_io.h */
void tern_endpoint_opts_init(tern_endpoint_opts *o)
{
    memset(o, 0, sizeof *o);
    o->accept = true;
    o->max_assocs = DEFAULT_MAX_ASSOCS;
    o->max_handshakes = DEFAULT_MAX_HANDSHAKES;
    o->idle_ms = DEFAULT_IDLE_MS;
    o->batch = DEFAULT_BATCH;
    o->max_datagram = MAX_DATAGRAM;
}

static tern_endpoint *fail_new(tern_endpoint *ep, tern_err *err, tern_err why)
{
    int saved = errno;
    if (err != NULL)
        *err = why;
    tern_endpoint_free(ep);
    errno = saved;
    return NULL;
}

/* see tern_io.h */
tern_endpoint *tern_endpoint_new(tern_config *cfg, const tern_endpoint_opts *opts, tern_err *err)
{
    tern_endpoint_opts o;
    if (opts != NULL)
        o = *opts;
    else
        tern_endpoint_opts_init(&o);
    if (cfg == NULL || o.batch == 0 || o.batch > MAX_BATCH || o.max_datagram < MIN_DATAGRAM ||
        o.max_datagram > MAX_DATAGRAM || o.max_assocs == 0 || o.max_handshakes == 0) {
        if (err != NULL)
            *err = TERN_ERR_ARG;
        errno = EINVAL;
        return NULL;
    }
    tern_endpoint *ep = calloc(1, sizeof *ep);
    if (ep == NULL)
        return fail_new(NULL, err, TERN_ERR_NOMEM);
    ep->fd = -1;
    ep->wake[0] = ep->wake[1] = -1;
    ep->opt = o;
    ep->opt.bind = NULL; /* not kept: the caller's string */
    ep->cfg = cfg;
    tern_config_ref(cfg);
    tern_timers_init(&ep->timers);
    uint8_t seed[16];
    if (tern_random(tern_config_rng(cfg), seed, sizeof seed) != TERN_OK)
        return fail_new(ep, err, TERN_ERR_RNG);
    tern_demux_init(&ep->map, seed);
    tern_wipe(seed, sizeof seed);
    /* tern_conn_send wants room for a whole datagram at the config's MTU. */
    if (tern_batch_init(&ep->io, o.batch, o.max_datagram, cfg->mtu) != TERN_OK)
        return fail_new(ep, err, TERN_ERR_NOMEM);
    tern_err e = TERN_ERR_IO;
    ep->fd = tern_io_socket(&o, &ep->family, &e);
    if (ep->fd < 0)
        return fail_new(ep, err, e);
    ep->now = tern_endpoint_now();
    if (err != NULL)
        *err = TERN_OK;
    return ep;
}

/* see tern_io.h */
void tern_endpoint_free(tern_endpoint *ep)
{
    if (ep == NULL)
        return;
    tern_assoc *a;
    /* Established peers hear close_notify; the caller's associations are detached. */
    ep->in_process = true;
    while ((a = ep->all) != NULL) {
        if (a->end == TERN_END_NONE && tern_conn_state(a->c) == TERN_STATE_ESTABLISHED) {
            tern_io_via_state(tern_conn_close(a->c));
            assoc_drain(a);
        }
        if (a->app_owned) {
            if (a->end == TERN_END_NONE)
                a->end = TERN_END_SHUTDOWN;
            detach(a);
        } else {
            assoc_destroy(a);
        }
    }
    if (ep->fd >= 0)
        send_batch(ep);
    if (ep->fd >= 0)
        close(ep->fd);
    if (ep->wake[0] >= 0) {
        close(ep->wake[0]);
        close(ep->wake[1]);
    }
    tern_batch_clear(&ep->io);
    tern_demux_clear(&ep->map);
    tern_timers_clear(&ep->timers);
    free(ep->scratch);
    tern_config_free(ep->cfg);
    free(ep);
}

/* see tern_io.h */
int tern_endpoint_fd(const tern_endpoint *ep)
{
    return ep->fd;
}

/* see tern_io.h */
tern_err tern_endpoint_local_addr(const tern_endpoint *ep, struct sockaddr_storage *out,
                                  socklen_t *len)
{
    *len = sizeof *out;
    return getsockname(ep->fd, (struct sockaddr *)out, len) == 0 ? TERN_OK : TERN_ERR_IO;
}

/* see tern_io.h */
uint64_t tern_endpoint_deadline(const tern_endpoint *ep)
{
    return tern_timers_next(&ep->timers);
}

/* see tern_io.h */
int tern_endpoint_timeout(const tern_endpoint *ep, uint64_t now)
{
    uint64_t at = tern_endpoint_deadline(ep);
    if (at == UINT64_MAX)
        return -1;
    if (at <= now)
        return 0;
    return at - now > INT_MAX ? INT_MAX : (int)(at - now);
}

/* see tern_io.h */
tern_assoc *tern_endpoint_accept(tern_endpoint *ep)
{
    tern_assoc *a = ep->accept_q.head;
    if (a == NULL)
        return NULL;
    list_remove(&ep->accept_q, a);
    a->app_owned = true;
    if (a->end != TERN_END_NONE)
        uncount(a);
    ready_push(a); /* records may be waiting already */
    return a;
}

/* see tern_io.h */
tern_assoc *tern_endpoint_ready(tern_endpoint *ep)
{
    tern_assoc *a = ep->ready.head;
    if (a != NULL)
        list_remove(&ep->ready, a);
    return a;
}

/* see tern_io.h */
tern_assoc *tern_endpoint_connect(tern_endpoint *ep, const struct sockaddr *addr, socklen_t addrlen,
                                  const char *servername, tern_err *errp)
{
    tern_err dummy = TERN_OK;
    tern_err *err = errp != NULL ? errp : &dummy;
    struct sockaddr_storage to;
    socklen_t tolen;
    tern_demux_key k;
    if (addr == NULL || !tern_io_addr_for(ep->family, addr, addrlen, &to, &tolen) ||
        !tern_io_addr_key((const struct sockaddr *)&to, tolen, &k)) {
        *err = TERN_ERR_ARG;
        return NULL;
    }
    if (tern_demux_find(&ep->map, &k) != NULL) {
        *err = TERN_ERR_STATE;
        return NULL;
    }
    tern_conn *c = tern_conn_new_client(ep->cfg);
    if (c == NULL) {
        *err = TERN_ERR_NOMEM;
        return NULL;
    }
    if (servername != NULL && (*err = tern_conn_set_hostname(c, servername)) != TERN_OK) {
        tern_conn_free(c);
        return NULL;
    }
    tern_io_time(ep, tern_endpoint_now());
    tern_assoc *a = assoc_new(ep, c, &k, (const struct sockaddr *)&to, tolen);
    if (a == NULL) {
        tern_conn_free(c);
        *err = TERN_ERR_NOMEM;
        return NULL;
    }
    a->app_owned = true;
    if ((*err = tern_demux_insert(&ep->map, &a->key, a)) != TERN_OK) {
        assoc_destroy(a);
        return NULL;
    }
    a->in_map = true;
    if ((*err = tern_conn_start(c, ep->now)) != TERN_OK) {
        assoc_destroy(a);
        return NULL;
    }
    ep->st.assocs_created++;
    tern_io_assoc_update(a);
    tern_io_flush(ep);
    *err = TERN_OK;
    return a;
}

/* see tern_io.h */
void tern_endpoint_set_event_cb(tern_endpoint *ep,
                                void (*cb)(void *ctx, tern_endpoint_event ev, const tern_assoc *a,
                                           const struct sockaddr *peer, socklen_t peerlen),
                                void *ctx)
{
    ep->event_cb = cb;
    ep->event_ctx = ctx;
}

/* see tern_io.h */
void tern_endpoint_get_stats(const tern_endpoint *ep, tern_endpoint_stats *out)
{
    *out = ep->st;
    out->assocs = ep->n_assocs;
    out->handshakes = ep->n_handshakes;
    out->accept_queue = ep->accept_q.count;
}

/* ------------------------------------------------------------------ associations */

/* see tern_io.h */
tern_err tern_assoc_close(tern_assoc *a)
{
    tern_endpoint *ep = a->ep;
    if (ep == NULL || a->end != TERN_END_NONE)
        return TERN_OK;
    tern_io_time(ep, tern_endpoint_now());
    tern_io_via_state(tern_conn_close(a->c)); /* close_notify, or user_canceled in a handshake */
    assoc_drain(a);
    (void)assoc_end(a, TERN_END_CLOSED, false);
    tern_io_flush(ep);
    return TERN_OK;
}

/* see tern_io.h */
void tern_assoc_free(tern_assoc *a)
{
    if (a == NULL)
        return;
    tern_endpoint *own = a->owned_ep;
    if (a->ep != NULL) {
        tern_endpoint *ep = a->ep;
        tern_io_via_state(tern_assoc_close(a));
        assoc_destroy(a);
        tern_io_flush(ep);
    } else {
        tern_conn_free(a->c);
        free(a);
    }
    tern_endpoint_free(own);
}

/* see tern_io.h */
tern_state tern_assoc_state(const tern_assoc *a)
{
    tern_state st = tern_conn_state(a->c);
    if (a->end > TERN_END_FAILED && st != TERN_STATE_FAILED)
        return TERN_STATE_CLOSED;
    return st;
}

/* see tern_io.h */
tern_assoc_end tern_assoc_end_reason(const tern_assoc *a)
{
    return a->end;
}

/* see tern_io.h */
const char *tern_assoc_end_name(tern_assoc_end why)
{
    switch (why) {
    case TERN_END_NONE:
        return "not ended";
    case TERN_END_CLOSED:
        return "closed";
    case TERN_END_FAILED:
        return "failed";
    case TERN_END_IDLE:
        return "idle timeout";
    case TERN_END_REPLACED:
        return "replaced by a new handshake from the same address";
    case TERN_END_UNREACHABLE:
        return "peer unreachable";
    case TERN_END_SHUTDOWN:
        return "endpoint shut down";
    }
    return "unknown";
}

/* see tern_io.h */
const tern_conn *tern_assoc_conn(const tern_assoc *a)
{
    return a->c;
}

/* see tern_io.h */
const struct sockaddr *tern_assoc_peer(const tern_assoc *a, socklen_t *len)
{
    *len = a->addrlen;
    return (const struct sockaddr *)&a->addr;
}

/* see tern_io.h */
tern_endpoint *tern_assoc_endpoint(const tern_assoc *a)
{
    return a->ep;
}

/* see tern_io.h */
void tern_assoc_set_user(tern_assoc *a, void *user)
{
    a->user = user;
}

/* see tern_io.h */
void *tern_assoc_user(const tern_assoc *a)
{
    return a->user;
}

/* see tern_io.h */
void tern_assoc_get_stats(const tern_assoc *a, tern_assoc_stats *out)
{
    *out = a->st;
}
