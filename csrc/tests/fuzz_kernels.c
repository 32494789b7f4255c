/* fuzz_kernels.c -- libFuzzer target for the input-parsing kernels (rlp_tx, keccak256, univ2).
 *
 * Every input must give a known result, never a crash, an out-of-bounds access (ASan), undefined
 * behaviour (UBSan) or a write past out_cap. Checked invariants:
 *   rlp_tx:    rc is AIO_TX_RECORD_SIZE or a known error; then the type is 0..4, the record's
 *              spans lie inside the input and its hash is the keccak256 of the payload it
 *              points at.
 *   keccak256: deterministic, exactly 32 bytes written; the same digest when the input is fed
 *              to aio_keccak_update in two pieces split where its first byte says.
 *   univ2:     on the first 96 / 160 bytes: rc is the result size or a known AMM error;
 *              amount_out < reserve_out; backrun size <= max_in.
 * Build and run: scripts/fuzz.sh [SECONDS]  (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define CANARY 0xA5
#define fail() abort()

static void untouched(const uint8_t *buf, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (buf[i] != CANARY) fail(); /* written past out_cap */
}

static uint32_t u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_rlp_tx(const uint8_t *data, size_t size) {
    uint8_t out[AIO_TX_RECORD_SIZE + 32];
    memset(out, CANARY, sizeof out);
    int64_t rc = aio_kernel_rlp_tx(data, size, out, AIO_TX_RECORD_SIZE, NULL);
    untouched(out, AIO_TX_RECORD_SIZE, sizeof out);
    if (rc < 0) {
        if (!(rc == AIO_KERR_INPUT || (rc <= AIO_KERR_RLP_TRUNCATED && rc >= AIO_KERR_RLP_TRAILING))) fail();
        return;
    }
    if (rc != AIO_TX_RECORD_SIZE || out[0] > 4) fail();
    static const size_t spans[] = {180, 188, 232, 240, 248};
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        if ((uint64_t)u32le(out + spans[i]) + u32le(out + spans[i] + 4) > size) fail();
    uint32_t p_off = u32le(out + 188), p_len = u32le(out + 192);
    if (p_len == 0) fail();
    uint8_t digest[32];
    aio_keccak256(data + p_off, p_len, digest);
    if (memcmp(digest, out + 32, 32) != 0) fail();
}

static void check_keccak(const uint8_t *data, size_t size) {
    uint8_t a[40], b[32];
    memset(a, CANARY, sizeof a);
    if (aio_kernel_keccak256(data, size, a, 32, NULL) != 32) fail();
    untouched(a, 32, sizeof a);
    aio_keccak256(data, size, b);
    if (memcmp(a, b, 32) != 0) fail();
    const size_t cut = size > 0 ? (size_t)data[0] * 3 % (size + 1) : 0;
    aio_keccak k;
    aio_keccak_init(&k);
    aio_keccak_update(&k, data, cut);
    aio_keccak_update(&k, data + cut, size - cut);
    aio_keccak_final(&k, b);
    if (memcmp(a, b, 32) != 0) fail();
}

static int amm_error(int64_t rc) {
    return rc == AIO_KERR_AMM_INPUT || rc == AIO_KERR_AMM_LIQUIDITY || rc == AIO_KERR_AMM_OVERFLOW;
}

static void check_univ2(const uint8_t *data, size_t size) {
    uint8_t out[96];
    if (size >= 96) {
        memset(out, CANARY, sizeof out);
        int64_t rc = aio_kernel_univ2_amount_out(data, 96, out, 32, NULL);
        untouched(out, 32, sizeof out);
        if (rc == 32) {
            if (memcmp(out, data + 64, 32) >= 0) fail(); /* amount_out < reserve_out (big-endian) */
        } else if (!amm_error(rc)) {
            fail();
        }
        memset(out, CANARY, sizeof out);
        rc = aio_kernel_univ2_amount_in(data, 96, out, 32, NULL);
        untouched(out, 32, sizeof out);
        if (rc != 32 && !amm_error(rc)) fail();
    }
    if (size >= 160) {
        memset(out, CANARY, sizeof out);
        int64_t rc = aio_kernel_univ2_backrun(data, 160, out, 64, NULL);
        untouched(out, 64, sizeof out);
        if (rc == 64) {
            if (memcmp(out, data + 128, 32) > 0) fail(); /* size <= max_in */
        } else if (!amm_error(rc)) {
            fail();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_rlp_tx(data, size);
    check_keccak(data, size);
    check_univ2(data, size);
    return 0;
}
