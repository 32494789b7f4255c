/* rlp_tx.c -- the rlp_tx kernel: decode one raw Ethereum transaction (legacy, EIP-2930 or
 * EIP-1559; typed ones optionally wrapped in an RLP byte string) into a fixed 200-byte record
 * with its hash. Strict: any deviation from the canonical encoding is an error; every read is
 * bounded by in_len and the record is written only after the whole input validated.
 *
 * Decoding order (the first failing step gives the error code; the Python test reference in
 * tests/test_eth_kernels.py follows the same order):
 *   1. out_cap < 200 -> OUTCAP; in NULL with in_len > 0, or in_len >= 2^32 -> INPUT;
 *      in_len == 0 -> RLP_TRUNCATED.
 *   2. Envelope. First byte 0x80..0xbf: an RLP string wrapping a typed transaction; its header
 *      is decoded (TRUNCATED / NONCANONICAL), it must end at in_len (else RLP_TRAILING), and its
 *      content must be non-empty and start with a byte < 0x80 (else TX_TYPE). The payload is
 *      then that content, else the whole input. Payload first byte >= 0xc0: legacy (the list
 *      starts there); 0x01 / 0x02: typed (the list starts after it); anything else -> TX_TYPE.
 *   3. The list header is decoded, must end at the payload end (RLP_TRAILING) and be a list
 *      (TX_FIELD). Its items are split one by one (header errors as they come); one item more
 *      than the type has (9 / 11 / 12), or fewer, -> TX_FIELD.
 *   4. Fields are checked in order. Integer: not a list, at most 32 bytes (8 for nonce, gas and
 *      chainId; yParity must be 0 or 1) -> TX_FIELD; a leading zero byte -> RLP_NONCANONICAL.
 *      `to`: a string of 0 or 20 bytes. data: a string. accessList: a list of [address (20-byte
 *      string), [storageKey (32-byte string), ...]] entries, checked entry by entry: entry header;
 *      a non-empty list; address header; a 20-byte string followed by another item; keys
 *      header; a list ending the entry; each key header, a 32-byte string.
 *   5. Legacy chain id: (v - 35) / 2 when v >= 35 (must fit 64 bits, else TX_FIELD), else 0.
 */
#include "kernels.h"

#include <string.h>

#include "rlp.h"
#include "u256.h"

#define TX_MAX_FIELDS 12

enum field_kind {
    F_U64,      /* integer that must fit 64 bits (nonce, gas, chainId) */
    F_U256,     /* integer up to 256 bits */
    F_YPARITY,  /* integer 0 or 1 */
    F_TO,       /* empty string or 20 bytes */
    F_BYTES,    /* any string */
    F_ACCESS,   /* access list */
};

/* Field layouts and where each field goes in the record. */
enum field_slot { S_NONE, S_CHAIN, S_NONCE, S_GASPRICE, S_MAXPRIO, S_MAXFEE, S_GAS, S_TO, S_VALUE, S_DATA, S_V };

typedef struct field_spec {
    enum field_kind kind;
    enum field_slot slot;
} field_spec;

static const field_spec legacy_fields[9] = {
    {F_U64, S_NONCE}, {F_U256, S_GASPRICE}, {F_U64, S_GAS}, {F_TO, S_TO}, {F_U256, S_VALUE},
    {F_BYTES, S_DATA}, {F_U256, S_V}, {F_U256, S_NONE}, {F_U256, S_NONE},
};

static const field_spec eip2930_fields[11] = {
    {F_U64, S_CHAIN}, {F_U64, S_NONCE}, {F_U256, S_GASPRICE}, {F_U64, S_GAS}, {F_TO, S_TO},
    {F_U256, S_VALUE}, {F_BYTES, S_DATA}, {F_ACCESS, S_NONE}, {F_YPARITY, S_NONE},
    {F_U256, S_NONE}, {F_U256, S_NONE},
};

static const field_spec eip1559_fields[12] = {
    {F_U64, S_CHAIN}, {F_U64, S_NONCE}, {F_U256, S_MAXPRIO}, {F_U256, S_MAXFEE}, {F_U64, S_GAS},
    {F_TO, S_TO}, {F_U256, S_VALUE}, {F_BYTES, S_DATA}, {F_ACCESS, S_NONE}, {F_YPARITY, S_NONE},
    {F_U256, S_NONE}, {F_U256, S_NONE},
};

/* An integer field: a string of at most max_len bytes with no leading zero. */
static int check_int(const uint8_t *in, const rlp_item *it, size_t max_len)
{
    if (it->is_list || it->len > max_len)
        return AIO_KERR_TX_FIELD;
    if (it->len > 0 && in[it->off] == 0)
        return AIO_KERR_RLP_NONCANONICAL;
    return 0;
}

/* accessList = [[address, [storageKey, ...]], ...]: structure only. */
static int check_access_list(const uint8_t *in, const rlp_item *list)
{
    if (!list->is_list)
        return AIO_KERR_TX_FIELD;
    size_t pos = list->off;
    while (pos < list->end) {
        rlp_item entry, addr, keys, key;
        int rc = rlp_decode(in, pos, list->end, &entry);
        if (rc)
            return rc;
        if (!entry.is_list || entry.len == 0)
            return AIO_KERR_TX_FIELD;
        if ((rc = rlp_decode(in, entry.off, entry.end, &addr)) != 0)
            return rc;
        if (addr.is_list || addr.len != 20 || addr.end == entry.end)
            return AIO_KERR_TX_FIELD; /* not an address, or no storage keys item */
        if ((rc = rlp_decode(in, addr.end, entry.end, &keys)) != 0)
            return rc;
        if (!keys.is_list || keys.end != entry.end)
            return AIO_KERR_TX_FIELD; /* keys not a list, or more than two items */
        for (size_t kpos = keys.off; kpos < keys.end; kpos = key.end) {
            if ((rc = rlp_decode(in, kpos, keys.end, &key)) != 0)
                return rc;
            if (key.is_list || key.len != 32)
                return AIO_KERR_TX_FIELD;
        }
        pos = entry.end;
    }
    return 0;
}

static void put_u32_le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Big-endian integer payload (<= 8 bytes) as a uint64. */
static uint64_t be_u64(const uint8_t *in, const rlp_item *it)
{
    uint64_t v = 0;
    for (size_t i = 0; i < it->len; i++)
        v = (v << 8) | in[it->off + i];
    return v;
}

/* Big-endian integer payload (<= 32 bytes) right-aligned into a 32-byte field. */
static void put_u256_be(uint8_t *dst, const uint8_t *in, const rlp_item *it)
{
    memset(dst, 0, 32);
    if (it->len > 0)
        memcpy(dst + 32 - it->len, in + it->off, it->len);
}

int64_t aio_kernel_rlp_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)ctx;
    if (out == NULL || out_cap < AIO_TX_RECORD_SIZE)
        return AIO_KERR_OUTCAP;
    if ((in == NULL && in_len != 0) || in_len > UINT32_MAX)
        return AIO_KERR_INPUT;
    if (in_len == 0)
        return AIO_KERR_RLP_TRUNCATED;

    /* 2. envelope */
    size_t pstart = 0, pend = in_len;
    int rc;
    if (in[0] >= 0x80 && in[0] < 0xc0) {
        rlp_item wrap;
        if ((rc = rlp_decode(in, 0, in_len, &wrap)) != 0)
            return rc;
        if (wrap.end != in_len)
            return AIO_KERR_RLP_TRAILING;
        if (wrap.len == 0 || in[wrap.off] >= 0x80)
            return AIO_KERR_TX_TYPE;
        pstart = wrap.off;
        pend = wrap.end;
    }
    unsigned tx_type;
    size_t lstart;
    const field_spec *spec;
    size_t nfields;
    if (in[pstart] >= 0xc0) {
        tx_type = 0;
        lstart = pstart;
        spec = legacy_fields;
        nfields = 9;
    } else if (in[pstart] == 1 || in[pstart] == 2) {
        tx_type = in[pstart];
        lstart = pstart + 1;
        spec = tx_type == 1 ? eip2930_fields : eip1559_fields;
        nfields = tx_type == 1 ? 11 : 12;
    } else {
        return AIO_KERR_TX_TYPE;
    }

    /* 3. the field list */
    rlp_item list, f[TX_MAX_FIELDS];
    if ((rc = rlp_decode(in, lstart, pend, &list)) != 0)
        return rc;
    if (list.end != pend)
        return AIO_KERR_RLP_TRAILING;
    if (!list.is_list)
        return AIO_KERR_TX_FIELD;
    size_t n = 0, pos = list.off;
    while (pos < list.end) {
        if (n == nfields)
            return AIO_KERR_TX_FIELD;
        if ((rc = rlp_decode(in, pos, list.end, &f[n])) != 0)
            return rc;
        pos = f[n++].end;
    }
    if (n != nfields)
        return AIO_KERR_TX_FIELD;

    /* 4. fields */
    const rlp_item *slot[S_V + 1] = {0};
    for (size_t i = 0; i < nfields; i++) {
        const rlp_item *it = &f[i];
        switch (spec[i].kind) {
        case F_U64:
            rc = check_int(in, it, 8);
            break;
        case F_U256:
            rc = check_int(in, it, 32);
            break;
        case F_YPARITY:
            rc = check_int(in, it, 1);
            if (rc == 0 && it->len == 1 && in[it->off] > 1)
                rc = AIO_KERR_TX_FIELD;
            break;
        case F_TO:
            rc = (it->is_list || (it->len != 0 && it->len != 20)) ? AIO_KERR_TX_FIELD : 0;
            break;
        case F_BYTES:
            rc = it->is_list ? AIO_KERR_TX_FIELD : 0;
            break;
        case F_ACCESS:
            rc = check_access_list(in, it);
            break;
        default:
            rc = AIO_KERR_TX_FIELD;
            break;
        }
        if (rc)
            return rc;
        slot[spec[i].slot] = it;
    }

    /* 5. chain id */
    uint64_t chain_id = 0;
    if (tx_type == 0) {
        uint8_t vbe[32];
        put_u256_be(vbe, in, slot[S_V]);
        const u256 v = u256_from_be(vbe), k35 = u256_from_u64(35);
        if (u256_cmp(v, k35) >= 0) {
            const u256 cid = u256_shr1(u256_sub(v, k35, NULL));
            if (!u256_fits_bits(cid, 64))
                return AIO_KERR_TX_FIELD;
            chain_id = u256_low64(cid);
        }
    } else {
        chain_id = be_u64(in, slot[S_CHAIN]);
    }

    /* the record */
    memset(out, 0, AIO_TX_RECORD_SIZE);
    out[0] = (uint8_t)tx_type;
    out[1] = slot[S_TO]->len == 20;
    put_u64_le(out + 8, be_u64(in, slot[S_NONCE]));
    put_u64_le(out + 16, be_u64(in, slot[S_GAS]));
    put_u64_le(out + 24, chain_id);
    aio_keccak256(in + pstart, pend - pstart, out + 32);
    put_u256_be(out + 64, in, slot[S_VALUE]);
    if (tx_type == 2) {
        put_u256_be(out + 96, in, slot[S_MAXFEE]);
        put_u256_be(out + 128, in, slot[S_MAXPRIO]);
    } else {
        put_u256_be(out + 96, in, slot[S_GASPRICE]);
        put_u256_be(out + 128, in, slot[S_GASPRICE]);
    }
    if (slot[S_TO]->len == 20)
        memcpy(out + 160, in + slot[S_TO]->off, 20);
    put_u32_le(out + 180, (uint32_t)slot[S_DATA]->off);
    put_u32_le(out + 184, (uint32_t)slot[S_DATA]->len);
    put_u32_le(out + 188, (uint32_t)pstart);
    put_u32_le(out + 192, (uint32_t)(pend - pstart));
    return AIO_TX_RECORD_SIZE;
}
