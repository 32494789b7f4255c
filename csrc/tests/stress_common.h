/* stress_common.h -- helpers shared by the C stress programs (header-only, static). */
#ifndef AIOULTRA_STRESS_COMMON_H
#define AIOULTRA_STRESS_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"

static int g_failures = 0;

/* Count a failure with a message, and go on (the summary line reports the total). */
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            g_failures++;                                                   \
        }                                                                   \
    } while (0)

/* Zeroed memory aligned to a cache line: for test structs that embed AIO_ALIGNED members (a ring,
 * a deque, a channel); calloc only guarantees 16 bytes, and clang's UBSan reports a member access
 * within a misaligned object. NULL when out of memory; free() releases it. */
static inline void *zalloc_aligned(size_t size) {
    size_t rounded = (size + AIO_CACHELINE - 1) / AIO_CACHELINE * AIO_CACHELINE;
    void *p = aligned_alloc(AIO_CACHELINE, rounded ? rounded : AIO_CACHELINE);
    if (p != NULL) memset(p, 0, rounded ? rounded : AIO_CACHELINE);
    return p;
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A non-negative decimal count from argv, or exit(2) naming the program and argument. */
static inline long parse_count(const char *prog, const char *s, const char *what) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0) {
        fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
        exit(2);
    }
    return v;
}

/* Exactly-once check over per-item take counters, read after every thread has joined. */
typedef struct tally {
    uint64_t lost, dup;               /* items taken 0 times; extra takes of items taken > 1 times */
    uint64_t first_lost, first_dup;   /* first such item, UINT64_MAX when none */
} tally;

static inline tally tally_counts(_Atomic uint32_t *cnt, uint64_t n) {
    tally t = {0, 0, UINT64_MAX, UINT64_MAX};
    for (uint64_t i = 0; i < n; i++) {
        uint32_t c = ld_relaxed(&cnt[i]); /* relaxed: all threads joined */
        if (c == 0) {
            t.lost++;
            if (t.first_lost == UINT64_MAX) t.first_lost = i;
        } else if (c > 1) {
            t.dup += c - 1;
            if (t.first_dup == UINT64_MAX) t.first_dup = i;
        }
    }
    return t;
}

#endif
