"""User kernels: a real cffi module compiled in the test, wrapped with Kernel.from_pointer.

Covers the inline output path (out_size <= 64) and the external buffer path (out_size > 64),
every accepted pointer form, a ctx pointer, submit and map, negative return codes
(KernelError with .code and, for map, .index), a kernel that claims more than out_cap, and
bad from_pointer arguments. The engine keeps serving after every error.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

import pytest

import aioultra
from aioultra import kernels

from .helpers import gather, wait_for

MODULE = "aioultra_test_userkern"
INLINE = 64  # AIO_INLINE_OUT: outputs up to this size live in the task record
BIG = 4096

SIG = "(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx)"
KERNELS = ("reverse", "add_ctx", "fail_on_x", "liar")
CDEF = "".join(f"int64_t {name}{SIG};\n" for name in KERNELS)

C_SOURCE = r"""
#include <stdint.h>
#include <stddef.h>

/* the input reversed; -2 when it does not fit */
int64_t reverse(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    (void)ctx;
    if (out_cap < in_len) return -2;
    for (size_t i = 0; i < in_len; i++) out[i] = in[in_len - 1 - i];
    return (int64_t)in_len;
}

/* (sum of the input bytes + *(int64_t *)ctx) as 8 little-endian bytes */
int64_t add_ctx(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    if (ctx == NULL) return -4;
    if (out_cap < 8) return -3;
    int64_t v = *(const int64_t *)ctx;
    for (size_t i = 0; i < in_len; i++) v += in[i];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(u >> (8 * i));
    return 8;
}

/* -7 when the input contains 'x', else a copy of the input */
int64_t fail_on_x(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    (void)ctx;
    for (size_t i = 0; i < in_len; i++)
        if (in[i] == 'x') return -7;
    if (out_cap < in_len) return -2;
    for (size_t i = 0; i < in_len; i++) out[i] = in[i];
    return (int64_t)in_len;
}

/* fills out_cap bytes (never more) but claims out_cap + 10 */
int64_t liar(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, void *ctx) {
    (void)in; (void)in_len; (void)ctx;
    for (size_t i = 0; i < out_cap; i++) out[i] = 0xAB;
    return (int64_t)out_cap + 10;
}
"""


@dataclass(frozen=True)
class UserModule:
    ffi: Any
    lib: Any
    module: Any

    def addr(self, name: str) -> int:
        return int(self.ffi.cast("uintptr_t", getattr(self.lib, name)))


@pytest.fixture(scope="session")
def userkern(tmp_path_factory: pytest.TempPathFactory) -> UserModule:
    """Compile and import the test's own cffi module (once per session)."""
    import cffi

    tmpdir = tmp_path_factory.mktemp("userkern")
    builder = cffi.FFI()
    builder.cdef(CDEF)
    builder.set_source(MODULE, C_SOURCE, extra_compile_args=["-O2", "-Wall", "-Werror"])
    builder.compile(tmpdir=str(tmpdir))
    sys.path.insert(0, str(tmpdir))
    try:
        mod = importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(tmpdir))
    return UserModule(mod.ffi, mod.lib, mod)


def reverse_kernel(u: UserModule, out_size: int) -> aioultra.Kernel:
    return aioultra.Kernel.from_pointer(u.lib.reverse, name="reverse", out_size=out_size, keepalive=u.module)


def ctx_result(data: bytes, ctx: int) -> bytes:
    return ((sum(data) + ctx) % (1 << 64)).to_bytes(8, "little")


async def still_serving(engine: aioultra.Engine, u: UserModule) -> None:
    rev = reverse_kernel(u, 16)
    assert await wait_for(engine.submit(rev, b"serving")) == b"gnivres"
    assert await wait_for(engine.submit(kernels.noop)) == b""
    assert await wait_for(engine.submit(lambda: 42)) == 42


# --- pointer forms and output paths ------------------------------------------------------


@pytest.mark.parametrize("form", ["lib_attr", "addressof", "int_address"])
async def test_pointer_forms(engine: aioultra.Engine, userkern: UserModule, form: str) -> None:
    u = userkern
    ptr = {
        "lib_attr": u.lib.reverse,
        "addressof": u.ffi.addressof(u.lib, "reverse"),
        "int_address": u.addr("reverse"),
    }[form]
    k = aioultra.Kernel.from_pointer(ptr, name="reverse", out_size=32, keepalive=u.module)
    assert k.name == "reverse" and k.out_size == 32
    assert "reverse" in repr(k)
    assert await wait_for(engine.submit(k, b"abc")) == b"cba"


@pytest.mark.parametrize(
    ("out_size", "lengths"),
    [
        (8, [0, 1, 8]),
        (INLINE, [0, 1, 2, 7, 31, 63, 64]),  # inline output
        (INLINE + 1, [0, 1, 64, 65]),  # smallest external buffer
        (BIG, [0, 1, 65, 1000, 4095, 4096]),  # external buffer
    ],
    ids=["out8", "out64-inline", "out65-external", "out4096-external"],
)
async def test_reverse_output_paths(
    engine: aioultra.Engine, userkern: UserModule, out_size: int, lengths: list[int]
) -> None:
    k = reverse_kernel(userkern, out_size)
    for n in lengths:
        data = bytes((i * 7 + n) % 256 for i in range(n))
        out = await wait_for(engine.submit(k, data))
        assert isinstance(out, bytes)
        assert out == data[::-1], n
    # bytearray and memoryview slices are inputs too
    assert await wait_for(engine.submit(k, bytearray(b"hello"))) == b"olleh"
    assert await wait_for(engine.submit(k, memoryview(b"0123456789")[2:6])) == b"5432"
    # an input larger than out_size: the kernel's own -2 comes back as KernelError
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.submit(k, b"z" * (out_size + 1)))
    assert info.value.code == -2
    assert info.value.kernel == "reverse"
    assert info.value.index is None
    await still_serving(engine, userkern)


@pytest.mark.parametrize("out_size", [16, BIG])
async def test_concurrent_submits(engine: aioultra.Engine, userkern: UserModule, out_size: int) -> None:
    k = reverse_kernel(userkern, out_size)
    inputs = [bytes([i % 251]) * (i % 17) for i in range(300)]
    outs = await wait_for(gather(*(engine.submit(k, d) for d in inputs)))
    assert outs == [d[::-1] for d in inputs]


# --- ctx ---------------------------------------------------------------------------------


async def test_ctx_cdata_pointer(engine: aioultra.Engine, userkern: UserModule) -> None:
    u = userkern
    ctx = u.ffi.new("int64_t *", 1000)
    k = aioultra.Kernel.from_pointer(u.lib.add_ctx, name="add_ctx", out_size=8, ctx=ctx)
    for data in (b"", b"\x01", b"\xff" * 100, bytes(range(256))):
        assert await wait_for(engine.submit(k, data)) == ctx_result(data, 1000)
    # the pointer is passed, not a copy of its value
    ctx[0] = -5
    assert await wait_for(engine.submit(k, b"\x02\x03")) == ctx_result(b"\x02\x03", -5)


async def test_ctx_int_address_and_separate_contexts(engine: aioultra.Engine, userkern: UserModule) -> None:
    u = userkern
    a = u.ffi.new("int64_t *", 1000)
    b = u.ffi.new("int64_t *", -1)
    ka = aioultra.Kernel.from_pointer(u.lib.add_ctx, name="add_a", out_size=BIG, ctx=a)
    kb = aioultra.Kernel.from_pointer(
        u.addr("add_ctx"), name="add_b", out_size=8, ctx=int(u.ffi.cast("uintptr_t", b)), keepalive=b
    )
    inputs = [bytes([i % 256]) * (i % 5) for i in range(100)]
    got = await wait_for(gather(*(engine.submit(k, d) for d in inputs for k in (ka, kb))))
    want = [ctx_result(d, c) for d in inputs for c in (1000, -1)]
    assert got == want


async def test_ctx_kernel_in_map(engine: aioultra.Engine, userkern: UserModule) -> None:
    u = userkern
    ctx = u.ffi.new("int64_t *", 7)
    k = aioultra.Kernel.from_pointer(u.lib.add_ctx, name="add_ctx", out_size=8, ctx=ctx)
    items = [bytes(range(i % 256)) for i in range(500)]
    assert await wait_for(engine.map(k, items)) == [ctx_result(d, 7) for d in items]


async def test_missing_ctx_is_the_kernels_business(engine: aioultra.Engine, userkern: UserModule) -> None:
    k = aioultra.Kernel.from_pointer(userkern.lib.add_ctx, name="add_ctx", out_size=8)
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.submit(k, b"a"))
    assert info.value.code == -4  # the kernel saw ctx == NULL
    await still_serving(engine, userkern)


# --- map ---------------------------------------------------------------------------------


@pytest.mark.parametrize("out_size", [INLINE, BIG])
async def test_map_reverse(engine: aioultra.Engine, userkern: UserModule, out_size: int) -> None:
    k = reverse_kernel(userkern, out_size)
    longest = min(out_size, 300)
    items: list[Any] = [bytes((i + j) % 256 for j in range(i % (longest + 1))) for i in range(2000)]
    items[3] = bytearray(b"bytearray")
    items[4] = memoryview(b"..memoryview..")[2:-2]
    got = await wait_for(engine.map(k, items))
    assert got == [bytes(x)[::-1] for x in items]
    assert await wait_for(engine.map(k, [])) == []
    assert await wait_for(engine.map(k, [b"one"])) == [b"eno"]


async def test_map_too_long_item_reports_its_index(engine: aioultra.Engine, userkern: UserModule) -> None:
    k = reverse_kernel(userkern, 8)
    items = [b"short"] * 50
    items[23] = b"much too long for eight bytes"
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.map(k, items))
    assert info.value.code == -2
    assert info.value.index == 23
    await still_serving(engine, userkern)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("out_size", [16, BIG])
async def test_negative_return_raises_kernel_error(
    engine: aioultra.Engine, userkern: UserModule, out_size: int
) -> None:
    k = aioultra.Kernel.from_pointer(userkern.lib.fail_on_x, name="fail_on_x", out_size=out_size)
    assert await wait_for(engine.submit(k, b"abc")) == b"abc"
    before = engine.stats().tasks_failed
    for data in (b"x", b"abcx", b"xxxx"):
        with pytest.raises(aioultra.KernelError, match=r"kernel 'fail_on_x' failed with code -7") as info:
            await wait_for(engine.submit(k, data))
        assert info.value.code == -7
        assert info.value.kernel == "fail_on_x"
        assert info.value.index is None
        assert isinstance(info.value, aioultra.UltraEngineError)
        await still_serving(engine, userkern)
    assert engine.stats().tasks_failed >= before + 3


@pytest.mark.parametrize("out_size", [16, BIG])
async def test_map_negative_return_carries_index(engine: aioultra.Engine, userkern: UserModule, out_size: int) -> None:
    k = aioultra.Kernel.from_pointer(userkern.lib.fail_on_x, name="fail_on_x", out_size=out_size)
    items = [b"ok%d" % i for i in range(1000)]
    assert await wait_for(engine.map(k, items)) == items
    items[37] = b"has an x"
    items[600] = b"x as well"
    with pytest.raises(aioultra.KernelError, match=r"on item 37 with code -7") as info:
        await wait_for(engine.map(k, items))
    assert info.value.code == -7
    assert info.value.index == 37  # the first failing item
    # only the last item fails
    items = [b"fine"] * 99 + [b"x"]
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.map(k, items))
    assert (info.value.code, info.value.index) == (-7, 99)
    await still_serving(engine, userkern)


@pytest.mark.parametrize("out_size", [0, 1, 16, INLINE, INLINE + 1, BIG])
async def test_return_above_out_cap_is_an_error(engine: aioultra.Engine, userkern: UserModule, out_size: int) -> None:
    """A kernel claiming out_cap + 10 bytes is reported, not read past its buffer."""
    liar = aioultra.Kernel.from_pointer(userkern.lib.liar, name="liar", out_size=out_size)
    for data in (b"", b"abc"):
        with pytest.raises(aioultra.KernelError) as info:
            await wait_for(engine.submit(liar, data))
        assert info.value.code < 0
        assert info.value.kernel == "liar"
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.map(liar, [b"a", b"b", b"c"]))
    assert info.value.code < 0
    assert info.value.index == 0
    await still_serving(engine, userkern)


# --- bad from_pointer arguments ----------------------------------------------------------


def test_from_pointer_rejects_bad_pointers(userkern: UserModule) -> None:
    u = userkern
    fnptr = "int64_t(*)" + SIG
    with pytest.raises(TypeError, match="must be a cffi pointer or an int address, got NoneType"):
        aioultra.Kernel.from_pointer(None, name="k")
    with pytest.raises(TypeError, match="got str"):
        aioultra.Kernel.from_pointer("reverse", name="k")
    with pytest.raises(TypeError, match="got object"):
        aioultra.Kernel.from_pointer(object(), name="k")
    with pytest.raises(TypeError, match="must be a function cdata"):
        aioultra.Kernel.from_pointer(u.ffi.new("int *"), name="k")
    with pytest.raises(ValueError, match="must be positive"):
        aioultra.Kernel.from_pointer(0, name="k")
    with pytest.raises(ValueError, match="must be positive"):
        aioultra.Kernel.from_pointer(-1, name="k")
    with pytest.raises(ValueError, match="NULL"):
        aioultra.Kernel.from_pointer(u.ffi.NULL, name="k")
    with pytest.raises(ValueError, match="NULL"):
        aioultra.Kernel.from_pointer(u.ffi.cast(fnptr, 0), name="k")
    with pytest.raises(ValueError, match="NULL"):
        aioultra.Kernel.from_pointer(aioultra._ffi.ffi.NULL, name="k")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "non-empty str"),
        ({"name": None}, "non-empty str"),
        ({"name": b"reverse"}, "non-empty str"),
        ({"name": "k", "out_size": -1}, "out_size must be an int between 0 and"),
        ({"name": "k", "out_size": (1 << 30) + 1}, "out_size must be an int between 0 and"),
        ({"name": "k", "out_size": 1.5}, "out_size must be an int between 0 and"),
        ({"name": "k", "out_size": True}, "out_size must be an int between 0 and"),
        ({"name": "k", "out_size": "64"}, "out_size must be an int between 0 and"),
    ],
)
def test_from_pointer_rejects_bad_name_and_out_size(userkern: UserModule, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        aioultra.Kernel.from_pointer(userkern.lib.reverse, **kwargs)


def test_from_pointer_requires_keyword_name(userkern: UserModule) -> None:
    with pytest.raises(TypeError):
        aioultra.Kernel.from_pointer(userkern.lib.reverse)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        aioultra.Kernel.from_pointer(userkern.lib.reverse, "reverse")  # type: ignore[misc]


# Values that are neither a pointer nor an int address must not be cast into one (cffi's cast
# would turn "x" into 0x78 and True into 0x1, and running such a kernel would crash).
@pytest.mark.parametrize("ptr", ["x", b"x", 1.5, True])
def test_from_pointer_rejects_non_address_scalars(ptr: object) -> None:
    with pytest.raises(TypeError):
        aioultra.Kernel.from_pointer(ptr, name="k")


@pytest.mark.parametrize("ctx", ["x", b"x", 1.5, True])
def test_ctx_rejects_non_address_scalars(userkern: UserModule, ctx: object) -> None:
    with pytest.raises(TypeError):
        aioultra.Kernel.from_pointer(userkern.lib.add_ctx, name="k", out_size=8, ctx=ctx)


async def test_bad_submissions_of_user_kernels(engine: aioultra.Engine, userkern: UserModule) -> None:
    k = reverse_kernel(userkern, 16)
    with pytest.raises(aioultra.InvalidTask, match="encode the str first"):
        await wait_for(engine.submit(k, "text"))
    with pytest.raises(aioultra.InvalidTask, match=r"item 1: .*got int"):
        await wait_for(engine.map(k, [b"a", 1]))
    await still_serving(engine, userkern)
