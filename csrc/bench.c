/* bench.c -- C-level microbenchmarks, timed inside C (no Python call per operation).
 * Each returns nanoseconds per operation (one op = the pair named), or a negative AIO_E* code.
 * Single-threaded and uncontended: they measure the cost of the operations themselves. */
#include <stdlib.h>

#include "aioultra.h"
#include "completion.h"
#include "deque.h"
#include "engine.h"
#include "injector.h"
#include "pool.h"

static double per_op(int64_t t0, int64_t n) { return (double)(aio_now_ns() - t0) / (double)n; }

double aio_bench_deque_push_pop(int64_t n) {
    aio_deque d;
    if (n <= 0 || aio_deque_init(&d, 1024) != 0) return AIO_EINVAL;
    uintptr_t sink = 0;
    int64_t t0 = aio_now_ns();
    for (int64_t i = 0; i < n; i++) {
        aio_deque_push(&d, (void *)(uintptr_t)(i + 1));
        sink += (uintptr_t)aio_deque_pop(&d);
    }
    double r = per_op(t0, n);
    aio_deque_destroy(&d);
    return sink == 0 ? AIO_EINVAL : r;
}

double aio_bench_deque_steal(int64_t n) {
    aio_deque d;
    if (n <= 0 || aio_deque_init(&d, 1024) != 0) return AIO_EINVAL;
    for (int64_t i = 0; i < n; i++) aio_deque_push(&d, (void *)(uintptr_t)(i + 1));
    int64_t got = 0;
    int64_t t0 = aio_now_ns();
    void *item;
    while (aio_deque_steal(&d, &item) == AIO_STEAL_SUCCESS) got++;
    double r = per_op(t0, n);
    aio_deque_destroy(&d);
    return got == n ? r : AIO_EINVAL;
}

double aio_bench_injector_push_pop(int64_t n) {
    aio_injector q;
    aio_task t = {0};
    uint32_t streak = 0;
    if (n <= 0 || aio_injector_init(&q, 1024) != AIO_OK) return AIO_EINVAL;
    int64_t got = 0;
    int64_t t0 = aio_now_ns();
    for (int64_t i = 0; i < n; i++) {
        aio_injector_push(&q, &t);
        got += aio_injector_pop(&q, &streak) == &t;
    }
    double r = per_op(t0, n);
    aio_injector_destroy(&q);
    return got == n ? r : AIO_EINVAL;
}

double aio_bench_pool_alloc_free(int64_t n) {
    aio_pool p;
    if (n <= 0 || aio_pool_init(&p, 1024) != AIO_OK) return AIO_EINVAL;
    int64_t t0 = aio_now_ns();
    for (int64_t i = 0; i < n; i++) aio_pool_free(&p, aio_pool_alloc(&p));
    double r = per_op(t0, n);
    aio_pool_destroy(&p);
    return r;
}

/* One op = a worker-side complete (push + coalesced wake check) and the loop-side drain of it,
 * in batches of 256 like the bridge; the channel stays disarmed, as while the loop drains. */
double aio_bench_completion_push_drain(int64_t n) {
    aio_pool p;
    aio_channel ch;
    aio_completion out[256];
    if (n <= 0 || aio_pool_init(&p, 1024) != AIO_OK) return AIO_EINVAL;
    if (aio_channel_init(&ch, NULL, &p, 1024) != AIO_OK) {
        aio_pool_destroy(&p);
        return AIO_ENOMEM;
    }
    st_relaxed(&ch.armed, 0); /* relaxed: single-threaded benchmark */
    int64_t drained = 0;
    int64_t t0 = aio_now_ns();
    for (int64_t i = 0; i < n; i += 256) {
        int64_t batch = n - i < 256 ? n - i : 256;
        for (int64_t k = 0; k < batch; k++) {
            aio_task *t = aio_pool_alloc(&p);
            t->id = (uint64_t)(i + k);
            t->out = NULL;
            t->n_items = 0;
            t->rc = 0;
            t->status = AIO_STATUS_OK;
            aio_channel_complete(&ch, t);
        }
        drained += aio_channel_drain(&ch, out, 256);
    }
    double r = per_op(t0, n);
    aio_channel_fini(&ch);
    aio_pool_destroy(&p);
    return drained == n ? r : AIO_EINVAL;
}
