/*
 * tern-demo - the DTLS 1.2 record layer on its own: a "client" and a "server"
 * exchange records through memory, with no sockets and (until the handshake
 * exists) no handshake.
 *
 * Each side is one tern_rec. Keys for epoch 1 (AES-128-GCM) come from
 * tern_random() where the handshake will later derive them: the client's write
 * key is the server's read key and the other way round. The client seals an
 * epoch 0 handshake record and two epoch 1 application records into one datagram;
 * the server opens it and replies; then an exact copy of the client's datagram is
 * fed to the server again, and the replay window drops its protected records.
 *
 * Everything is sans-IO: a datagram is a byte array handed from one tern_rec to
 * the other. The program prints each step and exits 0 only when every record came
 * out as it went in and the replay was dropped as expected.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "hs/msg.h"
#include "record/record.h"
#include "tern/tern.h"

#define DATAGRAM_ROOM 1200 /* a common path MTU budget for one DTLS datagram */
#define DUMP_BYTES 48

static int failures;

/* Note a step that did not give what it should; the exit status reports it. */
static void expect(int ok, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("   FAILED: ", stdout);
    vprintf(fmt, ap);
    fputs("\n", stdout);
    va_end(ap);
    failures++;
}

static const char *type_name(uint8_t type)
{
    switch (type) {
    case TERN_CT_CHANGE_CIPHER_SPEC:
        return "change_cipher_spec";
    case TERN_CT_ALERT:
        return "alert";
    case TERN_CT_HANDSHAKE:
        return "handshake";
    case TERN_CT_APPLICATION_DATA:
        return "application_data";
    default:
        return "other";
    }
}

/* The plaintext as a quoted string when it is printable text, else in hex. */
static void print_bytes(const uint8_t *p, size_t len)
{
    bool text = len > 0;
    for (size_t i = 0; i < len; i++)
        text = text && p[i] >= 0x20 && p[i] < 0x7f;
    if (text) {
        printf("\"%.*s\"", (int)len, (const char *)p);
        return;
    }
    for (size_t i = 0; i < len && i < 16; i++)
        printf("%02x%s", p[i], i + 1 < len ? " " : "");
    if (len > 16)
        printf("...");
}

static void hex_dump(const uint8_t *p, size_t len)
{
    for (size_t off = 0; off < len; off += 16) {
        printf("     %04zx ", off);
        for (size_t i = off; i < off + 16 && i < len; i++)
            printf(" %02x", p[i]);
        printf("\n");
    }
}

/* One expected result of opening a datagram. */
typedef struct want {
    tern_rec_kind kind;
    uint64_t epoch, seq;
    uint8_t type;
    const char *data; /* RECORD: the plaintext */
    size_t len;
} want;

/* Open the |len|-byte |dgram| with |rec|, print every record, and compare them with
 * the |n| results in |w|. |dgram| is decrypted in place. */
static void open_datagram(tern_rec *rec, uint8_t *dgram, size_t len, const want *w, size_t n)
{
    tern_rec_iter it;
    tern_rec_iter_init(&it, rec, dgram, len);
    tern_rec_in in;
    size_t i = 0;
    while (tern_rec_next(&it, &in) != TERN_REC_END) {
        if (in.kind == TERN_REC_RECORD) {
            printf("     record   epoch %llu seq %llu  %-17s ", (unsigned long long)in.epoch,
                   (unsigned long long)in.seq, type_name(in.type));
            print_bytes(in.data, in.len);
            printf("\n");
        } else if (in.kind == TERN_REC_DROPPED) {
            /* A dropped result carries the raw record: its header says what it was. */
            tern_rd r = tern_rd_init(in.data, in.len), frag;
            tern_hdr12 h;
            if (tern_hdr12_read(&r, &h, &frag) == TERN_OK)
                printf("     dropped  epoch %u seq %llu  (%s)\n", h.epoch,
                       (unsigned long long)h.seq, tern_rec_drop_name(in.reason));
            else
                printf("     dropped  %zu bytes  (%s)\n", in.len, tern_rec_drop_name(in.reason));
        } else {
            printf("     future   epoch %llu seq %llu (kept for later)\n",
                   (unsigned long long)in.epoch, (unsigned long long)in.seq);
        }
        if (i >= n) {
            expect(0, "more results than the %zu expected", n);
            continue;
        }
        const want *x = &w[i++];
        expect(in.kind == x->kind, "result %zu is not of the expected kind", i);
        if (in.kind == TERN_REC_DROPPED && x->kind == TERN_REC_DROPPED)
            expect(in.reason == TERN_REC_DROP_REPLAY, "result %zu dropped for the wrong reason", i);
        if (in.kind == TERN_REC_RECORD && x->kind == TERN_REC_RECORD)
            expect(in.epoch == x->epoch && in.seq == x->seq && in.type == x->type &&
                       in.len == x->len && memcmp(in.data, x->data, x->len) == 0,
                   "record %zu differs from what was sealed", i);
    }
    expect(i == n, "%zu results, %zu expected", i, n);
}

/* Random epoch 1 keys for one direction, installed for writing in |writer| and for
 * reading in |reader|. */
static tern_err key_direction(tern_rec *writer, tern_rec *reader)
{
    uint8_t key[16], salt[TERN_DTLS12_SALT_LEN];
    tern_err err = tern_random(NULL, key, sizeof key);
    if (err == TERN_OK)
        err = tern_random(NULL, salt, sizeof salt);
    tern_rec_keys k = {TERN_DTLS12_VERSION, TERN_AEAD_AES_128_GCM, key, salt, sizeof salt};
    if (err == TERN_OK)
        err = tern_rec_install(writer, TERN_REC_WRITE, 1, &k);
    if (err == TERN_OK)
        err = tern_rec_install(reader, TERN_REC_READ, 1, &k);
    tern_wipe(key, sizeof key); /* the tern_recs keep their own copies */
    tern_wipe(salt, sizeof salt);
    return err;
}

/* Seal one record into |w| and print a line about it. */
static tern_err seal(tern_rec *rec, uint64_t epoch, uint8_t type, const void *data, size_t len,
                     tern_wr *w)
{
    size_t before = w->len, over = 0;
    uint64_t seq = 0;
    tern_err err = tern_rec_overhead(rec, epoch, &over);
    if (err == TERN_OK)
        err = tern_rec_seal(rec, epoch, type, data, len, w, &seq);
    if (err != TERN_OK) {
        printf("     sealing failed: %s\n", tern_strerror(err));
        return err;
    }
    printf("     sealed   epoch %llu seq %llu  %-17s %2zu bytes -> %2zu on the wire",
           (unsigned long long)epoch, (unsigned long long)seq, type_name(type), len,
           w->len - before);
    if (epoch == 0)
        printf("  (%d header, unprotected)\n", TERN_DTLS12_HDR_LEN);
    else
        printf("  (%d header, %d nonce, %zu tag)\n", TERN_DTLS12_HDR_LEN,
               TERN_DTLS12_EXPLICIT_NONCE_LEN, tern_aead_tag_len(TERN_AEAD_AES_128_GCM));
    expect(w->len - before == len + over, "record size is not plaintext + tern_rec_overhead()");
    return TERN_OK;
}

int main(void)
{
    static const char msg1[] = "hello from tern";
    static const char msg2[] = "two records, one datagram";
    static const char reply[] = "hello back, client";

    printf("tern %s demo: the DTLS 1.2 record layer, a client and a server in memory\n\n",
           TERN_VERSION_STRING);

    tern_rec client, server;
    if (tern_rec_init(&client, 0) != TERN_OK || tern_rec_init(&server, 0) != TERN_OK)
        return 1;
    printf("1. Keys. Both sides start at epoch 0 (no protection). With no handshake yet,\n"
           "   epoch 1 keys come from tern_random: AES-128-GCM, a 16-byte key and a 4-byte\n"
           "   salt for each direction (client write = server read, and back).\n\n");
    if (key_direction(&client, &server) != TERN_OK || key_direction(&server, &client) != TERN_OK) {
        printf("   FAILED: could not install the epoch 1 keys\n");
        return 1;
    }

    /* A handshake record's content: the 12-byte header of an empty HelloRequest. */
    uint8_t hs[TERN_HS_HDR_LEN];
    tern_wr hw = tern_wr_init(hs, sizeof hs);
    tern_hs_hdr hello_request = {TERN_HS_HELLO_REQUEST, 0, 0, 0, 0};
    if (tern_hs_hdr_build(&hw, &hello_request) != TERN_OK)
        return 1;

    uint8_t dgram[DATAGRAM_ROOM];
    tern_wr w = tern_wr_init(dgram, sizeof dgram);
    printf("2. The client seals three records into one datagram (room: %d bytes). The\n"
           "   handshake record carries the 12-byte header of an empty HelloRequest, all\n"
           "   zeros: a stand-in until the handshake exists.\n",
           DATAGRAM_ROOM);
    if (seal(&client, 0, TERN_CT_HANDSHAKE, hs, sizeof hs, &w) != TERN_OK ||
        seal(&client, 1, TERN_CT_APPLICATION_DATA, msg1, strlen(msg1), &w) != TERN_OK ||
        seal(&client, 1, TERN_CT_APPLICATION_DATA, msg2, strlen(msg2), &w) != TERN_OK)
        return 1;
    size_t dlen = w.len;
    printf("   datagram: %zu bytes; the first %d:\n", dlen, DUMP_BYTES);
    hex_dump(dgram, dlen < DUMP_BYTES ? dlen : DUMP_BYTES);
    printf("   (16 = handshake, fe fd = DTLS 1.2, 00 00 = epoch, 6 bytes of sequence number,\n"
           "   00 0c = 12 bytes of fragment; the next record starts 17 fe fd 00 01: epoch 1)\n\n");

    /* The server decrypts in place, so keep a copy to replay later. */
    uint8_t copy[DATAGRAM_ROOM];
    memcpy(copy, dgram, dlen);

    printf("3. The server opens the datagram:\n");
    const want first[] = {
        {TERN_REC_RECORD, 0, 0, TERN_CT_HANDSHAKE, (const char *)hs, sizeof hs},
        {TERN_REC_RECORD, 1, 0, TERN_CT_APPLICATION_DATA, msg1, strlen(msg1)},
        {TERN_REC_RECORD, 1, 1, TERN_CT_APPLICATION_DATA, msg2, strlen(msg2)},
    };
    open_datagram(&server, dgram, dlen, first, 3);

    printf("\n4. The server seals a reply in a datagram of its own; the client opens it:\n");
    uint8_t back[DATAGRAM_ROOM];
    tern_wr bw = tern_wr_init(back, sizeof back);
    if (seal(&server, 1, TERN_CT_APPLICATION_DATA, reply, strlen(reply), &bw) != TERN_OK)
        return 1;
    const want answer[] = {
        {TERN_REC_RECORD, 1, 0, TERN_CT_APPLICATION_DATA, reply, strlen(reply)},
    };
    open_datagram(&client, back, bw.len, answer, 1);

    printf("\n5. An attacker replays an exact copy of the client's datagram to the server:\n");
    const want again[] = {
        {TERN_REC_RECORD, 0, 0, TERN_CT_HANDSHAKE, (const char *)hs, sizeof hs},
        {TERN_REC_DROPPED},
        {TERN_REC_DROPPED},
    };
    open_datagram(&server, copy, dlen, again, 3);
    printf("   Epoch 0 is unauthenticated and has no replay window (the handshake layer\n"
           "   discards repeated messages by message_seq); epoch 1 records already\n"
           "   received are dropped by the replay window, silently, and counted.\n");

    const tern_rec_stats *st = tern_rec_stats_of(&server);
    printf("   server counters: sent %llu, accepted %llu, future %llu, dropped:\n",
           (unsigned long long)st->sent, (unsigned long long)st->accepted,
           (unsigned long long)st->future);
    printf("    ");
    for (int r = 0; r < TERN_REC_DROP_COUNT; r++)
        printf(" %s %llu", tern_rec_drop_name(r), (unsigned long long)st->dropped[r]);
    printf("\n");
    for (int r = 0; r < TERN_REC_DROP_COUNT; r++)
        expect(st->dropped[r] == (r == TERN_REC_DROP_REPLAY ? 2u : 0u), "%s count",
               tern_rec_drop_name(r));
    expect(st->sent == 1 && st->accepted == 4 && st->future == 0, "server counters");
    st = tern_rec_stats_of(&client);
    expect(st->sent == 3 && st->accepted == 1, "client counters");

    tern_rec_clear(&client);
    tern_rec_clear(&server);
    if (failures > 0) {
        printf("\nFAILED: %d check%s did not hold\n", failures, failures == 1 ? "" : "s");
        return 1;
    }
    printf("\nOK: every record arrived as it was sealed, and the replayed application\n"
           "records were dropped.\n");
    return 0;
}
