"""Native kernels: C functions run by the workers without the GIL.

A kernel has the C signature::

    int64_t fn(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)

and returns the number of bytes written to ``out`` or a negative error code (which the
awaiter receives as :class:`aioultra.KernelError`). The input is passed zero-copy: the engine
keeps the Python buffer alive until the task completes, so do not mutate a bytearray while a
task reads it.

Built-ins: :data:`noop`, :data:`spin` (argument: nanoseconds to busy-wait),
:data:`keccak256` (Ethereum's Keccak-256, 32-byte digest), and the Ethereum kernels
:data:`rlp_tx` (raw transaction -> :class:`TxRecord`), :data:`univ2_amount_out`,
:data:`univ2_amount_in` and :data:`univ2_backrun` (Uniswap V2 math on 32-byte big-endian
uint256 inputs; :func:`encode_u256` / :func:`decode_u256` convert). Their pure-Python twins
``univ2_*_py`` give identical results. :func:`describe_error` names every kernel error code.
Bring your own kernels with :meth:`Kernel.from_pointer`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from . import _ffi, _kinds
from ._errors import InvalidTask, KernelError
from ._task import DEFAULT_PRIORITY

BytesLike = bytes | bytearray | memoryview
R = TypeVar("R")
Decoder = Callable[[bytes, Any], Any]

__all__ = [
    "ERROR_REASONS",
    "ERR_AMM_INPUT",
    "ERR_AMM_LIQUIDITY",
    "ERR_AMM_OVERFLOW",
    "ERR_INPUT",
    "ERR_OUTCAP",
    "ERR_RLP_NONCANONICAL",
    "ERR_RLP_TRAILING",
    "ERR_RLP_TRUNCATED",
    "ERR_TX_FIELD",
    "ERR_TX_TYPE",
    "TX_RECORD_SIZE",
    "UNIV2_AMOUNT_LIMIT",
    "UNIV2_RESERVE_LIMIT",
    "Kernel",
    "TxRecord",
    "decode_u256",
    "describe_error",
    "encode_u256",
    "keccak256",
    "noop",
    "rlp_tx",
    "spin",
    "univ2_amount_in",
    "univ2_amount_in_py",
    "univ2_amount_out",
    "univ2_amount_out_py",
    "univ2_backrun",
    "univ2_backrun_py",
]

_MAX_OUT = 1 << 30


def _as_input(name: str, args: tuple[Any, ...]) -> BytesLike:
    if not args:
        return b""
    if len(args) != 1:
        raise InvalidTask(f"kernel {name!r} takes one bytes-like input, got {len(args)} arguments")
    data = args[0]
    if isinstance(data, bytes | bytearray):
        return data
    if isinstance(data, memoryview):
        if not data.c_contiguous:
            raise InvalidTask(f"kernel {name!r} needs a C-contiguous buffer")
        return data
    raise InvalidTask(
        f"kernel {name!r} takes bytes, bytearray or memoryview input, got {type(data).__name__}"
        + (" (encode the str first)" if isinstance(data, str) else "")
    )


_SPEC_CACHE_MAX = 64  # submission specs kept per kernel (one per priority/deadline pair used)


class Kernel(Generic[R]):
    """A native kernel that ``engine.submit``, ``submit_many`` and ``map`` can run.

    ``Kernel[R]``: ``R`` is what a call's result decodes to (``bytes`` when it declares no
    decoder); ``raw=True`` on a submission gives the output bytes instead.

    Attributes:
        name: shown in errors and statistics.
        out_size: bytes of output space given to each call (0 for kernels that return nothing).
    """

    __slots__ = ("_ctx", "_decode", "_default_spec", "_encode", "_fn", "_keep", "_specs", "name", "out_size")

    def __init__(
        self,
        fn: Any,
        name: str,
        out_size: int = 0,
        *,
        ctx: Any = None,
        encode: Callable[[tuple[Any, ...]], BytesLike] | None = None,
        decode: Callable[[bytes, Any], R] | None = None,
        keepalive: object = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("kernel name must be a non-empty str")
        if not isinstance(out_size, int) or isinstance(out_size, bool) or not 0 <= out_size <= _MAX_OUT:
            raise ValueError(f"out_size must be an int between 0 and {_MAX_OUT}, got {out_size!r}")
        self._fn = _ffi.kernel_pointer(fn)
        self._ctx = _ffi.to_context(ctx)
        self._keep = (ctx, keepalive)
        if encode is not None and not callable(encode):
            raise TypeError(f"encode must be callable or None, got {type(encode).__name__}")
        if decode is not None and not callable(decode):
            raise TypeError(f"decode must be callable or None, got {type(decode).__name__}")
        self._encode = encode
        self._decode: Decoder | None = decode
        self._specs: dict[tuple[int, int], Any] = {}
        self.name = name
        self.out_size = out_size
        self._default_spec = self.spec(DEFAULT_PRIORITY, 0)  # the submit hot path's (no options)

    @classmethod
    def from_pointer(
        cls,
        ptr: Any,
        *,
        name: str,
        out_size: int = 0,
        ctx: Any = None,
        encode: Callable[[tuple[Any, ...]], BytesLike] | None = None,
        decode: Callable[[bytes, Any], Any] | None = None,
        keepalive: object = None,
    ) -> Kernel[Any]:
        """Wrap a C function pointer of the kernel signature.

        ``ptr`` is a cdata function pointer from your own cffi module (``lib.my_kernel`` or
        ``ffi.addressof(lib, "my_kernel")``) or an integer address. ``ctx`` (a cdata pointer or
        address) is passed to every call. ``keepalive`` is held as long as the Kernel (e.g. the
        module that owns the code). ``encode``, if given, turns ``submit``'s positional arguments
        into the input bytes (raise InvalidTask on bad ones); by default one bytes-like argument
        is the input. A ``map`` item ``x`` is encoded as ``submit(kernel, x)``'s arguments:
        ``encode((x,))``. ``decode``, if given, turns a call's output bytes and its input buffer
        into the result (``decode(output, input)``; runs on the event loop, at resolution);
        by default the result is the output bytes.
        """
        return cls(ptr, name, out_size, ctx=ctx, encode=encode, decode=decode, keepalive=(ptr, keepalive))

    def encode(self, args: tuple[Any, ...]) -> BytesLike:
        """The input buffer for one call with ``args`` (validated; raises InvalidTask)."""
        if self._encode is not None:
            data = self._encode(args)
            if not isinstance(data, bytes | bytearray | memoryview):
                raise InvalidTask(f"kernel {self.name!r}: its encoder returned {type(data).__name__}, not bytes")
            return data
        return _as_input(self.name, args)

    def decode(self, output: bytes, input: Any = None) -> R:
        """The result of one call from its output bytes (and its input buffer)."""
        if self._decode is None:
            return output  # type: ignore[return-value]  # R is bytes for kernels without a decoder
        result: R = self._decode(output, input)
        return result

    def spec(self, priority: int, deadline_ns: int) -> Any:
        """The native submission spec for these options (cached)."""
        key = (priority, deadline_ns)
        spec = self._specs.get(key)
        if spec is None:
            if len(self._specs) >= _SPEC_CACHE_MAX:
                self._specs.clear()
            kind = _kinds.slot(self.name)
            spec = self._specs[key] = _ffi.spec(self._fn, self._ctx, self.out_size, deadline_ns, priority, 1, kind)
        return spec

    def __repr__(self) -> str:
        return f"<aioultra.Kernel {self.name} out_size={self.out_size}>"


def _encode_ns(args: tuple[Any, ...]) -> bytes:
    if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
        raise InvalidTask("kernel 'spin' takes one int: nanoseconds to busy-wait")
    ns = args[0]
    if not 0 <= ns <= 60_000_000_000:
        raise InvalidTask(f"kernel 'spin' takes 0..60e9 nanoseconds, got {ns}")
    return ns.to_bytes(8, "little")


noop: Kernel[bytes] = Kernel(_ffi.KERNEL_NOOP, "noop", 0)
"""Does nothing and returns ``b""``: measures the engine's own overhead."""

spin: Kernel[bytes] = Kernel(_ffi.KERNEL_SPIN, "spin", 0, encode=_encode_ns)
"""Busy-waits the given number of nanoseconds (``submit(spin, 10_000)``, ``map(spin, [10_000])``);
returns ``b""``."""

keccak256: Kernel[bytes] = Kernel(_ffi.KERNEL_KECCAK256, "keccak256", 32)
"""Ethereum's Keccak-256 of the input bytes (32-byte digest; not SHA3-256)."""


# --- Ethereum kernels --------------------------------------------------------------------

# Error codes (csrc/kernels/kernels.h); the awaiter gets them as KernelError.code.
ERR_INPUT = -1
ERR_OUTCAP = -2
ERR_RLP_TRUNCATED = -10
ERR_RLP_NONCANONICAL = -11
ERR_TX_TYPE = -12
ERR_TX_FIELD = -13
ERR_RLP_TRAILING = -14
ERR_AMM_INPUT = -20
ERR_AMM_LIQUIDITY = -21
ERR_AMM_OVERFLOW = -22

ERROR_REASONS: dict[int, str] = {
    ERR_INPUT: "input malformed or of the wrong length",
    ERR_OUTCAP: "output buffer too small",
    ERR_RLP_TRUNCATED: "RLP truncated: an item or its length runs past the input or its enclosing list",
    ERR_RLP_NONCANONICAL: "RLP not canonical: non-minimal length, wrapped single byte, or integer with a leading zero",
    ERR_TX_TYPE: "unknown or unsupported transaction type",
    ERR_TX_FIELD: "bad transaction field: wrong count, shape or length, bad `to` or access list",
    ERR_RLP_TRAILING: "trailing bytes after the transaction",
    ERR_AMM_INPUT: "amount is zero",
    ERR_AMM_LIQUIDITY: "insufficient liquidity: a reserve is zero or amount_out >= reserve_out",
    ERR_AMM_OVERFLOW: "out of range: reserves must be < 2**112 and amounts < 2**128",
}
"""Every error code a built-in kernel returns, with a human-readable reason."""


def describe_error(code: int) -> str:
    """A human-readable reason for a kernel error code (e.g. ``KernelError.code``)."""
    return ERROR_REASONS.get(code, f"unknown kernel error code {code}")


TX_RECORD_SIZE = 200
"""Bytes of one :data:`rlp_tx` output record (AIO_TX_RECORD_SIZE)."""

# Little-endian record layout written by csrc/kernels/rlp_tx.c:
#   [0] u8 tx_type  [1] u8 has_to  [2..8) zero  [8] u64 nonce  [16] u64 gas_limit  [24] u64 chain_id
#   [32..64) hash  [64..96) value  [96..128) max_fee  [128..160) max_priority_fee  (uint256 big-endian)
#   [160..180) to  [180] u32 data_offset  [184] u32 data_len  [188] u32 payload_offset
#   [192] u32 payload_len  [196..200) zero
_TX_RECORD = struct.Struct("<BB6xQQQ32s32s32s32s20sIIII4x")
assert _TX_RECORD.size == TX_RECORD_SIZE


@dataclass(frozen=True, slots=True)
class TxRecord:
    """One transaction decoded by :data:`rlp_tx`.

    ``max_fee`` is the gas price of legacy and EIP-2930 transactions (``max_priority_fee`` then
    equals it); ``chain_id`` of a legacy transaction comes from ``v`` (0 before EIP-155).
    ``to`` is None for a contract creation. ``payload`` is what ``hash`` is the keccak256 of
    (the RLP list, or type byte + list; an RLP-string wrapper removed).
    """

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

    @classmethod
    def from_record(cls, record: bytes | bytearray | memoryview, raw: bytes | bytearray | memoryview) -> TxRecord:
        """Build from an :data:`rlp_tx` output record and the raw input it was decoded from."""
        if len(record) != TX_RECORD_SIZE:
            raise ValueError(f"a tx record is {TX_RECORD_SIZE} bytes, got {len(record)}")
        (tx_type, has_to, nonce, gas, chain_id, tx_hash, value, max_fee, prio, to, d_off, d_len, p_off, p_len) = (
            _TX_RECORD.unpack(record)
        )
        if d_off + d_len > len(raw) or p_off + p_len > len(raw):
            raise ValueError("the record does not belong to this raw transaction (offsets past its end)")
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
            data=bytes(raw[d_off : d_off + d_len]),
            payload=bytes(raw[p_off : p_off + p_len]),
        )


_U256_MAX = (1 << 256) - 1


def encode_u256(value: int) -> bytes:
    """``value`` (0 <= value < 2**256) as 32 bytes big-endian: the univ2 kernels' number format."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"encode_u256 takes an int, got {type(value).__name__}")
    if not 0 <= value <= _U256_MAX:
        raise ValueError(f"encode_u256 takes 0 <= value < 2**256, got {value}")
    return value.to_bytes(32, "big")


def decode_u256(data: bytes | bytearray | memoryview) -> int:
    """32 bytes big-endian as an int."""
    if len(data) != 32:
        raise ValueError(f"decode_u256 takes 32 bytes, got {len(data)}")
    return int.from_bytes(data, "big")


UNIV2_RESERVE_LIMIT = 1 << 112
"""Reserves must be below this (uint112), else AIO_KERR_AMM_OVERFLOW (-22)."""
UNIV2_AMOUNT_LIMIT = 1 << 128
"""Amounts (and backrun ``max_in``) must be below this, else AIO_KERR_AMM_OVERFLOW (-22)."""


def _amm_check(name: str, amount: int, reserves: tuple[int, ...]) -> None:
    """The univ2 kernels' checks in their order: range, zero amount, zero reserve."""
    for v in (amount, *reserves):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} takes ints, got {type(v).__name__}")
    if not 0 <= amount < UNIV2_AMOUNT_LIMIT or not all(0 <= r < UNIV2_RESERVE_LIMIT for r in reserves):
        raise KernelError(name, ERR_AMM_OVERFLOW)
    if amount == 0:
        raise KernelError(name, ERR_AMM_INPUT)
    if 0 in reserves:
        raise KernelError(name, ERR_AMM_LIQUIDITY)


def _out(amount: int, reserve_in: int, reserve_out: int) -> int:
    with_fee = amount * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def univ2_amount_out_py(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountOut in Python, with the kernel's checks (raises KernelError)."""
    _amm_check("univ2_amount_out", amount_in, (reserve_in, reserve_out))
    return _out(amount_in, reserve_in, reserve_out)


def univ2_amount_in_py(amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountIn in Python, with the kernel's checks (raises KernelError)."""
    _amm_check("univ2_amount_in", amount_out, (reserve_in, reserve_out))
    if amount_out >= reserve_out:
        raise KernelError("univ2_amount_in", ERR_AMM_LIQUIDITY)
    return reserve_in * amount_out * 1000 // ((reserve_out - amount_out) * 997) + 1


def _in(amount_out: int, a: int, b: int) -> int:
    """The least input with getAmountOut >= amount_out, for a = 997 * reserve_out, b = 1000 * reserve_in."""
    return -(-amount_out * b // (a - 997 * amount_out))


def univ2_backrun_py(p_in: int, p_out: int, q_in: int, q_out: int, max_in: int) -> tuple[int, int]:
    """The best input ``x`` in ``[1, max_in]`` of token A through pool P (reserves p_in of A,
    p_out of B) then pool Q (q_in of B, q_out of A), and its profit ``z - x``; ``(0, 0)`` when
    nothing is profitable. Exactly the :data:`univ2_backrun` kernel's search (bit for bit).

    Unrounded, the round trip is ``Z(x) = a*x / (b + c*x)`` with ``a1 = 997*p_out``,
    ``b1 = 1000*p_in``, ``a2 = 997*q_out``, ``b2 = 1000*q_in``, ``a = a1*a2``, ``b = b1*b2``,
    ``c = 997*(b2 + a1)``; ``F(x) = Z(x) - x`` is strictly concave and the floored ``z(x) <= Z(x)``.

    1. A profit needs ``x < (a - b) / c``: if ``a <= b`` or ``hi = min(max_in, (a - b) // c)`` is 0,
       nothing is profitable.
    2. ``x`` = the least ``m`` in ``[1, hi]`` with ``F(m) >= F(m + 1)``, i.e.
       ``(b + c*m) * (b + c*(m + 1)) >= a*b`` (``hi`` if none), by binary search
       (``mid = lo + (hi - lo) // 2``): the exact integer maximiser of the unrounded profit.
    3. ``z = z(x)`` (floored); if ``z > 0``, snap ``x`` down to the least input with the same output:
       ``y' = ceil(z*b2 / (a2 - 997*z))``, ``x = ceil(y'*b1 / (a1 - 997*y'))``.
    4. ``(x, z - x)`` if ``z > x``, else ``(0, 0)``.

    The result is within one output step of pool Q (``0.997*q_out/q_in + 1``) of the best
    floored profit.
    """
    _amm_check("univ2_backrun", max_in, (p_in, p_out, q_in, q_out))
    a1, b1, a2, b2 = 997 * p_out, 1000 * p_in, 997 * q_out, 1000 * q_in
    a, b, c = a1 * a2, b1 * b2, 997 * (b2 + a1)
    if a <= b:
        return 0, 0
    hi = min(max_in, (a - b) // c)
    if hi == 0:
        return 0, 0
    ab = a * b
    lo = 1
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if (b + c * mid) * (b + c * (mid + 1)) >= ab:
            hi = mid
        else:
            lo = mid + 1
    x = lo
    z = _out(_out(x, p_in, p_out), q_in, q_out)
    if z > 0:
        x = _in(_in(z, a2, b2), a1, b1)
    return (x, z - x) if z > x else (0, 0)


def _decode_tx(output: bytes, raw: Any) -> TxRecord:
    return TxRecord.from_record(output, raw)


def _u256_encoder(name: str, count: int, fields: str) -> Callable[[tuple[Any, ...]], BytesLike]:
    """The univ2 kernels' encoder: ``count`` ints (``submit(k, a, b, c)``), one tuple of them
    (a ``map`` item), or the encoded input itself (``count`` x 32 bytes big-endian)."""
    size = 32 * count

    def encode(args: tuple[Any, ...]) -> BytesLike:
        if len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        if len(args) == 1 and isinstance(args[0], bytes | bytearray | memoryview):
            data = _as_input(name, args)
            if memoryview(data).nbytes != size:
                raise InvalidTask(f"kernel {name!r} takes {size} bytes ({fields}), got {memoryview(data).nbytes}")
            return data
        if len(args) != count:
            raise InvalidTask(f"kernel {name!r} takes {count} ints ({fields}) or their {size}-byte encoding")
        for v in args:
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidTask(f"kernel {name!r} takes ints ({fields}), got {type(v).__name__}")
            if not 0 <= v <= _U256_MAX:
                raise InvalidTask(f"kernel {name!r} takes 0 <= value < 2**256, got {v}")
        return b"".join(v.to_bytes(32, "big") for v in args)

    return encode


def _decode_int(output: bytes, _input: Any) -> int:
    return int.from_bytes(output, "big")


def _decode_pair(output: bytes, _input: Any) -> tuple[int, int]:
    return int.from_bytes(output[:32], "big"), int.from_bytes(output[32:], "big")


rlp_tx: Kernel[TxRecord] = Kernel(_ffi.KERNEL_RLP_TX, "rlp_tx", TX_RECORD_SIZE, decode=_decode_tx)
"""Decodes one raw Ethereum transaction (legacy, EIP-2930, EIP-1559; a typed one may be wrapped
in an RLP string) into a :class:`TxRecord` (``raw=True``: the 200-byte record, which
``TxRecord.from_record(record, raw)`` decodes). Strict RLP; malformed input fails with
KernelError codes -10..-14 (see :func:`describe_error`)."""

univ2_amount_out: Kernel[int] = Kernel(
    _ffi.KERNEL_UNIV2_AMOUNT_OUT,
    "univ2_amount_out",
    32,
    encode=_u256_encoder("univ2_amount_out", 3, "amount_in, reserve_in, reserve_out"),
    decode=_decode_int,
)
"""getAmountOut: ``submit(univ2_amount_out, amount_in, reserve_in, reserve_out)`` -> int (a ``map``
item is the tuple; the 96-byte encoding ``encode_u256(a) + encode_u256(r_in) + encode_u256(r_out)``
is accepted too; ``raw=True``: 32 bytes big-endian). Errors -20 (zero amount), -21 (zero reserve),
-22 (out of range)."""

univ2_amount_in: Kernel[int] = Kernel(
    _ffi.KERNEL_UNIV2_AMOUNT_IN,
    "univ2_amount_in",
    32,
    encode=_u256_encoder("univ2_amount_in", 3, "amount_out, reserve_in, reserve_out"),
    decode=_decode_int,
)
"""getAmountIn: ``submit(univ2_amount_in, amount_out, reserve_in, reserve_out)`` -> int (inputs as
for :data:`univ2_amount_out`). -21 also when amount_out >= reserve_out."""

univ2_backrun: Kernel[tuple[int, int]] = Kernel(
    _ffi.KERNEL_UNIV2_BACKRUN,
    "univ2_backrun",
    64,
    encode=_u256_encoder("univ2_backrun", 5, "p_in, p_out, q_in, q_out, max_in"),
    decode=_decode_pair,
)
"""Two-pool backrun optimiser: ``submit(univ2_backrun, p_in, p_out, q_in, q_out, max_in)`` ->
``(x, profit)``, ``(0, 0)`` when nothing is profitable (inputs as for :data:`univ2_amount_out`,
160 bytes encoded; ``raw=True``: 2 x 32 bytes big-endian); the same search as
:func:`univ2_backrun_py`."""
