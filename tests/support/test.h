/*
 * test.h - the tiny test harness every tests/unit/test_*.c uses.
 *
 *   TEST(replay_edge) { CHECK(...); CHECK_OK(tern_...); }
 *
 * Each TEST registers itself; test_main.c runs them all (or those named on the
 * command line), prints one line per case and exits non-zero if any check failed.
 * A failed CHECK reports file:line and the expression, and ends that case.
 */
#ifndef TERN_TEST_H
#define TERN_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool test_failed(void); /* has the running case failed? */

/* The directory of tests/vectors (set by CMake). */
const char *test_vector_dir(void);
/* The source root of the project (set by CMake). */
const char *test_source_dir(void);

#define TEST(name)                                                                       \
    static void name(void);                                                              \
    __attribute__((constructor)) static void test_reg_##name(void) { test_register(#name, name); } \
    static void name(void)

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                           \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define CHECK_INT(a, op, b)                                                              \
    do {                                                                                 \
        long long ta_ = (long long)(a), tb_ = (long long)(b);                            \
        if (!(ta_ op tb_)) {                                                             \
            test_fail(__FILE__, __LINE__, "%s %s %s (%lld vs %lld)", #a, #op, #b, ta_, tb_); \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)

/* An expression returning tern_err must give TERN_OK. */
#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        int te_ = (int)(expr);                                                           \
        if (te_ != 0) {                                                                  \
            test_fail(__FILE__, __LINE__, "%s -> %d (%s)", #expr, te_, tern_strerror(te_)); \
            return;                                                                      \
        }                                                                                \
    } while (0)

/* An expression returning tern_err must give exactly |code|. */
#define CHECK_ERR(expr, code)                                                            \
    do {                                                                                 \
        int te_ = (int)(expr);                                                           \
        if (te_ != (int)(code)) {                                                        \
            test_fail(__FILE__, __LINE__, "%s -> %d (%s), expected %s", #expr, te_,     \
                      tern_strerror(te_), #code);                                        \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define CHECK_MEM(a, b, n)                                                               \
    do {                                                                                 \
        if (memcmp((a), (b), (n)) != 0) {                                                \
            test_fail(__FILE__, __LINE__, "memory differs: %s vs %s (%zu bytes)", #a, #b, \
                      (size_t)(n));                                                      \
            return;                                                                      \
        }                                                                                \
    } while (0)

#endif
