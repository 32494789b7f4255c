/* aioultra.h -- public C API of the aioultra core.
 *
 * The core runs native worker threads (grouped per NUMA node, optionally pinned) that
 * execute task records: native kernels, batches of kernel calls, or Python callables
 * through one entry function. Submissions go through per-node injector lanes;
 * completions come back through a channel per event loop (a ring plus an eventfd).
 * The core knows nothing about Python except the py_entry function pointer.
 *
 * Return codes: 0 or a positive count on success, a negative AIO_E* code on failure.
 */
#ifndef AIOULTRA_H
#define AIOULTRA_H
#include <stddef.h>
#include <stdint.h>

#define AIO_OK 0
#define AIO_EINVAL (-1)  /* invalid argument */
#define AIO_ENOMEM (-2)  /* out of memory */
#define AIO_EFULL (-3)   /* in-flight tasks reached the queue capacity */
#define AIO_ECLOSED (-4) /* engine is stopping or stopped */
#define AIO_ESYS (-5)    /* a system call failed; errno says which */

/* Completion status of a task. */
#define AIO_STATUS_OK 0        /* ran; rc is the kernel's result (negative: kernel error) */
#define AIO_STATUS_FAILED 1    /* ran and failed (Python exception, or negative kernel rc) */
#define AIO_STATUS_CANCELLED 2 /* cancelled before it started; never ran */
#define AIO_STATUS_EXPIRED 3   /* deadline passed before it started; never ran */

#define AIO_INLINE_OUT 64 /* outputs up to this many bytes live inside the task record */
#define AIO_MAX_TASK_ID ((uint64_t)1 << 62) /* task ids are 1 .. this */
#define AIO_PRIORITY_HIGH 8 /* priority >= this goes to the high lane */
#define AIO_KINDS 64        /* per-kind counters (aio_spec.kind): 0 .. AIO_KINDS - 1; 0 for untracked */

/* Wake policy (aio_engine_config.wake_policy); see docs/scheduling.md. */
#define AIO_WAKE_LOCAL 0 /* wake the parked worker pinned to the submitter's CPU first, then any */
#define AIO_WAKE_ANY 1   /* wake any parked worker of the node (round robin) */

typedef int64_t (*aio_kernel_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* Runs the Python job `id`; returns AIO_STATUS_OK or AIO_STATUS_FAILED. For a Python batch
 * (aio_channel_submit_batch with fn == NULL) it runs every item and returns how many failed. */
typedef int32_t (*aio_py_entry_fn)(uint64_t id);

typedef struct aio_engine aio_engine;
typedef struct aio_channel aio_channel;
typedef struct aio_task aio_task;

typedef struct aio_engine_config {
    int32_t n_nodes;              /* >= 1 */
    const int32_t *node_workers;  /* n_nodes entries: workers on each node (>= 1 each) */
    const int32_t *worker_cpus;   /* one CPU per worker (node order), or -1 for no pinning */
    int32_t n_cpus_map;           /* entries in cpu_node (CPU id -> node index, -1 unknown) */
    const int32_t *cpu_node;
    uint32_t capacity;            /* max in-flight tasks; power of two >= 2 */
    int32_t enable_stealing;
    int32_t enable_affinity;
    double balance_threshold;     /* fraction of capacity, 0.0 - 1.0 */
    int64_t spin_ns;              /* longest an idle worker searches (spins) before parking */
    int32_t wake_policy;          /* AIO_WAKE_LOCAL or AIO_WAKE_ANY: which parked worker a submitter wakes */
    int32_t adaptive_spin;        /* 1: spin only while recent arrivals came within spin_ns */
    int32_t max_searchers;        /* cap on a node's searching workers; 0: half its workers (at least 1) */
    aio_py_entry_fn py_entry;
    int32_t record_latency;       /* 1: latency histograms of queue wait, run time and delivery (aio_engine_get_latency) */
} aio_engine_config;

/* One finished task, as copied out by aio_channel_drain. */
typedef struct aio_completion {
    uint64_t id;
    int64_t rc;       /* kernel result, or item count of a batch */
    int32_t status;   /* AIO_STATUS_* */
    int32_t worker;   /* index of the worker that completed it */
    uint8_t out[AIO_INLINE_OUT]; /* inline output (when out_cap <= AIO_INLINE_OUT at submit) */
} aio_completion;

typedef struct aio_worker_stats {
    int32_t node;
    int32_t planned_cpu;
    int32_t cpu;            /* sched_getcpu() seen by the worker after pinning */
    int32_t pinned;         /* 1 when pthread_setaffinity_np succeeded */
    uint64_t executed;      /* tasks run (any status) */
    uint64_t steals_local;  /* tasks this worker stole from same-node peers */
    uint64_t steals_remote; /* tasks this worker took from other nodes */
    uint64_t stolen_from;   /* tasks others stole from this worker's deque */
    uint64_t parks;         /* times it slept on its futex */
    uint64_t wakeups;       /* times a submitter or peer woke it from its futex */
    int64_t deque_size;
    int32_t tid;            /* the worker's kernel thread id (gettid), 0 before it started */
    int32_t parked;         /* 1 while it is parked (announced, about to sleep or asleep) */
} aio_worker_stats;

/* Counters count items: a batch task of n items adds n to submitted and n to the outcome
 * counters (completed/failed per item for one that ran, cancelled or expired for one that did
 * not), and 1 to batches_submitted / batches_completed. */
typedef struct aio_engine_stats {
    uint64_t submitted, completed, failed, cancelled, expired;
    uint64_t batches_submitted, batches_completed;
    uint64_t submitted_high, finished_high; /* items through the high-priority lane (any outcome) */
    int64_t in_flight;
    uint32_t capacity;
    int32_t n_workers, n_nodes;
} aio_engine_stats;

typedef struct aio_node_stats {
    int64_t load;          /* weighted queued work (sum of task weights not yet started) */
    int64_t queued;        /* tasks in the node's injector lanes */
    uint64_t submitted;    /* tasks placed on this node */
} aio_node_stats;

/* Lifecycle. create validates the config; start launches and waits for the workers. */
int aio_engine_create(const aio_engine_config *cfg, aio_engine **out);
int aio_engine_start(aio_engine *e);
/* Stops the workers and joins them. Each finishes the task it is running; every task still
 * queued is then completed with AIO_STATUS_CANCELLED through its channel, so each accepted
 * submission gets exactly one completion. A submission racing stop either is accepted (and
 * completed, by a worker or as cancelled) or returns AIO_ECLOSED. */
int aio_engine_stop(aio_engine *e);
void aio_engine_destroy(aio_engine *e);

/* Channels: one per event loop; fd is the eventfd to watch for readability. */
int aio_channel_create(aio_engine *e, aio_channel **out);
int aio_channel_fd(aio_channel *ch);
void aio_channel_destroy(aio_channel *ch);
/* Copies up to max completions out, frees their records; returns how many. Loop thread only. */
int aio_channel_drain(aio_channel *ch, aio_completion *out, int max);
/* Arms the eventfd wake-up; returns 1 if completions are already waiting (drain again). */
int aio_channel_arm(aio_channel *ch);
/* Reads the eventfd counter (clears it); 0 or AIO_ESYS. */
int aio_channel_ack(aio_channel *ch);
/* Tasks of this channel a worker has not finished completing; free the channel only at 0. */
int64_t aio_channel_inflight(aio_channel *ch);

/* Submission. `id` (1 .. AIO_MAX_TASK_ID, never reused) names the task in its completion and in aio_task_cancel.
 * fn == NULL submits the Python job `id` (runs py_entry(id)). out/out_cap: when
 * out_cap <= AIO_INLINE_OUT and out == NULL the output lands in the completion's inline buffer.
 * deadline_ns: relative, 0 for none. weight >= 1 (estimated duration in us). node: -1 = choose. */
int aio_submit(aio_engine *e, aio_channel *ch, uint64_t id, aio_kernel_fn fn, void *ctx,
               const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
               int32_t priority, int64_t deadline_ns, uint32_t weight, int32_t node, aio_task **task);
/* A batch task: runs fn over n items, item i = in[offsets[i] .. offsets[i+1]), writing up to
 * stride bytes at out + i*stride and its result into rcs[i]. Completion rc = n. deadline_ns as
 * for aio_submit: the whole batch expires if it has not started in time. */
int aio_submit_batch(aio_engine *e, aio_channel *ch, uint64_t id, aio_kernel_fn fn, void *ctx,
                     const uint8_t *in, const uint64_t *offsets, uint32_t n, uint8_t *out, size_t stride,
                     int64_t *rcs, int32_t priority, int64_t deadline_ns, int32_t node, aio_task **task);
/* What a submission runs and how, shared by many submissions (built once per kernel and
 * options): the aio_channel_submit* calls take it instead of a dozen arguments. */
typedef struct aio_spec {
    aio_kernel_fn fn;    /* NULL: a Python job (py_entry) */
    void *ctx;
    size_t out_cap;      /* output bytes per call; <= AIO_INLINE_OUT with out == NULL: inline */
    int64_t deadline_ns; /* relative, 0 for none */
    int32_t priority;
    int32_t node;        /* -1: choose */
    uint32_t weight;     /* >= 1 (estimated duration in us) */
    int32_t kind;        /* 0 .. AIO_KINDS - 1: whose per-kind counters its tasks count in */
} aio_spec;

/* aio_submit through a spec, on the channel's engine. Returns the task's record address (> 0,
 * for aio_task_cancel) or a negative AIO_E* code. */
intptr_t aio_channel_submit(aio_channel *ch, const aio_spec *s, uint64_t id, const uint8_t *in, size_t in_len,
                            uint8_t *out);
/* n independent tasks, ids first_id .. first_id + n - 1: task i reads in[offsets[i] ..
 * offsets[i+1]) and writes out + i * s->out_cap (out == NULL: inline outputs); its record
 * address lands in tasks[i]. Returns how many were accepted: a prefix, fewer than n when the
 * pool ran out or the engine stopped (the rest were not queued), or a negative AIO_E* code when
 * none was. */
int64_t aio_channel_submit_many(aio_channel *ch, const aio_spec *s, uint64_t first_id, uint32_t n,
                                const uint8_t *in, const uint64_t *offsets, uint8_t *out, intptr_t *tasks);
/* aio_submit_batch through a spec (rcs per item, stride = s->out_cap). With s->fn == NULL it is a
 * Python batch of n items: py_entry(id) runs them all and returns how many failed; in, offsets,
 * out and rcs must then be NULL. Returns the record address or a negative AIO_E* code. */
intptr_t aio_channel_submit_batch(aio_channel *ch, const aio_spec *s, uint64_t id, const uint8_t *in,
                                  const uint64_t *offsets, uint32_t n, uint8_t *out, int64_t *rcs);

/* Marks task `id` cancelled: a worker that has not started it skips it. Safe from any thread while
 * the engine exists, even after the task completed and its record was reused for another task:
 * the mark is set only while the record still holds task `id` (ids are never reused), so a late
 * cancel does nothing, and a stale one never undoes a real one. */
void aio_task_cancel(aio_task *t, uint64_t id);

/* Statistics (relaxed reads, momentarily inconsistent across counters). */
void aio_engine_get_stats(aio_engine *e, aio_engine_stats *out);
int aio_worker_get_stats(aio_engine *e, int32_t index, aio_worker_stats *out);
int aio_node_get_stats(aio_engine *e, int32_t node, aio_node_stats *out);

/* Latency (with record_latency): a stage's histogram, in nanoseconds, of each task record (a
 * batch is one): submit to start (AIO_LATENCY_QUEUE_WAIT) and start to end (AIO_LATENCY_RUN),
 * summed over the workers; end to the loop's drain of it (AIO_LATENCY_DELIVERY, tasks that ran),
 * summed over the channels, those destroyed included. buckets: room for AIO_HIST_BUCKETS counters
 * (aio_hist_bucket_count()), of which the first out->used are written (up to the bucket of the
 * largest value; the rest are empty); bucket i holds values in [aio_hist_bucket_lower(i), +
 * aio_hist_bucket_width(i)), at most 1.6% of its lower bound wide; the last bucket holds every
 * value >= 2^36 ns. AIO_EINVAL for a bad stage or an engine that does not record latency. */
#define AIO_LATENCY_QUEUE_WAIT 0
#define AIO_LATENCY_RUN 1
#define AIO_LATENCY_DELIVERY 2
typedef struct aio_latency {
    uint64_t count, sum_ns;
    int64_t max_ns;
    int32_t used; /* buckets[0, used) are written; those from used on are empty and left as they were */
} aio_latency;
int aio_engine_get_latency(aio_engine *e, int32_t stage, uint64_t *buckets, aio_latency *out);
int32_t aio_hist_bucket_count(void);
int64_t aio_hist_bucket_lower(int32_t i);
int64_t aio_hist_bucket_width(int32_t i);

/* Per-kind counters, summed over the workers (items, as aio_engine_stats; run_ns: time spent
 * running them; tasks abandoned at stop count as cancelled). out: n >= AIO_KINDS entries. */
typedef struct aio_kind_stats {
    uint64_t completed, failed, cancelled, expired, run_ns;
} aio_kind_stats;
int aio_engine_get_kinds(aio_engine *e, aio_kind_stats *out, int32_t n);

/* Topology helpers: CPU the calling thread runs on (-1 unknown); pin the calling thread. */
int32_t aio_current_cpu(void);
int aio_pin_current_thread(int32_t cpu);

/* Microbenchmarks (bench.c): ns per operation, timed inside C; negative on error. */
double aio_bench_deque_push_pop(int64_t n);
double aio_bench_deque_steal(int64_t n);
double aio_bench_injector_push_pop(int64_t n);
double aio_bench_pool_alloc_free(int64_t n);
double aio_bench_completion_push_drain(int64_t n);
/* The physical floor (floor.c): the round trip to a peer thread blocked in epoll, through two
 * eventfds, after the caller slept gap_ns (jitter = 1: uniformly within +-50%; relative sleep).
 * A caller thread pinned to caller_cpu and a peer thread pinned to peer_cpu (-1: unpinned) are
 * spawned for it; 20 warm-up round trips, then n samples, whose median and 99th percentile land
 * in *p50_us and *p99_us. Returns 0, AIO_EINVAL, AIO_ENOMEM, or AIO_ESYS with errno set. */
int aio_floor_round_trip(int32_t caller_cpu, int32_t peer_cpu, int64_t gap_ns, int32_t jitter, int32_t n,
                         double *p50_us, double *p99_us);

/* Built-in kernels. */
int64_t aio_kernel_noop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_spin(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_keccak256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_rlp_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_amount_out(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_amount_in(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_backrun(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* Signature kernels (their ctx: an aio_secp256k1 for the first two, an aio_signer for the
 * third; see kernels/kernels.h and kernels/secp256k1.h). */
int64_t aio_kernel_ecrecover(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_tx_sender(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_sign_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);

#endif
