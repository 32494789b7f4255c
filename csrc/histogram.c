/* histogram.c -- log-linear latency histograms; see histogram.h. */
#include "histogram.h"

#include <string.h>

#include "atomics.h"

int32_t aio_hist_index(int64_t ns) {
    if (ns < 2 * AIO_HIST_SUB) return ns < 0 ? 0 : (int32_t)ns;
    uint64_t v = (uint64_t)ns;
    int32_t msb = 63 - __builtin_clzll(v); /* >= AIO_HIST_SUB_BITS + 1 */
    if (msb >= AIO_HIST_MAX_EXP) return AIO_HIST_BUCKETS - 1;
    int32_t shift = msb - AIO_HIST_SUB_BITS;                  /* >= 1 */
    int32_t mant = (int32_t)(v >> shift) - AIO_HIST_SUB;      /* 0 .. AIO_HIST_SUB - 1 */
    return AIO_HIST_SUB * (shift + 1) + mant;
}

int64_t aio_hist_lower(int32_t i) {
    if (i < 2 * AIO_HIST_SUB) return i;
    int32_t shift = i / AIO_HIST_SUB - 1, mant = i % AIO_HIST_SUB;
    return (int64_t)(AIO_HIST_SUB + mant) << shift;
}

int64_t aio_hist_width(int32_t i) { return i < 2 * AIO_HIST_SUB ? 1 : (int64_t)1 << (i / AIO_HIST_SUB - 1); }

void aio_hist_record(aio_hist *h, int64_t ns) {
    if (ns < 0) ns = 0;
    bump_owned(&h->buckets[aio_hist_index(ns)], 1);
    bump_owned(&h->count, 1);
    bump_owned(&h->sum_ns, (uint64_t)ns);
    if (ns > ld_relaxed(&h->max_ns)) st_relaxed(&h->max_ns, ns);
}

void aio_hist_add(uint64_t *acc_buckets, aio_latency *acc, const aio_hist *h) {
    /* relaxed: statistics. The maximum is read first: every value recorded before it lies in a
     * bucket at or below the maximum's, so the buckets above are skipped (values recorded
     * meanwhile may be missed there, as anywhere in a snapshot taken while a writer records). */
    int64_t m = ld_relaxed(&h->max_ns);
    int32_t used = aio_hist_index(m) + 1;
    if (used > acc->used) {
        memset(acc_buckets + acc->used, 0, sizeof *acc_buckets * (size_t)(used - acc->used));
        acc->used = used;
    }
    for (int32_t i = 0; i < used; i++) acc_buckets[i] += ld_relaxed(&h->buckets[i]);
    acc->count += ld_relaxed(&h->count);
    acc->sum_ns += ld_relaxed(&h->sum_ns);
    if (m > acc->max_ns) acc->max_ns = m;
}
