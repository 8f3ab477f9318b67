/*
 * config.h - the inside of tern_config (see tern.h for the public side).
 *
 * A config is immutable once connections are made from it, so connections read it
 * without locks; the reference count is atomic so connections on several threads
 * may be freed at once.
 */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie.h"
#include "crypto/crypto.h"
#include "tern/tern.h"

#define TERN_CFG_MAX_SUITES 8
#define TERN_CFG_MAX_GROUPS 4
#define TERN_CFG_MAX_SIGSCHEMES 9
#define TERN_CFG_MAX_PINS 8

#define TERN_MTU_MIN 256
#define TERN_MTU_MAX 16384

struct tern_config {
    atomic_int refs;

    /* our credential */
    tern_chain chain;
    tern_pkey *key;
    uint8_t fingerprint[32];

    /* verifying the peer */
    tern_trust *trust;  /* NULL until a CA is added */
    uint8_t pins[TERN_CFG_MAX_PINS][32];
    size_t n_pins;
    tern_verify_mode verify;

    /* algorithms, in order of preference */
    uint16_t suites[TERN_CFG_MAX_SUITES];
    size_t n_suites;
    uint16_t groups[TERN_CFG_MAX_GROUPS];
    size_t n_groups;
    uint16_t sigschemes[TERN_CFG_MAX_SIGSCHEMES];
    size_t n_sigschemes;

    /* transport */
    size_t mtu;
    uint32_t rtx_initial_ms, rtx_max_ms, handshake_timeout_ms;
    uint32_t rtx_steady;       /* timeouts of a flight before the timer backs off */
    bool require_ems;

    /* limits */
    size_t max_app_queue;      /* received records waiting for tern_conn_read */
    size_t max_send_queue;     /* records waiting for tern_conn_send */
    size_t max_early_records;  /* next-epoch records kept before their keys */
    size_t max_handshake_msg;  /* bytes of one incoming handshake message */

    tern_cookie_cfg cookie;
    tern_rng rng;
    bool has_rng;

    tern_log_level log_level;
    void (*log_cb)(void *ctx, tern_log_level level, const char *line);
    void *log_ctx;
};

/* Take a reference for a connection. */
void tern_config_ref(tern_config *cfg);

/* The rng connections of |cfg| use: the installed one, or NULL (CSPRNG). */
static inline const tern_rng *tern_config_rng(const tern_config *cfg)
{
    return cfg->has_rng ? &cfg->rng : NULL;
}

/* printf-style log line at |level| when a callback wants it. */
void tern_config_log(const tern_config *cfg, tern_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
