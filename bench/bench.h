/*
 * bench.h - what the tern and libssl halves of tern-bench share: in-memory
 * datagram queues, the clock, the heap counter, the callgrind zones and the
 * parameters both stacks run with.
 *
 * Benchmarks print figures and assert nothing (STYLE.md). Both stacks run in the
 * same process, over the same queues, with the same certificate, key, suite,
 * group and MTU; see docs/PERFORMANCE.md for what each metric means.
 */
#ifndef TERN_BENCH_H
#define TERN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ datagram queues */

#define DQ_SLOTS 128
#define DQ_SLOT_SIZE 2048 /* above every MTU the bench uses (1200, 1500) */

/* A FIFO of datagrams, one direction of one link. Each datagram keeps its
 * boundaries; nothing is merged or split. Counters feed "datagrams per handshake". */
typedef struct dq {
    uint8_t buf[DQ_SLOTS][DQ_SLOT_SIZE];
    size_t len[DQ_SLOTS];
    unsigned head, count;
    uint64_t pushed;    /* datagrams ever pushed */
    uint64_t bytes;     /* their bytes */
    size_t largest;     /* the largest one */
    uint64_t overflows; /* pushes refused: queue full or datagram too large */
} dq;

void dq_reset(dq *q);

/* The slot the next datagram goes to (DQ_SLOT_SIZE bytes), or NULL when full. */
uint8_t *dq_tail(dq *q);

/* The datagram written at dq_tail() is |len| bytes: append it. */
void dq_commit(dq *q, size_t len);

/* Copy |len| bytes in as one datagram. False when it does not fit. */
bool dq_push(dq *q, const uint8_t *data, size_t len);

/* The oldest datagram (writable: receivers decrypt in place), or NULL when empty. */
uint8_t *dq_front(dq *q, size_t *len);
void dq_pop(dq *q);

/* ------------------------------------------------------------------ parameters */

typedef enum bench_group { GROUP_X25519, GROUP_P256 } bench_group;
typedef enum bench_aead { AEAD_AES128GCM, AEAD_CHACHA20 } bench_aead;

#define BENCH_HS_MTU 1200   /* handshake datagrams: tern's default MTU */
#define BENCH_BULK_MTU 1500 /* bulk: one 1200-byte record per datagram */
#define BENCH_RECORD 1200   /* application bytes per bulk record */
#define BENCH_HOST "localhost"

/* Paths of the test PKI (tests/data/pki), set by main from TERN_SOURCE_DIR. */
const char *bench_pki(const char *name);

/* Bytes of the named file in *out (malloc'd, caller frees). False on error. */
bool bench_read_file(const char *path, uint8_t **out, size_t *len);

/* ------------------------------------------------------------------ measuring */

/* CPU seconds of this process (not wall time: the cores are shared). */
double bench_cpu_seconds(void);

/* Bytes currently allocated on the heap, as counted by the allocator hook (the
 * usable size of every live block) or, under AddressSanitizer, as ASan counts
 * them. bench_heap_supported() says whether either is present. */
long long bench_heap_bytes(void);
bool bench_heap_supported(void);

/* Callgrind zones. `tern-bench --callgrind` runs under valgrind with
 * --collect-atstart=no; collection is switched on only while the measured side
 * (client or server, or both for bulk) runs, after the warm-up. Zones may nest.
 * Outside valgrind these cost a few instructions. */
typedef enum bench_side { SIDE_NONE, SIDE_CLIENT, SIDE_SERVER, SIDE_BOTH } bench_side;
extern bench_side bench_measured_side;
void bench_zone_enter(bench_side side);
void bench_zone_leave(bench_side side);

/* Handshake counters, summed over every handshake run. */
typedef struct hs_counts {
    char negotiated[128]; /* version, suite and group of the last handshake */
    uint64_t handshakes;
    uint64_t datagrams; /* both directions */
    uint64_t bytes;
    size_t largest;
    uint64_t failures;
} hs_counts;

/* Heap figures: bytes per idle established association, per side. */
typedef struct heap_figures {
    double client, server;
} heap_figures;

/* ------------------------------------------------------------------ the two stacks */

/* Each stack: set up for a group (and, for bulk, a suite), run, tear down.
 * *_hs_run runs |n| full handshakes (new client and server each time, freed after),
 * adding to |counts|; returns false on any failure. *_bulk_start makes one
 * established pair, *_bulk_run sends |n| records of BENCH_RECORD bytes client to
 * server over it and reads them, *_bulk_stop frees it. *_heap measures |n| idle
 * associations. */
typedef struct tern_side tern_side;
tern_side *tb_new(bench_group g, bench_aead a, int mtu);
bool tb_hs_run(tern_side *t, int n, hs_counts *counts);
/* As tb_hs_run, with a new client config (so nothing cached from earlier
 * handshakes) before each handshake, made outside the callgrind zones. */
bool tb_hs_run_cold(tern_side *t, int n, hs_counts *counts);
bool tb_bulk_start(tern_side *t);
bool tb_bulk_run(tern_side *t, int n);
void tb_bulk_stop(tern_side *t);
bool tb_heap(tern_side *t, int n, heap_figures *out);
void tb_free(tern_side *t);

/* Seal and open |n| records of BENCH_RECORD bytes through tern's crypto provider:
 * with the general AEAD calls (tern_aead_seal/open), or, |rec12|, with the DTLS 1.2
 * record entry points the record layer uses (tern_aead_seal12/open12). */
bool tb_raw_aead(bench_aead a, int n, bool rec12);

typedef struct ossl_side ossl_side;
const char *ob_version(void);
ossl_side *ob_new(bench_group g, bench_aead a, int mtu);
bool ob_hs_run(ossl_side *o, int n, hs_counts *counts);
bool ob_bulk_start(ossl_side *o);
bool ob_bulk_run(ossl_side *o, int n);
void ob_bulk_stop(ossl_side *o);
bool ob_heap(ossl_side *o, int n, heap_figures *out);
void ob_free(ossl_side *o);

#endif
