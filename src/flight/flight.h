/*
 * flight.h - the flight layer: outgoing flights cut to the MTU and packed into
 * datagrams, incoming handshake fragments reassembled into messages, and the
 * retransmission timer (RFC 6347 §4.2.2-4.2.4, RFC 9147 §5.5 and §5.8).
 *
 * This layer alone knows the MTU and the timers: the handshake state machines hand
 * it whole messages and take whole messages back. Three independent parts, each a
 * struct embedded in its owner (the connection) with _init / _clear:
 *
 *   tern_flight  the flight being sent: the messages of one flight (copied), and a
 *                cursor that tern_flight_fill() moves forward one datagram at a time;
 *   tern_reasm   the peer's handshake messages being received: fragments in any
 *                order, overlapping or repeated, out come whole messages in order;
 *   tern_rtx     the retransmission timer: a deadline and an exponential backoff,
 *                with the time handed in by the caller (no clock here).
 *
 * How the three implement the state machine of RFC 6347 §4.2.4 (RFC 9147 §5.8.1):
 *
 *   PREPARING  The handshake has the peer's flight (tern_reasm_pop() gave its last
 *              message). The caller calls tern_rtx_stop() (the previous flight was
 *              answered; if tern_rtx_count() is 0 it went through without loss and
 *              tern_rtx_reset_backoff() returns to the initial timeout, as RFC 6347
 *              §4.2.4.1 allows), then tern_flight_begin() - which forgets the
 *              previous flight ("emptying the transmission buffer first") - and one
 *              tern_flight_add_*() per message of the new flight.
 *   SENDING    while tern_flight_pending(): tern_flight_fill() one datagram, send
 *              it. Then tern_rtx_arm(now).
 *   WAITING    The caller sleeps until tern_rtx_deadline() or a datagram.
 *                - tern_rtx_expired(now) is true: the timeout has doubled; the
 *                  caller calls tern_flight_rewind() and goes back to SENDING (every
 *                  record is sealed again with a fresh sequence number).
 *                - tern_reasm_push() says TERN_REASM_OLD: the peer repeated a flight
 *                  we already processed, so part of ours was probably lost; the
 *                  caller rewinds and sends again (SENDING), as RFC 6347 §4.2.4
 *                  asks, and may re-arm the timer.
 *                - the peer's next flight arrives: PREPARING (or FINISHED).
 *   FINISHED   The caller keeps the last flight it sent (it simply does not call
 *              tern_flight_begin() again) with the timer stopped. When the peer
 *              repeats its final flight (TERN_REASM_OLD for it), the caller
 *              rewinds and sends ours once more: "the last flight is lost" must not
 *              leave the peer stuck. The side that sends the last flight has no
 *              timer for it (nothing answers it); the side that receives it stops.
 *
 * DTLS 1.3 ACKs (RFC 9147 §7) will live beside these; nothing here depends on the
 * protocol version except the record layer the flight seals with.
 */
#ifndef TERN_FLIGHT_FLIGHT_H
#define TERN_FLIGHT_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/msg.h"
#include "tern/tern.h"
#include "wire.h"

/* The record layer (record/record.h); only flight.c needs its inside. */
typedef struct tern_rec tern_rec;

/* ================================================================== outgoing flights */

#define TERN_FLIGHT_MAX_MSGS 12              /* messages and records in one flight */
#define TERN_FLIGHT_DEFAULT_CAP (64u * 1024) /* body bytes one flight may hold */

/* The largest handshake message body: its length field has 24 bits. */
#define TERN_HS_BODY_MAX ((1u << 24) - 1)

/* The smallest MTU a configuration should accept: every handshake message of a
 * real flight then goes out in fragments of useful size. tern_flight_fill() itself
 * works with any MTU in which a 1-byte fragment fits. */
#define TERN_FLIGHT_MIN_MTU 256

/* One entry of a flight: a handshake message or a single other record. */
typedef struct tern_flight_msg {
    uint64_t epoch;   /* write epoch its records are sealed in */
    uint8_t ct;       /* content type: TERN_CT_HANDSHAKE (22), CHANGE_CIPHER_SPEC, ... */
    uint8_t hs_type;  /* handshake messages: tern_hs_type */
    uint16_t msg_seq; /* handshake messages: message_seq */
    size_t off;       /* where its body starts in the flight's buffer */
    size_t len;       /* body length */
} tern_flight_msg;

/* A flight and the transmission of it under way. Embedded: _init / _clear. */
typedef struct tern_flight {
    uint8_t *buf;    /* the bodies, one after the other; owned, grows up to |cap| */
    size_t used;     /* bytes of |buf| in use */
    size_t alloc;    /* bytes allocated at |buf| */
    size_t cap;      /* the most body bytes one flight may hold */
    tern_flight_msg msg[TERN_FLIGHT_MAX_MSGS];
    size_t nmsgs;
    /* The cursor: the next record to send is fragment |frag| (of |nfrags|, cut
     * from |frag_max| bytes) of msg[cur], starting |sent| bytes into its body. */
    size_t cur;
    size_t sent;
    size_t frag;
    size_t nfrags;
    size_t frag_max;
    uint64_t datagrams; /* datagrams filled since init, for traces */
} tern_flight;

/* Set up an empty flight that will hold at most |cap| bytes of bodies in all
 * (0: TERN_FLIGHT_DEFAULT_CAP). Allocates nothing until a message is added. */
void tern_flight_init(tern_flight *f, size_t cap);

/* Free the flight's memory. |f| needs tern_flight_init() before further use. */
void tern_flight_clear(tern_flight *f);

/* Start a new flight: forget every message of the previous one and any
 * transmission under way, and free its memory (the new flight allocates what it
 * needs, so an association keeps no more than its last flight takes). */
void tern_flight_begin(tern_flight *f);

/* Append handshake message |type| with message_seq |msg_seq| and the |len|-byte
 * body |body| (may be NULL when |len| is 0), to be sealed in write epoch |epoch|.
 * The body is copied: the caller may reuse its buffer at once. Messages go out in
 * the order they were added. May be called while a transmission is under way; the
 * new message then goes out in it.
 * Errors: TERN_ERR_TOO_BIG (the flight's bodies would exceed its cap, or |len| over
 * TERN_HS_BODY_MAX), TERN_ERR_ARG (already TERN_FLIGHT_MAX_MSGS entries),
 * TERN_ERR_NOMEM. Nothing changes on failure. */
TERN_MUST_USE tern_err tern_flight_add_hs(tern_flight *f, uint64_t epoch, uint8_t type,
                                          uint16_t msg_seq, const uint8_t *body, size_t len);

/* Append a ChangeCipherSpec record (RFC 5246 §7.1: its body is the single byte 1),
 * sealed in |epoch| (the epoch before the change). RFC 6347 §4.2.5: it "MUST be
 * treated as part of the same flight as the associated Finished message for the
 * purposes of timeout and retransmission". Errors: as tern_flight_add_hs(). */
TERN_MUST_USE tern_err tern_flight_add_ccs(tern_flight *f, uint64_t epoch);

/* Append one record of content type |ct| carrying the |len| bytes of |data|
 * (copied), for any other record that belongs to the flight and is retransmitted
 * with it. It is never fragmented. Alerts and application data are not flight
 * content: seal them directly. Errors: TERN_ERR_TOO_BIG (|len| over
 * TERN_DTLS_MAX_PLAINTEXT, 2^14, or the cap), TERN_ERR_ARG (full, or |ct| is
 * TERN_CT_HANDSHAKE: use tern_flight_add_hs), TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_flight_add_record(tern_flight *f, uint64_t epoch, uint8_t ct,
                                              const uint8_t *data, size_t len);

/*
 * Seal the records of the next datagram of the transmission into |w|, each with
 * tern_rec_seal() in its entry's epoch, and move the cursor past them. The
 * records go after whatever |w| already holds (usually nothing; a caller may put
 * its own records first), and w->len never exceeds |mtu|: the datagram is the
 * whole of |w|. *more is set to whether another datagram of this transmission
 * remains (tern_flight_pending()).
 *
 * The datagram contract (RFC 6347 §4.1.1: records never span datagrams):
 *   - no datagram exceeds |mtu|, every header counted (record header, explicit
 *     nonce and tag from tern_rec_overhead(), the 12-byte handshake header);
 *   - every record lies whole in one datagram, and carries one whole handshake
 *     fragment (or the whole body of a non-handshake entry);
 *   - records share a datagram while they fit: small messages and the CCS are
 *     packed with what follows;
 *   - a message is fragmented only when it does not fit in an empty datagram, and
 *     then into n = ceil(len / max) fragments of even size (ceil(len / n) or one
 *     less), max being the most body bytes a record of its epoch can carry in an
 *     empty datagram; a message (or fragment) that would fit in an empty datagram
 *     but not in what is left of this one starts the next datagram.
 * The plan of a message is fixed when its first fragment goes out; if |mtu|
 * changes in the middle of a message, the rest of it is cut again for the new one.
 * When |w| already holds records of the caller and the next record does not fit
 * after them, nothing is added (TERN_OK, *more true): send the datagram and call
 * again with an empty one.
 *
 * Errors: TERN_ERR_AGAIN (no transmission under way: nothing to send; |w| is
 * untouched, *more false), TERN_ERR_ARG (w->err set, w->cap < mtu, w already over
 * |mtu|, or |mtu| too small for a 1-byte fragment - or for a whole non-handshake
 * record - of some entry left to send; checked before anything is sealed),
 * TERN_ERR_EPOCH (an entry's write epoch is not installed, checked likewise), and
 * the errors of tern_rec_seal()
 * (TERN_ERR_SEQ_EXHAUSTED, TERN_ERR_CRYPTO). On those last errors the records
 * sealed before the failure are in |w| and the cursor is just past them.
 */
TERN_MUST_USE tern_err tern_flight_fill(tern_flight *f, tern_rec *rec, size_t mtu, tern_wr *w,
                                        bool *more);

/* Restart the transmission: the next tern_flight_fill() begins with the first
 * record of the flight again. Every record is sealed anew with the next sequence
 * number of its epoch (a record number is never used twice: the AEAD nonce must
 * not repeat and the peer's replay window would drop it), in the same epoch as
 * before (RFC 9147 §4.2.1: "Implementations MUST send retransmissions of lost
 * messages using the same epoch and keying material as the original
 * transmission"), carrying the same message bytes (RFC 9147 §5.5: "Senders MUST
 * NOT change handshake message bytes upon retransmission"). A flight with no
 * entries stays with nothing to send. */
void tern_flight_rewind(tern_flight *f);

/* True while a transmission is under way: tern_flight_fill() has more to give.
 * True after adding the first entry of a new flight and after a rewind. */
bool tern_flight_pending(const tern_flight *f);

/* Number of entries in the flight. */
static inline size_t tern_flight_count(const tern_flight *f) { return f->nmsgs; }

/* ================================================================== reassembly */

#define TERN_REASM_WINDOW 8                 /* messages held beyond the next expected */
#define TERN_REASM_DEFAULT_CAP (64u * 1024) /* bytes held for messages being received */

/* What became of a fragment handed to tern_reasm_push(). Every result is counted. */
typedef enum tern_reasm_result {
    TERN_REASM_STORED,   /* kept; or a repeat of bytes already held: harmless */
    TERN_REASM_OLD,      /* msg_seq below the next expected: already processed */
    TERN_REASM_TOO_FAR,  /* msg_seq at or past next + TERN_REASM_WINDOW: dropped */
    TERN_REASM_INVALID,  /* disagrees with what is held for that message: dropped */
    TERN_REASM_FULL,     /* over the byte cap or the message cap: dropped */
    TERN_REASM_RESULT_COUNT
} tern_reasm_result;

/* The short name of |res| ("too_far"), static; "unknown" when out of range. */
const char *tern_reasm_result_name(int res);

/* One message being received. */
typedef struct tern_reasm_slot {
    uint8_t *mem;    /* body (|length| bytes) then the bitmap; NULL when the slot is free */
    uint8_t *bits;   /* bit i set: body byte i received */
    size_t memlen;   /* bytes allocated at |mem|, as counted against the cap */
    uint64_t epoch;
    uint32_t length; /* of the whole body */
    uint32_t have;   /* distinct body bytes received */
    uint16_t msg_seq;
    uint8_t type;
    bool used;
} tern_reasm_slot;

/* A message handed out by tern_reasm_pop(). */
typedef struct tern_hs_msg_in {
    uint8_t type;        /* tern_hs_type */
    uint16_t msg_seq;
    uint64_t epoch;      /* the epoch of the records that carried it */
    const uint8_t *body; /* never NULL, even for an empty body */
    size_t len;
} tern_hs_msg_in;

/* The reassembly state of one association. Embedded: _init / _clear. */
typedef struct tern_reasm {
    tern_reasm_slot slot[TERN_REASM_WINDOW]; /* message seq in slot[seq % WINDOW] */
    uint32_t next;      /* message_seq of the next message to pop */
    size_t cap;         /* bytes all messages may hold together */
    size_t msg_cap;     /* the largest body one message may have */
    size_t held;        /* bytes allocated now, the popped message included */
    uint8_t *popped;    /* memory of the message last popped, freed at the next pop */
    size_t popped_len;
    uint64_t count[TERN_REASM_RESULT_COUNT]; /* fragments by result */
} tern_reasm;

/* Set up empty reassembly expecting message_seq 0, holding at most |cap| bytes
 * (0: TERN_REASM_DEFAULT_CAP) for the messages being received and the one last
 * popped (each message takes its body length plus one bit per byte). A single
 * message may be as large as the cap allows, until tern_reasm_set_msg_cap(). */
void tern_reasm_init(tern_reasm *r, size_t cap);

/* Free everything held. |r| needs tern_reasm_init() before further use. */
void tern_reasm_clear(tern_reasm *r);

/* Lower (or raise, up to the byte cap) the largest body a single message may
 * have; a first fragment announcing a longer one is TERN_REASM_FULL. */
void tern_reasm_set_msg_cap(tern_reasm *r, size_t msg_cap);

/*
 * Take the handshake fragment |hdr| (as parsed by tern_hs_hdr_parse()) whose
 * hdr->frag_len body bytes are at |frag|, received in records of |epoch|. The
 * bytes are copied; |frag| may go away on return.
 *
 * The first fragment of a message allocates its whole body, once, at hdr->length
 * (checked against the caps first: a huge announced length costs nothing). Later
 * fragments must agree on type, length and epoch, and bytes that overlap bytes
 * already held must be equal (RFC 9147 §5.5: "Senders MUST NOT change handshake
 * message bytes upon retransmission"); otherwise the fragment is INVALID and
 * nothing of it is kept. Fragments may come in any order and overlap in any way
 * (RFC 6347 §4.2.3: "DTLS implementations MUST be able to handle overlapping
 * fragment ranges").
 *
 * For a fragment of a message already popped the answer is TERN_REASM_OLD: per RFC
 * 6347 §4.2.4 the peer is retransmitting, so our last flight was probably lost.
 * Allocation failure is counted as TERN_REASM_FULL.
 */
tern_reasm_result tern_reasm_push(tern_reasm *r, uint64_t epoch, const tern_hs_hdr *hdr,
                                  const uint8_t *frag);

/* Hand out the next message in message_seq order if it is complete, and expect the
 * one after it. msg->body stays valid until the next tern_reasm_pop() or
 * tern_reasm_clear() (its memory is freed then).
 * Errors: TERN_ERR_AGAIN (the next message is not complete yet; |msg| untouched). */
TERN_MUST_USE tern_err tern_reasm_pop(tern_reasm *r, tern_hs_msg_in *msg);

/* message_seq of the next message tern_reasm_pop() will hand out (65536 once the
 * last possible message has gone). */
uint32_t tern_reasm_next_seq(const tern_reasm *r);

/* Expect |seq| next: for a server that answered a ClientHello statelessly with a
 * HelloVerifyRequest and continues with message_seq 1 (RFC 6347 §4.2.2). Messages
 * held outside the new window (below |seq| or at |seq| + TERN_REASM_WINDOW and
 * beyond) are dropped; the last popped body stays valid. */
void tern_reasm_set_next_seq(tern_reasm *r, uint32_t seq);

/* Count of fragments that got result |res| since init. */
static inline uint64_t tern_reasm_count(const tern_reasm *r, tern_reasm_result res)
{
    return (unsigned)res < TERN_REASM_RESULT_COUNT ? r->count[res] : 0;
}

/* ================================================================== retransmission timer */

/* RFC 6347 §4.2.4.1: "Implementations SHOULD use an initial timer value of 1
 * second ... and double the value at each retransmission, up to no less than the
 * RFC 6298 maximum of 60 seconds." */
#define TERN_RTX_DEFAULT_INITIAL_MS 1000
#define TERN_RTX_DEFAULT_MAX_MS 60000

/* The retransmission timer: a deadline and the current timeout. Pure: every time
 * is handed in (ms, any origin, never going backwards). Embedded; no _clear. */
typedef struct tern_rtx {
    uint64_t initial;  /* first timeout of a flight after a clean exchange */
    uint64_t max;      /* the timeout never grows past this */
    uint64_t timeout;  /* what the next tern_rtx_arm() waits */
    uint64_t deadline; /* UINT64_MAX when not armed */
    bool armed;
    bool stopped;      /* stopped (or new) rather than fired: the next arm is a new flight */
    uint32_t count;    /* retransmissions of the current flight */
    uint32_t steady;   /* timeouts of a flight that do not double the timeout */
    uint64_t total;    /* retransmissions since init */
} tern_rtx;

/* Set up a stopped timer with timeouts from |initial_ms| doubling up to |max_ms|.
 * 0 means the default (TERN_RTX_DEFAULT_INITIAL_MS, TERN_RTX_DEFAULT_MAX_MS); a
 * |max_ms| below |initial_ms| is raised to it. (RFC 9147 §5.8.2 suggests 400 ms
 * for DTLS-SRTP, longer for constrained networks: the caller's profile decides.)
 * Every timeout doubles (no steady phase) until tern_rtx_set_steady(). */
void tern_rtx_init(tern_rtx *t, uint64_t initial_ms, uint64_t max_ms);

/* Let the first |steady| timeouts of each flight leave the timeout as it is; the
 * ones after double it as usual. A short timer that backs off only once a flight
 * has failed |steady| times rides out random loss at a steady pace, and still
 * backs off exponentially from a peer that has gone or a path that has clogged
 * (RFC 9147 §5.8.2: shorter timers are a profile's choice; docs/ROBUSTNESS.md has
 * the measurements). 0, the initial setting, doubles at every timeout. */
static inline void tern_rtx_set_steady(tern_rtx *t, uint32_t steady) { t->steady = steady; }

/* A flight (first transmission or retransmission) has just been sent at |now|:
 * the deadline becomes now + the current timeout (UINT64_MAX if that overflows).
 * Arming after tern_rtx_stop() (or init) starts a new flight: the count of
 * retransmissions goes back to 0. */
void tern_rtx_arm(tern_rtx *t, uint64_t now);

/* When the caller must call tern_rtx_expired() next; UINT64_MAX when not armed. */
static inline uint64_t tern_rtx_deadline(const tern_rtx *t)
{
    return t->armed ? t->deadline : UINT64_MAX;
}

/* True when the timer is armed and |now| has reached its deadline. Then the
 * timer disarms, the timeout doubles (at most the max; not during the steady
 * phase, see tern_rtx_set_steady) and the count of retransmissions goes up: the
 * caller rewinds the flight, sends it again and calls tern_rtx_arm(). False (and
 * no change) otherwise. */
bool tern_rtx_expired(tern_rtx *t, uint64_t now);

/* The peer's next flight arrived: disarm. tern_rtx_count() keeps its value until
 * the next arm, so the caller can tell whether this flight needed retransmission. */
void tern_rtx_stop(tern_rtx *t);

/* Back to the initial timeout. RFC 6347 §4.2.4.1: "Implementations SHOULD retain
 * the current timer value until a transmission without loss occurs, at which time
 * the value may be reset to the initial value." Does not change the deadline. */
void tern_rtx_reset_backoff(tern_rtx *t);

/* Retransmissions of the current flight (since the first arm after a stop). */
static inline uint32_t tern_rtx_count(const tern_rtx *t) { return t->count; }

/* Retransmissions since init. */
static inline uint64_t tern_rtx_total(const tern_rtx *t) { return t->total; }

/* The timeout the next arm will use. */
static inline uint64_t tern_rtx_timeout(const tern_rtx *t) { return t->timeout; }

#endif /* TERN_FLIGHT_FLIGHT_H */
