/*
 * demux.h - the endpoint's map from a key (a peer's address; later a Connection ID)
 * to its association.
 *
 * Open addressing with linear probing over a power-of-two table kept at most half
 * full; removal shifts later entries back, so there are no tombstones and a lookup
 * stops at the first empty slot. Keys are hashed with SipHash-2-4 under a random
 * 128-bit key, so a peer choosing its source ports cannot make the probe chains
 * long. Only peers that proved their address (cookie) or that we dialled get in,
 * which bounds the table by the endpoint's association limit.
 *
 * A pure module: no I/O, no clock; tests/io/test_io_units.c drives it alone.
 */
#ifndef TERN_IO_DEMUX_H
#define TERN_IO_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

/* An IPv6 address (16), port (2), scope id (4) and family (1) fit; so do the
 * Connection IDs tern will issue (it chooses their length). */
#define TERN_DEMUX_KEY_MAX 32

typedef enum tern_demux_kind {
    TERN_DEMUX_ADDR = 1, /* family, port, address, scope: see sock.c */
    TERN_DEMUX_CID = 2,  /* a Connection ID we issued (RFC 9146, RFC 9147 §9) */
} tern_demux_kind;

typedef struct tern_demux_key {
    uint8_t kind; /* tern_demux_kind */
    uint8_t len;  /* bytes used in |b| */
    uint8_t b[TERN_DEMUX_KEY_MAX];
} tern_demux_key;

typedef struct tern_demux_slot {
    const tern_demux_key *key; /* NULL: empty; owned by whoever inserted it */
    void *val;
    uint64_t hash;
} tern_demux_slot;

typedef struct tern_demux {
    tern_demux_slot *slots;
    size_t cap, count; /* cap: 0 or a power of two */
    uint64_t k0, k1;   /* SipHash key */
} tern_demux;

/* An empty map whose hash is keyed by the 16 bytes of |seed|. Allocates nothing. */
void tern_demux_init(tern_demux *d, const uint8_t seed[16]);

/* Free the table (not the keys or values). */
void tern_demux_clear(tern_demux *d);

/* The value stored under a key equal to |k|, or NULL. */
void *tern_demux_find(const tern_demux *d, const tern_demux_key *k);

/* Store |val| under |k|. The map keeps the pointer |k|, not a copy: |*k| must not
 * change or go away until it is removed. Errors: TERN_ERR_STATE (an equal key is
 * there already), TERN_ERR_NOMEM (growing the table failed; nothing changed). */
TERN_MUST_USE tern_err tern_demux_insert(tern_demux *d, const tern_demux_key *k, void *val);

/* Put |val| and the key pointer |k| in place of the entry whose key equals |k|
 * (for an association that takes another's place under the same address).
 * Returns false (and changes nothing) when there is no such entry. Never allocates. */
bool tern_demux_replace(tern_demux *d, const tern_demux_key *k, void *val);

/* Remove the entry whose key equals |k|; returns its value, or NULL. */
void *tern_demux_remove(tern_demux *d, const tern_demux_key *k);

/* The SipHash-2-4 of |len| bytes under (k0, k1); exposed for the unit test. */
uint64_t tern_demux_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len);

#endif
