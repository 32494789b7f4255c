/* deque.c -- Chase-Lev work-stealing deque; see deque.h for roles and guarantees. */
#include "deque.h"

#include <stdlib.h>

static aio_deque_buf *buf_new(int64_t size) {
    aio_deque_buf *b = malloc(sizeof(aio_deque_buf) + (size_t)size * sizeof(_Atomic(void *)));
    if (b == NULL) return NULL;
    b->size = size;
    b->retired = NULL;
    /* relaxed: the buffer is published by a later release store of buf; a thief that loses the
     * race for a slot may read it before it is filled, so no slot is ever uninitialised */
    for (int64_t i = 0; i < size; i++) st_relaxed(&b->slots[i], NULL);
    return b;
}

static inline void *slot_get(aio_deque_buf *b, int64_t i) {
    /* relaxed: the slot was published by the release/seq_cst store of bottom the reader synchronised with */
    return ld_relaxed(&b->slots[i & (b->size - 1)]);
}

static inline void slot_put(aio_deque_buf *b, int64_t i, void *x) {
    /* relaxed: published to thieves by the following release store of bottom */
    st_relaxed(&b->slots[i & (b->size - 1)], x);
}

int aio_deque_init(aio_deque *d, int64_t initial_size) {
    if (initial_size < 2 || (initial_size & (initial_size - 1)) != 0) return -1;
    aio_deque_buf *b = buf_new(initial_size);
    if (b == NULL) return -1;
    st_relaxed(&d->top, 0);    /* relaxed: not shared yet; published by thread start */
    st_relaxed(&d->bottom, 0); /* relaxed: same */
    st_relaxed(&d->buf, b);    /* relaxed: same */
    return 0;
}

void aio_deque_destroy(aio_deque *d) {
    aio_deque_buf *b = ld_relaxed(&d->buf); /* relaxed: no other thread uses the deque any more */
    while (b != NULL) {
        aio_deque_buf *older = b->retired;
        free(b);
        b = older;
    }
    st_relaxed(&d->buf, NULL); /* relaxed: same */
}

static aio_deque_buf *grow(aio_deque *d, aio_deque_buf *old, int64_t top, int64_t bottom) {
    aio_deque_buf *b = buf_new(old->size * 2);
    if (b == NULL) return NULL;
    for (int64_t i = top; i < bottom; i++) slot_put(b, i, slot_get(old, i));
    b->retired = old;
    /* release: a thief that acquires the new buffer sees the copied slots */
    st_release(&d->buf, b);
    return b;
}

int aio_deque_push(aio_deque *d, void *item) {
    int64_t b = ld_relaxed(&d->bottom);      /* relaxed: only the owner writes bottom */
    int64_t t = ld_acquire(&d->top);         /* acquire: slots below t were fully read by thieves */
    aio_deque_buf *a = ld_relaxed(&d->buf);  /* relaxed: only the owner writes buf */
    if (b - t > a->size - 1) {
        a = grow(d, a, t, b);
        if (a == NULL) return -1;
    }
    slot_put(a, b, item);
    /* seq_cst (release part): a thief that reads the new bottom sees the slot written above;
     * seq_cst part: a parking peer that announced itself before our later seq_cst read of its
     * flag sees this item in aio_deque_visible (store-buffering with the parking protocol) */
#ifdef AIO_SEED_BUG_PUSH_RELAXED
    /* SEEDED BUG (tests/test_seeded_bugs.py only): relaxed publication; TSan must report it */
    st_relaxed(&d->bottom, b + 1);
#else
    st_seq_cst(&d->bottom, b + 1);
#endif
    return 0;
}

void *aio_deque_pop(aio_deque *d) {
    int64_t b = ld_relaxed(&d->bottom) - 1;  /* relaxed: only the owner writes bottom */
    aio_deque_buf *a = ld_relaxed(&d->buf);  /* relaxed: only the owner writes buf */
    /* seq_cst: thieves that read bottom after this see the item at b reserved; paired with
     * the seq_cst loads in steal (the paper's fence between this store and the top load) */
    st_seq_cst(&d->bottom, b);
    /* seq_cst: ordered after the store above, so a concurrent thief and we cannot both
     * miss each other's claim on the last item */
    int64_t t = ld_seq_cst(&d->top);
    void *x = NULL;
    if (t <= b) {
        x = slot_get(a, b);
        if (t == b) {
            /* last item: race thieves for it. seq_cst: single winner, totally ordered with steals */
#ifdef AIO_SEED_BUG_NO_LAST_CAS
            /* SEEDED BUG (tests/test_seeded_bugs.py only): take the last item without racing the
             * thieves; a thief that stole it too gives a duplicate, which the stress test must see */
            st_seq_cst(&d->top, t + 1);
#else
            if (!cas_seq_cst(&d->top, &t, t + 1)) x = NULL;
#endif
            /* relaxed: only the owner writes bottom; deque is empty either way */
            st_relaxed(&d->bottom, b + 1);
        }
    } else {
        /* relaxed: deque was empty, restore bottom; thieves see top >= bottom either way */
        st_relaxed(&d->bottom, b + 1);
    }
    return x;
}

aio_steal_result aio_deque_steal(aio_deque *d, void **item) {
    /* seq_cst: read top before bottom, in the single total order with the owner's pop */
    int64_t t = ld_seq_cst(&d->top);
    /* seq_cst (acquire part): sees the slot the owner published with bottom; seq_cst part:
     * the paper's fence between the two loads */
    int64_t b = ld_seq_cst(&d->bottom);
    if (t >= b) return AIO_STEAL_EMPTY;
    /* acquire: a grown buffer's copied slots are visible */
    aio_deque_buf *a = ld_acquire(&d->buf);
    void *x = slot_get(a, t);
    /* seq_cst: claims index t against other thieves and the owner's last-item CAS */
    if (!cas_seq_cst(&d->top, &t, t + 1)) return AIO_STEAL_RETRY;
    *item = x;
    return AIO_STEAL_SUCCESS;
}

bool aio_deque_visible(aio_deque *d) {
    /* seq_cst: pairs with the owner's seq_cst store of bottom in push (see there) */
    int64_t t = ld_seq_cst(&d->top);
    int64_t b = ld_seq_cst(&d->bottom); /* seq_cst: as above */
    return b > t;
}

int64_t aio_deque_size(aio_deque *d) {
    int64_t b = ld_relaxed(&d->bottom); /* relaxed: a statistic */
    int64_t t = ld_relaxed(&d->top);    /* relaxed: a statistic */
    return b > t ? b - t : 0;
}
