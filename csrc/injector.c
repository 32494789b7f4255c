/* injector.c -- per-node priority lanes; see injector.h for the starvation rule. */
#include "injector.h"

int aio_injector_init(aio_injector *q, uint32_t capacity) {
    if (aio_ring_init(&q->high, capacity) != 0) return AIO_ENOMEM;
    if (aio_ring_init(&q->normal, capacity) != 0) {
        aio_ring_destroy(&q->high);
        return AIO_ENOMEM;
    }
    return AIO_OK;
}

void aio_injector_destroy(aio_injector *q) {
    aio_ring_destroy(&q->high);
    aio_ring_destroy(&q->normal);
}

bool aio_injector_push(aio_injector *q, aio_task *t) {
    return aio_ring_push(t->high ? &q->high : &q->normal, t);
}

aio_task *aio_injector_pop(aio_injector *q, uint32_t *streak) {
    aio_task *t;
    if (*streak >= AIO_HIGH_STREAK) {
        *streak = 0;
        t = aio_ring_pop(&q->normal);
        if (t != NULL) return t;
    }
    t = aio_ring_pop(&q->high);
    if (t != NULL) {
        (*streak)++;
        return t;
    }
    *streak = 0;
    return aio_ring_pop(&q->normal);
}

bool aio_injector_ready(aio_injector *q) {
    return aio_ring_ready(&q->high) || aio_ring_ready(&q->normal);
}

size_t aio_injector_size(aio_injector *q) {
    return aio_ring_size(&q->high) + aio_ring_size(&q->normal);
}
