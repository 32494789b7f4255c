/* rlp.h -- strict decoding of one RLP item header (static inline, header only).
 *
 * Strict means canonical as Ethereum clients require: a single byte < 0x80 must be encoded as
 * itself (not as 0x81 xx), the long forms (0xb8.., 0xf8..) only for payloads of 56 bytes or more
 * and with no leading zero in the length, and every payload must lie within the enclosing
 * bound. Integer canonicality (no leading zero bytes) is up to the caller.
 */
#ifndef AIOULTRA_RLP_H
#define AIOULTRA_RLP_H
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

typedef struct rlp_item {
    size_t off; /* payload start (for a single byte < 0x80: the byte itself) */
    size_t len; /* payload length */
    size_t end; /* one past the item: off + len */
    int is_list;
} rlp_item;

/* Decode the item that starts at buf[pos], which must lie entirely within buf[pos .. end).
 * Returns 0, AIO_KERR_RLP_TRUNCATED (no header byte, length bytes or payload past end) or
 * AIO_KERR_RLP_NONCANONICAL. Reads only buf[pos .. end). */
static inline int rlp_decode(const uint8_t *buf, size_t pos, size_t end, rlp_item *it)
{
    if (pos >= end)
        return AIO_KERR_RLP_TRUNCATED;
    const uint8_t b = buf[pos];
    const size_t avail = end - pos - 1; /* bytes after the first one */
    size_t hdr, len;

    if (b < 0x80) {
        it->off = pos;
        it->len = 1;
        it->end = pos + 1;
        it->is_list = 0;
        return 0;
    }
    const int is_list = b >= 0xc0;
    const unsigned base = is_list ? 0xc0u : 0x80u;
    const unsigned short_len = (unsigned)b - base; /* 0..63 */
    if (short_len <= 55) {
        hdr = 1;
        len = short_len;
        if (len > avail)
            return AIO_KERR_RLP_TRUNCATED;
        if (!is_list && len == 1 && buf[pos + 1] < 0x80)
            return AIO_KERR_RLP_NONCANONICAL; /* single byte must encode as itself */
    } else {
        const size_t lenlen = short_len - 55; /* 1..8 */
        if (lenlen > avail)
            return AIO_KERR_RLP_TRUNCATED;
        if (buf[pos + 1] == 0)
            return AIO_KERR_RLP_NONCANONICAL; /* leading zero in the length */
        len = 0;
        for (size_t i = 0; i < lenlen; i++) {
            if (len > (SIZE_MAX >> 8))
                return AIO_KERR_RLP_TRUNCATED; /* longer than any buffer */
            len = (len << 8) | buf[pos + 1 + i];
        }
        if (len < 56)
            return AIO_KERR_RLP_NONCANONICAL; /* short form required */
        hdr = 1 + lenlen;
        if (len > avail - lenlen)
            return AIO_KERR_RLP_TRUNCATED;
    }
    it->off = pos + hdr;
    it->len = len;
    it->end = pos + hdr + len;
    it->is_list = is_list;
    return 0;
}

#endif
