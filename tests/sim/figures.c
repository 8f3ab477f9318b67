/*
 * figures.c - tern-sim-figures: how DTLS 1.2 handshakes with tern's default
 * settings fare on lossy links, measured in the simulator (sim.h). The table in
 * docs/ROBUSTNESS.md is its output.
 *
 * For each loss rate, |seeds| runs (seeds first .. first + seeds - 1). Each run:
 * default configs (ECDSA P-256 chain, MTU 1200, default timers), every datagram
 * lost with the same probability in each direction, a one-way delay of 25 ms plus
 * 0-10 ms of jitter (--delay); success is the handshake completing on both ends and a ping
 * echoed back within 60 s of virtual time (the application sends its ping again
 * every second until the echo comes). Handshake times are in virtual time, from
 * the client's start to both ends established; runs that did not complete count
 * as infinitely long in the percentiles. "datagrams" is the number of handshake
 * datagrams both ends sent (before loss) per run, HelloVerifyRequests included.
 *
 * Then the cost of losing the server's final flight (CCS + Finished) three times
 * on an otherwise clean link.
 *
 *   tern-sim-figures [--seeds N] [--first S] [--loss 0,10,...] [--check] [--markdown]
 *                    [--rtx initial_ms,max_ms,handshake_ms] [--steady n]
 *                    [--delay ms[,jitter_ms]]
 *
 * --rtx replaces the default timers (tern_config_set_timers) on both ends, and
 * --steady the number of timeouts before the timer backs off (internal), to compare
 * settings; --delay changes the link's one-way delay and jitter (the
 * targets are for the default 25,10).
 *
 * --check exits non-zero unless the targets hold: at 20 % loss 100 % complete and
 * p95 <= 3 s; at 40 % loss >= 99.5 % complete and p95 <= 8 s; the final flight lost
 * three times costs <= 2.5 s. Every datagram is also checked against the datagram
 * contract, and a breach fails the program whatever the options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "record/record.h"
#include "sim.h"

#define MAX_CELLS 16
#define LIMIT_MS 60000

typedef struct cell {
    unsigned loss;
    unsigned seeds;
    unsigned done;
    uint64_t p50, p95, p99, max;
    double datagrams;
    unsigned contract_breaches;
} cell;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The |q| quantile (0..1) of sorted |v|: the value below which q of the runs lie. */
static uint64_t quantile(const uint64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i == 0)
        i = 1;
    return v[(i > n ? n : i) - 1];
}

static void fmt_ms(char *out, size_t cap, uint64_t ms)
{
    if (ms == UINT64_MAX)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%.2f s", (double)ms / 1000.0);
}

static unsigned delay_ms = 25, jitter_ms = 10;

static bool run_cell(tern_config *ccfg, tern_config *scfg, unsigned loss, uint64_t first,
                     unsigned seeds, cell *out)
{
    sim_params p = {0};
    p.ccfg = ccfg;
    p.scfg = scfg;
    p.hostname = "localhost";
    p.limit_ms = LIMIT_MS;
    p.echo = true;
    for (int w = 0; w < 2; w++) {
        p.dir[w].loss = loss / 100.0;
        p.dir[w].delay_ms = delay_ms;
        p.dir[w].jitter_ms = jitter_ms;
    }
    uint64_t *t = malloc(seeds * sizeof *t);
    if (t == NULL)
        return false;
    memset(out, 0, sizeof *out);
    out->loss = loss;
    out->seeds = seeds;
    uint64_t dgrams = 0;
    for (unsigned i = 0; i < seeds; i++) {
        sim_result r;
        sim_run(&p, first + i, &r);
        if (!r.contract_ok) {
            out->contract_breaches++;
            sim_print_failure("datagram contract", &r);
        }
        /* Success: handshake and echo within the limit. */
        t[i] = r.done ? r.hs_ms : UINT64_MAX;
        if (r.done)
            out->done++;
        dgrams += r.hs_sent;
    }
    qsort(t, seeds, sizeof *t, cmp_u64);
    out->p50 = quantile(t, seeds, 0.50);
    out->p95 = quantile(t, seeds, 0.95);
    out->p99 = quantile(t, seeds, 0.99);
    out->max = t[seeds - 1];
    out->datagrams = (double)dgrams / seeds;
    free(t);
    return true;
}

/* Drop the first |n| datagrams of the server that carry a ChangeCipherSpec. */
typedef struct drop_ccs {
    unsigned left;
} drop_ccs;

static bool drop_ccs_filter(void *ctx, sim_way way, const uint8_t *d, size_t len, uint64_t n,
                            uint32_t *hold_ms)
{
    (void)n;
    (void)hold_ms;
    drop_ccs *dc = ctx;
    if (way != SIM_S2C || dc->left == 0 || !sim_has_record(d, len, TERN_CT_CHANGE_CIPHER_SPEC))
        return false;
    dc->left--;
    return true;
}

/* The handshake time with the server's final flight dropped |drops| times on a clean
 * link with the figures' delay. */
static uint64_t final_flight_time(tern_config *ccfg, tern_config *scfg, unsigned drops)
{
    drop_ccs dc = {drops};
    sim_params p = {0};
    p.ccfg = ccfg;
    p.scfg = scfg;
    p.hostname = "localhost";
    p.limit_ms = LIMIT_MS;
    p.filter = drop_ccs_filter;
    p.filter_ctx = &dc;
    for (int w = 0; w < 2; w++)
        p.dir[w].delay_ms = delay_ms;
    sim_result r;
    sim_run(&p, 1, &r);
    if (!r.done || !r.contract_ok || dc.left != 0) {
        sim_print_failure("final flight lost", &r);
        return UINT64_MAX;
    }
    return r.hs_ms;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tern-sim-figures [--seeds N] [--first S] [--loss 0,10,20,...] [--check] "
            "[--markdown]\n"
            "                        [--rtx initial_ms,max_ms,handshake_ms] [--steady n]"
            " [--delay ms[,jitter_ms]]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned seeds = 1000, nloss = 0;
    uint64_t first = 1;
    unsigned loss[MAX_CELLS];
    bool check = false, markdown = false;
    unsigned rtx[3] = {0, 0, 0};
    int steady = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            seeds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc) {
            first = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--loss") == 0 && i + 1 < argc) {
            for (char *s = argv[++i]; *s && nloss < MAX_CELLS; s += *s == ',') {
                char *end;
                unsigned long v = strtoul(s, &end, 10);
                if (end == s || v > 100)
                    usage();
                loss[nloss++] = (unsigned)v;
                s = end;
            }
        } else if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%u,%u", &delay_ms, &jitter_ms) < 1)
                usage();
        } else if (strcmp(argv[i], "--steady") == 0 && i + 1 < argc) {
            steady = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rtx") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%u,%u,%u", &rtx[0], &rtx[1], &rtx[2]) != 3)
                usage();
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--markdown") == 0) {
            markdown = true;
        } else {
            usage();
        }
    }
    if (seeds == 0)
        usage();
    if (nloss == 0) {
        static const unsigned def[] = {0, 10, 20, 30, 40, 50};
        memcpy(loss, def, sizeof def);
        nloss = 6;
    }

    tern_config *scfg = sim_server_config("leaf-ecdsa-chain.pem", "leaf-ecdsa.key", 0);
    tern_config *ccfg = sim_client_config("root-ca.pem", 0);
    if (scfg == NULL || ccfg == NULL)
        return 1;
    if (rtx[0] != 0 && (tern_config_set_timers(scfg, rtx[0], rtx[1], rtx[2]) != TERN_OK ||
                        tern_config_set_timers(ccfg, rtx[0], rtx[1], rtx[2]) != TERN_OK))
        usage();
    if (steady >= 0) /* not public: reach into the configs (test code only) */
        scfg->rtx_steady = ccfg->rtx_steady = (uint32_t)steady;

    int bad = 0;
    clock_t t0 = clock();
    if (markdown)
        printf("| loss each way | runs | complete | median | p95 | p99 | datagrams |\n"
               "|---:|---:|---:|---:|---:|---:|---:|\n");
    else
        printf("%6s %6s %9s %9s %9s %9s %10s\n", "loss", "runs", "complete", "median", "p95", "p99",
               "datagrams");
    for (unsigned i = 0; i < nloss; i++) {
        cell c;
        if (!run_cell(ccfg, scfg, loss[i], first, seeds, &c))
            return 1;
        char m[32], p95[32], p99[32];
        fmt_ms(m, sizeof m, c.p50);
        fmt_ms(p95, sizeof p95, c.p95);
        fmt_ms(p99, sizeof p99, c.p99);
        double pct = 100.0 * c.done / c.seeds;
        if (markdown)
            printf("| %u %% | %u | %.1f %% | %s | %s | %s | %.1f |\n", c.loss, c.seeds, pct, m, p95,
                   p99, c.datagrams);
        else
            printf("%5u%% %6u %8.1f%% %9s %9s %9s %10.1f\n", c.loss, c.seeds, pct, m, p95, p99,
                   c.datagrams);
        fflush(stdout);
        bad |= c.contract_breaches != 0;
        if (check && c.loss == 20 && (c.done != c.seeds || c.p95 > 3000)) {
            fprintf(stderr, "target missed at 20 %% loss: need 100 %% complete, p95 <= 3 s\n");
            bad = 1;
        }
        if (check && c.loss == 40 && (c.done * 1000 < c.seeds * 995u || c.p95 > 8000)) {
            fprintf(stderr, "target missed at 40 %% loss: need >= 99.5 %% complete, p95 <= 8 s\n");
            bad = 1;
        }
    }
    uint64_t clean = final_flight_time(ccfg, scfg, 0);
    uint64_t lost3 = final_flight_time(ccfg, scfg, 3);
    uint64_t lost1 = final_flight_time(ccfg, scfg, 1);
    if (clean == UINT64_MAX || lost1 == UINT64_MAX || lost3 == UINT64_MAX) {
        bad = 1;
    } else {
        printf("%sfinal flight lost once: +%.2f s; three times: +%.2f s (clean handshake "
               "%.2f s)\n",
               markdown ? "\n" : "", (lost1 - clean) / 1000.0, (lost3 - clean) / 1000.0,
               clean / 1000.0);
        if (check && lost3 - clean > 2500) {
            fprintf(stderr, "target missed: the final flight lost three times costs > 2.5 s\n");
            bad = 1;
        }
    }
    fflush(stdout);
    fprintf(stderr, "(%.1f s of CPU)\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    tern_config_free(ccfg);
    tern_config_free(scfg);
    return bad;
}
