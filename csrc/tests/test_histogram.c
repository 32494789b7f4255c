/* test_histogram.c -- the latency histogram (csrc/histogram.c): bucket layout invariants over
 * the whole range, and known distributions recovered within the stated error (1/64 of the
 * value per bucket; 0.8% from a bucket's midpoint). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../histogram.h"

static int failures;
#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            failures++;                                   \
            if (failures < 20) {                          \
                printf("FAIL test_histogram: " __VA_ARGS__); \
                printf("\n");                             \
            }                                             \
        }                                                 \
    } while (0)

static uint64_t rng = 0x12345678ULL;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* The value at quantile q from the buckets: the midpoint of the bucket holding it. */
static double quantile(const aio_hist *h, double q) {
    uint64_t count = h->count, rank = (uint64_t)(q * (double)(count - 1)), seen = 0;
    for (int32_t i = 0; i < AIO_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen > rank) return (double)aio_hist_lower(i) + (double)(aio_hist_width(i) - 1) / 2.0;
    }
    return -1;
}

static int cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    /* 1. layout: contiguous, increasing, every value inside its bucket, width <= lower / 64 */
    int64_t expect_lower = 0;
    for (int32_t i = 0; i < AIO_HIST_BUCKETS - 1; i++) {
        int64_t lo = aio_hist_lower(i), w = aio_hist_width(i);
        CHECK(lo == expect_lower, "bucket %d starts at %" PRId64 ", expected %" PRId64, i, lo, expect_lower);
        CHECK(w >= 1 && (lo < 2 * AIO_HIST_SUB || w * AIO_HIST_SUB <= lo), "bucket %d: width %" PRId64 " vs %" PRId64, i, w, lo);
        CHECK(aio_hist_index(lo) == i && aio_hist_index(lo + w - 1) == i, "bucket %d does not hold its own range", i);
        expect_lower = lo + w;
    }
    CHECK(expect_lower == (int64_t)1 << AIO_HIST_MAX_EXP, "the buckets end at %" PRId64, expect_lower);
    CHECK(aio_hist_index((int64_t)1 << AIO_HIST_MAX_EXP) == AIO_HIST_BUCKETS - 1, "overflow bucket");
    CHECK(aio_hist_index(INT64_MAX) == AIO_HIST_BUCKETS - 1, "INT64_MAX in the overflow bucket");
    CHECK(aio_hist_index(-5) == 0, "negative values count as 0");
    for (int k = 0; k < 1000000; k++) { /* random values over 100 ns .. 60 s */
        int64_t v = 100 + (int64_t)(next() % 60000000000ULL);
        int32_t i = aio_hist_index(v);
        int64_t lo = aio_hist_lower(i), w = aio_hist_width(i);
        CHECK(lo <= v && v < lo + w, "value %" PRId64 " outside bucket %d", v, i);
        double mid = (double)lo + (double)(w - 1) / 2.0;
        CHECK((mid > (double)v ? mid - (double)v : (double)v - mid) <= 0.008 * (double)v + 0.5, "midpoint error at %" PRId64, v);
    }

    /* 2. known distributions: quantiles within 1/64 of the exact ones; count, sum and max exact */
    static const int64_t scales[3] = {100, 50000, 300000000LL}; /* 100 ns, 50 us, 300 ms (x128: 38 s) */
    enum { N = 200000 };
    int64_t *vals = malloc(sizeof(int64_t) * N);
    aio_hist *h = calloc(1, sizeof *h);
    if (vals == NULL || h == NULL) return 2;
    for (int s = 0; s < 3; s++) {
        memset(h, 0, sizeof *h);
        uint64_t sum = 0;
        int64_t mx = 0;
        for (int k = 0; k < N; k++) { /* about log-uniform over [scale, 128 * scale) */
            int64_t m = scales[s] << (next() % 7);
            int64_t v = m + (int64_t)(next() % (uint64_t)m);
            vals[k] = v;
            sum += (uint64_t)v;
            if (v > mx) mx = v;
            aio_hist_record(h, v);
        }
        qsort(vals, N, sizeof *vals, cmp);
        CHECK(h->count == N && h->sum_ns == sum && h->max_ns == mx, "scale %d: count/sum/max", s);
        static const double qs[5] = {0.5, 0.9, 0.99, 0.999, 0.0};
        for (int j = 0; j < 5; j++) {
            double exact = (double)vals[(size_t)(qs[j] * (N - 1))], got = quantile(h, qs[j]);
            double err = (got > exact ? got - exact : exact - got) / exact;
            CHECK(err <= 1.0 / 64, "scale %d q=%.3f: %.1f vs exact %.1f (error %.4f)", s, qs[j], got, exact, err);
        }
    }
    free(vals);
    free(h);
    if (failures) {
        printf("test_histogram: FAILED failures=%d\n", failures);
        return 1;
    }
    printf("test_histogram: ok: %d buckets, layout and 1M random values checked, 3 distributions within 1/64\n",
           AIO_HIST_BUCKETS);
    return 0;
}
