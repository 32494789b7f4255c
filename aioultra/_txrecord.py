"""TxRecord: one transaction as the rlp_tx kernel decoded it (csrc/kernels/rlp_tx.c)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import _ffi

BytesLike = bytes | bytearray | memoryview

TX_RECORD_SIZE = _ffi.TX_RECORD_SIZE
"""Bytes of one :data:`aioultra.kernels.rlp_tx` output record (AIO_TX_RECORD_SIZE)."""

# Little-endian record layout written by csrc/kernels/rlp_tx.c (uint256 big-endian; a span is a
# u32 offset into the raw input and a u32 length, 0/0 when the type has no such field):
#   [0] u8 tx_type  [1] u8 has_to  [2..8) zero  [8] u64 nonce  [16] u64 gas_limit  [24] u64 chain_id
#   [32..64) hash  [64..96) value  [96..128) max_fee  [128..160) max_priority_fee  [160..180) to
#   [180] data span  [188] payload span  [196..200) zero  [200..232) max_fee_per_blob_gas
#   [232] access list item span  [240] blob hashes item span  [248] authorization list item span
_TX_RECORD = struct.Struct("<BB6xQQQ32s32s32s32s20sIIII4x32sIIIIII")
assert _TX_RECORD.size == TX_RECORD_SIZE

AccessList = tuple[tuple[bytes, tuple[bytes, ...]], ...]
_FEE_MARKET = ("chain_id", "nonce", "max_priority_fee", "max_fee", "gas_limit", "to", "value", "data", "access_list")


@dataclass(frozen=True, slots=True)
class Authorization:
    """One entry of an EIP-7702 authorization list: ``address``'s code is delegated to by the
    account that signed ``(chain_id, address, nonce)`` with ``(y_parity, r, s)``."""

    chain_id: int
    address: bytes
    nonce: int
    y_parity: int
    r: int
    s: int


def _items(buf: bytes, pos: int, end: int) -> list[Any]:
    """The items of an RLP list payload buf[pos:end] (already checked strict by the kernel):
    strings as bytes, lists as lists."""
    out: list[Any] = []
    while pos < end:
        b = buf[pos]
        if b < 0x80:
            out.append(buf[pos : pos + 1])
            pos += 1
            continue
        is_list = b >= 0xC0
        short = b - (0xC0 if is_list else 0x80)
        if short <= 55:
            start, length = pos + 1, short
        else:
            n = short - 55
            start, length = pos + 1 + n, int.from_bytes(buf[pos + 1 : pos + 1 + n], "big")
        item_end = start + length
        out.append(_items(buf, start, item_end) if is_list else buf[start:item_end])
        pos = item_end
    return out


def _list(item: bytes) -> list[Any]:
    """The items of one whole RLP list item (header included)."""
    items: list[Any] = _items(item, 0, len(item))[0]
    return items


@dataclass(frozen=True, slots=True)
class TxRecord:
    """One transaction decoded by :data:`aioultra.kernels.rlp_tx`.

    ``max_fee`` is the gas price of legacy and EIP-2930 transactions (``max_priority_fee`` then
    equals it, and ``gas_price`` gives it); ``chain_id`` of a legacy transaction comes from
    ``v`` (0 before EIP-155). ``to`` is None for a contract creation. ``payload`` is what
    ``hash`` is the keccak256 of (the RLP list, or type byte + list; an RLP-string wrapper
    removed). A field a type does not carry is None: see ``FIELDS`` for what each type carries
    (``access_list`` from type 1, ``max_fee_per_blob_gas`` and ``blob_versioned_hashes`` in
    type 3, ``authorization_list`` in type 4).
    """

    FIELDS: ClassVar[dict[int, tuple[str, ...]]] = {
        0: ("nonce", "gas_price", "gas_limit", "to", "value", "data"),
        1: ("chain_id", "nonce", "gas_price", "gas_limit", "to", "value", "data", "access_list"),
        2: _FEE_MARKET,
        3: (*_FEE_MARKET, "max_fee_per_blob_gas", "blob_versioned_hashes"),
        4: (*_FEE_MARKET, "authorization_list"),
    }
    """The transaction fields each type carries (by attribute name)."""

    tx_type: int
    hash: bytes
    nonce: int
    gas_limit: int
    chain_id: int
    to: bytes | None
    value: int
    max_fee: int
    max_priority_fee: int
    data: bytes
    payload: bytes
    max_fee_per_blob_gas: int | None = None
    blob_versioned_hashes: tuple[bytes, ...] | None = None
    access_list_rlp: bytes | None = field(default=None, repr=False)  # the item, decoded on access
    authorization_list_rlp: bytes | None = field(default=None, repr=False)

    @property
    def gas_price(self) -> int | None:
        """The gas price of a legacy or EIP-2930 transaction; None for the fee-market types."""
        return self.max_fee if self.tx_type in (0, 1) else None

    @property
    def access_list(self) -> AccessList | None:
        """``((address, (storage_key, ...)), ...)``; None for a legacy transaction."""
        if self.access_list_rlp is None:
            return None
        return tuple((entry[0], tuple(entry[1])) for entry in _list(self.access_list_rlp))

    @property
    def authorization_list(self) -> tuple[Authorization, ...] | None:
        """The EIP-7702 authorizations of a type-4 transaction; None for the other types."""
        if self.authorization_list_rlp is None:
            return None
        out = []
        for entry in _list(self.authorization_list_rlp):
            chain, address, nonce, parity, r, s = entry
            ints = [int.from_bytes(v, "big") for v in (chain, nonce, parity, r, s)]
            out.append(Authorization(ints[0], bytes(address), ints[1], ints[2], ints[3], ints[4]))
        return tuple(out)

    @classmethod
    def from_record(cls, record: BytesLike, raw: BytesLike) -> TxRecord:
        """Build from an :data:`aioultra.kernels.rlp_tx` output record and the raw input it was
        decoded from."""
        if len(record) != TX_RECORD_SIZE:
            raise ValueError(f"a tx record is {TX_RECORD_SIZE} bytes, got {len(record)}")
        fields = _TX_RECORD.unpack(record)
        tx_type, has_to, nonce, gas, chain_id, tx_hash, value, max_fee, prio, to = fields[:10]
        data, payload, blob_fee, access, blobs, auths = fields[10:12], fields[12:14], fields[14], *_spans(fields[15:])
        if any(off + n > len(raw) for off, n in (data, payload, access, blobs, auths)):
            raise ValueError("the record does not belong to this raw transaction (offsets past its end)")

        def cut(span: tuple[int, int]) -> bytes:
            return bytes(raw[span[0] : span[0] + span[1]])

        return cls(
            tx_type=tx_type,
            hash=tx_hash,
            nonce=nonce,
            gas_limit=gas,
            chain_id=chain_id,
            to=to if has_to else None,
            value=int.from_bytes(value, "big"),
            max_fee=int.from_bytes(max_fee, "big"),
            max_priority_fee=int.from_bytes(prio, "big"),
            data=cut(data),
            payload=cut(payload),
            max_fee_per_blob_gas=int.from_bytes(blob_fee, "big") if tx_type == 3 else None,
            blob_versioned_hashes=tuple(bytes(h) for h in _list(cut(blobs))) if blobs[1] else None,
            access_list_rlp=cut(access) if access[1] else None,
            authorization_list_rlp=cut(auths) if auths[1] else None,
        )


def _spans(flat: tuple[int, ...]) -> list[tuple[int, int]]:
    """(offset, length) pairs from a flat run of them."""
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
