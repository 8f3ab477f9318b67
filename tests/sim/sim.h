/*
 * sim.h - a simulated network for tern (STYLE.md §8): two tern_conn joined by a
 * seeded, impaired link and driven by a virtual clock.
 *
 * The client is a tern_conn_new_client(); the server side starts as the stateless
 * front door (tern_server_hello) and becomes a connection through tern_conn_accept()
 * when a ClientHello brings a valid cookie, exactly as a real server does. Between
 * them, each direction of the link has its own seeded loss, duplication,
 * reordering, delay with jitter and a datagram-size limit (a relay that drops what
 * is larger), plus an optional scripted filter for targeted drops.
 *
 * Time is virtual: the clock jumps to the next thing that can happen (a datagram
 * arriving, a connection's tern_conn_deadline(), the application's next try), so a
 * minute of handshaking costs only the CPU the handshake itself needs. A run is a
 * pure function of its seed: the link draws its randomness from the seed, and the
 * connections take theirs from a seeded tern_rng (sim_rng()) that the run reseeds.
 * Keys and signatures then come out the same in every run, except ECDSA signatures
 * (OpenSSL picks their nonce), whose DER length may vary by a byte or two: prefer
 * Ed25519 or RSA server keys where a run must replay bit for bit.
 *
 * The datagram contract (flight.h, tern_flight_fill) is checked on every datagram
 * the link carries, the front door's HelloVerifyRequests included:
 *   - none is larger than the sender's MTU;
 *   - it parses as whole DTLS 1.2 records (tern_hdr12_read) that end exactly at
 *     the end of the datagram: no record spans datagrams;
 *   - every plaintext handshake record carries exactly one fragment; a message is
 *     fragmented only when it does not fit an empty datagram, and then into the
 *     fewest fragments of even size (never full fragments and a tiny tail);
 *   - records share a datagram when they fit: within the datagrams one side sends
 *     at one instant, a datagram of the handshake (or of application data) starts
 *     with a record that did not fit after the previous one of its kind.
 */
#ifndef TERN_TEST_SIM_H
#define TERN_TEST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

typedef enum sim_way {
    SIM_C2S, /* client to server */
    SIM_S2C, /* server to client */
} sim_way;

/* One direction of the link. Probabilities are 0..1. */
typedef struct sim_dir {
    double loss;        /* a datagram is lost */
    double dup;         /* a datagram arrives twice (the copy with its own jitter) */
    double reorder;     /* a datagram is held back |reorder_ms| more, so later ones pass it */
    uint32_t delay_ms;  /* one-way delay */
    uint32_t jitter_ms; /* plus 0..jitter_ms, uniform, per datagram */
    uint32_t reorder_ms;
    size_t max_size;     /* a relay on the path drops larger datagrams; 0: no limit */
    bool reverse_bursts; /* the datagrams one side sends at one instant (a flight)
                            arrive in reverse order */
} sim_dir;

/* A scripted impairment, asked about every datagram of both ways before the random
 * ones (which are drawn anyway, so a filter does not shift them). |n| counts the
 * datagrams of |way| from 0. Return true to drop the datagram; or set *hold_ms
 * (0 on entry) to delay it that much more than the link would. */
typedef bool (*sim_filter_fn)(void *ctx, sim_way way, const uint8_t *dgram, size_t len, uint64_t n,
                              uint32_t *hold_ms);

/* Helpers for filters: does |dgram| hold a record of content type |ct|? */
bool sim_has_record(const uint8_t *dgram, size_t len, uint8_t ct);

typedef struct sim_params {
    tern_config *ccfg, *scfg; /* the caller's, not changed; install sim_rng() in both */
    const char *hostname;     /* for the client; NULL: none */
    sim_dir dir[2];           /* indexed by sim_way */
    uint64_t limit_ms;        /* virtual time a run may take; 0: 600 s */
    bool echo;                /* after the handshake the client sends a ping, again every
                                 |app_retry_ms|, until the server's echo of it arrives */
    uint32_t app_retry_ms;    /* 0: 1000 */
    bool server_first;        /* the server writes a greeting as soon as it is
                                 established, again every |app_retry_ms| until the
                                 client's ping comes; the client must read it (and
                                 pings only after it) */
    sim_filter_fn filter;
    void *filter_ctx;
    bool trace; /* print every datagram and event to stderr */
} sim_params;

typedef struct sim_result {
    uint64_t seed;
    bool done;        /* handshake complete on both ends (and echo, greeting) */
    bool contract_ok; /* every datagram kept the datagram contract */
    char why[320];    /* the first contract breach, or why the run is not done */
    uint64_t hs_ms;   /* start to both ends established; UINT64_MAX if never */
    uint64_t done_ms; /* start to the goal; UINT64_MAX if never */
    uint64_t end_ms;  /* when the run stopped */
    uint64_t sent[2]; /* datagrams given to the link, by way (HVRs included) */
    uint64_t hs_sent; /* of which carry handshake records (both ways) */
    uint64_t lost[2], dups[2], oversize[2], filtered[2];
    size_t largest[2]; /* the largest datagram, by way */
    bool server_made;  /* the front door accepted a ClientHello */
    tern_state cstate, sstate;
    tern_err cerr, serr; /* from tern_conn_error (TERN_OK if none) */
    tern_stats cstats, sstats;
} sim_result;

/* Run one simulation of |p| with |seed|. The result is filled even on failure. */
void sim_run(const sim_params *p, uint64_t seed, sim_result *r);

/* The rng to install in the configs of a simulation (tern_config_set_rng); each
 * run reseeds it from its seed. */
const tern_rng *sim_rng(void);

/* Configs for the common cases, with sim_rng() installed. A server with the chain
 * and key of tests/data/pki/|chain|, |key|; a client trusting tests/data/pki/|ca|
 * (NULL: none). |mtu| 0 keeps the default. NULL on failure (printed). */
tern_config *sim_server_config(const char *chain, const char *key, size_t mtu);
tern_config *sim_client_config(const char *ca, size_t mtu);

/* The path of tests/data/pki/|name| (one of a few static buffers). */
const char *sim_pki(const char *name);

/* TERN_SIM_SEED: when set, the one seed to replay (true, *seed set); then set
 * TERN_SIM_TRACE=1 as well to see every datagram. */
bool sim_replay_seed(uint64_t *seed);
bool sim_trace_env(void);

/* Check one datagram of |len| bytes sent under |mtu| against the datagram contract.
 * |prev_len| is the size of the previous datagram of the same burst and kind (0:
 * none), |prev_kind| its kind. Returns its kind (SIM_KIND_*), and writes the first
 * breach into |why| (empty when none). Exposed so a test can show that it catches
 * bad datagrams. */
enum { SIM_KIND_HS = 1, SIM_KIND_APP = 2, SIM_KIND_ALERT = 3, SIM_KIND_MIXED = 4 };
int sim_contract_check(size_t mtu, const uint8_t *dgram, size_t len, size_t prev_len, int prev_kind,
                       char *why, size_t whycap);

/* Print a one-line description of a result (seed, outcome, times, datagrams) to
 * stderr, with how to replay it. */
void sim_print_failure(const char *what, const sim_result *r);

#endif
