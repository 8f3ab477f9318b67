/*
 * vec_check.h - checks inside a vec_foreach callback.
 *
 * A callback cannot use CHECK (which returns from a TEST); these report the
 * failure against the vector file and line instead, mark the running case
 * failed, and return 0 so the remaining vectors still run and report too.
 *
 *   static int one(const vec_case *c, void *ctx)
 *   {
 *       uint8_t msg[256];
 *       long len = vec_hex_into(c, "msg", msg, sizeof msg);
 *       VCHECK(c, len >= 0);
 *       VCHECK(c, tern_hash_once(alg, msg, (size_t)len, out) == TERN_OK);
 *       VCHECK_MEM(c, out, want, wantlen);
 *       return 0;
 *   }
 */
#ifndef TERN_TEST_VEC_CHECK_H
#define TERN_TEST_VEC_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "test.h"
#include "vec.h"

/* Decode hex field |key| into |buf| (|cap| bytes). Returns the length, or -1 when
 * the field is missing, not hex or longer than |cap| (and prints why). Nothing to
 * free, so a callback may return early. */
static inline long vec_hex_into(const vec_case *c, const char *key, uint8_t *buf, size_t cap)
{
    uint8_t *tmp;
    long n = vec_hex(c, key, &tmp);
    if (n < 0)
        return -1;
    if ((size_t)n > cap) {
        test_fail(c->file, c->line, "field '%s' is %ld bytes, more than %zu", key, n, cap);
        free(tmp);
        return -1;
    }
    memcpy(buf, tmp, (size_t)n);
    free(tmp);
    return n;
}

/* The hash named by text field |key| ("SHA256" or "SHA384") into *alg; false (and
 * a failure reported) for anything else. */
static inline bool vec_hash_alg(const vec_case *c, const char *key, tern_hash_alg *alg)
{
    const char *s = vec_str(c, key);
    if (s != NULL && strcmp(s, "SHA256") == 0) {
        *alg = TERN_HASH_SHA256;
        return true;
    }
    if (s != NULL && strcmp(s, "SHA384") == 0) {
        *alg = TERN_HASH_SHA384;
        return true;
    }
    test_fail(c->file, c->line, "field '%s' is not SHA256 or SHA384", key);
    return false;
}

#define VCHECK(c, cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail((c)->file, (c)->line, "vector: %s (checked at %s:%d)", #cond, __FILE__,      \
                      __LINE__);                                                                   \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)

#define VCHECK_MEM(c, a, b, n)                                                                     \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            test_fail((c)->file, (c)->line, "vector: %s differs from %s (%zu bytes, %s:%d)", #a,   \
                      #b, (size_t)(n), __FILE__, __LINE__);                                        \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)

#endif
