/* basic.c -- the trivial built-in kernels: noop (does nothing) and spin (busy-waits for a
 * given number of nanoseconds on CLOCK_MONOTONIC; useful for scheduling benchmarks/tests).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime under strict -std=c11 */
#endif

#include "kernels.h"

#include <time.h>

int64_t aio_kernel_noop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)in;
    (void)in_len;
    (void)out;
    (void)out_cap;
    (void)ctx;
    return 0;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

int64_t aio_kernel_spin(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)out;
    (void)out_cap;
    (void)ctx;
    if (in == NULL || in_len != 8)
        return AIO_KERR_INPUT;

    uint64_t ns = 0;
    for (int i = 0; i < 8; i++)
        ns |= (uint64_t)in[i] << (8 * i);

    const uint64_t start = monotonic_ns();
    while (monotonic_ns() - start < ns) {
        /* busy-wait */
    }
    return 0;
}
