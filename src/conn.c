/*
 * conn.c - tern_conn: one association, sans-IO (see tern.h for the public side).
 *
 * Receiving: every record of a datagram comes out of the record layer's iterator;
 * handshake fragments go to reassembly and complete messages, in order, to the
 * handshake state machine of our role; alerts and application data are handled
 * here. Records of the next epoch that arrive before its keys are kept (bounded)
 * and fed again once the keys are installed (RFC 6347 §4.1: "implementations
 * SHOULD ... buffer packets from the next epoch").
 *
 * Sending: each tern_conn_send() gives one datagram, in this order of priority: a
 * pending alert; the next datagram of the flight being (re)transmitted; then
 * application records and close_notify, packed while they fit. The flight layer
 * alone knows the MTU and fragments; the retransmission timer is armed when the
 * last datagram of a flight has been given out.
 *
 * Failing (STYLE.md §5): the first fatal error is kept, its alert (from the error
 * list) is queued, and every later call returns that error once the alert is out.
 */
#include "conn.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hs/tls12.h"

#define ALERT_WARNING 1
#define ALERT_FATAL 2
#define PEER_RTX_GAP_DIV 4 /* answer a peer's retransmission at most every initial/4 */

/* ------------------------------------------------------------------ record queues */

static void rq_init(tern_rq *q, size_t cap)
{
    memset(q, 0, sizeof *q);
    q->cap = cap;
}

/* Nodes of a full-size record (a datagram's worth: more than glibc serves from its
 * per-thread cache, so malloc and free cost about 500 instructions a pair) come
 * from a small cache of fixed-size nodes per thread; smaller ones and larger ones
 * are plain malloc. The cache never holds more than RQ_CACHE_MAX nodes, is shared
 * by every connection the thread serves (so an idle connection holds none), and
 * is freed when the thread exits. A node is wiped before it is cached. Under
 * AddressSanitizer every node is malloc'd, so use-after-free is still caught. */
#define RQ_SMALL 960        /* up to here malloc is fast (glibc tcache: 1032) */
#define RQ_CLASS_BYTES 2048 /* a cached node's allocation, header included */
#define RQ_CLASS_DATA (RQ_CLASS_BYTES - sizeof(tern_rq_node))
#define RQ_CACHE_MAX 4

#if defined(__SANITIZE_ADDRESS__)
#define RQ_NO_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RQ_NO_CACHE 1
#endif
#endif

#ifndef RQ_NO_CACHE
typedef struct rq_cache {
    tern_rq_node *head;
    unsigned count;
    bool registered; /* with cache_key, so the thread's exit frees it */
} rq_cache;

static _Thread_local rq_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_drain(void *arg)
{
    rq_cache *c = arg;
    while (c->head != NULL) {
        tern_rq_node *n = c->head;
        c->head = n->next;
        free(n);
    }
    c->count = 0;
    c->registered = false;
}

static void cache_key_make(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_drain) == 0;
}
#endif

static bool rq_node_cached_class(size_t len)
{
    return len > RQ_SMALL && len <= RQ_CLASS_DATA;
}

static tern_rq_node *rq_node_new(size_t len)
{
    if (!rq_node_cached_class(len))
        return malloc(sizeof(tern_rq_node) + len);
#ifndef RQ_NO_CACHE
    tern_rq_node *n = cache.head;
    if (n != NULL) {
        cache.head = n->next;
        cache.count--;
        return n;
    }
#endif
    return malloc(RQ_CLASS_BYTES);
}

static void rq_node_free(tern_rq_node *n)
{
    if (n == NULL)
        return;
    tern_wipe(n->data, n->len);
#ifndef RQ_NO_CACHE
    if (rq_node_cached_class(n->len) && cache.count < RQ_CACHE_MAX) {
        if (!cache.registered) {
            (void)pthread_once(&cache_once, cache_key_make);
            cache.registered = cache_key_ok && pthread_setspecific(cache_key, &cache) == 0;
        }
        if (cache.registered) {
            n->next = cache.head;
            cache.head = n;
            cache.count++;
            return;
        }
    }
#endif
    free(n);
}

static void rq_clear(tern_rq *q)
{
    while (q->head != NULL) {
        tern_rq_node *n = q->head;
        q->head = n->next;
        rq_node_free(n);
    }
    q->tail = NULL;
    q->count = 0;
}

static void rq_append(tern_rq *q, tern_rq_node *n)
{
    n->next = NULL;
    if (q->tail != NULL)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->count++;
}

/* Append a copy of |data|. Errors: TERN_ERR_AGAIN (full), TERN_ERR_NOMEM. */
static tern_err rq_push(tern_rq *q, const uint8_t *data, size_t len, uint64_t epoch)
{
    if (q->count == q->cap)
        return TERN_ERR_AGAIN;
    tern_rq_node *n = rq_node_new(len);
    if (n == NULL)
        return TERN_ERR_NOMEM;
    if (len > 0)
        memcpy(n->data, data, len);
    n->len = len;
    n->epoch = epoch;
    rq_append(q, n);
    return TERN_OK;
}

static tern_rq_node *rq_front(tern_rq *q)
{
    return q->head;
}

/* Take the first record out of the queue; the caller frees it with rq_node_free. */
static tern_rq_node *rq_take(tern_rq *q)
{
    tern_rq_node *n = q->head;
    if (n == NULL)
        return NULL;
    q->head = n->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->count--;
    return n;
}

static void rq_pop(tern_rq *q)
{
    rq_node_free(rq_take(q));
}

/* ------------------------------------------------------------------ life cycle */

/* RFC 6347 §4.2.4: "for at least twice the default MSL defined for [TCP], when in
 * the FINISHED state, the node that transmits the last flight ... MUST respond to
 * a retransmission of the peer's last flight". TCP's MSL is 2 minutes (RFC 793). */
#define FINAL_FLIGHT_KEEP_MS (2 * 120000u)

static void release_flight(tern_conn *c)
{
    if (c->flight == NULL)
        return;
    tern_flight_clear(c->flight);
    free(c->flight);
    c->flight = NULL;
}

static void release_reasm(tern_conn *c)
{
    if (c->reasm == NULL)
        return;
    c->peer_next_seq = tern_reasm_next_seq(c->reasm);
    tern_reasm_clear(c->reasm);
    free(c->reasm);
    c->reasm = NULL;
}

tern_conn *tern_conn_alloc(tern_config *cfg, tern_role role)
{
    tern_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cfg = cfg;
    tern_config_ref(cfg);
    c->role = role;
    c->state = TERN_STATE_HANDSHAKE;
    c->alert = TERN_ALERT_NONE;
    tern_rtx_init(&c->rtx, cfg->rtx_initial_ms, cfg->rtx_max_ms);
    tern_rtx_set_steady(&c->rtx, cfg->rtx_steady);
    rq_init(&c->app_in, cfg->max_app_queue);
    rq_init(&c->app_out, cfg->max_send_queue);
    rq_init(&c->early, cfg->max_early_records);
    c->flight = malloc(sizeof *c->flight);
    c->reasm = malloc(sizeof *c->reasm);
    if (c->flight == NULL || c->reasm == NULL || tern_rec_init(&c->rec, 0) != TERN_OK) {
        free(c->flight);
        free(c->reasm);
        c->flight = NULL;
        c->reasm = NULL;
        tern_conn_free(c);
        return NULL;
    }
    tern_flight_init(c->flight, 0);
    tern_reasm_init(c->reasm, 0);
    tern_reasm_set_msg_cap(c->reasm, cfg->max_handshake_msg);
    return c;
}

/* see tern.h */
tern_conn *tern_conn_new_client(tern_config *cfg)
{
    return tern_conn_alloc(cfg, TERN_CLIENT);
}

/* see tern.h */
void tern_conn_free(tern_conn *c)
{
    if (c == NULL)
        return;
    tern_hs12_free(c->hs);
    tern_rec_clear(&c->rec);
    release_flight(c);
    release_reasm(c);
    rq_clear(&c->app_in);
    rq_clear(&c->app_out);
    rq_clear(&c->early);
    free(c->hostname);
    free(c->peer_cert);
    tern_config_free(c->cfg);
    free(c);
}

/* see tern.h */
tern_err tern_conn_set_hostname(tern_conn *c, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 255)
        return TERN_ERR_ARG;
    if (c->role != TERN_CLIENT || c->hs != NULL || c->state != TERN_STATE_HANDSHAKE)
        return TERN_ERR_UNEXPECTED;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return TERN_ERR_NOMEM;
    memcpy(copy, name, len + 1);
    free(c->hostname);
    c->hostname = copy;
    return TERN_OK;
}

/* see tern.h */
tern_err tern_conn_start(tern_conn *c, uint64_t now)
{
    if (c->role != TERN_CLIENT || c->hs != NULL || c->state != TERN_STATE_HANDSHAKE)
        return TERN_ERR_UNEXPECTED;
    c->hs_started = now;
    tern_err err = tern_c12_start(c, now);
    return err == TERN_OK ? TERN_OK : tern_conn_fail(c, err);
}

/* ------------------------------------------------------------------ failing */

tern_err tern_conn_fail(tern_conn *c, tern_err err)
{
    if (c->state == TERN_STATE_FAILED)
        return c->err;
    c->err = err;
    c->alert = tern_err_alert(err);
    c->alert_from_peer = false;
    c->alert_queued = c->alert != TERN_ALERT_NONE;
    c->alert_level = ALERT_FATAL;
    c->alert_desc = (uint8_t)c->alert;
    c->state = TERN_STATE_FAILED;
    tern_rtx_stop(&c->rtx);
    tern_config_log(c->cfg, TERN_LOG_INFO, "%s failed: %s (alert %s)",
                    c->role == TERN_CLIENT ? "client" : "server", tern_strerror(err),
                    tern_alert_name(c->alert));
    return err;
}

static void fail_by_peer(tern_conn *c, uint8_t desc)
{
    if (c->state == TERN_STATE_FAILED)
        return;
    c->err = TERN_ERR_PEER_ALERT;
    c->alert = (tern_alert)desc;
    c->alert_from_peer = true;
    c->alert_queued = false;
    c->state = TERN_STATE_FAILED;
    tern_rtx_stop(&c->rtx);
    tern_config_log(c->cfg, TERN_LOG_INFO, "peer sent fatal alert %s", tern_alert_name(desc));
}

/* ------------------------------------------------------------------ used by hs/ */

tern_err tern_conn_emit(tern_conn *c, uint64_t epoch, uint8_t type, const uint8_t *body,
                        size_t len)
{
    tern_hs12 *hs = c->hs;
    uint16_t seq = hs->next_seq;
    tern_err err = tern_flight_add_hs(c->flight, epoch, type, seq, body, len);
    if (err == TERN_OK)
        err = tern_hs12_transcript_add(hs, type, seq, body, len);
    if (err != TERN_OK)
        return err;
    hs->next_seq++;
    tern_config_log(c->cfg, TERN_LOG_DEBUG, "send %s seq %u epoch %u (%zu bytes)",
                    tern_hs_type_name(type), seq, (unsigned)epoch, len);
    return TERN_OK;
}

tern_err tern_conn_install(tern_conn *c, tern_rec_dir dir, uint64_t epoch,
                           const tern_rec_keys *keys)
{
    tern_err err = tern_rec_install(&c->rec, dir, epoch, keys);
    if (err == TERN_OK && dir == TERN_REC_WRITE)
        c->write_epoch = epoch;
    return err;
}

void tern_conn_established(tern_conn *c, uint64_t now)
{
    c->state = TERN_STATE_ESTABLISHED;
    c->version = TERN_DTLS12_VERSION;
    c->hs_finished = now;
    c->stats.handshake_ms = now - c->hs_started;
    tern_hs12_free(c->hs);
    c->hs = NULL;
    release_reasm(c);
    free(c->hostname); /* verified; nothing else reads it */
    c->hostname = NULL;
    tern_rtx_stop(&c->rtx);
    tern_rtx_reset_backoff(&c->rtx);
    /* RFC 6347 §4.2.4: the side that sent the last flight keeps it to answer a
     * retransmission of the peer's (see FINAL_FLIGHT_KEEP_MS); the client's flight
     * is answered by then. */
    if (c->role == TERN_CLIENT)
        release_flight(c);
    tern_config_log(c->cfg, TERN_LOG_INFO, "handshake done: DTLS 1.2 %s %s in %llu ms",
                    c->suite_name, tern_group_name(c->group),
                    (unsigned long long)c->stats.handshake_ms);
}

/* ------------------------------------------------------------------ receiving */

/* The peer sent again something we had processed: our answer was probably lost
 * (RFC 6347 §4.2.4), so send our last flight again, once per burst. */
static void peer_retransmitted(tern_conn *c, uint64_t now)
{
    if (c->flight == NULL || tern_flight_count(c->flight) == 0 || tern_flight_pending(c->flight) ||
        c->answered_this_dgram)
        return;
    uint64_t gap = c->cfg->rtx_initial_ms / PEER_RTX_GAP_DIV;
    if (c->last_rtx_answer != 0 && now - c->last_rtx_answer < gap)
        return;
    c->answered_this_dgram = true;
    c->last_rtx_answer = now ? now : 1;
    tern_flight_rewind(c->flight);
    c->stats.retransmits++;
}

static tern_err dispatch(tern_conn *c, uint64_t now, const tern_hs_msg_in *m)
{
    tern_config_log(c->cfg, TERN_LOG_DEBUG, "recv %s seq %u epoch %u (%zu bytes) in %s",
                    tern_hs_type_name(m->type), m->msg_seq, (unsigned)m->epoch, m->len,
                    tern_hs12_state_name(c->hs->state));
    if (c->role == TERN_CLIENT)
        return tern_c12_handle(c, now, m->type, m->msg_seq, m->epoch, m->body, m->len);
    return tern_s12_handle(c, now, m->type, m->msg_seq, m->epoch, m->body, m->len);
}

static tern_err on_handshake(tern_conn *c, uint64_t now, const tern_rec_in *in)
{
    /* A retransmission comes in new records: every record gets the next sequence
     * number (RFC 6347 §4.1). A record number seen before is the network
     * duplicating or delaying a datagram, not the peer asking again; later epochs
     * have a replay window for that, epoch 0 (unprotected) is checked here. */
    bool fresh = in->epoch != 0 || in->seq >= c->peer_seq0;
    bool repeat = false;
    if (in->epoch == 0 && fresh)
        c->peer_seq0 = in->seq + 1;
    tern_rd r = tern_rd_init(in->data, in->len);
    while (!tern_rd_done(&r)) {
        tern_hs_hdr h;
        const uint8_t *frag;
        if (tern_hs_hdr_parse(&r, &h, &frag) != TERN_OK) {
            c->stats.dropped_by[TERN_DROP_HS_MALFORMED]++; /* rest of the record is unreadable */
            break;
        }
        if (c->reasm == NULL && h.msg_seq >= c->peer_next_seq) {
            /* RFC 5746 §4.2 / §4.4: renegotiation is refused with a warning. */
            if (in->epoch != 0) {
                c->alert_queued = true;
                c->alert_level = ALERT_WARNING;
                c->alert_desc = TERN_ALERT_NO_RENEGOTIATION;
            }
            continue;
        }
        /* After the handshake only old messages get this far: the peer resending
         * its last flight. */
        tern_reasm_result res =
            c->reasm != NULL ? tern_reasm_push(c->reasm, in->epoch, &h, frag) : TERN_REASM_OLD;
        if (res == TERN_REASM_OLD && fresh)
            peer_retransmitted(c, now);
        else if (res == TERN_REASM_OLD)
            repeat = true;
        else if (res != TERN_REASM_STORED)
            c->stats.dropped_by[TERN_DROP_HS_REASSEMBLY]++;
    }
    if (repeat)
        c->stats.dropped_by[TERN_DROP_REPLAY]++; /* with the record layer's duplicates */
    tern_hs_msg_in m;
    while (c->hs != NULL && tern_reasm_pop(c->reasm, &m) == TERN_OK) {
        /* A message of the peer's next flight: ours arrived (RFC 6347 §4.2.4). */
        if (tern_rtx_count(&c->rtx) == 0 && tern_rtx_deadline(&c->rtx) != UINT64_MAX)
            tern_rtx_reset_backoff(&c->rtx);
        tern_rtx_stop(&c->rtx);
        tern_err err = dispatch(c, now, &m);
        if (err != TERN_OK)
            return tern_conn_fail(c, err);
    }
    return TERN_OK;
}

static tern_err on_alert(tern_conn *c, const tern_rec_in *in)
{
    if (in->len != 2) {
        c->stats.dropped_by[TERN_DROP_UNEXPECTED]++;
        return TERN_OK;
    }
    uint8_t level = in->data[0], desc = in->data[1];
    /* After the handshake, an alert in epoch 0 is unauthenticated: ignore it. */
    if (in->epoch == 0 && c->state != TERN_STATE_HANDSHAKE) {
        c->stats.dropped_by[TERN_DROP_UNEXPECTED]++;
        return TERN_OK;
    }
    if (desc == TERN_ALERT_CLOSE_NOTIFY) {
        c->peer_closed = true;
        if (c->state == TERN_STATE_ESTABLISHED) {
            c->close_queued = true; /* RFC 5246 §7.2.1: answer with our own */
            c->state = TERN_STATE_CLOSED;
        }
    }
    /* A peer that gives up its handshake (user_canceled, RFC 5246 §7.2.2, or
     * close_notify) ends ours: nothing it sends later can complete it. */
    if (c->state == TERN_STATE_HANDSHAKE &&
        (desc == TERN_ALERT_CLOSE_NOTIFY || desc == TERN_ALERT_USER_CANCELED)) {
        c->state = TERN_STATE_CLOSED;
        c->err = TERN_ERR_CLOSED;
        c->alert = (tern_alert)desc;
        c->alert_from_peer = true;
        tern_rtx_stop(&c->rtx);
        if (c->flight != NULL)
            tern_flight_begin(c->flight);
        return TERN_OK;
    }
    if (desc == TERN_ALERT_CLOSE_NOTIFY)
        return TERN_OK;
    if (level == ALERT_FATAL) {
        fail_by_peer(c, desc);
        return c->err;
    }
    tern_config_log(c->cfg, TERN_LOG_INFO, "peer sent warning alert %s", tern_alert_name(desc));
    return TERN_OK;
}

static tern_err on_record(tern_conn *c, uint64_t now, const tern_rec_in *in)
{
    c->stats.records_in++;
    switch (in->type) {
    case TERN_CT_HANDSHAKE:
        return on_handshake(c, now, in);
    case TERN_CT_CHANGE_CIPHER_SPEC:
        /* RFC 5246 §7.1: a single byte of value 1. The epoch switch itself is seen
         * in the epoch of the Finished that follows. */
        if (in->len != 1 || in->data[0] != 1)
            c->stats.dropped_by[TERN_DROP_UNEXPECTED]++;
        return TERN_OK;
    case TERN_CT_ALERT:
        return on_alert(c, in);
    case TERN_CT_APPLICATION_DATA:
        if (in->epoch == 0 || c->peer_closed) {
            c->stats.dropped_by[TERN_DROP_UNEXPECTED]++;
            return TERN_OK;
        }
        if (rq_push(&c->app_in, in->data, in->len, in->epoch) != TERN_OK)
            c->stats.dropped_by[TERN_DROP_APP_FULL]++; /* the reader is behind */
        /* The peer sends application data only once it has our last flight (it
         * completed its handshake): nothing is left to answer. */
        if (c->hs == NULL && c->flight != NULL)
            release_flight(c);
        return TERN_OK;
    default:
        c->stats.dropped_by[TERN_DROP_UNEXPECTED]++;
        return TERN_OK;
    }
}

static tern_err recv_datagram(tern_conn *c, uint64_t now, uint8_t *dgram, size_t len);

/* Feed records kept for an epoch that is now installed. */
static tern_err feed_early(tern_conn *c, uint64_t now)
{
    size_t n = c->early.count;
    for (size_t i = 0; i < n && c->state != TERN_STATE_FAILED; i++) {
        tern_rq_node *take = rq_take(&c->early);
        if (!tern_rec_has_epoch(&c->rec, TERN_REC_READ, take->epoch)) {
            rq_append(&c->early, take); /* not yet: back to the end of the queue */
            continue;
        }
        tern_err err = recv_datagram(c, now, take->data, take->len);
        rq_node_free(take);
        if (err != TERN_OK)
            return err;
    }
    return TERN_OK;
}

static tern_err recv_datagram(tern_conn *c, uint64_t now, uint8_t *dgram, size_t len)
{
    tern_rec_iter it;
    tern_rec_in in;
    tern_rec_iter_init(&it, &c->rec, dgram, len);
    for (;;) {
        switch (tern_rec_next(&it, &in)) {
        case TERN_REC_END:
            return TERN_OK;
        case TERN_REC_DROPPED:
            break;
        case TERN_REC_FUTURE:
            /* RFC 6347 §4.1: keep it until the epoch's keys are in (bounded). */
            if (rq_push(&c->early, in.data, in.len, in.epoch) != TERN_OK)
                c->stats.dropped_by[TERN_DROP_EARLY_FULL]++;
            break;
        case TERN_REC_RECORD: {
            uint64_t newest = c->rec.rd_newest;
            tern_err err = on_record(c, now, &in);
            if (err != TERN_OK)
                return err;
            if (c->rec.rd_newest != newest && c->early.count > 0) {
                err = feed_early(c, now);
                if (err != TERN_OK)
                    return err;
            }
            break;
        }
        }
    }
}

/* see tern.h */
tern_err tern_conn_recv(tern_conn *c, uint64_t now, uint8_t *dgram, size_t len)
{
    if (c->state == TERN_STATE_FAILED)
        return c->err;
    c->stats.datagrams_in++;
    c->answered_this_dgram = false;
    return recv_datagram(c, now, dgram, len);
}

/* ------------------------------------------------------------------ sending */

static tern_err seal_alert(tern_conn *c, tern_wr *w, uint8_t level, uint8_t desc)
{
    uint8_t body[2] = {level, desc};
    return tern_rec_seal(&c->rec, c->write_epoch, TERN_CT_ALERT, body, sizeof body, w, NULL);
}

/* see tern.h */
tern_err tern_conn_send(tern_conn *c, uint64_t now, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t mtu = c->cfg->mtu;
    if (cap < mtu)
        return TERN_ERR_BUF;
    tern_wr w = tern_wr_init(out, mtu);
    *outlen = 0;
    if (c->alert_queued) {
        c->alert_queued = false;
        if (seal_alert(c, &w, c->alert_level, c->alert_desc) == TERN_OK) {
            *outlen = w.len;
            c->stats.datagrams_out++;
            return TERN_OK;
        }
    }
    if (c->state == TERN_STATE_FAILED)
        return c->err;

    if (c->flight != NULL && tern_flight_pending(c->flight)) {
        bool more;
        tern_err err = tern_flight_fill(c->flight, &c->rec, mtu, &w, &more);
        if (err != TERN_OK && err != TERN_ERR_AGAIN)
            return tern_conn_fail(c, err);
        if (!more && c->hs != NULL)
            tern_rtx_arm(&c->rtx, now);
        if (w.len > 0) {
            *outlen = w.len;
            c->stats.datagrams_out++;
            return TERN_OK;
        }
    }

    /* Application records, then close_notify, packed while they fit. */
    tern_rq_node *it;
    while (c->state == TERN_STATE_ESTABLISHED && (it = rq_front(&c->app_out)) != NULL) {
        tern_err err = tern_rec_seal(&c->rec, c->write_epoch, TERN_CT_APPLICATION_DATA, it->data,
                                     it->len, &w, NULL);
        if (err == TERN_ERR_BUF && w.len > 0)
            break; /* full: the rest goes in the next datagram */
        if (err != TERN_OK)
            return tern_conn_fail(c, err);
        rq_pop(&c->app_out);
    }
    if (c->close_queued && (c->state == TERN_STATE_ESTABLISHED || c->state == TERN_STATE_CLOSED) &&
        c->app_out.count == 0) {
        if (seal_alert(c, &w, ALERT_WARNING, TERN_ALERT_CLOSE_NOTIFY) == TERN_OK) {
            c->close_queued = false;
            c->state = TERN_STATE_CLOSED;
        }
    }
    if (w.len == 0)
        return TERN_ERR_AGAIN;
    *outlen = w.len;
    c->stats.datagrams_out++;
    return TERN_OK;
}

/* see tern.h */
uint64_t tern_conn_deadline(const tern_conn *c)
{
    if (c->hs == NULL && c->flight != NULL &&
        (c->state == TERN_STATE_ESTABLISHED || c->state == TERN_STATE_CLOSED))
        return c->hs_finished + FINAL_FLIGHT_KEEP_MS; /* when the last flight goes */
    if (c->hs == NULL || c->state != TERN_STATE_HANDSHAKE)
        return UINT64_MAX;
    uint64_t rtx = tern_rtx_deadline(&c->rtx);
    uint64_t total = c->hs_started + c->cfg->handshake_timeout_ms;
    return rtx < total ? rtx : total;
}

/* see tern.h */
tern_err tern_conn_tick(tern_conn *c, uint64_t now)
{
    if (c->state == TERN_STATE_FAILED)
        return c->err;
    if (c->hs == NULL && c->flight != NULL &&
        (c->state == TERN_STATE_ESTABLISHED || c->state == TERN_STATE_CLOSED) &&
        now - c->hs_finished >= FINAL_FLIGHT_KEEP_MS)
        release_flight(c);
    if (c->hs == NULL || c->state != TERN_STATE_HANDSHAKE)
        return TERN_OK;
    if (now - c->hs_started >= c->cfg->handshake_timeout_ms) {
        tern_config_log(c->cfg, TERN_LOG_INFO, "handshake timed out after %llu retransmissions",
                        (unsigned long long)c->stats.retransmits);
        return tern_conn_fail(c, TERN_ERR_TIMEOUT);
    }
    if (tern_rtx_expired(&c->rtx, now)) {
        tern_flight_rewind(c->flight);
        c->stats.retransmits++;
        c->stats.timeouts++;
    }
    return TERN_OK;
}

/* ------------------------------------------------------------------ application data */

/* see tern.h */
size_t tern_conn_max_write(const tern_conn *c)
{
    size_t overhead;
    if (tern_rec_overhead(&c->rec, c->write_epoch, &overhead) != TERN_OK ||
        overhead >= c->cfg->mtu)
        return 0;
    size_t room = c->cfg->mtu - overhead;
    return room < TERN_DTLS_MAX_PLAINTEXT ? room : TERN_DTLS_MAX_PLAINTEXT;
}

/* see tern.h */
tern_err tern_conn_write(tern_conn *c, const uint8_t *data, size_t len)
{
    if (c->state == TERN_STATE_FAILED)
        return c->err;
    if (c->state != TERN_STATE_ESTABLISHED || c->close_queued)
        return TERN_ERR_UNEXPECTED;
    if (len > tern_conn_max_write(c))
        return TERN_ERR_TOO_BIG;
    return rq_push(&c->app_out, data, len, c->write_epoch);
}

/* see tern.h */
tern_err tern_conn_read(tern_conn *c, uint8_t *out, size_t cap, size_t *outlen)
{
    tern_rq_node *it = c->state != TERN_STATE_HANDSHAKE ? rq_front(&c->app_in) : NULL;
    if (it != NULL && c->state != TERN_STATE_FAILED) {
        *outlen = it->len;
        if (it->len > cap)
            return TERN_ERR_BUF;
        if (it->len > 0)
            memcpy(out, it->data, it->len);
        rq_pop(&c->app_in);
        return TERN_OK;
    }
    if (c->state == TERN_STATE_FAILED)
        return c->err;
    return c->peer_closed ? TERN_ERR_CLOSED : TERN_ERR_AGAIN;
}

/* see tern.h */
tern_err tern_conn_close(tern_conn *c)
{
    if (c->state == TERN_STATE_FAILED)
        return c->err;
    if (c->state == TERN_STATE_HANDSHAKE) {
        /* RFC 5246 §7.2.2: user_canceled, "followed by a close_notify". */
        c->alert_queued = true;
        c->alert_level = ALERT_WARNING;
        c->alert_desc = TERN_ALERT_USER_CANCELED;
        c->close_queued = true;
        c->state = TERN_STATE_CLOSED;
        tern_rtx_stop(&c->rtx);
        if (c->flight != NULL)
            tern_flight_begin(c->flight); /* nothing more of the handshake goes out */
        return TERN_OK;
    }
    if (c->state == TERN_STATE_ESTABLISHED)
        c->close_queued = true;
    return TERN_OK;
}

/* ------------------------------------------------------------------ what happened */

/* see tern.h */
tern_state tern_conn_state(const tern_conn *c)
{
    return c->state;
}

/* see tern.h */
uint16_t tern_conn_version(const tern_conn *c)
{
    return c->version;
}

/* see tern.h */
uint16_t tern_conn_suite(const tern_conn *c)
{
    return c->suite;
}

/* see tern.h */
const char *tern_conn_suite_name(const tern_conn *c)
{
    return c->suite_name;
}

/* see tern.h */
uint16_t tern_conn_group(const tern_conn *c)
{
    return c->group;
}

/* see tern.h */
const char *tern_version_name(uint16_t version)
{
    switch (version) {
    case TERN_DTLS_1_0: return "DTLS 1.0";
    case TERN_DTLS_1_2: return "DTLS 1.2";
    case TERN_DTLS_1_3: return "DTLS 1.3";
    default: return "unknown";
    }
}

/* see tern.h */
const char *tern_group_name(uint16_t group)
{
    switch (group) {
    case TERN_GROUP_X25519: return "X25519";
    case TERN_GROUP_SECP256R1: return "P-256";
    case TERN_GROUP_SECP384R1: return "P-384";
    default: return "unknown";
    }
}

/* see tern.h */
const uint8_t *tern_conn_peer_certificate(const tern_conn *c, size_t *len)
{
    *len = c->peer_cert_len;
    return c->peer_cert;
}

/* see tern.h */
void tern_conn_error(const tern_conn *c, tern_err *err, tern_alert *alert, bool *alert_from_peer)
{
    if (err != NULL)
        *err = c->err;
    if (alert != NULL)
        *alert = c->alert;
    if (alert_from_peer != NULL)
        *alert_from_peer = c->alert_from_peer;
}

/* see tern.h */
void tern_conn_stats(const tern_conn *c, tern_stats *out)
{
    const tern_rec_stats *rs = tern_rec_stats_of(&c->rec);
    *out = c->stats;
    out->records_out = rs->sent;
    /* The record layer's reasons are the first TERN_REC_DROP_COUNT of ours. */
    for (size_t i = 0; i < TERN_REC_DROP_COUNT; i++)
        out->dropped_by[i] += rs->dropped[i];
    const uint64_t *d = out->dropped_by;
    out->dropped = 0;
    for (size_t i = 0; i < TERN_DROP_COUNT; i++)
        out->dropped += d[i];
    out->dropped_bad_mac = d[TERN_DROP_BAD_MAC];
    out->dropped_replay = d[TERN_DROP_REPLAY];
    out->dropped_epoch = d[TERN_DROP_EPOCH];
    out->dropped_malformed = d[TERN_DROP_BAD_HEADER] + d[TERN_DROP_BAD_LENGTH] +
                             d[TERN_DROP_BAD_VERSION] + d[TERN_DROP_HS_MALFORMED];
    out->dropped_other = out->dropped - out->dropped_bad_mac - out->dropped_replay -
                         out->dropped_epoch - out->dropped_malformed;
}

/* see tern.h */
const char *tern_drop_name(int reason)
{
    static const char *const names[] = {
#define TERN_X_NAME(name, text) text,
        TERN_DROP_LIST(TERN_X_NAME)
#undef TERN_X_NAME
    };
    if (reason < 0 || reason >= TERN_DROP_COUNT)
        return "unknown";
    return names[reason];
}

/* The two lists must agree where they overlap. */
_Static_assert((int)TERN_REC_DROP_BAD_HEADER == (int)TERN_DROP_BAD_HEADER &&
                   (int)TERN_REC_DROP_BAD_LENGTH == (int)TERN_DROP_BAD_LENGTH &&
                   (int)TERN_REC_DROP_BAD_VERSION == (int)TERN_DROP_BAD_VERSION &&
                   (int)TERN_REC_DROP_BAD_MAC == (int)TERN_DROP_BAD_MAC &&
                   (int)TERN_REC_DROP_REPLAY == (int)TERN_DROP_REPLAY &&
                   (int)TERN_REC_DROP_EPOCH == (int)TERN_DROP_EPOCH &&
                   (int)TERN_REC_DROP_UNSUPPORTED == (int)TERN_DROP_UNSUPPORTED &&
                   (int)TERN_REC_DROP_CRYPTO == (int)TERN_DROP_CRYPTO &&
                   (int)TERN_REC_DROP_COUNT == (int)TERN_DROP_HS_MALFORMED,
               "record drop reasons lead tern_drop_reason, in order");
