/* pool.c -- task-record pool; see pool.h. */
#include "pool.h"

#include "invariant.h"

#include <stdlib.h>
#include <string.h>

int aio_pool_init(aio_pool *p, uint32_t capacity) {
    p->capacity = capacity;
    p->records = aligned_alloc(AIO_CACHELINE, ((sizeof(aio_task) * capacity + AIO_CACHELINE - 1) /
                                               AIO_CACHELINE) * AIO_CACHELINE);
    if (p->records == NULL) return AIO_ENOMEM;
    memset(p->records, 0, sizeof(aio_task) * capacity);
    if (aio_ring_init(&p->free, capacity) != 0) {
        free(p->records);
        p->records = NULL;
        return AIO_ENOMEM;
    }
    for (uint32_t i = 0; i < capacity; i++)
        AIO_INVARIANT(aio_ring_push(&p->free, &p->records[i]), "the free ring holds every record");
    return AIO_OK;
}

void aio_pool_destroy(aio_pool *p) {
    aio_ring_destroy(&p->free);
    free(p->records);
    p->records = NULL;
}

aio_task *aio_pool_alloc(aio_pool *p) {
    aio_task *t = aio_ring_pop(&p->free);
    return t;
}

void aio_pool_free(aio_pool *p, aio_task *t) {
    AIO_INVARIANT(aio_ring_push(&p->free, t), "the free ring holds every record");
}

int64_t aio_pool_in_use(aio_pool *p) {
    return (int64_t)p->capacity - (int64_t)aio_ring_size(&p->free);
}
