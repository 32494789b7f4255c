/* pool.h -- task records and the pool that recycles them (no malloc per task).
 *
 * All records are allocated when the engine is created; the free list is an MPMC ring
 * prefilled with every record. A loop thread takes a record at submit and returns it when
 * it drains the completion, so in-flight tasks can never exceed the pool's capacity:
 * the pool being empty *is* the QueueFull condition.
 *
 * A record's plain fields are handed between threads only through release/acquire edges
 * (injector ring, deque bottom/top, completion ring, free ring); only `cancel_word` is read
 * and written concurrently, as a relaxed atomic.
 */
#ifndef AIOULTRA_POOL_H
#define AIOULTRA_POOL_H
#include <stdint.h>

#include "aioultra.h"
#include "ring.h"

struct aio_task {
    /* written by the submitter */
    uint64_t id;
    aio_kernel_fn fn;          /* NULL: Python job `id` */
    void *ctx;
    const uint8_t *in;
    size_t in_len;
    uint8_t *out;              /* NULL: inline_out */
    size_t out_cap;
    const uint64_t *offsets;   /* batch only: n_items + 1 offsets into in */
    int64_t *rcs;              /* batch only: one result per item */
    uint32_t n_items;          /* 0: single call; > 0: batch */
    uint32_t weight;           /* load units (estimated duration in us, >= 1) */
    int32_t node;              /* node whose injector received it */
    int32_t high;              /* 1: high-priority lane */
    int32_t kind;              /* per-kind counters to count it in (aio_spec.kind) */
    aio_channel *channel;
    int64_t deadline_ns;       /* absolute CLOCK_MONOTONIC time, 0: none */
    int64_t submit_ns;         /* CLOCK_MONOTONIC at submit when the engine records latency, else 0 */
    /* written by the worker that completes it */
    int64_t end_ns;            /* when it finished running, if it ran and latency is recorded, else 0 */
    int64_t rc;
    int32_t status;
    int32_t worker;
    /* id << 1 of the record's current task, written at submit; aio_task_cancel(t, id) sets bit 0
     * with a CAS from exactly id << 1, so a late cancel of an earlier occupant fails (ids are
     * never reused); read by the worker before it starts the task */
    _Atomic uint64_t cancel_word;
    uint8_t inline_out[AIO_INLINE_OUT];
};

typedef struct aio_pool {
    aio_task *records;
    uint32_t capacity;
    aio_ring free;
} aio_pool;

int aio_pool_init(aio_pool *p, uint32_t capacity);
void aio_pool_destroy(aio_pool *p);
/* NULL when every record is in flight. */
aio_task *aio_pool_alloc(aio_pool *p);
void aio_pool_free(aio_pool *p, aio_task *t);
/* Records currently in flight (approximate while others submit or drain). */
int64_t aio_pool_in_use(aio_pool *p);

#endif
