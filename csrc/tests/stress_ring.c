/* stress_ring.c -- standalone stress test of the bounded MPMC ring (csrc/ring.c).
 *
 * Usage: stress_ring [N [PRODUCERS [CONSUMERS [CAPACITY]]]]
 *   N          items in total over the concurrent phases (default 1000000)
 *   PRODUCERS  producer threads (default 4)
 *   CONSUMERS  consumer threads (default 4)
 *   CAPACITY   ring capacity for a single concurrent phase (power of two); default: three
 *              phases with capacities 2, 8 and 64 (N/3 items each), so the ring is full or
 *              empty most of the time and wraps around N/capacity times
 *
 * Sections:
 *   smoke   single thread: init argument checks; push CAPACITY items succeed, the next push
 *           fails (full), size/ready agree; pop all in FIFO order; pop on empty gives NULL;
 *           thousands of random push-k/pop-k cycles across the wrap-around, checking order.
 *   mpmc    PRODUCERS push their own sequence 0..N/P-1 (spinning/yielding on full), CONSUMERS
 *           pop (yielding on empty). Items are pointers to per-item plain words written by
 *           the producer before the push and read by the consumer after the pop, so a missing
 *           release/acquire in the ring is a data race TSan reports. Checks: every item
 *           delivered exactly once (0 lost, 0 duplicated, payload intact) and FIFO per
 *           producer (each consumer sees each producer's sequence numbers strictly
 *           increasing); after the phase the ring is empty.
 *   population  PRODUCERS+CONSUMERS threads circulate exactly `capacity` tokens (capacity 4
 *           and 64, N/4 pop+push cycles each): a ring that never holds more than its
 *           capacity must never refuse a push (pool.c, engine.c and completion.c rely on it);
 *           checks 0 refused pushes and every token present exactly once at the end.
 *
 * Prints one line per section and a final summary; exits 0 when all pass, 1 otherwise.
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -Icsrc -Icsrc/kernels \
 *            csrc/tests/stress_ring.c csrc/ring.c -o stress_ring
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "stress_common.h"
#include "ring.h"

static inline void *enc(uint64_t i) { return (void *)(uintptr_t)(i + 1); }

/* ------------------------------------------------------------------ smoke (one thread) */

static void smoke_capacity(size_t cap) {
    aio_ring r;
    if (aio_ring_init(&r, cap) != 0) {
        CHECK(0, "init(%zu) failed", cap);
        return;
    }
    CHECK(aio_ring_pop(&r) == NULL, "pop on new ring (cap %zu) not NULL", cap);
    CHECK(!aio_ring_ready(&r), "ready on new ring");
    CHECK(aio_ring_size(&r) == 0, "size of new ring not 0");

    uint64_t next_push = 0, next_pop = 0;
    /* fill to capacity, one more fails */
    for (size_t i = 0; i < cap; i++) CHECK(aio_ring_push(&r, enc(next_push++)), "push %zu of %zu failed", i, cap);
    CHECK(!aio_ring_push(&r, enc(999999)), "push on full ring (cap %zu) succeeded", cap);
    CHECK(aio_ring_size(&r) == cap, "size %zu != cap %zu", aio_ring_size(&r), cap);
    CHECK(aio_ring_ready(&r), "ready false on full ring");
    /* drain in order */
    for (size_t i = 0; i < cap; i++) {
        void *p = aio_ring_pop(&r);
        CHECK(p == enc(next_pop), "FIFO: pop got %p, expected %p", p, enc(next_pop));
        next_pop++;
    }
    CHECK(aio_ring_pop(&r) == NULL, "pop on drained ring not NULL");
    CHECK(!aio_ring_ready(&r), "ready on drained ring");
    CHECK(aio_ring_size(&r) == 0, "size of drained ring not 0");

    /* wrap-around many times: random k pushes then random j <= in-ring pops */
    uint64_t rng = 0x1234567 + cap;
    for (int round = 0; round < 20000; round++) {
        size_t in = (size_t)(next_push - next_pop);
        size_t k = (size_t)(xorshift64(&rng) % (cap - in + 1));
        for (size_t i = 0; i < k; i++) CHECK(aio_ring_push(&r, enc(next_push++)), "push in wrap round %d", round);
        in += k;
        if (in == cap) CHECK(!aio_ring_push(&r, enc(999999)), "push on full ring succeeded (wrap round %d)", round);
        size_t j = (size_t)(xorshift64(&rng) % (in + 1));
        for (size_t i = 0; i < j; i++) {
            void *p = aio_ring_pop(&r);
            CHECK(p == enc(next_pop), "wrap FIFO: got %p, expected %p (round %d)", p, enc(next_pop), round);
            next_pop++;
        }
        if (j == in) CHECK(aio_ring_pop(&r) == NULL, "pop on empty ring not NULL (wrap round %d)", round);
        if (g_failures > 20) break;
    }
    while (next_pop < next_push) {
        void *p = aio_ring_pop(&r);
        CHECK(p == enc(next_pop), "final FIFO: got %p, expected %p", p, enc(next_pop));
        next_pop++;
    }
    CHECK(aio_ring_pop(&r) == NULL, "pop after final drain not NULL");
    aio_ring_destroy(&r);
}

static void smoke(void) {
    aio_ring r;
    CHECK(aio_ring_init(&r, 0) == -1, "capacity 0 accepted");
    CHECK(aio_ring_init(&r, 1) == -1, "capacity 1 accepted");
    CHECK(aio_ring_init(&r, 3) == -1, "capacity 3 accepted");
    CHECK(aio_ring_init(&r, 12) == -1, "capacity 12 accepted");
    static const size_t caps[] = {2, 8, 64, 1024};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) smoke_capacity(caps[i]);
    printf("smoke: %s\n", g_failures ? "FAILED" : "ok");
}

/* ------------------------------------------------------------------ concurrent MPMC */

#define PAYLOAD_MAGIC 0xc2b2ae3d27d4eb4full

typedef struct shared {
    aio_ring ring;
    uint64_t n;          /* items in this phase: producers * per */
    uint64_t per;        /* items per producer */
    int producers, consumers;
    uint64_t *payload;   /* plain words; item of producer p, seq s is &payload[p * per + s] */
    _Atomic uint32_t *cnt;
    _Atomic uint64_t consumed;
    _Atomic uint64_t foreign, corrupt, order_viol, fulls, empties;
} shared;

typedef struct targ {
    shared *sh;
    int idx;
} targ;

static void *producer_main(void *arg) {
    targ *ta = arg;
    shared *sh = ta->sh;
    uint64_t base = (uint64_t)ta->idx * sh->per, fulls = 0;
    for (uint64_t s = 0; s < sh->per; s++) {
        uint64_t *w = &sh->payload[base + s];
        *w = (base + s) ^ PAYLOAD_MAGIC; /* plain write, published by the push */
        unsigned spins = 0;
        while (!aio_ring_push(&sh->ring, w)) {
            fulls++;
            if (++spins % 16 == 0) sched_yield(); /* 2-core machines: let consumers run */
            else cpu_relax();
        }
    }
    add_relaxed(&sh->fulls, fulls); /* relaxed: read after join */
    return NULL;
}

static void *consumer_main(void *arg) {
    targ *ta = arg;
    shared *sh = ta->sh;
    uint64_t *last = malloc((size_t)sh->producers * sizeof *last); /* last seq + 1 seen per producer */
    if (last == NULL) exit(1);
    memset(last, 0, (size_t)sh->producers * sizeof *last);
    uint64_t empties = 0;
    unsigned idle = 0;
    for (;;) {
        uint64_t *w = aio_ring_pop(&sh->ring);
        if (w == NULL) {
            empties++;
            /* relaxed: only a termination count; items are received through the ring */
            if (ld_relaxed(&sh->consumed) >= sh->n) break;
            if (++idle % 16 == 0) sched_yield();
            else cpu_relax();
            continue;
        }
        idle = 0;
        if (w < sh->payload || w >= sh->payload + sh->n) {
            add_relaxed(&sh->foreign, 1); /* relaxed: read after join */
            add_relaxed(&sh->consumed, 1); /* relaxed: see above */
            continue;
        }
        uint64_t i = (uint64_t)(w - sh->payload);
        if (*w != (i ^ PAYLOAD_MAGIC)) add_relaxed(&sh->corrupt, 1); /* relaxed: read after join */
        uint64_t p = i / sh->per, s = i % sh->per;
        if (s + 1 <= last[p]) add_relaxed(&sh->order_viol, 1); /* relaxed: read after join */
        last[p] = s + 1;
        add_relaxed(&sh->cnt[i], 1);      /* relaxed: read after join */
        add_relaxed(&sh->consumed, 1);    /* relaxed: see above */
    }
    add_relaxed(&sh->empties, empties); /* relaxed: read after join */
    free(last);
    return NULL;
}

static uint64_t run_phase(uint64_t n_total, int producers, int consumers, size_t cap) {
    shared *sh = zalloc_aligned(sizeof *sh);
    if (sh == NULL) exit(1);
    sh->producers = producers;
    sh->consumers = consumers;
    sh->per = n_total / (uint64_t)producers;
    if (sh->per == 0) sh->per = 1;
    sh->n = sh->per * (uint64_t)producers;
    sh->payload = calloc(sh->n, sizeof *sh->payload);
    sh->cnt = calloc(sh->n, sizeof *sh->cnt);
    if (sh->payload == NULL || sh->cnt == NULL || aio_ring_init(&sh->ring, cap) != 0) {
        fprintf(stderr, "FAIL: out of memory (or bad capacity %zu)\n", cap);
        exit(1);
    }
    int nt = producers + consumers;
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    targ *ta = calloc((size_t)nt, sizeof *ta);
    double t0 = now_s();
    for (int k = 0; k < nt; k++) {
        ta[k].sh = sh;
        ta[k].idx = k < consumers ? k : k - consumers;
        if (pthread_create(&th[k], NULL, k < consumers ? consumer_main : producer_main, &ta[k]) != 0) {
            fprintf(stderr, "FAIL: pthread_create\n");
            exit(1);
        }
    }
    for (int k = 0; k < nt; k++) pthread_join(th[k], NULL);
    double el = now_s() - t0;

    tally t = tally_counts(sh->cnt, sh->n);
    uint64_t lost = t.lost, dup = t.dup, first_lost = t.first_lost, first_dup = t.first_dup;
    uint64_t foreign = ld_relaxed(&sh->foreign), corrupt = ld_relaxed(&sh->corrupt);
    uint64_t order = ld_relaxed(&sh->order_viol);
    size_t left = aio_ring_size(&sh->ring);
    void *extra = aio_ring_pop(&sh->ring);
    int ok = lost == 0 && dup == 0 && foreign == 0 && corrupt == 0 && order == 0 && left == 0 && extra == NULL;
    printf("mpmc cap=%zu: items=%" PRIu64 " threads=%d (P=%d C=%d) lost=%" PRIu64 " duplicated=%" PRIu64
           " foreign=%" PRIu64 " corrupt=%" PRIu64 " order_violations=%" PRIu64 " full=%" PRIu64 " empty=%" PRIu64
           " wraps=%" PRIu64 " elapsed=%.3fs %s\n",
           cap, sh->n, nt, producers, consumers, lost, dup, foreign, corrupt, order, ld_relaxed(&sh->fulls),
           ld_relaxed(&sh->empties), sh->n / cap, el, ok ? "ok" : "FAILED");
    if (!ok) {
        if (first_lost != UINT64_MAX)
            fprintf(stderr, "FAIL mpmc: first lost item: producer %" PRIu64 " seq %" PRIu64 "\n", first_lost / sh->per,
                    first_lost % sh->per);
        if (first_dup != UINT64_MAX)
            fprintf(stderr, "FAIL mpmc: first duplicated item: producer %" PRIu64 " seq %" PRIu64 "\n",
                    first_dup / sh->per, first_dup % sh->per);
        if (left != 0 || extra != NULL) fprintf(stderr, "FAIL mpmc: ring not empty after the phase (size %zu)\n", left);
        g_failures++;
    }
    aio_ring_destroy(&sh->ring);
    free(th);
    free(ta);
    free(sh->payload);
    free(sh->cnt);
    uint64_t done = sh->n;
    free(sh);
    return done;
}

/* ------------------------------------------------------------------ bounded population
 * The callers' contract (pool.c aio_pool_free, engine.c enqueue, completion.c complete): a
 * ring that never holds more than `capacity` items never refuses a push. Here exactly
 * `capacity` tokens circulate: every thread pops a token (retrying on NULL) and pushes it back.
 * A push that returns false is a spurious "full" (the token would be dropped by those callers);
 * the thread counts it and retries. Checks: 0 refused pushes, and every token in the ring
 * exactly once at the end. */

typedef struct pop_shared {
    aio_ring ring;
    size_t cap;
    uint64_t cycles;                 /* pop+push cycles per thread */
    _Atomic uint64_t refused;        /* pushes that returned false */
    _Atomic uint64_t empty;          /* pops that returned NULL (allowed: a token is in someone's hands) */
    uint64_t *tokens;                /* plain words, written by the holder of the token */
} pop_shared;

static void *population_main(void *arg) {
    pop_shared *ps = arg;
    uint64_t refused = 0, empty = 0;
    for (uint64_t k = 0; k < ps->cycles; k++) {
        uint64_t *t;
        unsigned spins = 0;
        while ((t = aio_ring_pop(&ps->ring)) == NULL) {
            empty++;
            if (++spins % 16 == 0) sched_yield();
            else cpu_relax();
        }
        (*t)++; /* plain write by the token's holder: a data race unless the ring orders holders */
        while (!aio_ring_push(&ps->ring, t)) {
            refused++;
            cpu_relax();
        }
    }
    add_relaxed(&ps->refused, refused); /* relaxed: read after join */
    add_relaxed(&ps->empty, empty);     /* relaxed: read after join */
    return NULL;
}

static void run_population(uint64_t n_total, int threads, size_t cap) {
    pop_shared *ps = zalloc_aligned(sizeof *ps);
    if (ps == NULL || aio_ring_init(&ps->ring, cap) != 0) exit(1);
    ps->cap = cap;
    ps->cycles = n_total / (uint64_t)threads;
    if (ps->cycles == 0) ps->cycles = 1;
    ps->tokens = calloc(cap, sizeof *ps->tokens);
    if (ps->tokens == NULL) exit(1);
    for (size_t i = 0; i < cap; i++) {
        if (!aio_ring_push(&ps->ring, &ps->tokens[i])) {
            CHECK(0, "population: initial push %zu of %zu failed", i, cap);
        }
    }
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    double t0 = now_s();
    for (int k = 0; k < threads; k++) {
        if (pthread_create(&th[k], NULL, population_main, ps) != 0) {
            fprintf(stderr, "FAIL: pthread_create\n");
            exit(1);
        }
    }
    for (int k = 0; k < threads; k++) pthread_join(th[k], NULL);
    double el = now_s() - t0;
    /* every token exactly once, and the moves add up */
    uint8_t *seen = calloc(cap, 1);
    if (seen == NULL) exit(1);
    uint64_t in_ring = 0, foreign = 0, dup = 0, moves = 0;
    uint64_t *t;
    while ((t = aio_ring_pop(&ps->ring)) != NULL) {
        in_ring++;
        if (t < ps->tokens || t >= ps->tokens + cap) {
            foreign++;
            continue;
        }
        if (seen[t - ps->tokens]++) dup++;
    }
    for (size_t i = 0; i < cap; i++) moves += ps->tokens[i];
    uint64_t refused = ld_relaxed(&ps->refused);
    uint64_t expect = ps->cycles * (uint64_t)threads;
    int ok = refused == 0 && in_ring == cap && foreign == 0 && dup == 0 && moves == expect;
    printf("population cap=%zu: items=%" PRIu64 " threads=%d lost=%" PRIu64 " duplicated=%" PRIu64
           " refused_pushes=%" PRIu64 " empty_pops=%" PRIu64 " elapsed=%.3fs %s\n",
           cap, expect, threads, in_ring < cap ? cap - in_ring : 0, dup, refused, ld_relaxed(&ps->empty), el,
           ok ? "ok" : "FAILED");
    if (refused)
        fprintf(stderr,
                "FAIL population cap=%zu: aio_ring_push returned false %" PRIu64 " times although at most %zu items"
                " were ever in the ring (a consumer one lap behind had claimed the cell's position but not yet"
                " released it); callers that treat push as infallible would drop those items\n",
                cap, refused, cap);
    if (moves != expect) fprintf(stderr, "FAIL population: %" PRIu64 " moves recorded, expected %" PRIu64 "\n", moves, expect);
    if (!ok) g_failures++;
    free(seen);
    free(th);
    free(ps->tokens);
    aio_ring_destroy(&ps->ring);
    free(ps);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr lines in order when piped */
    uint64_t n = argc > 1 ? (uint64_t)parse_count("stress_ring", argv[1], "N") : 1000000;
    int producers = argc > 2 ? (int)parse_count("stress_ring", argv[2], "PRODUCERS") : 4;
    int consumers = argc > 3 ? (int)parse_count("stress_ring", argv[3], "CONSUMERS") : 4;
    size_t cap = argc > 4 ? (size_t)parse_count("stress_ring", argv[4], "CAPACITY") : 0;
    if (producers < 1) producers = 1;
    if (consumers < 1) consumers = 1;
    if (argc > 4 && (cap < 2 || (cap & (cap - 1)) != 0)) {
        fprintf(stderr, "stress_ring: CAPACITY must be a power of two >= 2\n");
        return 2;
    }
    printf("stress_ring: N=%" PRIu64 " producers=%d consumers=%d\n", n, producers, consumers);
    double t0 = now_s();
    smoke();
    uint64_t items = 0;
    if (cap) {
        items = run_phase(n, producers, consumers, cap);
    } else {
        static const size_t caps[] = {2, 8, 64};
        for (size_t i = 0; i < 3; i++) {
            uint64_t part = i < 2 ? n / 3 : n - 2 * (n / 3);
            items += run_phase(part, producers, consumers, caps[i]);
        }
    }
    /* the bounded-population contract, with small capacities and all threads popping and pushing */
    run_population(n / 4, producers + consumers, 4);
    run_population(n / 4, producers + consumers, 64);
    items += 2 * (n / 4);
    double el = now_s() - t0;
    printf("stress_ring: %s items=%" PRIu64 " threads=%d failures=%d elapsed=%.3fs\n",
           g_failures ? "FAILED" : "PASSED", items, producers + consumers, g_failures, el);
    return g_failures ? 1 : 0;
}
