"""The Kernel type: a native C function the workers run without the GIL (see
:mod:`aioultra.kernels` for the built-ins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from . import _ffi, _kinds
from ._errors import InvalidTask
from ._task import DEFAULT_PRIORITY

BytesLike = bytes | bytearray | memoryview
R = TypeVar("R")
Decoder = Callable[[bytes, Any], Any]

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
