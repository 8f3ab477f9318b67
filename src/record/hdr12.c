/*
 * hdr12.c - the DTLS 1.2 record header (RFC 6347 §4.1); see record.h.
 *
 *   struct {
 *       ContentType type;            1
 *       ProtocolVersion version;     2
 *       uint16 epoch;                2
 *       uint48 sequence_number;      6
 *       uint16 length;               2
 *       opaque fragment[length];
 *   } DTLSPlaintext;  (DTLSCiphertext has the same header)
 *
 * A fixed layout: the whole header is checked once, then decoded at named offsets.
 * A record never spans datagrams, so a length running past the datagram leaves the
 * rest of it unparseable: the codec reports it and the caller drops the rest.
 */
#include "record/record.h"

enum {
    HDR12_TYPE = 0,
    HDR12_VERSION = 1,
    HDR12_EPOCH = 3,
    HDR12_SEQ = 5,
    HDR12_LENGTH = 11,
};

_Static_assert(HDR12_LENGTH + 2 == TERN_DTLS12_HDR_LEN, "header layout");

tern_err tern_hdr12_read(tern_rd *r, tern_hdr12 *h, tern_rd *frag)
{
    tern_rd save = *r;
    const uint8_t *p;
    if (!tern_rd_bytes(r, TERN_DTLS12_HDR_LEN, &p))
        return TERN_ERR_DECODE;
    uint16_t length = tern_load16(p + HDR12_LENGTH);
    if (!tern_rd_sub(r, length, frag)) {
        *r = save;
        return TERN_ERR_DECODE;
    }
    h->type = p[HDR12_TYPE];
    h->version = tern_load16(p + HDR12_VERSION);
    h->epoch = tern_load16(p + HDR12_EPOCH);
    h->seq = tern_load48(p + HDR12_SEQ);
    h->length = length;
    return TERN_OK;
}

void tern_hdr12_write(tern_wr *w, const tern_hdr12 *h)
{
    if (h->seq >= TERN_DTLS_SEQ_LIMIT) {
        w->err = true;
        return;
    }
    uint8_t *p = tern_wr_reserve(w, TERN_DTLS12_HDR_LEN);
    if (p == NULL)
        return;
    p[HDR12_TYPE] = h->type;
    tern_store16(p + HDR12_VERSION, h->version);
    tern_store16(p + HDR12_EPOCH, h->epoch);
    tern_store48(p + HDR12_SEQ, h->seq);
    tern_store16(p + HDR12_LENGTH, h->length);
}
