/*
 * cli.c - what tern-client and tern-server have in common.
 *
 * How it works: the tools parse their own options with getopt_long and keep the
 * shared ones in a cli_common; cli_apply_common() turns those into tern_config
 * calls and prints the reason when tern refuses one (file names included, since
 * tern's errors do not carry them). The printing helpers make both tools report
 * handshakes, failures and counters in exactly the same words, which is what the
 * interop tests grep for:
 *
 *     handshake: DTLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 X25519
 *     stats: datagrams in 4 out 5, records in ..., largest datagram in 612 out 576, ...
 *
 * Only the public API (tern/tern.h) is used: the tools are what a user would write.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;

    /* A full pipe already says "a signal arrived": the lost byte does not matter. */
    if (write(signal_pipe[1], &b, 1) < 0) {
    }
    errno = saved;
}

bool cli_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

int cli_signals_init(void)
{
    struct sigaction sa;

    if (pipe(signal_pipe) != 0)
        return -1;
    if (!cli_set_nonblock(signal_pipe[0]) || !cli_set_nonblock(signal_pipe[1]))
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -1;
    return signal_pipe[0];
}

bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool cli_parse_fingerprint(const char *s, uint8_t out[32])
{
    size_t n = 0;

    while (*s != '\0') {
        int hi, lo;

        if (*s == ':' && n > 0) {
            s++;
            continue;
        }
        hi = hexval(s[0]);
        lo = hi < 0 ? -1 : hexval(s[1]);
        if (lo < 0 || n == 32)
            return false;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return n == 32;
}

void cli_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

/* One group from a name (as OpenSSL and GnuTLS spell them too) or an IANA number. */
static bool parse_group(const char *name, size_t len, uint16_t *out)
{
    static const struct {
        const char *name;
        uint16_t id;
    } names[] = {
        {"X25519", 29},    {"x25519", 29},     {"P-256", 23},      {"secp256r1", 23},
        {"prime256v1", 23}, {"P-384", 24},     {"secp384r1", 24},
    };
    char buf[32];
    unsigned long v;

    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, name, len);
    buf[len] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(buf, names[i].name) == 0) {
            *out = names[i].id;
            return true;
        }
    }
    if (!cli_parse_uint(buf, 1, 65535, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

static bool apply_groups(tern_config *cfg, const char *list, const char *prog)
{
    uint16_t groups[16];
    size_t n = 0;
    const char *p = list;
    tern_err err;

    for (;;) {
        size_t len = strcspn(p, ":,");

        if (n == sizeof groups / sizeof groups[0] || !parse_group(p, len, &groups[n])) {
            fprintf(stderr, "%s: --groups: cannot use \"%.*s\" (names: X25519, P-256, P-384)\n",
                    prog, (int)len, p);
            return false;
        }
        n++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    err = tern_config_set_groups(cfg, groups, n);
    if (err != TERN_OK) {
        fprintf(stderr, "%s: --groups %s: %s\n", prog, list, tern_strerror(err));
        return false;
    }
    return true;
}

static void log_line(void *ctx, tern_log_level level, const char *line)
{
    static const char *const names[] = {"error", "info", "debug"};

    fprintf(stderr, "%s: tern %s: %s\n", (const char *)ctx,
            (unsigned)level < 3 ? names[level] : "?", line);
}

bool cli_apply_common(tern_config *cfg, const cli_common *opt, const char *prog)
{
    tern_err err;

    if ((opt->cert == NULL) != (opt->key == NULL)) {
        fprintf(stderr, "%s: --cert and --key go together\n", prog);
        return false;
    }
    if (opt->cert != NULL) {
        err = tern_config_load_certificate(cfg, opt->cert, opt->key);
        if (err != TERN_OK) {
            fprintf(stderr, "%s: --cert %s --key %s: %s\n", prog, opt->cert, opt->key,
                    tern_strerror(err));
            return false;
        }
    }
    if (opt->ca != NULL) {
        struct stat st;

        if (stat(opt->ca, &st) == 0 && S_ISDIR(st.st_mode))
            err = tern_config_load_ca_dir(cfg, opt->ca);
        else
            err = tern_config_load_ca_file(cfg, opt->ca);
        if (err != TERN_OK) {
            fprintf(stderr, "%s: --ca %s: %s\n", prog, opt->ca, tern_strerror(err));
            return false;
        }
    }
    if (opt->ciphers != NULL) {
        err = tern_config_set_suite_names(cfg, opt->ciphers);
        if (err != TERN_OK) {
            fprintf(stderr, "%s: --cipher %s: %s\n", prog, opt->ciphers, tern_strerror(err));
            return false;
        }
    }
    if (opt->groups != NULL && !apply_groups(cfg, opt->groups, prog))
        return false;
    if (opt->mtu != 0) {
        err = tern_config_set_mtu(cfg, opt->mtu);
        if (err != TERN_OK) {
            fprintf(stderr, "%s: --mtu %zu: %s (256 to 16384)\n", prog, opt->mtu,
                    tern_strerror(err));
            return false;
        }
    }
    if (opt->verbose)
        tern_config_set_log(cfg, TERN_LOG_DEBUG, log_line, (void *)prog);
    return true;
}

void cli_addr_str(const struct sockaddr *sa, socklen_t len, char out[CLI_ADDR_STRLEN])
{
    char host[64], port[8];

    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, CLI_ADDR_STRLEN, "(unknown address)");
        return;
    }
    if (sa->sa_family == AF_INET6)
        snprintf(out, CLI_ADDR_STRLEN, "[%s]:%s", host, port);
    else
        snprintf(out, CLI_ADDR_STRLEN, "%s:%s", host, port);
}

static const char *or_unknown(const char *s)
{
    return s != NULL ? s : "(unknown)";
}

void cli_print_handshake(const tern_conn *c)
{
    fprintf(stderr, "handshake: %s %s %s\n", or_unknown(tern_version_name(tern_conn_version(c))),
            or_unknown(tern_conn_suite_name(c)), or_unknown(tern_group_name(tern_conn_group(c))));
}

void cli_describe_failure(const tern_conn *c, char *out, size_t cap)
{
    tern_err err = TERN_OK;
    tern_alert alert = TERN_ALERT_NONE;
    bool from_peer = false;

    tern_conn_error(c, &err, &alert, &from_peer);
    if (alert == TERN_ALERT_NONE)
        snprintf(out, cap, "%s", tern_strerror(err));
    else if (from_peer)
        snprintf(out, cap, "%s (alert %s, from the peer)", tern_strerror(err),
                 tern_alert_name(alert));
    else
        snprintf(out, cap, "%s (we sent alert %s)", tern_strerror(err), tern_alert_name(alert));
}

bool cli_failed_on_certificate(const tern_conn *c)
{
    tern_err err = TERN_OK;

    tern_conn_error(c, &err, NULL, NULL);
    switch (err) {
    case TERN_ERR_CERT_PARSE:
    case TERN_ERR_CERT_UNTRUSTED:
    case TERN_ERR_CERT_EXPIRED:
    case TERN_ERR_CERT_NAME:
    case TERN_ERR_CERT_KEY:
    case TERN_ERR_CERT_REQUIRED:
        return true;
    default:
        return false;
    }
}

void cli_print_stats(const char *prefix, const tern_conn *c, const cli_dgram_stats *ds)
{
    tern_stats st;
    size_t certlen = 0;
    const uint8_t *cert;
    char drops[512] = "";
    size_t at = 0;

    tern_conn_stats(c, &st);
    cert = tern_conn_peer_certificate(c, &certlen);
    /* Every reason that dropped something, by name ("bad_mac 2 replay 1"). */
    for (int i = 0; i < TERN_DROP_COUNT && at < sizeof drops; i++) {
        if (st.dropped_by[i] == 0)
            continue;
        int n = snprintf(drops + at, sizeof drops - at, "%s%s %llu", at ? " " : "",
                         tern_drop_name(i), (unsigned long long)st.dropped_by[i]);
        if (n > 0)
            at += (size_t)n;
    }
    fprintf(stderr,
            "%sstats: datagrams in %llu out %llu, records in %llu out %llu, "
            "largest datagram in %zu out %zu, dropped %llu (%s), retransmits %llu "
            "(timer %llu), handshake %llu ms, peer certificate %s\n",
            prefix, (unsigned long long)st.datagrams_in, (unsigned long long)st.datagrams_out,
            (unsigned long long)st.records_in, (unsigned long long)st.records_out,
            ds->largest_in, ds->largest_out, (unsigned long long)st.dropped,
            at ? drops : "none", (unsigned long long)st.retransmits,
            (unsigned long long)st.timeouts, (unsigned long long)st.handshake_ms,
            cert != NULL ? "received" : "none");
    tern_err err;
    tern_alert alert;
    bool from_peer;
    tern_conn_error(c, &err, &alert, &from_peer);
    if (err != TERN_OK)
        fprintf(stderr, "%sended: %s (%s), alert %s %s\n", prefix, tern_err_name(err),
                tern_strerror(err), tern_alert_name(alert),
                alert == TERN_ALERT_NONE ? "" : from_peer ? "from the peer" : "sent");
}
