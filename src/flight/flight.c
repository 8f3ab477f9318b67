/*
 * flight.c - outgoing flights, cut to the MTU and packed into datagrams (see
 * flight.h).
 *
 * A flight is a list of entries (handshake messages, a ChangeCipherSpec, other
 * records) whose bodies are copied one after the other into one buffer the flight
 * owns; the buffer grows by doubling, never past the flight's cap, and is freed
 * when the next flight begins. A transmission is a cursor over the entries; tern_flight_fill()
 * seals records at the cursor into the caller's datagram until the next one would
 * not fit, and tern_flight_rewind() puts the cursor back at the start.
 *
 * Cutting a handshake message: with |max| the most body bytes one record of its
 * epoch can carry in an EMPTY datagram (mtu - record overhead - 12-byte handshake
 * header, and never more than a record's 2^14-byte plaintext allows), a message of
 * |len| bytes goes as n = ceil(len / max) fragments (1 for an empty body), the
 * first len % n of them one byte longer than the others: even sizes, never "full
 * fragments and a tiny tail". The plan depends only on |len| and |max|, so each
 * fragment fits in an empty datagram by construction; packing is then greedy: a
 * record goes into the current datagram if it fits in what is left, otherwise the
 * datagram is done and the record opens the next one. One fragment per record.
 *
 * What it keeps true:
 *   - a record is sealed only after checking that it fits, and tern_rec_seal()
 *     refuses (TERN_ERR_BUF, writer untouched) anything past the writer's limit,
 *     which is |mtu|: no datagram exceeds the MTU and no record spans two
 *     (RFC 6347 §4.1.1: "Each DTLS record MUST fit within a single datagram");
 *   - before a datagram is started, every entry left is checked to fit an empty
 *     datagram at this MTU and to have its epoch installed, so fill never makes
 *     a datagram it cannot finish and never loops without progress;
 *   - message bytes never change between transmissions (RFC 9147 §5.5: "Senders
 *     MUST NOT change handshake message bytes upon retransmission"); the records
 *     that carry them are sealed anew each time, with new sequence numbers.
 */
#include "flight/flight.h"

#include <stdlib.h>
#include <string.h>

#include "record/record.h"

/* RFC 5246 §7.1: the ChangeCipherSpec message is "a single byte of value 1". */
#define FLIGHT_CCS_BYTE 1

/* see flight.h */
void tern_flight_init(tern_flight *f, size_t cap)
{
    memset(f, 0, sizeof *f);
    f->cap = cap ? cap : TERN_FLIGHT_DEFAULT_CAP;
}

/* see flight.h */
void tern_flight_clear(tern_flight *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* The cursor at the start of the flight, with no fragment plan yet. */
static void flight_cursor_reset(tern_flight *f)
{
    f->cur = 0;
    f->sent = 0;
    f->frag = 0;
    f->nfrags = 0;
    f->frag_max = 0;
}

/* see flight.h */
void tern_flight_begin(tern_flight *f)
{
    /* The buffer grew to the largest flight so far (a certificate chain); keeping it
     * would make every idle association hold that much for its last, small flight. */
    free(f->buf);
    f->buf = NULL;
    f->alloc = 0;
    f->used = 0;
    f->nmsgs = 0;
    flight_cursor_reset(f);
}

/* see flight.h */
void tern_flight_rewind(tern_flight *f) { flight_cursor_reset(f); }

/* see flight.h */
bool tern_flight_pending(const tern_flight *f) { return f->cur < f->nmsgs; }

/* Append an entry; |len| bytes of |data| are copied into the flight's buffer. */
static tern_err flight_add(tern_flight *f, uint64_t epoch, uint8_t ct, uint8_t hs_type,
                           uint16_t msg_seq, const uint8_t *data, size_t len)
{
    if (f->nmsgs == TERN_FLIGHT_MAX_MSGS)
        return TERN_ERR_ARG;
    if (len > f->cap - f->used)
        return TERN_ERR_TOO_BIG;
    if (len > 0 && data == NULL)
        return TERN_ERR_ARG;
    if (f->used + len > f->alloc) {
        size_t n = f->alloc ? f->alloc : 256;
        while (n < f->used + len)
            n = n > f->cap / 2 ? f->cap : n * 2;
        uint8_t *p = realloc(f->buf, n);
        if (p == NULL)
            return TERN_ERR_NOMEM;
        f->buf = p;
        f->alloc = n;
    }
    if (len > 0)
        memcpy(f->buf + f->used, data, len);
    f->msg[f->nmsgs] = (tern_flight_msg){epoch, ct, hs_type, msg_seq, f->used, len};
    f->nmsgs++;
    f->used += len;
    return TERN_OK;
}

/* see flight.h */
tern_err tern_flight_add_hs(tern_flight *f, uint64_t epoch, uint8_t type, uint16_t msg_seq,
                            const uint8_t *body, size_t len)
{
    if (len > TERN_HS_BODY_MAX)
        return TERN_ERR_TOO_BIG;
    return flight_add(f, epoch, TERN_CT_HANDSHAKE, type, msg_seq, body, len);
}

/* see flight.h */
tern_err tern_flight_add_ccs(tern_flight *f, uint64_t epoch)
{
    static const uint8_t ccs[1] = {FLIGHT_CCS_BYTE};
    return flight_add(f, epoch, TERN_CT_CHANGE_CIPHER_SPEC, 0, 0, ccs, sizeof ccs);
}

/* see flight.h */
tern_err tern_flight_add_record(tern_flight *f, uint64_t epoch, uint8_t ct, const uint8_t *data,
                                size_t len)
{
    if (ct == TERN_CT_HANDSHAKE)
        return TERN_ERR_ARG;
    if (len > TERN_DTLS_MAX_PLAINTEXT)
        return TERN_ERR_TOO_BIG;
    return flight_add(f, epoch, ct, 0, 0, data, len);
}

/* The most body bytes of |m| one record can carry in an empty datagram of |mtu|
 * bytes, given the record overhead |ovh| of its epoch; 0 when not even one byte
 * fits (for a non-handshake entry: when its whole body does not fit). */
static size_t flight_max_body(const tern_flight_msg *m, size_t mtu, size_t ovh)
{
    size_t hdr = m->ct == TERN_CT_HANDSHAKE ? TERN_HS_HDR_LEN : 0;
    if (mtu <= ovh + hdr)
        return 0;
    size_t max = mtu - ovh - hdr;
    if (max > TERN_DTLS_MAX_PLAINTEXT - hdr)
        max = TERN_DTLS_MAX_PLAINTEXT - hdr; /* RFC 5246 §6.2.1: at most 2^14 */
    if (m->ct != TERN_CT_HANDSHAKE)
        return m->len <= max ? max : 0;
    return max;
}

/* Check that every entry from the cursor on can go out at this MTU. */
static tern_err flight_check(const tern_flight *f, const tern_rec *rec, size_t mtu)
{
    for (size_t i = f->cur; i < f->nmsgs; i++) {
        size_t ovh;
        tern_err err = tern_rec_overhead(rec, f->msg[i].epoch, &ovh);
        if (err != TERN_OK)
            return err;
        if (flight_max_body(&f->msg[i], mtu, ovh) == 0)
            return TERN_ERR_ARG;
    }
    return TERN_OK;
}

/* Cut what is left of the current message into even fragments of at most |max|
 * bytes: from the cursor, nfrags - frag fragments remain. Planned before the first
 * fragment, this is the plan of the whole message; planned again in the middle (the
 * MTU changed), it cuts the rest for the new MTU. */
static void flight_plan(tern_flight *f, size_t max)
{
    size_t left = f->msg[f->cur].len - f->sent;
    size_t n = left == 0 ? 1 : (left + max - 1) / max;
    f->frag = 0;
    f->nfrags = n;
    f->frag_max = max;
}

/* Size of the fragment at the cursor: the rest of the message split evenly over
 * the fragments that remain, larger ones first. */
static size_t flight_frag_len(const tern_flight *f)
{
    size_t left = f->msg[f->cur].len - f->sent;
    size_t n = f->nfrags - f->frag;
    return (left + n - 1) / n;
}

/* Seal the handshake fragment at the cursor into |w|. */
static tern_err flight_seal_hs(tern_flight *f, tern_rec *rec, const tern_flight_msg *m,
                               size_t flen, tern_wr *w)
{
    /* The plaintext (handshake header and fragment) is built in |w|'s free space,
     * where the record will go; tern_rec_seal() moves it into place before it
     * writes the record header over it. It fits: the caller checked that the whole
     * record does. */
    tern_wr pt = tern_wr_init(w->buf + w->len, w->cap - w->len);
    tern_hs_hdr h = {m->hs_type, (uint32_t)m->len, m->msg_seq, (uint32_t)f->sent,
                     (uint32_t)flen};
    tern_err err = tern_hs_hdr_build(&pt, &h);
    if (err != TERN_OK)
        return TERN_ERR_INTERNAL; /* unreachable: lengths checked when added */
    tern_wr_bytes(&pt, f->buf + m->off + f->sent, flen);
    if (pt.err)
        return TERN_ERR_INTERNAL;
    return tern_rec_seal(rec, m->epoch, TERN_CT_HANDSHAKE, pt.buf, pt.len, w, NULL);
}

/* see flight.h */
tern_err tern_flight_fill(tern_flight *f, tern_rec *rec, size_t mtu, tern_wr *w, bool *more)
{
    *more = tern_flight_pending(f);
    if (!*more)
        return TERN_ERR_AGAIN;
    if (w->err || w->cap < mtu || w->len > mtu)
        return TERN_ERR_ARG;
    tern_err err = flight_check(f, rec, mtu);
    if (err != TERN_OK)
        return err;

    /* The datagram is |w| cut at |mtu|: tern_rec_seal() cannot write past it. */
    tern_wr dg = tern_wr_init(w->buf, mtu);
    dg.len = w->len;
    size_t start = w->len;
    while (f->cur < f->nmsgs) {
        const tern_flight_msg *m = &f->msg[f->cur];
        size_t ovh;
        if ((err = tern_rec_overhead(rec, m->epoch, &ovh)) != TERN_OK)
            break; /* unreachable: checked above */
        size_t max = flight_max_body(m, mtu, ovh);
        size_t need, flen = m->len;
        if (m->ct == TERN_CT_HANDSHAKE) {
            /* A new message, or the MTU changed since its plan was made. */
            if (f->nfrags == 0 || f->frag_max != max)
                flight_plan(f, max);
            flen = flight_frag_len(f);
            need = ovh + TERN_HS_HDR_LEN + flen;
        } else {
            need = ovh + m->len;
        }
        if (need > tern_wr_room(&dg))
            break; /* the next datagram; an empty one has room, as checked above */
        if (m->ct == TERN_CT_HANDSHAKE)
            err = flight_seal_hs(f, rec, m, flen, &dg);
        else
            err = tern_rec_seal(rec, m->epoch, m->ct, f->buf + m->off, m->len, &dg, NULL);
        if (err != TERN_OK)
            break;
        if (m->ct == TERN_CT_HANDSHAKE && ++f->frag < f->nfrags) {
            f->sent += flen;
            continue;
        }
        f->cur++;
        f->sent = 0;
        f->frag = 0;
        f->nfrags = 0;
        f->frag_max = 0;
    }
    w->len = dg.len;
    if (dg.len > start)
        f->datagrams++;
    *more = tern_flight_pending(f);
    return err;
}
