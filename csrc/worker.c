/* worker.c -- the worker thread: find a task, run it, complete it, search, park.
 *
 * Find-task order: own deque (LIFO) -> own node's injector (high lane first, see injector.h;
 * grabs a small batch into the deque so peers can steal) -> steal from same-node peers
 * (random start) -> take from other nodes (their injector, then their workers' deques) only
 * while that node's load exceeds ours by threshold_units.
 *
 * Park / wake / search protocol (Tokio's searching rule; model/park_wake.pml checks it with
 * spin). Every access below is seq_cst, so either side of each store-buffering pair sees the
 * other. Per node: S = searching, P = parked count; per worker: its park flag (futex word).
 *   submitter: publish task; notify(cpu)
 *   notify:    if S != 0 or P == 0: return          (a searcher, or every awake worker, will see it)
 *              claim: CAS S 0 -> 1, else return      (the woken worker is counted as searching)
 *              unpark one: CAS flag 1 -> 0 (the worker on `cpu` first), P--, futex_wake
 *              nobody parked after all: S--, and if work is visible try again
 *   worker:    out of work: become a searcher if S < cap (CAS S s -> s+1), else park
 *              search: spin find_task for the spin budget; none: S--, park
 *              found as searcher: was = S--; if was == 1 and work is visible: notify (wake the next)
 *   park:      flag = 1, P++; if work visible: CAS flag 1 -> 0 (P--, S++, search) or, if a waker
 *              cleared it first, search (it counted us); else futex_wait while flag == 1, then search
 * Cost awareness (docs/scheduling.md): waking a parked thread on another vCPU costs 65-140 us in
 * a VM, on the submitter's own CPU 3-15 us. So a submitter wakes the worker pinned to its own
 * CPU first (AIO_WAKE_LOCAL); that worker never spins (it would take the CPU from the event
 * loop): when arrivals of native tasks are dense it hands the searching role to a worker on
 * another CPU, which spins for spin_ns -- only while recent idle gaps were shorter than spin_ns
 * (adaptive_spin). Under AIO_WAKE_LOCAL a worker whose last task was a Python job or a native task
 * longer than LOCAL_TASK_NS does not spin (see spin_budget).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "completion.h"
#include "engine.h"
#include "invariant.h"

/* A test seam (csrc/tests/replay_steal.c): called while a stolen extra task is in our hands. */
#ifndef AIO_TEST_STEAL_HOOK
#define AIO_TEST_STEAL_HOOK(w, victim, item) ((void)0)
#endif

#define STEAL_BATCH_MAX 16
/* A native task longer than this runs better on the loop's CPU (spin_budget); measured with
 * kernels.spin: 20 us ran 53 us p50 served by a spinning worker on the other CPU, 39 us local. */
#define LOCAL_TASK_NS 5000
#define INJECT_BATCH_MAX 8

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Owner-only counter increment: a single writer, so a relaxed load + store suffices. */
static inline uint64_t next_rand(aio_worker *w) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

/* Clear w's park flag if it is set; on success the caller owns waking it. */
static bool unpark(aio_node *n, aio_worker *w) {
    uint32_t one = 1;
    /* seq_cst (also on failure): exactly one of the waker and the parker's own cancel clears the
     * flag; a failed read is one side of the pair with park()'s flag store / stop re-check */
    if (!cas_seq_cst_both(&w->park, &one, 0)) return false;
    sub_seq_cst(&n->parked, 1); /* seq_cst: notifiers that read P after this skip w */
    add_relaxed(&w->wakeups, 1); /* relaxed: statistics */
    futex_wake(&w->park);
    return true;
}

/* Unpark one parked worker of n: under AIO_WAKE_LOCAL the ones pinned to `cpu` first. */
static bool unpark_one(aio_engine *e, aio_node *n, int32_t cpu) {
    aio_worker *first = &e->workers[n->first_worker];
    if (e->wake_policy == AIO_WAKE_LOCAL && cpu >= 0)
        for (int32_t i = 0; i < n->n_workers; i++)
            if (first[i].planned_cpu == cpu && ld_relaxed(&first[i].pinned) && unpark(n, &first[i])) return true;
    uint32_t start = add_relaxed(&n->wake_rr, 1); /* relaxed: only spreads the wake-ups */
    for (int32_t k = 0; k < n->n_workers; k++) {
        aio_worker *w = &first[(start + (uint32_t)k) % (uint32_t)n->n_workers];
        if (unpark(n, w)) return true;
    }
    return false;
}

static bool node_work_visible(aio_engine *e, aio_node *n);

/* Claim a wake-up for node n: false when a worker searches or none is parked. On true, S is 1
 * for the worker the caller will unpark (or the caller gives the claim back). */
static bool claim_wakeup(aio_node *n) {
    /* seq_cst: after the caller's seq_cst publish; a searcher leaving later sees the work */
    if (ld_seq_cst(&n->searching) != 0) return false;
    /* seq_cst: a worker that parks after this read re-checks the queues after announcing */
    if (ld_seq_cst(&n->parked) == 0) return false;
    int32_t zero = 0;
    /* seq_cst: the worker we wake counts as searching from here on */
    return cas_seq_cst(&n->searching, &zero, 1);
}

void aio_node_notify(aio_engine *e, aio_node *n, int32_t cpu) {
    for (;;) {
        if (!claim_wakeup(n)) return;
        if (unpark_one(e, n, cpu)) return;
        /* Nobody was parked after all: give the claim back. A submitter that saw our claim and
         * skipped its wake-up published its task before that; look again. seq_cst: as above */
        sub_seq_cst(&n->searching, 1);
        if (!node_work_visible(e, n)) return;
    }
}

void aio_wake_all(aio_engine *e) {
    for (int32_t i = 0; i < e->n_workers; i++) {
        aio_node *n = &e->nodes[e->workers[i].node];
        add_seq_cst(&n->searching, 1); /* seq_cst: every woken worker is counted as searching */
        if (!unpark(n, &e->workers[i])) sub_seq_cst(&n->searching, 1); /* seq_cst: it was awake */
    }
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
        AIO_TEST_STEAL_HOOK(w, victim, extra);
        if (aio_deque_push(&w->deque, extra) != 0) {
            /* out of memory growing our deque: back to its node's injector, and say so */
            aio_node *home = &w->engine->nodes[((aio_task *)extra)->node];
            AIO_INVARIANT(aio_injector_push(&home->injector, extra), "injector lanes hold the pool's capacity");
            aio_node_notify(w->engine, home, -1);
            break;
        }
        got++;
    }
    add_relaxed(&victim->stolen_from, got); /* relaxed: statistics */
    bump_owned(counter, got);
    /* the extra tasks were invisible to everyone between their steal and our seq_cst push: a
     * searcher that looked then may have left; if none searches now, wake one for them */
    if (got > 1) aio_node_notify(w->engine, &w->engine->nodes[w->node], -1);
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
    bool pushed_back = false;
    for (; moved < share; moved++) {
        aio_task *x = aio_injector_pop(&n->injector, &w->high_streak);
        if (x == NULL) break;
        if (aio_deque_push(&w->deque, x) != 0) { /* out of memory: leave it queued */
            AIO_INVARIANT(aio_injector_push(&n->injector, x), "injector lanes hold the pool's capacity");
            pushed_back = true;
            break;
        }
    }
    /* peers may be parked, and the moved tasks were invisible while in our hands: our seq_cst
     * publish (deque or injector) pairs with their park re-check; wake one if none searches */
    if (moved > 0 || pushed_back) aio_node_notify(w->engine, own, -1);
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
            bump_owned(&w->steals_remote, 1);
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

/* Work on node n that one of its workers could take: its injector or a deque of its workers. */
static bool node_work_visible(aio_engine *e, aio_node *n) {
    if (aio_injector_ready(&n->injector)) return true; /* seq_cst ring reads, see ring.h */
    if (!e->enable_stealing) return false;
    for (int32_t i = 0; i < n->n_workers; i++)
        if (aio_deque_visible(&e->workers[n->first_worker + i].deque)) return true;
    return false;
}

/* What a parking worker of w's node re-checks after announcing itself. */
static bool work_visible(aio_worker *w) {
    aio_engine *e = w->engine;
    aio_node *own = &e->nodes[w->node];
    if (node_work_visible(e, own)) return true;
    if (!e->enable_stealing) return false;
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
            aio_node_notify(e, r, -1);
            return;
        }
    }
}

/* Run a batch task's items; returns how many failed. */
static uint64_t run_items(aio_engine *e, aio_task *t) {
    if (t->fn == NULL) { /* a Python batch: the entry runs every item and counts the failures */
        int32_t failed = e->py_entry(t->id);
        return failed < 0 ? t->n_items : (uint64_t)failed > t->n_items ? t->n_items : (uint64_t)failed;
    }
    uint64_t failed = 0;
    for (uint32_t i = 0; i < t->n_items; i++) {
        uint64_t a = t->offsets[i], b = t->offsets[i + 1];
        uint8_t *o = t->out != NULL ? t->out + (size_t)i * t->out_cap : NULL; /* no NULL + 0 */
        const uint8_t *x = t->in != NULL ? t->in + a : NULL;                   /* no NULL + 0 */
        int64_t rc = t->fn(x, (size_t)(b - a), o, t->out_cap, t->ctx);
        t->rcs[i] = rc > (int64_t)t->out_cap ? -2 : rc;
        failed += t->rcs[i] < 0;
    }
    return failed;
}

static void run_task(aio_worker *w, aio_task *t) {
    aio_engine *e = w->engine;
    /* relaxed: the load figure is a heuristic for placement and remote stealing */
    sub_relaxed(&e->nodes[t->node].load, (int64_t)t->weight);
    t->worker = w->index;
    t->rc = 0;
    uint64_t items = t->n_items > 0 ? t->n_items : 1; /* the counters count items */
    aio_kind_counts *kind = &w->kinds[t->kind];
    if (ld_relaxed(&t->cancel_word) & 1) { /* relaxed: a hint; a late cancel lets the task run */
        t->status = AIO_STATUS_CANCELLED;
        bump_owned(&w->cancelled, items);
        bump_owned(&kind->cancelled, items);
    } else if (t->deadline_ns != 0 && aio_now_ns() > t->deadline_ns) {
        t->status = AIO_STATUS_EXPIRED;
        bump_owned(&w->expired, items);
        bump_owned(&kind->expired, items);
    } else {
        int64_t started = aio_now_ns();
        if (w->queue_wait != NULL) aio_hist_record(w->queue_wait, started - t->submit_ns);
        if (t->n_items > 0) {
            uint64_t failed = run_items(e, t);
            t->rc = t->n_items;
            t->status = AIO_STATUS_OK;
            bump_owned(&w->completed, items - failed);
            bump_owned(&w->failed, failed);
            bump_owned(&kind->completed, items - failed);
            bump_owned(&kind->failed, failed);
        } else {
            if (t->fn == NULL) {
                t->status = e->py_entry(t->id);
            } else {
                uint8_t *o = t->out != NULL ? t->out : t->inline_out;
                int64_t rc = t->fn(t->in, t->in_len, o, t->out_cap, t->ctx);
                if (rc > (int64_t)t->out_cap) rc = -2; /* a kernel that claims more than out_cap is broken */
                t->rc = rc;
                t->status = rc < 0 ? AIO_STATUS_FAILED : AIO_STATUS_OK;
            }
            bump_owned(t->status == AIO_STATUS_OK ? &w->completed : &w->failed, 1);
            bump_owned(t->status == AIO_STATUS_OK ? &kind->completed : &kind->failed, 1);
        }
        int64_t ended = aio_now_ns(), ran = ended - started;
        bump_owned(&kind->run_ns, (uint64_t)(ran > 0 ? ran : 0));
        if (w->run_time != NULL) {
            aio_hist_record(w->run_time, ran);
            t->end_ns = ended; /* for the delivery histogram; published with the record */
        }
        /* see spin_budget: Python jobs and tasks the loop goes to sleep waiting for */
        w->runs_local = t->fn == NULL || ran > LOCAL_TASK_NS;
    }
    if (t->n_items > 0) bump_owned(&w->batches, 1);
    if (t->high) bump_owned(&w->finished_high, items);
    bump_owned(&w->executed, 1);
    aio_channel_complete(t->channel, t);
}

/* Under AIO_WAKE_LOCAL, the worker pinned to the CPU the node's submitters run on shares that
 * CPU with their event loop: spinning there would take the CPU from the loop. */
static bool on_submit_cpu(aio_worker *w, aio_node *n) {
    /* relaxed: a placement hint */
    return w->engine->wake_policy == AIO_WAKE_LOCAL && ld_relaxed(&w->pinned) &&
           w->planned_cpu == ld_relaxed(&n->submit_cpu);
}

/* Out of work: the start of an idle period (for the adaptive spin's average). */
static void idle_begin(aio_worker *w) {
    if (w->idle_since_ns == 0) w->idle_since_ns = aio_now_ns();
}

/* Got work: the idle period ends; fold its length into the average (weight 1/4). */
static void idle_end(aio_worker *w) {
    if (w->idle_since_ns == 0) return;
    int64_t gap = aio_now_ns() - w->idle_since_ns;
    w->idle_since_ns = 0;
    w->idle_ewma_ns += (gap - w->idle_ewma_ns) / 4;
}

/* Arrivals are dense when this worker's recent idle periods were shorter than the spin budget. */
static bool arrivals_dense(aio_worker *w) {
    return w->idle_ewma_ns <= w->engine->spin_ns;
}

/* Which tasks a spinning worker on another CPU serves well: tiny native ones, which finish before
 * the awaiting loop has gone to sleep, so the completion finds it awake. A Python job needs the
 * GIL, which the loop holds until it sleeps (a cross-CPU GIL hand-off on top), and a native task
 * longer than LOCAL_TASK_NS finds the loop asleep (waking another vCPU costs 40-140 us here):
 * both are left to the worker on the loop's CPU, woken there, whose completion wakes the loop on
 * its own CPU. So a worker whose last task was one of them does not spin. */
static int64_t spin_budget(aio_worker *w, aio_node *n) {
    aio_engine *e = w->engine;
    if (on_submit_cpu(w, n) || (e->wake_policy == AIO_WAKE_LOCAL && w->runs_local)) return 0;
    if (e->adaptive_spin && !arrivals_dense(w)) return 0;
    return e->spin_ns;
}

/* Become a searcher unless the node has max_searchers already (Tokio's cap). */
static bool begin_search(aio_node *n) {
    int32_t s = ld_seq_cst(&n->searching); /* seq_cst: part of the protocol's single order */
    while (s < n->max_searchers)
        if (cas_seq_cst(&n->searching, &s, s + 1)) return true; /* seq_cst: as above */
    return false;
}

/* Leave the searching role having found work: the last searcher wakes the next if work remains. */
static void end_search_found(aio_engine *e, aio_node *n) {
    int32_t was = sub_seq_cst(&n->searching, 1); /* seq_cst: a submitter that reads 0 after this wakes */
    AIO_INVARIANT(was >= 1, "searching count went negative");
    if (was == 1 && node_work_visible(e, n)) aio_node_notify(e, n, -1);
}

/* Leave the searching role empty-handed (then park). */
static void end_search_empty(aio_node *n) {
    int32_t was = sub_seq_cst(&n->searching, 1); /* seq_cst: the park re-check comes after this */
    AIO_INVARIANT(was >= 1, "searching count went negative");
}

/* Spin on find_task for the budget (at least one attempt). */
static aio_task *search(aio_worker *w, aio_node *n) {
    aio_engine *e = w->engine;
    int64_t budget = spin_budget(w, n);
    int64_t until = budget > 0 ? aio_add_sat(aio_now_ns(), budget) : 0;
    for (unsigned spins = 1;; spins++) {
        aio_task *t = find_task(w);
        if (t != NULL) return t;
        if (ld_relaxed(&e->stop)) return NULL; /* relaxed: rechecked before parking */
        if (until == 0 || ((spins & 15) == 0 && aio_now_ns() >= until)) return NULL;
        cpu_relax();
    }
}

/* The worker on the submitters' CPU, out of work while arrivals are dense: hand the searching
 * role to a parked worker on another CPU (it will spin there), instead of spinning here. */
static void hand_off_search(aio_worker *w, aio_node *n) {
    aio_engine *e = w->engine;
    if (e->n_workers < 2 || !arrivals_dense(w) || e->spin_ns == 0 || w->runs_local) return;
    if (!claim_wakeup(n)) return;
    aio_worker *first = &e->workers[n->first_worker];
    for (int32_t i = 0; i < n->n_workers; i++) {
        aio_worker *peer = &first[i];
        if (peer == w || peer->planned_cpu == w->planned_cpu) continue;
        /* relaxed: a hint, published to the peer by unpark's seq_cst CAS; our average of idle
         * gaps is what says arrivals are dense (the peer's own, from long asleep, would not) */
        st_relaxed(&peer->handoff_ewma_ns, w->idle_ewma_ns > 0 ? w->idle_ewma_ns : 1);
        if (unpark(n, peer)) return;
        st_relaxed(&peer->handoff_ewma_ns, 0); /* relaxed: not woken by us after all */
    }
    end_search_empty(n); /* nobody to hand it to; we park right after and re-check the queues */
}

/* Woken by a hand-off: adopt the hander's idle average and start a fresh idle period, so it
 * spins for the dense arrivals it was woken for. */
static void adopt_handoff(aio_worker *w) {
    int64_t h = xchg_acq_rel(&w->handoff_ewma_ns, 0); /* acq_rel: a hint; unpark ordered it */
    if (h <= 0) return;
    w->idle_ewma_ns = h;
    w->idle_since_ns = aio_now_ns();
    w->runs_local = 0; /* the hander's last task was a short native one: spin for what it saw */
}

enum park_result { PARK_CANCELLED, PARK_WOKEN };

/* Announce, re-check, sleep. PARK_WOKEN: a waker cleared our flag and counted us as searching.
 * PARK_CANCELLED: work is visible and we took our flag back (not counted as searching). */
static enum park_result park(aio_worker *w, aio_node *n) {
    aio_engine *e = w->engine;
    st_seq_cst(&w->park, 1);    /* seq_cst: a notifier that reads our flag after this can wake us */
    add_seq_cst(&n->parked, 1); /* seq_cst: notifiers that read P after this look for us */
    if (work_visible(w) || ld_seq_cst(&e->stop)) { /* seq_cst: after the announcement */
        uint32_t one = 1;
        /* seq_cst: either we take our flag back or a waker did (and counted us as searching) */
        if (cas_seq_cst(&w->park, &one, 0)) {
            sub_seq_cst(&n->parked, 1); /* seq_cst: as above */
            return PARK_CANCELLED;
        }
        return PARK_WOKEN;
    }
    bump_owned(&w->parks, 1);
    while (ld_seq_cst(&w->park) == 1) futex_wait(&w->park, 1); /* seq_cst: the waker's clear */
    return PARK_WOKEN;
}

/* Idle: search (if allowed), then park until woken, until a task turns up or the engine stops. */
static aio_task *idle(aio_worker *w, aio_node *n) {
    aio_engine *e = w->engine;
    idle_begin(w);
    bool searching;
    if (on_submit_cpu(w, n)) {
        hand_off_search(w, n);
        searching = false;
    } else {
        searching = begin_search(n);
    }
    for (;;) {
        if (searching) {
            aio_task *t = search(w, n);
            if (t != NULL) {
                end_search_found(e, n);
                return t;
            }
            end_search_empty(n);
        }
        if (ld_relaxed(&e->stop)) return NULL; /* relaxed: the park re-checks it seq_cst */
        /* Cancelled: work turned up that a submitter may have left to a searcher (it saw S > 0
         * and skipped its wake-up): search for it as a searcher, so that on finding it we wake
         * the next if more is queued. Taking one task without that stranded the rest of a
         * burst (stress_engine, burst with 8 workers). seq_cst: protocol order */
        if (park(w, n) == PARK_CANCELLED) add_seq_cst(&n->searching, 1);
        else adopt_handoff(w);
        searching = true;
        if (ld_relaxed(&e->stop)) { /* relaxed: woken by aio_wake_all */
            end_search_empty(n);
            return NULL;
        }
    }
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
    if (!ok) add_acq_rel(&e->start_failed, 1); /* acq_rel: seen by the starter with `ready` below */
    add_acq_rel(&e->ready, 1);                 /* release: the starter sees our set-up (and failure) */
    if (!ok) return NULL;
    for (;;) {
        /* relaxed: stop is a plain flag; aio_engine_stop completes what is left queued */
        if (ld_relaxed(&e->stop)) break;
        aio_task *t = find_task(w);
        if (t == NULL) t = idle(w, n);
        if (t == NULL) continue;
        idle_end(w);
        run_task(w, t);
    }
    return NULL;
}
