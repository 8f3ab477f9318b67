/*
 * fuzz_reasm.c - handshake reassembly fed arbitrary fragment streams.
 *
 * Input: one byte choosing the byte cap (256 << (b & 7)) and one the first
 * message_seq expected (b & 3), then records of [control byte][handshake fragment
 * as on the wire]. The control byte's bit 0 is the epoch, bit 1 asks for the
 * complete messages to be popped after the push. Checks that memory stays within
 * the cap, that messages come out in message_seq order with the length their
 * fragments announced, that every push is counted once, and that everything is
 * freed (under ASan). The checks abort, so libFuzzer reports them.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "flight/flight.h"

static void pop_all(tern_reasm *r)
{
    tern_hs_msg_in m;
    uint32_t want = tern_reasm_next_seq(r);
    while (tern_reasm_pop(r, &m) == TERN_OK) {
        CHECK(m.msg_seq == want);
        CHECK(m.body != NULL && m.len <= r->cap);
        want++;
        CHECK(tern_reasm_next_seq(r) == want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    tern_reasm r;
    tern_reasm_init(&r, (size_t)256 << (data[0] & 7));
    tern_reasm_set_next_seq(&r, data[1] & 3);
    tern_rd rd = tern_rd_init(data + 2, size - 2);
    uint64_t pushes = 0;
    uint8_t ctl;
    tern_hs_hdr h;
    const uint8_t *frag;
    while (tern_rd_u8(&rd, &ctl) && tern_hs_hdr_parse(&rd, &h, &frag) == TERN_OK) {
        tern_reasm_result res = tern_reasm_push(&r, ctl & 1, &h, frag);
        CHECK((unsigned)res < TERN_REASM_RESULT_COUNT);
        CHECK(r.held <= r.cap);
        pushes++;
        if (ctl & 2)
            pop_all(&r);
    }
    pop_all(&r);
    uint64_t counted = 0;
    for (int i = 0; i < TERN_REASM_RESULT_COUNT; i++)
        counted += tern_reasm_count(&r, (tern_reasm_result)i);
    CHECK(counted == pushes);
    tern_reasm_clear(&r);
    CHECK(r.held == 0);
    return 0;
}
