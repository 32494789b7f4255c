/* engine.h -- the engine's internal layout, shared by engine.c and worker.c.
 *
 * Per node: an injector, a load figure and the range of its workers. Idle workers of a node
 * park on that node's futex word; a submitter wakes one parked worker of the target node only
 * when none of that node's workers is searching (Tokio's rule against thundering herds).
 */
#ifndef AIOULTRA_ENGINE_H
#define AIOULTRA_ENGINE_H
#include <pthread.h>
#include <stdint.h>

#include "aioultra.h"
#include "deque.h"
#include "injector.h"
#include "pool.h"

typedef struct aio_node {
    aio_injector injector;
    int32_t first_worker;
    int32_t n_workers;
    AIO_ALIGNED _Atomic int64_t load;      /* weighted tasks queued on this node, not yet started */
    _Atomic uint64_t submitted;            /* tasks placed on this node */
    AIO_ALIGNED _Atomic uint32_t wake_seq; /* futex word parked workers wait on */
    _Atomic int32_t sleepers;              /* workers parked or about to park */
    _Atomic int32_t searching;             /* workers spinning for work */
    char pad_[AIO_CACHELINE - 3 * sizeof(int32_t)];
} aio_node;

typedef struct aio_worker {
    aio_deque deque;
    aio_engine *engine;
    pthread_t thread;
    int32_t index;
    int32_t node;
    int32_t planned_cpu;
    uint32_t high_streak;
    uint64_t rng;
    /* statistics: written by the owner (relaxed), read by anyone */
    _Atomic int32_t cpu;
    _Atomic int32_t pinned;
    _Atomic uint64_t executed, completed, failed, cancelled, expired;
    _Atomic uint64_t steals_local, steals_remote, parks, wakeups;
    _Atomic int32_t tid;
    AIO_ALIGNED _Atomic uint64_t stolen_from; /* written by thieves */
    char pad_[AIO_CACHELINE - sizeof(uint64_t)];
} aio_worker;

struct aio_engine {
    int32_t n_nodes;
    int32_t n_workers;
    uint32_t capacity;
    int32_t enable_stealing;
    int32_t enable_affinity;
    int64_t threshold_units;  /* balance_threshold * capacity, in load units */
    int64_t spin_ns;
    int32_t n_cpus_map;
    int32_t *cpu_node;
    aio_py_entry_fn py_entry;
    aio_pool pool;
    aio_node *nodes;
    aio_worker *workers;
    int32_t started;          /* threads created (touched by the controlling thread only) */
    AIO_ALIGNED _Atomic int32_t ready;   /* workers that finished their set-up */
    _Atomic int32_t start_failed;        /* workers that could not allocate their deque */
    _Atomic int32_t stop;
    AIO_ALIGNED _Atomic uint64_t submitted;
};

/* worker.c */
void *aio_worker_main(void *arg);
/* Wake one parked worker of node n if none of its workers is searching. */
void aio_node_notify(aio_engine *e, aio_node *n);
void aio_node_wake_all(aio_node *n);
/* After a push onto node n: wake a parked worker of a node that may now steal from n. */
void aio_notify_thieves(aio_engine *e, aio_node *n);
int64_t aio_now_ns(void);

#endif
