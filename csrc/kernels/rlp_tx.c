/* rlp_tx.c -- the rlp_tx kernel: one raw Ethereum transaction (any type tx.h decodes) into a
 * fixed AIO_TX_RECORD_SIZE-byte record with its hash. The record is written only after the
 * whole input validated (tx_decode.c).
 *
 * Record (little-endian integers, uint256 big-endian; a span is a u32 offset into the input
 * and a u32 length, 0/0 for a field the type does not carry):
 *   [0] u8 tx_type  [1] u8 has_to  [2..8) zero  [8] u64 nonce  [16] u64 gas_limit  [24] u64 chain_id
 *   [32..64) hash  [64..96) value  [96..128) max_fee (gas price: types 0, 1)
 *   [128..160) max_priority_fee (gas price: types 0, 1)  [160..180) to
 *   [180] span of data's payload  [188] span of the payload (what hash is the keccak256 of)
 *   [196..200) zero  [200..232) max_fee_per_blob_gas (type 3; else zero)
 *   [232] span of the access list item (types 1-4; header included)
 *   [240] span of the blob versioned hashes item (type 3)  [248] span of the authorization list item (type 4)
 */
#include "kernels.h"

#include <string.h>

#include "le.h"
#include "tx.h"

static void put_span(uint8_t *p, size_t off, size_t len)
{
    le_put_u32(p, (uint32_t)off);
    le_put_u32(p + 4, (uint32_t)len);
}

/* The span of a whole field item, header included (it starts where the one before ends). */
static void put_item_span(uint8_t *p, const aio_tx *tx, const rlp_item *it)
{
    if (it == NULL)
        return; /* a field the type does not carry: 0/0 (the record is zeroed) */
    const size_t i = (size_t)(it - tx->f);
    const size_t start = i == 0 ? tx->list.off : tx->f[i - 1].end;
    put_span(p, start, it->end - start);
}

int64_t aio_kernel_rlp_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    (void)ctx;
    if (out == NULL || out_cap < AIO_TX_RECORD_SIZE)
        return AIO_KERR_OUTCAP;
    aio_tx tx;
    const int rc = aio_tx_decode(in, in_len, &tx);
    if (rc)
        return rc;

    memset(out, 0, AIO_TX_RECORD_SIZE);
    out[0] = (uint8_t)tx.type;
    out[1] = tx.slot[S_TO]->len == 20;
    le_put_u64(out + 8, aio_tx_u64(in, tx.slot[S_NONCE]));
    le_put_u64(out + 16, aio_tx_u64(in, tx.slot[S_GAS]));
    le_put_u64(out + 24, tx.chain_id);
    aio_keccak256(in + tx.pstart, tx.pend - tx.pstart, out + 32);
    aio_tx_u256(out + 64, in, tx.slot[S_VALUE]);
    if (tx.slot[S_MAXFEE] != NULL) {
        aio_tx_u256(out + 96, in, tx.slot[S_MAXFEE]);
        aio_tx_u256(out + 128, in, tx.slot[S_MAXPRIO]);
    } else {
        aio_tx_u256(out + 96, in, tx.slot[S_GASPRICE]);
        aio_tx_u256(out + 128, in, tx.slot[S_GASPRICE]);
    }
    if (tx.slot[S_TO]->len == 20)
        memcpy(out + 160, in + tx.slot[S_TO]->off, 20);
    put_span(out + 180, tx.slot[S_DATA]->off, tx.slot[S_DATA]->len);
    put_span(out + 188, tx.pstart, tx.pend - tx.pstart);
    if (tx.slot[S_BLOBFEE] != NULL)
        aio_tx_u256(out + 200, in, tx.slot[S_BLOBFEE]);
    put_item_span(out + 232, &tx, tx.slot[S_ACCESS]);
    put_item_span(out + 240, &tx, tx.slot[S_BLOBS]);
    put_item_span(out + 248, &tx, tx.slot[S_AUTH]);
    return AIO_TX_RECORD_SIZE;
}
