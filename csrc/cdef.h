/* cdef.h -- declarations fed to cffi's cdef (no preprocessor logic; values come from aioultra.h). */
#define AIO_OK ...
#define AIO_EINVAL ...
#define AIO_ENOMEM ...
#define AIO_EFULL ...
#define AIO_ECLOSED ...
#define AIO_ESYS ...
#define AIO_STATUS_OK ...
#define AIO_STATUS_FAILED ...
#define AIO_STATUS_CANCELLED ...
#define AIO_STATUS_EXPIRED ...
#define AIO_INLINE_OUT ...
#define AIO_PRIORITY_HIGH ...
#define AIO_KINDS ...
#define AIO_WAKE_LOCAL ...
#define AIO_WAKE_ANY ...

typedef int64_t (*aio_kernel_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
typedef int32_t (*aio_py_entry_fn)(uint64_t id);
typedef struct aio_engine aio_engine;
typedef struct aio_channel aio_channel;
typedef struct aio_task aio_task;

typedef struct aio_engine_config {
    int32_t n_nodes;
    const int32_t *node_workers;
    const int32_t *worker_cpus;
    int32_t n_cpus_map;
    const int32_t *cpu_node;
    uint32_t capacity;
    int32_t enable_stealing;
    int32_t enable_affinity;
    double balance_threshold;
    int64_t spin_ns;
    int32_t wake_policy;
    int32_t adaptive_spin;
    int32_t max_searchers;
    aio_py_entry_fn py_entry;
    int32_t record_latency;
} aio_engine_config;

typedef struct aio_completion {
    uint64_t id;
    int64_t rc;
    int32_t status;
    int32_t worker;
    uint8_t out[64];
} aio_completion;

typedef struct aio_worker_stats {
    int32_t node;
    int32_t planned_cpu;
    int32_t cpu;
    int32_t pinned;
    uint64_t executed;
    uint64_t steals_local;
    uint64_t steals_remote;
    uint64_t stolen_from;
    uint64_t parks;
    uint64_t wakeups;
    int64_t deque_size;
    int32_t tid;
    int32_t parked;
} aio_worker_stats;

typedef struct aio_engine_stats {
    uint64_t submitted, completed, failed, cancelled, expired;
    uint64_t batches_submitted, batches_completed;
    uint64_t submitted_high, finished_high;
    int64_t in_flight;
    uint32_t capacity;
    int32_t n_workers, n_nodes;
} aio_engine_stats;

typedef struct aio_node_stats {
    int64_t load;
    int64_t queued;
    uint64_t submitted;
} aio_node_stats;

int aio_engine_create(const aio_engine_config *cfg, aio_engine **out);
int aio_engine_start(aio_engine *e);
int aio_engine_stop(aio_engine *e);
void aio_engine_destroy(aio_engine *e);

int aio_channel_create(aio_engine *e, aio_channel **out);
int aio_channel_fd(aio_channel *ch);
void aio_channel_destroy(aio_channel *ch);
int aio_channel_drain(aio_channel *ch, aio_completion *out, int max);
int aio_channel_arm(aio_channel *ch);
int aio_channel_ack(aio_channel *ch);
int64_t aio_channel_inflight(aio_channel *ch);

int aio_submit(aio_engine *e, aio_channel *ch, uint64_t id, aio_kernel_fn fn, void *ctx,
               const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
               int32_t priority, int64_t deadline_ns, uint32_t weight, int32_t node, aio_task **task);
int aio_submit_batch(aio_engine *e, aio_channel *ch, uint64_t id, aio_kernel_fn fn, void *ctx,
                     const uint8_t *in, const uint64_t *offsets, uint32_t n, uint8_t *out, size_t stride,
                     int64_t *rcs, int32_t priority, int64_t deadline_ns, int32_t node, aio_task **task);
typedef struct aio_spec {
    aio_kernel_fn fn;
    void *ctx;
    size_t out_cap;
    int64_t deadline_ns;
    int32_t priority;
    int32_t node;
    uint32_t weight;
    int32_t kind;
} aio_spec;
intptr_t aio_channel_submit(aio_channel *ch, const aio_spec *s, uint64_t id, const uint8_t *in, size_t in_len,
                            uint8_t *out);
int64_t aio_channel_submit_many(aio_channel *ch, const aio_spec *s, uint64_t first_id, uint32_t n,
                                const uint8_t *in, const uint64_t *offsets, uint8_t *out, intptr_t *tasks);
intptr_t aio_channel_submit_batch(aio_channel *ch, const aio_spec *s, uint64_t id, const uint8_t *in,
                                  const uint64_t *offsets, uint32_t n, uint8_t *out, int64_t *rcs);
void aio_task_cancel(aio_task *t, uint64_t id);
#define AIO_LATENCY_QUEUE_WAIT ...
#define AIO_LATENCY_RUN ...
#define AIO_LATENCY_DELIVERY ...
typedef struct aio_latency {
    uint64_t count, sum_ns;
    int64_t max_ns;
    int32_t used; /* buckets[0, used) are written; those from used on are empty and left as they were */
} aio_latency;
int aio_engine_get_latency(aio_engine *e, int32_t stage, uint64_t *buckets, aio_latency *out);
int32_t aio_hist_bucket_count(void);
int64_t aio_hist_bucket_lower(int32_t i);
int64_t aio_hist_bucket_width(int32_t i);
typedef struct aio_kind_stats {
    uint64_t completed, failed, cancelled, expired, run_ns;
} aio_kind_stats;
int aio_engine_get_kinds(aio_engine *e, aio_kind_stats *out, int32_t n);

void aio_engine_get_stats(aio_engine *e, aio_engine_stats *out);
int aio_worker_get_stats(aio_engine *e, int32_t index, aio_worker_stats *out);
int aio_node_get_stats(aio_engine *e, int32_t node, aio_node_stats *out);

int32_t aio_current_cpu(void);
int aio_pin_current_thread(int32_t cpu);

int64_t aio_kernel_noop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_spin(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_keccak256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_rlp_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_amount_out(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_amount_in(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_backrun(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_ecrecover(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_tx_sender(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_sign_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);

#define AIO_TX_RECORD_SIZE ...
#define AIO_TX_SENDER_SIZE ...
#define AIO_SIGN_TX_HEADER ...
#define AIO_KERR_NO_SECP ...
typedef struct aio_secp_pubkey { unsigned char data[64]; } aio_secp_pubkey;
typedef struct aio_secp_recsig { unsigned char data[65]; } aio_secp_recsig;
typedef struct aio_secp256k1 {
    const void *ctx;
    int (*recsig_parse_compact)(const void *ctx, aio_secp_recsig *sig, const unsigned char *in64, int recid);
    int (*recsig_serialize_compact)(const void *ctx, unsigned char *out64, int *recid, const aio_secp_recsig *sig);
    int (*recover)(const void *ctx, aio_secp_pubkey *pubkey, const aio_secp_recsig *sig, const unsigned char *msg32);
    int (*sign_recoverable)(const void *ctx, aio_secp_recsig *sig, const unsigned char *msg32,
                            const unsigned char *seckey, const void *noncefp, const void *ndata);
    int (*pubkey_create)(const void *ctx, aio_secp_pubkey *pubkey, const unsigned char *seckey);
    int (*pubkey_serialize)(const void *ctx, unsigned char *out, size_t *outlen, const aio_secp_pubkey *pubkey,
                            unsigned int flags);
} aio_secp256k1;
typedef struct aio_signer aio_signer;
aio_signer *aio_signer_new(const struct aio_secp256k1 *secp, const uint8_t seckey[32], uint8_t address[20]);
void aio_signer_free(aio_signer *s);

double aio_bench_deque_push_pop(int64_t n);
double aio_bench_deque_steal(int64_t n);
double aio_bench_injector_push_pop(int64_t n);
double aio_bench_pool_alloc_free(int64_t n);
double aio_bench_completion_push_drain(int64_t n);
int aio_floor_round_trip(int32_t caller_cpu, int32_t peer_cpu, int64_t gap_ns, int32_t jitter, int32_t n,
                         double *p50_us, double *p99_us);

/* The Python side of py_entry: runs job `id` on a worker thread (cffi takes the GIL). */
extern "Python" int32_t aio_py_entry(uint64_t id);
