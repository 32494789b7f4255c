/* tx_decode.c -- strict decoding of one raw transaction into its fields; see tx.h for the
 * steps and their error codes. Every read is bounded by in_len. */
#include "tx.h"

#include <string.h>

#include "kernels.h"
#include "u256.h"

enum field_kind {
    F_U64,     /* integer that must fit 64 bits (nonce, gas, chainId) */
    F_U256,    /* integer up to 256 bits */
    F_YPARITY, /* integer 0 or 1 */
    F_TO,      /* empty string or 20 bytes */
    F_TO20,    /* 20 bytes (no contract creation) */
    F_BYTES,   /* any string */
    F_ACCESS,  /* access list */
    F_BLOBS,   /* blob versioned hashes */
    F_AUTH,    /* authorization list */
};

typedef struct field_spec {
    enum field_kind kind;
    enum tx_slot slot;
} field_spec;

static const field_spec legacy_fields[9] = {
    {F_U64, S_NONCE}, {F_U256, S_GASPRICE}, {F_U64, S_GAS}, {F_TO, S_TO}, {F_U256, S_VALUE},
    {F_BYTES, S_DATA}, {F_U256, S_V}, {F_U256, S_R}, {F_U256, S_S},
};

static const field_spec eip2930_fields[11] = {
    {F_U64, S_CHAIN}, {F_U64, S_NONCE}, {F_U256, S_GASPRICE}, {F_U64, S_GAS}, {F_TO, S_TO},
    {F_U256, S_VALUE}, {F_BYTES, S_DATA}, {F_ACCESS, S_ACCESS}, {F_YPARITY, S_V},
    {F_U256, S_R}, {F_U256, S_S},
};

static const field_spec eip1559_fields[12] = {
    {F_U64, S_CHAIN}, {F_U64, S_NONCE}, {F_U256, S_MAXPRIO}, {F_U256, S_MAXFEE}, {F_U64, S_GAS},
    {F_TO, S_TO}, {F_U256, S_VALUE}, {F_BYTES, S_DATA}, {F_ACCESS, S_ACCESS}, {F_YPARITY, S_V},
    {F_U256, S_R}, {F_U256, S_S},
};

static const field_spec eip4844_fields[14] = {
    {F_U64, S_CHAIN}, {F_U64, S_NONCE}, {F_U256, S_MAXPRIO}, {F_U256, S_MAXFEE}, {F_U64, S_GAS},
    {F_TO20, S_TO}, {F_U256, S_VALUE}, {F_BYTES, S_DATA}, {F_ACCESS, S_ACCESS},
    {F_U256, S_BLOBFEE}, {F_BLOBS, S_BLOBS}, {F_YPARITY, S_V}, {F_U256, S_R}, {F_U256, S_S},
};

static const field_spec eip7702_fields[13] = {
    {F_U64, S_CHAIN}, {F_U64, S_NONCE}, {F_U256, S_MAXPRIO}, {F_U256, S_MAXFEE}, {F_U64, S_GAS},
    {F_TO20, S_TO}, {F_U256, S_VALUE}, {F_BYTES, S_DATA}, {F_ACCESS, S_ACCESS}, {F_AUTH, S_AUTH},
    {F_YPARITY, S_V}, {F_U256, S_R}, {F_U256, S_S},
};

static const struct {
    const field_spec *fields;
    size_t n;
} tx_types[5] = {
    {legacy_fields, 9}, {eip2930_fields, 11}, {eip1559_fields, 12}, {eip4844_fields, 14}, {eip7702_fields, 13},
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

int aio_tx_check_access_list(const uint8_t *in, const rlp_item *list)
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

/* blobVersionedHashes = [hash32, ...], at least one. */
static int check_blob_hashes(const uint8_t *in, const rlp_item *list)
{
    if (!list->is_list || list->len == 0)
        return AIO_KERR_TX_FIELD;
    rlp_item h;
    for (size_t pos = list->off; pos < list->end; pos = h.end) {
        int rc = rlp_decode(in, pos, list->end, &h);
        if (rc)
            return rc;
        if (h.is_list || h.len != 32)
            return AIO_KERR_TX_FIELD;
    }
    return 0;
}

/* authorizationList = [[chainId, address, nonce, yParity, r, s], ...], at least one. */
static int check_authorizations(const uint8_t *in, const rlp_item *list)
{
    static const size_t max_len[6] = {32, 20, 8, 1, 32, 32};
    if (!list->is_list || list->len == 0)
        return AIO_KERR_TX_FIELD;
    rlp_item entry;
    for (size_t pos = list->off; pos < list->end; pos = entry.end) {
        int rc = rlp_decode(in, pos, list->end, &entry);
        if (rc)
            return rc;
        if (!entry.is_list)
            return AIO_KERR_TX_FIELD;
        size_t n = 0;
        rlp_item it;
        for (size_t ipos = entry.off; ipos < entry.end; ipos = it.end, n++) {
            if (n == 6)
                return AIO_KERR_TX_FIELD;
            if ((rc = rlp_decode(in, ipos, entry.end, &it)) != 0)
                return rc;
            if (n == 1)
                rc = (it.is_list || it.len != 20) ? AIO_KERR_TX_FIELD : 0;
            else
                rc = check_int(in, &it, max_len[n]);
            if (rc)
                return rc;
        }
        if (n != 6)
            return AIO_KERR_TX_FIELD;
    }
    return 0;
}

static int check_field(const uint8_t *in, const rlp_item *it, enum field_kind kind)
{
    switch (kind) {
    case F_U64:
        return check_int(in, it, 8);
    case F_U256:
        return check_int(in, it, 32);
    case F_YPARITY: {
        int rc = check_int(in, it, 1);
        return (rc == 0 && it->len == 1 && in[it->off] > 1) ? AIO_KERR_TX_FIELD : rc;
    }
    case F_TO:
        return (it->is_list || (it->len != 0 && it->len != 20)) ? AIO_KERR_TX_FIELD : 0;
    case F_TO20:
        return (it->is_list || it->len != 20) ? AIO_KERR_TX_FIELD : 0;
    case F_BYTES:
        return it->is_list ? AIO_KERR_TX_FIELD : 0;
    case F_ACCESS:
        return aio_tx_check_access_list(in, it);
    case F_BLOBS:
        return check_blob_hashes(in, it);
    case F_AUTH:
        return check_authorizations(in, it);
    }
    return AIO_KERR_TX_FIELD;
}

uint64_t aio_tx_u64(const uint8_t *in, const rlp_item *it)
{
    uint64_t v = 0;
    for (size_t i = 0; i < it->len; i++)
        v = (v << 8) | in[it->off + i];
    return v;
}

void aio_tx_u256(uint8_t dst[32], const uint8_t *in, const rlp_item *it)
{
    memset(dst, 0, 32);
    if (it->len > 0)
        memcpy(dst + 32 - it->len, in + it->off, it->len);
}

int aio_tx_decode(const uint8_t *in, size_t in_len, aio_tx *tx)
{
    if ((in == NULL && in_len != 0) || in_len > UINT32_MAX)
        return AIO_KERR_INPUT;
    if (in_len == 0)
        return AIO_KERR_RLP_TRUNCATED;
    memset(tx, 0, sizeof *tx);

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
    size_t lstart;
    if (in[pstart] >= 0xc0) {
        tx->type = 0;
        lstart = pstart;
    } else if (in[pstart] >= 1 && in[pstart] <= 4) {
        tx->type = in[pstart];
        lstart = pstart + 1;
    } else {
        return AIO_KERR_TX_TYPE;
    }
    const field_spec *spec = tx_types[tx->type].fields;
    const size_t nfields = tx_types[tx->type].n;
    tx->pstart = pstart;
    tx->pend = pend;

    /* 3. the field list */
    if ((rc = rlp_decode(in, lstart, pend, &tx->list)) != 0)
        return rc;
    if (tx->list.end != pend)
        return AIO_KERR_RLP_TRAILING;
    if (!tx->list.is_list)
        return AIO_KERR_TX_FIELD;
    size_t n = 0, pos = tx->list.off;
    while (pos < tx->list.end) {
        if (n == nfields)
            return AIO_KERR_TX_FIELD;
        if ((rc = rlp_decode(in, pos, tx->list.end, &tx->f[n])) != 0)
            return rc;
        pos = tx->f[n++].end;
    }
    if (n != nfields)
        return AIO_KERR_TX_FIELD;
    tx->nfields = nfields;

    /* 4. fields */
    for (size_t i = 0; i < nfields; i++) {
        if ((rc = check_field(in, &tx->f[i], spec[i].kind)) != 0)
            return rc;
        tx->slot[spec[i].slot] = &tx->f[i];
    }

    /* 5. chain id */
    if (tx->type == 0) {
        uint8_t vbe[32];
        aio_tx_u256(vbe, in, tx->slot[S_V]);
        const u256 v = u256_from_be(vbe), k35 = u256_from_u64(35);
        if (u256_cmp(v, k35) >= 0) {
            const u256 cid = u256_shr1(u256_sub(v, k35, NULL));
            if (!u256_fits_bits(cid, 64))
                return AIO_KERR_TX_FIELD;
            tx->chain_id = u256_low64(cid);
        }
    } else {
        tx->chain_id = aio_tx_u64(in, tx->slot[S_CHAIN]);
    }
    return 0;
}
