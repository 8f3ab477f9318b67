/*
 * reasm.c - reassembly of incoming handshake messages (see flight.h).
 *
 * RFC 6347 §4.2.2: "DTLS implementations maintain (at least notionally) a
 * next_receive_seq counter." Messages from next to next + TERN_REASM_WINDOW - 1
 * are held in a ring of slots, message seq in slot[seq % TERN_REASM_WINDOW]; a
 * slot is taken by the first fragment of its message, whatever its offset. It
 * allocates once, at the length every fragment of the message announces, the body
 * followed by a bitmap with one bit per body byte (set: byte received), and counts
 * the distinct bytes received; the message is complete when that count reaches its
 * length. Overlapping, repeated and out-of-order fragments therefore need no range
 * bookkeeping: each byte is taken once, the first time it arrives.
 *
 * What it keeps true:
 *   - |held| is the sum of the allocations of the used slots and of the message
 *     last popped, and never exceeds |cap|: the cap is checked against the length
 *     a first fragment announces before anything is allocated;
 *   - a slot's bytes never change once received: a later fragment that disagrees
 *     with them (or with the type, length or epoch) is dropped whole;
 *   - only the message at |next| is handed out, and only when complete, so
 *     messages go up in message_seq order, each exactly once.
 */
#include "flight/flight.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t reasm_empty[1]; /* the body of an empty message */

/* see flight.h */
const char *tern_reasm_result_name(int res)
{
    switch (res) {
    case TERN_REASM_STORED: return "stored";
    case TERN_REASM_OLD: return "old";
    case TERN_REASM_TOO_FAR: return "too_far";
    case TERN_REASM_INVALID: return "invalid";
    case TERN_REASM_FULL: return "full";
    default: return "unknown";
    }
}

/* see flight.h */
void tern_reasm_init(tern_reasm *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap ? cap : TERN_REASM_DEFAULT_CAP;
    r->msg_cap = r->cap;
}

static void reasm_free_slot(tern_reasm *r, tern_reasm_slot *s)
{
    free(s->mem);
    r->held -= s->memlen;
    memset(s, 0, sizeof *s);
}

static void reasm_free_popped(tern_reasm *r)
{
    free(r->popped);
    r->held -= r->popped_len;
    r->popped = NULL;
    r->popped_len = 0;
}

/* see flight.h */
void tern_reasm_clear(tern_reasm *r)
{
    for (size_t i = 0; i < TERN_REASM_WINDOW; i++)
        reasm_free_slot(r, &r->slot[i]);
    reasm_free_popped(r);
}

/* see flight.h */
void tern_reasm_set_msg_cap(tern_reasm *r, size_t msg_cap)
{
    r->msg_cap = msg_cap < r->cap ? msg_cap : r->cap;
}

/* Bytes a message of |length| body bytes takes: the body and its bitmap. */
static size_t reasm_mem_len(uint32_t length) { return (size_t)length + (length + 7u) / 8u; }

/* Take a free slot for the message of |hdr| received in |epoch|. */
static tern_reasm_result reasm_open(tern_reasm *r, tern_reasm_slot *s, uint64_t epoch,
                                    const tern_hs_hdr *hdr)
{
    size_t need = reasm_mem_len(hdr->length);
    /* The announced length is checked before it is allocated: a hostile header
     * claiming 16 MiB costs nothing. */
    if (hdr->length > r->msg_cap || need > r->cap - r->held)
        return TERN_REASM_FULL;
    uint8_t *mem = NULL;
    if (need > 0) {
        mem = calloc(1, need);
        if (mem == NULL)
            return TERN_REASM_FULL;
    }
    s->mem = mem;
    s->bits = mem ? mem + hdr->length : NULL;
    s->memlen = need;
    s->epoch = epoch;
    s->length = hdr->length;
    s->have = 0;
    s->msg_seq = hdr->msg_seq;
    s->type = hdr->type;
    s->used = true;
    r->held += need;
    return TERN_REASM_STORED;
}

static bool bit_get(const uint8_t *bits, size_t i) { return bits[i / 8] >> (i % 8) & 1; }

static void bit_set(uint8_t *bits, size_t i) { bits[i / 8] |= (uint8_t)(1u << (i % 8)); }

/* Merge the fragment into |s|: check the bytes already held, then take the new. */
static tern_reasm_result reasm_merge(tern_reasm_slot *s, const tern_hs_hdr *hdr,
                                     const uint8_t *frag)
{
    size_t off = hdr->frag_off, n = hdr->frag_len;
    /* RFC 9147 §5.5: "Senders MUST NOT change handshake message bytes upon
     * retransmission. Receivers MAY check that retransmitted bytes are identical";
     * we do, and drop a fragment that differs before any of it is taken. */
    for (size_t i = 0; i < n; i++)
        if (bit_get(s->bits, off + i) && s->mem[off + i] != frag[i])
            return TERN_REASM_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!bit_get(s->bits, off + i)) {
            bit_set(s->bits, off + i);
            s->mem[off + i] = frag[i];
            s->have++;
        }
    }
    return TERN_REASM_STORED;
}

static tern_reasm_result reasm_push(tern_reasm *r, uint64_t epoch, const tern_hs_hdr *hdr,
                                    const uint8_t *frag)
{
    /* RFC 6347 §4.2.2: "If the sequence number is less than next_receive_seq, the
     * message MUST be discarded. If the sequence number is greater than
     * next_receive_seq, the implementation SHOULD queue the message but MAY
     * discard it." We queue up to the window and discard beyond it. */
    if (hdr->msg_seq < r->next)
        return TERN_REASM_OLD;
    if (hdr->msg_seq - r->next >= TERN_REASM_WINDOW)
        return TERN_REASM_TOO_FAR;
    /* tern_hs_hdr_parse() already refuses these; this module trusts no caller. */
    if (hdr->length > TERN_HS_BODY_MAX || hdr->frag_off > hdr->length ||
        hdr->frag_len > hdr->length - hdr->frag_off || (hdr->frag_len > 0 && frag == NULL))
        return TERN_REASM_INVALID;

    tern_reasm_slot *s = &r->slot[hdr->msg_seq % TERN_REASM_WINDOW];
    if (!s->used) {
        tern_reasm_result res = reasm_open(r, s, epoch, hdr);
        if (res != TERN_REASM_STORED)
            return res;
    } else if (s->type != hdr->type || s->length != hdr->length || s->epoch != epoch) {
        /* RFC 6347 §4.2.3: "The length field in all messages is the same as the
         * length field of the original message." */
        return TERN_REASM_INVALID;
    }
    return reasm_merge(s, hdr, frag);
}

/* see flight.h */
tern_reasm_result tern_reasm_push(tern_reasm *r, uint64_t epoch, const tern_hs_hdr *hdr,
                                  const uint8_t *frag)
{
    tern_reasm_result res = reasm_push(r, epoch, hdr, frag);
    r->count[res]++;
    return res;
}

/* see flight.h */
tern_err tern_reasm_pop(tern_reasm *r, tern_hs_msg_in *msg)
{
    reasm_free_popped(r);
    tern_reasm_slot *s = &r->slot[r->next % TERN_REASM_WINDOW];
    if (!s->used || s->msg_seq != r->next || s->have < s->length)
        return TERN_ERR_AGAIN;
    msg->type = s->type;
    msg->msg_seq = s->msg_seq;
    msg->epoch = s->epoch;
    msg->body = s->mem ? s->mem : reasm_empty;
    msg->len = s->length;
    /* The memory moves to |popped| (still counted in |held|) so the body outlives
     * the slot, which the message next + TERN_REASM_WINDOW may now take. */
    r->popped = s->mem;
    r->popped_len = s->memlen;
    memset(s, 0, sizeof *s);
    r->next++;
    return TERN_OK;
}

/* see flight.h */
uint32_t tern_reasm_next_seq(const tern_reasm *r) { return r->next; }

/* see flight.h */
void tern_reasm_set_next_seq(tern_reasm *r, uint32_t seq)
{
    r->next = seq;
    for (size_t i = 0; i < TERN_REASM_WINDOW; i++) {
        tern_reasm_slot *s = &r->slot[i];
        if (s->used && (s->msg_seq < seq || s->msg_seq - seq >= TERN_REASM_WINDOW))
            reasm_free_slot(r, s);
    }
}
