/* keccak256.c -- Ethereum's keccak256 (original Keccak padding 0x01..0x80, rate 136 bytes,
 * 256-bit digest; NOT FIPS-202 SHA3-256, which pads with 0x06) built on Keccak-f[1600],
 * plus the aio_kernel_keccak256 kernel wrapper. Portable C11: lanes are loaded and stored
 * little-endian byte by byte, so neither host endianness nor alignment matters.
 */
#include "kernels.h"

#include <string.h>

#define KECCAK_ROUNDS 24

static const uint64_t keccak_rc[KECCAK_ROUNDS] = {
    UINT64_C(0x0000000000000001), UINT64_C(0x0000000000008082), UINT64_C(0x800000000000808A),
    UINT64_C(0x8000000080008000), UINT64_C(0x000000000000808B), UINT64_C(0x0000000080000001),
    UINT64_C(0x8000000080008081), UINT64_C(0x8000000000008009), UINT64_C(0x000000000000008A),
    UINT64_C(0x0000000000000088), UINT64_C(0x0000000080008009), UINT64_C(0x000000008000000A),
    UINT64_C(0x000000008000808B), UINT64_C(0x800000000000008B), UINT64_C(0x8000000000008089),
    UINT64_C(0x8000000000008003), UINT64_C(0x8000000000008002), UINT64_C(0x8000000000000080),
    UINT64_C(0x000000000000800A), UINT64_C(0x800000008000000A), UINT64_C(0x8000000080008081),
    UINT64_C(0x8000000000008080), UINT64_C(0x0000000080000001), UINT64_C(0x8000000080008008),
};

/* Rotate left; safe for r == 0 (no shift by 64). */
static inline uint64_t rol64(uint64_t v, unsigned r)
{
    return (v << r) | (v >> ((64u - r) & 63u));
}

static inline uint64_t load64_le(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

static inline void store64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Keccak-f[1600]. Lane (x, y) lives at A[x + 5*y]. */
static void keccak_f1600(uint64_t A[25])
{
    uint64_t B[25];
    uint64_t C0, C1, C2, C3, C4, D0, D1, D2, D3, D4;

    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        /* theta: XOR each lane with the parities of two neighbouring columns. */
        C0 = A[0] ^ A[5] ^ A[10] ^ A[15] ^ A[20];
        C1 = A[1] ^ A[6] ^ A[11] ^ A[16] ^ A[21];
        C2 = A[2] ^ A[7] ^ A[12] ^ A[17] ^ A[22];
        C3 = A[3] ^ A[8] ^ A[13] ^ A[18] ^ A[23];
        C4 = A[4] ^ A[9] ^ A[14] ^ A[19] ^ A[24];
        D0 = C4 ^ rol64(C1, 1);
        D1 = C0 ^ rol64(C2, 1);
        D2 = C1 ^ rol64(C3, 1);
        D3 = C2 ^ rol64(C4, 1);
        D4 = C3 ^ rol64(C0, 1);
        for (int y = 0; y < 25; y += 5) {
            A[y + 0] ^= D0;
            A[y + 1] ^= D1;
            A[y + 2] ^= D2;
            A[y + 3] ^= D3;
            A[y + 4] ^= D4;
        }

        /* rho + pi: B[y, 2x+3y] = rol(A[x, y], r[x, y]). */
#define RHO_PI(x, y, r) B[(y) + 5 * ((2 * (x) + 3 * (y)) % 5)] = rol64(A[(x) + 5 * (y)], (r))
        RHO_PI(0, 0, 0);  RHO_PI(1, 0, 1);  RHO_PI(2, 0, 62); RHO_PI(3, 0, 28); RHO_PI(4, 0, 27);
        RHO_PI(0, 1, 36); RHO_PI(1, 1, 44); RHO_PI(2, 1, 6);  RHO_PI(3, 1, 55); RHO_PI(4, 1, 20);
        RHO_PI(0, 2, 3);  RHO_PI(1, 2, 10); RHO_PI(2, 2, 43); RHO_PI(3, 2, 25); RHO_PI(4, 2, 39);
        RHO_PI(0, 3, 41); RHO_PI(1, 3, 45); RHO_PI(2, 3, 15); RHO_PI(3, 3, 21); RHO_PI(4, 3, 8);
        RHO_PI(0, 4, 18); RHO_PI(1, 4, 2);  RHO_PI(2, 4, 61); RHO_PI(3, 4, 56); RHO_PI(4, 4, 14);
#undef RHO_PI

        /* chi: A[x, y] = B[x, y] ^ (~B[x+1, y] & B[x+2, y]). */
        for (int y = 0; y < 25; y += 5) {
            A[y + 0] = B[y + 0] ^ (~B[y + 1] & B[y + 2]);
            A[y + 1] = B[y + 1] ^ (~B[y + 2] & B[y + 3]);
            A[y + 2] = B[y + 2] ^ (~B[y + 3] & B[y + 4]);
            A[y + 3] = B[y + 3] ^ (~B[y + 4] & B[y + 0]);
            A[y + 4] = B[y + 4] ^ (~B[y + 0] & B[y + 1]);
        }

        /* iota */
        A[0] ^= keccak_rc[round];
    }
}

/* XOR one full rate-sized block into the state and permute. */
static void keccak_absorb_block(uint64_t A[25], const uint8_t *block)
{
    for (int i = 0; i < KECCAK256_RATE / 8; i++)
        A[i] ^= load64_le(block + 8 * i);
    keccak_f1600(A);
}

void aio_keccak_init(aio_keccak *k)
{
    memset(k, 0, sizeof *k);
}

void aio_keccak_update(aio_keccak *k, const uint8_t *in, size_t in_len)
{
    /* Top up a partial block first, then absorb whole blocks straight from in (in is only
     * touched when in_len > 0, so it may be NULL for empty input). */
    if (k->pending > 0) {
        size_t take = KECCAK256_RATE - k->pending;
        if (take > in_len)
            take = in_len;
        memcpy(k->block + k->pending, in, take);
        k->pending += take;
        in += take;
        in_len -= take;
        if (k->pending < KECCAK256_RATE)
            return;
        keccak_absorb_block(k->state, k->block);
        k->pending = 0;
    }
    while (in_len >= KECCAK256_RATE) {
        keccak_absorb_block(k->state, in);
        in += KECCAK256_RATE;
        in_len -= KECCAK256_RATE;
    }
    if (in_len > 0)
        memcpy(k->block, in, in_len);
    k->pending = in_len;
}

void aio_keccak_final(aio_keccak *k, uint8_t out[32])
{
    /* Final partial block with Keccak padding: 0x01 after the data, 0x80 in the last
     * byte of the block (both in one byte, 0x81, when pending == rate - 1). */
    memset(k->block + k->pending, 0, KECCAK256_RATE - k->pending);
    k->block[k->pending] ^= 0x01;
    k->block[KECCAK256_RATE - 1] ^= 0x80;
    keccak_absorb_block(k->state, k->block);
    /* Squeeze: the digest is the first 4 lanes, little-endian. */
    for (int i = 0; i < 4; i++)
        store64_le(out + 8 * i, k->state[i]);
}

void aio_keccak256(const uint8_t *in, size_t in_len, uint8_t out[32])
{
    aio_keccak k;
    aio_keccak_init(&k);
    aio_keccak_update(&k, in, in_len);
    aio_keccak_final(&k, out);
}

int64_t aio_kernel_keccak256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                             void *ctx)
{
    (void)ctx;
    if (out == NULL || out_cap < 32)
        return AIO_KERR_OUTCAP;
    if (in == NULL && in_len != 0)
        return AIO_KERR_INPUT;
    aio_keccak256(in, in_len, out);
    return 32;
}
