"""Native kernels: C functions run by the workers without the GIL.

A kernel has the C signature::

    int64_t fn(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)

and returns the number of bytes written to ``out`` or a negative error code (which the
awaiter receives as :class:`aioultra.KernelError`). The input is passed zero-copy: the engine
keeps the Python buffer alive until the task completes, so do not mutate a bytearray while a
task reads it.

Built-ins: :data:`noop`, :data:`spin` (argument: nanoseconds to busy-wait) and
:data:`keccak256` (Ethereum's Keccak-256, 32-byte digest). Bring your own with
:meth:`Kernel.from_pointer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _ffi
from ._errors import InvalidTask

BytesLike = bytes | bytearray | memoryview

__all__ = ["Kernel", "keccak256", "noop", "spin"]

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


class Kernel:
    """A native kernel that ``engine.submit`` and ``engine.map`` can run.

    Attributes:
        name: shown in errors and statistics.
        out_size: bytes of output space given to each call (0 for kernels that return nothing).
    """

    __slots__ = ("_ctx", "_encode", "_fn", "_keep", "name", "out_size")

    def __init__(
        self,
        fn: Any,
        name: str,
        out_size: int = 0,
        *,
        ctx: Any = None,
        encode: Callable[[tuple[Any, ...]], BytesLike] | None = None,
        keepalive: object = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("kernel name must be a non-empty str")
        if not isinstance(out_size, int) or isinstance(out_size, bool) or not 0 <= out_size <= _MAX_OUT:
            raise ValueError(f"out_size must be an int between 0 and {_MAX_OUT}, got {out_size!r}")
        self._fn = _ffi.kernel_pointer(fn)
        self._ctx = _ffi.to_context(ctx)
        self._keep = (ctx, keepalive)
        self._encode = encode
        self.name = name
        self.out_size = out_size

    @classmethod
    def from_pointer(
        cls,
        ptr: Any,
        *,
        name: str,
        out_size: int = 0,
        ctx: Any = None,
        encode: Callable[[tuple[Any, ...]], BytesLike] | None = None,
        keepalive: object = None,
    ) -> Kernel:
        """Wrap a C function pointer of the kernel signature.

        ``ptr`` is a cdata function pointer from your own cffi module (``lib.my_kernel`` or
        ``ffi.addressof(lib, "my_kernel")``) or an integer address. ``ctx`` (a cdata pointer or
        address) is passed to every call. ``keepalive`` is held as long as the Kernel (e.g. the
        module that owns the code). ``encode``, if given, turns ``submit``'s positional arguments
        into the input bytes (raise InvalidTask on bad ones); by default one bytes-like argument
        is the input.
        """
        return cls(ptr, name, out_size, ctx=ctx, encode=encode, keepalive=(ptr, keepalive))

    def encode(self, args: tuple[Any, ...]) -> BytesLike:
        """The input buffer for one call with ``args`` (validated; raises InvalidTask)."""
        if self._encode is not None:
            return self._encode(args)
        return _as_input(self.name, args)

    def __repr__(self) -> str:
        return f"<aioultra.Kernel {self.name} out_size={self.out_size}>"


def _encode_ns(args: tuple[Any, ...]) -> bytes:
    if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
        raise InvalidTask("kernel 'spin' takes one int: nanoseconds to busy-wait")
    ns = args[0]
    if not 0 <= ns <= 60_000_000_000:
        raise InvalidTask(f"kernel 'spin' takes 0..60e9 nanoseconds, got {ns}")
    return ns.to_bytes(8, "little")


noop = Kernel(_ffi.KERNEL_NOOP, "noop", 0)
"""Does nothing and returns ``b""``: measures the engine's own overhead."""

spin = Kernel(_ffi.KERNEL_SPIN, "spin", 0, encode=_encode_ns)
"""Busy-waits the given number of nanoseconds (``submit(spin, 10_000)``); returns ``b""``."""

keccak256 = Kernel(_ffi.KERNEL_KECCAK256, "keccak256", 32)
"""Ethereum's Keccak-256 of the input bytes (32-byte digest; not SHA3-256)."""
