/* worker.c -- the worker thread: find a task, run it, complete it, park when idle.
 *
 * Find-task order: own deque (LIFO) -> own node's injector (high lane first, see injector.h;
 * grabs a small batch into the deque so peers can steal) -> steal from same-node peers
 * (random start) -> take from other nodes (their injector, then their workers' deques) only
 * while that node's load exceeds ours by threshold_units -> search (spin) for spin_ns ->
 * park on the node's futex word.
 *
 * A parked worker also counts as "work visible" a remote node's queued tasks once that node's
 * load exceeds its own by the threshold; a submitter that pushes a node past the threshold
 * notifies a parked worker of a node that may steal (aio_notify_thieves).
 *
 * Parking protocol (store-buffering; all accesses seq_cst):
 *   worker:    seq = wake_seq; sleepers++; if work visible: sleepers--, retry; else futex_wait(seq)
 *   submitter: publish task (seq_cst ring push); if searching == 0 && sleepers > 0: wake_seq++, wake 1
 * Either the submitter sees the sleeper, or the sleeper sees the task. The futex compares
 * wake_seq, so a wake that lands between the check and the wait is not lost.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "completion.h"
#include "engine.h"

#define STEAL_BATCH_MAX 16
#define INJECT_BATCH_MAX 8

int64_t aio_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int n) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Owner-only counter increment: a single writer, so a relaxed load + store suffices. */
static inline void bump(_Atomic uint64_t *c, uint64_t by) {
    st_relaxed(c, ld_relaxed(c) + by); /* relaxed: statistics, read approximately */
}

static inline uint64_t next_rand(aio_worker *w) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

void aio_node_notify(aio_engine *e, aio_node *n) {
    (void)e;
    /* seq_cst: after the caller's seq_cst publish of the task (see the protocol above) */
    if (ld_seq_cst(&n->searching) != 0) return; /* a searcher will find it */
    if (ld_seq_cst(&n->sleepers) == 0) return;  /* everyone is busy; they will come back */
    add_seq_cst(&n->wake_seq, 1); /* seq_cst: a parker that read the old value fails its futex_wait */
    futex_wake(&n->wake_seq, 1);
}

void aio_node_wake_all(aio_node *n) {
    add_seq_cst(&n->wake_seq, 1); /* seq_cst: every later futex_wait on the old value returns */
    futex_wake(&n->wake_seq, INT_MAX);
}

static bool remote_eligible(aio_engine *e, aio_node *own, aio_node *r);

/* Steal one task from d for w, then up to half of what is left into w's own deque. */
static aio_task *steal_from(aio_worker *w, aio_worker *victim, _Atomic uint64_t *counter) {
    void *item = NULL;
    aio_steal_result r;
    do {
        r = aio_deque_steal(&victim->deque, &item);
    } while (r == AIO_STEAL_RETRY);
    if (r != AIO_STEAL_SUCCESS) return NULL;
    uint64_t got = 1;
    int64_t more = aio_deque_size(&victim->deque) / 2;
    if (more > STEAL_BATCH_MAX) more = STEAL_BATCH_MAX;
    for (int64_t i = 0; i < more; i++) {
        void *extra = NULL;
        if (aio_deque_steal(&victim->deque, &extra) != AIO_STEAL_SUCCESS) break;
        if (aio_deque_push(&w->deque, extra) != 0) {
            /* out of memory growing our deque: back to its node's injector, and say so */
            aio_node *home = &w->engine->nodes[((aio_task *)extra)->node];
            aio_injector_push(&home->injector, extra);
            aio_node_notify(w->engine, home);
            break;
        }
        got++;
    }
    add_relaxed(&victim->stolen_from, got); /* relaxed: statistics */
    bump(counter, got);
    return item;
}

static aio_task *steal_node(aio_worker *w, aio_node *n, _Atomic uint64_t *counter) {
    if (n->n_workers == 0) return NULL;
    uint32_t start = (uint32_t)(next_rand(w) % (uint64_t)n->n_workers);
    for (int32_t k = 0; k < n->n_workers; k++) {
        aio_worker *victim = &w->engine->workers[n->first_worker + (int32_t)((start + (uint32_t)k) % (uint32_t)n->n_workers)];
        if (victim == w) continue;
        aio_task *t = steal_from(w, victim, counter);
        if (t != NULL) return t;
    }
    return NULL;
}

/* Pop from a node's injector; move up to a fair share of what is left into our deque. */
static aio_task *take_injected(aio_worker *w, aio_node *n) {
    aio_task *t = aio_injector_pop(&n->injector, &w->high_streak);
    if (t == NULL || !w->engine->enable_stealing) return t;
    aio_node *own = &w->engine->nodes[w->node];
    if (own->n_workers < 2) return t;
    size_t share = aio_injector_size(&n->injector) / (size_t)own->n_workers;
    if (share > INJECT_BATCH_MAX) share = INJECT_BATCH_MAX;
    size_t moved = 0;
    for (; moved < share; moved++) {
        aio_task *x = aio_injector_pop(&n->injector, &w->high_streak);
        if (x == NULL) break;
        if (aio_deque_push(&w->deque, x) != 0) { /* out of memory: leave it queued */
            aio_injector_push(&n->injector, x);
            break;
        }
    }
    /* peers may be parked; our deque push is release-only, so a sleeper can miss it -- then we
     * simply run the batch ourselves (no task is lost, only parallelism) */
    if (moved > 0) aio_node_notify(w->engine, own);
    return t;
}

static aio_task *find_task(aio_worker *w) {
    aio_engine *e = w->engine;
    aio_node *own = &e->nodes[w->node];
    aio_task *t = aio_deque_pop(&w->deque);
    if (t != NULL) return t;
    t = take_injected(w, own);
    if (t != NULL) return t;
    if (!e->enable_stealing) return NULL;
    t = steal_node(w, own, &w->steals_local);
    if (t != NULL) return t;
    if (e->n_nodes < 2) return NULL;
    for (int32_t k = 1; k < e->n_nodes; k++) {
        aio_node *r = &e->nodes[(w->node + k) % e->n_nodes];
        if (!remote_eligible(e, own, r)) continue;
        t = aio_injector_pop(&r->injector, &w->high_streak);
        if (t != NULL) {
            bump(&w->steals_remote, 1);
            return t;
        }
        t = steal_node(w, r, &w->steals_remote);
        if (t != NULL) return t;
    }
    return NULL;
}

/* A remote node whose queued load exceeds ours by the threshold may be stolen from. */
static bool remote_eligible(aio_engine *e, aio_node *own, aio_node *r) {
    /* relaxed: a heuristic; the injector check that follows it is what synchronises */
    return ld_relaxed(&r->load) - ld_relaxed(&own->load) > e->threshold_units;
}

static bool work_visible(aio_worker *w) {
    aio_engine *e = w->engine;
    aio_node *own = &e->nodes[w->node];
    if (aio_injector_ready(&own->injector)) return true;
    if (!e->enable_stealing) return false;
    for (int32_t i = 0; i < own->n_workers; i++)
        if (aio_deque_size(&e->workers[own->first_worker + i].deque) > 0) return true;
    for (int32_t k = 1; k < e->n_nodes; k++) {
        aio_node *r = &e->nodes[(w->node + k) % e->n_nodes];
        /* the seq_cst injector check first: it orders the (relaxed) load reads after it */
        if (aio_injector_ready(&r->injector) && remote_eligible(e, own, r)) return true;
    }
    return false;
}

void aio_notify_thieves(aio_engine *e, aio_node *n) {
    if (!e->enable_stealing) return;
    for (int32_t i = 0; i < e->n_nodes; i++) {
        aio_node *r = &e->nodes[i];
        if (r != n && remote_eligible(e, r, n)) {
            aio_node_notify(e, r);
            return;
        }
    }
}

static void run_task(aio_worker *w, aio_task *t) {
    aio_engine *e = w->engine;
    /* relaxed: the load figure is a heuristic for placement and remote stealing */
    sub_relaxed(&e->nodes[t->node].load, (int64_t)t->weight);
    t->worker = w->index;
    t->rc = 0;
    if (ld_relaxed(&t->cancel_id) == t->id) { /* relaxed: a hint; a late cancel lets the task run */
        t->status = AIO_STATUS_CANCELLED;
        bump(&w->cancelled, 1);
    } else if (t->deadline_ns != 0 && aio_now_ns() > t->deadline_ns) {
        t->status = AIO_STATUS_EXPIRED;
        bump(&w->expired, 1);
    } else {
        if (t->fn == NULL) {
            t->status = e->py_entry(t->id);
        } else if (t->n_items > 0) {
            for (uint32_t i = 0; i < t->n_items; i++) {
                uint64_t a = t->offsets[i], b = t->offsets[i + 1];
                uint8_t *o = t->out + (size_t)i * t->out_cap;
                int64_t rc = t->fn(t->in + a, (size_t)(b - a), o, t->out_cap, t->ctx);
                t->rcs[i] = rc > (int64_t)t->out_cap ? -2 : rc;
            }
            t->rc = t->n_items;
            t->status = AIO_STATUS_OK;
        } else {
            uint8_t *o = t->out != NULL ? t->out : t->inline_out;
            int64_t rc = t->fn(t->in, t->in_len, o, t->out_cap, t->ctx);
            if (rc > (int64_t)t->out_cap) rc = -2; /* a kernel that claims more than out_cap is broken */
            t->rc = rc;
            t->status = rc < 0 ? AIO_STATUS_FAILED : AIO_STATUS_OK;
        }
        bump(t->status == AIO_STATUS_OK ? &w->completed : &w->failed, 1);
    }
    bump(&w->executed, 1);
    aio_channel_complete(t->channel, t);
}

static void park(aio_worker *w, aio_node *n) {
    aio_engine *e = w->engine;
    uint32_t seq = ld_seq_cst(&n->wake_seq); /* seq_cst: read before announcing ourselves */
    add_seq_cst(&n->sleepers, 1);            /* seq_cst: submitters that publish later see us */
    if (!work_visible(w) && !ld_seq_cst(&e->stop)) { /* seq_cst: see the protocol above */
        bump(&w->parks, 1);
        futex_wait(&n->wake_seq, seq);
    }
    sub_seq_cst(&n->sleepers, 1); /* seq_cst: submitters stop counting us */
}

void *aio_worker_main(void *arg) {
    aio_worker *w = arg;
    aio_engine *e = w->engine;
    aio_node *n = &e->nodes[w->node];
    int32_t pinned = 0;
    if (e->enable_affinity && w->planned_cpu >= 0) pinned = aio_pin_current_thread(w->planned_cpu) == AIO_OK;
    st_relaxed(&w->pinned, pinned);             /* relaxed: statistics */
    st_relaxed(&w->cpu, aio_current_cpu());     /* relaxed: statistics */
    st_relaxed(&w->tid, (int32_t)syscall(SYS_gettid)); /* relaxed: statistics */
    /* first touch: the deque's buffer is allocated by its own (pinned) thread, on its node */
    int ok = aio_deque_init(&w->deque, 256) == 0;
    /* release: the starter (and thieves, via it) see the initialised deque */
    if (!ok) add_acq_rel(&e->start_failed, 1); /* acq_rel: seen by the starter with `ready` below */
    add_acq_rel(&e->ready, 1);                 /* release: the starter sees our set-up (and failure) */
    if (!ok) return NULL;
    for (;;) {
        /* relaxed: stop is a plain flag; once set, queued tasks are abandoned (aio_engine_stop) */
        if (ld_relaxed(&e->stop)) break;
        aio_task *t = find_task(w);
        if (t != NULL) {
            run_task(w, t);
            continue;
        }
        add_seq_cst(&n->searching, 1);   /* seq_cst: submitters that see us searching skip the wake */
        int64_t until = aio_now_ns() + e->spin_ns;
        unsigned spins = 0;
        while (t == NULL && !ld_relaxed(&e->stop)) { /* relaxed: rechecked after the loop */
            t = find_task(w);
            if (t != NULL) break;
            if ((++spins & 63) == 0 && aio_now_ns() >= until) break;
            cpu_relax();
        }
        /* seq_cst: after this a submitter may rely on waking us instead */
        int32_t was = sub_seq_cst(&n->searching, 1);
        if (t != NULL) {
            /* the last searcher found work: if more is queued, get another worker searching */
            if (was == 1 && aio_injector_ready(&n->injector)) aio_node_notify(e, n);
            run_task(w, t);
            continue;
        }
        if (ld_relaxed(&e->stop)) break; /* relaxed: as above */
        park(w, n);
    }
    return NULL;
}
