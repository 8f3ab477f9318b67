/*
 * util.c - datagram queues, the CPU clock, PKI paths, callgrind zones and the
 * heap counter of tern-bench (see bench.h).
 *
 * The heap counter: built with BENCH_HEAP_HOOK (tern-bench-heap only, so that the
 * timed and callgrind runs pay nothing for it), this file defines malloc, calloc,
 * realloc, free and the aligned allocators; the executable's definitions take
 * precedence over glibc's for every library in the process (libtern, libssl,
 * libcrypto), and they forward to glibc's __libc_* entry points. The count is the
 * usable size of each live block (malloc_usable_size), so freeing subtracts
 * exactly what allocating added. Under AddressSanitizer, which owns malloc, the
 * count comes from ASan's allocator instead (requested sizes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_ASAN 1
#endif

#if defined(BENCH_ASAN)
/* From <sanitizer/allocator_interface.h>, which not every compiler installs. */
size_t __sanitizer_get_current_allocated_bytes(void);
#elif defined(BENCH_HEAP_HOOK)
#include <malloc.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_CALLGRIND 1
#endif
#endif

/* ------------------------------------------------------------------ queues */

void dq_reset(dq *q)
{
    q->head = q->count = 0;
    q->pushed = q->bytes = q->overflows = 0;
    q->largest = 0;
}

uint8_t *dq_tail(dq *q)
{
    if (q->count == DQ_SLOTS)
        return NULL;
    return q->buf[(q->head + q->count) % DQ_SLOTS];
}

void dq_commit(dq *q, size_t len)
{
    q->len[(q->head + q->count) % DQ_SLOTS] = len;
    q->count++;
    q->pushed++;
    q->bytes += len;
    if (len > q->largest)
        q->largest = len;
}

bool dq_push(dq *q, const uint8_t *data, size_t len)
{
    uint8_t *slot = dq_tail(q);
    if (slot == NULL || len > DQ_SLOT_SIZE) {
        q->overflows++;
        return false;
    }
    memcpy(slot, data, len);
    dq_commit(q, len);
    return true;
}

uint8_t *dq_front(dq *q, size_t *len)
{
    if (q->count == 0)
        return NULL;
    *len = q->len[q->head];
    return q->buf[q->head];
}

void dq_pop(dq *q)
{
    q->head = (q->head + 1) % DQ_SLOTS;
    q->count--;
}

/* ------------------------------------------------------------------ files */

const char *bench_pki(const char *name)
{
    static char paths[8][1024];
    static unsigned next;
    char *p = paths[next++ % 8];
    const char *root = getenv("TERN_SOURCE_DIR");
    snprintf(p, sizeof paths[0], "%s/tests/data/pki/%s", root ? root : TERN_SOURCE_DIR, name);
    return p;
}

bool bench_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return false;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return true;
}

/* ------------------------------------------------------------------ clock */

double bench_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ callgrind zones */

bench_side bench_measured_side = SIDE_NONE;
static unsigned zone_depth;

static bool zone_measured(bench_side side)
{
    return bench_measured_side != SIDE_NONE &&
           (side == bench_measured_side || bench_measured_side == SIDE_BOTH);
}

void bench_zone_enter(bench_side side)
{
    if (zone_measured(side) && zone_depth++ == 0) {
#ifdef BENCH_CALLGRIND
        CALLGRIND_TOGGLE_COLLECT;
#endif
    }
}

void bench_zone_leave(bench_side side)
{
    if (zone_measured(side) && --zone_depth == 0) {
#ifdef BENCH_CALLGRIND
        CALLGRIND_TOGGLE_COLLECT;
#endif
    }
}

/* ------------------------------------------------------------------ heap */

#if defined(BENCH_ASAN)

long long bench_heap_bytes(void) { return (long long)__sanitizer_get_current_allocated_bytes(); }
bool bench_heap_supported(void) { return true; }

#elif defined(BENCH_HEAP_HOOK)

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static long long heap_live;

static void *counted(void *p)
{
    if (p != NULL)
        __atomic_add_fetch(&heap_live, (long long)malloc_usable_size(p), __ATOMIC_RELAXED);
    return p;
}

static void uncount(void *p)
{
    if (p != NULL)
        __atomic_sub_fetch(&heap_live, (long long)malloc_usable_size(p), __ATOMIC_RELAXED);
}

void *malloc(size_t n) { return counted(__libc_malloc(n)); }
void *calloc(size_t n, size_t size) { return counted(__libc_calloc(n, size)); }
void *memalign(size_t align, size_t n) { return counted(__libc_memalign(align, n)); }
void *aligned_alloc(size_t align, size_t n) { return counted(__libc_memalign(align, n)); }

void free(void *p)
{
    uncount(p);
    __libc_free(p);
}

void *realloc(void *p, size_t n)
{
    size_t old = p != NULL ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q != NULL || n == 0) {
        __atomic_sub_fetch(&heap_live, (long long)old, __ATOMIC_RELAXED);
        counted(q);
    }
    return q;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = counted(p);
    return 0;
}

long long bench_heap_bytes(void) { return __atomic_load_n(&heap_live, __ATOMIC_RELAXED); }
bool bench_heap_supported(void) { return true; }

#else

long long bench_heap_bytes(void) { return 0; }
bool bench_heap_supported(void) { return false; }

#endif
