/*
 * config.c - tern_config: defaults, setters, reference counting (see tern.h).
 *
 * Setters validate everything up front, so a connection never meets a config
 * it cannot use; a credential is checked at load time (the key must be the
 * certificate's, shown by signing and verifying a probe).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/msg.h"

static const uint16_t default_groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                          TERN_GROUP_SECP384R1};

/* What tern offers in signature_algorithms, strongest-first within each family. */
static const uint16_t default_sigschemes[] = {
    TERN_SIG_ECDSA_SECP256R1_SHA256, TERN_SIG_ECDSA_SECP384R1_SHA384,
    TERN_SIG_ED25519,                TERN_SIG_RSA_PSS_RSAE_SHA256,
    TERN_SIG_RSA_PSS_RSAE_SHA384,    TERN_SIG_RSA_PSS_RSAE_SHA512,
    TERN_SIG_RSA_PKCS1_SHA256,       TERN_SIG_RSA_PKCS1_SHA384,
    TERN_SIG_RSA_PKCS1_SHA512,
};

/* see tern.h */
tern_config *tern_config_new(void)
{
    tern_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return NULL;
    atomic_init(&cfg->refs, 1);
    for (const tern_suite_info *s; (s = tern_suite_at(cfg->n_suites)) != NULL &&
                                   cfg->n_suites < TERN_CFG_MAX_SUITES;)
        cfg->suites[cfg->n_suites++] = s->id;
    memcpy(cfg->groups, default_groups, sizeof default_groups);
    cfg->n_groups = sizeof default_groups / sizeof default_groups[0];
    memcpy(cfg->sigschemes, default_sigschemes, sizeof default_sigschemes);
    cfg->n_sigschemes = sizeof default_sigschemes / sizeof default_sigschemes[0];
    cfg->verify = TERN_VERIFY_DEFAULT;
    cfg->mtu = 1200;
    /* Retransmission (docs/ROBUSTNESS.md has the measurements behind these):
     * 400 ms, the RFC 9147 §5.8.2 value for real-time use, kept for the first
     * |rtx_steady| timeouts of each flight, then doubled up to 60 s as RFC 6347
     * §4.2.4.1 asks; the handshake gives up after 60 s in all. */
    cfg->rtx_initial_ms = 400;
    cfg->rtx_max_ms = 60000;
    cfg->rtx_steady = 8;
    cfg->handshake_timeout_ms = 60000;
    cfg->require_ems = true;
    cfg->max_app_queue = 64;
    cfg->max_send_queue = 64;
    cfg->max_early_records = 8;
    cfg->max_handshake_msg = 64 * 1024;
    cfg->cookie.rotation_ms = 30000;
    cfg->cookie.lifetime_ms = 60000;
    if (tern_random(NULL, cfg->cookie.secret, sizeof cfg->cookie.secret) != TERN_OK) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

void tern_config_ref(tern_config *cfg)
{
    atomic_fetch_add(&cfg->refs, 1);
}

/* see tern.h */
void tern_config_free(tern_config *cfg)
{
    if (cfg == NULL || atomic_fetch_sub(&cfg->refs, 1) != 1)
        return;
    tern_chain_clear(&cfg->chain);
    tern_pkey_free(cfg->key);
    tern_trust_free(cfg->trust);
    tern_wipe(cfg, sizeof *cfg);
    free(cfg);
}

/* The scheme tern would sign with for key |k| in a probe (any it supports). */
static bool probe_scheme(const tern_pkey *k, tern_sigscheme *out)
{
    for (size_t i = 0; i < sizeof default_sigschemes / sizeof default_sigschemes[0]; i++) {
        if (tern_pkey_supports(k, (tern_sigscheme)default_sigschemes[i])) {
            *out = (tern_sigscheme)default_sigschemes[i];
            return true;
        }
    }
    return false;
}

/* Take |chain| and |key| into |cfg| if the key belongs to the leaf. Consumes both
 * on success; on failure the caller still owns them. */
static tern_err credential_take(tern_config *cfg, tern_chain *chain, tern_pkey *key)
{
    tern_pkey *pub = NULL;
    tern_sigscheme scheme;
    uint8_t sig[TERN_SIG_MAX_LEN];
    size_t siglen;
    static const uint8_t probe[] = "tern credential check";
    tern_err err = tern_cert_public_key(chain->certs[0].data, chain->certs[0].len, &pub);
    if (err != TERN_OK)
        return err;
    if (!probe_scheme(key, &scheme) || !tern_pkey_supports(pub, scheme)) {
        err = TERN_ERR_CERT_KEY;
        goto out;
    }
    err = tern_sign(key, scheme, probe, sizeof probe, sig, sizeof sig, &siglen);
    if (err == TERN_OK)
        err = tern_verify(pub, scheme, probe, sizeof probe, sig, siglen);
    if (err != TERN_OK) {
        err = TERN_ERR_CERT_KEY; /* the key is not the certificate's */
        goto out;
    }
    err = tern_cert_fingerprint(chain->certs[0].data, chain->certs[0].len, cfg->fingerprint);
    if (err != TERN_OK)
        goto out;
    tern_chain_clear(&cfg->chain);
    tern_pkey_free(cfg->key);
    cfg->chain = *chain;
    cfg->key = key;
    memset(chain, 0, sizeof *chain);
out:
    tern_pkey_free(pub);
    return err;
}

/* The end of every credential setter: |err| says whether loading |chain| and |key|
 * went well; if so they are checked and taken, and whatever is not taken is freed. */
static tern_err set_credential(tern_config *cfg, tern_err err, tern_chain *chain, tern_pkey *key)
{
    if (err == TERN_OK)
        err = credential_take(cfg, chain, key);
    if (err != TERN_OK) {
        tern_chain_clear(chain);
        tern_pkey_free(key);
    }
    return err;
}

/* see tern.h */
tern_err tern_config_set_certificate(tern_config *cfg, const uint8_t *chain_data, size_t chainlen,
                                     const uint8_t *key_data, size_t keylen)
{
    tern_chain chain = {0};
    tern_pkey *key = NULL;
    tern_err err = tern_chain_parse(chain_data, chainlen, &chain);
    if (err == TERN_OK)
        err = tern_pkey_parse_private(key_data, keylen, &key);
    return set_credential(cfg, err, &chain, key);
}

/* see tern.h */
tern_err tern_config_load_certificate(tern_config *cfg, const char *chain_path,
                                      const char *key_path)
{
    tern_chain chain = {0};
    tern_pkey *key = NULL;
    tern_err err = tern_chain_load(chain_path, &chain);
    if (err == TERN_OK)
        err = tern_pkey_load_private(key_path, &key);
    return set_credential(cfg, err, &chain, key);
}

/* see tern.h */
tern_err tern_config_use_self_signed(tern_config *cfg, const char *common_name)
{
    tern_chain chain = {0};
    tern_pkey *key = NULL;
    tern_err err = tern_pkey_generate(TERN_KEY_EC_P256, &key);
    if (err == TERN_OK)
        err = tern_cert_self_signed(key, common_name, 30, &chain);
    return set_credential(cfg, err, &chain, key);
}

/* see tern.h */
tern_err tern_config_fingerprint(const tern_config *cfg, uint8_t out[32])
{
    if (cfg->key == NULL)
        return TERN_ERR_ARG;
    memcpy(out, cfg->fingerprint, 32);
    return TERN_OK;
}

static tern_err trust_get(tern_config *cfg)
{
    return cfg->trust != NULL ? TERN_OK : tern_trust_new(&cfg->trust);
}

/* see tern.h */
tern_err tern_config_add_ca(tern_config *cfg, const uint8_t *pem, size_t len)
{
    tern_err err = trust_get(cfg);
    return err != TERN_OK ? err : tern_trust_add(cfg->trust, pem, len);
}

/* see tern.h */
tern_err tern_config_load_ca_file(tern_config *cfg, const char *path)
{
    tern_err err = trust_get(cfg);
    return err != TERN_OK ? err : tern_trust_add_file(cfg->trust, path);
}

/* see tern.h */
tern_err tern_config_load_ca_dir(tern_config *cfg, const char *path)
{
    tern_err err = trust_get(cfg);
    return err != TERN_OK ? err : tern_trust_add_dir(cfg->trust, path);
}

/* see tern.h */
tern_err tern_config_add_fingerprint(tern_config *cfg, const uint8_t sha256[32])
{
    if (cfg->n_pins == TERN_CFG_MAX_PINS)
        return TERN_ERR_NOMEM;
    memcpy(cfg->pins[cfg->n_pins++], sha256, 32);
    return TERN_OK;
}

/* see tern.h */
void tern_config_set_verify(tern_config *cfg, tern_verify_mode mode)
{
    cfg->verify = mode;
}

/* see tern.h */
tern_err tern_config_set_suites(tern_config *cfg, const uint16_t *suites, size_t n)
{
    if (n == 0 || n > TERN_CFG_MAX_SUITES)
        return TERN_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (tern_suite_find(suites[i]) == NULL)
            return TERN_ERR_UNSUPPORTED;
    memcpy(cfg->suites, suites, n * sizeof suites[0]);
    cfg->n_suites = n;
    return TERN_OK;
}

/* see tern.h */
tern_err tern_config_set_suite_names(tern_config *cfg, const char *names)
{
    uint16_t ids[TERN_CFG_MAX_SUITES];
    size_t n = 0;
    const char *p = names;
    while (*p != '\0') {
        size_t len = strcspn(p, ":,");
        if (len > 0) {
            const tern_suite_info *s = NULL;
            for (size_t i = 0; (s = tern_suite_at(i)) != NULL; i++)
                if (strlen(s->name) == len && strncmp(s->name, p, len) == 0)
                    break;
            if (s == NULL)
                return TERN_ERR_UNSUPPORTED;
            if (n == TERN_CFG_MAX_SUITES)
                return TERN_ERR_ARG;
            ids[n++] = s->id;
        }
        p += len + (p[len] != '\0');
    }
    return tern_config_set_suites(cfg, ids, n);
}

/* see tern.h */
tern_err tern_config_set_groups(tern_config *cfg, const uint16_t *groups, size_t n)
{
    if (n == 0 || n > TERN_CFG_MAX_GROUPS)
        return TERN_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (tern_kex_share_len((tern_group)groups[i]) == 0)
            return TERN_ERR_UNSUPPORTED;
    memcpy(cfg->groups, groups, n * sizeof groups[0]);
    cfg->n_groups = n;
    return TERN_OK;
}

/* see tern.h */
tern_err tern_config_set_mtu(tern_config *cfg, size_t mtu)
{
    if (mtu < TERN_MTU_MIN || mtu > TERN_MTU_MAX)
        return TERN_ERR_ARG;
    cfg->mtu = mtu;
    return TERN_OK;
}

/* see tern.h */
tern_err tern_config_set_timers(tern_config *cfg, uint32_t initial_ms, uint32_t max_ms,
                                uint32_t handshake_ms)
{
    /* 0 keeps the value in force. */
    initial_ms = initial_ms ? initial_ms : cfg->rtx_initial_ms;
    max_ms = max_ms ? max_ms : cfg->rtx_max_ms;
    handshake_ms = handshake_ms ? handshake_ms : cfg->handshake_timeout_ms;
    if (max_ms < initial_ms)
        return TERN_ERR_ARG;
    cfg->rtx_initial_ms = initial_ms;
    cfg->rtx_max_ms = max_ms;
    cfg->handshake_timeout_ms = handshake_ms;
    return TERN_OK;
}

/* see tern.h */
void tern_config_require_ems(tern_config *cfg, bool required)
{
    cfg->require_ems = required;
}

/* see tern.h */
tern_err tern_config_set_cookie_secret(tern_config *cfg, const uint8_t *secret, size_t len,
                                       uint32_t lifetime_ms)
{
    if (len < 16 || lifetime_ms == 0)
        return TERN_ERR_ARG;
    /* Any length in, the fixed-size cookie key out. */
    tern_iov part = {secret, len};
    static const uint8_t label[] = "tern cookie secret";
    tern_err err = tern_hmac(TERN_HASH_SHA256, label, sizeof label - 1, &part, 1,
                             cfg->cookie.secret);
    if (err != TERN_OK)
        return err;
    cfg->cookie.lifetime_ms = lifetime_ms;
    cfg->cookie.rotation_ms = lifetime_ms / 2 ? lifetime_ms / 2 : 1;
    return TERN_OK;
}

/* see tern.h */
void tern_config_set_rng(tern_config *cfg, const tern_rng *rng)
{
    cfg->has_rng = rng != NULL;
    if (rng != NULL)
        cfg->rng = *rng;
}

/* see tern.h */
void tern_config_set_log(tern_config *cfg, tern_log_level level,
                         void (*cb)(void *ctx, tern_log_level level, const char *line), void *ctx)
{
    cfg->log_level = level;
    cfg->log_cb = cb;
    cfg->log_ctx = ctx;
}

void tern_config_log(const tern_config *cfg, tern_log_level level, const char *fmt, ...)
{
    if (cfg->log_cb == NULL || level > cfg->log_level)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cfg->log_cb(cfg->log_ctx, level, line);
}
