/* sender.c -- the ecrecover and tx_sender kernels: who signed a hash, who sent a transaction.
 * Both take an aio_secp256k1 (secp256k1.h) as their ctx.
 *
 * tx_sender, in order: the transaction is decoded (tx.h; its codes); the recovery id comes
 * from yParity (typed) or v (legacy: 27/28, or 35 + 2 * chainId + {0, 1} after EIP-155; a v
 * below 35 but 27 and 28 -> SIG_V); r and s are checked (SIG_RANGE, then SIG_HIGH_S: every transaction type
 * requires s <= n / 2, EIP-2); the signing hash is keccak256 of what was signed:
 *   legacy before EIP-155  rlp([nonce, gasPrice, gas, to, value, data])
 *   legacy with EIP-155    rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])
 *   typed                  type || rlp([every field but yParity, r, s])
 * and the sender is recovered from it (SIG_RECOVER when no key does). The fields are hashed
 * straight from the input (they are contiguous there): only a new list header is written.
 *
 * Record (AIO_TX_SENDER_SIZE bytes): [0..32) hash, [32..64) signing hash, [64] u64 chain_id
 * (little-endian), [72..92) sender, [92] u8 tx_type, [93..96) zero.
 */
#include "kernels.h"

#include <string.h>

#include "le.h"
#include "rlp_encode.h"
#include "secp256k1.h"
#include "tx.h"

/* The recovery id of a decoded transaction (0 or 1), or AIO_KERR_SIG_V; *eip155: a legacy
 * one signed with its chain id (v >= 35; the id may be 0 then, for v = 35 or 36). */
static int recovery_id(const uint8_t *in, const aio_tx *tx, int *eip155)
{
    const rlp_item *v = tx->slot[S_V];
    *eip155 = 0;
    if (tx->type != 0)
        return v->len == 0 ? 0 : in[v->off]; /* yParity, 0 or 1 (checked by the decoder) */
    if (v->len == 1 && (in[v->off] == 27 || in[v->off] == 28))
        return in[v->off] - 27;
    if (v->len == 0 || (v->len == 1 && in[v->off] < 35))
        return AIO_KERR_SIG_V;
    *eip155 = 1;
    return (in[v->off + v->len - 1] & 1) ? 0 : 1; /* v = 35 + 2 * chainId + id: odd v is id 0 */
}

/* keccak256 of what the sender signed (see the top of this file). */
static void signing_hash(const uint8_t *in, const aio_tx *tx, int eip155, uint8_t out[32])
{
    const size_t last = tx->type == 0 ? 5 : tx->nfields - 4; /* the last signed field */
    const size_t span = tx->f[last].end - tx->list.off;
    uint8_t hdr[RLP_HEADER_MAX], chain[9];
    const size_t chain_len = eip155 ? rlp_put_u64(chain, tx->chain_id) : 0;
    const size_t hdr_len = rlp_put_header(hdr, span + (eip155 ? chain_len + 2 : 0), 0xc0);
    aio_keccak k;
    aio_keccak_init(&k);
    if (tx->type != 0) {
        const uint8_t type = (uint8_t)tx->type;
        aio_keccak_update(&k, &type, 1);
    }
    aio_keccak_update(&k, hdr, hdr_len);
    aio_keccak_update(&k, in + tx->list.off, span);
    if (eip155) {
        static const uint8_t two_zeros[2] = {0x80, 0x80};
        aio_keccak_update(&k, chain, chain_len);
        aio_keccak_update(&k, two_zeros, 2);
    }
    aio_keccak_final(&k, out);
}

int64_t aio_kernel_tx_sender(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    const aio_secp256k1 *secp = ctx;
    if (out == NULL || out_cap < AIO_TX_SENDER_SIZE)
        return AIO_KERR_OUTCAP;
    if (secp == NULL)
        return AIO_KERR_NO_SECP;
    aio_tx tx;
    int rc = aio_tx_decode(in, in_len, &tx);
    if (rc)
        return rc;
    int eip155;
    const int recid = recovery_id(in, &tx, &eip155);
    if (recid < 0)
        return recid;
    uint8_t r[32], s[32], msg[32], sender[20];
    aio_tx_u256(r, in, tx.slot[S_R]);
    aio_tx_u256(s, in, tx.slot[S_S]);
    if ((rc = aio_secp_check_rs(r, s, 1)) != 0)
        return rc;
    signing_hash(in, &tx, eip155, msg);
    if ((rc = aio_secp_recover_address(secp, msg, r, s, recid, sender)) != 0)
        return rc;
    memset(out, 0, AIO_TX_SENDER_SIZE);
    aio_keccak256(in + tx.pstart, tx.pend - tx.pstart, out);
    memcpy(out + 32, msg, 32);
    le_put_u64(out + 64, tx.chain_id);
    memcpy(out + 72, sender, 20);
    out[92] = (uint8_t)tx.type;
    return AIO_TX_SENDER_SIZE;
}

int64_t aio_kernel_ecrecover(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    const aio_secp256k1 *secp = ctx;
    if (out == NULL || out_cap < 20)
        return AIO_KERR_OUTCAP;
    if (secp == NULL)
        return AIO_KERR_NO_SECP;
    if (in == NULL || in_len != 97)
        return AIO_KERR_INPUT;
    const uint8_t v = in[96];
    if (v != 0 && v != 1 && v != 27 && v != 28)
        return AIO_KERR_SIG_V;
    int rc = aio_secp_check_rs(in + 32, in + 64, 0);
    if (rc)
        return rc;
    if ((rc = aio_secp_recover_address(secp, in, in + 32, in + 64, v >= 27 ? v - 27 : v, out)) != 0)
        return rc;
    return 20;
}
