/* histogram.h -- a log-linear latency histogram (HDR style) of nanosecond values.
 *
 * Values below 2 * AIO_HIST_SUB ns have a bucket each; above, every power of two is split into
 * AIO_HIST_SUB equal buckets, so a bucket is at most 1/AIO_HIST_SUB = 1.6% of its lower bound
 * wide (its midpoint is within 0.8% of any value in it). Values of 2^AIO_HIST_MAX_EXP ns
 * (68.7 s) and more land in the last bucket (max keeps the true maximum).
 *
 * One writer per histogram (a worker for its own, a loop thread for its channel's): recording
 * is a relaxed load and store per counter, no atomic read-modify-write and no lock. Readers
 * (snapshots, any thread) read the counters relaxed and add histograms up; a snapshot taken
 * while a writer records may be a few samples apart between count and buckets.
 */
#ifndef AIOULTRA_HISTOGRAM_H
#define AIOULTRA_HISTOGRAM_H
#include <stdint.h>

#include "aioultra.h"

#define AIO_HIST_SUB_BITS 6
#define AIO_HIST_SUB (1 << AIO_HIST_SUB_BITS)
#define AIO_HIST_MAX_EXP 36
#define AIO_HIST_BUCKETS (AIO_HIST_SUB * (AIO_HIST_MAX_EXP - AIO_HIST_SUB_BITS + 1) + 1) /* the last: overflow */

typedef struct aio_hist {
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
    _Atomic int64_t max_ns;
    _Atomic uint64_t buckets[AIO_HIST_BUCKETS];
} aio_hist;

/* The bucket of a value (negative values count as 0). */
int32_t aio_hist_index(int64_t ns);
/* The smallest value of bucket i, and its width (1 below 2 * AIO_HIST_SUB). */
int64_t aio_hist_lower(int32_t i);
int64_t aio_hist_width(int32_t i);
/* Record one value (the histogram's single writer only). */
void aio_hist_record(aio_hist *h, int64_t ns);
/* Add h into acc (any thread; acc is the caller's own): acc_buckets[0, acc->used) hold the
 * sum so far, and used grows to cover h's buckets up to its largest value (the new ones zeroed
 * first). Start from a zeroed aio_latency: then no bucket is read before it is written. */
void aio_hist_add(uint64_t *acc_buckets, aio_latency *acc, const aio_hist *h);

#endif
