/*
 * test_main.c - runs the registered TEST cases; see test.h.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "tern/tern.h"
#include "test.h"

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static size_t ntests;
static bool current_failed;

void test_register(const char *name, test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = true;
}

bool test_failed(void) { return current_failed; }

const char *test_vector_dir(void)
{
    const char *env = getenv("TERN_VECTOR_DIR");
    return env ? env : TERN_VECTOR_DIR;
}

const char *test_source_dir(void) { return TERN_SOURCE_DIR; }

static bool selected(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    size_t run = 0, failed = 0;
    for (size_t i = 0; i < ntests; i++) {
        if (!selected(argc, argv, tests[i].name))
            continue;
        current_failed = false;
        tests[i].fn();
        run++;
        if (current_failed)
            failed++;
        printf("%s %s\n", current_failed ? "FAIL" : "ok  ", tests[i].name);
        fflush(stdout);
    }
    printf("%zu passed, %zu failed\n", run - failed, failed);
    if (run == 0) {
        fprintf(stderr, "no test selected\n");
        return 1;
    }
    return failed ? 1 : 0;
}
