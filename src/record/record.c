/*
 * record.c - epochs, sealing and the receive iterator of the DTLS record layer;
 * see record.h.
 *
 * Invariants:
 *   - A slot's half is "on" exactly while it holds installed state; a slot with
 *     both halves off is free and all zero. At most one slot holds a given epoch.
 *   - Epochs are installed in increasing order per direction (rd_newest,
 *     wr_newest), so a write key and sequence number are never used twice.
 *   - Sealing touches the caller's writer only once the record is complete: on
 *     any failure the writer and the sequence number are as they were.
 *   - Receiving, a record's replay window moves only after the record
 *     authenticated and passed every check, just before it is handed up.
 *   - Every record that is not handed up as RECORD or FUTURE is counted once under
 *     one reason; a header that cannot be parsed takes the rest of the datagram
 *     with it (a record never spans datagrams, so nothing after it can be found).
 *
 * Where DTLS 1.3 and CIDs plug in: tern_rec_next()'s switch on the first byte
 * (the unified header and tls12_cid cases now drop "unsupported"), a header
 * writer in tern_rec_seal() chosen by the slot's protection kind, and a new
 * kind in protect.c's prot_nonce_aad(). Slots, epochs (64-bit already), the
 * replay windows, counters and the iterator's results stay as they are.
 */
#include "record/record.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ slots */

static bool half_on(const tern_rec_slot *s, tern_rec_dir dir)
{
    return dir == TERN_REC_READ ? s->rd_on : s->wr_on;
}

/* The index of the slot where |dir| of |epoch| is installed, or -1. */
static int slot_index(const tern_rec *rec, tern_rec_dir dir, uint64_t epoch)
{
    for (int i = 0; i < TERN_REC_EPOCH_SLOTS; i++) {
        const tern_rec_slot *s = &rec->slot[i];
        if (half_on(s, dir) && s->epoch == epoch)
            return i;
    }
    return -1;
}

static tern_rec_slot *slot_find(tern_rec *rec, tern_rec_dir dir, uint64_t epoch)
{
    int i = slot_index(rec, dir, epoch);
    return i < 0 ? NULL : &rec->slot[i];
}

/* The slot already holding |epoch| (its other half), else a free one, else NULL. */
static tern_rec_slot *slot_for(tern_rec *rec, uint64_t epoch)
{
    tern_rec_slot *free_slot = NULL;
    for (size_t i = 0; i < TERN_REC_EPOCH_SLOTS; i++) {
        tern_rec_slot *s = &rec->slot[i];
        bool used = s->rd_on || s->wr_on;
        if (used && s->epoch == epoch)
            return s;
        if (!used && free_slot == NULL)
            free_slot = s;
    }
    return free_slot;
}

tern_err tern_rec_init(tern_rec *rec, unsigned replay_window)
{
    if (tern_replay_bytes(replay_window) == 0)
        return TERN_ERR_ARG;
    memset(rec, 0, sizeof *rec);
    rec->window = (uint16_t)(replay_window ? replay_window : TERN_REPLAY_DEFAULT);
    /* Epoch 0: no protection (all-zero tern_prot) and no replay window, in both
     * directions. */
    tern_rec_slot *s = &rec->slot[0];
    s->rd_on = s->wr_on = true;
    return TERN_OK;
}

void tern_rec_clear(tern_rec *rec)
{
    for (size_t i = 0; i < TERN_REC_EPOCH_SLOTS; i++) {
        tern_prot_clear(&rec->slot[i].rd);
        tern_prot_clear(&rec->slot[i].wr);
        free(rec->slot[i].window);
    }
    tern_wipe(rec, sizeof *rec);
}

tern_err tern_rec_install(tern_rec *rec, tern_rec_dir dir, uint64_t epoch,
                          const tern_rec_keys *keys)
{
    uint64_t *newest = dir == TERN_REC_READ ? &rec->rd_newest : &rec->wr_newest;
    if (epoch <= *newest)
        return TERN_ERR_EPOCH;
    if (keys->version == TERN_DTLS12_VERSION && epoch > TERN_DTLS12_EPOCH_MAX)
        return TERN_ERR_EPOCH; /* RFC 6347 §4.1: the epoch must not wrap */
    tern_rec_slot *s = slot_for(rec, epoch);
    if (s == NULL)
        return TERN_ERR_EPOCH;
    tern_replay *window = NULL;
    if (dir == TERN_REC_READ) {
        window = malloc(tern_replay_bytes(rec->window));
        if (window == NULL)
            return TERN_ERR_NOMEM;
        if (tern_replay_init(window, rec->window) != TERN_OK) { /* unreachable: checked at init */
            free(window);
            return TERN_ERR_INTERNAL;
        }
    }
    tern_prot prot;
    tern_err err = tern_prot_init(&prot, keys);
    if (err != TERN_OK) {
        free(window);
        return err;
    }

    s->epoch = epoch;
    if (dir == TERN_REC_READ) {
        s->rd = prot;
        s->window = window;
        s->rd_on = true;
    } else {
        s->wr = prot;
        s->next_seq = 0;
        s->wr_on = true;
    }
    *newest = epoch;
    tern_wipe(&prot, sizeof prot);
    return TERN_OK;
}

tern_err tern_rec_retire(tern_rec *rec, tern_rec_dir dir, uint64_t epoch)
{
    tern_rec_slot *s = slot_find(rec, dir, epoch);
    if (s == NULL)
        return TERN_ERR_EPOCH;
    if (dir == TERN_REC_READ) {
        tern_prot_clear(&s->rd);
        free(s->window);
        s->window = NULL;
        s->rd_on = false;
    } else {
        tern_prot_clear(&s->wr);
        s->next_seq = 0;
        s->wr_on = false;
    }
    if (!s->rd_on && !s->wr_on)
        memset(s, 0, sizeof *s);
    return TERN_OK;
}

bool tern_rec_has_epoch(const tern_rec *rec, tern_rec_dir dir, uint64_t epoch)
{
    return slot_index(rec, dir, epoch) >= 0;
}

const tern_rec_stats *tern_rec_stats_of(const tern_rec *rec) { return &rec->stats; }

const char *tern_rec_drop_name(int reason)
{
    static const char *const names[] = {
#define TERN_X_DROP(name, text) [name] = text,
        TERN_REC_DROP_LIST(TERN_X_DROP)
#undef TERN_X_DROP
    };
    if (reason < 0 || reason >= TERN_REC_DROP_COUNT)
        return "unknown";
    return names[reason];
}

/* ------------------------------------------------------------------ sending */

/* The record version a half sends and requires: epoch 0 sends DTLS 1.2. */
static uint16_t prot_version(const tern_prot *p)
{
    return p->kind == TERN_PROT_NONE ? TERN_DTLS12_VERSION : p->version;
}

tern_err tern_rec_overhead(const tern_rec *rec, uint64_t epoch, size_t *out)
{
    int i = slot_index(rec, TERN_REC_WRITE, epoch);
    if (i < 0)
        return TERN_ERR_EPOCH;
    const tern_rec_slot *s = &rec->slot[i];
    *out = TERN_DTLS12_HDR_LEN + tern_prot_prefix_len(&s->wr) + tern_prot_tag_len(&s->wr);
    return TERN_OK;
}

tern_err tern_rec_seal(tern_rec *rec, uint64_t epoch, uint8_t type, const uint8_t *data,
                       size_t len, tern_wr *w, uint64_t *seq_out)
{
    tern_rec_slot *s = slot_find(rec, TERN_REC_WRITE, epoch);
    if (s == NULL)
        return TERN_ERR_EPOCH;
    if (len > TERN_DTLS_MAX_PLAINTEXT)
        return TERN_ERR_TOO_BIG;
    /* RFC 6347 §4.1: "If a DTLS implementation would need to wrap a sequence
     * number, it MUST renegotiate instead." We never wrap. */
    if (s->next_seq >= TERN_DTLS_SEQ_LIMIT)
        return TERN_ERR_SEQ_EXHAUSTED;
    size_t prefix = tern_prot_prefix_len(&s->wr);
    size_t fraglen = prefix + len + tern_prot_tag_len(&s->wr);
    size_t total = TERN_DTLS12_HDR_LEN + fraglen;
    if (tern_wr_room(w) < total)
        return TERN_ERR_BUF; /* never a partial record: the caller starts a new datagram */

    /* Build in the writer's free space and commit only when complete. The
     * plaintext moves first, so a plaintext built in place where the header goes
     * is not overwritten before it is copied. */
    uint8_t *at = w->buf + w->len;
    uint8_t *frag = at + TERN_DTLS12_HDR_LEN;
    if (len > 0)
        memmove(frag + prefix, data, len);
    tern_hdr12 h = {type, prot_version(&s->wr), (uint16_t)epoch, s->next_seq,
                    (uint16_t)fraglen};
    tern_wr hw = tern_wr_init(at, TERN_DTLS12_HDR_LEN);
    tern_hdr12_write(&hw, &h);
    if (hw.err)
        return TERN_ERR_INTERNAL; /* unreachable: room and sequence number checked */
    if (s->wr.kind != TERN_PROT_NONE) {
        tern_prot_rec pr = {epoch, h.seq, type, h.version};
        tern_err err = tern_prot_seal(&s->wr, &pr, frag, len);
        if (err != TERN_OK)
            return err;
    }
    (void)tern_wr_reserve(w, total); /* cannot fail: room checked above */
    if (seq_out != NULL)
        *seq_out = s->next_seq;
    s->next_seq++;
    rec->stats.sent++;
    return TERN_OK;
}

tern_err tern_rec_set_write_seq(tern_rec *rec, uint64_t epoch, uint64_t seq)
{
    tern_rec_slot *s = slot_find(rec, TERN_REC_WRITE, epoch);
    if (s == NULL)
        return TERN_ERR_EPOCH;
    if (seq < s->next_seq || seq > TERN_DTLS_SEQ_LIMIT)
        return TERN_ERR_ARG;
    s->next_seq = seq;
    return TERN_OK;
}

/* ------------------------------------------------------------------ receiving */

void tern_rec_iter_init(tern_rec_iter *it, tern_rec *rec, uint8_t *dgram, size_t len)
{
    it->rec = rec;
    it->buf = dgram;
    it->len = len;
    it->off = 0;
}

/* Drop the record |out| already describes (data, len) for |reason|. */
static tern_rec_kind drop(tern_rec_iter *it, tern_rec_in *out, tern_rec_drop reason)
{
    /* RFC 6347 §4.1.2.7: "invalid records SHOULD be silently discarded, thus
     * preserving the association"; we count them. */
    it->rec->stats.dropped[reason]++;
    out->kind = TERN_REC_DROPPED;
    out->reason = reason;
    return out->kind;
}

/* Drop everything left in the datagram as one record: its layout is unknown. */
static tern_rec_kind drop_rest(tern_rec_iter *it, tern_rec_in *out, tern_rec_drop reason)
{
    out->data = it->buf + it->off;
    out->len = it->len - it->off;
    it->off = it->len;
    return drop(it, out, reason);
}

static bool version_ok(const tern_prot *p, uint16_t version)
{
    /* Epoch 0 carries ClientHello and HelloVerifyRequest, whose record version
     * stacks set to DTLS 1.0 or 1.2 (RFC 6347 §4.2.1 asks for 1.0 in
     * HelloVerifyRequest); a protected epoch requires its negotiated version. */
    if (p->kind == TERN_PROT_NONE)
        return version == TERN_DTLS10_VERSION || version == TERN_DTLS12_VERSION;
    return version == p->version;
}

/* One record in a DTLS 1.2 header (DTLSPlaintext or DTLSCiphertext). */
static tern_rec_kind rec12_next(tern_rec_iter *it, tern_rec_in *out)
{
    tern_rec *rec = it->rec;
    uint8_t *start = it->buf + it->off;
    tern_rd r = tern_rd_init(start, it->len - it->off), frag_rd;
    tern_hdr12 h;
    if (tern_hdr12_read(&r, &h, &frag_rd) != TERN_OK)
        return drop_rest(it, out, TERN_REC_DROP_BAD_HEADER);
    uint8_t *frag = start + TERN_DTLS12_HDR_LEN;
    it->off += TERN_DTLS12_HDR_LEN + h.length;
    out->data = start;
    out->len = TERN_DTLS12_HDR_LEN + h.length;

    if (h.type == TERN_CT_HEARTBEAT || h.type == TERN_CT_ACK)
        return drop(it, out, TERN_REC_DROP_UNSUPPORTED);

    tern_rec_slot *s = slot_find(rec, TERN_REC_READ, h.epoch);
    if (s == NULL) {
        if (h.epoch <= rec->rd_newest || h.epoch - rec->rd_newest > TERN_REC_FUTURE_SPAN)
            return drop(it, out, TERN_REC_DROP_EPOCH); /* retired, never keyed, too far */
        /* RFC 6347 §4.1: "Implementations MAY buffer or discard packets for
         * future epochs." Hand it back untouched; the caller decides. The same
         * sanity checks as a protected record, so garbage is not buffered. */
        if (h.version != TERN_DTLS12_VERSION)
            return drop(it, out, TERN_REC_DROP_BAD_VERSION);
        if (h.length > TERN_DTLS12_MAX_CIPHERTEXT)
            return drop(it, out, TERN_REC_DROP_BAD_LENGTH);
        out->kind = TERN_REC_FUTURE;
        out->type = h.type;
        out->epoch = h.epoch;
        out->seq = h.seq;
        rec->stats.future++;
        return out->kind;
    }
    if (!version_ok(&s->rd, h.version))
        return drop(it, out, TERN_REC_DROP_BAD_VERSION);

    uint8_t *pt = frag;
    size_t ptlen = h.length;
    if (s->rd.kind == TERN_PROT_NONE) {
        if (h.length > TERN_DTLS_MAX_PLAINTEXT)
            return drop(it, out, TERN_REC_DROP_BAD_LENGTH);
    } else {
        if (h.length > TERN_DTLS12_MAX_CIPHERTEXT ||
            h.length < tern_prot_prefix_len(&s->rd) + tern_prot_tag_len(&s->rd))
            return drop(it, out, TERN_REC_DROP_BAD_LENGTH);
        /* RFC 6347 §4.1.2.6: checked before MAC verification, and "The receive
         * window is updated only if the MAC verification succeeds." */
        if (!tern_replay_check(s->window, h.seq))
            return drop(it, out, TERN_REC_DROP_REPLAY);
        tern_prot_rec pr = {h.epoch, h.seq, h.type, h.version};
        tern_err err = tern_prot_open(&s->rd, &pr, frag, h.length, &pt, &ptlen);
        if (err != TERN_OK)
            return drop(it, out, err == TERN_ERR_BAD_MAC ? TERN_REC_DROP_BAD_MAC
                                                         : TERN_REC_DROP_CRYPTO);
        if (ptlen > TERN_DTLS_MAX_PLAINTEXT)
            return drop(it, out, TERN_REC_DROP_BAD_LENGTH);
        (void)tern_replay_update(s->window, h.seq);
    }
    out->kind = TERN_REC_RECORD;
    out->type = h.type;
    out->epoch = h.epoch;
    out->seq = h.seq;
    out->data = pt;
    out->len = ptlen;
    rec->stats.accepted++;
    return out->kind;
}

tern_rec_kind tern_rec_next(tern_rec_iter *it, tern_rec_in *out)
{
    memset(out, 0, sizeof *out);
    if (it->off >= it->len)
        return out->kind = TERN_REC_END;
    /* Demultiplex on the first byte (RFC 9147 §4.1, Figure 4). */
    switch (it->buf[it->off]) {
    case TERN_CT_CHANGE_CIPHER_SPEC:
    case TERN_CT_ALERT:
    case TERN_CT_HANDSHAKE:
    case TERN_CT_APPLICATION_DATA:
    case TERN_CT_HEARTBEAT:
    case TERN_CT_ACK:
        return rec12_next(it, out);
    case TERN_CT_TLS12_CID:
        /* RFC 9146: the header carries a CID whose length only the connection
         * knows; without CID support nothing after it can be parsed. */
        return drop_rest(it, out, TERN_REC_DROP_UNSUPPORTED);
    default:
        if ((it->buf[it->off] & TERN_DTLS13_UNIFIED_MASK) == TERN_DTLS13_UNIFIED_BITS)
            return drop_rest(it, out, TERN_REC_DROP_UNSUPPORTED); /* RFC 9147 §4: later */
        /* "Otherwise, the record MUST be rejected as if it had failed deprotection" */
        return drop_rest(it, out, TERN_REC_DROP_BAD_HEADER);
    }
}
