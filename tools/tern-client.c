/*
 * tern-client - a DTLS client for the command line, as `openssl s_client -dtls1_2`.
 *
 *     tern-client --host H --port N [--ca F] [--servername NAME] [--fingerprint HEX]
 *                 [--insecure] [--cert F --key F] [--mtu N] [--cipher NAMES]
 *                 [--groups LIST] [--stats] [--timeout S] [--wait S] [--verbose]
 *
 * How it works: tern_dial() (tern_io.h) resolves the server, opens an endpoint
 * whose UDP socket is connected to it, and starts the handshake; the endpoint
 * then runs every timer and moves every datagram. This program is a poll() loop
 * over the endpoint's fd, stdin and the signal pipe, sleeping until the earliest
 * of the endpoint's deadline, the handshake timeout and the end-of-input wait;
 * after each wake-up tern_endpoint_process() does what is due, and the loop
 * prints the records that arrived and sends the lines read (tern_assoc_read and
 * tern_assoc_write, without waiting).
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
#include "tern/tern_io.h"

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
    tern_assoc *a;
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
    err = tern_config_set_timers(cfg, 0, 0, (uint32_t)(opt->timeout_s * 1000));
    if (err != TERN_OK) {
        fprintf(stderr, PROG ": --timeout %lu: %s\n", opt->timeout_s, tern_strerror(err));
        return false;
    }
    return true;
}

static const char *unreachable(void)
{
    return "the server is not answering on that port (ICMP port unreachable)";
}

/* Print every application record received so far. */
static void print_records(client *cl)
{
    static uint8_t rec[CLI_DGRAM_MAX];
    size_t n;
    tern_err err;

    while ((err = tern_assoc_read(cl->a, rec, sizeof rec, &n, 0)) == TERN_OK) {
        fwrite(rec, 1, n, stdout);
        putchar('\n');
        cl->received++;
    }
    fflush(stdout);
    if (err == TERN_ERR_CLOSED && tern_assoc_end_reason(cl->a) == TERN_END_CLOSED)
        cl->peer_closed = true;
}

/* Queue one record; false when tern's queue is full (try again after sending). */
static bool send_line(client *cl, const char *line, size_t len)
{
    tern_err err;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    err = tern_assoc_write(cl->a, (const uint8_t *)line, len, 0);
    if (err == TERN_ERR_AGAIN)
        return false;
    cl->lineno++;
    if (err == TERN_ERR_TOO_BIG) {
        static char msg[160];

        snprintf(msg, sizeof msg, "line %lu is %zu bytes; at most %zu fit in one record here",
                 cl->lineno, len, tern_conn_max_write(tern_assoc_conn(cl->a)));
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
    tern_endpoint *ep = tern_assoc_endpoint(cl->a);

    size_t done = 0;

    for (;;) {
        char *nl = memchr(cl->in + done, '\n', cl->inlen - done);
        size_t len;

        if (nl == NULL)
            break;
        len = (size_t)(nl - (cl->in + done));
        if (!send_line(cl, cl->in + done, len)) {
            /* tern's queue is full: let the endpoint move datagrams, once */
            if (ep == NULL || tern_endpoint_process(ep, now) != TERN_OK ||
                !send_line(cl, cl->in + done, len))
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

    cli_describe_failure(tern_assoc_conn(cl->a), why, sizeof why);
    if (!cli_failed_on_certificate(tern_assoc_conn(cl->a))) {
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
    uint64_t start = tern_endpoint_now();
    uint64_t hs_deadline = start + cl->opt->timeout_s * 1000;
    bool closing = false;

    for (;;) {
        uint64_t now = tern_endpoint_now(), wake;
        tern_endpoint *ep = tern_assoc_endpoint(cl->a);
        struct pollfd pfd[3];
        nfds_t nfd = 0;
        int timeout, rc;

        if (!cl->announced && tern_assoc_state(cl->a) == TERN_STATE_ESTABLISHED) {
            cli_print_handshake(tern_assoc_conn(cl->a));
            cl->announced = true;
        }
        if (cl->announced && !cl->stdin_done && !closing)
            send_lines(cl, now);
        print_records(cl);

        if (tern_assoc_end_reason(cl->a) == TERN_END_UNREACHABLE && cl->fatal == NULL)
            cl->fatal = unreachable();
        if (tern_assoc_state(cl->a) == TERN_STATE_FAILED) {
            report_failure(cl);
            return 1;
        }
        if (cl->fatal != NULL) {
            fprintf(stderr, PROG ": %s%s\n", cl->announced ? "" : "handshake failed: ",
                    cl->fatal);
            if (cl->announced)
                cli_via_state(tern_assoc_close(cl->a));
            return 1;
        }
        if (cl->stdin_done && (cl->received >= cl->sent || now >= cl->wait_until))
            closing = true;
        if (closing || cl->peer_closed || tern_assoc_state(cl->a) == TERN_STATE_CLOSED) {
            if (cl->peer_closed)
                fprintf(stderr, PROG ": the server closed the connection\n");
            /* Our close_notify (the endpoint already answered the server's). */
            cli_via_state(tern_assoc_close(cl->a));
            return cl->announced ? 0 : 1;
        }
        if (!cl->announced && now >= hs_deadline) {
            fprintf(stderr, PROG ": handshake failed: no answer within %lu s\n",
                    cl->opt->timeout_s);
            return 1;
        }

        wake = tern_endpoint_deadline(ep);
        if (!cl->announced)
            wake = min_u64(wake, hs_deadline);
        if (cl->stdin_done)
            wake = min_u64(wake, cl->wait_until);
        timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 : (int)min_u64(wake - now, INT_MAX);

        pfd[nfd++] = (struct pollfd){.fd = tern_endpoint_fd(ep), .events = POLLIN};
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
        if (tern_endpoint_process(ep, tern_endpoint_now()) != TERN_OK) {
            fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
            return 1;
        }
        if (rc <= 0)
            continue;
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

static void print_stats(const client *cl)
{
    tern_assoc_stats as;
    cli_dgram_stats ds;

    tern_assoc_get_stats(cl->a, &as);
    ds.largest_in = as.largest_in;
    ds.largest_out = as.largest_out;
    cli_print_stats("", tern_assoc_conn(cl->a), &ds);
}

int main(int argc, char **argv)
{
    client_opts opt;
    client cl;
    tern_config *cfg;
    const char *name = NULL;
    tern_err err;
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
    /* With a pin, the pin is the server's identity: a name is checked only when
     * one is given explicitly. */
    if (opt.servername != NULL || opt.fingerprint == NULL) {
        name = opt.servername != NULL ? opt.servername : opt.host;
        if (name[0] == '\0' || strlen(name) > 255) {
            fprintf(stderr, PROG ": server name \"%s\": %s\n", name, tern_strerror(TERN_ERR_ARG));
            tern_config_free(cfg);
            return 2;
        }
    }

    memset(&cl, 0, sizeof cl);
    cl.opt = &opt;
    cl.a = tern_dial(cfg, opt.host, opt.port, name, &err);
    tern_config_free(cfg); /* the endpoint holds its own reference */
    if (cl.a == NULL) {
        if (err == TERN_ERR_ARG)
            fprintf(stderr, PROG ": %s port %s: no such host or port\n", opt.host, opt.port);
        else if (err == TERN_ERR_IO)
            fprintf(stderr, PROG ": cannot reach %s port %s: %s\n", opt.host, opt.port,
                    strerror(errno));
        else
            fprintf(stderr, PROG ": %s port %s: %s\n", opt.host, opt.port, tern_strerror(err));
        return 1;
    }

    rc = run(&cl, sigfd);
    if (opt.common.stats)
        print_stats(&cl);
    tern_assoc_free(cl.a);
    return rc;
}
