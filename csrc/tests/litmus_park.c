/* litmus_park.c -- store-buffering litmus test of the deque publication against a parking peer.
 *
 * Review finding 2: a worker that moved a batch from the injector into its deque published
 * `bottom` with a release store and then read the peers' park state; a parking peer announced
 * itself and then read `bottom` relaxed. On x86 both sides missed each other in about 2% of
 * iterations, and the peer slept while tasks waited behind a long one. The protocol needs the
 * publication and the announcement ordered before the opposite reads (all seq_cst):
 *   owner:  aio_deque_push (seq_cst store of bottom); r1 = load(flag)
 *   parker: store(flag, 1);                           r2 = aio_deque_visible (seq_cst loads)
 * Forbidden outcome: r1 == 0 && r2 == false. This program runs the pair N times on two threads
 * (pinned to CPUs 0 and 1 when there are two) and fails when the forbidden outcome appears.
 *
 * Usage: litmus_park [ITERATIONS]   (default 200000). Exit 0: never seen; 1: seen (FAIL line).
 * Built with -DAIO_SEED_BUG_PUSH_RELAXED (scripts/ctest.sh seeded) it must fail.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "atomics.h"
#include "deque.h"

static aio_deque deque;
static _Atomic int32_t flag;          /* the parker's announcement */
static _Atomic int64_t arrived;    /* two-party barrier: both threads start round r together */
static _Atomic int64_t parker_done; /* last round the parker finished */
static int r1_seen;                 /* owner's view of flag in this round */
static bool r2_seen;                /* parker's view of the deque in this round */
static int64_t rounds;

static void pin(int cpu) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* Both threads leave the barrier of round r within a cache-line transfer of each other. */
static void barrier(int64_t r) {
    add_acq_rel(&arrived, 1);                         /* acq_rel: publishes our reset / result */
    while (ld_acquire(&arrived) < 2 * r) cpu_relax(); /* acquire: the peer's side of the same */
}

static void *parker(void *arg) {
    (void)arg;
    pin(1);
    for (int64_t r = 1; r <= rounds; r++) {
        barrier(r);
        st_seq_cst(&flag, 1);               /* seq_cst: the announcement, as in park() */
        r2_seen = aio_deque_visible(&deque); /* seq_cst loads inside */
        st_release(&parker_done, r);        /* release: the owner sees r2_seen */
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atoll(argv[1]) : 200000;
    if (rounds < 1 || aio_deque_init(&deque, 256) != 0) {
        fprintf(stderr, "litmus_park: bad arguments or out of memory\n");
        return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, parker, NULL) != 0) return 2;
    pin(0);
    static int item;
    int64_t both_missed = 0;
    for (int64_t r = 1; r <= rounds; r++) {
        barrier(r);
        if (aio_deque_push(&deque, &item) != 0) return 2;
        r1_seen = ld_seq_cst(&flag); /* seq_cst: as in aio_node_notify's reads */
        while (ld_acquire(&parker_done) < r) cpu_relax(); /* acquire: the parker's r2_seen */
        if (r1_seen == 0 && !r2_seen) both_missed++;
        if (aio_deque_pop(&deque) != &item) {
            fprintf(stderr, "litmus_park: FAIL: the pushed item was not popped back\n");
            return 1;
        }
        st_relaxed(&flag, 0); /* relaxed: published to the parker by the next barrier */
    }
    pthread_join(t, NULL);
    aio_deque_destroy(&deque);
    if (both_missed > 0) {
        printf("litmus_park: FAIL: %lld of %lld rounds: the owner missed the announcement and the parker "
               "missed the item (store-buffering not ordered)\n", (long long)both_missed, (long long)rounds);
        return 1;
    }
    printf("litmus_park: ok: %lld rounds, the forbidden outcome never appeared\n", (long long)rounds);
    return 0;
}
