/*
 * replay.h - the DTLS anti-replay window (RFC 6347 §4.1.2.6, RFC 9147 §4.5.1).
 *
 * A pure module over its own struct: no connection, no crypto, no allocation. One
 * window per read epoch. The caller asks tern_replay_check() whether a sequence
 * number could be new, authenticates the record, and only then calls
 * tern_replay_update(), so a forged record never moves the window. (DTLS 1.2 checks
 * before decryption to save the work; DTLS 1.3 may check after, to avoid a timing
 * channel - both orders use the same two calls.)
 *
 * The window covers the |size| sequence numbers ending at the highest one accepted
 * so far ("top"): top - size + 1 (the left edge, still inside) up to top. A number
 * above top is new; one inside the window is new unless its bit is set; one left of
 * the window is too old and rejected.
 *
 * Memory is a ring of |size| bits rounded up to a whole 64-bit word, at the end of
 * the struct (a flexible array member): the owner gives a window
 * tern_replay_bytes(size) bytes, 24 for the default of 64, so a connection pays
 * only for the width it configured.
 */
#ifndef TERN_RECORD_REPLAY_H
#define TERN_RECORD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

#define TERN_REPLAY_MIN 32      /* RFC 6347 §4.1.2.6: "A minimum window size of 32 MUST be supported" */
#define TERN_REPLAY_DEFAULT 64  /* "a window size of 64 is preferred and SHOULD be employed as the default" */
#define TERN_REPLAY_MAX 1024    /* our cap: at most 144 bytes per window */

#define TERN_REPLAY_WORD_BITS 64
#define TERN_REPLAY_WORDS (TERN_REPLAY_MAX / TERN_REPLAY_WORD_BITS)

typedef struct tern_replay {
    uint64_t top;   /* highest sequence number accepted (0 before any) */
    uint16_t size;  /* window width in sequence numbers */
    uint16_t nbits; /* ring length: |size| rounded up to a whole word */
    uint64_t ring[]; /* nbits / 64 words; bit (seq % nbits) set: seq accepted */
} tern_replay;

/* Storage for a window of any size, where the caller does not allocate (tests):
 * TERN_REPLAY_STORAGE(ws); then &ws.w is a tern_replay of up to TERN_REPLAY_MAX. */
#define TERN_REPLAY_STORAGE(name)                                                                  \
    union {                                                                                        \
        tern_replay w;                                                                             \
        uint64_t raw[(sizeof(tern_replay) + 7) / 8 + TERN_REPLAY_WORDS];                           \
    } name

/* Bytes a window of |size| sequence numbers takes (0 means TERN_REPLAY_DEFAULT), or
 * 0 when |size| is out of range. */
size_t tern_replay_bytes(unsigned size);

/* Start an empty window of |size| sequence numbers (TERN_REPLAY_MIN to
 * TERN_REPLAY_MAX; 0 means TERN_REPLAY_DEFAULT) in |w|, which has at least
 * tern_replay_bytes(size) bytes. As RFC 9147 §4.5.1 asks, the
 * counter starts at zero: every number, 0 included, is new.
 * Errors: TERN_ERR_ARG (size out of range; |w| is then left untouched). */
TERN_MUST_USE tern_err tern_replay_init(tern_replay *w, unsigned size);

/* True when |seq| may be a new record: above the top, or inside the window and not
 * yet accepted. False for a duplicate or a number left of the window. Does not
 * change |w|. */
bool tern_replay_check(const tern_replay *w, uint64_t seq);

/* Record |seq| as received. Call only after the record authenticated. A number
 * above the top slides the window so that |seq| becomes its right edge. Returns
 * false (and changes nothing) when tern_replay_check(w, seq) is false. */
bool tern_replay_update(tern_replay *w, uint64_t seq);

#endif /* TERN_RECORD_REPLAY_H */
