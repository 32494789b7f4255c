/* injector.h -- a node's entry queue: two bounded MPMC lanes (high, normal).
 *
 * Loop threads push submitted tasks; the node's workers (and remote thieves) pop.
 * Priority rule: a popper takes from the high lane first, except that after
 * AIO_HIGH_STREAK consecutive high-lane tasks it tries the normal lane first once, so a
 * flood of high-priority work cannot starve normal work (normal work gets at least one
 * slot in every AIO_HIGH_STREAK + 1 pops while both lanes are busy).
 */
#ifndef AIOULTRA_INJECTOR_H
#define AIOULTRA_INJECTOR_H
#include <stdbool.h>
#include <stdint.h>

#include "pool.h"
#include "ring.h"

#define AIO_HIGH_STREAK 16

typedef struct aio_injector {
    aio_ring high;
    aio_ring normal;
} aio_injector;

int aio_injector_init(aio_injector *q, uint32_t capacity);
void aio_injector_destroy(aio_injector *q);
/* false when the lane is full (cannot happen when capacity >= the pool's). */
bool aio_injector_push(aio_injector *q, aio_task *t);
/* *streak: the caller's count of consecutive high-lane pops (caller-owned state). */
aio_task *aio_injector_pop(aio_injector *q, uint32_t *streak);
/* true when either lane has a task ready (seq_cst read, see ring.h). */
bool aio_injector_ready(aio_injector *q);
size_t aio_injector_size(aio_injector *q);

#endif
