/*
 * tls12_server.c - the DTLS 1.2 server state machine (see tls12.h for the flights).
 *
 * The server is created by tern_conn_accept() only after the stateless front door
 * (front.c) has verified the ClientHello's cookie, so this machine starts at the
 * ClientHello that carries it. Choices are made in the server's order of
 * preference among what the client offered: suite, then group, then signature
 * scheme; a suite is only chosen when our key can sign for it and a group and a
 * scheme are common too.
 */
#include <string.h>

#include "hs/tls12.h"

static bool in_list(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

/* RFC 8422 §4: without supported_groups the client is taken to support P-256. */
static uint16_t s12_pick_group(const tern_config *cfg, const tern_exts *ext)
{
    for (size_t i = 0; i < cfg->n_groups; i++) {
        if (!tern_exts_has(ext, TERN_EXTI_SUPPORTED_GROUPS)) {
            if (cfg->groups[i] == TERN_GROUP_SECP256R1)
                return cfg->groups[i];
        } else if (in_list(ext->groups, ext->n_groups, cfg->groups[i])) {
            return cfg->groups[i];
        }
    }
    return 0;
}

/* Does our key sign for suites of |auth|? (RFC 8422 §2: ECDHE_ECDSA suites are also
 * used with EdDSA certificates.) */
static bool key_fits_auth(const tern_pkey *key, tern_auth_alg auth)
{
    tern_key_type kt = tern_pkey_type(key);
    return auth == TERN_AUTH_RSA ? kt == TERN_KEY_RSA : kt != TERN_KEY_RSA && kt != TERN_KEY_NONE;
}

/*  <==  ClientHello (with a proven cookie)
 *  ==>  ServerHello  Certificate  ServerKeyExchange  CertificateRequest*  ServerHelloDone */
static tern_err s12_on_client_hello(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    tern_client_hello ch;
    tern_err err = tern_client_hello_parse(body, len, &ch);
    if (err != TERN_OK)
        return err;
    /* RFC 6347 §4.1: DTLS 1.2 is 0xfefd; lower is DTLS 1.0, which tern does not speak. */
    if (ch.version > TERN_DTLS_1_2)
        return TERN_ERR_VERSION;
    if (cfg->key == NULL)
        return TERN_ERR_HANDSHAKE; /* a server needs a certificate */
    memcpy(hs->client_random, ch.random, TERN_RANDOM_LEN);

    /* Extensions (RFC 7627, RFC 5746). */
    hs->ems = tern_exts_has(&ch.ext, TERN_EXTI_EXTENDED_MASTER_SECRET);
    if (!hs->ems && cfg->require_ems)
        return TERN_ERR_EMS_REQUIRED;
    bool reneg = tern_exts_has(&ch.ext, TERN_EXTI_RENEGOTIATION_INFO);
    if (reneg && ch.ext.reneg_len != 0)
        return TERN_ERR_HANDSHAKE; /* RFC 5746 §3.6: must be empty on a first handshake */
    reneg |= tern_client_hello_offers(&ch, TERN_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV);

    /* Choose suite, group and scheme together. */
    uint16_t group = s12_pick_group(cfg, &ch.ext);
    uint16_t scheme = 0;
    const tern_suite_info *suite = NULL;
    if (!tern_exts_has(&ch.ext, TERN_EXTI_SIGNATURE_ALGORITHMS))
        return TERN_ERR_HANDSHAKE; /* the RFC 5246 default is SHA-1, which tern refuses */
    scheme = tern_hs12_pick_scheme(cfg->sigschemes, cfg->n_sigschemes, ch.ext.sigschemes,
                                   ch.ext.n_sigschemes, cfg->key);
    for (size_t i = 0; i < cfg->n_suites && group != 0 && scheme != 0; i++) {
        const tern_suite_info *s = tern_suite_find(cfg->suites[i]);
        if (s != NULL && key_fits_auth(cfg->key, s->auth) && tern_client_hello_offers(&ch, s->id)) {
            suite = s;
            break;
        }
    }
    if (suite == NULL)
        return TERN_ERR_HANDSHAKE;
    hs->suite = suite;
    hs->group = group;
    err = tern_hs12_transcript_hash_start(hs);
    if (err == TERN_OK)
        err = tern_random(tern_config_rng(cfg), hs->server_random, TERN_RANDOM_LEN);
    if (err != TERN_OK)
        return err;

    tern_flight_begin(c->flight);
    tern_server_hello_msg sh = {0};
    sh.version = TERN_DTLS_1_2;
    sh.random = hs->server_random;
    sh.suite = suite->id;
    sh.ext.present = true;
    if (hs->ems)
        sh.ext.seen |= TERN_EXT_BIT(TERN_EXTI_EXTENDED_MASTER_SECRET);
    if (reneg)
        sh.ext.seen |= TERN_EXT_BIT(TERN_EXTI_RENEGOTIATION_INFO);
    if (tern_exts_has(&ch.ext, TERN_EXTI_EC_POINT_FORMATS))
        sh.ext.seen |= TERN_EXT_BIT(TERN_EXTI_EC_POINT_FORMATS);
    tern_wr w = tern_wr_init(hs->scratch, hs->scratch_cap);
    err = tern_server_hello_build(&w, &sh);
    if (err == TERN_OK)
        err = tern_conn_emit(c, 0, TERN_HS_SERVER_HELLO, hs->scratch, w.len);
    if (err != TERN_OK)
        return err;

    err = tern_hs12_emit_certificate(c, false);
    if (err != TERN_OK)
        return err;

    /* ServerKeyExchange (RFC 8422 §5.4): our share, signed with the randoms. */
    uint8_t share[TERN_KEX_MAX_SHARE_LEN], sig[TERN_SIG_MAX_LEN];
    size_t share_len, siglen;
    err = tern_kex_new((tern_group)group, tern_config_rng(cfg), &hs->kex);
    if (err == TERN_OK)
        err = tern_kex_public(hs->kex, share, sizeof share, &share_len);
    if (err != TERN_OK)
        return err;
    tern_server_kx kx = {0};
    kx.group = group;
    kx.point = share;
    kx.point_len = share_len;
    w = tern_wr_init(hs->scratch, hs->scratch_cap);
    err = tern_server_kx_signed_data(&w, hs->client_random, hs->server_random, &kx);
    if (err == TERN_OK)
        err = tern_sign(cfg->key, (tern_sigscheme)scheme, hs->scratch, w.len, sig, sizeof sig,
                        &siglen);
    if (err != TERN_OK)
        return err;
    kx.sig.scheme = scheme;
    kx.sig.sig = sig;
    kx.sig.sig_len = siglen;
    w = tern_wr_init(hs->scratch, hs->scratch_cap);
    err = tern_server_kx_build(&w, &kx);
    if (err == TERN_OK)
        err = tern_conn_emit(c, 0, TERN_HS_SERVER_KEY_EXCHANGE, hs->scratch, w.len);
    if (err != TERN_OK)
        return err;

    if (cfg->verify == TERN_VERIFY_PEER || cfg->verify == TERN_VERIFY_REQUIRE) {
        static const uint8_t types[] = {TERN_CERT_TYPE_ECDSA_SIGN, TERN_CERT_TYPE_RSA_SIGN};
        tern_cert_request cr = {0};
        cr.cert_types = types;
        cr.n_cert_types = sizeof types;
        memcpy(cr.sigschemes, cfg->sigschemes, cfg->n_sigschemes * sizeof cfg->sigschemes[0]);
        cr.n_sigschemes = cfg->n_sigschemes;
        w = tern_wr_init(hs->scratch, hs->scratch_cap);
        err = tern_cert_request_build(&w, &cr);
        if (err == TERN_OK)
            err = tern_conn_emit(c, 0, TERN_HS_CERTIFICATE_REQUEST, hs->scratch, w.len);
        if (err != TERN_OK)
            return err;
        hs->cert_requested = true;
    }
    err = tern_conn_emit(c, 0, TERN_HS_SERVER_HELLO_DONE, NULL, 0);
    if (err != TERN_OK)
        return err;
    hs->state = hs->cert_requested ? S12_EXPECT_CERTIFICATE : S12_EXPECT_CLIENT_KX;
    return TERN_OK;
}

/*  <==  Certificate (client) */
static tern_err s12_on_certificate(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_certificate cert;
    tern_err err = tern_certificate_parse(body, len, &cert);
    if (err != TERN_OK)
        return err == TERN_ERR_TOO_BIG ? TERN_ERR_CERT_PARSE : err;
    if (cert.count == 0) {
        /* RFC 5246 §7.4.6: an empty list when the client has no certificate. */
        if (c->cfg->verify == TERN_VERIFY_REQUIRE)
            return TERN_ERR_CERT_REQUIRED;
    } else {
        err = tern_hs12_verify_chain(c, &cert, NULL);
        if (err != TERN_OK)
            return err;
    }
    c->hs->state = S12_EXPECT_CLIENT_KX;
    return TERN_OK;
}

/*  <==  ClientKeyExchange  */
static tern_err s12_on_client_kx(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    tern_client_kx ckx;
    uint8_t pms[TERN_KEX_MAX_SECRET_LEN];
    size_t pms_len;
    tern_err err = tern_client_kx_parse(body, len, &ckx);
    if (err != TERN_OK)
        return err;
    err = tern_kex_derive(hs->kex, ckx.point, ckx.point_len, pms, sizeof pms, &pms_len);
    if (err == TERN_OK)
        err = tern_hs12_derive_keys(c, pms, pms_len);
    tern_wipe(pms, sizeof pms);
    if (err != TERN_OK)
        return err;
    hs->state = hs->peer_sent_cert ? S12_EXPECT_CERT_VERIFY : S12_EXPECT_FINISHED;
    return TERN_OK;
}

/*  <==  CertificateVerify: over every handshake message before it (RFC 5246 §7.4.8),
 *  which is the transcript minus the CertificateVerify the dispatch just added. */
static tern_err s12_on_cert_verify(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    tern_cert_verify cv;
    tern_err err = tern_cert_verify_parse(body, len, &cv);
    if (err != TERN_OK)
        return err;
    if (!in_list(c->cfg->sigschemes, c->cfg->n_sigschemes, cv.scheme))
        return TERN_ERR_ILLEGAL;
    size_t signed_len = hs->tlen - TERN_HS_HDR_LEN - len;
    err = tern_verify(hs->peer_key, (tern_sigscheme)cv.scheme, hs->tbuf, signed_len, cv.sig,
                      cv.sig_len);
    if (err != TERN_OK)
        return err;
    hs->state = S12_EXPECT_FINISHED;
    return TERN_OK;
}

/*  <==  [ChangeCipherSpec]  Finished
 *  ==>  [ChangeCipherSpec]  Finished  */
static tern_err s12_on_finished(tern_conn *c, uint64_t now, uint16_t seq, uint64_t epoch,
                                const uint8_t *body, size_t len)
{
    tern_err err = tern_hs12_check_finished(c, epoch, body, len);
    if (err == TERN_OK) /* our Finished covers the client's */
        err = tern_hs12_transcript_add(c->hs, TERN_HS_FINISHED, seq, body, len);
    if (err != TERN_OK)
        return err;
    tern_flight_begin(c->flight);
    err = tern_hs12_emit_finished(c);
    if (err != TERN_OK)
        return err;
    tern_hs12_done(c, now);
    return TERN_OK;
}

/* see tls12.h */
tern_err tern_s12_handle(tern_conn *c, uint64_t now, uint8_t type, uint16_t seq, uint64_t epoch,
                         const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    if (type != TERN_HS_FINISHED) {
        tern_err err = tern_hs12_transcript_add(hs, type, seq, body, len);
        if (err != TERN_OK)
            return err;
        if (epoch != 0)
            return TERN_ERR_UNEXPECTED;
    }
    switch (hs->state) {
    case S12_EXPECT_CLIENT_HELLO:
        return type == TERN_HS_CLIENT_HELLO ? s12_on_client_hello(c, body, len)
                                            : TERN_ERR_UNEXPECTED;
    case S12_EXPECT_CERTIFICATE:
        return type == TERN_HS_CERTIFICATE ? s12_on_certificate(c, body, len) : TERN_ERR_UNEXPECTED;
    case S12_EXPECT_CLIENT_KX:
        return type == TERN_HS_CLIENT_KEY_EXCHANGE ? s12_on_client_kx(c, body, len)
                                                   : TERN_ERR_UNEXPECTED;
    case S12_EXPECT_CERT_VERIFY:
        return type == TERN_HS_CERTIFICATE_VERIFY ? s12_on_cert_verify(c, body, len)
                                                  : TERN_ERR_UNEXPECTED;
    case S12_EXPECT_FINISHED:
        return type == TERN_HS_FINISHED ? s12_on_finished(c, now, seq, epoch, body, len)
                                        : TERN_ERR_UNEXPECTED;
    default:
        return TERN_ERR_UNEXPECTED;
    }
}
