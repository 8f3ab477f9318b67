/*
 * cookie.h - stateless cookies for the server's front door (RFC 6347 §4.2.1).
 *
 * A cookie proves that a client can receive datagrams at the address it claims,
 * without the server keeping anything per client. tern's cookie is
 *
 *     ts (6 bytes, ms) || HMAC-SHA256(K_period, ts || address || hello)[0..15]
 *
 * where |hello| is the ClientHello with its cookie field left out (the parts
 * tern_client_hello_bind() returns), and K_period = HMAC-SHA256(secret,
 * "tern cookie" || period) with period = ts / rotation. The server's long-term
 * secret never keys a MAC directly, and the key in use changes every |rotation|
 * ms, so a period key that leaks stops being useful once its cookies expire. The
 * time is the caller's clock (the same origin as every other tern time), so the
 * check is deterministic in tests.
 */
#ifndef TERN_COOKIE_H
#define TERN_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "tern/tern.h"

#define TERN_COOKIE_TS_LEN 6
#define TERN_COOKIE_MAC_LEN 16
#define TERN_COOKIE_LEN (TERN_COOKIE_TS_LEN + TERN_COOKIE_MAC_LEN)
#define TERN_COOKIE_SECRET_LEN 32

typedef struct tern_cookie_cfg {
    uint8_t secret[TERN_COOKIE_SECRET_LEN]; /* long-term secret; wipe when done */
    uint64_t rotation_ms;                   /* key period, > 0 */
    uint64_t lifetime_ms;                   /* a cookie older than this is refused */
} tern_cookie_cfg;

/* Write the cookie for a ClientHello from |addr| (|addrlen| bytes of the peer's
 * address as the caller represents it) whose cookie-less parts are |hello|
 * (|nparts| pieces) at time |now| into |out| (TERN_COOKIE_LEN bytes).
 * Errors: TERN_ERR_ARG (now >= 2^48 or rotation 0), TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_cookie_mint(const tern_cookie_cfg *cfg, uint64_t now,
                                        const uint8_t *addr, size_t addrlen,
                                        const tern_iov *hello, size_t nparts, uint8_t *out);

/* Check |cookie| (|len| bytes) against the same inputs. The MAC is compared in
 * constant time. Errors: TERN_ERR_BAD_COOKIE (wrong length, wrong MAC: another
 * address, another ClientHello, another secret, a flipped byte),
 * TERN_ERR_COOKIE_EXPIRED (older than lifetime_ms, or from the future),
 * TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_cookie_verify(const tern_cookie_cfg *cfg, uint64_t now,
                                          const uint8_t *addr, size_t addrlen,
                                          const tern_iov *hello, size_t nparts,
                                          const uint8_t *cookie, size_t len);

#endif
