/* test_eth_kernels.c -- standalone test of the Ethereum kernels: rlp_tx (mainnet known answers,
 * every truncation, trailing bytes, non-canonical encodings, wrong types, random bytes and
 * mutations), univ2_amount_out / univ2_amount_in / univ2_backrun (known answers, errors, limits)
 * and the u256 division (against shift-subtract on structured random numbers).
 *
 * Build & run (plain, then with sanitizers; KSRC = every csrc/kernels .c file):
 *   gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Icsrc -Icsrc/kernels csrc/tests/test_eth_kernels.c $KSRC
 *   gcc -O1 -g -std=gnu11 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all
 *       -Icsrc -Icsrc/kernels csrc/tests/test_eth_kernels.c $KSRC
 * Optional argument: random iterations (default 200000). Exits 0 when every check passes.
 * Inputs are copied into exactly-sized heap buffers so ASan catches any read past in_len.
 */
#include "kernels.h"
#include "u256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

/* xorshift64*: deterministic test randomness */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (n > cap)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            abort();
        out[i] = (uint8_t)v;
    }
    return n;
}

static void tohex(const uint8_t *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Run a kernel on an exact-size heap copy of (data, len); the record goes to out. */
typedef int64_t (*kernel_fn)(const uint8_t *, size_t, uint8_t *, size_t, void *);
static int64_t run(kernel_fn fn, const uint8_t *data, size_t len, uint8_t *out, size_t out_cap)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    if (len)
        memcpy(copy, data, len);
    uint8_t *obuf = malloc(out_cap ? out_cap : 1);
    if (obuf == NULL)
        abort();
    const int64_t rc = fn(copy, len, obuf, out_cap, NULL);
    if (rc > 0)
        memcpy(out, obuf, (size_t)rc);
    free(copy);
    free(obuf);
    return rc;
}

/* --- rlp_tx ----------------------------------------------------------------------------- */

typedef struct tx_vector {
    const char *note, *raw, *hash, *to;
    unsigned type;
    uint64_t nonce, gas, chain_id;
    size_t data_len;
} tx_vector;

static const tx_vector txs[] = {
    {"first mainnet tx (legacy)",
     "f86780862d79883d2000825208945df9b87991262f6ba471f09758cde1c0fc1de734827a69801ca088ff6cf0fefd94db46111149ae4bf"
     "c179e9b94721fffd821d38d16464b3f71d0a045e0aff800961cfce805daef7016b9b675c137a6a41a548f7b60a3484c06a33a",
     "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060", "5df9b87991262f6ba471f09758cde1c0fc1de734",
     0, 0, 21000, 0, 0},
    {"legacy, no chain id",
     "f86a808459682f0082520894fe3b557e8fb62b89f4916b721be55ceb828dbd73872386f26fc10000801ca0d22fc3eed9b9b9dbef9eec2"
     "30aa3fb849eff60356c6b34e86155dca5c03554c7a05e3903d7375337f103cb9583d97a59dcca7472908c31614ae240c6a8311b02d6",
     "595e27a835cd79729ff1eeacec3120eeb6ed1464a04ec727aaca734ead961328", "fe3b557e8fb62b89f4916b721be55ceb828dbd73",
     0, 0, 21000, 0, 0},
    {"EIP-1559 wrapped in an RLP string",
     "b86d02f86a7b80843b9aca00843b9aca0082520894e80d2a018c813577f33f9e69387dc621206fb3a48080c001a02c73a04cd144e5a8"
     "4ceb6da942f83763c2682896b51f7922e2e2f9a524dd90b7a0235adda5f87a1d098e2739e40e83129ff82837c9042e6ad61d0481334dc"
     "b6f1a",
     "1247438da30b5919f1401eff4422fd11added646eff41278cd5276a5d3df802e", "e80d2a018c813577f33f9e69387dc621206fb3a4",
     2, 0, 21000, 0x7b, 0},
    {"EIP-2930",
     "01f86b7b018203e882520894236ff1e97419ae93ad80cafbaa21220c5d78fb7d880de0b6b3a764000080c080a0987e3d8d0dcd86107b04"
     "1e1dca2e0583118ff466ad71ad36a8465dd2a166ca2da02361c5018e63beea520321b290097cd749febc2f437c7cb41fdd085816742060",
     "dec28fbfd19eb82ba91437922ea91d550d2861efb8cc7a4040b0f5efd3658284", "236ff1e97419ae93ad80cafbaa21220c5d78fb7d",
     1, 1, 21000, 0x7b, 0},
    {"EIP-2930 with access list, contract creation",
     "01f889018201f30a8301e241808080f838f7940000000000000000000000000000000000000001e1a0000000000000000000000000000000"
     "000000000000000000000000000000000080a0a2196512ef8325b781e32d96d283a9d4cf3946947da77f3cd310eee050c537d5a00144af"
     "5513a24363bf49abed9a25476cb7c33df6e0c0053b63ee8dac64b027aa",
     "bde66bd7925917db9e49e38a12ed0dcd6f9422f8db90de26d34a4523f8861d1e", NULL, 1, 499, 123457, 1, 0},
    {"EIP-1559 with data and access list",
     "02f8b28205392284773594008477359400830186a09409616c3d61b3331fc4109a9e41a8bdb7d9776609865af3107a4000866162636465"
     "66f838f7940000000000000000000000000000000000000001e1a001000000000000000000000000000000000000000000000000000000"
     "0000000001a06c38b2e120203461c37a7b1a90955f9fe12a44c2de898b2a6ba859567d4e2861a0027b9e7869127b2046f0e34c37ef06df"
     "68a3f397430c7a9bf757ff31d58b85d5",
     "2721b2ac99d878695e410af9e8968859b6f6e94f544840be0eb2935bead7deba", "09616c3d61b3331fc4109a9e41a8bdb7d9776609",
     2, 34, 100000, 1337, 6},
};
#define N_TXS (sizeof txs / sizeof txs[0])

static void test_tx_vectors(void)
{
    uint8_t raw[512], rec[AIO_TX_RECORD_SIZE], zero[20] = {0};
    char hex[65];
    for (size_t t = 0; t < N_TXS; t++) {
        const tx_vector *v = &txs[t];
        const size_t len = unhex(v->raw, raw, sizeof raw);
        const int64_t rc = run(aio_kernel_rlp_tx, raw, len, rec, AIO_TX_RECORD_SIZE);
        CHECK(rc == AIO_TX_RECORD_SIZE, "%s: rc %lld", v->note, (long long)rc);
        if (rc != AIO_TX_RECORD_SIZE)
            continue;
        tohex(rec + 32, 32, hex);
        CHECK(strcmp(hex, v->hash) == 0, "%s: hash %s", v->note, hex);
        CHECK(rec[0] == v->type, "%s: type %u", v->note, rec[0]);
        CHECK(get_le(rec + 8, 8) == v->nonce, "%s: nonce", v->note);
        CHECK(get_le(rec + 16, 8) == v->gas, "%s: gas", v->note);
        CHECK(get_le(rec + 24, 8) == v->chain_id, "%s: chain id %llu", v->note,
              (unsigned long long)get_le(rec + 24, 8));
        CHECK(rec[1] == (v->to != NULL), "%s: has_to", v->note);
        if (v->to) {
            char to[41];
            tohex(rec + 160, 20, to);
            CHECK(strcmp(to, v->to) == 0, "%s: to %s", v->note, to);
        } else {
            CHECK(memcmp(rec + 160, zero, 20) == 0, "%s: to not zero", v->note);
        }
        const uint64_t d_off = get_le(rec + 180, 4), d_len = get_le(rec + 184, 4);
        const uint64_t p_off = get_le(rec + 188, 4), p_len = get_le(rec + 192, 4);
        CHECK(d_len == v->data_len && d_off + d_len <= len, "%s: data %llu+%llu", v->note,
              (unsigned long long)d_off, (unsigned long long)d_len);
        CHECK(p_off + p_len == len && (p_off == 0 || raw[0] == 0xb8), "%s: payload", v->note);
        CHECK(memcmp(rec + 196, zero, 4) == 0 && memcmp(rec + 2, zero, 6) == 0, "%s: padding", v->note);
        uint8_t h[32];
        aio_keccak256(raw + p_off, (size_t)p_len, h);
        CHECK(memcmp(h, rec + 32, 32) == 0, "%s: hash is not of the payload", v->note);
    }
    /* first mainnet tx: value 31337, gas price 50000 gwei in both fee slots, in big-endian */
    const size_t len = unhex(txs[0].raw, raw, sizeof raw);
    if (run(aio_kernel_rlp_tx, raw, len, rec, AIO_TX_RECORD_SIZE) == AIO_TX_RECORD_SIZE) {
        uint8_t want[32] = {0};
        want[30] = 0x7a;
        want[31] = 0x69;
        CHECK(memcmp(rec + 64, want, 32) == 0, "value");
        memset(want, 0, 32);
        unhex("2d79883d2000", want + 26, 6);
        CHECK(memcmp(rec + 96, want, 32) == 0 && memcmp(rec + 128, want, 32) == 0, "gas price");
    }
    printf("rlp_tx known answers: %zu transactions\n", N_TXS);
}

static int64_t tx_hex(const char *hex)
{
    uint8_t raw[512], rec[AIO_TX_RECORD_SIZE];
    const size_t len = unhex(hex, raw, sizeof raw);
    return run(aio_kernel_rlp_tx, raw, len, rec, AIO_TX_RECORD_SIZE);
}

static void test_tx_malformed(void)
{
    uint8_t raw[600], rec[AIO_TX_RECORD_SIZE];
    size_t total = 0;
    for (size_t t = 0; t < N_TXS; t++) {
        const size_t len = unhex(txs[t].raw, raw, sizeof raw);
        /* every truncation */
        for (size_t cut = 0; cut < len; cut++) {
            const int64_t rc = run(aio_kernel_rlp_tx, raw, cut, rec, AIO_TX_RECORD_SIZE);
            CHECK(rc == AIO_KERR_RLP_TRUNCATED, "%s cut at %zu: rc %lld", txs[t].note, cut, (long long)rc);
            total++;
        }
        /* trailing bytes */
        raw[len] = 0x00;
        CHECK(run(aio_kernel_rlp_tx, raw, len + 1, rec, AIO_TX_RECORD_SIZE) == AIO_KERR_RLP_TRAILING,
              "%s + trailing byte", txs[t].note);
        /* out_cap too small */
        CHECK(run(aio_kernel_rlp_tx, raw, len, rec, AIO_TX_RECORD_SIZE - 1) == AIO_KERR_OUTCAP, "outcap");
        /* every single-byte mutation must return a record or an error: ASan checks the reads */
        for (size_t i = 0; i < len; i++) {
            const uint8_t saved = raw[i];
            for (int delta = 1; delta < 256; delta += 37) {
                raw[i] = (uint8_t)(saved + delta);
                const int64_t rc = run(aio_kernel_rlp_tx, raw, len, rec, AIO_TX_RECORD_SIZE);
                CHECK(rc == AIO_TX_RECORD_SIZE || (rc <= -10 && rc >= -14), "mutation rc %lld", (long long)rc);
                total++;
            }
            raw[i] = saved;
        }
    }
    /* hand-made cases (each a minimal variation of a valid legacy tx) */
    const char *legacy = "df" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80" "1b" "01" "01";
    CHECK(tx_hex(legacy) == AIO_TX_RECORD_SIZE, "minimal legacy");
    /* nonce 0 encoded as 0x00 (leading zero) */
    CHECK(tx_hex("df" "00" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80" "1b" "01" "01") ==
              AIO_KERR_RLP_NONCANONICAL,
          "integer with a leading zero");
    /* gas price 1 as 0x8101 (single byte wrapped) */
    CHECK(tx_hex("e0" "80" "8101" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80" "1b" "01" "01") ==
              AIO_KERR_RLP_NONCANONICAL,
          "wrapped single byte");
    /* outer list in long form with a short length */
    CHECK(tx_hex("f81f" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80" "1b" "01" "01") ==
              AIO_KERR_RLP_NONCANONICAL,
          "long form for a short list");
    /* `to` of 19 bytes */
    CHECK(tx_hex("de" "80" "01" "825208" "93" "5df9b87991262f6ba471f09758cde1c0fc1de7" "80" "80" "1b" "01" "01") ==
              AIO_KERR_TX_FIELD,
          "19-byte to");
    /* 8 fields */
    CHECK(tx_hex("de" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80" "1b" "01") ==
              AIO_KERR_TX_FIELD,
          "8 fields");
    /* 10 fields */
    CHECK(tx_hex("e0" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80" "1b" "01" "01"
                 "01") == AIO_KERR_TX_FIELD,
          "10 fields");
    /* nonce of 9 bytes */
    CHECK(tx_hex("e8" "89010000000000000000" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80"
                 "1b" "01" "01") == AIO_KERR_TX_FIELD,
          "nonce > 64 bits");
    /* data as a list */
    CHECK(tx_hex("df" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "c0" "1b" "01" "01") ==
              AIO_KERR_TX_FIELD,
          "data as a list");
    /* v = 3 * 2^64 + 35: chain id (v - 35) / 2 does not fit 64 bits; v = 2^64 + 35 gives 2^63 */
    CHECK(tx_hex("e8" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80"
                 "89030000000000000023" "01" "01") == AIO_KERR_TX_FIELD,
          "chain id > 64 bits");
    {
        uint8_t raw2[64];
        const size_t l2 = unhex("e8" "80" "01" "825208" "94" "5df9b87991262f6ba471f09758cde1c0fc1de734" "80" "80"
                                "89010000000000000023" "01" "01", raw2, sizeof raw2);
        CHECK(run(aio_kernel_rlp_tx, raw2, l2, rec, AIO_TX_RECORD_SIZE) == AIO_TX_RECORD_SIZE &&
                  get_le(rec + 24, 8) == UINT64_C(1) << 63,
              "chain id 2^63");
    }
    /* inner item longer than its list */
    CHECK(tx_hex("c3" "83" "0102") == AIO_KERR_RLP_TRUNCATED, "item past its list");
    /* types */
    CHECK(tx_hex("05c0") == AIO_KERR_TX_TYPE, "type 5");
    CHECK(tx_hex("03c0") == AIO_KERR_TX_FIELD && tx_hex("04c0") == AIO_KERR_TX_FIELD, "types 3, 4: empty lists");
    CHECK(tx_hex("00c0") == AIO_KERR_TX_TYPE, "type 0");
    CHECK(tx_hex("7f") == AIO_KERR_TX_TYPE, "type 0x7f");
    CHECK(tx_hex("80") == AIO_KERR_TX_TYPE, "empty wrapper");
    CHECK(tx_hex("82c180") == AIO_KERR_TX_TYPE, "wrapped legacy");
    CHECK(tx_hex("02") == AIO_KERR_RLP_TRUNCATED, "type byte alone");
    CHECK(tx_hex("0280") == AIO_KERR_TX_FIELD, "typed string instead of list");
    CHECK(tx_hex("01c0") == AIO_KERR_TX_FIELD, "typed empty list");
    CHECK(tx_hex("") == AIO_KERR_RLP_TRUNCATED, "empty input");
    CHECK(tx_hex("b800") == AIO_KERR_RLP_NONCANONICAL, "length with a leading zero");
    CHECK(tx_hex("b838") == AIO_KERR_RLP_TRUNCATED, "long string past the input");
    CHECK(tx_hex("ffffffffffffffffff") == AIO_KERR_RLP_TRUNCATED, "2^64-1 list length");
    CHECK(aio_kernel_rlp_tx(NULL, 5, rec, sizeof rec, NULL) == AIO_KERR_INPUT, "NULL input");
    CHECK(aio_kernel_rlp_tx(NULL, 0, NULL, 0, NULL) == AIO_KERR_OUTCAP, "NULL output");
    printf("rlp_tx malformed: %zu truncations and mutations, plus hand-made cases\n", total);
}

static void test_tx_random(long iters)
{
    uint8_t buf[256], rec[AIO_TX_RECORD_SIZE];
    long ok = 0;
    for (long i = 0; i < iters; i++) {
        const size_t len = (size_t)(rnd() % sizeof buf);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rnd();
        /* bias the first bytes towards plausible headers so the parser gets deep */
        if (len > 0 && (i & 3) == 0)
            buf[0] = (uint8_t)(0xc0 + rnd() % 64);
        if (len > 1 && (i & 3) == 1) {
            buf[0] = (uint8_t)(1 + rnd() % 2);
            buf[1] = (uint8_t)(0xc0 + rnd() % 64);
        }
        const int64_t rc = run(aio_kernel_rlp_tx, buf, len, rec, AIO_TX_RECORD_SIZE);
        CHECK(rc == AIO_TX_RECORD_SIZE || rc == AIO_KERR_INPUT || (rc <= -10 && rc >= -14), "random rc %lld",
              (long long)rc);
        ok += rc == AIO_TX_RECORD_SIZE;
    }
    printf("rlp_tx random bytes: %ld inputs (%ld decoded)\n", iters, ok);
}

/* --- univ2 ------------------------------------------------------------------------------ */

static void be_from_u64(uint8_t *p, uint64_t v)
{
    memset(p, 0, 32);
    for (int i = 0; i < 8; i++)
        p[31 - i] = (uint8_t)(v >> (8 * i));
}

static void be_pow2_minus(uint8_t *p, unsigned bits, uint64_t minus)
{
    /* 2^bits - minus (bits <= 255) */
    u256 one = u256_from_u64(1), r = u256_zero();
    for (unsigned i = 0; i <= bits; i++)
        r = i == 0 ? one : u256_add(r, r, NULL);
    u256_to_be(u256_sub(r, u256_from_u64(minus), NULL), p);
}

static int64_t amm3(kernel_fn fn, uint64_t a, uint64_t rin, uint64_t rout, uint64_t *result)
{
    uint8_t in[96], out[32];
    be_from_u64(in, a);
    be_from_u64(in + 32, rin);
    be_from_u64(in + 64, rout);
    const int64_t rc = run(fn, in, 96, out, 32);
    if (rc == 32 && result) {
        uint64_t v = 0;
        for (int i = 24; i < 32; i++)
            v = (v << 8) | out[i];
        *result = v;
    }
    return rc;
}

static void test_univ2(void)
{
    uint64_t r = 0;
    /* tests/data/uniswap_v2.json */
    CHECK(amm3(aio_kernel_univ2_amount_in, 100000000000000000u, 1000000000000000000u, 2000000000000000000u, &r) == 32 &&
              r == 52789948793749671u,
          "getAmountIn 1: %llu", (unsigned long long)r);
    CHECK(amm3(aio_kernel_univ2_amount_in, 100000000000000000u, 2000000000000000000u, 1000000000000000000u, &r) == 32 &&
              r == 222890894906943052u,
          "getAmountIn 2: %llu", (unsigned long long)r);
    CHECK(amm3(aio_kernel_univ2_amount_out, 52789948793749671u, 1000000000000000000u, 2000000000000000000u, &r) == 32 &&
              r == 100000000000000001u,
          "getAmountOut 1: %llu", (unsigned long long)r);
    CHECK(amm3(aio_kernel_univ2_amount_out, 222890894906943052u, 2000000000000000000u, 1000000000000000000u, &r) ==
                  32 &&
              r == 100000000000000000u,
          "getAmountOut 2: %llu", (unsigned long long)r);
    /* errors */
    CHECK(amm3(aio_kernel_univ2_amount_out, 0, 1, 1, NULL) == AIO_KERR_AMM_INPUT, "zero amount");
    CHECK(amm3(aio_kernel_univ2_amount_out, 1, 0, 1, NULL) == AIO_KERR_AMM_LIQUIDITY, "zero reserve in");
    CHECK(amm3(aio_kernel_univ2_amount_out, 1, 1, 0, NULL) == AIO_KERR_AMM_LIQUIDITY, "zero reserve out");
    CHECK(amm3(aio_kernel_univ2_amount_in, 5, 10, 5, NULL) == AIO_KERR_AMM_LIQUIDITY, "amount_out == reserve_out");
    CHECK(amm3(aio_kernel_univ2_amount_in, 4, 10, 5, &r) == 32 && r == 10 * 4 * 1000 / 997 + 1, "amount_in small");
    uint8_t in[160], out[64];
    memset(in, 0, sizeof in);
    CHECK(run(aio_kernel_univ2_amount_out, in, 95, out, 32) == AIO_KERR_INPUT, "short input");
    CHECK(run(aio_kernel_univ2_amount_out, in, 96, out, 31) == AIO_KERR_OUTCAP, "short output");
    /* limits: reserve 2^112 - 1 ok, 2^112 overflow; amount 2^128 - 1 ok, 2^128 overflow */
    be_pow2_minus(in, 128, 1);
    be_pow2_minus(in + 32, 112, 1);
    be_pow2_minus(in + 64, 112, 1);
    CHECK(run(aio_kernel_univ2_amount_out, in, 96, out, 32) == 32, "max amount and reserves");
    {
        /* (2^128-1)*997*(2^112-1) / ((2^112-1)*1000 + (2^128-1)*997): check against u256 math */
        u256 a = u256_from_be(in), ri = u256_from_be(in + 32), ro = u256_from_be(in + 64), q;
        u256 wf = u256_mul(a, u256_from_u64(997), NULL);
        u256_divmod(u256_mul(wf, ro, NULL), u256_add(u256_mul(ri, u256_from_u64(1000), NULL), wf, NULL), &q, NULL);
        CHECK(u256_cmp(q, u256_from_be(out)) == 0, "max amount result");
    }
    be_pow2_minus(in + 32, 112, 0);
    CHECK(run(aio_kernel_univ2_amount_out, in, 96, out, 32) == AIO_KERR_AMM_OVERFLOW, "reserve 2^112");
    be_pow2_minus(in + 32, 112, 1);
    be_pow2_minus(in, 128, 0);
    CHECK(run(aio_kernel_univ2_amount_out, in, 96, out, 32) == AIO_KERR_AMM_OVERFLOW, "amount 2^128");
    memset(in, 0xff, 96);
    CHECK(run(aio_kernel_univ2_amount_in, in, 96, out, 32) == AIO_KERR_AMM_OVERFLOW, "all ones");

    /* backrun: values from aioultra.kernels.univ2_backrun_py */
    static const struct {
        const char *p_in, *p_out, *q_in, *q_out, *max_in, *best, *profit;
    } br[] = {
        {"de0b6b3a7640000", "1bc16d674ec80000", "de0b6b3a7640000", "de0b6b3a7640000", "c9f2c9cd04674edea40000000",
         "1e7f09b76a0c7bf", "c80a89678d1f42"},
        {"3e8", "3e8", "3e8", "3e8", "3e8", "0", "0"},
        {"ffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffff", "8000000000000000000000000000",
         "ffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffff", "2328e6e5e6cf03526dbdfcb1e4d4",
         "e6a1baa40db5bfd9ae1ab6cb718"},
        {"1b1ae4d6e2ef500000", "e8d4a51000", "e8d4a51000", "2086ac351052600000", "21e19e0c9bab2400000",
         "1412f12b742c565a1", "1d9993fceda0badc"},
    };
    for (size_t i = 0; i < sizeof br / sizeof br[0]; i++) {
        const char *hx[7] = {br[i].p_in, br[i].p_out, br[i].q_in, br[i].q_out, br[i].max_in, br[i].best, br[i].profit};
        uint8_t v[7][32];
        for (int k = 0; k < 7; k++) {
            char pad[65];
            const size_t l = strlen(hx[k]);
            memset(pad, '0', 64);
            memcpy(pad + 64 - l, hx[k], l);
            pad[64] = '\0';
            unhex(pad, v[k], 32);
        }
        for (int k = 0; k < 5; k++)
            memcpy(in + 32 * k, v[k], 32);
        const int64_t rc = run(aio_kernel_univ2_backrun, in, 160, out, 64);
        CHECK(rc == 64 && memcmp(out, v[5], 32) == 0 && memcmp(out + 32, v[6], 32) == 0, "backrun case %zu", i);
    }
    memset(in, 0, 160);
    CHECK(run(aio_kernel_univ2_backrun, in, 160, out, 64) == AIO_KERR_AMM_INPUT, "backrun max_in 0");
    in[159] = 1;
    CHECK(run(aio_kernel_univ2_backrun, in, 160, out, 64) == AIO_KERR_AMM_LIQUIDITY, "backrun zero reserves");
    CHECK(run(aio_kernel_univ2_backrun, in, 159, out, 64) == AIO_KERR_INPUT, "backrun short input");
    CHECK(run(aio_kernel_univ2_backrun, in, 160, out, 63) == AIO_KERR_OUTCAP, "backrun short output");
    in[0] = 1;
    CHECK(run(aio_kernel_univ2_backrun, in, 160, out, 64) == AIO_KERR_AMM_OVERFLOW, "backrun huge reserve");
    printf("univ2: known answers, errors and limits\n");
}

/* --- u256 division against shift-subtract ----------------------------------------------- */

static u256 u256_shl1(u256 a)
{
    u256 r;
    for (int i = U256_LIMBS - 1; i >= 0; i--)
        r.w[i] = (a.w[i] << 1) | (i > 0 ? a.w[i - 1] >> 63 : 0);
    return r;
}

static void slow_divmod(u256 a, u256 b, u256 *q, u256 *r)
{
    u256 quot = u256_zero(), rem = u256_zero();
    for (int bit = 255; bit >= 0; bit--) {
        rem = u256_shl1(rem);
        rem.w[0] |= (a.w[bit / 64] >> (bit % 64)) & 1u;
        quot = u256_shl1(quot);
        if (u256_cmp(rem, b) >= 0) {
            rem = u256_sub(rem, b, NULL);
            quot.w[0] |= 1;
        }
    }
    *q = quot;
    *r = rem;
}

/* Limbs that stress the division: all-ones, single high bits, and 32-bit boundaries. */
static uint64_t special_limb(void)
{
    static const uint64_t specials[] = {
        0, 1, 2, UINT64_C(0x7fffffffffffffff), UINT64_C(0x8000000000000000), UINT64_C(0x8000000000000001),
        UINT64_C(0xfffffffffffffffe), UINT64_MAX, UINT64_C(0xffffffff), UINT64_C(0x100000000),
    };
    switch (rnd() % 3) {
    case 0:
        return specials[rnd() % (sizeof specials / sizeof specials[0])];
    case 1:
        return rnd() >> (rnd() % 64);
    default:
        return rnd();
    }
}

static u256 random_u256(void)
{
    u256 a = u256_zero();
    const int n = (int)(rnd() % 5);
    for (int i = 0; i < n; i++)
        a.w[i] = special_limb();
    return a;
}

static void test_u256(long iters)
{
    long tested = 0;
    for (long i = 0; i < iters; i++) {
        const u256 a = random_u256(), b = random_u256();
        if (u256_is_zero(b)) {
            u256 q;
            CHECK(u256_divmod(a, b, &q, NULL) == -1, "division by zero");
            continue;
        }
        u256 q1, r1, q2, r2;
        u256_divmod(a, b, &q1, &r1);
        slow_divmod(a, b, &q2, &r2);
        CHECK(u256_cmp(q1, q2) == 0 && u256_cmp(r1, r2) == 0, "divmod mismatch at iteration %ld", i);
        /* q*b + r == a (the product cannot overflow since q*b <= a) */
        int ov = 0, c = 0;
        const u256 back = u256_add(u256_mul(q1, b, &ov), r1, &c);
        CHECK(!ov && !c && u256_cmp(back, a) == 0 && u256_cmp(r1, b) < 0, "q*b + r != a at %ld", i);
        /* a - b + b == a with the borrow and carry flags agreeing */
        int br = 0, cr = 0;
        const u256 d = u256_sub(a, b, &br);
        CHECK(u256_cmp(u256_add(d, b, &cr), a) == 0 && br == (u256_cmp(a, b) < 0) && cr == br, "sub/add at %ld", i);
        tested++;
    }
    /* Knuth D's add-back step (D6): Hacker's Delight's case scaled to 64-bit digits,
     * u = 2^192 * (2^63 - 1) + 2^128 * 2^63, v = 2^128 * 2^63 + 1. */
    u256 a = u256_zero(), b = u256_zero(), q1, r1, q2, r2;
    a.w[2] = UINT64_C(0x8000000000000000);
    a.w[3] = UINT64_C(0x7fffffffffffffff);
    b.w[0] = 1;
    b.w[2] = UINT64_C(0x8000000000000000);
    u256_divmod(a, b, &q1, &r1);
    slow_divmod(a, b, &q2, &r2);
    CHECK(u256_cmp(q1, q2) == 0 && u256_cmp(r1, r2) == 0, "add-back case");
    /* bit lengths and the limits used by univ2 */
    CHECK(u256_bits(u256_zero()) == 0 && u256_bits(u256_from_u64(1)) == 1 && u256_bits(a) == 255, "bits");
    printf("u256 divmod: %ld random divisions match shift-subtract\n", tested);
}

/* Random pools under the limits: the backrun result is consistent with amount_out. */
static u256 random_below_bits(unsigned bits)
{
    u256 v = u256_zero();
    const unsigned nbits = 1 + (unsigned)(rnd() % bits); /* 1..bits significant bits */
    for (unsigned i = 0; i < nbits; i += 64)
        v.w[i / 64] = rnd();
    const unsigned top = nbits % 64;
    if (top)
        v.w[(nbits - 1) / 64] &= (UINT64_C(1) << top) - 1;
    for (unsigned i = (nbits + 63) / 64; i < U256_LIMBS; i++)
        v.w[i] = 0;
    if (rnd() % 4 == 0)
        v = u256_from_u64(1 + rnd() % 1000);
    return v;
}

static void test_backrun_random(long iters)
{
    long profitable = 0;
    for (long i = 0; i < iters; i++) {
        uint8_t in[160], out[64], sw[96], o1[32], o2[32];
        u256 v[5];
        for (int k = 0; k < 4; k++)
            v[k] = random_below_bits(112);
        if (i % 2) { /* mirrored pools with a 25% price gap, so profits happen */
            v[0] = u256_shr1(v[0]);
            v[3] = u256_add(u256_shr1(u256_shr1(v[0])), v[0], NULL);
            v[2] = v[1];
        }
        v[4] = random_below_bits(128);
        for (int k = 0; k < 5; k++)
            u256_to_be(v[k], in + 32 * k);
        const int64_t rc = run(aio_kernel_univ2_backrun, in, 160, out, 64);
        if (rc < 0) {
            CHECK(rc == AIO_KERR_AMM_INPUT || rc == AIO_KERR_AMM_LIQUIDITY, "backrun rc %lld", (long long)rc);
            continue;
        }
        const u256 x = u256_from_be(out), profit = u256_from_be(out + 32);
        if (u256_is_zero(x)) {
            CHECK(u256_is_zero(profit), "zero x with a profit");
            continue;
        }
        profitable++;
        CHECK(u256_cmp(x, v[4]) <= 0 && !u256_is_zero(profit), "x beyond max_in or zero profit");
        /* z = amount_out(amount_out(x, p_in, p_out), q_in, q_out) must equal x + profit */
        memcpy(sw, out, 32);
        memcpy(sw + 32, in, 64);
        CHECK(run(aio_kernel_univ2_amount_out, sw, 96, o1, 32) == 32, "first swap");
        memcpy(sw, o1, 32);
        memcpy(sw + 32, in + 64, 64);
        const int64_t rc2 = run(aio_kernel_univ2_amount_out, sw, 96, o2, 32);
        CHECK(rc2 == 32 && u256_cmp(u256_from_be(o2), u256_add(x, profit, NULL)) == 0, "profit is not z - x");
    }
    printf("univ2_backrun random pools: %ld (%ld profitable), consistent with amount_out\n", iters, profitable);
}

int main(int argc, char **argv)
{
    const long iters = argc > 1 ? atol(argv[1]) : 200000;
    test_tx_vectors();
    test_tx_malformed();
    test_tx_random(iters);
    test_univ2();
    test_backrun_random(iters / 10);
    test_u256(iters);
    printf("%s: %d checks, %d failures\n", failures ? "FAILED" : "PASSED", checks, failures);
    return failures ? 1 : 0;
}
