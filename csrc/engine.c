/* engine.c -- engine lifecycle, channels, submission and statistics.
 *
 * Submission path (loop thread): announce (stop check) -> record from the pool (none left:
 * AIO_EFULL) -> choose a node (the caller's, unless its load exceeds the least-loaded node's
 * by threshold_units) -> push onto that node's injector lane -> aio_node_notify (wake the
 * parked worker on the caller's CPU if none searches; worker.c).
 *
 * Stop: every accepted task gets exactly one completion. Submitters announce themselves in
 * `submitting` before they check `stop`; stop sets `stop`, waits until no submitter is between
 * its check and its push, joins the workers, then completes every task left queued as
 * AIO_STATUS_CANCELLED (store-buffering pair: submitting++ / stop read vs stop store /
 * submitting read, all seq_cst: a submitter either sees stop or is waited for).
 */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "completion.h"
#include "invariant.h"

/* Undo a partly created engine (before its channels lock exists): the injectors of its first
 * n_injectors nodes, the pool, the arrays. */
static int create_failed(aio_engine *e, int32_t n_injectors) {
    for (int32_t j = 0; j < n_injectors; j++) aio_injector_destroy(&e->nodes[j].injector);
    aio_pool_destroy(&e->pool);
    free(e->kinds);
    free(e->cpu_node);
    free(e->nodes);
    free(e->workers);
    free(e);
    return AIO_ENOMEM;
}

int aio_engine_create(const aio_engine_config *cfg, aio_engine **out) {
    if (cfg == NULL || out == NULL || cfg->n_nodes < 1 || cfg->node_workers == NULL || cfg->py_entry == NULL)
        return AIO_EINVAL;
    if (cfg->capacity < 2 || (cfg->capacity & (cfg->capacity - 1)) != 0) return AIO_EINVAL;
    if (cfg->balance_threshold < 0.0 || cfg->balance_threshold > 1.0 || cfg->spin_ns < 0) return AIO_EINVAL;
    if ((cfg->wake_policy != AIO_WAKE_LOCAL && cfg->wake_policy != AIO_WAKE_ANY) || cfg->max_searchers < 0)
        return AIO_EINVAL;
    int64_t total = 0;
    for (int32_t i = 0; i < cfg->n_nodes; i++) {
        if (cfg->node_workers[i] < 1) return AIO_EINVAL;
        total += cfg->node_workers[i];
        if (total > 65536) return AIO_EINVAL; /* also keeps every size below from overflowing */
    }
    int32_t n_workers = (int32_t)total;
    /* aligned_alloc, not calloc: the struct holds cache-line aligned members */
    aio_engine *e = aligned_alloc(AIO_CACHELINE, (sizeof *e + AIO_CACHELINE - 1) / AIO_CACHELINE * AIO_CACHELINE);
    if (e == NULL) return AIO_ENOMEM;
    memset(e, 0, sizeof *e);
    e->n_nodes = cfg->n_nodes;
    e->n_workers = n_workers;
    e->capacity = cfg->capacity;
    e->enable_stealing = cfg->enable_stealing;
    e->enable_affinity = cfg->enable_affinity;
    e->threshold_units = (int64_t)(cfg->balance_threshold * (double)cfg->capacity);
    e->spin_ns = cfg->spin_ns;
    e->wake_policy = cfg->wake_policy;
    e->adaptive_spin = cfg->adaptive_spin != 0;
    e->py_entry = cfg->py_entry;
    e->record_latency = cfg->record_latency != 0;
    e->n_cpus_map = cfg->n_cpus_map > 0 && cfg->cpu_node != NULL ? cfg->n_cpus_map : 0;
    e->cpu_node = calloc((size_t)(e->n_cpus_map > 0 ? e->n_cpus_map : 1), sizeof(int32_t));
    /* sizeof of an aligned struct is a multiple of its alignment, as aligned_alloc requires */
    e->nodes = aligned_alloc(AIO_CACHELINE, sizeof(aio_node) * (size_t)e->n_nodes);
    e->workers = aligned_alloc(AIO_CACHELINE, sizeof(aio_worker) * (size_t)n_workers);
    if (e->cpu_node == NULL || e->nodes == NULL || e->workers == NULL || aio_pool_init(&e->pool, cfg->capacity) != AIO_OK) {
        free(e->cpu_node);
        free(e->nodes);
        free(e->workers);
        free(e);
        return AIO_ENOMEM;
    }
    memset(e->nodes, 0, sizeof(aio_node) * (size_t)e->n_nodes);
    memset(e->workers, 0, sizeof(aio_worker) * (size_t)n_workers);
    for (int32_t i = 0; i < e->n_cpus_map; i++) {
        int32_t node = cfg->cpu_node[i];
        e->cpu_node[i] = node >= 0 && node < e->n_nodes ? node : -1;
    }
    int32_t next = 0;
    for (int32_t i = 0; i < e->n_nodes; i++) {
        aio_node *n = &e->nodes[i];
        n->first_worker = next;
        n->n_workers = cfg->node_workers[i];
        int32_t cap = cfg->max_searchers > 0 ? cfg->max_searchers : n->n_workers / 2;
        n->max_searchers = cap < 1 ? 1 : cap > n->n_workers ? n->n_workers : cap;
        st_relaxed(&n->submit_cpu, -1); /* relaxed: not shared yet */
        if (aio_injector_init(&n->injector, cfg->capacity) != AIO_OK) return create_failed(e, i);
        for (int32_t k = 0; k < n->n_workers; k++, next++) {
            aio_worker *w = &e->workers[next];
            w->engine = e;
            w->index = next;
            w->node = i;
            w->planned_cpu = cfg->worker_cpus != NULL ? cfg->worker_cpus[next] : -1;
            w->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(next + 1);
            st_relaxed(&w->cpu, -1); /* relaxed: not started yet */
        }
    }
    e->kinds = calloc((size_t)n_workers * AIO_KINDS, sizeof(aio_kind_counts));
    if (e->kinds == NULL || pthread_mutex_init(&e->channels_lock, NULL) != 0) return create_failed(e, e->n_nodes);
    for (int32_t i = 0; i < n_workers; i++) e->workers[i].kinds = &e->kinds[(size_t)i * AIO_KINDS];
    if (e->record_latency) { /* two histograms per worker, zeroed */
        e->hists = calloc(2 * (size_t)n_workers, sizeof(aio_hist));
        if (e->hists == NULL) {
            aio_engine_destroy(e);
            return AIO_ENOMEM;
        }
        for (int32_t i = 0; i < n_workers; i++) {
            e->workers[i].queue_wait = &e->hists[2 * i];
            e->workers[i].run_time = &e->hists[2 * i + 1];
        }
    }
    *out = e;
    return AIO_OK;
}

int aio_engine_start(aio_engine *e) {
    /* relaxed: nothing runs yet; an engine is started once (no restart after stop) */
    if (e->started != 0 || ld_relaxed(&e->stop) != 0) return AIO_EINVAL;
    for (int32_t i = 0; i < e->n_workers; i++) {
        int err = pthread_create(&e->workers[i].thread, NULL, aio_worker_main, &e->workers[i]);
        if (err != 0) {
            aio_engine_stop(e);
            errno = err; /* pthread_create returns the error instead of setting errno */
            return AIO_ESYS;
        }
        e->started++;
    }
    /* acquire: every worker's deque is initialised before anyone may steal from it */
    while (ld_acquire(&e->ready) < e->n_workers) sched_yield();
    if (ld_acquire(&e->start_failed) != 0) { /* acquire: ordered by `ready`; a deque failed */
        aio_engine_stop(e);
        return AIO_ENOMEM;
    }
    return AIO_OK;
}

/* After the workers are joined: complete a task that never started as cancelled. */
static void abandon(aio_engine *e, aio_task *t) {
    sub_relaxed(&e->nodes[t->node].load, (int64_t)t->weight); /* relaxed: a heuristic */
    t->status = AIO_STATUS_CANCELLED;
    t->rc = 0;
    t->worker = -1;
    add_relaxed(&e->abandoned, t->n_items > 0 ? t->n_items : 1); /* relaxed: statistics */
    if (t->n_items > 0) add_relaxed(&e->abandoned_batches, 1);   /* relaxed: statistics */
    add_relaxed(&e->abandoned_kind[t->kind], t->n_items > 0 ? t->n_items : 1); /* relaxed: statistics */
    if (t->high) add_relaxed(&e->abandoned_high, t->n_items > 0 ? t->n_items : 1); /* relaxed: statistics */
    aio_channel_complete(t->channel, t);
}

int aio_engine_stop(aio_engine *e) {
    /* seq_cst: a parker re-checks stop after announcing itself; a submitter that announced
     * itself before this store is waited for below, one that announces later sees it */
    st_seq_cst(&e->stop, 1);
    while (ld_seq_cst(&e->submitting) != 0) sched_yield(); /* seq_cst: see the comment at the top */
    aio_wake_all(e);
    for (int32_t i = 0; i < e->started; i++) pthread_join(e->workers[i].thread, NULL);
    e->started = 0;
    /* The workers are joined (their writes are visible): we own every queue now. */
    uint32_t streak = 0;
    for (int32_t i = 0; i < e->n_nodes; i++)
        for (aio_task *t; (t = aio_injector_pop(&e->nodes[i].injector, &streak)) != NULL;) abandon(e, t);
    for (int32_t i = 0; i < e->n_workers; i++) {
        aio_deque *d = &e->workers[i].deque;
        if (ld_relaxed(&d->buf) == NULL) continue; /* relaxed: joined; this worker never set up */
        for (aio_task *t; (t = aio_deque_pop(d)) != NULL;) abandon(e, t);
    }
    return AIO_OK;
}

void aio_engine_destroy(aio_engine *e) {
    if (e == NULL) return;
    if (e->started) aio_engine_stop(e);
    /* a worker that started has a deque; one that failed before init has buf == NULL */
    for (int32_t i = 0; i < e->n_workers; i++)
        if (ld_relaxed(&e->workers[i].deque.buf) != NULL) aio_deque_destroy(&e->workers[i].deque); /* relaxed: joined */
    for (int32_t i = 0; i < e->n_nodes; i++) aio_injector_destroy(&e->nodes[i].injector);
    aio_pool_destroy(&e->pool);
    pthread_mutex_lock(&e->channels_lock);
    bool no_channels = e->channels == NULL;
    pthread_mutex_unlock(&e->channels_lock);
    AIO_INVARIANT(no_channels, "every channel is destroyed before its engine");
    pthread_mutex_destroy(&e->channels_lock);
    free(e->kinds);
    free(e->hists);
    free(e->cpu_node);
    free(e->nodes);
    free(e->workers);
    free(e);
}

int aio_channel_create(aio_engine *e, aio_channel **out) {
    aio_channel *ch = aligned_alloc(AIO_CACHELINE, sizeof *ch);
    if (ch == NULL) return AIO_ENOMEM;
    memset(ch, 0, sizeof *ch);
    int rc = aio_channel_init(ch, e, &e->pool, e->capacity);
    if (rc == AIO_OK && e->record_latency && (ch->delivery = calloc(1, sizeof(aio_hist))) == NULL) {
        aio_channel_fini(ch);
        rc = AIO_ENOMEM;
    }
    if (rc != AIO_OK) {
        free(ch);
        return rc;
    }
    pthread_mutex_lock(&e->channels_lock);
    ch->next = e->channels;
    if (ch->next != NULL) ch->next->prev = ch;
    e->channels = ch;
    pthread_mutex_unlock(&e->channels_lock);
    *out = ch;
    return AIO_OK;
}

void aio_channel_destroy(aio_channel *ch) {
    if (ch == NULL) return;
    aio_engine *e = ch->engine;
    pthread_mutex_lock(&e->channels_lock);
    if (ch->prev != NULL) ch->prev->next = ch->next;
    else e->channels = ch->next;
    if (ch->next != NULL) ch->next->prev = ch->prev;
    if (ch->delivery != NULL) /* its deliveries stay in the engine's figures */
        aio_hist_add(e->retired_buckets, &e->retired, ch->delivery);
    pthread_mutex_unlock(&e->channels_lock);
    free(ch->delivery);
    aio_channel_fini(ch);
    free(ch);
}

static int32_t choose_node(aio_engine *e, int32_t node, int32_t cpu) {
    if (e->n_nodes == 1) return 0;
    if (node >= 0 && node < e->n_nodes) return node;
    int32_t mine = cpu >= 0 && cpu < e->n_cpus_map ? e->cpu_node[cpu] : -1;
    if (mine < 0) mine = 0;
    int32_t least = 0;
    int64_t least_load = INT64_MAX;
    for (int32_t i = 0; i < e->n_nodes; i++) {
        int64_t l = ld_relaxed(&e->nodes[i].load); /* relaxed: a heuristic */
        if (l < least_load) {
            least_load = l;
            least = i;
        }
    }
    int64_t my_load = ld_relaxed(&e->nodes[mine].load); /* relaxed: a heuristic */
    return my_load - least_load > e->threshold_units ? least : mine;
}

/* Push a prepared task and wake a worker for it; ends the submitter's announcement. */
static int enqueue(aio_engine *e, aio_task *t, int32_t node, int32_t priority, aio_task **task) {
    int32_t cpu = aio_current_cpu();
    t->node = choose_node(e, node, cpu);
    t->high = priority >= AIO_PRIORITY_HIGH;
    aio_node *n = &e->nodes[t->node];
    add_relaxed(&n->load, (int64_t)t->weight); /* relaxed: a heuristic */
    uint64_t items = t->n_items > 0 ? t->n_items : 1;
    add_relaxed(&n->submitted, items); /* relaxed: statistics */
    add_relaxed(&e->submitted, items); /* relaxed: statistics */
    if (t->high) add_relaxed(&e->submitted_high, items); /* relaxed: statistics */
    if (t->n_items > 0) add_relaxed(&e->batches_submitted, 1); /* relaxed: statistics */
    add_relaxed(&t->channel->inflight, 1);     /* relaxed: published to the worker by the push below */
    /* relaxed: a placement hint for the workers; written only when it changes (no line bouncing) */
    if (ld_relaxed(&n->submit_cpu) != cpu) st_relaxed(&n->submit_cpu, cpu);
    if (task != NULL) *task = t; /* before the push: a worker may complete t at once */
    AIO_INVARIANT(aio_injector_push(&n->injector, t), "injector lanes hold the pool's capacity");
    aio_node_notify(e, n, cpu);
    if (e->n_nodes > 1) aio_notify_thieves(e, n);
    sub_seq_cst(&e->submitting, 1); /* seq_cst: stop waits for this; our push is before it */
    return AIO_OK;
}

/* Announce a submission (ended by enqueue, or here on failure) and take a record. */
static aio_task *prepare(aio_engine *e, aio_channel *ch, uint64_t id, const aio_spec *s, int *rc) {
    add_seq_cst(&e->submitting, 1); /* seq_cst: before the stop check, see the comment at the top */
    if (ld_seq_cst(&e->stop)) {     /* seq_cst: as above */
        sub_seq_cst(&e->submitting, 1);
        *rc = AIO_ECLOSED;
        return NULL;
    }
    aio_task *t = aio_pool_alloc(&e->pool);
    if (t == NULL) {
        sub_seq_cst(&e->submitting, 1); /* seq_cst: as above */
        *rc = AIO_EFULL;
        return NULL;
    }
    t->id = id;
    /* relaxed: published to the worker by the injector push; a canceller holding an older id
     * fails its CAS against this value */
    st_relaxed(&t->cancel_word, id << 1);
    t->fn = s->fn;
    t->ctx = s->ctx;
    t->kind = s->kind;
    t->channel = ch;
    t->offsets = NULL;
    t->rcs = NULL;
    t->n_items = 0;
    t->deadline_ns = 0;
    t->weight = 1;
    t->status = AIO_STATUS_OK;
    t->submit_ns = e->record_latency ? aio_now_ns() : 0;
    t->end_ns = 0;
    *rc = AIO_OK;
    return t;
}

static bool spec_valid(const aio_spec *s) {
    return s->deadline_ns >= 0 && s->kind >= 0 && s->kind < AIO_KINDS;
}

/* One task through a spec. */
static int submit_one(aio_engine *e, aio_channel *ch, uint64_t id, const aio_spec *s, const uint8_t *in,
                      size_t in_len, uint8_t *out, aio_task **task) {
    if (ch == NULL || id == 0 || id > AIO_MAX_TASK_ID || !spec_valid(s) || (out == NULL && s->out_cap > AIO_INLINE_OUT) ||
        (in == NULL && in_len > 0))
        return AIO_EINVAL;
    int rc;
    aio_task *t = prepare(e, ch, id, s, &rc);
    if (t == NULL) return rc;
    t->in = in;
    t->in_len = in_len;
    t->out = out;
    t->out_cap = s->out_cap;
    t->weight = s->weight > 0 ? s->weight : 1;
    t->deadline_ns = s->deadline_ns > 0 ? aio_add_sat(aio_now_ns(), s->deadline_ns) : 0;
    return enqueue(e, t, s->node, s->priority, task);
}

int aio_submit(aio_engine *e, aio_channel *ch, uint64_t id, aio_kernel_fn fn, void *ctx,
               const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
               int32_t priority, int64_t deadline_ns, uint32_t weight, int32_t node, aio_task **task) {
    aio_spec s = {fn, ctx, out_cap, deadline_ns, priority, node, weight, 0};
    return submit_one(e, ch, id, &s, in, in_len, out, task);
}

/* A batch task; fn == NULL: a Python batch of n items (no buffers). */
static int submit_batch(aio_engine *e, aio_channel *ch, uint64_t id, const aio_spec *s, const uint8_t *in,
                        const uint64_t *offsets, uint32_t n, uint8_t *out, int64_t *rcs, aio_task **task) {
    bool py = s->fn == NULL;
    if (ch == NULL || id == 0 || id > AIO_MAX_TASK_ID || n == 0 || !spec_valid(s) ||
        (py ? in != NULL || offsets != NULL || out != NULL || rcs != NULL
            : offsets == NULL || rcs == NULL || (out == NULL && s->out_cap > 0) || (in == NULL && offsets[n] > 0)))
        return AIO_EINVAL;
    int rc;
    aio_task *t = prepare(e, ch, id, s, &rc);
    if (t == NULL) return rc;
    t->in = in;
    t->in_len = py ? 0 : (size_t)offsets[n];
    t->offsets = offsets;
    t->n_items = n;
    t->rcs = rcs;
    t->out = out;
    t->out_cap = s->out_cap;
    t->weight = n;
    t->deadline_ns = s->deadline_ns > 0 ? aio_add_sat(aio_now_ns(), s->deadline_ns) : 0;
    return enqueue(e, t, s->node, s->priority, task);
}

int aio_submit_batch(aio_engine *e, aio_channel *ch, uint64_t id, aio_kernel_fn fn, void *ctx,
                     const uint8_t *in, const uint64_t *offsets, uint32_t n, uint8_t *out, size_t stride,
                     int64_t *rcs, int32_t priority, int64_t deadline_ns, int32_t node, aio_task **task) {
    if (fn == NULL) return AIO_EINVAL; /* Python batches go through aio_channel_submit_batch */
    aio_spec s = {fn, ctx, stride, deadline_ns, priority, node, 1, 0};
    return submit_batch(e, ch, id, &s, in, offsets, n, out, rcs, task);
}

intptr_t aio_channel_submit(aio_channel *ch, const aio_spec *s, uint64_t id, const uint8_t *in, size_t in_len,
                            uint8_t *out) {
    if (ch == NULL || s == NULL) return AIO_EINVAL;
    aio_task *t = NULL;
    int rc = submit_one(ch->engine, ch, id, s, in, in_len, out, &t);
    return rc == AIO_OK ? (intptr_t)t : rc;
}

int64_t aio_channel_submit_many(aio_channel *ch, const aio_spec *s, uint64_t first_id, uint32_t n,
                                const uint8_t *in, const uint64_t *offsets, uint8_t *out, intptr_t *tasks) {
    if (ch == NULL || s == NULL || n == 0 || offsets == NULL || tasks == NULL || first_id == 0 ||
        first_id > AIO_MAX_TASK_ID - (n - 1) || (out == NULL && s->out_cap > AIO_INLINE_OUT))
        return AIO_EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = offsets[i], b = offsets[i + 1];
        if (b < a || (in == NULL && b > a)) return i > 0 ? (int64_t)i : AIO_EINVAL;
        aio_task *t = NULL;
        uint8_t *o = out != NULL ? out + (size_t)i * s->out_cap : NULL; /* no NULL + 0 */
        int rc = submit_one(ch->engine, ch, first_id + i, s, in != NULL ? in + a : NULL, (size_t)(b - a), o, &t);
        if (rc != AIO_OK) return i > 0 ? (int64_t)i : rc;
        tasks[i] = (intptr_t)t;
    }
    return n;
}

intptr_t aio_channel_submit_batch(aio_channel *ch, const aio_spec *s, uint64_t id, const uint8_t *in,
                                  const uint64_t *offsets, uint32_t n, uint8_t *out, int64_t *rcs) {
    if (ch == NULL || s == NULL) return AIO_EINVAL;
    aio_task *t = NULL;
    int rc = submit_batch(ch->engine, ch, id, s, in, offsets, n, out, rcs, &t);
    return rc == AIO_OK ? (intptr_t)t : rc;
}

void aio_task_cancel(aio_task *t, uint64_t id) {
    if (t == NULL || id == 0 || id > AIO_MAX_TASK_ID) return;
    uint64_t occupant = id << 1;
    /* relaxed: a hint read by the worker before it starts t; the CAS only makes sure it is t's
     * current task that gets the mark, not a later occupant of the record */
    cas_relaxed(&t->cancel_word, &occupant, occupant | 1);
}

void aio_engine_get_stats(aio_engine *e, aio_engine_stats *out) {
    memset(out, 0, sizeof *out);
    for (int32_t i = 0; i < e->n_workers; i++) {
        aio_worker *w = &e->workers[i];
        /* relaxed: statistics, momentarily inconsistent */
        out->completed += ld_relaxed(&w->completed);
        out->failed += ld_relaxed(&w->failed);
        out->cancelled += ld_relaxed(&w->cancelled);
        out->expired += ld_relaxed(&w->expired);
        out->batches_completed += ld_relaxed(&w->batches);
        out->finished_high += ld_relaxed(&w->finished_high);
    }
    out->finished_high += ld_relaxed(&e->abandoned_high);       /* relaxed: statistics */
    out->submitted_high = ld_relaxed(&e->submitted_high);       /* relaxed: statistics */
    out->cancelled += ld_relaxed(&e->abandoned);                 /* relaxed: statistics */
    out->batches_completed += ld_relaxed(&e->abandoned_batches); /* relaxed: statistics */
    out->batches_submitted = ld_relaxed(&e->batches_submitted);  /* relaxed: statistics */
    out->submitted = ld_relaxed(&e->submitted); /* relaxed: statistics */
    out->in_flight = aio_pool_in_use(&e->pool);
    out->capacity = e->capacity;
    out->n_workers = e->n_workers;
    out->n_nodes = e->n_nodes;
}

int aio_worker_get_stats(aio_engine *e, int32_t index, aio_worker_stats *out) {
    if (index < 0 || index >= e->n_workers) return AIO_EINVAL;
    aio_worker *w = &e->workers[index];
    /* relaxed: statistics, momentarily inconsistent */
    out->node = w->node;
    out->planned_cpu = w->planned_cpu;
    out->cpu = ld_relaxed(&w->cpu);
    out->pinned = ld_relaxed(&w->pinned);
    out->executed = ld_relaxed(&w->executed);
    out->steals_local = ld_relaxed(&w->steals_local);
    out->steals_remote = ld_relaxed(&w->steals_remote);
    out->stolen_from = ld_relaxed(&w->stolen_from);
    out->parks = ld_relaxed(&w->parks);
    out->wakeups = ld_relaxed(&w->wakeups);
    out->tid = ld_relaxed(&w->tid);
    out->parked = (int32_t)ld_relaxed(&w->park); /* relaxed: statistics */
    out->deque_size = ld_relaxed(&w->deque.buf) != NULL ? aio_deque_size(&w->deque) : 0;
    return AIO_OK;
}

int aio_node_get_stats(aio_engine *e, int32_t node, aio_node_stats *out) {
    if (node < 0 || node >= e->n_nodes) return AIO_EINVAL;
    aio_node *n = &e->nodes[node];
    out->load = ld_relaxed(&n->load);           /* relaxed: statistics */
    out->queued = (int64_t)aio_injector_size(&n->injector);
    out->submitted = ld_relaxed(&n->submitted); /* relaxed: statistics */
    return AIO_OK;
}

int aio_engine_get_latency(aio_engine *e, int32_t stage, uint64_t *buckets, aio_latency *out) {
    if (e == NULL || buckets == NULL || out == NULL || !e->record_latency ||
        (stage != AIO_LATENCY_QUEUE_WAIT && stage != AIO_LATENCY_RUN && stage != AIO_LATENCY_DELIVERY))
        return AIO_EINVAL;
    memset(out, 0, sizeof *out); /* used = 0: aio_hist_add zeroes the buckets as it reaches them */
    if (stage == AIO_LATENCY_DELIVERY) {
        pthread_mutex_lock(&e->channels_lock);
        memcpy(buckets, e->retired_buckets, sizeof *buckets * (size_t)e->retired.used);
        *out = e->retired;
        for (aio_channel *ch = e->channels; ch != NULL; ch = ch->next) aio_hist_add(buckets, out, ch->delivery);
        pthread_mutex_unlock(&e->channels_lock);
        return AIO_OK;
    }
    for (int32_t i = 0; i < e->n_workers; i++) {
        aio_worker *w = &e->workers[i];
        aio_hist_add(buckets, out, stage == AIO_LATENCY_QUEUE_WAIT ? w->queue_wait : w->run_time);
    }
    return AIO_OK;
}

int aio_engine_get_kinds(aio_engine *e, aio_kind_stats *out, int32_t n) {
    if (e == NULL || out == NULL || n < AIO_KINDS) return AIO_EINVAL;
    memset(out, 0, sizeof *out * AIO_KINDS);
    for (int32_t i = 0; i < e->n_workers; i++) {
        for (int32_t k = 0; k < AIO_KINDS; k++) {
            const aio_kind_counts *c = &e->workers[i].kinds[k];
            /* relaxed: statistics, momentarily inconsistent */
            out[k].completed += ld_relaxed(&c->completed);
            out[k].failed += ld_relaxed(&c->failed);
            out[k].cancelled += ld_relaxed(&c->cancelled);
            out[k].expired += ld_relaxed(&c->expired);
            out[k].run_ns += ld_relaxed(&c->run_ns);
        }
    }
    for (int32_t k = 0; k < AIO_KINDS; k++) out[k].cancelled += ld_relaxed(&e->abandoned_kind[k]); /* relaxed: statistics */
    return AIO_OK;
}

int32_t aio_hist_bucket_count(void) { return AIO_HIST_BUCKETS; }
int64_t aio_hist_bucket_lower(int32_t i) { return i < 0 || i >= AIO_HIST_BUCKETS ? -1 : aio_hist_lower(i); }
int64_t aio_hist_bucket_width(int32_t i) { return i < 0 || i >= AIO_HIST_BUCKETS ? -1 : aio_hist_width(i); }
