/* floor.c -- the physical floor of a sparse cross-thread hand-off on this machine.
 *
 * A caller thread sleeps a gap, then wakes a peer thread blocked in epoll_wait through an
 * eventfd; the peer answers through another eventfd that the caller waits on with epoll. The
 * round trip (write to the peer .. the caller has read the answer) is the least any engine can
 * take to run a task on another thread and hear back when that thread was asleep: two wake-ups
 * and four syscalls, no queue, no Python. Same protocol as shared/bench/limit_sparse_wakeup.c.
 *
 * Both threads are spawned here (the calling thread only waits), each pinned to the CPU asked
 * for (-1: unpinned), so the figure does not depend on where the caller of this function runs.
 * The two threads share no memory while they run: they talk only through the eventfds, and the
 * results are read after pthread_join. No atomics needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "aioultra.h"

#define FLOOR_WARMUP 20                  /* round trips run before the samples (not recorded) */
#define FLOOR_STOP ((uint64_t)1 << 20)   /* eventfd value that tells the peer to exit */
#define FLOOR_TIMEOUT_MS 5000            /* a round trip slower than this is reported as ETIMEDOUT */
#define FLOOR_MAX_GAP_NS 1000000000LL    /* gaps up to 1 s */

typedef struct floor_run {
    int to_peer, to_caller; /* eventfds: caller -> peer, peer -> caller */
    int ep_peer, ep_caller; /* the epoll instance each side blocks in */
    int32_t caller_cpu, peer_cpu;
    int64_t gap_ns;
    int32_t jitter, n;
    int64_t *samples;         /* n round trips in ns, written by the caller thread */
    int caller_rc, caller_err; /* AIO_OK, or AIO_ESYS and the errno of the failed call */
    int peer_rc, peer_err;
} floor_run;

static int64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* cannot fail for CLOCK_MONOTONIC with a valid pointer */
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int fail(int *err, int e) {
    *err = e;
    return AIO_ESYS;
}

/* Pins the calling thread to cpu (-1: leave it unpinned). pthread_* return the error number. */
static int pin(int32_t cpu, int *err) {
    if (cpu < 0) return AIO_OK;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    return rc == 0 ? AIO_OK : fail(err, rc);
}

/* Blocks in epoll_wait on ep until its one fd is readable, then reads the eventfd counter. */
static int wait_read(int ep, int fd, uint64_t *value, int timeout_ms, int *err) {
    struct epoll_event ev;
    for (;;) {
        int got = epoll_wait(ep, &ev, 1, timeout_ms);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(err, errno);
        if (got == 0) return fail(err, ETIMEDOUT);
        ssize_t r = read(fd, value, sizeof *value);
        if (r == (ssize_t)sizeof *value) return AIO_OK;
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue; /* spurious readiness */
        return fail(err, r < 0 ? errno : EIO);
    }
}

static int post(int fd, uint64_t value, int *err) {
    for (;;) {
        ssize_t w = write(fd, &value, sizeof value);
        if (w == (ssize_t)sizeof value) return AIO_OK;
        if (w < 0 && errno == EINTR) continue;
        return fail(err, w < 0 ? errno : EIO);
    }
}

/* The peer: pins itself, says it is ready, then answers every token until FLOOR_STOP. On a
 * failure it posts FLOOR_STOP to the caller, which then gives up instead of waiting. */
static void *peer_main(void *arg) {
    floor_run *r = arg;
    int scratch;
    uint64_t v = 0;
    r->peer_rc = pin(r->peer_cpu, &r->peer_err);
    if (r->peer_rc == AIO_OK) r->peer_rc = post(r->to_caller, 1, &r->peer_err);
    while (r->peer_rc == AIO_OK) {
        r->peer_rc = wait_read(r->ep_peer, r->to_peer, &v, -1, &r->peer_err);
        if (r->peer_rc != AIO_OK || v >= FLOOR_STOP) break;
        r->peer_rc = post(r->to_caller, 1, &r->peer_err);
    }
    if (r->peer_rc != AIO_OK) post(r->to_caller, FLOOR_STOP, &scratch); /* best effort */
    return NULL;
}

/* xorshift64*: a fixed-seed generator, so two runs draw the same gaps. */
static uint64_t next_random(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static int sleep_gap(floor_run *r, uint64_t *rng) {
    int64_t gap = r->gap_ns;
    if (gap <= 0) return AIO_OK;
    if (r->jitter) /* uniform in [gap/2, 3*gap/2) */
        gap = gap / 2 + (int64_t)(next_random(rng) % (uint64_t)gap);
    struct timespec d = {.tv_sec = gap / 1000000000LL, .tv_nsec = gap % 1000000000LL};
    for (;;) { /* relative sleep, as in limit_sparse_wakeup.c; the remainder after a signal */
        if (nanosleep(&d, &d) == 0) return AIO_OK;
        if (errno != EINTR) return fail(&r->caller_err, errno);
    }
}

/* The caller: pins itself, waits for the peer, then gap / round trip, FLOOR_WARMUP + n times. */
static void *caller_main(void *arg) {
    floor_run *r = arg;
    uint64_t v = 0, rng = 0x9E3779B97F4A7C15ULL;
    int rc = pin(r->caller_cpu, &r->caller_err);
    if (rc == AIO_OK) rc = wait_read(r->ep_caller, r->to_caller, &v, FLOOR_TIMEOUT_MS, &r->caller_err);
    if (rc == AIO_OK && v >= FLOOR_STOP) rc = fail(&r->caller_err, ECHILD); /* the peer failed */
    for (int32_t i = 0; rc == AIO_OK && i < FLOOR_WARMUP + r->n; i++) {
        rc = sleep_gap(r, &rng);
        if (rc != AIO_OK) break;
        int64_t t0 = mono_ns();
        rc = post(r->to_peer, 1, &r->caller_err);
        if (rc == AIO_OK) rc = wait_read(r->ep_caller, r->to_caller, &v, FLOOR_TIMEOUT_MS, &r->caller_err);
        if (rc == AIO_OK && v >= FLOOR_STOP) rc = fail(&r->caller_err, ECHILD);
        if (rc == AIO_OK && i >= FLOOR_WARMUP) r->samples[i - FLOOR_WARMUP] = mono_ns() - t0;
    }
    r->caller_rc = rc;
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int watch(int ep, int fd) {
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int aio_floor_round_trip(int32_t caller_cpu, int32_t peer_cpu, int64_t gap_ns, int32_t jitter, int32_t n,
                         double *p50_us, double *p99_us) {
    if (n <= 0 || gap_ns < 0 || gap_ns > FLOOR_MAX_GAP_NS || (jitter != 0 && jitter != 1) || p50_us == NULL ||
        p99_us == NULL || caller_cpu < -1 || caller_cpu >= CPU_SETSIZE || peer_cpu < -1 || peer_cpu >= CPU_SETSIZE)
        return AIO_EINVAL;
    floor_run r;
    memset(&r, 0, sizeof r);
    r.to_peer = r.to_caller = r.ep_peer = r.ep_caller = -1;
    r.caller_cpu = caller_cpu;
    r.peer_cpu = peer_cpu;
    r.gap_ns = gap_ns;
    r.jitter = jitter;
    r.n = n;
    r.samples = malloc((size_t)n * sizeof *r.samples);
    if (r.samples == NULL) return AIO_ENOMEM;

    int rc = AIO_OK, err = 0, e = 0;
    pthread_t peer, caller;
    int peer_started = 0;
    if ((r.to_peer = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        (r.to_caller = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 || (r.ep_peer = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (r.ep_caller = epoll_create1(EPOLL_CLOEXEC)) < 0 || watch(r.ep_peer, r.to_peer) != 0 ||
        watch(r.ep_caller, r.to_caller) != 0) {
        rc = fail(&err, errno);
        goto out;
    }
    e = pthread_create(&peer, NULL, peer_main, &r);
    if (e != 0) {
        rc = fail(&err, e);
        goto out;
    }
    peer_started = 1;
    e = pthread_create(&caller, NULL, caller_main, &r);
    if (e != 0) {
        rc = fail(&err, e);
        goto out;
    }
    /* Joining our own joinable thread cannot fail; if it did, both threads would still point
     * into this frame, and returning would be a use after return. */
    if (pthread_join(caller, NULL) != 0) abort();
    if (r.caller_rc != AIO_OK) {
        rc = r.caller_rc;
        err = r.caller_err;
    }

out:
    if (peer_started) {
        int scratch;
        /* A write to an open eventfd far from overflow cannot fail; without it the peer would
         * never exit (a peer that failed has exited already, and the write is harmless). */
        if (post(r.to_peer, FLOOR_STOP, &scratch) != AIO_OK) abort();
        if (pthread_join(peer, NULL) != 0) abort();
        if (rc == AIO_OK && r.peer_rc != AIO_OK) { /* the peer failed after the caller finished */
            rc = r.peer_rc;
            err = r.peer_err;
        }
        if (rc == AIO_ESYS && err == ECHILD) err = r.peer_err; /* report the peer's own error */
    }
    if (rc == AIO_OK) {
        qsort(r.samples, (size_t)n, sizeof *r.samples, cmp_i64);
        int64_t i99 = (int64_t)n * 99 / 100;
        *p50_us = (double)r.samples[n / 2] / 1e3;
        *p99_us = (double)r.samples[i99 < n ? i99 : n - 1] / 1e3;
    }
    int fds[] = {r.ep_caller, r.ep_peer, r.to_caller, r.to_peer};
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0 && close(fds[i]) != 0 && rc == AIO_OK) rc = fail(&err, errno);
    free(r.samples);
    if (rc == AIO_ESYS) errno = err; /* read by the binding layer as ffi.errno */
    return rc;
}
