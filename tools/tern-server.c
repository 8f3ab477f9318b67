/*
 * tern-server - a DTLS server for the command line, as `openssl s_server -dtls1_2`.
 *
 *     tern-server --port N [--bind ADDR] [--cert F --key F] [--ca F] [--verify-peer]
 *                 [--require-peer] [--mtu N] [--echo] [--cipher NAMES] [--groups LIST]
 *                 [--stats] [--quiet] [--verbose]
 *
 * How it works: one tern_endpoint (tern_io.h), so one UDP socket for any number
 * of clients. The endpoint answers unknown addresses statelessly (a
 * HelloVerifyRequest, nothing kept), makes a connection only for a ClientHello
 * with a proven cookie, hands datagrams of known addresses to their association,
 * runs every retransmission timer, and handles a client that starts over on the
 * same port (RFC 6347 §4.2.8: the old association is replaced when the new
 * handshake completes). This program is a poll() loop over the endpoint's fd and
 * the signal pipe, with the endpoint's deadline as the timeout:
 *
 *   - each completed handshake (tern_endpoint_accept) becomes a peer here and
 *     prints its "handshake:" line;
 *   - each peer with news (tern_endpoint_ready) has its records echoed (--echo)
 *     or printed on stdout, one per line; a peer that closed, failed, went idle
 *     or was replaced is logged with the reason and removed;
 *   - handshakes that fail before completing are reported by the endpoint's event
 *     callback, with the peer's address and the reason.
 *
 * SIGINT or SIGTERM: close_notify to every connected peer, exit 0.
 *
 * With no --cert the server makes a self-signed ECDSA certificate for "localhost"
 * and prints "fingerprint: <sha256 hex>" on stderr, for tern-client --fingerprint.
 * It prints "listening on ADDR:PORT" once the socket is bound (--port 0 picks a
 * free port), and "handshake: ..." once per completed handshake.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "tern/tern_io.h"

#define PROG "tern-server"
/* An established peer that sends nothing for this long is closed and forgotten. */
#define IDLE_MS (10u * 60u * 1000u)
/* The socket's receive buffer: room for many clients' flights at once. */
#define RCVBUF (4 << 20)

typedef struct server_opts {
    cli_common common;
    const char *port, *bind;
    bool verify_peer, require_peer, echo, quiet;
} server_opts;

/* A client whose handshake completed: the association and what we print about it. */
typedef struct peer {
    tern_assoc *a;
    char name[CLI_ADDR_STRLEN];
    struct peer *prev, *next;
} peer;

typedef struct server {
    const server_opts *opt;
    tern_config *cfg;
    tern_endpoint *ep;
    peer *peers;
} server;

static uint8_t dgram[CLI_DGRAM_MAX];

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " --port N [--bind ADDR] [--cert F --key F] [--ca F]\n"
            "       [--verify-peer] [--require-peer] [--mtu N] [--echo] [--cipher NAMES]\n"
            "       [--groups LIST] [--stats] [--quiet] [--verbose]\n"
            "\n"
            "  --port N            UDP port to listen on (0: any free port)\n"
            "  --bind ADDR         local address (default 0.0.0.0; '::' for IPv6)\n"
            "  --cert F --key F    our certificate chain and key (default: a fresh\n"
            "                      self-signed certificate, fingerprint printed)\n"
            "  --ca F              trust anchors (PEM file or directory) for client certificates\n"
            "  --verify-peer       ask clients for a certificate and verify it if sent\n"
            "  --require-peer      as --verify-peer, and refuse clients without one\n"
            "  --mtu N             largest datagram we send, UDP payload (256..16384)\n"
            "  --echo              send every record back; otherwise print them on stdout\n"
            "  --cipher NAMES      suites by IANA name, ':' or ',' separated, preferred first\n"
            "  --groups LIST       key exchange groups: X25519, P-256, P-384\n"
            "  --stats             print each connection's counters when it ends, and the\n"
            "                      endpoint's on exit\n"
            "  --quiet             print errors only\n"
            "  --verbose           print tern's debug log\n"
            "\n"
            "Runs until SIGINT or SIGTERM, then sends close_notify to every peer.\n");
}

static int parse_args(int argc, char **argv, server_opts *opt)
{
    enum { O_BIND = 256, O_CERT, O_KEY, O_CA, O_VERIFY, O_REQUIRE, O_MTU, O_ECHO, O_CIPHER,
           O_GROUPS, O_STATS, O_QUIET };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, O_BIND},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"verify-peer", no_argument, NULL, O_VERIFY},
        {"require-peer", no_argument, NULL, O_REQUIRE},
        {"mtu", required_argument, NULL, O_MTU},
        {"echo", no_argument, NULL, O_ECHO},
        {"cipher", required_argument, NULL, O_CIPHER},
        {"groups", required_argument, NULL, O_GROUPS},
        {"stats", no_argument, NULL, O_STATS},
        {"quiet", no_argument, NULL, O_QUIET},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int ch;

    memset(opt, 0, sizeof *opt);
    opt->bind = "0.0.0.0";
    while ((ch = getopt_long(argc, argv, "p:qv", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': opt->port = optarg; break;
        case O_BIND: opt->bind = optarg; break;
        case O_CERT: opt->common.cert = optarg; break;
        case O_KEY: opt->common.key = optarg; break;
        case O_CA: opt->common.ca = optarg; break;
        case O_VERIFY: opt->verify_peer = true; break;
        case O_REQUIRE: opt->require_peer = true; break;
        case O_ECHO: opt->echo = true; break;
        case O_CIPHER: opt->common.ciphers = optarg; break;
        case O_GROUPS: opt->common.groups = optarg; break;
        case O_STATS: opt->common.stats = true; break;
        case O_QUIET: case 'q': opt->quiet = true; break;
        case 'v': opt->common.verbose = true; break;
        case O_MTU:
            if (!cli_parse_uint(optarg, 1, 65535, &v)) {
                fprintf(stderr, PROG ": --mtu wants a number, not \"%s\"\n", optarg);
                return 2;
            }
            opt->common.mtu = v;
            break;
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (opt->port == NULL || !cli_parse_uint(opt->port, 0, 65535, &v)) {
        fprintf(stderr, PROG ": --port N is required (0 to 65535; --help for more)\n");
        return 2;
    }
    if ((opt->verify_peer || opt->require_peer) && opt->common.ca == NULL) {
        fprintf(stderr, PROG ": --verify-peer and --require-peer need --ca FILE to check "
                "client certificates against\n");
        return 2;
    }
    return 0;
}

static bool setup_config(tern_config *cfg, const server_opts *opt)
{
    if (!cli_apply_common(cfg, &opt->common, PROG))
        return false;
    if (opt->require_peer)
        tern_config_set_verify(cfg, TERN_VERIFY_REQUIRE);
    else if (opt->verify_peer)
        tern_config_set_verify(cfg, TERN_VERIFY_PEER);
    else
        tern_config_set_verify(cfg, TERN_VERIFY_NONE);
    if (opt->common.cert == NULL) {
        uint8_t fp[32];
        char hex[65];
        tern_err err = tern_config_use_self_signed(cfg, "localhost");

        if (err == TERN_OK)
            err = tern_config_fingerprint(cfg, fp);
        if (err != TERN_OK) {
            fprintf(stderr, PROG ": self-signed certificate: %s\n", tern_strerror(err));
            return false;
        }
        cli_hex(fp, sizeof fp, hex);
        fprintf(stderr, "fingerprint: %s\n", hex);
    }
    return true;
}

static tern_endpoint *open_endpoint(server *sv)
{
    const server_opts *opt = sv->opt;
    tern_endpoint_opts eo;
    unsigned long port;
    tern_err err;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char name[CLI_ADDR_STRLEN];

    tern_endpoint_opts_init(&eo);
    eo.bind = opt->bind;
    (void)cli_parse_uint(opt->port, 0, 65535, &port); /* checked in parse_args */
    eo.port = (uint16_t)port;
    eo.accept = true;
    eo.idle_ms = IDLE_MS;
    eo.rcvbuf = RCVBUF;
    tern_endpoint *ep = tern_endpoint_new(sv->cfg, &eo, &err);
    if (ep == NULL) {
        if (err == TERN_ERR_ARG)
            fprintf(stderr, PROG ": --bind %s: not a numeric IPv4 or IPv6 address\n", opt->bind);
        else if (err == TERN_ERR_IO)
            fprintf(stderr, PROG ": cannot listen on %s port %s: %s\n", opt->bind, opt->port,
                    strerror(errno));
        else
            fprintf(stderr, PROG ": cannot listen on %s port %s: %s\n", opt->bind, opt->port,
                    tern_strerror(err));
        return NULL;
    }
    if (tern_endpoint_local_addr(ep, &ss, &sslen) == TERN_OK) {
        cli_addr_str((struct sockaddr *)&ss, sslen, name);
        if (!opt->quiet)
            fprintf(stderr, "listening on %s\n", name);
    }
    return ep;
}

static void peer_name(const tern_assoc *a, char out[CLI_ADDR_STRLEN])
{
    socklen_t len;
    const struct sockaddr *sa = tern_assoc_peer(a, &len);

    cli_addr_str(sa, len, out);
}

static void print_stats(const char *name, const tern_assoc *a)
{
    char prefix[CLI_ADDR_STRLEN + 16];
    tern_assoc_stats as;
    cli_dgram_stats ds;

    tern_assoc_get_stats(a, &as);
    ds.largest_in = as.largest_in;
    ds.largest_out = as.largest_out;
    snprintf(prefix, sizeof prefix, "peer %s: ", name);
    cli_print_stats(prefix, tern_assoc_conn(a), &ds);
}

static void log_failure(server *sv, const char *name, const tern_conn *c, bool established)
{
    char why[256];
    tern_err err = TERN_OK;
    bool checked;

    cli_describe_failure(c, why, sizeof why);
    tern_conn_error(c, &err, NULL, NULL);
    /* Say what a certificate the client did send was checked against. */
    checked = cli_failed_on_certificate(c) && err != TERN_ERR_CERT_REQUIRED &&
              sv->opt->common.ca != NULL;
    fprintf(stderr, PROG ": peer %s: %s failed: %s%s%s\n", name,
            established ? "connection" : "handshake", why,
            checked ? "; the client's certificate was checked against --ca " : "",
            checked ? sv->opt->common.ca : "");
}

/* What the endpoint does on its own: handshakes that fail, restarts, limits. */
static void on_event(void *ctx, tern_endpoint_event ev, const tern_assoc *a,
                     const struct sockaddr *sa, socklen_t salen)
{
    server *sv = ctx;
    char name[CLI_ADDR_STRLEN];

    cli_addr_str(sa, salen, name);
    switch (ev) {
    case TERN_EVENT_HANDSHAKE_FAILED:
        log_failure(sv, name, tern_assoc_conn(a), false);
        if (sv->opt->common.stats)
            print_stats(name, a);
        break;
    case TERN_EVENT_RESTART:
        if (!sv->opt->quiet)
            fprintf(stderr, PROG ": peer %s: new handshake from a connected address; the old "
                    "connection is replaced once it completes\n", name);
        break;
    case TERN_EVENT_LIMIT:
        fprintf(stderr, PROG ": peer %s: turned away, too many peers or handshakes\n", name);
        break;
    case TERN_EVENT_EXPIRED:
        if (sv->opt->common.verbose)
            fprintf(stderr, PROG ": peer %s: never accepted, closed\n", name);
        break;
    }
}

static void remove_peer(server *sv, peer *p)
{
    if (sv->opt->common.stats)
        print_stats(p->name, p->a);
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        sv->peers = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    tern_assoc_free(p->a); /* close_notify, when it is still open */
    free(p);
}

static void accept_peer(server *sv, tern_assoc *a)
{
    peer *p = calloc(1, sizeof *p);

    if (p == NULL) {
        fprintf(stderr, PROG ": out of memory: a peer is dropped\n");
        tern_assoc_free(a);
        return;
    }
    p->a = a;
    peer_name(a, p->name);
    tern_assoc_set_user(a, p);
    p->next = sv->peers;
    if (sv->peers != NULL)
        sv->peers->prev = p;
    sv->peers = p;
    if (!sv->opt->quiet && tern_assoc_end_reason(a) != TERN_END_FAILED)
        cli_print_handshake(tern_assoc_conn(a));
}

/* Echo or print what arrived; false when the peer sent close_notify. */
static bool take_records(server *sv, peer *p)
{
    size_t n;
    tern_err err;

    while ((err = tern_assoc_read(p->a, dgram, sizeof dgram, &n, 0)) == TERN_OK) {
        if (!sv->opt->echo) {
            fwrite(dgram, 1, n, stdout);
            putchar('\n');
            continue;
        }
        err = tern_assoc_write(p->a, dgram, n, 0);
        if (err != TERN_OK && sv->opt->common.verbose)
            fprintf(stderr, PROG ": peer %s: echo of %zu bytes lost: %s\n", p->name, n,
                    tern_strerror(err));
    }
    if (!sv->opt->echo)
        fflush(stdout);
    return err != TERN_ERR_CLOSED || tern_assoc_end_reason(p->a) != TERN_END_CLOSED;
}

/* After news from |p|: take its records, and retire it when it has ended. */
static void service(server *sv, peer *p)
{
    tern_assoc_end why;

    if (!take_records(sv, p)) {
        if (!sv->opt->quiet)
            fprintf(stderr, PROG ": peer %s: closed by the peer\n", p->name);
        remove_peer(sv, p);
        return;
    }
    why = tern_assoc_end_reason(p->a);
    switch (why) {
    case TERN_END_NONE:
        return;
    case TERN_END_FAILED:
        log_failure(sv, p->name, tern_assoc_conn(p->a), true);
        break;
    case TERN_END_IDLE:
        if (!sv->opt->quiet)
            fprintf(stderr, PROG ": peer %s: idle for %u s, closing\n", p->name, IDLE_MS / 1000);
        break;
    default:
        if (!sv->opt->quiet)
            fprintf(stderr, PROG ": peer %s: %s\n", p->name, tern_assoc_end_name(why));
        break;
    }
    remove_peer(sv, p);
}

static void shut_down(server *sv)
{
    int closed = 0;

    while (sv->peers != NULL) {
        if (tern_assoc_state(sv->peers->a) == TERN_STATE_ESTABLISHED)
            closed++;
        remove_peer(sv, sv->peers);
    }
    if (!sv->opt->quiet)
        fprintf(stderr, PROG ": shutting down, close_notify sent to %d peer%s\n", closed,
                closed == 1 ? "" : "s");
    if (sv->opt->common.stats) {
        tern_endpoint_stats st;

        tern_endpoint_get_stats(sv->ep, &st);
        fprintf(stderr,
                "endpoint: datagrams in %llu out %llu, recv calls %llu, send calls %llu, "
                "hello replies %llu, hello dropped %llu, associations %llu (peak %zu), "
                "handshakes done %llu failed %llu, restarts %llu, replaced %llu, "
                "idle closed %llu, turned away %llu, send dropped %llu\n",
                (unsigned long long)st.datagrams_in, (unsigned long long)st.datagrams_out,
                (unsigned long long)st.recv_calls, (unsigned long long)st.send_calls,
                (unsigned long long)st.hello_replies, (unsigned long long)st.hello_dropped,
                (unsigned long long)st.assocs_created, st.assocs_peak,
                (unsigned long long)st.handshakes_done, (unsigned long long)st.handshakes_failed,
                (unsigned long long)st.restarts, (unsigned long long)st.replaced,
                (unsigned long long)st.idle_closed,
                (unsigned long long)(st.limit_assocs + st.limit_handshakes),
                (unsigned long long)st.send_dropped);
    }
}

int main(int argc, char **argv)
{
    server_opts opt;
    static server sv;
    int rc, sigfd;

    rc = parse_args(argc, argv, &opt);
    if (rc != 0)
        return rc;
    sigfd = cli_signals_init();
    if (sigfd < 0) {
        fprintf(stderr, PROG ": signals: %s\n", strerror(errno));
        return 1;
    }
    sv.opt = &opt;
    sv.cfg = tern_config_new();
    if (sv.cfg == NULL) {
        fprintf(stderr, PROG ": tern_config_new failed (out of memory or no randomness)\n");
        return 1;
    }
    if (!setup_config(sv.cfg, &opt)) {
        tern_config_free(sv.cfg);
        return 2;
    }
    sv.ep = open_endpoint(&sv);
    if (sv.ep == NULL) {
        tern_config_free(sv.cfg);
        return 1;
    }
    tern_endpoint_set_event_cb(sv.ep, on_event, &sv);

    rc = 0;
    for (;;) {
        uint64_t now = tern_endpoint_now();
        struct pollfd pfd[2] = {{.fd = tern_endpoint_fd(sv.ep), .events = POLLIN},
                                {.fd = sigfd, .events = POLLIN}};
        tern_assoc *a;

        if (poll(pfd, 2, tern_endpoint_timeout(sv.ep, now)) < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        if (pfd[1].revents != 0)
            break;
        if (tern_endpoint_process(sv.ep, tern_endpoint_now()) != TERN_OK) {
            fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        while ((a = tern_endpoint_accept(sv.ep)) != NULL)
            accept_peer(&sv, a);
        while ((a = tern_endpoint_ready(sv.ep)) != NULL)
            service(&sv, tern_assoc_user(a));
    }
    shut_down(&sv);
    tern_endpoint_free(sv.ep);
    tern_config_free(sv.cfg);
    return rc;
}
