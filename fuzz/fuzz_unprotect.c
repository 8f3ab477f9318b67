/*
 * fuzz_unprotect.c - protected records through the receive iterator: explicit
 * nonces, tag checks, the replay window and the length caps, for each AEAD.
 *
 * The reader is a tern_rec with epoch 0 and, for reading, epoch 1 keyed with a
 * fixed key of the AEAD the first input byte picks. Its datagram comes one of two
 * ways:
 *   raw     the rest of the input is the datagram;
 *   sealed  the rest of the input is a script: a writer tern_rec keyed the same way
 *           seals the script's records into one datagram, then the script flips
 *           bytes and cuts the end, so the fuzzer reaches the accept path and every
 *           check after it as easily as the reject paths before it. A script can
 *           also forge records: any header and length (past the caps, which a raw
 *           input would need 16 KiB to reach), sealed or not with the fixed key by
 *           this file's own RFC 5288 / RFC 7905 construction, with an explicit
 *           nonce of its choice: a peer may send any nonce_explicit.
 *
 *   byte 0    bits 0-2: AEAD (mod 5); bits 3-4: replay window (64, 32, 1024, 100);
 *             bit 6: deliver the datagram twice (a replay); bit 7: sealed
 *   script    u8: bits 0-2 records - 1, bits 3-5 flips, bit 6 cut, bit 7 1200-byte datagram
 *             per record, u8 op: bit 7 epoch 0 (else 1); bit 6 repeat the previous
 *               record's bytes (nothing else read); bit 5 forge (below); bits 0-2 content type (see
 *               op_types; 7 takes the next byte); then u8 sequence jump (below
 *               0xf0: skip that many numbers; else go to 2^48 - 15 + low nibble, where
 *               2^48 is exhausted), and u16 length (bit 15: a generated plaintext
 *               of that many bytes, else that many bytes of the input, as far as it
 *               goes)
 *             forge: u8 type, u16 version, u16 epoch, u16 seq, u16 length, u8 nonce
 *               (0: epoch||seq as tern sends it, else a pattern from it); op bit 7:
 *               sealed (when the length holds a nonce and a tag)
 *             per flip: u16 position (mod datagram length), u8 xor mask
 *             cut: u16 new length (mod datagram length + 1)
 *             Bytes past the end of the input read as zero.
 *
 * Checks, on top of fuzz_record.c's (results tile the datagram in order, each with
 * the kind and reason record.h's check order gives it, data inside the datagram,
 * the iterator ends, counters add up):
 *   - the replay window, against a model of RFC 6347 §4.1.2.6: a record is refused
 *     as a replay exactly when it is a duplicate or left of the window, and an
 *     epoch 1 sequence number is never delivered twice;
 *   - the backend never fails ("crypto"); a plaintext over 2^14 only after a tag
 *     that verified;
 *   - an epoch 1 RECORD of a sealed datagram is one that was sealed: sequence
 *     number, type and plaintext (no forgery got through);
 *   - with nothing flipped or cut, every sealed record comes out as it went in (or
 *     as a replay of one already delivered): nothing fails authentication but the
 *     forged records left unsealed;
 *   - the writer keeps tern_rec_seal's promises: the error its checks predict,
 *     exactly tern_rec_overhead() more bytes and consecutive sequence numbers on
 *     success, and nothing of the datagram changed on failure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "record_model.h"
#include "crypto/crypto.h"
#include "record/record.h"


#define MAX_RECORDS 8
#define MAX_RECORD_LEN                                                                             \
    (HDR + TERN_DTLS12_EXPLICIT_NONCE_LEN + TERN_DTLS_MAX_PLAINTEXT + 1 + TERN_AEAD_MAX_TAG_LEN)
#define SMALL_DATAGRAM 1200

static const tern_aead_alg algs[] = {
    TERN_AEAD_AES_128_GCM, TERN_AEAD_AES_256_GCM,   TERN_AEAD_CHACHA20_POLY1305,
    TERN_AEAD_AES_128_CCM, TERN_AEAD_AES_128_CCM_8,
};
static const unsigned windows[] = {0, 32, 1024, 100};
static const uint8_t op_types[] = {
    TERN_CT_HANDSHAKE,          TERN_CT_APPLICATION_DATA, TERN_CT_ALERT,
    TERN_CT_CHANGE_CIPHER_SPEC, TERN_CT_HEARTBEAT,        TERN_CT_ACK,
    TERN_CT_TLS12_CID,
};

/* The fixed key of |alg|; the seed corpus was sealed with the same bytes. */
static void fixed_keys(tern_aead_alg alg, uint8_t key[TERN_AEAD_MAX_KEY_LEN],
                       uint8_t iv[TERN_AEAD_NONCE_LEN], tern_rec_keys *k)
{
    for (size_t i = 0; i < TERN_AEAD_MAX_KEY_LEN; i++)
        key[i] = (uint8_t)(0x40 + 16 * alg + i);
    for (size_t i = 0; i < TERN_AEAD_NONCE_LEN; i++)
        iv[i] = (uint8_t)(0xa0 + 16 * alg + i);
    k->version = TERN_DTLS12_VERSION;
    k->alg = alg;
    k->key = key;
    k->iv = iv;
    k->iv_len = alg == TERN_AEAD_CHACHA20_POLY1305 ? TERN_AEAD_NONCE_LEN : TERN_DTLS12_SALT_LEN;
}

static uint8_t take8(tern_rd *r)
{
    uint8_t v = 0;
    (void)tern_rd_u8(r, &v);
    return v;
}

static uint16_t take16(tern_rd *r)
{
    return (uint16_t)(take8(r) << 8 | take8(r));
}

/* ------------------------------------------------------------------ the model */

/* The epoch 1 replay window as RFC 6347 §4.1.2.6 describes it: the sequence numbers
 * accepted so far, and the highest. */
typedef struct window_model {
    uint64_t *seen;
    size_t n, cap;
    uint64_t top;
    uint64_t size;
} window_model;

static bool window_new(const window_model *w, uint64_t seq)
{
    if (w->n == 0 || seq > w->top)
        return true;
    if (seq + w->size <= w->top)
        return false; /* left of the window */
    for (size_t i = 0; i < w->n; i++) {
        if (w->seen[i] == seq)
            return false;
    }
    return true;
}

static void window_add(window_model *w, uint64_t seq)
{
    CHECK(w->n < w->cap);
    w->seen[w->n++] = seq;
    if (seq > w->top)
        w->top = seq;
}

/* ------------------------------------------------------------------ sealing */

typedef struct sealed {
    uint16_t epoch;
    uint64_t seq;
    uint8_t type;
    const uint8_t *pt; /* what a RECORD of it carries */
    size_t len;
    size_t off, size; /* the record in the datagram */
    bool authentic;   /* false: forged in epoch 1 and not sealed */
} sealed;

typedef struct run {
    tern_aead_alg alg;
    size_t prefix, tag;
    bool is_sealed, mutated;
    sealed rec[MAX_RECORDS];
    size_t nrec;    /* records in the datagram, copies included */
    size_t nsealed; /* tern_rec_seal() calls that succeeded */
    window_model win;
    tern_aead *aead; /* forged records are sealed with this, made on first use */
    uint8_t key[TERN_AEAD_MAX_KEY_LEN], iv[TERN_AEAD_NONCE_LEN];
    uint64_t seen[4], dropped[TERN_REC_DROP_COUNT];
} run;

static uint8_t dgram[MAX_RECORDS * MAX_RECORD_LEN];
static uint8_t committed[sizeof dgram]; /* what the writer had written, to compare */
static uint8_t pool[MAX_RECORDS][UINT16_MAX + 1];

/* Forge one record of the script: header, generated body, and perhaps a seal that
 * follows the RFCs, not protect.c: for GCM and CCM (RFC 5288 §3, RFC 6655 §3)
 *   nonce = salt(4) || nonce_explicit(8, sent first in the fragment),
 * for ChaCha20-Poly1305 (RFC 7905 §2) nonce = IV xor (0^32 || epoch || seq), and
 *   additional_data = epoch(2) || seq(6) || type || version || plaintext length(2). */
static void forge_one(run *ru, uint8_t op, tern_wr *w, tern_rd *in)
{
    uint8_t type = take8(in);
    uint16_t version = take16(in), epoch = take16(in), seq = take16(in), length = take16(in);
    uint8_t nonce_pick = take8(in);
    size_t size = HDR + (size_t)length;
    uint8_t *at = tern_wr_room(w) >= size ? tern_wr_reserve(w, size) : NULL;
    if (at == NULL)
        return;
    uint8_t hdr[HDR];
    tern_wr hw = tern_wr_init(hdr, sizeof hdr);
    tern_wr_u8(&hw, type);
    tern_wr_u16(&hw, version);
    tern_wr_u16(&hw, epoch);
    tern_wr_u48(&hw, seq);
    tern_wr_u16(&hw, length);
    CHECK(!hw.err && hw.len == HDR);
    memcpy(at, hdr, HDR);
    uint8_t *frag = at + HDR;
    bool seal = (op & 0x80) && length >= ru->prefix + ru->tag;
    size_t ptlen = seal ? length - ru->prefix - ru->tag : length;
    uint8_t *pt = frag + (seal ? ru->prefix : 0);
    for (size_t i = 0; i < ptlen; i++)
        pt[i] = (uint8_t)(ru->nrec + 7 * i);
    sealed s = {epoch, seq, type, frag, length, (size_t)(at - dgram), size, true};
    if (seal) {
        if (ru->aead == NULL)
            CHECK(tern_aead_new(ru->alg, ru->key, &ru->aead) == TERN_OK);
        uint8_t nonce[TERN_AEAD_NONCE_LEN], aad[TERN_DTLS12_AAD_LEN];
        tern_store16(aad, epoch);
        tern_store48(aad + 2, seq);
        aad[8] = type;
        tern_store16(aad + 9, version);
        tern_store16(aad + 11, (uint16_t)ptlen);
        if (ru->prefix > 0) {
            for (size_t i = 0; i < ru->prefix; i++) /* aad starts with epoch || seq */
                frag[i] = nonce_pick ? (uint8_t)(nonce_pick + 13 * i) : aad[i];
            memcpy(nonce, ru->iv, TERN_DTLS12_SALT_LEN);
            memcpy(nonce + TERN_DTLS12_SALT_LEN, frag, ru->prefix);
        } else {
            for (size_t i = 0; i < TERN_AEAD_NONCE_LEN; i++)
                nonce[i] = ru->iv[i] ^ (i < 4 ? 0 : aad[i - 4]);
        }
        memcpy(pool[ru->nrec], pt, ptlen);
        CHECK(tern_aead_seal(ru->aead, nonce, aad, sizeof aad, pt, ptlen, pt) == TERN_OK);
        if (epoch == 1) {
            s.pt = pool[ru->nrec];
            s.len = ptlen;
        }
    } else {
        s.authentic = epoch != 1;
    }
    memcpy(committed + s.off, at, size);
    ru->rec[ru->nrec++] = s;
}

/* Seal one record of the script, or copy the previous one. */
static void seal_one(run *ru, tern_rec *tx, uint64_t next[2], tern_wr *w, tern_rd *in)
{
    uint8_t op = take8(in);
    if (op & 0x40) {
        if (ru->nrec == 0)
            return;
        sealed prev = ru->rec[ru->nrec - 1];
        uint8_t *at = tern_wr_room(w) >= prev.size ? tern_wr_reserve(w, prev.size) : NULL;
        if (at == NULL)
            return;
        memcpy(at, dgram + prev.off, prev.size);
        memcpy(committed + (size_t)(at - dgram), at, prev.size);
        prev.off = (size_t)(at - dgram);
        ru->rec[ru->nrec++] = prev;
        return;
    }
    if (op & 0x20) {
        forge_one(ru, op, w, in);
        return;
    }
    uint16_t epoch = (op & 0x80) ? 0 : 1;
    uint8_t type = (op & 7) < sizeof op_types ? op_types[op & 7] : take8(in);

    uint8_t jump = take8(in);
    uint64_t target = jump < 0xf0 ? next[epoch] + jump : TERN_DTLS_SEQ_LIMIT - 15 + (jump & 0xf);
    tern_err err = tern_rec_set_write_seq(tx, epoch, target);
    bool ok = target >= next[epoch] && target <= TERN_DTLS_SEQ_LIMIT;
    CHECK(err == (ok ? TERN_OK : TERN_ERR_ARG));
    if (ok)
        next[epoch] = target;

    uint16_t want = take16(in);
    uint8_t *pt = pool[ru->nrec];
    size_t len;
    if (want & 0x8000) {
        len = want & 0x7fff;
        if (len > TERN_DTLS_MAX_PLAINTEXT + 1)
            len = TERN_DTLS_MAX_PLAINTEXT + 1;
        for (size_t i = 0; i < len; i++)
            pt[i] = (uint8_t)(ru->nrec + 7 * i);
    } else {
        len = want < tern_rd_left(in) ? want : tern_rd_left(in);
        CHECK(tern_rd_copy(in, pt, len));
    }

    size_t over;
    CHECK(tern_rec_overhead(tx, epoch, &over) == TERN_OK);
    CHECK(over == HDR + (epoch ? ru->prefix + ru->tag : 0));
    tern_err predict = len > TERN_DTLS_MAX_PLAINTEXT        ? TERN_ERR_TOO_BIG
                       : next[epoch] >= TERN_DTLS_SEQ_LIMIT ? TERN_ERR_SEQ_EXHAUSTED
                       : tern_wr_room(w) < len + over       ? TERN_ERR_BUF
                                                            : TERN_OK;
    size_t before = w->len;
    uint64_t seq = UINT64_MAX;
    err = tern_rec_seal(tx, epoch, type, pt, len, w, &seq);
    CHECK(err == predict);
    if (err != TERN_OK) {
        /* "On any failure |w| (len and err) and the sequence number are exactly as
         * they were" - and nothing already in the datagram was touched. */
        CHECK(w->len == before && !w->err && seq == UINT64_MAX);
        CHECK(memcmp(dgram, committed, before) == 0);
        return;
    }
    CHECK(w->len == before + len + over && seq == next[epoch]);
    memcpy(committed + before, dgram + before, len + over);
    next[epoch]++;
    ru->nsealed++;
    ru->rec[ru->nrec++] = (sealed){epoch, seq, type, pt, len, before, len + over, true};
}

/* Build the datagram of a sealed input into |dgram|; returns its length. */
static size_t build(run *ru, const tern_rec_keys *keys, tern_rd *in)
{
    tern_rec tx;
    CHECK(tern_rec_init(&tx, 0) == TERN_OK);
    CHECK(tern_rec_install(&tx, TERN_REC_WRITE, 1, keys) == TERN_OK);
    uint8_t ctl = take8(in);
    size_t nops = 1 + (ctl & 7), flips = (ctl >> 3) & 7;
    tern_wr w = tern_wr_init(dgram, (ctl & 0x80) ? SMALL_DATAGRAM : sizeof dgram);
    uint64_t next[2] = {0, 0};
    for (size_t i = 0; i < nops; i++)
        seal_one(ru, &tx, next, &w, in);
    CHECK(tern_rec_stats_of(&tx)->sent == ru->nsealed);
    tern_rec_clear(&tx);

    size_t len = w.len;
    for (size_t i = 0; i < flips; i++) {
        uint16_t pos = take16(in);
        uint8_t mask = take8(in);
        if (len == 0 || mask == 0)
            continue;
        dgram[pos % len] ^= mask;
        ru->mutated = true;
    }
    if (ctl & 0x40) {
        size_t cut = take16(in) % (len + 1);
        ru->mutated |= cut != len;
        len = cut;
    }
    return len;
}

/* ------------------------------------------------------------------ receiving */

/* The sealed record an epoch 1 RECORD must be. */
static bool was_sealed(const run *ru, const tern_rec_in *in)
{
    for (size_t i = 0; i < ru->nrec; i++) {
        const sealed *s = &ru->rec[i];
        if (s->epoch == 1 && s->authentic && s->seq == in->seq && s->type == in->type &&
            s->len == in->len && memcmp(s->pt, in->data, in->len) == 0)
            return true;
    }
    return false;
}

/* Feed the |len| bytes of |orig| (not changed) to |rx| as one datagram. */
static void deliver(run *ru, tern_rec *rx, const uint8_t *orig, size_t len)
{
    uint8_t *buf = malloc(len ? len : 1); /* its own size, so ASan sees any over-read */
    if (buf == NULL)
        abort();
    memcpy(buf, orig, len);
    tern_rec_iter it;
    tern_rec_iter_init(&it, rx, buf, len);
    size_t off = 0;
    tern_rec_in in;
    for (size_t n = 0;; n++) {
        CHECK(n <= len);
        tern_rec_kind kind = tern_rec_next(&it, &in);
        CHECK(kind == in.kind);
        if (kind == TERN_REC_END) {
            CHECK(off == len);
            break;
        }
        CHECK(off < len);
        CHECK(in.data >= buf && in.len <= len && (size_t)(in.data - buf) <= len - in.len);

        expect e;
        model(orig + off, len - off, 1, ru->prefix + ru->tag, &e);
        const uint8_t *start = buf + off;
        /* Sealed and untouched: the n-th result is the n-th record sealed. */
        const sealed *s = NULL;
        if (ru->is_sealed && !ru->mutated) {
            CHECK(n < ru->nrec && ru->rec[n].off == off);
            s = &ru->rec[n];
        }
        if (e.auth) {
            bool fresh = window_new(&ru->win, e.seq);
            if (!fresh) {
                CHECK(kind == TERN_REC_DROPPED && in.reason == TERN_REC_DROP_REPLAY);
            } else if (kind == TERN_REC_DROPPED) {
                /* Over 2^14 is found only once decrypted; an untouched sealed
                 * record always authenticates. */
                CHECK(in.reason == TERN_REC_DROP_BAD_MAC ||
                      (in.reason == TERN_REC_DROP_BAD_LENGTH &&
                       e.length - ru->prefix - ru->tag > TERN_DTLS_MAX_PLAINTEXT));
                CHECK(in.reason != TERN_REC_DROP_BAD_MAC || s == NULL || !s->authentic);
            } else {
                CHECK(kind == TERN_REC_RECORD);
                CHECK(in.data == start + HDR + ru->prefix);
                CHECK(in.len == e.length - ru->prefix - ru->tag);
                CHECK(in.type == e.type && in.epoch == 1 && in.seq == e.seq);
                CHECK(!ru->is_sealed || was_sealed(ru, &in));
                window_add(&ru->win, e.seq);
            }
        } else {
            CHECK(kind == e.kind);
        }
        switch (kind) {
        case TERN_REC_RECORD:
            if (!e.auth) {
                CHECK(in.data == start + HDR && in.len == e.length);
                CHECK(memcmp(in.data, orig + off + HDR, in.len) == 0);
                CHECK(in.type == e.type && in.epoch == 0 && in.seq == e.seq);
            }
            if (s != NULL) {
                CHECK(in.epoch == s->epoch && in.seq == s->seq && in.type == s->type);
                CHECK(in.len == s->len && memcmp(in.data, s->pt, s->len) == 0);
            }
            break;
        case TERN_REC_FUTURE:
            CHECK(in.data == start && in.len == e.span);
            CHECK(memcmp(in.data, orig + off, in.len) == 0);
            CHECK(in.type == e.type && in.epoch == e.epoch && in.seq == e.seq);
            break;
        case TERN_REC_DROPPED:
            CHECK(in.data == start && in.len == e.span);
            CHECK(e.auth || in.reason == e.reason);
            CHECK(in.reason != TERN_REC_DROP_CRYPTO);
            ru->dropped[in.reason]++;
            break;
        default:
            CHECK(0);
        }
        ru->seen[kind]++;
        off += e.span;
    }
    CHECK(tern_rec_next(&it, &in) == TERN_REC_END && in.kind == TERN_REC_END);

    const tern_rec_stats *st = tern_rec_stats_of(rx);
    uint64_t total_dropped = 0;
    for (int r = 0; r < TERN_REC_DROP_COUNT; r++) {
        CHECK(st->dropped[r] == ru->dropped[r]);
        total_dropped += st->dropped[r];
    }
    CHECK(st->sent == 0 && st->accepted == ru->seen[TERN_REC_RECORD]);
    CHECK(st->future == ru->seen[TERN_REC_FUTURE] && total_dropped == ru->seen[TERN_REC_DROPPED]);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static run ru;
    memset(&ru, 0, sizeof ru);
    ru.alg = algs[(data[0] & 7) % 5];
    ru.is_sealed = data[0] & 0x80;
    ru.prefix = ru.alg == TERN_AEAD_CHACHA20_POLY1305 ? 0 : TERN_DTLS12_EXPLICIT_NONCE_LEN;
    ru.tag = tern_aead_tag_len(ru.alg);
    unsigned window = windows[(data[0] >> 3) & 3];
    ru.win.size = window ? window : TERN_REPLAY_DEFAULT;

    tern_rec_keys keys;
    fixed_keys(ru.alg, ru.key, ru.iv, &keys);
    tern_rec rx;
    CHECK(tern_rec_init(&rx, window) == TERN_OK);
    CHECK(tern_rec_install(&rx, TERN_REC_READ, 1, &keys) == TERN_OK);

    tern_rd in = tern_rd_init(data + 1, size - 1);
    const uint8_t *orig = data + 1;
    size_t len = size - 1;
    if (ru.is_sealed) {
        len = build(&ru, &keys, &in);
        orig = dgram;
    }
    /* A delivered record takes a header at least. */
    ru.win.cap = 2 * (len / HDR + 1);
    ru.win.seen = malloc(ru.win.cap * sizeof *ru.win.seen);
    CHECK(ru.win.seen != NULL);

    deliver(&ru, &rx, orig, len);
    if (data[0] & 0x40)
        deliver(&ru, &rx, orig, len);

    free(ru.win.seen);
    tern_aead_free(ru.aead);
    tern_rec_clear(&rx);
    return 0;
}
