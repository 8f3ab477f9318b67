/*
 * fuzz_client.c - a tern client fed arbitrary datagrams as if from its server.
 *
 * Each input is a sequence of datagrams, each prefixed by a 2-byte length. A fresh
 * client connection starts (its ClientHello goes out), then every datagram is handed
 * to tern_conn_recv, with the clock moving and everything the client wants to send
 * drained in between. This reaches the record layer, reassembly, the client state
 * machine and the certificate parser with hostile input. The checks: no crash, no
 * datagram over the MTU, and a failed connection stays failed.
 */
#include <string.h>

#include "fuzz.h"
#include "tern/tern.h"

static tern_config *cfg;

static int fixed_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    memset(out, 0x42, len); /* deterministic: the same input takes the same path */
    return 0;
}

static void setup(void)
{
    static const tern_rng rng = {fixed_fill, NULL};
    cfg = tern_config_new();
    CHECK(cfg != NULL);
    tern_config_set_rng(cfg, &rng);
    tern_config_set_verify(cfg, TERN_VERIFY_NONE); /* reach past the certificate */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cfg == NULL)
        setup();
    tern_conn *c = tern_conn_new_client(cfg);
    CHECK(c != NULL);
    uint64_t now = 1000;
    uint8_t out[16384], dgram[4096];
    size_t n;
    if (tern_conn_start(c, now) != TERN_OK) {
        tern_conn_free(c);
        return 0;
    }
    bool failed = false;
    while (size >= 2) {
        size_t len = (size_t)(data[0] << 8 | data[1]) % sizeof dgram;
        data += 2, size -= 2;
        if (len > size)
            len = size;
        memcpy(dgram, data, len);
        data += len, size -= len;
        tern_err err = tern_conn_recv(c, now, dgram, len);
        if (failed)
            CHECK(err != TERN_OK && tern_conn_state(c) == TERN_STATE_FAILED);
        failed = tern_conn_state(c) == TERN_STATE_FAILED;
        while (tern_conn_send(c, now, out, sizeof out, &n) == TERN_OK)
            CHECK(n <= 1200);
        now += 100;
        if (tern_conn_tick(c, now) != TERN_OK)
            failed = true;
    }
    tern_conn_free(c);
    return 0;
}
