/* ring.h -- bounded MPMC ring of pointers (Vyukov's sequence-numbered cells).
 *
 * Used as: the per-node injector lanes (many loop threads push, many workers pop),
 * the completion queue of a channel (many workers push, one loop thread pops) and
 * the task-record free list of the pool (loop threads push and pop).
 *
 * Guarantees: push and pop never allocate, and each pushed pointer is popped exactly once.
 * push fails only when the ring really holds `capacity` items, pop returns NULL only when it
 * really is empty: where a cell is claimed but not yet released (a consumer between its claim
 * and its release, or a producer between its claim and its publish), the other side waits
 * for that thread's next two stores instead of reporting a spurious full or empty. So they
 * are lock-free except in that window. The publishing store of push and the first cell load of pop are
 * sequentially consistent, so a producer that pushes and then reads a flag, and a
 * consumer that writes that flag and then tries to pop, cannot both miss each other
 * (the store-buffering pattern used by the wake-up protocols in completion.c and
 * worker.c).
 */
#ifndef AIOULTRA_RING_H
#define AIOULTRA_RING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct aio_ring_cell {
    _Atomic size_t seq; /* pos: free for the push of pos; pos+1: holds the item of pos */
    void *item;         /* guarded by seq: written before its release, read after its acquire */
} aio_ring_cell;

typedef struct aio_ring {
    size_t mask;
    aio_ring_cell *cells;
    AIO_ALIGNED _Atomic size_t head; /* next position to push (producers) */
    AIO_ALIGNED _Atomic size_t tail; /* next position to pop (consumers) */
    char pad_[AIO_CACHELINE - sizeof(size_t)];
} aio_ring;

/* capacity must be a power of two >= 2. Returns 0, or -1 when out of memory. */
int aio_ring_init(aio_ring *r, size_t capacity);
void aio_ring_destroy(aio_ring *r);
/* false when the ring is full. */
bool aio_ring_push(aio_ring *r, void *item);
/* NULL when the ring is empty (items are never NULL). */
void *aio_ring_pop(aio_ring *r);
/* true when an item is ready at the consumer end (seq_cst read, see above). */
bool aio_ring_ready(aio_ring *r);
/* Approximate number of items (exact when no push or pop is in progress). */
size_t aio_ring_size(aio_ring *r);

#endif
