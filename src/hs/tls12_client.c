/*
 * tls12_client.c - the DTLS 1.2 client state machine (see tls12.h for the flights).
 *
 * One dispatch, tern_c12_handle(): it checks the message type against the state
 * and calls one handler. Handlers validate what the server chose against what we
 * offered (version, suite, group, scheme, extensions), so everything the server
 * says is either something we asked for or a fatal error.
 */
#include <string.h>

#include "hs/tls12.h"

/* A host name that is an IP literal is checked against iPAddress entries and not
 * sent as server_name (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
 * permitted in HostName"). */
static bool is_ip_literal(const char *s)
{
    if (strchr(s, ':') != NULL)
        return true;
    for (; *s != '\0'; s++)
        if ((*s < '0' || *s > '9') && *s != '.')
            return false;
    return true;
}

/* Flight 1 or 3: the ClientHello, with the cookie we hold (if any). */
static tern_err c12_send_client_hello(tern_conn *c)
{
    tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    tern_client_hello ch = {0};
    ch.version = TERN_DTLS_1_2;
    ch.random = hs->client_random;
    ch.cookie = hs->cookie;
    ch.cookie_len = hs->cookie_len;
    memcpy(ch.suites, cfg->suites, cfg->n_suites * sizeof cfg->suites[0]);
    ch.n_suites = cfg->n_suites;
    ch.ext.present = true;
    ch.ext.seen = TERN_EXT_BIT(TERN_EXTI_SUPPORTED_GROUPS) | TERN_EXT_BIT(TERN_EXTI_EC_POINT_FORMATS) |
                  TERN_EXT_BIT(TERN_EXTI_SIGNATURE_ALGORITHMS) |
                  TERN_EXT_BIT(TERN_EXTI_EXTENDED_MASTER_SECRET) |
                  TERN_EXT_BIT(TERN_EXTI_RENEGOTIATION_INFO);
    memcpy(ch.ext.groups, cfg->groups, cfg->n_groups * sizeof cfg->groups[0]);
    ch.ext.n_groups = cfg->n_groups;
    memcpy(ch.ext.sigschemes, cfg->sigschemes, cfg->n_sigschemes * sizeof cfg->sigschemes[0]);
    ch.ext.n_sigschemes = cfg->n_sigschemes;
    if (c->hostname != NULL && !is_ip_literal(c->hostname)) {
        ch.ext.seen |= TERN_EXT_BIT(TERN_EXTI_SERVER_NAME);
        ch.ext.host = (const uint8_t *)c->hostname;
        ch.ext.host_len = strlen(c->hostname);
    }
    tern_wr w = tern_wr_init(hs->scratch, hs->scratch_cap);
    tern_err err = tern_client_hello_build(&w, &ch);
    if (err != TERN_OK)
        return err;
    tern_flight_begin(c->flight);
    return tern_conn_emit(c, 0, TERN_HS_CLIENT_HELLO, hs->scratch, w.len);
}

/* see tls12.h */
tern_err tern_c12_start(tern_conn *c, uint64_t now)
{
    (void)now;
    tern_err err = tern_hs12_new(c, C12_EXPECT_SERVER_HELLO);
    if (err != TERN_OK)
        return err;
    err = tern_random(tern_config_rng(c->cfg), c->hs->client_random, TERN_RANDOM_LEN);
    if (err != TERN_OK)
        return err;
    return c12_send_client_hello(c);
}

/*  <==  HelloVerifyRequest  */
static tern_err c12_on_hello_verify(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    tern_hello_verify hvr;
    tern_err err = tern_hello_verify_parse(body, len, &hvr);
    if (err != TERN_OK)
        return err;
    /* RFC 6347 §4.2.1: sent as DTLS 1.0 or 1.2; stacks differ, accept both. */
    if (hvr.version != TERN_DTLS_1_0 && hvr.version != TERN_DTLS_1_2)
        return TERN_ERR_VERSION;
    if (++hs->hvr_count > TERN_HS12_MAX_HVR)
        return TERN_ERR_UNEXPECTED;
    memcpy(hs->cookie, hvr.cookie, hvr.cookie_len);
    hs->cookie_len = hvr.cookie_len;
    /* RFC 6347 §4.2.6: the first ClientHello and the HelloVerifyRequest stay out of
     * the transcript; the second ClientHello reuses the random. */
    tern_hs12_transcript_reset(hs);
    return c12_send_client_hello(c);
}

static bool offered(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

/*  <==  ServerHello  */
static tern_err c12_on_server_hello(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    tern_server_hello_msg sh;
    tern_err err = tern_server_hello_parse(body, len, &sh);
    if (err != TERN_OK)
        return err;
    if (sh.version != TERN_DTLS_1_2)
        return TERN_ERR_VERSION;
    if (!offered(cfg->suites, cfg->n_suites, sh.suite) || sh.compression != 0)
        return TERN_ERR_ILLEGAL;
    hs->suite = tern_suite_find(sh.suite);
    memcpy(hs->server_random, sh.random, TERN_RANDOM_LEN);
    /* RFC 5246 §7.4.1.4: a server sends only extensions the client offered. */
    uint64_t asked = TERN_EXT_BIT(TERN_EXTI_SERVER_NAME) | TERN_EXT_BIT(TERN_EXTI_EC_POINT_FORMATS) |
                     TERN_EXT_BIT(TERN_EXTI_EXTENDED_MASTER_SECRET) |
                     TERN_EXT_BIT(TERN_EXTI_RENEGOTIATION_INFO);
    if ((sh.ext.seen & ~asked) != 0 || sh.ext.n_unknown != 0)
        return TERN_ERR_UNSUPPORTED;
    hs->ems = tern_exts_has(&sh.ext, TERN_EXTI_EXTENDED_MASTER_SECRET);
    if (!hs->ems && cfg->require_ems)
        return TERN_ERR_EMS_REQUIRED;
    /* RFC 5746 §3.4: the server's renegotiation_info must be there and empty. */
    if (!tern_exts_has(&sh.ext, TERN_EXTI_RENEGOTIATION_INFO) || sh.ext.reneg_len != 0)
        return TERN_ERR_HANDSHAKE;
    err = tern_hs12_transcript_hash_start(hs);
    if (err != TERN_OK)
        return err;
    hs->state = C12_EXPECT_CERTIFICATE;
    return TERN_OK;
}

/*  <==  Certificate  */
static tern_err c12_on_certificate(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_certificate cert;
    tern_err err = tern_certificate_parse(body, len, &cert);
    if (err != TERN_OK)
        return err == TERN_ERR_TOO_BIG ? TERN_ERR_CERT_PARSE : err;
    if (cert.count == 0)
        return TERN_ERR_CERT_PARSE; /* a server must send one (RFC 5246 §7.4.2) */
    err = tern_hs12_verify_chain(c, &cert, c->hostname);
    if (err != TERN_OK)
        return err;
    tern_key_type kt = tern_pkey_type(c->hs->peer_key);
    bool rsa = kt == TERN_KEY_RSA;
    if (rsa != (c->hs->suite->auth == TERN_AUTH_RSA))
        return TERN_ERR_CERT_KEY;
    c->hs->state = C12_EXPECT_SERVER_KX;
    return TERN_OK;
}

/*  <==  ServerKeyExchange  */
static tern_err c12_on_server_kx(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    tern_server_kx kx;
    tern_err err = tern_server_kx_parse(body, len, &kx);
    if (err != TERN_OK)
        return err;
    if (!offered(cfg->groups, cfg->n_groups, kx.group) ||
        kx.point_len != tern_kex_share_len((tern_group)kx.group))
        return TERN_ERR_ILLEGAL;
    if (!offered(cfg->sigschemes, cfg->n_sigschemes, kx.sig.scheme))
        return TERN_ERR_ILLEGAL;
    tern_wr w = tern_wr_init(hs->scratch, hs->scratch_cap);
    err = tern_server_kx_signed_data(&w, hs->client_random, hs->server_random, &kx);
    if (err != TERN_OK)
        return err;
    err = tern_verify(hs->peer_key, (tern_sigscheme)kx.sig.scheme, hs->scratch, w.len, kx.sig.sig,
                      kx.sig.sig_len);
    if (err != TERN_OK)
        return err;
    hs->group = kx.group;
    memcpy(hs->peer_point, kx.point, kx.point_len);
    hs->peer_point_len = kx.point_len;
    hs->state = C12_EXPECT_CERT_REQUEST_OR_DONE;
    return TERN_OK;
}

/*  <==  CertificateRequest  */
static tern_err c12_on_cert_request(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    tern_cert_request cr;
    tern_err err = tern_cert_request_parse(body, len, &cr);
    if (err != TERN_OK)
        return err;
    hs->cert_requested = true;
    for (size_t i = 0; i < cr.n_cert_types; i++) {
        hs->cr_ecdsa |= cr.cert_types[i] == TERN_CERT_TYPE_ECDSA_SIGN;
        hs->cr_rsa |= cr.cert_types[i] == TERN_CERT_TYPE_RSA_SIGN;
    }
    memcpy(hs->cr_schemes, cr.sigschemes, cr.n_sigschemes * sizeof cr.sigschemes[0]);
    hs->n_cr_schemes = cr.n_sigschemes;
    hs->state = C12_EXPECT_SERVER_HELLO_DONE;
    return TERN_OK;
}

/* The scheme our certificate can answer a CertificateRequest with, or 0 when we
 * have no certificate it accepts (we then send an empty Certificate). */
static uint16_t c12_client_scheme(const tern_conn *c)
{
    const tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    if (cfg->key == NULL)
        return 0;
    tern_key_type kt = tern_pkey_type(cfg->key);
    if (kt == TERN_KEY_RSA ? !hs->cr_rsa : !hs->cr_ecdsa)
        return 0;
    return tern_hs12_pick_scheme(cfg->sigschemes, cfg->n_sigschemes, hs->cr_schemes,
                                 hs->n_cr_schemes, cfg->key);
}

/*  <==  ServerHelloDone
 *  ==>  Certificate*  ClientKeyExchange  CertificateVerify*  [ChangeCipherSpec]  Finished */
static tern_err c12_on_server_hello_done(tern_conn *c, const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    const tern_config *cfg = c->cfg;
    tern_err err = tern_server_hello_done_parse(body, len);
    if (err != TERN_OK)
        return err;
    tern_flight_begin(c->flight);

    uint16_t scheme = 0;
    if (hs->cert_requested) {
        scheme = c12_client_scheme(c);
        err = tern_hs12_emit_certificate(c, scheme == 0);
        if (err != TERN_OK)
            return err;
    }

    /* ECDHE (RFC 8422 §5.7): our share, then the premaster secret. */
    uint8_t share[TERN_KEX_MAX_SHARE_LEN], pms[TERN_KEX_MAX_SECRET_LEN];
    size_t share_len, pms_len;
    err = tern_kex_new((tern_group)hs->group, tern_config_rng(cfg), &hs->kex);
    if (err == TERN_OK)
        err = tern_kex_public(hs->kex, share, sizeof share, &share_len);
    if (err == TERN_OK)
        err = tern_kex_derive(hs->kex, hs->peer_point, hs->peer_point_len, pms, sizeof pms,
                              &pms_len);
    if (err != TERN_OK)
        return err;
    tern_client_kx ckx = {share, share_len};
    tern_wr w = tern_wr_init(hs->scratch, hs->scratch_cap);
    err = tern_client_kx_build(&w, &ckx);
    if (err == TERN_OK)
        err = tern_conn_emit(c, 0, TERN_HS_CLIENT_KEY_EXCHANGE, hs->scratch, w.len);
    /* RFC 7627 §4: the session hash ends with ClientKeyExchange. */
    if (err == TERN_OK)
        err = tern_hs12_derive_keys(c, pms, pms_len);
    tern_wipe(pms, sizeof pms);
    if (err != TERN_OK)
        return err;

    if (scheme != 0) {
        /* RFC 5246 §7.4.8: the signature covers every handshake message so far. */
        uint8_t sig[TERN_SIG_MAX_LEN];
        size_t siglen;
        err = tern_sign(cfg->key, (tern_sigscheme)scheme, hs->tbuf, hs->tlen, sig, sizeof sig,
                        &siglen);
        if (err != TERN_OK)
            return err;
        tern_cert_verify cv = {scheme, sig, siglen};
        w = tern_wr_init(hs->scratch, hs->scratch_cap);
        err = tern_cert_verify_build(&w, &cv);
        if (err == TERN_OK)
            err = tern_conn_emit(c, 0, TERN_HS_CERTIFICATE_VERIFY, hs->scratch, w.len);
        if (err != TERN_OK)
            return err;
    }

    err = tern_hs12_emit_finished(c);
    if (err != TERN_OK)
        return err;
    hs->state = C12_EXPECT_FINISHED;
    return TERN_OK;
}

/*  <==  [ChangeCipherSpec]  Finished  */
static tern_err c12_on_finished(tern_conn *c, uint64_t now, uint64_t epoch, const uint8_t *body,
                                size_t len)
{
    tern_err err = tern_hs12_check_finished(c, epoch, body, len);
    if (err != TERN_OK)
        return err;
    tern_hs12_done(c, now);
    return TERN_OK;
}

/* see tls12.h */
tern_err tern_c12_handle(tern_conn *c, uint64_t now, uint8_t type, uint16_t seq, uint64_t epoch,
                         const uint8_t *body, size_t len)
{
    tern_hs12 *hs = c->hs;
    tern_err err;
    /* HelloVerifyRequest is not part of the transcript; Finished is added after it
     * is checked (its verify_data covers what came before it). */
    if (type != TERN_HS_HELLO_VERIFY_REQUEST && type != TERN_HS_FINISHED) {
        err = tern_hs12_transcript_add(hs, type, seq, body, len);
        if (err != TERN_OK)
            return err;
    }
    if (epoch != 0 && type != TERN_HS_FINISHED)
        return TERN_ERR_UNEXPECTED;
    switch (hs->state) {
    case C12_EXPECT_SERVER_HELLO:
        if (type == TERN_HS_HELLO_VERIFY_REQUEST)
            return c12_on_hello_verify(c, body, len);
        return type == TERN_HS_SERVER_HELLO ? c12_on_server_hello(c, body, len)
                                            : TERN_ERR_UNEXPECTED;
    case C12_EXPECT_CERTIFICATE:
        return type == TERN_HS_CERTIFICATE ? c12_on_certificate(c, body, len) : TERN_ERR_UNEXPECTED;
    case C12_EXPECT_SERVER_KX:
        return type == TERN_HS_SERVER_KEY_EXCHANGE ? c12_on_server_kx(c, body, len)
                                                   : TERN_ERR_UNEXPECTED;
    case C12_EXPECT_CERT_REQUEST_OR_DONE:
        if (type == TERN_HS_CERTIFICATE_REQUEST)
            return c12_on_cert_request(c, body, len);
        /* fall through */
    case C12_EXPECT_SERVER_HELLO_DONE:
        return type == TERN_HS_SERVER_HELLO_DONE ? c12_on_server_hello_done(c, body, len)
                                                 : TERN_ERR_UNEXPECTED;
    case C12_EXPECT_FINISHED:
        return type == TERN_HS_FINISHED ? c12_on_finished(c, now, epoch, body, len)
                                        : TERN_ERR_UNEXPECTED;
    default:
        return TERN_ERR_UNEXPECTED;
    }
}
