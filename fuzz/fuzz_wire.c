/*
 * fuzz_wire.c - drives the byte cursors with arbitrary input.
 *
 * The first bytes of the input are a program: each selects a reader operation
 * applied to the rest of the input, and nested vectors are walked recursively.
 * The checks are the cursor's promises: a read either succeeds and moves the
 * cursor by exactly its size, or fails and leaves it untouched; a sub-reader stays
 * inside its parent. A writer then rebuilds length-prefixed vectors into a small
 * buffer and must never pass its capacity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static void walk(tern_rd *r, const uint8_t *prog, size_t nprog, int depth)
{
    for (size_t i = 0; i < nprog && !tern_rd_done(r); i++) {
        tern_rd before = *r, body;
        uint64_t v64;
        uint32_t v32;
        uint16_t v16;
        uint8_t v8, buf[16];
        bool ok;
        size_t want;
        switch (prog[i] % 10) {
        case 0: ok = tern_rd_u8(r, &v8); want = 1; break;
        case 1: ok = tern_rd_u16(r, &v16); want = 2; break;
        case 2: ok = tern_rd_u24(r, &v32); want = 3; CHECK(!ok || v32 < (1u << 24)); break;
        case 3: ok = tern_rd_u48(r, &v64); want = 6; CHECK(!ok || v64 < (1ULL << 48)); break;
        case 4: ok = tern_rd_u64(r, &v64); want = 8; break;
        case 5: want = prog[i] % 17; ok = tern_rd_copy(r, buf, want); break;
        default: {
            bool (*vec[])(tern_rd *, tern_rd *) = {tern_rd_vec8, tern_rd_vec16, tern_rd_vec24,
                                                  tern_rd_vec8};
            ok = vec[prog[i] % 10 - 6](r, &body);
            if (!ok) {
                CHECK(r->p == before.p && r->end == before.end);
                continue;
            }
            CHECK(body.p >= before.p && body.end <= before.end && body.p <= body.end);
            CHECK(body.end == r->p);
            if (depth < 8)
                walk(&body, prog + i + 1, nprog - i - 1, depth + 1);
            continue;
        }
        }
        if (ok)
            CHECK(r->p == before.p + want && r->end == before.end);
        else
            CHECK(r->p == before.p && r->end == before.end && tern_rd_left(r) < want);
    }
}

static void rebuild(const uint8_t *data, size_t size)
{
    uint8_t out[64 + 1];
    out[64] = 0x5a; /* canary just past the capacity */
    tern_wr w = tern_wr_init(out, 64);
    size_t stack[8], depth = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t op = data[i];
        if (op < 64 && depth < 8)
            stack[depth++] = (op & 1) ? tern_wr_open16(&w) : tern_wr_open8(&w);
        else if (op < 96 && depth > 0)
            (op & 1) ? tern_wr_close16(&w, stack[--depth]) : tern_wr_close8(&w, stack[--depth]);
        else
            tern_wr_u8(&w, op);
        CHECK(w.len <= w.cap);
    }
    CHECK(out[64] == 0x5a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nprog = size ? data[0] % 32 : 0;
    if (nprog > size - (size ? 1 : 0))
        nprog = size ? size - 1 : 0;
    const uint8_t *prog = data + (size ? 1 : 0);
    tern_rd r = tern_rd_init(prog + nprog, size - (size ? 1 : 0) - nprog);
    walk(&r, prog, nprog, 0);
    rebuild(data, size);
    return 0;
}
