/* completion.c -- completion channel: ring + eventfd with coalesced wake-ups; see completion.h. */
#define _GNU_SOURCE
#include "completion.h"

#include "clock.h"
#include "invariant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int aio_channel_init(aio_channel *ch, aio_engine *e, aio_pool *pool, uint32_t capacity) {
    ch->engine = e;
    ch->pool = pool;
    ch->delivery = NULL; /* aio_channel_create adds one when the engine records latency */
    ch->prev = ch->next = NULL;
    if (aio_ring_init(&ch->ring, capacity) != 0) return AIO_ENOMEM;
    ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ch->efd < 0) {
        aio_ring_destroy(&ch->ring);
        return AIO_ESYS;
    }
    st_relaxed(&ch->armed, 1); /* relaxed: published to workers with the channel by a later release */
    st_relaxed(&ch->inflight, 0); /* relaxed: same */
    return AIO_OK;
}

void aio_channel_fini(aio_channel *ch) {
    if (ch->efd >= 0) close(ch->efd);
    ch->efd = -1;
    aio_ring_destroy(&ch->ring);
}

static void wake(aio_channel *ch) {
    uint64_t one = 1;
    for (;;) {
        ssize_t n = write(ch->efd, &one, sizeof one);
        if (n == (ssize_t)sizeof one) return;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return; /* counter saturated: the loop is woken already */
        fprintf(stderr, "aioultra: eventfd write failed: %s\n", strerror(errno));
        abort(); /* impossible errno: the fd is ours and open while tasks are in flight */
    }
}

void aio_channel_complete(aio_channel *ch, aio_task *t) {
    AIO_INVARIANT(aio_ring_push(&ch->ring, t), "completion ring holds the pool's capacity");
    /* seq_cst: after our seq_cst publish above; either we see the loop's arm or it sees the record */
    if (xchg_seq_cst(&ch->armed, 0) == 1) wake(ch);
    /* acq_rel (release part): whoever reads 0 here may free the channel: our uses of it are done */
    add_acq_rel(&ch->inflight, -1);
}

int64_t aio_channel_inflight(aio_channel *ch) {
    return ld_acquire(&ch->inflight); /* acquire: pairs with the release in aio_channel_complete */
}

int aio_channel_fd(aio_channel *ch) { return ch->efd; }

int aio_channel_drain(aio_channel *ch, aio_completion *out, int max) {
    int n = 0;
    int64_t now = 0; /* one clock read per drain, for the delivery histogram */
    while (n < max) {
        aio_task *t = aio_ring_pop(&ch->ring);
        if (t == NULL) break;
        if (ch->delivery != NULL && t->end_ns != 0) {
            if (now == 0) now = aio_now_ns();
            aio_hist_record(ch->delivery, now - t->end_ns);
        }
        aio_completion *c = &out[n++];
        c->id = t->id;
        c->rc = t->rc;
        c->status = t->status;
        c->worker = t->worker;
        /* the worker guarantees rc <= out_cap <= AIO_INLINE_OUT for inline outputs */
        if (t->out == NULL && t->n_items == 0 && t->rc > 0) memcpy(c->out, t->inline_out, (size_t)t->rc);
        aio_pool_free(ch->pool, t);
    }
    return n;
}

int aio_channel_arm(aio_channel *ch) {
    /* seq_cst: ordered before the ring check below; a worker that misses it sees our check's record */
    st_seq_cst(&ch->armed, 1);
    if (!aio_ring_ready(&ch->ring)) return 0;
    /* A record raced in: disarm (a worker may also write the eventfd; a spurious wake is harmless). */
    xchg_acq_rel(&ch->armed, 0); /* acq_rel: just a flag reset; the record is read through the ring */
    return 1;
}

int aio_channel_ack(aio_channel *ch) {
    uint64_t v;
    for (;;) {
        ssize_t n = read(ch->efd, &v, sizeof v);
        if (n == (ssize_t)sizeof v) return AIO_OK;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return AIO_OK; /* nothing pending */
        return AIO_ESYS;
    }
}
