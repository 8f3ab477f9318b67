/*
 * tern.h - tern, a DTLS 1.2 and 1.3 library: the public core API.
 *
 * The core is sans-IO: it never touches a socket or reads a clock. Callers hand in
 * datagrams and the current time and take out datagrams and the next deadline.
 * This header grows with the library; today it holds the error list, the alert
 * codes and the randomness hook shared by every layer.
 *
 * Conventions, everywhere in tern:
 *   - functions that can fail return tern_err: TERN_OK (0) or a negative code;
 *   - inputs are (data, len), outputs are (out, cap, &outlen);
 *   - time is a uint64_t count of milliseconds from any fixed origin the caller
 *     chooses, and "no deadline" is UINT64_MAX.
 */
#ifndef TERN_H
#define TERN_H

#include <stddef.h>
#include <stdint.h>

#include "tern_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_VERSION_MAJOR 0
#define TERN_VERSION_MINOR 1
#define TERN_VERSION_PATCH 0
#define TERN_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define TERN_MUST_USE __attribute__((warn_unused_result))
#define TERN_API __attribute__((visibility("default")))
#else
#define TERN_MUST_USE
#define TERN_API
#endif

/* Error codes: 0 for success, negative for failure. See tern_errors.h. */
typedef enum tern_err {
    TERN_OK = 0,
#define TERN_X_ENUM(name, value, text, alert) name = (value),
    TERN_ERROR_LIST(TERN_X_ENUM)
#undef TERN_X_ENUM
} tern_err;

/* TLS alert descriptions (RFC 5246 §7.2, RFC 8446 §6). TERN_ALERT_NONE (-1) means
 * "no alert": the error is local and nothing is sent to the peer. */
typedef enum tern_alert {
    TERN_ALERT_NONE = -1,
    TERN_ALERT_CLOSE_NOTIFY = 0,
    TERN_ALERT_UNEXPECTED_MESSAGE = 10,
    TERN_ALERT_BAD_RECORD_MAC = 20,
    TERN_ALERT_RECORD_OVERFLOW = 22,
    TERN_ALERT_HANDSHAKE_FAILURE = 40,
    TERN_ALERT_BAD_CERTIFICATE = 42,
    TERN_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    TERN_ALERT_CERTIFICATE_REVOKED = 44,
    TERN_ALERT_CERTIFICATE_EXPIRED = 45,
    TERN_ALERT_CERTIFICATE_UNKNOWN = 46,
    TERN_ALERT_ILLEGAL_PARAMETER = 47,
    TERN_ALERT_UNKNOWN_CA = 48,
    TERN_ALERT_ACCESS_DENIED = 49,
    TERN_ALERT_DECODE_ERROR = 50,
    TERN_ALERT_DECRYPT_ERROR = 51,
    TERN_ALERT_PROTOCOL_VERSION = 70,
    TERN_ALERT_INSUFFICIENT_SECURITY = 71,
    TERN_ALERT_INTERNAL_ERROR = 80,
    TERN_ALERT_INAPPROPRIATE_FALLBACK = 86,
    TERN_ALERT_USER_CANCELED = 90,
    TERN_ALERT_NO_RENEGOTIATION = 100,
    TERN_ALERT_MISSING_EXTENSION = 109,
    TERN_ALERT_UNSUPPORTED_EXTENSION = 110,
    TERN_ALERT_UNRECOGNIZED_NAME = 112,
    TERN_ALERT_UNKNOWN_PSK_IDENTITY = 115,
    TERN_ALERT_CERTIFICATE_REQUIRED = 116,
    TERN_ALERT_NO_APPLICATION_PROTOCOL = 120,
} tern_alert;

/* The sentence describing |err| (never NULL; "unknown error" for codes not in the
 * list). The string is static: do not free it. */
TERN_API const char *tern_strerror(int err);

/* The symbolic name of |err|, such as "TERN_ERR_DECODE" (static; never NULL). */
TERN_API const char *tern_err_name(int err);

/* The alert a fatal error |err| sends to the peer, or TERN_ALERT_NONE. */
TERN_API tern_alert tern_err_alert(int err);

/* The name of alert |alert| as the RFCs spell it ("decode_error"), static. */
TERN_API const char *tern_alert_name(int alert);

/*
 * A source of random bytes. fill() writes |len| random bytes to |out| and returns
 * 0, or returns non-zero on failure. tern never calls it from two threads at once
 * for the same tern_rng. Where tern takes a `const tern_rng *`, NULL means the
 * crypto backend's CSPRNG, which is what production code should use; tests install
 * a seeded deterministic source to make runs reproducible.
 */
typedef struct tern_rng {
    int (*fill)(void *ctx, uint8_t *out, size_t len);
    void *ctx;
} tern_rng;

#ifdef __cplusplus
}
#endif

#endif /* TERN_H */
