/*
 * tern-server - a DTLS server for the command line, as `openssl s_server -dtls1_2`.
 *
 *     tern-server --port N [--bind ADDR] [--cert F --key F] [--ca F] [--verify-peer]
 *                 [--require-peer] [--mtu N] [--echo] [--cipher NAMES] [--groups LIST]
 *                 [--stats] [--quiet] [--verbose]
 *
 * How it works: one UDP socket for every client. A datagram from an address with
 * no connection goes to the stateless front door, tern_server_hello(): it is
 * dropped, answered with a HelloVerifyRequest (nothing is kept), or, when it is a
 * ClientHello carrying a proven cookie, accepted, and only then a tern_conn is
 * made with tern_conn_accept(). Known addresses are looked up in a small table
 * (MAX_PEERS entries) and their datagrams fed to their tern_conn. The table key is
 * the address as bytes (IPv4 or IPv6 address and port), which is also what the
 * cookie is bound to.
 *
 * A ClientHello of epoch 0 from an address whose connection is established is
 * a client that started over on the same port (RFC 6347 §4.2.8): it goes through
 * the front door too, and a proven cookie replaces the old connection.
 *
 * After every event the touched peers are serviced: records are read and echoed
 * (--echo) or printed on stdout, one per line; tern's datagrams are sent; a peer
 * whose connection failed is logged with the reason and removed, as is one that
 * closed. The poll() timeout is the earliest tern_conn_deadline() of all peers.
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

#define PROG "tern-server"
#define MAX_PEERS 64
/* An established peer that sends nothing for this long is closed and forgotten. */
#define IDLE_MS (10u * 60u * 1000u)
/* The longest poll() sleep: idle peers are looked at this often. */
#define MAX_SLEEP_MS 60000u
/* Datagrams read per wake-up before timers get a turn. */
#define RECV_BATCH 64

typedef struct server_opts {
    cli_common common;
    const char *port, *bind;
    bool verify_peer, require_peer, echo, quiet;
} server_opts;

/* The peer address as bytes: address then port, both in network order. */
typedef struct peer_key {
    uint8_t b[18];
    size_t len;
} peer_key;

typedef struct peer {
    bool used;
    peer_key key;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char name[CLI_ADDR_STRLEN];
    tern_conn *c;
    bool announced;
    uint64_t last_seen;
    cli_dgram_stats ds;
} peer;

typedef struct server {
    const server_opts *opt;
    tern_config *cfg;
    int fd;
    peer peers[MAX_PEERS];
} server;

static uint8_t dgram[CLI_DGRAM_MAX], scratch[CLI_DGRAM_MAX];

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
            "  --stats             print each connection's counters when it ends\n"
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

static int open_socket(const server_opts *opt)
{
    struct addrinfo hints, *res;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    char name[CLI_ADDR_STRLEN];
    int fd, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(opt->bind, opt->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, PROG ": --bind %s: %s\n", opt->bind, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || !cli_set_nonblock(fd) ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
        fprintf(stderr, PROG ": cannot listen on %s port %s: %s\n", opt->bind, opt->port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    cli_addr_str((struct sockaddr *)&ss, sslen, name);
    if (!opt->quiet)
        fprintf(stderr, "listening on %s\n", name);
    return fd;
}

static bool make_key(const struct sockaddr_storage *ss, peer_key *k)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

        memcpy(k->b, &s->sin_addr, 4);
        memcpy(k->b + 4, &s->sin_port, 2);
        k->len = 6;
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

        memcpy(k->b, &s->sin6_addr, 16);
        memcpy(k->b + 16, &s->sin6_port, 2);
        k->len = 18;
        return true;
    }
    return false;
}

static peer *find_peer(server *sv, const peer_key *k)
{
    for (size_t i = 0; i < MAX_PEERS; i++) {
        peer *p = &sv->peers[i];

        if (p->used && p->key.len == k->len && memcmp(p->key.b, k->b, k->len) == 0)
            return p;
    }
    return NULL;
}

static peer *free_slot(server *sv)
{
    for (size_t i = 0; i < MAX_PEERS; i++) {
        if (!sv->peers[i].used)
            return &sv->peers[i];
    }
    return NULL;
}

static void send_to(server *sv, peer *p, const uint8_t *data, size_t len)
{
    /* UDP: a datagram that cannot leave now is lost; tern retransmits handshakes. */
    if (sendto(sv->fd, data, len, 0, (const struct sockaddr *)&p->addr, p->addrlen) < 0) {
        if (sv->opt->common.verbose)
            fprintf(stderr, PROG ": peer %s: send: %s\n", p->name, strerror(errno));
        return;
    }
    if (len > p->ds.largest_out)
        p->ds.largest_out = len;
}

static void flush(server *sv, peer *p, uint64_t now)
{
    size_t n;

    while (tern_conn_send(p->c, now, scratch, sizeof scratch, &n) == TERN_OK)
        send_to(sv, p, scratch, n);
}

static void remove_peer(server *sv, peer *p)
{
    if (sv->opt->common.stats) {
        char prefix[CLI_ADDR_STRLEN + 16];

        snprintf(prefix, sizeof prefix, "peer %s: ", p->name);
        cli_print_stats(prefix, p->c, &p->ds);
    }
    tern_conn_free(p->c);
    memset(p, 0, sizeof *p);
}

static void log_failure(server *sv, const peer *p)
{
    char why[256];
    tern_err err = TERN_OK;
    bool checked;

    cli_describe_failure(p->c, why, sizeof why);
    tern_conn_error(p->c, &err, NULL, NULL);
    /* Say what a certificate the client did send was checked against. */
    checked = cli_failed_on_certificate(p->c) && err != TERN_ERR_CERT_REQUIRED &&
              sv->opt->common.ca != NULL;
    fprintf(stderr, PROG ": peer %s: %s failed: %s%s%s\n", p->name,
            p->announced ? "connection" : "handshake", why,
            checked ? "; the client's certificate was checked against --ca " : "",
            checked ? sv->opt->common.ca : "");
}

/* Echo or print what arrived; false when the peer sent close_notify. */
static bool take_records(server *sv, peer *p, uint64_t now)
{
    size_t n;
    tern_err err;

    while ((err = tern_conn_read(p->c, dgram, sizeof dgram, &n)) == TERN_OK) {
        if (!sv->opt->echo) {
            fwrite(dgram, 1, n, stdout);
            putchar('\n');
            continue;
        }
        err = tern_conn_write(p->c, dgram, n);
        if (err == TERN_ERR_AGAIN) {
            flush(sv, p, now);
            err = tern_conn_write(p->c, dgram, n);
        }
        if (err != TERN_OK && sv->opt->common.verbose)
            fprintf(stderr, PROG ": peer %s: echo of %zu bytes lost: %s\n", p->name, n,
                    tern_strerror(err));
    }
    if (!sv->opt->echo)
        fflush(stdout);
    return err != TERN_ERR_CLOSED;
}

/* After anything happened to |p|: announce, take records, send, and retire it
 * when it failed or closed. */
static void service(server *sv, peer *p, uint64_t now)
{
    tern_state st;

    if (!p->announced && tern_conn_state(p->c) == TERN_STATE_ESTABLISHED) {
        p->announced = true;
        if (!sv->opt->quiet)
            cli_print_handshake(p->c);
    }
    if (!take_records(sv, p, now)) {
        if (!sv->opt->quiet)
            fprintf(stderr, PROG ": peer %s: closed by the peer\n", p->name);
        /* Answer close_notify with ours (RFC 5246 §7.2.1). */
        cli_via_state(tern_conn_close(p->c));
        flush(sv, p, now);
        remove_peer(sv, p);
        return;
    }
    flush(sv, p, now);
    st = tern_conn_state(p->c);
    if (st == TERN_STATE_FAILED) {
        log_failure(sv, p);
        remove_peer(sv, p);
    } else if (st == TERN_STATE_CLOSED) {
        remove_peer(sv, p);
    }
}

/* A ClientHello starting a new connection: handshake record, epoch 0, message type 1. */
static bool is_initial_client_hello(const uint8_t *d, size_t len)
{
    return len >= 13 + 12 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1;
}

/* A datagram from an address without a connection (or starting over): the front door. */
static void front_door(server *sv, uint64_t now, const struct sockaddr_storage *from,
                       socklen_t fromlen, const peer_key *k, size_t len, peer *known)
{
    size_t rlen = 0;
    tern_err err = TERN_OK;
    char name[CLI_ADDR_STRLEN];
    peer *p;
    tern_conn *c;

    cli_addr_str((const struct sockaddr *)from, fromlen, name);
    switch (tern_server_hello(sv->cfg, now, k->b, k->len, dgram, len, scratch, sizeof scratch,
                              &rlen, &err)) {
    case TERN_HELLO_REPLY:
        if (sendto(sv->fd, scratch, rlen, 0, (const struct sockaddr *)from, fromlen) < 0 &&
            sv->opt->common.verbose)
            fprintf(stderr, PROG ": peer %s: send: %s\n", name, strerror(errno));
        return;
    case TERN_HELLO_DROP:
        if (sv->opt->common.verbose)
            fprintf(stderr, PROG ": peer %s: datagram dropped: %s\n", name,
                    tern_strerror(err));
        return;
    case TERN_HELLO_ACCEPT:
        break;
    }
    p = known != NULL ? known : free_slot(sv);
    if (p == NULL) {
        fprintf(stderr, PROG ": peer %s: turned away, %d peers already\n", name, MAX_PEERS);
        return;
    }
    c = tern_conn_accept(sv->cfg, now, k->b, k->len, dgram, len, &err);
    if (c == NULL) {
        fprintf(stderr, PROG ": peer %s: ClientHello refused: %s\n", name, tern_strerror(err));
        return;
    }
    if (known != NULL) {
        if (!sv->opt->quiet)
            fprintf(stderr, PROG ": peer %s: new handshake from a connected address; the old "
                    "connection is dropped\n", name);
        tern_conn_free(known->c);
    }
    memset(p, 0, sizeof *p);
    p->used = true;
    p->key = *k;
    memcpy(&p->addr, from, fromlen);
    p->addrlen = fromlen;
    memcpy(p->name, name, sizeof name);
    p->c = c;
    p->last_seen = now;
    p->ds.largest_in = len;
    service(sv, p, now);
}

static void on_datagram(server *sv, uint64_t now, const struct sockaddr_storage *from,
                        socklen_t fromlen, size_t len)
{
    peer_key k;
    peer *p;

    if (!make_key(from, &k))
        return;
    p = find_peer(sv, &k);
    if (p == NULL || (tern_conn_state(p->c) == TERN_STATE_ESTABLISHED &&
                      is_initial_client_hello(dgram, len))) {
        front_door(sv, now, from, fromlen, &k, len, p);
        return;
    }
    p->last_seen = now;
    if (len > p->ds.largest_in)
        p->ds.largest_in = len;
    cli_via_state(tern_conn_recv(p->c, now, dgram, len)); /* failures show in the state */
    service(sv, p, now);
}

static void drain_socket(server *sv, uint64_t now)
{
    for (int i = 0; i < RECV_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(sv->fd, dgram, sizeof dgram, 0, (struct sockaddr *)&from, &fromlen);

        if (n < 0) {
            /* ECONNREFUSED and the like: an ICMP error for some earlier datagram.
             * The peer it concerns times out by itself. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                sv->opt->common.verbose)
                fprintf(stderr, PROG ": recv: %s\n", strerror(errno));
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            continue;
        }
        on_datagram(sv, now, &from, fromlen, (size_t)n);
    }
}

/* Run timers and retire idle peers; returns the earliest time anything is due. */
static uint64_t run_timers(server *sv, uint64_t now)
{
    uint64_t wake = now + MAX_SLEEP_MS;

    for (size_t i = 0; i < MAX_PEERS; i++) {
        peer *p = &sv->peers[i];
        uint64_t d;

        if (!p->used)
            continue;
        if (now - p->last_seen >= IDLE_MS && tern_conn_state(p->c) == TERN_STATE_ESTABLISHED) {
            if (!sv->opt->quiet)
                fprintf(stderr, PROG ": peer %s: idle for %u s, closing\n", p->name,
                        IDLE_MS / 1000);
            cli_via_state(tern_conn_close(p->c));
            flush(sv, p, now);
            remove_peer(sv, p);
            continue;
        }
        if (now >= tern_conn_deadline(p->c)) {
            cli_via_state(tern_conn_tick(p->c, now));
            service(sv, p, now);
            if (!p->used)
                continue;
        }
        d = tern_conn_deadline(p->c);
        if (d < wake)
            wake = d;
    }
    return wake;
}

static void shut_down(server *sv, uint64_t now)
{
    int closed = 0;

    for (size_t i = 0; i < MAX_PEERS; i++) {
        peer *p = &sv->peers[i];

        if (!p->used)
            continue;
        if (tern_conn_state(p->c) == TERN_STATE_ESTABLISHED) {
            cli_via_state(tern_conn_close(p->c));
            flush(sv, p, now);
            closed++;
        }
        remove_peer(sv, p);
    }
    if (!sv->opt->quiet)
        fprintf(stderr, PROG ": shutting down, close_notify sent to %d peer%s\n", closed,
                closed == 1 ? "" : "s");
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
    sv.fd = open_socket(&opt);
    if (sv.fd < 0) {
        tern_config_free(sv.cfg);
        return 1;
    }

    rc = 0;
    for (;;) {
        uint64_t now = cli_now(), wake = run_timers(&sv, now);
        struct pollfd pfd[2] = {{.fd = sv.fd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
        int timeout = wake <= now ? 0 : (int)(wake - now);

        if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        if (pfd[1].revents != 0)
            break;
        if (pfd[0].revents != 0)
            drain_socket(&sv, cli_now());
    }
    shut_down(&sv, cli_now());
    tern_config_free(sv.cfg);
    close(sv.fd);
    return rc;
}
