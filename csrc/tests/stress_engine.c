/* stress_engine.c -- standalone stress test of the engine (csrc/engine.c + csrc/worker.c) through
 * the public C API only (aioultra.h): no engine internals, so it runs unchanged against any
 * implementation of the park/wake/search protocol.
 *
 * Usage: stress_engine [SCALE [SEED [SCENARIOS]]]
 *   SCALE      work units (default 1000, the plain quick size); every scenario derives its rounds,
 *              tasks and cycles from it
 *   SEED       seed of every random choice (default 1); printed
 *   SCENARIOS  comma-separated names, "all" (default) or "nostop" (all but stop); run in this order:
 *     burst     tasks that block on each other: bursts of 3 (A, B, C on 3 workers) and of 3..8 (on 8
 *               workers) where every task but the last spins until the last one has started (a
 *               worker is always idle for the last), after pauses of 0, 200 us or 2 ms (workers
 *               parked; spin_ns 0 or 20 us), with workers unpinned, or all pinned to one CPU.
 *               Blocked kernels give up 1 s after the burst was submitted (status FAILED): a
 *               "stuck" burst, the failure, after which its configuration is abandoned. Nothing
 *               but the engine can start the last task before the give-up (the submitter waits),
 *               so a lost wake-up always shows as stuck. A start later than 10 ms that is not
 *               stuck is printed as a NOTE line with what the OS says about it (the run-queue
 *               waits, /proc schedstat, of the worker that ran it and of the submitter, and the
 *               hypervisor's steal time, /proc/stat) and counted as late, not as a failure: on a
 *               shared VM a vCPU can be taken away for tens of ms with no run-queue wait at all.
 *     nodes     one node and two nodes (cpu_node map; unpinned and pinned): 3 submitter threads, each
 *               an event loop with its own channel (arm / poll(fd) / ack / drain), a mix of noop,
 *               spin, Python (fn == NULL), inline-output, caller-output and failing tasks, random
 *               priority, weight and node; every id completes exactly once on its own channel with
 *               the expected status, rc and output
 *     cancel    a random subset cancelled by the submitter right after submit or by a canceller
 *               thread (late, also after the record was reused); OK + CANCELLED == submitted, no
 *               task that was not cancelled comes back CANCELLED, a cancelled task never ran; plus
 *               a deterministic reuse trial: a cancel naming a drained task's id, on its record now
 *               holding a queued task, has no effect, while a cancel of a queued task is honoured
 *     batch     aio_submit_batch with out == NULL and stride == 0, and with output (per-item rcs and
 *               bytes), argument checks
 *     validate  bad configs -> AIO_EINVAL; bad submits -> AIO_EINVAL; pool exhaustion -> AIO_EFULL
 *               with exactly `capacity` accepted, and the engine keeps serving afterwards
 *     deadline  deadline 1 ns / 300 us behind a gate -> EXPIRED (never ran, batch rcs untouched);
 *               10 s, 1 s, INT64_MAX/2 -> OK; then INT64_MAX and INT64_MAX - 1 -> OK (no overflow)
 *     stop      create/start/submit/stop/destroy cycles with 1-2 submitter threads racing
 *               aio_engine_stop: each accepted task gets exactly one completion (OK, FAILED,
 *               EXPIRED or CANCELLED) after stop returns, a submit after stop returns AIO_ECLOSED,
 *               channels end with nothing in flight (the contract of aio_engine_stop in aioultra.h)
 *
 * Prints one line per scenario (and per configuration where it has several) and a final summary;
 * a violation prints "FAIL [scenario] ..." on stderr (at most 20 lines per scenario). Exits 0 when
 * everything passes, 1 otherwise.
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -Icsrc -Icsrc/kernels \
 *            csrc/tests/stress_engine.c csrc/engine.c csrc/worker.c csrc/injector.c csrc/ring.c \
 *            csrc/pool.c csrc/completion.c csrc/deque.c csrc/topology.c csrc/kernels/basic.c \
 *            -o stress_engine
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aioultra.h"
#include "atomics.h"
#include "stress_common.h"

#define MS ((int64_t)1000000)
#define US ((int64_t)1000)
#define LATE_NS (10 * MS)     /* a later start of a burst's last task is printed (NOTE) */
#define GIVE_UP_NS (1000 * MS) /* a blocked kernel gives up after this (never hangs) */
#define BATCH 64
#define IDX_BITS 40
#define IDX_MASK ((1ULL << IDX_BITS) - 1)
#define MAX_FAIL_LINES 20

/* ------------------------------------------------------------------------------------------ */
/* failures (any thread) */

static _Atomic int g_fail = 0;
static _Atomic int g_fail_lines = 0;
static const char *g_scn = "setup"; /* written by main between scenarios only */

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...) {
    add_relaxed(&g_fail, 1); /* relaxed: a counter read after every thread joined */
    if (add_relaxed(&g_fail_lines, 1) >= MAX_FAIL_LINES) return; /* relaxed: only a print limit */
    char line[512];
    int n = snprintf(line, sizeof line, "FAIL [%s] ", g_scn);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line); /* one call: lines of several threads do not interleave */
}
#define EXPECT(cond, ...)                   \
    do {                                    \
        if (!(cond)) failf(__VA_ARGS__);    \
    } while (0)

static int scenario_begin(const char *name) {
    g_scn = name;
    st_relaxed(&g_fail_lines, 0); /* relaxed: no other thread runs between scenarios */
    return ld_relaxed(&g_fail);   /* relaxed: same */
}
static const char *verdict(int f0) { return ld_relaxed(&g_fail) == f0 ? "ok" : "FAILED"; } /* relaxed: joined */

/* ------------------------------------------------------------------------------------------ */
/* time, cpus */

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(int64_t ns) {
    if (ns <= 0) return;
    struct timespec d = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
}

static void spin_ns(int64_t ns) {
    int64_t end = mono_ns() + ns;
    while (mono_ns() < end) cpu_relax();
}

static int g_ncpus = 1;     /* CPUs in our affinity mask */
static int g_cpus[256];     /* their ids */

static void detect_cpus(void) {
    cpu_set_t set;
    g_ncpus = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && g_ncpus < 256; c++)
            if (CPU_ISSET(c, &set)) g_cpus[g_ncpus++] = c;
    if (g_ncpus == 0) {
        g_cpus[0] = 0;
        g_ncpus = 1;
    }
}

/* Run-queue wait of a thread so far, in ns: the 2nd field of its schedstat (time it was runnable
 * but not running). open_schedstat(0) opens the calling thread's. -1 when unavailable. */
static int open_schedstat(int tid) {
    char path[64];
    if (tid > 0) snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    else snprintf(path, sizeof path, "/proc/thread-self/schedstat");
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int64_t run_delay(int fd) {
    char buf[128];
    if (fd < 0) return -1;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = '\0';
    unsigned long long on_cpu, waited;
    if (sscanf(buf, "%llu %llu", &on_cpu, &waited) != 2) return -1;
    return (int64_t)waited;
}

/* Steal time of all CPUs so far, in ns (/proc/stat "cpu" line, 8th field: time the hypervisor ran
 * something else while a vCPU wanted to run). -1 when unavailable. */
static int64_t steal_ns(void) {
    char buf[256];
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    unsigned long long f[8];
    if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
               &f[7]) != 8)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (int64_t)(f[7] * (1000000000ULL / (unsigned long long)hz)) : -1;
}

/* ------------------------------------------------------------------------------------------ */
/* engine configs */

enum { PIN_NONE, PIN_ONE, PIN_SPREAD };
static const char *pin_name(int pin) { return pin == PIN_NONE ? "none" : pin == PIN_ONE ? "one-cpu" : "spread"; }

typedef struct ecfg {
    aio_engine_config c;
    int32_t node_workers[4];
    int32_t worker_cpus[64];
    int32_t cpu_node[256];
} ecfg;

static int32_t py_entry(uint64_t id);

/* n_nodes nodes of per_node workers each; pin: PIN_NONE (all -1, affinity off), PIN_ONE (all on
 * our first CPU, affinity on), PIN_SPREAD (worker i on CPU i mod ncpus, affinity on). */
static void ecfg_init(ecfg *x, int n_nodes, int per_node, int pin, uint32_t capacity, int64_t spin) {
    memset(x, 0, sizeof *x);
    int n_workers = n_nodes * per_node;
    for (int i = 0; i < n_nodes; i++) x->node_workers[i] = per_node;
    for (int i = 0; i < n_workers && i < 64; i++)
        x->worker_cpus[i] = pin == PIN_NONE ? -1 : pin == PIN_ONE ? g_cpus[0] : g_cpus[i % g_ncpus];
    for (int i = 0; i < 256; i++) x->cpu_node[i] = i % n_nodes; /* both nodes may share the CPUs */
    x->c.n_nodes = n_nodes;
    x->c.node_workers = x->node_workers;
    x->c.worker_cpus = x->worker_cpus;
    x->c.n_cpus_map = 256;
    x->c.cpu_node = x->cpu_node;
    x->c.capacity = capacity;
    x->c.enable_stealing = 1;
    x->c.enable_affinity = pin != PIN_NONE;
    x->c.balance_threshold = 0.05;
    x->c.spin_ns = spin;
    x->c.wake_policy = AIO_WAKE_LOCAL;
    x->c.adaptive_spin = 0;
    x->c.max_searchers = 0;
    x->c.py_entry = py_entry;
}

static aio_engine *engine_up(ecfg *x) {
    aio_engine *e = NULL;
    int rc = aio_engine_create(&x->c, &e);
    if (rc != AIO_OK) {
        failf("aio_engine_create: %d", rc);
        return NULL;
    }
    rc = aio_engine_start(e);
    if (rc != AIO_OK) {
        failf("aio_engine_start: %d", rc);
        aio_engine_destroy(e);
        return NULL;
    }
    return e;
}

/* ------------------------------------------------------------------------------------------ */
/* tracked tasks: id = tag << 40 | index; kernels and py_entry count their runs per index */

typedef struct track {
    uint64_t tag, n;
    uint64_t *idv;          /* idv[i]: the id of index i, the 8-byte input of k_work */
    uint64_t *param;        /* per index: spin ns (bits 0-23), output bytes (24-31), fail (bit 32) */
    _Atomic uint32_t *runs; /* k_work / py_entry calls per index (workers) */
    _Atomic uint32_t *seen; /* completions per index (the loop thread) */
    int32_t *status;        /* status of the last completion per index (the loop thread) */
    uint8_t *kind;          /* the submitter's own bookkeeping per index */
    uint8_t *flags;         /* the submitter's own bookkeeping per index */
} track;

#define MAX_TAGS 64
static track *g_tracks[MAX_TAGS]; /* set by main before the engine that uses them starts */
static _Atomic uint64_t g_py_calls = 0;

#define P_SPIN(ns) ((uint64_t)(ns) & 0xffffffULL)
#define P_OUT(n) (((uint64_t)(n) & 0xffULL) << 24)
#define P_FAIL (1ULL << 32)
#define K_FAIL_RC (-5)

static inline uint64_t make_id(uint64_t tag, uint64_t idx) { return tag << IDX_BITS | idx; }
static inline uint8_t pat(uint64_t id, size_t j) { return (uint8_t)(id * 131 + j * 7 + 1); }

static track *track_new(uint64_t tag, uint64_t n) {
    track *t = calloc(1, sizeof *t);
    if (t == NULL) exit(3);
    t->tag = tag;
    t->n = n;
    t->idv = calloc(n, sizeof *t->idv);
    t->param = calloc(n, sizeof *t->param);
    t->runs = calloc(n, sizeof *t->runs);
    t->seen = calloc(n, sizeof *t->seen);
    t->status = calloc(n, sizeof *t->status);
    t->kind = calloc(n, 1);
    t->flags = calloc(n, 1);
    if (!t->idv || !t->param || !t->runs || !t->seen || !t->status || !t->kind || !t->flags) exit(3);
    for (uint64_t i = 0; i < n; i++) t->idv[i] = make_id(tag, i);
    g_tracks[tag] = t;
    return t;
}

static void track_reset(track *t) { /* no engine running */
    memset(t->param, 0, t->n * sizeof *t->param);
    memset((void *)t->runs, 0, t->n * sizeof *t->runs);
    memset((void *)t->seen, 0, t->n * sizeof *t->seen);
    memset(t->status, 0, t->n * sizeof *t->status);
    memset(t->kind, 0, t->n);
    memset(t->flags, 0, t->n);
}

static void track_free(track *t) {
    if (t == NULL) return;
    g_tracks[t->tag] = NULL;
    free(t->idv);
    free(t->param);
    free((void *)t->runs);
    free((void *)t->seen);
    free(t->status);
    free(t->kind);
    free(t->flags);
    free(t);
}

/* index of a tracked id, or UINT64_MAX when it is not one of tr's */
static inline uint64_t track_idx(const track *tr, uint64_t id) {
    if ((id >> IDX_BITS) != tr->tag || (id & IDX_MASK) >= tr->n) return UINT64_MAX;
    return id & IDX_MASK;
}

/* The fake Python entry: counts calls (and runs of tracked ids); always AIO_STATUS_OK. */
static int32_t py_entry(uint64_t id) {
    add_relaxed(&g_py_calls, 1); /* relaxed: a counter read after the completions were drained */
    uint64_t tag = id >> IDX_BITS;
    track *tr = tag < MAX_TAGS ? g_tracks[tag] : NULL;
    if (tr != NULL && (id & IDX_MASK) < tr->n) add_relaxed(&tr->runs[id & IDX_MASK], 1); /* relaxed: as above */
    return AIO_STATUS_OK;
}

/* k_work: in = the 8-byte id, ctx = its track; spins, writes output bytes, or fails per param. */
static int64_t k_work(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    track *tr = ctx;
    if (in == NULL || in_len != 8 || tr == NULL) return -9;
    uint64_t id;
    memcpy(&id, in, 8);
    uint64_t idx = track_idx(tr, id);
    if (idx == UINT64_MAX) return -9;
    add_relaxed(&tr->runs[idx], 1); /* relaxed: read after the completion was drained */
    uint64_t p = tr->param[idx];
    if (P_SPIN(p)) spin_ns((int64_t)P_SPIN(p));
    if (p & P_FAIL) return K_FAIL_RC;
    size_t m = (size_t)((p >> 24) & 0xff);
    if (m > out_cap) m = out_cap;
    for (size_t j = 0; j < m; j++) out[j] = pat(id, j);
    return (int64_t)m;
}

static inline int64_t work_rc(uint64_t p, size_t out_cap) {
    if (p & P_FAIL) return K_FAIL_RC;
    size_t m = (size_t)((p >> 24) & 0xff);
    return (int64_t)(m < out_cap ? m : out_cap);
}

/* A gate: spins until opened (yielding, so it does not starve threads on its CPU); gives up
 * after GIVE_UP_NS with rc -1. */
typedef struct gate {
    _Atomic int started;
    _Atomic int open;
    _Atomic int gave_up;
} gate;

static int64_t k_gate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    (void)in, (void)in_len, (void)out, (void)out_cap;
    gate *g = ctx;
    st_release(&g->started, 1); /* release: the opener reads it only as a signal */
    int64_t t0 = mono_ns();
    unsigned i = 0;
    while (!ld_acquire(&g->open)) { /* acquire: what the opener wrote before opening is visible */
        if ((++i & 15) == 0) {
            if (mono_ns() - t0 > GIVE_UP_NS) {
                st_relaxed(&g->gave_up, 1); /* relaxed: read after the completion */
                return -1;
            }
            sched_yield();
        }
        cpu_relax();
    }
    return 0;
}

static int wait_flag(_Atomic int *f, int64_t timeout_ns) {
    int64_t end = mono_ns() + timeout_ns;
    while (!ld_acquire(f)) { /* acquire: a signal from a kernel */
        if (mono_ns() > end) return 0;
        sched_yield();
    }
    return 1;
}

/* Little-endian 8-byte nanosecond counts for aio_kernel_spin. */
static const uint8_t SPIN_LE[4][8] = {{0}, {0xe8, 0x03}, {0x88, 0x13}, {0x10, 0x27}}; /* 0, 1, 5, 10 us */

/* ------------------------------------------------------------------------------------------ */
/* an event loop: one channel, drained with the arm protocol of completion.h */

typedef void (*done_fn)(void *arg, const aio_completion *c);

typedef struct loop {
    aio_channel *ch;
    int fd;
    done_fn on_done;
    void *arg;
    uint64_t received, sleeps, arm_races, lost_wakeups;
    aio_completion buf[BATCH];
} loop;

static int loop_open(loop *lp, aio_engine *e, done_fn f, void *arg) {
    memset(lp, 0, sizeof *lp);
    int rc = aio_channel_create(e, &lp->ch);
    if (rc != AIO_OK) {
        failf("aio_channel_create: %d", rc);
        return rc;
    }
    lp->fd = aio_channel_fd(lp->ch);
    lp->on_done = f;
    lp->arg = arg;
    return AIO_OK;
}

/* Drains what is delivered and re-arms (drain again when arm says a record raced in). With
 * wait_ms >= 0 and nothing delivered it sleeps in poll() on the channel fd, then acks and drains,
 * for up to wait_ms in all. Returns the completions handled, or -1 when the wait timed out. */
static int pump(loop *lp, int wait_ms) {
    int total = 0, timed_out = 0;
    int64_t end = wait_ms >= 0 ? mono_ns() + (int64_t)wait_ms * MS : 0;
    for (;;) {
        int got = aio_channel_drain(lp->ch, lp->buf, BATCH);
        if (got < 0) {
            failf("aio_channel_drain: %d", got);
            return -1;
        }
        if (got > 0 && timed_out) {
            lp->lost_wakeups++;
            failf("lost channel wake-up: poll timed out after %d ms with %d completions waiting", wait_ms, got);
        }
        for (int i = 0; i < got; i++) lp->on_done(lp->arg, &lp->buf[i]);
        total += got;
        lp->received += (uint64_t)got;
        if (got == BATCH) continue;
        if (aio_channel_arm(lp->ch) == 1) {
            lp->arm_races++;
            continue;
        }
        if (total > 0 || wait_ms < 0) return total;
        if (timed_out) return -1;
        int64_t left = end - mono_ns();
        if (left <= 0) left = 0;
        struct pollfd p = {.fd = lp->fd, .events = POLLIN, .revents = 0};
        int pr = poll(&p, 1, (int)((left + MS - 1) / MS));
        if (pr < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            exit(3);
        }
        if (pr == 0) {
            timed_out = 1; /* drain once more: records without a wake-up are a lost wake-up */
            continue;
        }
        lp->sleeps++;
        if (aio_channel_ack(lp->ch) != AIO_OK) failf("aio_channel_ack failed: %s", strerror(errno));
    }
}

/* Waits until lp->received reaches want; per-poll timeout wait_ms. 0 on success, -1 on timeout. */
static int pump_until(loop *lp, uint64_t want, int wait_ms) {
    while (lp->received < want)
        if (pump(lp, wait_ms) < 0) return -1;
    return 0;
}

/* Stops e, drains what the stop delivered (the callbacks see it), frees the channels and e. */
static void teardown(aio_engine *e, loop *lps, int n) {
    if (e == NULL) return;
    int rc = aio_engine_stop(e);
    EXPECT(rc == AIO_OK, "aio_engine_stop: %d", rc);
    for (int i = 0; i < n; i++) {
        if (lps[i].ch == NULL) continue;
        pump(&lps[i], -1);
        aio_channel_destroy(lps[i].ch);
        lps[i].ch = NULL;
    }
    aio_engine_destroy(e);
}

static void ignore_done(void *arg, const aio_completion *c) { (void)arg, (void)c; }

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------------------------------ */
/* 1. burst: tasks that block on each other */

typedef struct burst {
    int n;                        /* tasks in the current burst (written before its submits) */
    int64_t submit_ns[8];         /* main only */
    int64_t give_up_at;           /* blocked kernels give up at this time (written before the submits) */
    _Atomic int64_t last_started; /* start time of the burst's last task; 0 until it started */
    _Atomic int64_t last_rq;      /* run-queue wait of the last task's worker when it started */
    _Atomic int gave_up;          /* blocked kernels that gave up */
} burst;

static const uint64_t POS[8] = {0, 1, 2, 3, 4, 5, 6, 7};

/* in = 8-byte position in the burst; the last task records its start, the others spin until it
 * has started (yielding now and then: they are blocked, not computing) or give up 1 s after the
 * burst was submitted (all at once, also those that start late: a stuck burst costs 1 s). */
static int64_t k_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    (void)out, (void)out_cap;
    burst *b = ctx;
    int64_t t0 = mono_ns();
    uint64_t k;
    if (in == NULL || in_len != 8) return -9;
    memcpy(&k, in, 8);
    if ((int)k == b->n - 1) {
        st_release(&b->last_started, t0); /* release: read by the blocked kernels and main */
        int fd = open_schedstat(0);
        st_relaxed(&b->last_rq, run_delay(fd)); /* relaxed: read after the completion */
        if (fd >= 0) close(fd);
        return 0;
    }
    unsigned i = 0;
    while (ld_acquire(&b->last_started) == 0) { /* acquire: pairs with the store above */
        if ((++i & 15) == 0) {
            if (mono_ns() > b->give_up_at) {
                add_relaxed(&b->gave_up, 1); /* relaxed: read after the completions */
                return -1;
            }
            sched_yield();
        }
        cpu_relax();
    }
    return 0;
}

typedef struct burst_done {
    uint64_t ok, failed, other;
    uint64_t base;     /* id of the current burst's first task */
    int32_t worker[8]; /* worker that completed each task of the current burst */
} burst_done;

static void burst_on_done(void *arg, const aio_completion *c) {
    burst_done *d = arg;
    if (c->id >= d->base && c->id < d->base + 8) d->worker[c->id - d->base] = c->worker;
    if (c->status == AIO_STATUS_OK && c->rc == 0) d->ok++;
    else if (c->status == AIO_STATUS_FAILED && c->rc == -1) d->failed++;
    else d->other++;
}

static void burst_config(int fixed3, int pin, int64_t spin, int wake, int adaptive, int rounds, uint64_t *rng) {
    int workers = fixed3 ? 3 : 8;
    ecfg x;
    ecfg_init(&x, 1, workers, pin, 64, spin);
    x.c.wake_policy = wake;
    x.c.adaptive_spin = adaptive;
    aio_engine *e = engine_up(&x);
    if (e == NULL) return;
    burst *b = calloc(1, sizeof *b);
    int64_t *delays = calloc((size_t)rounds, sizeof *delays);
    burst_done d;
    memset(&d, 0, sizeof d);
    loop lp;
    if (b == NULL || delays == NULL) exit(3);
    if (loop_open(&lp, e, burst_on_done, &d) != AIO_OK) {
        teardown(e, NULL, 0);
        free(b);
        free(delays);
        return;
    }
    /* the run-queue waits of the workers and of this (submitting) thread: a late start that the
     * OS explains (the thread was runnable, the CPU busy elsewhere) is not the engine's */
    int wfd[8], mfd = open_schedstat(0);
    int64_t rq0[8];
    for (int i = 0; i < workers; i++) {
        aio_worker_stats ws;
        wfd[i] = aio_worker_get_stats(e, i, &ws) == AIO_OK && ws.tid > 0 ? open_schedstat(ws.tid) : -1;
    }
    static const int64_t pauses[3] = {0, 200 * US, 2 * MS};
    int done = 0, late = 0, stuck = 0, lost = 0;
    uint64_t id = 1, tasks = 0;
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        sleep_ns(pauses[xorshift64(rng) % 3]);
        int n = fixed3 ? 3 : 3 + (int)(xorshift64(rng) % 6);
        b->n = n; /* plain: published to the workers by the submits below */
        st_relaxed(&b->last_started, 0); /* relaxed: published by the submits below */
        int gave0 = ld_relaxed(&b->gave_up); /* relaxed: previous burst drained */
        uint64_t want = lp.received + (uint64_t)n;
        d.base = id;
        for (int k = 0; k < 8; k++) d.worker[k] = -1;
        for (int i = 0; i < workers; i++) rq0[i] = run_delay(wfd[i]);
        int64_t m0 = run_delay(mfd), st0 = steal_ns();
        b->give_up_at = mono_ns() + GIVE_UP_NS; /* plain: published by the submits below */
        for (int k = 0; k < n; k++) {
            b->submit_ns[k] = mono_ns();
            int rc = aio_submit(e, lp.ch, id++, k_block, b, (const uint8_t *)&POS[k], 8, NULL, 0, 0, 0, 1, -1, NULL);
            if (rc != AIO_OK) {
                failf("burst %d: submit %d of %d: %d", r, k, n, rc);
                want--;
            }
        }
        int64_t m1 = run_delay(mfd);
        tasks += (uint64_t)n;
        /* not started 100 ms after the submits: note where the engine holds it (public stats) */
        char where[256] = "";
        while (ld_acquire(&b->last_started) == 0 && mono_ns() - b->submit_ns[n - 1] < 100 * MS) /* acquire: a signal */
            sleep_ns(100 * US);
        if (ld_acquire(&b->last_started) == 0) { /* acquire: a signal */
            aio_node_stats ns;
            int len = 0;
            if (aio_node_get_stats(e, 0, &ns) == AIO_OK)
                len = snprintf(where, sizeof where, "at 100 ms: node queue %" PRId64 ", workers (executed/parks/deque):",
                               ns.queued);
            for (int i = 0; i < workers && len > 0 && len < (int)sizeof where; i++) {
                aio_worker_stats ws;
                if (aio_worker_get_stats(e, i, &ws) == AIO_OK)
                    len += snprintf(where + len, sizeof where - (size_t)len, " %" PRIu64 "/%" PRIu64 "/%" PRId64,
                                    ws.executed, ws.parks, ws.deque_size);
            }
        }
        if (pump_until(&lp, want, 3000) != 0) {
            lost++;
            failf("%s pin=%s spin=%" PRId64 "us round %d: only %" PRIu64 " of %d completions after 3 s"
                  " (a task never started; config abandoned)", fixed3 ? "ABC" : "3..8", pin_name(pin), spin / US, r,
                  (uint64_t)n - (want - lp.received), n);
            break;
        }
        int64_t ls = ld_acquire(&b->last_started); /* acquire: drained, the kernel is done */
        int64_t delay = ls - b->submit_ns[n - 1];
        delays[done++] = delay;
        int gave = ld_relaxed(&b->gave_up) - gave0; /* relaxed: drained */
        if (gave > 0) {
            /* the last task did not start before the blocked ones gave up: the engine held it */
            stuck++;
            failf("%s pin=%s spin=%" PRId64 "us wake=%s round %d: burst of %d, the last task started %.3f ms after"
                  " its submission, after the blocked tasks gave up (1 s)%s%s",
                  fixed3 ? "ABC" : "3..8", pin_name(pin), spin / US, wake == AIO_WAKE_LOCAL ? "local" : "any", r, n,
                  (double)delay / MS, where[0] ? "; " : "", where);
        } else if (delay > LATE_NS) {
            int w = d.worker[n - 1];
            int64_t rq1 = ld_relaxed(&b->last_rq); /* relaxed: drained */
            int64_t wq = w >= 0 && w < workers && rq0[w] >= 0 && rq1 >= 0 ? rq1 - rq0[w] : -1;
            int64_t mq = m0 >= 0 && m1 >= 0 ? m1 - m0 : -1;
            int64_t st1 = steal_ns(), sq = st0 >= 0 && st1 >= 0 ? st1 - st0 : -1;
            /* late but not stuck: the OS or the hypervisor, not a lost wake-up (see the header) */
            if (late++ < 3)
                printf("  NOTE [burst] %s pin=%s spin=%" PRId64 "us round %d: the last task started %.3f ms after its"
                       " submission (worker %d; run-queue waits: worker %.3f ms, submitter %.3f ms; steal %.3f ms;"
                       " -1 = unavailable)%s%s: late, not stuck\n",
                       fixed3 ? "ABC" : "3..8", pin_name(pin), spin / US, r, (double)delay / MS, w,
                       wq < 0 ? -1.0 : (double)wq / MS, mq < 0 ? -1.0 : (double)mq / MS, sq < 0 ? -1.0 : (double)sq / MS,
                       where[0] ? "; " : "", where);
        }
        if (stuck > 0) { /* each stuck burst costs 1 s: one is enough */
            failf("%s pin=%s spin=%" PRId64 "us: config abandoned after a stuck burst (round %d of %d)",
                  fixed3 ? "ABC" : "3..8", pin_name(pin), spin / US, r + 1, rounds);
            break;
        }
    }
    double el = now_s() - t0;
    uint64_t parks = 0, wakeups = 0;
    for (int i = 0; i < workers; i++) {
        aio_worker_stats ws;
        if (aio_worker_get_stats(e, i, &ws) == AIO_OK) {
            parks += ws.parks;
            wakeups += ws.wakeups;
        }
    }
    teardown(e, &lp, 1);
    for (int i = 0; i < workers; i++)
        if (wfd[i] >= 0) close(wfd[i]);
    if (mfd >= 0) close(mfd);
    EXPECT(d.other == 0, "%" PRIu64 " completions with an unexpected status or rc", d.other);
    qsort(delays, (size_t)done, sizeof *delays, cmp_i64);
    double p50 = done ? (double)delays[done / 2] / 1e3 : 0, p99 = done ? (double)delays[(done * 99) / 100] / 1e3 : 0;
    double mx = done ? (double)delays[done - 1] / 1e3 : 0;
    printf("  burst %-4s workers=%d pin=%-7s spin=%2" PRId64 "us wake=%-5s adaptive=%d: rounds=%d/%d tasks=%" PRIu64
           " last-start p50=%.1fus p99=%.1fus max=%.1fus late(>10ms)=%d stuck(1s)=%d lost=%d gave_up=%d parks=%" PRIu64
           " wakeups=%" PRIu64 " elapsed=%.2fs\n",
           fixed3 ? "ABC" : "3..8", workers, pin_name(pin), spin / US, wake == AIO_WAKE_LOCAL ? "local" : "any", adaptive,
           done, rounds, tasks, p50, p99, mx, late, stuck, lost, ld_relaxed(&b->gave_up), parks, wakeups, el);
    free(b);
    free(delays);
}

static void scenario_burst(long scale, uint64_t seed) {
    int f0 = scenario_begin("burst");
    uint64_t rng = seed ^ 0xb0b5ULL;
    int rounds = (int)(scale / 2 > 10 ? scale / 2 : 10);
    double t0 = now_s();
    for (int fixed3 = 1; fixed3 >= 0; fixed3--)
        for (int pin = PIN_NONE; pin <= PIN_ONE; pin++) {
            burst_config(fixed3, pin, 0, AIO_WAKE_LOCAL, 0, rounds, &rng);
            burst_config(fixed3, pin, 20 * US, AIO_WAKE_ANY, 1, rounds, &rng);
        }
    printf("stress_engine: burst cpu=%d rounds/config=%d elapsed=%.2fs %s\n", g_cpus[0], rounds, now_s() - t0,
           verdict(f0));
}

/* ------------------------------------------------------------------------------------------ */
/* 2. nodes: several loops, each with its own channel */

enum { KN_NOOP, KN_SPIN, KN_PY, KN_INLINE, KN_CALLER, KN_FAIL, KN_COUNT };
#define CALLER_CAP 96

typedef struct lthread {
    aio_engine *e;
    int li, n_nodes, n_workers;
    uint64_t n, seed, window;
    track *tr;
    loop lp;
    uint8_t *obuf; /* n * CALLER_CAP caller-output buffers */
    uint32_t *ocap; /* out_cap per index */
    uint64_t submitted, efull, outstanding, foreign, bad, py;
    uint64_t lost, dup, per_kind[KN_COUNT];
    double elapsed;
} lthread;

static void nodes_on_done(void *arg, const aio_completion *c) {
    lthread *L = arg;
    track *tr = L->tr;
    uint64_t idx = track_idx(tr, c->id);
    if (idx == UINT64_MAX) {
        L->foreign++;
        failf("loop %d: completion of a foreign id %#" PRIx64 " on its channel", L->li, c->id);
        return;
    }
    L->outstanding--;
    if (add_relaxed(&tr->seen[idx], 1) != 0) return; /* relaxed: loop-thread only; counted by the tally */
    tr->status[idx] = c->status;
    uint64_t p = tr->param[idx];
    int kind = tr->kind[idx];
    int ok = c->worker >= 0 && c->worker < L->n_workers;
    switch (kind) {
    case KN_NOOP:
    case KN_SPIN: ok = ok && c->status == AIO_STATUS_OK && c->rc == 0; break;
    case KN_PY: ok = ok && c->status == AIO_STATUS_OK; break; /* rc: no kernel, not specified */
    case KN_FAIL: ok = ok && c->status == AIO_STATUS_FAILED && c->rc == K_FAIL_RC; break;
    case KN_INLINE: {
        int64_t want = work_rc(p, L->ocap[idx]);
        ok = ok && c->status == AIO_STATUS_OK && c->rc == want;
        for (int64_t j = 0; ok && j < want; j++) ok = c->out[j] == pat(c->id, (size_t)j);
        break;
    }
    case KN_CALLER: {
        int64_t want = work_rc(p, CALLER_CAP);
        const uint8_t *o = L->obuf + idx * CALLER_CAP;
        ok = ok && c->status == AIO_STATUS_OK && c->rc == want;
        for (int64_t j = 0; ok && j < want; j++) ok = o[j] == pat(c->id, (size_t)j);
        for (int64_t j = want; ok && j < CALLER_CAP; j++) ok = o[j] == 0xEE; /* past rc: untouched */
        break;
    }
    }
    if (!ok) {
        L->bad++;
        failf("loop %d: id %#" PRIx64 " kind %d: status %d rc %" PRId64 " worker %d not as expected", L->li, c->id, kind,
              c->status, c->rc, c->worker);
    }
}

static void *nodes_loop_main(void *arg) {
    lthread *L = arg;
    track *tr = L->tr;
    uint64_t rng = L->seed;
    double t0 = now_s();
    for (uint64_t i = 0; i < L->n; i++) {
        uint64_t r = xorshift64(&rng);
        int kind = (int)(r % KN_COUNT);
        r >>= 8;
        aio_kernel_fn fn = k_work;
        void *ctx = tr;
        const uint8_t *in = (const uint8_t *)&tr->idv[i];
        size_t in_len = 8, out_cap = 0;
        uint8_t *out = NULL;
        tr->kind[i] = (uint8_t)kind;
        switch (kind) {
        case KN_NOOP: fn = aio_kernel_noop, ctx = NULL, in = NULL, in_len = 0; break;
        case KN_SPIN: fn = aio_kernel_spin, ctx = NULL, in = SPIN_LE[r % 3], in_len = 8; break;
        case KN_PY: fn = NULL, ctx = NULL, in = NULL, in_len = 0; L->py++; break;
        case KN_INLINE:
            tr->param[i] = P_OUT(r % 80) | P_SPIN((r >> 8) % 2000);
            out_cap = (r >> 20) % (AIO_INLINE_OUT + 1);
            break;
        case KN_CALLER:
            tr->param[i] = P_OUT(r % (CALLER_CAP + 20));
            out = L->obuf + i * CALLER_CAP;
            memset(out, 0xEE, CALLER_CAP);
            out_cap = CALLER_CAP;
            break;
        case KN_FAIL: tr->param[i] = P_FAIL | P_OUT(8); out_cap = 8; break;
        }
        L->ocap[i] = (uint32_t)out_cap;
        L->per_kind[kind]++;
        uint64_t r2 = xorshift64(&rng);
        int32_t prio = (r2 & 3) == 0 ? AIO_PRIORITY_HIGH + (int32_t)((r2 >> 2) % 8) : (int32_t)((r2 >> 2) % 8);
        int32_t node = ((r2 >> 8) & 3) == 0 ? (int32_t)((r2 >> 10) % (uint64_t)L->n_nodes) : -1;
        uint32_t weight = 1 + (uint32_t)((r2 >> 16) % 50);
        int64_t deadline = ((r2 >> 24) & 7) == 0 ? 10000 * MS : 0; /* 10 s: never expires */
        for (;;) {
            int rc = aio_submit(L->e, L->lp.ch, tr->idv[i], fn, ctx, in, in_len, out, out_cap, prio, deadline, weight,
                                node, NULL);
            if (rc == AIO_OK) break;
            if (rc != AIO_EFULL) {
                failf("loop %d: aio_submit of index %" PRIu64 ": %d", L->li, i, rc);
                goto done;
            }
            L->efull++;
            if (L->outstanding > 0) {
                if (pump(&L->lp, 2000) < 0) {
                    failf("loop %d: no completion for 2 s with %" PRIu64 " outstanding (pool full)", L->li, L->outstanding);
                    goto done;
                }
            } else {
                sched_yield(); /* the other loops hold the pool; they drain */
            }
        }
        L->submitted++;
        L->outstanding++;
        if ((i & 7) == 7) pump(&L->lp, -1);
        while (L->outstanding >= L->window)
            if (pump(&L->lp, 2000) < 0) {
                failf("loop %d: no completion for 2 s with %" PRIu64 " outstanding", L->li, L->outstanding);
                goto done;
            }
    }
    while (L->outstanding > 0)
        if (pump(&L->lp, 2000) < 0) {
            failf("loop %d: no completion for 2 s with %" PRIu64 " outstanding at the end", L->li, L->outstanding);
            break;
        }
done:
    L->elapsed = now_s() - t0;
    return NULL;
}

static void nodes_config(int n_nodes, int per_node, int pin, int64_t spin, int wake, uint64_t per_loop, uint64_t *rng) {
    enum { LOOPS = 3 };
    ecfg x;
    ecfg_init(&x, n_nodes, per_node, pin, 128, spin);
    x.c.wake_policy = wake;
    uint64_t py0 = ld_relaxed(&g_py_calls); /* relaxed: no engine running */
    lthread L[LOOPS];
    memset(L, 0, sizeof L);
    for (int i = 0; i < LOOPS; i++) {
        L[i].tr = track_new(10 + (uint64_t)i, per_loop);
        L[i].obuf = malloc(per_loop * CALLER_CAP);
        L[i].ocap = calloc(per_loop, sizeof *L[i].ocap);
        if (L[i].obuf == NULL || L[i].ocap == NULL) exit(3);
    }
    aio_engine *e = engine_up(&x);
    if (e == NULL) goto out;
    loop lps[LOOPS];
    for (int i = 0; i < LOOPS; i++) {
        L[i].e = e;
        L[i].li = i;
        L[i].n_nodes = n_nodes;
        L[i].n_workers = n_nodes * per_node;
        L[i].n = per_loop;
        L[i].seed = xorshift64(rng) | 1;
        L[i].window = 64; /* 3 x 64 > capacity 128: the loops also meet AIO_EFULL */
        if (loop_open(&L[i].lp, e, nodes_on_done, &L[i]) != AIO_OK) exit(3);
    }
    pthread_t th[LOOPS];
    double t0 = now_s();
    for (int i = 0; i < LOOPS; i++)
        if (pthread_create(&th[i], NULL, nodes_loop_main, &L[i]) != 0) exit(3);
    for (int i = 0; i < LOOPS; i++) pthread_join(th[i], NULL);
    double el = now_s() - t0;
    aio_engine_stats es;
    aio_engine_get_stats(e, &es);
    uint64_t steals = 0, remote = 0, parks = 0;
    for (int i = 0; i < n_nodes * per_node; i++) {
        aio_worker_stats ws;
        if (aio_worker_get_stats(e, i, &ws) == AIO_OK) {
            steals += ws.steals_local;
            remote += ws.steals_remote;
            parks += ws.parks;
        }
    }
    uint64_t node_sub[2] = {0, 0};
    for (int i = 0; i < n_nodes && i < 2; i++) {
        aio_node_stats ns;
        if (aio_node_get_stats(e, i, &ns) == AIO_OK) node_sub[i] = ns.submitted;
    }
    for (int i = 0; i < LOOPS; i++) {
        lps[i] = L[i].lp;
        /* a worker finishes with the channel just after publishing: in flight reaches 0 soon */
        int64_t end = mono_ns() + 1000 * MS, inflight;
        while ((inflight = aio_channel_inflight(L[i].lp.ch)) != 0 && mono_ns() < end) sched_yield();
        EXPECT(inflight == 0, "loop %d: channel in flight %" PRId64 " 1 s after all its completions were drained", i,
               inflight);
    }
    teardown(e, lps, LOOPS);
    uint64_t sub = 0, efull = 0, lost = 0, dup = 0, bad = 0, foreign = 0, py = 0, runs_bad = 0, lw = 0;
    for (int i = 0; i < LOOPS; i++) {
        track *tr = L[i].tr;
        tally t = tally_counts(tr->seen, L[i].submitted);
        if (t.lost) failf("loop %d: %" PRIu64 " ids never completed (first index %" PRIu64 ")", i, t.lost, t.first_lost);
        if (t.dup) failf("loop %d: %" PRIu64 " duplicate completions (first index %" PRIu64 ")", i, t.dup, t.first_dup);
        for (uint64_t k = 0; k < L[i].submitted; k++) {
            int kind = tr->kind[k];
            uint32_t want = kind == KN_PY || kind == KN_INLINE || kind == KN_CALLER || kind == KN_FAIL ? 1 : 0;
            uint32_t got = ld_relaxed(&tr->runs[k]); /* relaxed: drained */
            if (want && got != want) {
                if (runs_bad++ < 3) failf("loop %d: index %" PRIu64 " kind %d ran %u times", i, k, kind, got);
            }
        }
        sub += L[i].submitted, efull += L[i].efull, lost += t.lost, dup += t.dup, bad += L[i].bad;
        foreign += L[i].foreign, py += L[i].py, lw += L[i].lp.lost_wakeups;
    }
    uint64_t py_calls = ld_relaxed(&g_py_calls) - py0; /* relaxed: joined */
    EXPECT(py_calls == py, "py_entry called %" PRIu64 " times for %" PRIu64 " Python jobs", py_calls, py);
    printf("  nodes %dx%d pin=%-7s spin=%2" PRId64 "us wake=%-5s: loops=%d tasks=%" PRIu64 " py=%" PRIu64 " efull=%" PRIu64
           " lost=%" PRIu64 " dup=%" PRIu64 " bad=%" PRIu64 " foreign=%" PRIu64 " bad_runs=%" PRIu64 " lost_wakeups=%" PRIu64
           " node_submitted=%" PRIu64 "/%" PRIu64 " steals=%" PRIu64 "+%" PRIu64 " parks=%" PRIu64 " stats(sub=%" PRIu64
           " ok=%" PRIu64 " failed=%" PRIu64 ") elapsed=%.2fs\n",
           n_nodes, per_node, pin_name(pin), spin / US, wake == AIO_WAKE_LOCAL ? "local" : "any", LOOPS, sub, py, efull,
           lost, dup, bad, foreign, runs_bad, lw, node_sub[0], node_sub[1], steals, remote, parks, es.submitted,
           es.completed, es.failed, el);
out:
    for (int i = 0; i < LOOPS; i++) {
        track_free(L[i].tr);
        free(L[i].obuf);
        free(L[i].ocap);
    }
}

static void scenario_nodes(long scale, uint64_t seed) {
    int f0 = scenario_begin("nodes");
    uint64_t rng = seed ^ 0x40de5ULL;
    uint64_t per_loop = (uint64_t)(scale * 40 > 1000 ? scale * 40 : 1000);
    double t0 = now_s();
    nodes_config(1, 3, PIN_NONE, 20 * US, AIO_WAKE_LOCAL, per_loop, &rng);
    nodes_config(2, 2, PIN_NONE, 0, AIO_WAKE_ANY, per_loop, &rng);
    nodes_config(2, 2, PIN_SPREAD, 20 * US, AIO_WAKE_LOCAL, per_loop, &rng);
    printf("stress_engine: nodes tasks/loop=%" PRIu64 " elapsed=%.2fs %s\n", per_loop, now_s() - t0, verdict(f0));
}

/* ------------------------------------------------------------------------------------------ */
/* 3. cancel */

#define F_TARGET 1 /* the submitter meant it to be cancelled */

typedef struct centry {
    aio_task *t;
    uint64_t id;
} centry;

typedef struct cshared {
    centry *ents;            /* targets handed to the canceller */
    _Atomic uint64_t npub;   /* entries published (release) */
    _Atomic int done;        /* the submitter is finished */
    uint64_t seed, late;     /* canceller: its rng, late cancels issued */
} cshared;

static void *canceller_main(void *arg) {
    cshared *s = arg;
    uint64_t rng = s->seed, next = 0;
    for (;;) {
        uint64_t n = ld_acquire(&s->npub); /* acquire: the entries below it are written */
        if (next < n) {
            /* sometimes wait a little: the task may start, finish, and its record be reused */
            if ((xorshift64(&rng) & 3) == 0) sched_yield();
            aio_task_cancel(s->ents[next].t, s->ents[next].id);
            next++;
            /* a late cancel of an older target: its record may hold another task by now */
            if (next > 8 && (xorshift64(&rng) & 1) == 0) {
                centry *old = &s->ents[xorshift64(&rng) % next];
                aio_task_cancel(old->t, old->id);
                s->late++;
            }
            continue;
        }
        if (ld_acquire(&s->done) && next == ld_acquire(&s->npub)) break; /* acquire: final npub */
        sched_yield();
    }
    return NULL;
}

typedef struct cstate {
    track *tr;
    uint64_t ok, cancelled, other, wrong, ran_cancelled, outstanding;
} cstate;

static void cancel_on_done(void *arg, const aio_completion *c) {
    cstate *s = arg;
    uint64_t idx = track_idx(s->tr, c->id);
    if (idx == UINT64_MAX) {
        s->other++;
        failf("completion of a foreign id %#" PRIx64, c->id);
        return;
    }
    s->outstanding--;
    add_relaxed(&s->tr->seen[idx], 1); /* relaxed: loop thread only */
    s->tr->status[idx] = c->status;
    if (c->status == AIO_STATUS_OK) s->ok++;
    else if (c->status == AIO_STATUS_CANCELLED) s->cancelled++;
    else {
        s->other++;
        failf("id %#" PRIx64 ": status %d (only OK or CANCELLED expected)", c->id, c->status);
    }
    if (c->status == AIO_STATUS_CANCELLED && !(s->tr->flags[idx] & F_TARGET)) {
        s->wrong++;
        failf("id %#" PRIx64 " came back CANCELLED but nobody cancelled it (a late cancel hit a reused record?)", c->id);
    }
}

static void cancel_random(int n_nodes, int per_node, uint64_t n, uint64_t *rng) {
    ecfg x;
    ecfg_init(&x, n_nodes, per_node, PIN_NONE, 256, 20 * US);
    track *tr = track_new(30, n);
    cstate st;
    memset(&st, 0, sizeof st);
    st.tr = tr;
    cshared *sh = calloc(1, sizeof *sh);
    if (sh == NULL || (sh->ents = calloc(n, sizeof *sh->ents)) == NULL) exit(3);
    sh->seed = xorshift64(rng) | 1;
    aio_engine *e = engine_up(&x);
    loop lp;
    memset(&lp, 0, sizeof lp);
    if (e == NULL || loop_open(&lp, e, cancel_on_done, &st) != AIO_OK) goto out;
    pthread_t th;
    if (pthread_create(&th, NULL, canceller_main, sh) != 0) exit(3);
    uint64_t submitted = 0, targets = 0, now_cancels = 0, efull = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n;) {
        uint64_t chunk = 16 + xorshift64(rng) % 48;
        for (uint64_t k = 0; k < chunk && i < n; k++, i++) {
            uint64_t r = xorshift64(rng);
            int py = (r & 3) == 0;
            tr->param[i] = P_SPIN((r >> 4) % 5000);
            int target = ((r >> 32) % 3) == 0;
            if (target) tr->flags[i] = F_TARGET;
            aio_task *t = NULL;
            int rc;
            while ((rc = aio_submit(e, lp.ch, tr->idv[i], py ? NULL : k_work, py ? NULL : tr,
                                    py ? NULL : (const uint8_t *)&tr->idv[i], py ? 0 : 8, NULL, 0, (r >> 40) & 1 ? 9 : 0,
                                    0, 1, -1, &t)) == AIO_EFULL) {
                efull++;
                if (pump(&lp, 2000) < 0) {
                    failf("no completion for 2 s with the pool full");
                    goto stop_submitting;
                }
            }
            if (rc != AIO_OK) {
                failf("aio_submit: %d", rc);
                tr->flags[i] = 0;
                continue;
            }
            submitted++;
            st.outstanding++;
            if (!target) continue;
            targets++;
            if ((r >> 36) & 1) {
                aio_task_cancel(t, tr->idv[i]);
                now_cancels++;
            } else {
                uint64_t slot = ld_relaxed(&sh->npub); /* relaxed: only this thread writes npub */
                sh->ents[slot].t = t;
                sh->ents[slot].id = tr->idv[i];
                st_release(&sh->npub, slot + 1); /* release: the entry is written */
            }
        }
        pump(&lp, -1);
    }
stop_submitting:
    st_release(&sh->done, 1); /* release: npub is final */
    pthread_join(th, NULL);
    while (st.outstanding > 0)
        if (pump(&lp, 2000) < 0) {
            failf("no completion for 2 s with %" PRIu64 " outstanding at the end", st.outstanding);
            break;
        }
    double el = now_s() - t0;
    teardown(e, &lp, 1);
    e = NULL;
    tally t = tally_counts(tr->seen, n);
    uint64_t lost = 0, ran_bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t runs = ld_relaxed(&tr->runs[i]); /* relaxed: drained */
        if (ld_relaxed(&tr->seen[i]) == 0) { /* relaxed: loop thread is this thread */
            if (i < submitted) lost++;
            continue;
        }
        int s = tr->status[i];
        if ((s == AIO_STATUS_CANCELLED && runs != 0) || (s == AIO_STATUS_OK && runs != 1)) {
            if (ran_bad++ < 3) failf("id %#" PRIx64 ": status %d but ran %u times", tr->idv[i], s, runs);
        }
    }
    EXPECT(lost == 0 && t.dup == 0, "%" PRIu64 " ids never completed, %" PRIu64 " duplicates", lost, t.dup);
    EXPECT(st.ok + st.cancelled == submitted, "OK %" PRIu64 " + CANCELLED %" PRIu64 " != submitted %" PRIu64, st.ok,
           st.cancelled, submitted);
    printf("  cancel random %dx%d: submitted=%" PRIu64 " targets=%" PRIu64 " (at submit %" PRIu64 ", by a thread %" PRIu64
           ", late re-cancels %" PRIu64 ") ok=%" PRIu64 " cancelled=%" PRIu64 " other=%" PRIu64 " wrong=%" PRIu64
           " ran_badly=%" PRIu64 " lost=%" PRIu64 " dup=%" PRIu64 " efull=%" PRIu64 " elapsed=%.2fs\n",
           n_nodes, per_node, submitted, targets, now_cancels, ld_relaxed(&sh->npub), sh->late, st.ok, st.cancelled,
           st.other, st.wrong, ran_bad, lost, t.dup, efull, el);
out:
    if (e != NULL) teardown(e, &lp, 1);
    track_free(tr);
    free(sh->ents);
    free(sh);
}

/* The reuse trial: capacity 4, one worker. X runs and is drained; a gate G occupies the worker;
 * Y1..Y3 queue behind it; the pool is full, so X's record is one of G, Y1..Y3. A cancel naming
 * X's id on X's record must do nothing; a cancel of a Y on another record must be honoured. */
typedef struct rstate {
    track *tr;
    uint64_t got;
    int32_t status[8];
    uint64_t ids[8];
} rstate;

static void reuse_on_done(void *arg, const aio_completion *c) {
    rstate *s = arg;
    for (int k = 0; k < 8; k++)
        if (s->ids[k] == c->id) s->status[k] = c->status;
    s->got++;
}

static void cancel_reuse(int trials) {
    ecfg x;
    ecfg_init(&x, 1, 1, PIN_NONE, 4, 0);
    track *tr = track_new(31, (uint64_t)trials * 8);
    rstate st;
    memset(&st, 0, sizeof st);
    st.tr = tr;
    aio_engine *e = engine_up(&x);
    loop lp;
    memset(&lp, 0, sizeof lp);
    gate *g = calloc(1, sizeof *g);
    if (g == NULL) exit(3);
    int on_queued = 0, on_running = 0, not_reused = 0, done = 0;
    if (e == NULL || loop_open(&lp, e, reuse_on_done, &st) != AIO_OK) goto out;
    uint64_t idx = 0;
    for (int r = 0; r < trials; r++) {
        memset(st.status, 0xff, sizeof st.status);
        memset(st.ids, 0, sizeof st.ids);
        /* X: runs and is drained */
        uint64_t ix = idx++;
        aio_task *tx = NULL, *tg = NULL, *ty[3] = {NULL, NULL, NULL};
        st.ids[0] = tr->idv[ix];
        int rc = aio_submit(e, lp.ch, tr->idv[ix], k_work, tr, (const uint8_t *)&tr->idv[ix], 8, NULL, 0, 0, 0, 1, -1, &tx);
        if (rc != AIO_OK || pump_until(&lp, st.got + 1, 2000) != 0) {
            failf("reuse trial %d: X did not complete (rc %d)", r, rc);
            break;
        }
        EXPECT(st.status[0] == AIO_STATUS_OK, "reuse trial %d: X status %d", r, st.status[0]);
        /* G: the gate, started */
        memset(g, 0, sizeof *g);
        uint64_t ig = idx++;
        st.ids[1] = tr->idv[ig];
        rc = aio_submit(e, lp.ch, tr->idv[ig], k_gate, g, NULL, 0, NULL, 0, 0, 0, 1, -1, &tg);
        if (rc != AIO_OK || !wait_flag(&g->started, GIVE_UP_NS)) {
            failf("reuse trial %d: the gate did not start within 1 s (rc %d)", r, rc);
            break;
        }
        uint64_t base = st.got;
        for (int k = 0; k < 3; k++) {
            uint64_t iy = idx++;
            st.ids[2 + k] = tr->idv[iy];
            rc = aio_submit(e, lp.ch, tr->idv[iy], k_work, tr, (const uint8_t *)&tr->idv[iy], 8, NULL, 0, 0, 0, 1, -1,
                            &ty[k]);
            EXPECT(rc == AIO_OK, "reuse trial %d: submit Y%d: %d", r, k + 1, rc);
        }
        uint64_t iz = idx++;
        rc = aio_submit(e, lp.ch, tr->idv[iz], k_work, tr, (const uint8_t *)&tr->idv[iz], 8, NULL, 0, 0, 0, 1, -1, NULL);
        EXPECT(rc == AIO_EFULL, "reuse trial %d: a 5th submit with capacity 4 returned %d, not AIO_EFULL", r, rc);
        /* the late cancel: X's id, on X's record */
        aio_task_cancel(tx, tr->idv[ix]);
        int victim = -1;
        for (int k = 2; k >= 0 && victim < 0; k--)
            if (ty[k] != tx) victim = k;
        aio_task_cancel(ty[victim], st.ids[2 + victim]);
        int reused_by = -1;
        if (tx == tg) reused_by = 1, on_running++;
        for (int k = 0; k < 3; k++)
            if (ty[k] == tx) reused_by = 2 + k, on_queued++;
        if (reused_by < 0) not_reused++;
        st_release(&g->open, 1); /* release: the cancels above happen before the gate's end */
        if (pump_until(&lp, base + 4, 2000) != 0) {
            failf("reuse trial %d: %" PRIu64 " of 4 completions", r, st.got - base);
            break;
        }
        EXPECT(st.status[1] == AIO_STATUS_OK, "reuse trial %d: gate status %d", r, st.status[1]);
        for (int k = 0; k < 3; k++) {
            int32_t want = k == victim ? AIO_STATUS_CANCELLED : AIO_STATUS_OK;
            EXPECT(st.status[2 + k] == want,
                   "reuse trial %d: Y%d status %d, expected %d (%s; X's record %s)", r, k + 1, st.status[2 + k], want,
                   k == victim ? "cancelled while queued" : "not cancelled",
                   reused_by == 2 + k ? "is this task's: the late cancel of X hit it" : "is another task's");
            uint64_t iy = st.ids[2 + k] & IDX_MASK;
            uint32_t ran = ld_relaxed(&tr->runs[iy]); /* relaxed: drained */
            EXPECT(ran == (k == victim ? 0u : 1u), "reuse trial %d: Y%d ran %u times", r, k + 1, ran);
        }
        done++;
    }
out:
    if (e != NULL) teardown(e, &lp, 1);
    printf("  cancel reuse: trials=%d/%d X's record reused by a queued task=%d by the running gate=%d not reused=%d\n",
           done, trials, on_queued, on_running, not_reused);
    track_free(tr);
    free(g);
}

static void scenario_cancel(long scale, uint64_t seed) {
    int f0 = scenario_begin("cancel");
    uint64_t rng = seed ^ 0xca9ce1ULL;
    uint64_t n = (uint64_t)(scale * 50 > 1000 ? scale * 50 : 1000);
    double t0 = now_s();
    cancel_random(1, 2, n, &rng);
    cancel_random(2, 1, n, &rng);
    cancel_reuse((int)(scale / 5 > 20 ? scale / 5 : 20));
    printf("stress_engine: cancel elapsed=%.2fs %s\n", now_s() - t0, verdict(f0));
}

/* ------------------------------------------------------------------------------------------ */
/* 6. batch */

#define BMAX 32
#define BSTRIDE 16
#define ITEM_FAIL (-7)
#define RC_SENTINEL ((int64_t)0x5A5A5A5A5A5A5A5ALL)

typedef struct bslot {
    uint64_t id;
    uint32_t n;
    size_t stride;
    int in_use;
    int expect_expired;
    uint64_t vals[BMAX];          /* item values (the checks) */
    uint8_t in[BMAX * 8];         /* the batch input: non-empty items' values, packed */
    uint64_t offsets[BMAX + 1];
    int64_t rcs[BMAX];
    uint8_t out[BMAX * BSTRIDE];
    _Atomic uint32_t items_run;
} bslot;

/* item kernel: in = 8-byte value v (or empty); fails for v % 13 == 0, else writes min(v % 9, out_cap) */
static int64_t k_item(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    bslot *s = ctx;
    add_relaxed(&s->items_run, 1); /* relaxed: read after the completion */
    if (in_len == 0) return 0;
    if (in == NULL || in_len != 8) return -9;
    uint64_t v;
    memcpy(&v, in, 8);
    if (v % 13 == 0) return ITEM_FAIL;
    size_t m = (size_t)(v % 9);
    if (m > out_cap) m = out_cap;
    for (size_t j = 0; j < m; j++) out[j] = pat(v, j);
    return (int64_t)m;
}

static bslot g_spare_slot; /* ctx of submits that must be refused: harmless if one runs anyway */

typedef struct bstate {
    bslot *slots;
    int nslots;
    uint64_t done, bad, outstanding, items;
} bstate;

static void batch_check(bstate *b, bslot *s, const aio_completion *c) {
    int ok = 1;
    uint32_t ran = ld_relaxed(&s->items_run); /* relaxed: drained */
    if (s->expect_expired) {
        ok = c->status == AIO_STATUS_EXPIRED && ran == 0;
        for (uint32_t i = 0; ok && i < s->n; i++) ok = s->rcs[i] == RC_SENTINEL;
    } else {
        ok = c->status == AIO_STATUS_OK && c->rc == (int64_t)s->n && ran == s->n;
        for (uint32_t i = 0; ok && i < s->n; i++) {
            int empty = s->offsets[i + 1] == s->offsets[i];
            uint64_t v = s->vals[i];
            int64_t want = empty ? 0 : v % 13 == 0 ? ITEM_FAIL : (int64_t)(v % 9 < s->stride ? v % 9 : s->stride);
            ok = s->rcs[i] == want;
            if (s->stride > 0)
                for (size_t j = 0; ok && j < s->stride; j++) {
                    uint8_t o = s->out[i * s->stride + j];
                    ok = want > 0 && (int64_t)j < want ? o == pat(v, j) : o == 0xEE;
                }
        }
    }
    b->items += s->n;
    if (!ok) {
        b->bad++;
        failf("batch id %" PRIu64 " n=%u stride=%zu: status %d rc %" PRId64 " items run %u not as expected%s", s->id, s->n,
              s->stride, c->status, c->rc, ran, s->expect_expired ? " (expected EXPIRED, untouched)" : "");
    }
}

static void batch_on_done(void *arg, const aio_completion *c) {
    bstate *b = arg;
    uint64_t k = c->id - 1;
    if (k >= (uint64_t)1 << 32 || b->slots[k % (uint64_t)b->nslots].id != c->id ||
        !b->slots[k % (uint64_t)b->nslots].in_use) {
        b->bad++;
        failf("completion of an unknown batch id %" PRIu64, c->id);
        return;
    }
    bslot *s = &b->slots[k % (uint64_t)b->nslots];
    batch_check(b, s, c);
    s->in_use = 0;
    b->done++;
    b->outstanding--;
}

static void scenario_batch(long scale, uint64_t seed) {
    int f0 = scenario_begin("batch");
    uint64_t rng = seed ^ 0xba7c4ULL;
    uint64_t nb = (uint64_t)(scale * 20 > 500 ? scale * 20 : 500);
    ecfg x;
    ecfg_init(&x, 1, 2, PIN_NONE, 64, 20 * US);
    bstate b;
    memset(&b, 0, sizeof b);
    b.nslots = 48;
    b.slots = calloc((size_t)b.nslots, sizeof *b.slots);
    if (b.slots == NULL) exit(3);
    aio_engine *e = engine_up(&x);
    loop lp;
    memset(&lp, 0, sizeof lp);
    uint64_t nulls = 0, outs = 0, efull = 0;
    double t0 = now_s();
    if (e == NULL || loop_open(&lp, e, batch_on_done, &b) != AIO_OK) goto out;
    /* argument checks */
    {
        uint64_t off[2] = {0, 0};
        int64_t rcs[1];
        uint8_t o[8];
        int rc;
        rc = aio_submit_batch(e, lp.ch, 1, k_item, &g_spare_slot, NULL, off, 0, NULL, 0, rcs, 0, 0, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch n == 0: %d, expected AIO_EINVAL", rc);
        rc = aio_submit_batch(e, lp.ch, 1, NULL, NULL, NULL, off, 1, NULL, 0, rcs, 0, 0, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch fn == NULL: %d, expected AIO_EINVAL", rc);
        rc = aio_submit_batch(e, lp.ch, 1, k_item, &g_spare_slot, NULL, NULL, 1, NULL, 0, rcs, 0, 0, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch offsets == NULL: %d, expected AIO_EINVAL", rc);
        rc = aio_submit_batch(e, lp.ch, 1, k_item, &g_spare_slot, NULL, off, 1, NULL, 0, NULL, 0, 0, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch rcs == NULL: %d, expected AIO_EINVAL", rc);
        rc = aio_submit_batch(e, lp.ch, 1, k_item, &g_spare_slot, NULL, off, 1, NULL, 8, rcs, 0, 0, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch out == NULL with stride 8: %d, expected AIO_EINVAL", rc);
        rc = aio_submit_batch(e, lp.ch, 1, k_item, &g_spare_slot, NULL, off, 1, o, 8, rcs, 0, -1, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch deadline -1: %d, expected AIO_EINVAL", rc);
        rc = aio_submit_batch(e, NULL, 1, k_item, &g_spare_slot, NULL, off, 1, o, 8, rcs, 0, 0, -1, NULL);
        EXPECT(rc == AIO_EINVAL, "batch channel NULL: %d, expected AIO_EINVAL", rc);
    }
    for (uint64_t i = 0; i < nb; i++) {
        uint64_t id = i + 1;
        bslot *s = &b.slots[i % (uint64_t)b.nslots];
        while (s->in_use)
            if (pump(&lp, 2000) < 0) {
                failf("no batch completion for 2 s with %" PRIu64 " outstanding", b.outstanding);
                goto drain;
            }
        uint64_t r = xorshift64(&rng);
        memset(s, 0, sizeof *s);
        s->id = id;
        s->n = 1 + (uint32_t)(r % BMAX);
        s->stride = (r >> 8) % 3 == 0 ? 0 : (r >> 8) % 3 == 1 ? 4 : BSTRIDE;
        uint64_t off = 0; /* the input: the values packed by offsets (1 in 16 items is empty) */
        for (uint32_t k = 0; k < s->n; k++) {
            s->vals[k] = xorshift64(&rng);
            s->offsets[k] = off;
            if ((s->vals[k] & 15) != 0) {
                memcpy(s->in + off, &s->vals[k], 8);
                off += 8;
            }
        }
        s->offsets[s->n] = off;
        for (uint32_t k = 0; k < s->n; k++) s->rcs[k] = RC_SENTINEL;
        memset(s->out, 0xEE, sizeof s->out);
        s->in_use = 1;
        int32_t prio = (r >> 16) & 1 ? AIO_PRIORITY_HIGH : 0;
        int64_t deadline = ((r >> 20) & 3) == 0 ? 5000 * MS : 0;
        int rc;
        while ((rc = aio_submit_batch(e, lp.ch, id, k_item, s, s->in, s->offsets, s->n,
                                      s->stride ? s->out : NULL, s->stride, s->rcs, prio, deadline, -1, NULL)) == AIO_EFULL) {
            efull++;
            if (pump(&lp, 2000) < 0) {
                failf("no batch completion for 2 s with the pool full");
                goto drain;
            }
        }
        if (rc != AIO_OK) {
            failf("aio_submit_batch: %d", rc);
            s->in_use = 0;
            continue;
        }
        b.outstanding++;
        if (s->stride == 0) nulls++;
        else outs++;
        if ((i & 3) == 3) pump(&lp, -1);
    }
drain:
    while (b.outstanding > 0)
        if (pump(&lp, 2000) < 0) {
            failf("no batch completion for 2 s with %" PRIu64 " outstanding at the end", b.outstanding);
            break;
        }
out:
    if (e != NULL) teardown(e, &lp, 1);
    printf("stress_engine: batch batches=%" PRIu64 " (out=NULL stride=0: %" PRIu64 ", with output: %" PRIu64 ") items=%" PRIu64
           " bad=%" PRIu64 " efull=%" PRIu64 " elapsed=%.2fs %s\n",
           b.done, nulls, outs, b.items, b.bad, efull, now_s() - t0, verdict(f0));
    free(b.slots);
}

/* ------------------------------------------------------------------------------------------ */
/* 7. validate */

static void scenario_validate(long scale, uint64_t seed) {
    (void)seed;
    int f0 = scenario_begin("validate");
    double t0 = now_s();
    int bad_configs = 0;
    ecfg x;
    aio_engine *e = NULL;
    int rc;
#define BAD_CONFIG(mutation, what)                                                      \
    do {                                                                                \
        ecfg_init(&x, 1, 2, PIN_NONE, 64, 0);                                           \
        mutation;                                                                       \
        e = NULL;                                                                       \
        rc = aio_engine_create(&x.c, &e);                                               \
        EXPECT(rc == AIO_EINVAL, "aio_engine_create with %s: %d, expected AIO_EINVAL (%d)", what, rc, AIO_EINVAL); \
        if (rc == AIO_OK) aio_engine_destroy(e);                                        \
        bad_configs++;                                                                  \
    } while (0)
    BAD_CONFIG(x.c.capacity = 0, "capacity 0");
    BAD_CONFIG(x.c.capacity = 1, "capacity 1");
    BAD_CONFIG(x.c.capacity = 3, "capacity 3");
    BAD_CONFIG(x.c.capacity = 96, "capacity 96");
    BAD_CONFIG(x.c.capacity = 0x80000001u, "capacity 2^31 + 1");
    BAD_CONFIG(x.c.n_nodes = 0, "n_nodes 0");
    BAD_CONFIG(x.c.n_nodes = -1, "n_nodes -1");
    BAD_CONFIG(x.c.spin_ns = -1, "spin_ns -1");
    BAD_CONFIG(x.c.spin_ns = INT64_MIN, "spin_ns INT64_MIN");
    BAD_CONFIG(x.c.balance_threshold = 1.5, "balance_threshold 1.5");
    BAD_CONFIG(x.c.balance_threshold = -0.1, "balance_threshold -0.1");
    BAD_CONFIG(x.c.py_entry = NULL, "py_entry NULL");
    BAD_CONFIG(x.c.node_workers = NULL, "node_workers NULL");
    BAD_CONFIG(x.node_workers[0] = 0, "0 workers on a node");
#undef BAD_CONFIG
    ecfg_init(&x, 1, 2, PIN_NONE, 64, 0);
    rc = aio_engine_create(NULL, &e);
    EXPECT(rc == AIO_EINVAL, "aio_engine_create(NULL config): %d", rc);
    rc = aio_engine_create(&x.c, NULL);
    EXPECT(rc == AIO_EINVAL, "aio_engine_create(out NULL): %d", rc);
    /* a good config: created, destroyed without a start */
    e = NULL;
    rc = aio_engine_create(&x.c, &e);
    EXPECT(rc == AIO_OK && e != NULL, "aio_engine_create with a good config: %d", rc);
    if (rc == AIO_OK) aio_engine_destroy(e);

    /* bad submits, stats indexes, pool exhaustion on a running engine */
    ecfg_init(&x, 1, 1, PIN_NONE, 8, 0);
    track *tr = track_new(50, 4096);
    e = engine_up(&x);
    loop lp;
    memset(&lp, 0, sizeof lp);
    int rounds = (int)(scale / 50 > 5 ? scale / 50 : 5), served = 0;
    uint64_t accepted_total = 0;
    if (e == NULL || loop_open(&lp, e, ignore_done, NULL) != AIO_OK) goto out;
    rc = aio_submit(e, lp.ch, 1, aio_kernel_noop, NULL, NULL, 0, NULL, 0, 0, -1, 1, -1, NULL);
    EXPECT(rc == AIO_EINVAL, "aio_submit with deadline -1: %d, expected AIO_EINVAL", rc);
    rc = aio_submit(e, lp.ch, 1, aio_kernel_noop, NULL, NULL, 0, NULL, 0, 0, INT64_MIN, 1, -1, NULL);
    EXPECT(rc == AIO_EINVAL, "aio_submit with deadline INT64_MIN: %d, expected AIO_EINVAL", rc);
    rc = aio_submit(e, NULL, 1, aio_kernel_noop, NULL, NULL, 0, NULL, 0, 0, 0, 1, -1, NULL);
    EXPECT(rc == AIO_EINVAL, "aio_submit with channel NULL: %d, expected AIO_EINVAL", rc);
    rc = aio_submit(e, lp.ch, 1, aio_kernel_noop, NULL, NULL, 0, NULL, AIO_INLINE_OUT + 1, 0, 0, 1, -1, NULL);
    EXPECT(rc == AIO_EINVAL, "aio_submit with out NULL, out_cap %d: %d, expected AIO_EINVAL", AIO_INLINE_OUT + 1, rc);
    rc = aio_submit(e, lp.ch, 1, aio_kernel_noop, NULL, NULL, 5, NULL, 0, 0, 0, 1, -1, NULL);
    EXPECT(rc == AIO_EINVAL, "aio_submit with in NULL, in_len 5: %d, expected AIO_EINVAL", rc);
    {
        aio_worker_stats ws;
        aio_node_stats ns;
        aio_engine_stats es;
        EXPECT(aio_worker_get_stats(e, -1, &ws) == AIO_EINVAL, "aio_worker_get_stats(-1) is not AIO_EINVAL");
        EXPECT(aio_worker_get_stats(e, 1, &ws) == AIO_EINVAL, "aio_worker_get_stats(n_workers) is not AIO_EINVAL");
        EXPECT(aio_worker_get_stats(e, 0, &ws) == AIO_OK, "aio_worker_get_stats(0) failed");
        EXPECT(aio_node_get_stats(e, 1, &ns) == AIO_EINVAL, "aio_node_get_stats(n_nodes) is not AIO_EINVAL");
        EXPECT(aio_node_get_stats(e, -1, &ns) == AIO_EINVAL, "aio_node_get_stats(-1) is not AIO_EINVAL");
        aio_engine_get_stats(e, &es);
        EXPECT(es.submitted == 0 && es.capacity == 8 && es.n_workers == 1 && es.n_nodes == 1,
               "stats after rejected submits: submitted %" PRIu64 " capacity %u workers %d nodes %d", es.submitted,
               es.capacity, es.n_workers, es.n_nodes);
    }
    uint64_t idx = 0;
    gate g;
    for (int r = 0; r < rounds && idx + 64 < tr->n; r++) {
        memset(&g, 0, sizeof g);
        uint64_t base = lp.received;
        int accepted = 0;
        rc = aio_submit(e, lp.ch, tr->idv[idx++], k_gate, &g, NULL, 0, NULL, 0, 0, 0, 1, -1, NULL);
        if (rc != AIO_OK || !wait_flag(&g.started, GIVE_UP_NS)) {
            failf("exhaustion round %d: the gate did not start (rc %d)", r, rc);
            break;
        }
        accepted++;
        for (int k = 0; k < 32; k++) {
            uint64_t i = idx++;
            int py = k & 1;
            rc = aio_submit(e, lp.ch, tr->idv[i], py ? NULL : k_work, py ? NULL : tr,
                            py ? NULL : (const uint8_t *)&tr->idv[i], py ? 0 : 8, NULL, 0, k & 2 ? 9 : 0, 0, 1, -1, NULL);
            if (rc == AIO_OK) accepted++;
            else if (rc != AIO_EFULL) failf("exhaustion round %d: submit %d: %d", r, k, rc);
            else break;
        }
        EXPECT(accepted == 8, "exhaustion round %d: %d submits accepted with capacity 8 before AIO_EFULL", r, accepted);
        /* still full: a batch and a Python job are refused too */
        uint64_t off[2] = {0, 0};
        int64_t rcs1[1];
        rc = aio_submit_batch(e, lp.ch, tr->idv[idx++], k_item, &g_spare_slot, NULL, off, 1, NULL, 0, rcs1, 0, 0, -1,
                              NULL);
        EXPECT(rc == AIO_EFULL, "exhaustion round %d: batch submit on a full pool: %d, expected AIO_EFULL", r, rc);
        rc = aio_submit(e, lp.ch, tr->idv[idx++], NULL, NULL, NULL, 0, NULL, 0, 0, 0, 1, -1, NULL);
        EXPECT(rc == AIO_EFULL, "exhaustion round %d: Python submit on a full pool: %d, expected AIO_EFULL", r, rc);
        st_release(&g.open, 1); /* release: a signal */
        if (pump_until(&lp, base + (uint64_t)accepted, 2000) != 0) {
            failf("exhaustion round %d: %" PRIu64 " of %d completions after the gate opened", r, lp.received - base,
                  accepted);
            break;
        }
        /* keeps serving: a full pool's worth again, then drained */
        base = lp.received;
        for (int k = 0; k < 8; k++) {
            uint64_t i = idx++;
            rc = aio_submit(e, lp.ch, tr->idv[i], k_work, tr, (const uint8_t *)&tr->idv[i], 8, NULL, 0, 0, 0, 1, -1, NULL);
            EXPECT(rc == AIO_OK, "exhaustion round %d: submit %d after the pool drained: %d", r, k, rc);
        }
        if (pump_until(&lp, base + 8, 2000) != 0) {
            failf("exhaustion round %d: the engine stopped serving after AIO_EFULL", r);
            break;
        }
        aio_engine_stats es;
        aio_engine_get_stats(e, &es);
        EXPECT(es.in_flight == 0, "exhaustion round %d: stats.in_flight %" PRId64 " after everything was drained", r,
               es.in_flight);
        accepted_total += (uint64_t)accepted + 8;
        served++;
    }
out:
    if (e != NULL) teardown(e, &lp, 1);
    printf("stress_engine: validate bad_configs=%d exhaustion_rounds=%d/%d accepted=%" PRIu64 " elapsed=%.2fs %s\n",
           bad_configs, served, rounds, accepted_total, now_s() - t0, verdict(f0));
    track_free(tr);
}

/* ------------------------------------------------------------------------------------------ */
/* 4. deadline */

typedef struct tstate {
    track *tr;
    uint64_t foreign;
} tstate;

static void track_on_done(void *arg, const aio_completion *c) {
    tstate *s = arg;
    uint64_t idx = track_idx(s->tr, c->id);
    if (idx == UINT64_MAX) {
        s->foreign++;
        failf("completion of a foreign id %#" PRIx64, c->id);
        return;
    }
    add_relaxed(&s->tr->seen[idx], 1); /* relaxed: loop thread only */
    s->tr->status[idx] = c->status;
}

static const char *status_name(int32_t s) {
    switch (s) {
    case AIO_STATUS_OK: return "OK";
    case AIO_STATUS_FAILED: return "FAILED";
    case AIO_STATUS_CANCELLED: return "CANCELLED";
    case AIO_STATUS_EXPIRED: return "EXPIRED";
    default: return "?";
    }
}

typedef struct dcase {
    int64_t deadline;
    int32_t want;
    int py, batch, high;
    const char *what;
} dcase;

static void deadline_phase(const char *phase, const dcase *cases, int ncases, int rounds) {
    ecfg x;
    ecfg_init(&x, 1, 1, PIN_NONE, 64, 0);
    track *tr = track_new(40, (uint64_t)rounds * (uint64_t)(ncases + 1));
    tstate st = {tr, 0};
    bslot *bs = calloc((size_t)ncases, sizeof *bs);
    gate *g = calloc(1, sizeof *g);
    if (bs == NULL || g == NULL) exit(3);
    aio_engine *e = engine_up(&x);
    loop lp;
    memset(&lp, 0, sizeof lp);
    uint64_t expired = 0, ok = 0, bad = 0, idx = 0;
    int done = 0;
    double t0 = now_s();
    if (e == NULL || loop_open(&lp, e, track_on_done, &st) != AIO_OK) goto out;
    for (int r = 0; r < rounds; r++) {
        memset(g, 0, sizeof *g);
        uint64_t ig = idx++, first = idx, base = lp.received;
        int rc = aio_submit(e, lp.ch, tr->idv[ig], k_gate, g, NULL, 0, NULL, 0, 0, 0, 1, -1, NULL);
        if (rc != AIO_OK || !wait_flag(&g->started, GIVE_UP_NS)) {
            failf("%s round %d: the gate did not start (rc %d)", phase, r, rc);
            break;
        }
        int submitted = 1;
        for (int k = 0; k < ncases; k++) {
            const dcase *dc = &cases[k];
            uint64_t i = idx++;
            int32_t prio = dc->high ? AIO_PRIORITY_HIGH : 0;
            if (dc->batch) {
                bslot *s = &bs[k];
                memset(s, 0, sizeof *s);
                s->n = 4;
                for (uint32_t j = 0; j < 4; j++) {
                    s->vals[j] = 1 + j;
                    memcpy(s->in + 8 * j, &s->vals[j], 8);
                    s->offsets[j] = 8 * j;
                    s->rcs[j] = RC_SENTINEL;
                }
                s->offsets[4] = 32;
                rc = aio_submit_batch(e, lp.ch, tr->idv[i], k_item, s, s->in, s->offsets, 4, NULL, 0, s->rcs, prio,
                                      dc->deadline, -1, NULL);
            } else if (dc->py) {
                rc = aio_submit(e, lp.ch, tr->idv[i], NULL, NULL, NULL, 0, NULL, 0, prio, dc->deadline, 1, -1, NULL);
            } else {
                rc = aio_submit(e, lp.ch, tr->idv[i], k_work, tr, (const uint8_t *)&tr->idv[i], 8, NULL, 0, prio,
                                dc->deadline, 1, -1, NULL);
            }
            if (rc != AIO_OK) failf("%s round %d: submit %s: %d", phase, r, dc->what, rc);
            else submitted++;
        }
        sleep_ns(2 * MS); /* the gate holds the only worker: 1 ns and 300 us deadlines pass */
        st_release(&g->open, 1); /* release: a signal */
        if (pump_until(&lp, base + (uint64_t)submitted, 3000) != 0) {
            failf("%s round %d: %" PRIu64 " of %d completions", phase, r, lp.received - base, submitted);
            break;
        }
        for (int k = 0; k < ncases; k++) {
            const dcase *dc = &cases[k];
            uint64_t i = first + (uint64_t)k;
            int32_t s = tr->status[i];
            uint32_t ran = dc->batch ? ld_relaxed(&bs[k].items_run) : ld_relaxed(&tr->runs[i]); /* relaxed: drained */
            int good = s == dc->want && ran == (dc->want == AIO_STATUS_OK ? (dc->batch ? 4u : 1u) : 0u);
            for (uint32_t j = 0; good && dc->batch && j < 4; j++)
                good = dc->want == AIO_STATUS_OK ? bs[k].rcs[j] == 0 : bs[k].rcs[j] == RC_SENTINEL;
            if (s == AIO_STATUS_EXPIRED) expired++;
            else if (s == AIO_STATUS_OK) ok++;
            if (!good) {
                bad++;
                failf("%s round %d: %s (deadline %" PRId64 " ns): status %s, ran %u, expected %s%s", phase, r, dc->what,
                      dc->deadline, status_name(s), ran, status_name(dc->want),
                      dc->want == AIO_STATUS_EXPIRED ? " and never run (batch rcs untouched)" : "");
            }
        }
        done++;
    }
out:
    if (e != NULL) teardown(e, &lp, 1);
    printf("  deadline %s: rounds=%d/%d cases/round=%d expired=%" PRIu64 " ok=%" PRIu64 " bad=%" PRIu64
           " elapsed=%.2fs\n", phase, done, rounds, ncases, expired, ok, bad, now_s() - t0);
    track_free(tr);
    free(bs);
    free(g);
}

static void scenario_deadline(long scale, uint64_t seed) {
    (void)seed;
    int f0 = scenario_begin("deadline");
    int rounds = (int)(scale / 20 > 10 ? scale / 20 : 10);
    double t0 = now_s();
    static const dcase a[] = {
        {1, AIO_STATUS_EXPIRED, 0, 0, 0, "kernel, 1 ns"},
        {1, AIO_STATUS_EXPIRED, 0, 0, 1, "high-priority kernel, 1 ns"},
        {1, AIO_STATUS_EXPIRED, 1, 0, 0, "Python job, 1 ns"},
        {1, AIO_STATUS_EXPIRED, 0, 1, 0, "batch, 1 ns"},
        {300 * US, AIO_STATUS_EXPIRED, 0, 0, 0, "kernel, 300 us"},
        {0, AIO_STATUS_OK, 0, 0, 0, "kernel, no deadline"},
        {1000 * MS, AIO_STATUS_OK, 0, 0, 0, "kernel, 1 s"},
        {10000 * MS, AIO_STATUS_OK, 1, 0, 0, "Python job, 10 s"},
        {10000 * MS, AIO_STATUS_OK, 0, 1, 0, "batch, 10 s"},
        {INT64_MAX / 2, AIO_STATUS_OK, 0, 0, 0, "kernel, INT64_MAX/2"},
        {INT64_MAX / 2, AIO_STATUS_OK, 0, 0, 1, "high-priority kernel, INT64_MAX/2"},
    };
    static const dcase b[] = {
        {1, AIO_STATUS_EXPIRED, 0, 0, 0, "kernel, 1 ns"},
        {INT64_MAX, AIO_STATUS_OK, 0, 0, 0, "kernel, INT64_MAX"},
        {INT64_MAX - 1, AIO_STATUS_OK, 1, 0, 0, "Python job, INT64_MAX - 1"},
        {INT64_MAX, AIO_STATUS_OK, 0, 1, 0, "batch, INT64_MAX"},
        {INT64_MAX / 2 * 2, AIO_STATUS_OK, 0, 0, 1, "high-priority kernel, INT64_MAX - 1"},
    };
    deadline_phase("small-and-large", a, (int)(sizeof a / sizeof a[0]), rounds);
    deadline_phase("INT64_MAX", b, (int)(sizeof b / sizeof b[0]), rounds);
    printf("stress_engine: deadline elapsed=%.2fs %s\n", now_s() - t0, verdict(f0));
}

/* ------------------------------------------------------------------------------------------ */
/* 5. stop: submitters racing aio_engine_stop */

#define F_ACCEPTED 1
#define F_DEADLINE 2
#define F_BATCH 4
#define S_ITEMS 3

typedef struct sthread {
    aio_engine *e;
    int si, cycle;
    track *tr;
    loop lp;
    uint64_t seed;
    _Atomic int *stopping, *stopped;
    uint64_t (*boff)[S_ITEMS + 1];
    int64_t (*brcs)[S_ITEMS];
    uint64_t (*bin)[S_ITEMS];
    int grace_ms;
    uint64_t accepted, eclosed, efull, early_eclosed;
    uint64_t status_count[4], lost, dup, inconsistent, after_stop_ok;
    int64_t inflight_after;
} sthread;

static void *stop_submitter_main(void *arg) {
    sthread *S = arg;
    track *tr = S->tr;
    uint64_t rng = S->seed;
    uint64_t i = 0;
    for (; i < tr->n; i++) {
        uint64_t r = xorshift64(&rng);
        int kind = (int)(r % 8); /* 0-3 kernel, 4 long kernel, 5 Python, 6 batch, 7 failing kernel */
        int64_t deadline = ((r >> 8) & 15) == 0 ? 1 : 0;
        int cancel = ((r >> 12) & 15) == 0;
        tr->kind[i] = (uint8_t)kind;
        tr->param[i] = kind == 4 ? P_SPIN(50 * US + (r >> 16) % (150 * US)) : kind == 7 ? P_FAIL : P_SPIN((r >> 16) % (20 * US));
        int rc;
        aio_task *t = NULL;
        for (;;) {
            if (kind == 6) {
                for (int k = 0; k < S_ITEMS; k++) {
                    S->bin[i][k] = tr->idv[i];
                    S->boff[i][k] = 8 * (uint64_t)k;
                }
                S->boff[i][S_ITEMS] = 8 * S_ITEMS;
                rc = aio_submit_batch(S->e, S->lp.ch, tr->idv[i], k_work, tr, (const uint8_t *)S->bin[i], S->boff[i],
                                      S_ITEMS, NULL, 0, S->brcs[i], 0, deadline, -1, &t);
            } else if (kind == 5) {
                rc = aio_submit(S->e, S->lp.ch, tr->idv[i], NULL, NULL, NULL, 0, NULL, 0, 0, deadline, 1, -1, &t);
            } else {
                rc = aio_submit(S->e, S->lp.ch, tr->idv[i], k_work, tr, (const uint8_t *)&tr->idv[i], 8, NULL, 0,
                                (r >> 40) & 1 ? AIO_PRIORITY_HIGH : 0, deadline, 1, -1, &t);
            }
            if (rc != AIO_EFULL) break;
            S->efull++;
            if (ld_acquire(S->stopped)) break; /* acquire: a signal */
            pump(&S->lp, 5);
        }
        if (rc == AIO_ECLOSED) {
            S->eclosed++;
            if (!ld_acquire(S->stopping)) S->early_eclosed++; /* acquire: a signal */
            break;
        }
        if (rc != AIO_OK) {
            failf("cycle %d submitter %d: submit: %d", S->cycle, S->si, rc);
            break;
        }
        S->accepted++;
        tr->flags[i] = F_ACCEPTED | (deadline ? F_DEADLINE : 0) | (kind == 6 ? F_BATCH : 0);
        if (cancel) aio_task_cancel(t, tr->idv[i]);
        if ((i & 3) == 3) pump(&S->lp, -1);
    }
    /* wait for stop to return (pumping meanwhile), then everything accepted must be delivered */
    int64_t end = mono_ns() + 10000 * MS;
    while (!ld_acquire(S->stopped)) { /* acquire: stop returned; its completions are published */
        pump(&S->lp, -1);
        if (mono_ns() > end) {
            failf("cycle %d: aio_engine_stop did not return within 10 s", S->cycle);
            return NULL;
        }
        sleep_ns(20 * US);
    }
    uint64_t off[2] = {0, 8};
    int64_t rcs1[1];
    int rc = aio_submit(S->e, S->lp.ch, make_id(S->tr->tag, IDX_MASK), aio_kernel_noop, NULL, NULL, 0, NULL, 0, 0, 0, 1,
                        -1, NULL);
    int rcb = aio_submit_batch(S->e, S->lp.ch, make_id(S->tr->tag, IDX_MASK - 1), k_item, &g_spare_slot, (const uint8_t *)off,
                               off, 1, NULL, 0, rcs1, 0, 0, -1, NULL);
    if (rc != AIO_ECLOSED || rcb != AIO_ECLOSED) {
        S->after_stop_ok++;
        failf("cycle %d: submit after aio_engine_stop returned: %d, batch %d (expected AIO_ECLOSED %d)", S->cycle, rc, rcb,
              AIO_ECLOSED);
    }
    /* stop has returned: everything accepted should be delivered already; grace_ms covers a
     * late delivery (only in the first few failing cycles, so a broken stop stays fast) */
    pump(&S->lp, -1);
    while (S->lp.received < S->accepted)
        if (pump(&S->lp, S->grace_ms) < 0) break;
    S->inflight_after = aio_channel_inflight(S->lp.ch);
    return NULL;
}

typedef struct stop_totals {
    uint64_t cycles, failed_cycles, accepted, eclosed, efull, status_count[4], lost, dup, inconsistent;
    uint64_t early_eclosed, after_stop_ok, inflight_left;
} stop_totals;

static void stop_check(sthread *S, stop_totals *T, const char *cfg) {
    track *tr = S->tr;
    uint64_t lost = 0, dup = 0, bad = 0, sc[4] = {0, 0, 0, 0}, first_lost = UINT64_MAX;
    for (uint64_t i = 0; i < tr->n; i++) {
        uint32_t seen = ld_relaxed(&tr->seen[i]); /* relaxed: joined */
        if (!(tr->flags[i] & F_ACCEPTED)) {
            if (seen) bad++; /* a completion of a refused submit */
            continue;
        }
        if (seen == 0) {
            if (first_lost == UINT64_MAX) first_lost = i;
            lost++;
            continue;
        }
        if (seen > 1) dup += seen - 1;
        int32_t s = tr->status[i];
        uint32_t ran = ld_relaxed(&tr->runs[i]); /* relaxed: joined */
        int kind = tr->kind[i];
        uint32_t items = (tr->flags[i] & F_BATCH) ? S_ITEMS : 1;
        int good;
        switch (s) {
        case AIO_STATUS_OK: good = kind != 7 && ran == items; break;
        case AIO_STATUS_FAILED: good = kind == 7 && ran == 1; break;
        case AIO_STATUS_EXPIRED: good = (tr->flags[i] & F_DEADLINE) && ran == 0; break;
        case AIO_STATUS_CANCELLED: good = ran == 0; break;
        default: good = 0;
        }
        if (s >= 0 && s < 4) sc[s]++;
        if (!good) {
            if (bad++ < 2)
                failf("cycle %d: id %#" PRIx64 " kind %d: status %d (%s) but ran %u times", S->cycle, tr->idv[i], kind, s,
                      status_name(s), ran);
        }
    }
    int cycle_bad = lost || dup || bad || S->early_eclosed || S->after_stop_ok || S->inflight_after != 0;
    if (lost || dup || S->inflight_after != 0)
        failf("cycle %d (%s) submitter %d: accepted %" PRIu64 ", completed %" PRIu64 ": %" PRIu64 " never completed"
              " (first index %" PRIu64 "), %" PRIu64 " duplicated, channel in flight %" PRId64 " after stop",
              S->cycle, cfg, S->si, S->accepted, S->lp.received, lost, first_lost == UINT64_MAX ? 0 : first_lost, dup,
              S->inflight_after);
    if (S->early_eclosed) failf("cycle %d: AIO_ECLOSED before aio_engine_stop was called", S->cycle);
    T->accepted += S->accepted, T->eclosed += S->eclosed, T->efull += S->efull, T->lost += lost, T->dup += dup;
    T->inconsistent += bad, T->early_eclosed += S->early_eclosed, T->after_stop_ok += S->after_stop_ok;
    T->inflight_left += S->inflight_after != 0;
    for (int k = 0; k < 4; k++) T->status_count[k] += sc[k];
    if (cycle_bad) T->failed_cycles++;
}

static void stop_on_done(void *arg, const aio_completion *c) {
    sthread *S = arg;
    uint64_t idx = track_idx(S->tr, c->id);
    if (idx == UINT64_MAX) {
        failf("cycle %d: completion of a foreign id %#" PRIx64 " on submitter %d's channel", S->cycle, c->id, S->si);
        return;
    }
    add_relaxed(&S->tr->seen[idx], 1); /* relaxed: loop thread only (main reads after join) */
    S->tr->status[idx] = c->status;
}

static void scenario_stop(long scale, uint64_t seed) {
    int f0 = scenario_begin("stop");
    uint64_t rng = seed ^ 0x5709ULL;
    int cycles = (int)(scale / 5 > 100 ? scale / 5 : 100);
    enum { NSUB = 2, PER = 1024 };
    sthread S[NSUB];
    memset(S, 0, sizeof S);
    for (int k = 0; k < NSUB; k++) {
        S[k].tr = track_new(20 + (uint64_t)k, PER);
        S[k].boff = calloc(PER, sizeof *S[k].boff);
        S[k].brcs = calloc(PER, sizeof *S[k].brcs);
        S[k].bin = calloc(PER, sizeof *S[k].bin);
        if (!S[k].boff || !S[k].brcs || !S[k].bin) exit(3);
    }
    stop_totals T;
    memset(&T, 0, sizeof T);
    double t0 = now_s();
    _Atomic int stopping, stopped;
    for (int c = 0; c < cycles; c++) {
        uint64_t r = xorshift64(&rng);
        int n_nodes = 1 + (int)(r & 1), per_node = 1 + (int)((r >> 1) % 2), pin = (int)((r >> 3) % 3);
        int64_t spin = (r >> 5) & 1 ? 20 * US : 0;
        uint32_t cap = (r >> 6) & 1 ? 16 : 128;
        int nsub = 1 + (int)((r >> 7) & 1);
        static const int64_t delays[4] = {0, 100 * US, 500 * US, 2 * MS};
        int64_t delay = delays[(r >> 8) % 4];
        char cfg[96];
        snprintf(cfg, sizeof cfg, "%dx%d pin=%s spin=%" PRId64 "us cap=%u submitters=%d stop after %" PRId64 "us", n_nodes,
                 per_node, pin_name(pin), spin / US, cap, nsub, delay / US);
        ecfg x;
        ecfg_init(&x, n_nodes, per_node, pin, cap, spin);
        x.c.wake_policy = (r >> 10) & 1 ? AIO_WAKE_ANY : AIO_WAKE_LOCAL;
        for (int k = 0; k < NSUB; k++) track_reset(S[k].tr);
        aio_engine *e = engine_up(&x);
        if (e == NULL) break;
        st_relaxed(&stopping, 0); /* relaxed: published by pthread_create */
        st_relaxed(&stopped, 0);  /* relaxed: same */
        pthread_t th[NSUB];
        for (int k = 0; k < nsub; k++) {
            /* a fresh cycle: keep the track and batch arrays, clear the figures */
            memset((char *)&S[k] + offsetof(sthread, accepted), 0, sizeof S[k] - offsetof(sthread, accepted));
            S[k].e = e;
            S[k].si = k;
            S[k].cycle = c;
            S[k].seed = xorshift64(&rng) | 1;
            S[k].stopping = &stopping;
            S[k].stopped = &stopped;
            S[k].grace_ms = T.failed_cycles < 3 ? 100 : 1;
            if (loop_open(&S[k].lp, e, stop_on_done, &S[k]) != AIO_OK) exit(3);
        }
        for (int k = 0; k < nsub; k++)
            if (pthread_create(&th[k], NULL, stop_submitter_main, &S[k]) != 0) exit(3);
        sleep_ns(delay);
        st_release(&stopping, 1); /* release: a signal */
        int rc = aio_engine_stop(e);
        EXPECT(rc == AIO_OK, "cycle %d: aio_engine_stop: %d", c, rc);
        st_release(&stopped, 1); /* release: stop returned */
        for (int k = 0; k < nsub; k++) pthread_join(th[k], NULL);
        for (int k = 0; k < nsub; k++) {
            stop_check(&S[k], &T, cfg);
            aio_channel_destroy(S[k].lp.ch);
        }
        aio_engine_destroy(e);
        T.cycles++;
    }
    for (int k = 0; k < NSUB; k++) {
        track_free(S[k].tr);
        free(S[k].boff);
        free(S[k].brcs);
        free(S[k].bin);
    }
    printf("stress_engine: stop cycles=%" PRIu64 "/%d failed_cycles=%" PRIu64 " accepted=%" PRIu64 " eclosed=%" PRIu64
           " efull=%" PRIu64 " completions ok=%" PRIu64 " failed=%" PRIu64 " cancelled=%" PRIu64 " expired=%" PRIu64
           " never_completed=%" PRIu64 " dup=%" PRIu64 " inconsistent=%" PRIu64 " early_eclosed=%" PRIu64
           " accepted_after_stop=%" PRIu64 " channels_left_in_flight=%" PRIu64 " elapsed=%.2fs %s\n",
           T.cycles, cycles, T.failed_cycles, T.accepted, T.eclosed, T.efull, T.status_count[AIO_STATUS_OK],
           T.status_count[AIO_STATUS_FAILED], T.status_count[AIO_STATUS_CANCELLED], T.status_count[AIO_STATUS_EXPIRED],
           T.lost, T.dup, T.inconsistent, T.early_eclosed, T.after_stop_ok, T.inflight_left, now_s() - t0, verdict(f0));
}

/* ------------------------------------------------------------------------------------------ */

static const char *const NAMES[] = {"burst", "nodes", "cancel", "batch", "validate", "deadline", "stop"};
typedef void (*scenario_fn)(long scale, uint64_t seed);
static const scenario_fn FNS[] = {scenario_burst, scenario_nodes, scenario_cancel, scenario_batch,
                                  scenario_validate, scenario_deadline, scenario_stop};
#define NSCN ((int)(sizeof NAMES / sizeof NAMES[0]))

static int selected(const char *list, const char *name) {
    if (strcmp(list, "all") == 0) return 1;
    if (strcmp(list, "nostop") == 0) return strcmp(name, "stop") != 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!q) break;
        p = q + 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr lines in order when piped */
    long scale = argc > 1 ? parse_count("stress_engine", argv[1], "SCALE") : 1000;
    uint64_t seed = argc > 2 ? (uint64_t)parse_count("stress_engine", argv[2], "SEED") : 1;
    const char *list = argc > 3 ? argv[3] : "all";
    if (scale < 1) scale = 1;
    if (seed == 0) seed = 1;
    /* every name in the list must be known */
    if (strcmp(list, "all") != 0 && strcmp(list, "nostop") != 0) {
        for (const char *p = list; *p;) {
            const char *q = strchr(p, ',');
            size_t len = q ? (size_t)(q - p) : strlen(p);
            int known = 0;
            for (int k = 0; k < NSCN; k++) known |= strlen(NAMES[k]) == len && strncmp(p, NAMES[k], len) == 0;
            if (!known) {
                fprintf(stderr, "stress_engine: unknown scenario '%.*s' (known: burst nodes cancel batch validate"
                                " deadline stop; or all, nostop)\n", (int)len, p);
                return 2;
            }
            if (!q) break;
            p = q + 1;
        }
    }
    detect_cpus();
    printf("stress_engine: scale=%ld seed=%" PRIu64 " scenarios=%s cpus=%d (first %d)\n", scale, seed, list, g_ncpus,
           g_cpus[0]);
    double t0 = now_s();
    int ran = 0;
    for (int k = 0; k < NSCN; k++)
        if (selected(list, NAMES[k])) {
            FNS[k](scale, seed);
            ran++;
        }
    g_failures = ld_relaxed(&g_fail); /* relaxed: every thread joined */
    printf("stress_engine: %s scenarios=%d failures=%d elapsed=%.2fs\n", g_failures ? "FAILED" : "PASSED", ran,
           g_failures, now_s() - t0);
    return g_failures ? 1 : 0;
}
