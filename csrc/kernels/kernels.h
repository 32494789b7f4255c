/* kernels.h -- built-in native kernels.
 *
 * Every kernel has the signature of aio_kernel_fn (see aioultra.h):
 *   int64_t fn(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
 * returning the number of bytes written to out, or a negative AIO_KERR_* code.
 * Kernels run on worker threads without the GIL; they must be thread-safe and must not
 * write past out_cap.
 */
#ifndef AIOULTRA_KERNELS_H
#define AIOULTRA_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* Negative return codes shared by the built-in kernels. */
#define AIO_KERR_INPUT   (-1) /* input malformed or of the wrong length */
#define AIO_KERR_OUTCAP  (-2) /* out_cap too small for the result */

/* rlp_tx (rlp_tx.c) */
#define AIO_KERR_RLP_TRUNCATED    (-10) /* an RLP item (or its length) runs past its enclosing bound */
#define AIO_KERR_RLP_NONCANONICAL (-11) /* non-minimal length/header, or an integer with a leading zero */
#define AIO_KERR_TX_TYPE          (-12) /* unknown or unsupported transaction type byte */
#define AIO_KERR_TX_FIELD         (-13) /* wrong field count, shape or length; bad `to`; bad access list */
#define AIO_KERR_RLP_TRAILING     (-14) /* bytes after the transaction */

/* univ2_* (univ2.c) */
#define AIO_KERR_AMM_INPUT     (-20) /* amount (or backrun max_in) is zero */
#define AIO_KERR_AMM_LIQUIDITY (-21) /* a reserve is zero, or amount_out >= reserve_out */
#define AIO_KERR_AMM_OVERFLOW  (-22) /* reserve >= 2^112 or amount >= 2^128 */

/* Bytes of the record written by aio_kernel_rlp_tx (layout in rlp_tx.c / aioultra/kernels.py). */
#define AIO_TX_RECORD_SIZE 200
/* Input limits of the univ2 kernels: they keep every intermediate product below 2^256. */
#define AIO_UNIV2_RESERVE_BITS 112 /* reserves < 2^112 (uint112, as in the pair contract) */
#define AIO_UNIV2_AMOUNT_BITS  128 /* amounts and backrun max_in < 2^128 */

/* noop: writes nothing, returns 0. */
int64_t aio_kernel_noop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* spin: in is an 8-byte little-endian nanosecond count; busy-waits that long, returns 0. */
int64_t aio_kernel_spin(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* keccak256 (Ethereum's Keccak, not SHA3-256): writes the 32-byte digest of in, returns 32. */
int64_t aio_kernel_keccak256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* rlp_tx: in = one raw transaction (legacy, 0x01 || rlp, 0x02 || rlp, or a typed one wrapped in
 * an RLP string); writes the AIO_TX_RECORD_SIZE-byte record, returns AIO_TX_RECORD_SIZE. */
int64_t aio_kernel_rlp_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* univ2_amount_out / univ2_amount_in: in = amount || reserve_in || reserve_out (3 x 32-byte
 * big-endian); writes UniswapV2Library getAmountOut / getAmountIn as 32 bytes big-endian. */
int64_t aio_kernel_univ2_amount_out(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_amount_in(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* univ2_backrun: in = p_in || p_out || q_in || q_out || max_in (5 x 32-byte big-endian); writes
 * the best input x and its profit (2 x 32-byte big-endian; zeros when nothing is profitable). */
int64_t aio_kernel_univ2_backrun(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);

/* Plain helper used by other kernels: digest of in into out[32]. */
void aio_keccak256(const uint8_t *in, size_t in_len, uint8_t out[32]);

#endif
