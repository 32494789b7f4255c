/* secp256k1.h -- libsecp256k1 reached through function pointers (no copy of it here).
 *
 * The library is the one coincurve (PyPI) bundles in its own cffi module: aioultra/_secp256k1.py
 * takes the addresses of the functions below and of coincurve's context from that module and
 * fills an aio_secp256k1, which the sender kernels get as their ctx. The declarations mirror
 * libsecp256k1's public header (include/secp256k1.h, secp256k1_recovery.h): opaque 64-byte
 * public keys, 65-byte recoverable signatures, every function taking the context first. A
 * context is safe to share between threads for all of these (they take it const).
 */
#ifndef AIOULTRA_SECP256K1_H
#define AIOULTRA_SECP256K1_H
#include <stddef.h>
#include <stdint.h>

#define AIO_SECP_UNCOMPRESSED 2u /* SECP256K1_EC_UNCOMPRESSED */

typedef struct aio_secp_pubkey {
    unsigned char data[64];
} aio_secp_pubkey;
typedef struct aio_secp_recsig {
    unsigned char data[65];
} aio_secp_recsig;

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

/* Checks of a signature's r and s (32-byte big-endian each), in this order: AIO_KERR_SIG_RANGE
 * when either is 0 or >= n; with low_s, AIO_KERR_SIG_HIGH_S when s > n / 2. 0 when valid. */
int aio_secp_check_rs(const uint8_t r[32], const uint8_t s[32], int low_s);

/* The Ethereum address (keccak256 of the uncompressed public key, last 20 bytes) that signed
 * msg32 with r || s and recovery id recid (0 or 1). 0, AIO_KERR_SIG_RANGE (a signature
 * libsecp256k1 does not parse) or AIO_KERR_SIG_RECOVER. r and s are not range-checked here. */
int aio_secp_recover_address(const aio_secp256k1 *p, const uint8_t msg32[32], const uint8_t r[32],
                             const uint8_t s[32], int recid, uint8_t address[20]);

/* The address of a 32-byte private key: 0 or AIO_KERR_SIG_KEY. */
int aio_secp_key_address(const aio_secp256k1 *p, const uint8_t seckey[32], uint8_t address[20]);

#endif
