/* u256.h -- unsigned 256-bit integers for the Ethereum kernels (static inline, header only).
 *
 * A u256 is four 64-bit limbs, least significant first. Products and the quotient estimates of
 * the division use unsigned __int128 (gcc and clang on 64-bit targets); everything is unsigned,
 * so wrap-around is defined, and every shift count is in 1..63.
 *
 *   u256_from_be / u256_to_be   32-byte big-endian <-> u256
 *   u256_from_u64, u256_low64, u256_is_zero, u256_cmp, u256_bits, u256_fits_bits
 *   u256_add / u256_sub         modulo 2^256, reporting carry / borrow
 *   u256_mul                    modulo 2^256, reporting whether the full product overflowed
 *   u256_mul_full               the 512-bit product as two halves
 *   u256_shr1                   a >> 1
 *   u256_divmod                 quotient and remainder (Knuth's algorithm D, base 2^64)
 */
#ifndef AIOULTRA_U256_H
#define AIOULTRA_U256_H
#include <stdint.h>

#ifndef __SIZEOF_INT128__
#error "u256.h needs unsigned __int128 (gcc or clang on a 64-bit target)"
#endif
__extension__ typedef unsigned __int128 u256_u128;

#define U256_LIMBS 4

typedef struct u256 {
    uint64_t w[U256_LIMBS]; /* w[0] is the least significant limb */
} u256;

static inline u256 u256_zero(void)
{
    u256 r = {{0, 0, 0, 0}};
    return r;
}

static inline u256 u256_from_u64(uint64_t v)
{
    u256 r = {{v, 0, 0, 0}};
    return r;
}

/* The low 64 bits of a. */
static inline uint64_t u256_low64(u256 a)
{
    return a.w[0];
}

static inline u256 u256_from_be(const uint8_t b[32])
{
    u256 r;
    for (int i = 0; i < U256_LIMBS; i++) {
        const uint8_t *p = b + 32 - 8 * (i + 1);
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | p[j];
        r.w[i] = v;
    }
    return r;
}

static inline void u256_to_be(u256 a, uint8_t b[32])
{
    for (int i = 0; i < U256_LIMBS; i++) {
        uint8_t *p = b + 32 - 8 * (i + 1);
        for (int j = 0; j < 8; j++)
            p[j] = (uint8_t)(a.w[i] >> (56 - 8 * j));
    }
}

static inline int u256_is_zero(u256 a)
{
    return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) == 0;
}

/* -1, 0 or 1 as a <, == or > b. */
static inline int u256_cmp(u256 a, u256 b)
{
    for (int i = U256_LIMBS - 1; i >= 0; i--) {
        if (a.w[i] != b.w[i])
            return a.w[i] < b.w[i] ? -1 : 1;
    }
    return 0;
}

/* Number of significant limbs (0 for zero). */
static inline int u256_nlimbs(u256 a)
{
    int n = U256_LIMBS;
    while (n > 0 && a.w[n - 1] == 0)
        n--;
    return n;
}

/* Leading zero bits of a non-zero limb (0..63). */
static inline unsigned u256_clz64(uint64_t v)
{
    unsigned n = 0;
    while ((v & UINT64_C(0x8000000000000000)) == 0) {
        v <<= 1;
        n++;
    }
    return n;
}

/* Bit length: 0 for zero, else floor(log2(a)) + 1. */
static inline unsigned u256_bits(u256 a)
{
    const int n = u256_nlimbs(a);
    if (n == 0)
        return 0;
    return 64u * (unsigned)n - u256_clz64(a.w[n - 1]);
}

/* 1 when a < 2^bits. */
static inline int u256_fits_bits(u256 a, unsigned bits)
{
    return u256_bits(a) <= bits;
}

/* a + b mod 2^256; *carry (if not NULL) = 1 when the sum overflowed. */
static inline u256 u256_add(u256 a, u256 b, int *carry)
{
    u256 r;
    uint64_t c = 0;
    for (int i = 0; i < U256_LIMBS; i++) {
        const uint64_t s = a.w[i] + c;
        c = s < c;
        r.w[i] = s + b.w[i];
        c += r.w[i] < s;
    }
    if (carry)
        *carry = (int)c;
    return r;
}

/* a - b mod 2^256; *borrow (if not NULL) = 1 when b > a. */
static inline u256 u256_sub(u256 a, u256 b, int *borrow)
{
    u256 r;
    uint64_t br = 0;
    for (int i = 0; i < U256_LIMBS; i++) {
        const uint64_t d = a.w[i] - b.w[i];
        const uint64_t b1 = a.w[i] < b.w[i];
        r.w[i] = d - br;
        br = b1 | (d < br);
    }
    if (borrow)
        *borrow = (int)br;
    return r;
}

/* The full 512-bit product a * b = *hi * 2^256 + *lo. */
static inline void u256_mul_full(u256 a, u256 b, u256 *lo, u256 *hi)
{
    uint64_t t[2 * U256_LIMBS] = {0};
    const int na = u256_nlimbs(a), nb = u256_nlimbs(b);
    for (int i = 0; i < na; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < nb; j++) {
            /* <= (2^64-1)^2 + 2*(2^64-1) = 2^128 - 1: no overflow */
            const u256_u128 cur = (u256_u128)a.w[i] * b.w[j] + t[i + j] + carry;
            t[i + j] = (uint64_t)cur;
            carry = (uint64_t)(cur >> 64);
        }
        t[i + nb] = carry;
    }
    for (int i = 0; i < U256_LIMBS; i++) {
        lo->w[i] = t[i];
        hi->w[i] = t[i + U256_LIMBS];
    }
}

/* a * b mod 2^256; *overflow (if not NULL) = 1 when the full product is >= 2^256. */
static inline u256 u256_mul(u256 a, u256 b, int *overflow)
{
    u256 lo, hi;
    u256_mul_full(a, b, &lo, &hi);
    if (overflow)
        *overflow = !u256_is_zero(hi);
    return lo;
}

/* a >> 1 */
static inline u256 u256_shr1(u256 a)
{
    u256 r;
    for (int i = 0; i < U256_LIMBS; i++) {
        const uint64_t next = i + 1 < U256_LIMBS ? a.w[i + 1] : 0;
        r.w[i] = (a.w[i] >> 1) | (next << 63);
    }
    return r;
}

/* q = a / b, r = a % b (either pointer may be NULL). Returns 0, or -1 (q, r untouched) when
 * b == 0. Knuth, TAOCP vol. 2, 4.3.1 algorithm D with 64-bit digits, following Hacker's Delight
 * divmnu64 but with every intermediate unsigned. */
static inline int u256_divmod(u256 a, u256 b, u256 *q, u256 *r)
{
    const int n = u256_nlimbs(b);
    const int m = u256_nlimbs(a);
    u256 quot = u256_zero(), rem = u256_zero();
    const u256_u128 base = (u256_u128)1 << 64;

    if (n == 0)
        return -1;
    if (m < n) {
        rem = a;
    } else if (n == 1) {
        /* short division by one limb */
        const uint64_t v = b.w[0];
        uint64_t k = 0;
        for (int j = m - 1; j >= 0; j--) {
            const u256_u128 cur = ((u256_u128)k << 64) | a.w[j]; /* k < v */
            quot.w[j] = (uint64_t)(cur / v);
            k = (uint64_t)(cur % v);
        }
        rem.w[0] = k;
    } else {
        /* D1: normalise so the divisor's top limb has its high bit set. */
        const unsigned s = u256_clz64(b.w[n - 1]);
        uint64_t vn[U256_LIMBS], un[U256_LIMBS + 1];
        for (int i = n - 1; i > 0; i--)
            vn[i] = (b.w[i] << s) | (s ? b.w[i - 1] >> (64 - s) : 0);
        vn[0] = b.w[0] << s;
        un[m] = s ? a.w[m - 1] >> (64 - s) : 0;
        for (int i = m - 1; i > 0; i--)
            un[i] = (a.w[i] << s) | (s ? a.w[i - 1] >> (64 - s) : 0);
        un[0] = a.w[0] << s;

        for (int j = m - n; j >= 0; j--) {
            /* D3: estimate the quotient limb from the top two limbs (qhat < 2^65). */
            const u256_u128 num = ((u256_u128)un[j + n] << 64) | un[j + n - 1];
            u256_u128 qhat = num / vn[n - 1];
            u256_u128 rhat = num % vn[n - 1];
            /* qhat >= 2^64 short-circuits, so the product is only formed when it fits. */
            while (qhat >= base || qhat * vn[n - 2] > ((rhat << 64) | un[j + n - 2])) {
                qhat--;
                rhat += vn[n - 1];
                if (rhat >= base)
                    break;
            }
            /* D4: multiply and subtract qhat * vn from un[j .. j+n]. */
            uint64_t borrow = 0;
            for (int i = 0; i < n; i++) {
                const u256_u128 p = qhat * vn[i] + borrow; /* <= 2^128 - 2^64: fits */
                const uint64_t plo = (uint64_t)p;
                const uint64_t phi = (uint64_t)(p >> 64); /* <= 2^64 - 2 */
                borrow = phi + (un[i + j] < plo ? 1u : 0u);
                un[i + j] -= plo;
            }
            const uint64_t top = un[j + n];
            un[j + n] = top - borrow;
            if (top < borrow) {
                /* D6: qhat was one too large (rare): add the divisor back. */
                qhat--;
                uint64_t c = 0;
                for (int i = 0; i < n; i++) {
                    const u256_u128 t = (u256_u128)un[i + j] + vn[i] + c;
                    un[i + j] = (uint64_t)t;
                    c = (uint64_t)(t >> 64);
                }
                un[j + n] += c;
            }
            quot.w[j] = (uint64_t)qhat;
        }
        /* D8: unnormalise the remainder. */
        for (int i = 0; i < n; i++)
            rem.w[i] = (un[i] >> s) | (s ? un[i + 1] << (64 - s) : 0);
    }
    if (q)
        *q = quot;
    if (r)
        *r = rem;
    return 0;
}

#endif
