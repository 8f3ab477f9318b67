/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry point and CHECK,
 * which aborts (a crash the fuzzer reports with its input) when an invariant fails.
 */
#ifndef TERN_FUZZ_H
#define TERN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                         \
    do {                                                                                 \
        if (!(c))                                                                        \
            abort();                                                                     \
    } while (0)

#endif
