/* ring.c -- bounded MPMC ring of pointers; see ring.h for the contract. */
#include "ring.h"

#include <sched.h>
#include <stdlib.h>

int aio_ring_init(aio_ring *r, size_t capacity) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0) return -1;
    r->cells = aligned_alloc(AIO_CACHELINE, ((capacity * sizeof(aio_ring_cell) + AIO_CACHELINE - 1) /
                                             AIO_CACHELINE) * AIO_CACHELINE);
    if (r->cells == NULL) return -1;
    r->mask = capacity - 1;
    for (size_t i = 0; i < capacity; i++) {
        /* relaxed: the ring is published to other threads by thread creation or a release later */
        st_relaxed(&r->cells[i].seq, i);
        r->cells[i].item = NULL;
    }
    st_relaxed(&r->head, 0); /* relaxed: same, not yet shared */
    st_relaxed(&r->tail, 0); /* relaxed: same, not yet shared */
    return 0;
}

void aio_ring_destroy(aio_ring *r) {
    free(r->cells);
    r->cells = NULL;
}

/* Waiting for a peer between its claim and its release/publish: spin a little, then yield the
 * CPU (the peer may be a thread preempted on this very CPU). */
static inline void backoff(unsigned *spins) {
    if (++*spins < 64) {
        cpu_relax();
    } else {
        *spins = 0;
        sched_yield();
    }
}

bool aio_ring_push(aio_ring *r, void *item) {
    unsigned spins = 0;
    size_t pos = ld_relaxed(&r->head); /* relaxed: a stale head only costs a retry via the cell seq */
    aio_ring_cell *c;
    for (;;) {
        c = &r->cells[pos & r->mask];
        /* acquire: the consumer that freed this cell has finished reading its item */
        size_t seq = ld_acquire(&c->seq);
        intptr_t dif = (intptr_t)(seq - pos); /* wrap-safe distance */
        if (dif == 0) {
            /* relaxed: claiming the position orders nothing; the cell seq carries the data */
            if (casw_relaxed(&r->head, &pos, pos + 1)) break;
        } else if (dif < 0) {
            /* The cell still holds the item of pos - capacity. Full only if no consumer has
             * claimed that item yet; otherwise a consumer is between its claim and its release
             * of the cell: wait for it (failing here would report "full" on a ring that is not).
             * acquire: pairs with the consumer's claim of tail (only a value is compared) */
            intptr_t used = (intptr_t)(pos - ld_acquire(&r->tail)); /* < 0: tail moved past a stale pos */
            if (used > (intptr_t)r->mask) return false;
            backoff(&spins);
            pos = ld_relaxed(&r->head); /* relaxed: reload and retry */
        } else {
            pos = ld_relaxed(&r->head); /* relaxed: another producer took pos; reload and retry */
        }
    }
    c->item = item;
    /* seq_cst: consumers that acquire seq see item; and it is ordered before the producer's
     * later seq_cst read of a wake-up flag (store-buffering pattern, see ring.h) */
    st_seq_cst(&c->seq, pos + 1);
    return true;
}

void *aio_ring_pop(aio_ring *r) {
    unsigned spins = 0;
    size_t pos = ld_relaxed(&r->tail); /* relaxed: a stale tail only costs a retry via the cell seq */
    aio_ring_cell *c;
    for (;;) {
        c = &r->cells[pos & r->mask];
        /* seq_cst (acquire part): we see the item the producer wrote before publishing seq;
         * seq_cst part: ordered after the consumer's earlier seq_cst store to a wake-up flag */
        size_t seq = ld_seq_cst(&c->seq);
        intptr_t dif = (intptr_t)(seq - (pos + 1)); /* wrap-safe distance */
        if (dif == 0) {
            /* relaxed: claiming the position orders nothing; the cell seq carries the data */
            if (casw_relaxed(&r->tail, &pos, pos + 1)) break;
        } else if (dif < 0) {
            /* Not published. Empty only if no producer has claimed pos; otherwise a producer is
             * between its claim and its publish: wait for it (returning NULL here would report
             * "empty" while later cells hold items -- for the pool, a spurious QueueFull).
             * acquire: only the value is compared; the item is read through seq */
            if (ld_acquire(&r->head) == pos) return NULL;
            backoff(&spins);
            pos = ld_relaxed(&r->tail); /* relaxed: reload and retry */
        } else {
            pos = ld_relaxed(&r->tail); /* relaxed: another consumer took pos; reload and retry */
        }
    }
    void *item = c->item;
    /* release: the next producer of this cell (pos + capacity) sees our read of item done */
    st_release(&c->seq, pos + r->mask + 1);
    return item;
}

bool aio_ring_ready(aio_ring *r) {
    /* seq_cst: see ring.h -- pairs with the producer's seq_cst publish. A consumer may pop the
     * cell at tail between our two loads (the cell then reads as released although later cells
     * hold items), so re-read tail and look again until tail is stable. */
    size_t pos = ld_seq_cst(&r->tail);
    for (;;) {
        if (ld_seq_cst(&r->cells[pos & r->mask].seq) == pos + 1) return true;
        size_t now = ld_seq_cst(&r->tail); /* seq_cst: as above */
        if (now == pos) return false;
        pos = now;
    }
}

size_t aio_ring_size(aio_ring *r) {
    size_t tail = ld_relaxed(&r->tail); /* relaxed: a statistic, may be momentarily stale */
    size_t head = ld_relaxed(&r->head); /* relaxed: a statistic, may be momentarily stale */
    return head > tail ? head - tail : 0;
}
