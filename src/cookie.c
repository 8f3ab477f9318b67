/*
 * cookie.c - see cookie.h.
 *
 * The MAC input is framed so that no two different (ts, address, hello) triples
 * give the same byte string: the address is length-prefixed and the hello parts
 * are the ClientHello's own length-prefixed fields.
 */
#include "cookie.h"

#include <string.h>

#include "wire.h"

#define COOKIE_LABEL "tern cookie"
#define MAX_PARTS 12

/* K_period = HMAC(secret, "tern cookie" || period), period as 8 bytes. */
static tern_err period_key(const tern_cookie_cfg *cfg, uint64_t ts, uint8_t key[32])
{
    uint8_t period[8];
    tern_store64(period, ts / cfg->rotation_ms);
    tern_iov parts[] = {{(const uint8_t *)COOKIE_LABEL, sizeof COOKIE_LABEL - 1},
                        {period, sizeof period}};
    return tern_hmac(TERN_HASH_SHA256, cfg->secret, sizeof cfg->secret, parts, 2, key);
}

static tern_err cookie_mac(const tern_cookie_cfg *cfg, const uint8_t ts[TERN_COOKIE_TS_LEN],
                           const uint8_t *addr, size_t addrlen, const tern_iov *hello,
                           size_t nparts, uint8_t mac[32])
{
    if (nparts > MAX_PARTS || addrlen > UINT16_MAX)
        return TERN_ERR_ARG;
    uint8_t key[32], alen[2];
    tern_err err = period_key(cfg, tern_load48(ts), key);
    if (err != TERN_OK)
        return err;
    tern_store16(alen, (uint16_t)addrlen);
    tern_iov parts[3 + MAX_PARTS] = {
        {ts, TERN_COOKIE_TS_LEN}, {alen, sizeof alen}, {addr, addrlen}};
    for (size_t i = 0; i < nparts; i++)
        parts[3 + i] = hello[i];
    err = tern_hmac(TERN_HASH_SHA256, key, sizeof key, parts, 3 + nparts, mac);
    tern_wipe(key, sizeof key);
    return err;
}

/* see cookie.h */
tern_err tern_cookie_mint(const tern_cookie_cfg *cfg, uint64_t now, const uint8_t *addr,
                          size_t addrlen, const tern_iov *hello, size_t nparts, uint8_t *out)
{
    if (cfg->rotation_ms == 0 || now >> 48)
        return TERN_ERR_ARG;
    uint8_t mac[32];
    tern_store48(out, now);
    tern_err err = cookie_mac(cfg, out, addr, addrlen, hello, nparts, mac);
    if (err != TERN_OK)
        return err;
    memcpy(out + TERN_COOKIE_TS_LEN, mac, TERN_COOKIE_MAC_LEN);
    return TERN_OK;
}

/* see cookie.h */
tern_err tern_cookie_verify(const tern_cookie_cfg *cfg, uint64_t now, const uint8_t *addr,
                            size_t addrlen, const tern_iov *hello, size_t nparts,
                            const uint8_t *cookie, size_t len)
{
    if (len != TERN_COOKIE_LEN)
        return TERN_ERR_BAD_COOKIE;
    if (cfg->rotation_ms == 0)
        return TERN_ERR_ARG;
    uint8_t mac[32];
    tern_err err = cookie_mac(cfg, cookie, addr, addrlen, hello, nparts, mac);
    if (err != TERN_OK)
        return err;
    if (!tern_ct_equal(mac, cookie + TERN_COOKIE_TS_LEN, TERN_COOKIE_MAC_LEN))
        return TERN_ERR_BAD_COOKIE;
    /* Only an authentic timestamp is worth judging. */
    uint64_t ts = tern_load48(cookie);
    if (ts > now || now - ts > cfg->lifetime_ms)
        return TERN_ERR_COOKIE_EXPIRED;
    return TERN_OK;
}
