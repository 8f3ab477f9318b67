/*
 * wire.h - bounds-checked byte cursors: every parse and every build goes through here.
 *
 * tern_rd reads big-endian integers, fixed byte strings and length-prefixed vectors
 * from a buffer it does not own. Every read either succeeds completely or fails and
 * leaves the cursor exactly where it was, so a parser can never overrun its input
 * and never half-consumes a field. A vector comes back as its own bounded reader;
 * the parser must use it up (tern_rd_done) or the message is malformed.
 *
 * tern_wr writes into the caller's buffer and never past |cap|. A write that does
 * not fit sets the sticky |err| flag and writes nothing more, so a builder makes
 * one check at the end. Lengths are reserved with tern_wr_open*() and patched by
 * tern_wr_close*(), never computed by hand.
 */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reader ---- */

typedef struct tern_rd {
    const uint8_t *p;   /* next byte to read */
    const uint8_t *end; /* one past the last readable byte */
} tern_rd;

static inline tern_rd tern_rd_init(const uint8_t *data, size_t len)
{
    tern_rd r = {data, data + len};
    return r;
}

/* Bytes not yet read. */
static inline size_t tern_rd_left(const tern_rd *r) { return (size_t)(r->end - r->p); }

/* True when every byte has been read. */
static inline bool tern_rd_done(const tern_rd *r) { return r->p == r->end; }

/* Each returns false and leaves |r| unchanged if fewer bytes remain than needed. */
bool tern_rd_u8(tern_rd *r, uint8_t *v);
bool tern_rd_u16(tern_rd *r, uint16_t *v);
bool tern_rd_u24(tern_rd *r, uint32_t *v);
bool tern_rd_u32(tern_rd *r, uint32_t *v);
bool tern_rd_u48(tern_rd *r, uint64_t *v);
bool tern_rd_u64(tern_rd *r, uint64_t *v);

/* Copy |n| bytes to |out|. */
bool tern_rd_copy(tern_rd *r, uint8_t *out, size_t n);

/* Point |*out| at the next |n| bytes (inside the reader's buffer) and skip them. */
bool tern_rd_bytes(tern_rd *r, size_t n, const uint8_t **out);

/* Skip |n| bytes. */
bool tern_rd_skip(tern_rd *r, size_t n);

/* Split off the next |n| bytes as the bounded reader |body|. */
bool tern_rd_sub(tern_rd *r, size_t n, tern_rd *body);

/* Read an 8-, 16- or 24-bit length, then that many bytes as the bounded reader
 * |body|. Fails (r unchanged) if the length runs past the input. */
bool tern_rd_vec8(tern_rd *r, tern_rd *body);
bool tern_rd_vec16(tern_rd *r, tern_rd *body);
bool tern_rd_vec24(tern_rd *r, tern_rd *body);

/* ---- writer ---- */

typedef struct tern_wr {
    uint8_t *buf; /* caller's buffer */
    size_t len;   /* bytes written so far */
    size_t cap;   /* size of buf; never written past */
    bool err;     /* sticky: a write did not fit, or a length overflowed */
} tern_wr;

static inline tern_wr tern_wr_init(uint8_t *out, size_t cap)
{
    tern_wr w = {out, 0, cap, false};
    return w;
}

/* Room left. 0 once |err| is set. */
static inline size_t tern_wr_room(const tern_wr *w) { return w->err ? 0 : w->cap - w->len; }

void tern_wr_u8(tern_wr *w, uint8_t v);
void tern_wr_u16(tern_wr *w, uint16_t v);
void tern_wr_u24(tern_wr *w, uint32_t v);  /* v must be < 2^24, else err */
void tern_wr_u32(tern_wr *w, uint32_t v);
void tern_wr_u48(tern_wr *w, uint64_t v);  /* v must be < 2^48, else err */
void tern_wr_u64(tern_wr *w, uint64_t v);
void tern_wr_bytes(tern_wr *w, const void *data, size_t len);
void tern_wr_zeros(tern_wr *w, size_t len);

/* Reserve |n| bytes for the caller to fill; returns where they start, or NULL (and
 * sets err) if they do not fit. The pointer is valid until the buffer goes away. */
uint8_t *tern_wr_reserve(tern_wr *w, size_t n);

/* Reserve an 8-, 16- or 24-bit length field and return its offset; write the body;
 * then close*() patches the field with the body's length (err if it does not fit
 * in the field). Opens nest. */
size_t tern_wr_open8(tern_wr *w);
size_t tern_wr_open16(tern_wr *w);
size_t tern_wr_open24(tern_wr *w);
void tern_wr_close8(tern_wr *w, size_t at);
void tern_wr_close16(tern_wr *w, size_t at);
void tern_wr_close24(tern_wr *w, size_t at);

/* ---- big-endian helpers for fixed layouts checked as a whole ---- */

static inline uint16_t tern_load16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint64_t tern_load48(const uint8_t *p)
{
    return (uint64_t)p[0] << 40 | (uint64_t)p[1] << 32 | (uint64_t)p[2] << 24 |
           (uint64_t)p[3] << 16 | (uint64_t)p[4] << 8 | p[5];
}
static inline void tern_store16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void tern_store48(uint8_t *p, uint64_t v)
{
    for (int i = 5; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline void tern_store64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

#endif /* TERN_WIRE_H */
