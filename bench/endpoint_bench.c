/*
 * endpoint_bench.c - tern-bench-endpoint: what one tern_endpoint does on one core.
 *
 *     tern-bench-endpoint [--seconds S] [--inflight N] [--hold N] [--verify]
 *
 * The server is one endpoint in one thread of this process, on loopback UDP,
 * with the test PKI's ECDSA P-256 chain. A forked child is the load: --inflight
 * client endpoints (one socket each, as a server tells peers apart by port), each
 * running handshake after handshake (connect, complete, close_notify, again).
 * Clients skip certificate verification unless --verify, so that the load costs
 * less than what it measures.
 *
 * Printed, not asserted:
 *   - handshakes per second: server handshakes completed during --seconds of
 *     wall time, and per second of the server process's CPU time (the load runs
 *     in the other process, so this is the rate one core of server gives);
 *   - datagrams per system call, in and out (recvmmsg / sendmmsg batching);
 *   - heap per established association: the child then opens --hold associations
 *     and keeps them open; the server's heap in use (mallinfo2) with all of them
 *     accepted, minus the heap before, divided by their number (the endpoint's map
 *     and timer heap, the association and its tern_conn with keys, all included).
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern/tern.h"
#include "tern/tern_io.h"

#ifndef TERN_SOURCE_DIR
#define TERN_SOURCE_DIR "."
#endif

typedef struct opts {
    double seconds;
    unsigned inflight, hold;
    bool verify;
} opts;

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN 1
#endif
#endif
#ifdef BENCH_ASAN
size_t __sanitizer_get_current_allocated_bytes(void); /* ASan owns malloc */
#endif

/* Bytes of heap in use in this process. */
static size_t heap_in_use(void)
{
#ifdef BENCH_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "tern-bench-endpoint: %s\n", what);
    exit(1);
}

/* ------------------------------------------------------------------ the load (child) */

typedef struct load_client {
    tern_endpoint *ep;
    tern_assoc *a;
} load_client;

/* Keep |n| clients busy until |until| (rate phase), or open |n| and hold them
 * (heap phase: |until| is 0) until the parent closes |ctl_in|. Writes one byte to
 * |ctl_out| when the phase's work is done. */
static void load_phase(tern_config *cfg, const struct sockaddr *to, socklen_t tolen, unsigned n,
                       uint64_t until, int ctl_in, int ctl_out)
{
    load_client *cl = calloc(n, sizeof *cl);
    struct pollfd *pfd = calloc(n + 1, sizeof *pfd);
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.bind = "127.0.0.1";
    o.accept = false;
    o.batch = 2;
    o.max_datagram = 4096;
    if (cl == NULL || pfd == NULL)
        die("out of memory");
    for (unsigned i = 0; i < n; i++) {
        cl[i].ep = tern_endpoint_new(cfg, &o, NULL);
        if (cl[i].ep == NULL)
            die("client endpoint (too many open files? ulimit -n)");
        cl[i].a = tern_endpoint_connect(cl[i].ep, to, tolen, "localhost", NULL);
    }
    bool told = false;
    for (;;) {
        uint64_t now = tern_endpoint_now(), wake = UINT64_MAX;
        if (until != 0 && now >= until)
            break;
        unsigned established = 0;
        for (unsigned i = 0; i < n; i++) {
            load_client *c = &cl[i];
            while (tern_endpoint_ready(c->ep) != NULL) {
            }
            tern_state st = c->a != NULL ? tern_assoc_state(c->a) : TERN_STATE_CLOSED;
            if (until != 0 && st != TERN_STATE_HANDSHAKE) {
                /* rate phase: done (or failed): close, and the next handshake */
                tern_assoc_free(c->a);
                c->a = tern_endpoint_connect(c->ep, to, tolen, "localhost", NULL);
            }
            established += st == TERN_STATE_ESTABLISHED;
            uint64_t d = tern_endpoint_deadline(c->ep);
            if (d < wake)
                wake = d;
            pfd[i] = (struct pollfd){.fd = tern_endpoint_fd(c->ep), .events = POLLIN};
        }
        if (until == 0 && established == n && !told) {
            told = true;
            if (write(ctl_out, "H", 1) != 1)
                die("control pipe");
        }
        pfd[n] = (struct pollfd){.fd = ctl_in, .events = POLLIN};
        if (until != 0 && until < wake)
            wake = until;
        int t = wake == UINT64_MAX ? 100 : wake <= now ? 0 : (int)(wake - now);
        if (poll(pfd, n + 1, t > 100 ? 100 : t) < 0 && errno != EINTR)
            die("poll");
        if (pfd[n].revents != 0)
            break; /* the parent is done with us */
        now = tern_endpoint_now();
        for (unsigned i = 0; i < n; i++)
            if (pfd[i].revents != 0 || tern_endpoint_deadline(cl[i].ep) <= now)
                if (tern_endpoint_process(cl[i].ep, now) != TERN_OK)
                    die("client socket");
    }
    for (unsigned i = 0; i < n; i++) {
        tern_assoc_free(cl[i].a);
        tern_endpoint_free(cl[i].ep);
    }
    free(cl);
    free(pfd);
    if (until != 0 && write(ctl_out, "E", 1) != 1)
        die("control pipe");
}

/* ------------------------------------------------------------------ the server (parent) */

typedef struct server {
    tern_endpoint *ep;
    tern_assoc **held;
    size_t n_held, cap_held;
} server;

/* One round: process, accept (kept), drop the ones that ended. */
static void serve(server *s, int wait_ms, int extra_fd, bool *extra_ready)
{
    struct pollfd pfd[2] = {{.fd = tern_endpoint_fd(s->ep), .events = POLLIN},
                            {.fd = extra_fd, .events = POLLIN}};
    int t = tern_endpoint_timeout(s->ep, tern_endpoint_now());
    if (t < 0 || t > wait_ms)
        t = wait_ms;
    if (poll(pfd, 2, t) < 0 && errno != EINTR)
        die("poll");
    *extra_ready = pfd[1].revents != 0;
    if (tern_endpoint_process(s->ep, tern_endpoint_now()) != TERN_OK)
        die("server socket");
    tern_assoc *a;
    while ((a = tern_endpoint_accept(s->ep)) != NULL) {
        if (s->n_held == s->cap_held) {
            s->cap_held = s->cap_held ? 2 * s->cap_held : 1024;
            s->held = realloc(s->held, s->cap_held * sizeof *s->held);
            if (s->held == NULL)
                die("out of memory");
        }
        tern_assoc_set_user(a, (void *)(uintptr_t)s->n_held);
        s->held[s->n_held++] = a;
    }
    while ((a = tern_endpoint_ready(s->ep)) != NULL) {
        if (tern_assoc_end_reason(a) == TERN_END_NONE)
            continue;
        /* ended (the client closed): out of the list, freed */
        size_t i = (size_t)(uintptr_t)tern_assoc_user(a);
        s->held[i] = s->held[--s->n_held];
        tern_assoc_set_user(s->held[i], (void *)(uintptr_t)i);
        tern_assoc_free(a);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: tern-bench-endpoint [--seconds S] [--inflight N] [--hold N] "
                    "[--verify]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opts opt = {.seconds = 5, .inflight = 64, .hold = 1000, .verify = false};
    static const struct option longopts[] = {
        {"seconds", required_argument, NULL, 's'},
        {"inflight", required_argument, NULL, 'i'},
        {"hold", required_argument, NULL, 'H'},
        {"verify", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            opt.seconds = atof(optarg);
            break;
        case 'i':
            opt.inflight = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'H':
            opt.hold = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'v':
            opt.verify = true;
            break;
        default:
            usage();
        }
    }
    if (opt.seconds <= 0 || opt.inflight == 0 || opt.hold == 0)
        usage();
    const char *src = getenv("TERN_SOURCE_DIR") ? getenv("TERN_SOURCE_DIR") : TERN_SOURCE_DIR;
    char chain[1024], key[1024], ca[1024];
    snprintf(chain, sizeof chain, "%s/tests/data/pki/leaf-ecdsa-chain.pem", src);
    snprintf(key, sizeof key, "%s/tests/data/pki/leaf-ecdsa.key", src);
    snprintf(ca, sizeof ca, "%s/tests/data/pki/root-ca.pem", src);

    tern_config *scfg = tern_config_new(), *ccfg = tern_config_new();
    if (scfg == NULL || ccfg == NULL || tern_config_load_certificate(scfg, chain, key) != TERN_OK)
        die("server config (run from the source tree or set TERN_SOURCE_DIR)");
    if (opt.verify) {
        if (tern_config_load_ca_file(ccfg, ca) != TERN_OK)
            die("client config");
        tern_config_set_verify(ccfg, TERN_VERIFY_PEER);
    } else {
        tern_config_set_verify(ccfg, TERN_VERIFY_NONE);
    }
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.bind = "127.0.0.1";
    o.rcvbuf = 4 << 20;
    o.idle_ms = 0;
    o.max_handshakes = 100000;
    server s = {.ep = tern_endpoint_new(scfg, &o, NULL)};
    if (s.ep == NULL)
        die("server endpoint");
    struct sockaddr_storage to;
    socklen_t tolen;
    if (tern_endpoint_local_addr(s.ep, &to, &tolen) != TERN_OK)
        die("getsockname");

    int up[2], down[2]; /* child -> parent, parent -> child */
    if (pipe(up) != 0 || pipe(down) != 0)
        die("pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        tern_endpoint_free(s.ep); /* the child's copy: close the socket in the child */
        uint64_t until = tern_endpoint_now() + (uint64_t)(opt.seconds * 1000);
        load_phase(ccfg, (struct sockaddr *)&to, tolen, opt.inflight, until, down[0], up[1]);
        char go;
        if (read(down[0], &go, 1) != 1) /* the server has let go of phase 1 */
            _exit(1);
        load_phase(ccfg, (struct sockaddr *)&to, tolen, opt.hold, 0, down[0], up[1]);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);

    /* Phase 1: handshakes per second. */
    tern_endpoint_stats st0, st1;
    tern_endpoint_get_stats(s.ep, &st0);
    uint64_t t0 = tern_endpoint_now();
    double cpu0 = cpu_seconds();
    bool msg = false;
    char c = 0;
    while (!msg)
        serve(&s, 100, up[0], &msg);
    if (read(up[0], &c, 1) != 1 || c != 'E')
        die("the load ended early");
    uint64_t t1 = tern_endpoint_now();
    double cpu1 = cpu_seconds();
    tern_endpoint_get_stats(s.ep, &st1);
    /* The last closes arrive: the server holds nothing before the heap phase. */
    uint64_t settle = tern_endpoint_now() + 3000;
    while (s.n_held > 0 && tern_endpoint_now() < settle)
        serve(&s, 20, up[0], &msg);
    for (size_t i = 0; i < s.n_held; i++)
        tern_assoc_free(s.held[i]);
    s.n_held = 0;
    if (tern_endpoint_process(s.ep, tern_endpoint_now()) != TERN_OK)
        die("server socket");

    uint64_t hs = st1.handshakes_done - st0.handshakes_done;
    double wall = (double)(t1 - t0) / 1000.0, cpu = cpu1 - cpu0;
    uint64_t din = st1.datagrams_in - st0.datagrams_in,
             dout = st1.datagrams_out - st0.datagrams_out;
    uint64_t rc = st1.recv_calls - st0.recv_calls, sc = st1.send_calls - st0.send_calls;
    printf("tern-bench-endpoint: one endpoint, one thread, loopback UDP; ECDSA P-256 chain, "
           "X25519, AES-128-GCM, MTU 1200, cookie exchange on every handshake\n");
    printf("handshakes          %llu in %.2f s with %u in flight (clients %s the chain)\n",
           (unsigned long long)hs, wall, opt.inflight, opt.verify ? "verify" : "do not verify");
    printf("handshakes_per_s    %.0f (wall clock, load in another process)\n", hs / wall);
    printf("handshakes_per_cpu_s %.0f (server process CPU: %.2f s, %.0f us per handshake)\n",
           cpu > 0 ? hs / cpu : 0.0, cpu, hs ? cpu * 1e6 / (double)hs : 0.0);
    if (st1.handshakes_failed != st0.handshakes_failed)
        printf("failed              %llu\n",
               (unsigned long long)(st1.handshakes_failed - st0.handshakes_failed));
    printf("datagrams_per_call  in %.1f (%llu / %llu recvmmsg), out %.1f (%llu / %llu sendmmsg)\n",
           rc ? (double)din / (double)rc : 0.0, (unsigned long long)din, (unsigned long long)rc,
           sc ? (double)dout / (double)sc : 0.0, (unsigned long long)dout, (unsigned long long)sc);

    /* Phase 2: heap per established association. */
    if (write(down[1], "G", 1) != 1)
        die("control pipe");
    malloc_trim(0);
    size_t heap0 = heap_in_use();
    tern_endpoint_stats before;
    tern_endpoint_get_stats(s.ep, &before); /* handshakes cut off in phase 1 may linger */
    msg = false;
    uint64_t end = tern_endpoint_now() + 60000;
    while (!msg && tern_endpoint_now() < end)
        serve(&s, 100, up[0], &msg);
    if (!msg || read(up[0], &c, 1) != 1 || c != 'H')
        die("the clients did not all get established");
    /* Everything the client sent is in: no handshake left in progress. */
    for (int i = 0; i < 20; i++)
        serve(&s, 10, -1, &msg);
    size_t heap1 = heap_in_use();
    tern_endpoint_stats st2;
    tern_endpoint_get_stats(s.ep, &st2);
    /* The ones accepted; handshakes cut off in phase 1 were there before and after
     * (a client of phase 2 on the port of one of them replaced it). */
    size_t added = s.n_held;
    printf("associations_held   %zu established and accepted (%zu handshakes left from the "
           "first phase)\n",
           added, before.assocs);
    printf("heap_per_assoc      %.0f bytes (heap %zu -> %zu; endpoint map, timers, association "
           "and tern_conn with its keys)\n",
           added ? (double)(heap1 - heap0) / (double)added : 0.0, heap0, heap1);
    close(down[1]); /* the child lets go */
    int status;
    while (s.n_held > 0 && waitpid(pid, &status, WNOHANG) == 0)
        serve(&s, 20, -1, &msg);
    waitpid(pid, &status, 0);
    for (size_t i = 0; i < s.n_held; i++)
        tern_assoc_free(s.held[i]);
    free(s.held);
    tern_endpoint_free(s.ep);
    tern_config_free(scfg);
    tern_config_free(ccfg);
    return 0;
}
