/*
 * wire.c - see wire.h.
 *
 * Invariants: a reader's p never passes end, and a failed read returns before
 * moving p; a writer's len never passes cap, and once err is set nothing more is
 * written. Every integer read goes through rd_uint(), every write through wr_put(),
 * so those two functions are the whole of the bounds checking.
 */
#include "wire.h"

#include <string.h>

static bool rd_uint(tern_rd *r, size_t n, uint64_t *v)
{
    if (tern_rd_left(r) < n)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | r->p[i];
    r->p += n;
    *v = x;
    return true;
}

bool tern_rd_u8(tern_rd *r, uint8_t *v)
{
    uint64_t x;
    if (!rd_uint(r, 1, &x))
        return false;
    *v = (uint8_t)x;
    return true;
}

bool tern_rd_u16(tern_rd *r, uint16_t *v)
{
    uint64_t x;
    if (!rd_uint(r, 2, &x))
        return false;
    *v = (uint16_t)x;
    return true;
}

bool tern_rd_u24(tern_rd *r, uint32_t *v)
{
    uint64_t x;
    if (!rd_uint(r, 3, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool tern_rd_u32(tern_rd *r, uint32_t *v)
{
    uint64_t x;
    if (!rd_uint(r, 4, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool tern_rd_u48(tern_rd *r, uint64_t *v) { return rd_uint(r, 6, v); }

bool tern_rd_u64(tern_rd *r, uint64_t *v) { return rd_uint(r, 8, v); }

bool tern_rd_bytes(tern_rd *r, size_t n, const uint8_t **out)
{
    if (tern_rd_left(r) < n)
        return false;
    *out = r->p;
    r->p += n;
    return true;
}

bool tern_rd_copy(tern_rd *r, uint8_t *out, size_t n)
{
    const uint8_t *src;
    if (!tern_rd_bytes(r, n, &src))
        return false;
    if (n > 0)
        memcpy(out, src, n);
    return true;
}

bool tern_rd_skip(tern_rd *r, size_t n)
{
    const uint8_t *ignored;
    return tern_rd_bytes(r, n, &ignored);
}

bool tern_rd_sub(tern_rd *r, size_t n, tern_rd *body)
{
    const uint8_t *start;
    if (!tern_rd_bytes(r, n, &start))
        return false;
    *body = tern_rd_init(start, n);
    return true;
}

/* A vector is a length then the body; on a short body the length is un-read too. */
static bool rd_vec(tern_rd *r, size_t lenbytes, tern_rd *body)
{
    tern_rd save = *r;
    uint64_t n;
    if (!rd_uint(r, lenbytes, &n) || !tern_rd_sub(r, (size_t)n, body)) {
        *r = save;
        return false;
    }
    return true;
}

bool tern_rd_vec8(tern_rd *r, tern_rd *body) { return rd_vec(r, 1, body); }
bool tern_rd_vec16(tern_rd *r, tern_rd *body) { return rd_vec(r, 2, body); }
bool tern_rd_vec24(tern_rd *r, tern_rd *body) { return rd_vec(r, 3, body); }

uint8_t *tern_wr_reserve(tern_wr *w, size_t n)
{
    if (w->err || w->cap - w->len < n) {
        w->err = true;
        return NULL;
    }
    uint8_t *at = w->buf + w->len;
    w->len += n;
    return at;
}

static void wr_uint(tern_wr *w, uint64_t v, size_t n)
{
    uint8_t *p = tern_wr_reserve(w, n);
    if (p == NULL)
        return;
    for (size_t i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

void tern_wr_u8(tern_wr *w, uint8_t v) { wr_uint(w, v, 1); }
void tern_wr_u16(tern_wr *w, uint16_t v) { wr_uint(w, v, 2); }
void tern_wr_u32(tern_wr *w, uint32_t v) { wr_uint(w, v, 4); }
void tern_wr_u64(tern_wr *w, uint64_t v) { wr_uint(w, v, 8); }

void tern_wr_u24(tern_wr *w, uint32_t v)
{
    if (v >> 24) {
        w->err = true;
        return;
    }
    wr_uint(w, v, 3);
}

void tern_wr_u48(tern_wr *w, uint64_t v)
{
    if (v >> 48) {
        w->err = true;
        return;
    }
    wr_uint(w, v, 6);
}

void tern_wr_bytes(tern_wr *w, const void *data, size_t len)
{
    uint8_t *p = tern_wr_reserve(w, len);
    if (p != NULL && len > 0)
        memcpy(p, data, len);
}

void tern_wr_zeros(tern_wr *w, size_t len)
{
    uint8_t *p = tern_wr_reserve(w, len);
    if (p != NULL && len > 0)
        memset(p, 0, len);
}

static size_t wr_open(tern_wr *w, size_t n)
{
    size_t at = w->len;
    tern_wr_zeros(w, n);
    return at;
}

/* Patch the |n|-byte length at |at| with the number of bytes written after it. */
static void wr_close(tern_wr *w, size_t at, size_t n)
{
    if (w->err)
        return;
    if (at + n > w->len) { /* not an offset open*() returned */
        w->err = true;
        return;
    }
    size_t body = w->len - at - n;
    if (n < sizeof body && body >> (8 * n)) {
        w->err = true;
        return;
    }
    for (size_t i = n; i-- > 0; body >>= 8)
        w->buf[at + i] = (uint8_t)body;
}

size_t tern_wr_open8(tern_wr *w) { return wr_open(w, 1); }
size_t tern_wr_open16(tern_wr *w) { return wr_open(w, 2); }
size_t tern_wr_open24(tern_wr *w) { return wr_open(w, 3); }
void tern_wr_close8(tern_wr *w, size_t at) { wr_close(w, at, 1); }
void tern_wr_close16(tern_wr *w, size_t at) { wr_close(w, at, 2); }
void tern_wr_close24(tern_wr *w, size_t at) { wr_close(w, at, 3); }
