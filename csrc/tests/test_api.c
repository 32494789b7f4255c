/* test_api.c -- deterministic checks of C API contracts (review findings), single submitter:
 *   cancel:  a stale cancel (an earlier occupant's id) neither cancels the record's task nor
 *            undoes a real cancel of it;
 *   batch:   in == NULL with empty items runs (no NULL + 0: clang UBSan), in == NULL with
 *            bytes to read is AIO_EINVAL;
 *   ids:     0 and ids above AIO_MAX_TASK_ID are AIO_EINVAL;
 *   metrics: per-kind and per-lane counts (abandoned tasks included), the delivery histogram
 *            over live and destroyed channels, bad kinds and stages are AIO_EINVAL.
 * Exit 0: ok; 1: a FAIL line names the contract.
 */
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "aioultra.h"

#define AIO_HIST_BUCKETS_FOR_TEST 4096 /* >= aio_hist_bucket_count() */

static int failures;
#define CHECK(cond, what)                                     \
    do {                                                      \
        if (!(cond)) {                                        \
            printf("test_api: FAIL: %s (line %d)\n", what, __LINE__); \
            failures++;                                       \
        }                                                     \
    } while (0)

static int32_t py(uint64_t id) {
    return id == 77 ? 2 : AIO_STATUS_OK; /* 77: a Python batch of which 2 items failed */
}

static int64_t zero(const uint8_t *in, size_t n, uint8_t *out, size_t cap, void *ctx) {
    (void)in, (void)n, (void)out, (void)cap, (void)ctx;
    return 0;
}

/* Wait (arm / poll / ack / drain, as a loop does) for one completion; its status, or -1. */
static int32_t next_status(aio_channel *ch, uint64_t *id) {
    for (int tries = 0; tries < 2000; tries++) {
        aio_completion c;
        if (aio_channel_drain(ch, &c, 1) == 1) {
            *id = c.id;
            return c.status;
        }
        if (aio_channel_arm(ch) == 0) {
            struct pollfd p = {.fd = aio_channel_fd(ch), .events = POLLIN};
            poll(&p, 1, 5);
            aio_channel_ack(ch);
        }
    }
    return -1;
}

int main(void) {
    int32_t workers[1] = {1};
    aio_engine_config cfg = {.n_nodes = 1, .node_workers = workers, .capacity = 8, .enable_stealing = 1,
                             .balance_threshold = 0.5, .wake_policy = AIO_WAKE_ANY, .py_entry = py};
    aio_engine *e;
    aio_channel *ch;
    if (aio_engine_create(&cfg, &e) != AIO_OK || aio_channel_create(e, &ch) != AIO_OK) return 2;
    aio_task *t = NULL;
    uint64_t id = 0;

    /* cancel: queued before the workers start, so nothing runs before the cancels land */
    CHECK(aio_submit(e, ch, 9, zero, NULL, NULL, 0, NULL, 0, 0, 0, 1, -1, &t) == AIO_OK, "submit 9");
    aio_task_cancel(t, 5); /* a late cancel of an earlier occupant: no effect */
    aio_task *u = NULL;
    CHECK(aio_submit(e, ch, 10, zero, NULL, NULL, 0, NULL, 0, 0, 0, 1, -1, &u) == AIO_OK, "submit 10");
    aio_task_cancel(u, 10); /* a real cancel ... */
    aio_task_cancel(u, 3);  /* ... then a stale one: must not undo it */
    CHECK(aio_engine_start(e) == AIO_OK, "start");
    for (int i = 0; i < 2; i++) {
        int32_t status = next_status(ch, &id);
        if (id == 9) CHECK(status == AIO_STATUS_OK, "a stale cancel cancelled the record's task");
        else if (id == 10) CHECK(status == AIO_STATUS_CANCELLED, "a stale cancel undid a real cancel");
        else CHECK(0, "unexpected completion");
    }

    /* batch with no input bytes and no output */
    uint64_t offsets_empty[2] = {0, 0}, offsets_five[2] = {0, 5};
    int64_t rcs[1] = {-1};
    CHECK(aio_submit_batch(e, ch, 11, zero, NULL, NULL, offsets_empty, 1, NULL, 0, rcs, 0, 0, -1, NULL) == AIO_OK,
          "batch in=NULL with empty items");
    CHECK(next_status(ch, &id) == AIO_STATUS_OK && id == 11 && rcs[0] == 0, "batch in=NULL ran");
    CHECK(aio_submit_batch(e, ch, 12, zero, NULL, NULL, offsets_five, 1, NULL, 0, rcs, 0, 0, -1, NULL) == AIO_EINVAL,
          "batch in=NULL with 5 bytes to read is EINVAL");

    /* ids */
    CHECK(aio_submit(e, ch, 0, zero, NULL, NULL, 0, NULL, 0, 0, 0, 1, -1, NULL) == AIO_EINVAL, "id 0 is EINVAL");
    CHECK(aio_submit(e, ch, AIO_MAX_TASK_ID + 1, zero, NULL, NULL, 0, NULL, 0, 0, 0, 1, -1, NULL) == AIO_EINVAL,
          "an id above AIO_MAX_TASK_ID is EINVAL");

    /* specs: one task, a Python batch (counted per item), argument checks */
    aio_spec spec = {.fn = zero, .out_cap = 0, .priority = 5, .node = -1, .weight = 1};
    intptr_t addr = aio_channel_submit(ch, &spec, 20, NULL, 0, NULL);
    CHECK(addr > 0, "aio_channel_submit returns the record address");
    CHECK(next_status(ch, &id) == AIO_STATUS_OK && id == 20, "spec task ran");
    aio_engine_stats before, after;
    aio_engine_get_stats(e, &before);
    aio_spec pyspec = {.fn = NULL, .priority = 5, .node = -1, .weight = 5};
    CHECK(aio_channel_submit_batch(ch, &pyspec, 77, NULL, NULL, 5, NULL, rcs) == AIO_EINVAL,
          "a Python batch with buffers is EINVAL");
    CHECK(aio_submit_batch(e, ch, 78, NULL, NULL, NULL, offsets_empty, 1, NULL, 0, rcs, 0, 0, -1, NULL) == AIO_EINVAL,
          "aio_submit_batch with fn NULL is EINVAL");
    CHECK(aio_channel_submit_batch(ch, &pyspec, 77, NULL, NULL, 5, NULL, NULL) > 0, "a Python batch of 5");
    CHECK(next_status(ch, &id) == AIO_STATUS_OK && id == 77, "the Python batch ran");
    aio_engine_get_stats(e, &after);
    CHECK(after.submitted - before.submitted == 5 && after.completed - before.completed == 3 &&
              after.failed - before.failed == 2 && after.batches_submitted - before.batches_submitted == 1 &&
              after.batches_completed - before.batches_completed == 1,
          "a batch of 5 with 2 failures counts 5 submitted, 3 completed, 2 failed, 1 batch");
    CHECK(aio_channel_submit_many(ch, &spec, 30, 0, NULL, offsets_empty, NULL, NULL) == AIO_EINVAL, "n 0 is EINVAL");
    CHECK(aio_channel_submit(NULL, &spec, 31, NULL, 0, NULL) == AIO_EINVAL, "no channel is EINVAL");

    aio_engine_stop(e);
    aio_channel_destroy(ch);
    aio_engine_destroy(e);

    /* submit_many on an engine that is not started (nothing runs): a prefix up to the capacity */
    if (aio_engine_create(&cfg, &e) != AIO_OK || aio_channel_create(e, &ch) != AIO_OK) return 2;
    uint64_t offs[13];
    for (int i = 0; i < 13; i++) offs[i] = 0;
    intptr_t tasks[12] = {0};
    CHECK(aio_channel_submit_many(ch, &spec, 100, 12, NULL, offs, NULL, tasks) == 8, "12 items, capacity 8: 8 taken");
    CHECK(tasks[7] > 0 && tasks[8] == 0, "the accepted prefix got its record addresses");
    CHECK(aio_channel_submit_many(ch, &spec, 108, 4, NULL, offs, NULL, tasks + 8) == AIO_EFULL, "then EFULL");
    CHECK(aio_engine_start(e) == AIO_OK, "start");
    uint64_t seen = 0;
    for (int i = 0; i < 8; i++)
        if (next_status(ch, &id) == AIO_STATUS_OK && id >= 100 && id < 108) seen |= 1ULL << (id - 100);
    CHECK(seen == 0xff, "each accepted item completed once, with its own id");
    aio_engine_stop(e);
    aio_channel_destroy(ch);
    aio_engine_destroy(e);

    /* metrics: kinds 3 and 5 (5 on the high lane) on two channels; one destroyed before reading */
    cfg.record_latency = 1;
    aio_channel *ch2;
    if (aio_engine_create(&cfg, &e) != AIO_OK || aio_channel_create(e, &ch) != AIO_OK ||
        aio_channel_create(e, &ch2) != AIO_OK)
        return 2;
    CHECK(aio_engine_start(e) == AIO_OK, "start");
    aio_spec k3 = {.fn = zero, .priority = 5, .node = -1, .weight = 1, .kind = 3};
    aio_spec k5 = {.fn = zero, .priority = AIO_PRIORITY_HIGH, .node = -1, .weight = 1, .kind = 5};
    aio_spec bad = {.fn = zero, .priority = 5, .node = -1, .weight = 1, .kind = AIO_KINDS};
    CHECK(aio_channel_submit(ch, &bad, 200, NULL, 0, NULL) == AIO_EINVAL, "kind AIO_KINDS is EINVAL");
    bad.kind = -1;
    CHECK(aio_channel_submit(ch, &bad, 200, NULL, 0, NULL) == AIO_EINVAL, "kind -1 is EINVAL");
    CHECK(aio_channel_submit(ch, &k3, 201, NULL, 0, NULL) > 0 && next_status(ch, &id) == AIO_STATUS_OK, "k3 on ch");
    CHECK(aio_channel_submit(ch2, &k3, 202, NULL, 0, NULL) > 0 && next_status(ch2, &id) == AIO_STATUS_OK, "k3 on ch2");
    CHECK(aio_channel_submit(ch2, &k5, 203, NULL, 0, NULL) > 0 && next_status(ch2, &id) == AIO_STATUS_OK, "k5 on ch2");
    while (aio_channel_inflight(ch2) != 0) sched_yield(); /* the worker's last touch of ch2 is done */
    aio_channel_destroy(ch2);
    uint64_t buckets[AIO_HIST_BUCKETS_FOR_TEST];
    aio_latency lat;
    CHECK(aio_hist_bucket_count() <= AIO_HIST_BUCKETS_FOR_TEST, "bucket buffer large enough");
    memset(buckets, 0xab, sizeof buckets); /* only buckets[0, used) may be written */
    CHECK(aio_engine_get_latency(e, AIO_LATENCY_DELIVERY, buckets, &lat) == AIO_OK && lat.count == 3,
          "delivery counts the tasks of live and destroyed channels");
    CHECK(lat.used > 0 && lat.used < aio_hist_bucket_count() &&
              aio_hist_bucket_lower(lat.used - 1) <= lat.max_ns &&
              lat.max_ns < aio_hist_bucket_lower(lat.used - 1) + aio_hist_bucket_width(lat.used - 1),
          "used ends at the bucket of the largest value");
    uint64_t in_buckets = 0;
    for (int32_t i = 0; i < lat.used; i++) in_buckets += buckets[i];
    CHECK(in_buckets == 3 && buckets[lat.used - 1] > 0, "delivery buckets hold the 3 tasks, the last one used");
    int untouched = 1;
    for (int32_t i = lat.used; i < aio_hist_bucket_count(); i++) untouched &= buckets[i] == 0xababababababababULL;
    CHECK(untouched, "buckets past used are left as they were");
    CHECK(aio_engine_get_latency(e, 3, buckets, &lat) == AIO_EINVAL, "stage 3 is EINVAL");
    aio_kind_stats kinds[AIO_KINDS];
    CHECK(aio_engine_get_kinds(e, kinds, AIO_KINDS - 1) == AIO_EINVAL, "a short kinds buffer is EINVAL");
    CHECK(aio_engine_get_kinds(e, kinds, AIO_KINDS) == AIO_OK, "get kinds");
    CHECK(kinds[3].completed == 2 && kinds[5].completed == 1 && kinds[0].completed == 0, "completed per kind");
    aio_engine_stop(e);
    aio_engine_get_stats(e, &after);
    CHECK(after.submitted_high == 1 && after.finished_high == 1, "the high lane's counts");
    aio_channel_destroy(ch);
    aio_engine_destroy(e);

    /* abandoned at stop (never started): cancelled per kind and per lane */
    if (aio_engine_create(&cfg, &e) != AIO_OK || aio_channel_create(e, &ch) != AIO_OK) return 2;
    CHECK(aio_channel_submit(ch, &k3, 300, NULL, 0, NULL) > 0 && aio_channel_submit(ch, &k5, 301, NULL, 0, NULL) > 0,
          "queue two, not started");
    aio_engine_stop(e);
    CHECK(aio_engine_get_kinds(e, kinds, AIO_KINDS) == AIO_OK && kinds[3].cancelled == 1 && kinds[5].cancelled == 1,
          "abandoned tasks count as cancelled of their kind");
    aio_engine_get_stats(e, &after);
    CHECK(after.submitted_high == 1 && after.finished_high == 1 && after.cancelled == 2, "abandoned: lane counts");
    CHECK(aio_engine_get_latency(e, AIO_LATENCY_DELIVERY, buckets, &lat) == AIO_OK && lat.count == 0,
          "a task that never ran has no delivery time");
    for (int i = 0; i < 2; i++) next_status(ch, &id);
    aio_channel_destroy(ch);
    aio_engine_destroy(e);
    if (failures) return 1;
    printf("test_api: ok: cancel, batch, id, spec, Python batch, submit_many and metrics contracts\n");
    return 0;
}
