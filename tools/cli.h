/*
 * cli.h - helpers shared by tern-client and tern-server: option values
 * (groups, fingerprints, numbers), the config options both tools take, and the
 * lines both print (handshake, failure, stats). Public API of tern only.
 */
#ifndef TERN_TOOLS_CLI_H
#define TERN_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tern/tern.h"

/* Big enough for any UDP datagram and for any record tern hands out. */
#define CLI_DGRAM_MAX 65536
/* Room for "[v6 address]:port". */
#define CLI_ADDR_STRLEN 80

/* The options tern-client and tern-server share, as given on the command line. */
typedef struct cli_common {
    const char *cert, *key; /* our chain and key files */
    const char *ca;         /* trust anchors file (or directory) */
    const char *ciphers;    /* IANA suite names */
    const char *groups;     /* group names or numbers */
    size_t mtu;             /* 0: tern's default */
    bool stats;
    bool verbose;
} cli_common;

/* What the tools count themselves, next to tern_conn_stats(). */
typedef struct cli_dgram_stats {
    size_t largest_in, largest_out;
} cli_dgram_stats;

/* For tern calls whose failure the tools read back from tern_conn_state() and
 * tern_conn_error() instead of from the return value (a fatal error is sticky, so
 * the state says it all, once, in one place). */
static inline void cli_via_state(tern_err err)
{
    (void)err;
}

/* Parse a decimal number in [min, max]; false when |s| is not one. */
bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Parse a SHA-256 fingerprint: 64 hex digits, in either case, with or without ':'
 * between bytes. False when |s| is not one. */
bool cli_parse_fingerprint(const char *s, uint8_t out[32]);

/* |len| bytes as lower-case hex into |out| (2 * len + 1 bytes). */
void cli_hex(const uint8_t *data, size_t len, char *out);

/* Apply the shared options to |cfg|: certificate, CA, suites, groups, MTU, log.
 * |prog| prefixes error messages. Returns false after printing why. */
bool cli_apply_common(tern_config *cfg, const cli_common *opt, const char *prog);

/* "127.0.0.1:4433" or "[::1]:4433". */
void cli_addr_str(const struct sockaddr *sa, socklen_t len, char out[CLI_ADDR_STRLEN]);

/* The one line per completed handshake: "handshake: DTLS 1.2 <suite> <group>". */
void cli_print_handshake(const tern_conn *c);

/* Why |c| failed, as one phrase: "certificate chain not trusted (we sent alert
 * unknown_ca)" or "peer sent a fatal alert (handshake_failure, from the peer)". */
void cli_describe_failure(const tern_conn *c, char *out, size_t cap);

/* True when |c| failed on the peer's certificate (the tools add what they checked). */
bool cli_failed_on_certificate(const tern_conn *c);

/* Catch SIGINT and SIGTERM through a self-pipe and ignore SIGPIPE. Returns the
 * pipe's read end, to be polled for POLLIN (a signal arrived), or -1 with errno. */
int cli_signals_init(void);

/* Set the O_NONBLOCK flag on |fd|; false with errno on failure. */
bool cli_set_nonblock(int fd);

/* One "stats: ..." line on stderr, after |prefix| (may be ""). */
void cli_print_stats(const char *prefix, const tern_conn *c, const cli_dgram_stats *ds);

#endif
