/* sign_tx.c -- the sign_tx kernel: transaction fields -> a signed EIP-1559 (type 2) raw
 * transaction, with the private key of an aio_signer (its ctx).
 *
 * Input (AIO_SIGN_TX_HEADER bytes, then data, then the access list):
 *   [0] u64 chain_id  [8] u64 nonce  [16] u64 gas_limit (little-endian)
 *   [24..56) max_priority_fee  [56..88) max_fee  [88..120) value (uint256 big-endian)
 *   [120] u8 has_to (0 or 1)  [121..141) to  [141..144) zero  [144] u32 data_len (little-endian)
 *   [148 .. 148 + data_len) data; the rest: the access list as one RLP list (empty: no entries)
 * Checks, in order: in_len < 148, has_to not 0/1, a non-zero pad byte, data_len past the end
 * -> INPUT; a malformed access list -> its RLP / TX_FIELD code; the output does not fit ->
 * OUTCAP.
 * Output: [0..32) the transaction hash, then the raw transaction 0x02 || rlp([chainId, nonce,
 * maxPriorityFee, maxFee, gas, to, value, data, accessList, yParity, r, s]). The signature is
 * libsecp256k1's (RFC 6979 nonce, low s): the same bytes as any RFC 6979 signer.
 */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "rlp_encode.h"
#include "secp256k1.h"
#include "tx.h"

#define SIG_MAX 67 /* yParity (1) + r and s (33 each at most) */

struct aio_signer {
    aio_secp256k1 secp;   /* a copy: the signer outlives nothing it points to but the library */
    uint8_t seckey[32];
};

aio_signer *aio_signer_new(const aio_secp256k1 *secp, const uint8_t seckey[32], uint8_t address[20])
{
    if (secp == NULL || seckey == NULL || address == NULL)
        return NULL;
    aio_signer *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->secp = *secp;
    memcpy(s->seckey, seckey, 32);
    if (aio_secp_key_address(&s->secp, s->seckey, address) != 0) {
        aio_signer_free(s);
        return NULL;
    }
    return s;
}

void aio_signer_free(aio_signer *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s->seckey, sizeof s->seckey);
    free(s);
}

int64_t aio_kernel_sign_tx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)
{
    const aio_signer *signer = ctx;
    if (out == NULL)
        return AIO_KERR_OUTCAP;
    if (signer == NULL)
        return AIO_KERR_NO_SECP;
    if (in == NULL || in_len < AIO_SIGN_TX_HEADER || in[120] > 1 || in[141] || in[142] || in[143])
        return AIO_KERR_INPUT;
    const size_t data_len = le_get_u32(in + 144);
    if (data_len > in_len - AIO_SIGN_TX_HEADER)
        return AIO_KERR_INPUT;
    const uint8_t *data = in + AIO_SIGN_TX_HEADER;
    const size_t al_off = AIO_SIGN_TX_HEADER + data_len;
    static const uint8_t empty_list = 0xc0;
    const uint8_t *al = in + al_off;
    size_t al_len = in_len - al_off;
    if (al_len == 0) {
        al = &empty_list;
        al_len = 1;
    } else {
        rlp_item list;
        int rc = rlp_decode(in, al_off, in_len, &list);
        if (rc)
            return rc;
        if (list.end != in_len)
            return AIO_KERR_RLP_TRAILING;
        if ((rc = aio_tx_check_access_list(in, &list)) != 0)
            return rc;
    }
    /* The body (the signed fields) is written after room for the type byte and the largest
     * header, then moved into place once the signature's length is known. */
    const size_t fixed = 9 * 3 + 33 * 3 + 21; /* three u64, three u256, to */
    if (out_cap < 32 + 1 + RLP_HEADER_MAX + fixed + data_len + 9 + al_len + SIG_MAX)
        return AIO_KERR_OUTCAP;
    uint8_t *body = out + 32 + 1 + RLP_HEADER_MAX, *p = body;
    p += rlp_put_u64(p, le_get_u64(in));
    p += rlp_put_u64(p, le_get_u64(in + 8));
    p += rlp_put_uint_be(p, in + 24, 32);
    p += rlp_put_uint_be(p, in + 56, 32);
    p += rlp_put_u64(p, le_get_u64(in + 16));
    p += rlp_put_string(p, in + 121, in[120] ? 20 : 0);
    p += rlp_put_uint_be(p, in + 88, 32);
    p += rlp_put_string(p, data, data_len);
    memcpy(p, al, al_len);
    p += al_len;
    const size_t body_len = (size_t)(p - body);

    uint8_t hdr[RLP_HEADER_MAX], msg[32], rs[64];
    const uint8_t type = 2;
    aio_keccak k;
    aio_keccak_init(&k);
    aio_keccak_update(&k, &type, 1);
    aio_keccak_update(&k, hdr, rlp_put_header(hdr, body_len, 0xc0));
    aio_keccak_update(&k, body, body_len);
    aio_keccak_final(&k, msg);
    aio_secp_recsig sig;
    int recid = 0;
    const aio_secp256k1 *secp = &signer->secp;
    if (!secp->sign_recoverable(secp->ctx, &sig, msg, signer->seckey, NULL, NULL) ||
        !secp->recsig_serialize_compact(secp->ctx, rs, &recid, &sig) || recid < 0 || recid > 1)
        return AIO_KERR_SIG_KEY;
    const uint8_t parity = (uint8_t)recid;
    p += rlp_put_uint_be(p, &parity, 1);
    p += rlp_put_uint_be(p, rs, 32);
    p += rlp_put_uint_be(p, rs + 32, 32);
    const size_t signed_len = (size_t)(p - body);

    uint8_t *raw = out + 32;
    raw[0] = type;
    const size_t hdr_len = rlp_put_header(raw + 1, signed_len, 0xc0);
    memmove(raw + 1 + hdr_len, body, signed_len);
    const size_t raw_len = 1 + hdr_len + signed_len;
    aio_keccak256(raw, raw_len, out);
    return (int64_t)(32 + raw_len);
}
