/* univ2.c -- Uniswap V2 constant-product math with the 0.3% fee, exact to the wei
 * (UniswapV2Library.getAmountOut / getAmountIn), and a two-pool backrun optimiser.
 *
 * Limits (else AIO_KERR_AMM_OVERFLOW): every reserve < 2^112 (uint112, as the pair stores them)
 * and every amount (and backrun max_in) < 2^128. Then every intermediate fits 256 bits:
 *   getAmountOut: amountIn*997*reserveOut < 2^128 * 2^10 * 2^112 = 2^250,
 *                 reserveIn*1000 + amountIn*997 < 2^122 + 2^138;
 *   getAmountIn:  reserveIn*amountOut*1000 < 2^112 * 2^112 * 2^10 = 2^234 (amountOut < reserveOut),
 *                 (reserveOut - amountOut)*997 < 2^122;
 *   backrun:      a, b < 2^20 * 2^224 = 2^244, c < 2^133; for m <= hi, c*m <= a - b, so
 *                 b + c*m <= a + c < 2^245 and the two products of step 2 (< 2^490) are compared
 *                 in 512 bits; y = out(x) < p_out and z < q_out, so the inverses of step 3 stay
 *                 below 2^112 * 2^122 = 2^234.
 * Checks, in order: out_cap (AIO_KERR_OUTCAP), input length (AIO_KERR_INPUT), limits
 * (AIO_KERR_AMM_OVERFLOW), amount == 0 (AIO_KERR_AMM_INPUT), a reserve == 0 or, for amount_in,
 * amountOut >= reserveOut (AIO_KERR_AMM_LIQUIDITY).
 *
 * Backrun search: x of token A into pool P (reserves p_in A, p_out B) gives y = out(x, p_in,
 * p_out); y into pool Q (reserves q_in B, q_out A) gives z = out(y, q_in, q_out); profit(x) =
 * z - x, with out() the floored getAmountOut. Unrounded, the round trip is one Moebius map
 * Z(x) = a x / (b + c x), with a1 = 997 p_out, b1 = 1000 p_in, a2 = 997 q_out, b2 = 1000 q_in,
 * a = a1 a2, b = b1 b2, c = 997 (b2 + a1); F(x) = Z(x) - x is strictly concave and the floored
 * z(x) <= Z(x). Search (aioultra.kernels.univ2_backrun_py is the same in Python, bit for bit):
 *   1. profit > 0 needs F(x) > 0, i.e. x < (a - b) / c: if a <= b, or hi = min(max_in,
 *      (a - b) / c) is 0, nothing is profitable.
 *   2. x = the least m in [1, hi] with F(m) >= F(m + 1), i.e. (b + c m)(b + c (m+1)) >= a b
 *      (a 512-bit comparison; hi if none), by binary search: lo = 1; while lo < hi:
 *      mid = lo + (hi - lo) / 2; if pred(mid): hi = mid else lo = mid + 1. This is the exact
 *      integer maximiser of the unrounded profit, found with ~log2(hi) multiplications and no
 *      division.
 *   3. z = z(x) (floored); if z > 0, snap x down to the least input with the same output:
 *      y' = ceil(z b2 / (a2 - 997 z)), x = ceil(y' b1 / (a1 - 997 y')) (the exact inverses of
 *      the floors; x does not grow and z(x) stays z).
 *   4. output (x, z - x) when z > x, else zeros.
 * The floored profit at the unrounded maximiser is within one output step of pool Q
 * (0.997 q_out / q_in + 1) of the best floored profit; step 3 recovers part of that step.
 */
#include "kernels.h"

#include <string.h>

#include "u256.h"

/* amount*997*reserve_out / (reserve_in*1000 + amount*997); the caller enforces the limits
 * and reserve_in > 0, so nothing overflows and the divisor is never zero. */
static u256 amount_out(u256 amount, u256 reserve_in, u256 reserve_out)
{
    const u256 with_fee = u256_mul(amount, u256_from_u64(997), NULL);
    const u256 num = u256_mul(with_fee, reserve_out, NULL);
    const u256 den = u256_add(u256_mul(reserve_in, u256_from_u64(1000), NULL), with_fee, NULL);
    u256 q = u256_zero();
    (void)u256_divmod(num, den, &q, NULL);
    return q;
}

/* reserve_in*amount*1000 / ((reserve_out - amount)*997) + 1; needs amount < reserve_out. */
static u256 amount_in(u256 amount, u256 reserve_in, u256 reserve_out)
{
    const u256 num = u256_mul(u256_mul(reserve_in, amount, NULL), u256_from_u64(1000), NULL);
    const u256 den = u256_mul(u256_sub(reserve_out, amount, NULL), u256_from_u64(997), NULL);
    u256 q = u256_zero();
    (void)u256_divmod(num, den, &q, NULL);
    return u256_add(q, u256_from_u64(1), NULL);
}

static int reserve_ok(u256 r)
{
    return u256_fits_bits(r, AIO_UNIV2_RESERVE_BITS);
}

static int amount_ok(u256 a)
{
    return u256_fits_bits(a, AIO_UNIV2_AMOUNT_BITS);
}

/* Shared argument checks of amount_out / amount_in; loads the three numbers. */
static int64_t swap_args(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, u256 v[3])
{
    if (out == NULL || out_cap < 32)
        return AIO_KERR_OUTCAP;
    if (in == NULL || in_len != 96)
        return AIO_KERR_INPUT;
    for (int i = 0; i < 3; i++)
        v[i] = u256_from_be(in + 32 * i);
    if (!amount_ok(v[0]) || !reserve_ok(v[1]) || !reserve_ok(v[2]))
        return AIO_KERR_AMM_OVERFLOW;
    if (u256_is_zero(v[0]))
        return AIO_KERR_AMM_INPUT;
    if (u256_is_zero(v[1]) || u256_is_zero(v[2]))
        return AIO_KERR_AMM_LIQUIDITY;
    return 0;
}

int64_t aio_kernel_univ2_amount_out(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)ctx;
    u256 v[3];
    const int64_t rc = swap_args(in, in_len, out, out_cap, v);
    if (rc)
        return rc;
    u256_to_be(amount_out(v[0], v[1], v[2]), out);
    return 32;
}

int64_t aio_kernel_univ2_amount_in(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)ctx;
    u256 v[3];
    const int64_t rc = swap_args(in, in_len, out, out_cap, v);
    if (rc)
        return rc;
    if (u256_cmp(v[0], v[2]) >= 0)
        return AIO_KERR_AMM_LIQUIDITY;
    u256_to_be(amount_in(v[0], v[1], v[2]), out);
    return 32;
}

/* x*a / (b + 997x): getAmountOut with a = 997 * reserve_out, b = 1000 * reserve_in. */
static u256 mobius(u256 x, u256 a, u256 b)
{
    const u256 num = u256_mul(x, a, NULL);
    const u256 den = u256_add(b, u256_mul(x, u256_from_u64(997), NULL), NULL);
    u256 q = u256_zero();
    (void)u256_divmod(num, den, &q, NULL);
    return q;
}

/* The least input of a pool (a = 997 * reserve_out, b = 1000 * reserve_in) whose output is at
 * least out: ceil(out*b / (a - 997*out)). Needs 0 < 997*out < a. */
static u256 mobius_inverse(u256 out, u256 a, u256 b)
{
    const u256 num = u256_mul(out, b, NULL);
    const u256 den = u256_sub(a, u256_mul(out, u256_from_u64(997), NULL), NULL);
    u256 q = u256_zero(), r = u256_zero();
    (void)u256_divmod(num, den, &q, &r);
    return u256_is_zero(r) ? q : u256_add(q, u256_from_u64(1), NULL);
}

/* (b + c*m) * (b + c*(m+1)) >= a*b, i.e. F(m) >= F(m+1) for the unrounded profit
 * F(x) = a x / (b + c x) - x. Needs c*(m+1) + b < 2^256 (m <= hi guarantees it). */
static int past_peak(u256 m, u256 a_lo, u256 a_hi, u256 b, u256 c)
{
    const u256 d0 = u256_add(b, u256_mul(c, m, NULL), NULL);
    const u256 d1 = u256_add(d0, c, NULL);
    u256 lo, hi;
    u256_mul_full(d0, d1, &lo, &hi);
    const int ch = u256_cmp(hi, a_hi);
    return ch > 0 || (ch == 0 && u256_cmp(lo, a_lo) >= 0);
}

int64_t aio_kernel_univ2_backrun(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)ctx;
    if (out == NULL || out_cap < 64)
        return AIO_KERR_OUTCAP;
    if (in == NULL || in_len != 160)
        return AIO_KERR_INPUT;
    const u256 p_in = u256_from_be(in), p_out = u256_from_be(in + 32);
    const u256 q_in = u256_from_be(in + 64), q_out = u256_from_be(in + 96);
    const u256 max_in = u256_from_be(in + 128);
    if (!reserve_ok(p_in) || !reserve_ok(p_out) || !reserve_ok(q_in) || !reserve_ok(q_out) || !amount_ok(max_in))
        return AIO_KERR_AMM_OVERFLOW;
    if (u256_is_zero(max_in))
        return AIO_KERR_AMM_INPUT;
    if (u256_is_zero(p_in) || u256_is_zero(p_out) || u256_is_zero(q_in) || u256_is_zero(q_out))
        return AIO_KERR_AMM_LIQUIDITY;
    memset(out, 0, 64);

    const u256 k997 = u256_from_u64(997), k1000 = u256_from_u64(1000), one = u256_from_u64(1);
    const u256 a1 = u256_mul(p_out, k997, NULL), b1 = u256_mul(p_in, k1000, NULL);  /* < 2^122 */
    const u256 a2 = u256_mul(q_out, k997, NULL), b2 = u256_mul(q_in, k1000, NULL);  /* < 2^122 */
    const u256 a = u256_mul(a1, a2, NULL);                                          /* < 2^244 */
    const u256 b = u256_mul(b1, b2, NULL);                                          /* < 2^244 */
    const u256 c = u256_mul(u256_add(b2, a1, NULL), k997, NULL);                     /* < 2^133 */

    /* 1. bound: profit > 0 needs x < (a - b) / c */
    if (u256_cmp(a, b) <= 0)
        return 64;
    u256 hi = u256_zero();
    (void)u256_divmod(u256_sub(a, b, NULL), c, &hi, NULL);
    if (u256_cmp(hi, max_in) > 0)
        hi = max_in;
    if (u256_is_zero(hi))
        return 64;

    /* 2. the least m in [1, hi] past the peak of the unrounded profit (hi if none) */
    u256 ab_lo, ab_hi;
    u256_mul_full(a, b, &ab_lo, &ab_hi);
    u256 lo = one;
    while (u256_cmp(lo, hi) < 0) {
        const u256 mid = u256_add(lo, u256_shr1(u256_sub(hi, lo, NULL)), NULL);
        if (past_peak(mid, ab_lo, ab_hi, b, c))
            hi = mid;
        else
            lo = u256_add(mid, one, NULL);
    }

    /* 3. snap down to the least input with the same floored output */
    u256 x = lo;
    const u256 z = mobius(mobius(x, a1, b1), a2, b2); /* < q_out */
    if (!u256_is_zero(z)) {
        const u256 y_min = mobius_inverse(z, a2, b2); /* <= y(x) < p_out */
        x = mobius_inverse(y_min, a1, b1);            /* <= x */
    }
    if (u256_cmp(z, x) > 0) {
        u256_to_be(x, out);
        u256_to_be(u256_sub(z, x, NULL), out + 32);
    }
    return 64;
}
