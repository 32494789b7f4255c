/* engine.h -- the engine's internal layout, shared by engine.c and worker.c.
 *
 * Per node: an injector, a load figure, the range of its workers, and the counters of the
 * park / wake / search protocol (worker.c): how many of its workers search and how many are
 * parked. Each worker parks on its own futex word, so a submitter can choose whom to wake
 * (the worker on its own CPU first, see aio_node_notify).
 */
#ifndef AIOULTRA_ENGINE_H
#define AIOULTRA_ENGINE_H
#include <pthread.h>
#include <stdint.h>


#include "aioultra.h"
#include "clock.h"
#include "deque.h"
#include "histogram.h"
#include "injector.h"
#include "pool.h"

typedef struct aio_node {
    aio_injector injector;
    int32_t first_worker;
    int32_t n_workers;
    int32_t max_searchers;                 /* cap on `searching` for workers that start searching */
    AIO_ALIGNED _Atomic int64_t load;      /* weighted tasks queued on this node, not yet started */
    _Atomic uint64_t submitted;            /* items placed on this node */
    _Atomic int32_t submit_cpu;            /* CPU of the latest submitter (-1: unknown) */
    AIO_ALIGNED _Atomic int32_t searching; /* workers searching, including woken ones not yet searching */
    _Atomic int32_t parked;                /* workers whose park flag is set */
    _Atomic uint32_t wake_rr;              /* where the next any-worker wake-up starts looking */
    char pad_[AIO_CACHELINE - 3 * sizeof(int32_t)];
} aio_node;

/* One kind's counters in one worker (owner-written, relaxed), as aio_kind_stats. */
typedef struct aio_kind_counts {
    _Atomic uint64_t completed, failed, cancelled, expired, run_ns;
} aio_kind_counts;

typedef struct aio_worker {
    aio_deque deque;
    aio_engine *engine;
    pthread_t thread;
    int32_t index;
    int32_t node;
    int32_t planned_cpu;
    uint32_t high_streak;
    uint64_t rng;
    int64_t idle_since_ns;                 /* owner only: when it last ran out of work (0: busy) */
    int64_t idle_ewma_ns;                  /* owner only: average time from out-of-work to the next task */
    int32_t runs_local;                    /* owner only: its last task runs better on the loop's CPU */
    /* statistics: written by the owner (relaxed), read by anyone */
    _Atomic int32_t cpu;
    _Atomic int32_t pinned;
    _Atomic uint64_t executed;                          /* task records run (a batch is one) */
    _Atomic uint64_t completed, failed, cancelled, expired; /* items, as aio_engine_stats */
    _Atomic uint64_t batches;                                        /* batch tasks finished */
    _Atomic uint64_t finished_high;                                  /* items of the high lane finished */
    aio_kind_counts *kinds;                                          /* AIO_KINDS entries */
    _Atomic uint64_t steals_local, steals_remote, parks;
    _Atomic int32_t tid;
    AIO_ALIGNED _Atomic uint64_t stolen_from; /* written by thieves */
    _Atomic uint64_t wakeups;                 /* written by wakers */
    aio_hist *queue_wait;                     /* owner-written latency histograms (NULL: not recorded) */
    aio_hist *run_time;
    _Atomic int64_t handoff_ewma_ns;          /* a hand-off's idle average for it to adopt (0: none) */
    _Atomic uint32_t park;                    /* futex word: 1 parked, 0 awake (cleared by its waker) */
    char pad_[AIO_CACHELINE - 3 * sizeof(uint64_t) - sizeof(uint32_t)];
} aio_worker;

struct aio_engine {
    int32_t n_nodes;
    int32_t n_workers;
    uint32_t capacity;
    int32_t enable_stealing;
    int32_t enable_affinity;
    int64_t threshold_units;  /* balance_threshold * capacity, in load units */
    int64_t spin_ns;
    int32_t wake_policy;
    int32_t adaptive_spin;
    int32_t n_cpus_map;
    int32_t *cpu_node;
    aio_py_entry_fn py_entry;
    int32_t record_latency;              /* aio_engine_config.record_latency */
    aio_hist *hists;                     /* the workers' histograms (NULL without record_latency) */
    aio_kind_counts *kinds;              /* the workers' per-kind counters, AIO_KINDS per worker */
    pthread_mutex_t channels_lock;       /* guards channels, and retired_* (channel create/destroy, snapshots) */
    aio_channel *channels;               /* live channels (for their delivery histograms) */
    uint64_t retired_buckets[AIO_HIST_BUCKETS]; /* delivery histograms of destroyed channels, added up */
    aio_latency retired;
    aio_pool pool;
    aio_node *nodes;
    aio_worker *workers;
    int32_t started;          /* threads created (touched by the controlling thread only) */
    AIO_ALIGNED _Atomic int32_t ready;   /* workers that finished their set-up */
    _Atomic int32_t start_failed;        /* workers that could not allocate their deque */
    _Atomic int32_t stop;
    _Atomic uint64_t abandoned;          /* items still queued at stop, completed as cancelled */
    _Atomic uint64_t abandoned_batches;  /* batch tasks among them */
    _Atomic uint64_t abandoned_high;     /* items of the high lane among them */
    _Atomic uint64_t abandoned_kind[AIO_KINDS]; /* items among them, by kind */
    /* written by submitters on every submission, apart from what spinning workers read */
    AIO_ALIGNED _Atomic uint64_t submitted; /* items */
    _Atomic uint64_t batches_submitted;
    _Atomic uint64_t submitted_high;     /* items submitted to the high lane */
    _Atomic int32_t submitting;          /* submitters between their stop check and their push */
};

/* worker.c */
void *aio_worker_main(void *arg);
/* After a seq_cst publish of work on node n: if none of its workers searches, wake one parked
 * worker (the one pinned to `cpu` first under AIO_WAKE_LOCAL; cpu -1: any). */
void aio_node_notify(aio_engine *e, aio_node *n, int32_t cpu);
/* Stop: wake every parked worker (they see e->stop). */
void aio_wake_all(aio_engine *e);
/* After a push onto node n: wake a parked worker of a node that may now steal from n. */
void aio_notify_thieves(aio_engine *e, aio_node *n);

/* a + b (b >= 0) for a deadline or a time budget, saturating instead of overflowing */
static inline int64_t aio_add_sat(int64_t a, int64_t b) {
    return b > INT64_MAX - a ? INT64_MAX : a + b;
}

#endif
