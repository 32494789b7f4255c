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

/* ecrecover, tx_sender, sign_tx (sender.c, sign_tx.c): signatures through libsecp256k1 */
#define AIO_KERR_SIG_RANGE   (-30) /* r or s is 0 or >= the curve order n */
#define AIO_KERR_SIG_HIGH_S  (-31) /* s > n / 2, which transactions forbid (EIP-2) */
#define AIO_KERR_SIG_V       (-32) /* v is not a recovery id the type allows */
#define AIO_KERR_SIG_RECOVER (-33) /* no public key recovers from the signature and hash */
#define AIO_KERR_SIG_KEY     (-34) /* the private key is 0 or >= n, or signing failed */
#define AIO_KERR_NO_SECP     (-35) /* the kernel was called without its libsecp256k1 context */

/* univ2_* (univ2.c) */
#define AIO_KERR_AMM_INPUT     (-20) /* amount (or backrun max_in) is zero */
#define AIO_KERR_AMM_LIQUIDITY (-21) /* a reserve is zero, or amount_out >= reserve_out */
#define AIO_KERR_AMM_OVERFLOW  (-22) /* reserve >= 2^112 or amount >= 2^128 */

/* Bytes of the record written by aio_kernel_rlp_tx (layout in rlp_tx.c / aioultra/kernels.py). */
#define AIO_TX_RECORD_SIZE 256
/* Input limits of the univ2 kernels: they keep every intermediate product below 2^256. */
#define AIO_UNIV2_RESERVE_BITS 112 /* reserves < 2^112 (uint112, as in the pair contract) */
#define AIO_UNIV2_AMOUNT_BITS  128 /* amounts and backrun max_in < 2^128 */

/* noop: writes nothing, returns 0. */
int64_t aio_kernel_noop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* spin: in is an 8-byte little-endian nanosecond count; busy-waits that long, returns 0. */
int64_t aio_kernel_spin(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* keccak256 (Ethereum's Keccak, not SHA3-256): writes the 32-byte digest of in, returns 32. */
int64_t aio_kernel_keccak256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* rlp_tx: in = one raw transaction (legacy, or 0x01..0x04 || rlp, a typed one possibly wrapped
 * in an RLP string; tx.h); writes the AIO_TX_RECORD_SIZE-byte record (rlp_tx.c), returns
 * AIO_TX_RECORD_SIZE. */
int64_t aio_kernel_rlp_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* tx_sender: in = one raw transaction (as rlp_tx); ctx = an aio_secp256k1; writes the hash,
 * signing hash, chain id, sender and type (sender.c), returns AIO_TX_SENDER_SIZE. */
#define AIO_TX_SENDER_SIZE 96
int64_t aio_kernel_tx_sender(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* ecrecover: in = hash (32) || r (32) || s (32) || v (1 byte: 0, 1, 27 or 28); ctx = an
 * aio_secp256k1; writes the 20-byte address that signed hash (high s accepted, as by the EVM's
 * ecrecover), returns 20. */
int64_t aio_kernel_ecrecover(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* sign_tx: in = the fields of an EIP-1559 transaction (layout in sign_tx.c); ctx = an
 * aio_signer; writes the hash and the signed raw transaction, returns 32 + its length. */
#define AIO_SIGN_TX_HEADER 148
int64_t aio_kernel_sign_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* A private key and the libsecp256k1 to sign with (the ctx of sign_tx). new: NULL for a key
 * that is 0 or >= n (or no memory); address gets the key's address. free: zeroes the key. */
typedef struct aio_signer aio_signer;
struct aio_secp256k1;
aio_signer *aio_signer_new(const struct aio_secp256k1 *secp, const uint8_t seckey[32], uint8_t address[20]);
void aio_signer_free(aio_signer *s);
/* univ2_amount_out / univ2_amount_in: in = amount || reserve_in || reserve_out (3 x 32-byte
 * big-endian); writes UniswapV2Library getAmountOut / getAmountIn as 32 bytes big-endian. */
int64_t aio_kernel_univ2_amount_out(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
int64_t aio_kernel_univ2_amount_in(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* univ2_backrun: in = p_in || p_out || q_in || q_out || max_in (5 x 32-byte big-endian); writes
 * the best input x and its profit (2 x 32-byte big-endian; zeros when nothing is profitable). */
int64_t aio_kernel_univ2_backrun(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);

/* Plain helper used by other kernels: digest of in into out[32]. */
void aio_keccak256(const uint8_t *in, size_t in_len, uint8_t out[32]);

/* The same digest over pieces: init, update with each piece in order, final. */
#define KECCAK256_RATE 136 /* (1600 - 2*256) / 8 bytes absorbed per permutation */
typedef struct aio_keccak {
    uint64_t state[25];
    uint8_t block[KECCAK256_RATE]; /* the partial block, pending bytes long */
    size_t pending;
} aio_keccak;
void aio_keccak_init(aio_keccak *k);
void aio_keccak_update(aio_keccak *k, const uint8_t *in, size_t in_len);
void aio_keccak_final(aio_keccak *k, uint8_t out[32]);

#endif
