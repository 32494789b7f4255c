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

/* noop: writes nothing, returns 0. */
int64_t aio_kernel_noop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* spin: in is an 8-byte little-endian nanosecond count; busy-waits that long, returns 0. */
int64_t aio_kernel_spin(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* keccak256 (Ethereum's Keccak, not SHA3-256): writes the 32-byte digest of in, returns 32. */
int64_t aio_kernel_keccak256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx);
/* Plain helper used by other kernels: digest of in into out[32]. */
void aio_keccak256(const uint8_t *in, size_t in_len, uint8_t out[32]);

#endif
