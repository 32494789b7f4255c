/* rlp_encode.h -- canonical RLP encoding of headers, byte strings and integers (static inline,
 * header only; the decoding side is rlp.h). Every function writes at p and returns the number
 * of bytes written; the caller provides the room said on each. */
#ifndef AIOULTRA_RLP_ENCODE_H
#define AIOULTRA_RLP_ENCODE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RLP_HEADER_MAX 9 /* one byte, then up to 8 of length */

/* The header of a string (base 0x80) or list (base 0xc0) of len payload bytes (room: 9). */
static inline size_t rlp_put_header(uint8_t *p, size_t len, unsigned base)
{
    if (len < 56) {
        p[0] = (uint8_t)(base + len);
        return 1;
    }
    size_t n = 0;
    for (size_t v = len; v > 0; v >>= 8)
        n++;
    p[0] = (uint8_t)(base + 55 + n);
    for (size_t i = 0; i < n; i++)
        p[n - i] = (uint8_t)(len >> (8 * i));
    return 1 + n;
}

/* A byte string: a single byte below 0x80 as itself, else header + bytes (room: len + 9). */
static inline size_t rlp_put_string(uint8_t *p, const uint8_t *data, size_t len)
{
    if (len == 1 && data[0] < 0x80) {
        p[0] = data[0];
        return 1;
    }
    const size_t hdr = rlp_put_header(p, len, 0x80);
    if (len > 0)
        memcpy(p + hdr, data, len);
    return hdr + len;
}

/* A big-endian integer of width bytes, minimal (leading zeros dropped; 0 is the empty
 * string) (room: width + 1 for width < 56). */
static inline size_t rlp_put_uint_be(uint8_t *p, const uint8_t *be, size_t width)
{
    size_t skip = 0;
    while (skip < width && be[skip] == 0)
        skip++;
    return rlp_put_string(p, be + skip, width - skip);
}

/* A 64-bit integer, minimal (room: 9). */
static inline size_t rlp_put_u64(uint8_t *p, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(v >> (8 * (7 - i)));
    return rlp_put_uint_be(p, be, 8);
}

#endif
