/*
 * tern_bench.c - tern beside OpenSSL libssl (DTLS 1.2) in one process run.
 *
 *   tern-bench [--quick] [--rounds R]       timed metrics: handshakes/s, datagrams
 *                                           per handshake, bulk records/s and MB/s,
 *                                           raw AEAD seal+open rate
 *   tern-bench-heap [--quick]               heap bytes per idle association
 *   tern-bench --callgrind STACK GROUP SIDE N [--cold]
 *                                           N handshakes for callgrind, collecting
 *                                           only SIDE (client|server) of STACK
 *                                           (tern|openssl) after a warm-up; run
 *                                           under valgrind --collect-atstart=no;
 *                                           --cold: a new tern client config for
 *                                           each (nothing cached from earlier ones)
 *   tern-bench --callgrind-bulk STACK AEAD N
 *                                           N bulk records, both sides
 *
 * Every metric is one line, `metric tern openssl ratio`, ratio = tern / openssl.
 * Lines starting with '#' say how the figures were taken (spread across rounds).
 * Nothing is asserted: a failed run prints "fail" in its column. scripts/bench.sh
 * runs everything and writes docs/PERFORMANCE.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct opts {
    bool quick;
    int rounds;
    int hs_n, bulk_n, raw_n, heap_n;
} opts;

static const char *const group_names[] = {[GROUP_X25519] = "x25519", [GROUP_P256] = "p256"};
static const char *const aead_names[] = {[AEAD_AES128GCM] = "aes128gcm",
                                         [AEAD_CHACHA20] = "chacha20poly1305"};

/* ------------------------------------------------------------------ output */

static void fmt(char *out, size_t cap, double v, int prec)
{
    if (v < 0)
        snprintf(out, cap, "fail");
    else
        snprintf(out, cap, "%.*f", prec, v);
}

/* One metric line. Negative values mean "failed" (or, for openssl, "none"). */
static void line(const char *metric, double tern, double ossl, int prec)
{
    char t[32], o[32], r[32];
    fmt(t, sizeof t, tern, prec);
    if (ossl == -2)
        snprintf(o, sizeof o, "-");
    else
        fmt(o, sizeof o, ossl, prec);
    if (tern >= 0 && ossl > 0)
        snprintf(r, sizeof r, "%.2f", tern / ossl);
    else
        snprintf(r, sizeof r, "-");
    printf("%-34s %14s %14s %7s\n", metric, t, o, r);
    fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of |n| rates; -1 when any round failed. Also min and max. */
static double median(double *v, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++)
        if (v[i] < 0)
            return *lo = *hi = -1;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = v[0];
    *hi = v[n - 1];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void spread(const char *metric, const double *t, const double *o, int rounds)
{
    double tl, th, ol, oh;
    double tv[16], ov[16];
    memcpy(tv, t, sizeof tv[0] * (size_t)rounds);
    memcpy(ov, o, sizeof ov[0] * (size_t)rounds);
    median(tv, rounds, &tl, &th);
    median(ov, rounds, &ol, &oh);
    printf("# %s: %d rounds, tern %.0f..%.0f, openssl %.0f..%.0f\n", metric, rounds, tl, th, ol,
           oh);
}

/* ------------------------------------------------------------------ handshakes */

static void bench_handshakes(const opts *op, bench_group g)
{
    char name[64];
    double trate[16], orate[16];
    hs_counts tc = {0}, oc = {0};
    tern_side *t = tb_new(g, AEAD_AES128GCM, BENCH_HS_MTU);
    ossl_side *o = ob_new(g, AEAD_AES128GCM, BENCH_HS_MTU);
    hs_counts tw = {0}, ow = {0};
    bool tok = t != NULL && tb_hs_run(t, 1, &tw);
    bool ook = o != NULL && ob_hs_run(o, 1, &ow);
    printf("# %s: tern %s; openssl %s\n", group_names[g], tw.negotiated, ow.negotiated);
    for (int r = 0; r < op->rounds; r++) {
        /* Alternate which stack goes first, so neither always runs on a warm cache. */
        for (int k = 0; k < 2; k++) {
            bool tern_turn = (k == 0) == (r % 2 == 0);
            double t0 = bench_cpu_seconds();
            bool ok = tern_turn ? tok && tb_hs_run(t, op->hs_n, &tc)
                                : ook && ob_hs_run(o, op->hs_n, &oc);
            double dt = bench_cpu_seconds() - t0;
            double rate = ok && dt > 0 ? op->hs_n / dt : -1;
            if (tern_turn)
                trate[r] = rate, tok = ok;
            else
                orate[r] = rate, ook = ok;
        }
    }
    snprintf(name, sizeof name, "hs_per_s_%s", group_names[g]);
    spread(name, trate, orate, op->rounds);
    double lo, hi;
    double tm = median(trate, op->rounds, &lo, &hi), om = median(orate, op->rounds, &lo, &hi);
    line(name, tm, om, 0);

    double th = tc.handshakes ? (double)tc.handshakes : -1;
    double oh = oc.handshakes ? (double)oc.handshakes : -1;
    snprintf(name, sizeof name, "datagrams_per_hs_%s", group_names[g]);
    line(name, th > 0 ? tc.datagrams / th : -1, oh > 0 ? oc.datagrams / oh : -1, 1);
    snprintf(name, sizeof name, "bytes_per_hs_%s", group_names[g]);
    line(name, th > 0 ? tc.bytes / th : -1, oh > 0 ? oc.bytes / oh : -1, 0);
    snprintf(name, sizeof name, "largest_datagram_%s", group_names[g]);
    line(name, th > 0 ? (double)tc.largest : -1, oh > 0 ? (double)oc.largest : -1, 0);
    tb_free(t);
    ob_free(o);
}

/* ------------------------------------------------------------------ bulk */

static void bench_bulk(const opts *op, bench_aead a)
{
    char name[64];
    double trate[16], orate[16], rrate[16], r12rate[16];
    tern_side *t = tb_new(GROUP_X25519, a, BENCH_BULK_MTU);
    ossl_side *o = ob_new(GROUP_X25519, a, BENCH_BULK_MTU);
    bool tok = t != NULL && tb_bulk_start(t) && tb_bulk_run(t, 10);
    bool ook = o != NULL && ob_bulk_start(o) && ob_bulk_run(o, 10);
    bool rok = tb_raw_aead(a, 10, false), r12ok = tb_raw_aead(a, 10, true);
    for (int r = 0; r < op->rounds; r++) {
        for (int k = 0; k < 4; k++) {
            int which = (k + r) % 4; /* rotate the order */
            double t0 = bench_cpu_seconds();
            bool ok = which == 0   ? tok && tb_bulk_run(t, op->bulk_n)
                      : which == 1 ? ook && ob_bulk_run(o, op->bulk_n)
                      : which == 2 ? rok && tb_raw_aead(a, op->raw_n, false)
                                   : r12ok && tb_raw_aead(a, op->raw_n, true);
            double dt = bench_cpu_seconds() - t0;
            int n = which >= 2 ? op->raw_n : op->bulk_n;
            double rate = ok && dt > 0 ? n / dt : -1;
            if (which == 0)
                trate[r] = rate, tok = ok;
            else if (which == 1)
                orate[r] = rate, ook = ok;
            else if (which == 2)
                rrate[r] = rate, rok = ok;
            else
                r12rate[r] = rate, r12ok = ok;
        }
    }
    double lo, hi, rl, rh, r12l, r12h;
    snprintf(name, sizeof name, "bulk_rec_per_s_%s", aead_names[a]);
    spread(name, trate, orate, op->rounds);
    double tm = median(trate, op->rounds, &lo, &hi), om = median(orate, op->rounds, &lo, &hi);
    double rm = median(rrate, op->rounds, &rl, &rh);
    double r12m = median(r12rate, op->rounds, &r12l, &r12h);
    printf("# raw_aead_%s: %d rounds, %.0f..%.0f\n", aead_names[a], op->rounds, rl, rh);
    printf("# raw_rec12_%s: %d rounds, %.0f..%.0f\n", aead_names[a], op->rounds, r12l, r12h);
    line(name, tm, om, 0);
    snprintf(name, sizeof name, "bulk_mb_per_s_%s", aead_names[a]);
    line(name, tm < 0 ? -1 : tm * BENCH_RECORD / 1e6, om < 0 ? -1 : om * BENCH_RECORD / 1e6, 1);
    snprintf(name, sizeof name, "raw_aead_rec_per_s_%s", aead_names[a]);
    line(name, rm, -2, 0);
    snprintf(name, sizeof name, "bulk_pct_of_raw_%s", aead_names[a]);
    line(name, tm < 0 || rm <= 0 ? -1 : 100 * tm / rm, om < 0 || rm <= 0 ? -1 : 100 * om / rm, 1);
    snprintf(name, sizeof name, "raw_rec12_rec_per_s_%s", aead_names[a]);
    line(name, r12m, -2, 0);
    snprintf(name, sizeof name, "bulk_pct_of_raw12_%s", aead_names[a]);
    line(name, tm < 0 || r12m <= 0 ? -1 : 100 * tm / r12m,
         om < 0 || r12m <= 0 ? -1 : 100 * om / r12m, 1);
    tb_free(t);
    ob_free(o);
}

/* ------------------------------------------------------------------ heap */

static void bench_heap(const opts *op)
{
    if (!bench_heap_supported()) {
        line("heap_idle_client", -1, -1, 0);
        line("heap_idle_server", -1, -1, 0);
        return;
    }
    heap_figures th = {-1, -1}, oh = {-1, -1};
    tern_side *t = tb_new(GROUP_X25519, AEAD_AES128GCM, BENCH_HS_MTU);
    ossl_side *o = ob_new(GROUP_X25519, AEAD_AES128GCM, BENCH_HS_MTU);
    if (t == NULL || !tb_heap(t, op->heap_n, &th))
        th.client = th.server = -1;
    if (o == NULL || !ob_heap(o, op->heap_n, &oh))
        oh.client = oh.server = -1;
    printf("# heap: %d idle associations per stack\n", op->heap_n);
    line("heap_idle_client", th.client, oh.client, 0);
    line("heap_idle_server", th.server, oh.server, 0);
    tb_free(t);
    ob_free(o);
}

/* ------------------------------------------------------------------ callgrind */

/* --callgrind-bulk STACK AEAD N: both sides of N bulk records. */
static int run_callgrind_bulk(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: tern-bench --callgrind-bulk tern|openssl aes128gcm|chacha20 N\n");
        return 2;
    }
    bool tern = strcmp(argv[2], "tern") == 0;
    bench_aead a = strncmp(argv[3], "chacha", 6) == 0 ? AEAD_CHACHA20 : AEAD_AES128GCM;
    int n = atoi(argv[4]);
    tern_side *t = tern ? tb_new(GROUP_X25519, a, BENCH_BULK_MTU) : NULL;
    ossl_side *o = tern ? NULL : ob_new(GROUP_X25519, a, BENCH_BULK_MTU);
    bool ok = tern ? t && tb_bulk_start(t) && tb_bulk_run(t, 10)
                   : o && ob_bulk_start(o) && ob_bulk_run(o, 10);
    bench_measured_side = SIDE_BOTH;
    ok = ok && (tern ? tb_bulk_run(t, n) : ob_bulk_run(o, n));
    bench_measured_side = SIDE_NONE;
    tb_free(t);
    ob_free(o);
    printf("callgrind-bulk %s %s records %d %s\n", argv[2], argv[3], n, ok ? "ok" : "fail");
    return ok ? 0 : 1;
}

static int run_callgrind(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: tern-bench --callgrind tern|openssl x25519|p256 client|server N"
                        " [--cold]\n");
        return 2;
    }
    bool tern = strcmp(argv[2], "tern") == 0;
    bench_group g = strcmp(argv[3], "p256") == 0 ? GROUP_P256 : GROUP_X25519;
    bench_side side = strcmp(argv[4], "server") == 0 ? SIDE_SERVER : SIDE_CLIENT;
    int n = atoi(argv[5]);
    bool cold = argc > 6 && strcmp(argv[6], "--cold") == 0 && tern;
    hs_counts c = {0};
    tern_side *t = tern ? tb_new(g, AEAD_AES128GCM, BENCH_HS_MTU) : NULL;
    ossl_side *o = tern ? NULL : ob_new(g, AEAD_AES128GCM, BENCH_HS_MTU);
    /* Warm-up: one-time costs (provider loading, algorithm fetches) stay out. */
    bool ok = tern ? t && tb_hs_run(t, 2, &c) : o && ob_hs_run(o, 2, &c);
    bench_measured_side = side;
    ok = ok && (cold ? tb_hs_run_cold(t, n, &c) : tern ? tb_hs_run(t, n, &c) : ob_hs_run(o, n, &c));
    bench_measured_side = SIDE_NONE;
    tb_free(t);
    ob_free(o);
    printf("callgrind %s %s %s handshakes %d %s\n", argv[2], argv[3], argv[4], n,
           ok ? "ok" : "fail");
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0)
        return run_callgrind(argc, argv);
    if (argc > 1 && strcmp(argv[1], "--callgrind-bulk") == 0)
        return run_callgrind_bulk(argc, argv);
    opts op = {false, 5, 300, 50000, 50000, 1000};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            op = (opts){true, 1, 3, 200, 200, 20};
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            op.rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--rounds R] | --callgrind ...\n", argv[0]);
            return 2;
        }
    }
    if (op.rounds < 1 || op.rounds > 16)
        op.rounds = 5;
#ifdef BENCH_HEAP_HOOK
    const bool heap_program = true;
#else
    const bool heap_program = false;
#endif
    if (heap_program) {
        bench_heap(&op);
        return 0;
    }
    printf("# %-32s %14s %14s %7s\n", "metric", "tern", "openssl", "ratio");
    printf("# libssl: %s; timings are CPU time of the process, median of %d rounds\n",
           ob_version(), op.rounds);
    bench_handshakes(&op, GROUP_X25519);
    bench_handshakes(&op, GROUP_P256);
    bench_bulk(&op, AEAD_AES128GCM);
    bench_bulk(&op, AEAD_CHACHA20);
    return 0;
}
