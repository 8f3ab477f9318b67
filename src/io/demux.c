/*
 * demux.c - the key -> association map of the endpoint (see demux.h).
 *
 * Linear probing over a power-of-two table, at most half full. Removal uses
 * backward shifting (Knuth 6.4, algorithm R): after emptying a slot, each later
 * entry of the same run whose home slot is not cyclically between the hole and
 * itself moves into the hole. The table therefore never holds tombstones, and a
 * lookup ends at the first empty slot. The hash of each entry is kept with it, so
 * growing and shifting never rehash and a probe compares keys only on a hash match.
 */
#include "io/demux.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DEMUX_MIN_CAP 16

_Static_assert(offsetof(tern_demux_key, len) == 1 && offsetof(tern_demux_key, b) == 2,
               "tern_demux_key is hashed as kind, len, bytes in a row");

/* ------------------------------------------------------------------ SipHash-2-4 */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t load64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

/* see demux.h; Aumasson and Bernstein, "SipHash: a fast short-input PRF" (2012) */
uint64_t tern_demux_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load64le(data + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        last |= (uint64_t)data[whole + i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------------ the table */

static uint64_t key_hash(const tern_demux *d, const tern_demux_key *k)
{
    /* kind and length are hashed too: an address and a CID never collide as keys.
     * The three fields are bytes in a row (checked below), read as one string. */
    return tern_demux_siphash(d->k0, d->k1, (const uint8_t *)k, 2u + k->len);
}

static bool key_eq(const tern_demux_key *a, const tern_demux_key *b)
{
    return a->kind == b->kind && a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

void tern_demux_init(tern_demux *d, const uint8_t seed[16])
{
    memset(d, 0, sizeof *d);
    d->k0 = load64le(seed);
    d->k1 = load64le(seed + 8);
}

void tern_demux_clear(tern_demux *d)
{
    free(d->slots);
    d->slots = NULL;
    d->cap = d->count = 0;
}

/* The slot holding |k|, or the empty slot where it would go. */
static size_t probe(const tern_demux *d, const tern_demux_key *k, uint64_t h)
{
    size_t mask = d->cap - 1, i = (size_t)h & mask;
    while (d->slots[i].key != NULL && !(d->slots[i].hash == h && key_eq(d->slots[i].key, k)))
        i = (i + 1) & mask;
    return i;
}

void *tern_demux_find(const tern_demux *d, const tern_demux_key *k)
{
    if (d->count == 0)
        return NULL;
    size_t i = probe(d, k, key_hash(d, k));
    return d->slots[i].key != NULL ? d->slots[i].val : NULL;
}

static tern_err grow(tern_demux *d)
{
    size_t cap = d->cap ? d->cap * 2 : DEMUX_MIN_CAP;
    tern_demux_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return TERN_ERR_NOMEM;
    for (size_t i = 0; i < d->cap; i++) {
        if (d->slots[i].key == NULL)
            continue;
        size_t j = (size_t)d->slots[i].hash & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = d->slots[i];
    }
    free(d->slots);
    d->slots = slots;
    d->cap = cap;
    return TERN_OK;
}

tern_err tern_demux_insert(tern_demux *d, const tern_demux_key *k, void *val)
{
    if (tern_demux_find(d, k) != NULL)
        return TERN_ERR_STATE;
    if ((d->count + 1) * 2 > d->cap) {
        tern_err err = grow(d);
        if (err != TERN_OK)
            return err;
    }
    uint64_t h = key_hash(d, k);
    size_t i = probe(d, k, h);
    d->slots[i] = (tern_demux_slot){k, val, h};
    d->count++;
    return TERN_OK;
}

bool tern_demux_replace(tern_demux *d, const tern_demux_key *k, void *val)
{
    if (d->count == 0)
        return false;
    size_t i = probe(d, k, key_hash(d, k));
    if (d->slots[i].key == NULL)
        return false;
    d->slots[i].key = k;
    d->slots[i].val = val;
    return true;
}

void *tern_demux_remove(tern_demux *d, const tern_demux_key *k)
{
    if (d->count == 0)
        return NULL;
    size_t mask = d->cap - 1, hole = probe(d, k, key_hash(d, k));
    if (d->slots[hole].key == NULL)
        return NULL;
    void *val = d->slots[hole].val;
    d->slots[hole].key = NULL;
    d->count--;
    /* Shift back the rest of the run (Knuth's algorithm R). */
    for (size_t j = (hole + 1) & mask; d->slots[j].key != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)d->slots[j].hash & mask;
        /* The entry at j may move to the hole unless its home lies cyclically in
         * (hole, j]: then moving it would put it before its home. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        d->slots[hole] = d->slots[j];
        d->slots[j].key = NULL;
        hole = j;
    }
    return val;
}
