/* deque.h -- Chase-Lev work-stealing deque (Le, Pop, Cohen, Zappa Nardelli, PPoPP 2013).
 *
 * Roles: exactly one owner thread calls push and pop (LIFO end, "bottom"); any thread may
 * call steal (FIFO end, "top"). Every pushed item is returned exactly once, by pop or by a
 * successful steal. The buffer grows (doubles) when full; retired buffers stay allocated
 * until destroy because a thief may still read them.
 *
 * Orderings follow the paper's C11 version, with its two seq_cst fences folded into the
 * operations around them (gcc's TSan ignores fences): pop's store of bottom and load of
 * top, and steal's loads of top and bottom, are seq_cst; the CAS on top is seq_cst.
 */
#ifndef AIOULTRA_DEQUE_H
#define AIOULTRA_DEQUE_H
#include <stdbool.h>
#include <stdint.h>

#include "atomics.h"

typedef enum aio_steal_result { AIO_STEAL_EMPTY = 0, AIO_STEAL_SUCCESS = 1, AIO_STEAL_RETRY = 2 } aio_steal_result;

typedef struct aio_deque_buf {
    int64_t size;                    /* power of two */
    struct aio_deque_buf *retired;   /* older buffer, freed at destroy */
    _Atomic(void *) slots[];         /* relaxed atomics: ordered by top/bottom */
} aio_deque_buf;

typedef struct aio_deque {
    AIO_ALIGNED _Atomic int64_t top;    /* thieves' end */
    AIO_ALIGNED _Atomic int64_t bottom; /* owner's end */
    _Atomic(aio_deque_buf *) buf;
    char pad_[AIO_CACHELINE - sizeof(int64_t) - sizeof(void *)];
} aio_deque;

/* initial_size must be a power of two >= 2. Returns 0, or -1 when out of memory. */
int aio_deque_init(aio_deque *d, int64_t initial_size);
void aio_deque_destroy(aio_deque *d);
/* Owner only. Returns 0, or -1 when growing failed (out of memory; item not pushed). */
int aio_deque_push(aio_deque *d, void *item);
/* Owner only. NULL when empty. */
void *aio_deque_pop(aio_deque *d);
/* Any thread. On SUCCESS *item is set. RETRY: lost a race, the deque may still hold items. */
aio_steal_result aio_deque_steal(aio_deque *d, void **item);
/* Any thread; approximate. */
int64_t aio_deque_size(aio_deque *d);
/* Any thread: true when an item may be stolen; seq_cst reads that pair with push's seq_cst
 * publication, for the parking protocol's store-buffering check (see worker.c). */
bool aio_deque_visible(aio_deque *d);

#endif
