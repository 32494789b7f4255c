/* completion.h -- a channel: the completion queue of one event loop.
 *
 * Workers push finished task records (MPSC use of the ring); the loop thread drains them in
 * batches. Wake-ups are coalesced through `armed`: the loop arms the channel before it goes
 * back to sleep and re-checks the ring; a worker writes the eventfd only when it is the one
 * that disarms it. Protocol (store-buffering; all four accesses seq_cst):
 *   worker: publish record (seq_cst store in ring push); if xchg(armed, 0) == 1: write(efd)
 *   loop:   store(armed, 1); if ring has a record: drain again, else sleep on efd
 * Either the worker sees armed == 1 and wakes the loop, or the loop sees the record.
 * The ring's capacity equals the pool's, so a push can never fail and no completion is dropped.
 */
#ifndef AIOULTRA_COMPLETION_H
#define AIOULTRA_COMPLETION_H
#include <stdint.h>

#include "aioultra.h"
#include "histogram.h"
#include "pool.h"
#include "ring.h"

struct aio_channel {
    aio_engine *engine;
    aio_pool *pool;
    aio_ring ring;
    int efd;
    aio_hist *delivery;        /* end -> drain of each task that ran (NULL: latency not recorded); the drainer writes it */
    aio_channel *prev, *next;  /* the engine's list of live channels (under its channels_lock) */
    AIO_ALIGNED _Atomic int32_t armed;
    /* tasks submitted on this channel whose worker has not yet finished aio_channel_complete
     * (its last touch of the channel): the channel may be freed only at 0 */
    AIO_ALIGNED _Atomic int64_t inflight;
};

int aio_channel_init(aio_channel *ch, aio_engine *e, aio_pool *pool, uint32_t capacity);
void aio_channel_fini(aio_channel *ch);
/* Worker side: publish a finished record and wake the loop if it is armed. */
void aio_channel_complete(aio_channel *ch, aio_task *t);

#endif
