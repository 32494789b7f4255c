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
``univ2_*_py`` give identical results. The signature kernels run libsecp256k1 (from coincurve,
``pip install 'aioultra[eth]'``; loaded on first use): :data:`tx_sender` (raw transaction of
any type -> :class:`TxSender`), :data:`ecrecover` (hash + signature -> address) and
:func:`signer` (a private key -> a :class:`Signer` kernel turning an :class:`Eip1559Tx` into a
:class:`SignedTx`). :func:`describe_error` names every kernel error code. Bring your own
kernels with :meth:`Kernel.from_pointer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _ffi
from ._errors import InvalidTask, KernelError
from ._kernel import BytesLike, Kernel, _as_input
from ._signing import SIGN_TX_MAX_DATA, TX_SENDER_SIZE, Eip1559Tx, SignedTx, Signer, TxSender
from ._signing import kernel as _signature_kernel
from ._txrecord import TX_RECORD_SIZE, AccessList, Authorization, TxRecord

if TYPE_CHECKING:
    ecrecover: Kernel[bytes]
    tx_sender: Kernel[TxSender]

__all__ = [
    "ERROR_REASONS",
    "ERR_AMM_INPUT",
    "ERR_AMM_LIQUIDITY",
    "ERR_AMM_OVERFLOW",
    "ERR_INPUT",
    "ERR_NO_SECP",
    "ERR_OUTCAP",
    "ERR_RLP_NONCANONICAL",
    "ERR_RLP_TRAILING",
    "ERR_RLP_TRUNCATED",
    "ERR_SIG_HIGH_S",
    "ERR_SIG_KEY",
    "ERR_SIG_RANGE",
    "ERR_SIG_RECOVER",
    "ERR_SIG_V",
    "ERR_TX_FIELD",
    "ERR_TX_TYPE",
    "SIGN_TX_MAX_DATA",
    "TX_RECORD_SIZE",
    "TX_SENDER_SIZE",
    "UNIV2_AMOUNT_LIMIT",
    "UNIV2_RESERVE_LIMIT",
    "AccessList",
    "Authorization",
    "Eip1559Tx",
    "Kernel",
    "SignedTx",
    "Signer",
    "TxRecord",
    "TxSender",
    "decode_u256",
    "describe_error",
    "ecrecover",
    "encode_u256",
    "keccak256",
    "noop",
    "rlp_tx",
    "signer",
    "spin",
    "tx_sender",
    "univ2_amount_in",
    "univ2_amount_in_py",
    "univ2_amount_out",
    "univ2_amount_out_py",
    "univ2_backrun",
    "univ2_backrun_py",
]


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
ERR_SIG_RANGE = -30
ERR_SIG_HIGH_S = -31
ERR_SIG_V = -32
ERR_SIG_RECOVER = -33
ERR_SIG_KEY = -34
ERR_NO_SECP = -35

ERROR_REASONS: dict[int, str] = {
    ERR_INPUT: "input malformed or of the wrong length",
    ERR_OUTCAP: "output buffer too small",
    ERR_RLP_TRUNCATED: "RLP truncated: an item or its length runs past the input or its enclosing list",
    ERR_RLP_NONCANONICAL: "RLP not canonical: non-minimal length, wrapped single byte, or integer with a leading zero",
    ERR_TX_TYPE: "unknown or unsupported transaction type",
    ERR_TX_FIELD: "bad transaction field: wrong count, shape or length; a bad `to`, access list, blob hash list "
    "or authorization list",
    ERR_RLP_TRAILING: "trailing bytes after the transaction",
    ERR_AMM_INPUT: "amount is zero",
    ERR_AMM_LIQUIDITY: "insufficient liquidity: a reserve is zero or amount_out >= reserve_out",
    ERR_AMM_OVERFLOW: "out of range: reserves must be < 2**112 and amounts < 2**128",
    ERR_SIG_RANGE: "bad signature: r or s is 0 or not below the curve order",
    ERR_SIG_HIGH_S: "bad signature: s is above half the curve order, which transactions forbid (EIP-2)",
    ERR_SIG_V: "bad signature: v is not a recovery id this transaction type allows",
    ERR_SIG_RECOVER: "bad signature: no public key recovers from it",
    ERR_SIG_KEY: "signing failed: the private key is not valid",
    ERR_NO_SECP: "the kernel was called without its libsecp256k1 context",
}
"""Every error code a built-in kernel returns, with a human-readable reason."""


def describe_error(code: int) -> str:
    """A human-readable reason for a kernel error code (e.g. ``KernelError.code``)."""
    return ERROR_REASONS.get(code, f"unknown kernel error code {code}")


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


def signer(key: bytes | bytearray | int) -> Signer:
    """A :class:`Signer`: the ``sign_tx`` kernel bound to the 32-byte private ``key`` (or the
    key as an int). ``ValueError`` for a key that is 0 or not below the curve order (the
    message never holds the key). Needs coincurve (``pip install 'aioultra[eth]'``)."""
    return Signer(key)


def __getattr__(name: str) -> Any:
    """:data:`ecrecover` and :data:`tx_sender`, built on first use (they load libsecp256k1
    from coincurve; ``ImportError`` naming the extra when it is missing)."""
    if name in ("ecrecover", "tx_sender"):
        return _signature_kernel(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
