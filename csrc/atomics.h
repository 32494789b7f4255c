/* atomics.h -- the one vocabulary of memory-ordering helpers used by the C core.
 *
 * Orderings are spelled on the operations themselves, never with standalone fences:
 * gcc 12's ThreadSanitizer ignores atomic_thread_fence, and TSan is our gate.
 * Every call site carries a one-line comment saying what the other side sees.
 *
 * Naming: ld_<order>(p), st_<order>(p, v), cas_<order>(p, &expected, desired),
 * xchg_<order>(p, v), add_<order>(p, v) (returns the previous value).
 */
#ifndef AIOULTRA_ATOMICS_H
#define AIOULTRA_ATOMICS_H
#include <stdatomic.h>

#define AIO_CACHELINE 64
#define AIO_ALIGNED __attribute__((aligned(AIO_CACHELINE)))

#define ld_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define ld_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define ld_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)

#define st_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define st_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define st_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)

/* Strong CAS; on failure *expected receives the current value (read relaxed). */
#define cas_seq_cst(p, e, v) \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_seq_cst, memory_order_relaxed)
/* Strong CAS, seq_cst also on failure: where the failed read is one side of a store-buffering pair. */
#define cas_seq_cst_both(p, e, v) \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_seq_cst, memory_order_seq_cst)
#define cas_acq_rel(p, e, v) \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_acq_rel, memory_order_relaxed)
#define cas_relaxed(p, e, v) \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_relaxed, memory_order_relaxed)
/* Weak CAS for retry loops. */
#define casw_relaxed(p, e, v) \
    atomic_compare_exchange_weak_explicit((p), (e), (v), memory_order_relaxed, memory_order_relaxed)

#define xchg_seq_cst(p, v) atomic_exchange_explicit((p), (v), memory_order_seq_cst)
#define xchg_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)

#define add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define add_seq_cst(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define sub_seq_cst(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
#define sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define or_acq_rel(p, v) atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)

/* Spin-wait hint for the CPU. */
/* Add to a counter written by one thread only (its owner; others read it relaxed): a relaxed
 * load and store, no read-modify-write. */
static inline void bump_owned(_Atomic uint64_t *c, uint64_t by) {
    st_relaxed(c, ld_relaxed(c) + by); /* relaxed: readers take approximate snapshots */
}

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

#endif
