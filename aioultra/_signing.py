"""The signature kernels: ecrecover, tx_sender and signers (kernels.signer), on libsecp256k1
from coincurve (aioultra._secp256k1); their C side is csrc/kernels/sender.c and sign_tx.c."""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import _ffi, _secp256k1
from ._errors import InvalidTask
from ._kernel import BytesLike, Kernel, _as_input

TX_SENDER_SIZE = _ffi.TX_SENDER_SIZE
_SENDER = struct.Struct("<32s32sQ20sB3x")
assert _SENDER.size == TX_SENDER_SIZE
_SIGN_HEADER = struct.Struct("<QQQ32s32s32sB20s3xI")
assert _SIGN_HEADER.size == _ffi.SIGN_TX_HEADER
SIGN_TX_MAX_DATA = 8192
"""The most bytes of calldata and access list together that one :class:`Signer` call signs
(each call's output space is sized for it)."""
_SIGN_OUT = 32 + 1 + 9 + 9 * 3 + 33 * 3 + 21 + 9 + 67  # sign_tx.c's room beyond data and access list
_U64 = 1 << 64
_U256 = 1 << 256


@dataclass(frozen=True, slots=True)
class TxSender:
    """Who sent one transaction (:data:`aioultra.kernels.tx_sender`): ``hash`` (its id),
    ``signing_hash`` (what the sender signed), ``chain_id`` (legacy: from ``v``, 0 before
    EIP-155) and the 20-byte ``sender`` address."""

    tx_type: int
    hash: bytes
    signing_hash: bytes
    chain_id: int
    sender: bytes


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A transaction signed by a :class:`Signer`: ``raw`` (ready for ``eth_sendRawTransaction``)
    and its ``hash``."""

    hash: bytes
    raw: bytes


@dataclass(frozen=True, slots=True)
class Eip1559Tx:
    """The fields of an EIP-1559 (type 2) transaction for a :class:`Signer` to sign. ``to`` is
    None for a contract creation; ``access_list`` is ``((address, (storage_key, ...)), ...)``."""

    chain_id: int
    nonce: int
    max_priority_fee: int
    max_fee: int
    gas_limit: int
    to: bytes | None
    value: int = 0
    data: bytes = b""
    access_list: Sequence[tuple[bytes, Sequence[bytes]]] = ()


def _decode_sender(output: bytes, _input: Any) -> TxSender:
    tx_hash, signing_hash, chain_id, sender, tx_type = _SENDER.unpack(output)
    return TxSender(tx_type, tx_hash, signing_hash, chain_id, sender)


def _decode_signed(output: bytes, _input: Any) -> SignedTx:
    return SignedTx(output[:32], output[32:])


def _rlp_string(b: bytes) -> bytes:
    if len(b) == 1 and b[0] < 0x80:
        return b
    return _rlp_header(len(b), 0x80) + b


def _rlp_header(length: int, base: int) -> bytes:
    if length < 56:
        return bytes([base + length])
    n = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([base + 55 + len(n)]) + n


def _uint(tx_field: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTask(f"sign_tx: {tx_field} must be an int, got {type(value).__name__}")
    if not 0 <= value < limit:
        raise InvalidTask(f"sign_tx: {tx_field} must be in [0, 2**{limit.bit_length() - 1}), got {value}")
    return value


def _fixed(tx_field: str, value: object, size: int) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview) or memoryview(value).nbytes != size:
        raise InvalidTask(f"sign_tx: {tx_field} must be {size} bytes")
    return bytes(value)


def _access_list(entries: object) -> bytes:
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes | bytearray):
        raise InvalidTask("sign_tx: access_list must be a sequence of (address, storage_keys) pairs")
    encoded = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Sequence) or len(entry) != 2:
            raise InvalidTask(f"sign_tx: access_list[{i}] must be an (address, storage_keys) pair")
        address = _fixed(f"access_list[{i}] address", entry[0], 20)
        keys = entry[1]
        if not isinstance(keys, Sequence) or isinstance(keys, str | bytes | bytearray):
            raise InvalidTask(f"sign_tx: access_list[{i}] storage keys must be a sequence of 32-byte keys")
        key_items = b"".join(_rlp_string(_fixed(f"access_list[{i}] storage key", k, 32)) for k in keys)
        body = _rlp_string(address) + _rlp_header(len(key_items), 0xC0) + key_items
        encoded.append(_rlp_header(len(body), 0xC0) + body)
    items = b"".join(encoded)
    return _rlp_header(len(items), 0xC0) + items


def _encode_unsigned(args: tuple[Any, ...]) -> BytesLike:
    """sign_tx's input (csrc/kernels/sign_tx.c) from one Eip1559Tx."""
    if len(args) != 1 or not isinstance(args[0], Eip1559Tx):
        raise InvalidTask("a signer takes one aioultra.kernels.Eip1559Tx")
    tx: Eip1559Tx = args[0]
    to = _fixed("to", tx.to, 20) if tx.to is not None else bytes(20)
    if not isinstance(tx.data, bytes | bytearray | memoryview):
        raise InvalidTask(f"sign_tx: data must be bytes, got {type(tx.data).__name__}")
    data = bytes(tx.data)
    access = _access_list(tx.access_list)
    if len(data) + len(access) > SIGN_TX_MAX_DATA:
        raise InvalidTask(
            f"sign_tx: data and access list are {len(data) + len(access)} bytes, at most {SIGN_TX_MAX_DATA}"
        )
    header = _SIGN_HEADER.pack(
        _uint("chain_id", tx.chain_id, _U64),
        _uint("nonce", tx.nonce, _U64),
        _uint("gas_limit", tx.gas_limit, _U64),
        _uint("max_priority_fee", tx.max_priority_fee, _U256).to_bytes(32, "big"),
        _uint("max_fee", tx.max_fee, _U256).to_bytes(32, "big"),
        _uint("value", tx.value, _U256).to_bytes(32, "big"),
        tx.to is not None,
        to,
        len(data),
    )
    return header + data + access


class Signer(Kernel[SignedTx]):
    """A ``sign_tx`` kernel bound to one private key: ``await engine.submit(signer, tx)`` with an
    :class:`Eip1559Tx` gives a :class:`SignedTx` (RFC 6979 nonce, low s). ``address`` is the
    key's account. The key lives in native memory only (the kernel's context): never in a
    repr, a log or an exception, and zeroed when the signer is freed (after its last task)."""

    __slots__ = ("address",)

    def __init__(self, key: object) -> None:
        if isinstance(key, bytes | bytearray | memoryview):
            if memoryview(key).nbytes != 32:
                raise ValueError("a private key is 32 bytes")
            secret = bytearray(key)
        elif isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < _U256:
                raise ValueError("a private key as an int must be in [1, n) (the secp256k1 order)")
            secret = bytearray(key.to_bytes(32, "big"))
        else:
            raise TypeError(f"a private key is 32 bytes or an int, got {type(key).__name__}")
        try:
            made = _ffi.signer_new(_secp256k1.provider(), secret)
        finally:
            secret[:] = bytes(32)  # this copy is ours to wipe; the caller's key object is the caller's
        if made is None:
            raise ValueError("not a valid private key: it must be in [1, n) (the secp256k1 order)")
        native, address = made
        super().__init__(
            _ffi.KERNEL_SIGN_TX,
            "sign_tx",
            _SIGN_OUT + SIGN_TX_MAX_DATA,  # the largest call's output
            ctx=native,
            encode=_encode_unsigned,
            decode=_decode_signed,
        )
        self.address: bytes = address

    def __repr__(self) -> str:
        return f"<aioultra.kernels.Signer address=0x{self.address.hex()}>"


def _encode_ecrecover(args: tuple[Any, ...]) -> BytesLike:
    if len(args) == 2:  # (hash, signature)
        msg, sig = args
        if not isinstance(msg, bytes | bytearray | memoryview) or memoryview(msg).nbytes != 32:
            raise InvalidTask("ecrecover: the message hash must be 32 bytes")
        if not isinstance(sig, bytes | bytearray | memoryview) or memoryview(sig).nbytes != 65:
            raise InvalidTask("ecrecover: the signature must be 65 bytes (r || s || v)")
        return bytes(msg) + bytes(sig)
    if len(args) == 1 and isinstance(args[0], tuple):
        return _encode_ecrecover(args[0])
    data = _as_input("ecrecover", args)
    if memoryview(data).nbytes != 97:
        raise InvalidTask("ecrecover takes (hash, signature): 32 + 65 bytes, or their 97-byte concatenation")
    return data


_lock = threading.Lock()
_kernels: dict[str, Kernel[Any]] = {}


def kernel(name: str) -> Kernel[Any]:
    """The ``ecrecover`` or ``tx_sender`` kernel, built on first use (it needs coincurve)."""
    with _lock:
        k = _kernels.get(name)
        if k is None:
            secp = _secp256k1.provider()
            if name == "ecrecover":
                k = Kernel(_ffi.KERNEL_ECRECOVER, name, 20, ctx=secp, encode=_encode_ecrecover)
            elif name == "tx_sender":
                k = Kernel(_ffi.KERNEL_TX_SENDER, name, TX_SENDER_SIZE, ctx=secp, decode=_decode_sender)
            else:
                raise AttributeError(name)
            _kernels[name] = k
        return k
