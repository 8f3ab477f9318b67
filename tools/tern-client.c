/*
 * tern-client - a DTLS client for the command line, as `openssl s_client -dtls1_2`.
 *
 *     tern-client --host H --port N [--ca F] [--servername NAME] [--fingerprint HEX]
 *                 [--insecure] [--cert F --key F] [--mtu N] [--cipher NAMES]
 *                 [--groups LIST] [--stats] [--timeout S] [--wait S] [--verbose]
 *
 * How it works: one UDP socket connect()ed to the server and one tern_conn driven
 * by a poll() loop. Every turn of the loop lets tern's timer run when its deadline
 * has come (tern_conn_tick), sends whatever tern_conn_send hands out until
 * TERN_ERR_AGAIN, prints every application record tern_conn_read returns, and then
 * sleeps in poll() until a datagram, a line of stdin, a signal or the earliest of
 * the deadlines (tern's timer, the handshake timeout, the end-of-input wait).
 *
 * Data: stdin is read only once the handshake is done. Each line becomes one
 * application record, without its line ending ("\n" or "\r\n"); a last line
 * without a newline is sent too. A line that does not fit in one record at the
 * MTU is an error. Every record received is written to stdout followed by "\n".
 *
 * End of input: the client then waits until it has received at least as many
 * records as it sent (what an echo server returns) or for --wait seconds (default
 * 2), whichever comes first; then it sends close_notify and exits 0. A
 * close_notify from the server ends the client too (exit 0 once the handshake
 * had completed). SIGINT or SIGTERM close the same way.
 *
 * Trust: --ca (verify the chain and the name), --fingerprint (pin the server's
 * leaf by SHA-256; the name is then checked only if --servername is given) or
 * --insecure (no verification) must be chosen; without any, the client refuses to
 * start. Exit status: 0 done, 1 connection or handshake failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"

#define PROG "tern-client"
/* A line longer than any record tern can send is an error, so this is plenty. */
#define LINE_CAP 16384

typedef struct client_opts {
    cli_common common;
    const char *host, *port, *servername, *fingerprint;
    bool insecure;
    unsigned long timeout_s, wait_s;
} client_opts;

typedef struct client {
    const client_opts *opt;
    int fd;
    tern_conn *c;
    cli_dgram_stats ds;
    bool announced;             /* handshake line printed */
    uint64_t sent, received;    /* application records */
    char in[LINE_CAP];          /* stdin not yet sent */
    size_t inlen;
    unsigned long lineno;
    bool stdin_eof, stdin_done; /* end of input seen; everything from it queued */
    bool peer_closed;
    uint64_t wait_until;        /* end of the end-of-input wait, once stdin is done */
    const char *fatal;          /* a local reason to stop, printed by the caller */
} client;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " --host H --port N (--ca F | --fingerprint HEX | --insecure)\n"
            "       [--servername NAME] [--cert F --key F] [--mtu N] [--cipher NAMES]\n"
            "       [--groups LIST] [--stats] [--timeout S] [--wait S] [--verbose]\n"
            "\n"
            "  --host H            server name or address\n"
            "  --port N            server UDP port\n"
            "  --ca F              trust anchors (PEM file or directory) for the server chain\n"
            "  --servername NAME   name sent (SNI) and checked in the certificate\n"
            "                      (default: --host; with --fingerprint: only when given)\n"
            "  --fingerprint HEX   accept the server whose leaf has this SHA-256 (':' allowed)\n"
            "  --insecure          do not verify the server at all (testing only)\n"
            "  --cert F --key F    our certificate chain and key, for servers that ask\n"
            "  --mtu N             largest datagram we send, UDP payload (256..16384)\n"
            "  --cipher NAMES      suites by IANA name, ':' or ',' separated, preferred first\n"
            "  --groups LIST       key exchange groups: X25519, P-256, P-384\n"
            "  --stats             print the connection counters at the end\n"
            "  --timeout S         give up when the handshake takes longer (default 10)\n"
            "  --wait S            after end of input, wait up to S s for replies (default 2)\n"
            "  --verbose           print tern's debug log\n"
            "\n"
            "Each line of stdin is sent as one record; each record received is printed.\n");
}

static int parse_args(int argc, char **argv, client_opts *opt)
{
    enum { O_CA = 256, O_SERVERNAME, O_FINGERPRINT, O_INSECURE, O_CERT, O_KEY, O_MTU,
           O_CIPHER, O_GROUPS, O_STATS, O_TIMEOUT, O_WAIT };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, O_CA},
        {"servername", required_argument, NULL, O_SERVERNAME},
        {"fingerprint", required_argument, NULL, O_FINGERPRINT},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"mtu", required_argument, NULL, O_MTU},
        {"cipher", required_argument, NULL, O_CIPHER},
        {"groups", required_argument, NULL, O_GROUPS},
        {"stats", no_argument, NULL, O_STATS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"wait", required_argument, NULL, O_WAIT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int ch;

    memset(opt, 0, sizeof *opt);
    opt->timeout_s = 10;
    opt->wait_s = 2;
    while ((ch = getopt_long(argc, argv, "h:p:v", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': opt->host = optarg; break;
        case 'p': opt->port = optarg; break;
        case O_CA: opt->common.ca = optarg; break;
        case O_SERVERNAME: opt->servername = optarg; break;
        case O_FINGERPRINT: opt->fingerprint = optarg; break;
        case O_INSECURE: opt->insecure = true; break;
        case O_CERT: opt->common.cert = optarg; break;
        case O_KEY: opt->common.key = optarg; break;
        case O_CIPHER: opt->common.ciphers = optarg; break;
        case O_GROUPS: opt->common.groups = optarg; break;
        case O_STATS: opt->common.stats = true; break;
        case 'v': opt->common.verbose = true; break;
        case O_MTU:
            if (!cli_parse_uint(optarg, 1, 65535, &v)) {
                fprintf(stderr, PROG ": --mtu wants a number, not \"%s\"\n", optarg);
                return 2;
            }
            opt->common.mtu = v;
            break;
        case O_TIMEOUT:
        case O_WAIT:
            if (!cli_parse_uint(optarg, ch == O_TIMEOUT ? 1 : 0, 86400, &v)) {
                fprintf(stderr, PROG ": --%s wants seconds, not \"%s\"\n",
                        ch == O_TIMEOUT ? "timeout" : "wait", optarg);
                return 2;
            }
            *(ch == O_TIMEOUT ? &opt->timeout_s : &opt->wait_s) = v;
            break;
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (opt->host == NULL || opt->port == NULL) {
        fprintf(stderr, PROG ": --host and --port are required (--help for more)\n");
        return 2;
    }
    if (opt->common.ca == NULL && opt->fingerprint == NULL && !opt->insecure) {
        fprintf(stderr,
                PROG ": no way to verify the server: choose --ca FILE (trust anchors),\n"
                PROG ": --fingerprint SHA256HEX (pin the server's certificate) or\n"
                PROG ": --insecure (accept any server: testing only)\n");
        return 2;
    }
    if (opt->insecure && (opt->common.ca != NULL || opt->fingerprint != NULL)) {
        fprintf(stderr, PROG ": --insecure cannot be combined with --ca or --fingerprint\n");
        return 2;
    }
    return 0;
}

static bool setup_config(tern_config *cfg, const client_opts *opt)
{
    tern_err err;

    tern_config_set_verify(cfg, opt->insecure ? TERN_VERIFY_NONE : TERN_VERIFY_PEER);
    if (opt->fingerprint != NULL) {
        uint8_t pin[32];

        if (!cli_parse_fingerprint(opt->fingerprint, pin)) {
            fprintf(stderr, PROG ": --fingerprint wants 64 hex digits (SHA-256), ':' allowed\n");
            return false;
        }
        err = tern_config_add_fingerprint(cfg, pin);
        if (err != TERN_OK) {
            fprintf(stderr, PROG ": --fingerprint: %s\n", tern_strerror(err));
            return false;
        }
    }
    if (!cli_apply_common(cfg, &opt->common, PROG))
        return false;
    /* tern's own handshake timeout then agrees with --timeout. */
    err = tern_config_set_timers(cfg, 1000, 60000, (uint32_t)(opt->timeout_s * 1000));
    if (err != TERN_OK) {
        fprintf(stderr, PROG ": --timeout %lu: %s\n", opt->timeout_s, tern_strerror(err));
        return false;
    }
    return true;
}

/* A UDP socket connect()ed to the first address of host:port that takes it. */
static int open_socket(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, PROG ": %s port %s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 && cli_set_nonblock(fd))
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fprintf(stderr, PROG ": cannot reach %s port %s: %s\n", host, port, strerror(errno));
    freeaddrinfo(res);
    return fd;
}

static const char *unreachable(void)
{
    return "the server is not answering on that port (ICMP port unreachable)";
}

/* Send everything tern has for the wire. */
static void flush(client *cl, uint64_t now)
{
    static uint8_t out[CLI_DGRAM_MAX];
    size_t n;

    while (tern_conn_send(cl->c, now, out, sizeof out, &n) == TERN_OK) {
        if (send(cl->fd, out, n, 0) < 0) {
            /* UDP: a datagram that cannot leave now is lost, and tern's
             * retransmission covers the handshake. A refusal is final. */
            if (errno == ECONNREFUSED)
                cl->fatal = unreachable();
            else if (cl->opt->common.verbose)
                fprintf(stderr, PROG ": send: %s\n", strerror(errno));
            continue;
        }
        if (n > cl->ds.largest_out)
            cl->ds.largest_out = n;
    }
}

/* Feed every datagram waiting on the socket to tern. */
static void drain_socket(client *cl, uint64_t now)
{
    static uint8_t buf[CLI_DGRAM_MAX];

    for (;;) {
        ssize_t n = recv(cl->fd, buf, sizeof buf, 0);

        if (n < 0) {
            if (errno == ECONNREFUSED)
                cl->fatal = unreachable();
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, PROG ": recv: %s\n", strerror(errno));
            return;
        }
        if ((size_t)n > cl->ds.largest_in)
            cl->ds.largest_in = (size_t)n;
        /* A fatal error shows in tern_conn_state(); the loop reports it. */
        cli_via_state(tern_conn_recv(cl->c, now, buf, (size_t)n));
    }
}

/* Print every application record received so far. */
static void print_records(client *cl)
{
    static uint8_t rec[CLI_DGRAM_MAX];
    size_t n;
    tern_err err;

    while ((err = tern_conn_read(cl->c, rec, sizeof rec, &n)) == TERN_OK) {
        fwrite(rec, 1, n, stdout);
        putchar('\n');
        cl->received++;
    }
    fflush(stdout);
    if (err == TERN_ERR_CLOSED)
        cl->peer_closed = true;
}

/* Queue one record; false when tern's queue is full (try again after sending). */
static bool send_line(client *cl, const char *line, size_t len)
{
    tern_err err;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    err = tern_conn_write(cl->c, (const uint8_t *)line, len);
    if (err == TERN_ERR_AGAIN)
        return false;
    cl->lineno++;
    if (err == TERN_ERR_TOO_BIG) {
        static char msg[160];

        snprintf(msg, sizeof msg, "line %lu is %zu bytes; at most %zu fit in one record here",
                 cl->lineno, len, tern_conn_max_write(cl->c));
        cl->fatal = msg;
        return true;
    }
    /* Any other error failed the connection; the loop reports it from tern_conn_error(). */
    if (err == TERN_OK)
        cl->sent++;
    return true;
}

/* Turn the complete lines in the input buffer into records, as far as tern takes them. */
static void send_lines(client *cl, uint64_t now)
{
    size_t done = 0;

    for (;;) {
        char *nl = memchr(cl->in + done, '\n', cl->inlen - done);
        size_t len;

        if (nl == NULL)
            break;
        len = (size_t)(nl - (cl->in + done));
        if (!send_line(cl, cl->in + done, len)) {
            flush(cl, now);
            if (!send_line(cl, cl->in + done, len))
                break;
        }
        done += len + 1;
        if (cl->fatal != NULL)
            break;
    }
    memmove(cl->in, cl->in + done, cl->inlen - done);
    cl->inlen -= done;
    if (cl->stdin_eof && cl->inlen > 0 && memchr(cl->in, '\n', cl->inlen) == NULL) {
        /* The last line has no newline: send it as it is. */
        if (send_line(cl, cl->in, cl->inlen))
            cl->inlen = 0;
    }
    if (cl->stdin_eof && cl->inlen == 0 && !cl->stdin_done) {
        cl->stdin_done = true;
        cl->wait_until = now + cl->opt->wait_s * 1000;
    }
}

static void read_stdin(client *cl)
{
    ssize_t n = read(STDIN_FILENO, cl->in + cl->inlen, sizeof cl->in - cl->inlen);

    if (n < 0) {
        if (errno != EINTR && errno != EAGAIN)
            cl->stdin_eof = true;
        return;
    }
    if (n == 0)
        cl->stdin_eof = true;
    cl->inlen += (size_t)n;
    if (cl->inlen == sizeof cl->in && memchr(cl->in, '\n', cl->inlen) == NULL)
        cl->fatal = "a line of input is longer than any record";
}

static void report_failure(const client *cl)
{
    char why[256];

    cli_describe_failure(cl->c, why, sizeof why);
    if (!cli_failed_on_certificate(cl->c)) {
        fprintf(stderr, PROG ": %s failed: %s\n", cl->announced ? "connection" : "handshake",
                why);
        return;
    }
    if (cl->opt->fingerprint != NULL)
        fprintf(stderr, PROG ": handshake failed: %s; the server's certificate was checked "
                "against the pinned --fingerprint%s%s\n", why,
                cl->opt->servername != NULL ? " and the name " : "",
                cl->opt->servername != NULL ? cl->opt->servername : "");
    else
        fprintf(stderr, PROG ": handshake failed: %s; the server's certificate was checked "
                "against --ca %s for the name %s\n", why, cl->opt->common.ca,
                cl->opt->servername != NULL ? cl->opt->servername : cl->opt->host);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The main loop; returns the exit status. */
static int run(client *cl, int sigfd)
{
    uint64_t start = cli_now();
    uint64_t hs_deadline = start + cl->opt->timeout_s * 1000;
    bool closing = false;

    if (tern_conn_start(cl->c, start) != TERN_OK) {
        report_failure(cl);
        return 1;
    }
    for (;;) {
        uint64_t now = cli_now(), wake;
        struct pollfd pfd[3];
        nfds_t nfd = 0;
        int timeout, rc;

        if (now >= tern_conn_deadline(cl->c))
            cli_via_state(tern_conn_tick(cl->c, now));
        if (!cl->announced && tern_conn_state(cl->c) == TERN_STATE_ESTABLISHED) {
            cli_print_handshake(cl->c);
            cl->announced = true;
        }
        if (cl->announced && !cl->stdin_done && !closing)
            send_lines(cl, now);
        flush(cl, now);
        print_records(cl);

        if (tern_conn_state(cl->c) == TERN_STATE_FAILED) {
            report_failure(cl);
            return 1;
        }
        if (cl->fatal != NULL) {
            fprintf(stderr, PROG ": %s%s\n", cl->announced ? "" : "handshake failed: ",
                    cl->fatal);
            if (cl->announced)
                cli_via_state(tern_conn_close(cl->c));
            flush(cl, now);
            return 1;
        }
        if (cl->stdin_done && (cl->received >= cl->sent || now >= cl->wait_until))
            closing = true;
        if (closing || cl->peer_closed || tern_conn_state(cl->c) == TERN_STATE_CLOSED) {
            if (cl->peer_closed)
                fprintf(stderr, PROG ": the server closed the connection\n");
            /* Our close_notify, also in answer to the server's (RFC 5246 §7.2.1). */
            cli_via_state(tern_conn_close(cl->c));
            flush(cl, now);
            return cl->announced ? 0 : 1;
        }
        if (!cl->announced && now >= hs_deadline) {
            fprintf(stderr, PROG ": handshake failed: no answer within %lu s\n",
                    cl->opt->timeout_s);
            return 1;
        }

        wake = tern_conn_deadline(cl->c);
        if (!cl->announced)
            wake = min_u64(wake, hs_deadline);
        if (cl->stdin_done)
            wake = min_u64(wake, cl->wait_until);
        timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 : (int)min_u64(wake - now, INT_MAX);

        pfd[nfd++] = (struct pollfd){.fd = cl->fd, .events = POLLIN};
        pfd[nfd++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        /* stdin only once there is room and nothing waits for tern's queue. */
        if (cl->announced && !cl->stdin_eof && cl->inlen < sizeof cl->in &&
            memchr(cl->in, '\n', cl->inlen) == NULL)
            pfd[nfd++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        rc = poll(pfd, nfd, timeout);
        if (rc < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            return 1;
        }
        if (rc <= 0)
            continue;
        now = cli_now();
        if (pfd[0].revents != 0)
            drain_socket(cl, now);
        if (pfd[1].revents != 0) {
            if (!cl->announced) {
                fprintf(stderr, PROG ": interrupted during the handshake\n");
                return 1;
            }
            closing = true;
        }
        if (nfd > 2 && pfd[2].revents != 0)
            read_stdin(cl);
    }
}

int main(int argc, char **argv)
{
    client_opts opt;
    client cl;
    tern_config *cfg;
    int rc, sigfd;

    rc = parse_args(argc, argv, &opt);
    if (rc != 0)
        return rc;
    sigfd = cli_signals_init();
    if (sigfd < 0) {
        fprintf(stderr, PROG ": signals: %s\n", strerror(errno));
        return 1;
    }
    cfg = tern_config_new();
    if (cfg == NULL) {
        fprintf(stderr, PROG ": tern_config_new failed (out of memory or no randomness)\n");
        return 1;
    }
    if (!setup_config(cfg, &opt)) {
        tern_config_free(cfg);
        return 2;
    }

    memset(&cl, 0, sizeof cl);
    cl.opt = &opt;
    cl.fd = open_socket(opt.host, opt.port);
    if (cl.fd < 0) {
        tern_config_free(cfg);
        return 1;
    }
    cl.c = tern_conn_new_client(cfg);
    tern_config_free(cfg); /* the connection holds its own reference */
    if (cl.c == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        close(cl.fd);
        return 1;
    }
    /* With a pin, the pin is the server's identity: a name is checked only when
     * one is given explicitly. */
    if (opt.servername != NULL || opt.fingerprint == NULL) {
        const char *name = opt.servername != NULL ? opt.servername : opt.host;
        tern_err err = tern_conn_set_hostname(cl.c, name);

        if (err != TERN_OK) {
            fprintf(stderr, PROG ": server name \"%s\": %s\n", name, tern_strerror(err));
            tern_conn_free(cl.c);
            close(cl.fd);
            return 2;
        }
    }

    rc = run(&cl, sigfd);
    if (opt.common.stats)
        cli_print_stats("", cl.c, &cl.ds);
    tern_conn_free(cl.c);
    close(cl.fd);
    return rc;
}
