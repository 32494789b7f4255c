/* stress_deque.c -- standalone stress test of the Chase-Lev deque (csrc/deque.c).
 *
 * Usage: stress_deque [N [THIEVES [SEED]]]
 *   N        items in the main stress section (default 1000000); the growth-rounds and
 *            last-item sections use N/4 items each (at least 1000)
 *   THIEVES  concurrent stealing threads (default 4)
 *   SEED     PRNG seed for the owner's push/pop pattern (default: time-based, printed)
 *
 * Sections:
 *   smoke     single thread: LIFO pop, FIFO steal, EMPTY/NULL on empty, last-item path,
 *             growth from size 2 with the deque half-consumed, init argument checks.
 *   stress    one owner pushes N distinct items into one deque (initial size 2) with a random
 *             pattern of pop runs and push bursts; THIEVES threads steal (RETRY handled).
 *   growth    many rounds on a fresh deque of size 2: bursts that grow it 4-11 times while
 *             thieves read the old buffers; the owner pops each round empty.
 *   lastitem  one deque, many rounds of "push 1-3 items, pop until empty" while thieves race
 *             for the same last items (the CAS on top in pop vs steal).
 * In the concurrent sections an item is a pointer to payload[i], a plain word the owner writes
 * just before the push and every taker reads, so a missing release/acquire edge in the deque
 * is a data race TSan reports. Every section checks each item is taken exactly once (per-item
 * atomic counters: 0 lost, 0 duplicated, no foreign pointers, payload intact) and that each
 * thief sees strictly increasing items (a steal takes the lowest live index; a re-used index
 * always holds a newer item).
 *
 * Prints one summary line per section and a final line; exits 0 when all pass, 1 otherwise.
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -Icsrc -Icsrc/kernels \
 *            csrc/tests/stress_deque.c csrc/deque.c -o stress_deque
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
#include "deque.h"

static inline void *enc(uint64_t i) { return (void *)(uintptr_t)(i + 1); }

/* ------------------------------------------------------------------ smoke (one thread) */

static void smoke(void) {
    aio_deque d;
    void *x = NULL;

    CHECK(aio_deque_init(&d, 0) == -1, "size 0 accepted");
    CHECK(aio_deque_init(&d, 1) == -1, "size 1 accepted");
    CHECK(aio_deque_init(&d, 3) == -1, "size 3 accepted");
    CHECK(aio_deque_init(&d, 2) == 0, "init(2) failed");

    /* empty */
    CHECK(aio_deque_pop(&d) == NULL, "pop on new deque not NULL");
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_EMPTY, "steal on new deque not EMPTY");
    CHECK(aio_deque_size(&d) == 0, "size of new deque not 0");

    /* LIFO pop, growing 2 -> 4 -> 8 -> 16 */
    for (uint64_t i = 0; i < 10; i++) CHECK(aio_deque_push(&d, enc(i)) == 0, "push %" PRIu64, i);
    CHECK(aio_deque_size(&d) == 10, "size %" PRId64 " != 10", aio_deque_size(&d));
    for (uint64_t i = 10; i-- > 0;) {
        void *p = aio_deque_pop(&d);
        CHECK(p == enc(i), "LIFO: pop got %p, expected %p", p, enc(i));
    }
    CHECK(aio_deque_pop(&d) == NULL, "pop on emptied deque not NULL");
    CHECK(aio_deque_pop(&d) == NULL, "second pop on emptied deque not NULL");
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_EMPTY, "steal on emptied deque not EMPTY");

    /* FIFO steal */
    for (uint64_t i = 100; i < 120; i++) CHECK(aio_deque_push(&d, enc(i)) == 0, "push %" PRIu64, i);
    for (uint64_t i = 100; i < 120; i++) {
        x = NULL;
        aio_steal_result r = aio_deque_steal(&d, &x);
        CHECK(r == AIO_STEAL_SUCCESS && x == enc(i), "FIFO: steal got %d/%p, expected %p", (int)r, x, enc(i));
    }
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_EMPTY, "steal after stealing all not EMPTY");
    CHECK(aio_deque_pop(&d) == NULL, "pop after stealing all not NULL");

    /* both ends; the last item goes through pop's CAS path (top == bottom - 1) */
    aio_deque_push(&d, enc(1));
    aio_deque_push(&d, enc(2));
    aio_deque_push(&d, enc(3));
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_SUCCESS && x == enc(1), "steal got %p, expected %p", x, enc(1));
    CHECK(aio_deque_pop(&d) == enc(3), "pop expected 3");
    CHECK(aio_deque_pop(&d) == enc(2), "pop (last item, CAS path) expected 2");
    CHECK(aio_deque_pop(&d) == NULL, "pop after last item not NULL");
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_EMPTY, "steal after last item not EMPTY");
    /* single item taken by steal, then pop sees empty */
    aio_deque_push(&d, enc(7));
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_SUCCESS && x == enc(7), "steal single item");
    CHECK(aio_deque_pop(&d) == NULL, "pop after single item stolen not NULL");
    /* single item taken by pop, then steal sees empty */
    aio_deque_push(&d, enc(8));
    CHECK(aio_deque_pop(&d) == enc(8), "pop single item");
    CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_EMPTY, "steal after single item popped not EMPTY");

    /* growth while top is far from 0 (indices wrap inside the buffer; copy must use t..b) */
    for (uint64_t i = 0; i < 5; i++) aio_deque_push(&d, enc(1000 + i));
    for (uint64_t i = 0; i < 3; i++) {
        CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_SUCCESS && x == enc(1000 + i), "steal before growth");
    }
    for (uint64_t i = 5; i < 40; i++) aio_deque_push(&d, enc(1000 + i)); /* grows 16 -> 32 -> 64 */
    for (uint64_t i = 3; i < 20; i++) {
        CHECK(aio_deque_steal(&d, &x) == AIO_STEAL_SUCCESS && x == enc(1000 + i), "steal after growth: %p", x);
    }
    for (uint64_t i = 40; i-- > 20;) {
        void *p = aio_deque_pop(&d);
        CHECK(p == enc(1000 + i), "pop after growth: got %p, expected %p", p, enc(1000 + i));
    }
    CHECK(aio_deque_pop(&d) == NULL, "pop after growth section not NULL");
    CHECK(aio_deque_size(&d) == 0, "size after growth section not 0");
    aio_deque_destroy(&d);

    printf("smoke: %s\n", g_failures ? "FAILED" : "ok");
}

/* ------------------------------------------------------------------ concurrent sections */

enum { MODE_STRESS, MODE_GROWTH, MODE_LASTITEM };

typedef struct shared {
    int mode;
    uint64_t n;                    /* items in this section */
    int thieves;
    uint64_t seed;
    _Atomic uint32_t *cnt;         /* per-item: times taken */
    uint64_t *payload;             /* per-item plain word; items are &payload[i] */
    aio_deque deque;               /* STRESS, LASTITEM: the one deque */
    aio_deque *round_deque;        /* GROWTH: this round's deque (set before the start barrier) */
    pthread_barrier_t start, end;  /* GROWTH: round barriers (owner + thieves) */
    uint64_t rounds;               /* GROWTH: number of rounds (set before threads start) */
    uint64_t *round_end;           /* GROWTH: first item index of the next round, per round */
    _Atomic int done;              /* owner finished (STRESS, LASTITEM) or round finished (GROWTH) */
    _Atomic uint64_t entered;      /* GROWTH: thief round entries so far (owner waits for them) */
    _Atomic uint64_t foreign;      /* pointers outside payload[0..n) */
    _Atomic uint64_t corrupt;      /* payload word not as the owner wrote it */
    _Atomic uint64_t order_viol;   /* thief saw a non-increasing value */
    /* totals */
    _Atomic uint64_t steals, retries, empties;
    uint64_t pops, pushes, owner_max_size;
} shared;

typedef struct thief_arg {
    shared *sh;
    int idx;
} thief_arg;

/* Items of the concurrent sections are pointers to payload[i], a plain (non-atomic) word the
 * owner writes just before the push and every taker reads: a missing release/acquire edge in
 * the deque is then a data race that TSan reports, not only a silent reordering. */
#define PAYLOAD_MAGIC 0x9e3779b97f4a7c15ull

static inline void take(shared *sh, void *p) {
    uint64_t *w = p;
    if (w < sh->payload || w >= sh->payload + sh->n) {
        add_relaxed(&sh->foreign, 1); /* relaxed: a counter read after join */
        return;
    }
    uint64_t i = (uint64_t)(w - sh->payload);
    if (*w != (i ^ PAYLOAD_MAGIC)) add_relaxed(&sh->corrupt, 1); /* relaxed: read after join */
    add_relaxed(&sh->cnt[i], 1); /* relaxed: counters are read after join */
}

/* Steal until the owner says it is done and the deque reads EMPTY. Returns nothing; counts. */
static void steal_loop(shared *sh, aio_deque *d, uint64_t *steals, uint64_t *retries, uint64_t *empties,
                       uintptr_t *last) {
    unsigned idle = 0;
    for (;;) {
        void *x = NULL;
        aio_steal_result r = aio_deque_steal(d, &x);
        if (r == AIO_STEAL_SUCCESS) {
            idle = 0;
            (*steals)++;
            if ((uintptr_t)x <= *last) add_relaxed(&sh->order_viol, 1); /* relaxed: read after join */
            *last = (uintptr_t)x;
            take(sh, x);
        } else if (r == AIO_STEAL_RETRY) {
            (*retries)++;
        } else {
            (*empties)++;
            /* acquire: the owner's pop-until-NULL happened before done; after it the deque is empty
             * for good (only the owner pushes), so one more EMPTY read ends the loop */
            if (ld_acquire(&sh->done)) {
                if (aio_deque_steal(d, &x) == AIO_STEAL_EMPTY) return;
                /* impossible per the contract: the owner emptied it before setting done */
                fprintf(stderr, "FAIL: steal found an item after the owner drained the deque\n");
                add_relaxed(&sh->foreign, 1);
                take(sh, x);
                return;
            }
            if (++idle % 64 == 0) sched_yield(); /* 2-core machines: let the owner run */
            else cpu_relax();
        }
    }
}

static void *thief_main(void *arg) {
    thief_arg *ta = arg;
    shared *sh = ta->sh;
    uint64_t steals = 0, retries = 0, empties = 0;
    if (sh->mode == MODE_GROWTH) {
        for (uint64_t r = 0; r < sh->rounds; r++) {
            pthread_barrier_wait(&sh->start);
            add_relaxed(&sh->entered, 1); /* relaxed: only a go signal; the barrier published the deque */
            uintptr_t last = 0; /* values increase within one deque only */
            steal_loop(sh, sh->round_deque, &steals, &retries, &empties, &last);
            pthread_barrier_wait(&sh->end);
        }
    } else {
        uintptr_t last = 0;
        steal_loop(sh, &sh->deque, &steals, &retries, &empties, &last);
    }
    add_relaxed(&sh->steals, steals);   /* relaxed: read after join */
    add_relaxed(&sh->retries, retries); /* relaxed: read after join */
    add_relaxed(&sh->empties, empties); /* relaxed: read after join */
    return NULL;
}

static void push_or_die(shared *sh, aio_deque *d, uint64_t i) {
    sh->payload[i] = i ^ PAYLOAD_MAGIC; /* plain write, published by the push */
    if (aio_deque_push(d, &sh->payload[i]) != 0) {
        fprintf(stderr, "FAIL: aio_deque_push out of memory at item %" PRIu64 "\n", i);
        exit(1);
    }
}

/* Owner of STRESS: random pattern of push bursts and pop runs over one deque. */
static void owner_stress(shared *sh) {
    aio_deque *d = &sh->deque;
    uint64_t rng = sh->seed | 1, i = 0;
    while (i < sh->n) {
        uint64_t r = xorshift64(&rng);
        uint64_t burst;
        switch (r & 7) {
        case 0: burst = 1 + (r >> 8) % 4096; break; /* big burst: grows the deque */
        case 1: case 2: burst = 1 + (r >> 8) % 64; break;
        default: burst = 1 + (r >> 8) % 4; break;
        }
        for (uint64_t k = 0; k < burst && i < sh->n; k++) {
            push_or_die(sh, d, i++);
            sh->pushes++;
            /* pop after every k pushes, with k random in 1..8 */
            if ((xorshift64(&rng) & 7) == 0) {
                void *p = aio_deque_pop(d);
                if (p) {
                    sh->pops++;
                    take(sh, p);
                }
            }
        }
        int64_t sz = aio_deque_size(d);
        if ((uint64_t)sz > sh->owner_max_size) sh->owner_max_size = (uint64_t)sz;
        /* a pop run of 0..15 */
        uint64_t run = (xorshift64(&rng) >> 7) % 16;
        for (uint64_t k = 0; k < run; k++) {
            void *p = aio_deque_pop(d);
            if (p == NULL) break;
            sh->pops++;
            take(sh, p);
        }
    }
    void *p;
    while ((p = aio_deque_pop(d)) != NULL) {
        sh->pops++;
        take(sh, p);
    }
    st_release(&sh->done, 1); /* release: thieves that see done see an empty deque */
}

/* Owner of LASTITEM: push 1-3 items, pop until NULL, repeat; thieves race for the same items. */
static void owner_lastitem(shared *sh) {
    aio_deque *d = &sh->deque;
    uint64_t rng = sh->seed | 1, i = 0;
    while (i < sh->n) {
        uint64_t k = 1 + xorshift64(&rng) % 3;
        for (uint64_t j = 0; j < k && i < sh->n; j++) {
            push_or_die(sh, d, i++);
            sh->pushes++;
        }
        /* give thieves a window now and then so that they win some last-item races */
        if ((rng & 15) == 0) sched_yield();
        void *p;
        while ((p = aio_deque_pop(d)) != NULL) {
            sh->pops++;
            take(sh, p);
        }
    }
    st_release(&sh->done, 1); /* release: thieves that see done see an empty deque */
}

/* Owner of GROWTH: rounds on a fresh size-2 deque. */
static void owner_growth(shared *sh) {
    uint64_t rng = sh->seed | 1, i = 0;
    for (uint64_t r = 0; r < sh->rounds; r++) {
        aio_deque *d = zalloc_aligned(sizeof *d);
        if (d == NULL || aio_deque_init(d, 2) != 0) {
            fprintf(stderr, "FAIL: out of memory\n");
            exit(1);
        }
        uint64_t end = sh->round_end[r];
        sh->round_deque = d;
        st_relaxed(&sh->done, 0); /* relaxed: published by the barrier */
        pthread_barrier_wait(&sh->start);
        /* wait until every thief is in its steal loop, else a round can end before they wake */
        push_or_die(sh, d, i++);
        sh->pushes++;
        while (ld_relaxed(&sh->entered) < (r + 1) * (uint64_t)sh->thieves) sched_yield(); /* relaxed: go signal */
        while (i < end) {
            push_or_die(sh, d, i++);
            sh->pushes++;
            if ((i & 127) == 0) sched_yield(); /* 2 cores: let thieves steal mid-growth */
            /* rare pops so the deque keeps growing while thieves read old buffers */
            if ((xorshift64(&rng) & 31) == 0) {
                void *p = aio_deque_pop(d);
                if (p) {
                    sh->pops++;
                    take(sh, p);
                }
            }
        }
        int64_t sz = aio_deque_size(d);
        if ((uint64_t)sz > sh->owner_max_size) sh->owner_max_size = (uint64_t)sz;
        void *p;
        while ((p = aio_deque_pop(d)) != NULL) {
            sh->pops++;
            take(sh, p);
        }
        st_release(&sh->done, 1); /* release: thieves that see done see an empty deque */
        pthread_barrier_wait(&sh->end);
        aio_deque_destroy(d);
        free(d);
    }
}

static const char *mode_name(int mode) {
    return mode == MODE_STRESS ? "stress" : mode == MODE_GROWTH ? "growth" : "lastitem";
}

static int run_section(int mode, uint64_t n, int thieves, uint64_t seed) {
    shared *sh = zalloc_aligned(sizeof *sh);
    if (sh == NULL) exit(1);
    sh->mode = mode;
    sh->n = n;
    sh->thieves = thieves;
    sh->seed = seed;
    sh->cnt = calloc(n ? n : 1, sizeof *sh->cnt);
    sh->payload = calloc(n ? n : 1, sizeof *sh->payload);
    if (sh->cnt == NULL || sh->payload == NULL) {
        fprintf(stderr, "FAIL: cannot allocate %" PRIu64 " counters\n", n);
        exit(1);
    }
    if (mode == MODE_GROWTH) {
        /* rounds of 16..2047 items: 3..10 doublings from size 2 per round */
        sh->round_end = malloc((n / 16 + 1) * sizeof *sh->round_end);
        if (sh->round_end == NULL) exit(1);
        uint64_t rng = seed * 2654435761u | 1, i = 0;
        while (i < n) {
            uint64_t k = 16 + xorshift64(&rng) % 2032;
            i = i + k > n ? n : i + k;
            sh->round_end[sh->rounds++] = i;
        }
        pthread_barrier_init(&sh->start, NULL, (unsigned)thieves + 1);
        pthread_barrier_init(&sh->end, NULL, (unsigned)thieves + 1);
    } else if (aio_deque_init(&sh->deque, 2) != 0) {
        fprintf(stderr, "FAIL: out of memory\n");
        exit(1);
    }

    pthread_t *th = calloc((size_t)thieves, sizeof *th);
    thief_arg *ta = calloc((size_t)thieves, sizeof *ta);
    double t0 = now_s();
    for (int k = 0; k < thieves; k++) {
        ta[k].sh = sh;
        ta[k].idx = k;
        if (pthread_create(&th[k], NULL, thief_main, &ta[k]) != 0) {
            fprintf(stderr, "FAIL: pthread_create\n");
            exit(1);
        }
    }
    if (mode == MODE_STRESS) owner_stress(sh);
    else if (mode == MODE_LASTITEM) owner_lastitem(sh);
    else owner_growth(sh);
    for (int k = 0; k < thieves; k++) pthread_join(th[k], NULL);
    double el = now_s() - t0;

    tally t = tally_counts(sh->cnt, n);
    uint64_t lost = t.lost, dup = t.dup, first_lost = t.first_lost, first_dup = t.first_dup;
    uint64_t steals = ld_relaxed(&sh->steals), retries = ld_relaxed(&sh->retries);
    uint64_t foreign = ld_relaxed(&sh->foreign), order = ld_relaxed(&sh->order_viol);
    uint64_t corrupt = ld_relaxed(&sh->corrupt);
    int ok = lost == 0 && dup == 0 && foreign == 0 && corrupt == 0 && order == 0 && sh->pops + steals == n && sh->pushes == n;
    printf("%s: items=%" PRIu64 " threads=%d lost=%" PRIu64 " duplicated=%" PRIu64 " foreign=%" PRIu64
           " corrupt=%" PRIu64 " order_violations=%" PRIu64 " pops=%" PRIu64 " steals=%" PRIu64 " retries=%" PRIu64
           " max_size=%" PRIu64 " rounds=%" PRIu64 " elapsed=%.3fs %s\n",
           mode_name(mode), n, thieves + 1, lost, dup, foreign, corrupt, order, sh->pops, steals, retries,
           sh->owner_max_size, mode == MODE_GROWTH ? sh->rounds : 1,
           el, ok ? "ok" : "FAILED");
    if (!ok) {
        if (first_lost != UINT64_MAX) fprintf(stderr, "FAIL %s: first lost item %" PRIu64 "\n", mode_name(mode), first_lost);
        if (first_dup != UINT64_MAX) fprintf(stderr, "FAIL %s: first duplicated item %" PRIu64 "\n", mode_name(mode), first_dup);
        if (sh->pops + steals != n)
            fprintf(stderr, "FAIL %s: pops+steals=%" PRIu64 " != %" PRIu64 "\n", mode_name(mode), sh->pops + steals, n);
        g_failures++;
    }
    if (mode == MODE_GROWTH) {
        pthread_barrier_destroy(&sh->start);
        pthread_barrier_destroy(&sh->end);
        free(sh->round_end);
    } else {
        aio_deque_destroy(&sh->deque);
    }
    free(th);
    free(ta);
    free(sh->cnt);
    free(sh->payload);
    free(sh);
    return ok;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr lines in order when piped */
    uint64_t n = argc > 1 ? (uint64_t)parse_count("stress_deque", argv[1], "N") : 1000000;
    int thieves = argc > 2 ? (int)parse_count("stress_deque", argv[2], "THIEVES") : 4;
    uint64_t seed = argc > 3 ? (uint64_t)parse_count("stress_deque", argv[3], "SEED") : (uint64_t)time(NULL) ^ (uint64_t)clock();
    if (seed == 0) seed = 88172645463325252ull;
    if (thieves < 1) thieves = 1;
    if (n < 1) n = 1;
    uint64_t side = n / 4 < 1000 ? 1000 : n / 4;
    printf("stress_deque: N=%" PRIu64 " thieves=%d seed=%" PRIu64 "\n", n, thieves, seed);

    double t0 = now_s();
    smoke();
    run_section(MODE_STRESS, n, thieves, seed);
    run_section(MODE_GROWTH, side, thieves, seed + 1);
    run_section(MODE_LASTITEM, side, thieves, seed + 2);
    double el = now_s() - t0;
    printf("stress_deque: %s items=%" PRIu64 " threads=%d failures=%d elapsed=%.3fs\n",
           g_failures ? "FAILED" : "PASSED", n + 2 * side, thieves + 1, g_failures, el);
    return g_failures ? 1 : 0;
}
