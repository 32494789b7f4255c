/* test_keccak.c -- standalone known-answer test for the native keccak256 kernel
 * (Ethereum Keccak, not SHA3-256) and for the noop/spin kernels.
 *
 * Build & run:
 *   gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Icsrc/kernels csrc/tests/test_keccak.c \
 *       csrc/kernels/keccak256.c csrc/kernels/basic.c -o /tmp/test_keccak && /tmp/test_keccak
 * Exits 0 when every check passes, 1 otherwise (each failure is printed).
 */
#include "kernels.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int failures = 0;

static void to_hex(const uint8_t *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

/* Check the digest of (data, len) starts with expected_hex (a full 64-char digest or a prefix). */
static void check_digest(const char *label, const uint8_t *data, size_t len, const char *expected_hex)
{
    uint8_t d[32];
    char hex[65];
    aio_keccak256(data, len, d);
    to_hex(d, 32, hex);
    if (strncmp(hex, expected_hex, strlen(expected_hex)) != 0) {
        fprintf(stderr, "FAIL keccak256(%s): got %s, expected %s\n", label, hex, expected_hex);
        failures++;
    } else {
        printf("ok   keccak256(%s) = %s\n", label, hex);
    }
}

static void check_str(const char *s, const char *expected_hex)
{
    char label[96];
    snprintf(label, sizeof label, "\"%s\"", s);
    check_digest(label, (const uint8_t *)s, strlen(s), expected_hex);
}

static void check_repeat_a(size_t n, const char *expected_hex)
{
    uint8_t buf[512];
    char label[32];
    memset(buf, 'a', n);
    snprintf(label, sizeof label, "'a' x %zu", n);
    check_digest(label, buf, n, expected_hex);
}

static void expect_i64(const char *what, int64_t got, int64_t want)
{
    if (got != want) {
        fprintf(stderr, "FAIL %s: returned %lld, expected %lld\n", what, (long long)got,
                (long long)want);
        failures++;
    } else {
        printf("ok   %s -> %lld\n", what, (long long)got);
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

int main(void)
{
    /* Known answers (Ethereum keccak256). */
    check_str("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    check_digest("NULL, 0", NULL, 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    check_str("arst", "c3305bc9de1244e48050962ced50b75934c37006e99e8b7a62213e945c3dfcd7");
    check_str("The quick brown fox jumps over the lazy dog",
              "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
    check_str("The quick brown fox jumps over the lazy dog.",
              "578951e24efd62a3d63a86f7cd19aaa53c898fe287d2552133220370240b572d");
    check_str("transfer(address,uint256)", "a9059cbb");
    check_str("transfer(address,uint256)",
              "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b");

    /* Block-boundary lengths (rate = 136); expected values from pycryptodome
     * Crypto.Hash.keccak.new(digest_bits=256, data=b'a' * n).hexdigest(). */
    check_repeat_a(135, "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
    check_repeat_a(136, "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
    check_repeat_a(137, "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
    check_repeat_a(271, "132f47effd6c8b1b299efa53fe68aece77ec8ae4eb2e294f668eec94f76001e1");
    check_repeat_a(272, "cf7fcd4f705ee749930d19ca84561a9bf62516bd90a471545fa2f49fdc7e63c8");

    /* Kernel wrapper: out_cap handling, writes exactly the digest, never past 32 bytes. */
    {
        const char *msg = "arst";
        uint8_t out[40];
        uint8_t ref[32];
        aio_keccak256((const uint8_t *)msg, 4, ref);

        memset(out, 0xAB, sizeof out);
        expect_i64("aio_kernel_keccak256(out_cap=31)",
                   aio_kernel_keccak256((const uint8_t *)msg, 4, out, 31, NULL), AIO_KERR_OUTCAP);
        for (size_t i = 0; i < sizeof out; i++) {
            if (out[i] != 0xAB) {
                fprintf(stderr, "FAIL aio_kernel_keccak256(out_cap=31) wrote to out[%zu]\n", i);
                failures++;
                break;
            }
        }

        expect_i64("aio_kernel_keccak256(out_cap=32)",
                   aio_kernel_keccak256((const uint8_t *)msg, 4, out, 32, NULL), 32);
        if (memcmp(out, ref, 32) != 0) {
            fprintf(stderr, "FAIL aio_kernel_keccak256(out_cap=32): digest differs from aio_keccak256\n");
            failures++;
        }

        memset(out, 0xAB, sizeof out);
        expect_i64("aio_kernel_keccak256(out_cap=40)",
                   aio_kernel_keccak256((const uint8_t *)msg, 4, out, sizeof out, NULL), 32);
        if (memcmp(out, ref, 32) != 0) {
            fprintf(stderr, "FAIL aio_kernel_keccak256(out_cap=40): digest differs from aio_keccak256\n");
            failures++;
        }
        for (size_t i = 32; i < sizeof out; i++) {
            if (out[i] != 0xAB) {
                fprintf(stderr, "FAIL aio_kernel_keccak256(out_cap=40) wrote past 32 bytes (out[%zu])\n", i);
                failures++;
                break;
            }
        }

        uint8_t empty_ref[32];
        aio_keccak256(NULL, 0, empty_ref);
        expect_i64("aio_kernel_keccak256(in=NULL, in_len=0)",
                   aio_kernel_keccak256(NULL, 0, out, 32, NULL), 32);
        if (memcmp(out, empty_ref, 32) != 0) {
            fprintf(stderr, "FAIL aio_kernel_keccak256(in=NULL, in_len=0): wrong digest\n");
            failures++;
        }
    }

    /* noop */
    expect_i64("aio_kernel_noop", aio_kernel_noop(NULL, 0, NULL, 0, NULL), 0);

    /* spin: input must be exactly 8 bytes (little-endian ns). */
    {
        uint8_t bad[9] = {0};
        expect_i64("aio_kernel_spin(in_len=0)", aio_kernel_spin(NULL, 0, NULL, 0, NULL), AIO_KERR_INPUT);
        expect_i64("aio_kernel_spin(in_len=7)", aio_kernel_spin(bad, 7, NULL, 0, NULL), AIO_KERR_INPUT);
        expect_i64("aio_kernel_spin(in_len=9)", aio_kernel_spin(bad, 9, NULL, 0, NULL), AIO_KERR_INPUT);

        const uint64_t want_ns = 200000;
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(want_ns >> (8 * i));
        uint64_t t0 = now_ns();
        int64_t rc = aio_kernel_spin(le, 8, NULL, 0, NULL);
        uint64_t elapsed = now_ns() - t0;
        expect_i64("aio_kernel_spin(200000 ns)", rc, 0);
        if (elapsed < want_ns) {
            fprintf(stderr, "FAIL aio_kernel_spin(200000 ns) returned after only %llu ns\n",
                    (unsigned long long)elapsed);
            failures++;
        } else {
            printf("ok   aio_kernel_spin(200000 ns) took %llu ns\n", (unsigned long long)elapsed);
        }
    }

    if (failures) {
        fprintf(stderr, "test_keccak: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("test_keccak: all checks passed\n");
    return 0;
}
