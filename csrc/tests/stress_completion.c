/* stress_completion.c -- standalone stress test of the completion channel protocol
 * (csrc/completion.c: ring + eventfd with coalesced wake-ups through `armed`).
 *
 * Usage: stress_completion [N [PRODUCERS [POOL [TIMEOUT_MS]]]]
 *   N           completions in total (default 1000000)
 *   PRODUCERS   producer ("worker") threads (default 4)
 *   POOL        pool capacity (power of two) for a single phase; default: three phases of N/3
 *               items: pool 256; pool 4 (producers starve on the pool, the consumer sleeps
 *               and re-arms constantly); pool 64 with producers pausing now and then (the
 *               consumer goes to sleep in poll often, completions race the arm)
 *   TIMEOUT_MS  poll timeout; a timeout while completions are outstanding is a lost wake-up
 *               (default 5000)
 *
 * Producers take records with aio_pool_alloc (spinning/yielding while the pool is empty),
 * fill id, rc, status, worker and an inline output, and call aio_channel_complete. The
 * channel's ring has the pool's capacity, so it can never overflow. The consumer (main
 * thread) runs the event-loop protocol:
 *     poll(efd, timeout) -> aio_channel_ack -> drain batches of 64; when a drain returns
 *     fewer than 64: aio_channel_arm; if it returns 1 drain again, else back to poll.
 * aio_channel_drain returns the records to the pool. Checks: every id delivered exactly once
 * (0 lost, 0 duplicated), fields and inline output intact, no poll timeout (lost wake-up),
 * pool and ring empty at the end.
 *
 * Prints one line per phase and a final summary; exits 0 when all pass, 1 otherwise.
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -Icsrc -Icsrc/kernels \
 *            csrc/tests/stress_completion.c csrc/ring.c csrc/pool.c csrc/completion.c -o stress_completion
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aioultra.h"
#include "atomics.h"
#include "stress_common.h"
#include "completion.h"
#include "pool.h"

#define BATCH 64

typedef struct shared {
    aio_pool pool;
    aio_channel ch;
    uint64_t n, per;
    int producers;
    int pauses;              /* producers pause now and then */
    _Atomic uint64_t pool_empty; /* times a producer found the pool empty */
    _Atomic int stop;            /* consumer gave up: producers leave their alloc spin */
} shared;

typedef struct targ {
    shared *sh;
    int idx;
} targ;

static inline int64_t rc_of(uint64_t id) { return (int64_t)(id % 9); } /* 0..8 inline bytes */
static inline uint8_t out_byte(uint64_t id, int64_t j) { return (uint8_t)(id * 31 + (uint64_t)j); }

static void *producer_main(void *arg) {
    targ *ta = arg;
    shared *sh = ta->sh;
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(ta->idx + 1) * 0xbf58476d1ce4e5b9ull;
    uint64_t empty = 0;
    for (uint64_t k = 0; k < sh->per; k++) {
        uint64_t id = (uint64_t)ta->idx * sh->per + k;
        aio_task *t;
        unsigned spins = 0;
        while ((t = aio_pool_alloc(&sh->pool)) == NULL) {
            empty++;
            if (ld_relaxed(&sh->stop)) goto out; /* relaxed: only an abort signal */
            if (++spins % 8 == 0) sched_yield(); /* 2-core machines: let the consumer run */
            else cpu_relax();
        }
        /* plain writes, published to the consumer by the ring push in aio_channel_complete */
        t->id = id;
        t->fn = NULL;
        t->out = NULL;
        t->out_cap = AIO_INLINE_OUT;
        t->n_items = 0;
        t->rc = rc_of(id);
        t->status = (int32_t)(id % 4);
        t->worker = ta->idx;
        for (int64_t j = 0; j < t->rc; j++) t->inline_out[j] = out_byte(id, j);
        aio_channel_complete(&sh->ch, t);
        if (sh->pauses && (xorshift64(&rng) & 63) == 0) {
            struct timespec d = {0, (long)(xorshift64(&rng) % 50000)}; /* < 50 us */
            nanosleep(&d, NULL);
        }
    }
out:
    add_relaxed(&sh->pool_empty, empty); /* relaxed: read after join */
    return NULL;
}

static uint64_t run_phase(uint64_t n_total, int producers, uint32_t pool_cap, int pauses, int timeout_ms) {
    shared *sh = zalloc_aligned(sizeof *sh);
    if (sh == NULL) exit(1);
    sh->producers = producers;
    sh->pauses = pauses;
    sh->per = n_total / (uint64_t)producers;
    if (sh->per == 0) sh->per = 1;
    sh->n = sh->per * (uint64_t)producers;
    if (aio_pool_init(&sh->pool, pool_cap) != AIO_OK) {
        fprintf(stderr, "FAIL: aio_pool_init(%u)\n", pool_cap);
        exit(1);
    }
    int rc = aio_channel_init(&sh->ch, NULL, &sh->pool, pool_cap);
    if (rc != AIO_OK) {
        fprintf(stderr, "FAIL: aio_channel_init: %d\n", rc);
        exit(1);
    }
    uint32_t *cnt = calloc(sh->n, sizeof *cnt); /* consumer-only */
    if (cnt == NULL) exit(1);

    pthread_t *th = calloc((size_t)producers, sizeof *th);
    targ *ta = calloc((size_t)producers, sizeof *ta);
    double t0 = now_s();
    for (int k = 0; k < producers; k++) {
        ta[k].sh = sh;
        ta[k].idx = k;
        if (pthread_create(&th[k], NULL, producer_main, &ta[k]) != 0) {
            fprintf(stderr, "FAIL: pthread_create\n");
            exit(1);
        }
    }

    /* ---- the consumer: the event-loop protocol */
    aio_completion buf[BATCH];
    uint64_t received = 0, foreign = 0, bad_fields = 0;
    uint64_t polls = 0, sleeps = 0, spurious = 0, arm_races = 0, drains = 0, timeouts = 0, stalls = 0;
    int fd = aio_channel_fd(&sh->ch);
    int stuck = 0;
    while (received < sh->n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
        polls++;
        int pr = poll(&pfd, 1, 0); /* count real sleeps: was the eventfd already readable? */
        if (pr == 0) {
            sleeps++;
            pr = poll(&pfd, 1, timeout_ms);
        }
        if (pr < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            exit(1);
        }
        if (pr == 0) {
            size_t pending = aio_ring_size(&sh->ch.ring);
            int ready = aio_ring_ready(&sh->ch.ring);
            int64_t in_use = aio_pool_in_use(&sh->pool);
            if (pending == 0 && !ready) {
                /* nothing to deliver: the producers are starved, not the consumer asleep */
                stalls++;
                fprintf(stderr,
                        "FAIL: stall: poll timed out after %d ms with %" PRIu64 " of %" PRIu64
                        " received, no completion pending, and %" PRId64 " of %u pool records not in the free list"
                        " (records leaked from the pool?)\n",
                        timeout_ms, received, sh->n, in_use, pool_cap);
                break;
            }
            timeouts++;
            fprintf(stderr,
                    "FAIL: lost wake-up: poll timed out after %d ms with %" PRIu64 " of %" PRIu64
                    " received; ring size %zu, armed %d, ring ready %d, pool in use %" PRId64 "\n",
                    timeout_ms, received, sh->n, pending, (int)ld_relaxed(&sh->ch.armed), ready, in_use);
            if (++stuck >= 3) {
                fprintf(stderr, "FAIL: giving up after 3 timeouts in a row\n");
                break;
            }
            /* fall through and drain, to see whether the rest is delivered */
        } else {
            stuck = 0;
        }
        if (aio_channel_ack(&sh->ch) != AIO_OK) {
            perror("aio_channel_ack");
            exit(1);
        }
        int first = 1;
        for (;;) {
            int got = aio_channel_drain(&sh->ch, buf, BATCH);
            drains++;
            if (first && got == 0 && pr > 0) spurious++;
            first = 0;
            for (int j = 0; j < got; j++) {
                aio_completion *c = &buf[j];
                if (c->id >= sh->n) {
                    foreign++;
                    continue;
                }
                if (cnt[c->id]++ == 0) received++;
                else continue; /* duplicate: counted below */
                int ok = c->rc == rc_of(c->id) && c->status == (int32_t)(c->id % 4) &&
                         c->worker == (int32_t)(c->id / sh->per);
                for (int64_t b = 0; ok && b < c->rc; b++) ok = c->out[b] == out_byte(c->id, b);
                if (!ok) bad_fields++;
            }
            if (got == BATCH) continue;
            if (aio_channel_arm(&sh->ch) == 1) {
                arm_races++;
                continue;
            }
            break;
        }
    }
    st_relaxed(&sh->stop, 1); /* relaxed: only an abort signal (a no-op when all was received) */
    for (int k = 0; k < producers; k++) pthread_join(th[k], NULL);
    double el = now_s() - t0;

    uint64_t lost = 0, dup = 0, first_lost = UINT64_MAX;
    for (uint64_t i = 0; i < sh->n; i++) {
        if (cnt[i] == 0) {
            lost++;
            if (first_lost == UINT64_MAX) first_lost = i;
        } else if (cnt[i] > 1) {
            dup += cnt[i] - 1;
        }
    }
    int64_t in_use = aio_pool_in_use(&sh->pool);
    size_t left = aio_ring_size(&sh->ch.ring);
    int ok = lost == 0 && dup == 0 && foreign == 0 && bad_fields == 0 && timeouts == 0 && stalls == 0 && in_use == 0 &&
             left == 0;
    printf("phase pool=%u%s: items=%" PRIu64 " threads=%d lost=%" PRIu64 " duplicated=%" PRIu64 " foreign=%" PRIu64
           " bad_fields=%" PRIu64 " timeouts=%" PRIu64 " stalls=%" PRIu64 " pool_leaked=%" PRId64 " polls=%" PRIu64 " sleeps=%" PRIu64 " spurious=%" PRIu64
           " arm_races=%" PRIu64 " drains=%" PRIu64 " pool_empty=%" PRIu64 " elapsed=%.3fs %s\n",
           pool_cap, pauses ? " pauses" : "", sh->n, producers + 1, lost, dup, foreign, bad_fields, timeouts, stalls, in_use, polls,
           sleeps, spurious, arm_races, drains, ld_relaxed(&sh->pool_empty), el, ok ? "ok" : "FAILED");
    if (!ok) {
        if (first_lost != UINT64_MAX) fprintf(stderr, "FAIL: first lost id %" PRIu64 "\n", first_lost);
        if (in_use != 0)
            fprintf(stderr,
                    "FAIL: %" PRId64 " pool records missing from the free list after every completion was drained"
                    " (aio_pool_free dropped them: its aio_ring_push returned false)\n", in_use);
        if (stalls != 0)
            fprintf(stderr, "FAIL: stalled: `lost` counts ids the producers never got a pool record for\n");
        if (left != 0) fprintf(stderr, "FAIL: completion ring not empty after the phase: %zu\n", left);
        g_failures++;
    }
    aio_channel_fini(&sh->ch);
    aio_pool_destroy(&sh->pool);
    free(cnt);
    free(th);
    free(ta);
    uint64_t done = sh->n;
    free(sh);
    return done;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr lines in order when piped */
    uint64_t n = argc > 1 ? (uint64_t)parse_count("stress_completion", argv[1], "N") : 1000000;
    int producers = argc > 2 ? (int)parse_count("stress_completion", argv[2], "PRODUCERS") : 4;
    long pool = argc > 3 ? parse_count("stress_completion", argv[3], "POOL") : 0;
    int timeout_ms = argc > 4 ? (int)parse_count("stress_completion", argv[4], "TIMEOUT_MS") : 5000;
    if (producers < 1) producers = 1;
    if (argc > 3 && (pool < 2 || (pool & (pool - 1)) != 0)) {
        fprintf(stderr, "stress_completion: POOL must be a power of two >= 2\n");
        return 2;
    }
    printf("stress_completion: N=%" PRIu64 " producers=%d timeout=%dms\n", n, producers, timeout_ms);
    double t0 = now_s();
    uint64_t items = 0;
    if (pool) {
        items = run_phase(n, producers, (uint32_t)pool, 0, timeout_ms);
    } else {
        items += run_phase(n / 3, producers, 256, 0, timeout_ms);
        items += run_phase(n / 3, producers, 4, 0, timeout_ms);
        items += run_phase(n - 2 * (n / 3), producers, 64, 1, timeout_ms);
    }
    double el = now_s() - t0;
    printf("stress_completion: %s items=%" PRIu64 " threads=%d failures=%d elapsed=%.3fs\n",
           g_failures ? "FAILED" : "PASSED", items, producers + 1, g_failures, el);
    return g_failures ? 1 : 0;
}
