/*
 * conn.h - the inside of tern_conn (see tern.h for the public side).
 *
 * A connection stacks the layers below it: the record layer (epochs, protection,
 * replay), the flight layer (our flight, fragmented and packed to the MTU, and the
 * retransmission timer; the peer's fragments reassembled), and one handshake state
 * machine per version and role (src/hs/tls12_*.c). Everything a handshake needs
 * only while it runs lives in |hs| and is freed when it completes, so an idle
 * established connection holds little more than its keys.
 */
#ifndef TERN_CONN_H
#define TERN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "flight/flight.h"
#include "record/record.h"
#include "tern/tern.h"

struct tern_hs12;

/* A queue of records (application data received or waiting to be sent, or raw
 * records of a future epoch), bounded by |cap| records. Each record is one node,
 * allocated with its bytes when it joins the queue and freed (wiped) when it
 * leaves (full-size nodes through a small per-thread cache, see conn.c), so an
 * empty queue holds no memory at all. */
typedef struct tern_rq_node {
    struct tern_rq_node *next;
    size_t len;
    uint64_t epoch; /* for app-out and early records */
    uint8_t data[];
} tern_rq_node;

typedef struct tern_rq {
    tern_rq_node *head, *tail; /* NULL when empty */
    size_t count, cap;
} tern_rq;

struct tern_conn {
    tern_config *cfg;
    tern_role role;
    tern_state state;

    /* sticky outcome (STYLE.md §5): the first fatal error and its alert */
    tern_err err;
    tern_alert alert;
    bool alert_from_peer;
    bool alert_queued;       /* our alert waits for tern_conn_send */
    uint8_t alert_level, alert_desc;
    bool close_queued;       /* close_notify waits for tern_conn_send */
    bool peer_closed;

    tern_rec rec;
    /* Our flight: allocated with the connection, freed when the handshake is over,
     * except that the side sending the last flight keeps it to answer the peer's
     * retransmissions (RFC 6347 §4.2.4) until the peer shows it has it (its
     * application data arrives) or FINAL_FLIGHT_KEEP_MS have passed (conn.c). */
    tern_flight *flight;
    tern_reasm *reasm;      /* the peer's messages: NULL once the handshake is over */
    uint32_t peer_next_seq; /* then: message_seq after the peer's last message */
    tern_rtx rtx;
    uint64_t write_epoch;    /* epoch for alerts and application data */
    uint64_t last_rtx_answer; /* when we last resent because the peer resent */
    bool answered_this_dgram;
    uint64_t peer_seq0;      /* one past the highest epoch-0 record number seen */

    struct tern_hs12 *hs;    /* NULL once the handshake is over */
    uint64_t hs_started, hs_finished;
    char *hostname;

    /* negotiated */
    uint16_t version, suite, group;
    const char *suite_name;
    uint8_t *peer_cert;
    size_t peer_cert_len;

    tern_rq app_in, app_out, early;

    tern_stats stats;
};

/* A new connection of |role| from |cfg| with nothing started (tern_conn_new_client
 * and the front door's tern_conn_accept build on it). NULL when out of memory. */
tern_conn *tern_conn_alloc(tern_config *cfg, tern_role role);

/* ---- used by the handshake state machines ---- */

/* Record the fatal error |err| (with its alert from the error list) unless one is
 * already recorded; queue the alert; move to FAILED. Returns |err|. */
tern_err tern_conn_fail(tern_conn *c, tern_err err);

/* Append one handshake message of |type| with |len| bytes of |body| to the flight
 * being prepared, in write epoch |epoch|, and to the transcript. */
TERN_MUST_USE tern_err tern_conn_emit(tern_conn *c, uint64_t epoch, uint8_t type,
                                      const uint8_t *body, size_t len);

/* Install keys for |dir| of |epoch|. */
TERN_MUST_USE tern_err tern_conn_install(tern_conn *c, tern_rec_dir dir, uint64_t epoch,
                                         const tern_rec_keys *keys);

/* The handshake completed at |now|: free its state, start application data. */
void tern_conn_established(tern_conn *c, uint64_t now);

#endif
