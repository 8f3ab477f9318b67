/*
 * record.h - the DTLS record layer: headers, epochs, sequence numbers, replay
 * windows and AEAD protection (RFC 6347 §4.1; room for RFC 9147 §4 and RFC 9146).
 *
 * Sans-IO and allocation-free per record. The flight layer above builds datagrams
 * by sealing whole records into a tern_wr over its own MTU-sized buffer, and feeds
 * each received datagram to an iterator that decrypts the records in place and
 * hands them up one by one.
 *
 * Epochs live in a small fixed table of slots (TERN_REC_EPOCH_SLOTS). A slot holds
 * one epoch number with a read half (protection, replay window) and a write half
 * (protection, next sequence number); each half is installed and retired on its
 * own, because both sides switch reading and writing at different moments and a
 * retransmitted DTLS 1.2 flight still writes epoch 0 after epoch 1 is in use. The
 * slot is free again when both halves are retired. Epoch 0 (no protection) is
 * installed in both directions by tern_rec_init().
 *
 * Receiving, every record comes out as one tern_rec_in:
 *   TERN_REC_RECORD  authenticated, in-window: type, epoch, seq and the plaintext;
 *   TERN_REC_FUTURE  for an epoch just past the newest read epoch (not keyed yet):
 *                    the raw record, untouched, for the caller to buffer (bounded)
 *                    and feed again, as a datagram of its own, once the epoch is in;
 *   TERN_REC_DROPPED invalid, discarded silently as RFC 6347 §4.1.2.7 asks, with its
 *                    reason; also counted in tern_rec_stats;
 *   TERN_REC_END     nothing more in the datagram.
 */
#ifndef TERN_RECORD_RECORD_H
#define TERN_RECORD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/protect.h"
#include "record/replay.h"
#include "tern/tern.h"
#include "wire.h"

/* ------------------------------------------------------------------ constants */

#define TERN_DTLS10_VERSION 0xfeff /* on the wire: ~{1, 0} */
#define TERN_DTLS12_VERSION 0xfefd /* ~{1, 2} */

/* ContentType values (RFC 5246 §6.2.1, RFC 6520, RFC 9146, RFC 9147). */
enum {
    TERN_CT_CHANGE_CIPHER_SPEC = 20,
    TERN_CT_ALERT = 21,
    TERN_CT_HANDSHAKE = 22,
    TERN_CT_APPLICATION_DATA = 23,
    TERN_CT_HEARTBEAT = 24,
    TERN_CT_TLS12_CID = 25,
    TERN_CT_ACK = 26,
};

/* RFC 9147 §4: a unified header's first byte is 0b001CSLEE. */
#define TERN_DTLS13_UNIFIED_MASK 0xe0
#define TERN_DTLS13_UNIFIED_BITS 0x20

#define TERN_DTLS12_HDR_LEN 13 /* type(1) version(2) epoch(2) sequence_number(6) length(2) */
#define TERN_DTLS12_EPOCH_MAX 0xffff
#define TERN_DTLS_SEQ_LIMIT ((uint64_t)1 << 48) /* first sequence number never sent */

/* RFC 6347 §4.1 (from RFC 5246 §6.2): "The length MUST NOT exceed 2^14" for
 * DTLSPlaintext, "2^14 + 2048" for DTLSCiphertext. */
#define TERN_DTLS_MAX_PLAINTEXT (1u << 14)
#define TERN_DTLS12_MAX_CIPHERTEXT (TERN_DTLS_MAX_PLAINTEXT + 2048)

#define TERN_REC_EPOCH_SLOTS 4 /* DTLS 1.3 holds up to four epochs at once */

/* How far past the newest read epoch a record is still "future" (handed back raw)
 * rather than dropped. DTLS 1.2 only ever moves to the next epoch; DTLS 1.3 may
 * need 2 (epoch 3 data arriving before the epoch 2 handshake keys). */
#define TERN_REC_FUTURE_SPAN 1

/* ------------------------------------------------------------------ header codec */

/* DTLSPlaintext / DTLSCiphertext header, RFC 6347 §4.1. */
typedef struct tern_hdr12 {
    uint8_t type;
    uint16_t version;
    uint16_t epoch;
    uint64_t seq;    /* 48 bits */
    uint16_t length; /* of the fragment that follows */
} tern_hdr12;

/* Read one record from |r|: the header into |h| and its |h->length|-byte fragment
 * as the bounded reader |frag| (pointing into |r|'s buffer). Checks only the
 * layout, not the field values. On failure |r| is unchanged.
 * Errors: TERN_ERR_DECODE (fewer than TERN_DTLS12_HDR_LEN bytes, or a length that
 * runs past the end of |r|: the datagram cannot be parsed further). */
TERN_MUST_USE tern_err tern_hdr12_read(tern_rd *r, tern_hdr12 *h, tern_rd *frag);

/* Append the TERN_DTLS12_HDR_LEN-byte header |h| to |w|. Sets w->err (and writes
 * nothing) if it does not fit or h->seq >= TERN_DTLS_SEQ_LIMIT. */
void tern_hdr12_write(tern_wr *w, const tern_hdr12 *h);

/* ------------------------------------------------------------------ the record layer */

typedef enum tern_rec_dir {
    TERN_REC_READ,
    TERN_REC_WRITE,
} tern_rec_dir;

/* Why a received record was dropped; each reason is counted in tern_rec_stats.
 *   bad_header   unknown first byte, short header, or a length past the end of the
 *                datagram: the rest of the datagram goes with it (counted once)
 *   bad_length   over the cap for its epoch, shorter than nonce + tag, or a
 *                decrypted plaintext over 2^14
 *   bad_version  not a version its epoch accepts
 *   bad_mac      failed authentication
 *   replay       duplicate, or left of the replay window
 *   epoch        unknown, retired, or too far ahead to be "future"
 *   unsupported  DTLS 1.3 unified header or tls12_cid (the rest of the datagram,
 *                whose layout we cannot know, goes with it); heartbeat or ack in a
 *                DTLS 1.2 header (this record only)
 *   crypto       the crypto backend failed (not the peer's fault) */
#define TERN_REC_DROP_LIST(X)                                                              \
    X(TERN_REC_DROP_BAD_HEADER, "bad_header")                                              \
    X(TERN_REC_DROP_BAD_LENGTH, "bad_length")                                              \
    X(TERN_REC_DROP_BAD_VERSION, "bad_version")                                            \
    X(TERN_REC_DROP_BAD_MAC, "bad_mac")                                                    \
    X(TERN_REC_DROP_REPLAY, "replay")                                                      \
    X(TERN_REC_DROP_EPOCH, "epoch")                                                        \
    X(TERN_REC_DROP_UNSUPPORTED, "unsupported")                                            \
    X(TERN_REC_DROP_CRYPTO, "crypto")

typedef enum tern_rec_drop {
#define TERN_X_DROP(name, text) name,
    TERN_REC_DROP_LIST(TERN_X_DROP)
#undef TERN_X_DROP
    TERN_REC_DROP_COUNT
} tern_rec_drop;

/* The short name of |reason| ("bad_mac"), static; "unknown" when out of range. */
const char *tern_rec_drop_name(int reason);

/* Counters, readable at any time with tern_rec_stats_of(). */
typedef struct tern_rec_stats {
    uint64_t sent;     /* records sealed */
    uint64_t accepted; /* records delivered as TERN_REC_RECORD */
    uint64_t future;   /* records handed back as TERN_REC_FUTURE */
    uint64_t dropped[TERN_REC_DROP_COUNT];
} tern_rec_stats;

typedef struct tern_rec_slot {
    uint64_t epoch;
    bool rd_on;          /* read half installed */
    bool wr_on;          /* write half installed */
    tern_prot rd;
    tern_prot wr;
    uint64_t next_seq;   /* write: sequence number of the next record sealed */
    tern_replay *window; /* read, protected epochs: owned, tern_replay_bytes(width) */
} tern_rec_slot;

/* The record layer of one association. Embedded in its owner: _init / _clear. */
typedef struct tern_rec {
    tern_rec_slot slot[TERN_REC_EPOCH_SLOTS];
    uint64_t rd_newest;  /* highest epoch ever installed for reading */
    uint64_t wr_newest;  /* highest epoch ever installed for writing */
    uint16_t window;     /* replay window size for each read epoch */
    tern_rec_stats stats;
} tern_rec;

/* Set up |rec| with epoch 0 installed for reading and writing (unprotected) and a
 * replay window of |replay_window| records per read epoch (0: TERN_REPLAY_DEFAULT).
 * Errors: TERN_ERR_ARG (window size outside TERN_REPLAY_MIN..TERN_REPLAY_MAX). */
TERN_MUST_USE tern_err tern_rec_init(tern_rec *rec, unsigned replay_window);

/* Retire every epoch: AEADs freed, IVs wiped. |rec| needs tern_rec_init() again
 * before further use. */
void tern_rec_clear(tern_rec *rec);

/* Install |dir| of |epoch| with |keys| (copied; see tern_rec_keys). Epochs go up
 * only: |epoch| must exceed every epoch installed before in that direction (no key
 * and sequence-number reuse), and fit the version's epoch field. Takes the slot
 * already holding |epoch|'s other half, or a free one. A new read half starts an
 * empty replay window (allocated, sized to the width given to tern_rec_init); a
 * new write half starts at sequence number 0.
 * Errors: TERN_ERR_EPOCH (not above the newest, too large, or no free slot: retire
 * an old epoch first), TERN_ERR_UNSUPPORTED, TERN_ERR_ARG, TERN_ERR_NOMEM and the errors of
 * tern_aead_new() (see tern_prot_init). Nothing changes on failure. */
TERN_MUST_USE tern_err tern_rec_install(tern_rec *rec, tern_rec_dir dir, uint64_t epoch,
                                        const tern_rec_keys *keys);

/* Retire |dir| of |epoch|: free its AEAD and wipe its IV. Records of a retired read
 * epoch are dropped (TERN_REC_DROP_EPOCH); sealing in a retired write epoch fails.
 * Errors: TERN_ERR_EPOCH (that half is not installed). */
TERN_MUST_USE tern_err tern_rec_retire(tern_rec *rec, tern_rec_dir dir, uint64_t epoch);

/* True when |dir| of |epoch| is installed. */
bool tern_rec_has_epoch(const tern_rec *rec, tern_rec_dir dir, uint64_t epoch);

/* Bytes a record of write epoch |epoch| adds to its plaintext: header, explicit
 * nonce and tag. The flight layer sizes fragments with it: a record with |n|
 * plaintext bytes takes exactly n + *out bytes of the datagram.
 * Errors: TERN_ERR_EPOCH (write half not installed). */
TERN_MUST_USE tern_err tern_rec_overhead(const tern_rec *rec, uint64_t epoch, size_t *out);

/* Seal one record of content |type| carrying |len| bytes of |data| in write epoch
 * |epoch|, and append it whole to the datagram being built in |w| (header, nonce,
 * ciphertext and tag, encrypted in place in |w|'s buffer: nothing is allocated).
 * |data| may be NULL when |len| is 0, and may lie inside |w|'s buffer past w->len
 * (a plaintext built in place). On success the record used sequence number
 * *seq_out (when |seq_out| is not NULL) and the epoch's next number is one more.
 * On any failure |w| (len and err) and the sequence number are exactly as they
 * were, so a caller whose datagram is full (TERN_ERR_BUF) starts the next one.
 * Errors: TERN_ERR_EPOCH (write half not installed), TERN_ERR_TOO_BIG (|len| over
 * TERN_DTLS_MAX_PLAINTEXT), TERN_ERR_BUF (does not fit, or w->err already set),
 * TERN_ERR_SEQ_EXHAUSTED (2^48 records sent in this epoch: RFC 6347 §4.1 forbids
 * wrapping; rekey or close), TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_rec_seal(tern_rec *rec, uint64_t epoch, uint8_t type,
                                     const uint8_t *data, size_t len, tern_wr *w,
                                     uint64_t *seq_out);

/* Move write epoch |epoch|'s next sequence number forward to |seq| (at most
 * TERN_DTLS_SEQ_LIMIT, which means exhausted). For a server answering a cookie
 * statelessly (RFC 6347 §4.2.1: the ServerHello reuses the ClientHello's record
 * sequence number) and for tests. Never backwards, so a nonce is never reused.
 * Errors: TERN_ERR_EPOCH (not installed), TERN_ERR_ARG (backwards or over limit). */
TERN_MUST_USE tern_err tern_rec_set_write_seq(tern_rec *rec, uint64_t epoch, uint64_t seq);

/* The counters of |rec| (valid as long as |rec|). */
const tern_rec_stats *tern_rec_stats_of(const tern_rec *rec);

/* ------------------------------------------------------------------ receiving */

typedef enum tern_rec_kind {
    TERN_REC_END,
    TERN_REC_RECORD,
    TERN_REC_FUTURE,
    TERN_REC_DROPPED,
} tern_rec_kind;

/* One result of tern_rec_next(). Pointers point into the datagram and stay valid
 * as long as the caller's datagram buffer does. */
typedef struct tern_rec_in {
    tern_rec_kind kind;
    uint8_t type;     /* RECORD, FUTURE: content type */
    uint64_t epoch;   /* RECORD, FUTURE */
    uint64_t seq;     /* RECORD, FUTURE */
    uint8_t *data;    /* RECORD: the plaintext; FUTURE: the whole raw record, header
                         included; DROPPED: the bytes dropped (for traces; after a
                         failed decryption they may be altered) */
    size_t len;
    tern_rec_drop reason; /* DROPPED */
} tern_rec_in;

/* An iterator over the records of one received datagram. */
typedef struct tern_rec_iter {
    tern_rec *rec;
    uint8_t *buf; /* the datagram; decrypted in place */
    size_t len;
    size_t off;   /* start of the next record */
} tern_rec_iter;

/* Start iterating over the |len|-byte datagram |dgram| for |rec|. The caller keeps
 * |dgram| (writable: records are decrypted in place) and |rec| alive while it
 * iterates. */
void tern_rec_iter_init(tern_rec_iter *it, tern_rec *rec, uint8_t *dgram, size_t len);

/* The next record of the datagram into |*out|, and what it is; TERN_REC_END when
 * none is left (and on every call after that). Checks, in order: the first byte
 * (dispatch), the header, the content type (heartbeat and ack unsupported), the
 * epoch (FUTURE, or DROPPED as unknown or retired), the version, the length cap,
 * the replay window, the authentication tag, the plaintext length. The replay
 * window moves only for a record delivered as TERN_REC_RECORD. Epoch 0 has no
 * replay window: it is not authenticated, so a forged high sequence number would
 * otherwise lock out the real handshake, and the handshake layer discards
 * repeated messages by message_seq anyway. */
tern_rec_kind tern_rec_next(tern_rec_iter *it, tern_rec_in *out);

#endif /* TERN_RECORD_RECORD_H */
