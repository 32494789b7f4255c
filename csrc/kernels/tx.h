/* tx.h -- strict decoding of one raw Ethereum transaction into its RLP fields (tx_decode.c),
 * shared by the rlp_tx kernel (a record of the fields) and the sender kernels (signing hash
 * and signature).
 *
 * Types: legacy (an RLP list), 0x01 EIP-2930, 0x02 EIP-1559, 0x03 EIP-4844 (blob; the canonical
 * form without blobs: a network wrapper [tx, blobs, commitments, proofs] is TX_FIELD) and 0x04
 * EIP-7702 (set code); a typed one may be wrapped in an RLP byte string. The decoding order
 * (the first failing step gives the error code; the Python twin in tests/test_eth_kernels.py
 * follows it):
 *   1. in NULL with in_len > 0, or in_len >= 2^32 -> INPUT; in_len == 0 -> RLP_TRUNCATED.
 *   2. Envelope. First byte 0x80..0xbf: an RLP string wrapping a typed transaction; its header
 *      is decoded (TRUNCATED / NONCANONICAL), it must end at in_len (else RLP_TRAILING), and its
 *      content must be non-empty and start with a byte < 0x80 (else TX_TYPE). The payload is
 *      then that content, else the whole input. Payload first byte >= 0xc0: legacy (the list
 *      starts there); 0x01..0x04: typed (the list starts after it); anything else -> TX_TYPE.
 *   3. The list header is decoded, must end at the payload end (RLP_TRAILING) and be a list
 *      (TX_FIELD). Its items are split one by one (header errors as they come); one item more
 *      than the type has (9 / 11 / 12 / 14 / 13), or fewer, -> TX_FIELD.
 *   4. Fields are checked in order. Integer: not a list, at most 32 bytes (8 for nonce, gas and
 *      chainId; yParity must be 0 or 1) -> TX_FIELD; a leading zero byte -> RLP_NONCANONICAL.
 *      `to`: a string of 0 or 20 bytes (exactly 20 for types 3 and 4). data: a string.
 *      accessList: a list of [address (20-byte string), [storageKey (32-byte string), ...]]
 *      entries, checked entry by entry: entry header; a non-empty list; address header; a
 *      20-byte string followed by another item; keys header; a list ending the entry; each key
 *      header, a 32-byte string. blobVersionedHashes: a non-empty list of 32-byte strings.
 *      authorizationList: a non-empty list of [chainId, address, nonce, yParity, r, s] tuples,
 *      each a list of exactly those 6 items: integers as above (nonce 8 bytes, yParity 1 byte,
 *      the others 32), the address a 20-byte string.
 *   5. Legacy chain id: (v - 35) / 2 when v >= 35 (must fit 64 bits, else TX_FIELD), else 0.
 */
#ifndef AIOULTRA_TX_H
#define AIOULTRA_TX_H
#include <stddef.h>
#include <stdint.h>

#include "rlp.h"

#define TX_MAX_FIELDS 14

/* Where each field of a type is found (aio_tx.slot); S_NONE for none. */
enum tx_slot {
    S_NONE, S_CHAIN, S_NONCE, S_GASPRICE, S_MAXPRIO, S_MAXFEE, S_GAS, S_TO, S_VALUE, S_DATA,
    S_ACCESS, S_BLOBFEE, S_BLOBS, S_AUTH, S_V, S_R, S_S,
    S_COUNT
};

typedef struct aio_tx {
    unsigned type;          /* 0 legacy, 1..4 */
    size_t pstart, pend;    /* the payload (type byte + list, or the legacy list): the hash's input */
    rlp_item list;          /* the field list */
    rlp_item f[TX_MAX_FIELDS];
    size_t nfields;
    const rlp_item *slot[S_COUNT]; /* each field the type carries, else NULL */
    uint64_t chain_id;      /* legacy: from v (0 before EIP-155) */
} aio_tx;

/* Decode in (steps 1-5 above) into tx. Returns 0 or a negative AIO_KERR_* code. */
int aio_tx_decode(const uint8_t *in, size_t in_len, aio_tx *tx);

/* An access list item (step 4's rules): 0 or a negative AIO_KERR_* code. */
int aio_tx_check_access_list(const uint8_t *in, const rlp_item *list);

/* A big-endian integer field's value (at most 8 bytes long: checked by aio_tx_decode). */
uint64_t aio_tx_u64(const uint8_t *in, const rlp_item *it);
/* A big-endian integer field (<= 32 bytes) right-aligned into a 32-byte big-endian word. */
void aio_tx_u256(uint8_t dst[32], const uint8_t *in, const rlp_item *it);

#endif
