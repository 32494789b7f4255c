"""Property tests (hypothesis): bad input of every shape gets a clear exception or works.

Random values for submit's target, ``priority``, ``deadline_us`` and arguments, map iterables
of mixed types, EngineConfig fields, EngineConfig.from_env variables, Topology.from_spec
strings, and random bytes into keccak256 (checked against pycryptodome). Every example either
succeeds with the right result or raises InvalidTask / TypeError / ValueError with a message;
nothing crashes or hangs, and the engine answers a noop after every example.

One engine per test function: the `bg` fixture starts it on an event loop (asyncio, uvloop, then
a trio run) in a background thread; the sync @given tests hand coroutines to that loop.
Library bugs found this way have regression tests at the end.
"""

from __future__ import annotations

import array
import asyncio
import math
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import trio
import uvloop
from Crypto.Hash import keccak
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import aioultra
from aioultra import EngineConfig, Topology, _loops, kernels
from aioultra._topology import MAX_CPU_ID

from .helpers import gather

# AIOULTRA_PROPERTY_SCALE multiplies every max_examples (AIOULTRA_SOAK=1: 10x)
SCALE = int(os.environ.get("AIOULTRA_PROPERTY_SCALE", "10" if os.environ.get("AIOULTRA_SOAK") == "1" else "1"))


def examples(n: int) -> int:
    return n * SCALE


BACKENDS = 3  # the bg fixture's loops (asyncio, uvloop, trio): each run draws its own examples


def spread(total: int) -> int:
    """max_examples of a bg test: ``total`` examples in all over the backends' runs."""
    return max(1, examples(total) // BACKENDS)


SETTINGS = settings(
    max_examples=spread(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ERRORS = (TypeError, ValueError)  # InvalidTask is both
TIMEOUT = 20.0


def keccak_ref(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


class Background:
    """An engine on an event loop running in another thread; `run` awaits a coroutine there."""

    def __init__(self, factory: Callable[[], asyncio.AbstractEventLoop], **config: Any) -> None:
        self.loop = factory()
        self.errors: list[Any] = []
        self.loop.set_exception_handler(lambda _loop, ctx: self.errors.append(ctx))
        self.thread = threading.Thread(target=self.loop.run_forever, name="bg-loop", daemon=True)
        self.thread.start()
        self._start(config)

    def _start(self, config: dict[str, Any]) -> None:
        self.engine = aioultra.Engine(**{"spin_us": 0, "queue_capacity": 256, **config})
        self.run(self.engine.start())

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @staticmethod
    async def on_loop(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``await call(*args, **kwargs)`` made on the loop (submit must be called there)."""
        return await call(*args, **kwargs)

    def outcome(self, coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
        """(True, result) or (False, exception); a hang fails the example (TimeoutError)."""
        try:
            return True, self.run(coro)
        except TimeoutError:
            raise
        except Exception as exc:
            return False, exc

    def assert_serving(self) -> None:
        assert self.run(self.on_loop(self.engine.submit, kernels.noop)) == b""

    def close(self) -> None:
        try:
            deadline = time.monotonic() + TIMEOUT
            while self.engine.stats().queue_size and time.monotonic() < deadline:
                self.assert_serving()
            s = self.engine.stats()
            assert s.queue_size == 0, s
            finished = s.tasks_completed + s.tasks_failed + s.tasks_cancelled + s.tasks_expired
            assert s.tasks_submitted == finished, s
            self.run(self.engine.aclose())
        finally:
            self._stop()
        assert not self.errors, self.errors

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


class TrioBackground(Background):
    """The same on a trio run in another thread (``trio.from_thread`` runs each coroutine)."""

    def __init__(self, **config: Any) -> None:
        self.errors = []
        ready = threading.Event()

        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            self._done = trio.Event()
            loop = _loops.running_loop()  # the run's TrioLoop: failed callbacks are reported here
            loop.call_exception_handler = self.errors.append  # type: ignore[method-assign]
            ready.set()
            await self._done.wait()

        self.thread = threading.Thread(target=trio.run, args=(main,), name="bg-trio", daemon=True)
        self.thread.start()
        assert ready.wait(TIMEOUT), "the trio run did not start"
        self._start(config)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = TIMEOUT) -> Any:
        async def within() -> Any:
            with trio.move_on_after(timeout):
                return await coro
            raise TimeoutError(f"no result within {timeout} s")

        return trio.from_thread.run(within, trio_token=self._token)

    def _stop(self) -> None:
        trio.from_thread.run_sync(self._done.set, trio_token=self._token)
        self.thread.join(TIMEOUT)


@pytest.fixture(params=["asyncio", "uvloop", "trio"])
def bg(request: pytest.FixtureRequest) -> Iterator[Background]:
    if request.param == "trio":
        b: Background = TrioBackground()
    else:
        b = Background(asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop)
    yield b
    b.close()


def clear_error(exc: BaseException, *words: str) -> None:
    """A rejection: TypeError/ValueError (InvalidTask is both) with a message naming the problem."""
    assert isinstance(exc, ERRORS), f"unclear exception {type(exc).__name__}: {exc!r}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"
    if words:
        assert any(w in str(exc) for w in words), f"{exc!r} does not name any of {words}"


# ------------------------------------------------------------------ strategies

# huge ints have their own regression tests at the end
ints = st.one_of(st.integers(-300, 300), st.integers(-(2**64), 2**64))
floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, st.text(max_size=8), st.binary(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=6)
bytes_like = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(bytearray),
    st.binary(max_size=300).map(memoryview),
    st.tuples(st.binary(min_size=1, max_size=300), st.integers(0, 50)).map(lambda t: memoryview(t[0])[t[1] :]),
)
# kernel inputs: bytes-like ones and others (non-contiguous buffers, arrays, str, numbers, ...)
kernel_inputs = st.one_of(
    bytes_like,
    scalars,
    st.binary(min_size=2, max_size=40).map(lambda b: memoryview(b)[::2]),  # not C-contiguous
    st.lists(st.integers(0, 2**32 - 1), max_size=8).map(lambda xs: memoryview(array.array("I", xs))),
    st.binary(max_size=16).map(lambda b: array.array("B", b)),
)
identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda k: k not in ("priority", "deadline_us")
)


def valid_priority(p: object) -> bool:
    return p is None or (isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 255)


def valid_deadline(d: object) -> bool:
    if d is None:
        return True
    if not isinstance(d, int | float) or isinstance(d, bool):
        return False
    return math.isfinite(d) and 0 <= d <= 1e13


def is_submit_input(x: object) -> bool:
    """What a kernel's submit accepts as its one input."""
    return isinstance(x, bytes | bytearray) or (isinstance(x, memoryview) and x.c_contiguous)


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


class EchoTask(aioultra.Task):
    def execute(self) -> str:
        return "task"


# ------------------------------------------------------------------ submit


@SETTINGS
@given(
    target=st.sampled_from(["noop", "python", "task"]),
    priority=st.one_of(st.none(), st.integers(-2, 257), values),
    deadline=st.one_of(st.none(), st.integers(-2, 10**14), st.floats(-1e3, 1e14), values),
)
def test_submit_priority_and_deadline(bg: Background, target: str, priority: Any, deadline: Any) -> None:
    fn: Any = {"noop": kernels.noop, "python": echo, "task": EchoTask()}[target]
    expected = {"noop": b"", "python": ((), {}), "task": "task"}[target]
    ok, result = bg.outcome(bg.on_loop(bg.engine.submit, fn, priority=priority, deadline_us=deadline))
    event(f"submit {'ok' if ok else type(result).__name__}")
    if valid_priority(priority) and valid_deadline(deadline):
        if ok:
            assert result == expected
        else:  # a valid but tiny deadline may pass before a worker looks
            assert isinstance(result, aioultra.DeadlineExceeded) and deadline is not None, result
    else:
        assert not ok, f"accepted priority={priority!r} deadline_us={deadline!r}"
        clear_error(result, "priority", "deadline_us")
    bg.assert_serving()


@SETTINGS
@given(target=st.one_of(values, st.sampled_from([object(), type, 3j])))
def test_submit_non_callable_targets(bg: Background, target: Any) -> None:
    if callable(target):  # `type` is callable: type() needs arguments, the TypeError comes back
        ok, result = bg.outcome(bg.on_loop(bg.engine.submit, target))
        assert ok or isinstance(result, TypeError)
    else:
        ok, result = bg.outcome(bg.on_loop(bg.engine.submit, target))
        assert not ok
        assert isinstance(result, aioultra.InvalidTask)
        clear_error(result, "cannot submit")
    bg.assert_serving()


@SETTINGS
@given(args=st.lists(kernel_inputs, max_size=3), kwargs=st.dictionaries(identifier, values, max_size=2))
def test_keccak_submit_arguments(bg: Background, args: list[Any], kwargs: dict[str, Any]) -> None:
    ok, result = bg.outcome(bg.on_loop(bg.engine.submit, kernels.keccak256, *args, **kwargs))
    if not kwargs and len(args) <= 1 and all(is_submit_input(a) for a in args):
        assert ok, result
        data = memoryview(args[0]).tobytes() if args else b""
        assert result == keccak_ref(data)
    else:
        assert not ok, f"accepted args={args!r} kwargs={kwargs!r}"
        assert isinstance(result, aioultra.InvalidTask)
        clear_error(result, "keccak256")
    bg.assert_serving()


@SETTINGS
@given(args=st.lists(st.one_of(st.integers(-(2**70), 2**70), st.integers(0, 20_000), values), max_size=2))
def test_spin_arguments(bg: Background, args: list[Any]) -> None:
    def valid(xs: list[Any]) -> bool:
        return len(xs) == 1 and isinstance(xs[0], int) and not isinstance(xs[0], bool) and 0 <= xs[0] <= 60_000_000_000

    if valid(args) and args[0] > 20_000:
        args = [args[0] % 20_000]  # valid but long: keep the example short
    ok, result = bg.outcome(bg.on_loop(bg.engine.submit, kernels.spin, *args))
    if valid(args):
        assert ok and result == b"", result
    else:
        assert not ok, f"accepted {args!r}"
        assert isinstance(result, aioultra.InvalidTask)
        clear_error(result, "spin")
    bg.assert_serving()


@SETTINGS
@given(args=st.lists(values, max_size=4), kwargs=st.dictionaries(identifier, values, max_size=3))
def test_python_arguments_pass_through(bg: Background, args: list[Any], kwargs: dict[str, Any]) -> None:
    ok, result = bg.outcome(bg.on_loop(bg.engine.submit, echo, *args, **kwargs))
    assert ok, result
    got_args, got_kwargs = result
    assert len(got_args) == len(args) and all(a is b for a, b in zip(got_args, args, strict=True))
    assert got_kwargs.keys() == kwargs.keys() and all(got_kwargs[k] is kwargs[k] for k in kwargs)
    bg.assert_serving()


# ------------------------------------------------------------------ map


# ``map(k, items)`` and ``submit_many(k, items)`` accept exactly what ``submit(k, item)`` accepts.
def _user_kernels() -> dict[str, aioultra.Kernel[Any]]:
    from aioultra._core import lib

    def ns(args: tuple[Any, ...]) -> bytes:
        if len(args) != 1 or type(args[0]) is not int or not 0 <= args[0] < 20_000:
            raise aioultra.InvalidTask("user_spin takes one int 0..20000")
        return args[0].to_bytes(8, "little")

    return {
        "user_keccak": aioultra.Kernel.from_pointer(lib.aio_kernel_keccak256, name="user_keccak", out_size=32),
        "user_spin": aioultra.Kernel.from_pointer(lib.aio_kernel_spin, name="user_spin", encode=ns),
    }


RULE_KERNELS: dict[str, aioultra.Kernel[Any]] = {
    "noop": kernels.noop,
    "spin": kernels.spin,
    "keccak256": kernels.keccak256,
    "rlp_tx": kernels.rlp_tx,
    "univ2_amount_out": kernels.univ2_amount_out,
    "univ2_amount_in": kernels.univ2_amount_in,
    "univ2_backrun": kernels.univ2_backrun,
    "ecrecover": kernels.ecrecover,
    "tx_sender": kernels.tx_sender,
    "sign_tx": kernels.signer(b"\x42" * 32),
    **_user_kernels(),
}
small = st.integers(0, 20_000)
rule_items = st.one_of(
    kernel_inputs,
    small,
    st.tuples(small, small, small),
    st.tuples(small, small, small, small, small),
    st.tuples(st.integers(1, 10**6), st.integers(1, 10**9), st.integers(1, 10**9)),
    st.lists(small, min_size=3, max_size=3).map(lambda v: b"".join(x.to_bytes(32, "big") for x in v)),
    st.tuples(st.binary(min_size=31, max_size=33), st.binary(min_size=64, max_size=66)),  # (hash, signature)
    st.builds(
        kernels.Eip1559Tx,
        chain_id=small,
        nonce=small,
        max_priority_fee=small,
        max_fee=small,
        gas_limit=small,
        to=st.one_of(st.none(), st.binary(min_size=19, max_size=21)),
        data=st.binary(max_size=40),
    ),
)


def _outcome(ok: bool, value: Any) -> Any:
    """Comparable: a value, ("KernelError", code) or ("reject", message)."""
    if ok:
        return value
    if isinstance(value, aioultra.KernelError):
        return ("KernelError", value.code)
    clear_error(value)
    return ("reject", str(value))


async def _submit_many(engine: aioultra.Engine, kernel: Any, items: list[Any]) -> list[Any]:
    futures = engine.submit_many(kernel, items)
    return list(await gather(*futures, return_exceptions=True))


@SETTINGS
@given(name=st.sampled_from(sorted(RULE_KERNELS)), items=st.lists(rule_items, max_size=8))
def test_one_input_rule(bg: Background, name: str, items: list[Any]) -> None:
    kernel = RULE_KERNELS[name]
    each = [_outcome(*bg.outcome(bg.on_loop(bg.engine.submit, kernel, x))) for x in items]
    rejected = [i for i, o in enumerate(each) if isinstance(o, tuple) and o[0] == "reject"]
    ok_map, mapped = bg.outcome(bg.on_loop(bg.engine.map, kernel, items, return_exceptions=True))
    ok_many, many = bg.outcome(bg.on_loop(_submit_many, bg.engine, kernel, items))
    event(f"{name}: {'rejected' if rejected else 'accepted'}")
    if rejected:
        first = rejected[0]
        want = f"item {first}: {each[first][1]}"
        for ok, got in ((ok_map, mapped), (ok_many, many)):
            assert not ok, f"accepted {items!r}; submit rejected item {first}"
            assert isinstance(got, aioultra.InvalidTask) and str(got) == want, (got, want)
    else:
        assert ok_map, mapped
        assert ok_many, many
        assert [_outcome(not isinstance(r, BaseException), r) for r in mapped] == each
        assert [_outcome(not isinstance(r, BaseException), r) for r in many] == each
    bg.assert_serving()


# ------------------------------------------------------------------ keccak256 against a reference

sizes_near_the_rate = st.sampled_from([0, 1, 135, 136, 137, 271, 272, 273, 1000, 4096]).flatmap(
    lambda n: st.binary(min_size=n, max_size=n)
)


@settings(SETTINGS, max_examples=spread(400))
@given(
    data=st.one_of(st.binary(max_size=3000), sizes_near_the_rate), kind=st.sampled_from(["bytes", "bytearray", "view"])
)
def test_keccak256_matches_pycryptodome(bg: Background, data: bytes, kind: str) -> None:
    arg: Any = {"bytes": data, "bytearray": bytearray(data), "view": memoryview(b"\x00" + data)[1:]}[kind]
    assert bg.run(bg.on_loop(bg.engine.submit, kernels.keccak256, arg)) == keccak_ref(data)


@settings(SETTINGS, max_examples=spread(120))
@given(items=st.lists(st.binary(max_size=400), max_size=60))
def test_keccak256_map_matches_pycryptodome(bg: Background, items: list[bytes]) -> None:
    assert bg.run(bg.on_loop(bg.engine.map, kernels.keccak256, items)) == [keccak_ref(x) for x in items]


# ------------------------------------------------------------------ configuration and topology

FIELDS = [
    "workers_per_numa_node",
    "queue_capacity",
    "enable_work_stealing",
    "enable_cpu_affinity",
    "load_balance_threshold",
    "topology",
    "numa_enabled",
    "spin_us",
]
spec_chars = st.text(alphabet="0123456789-,;:/ \n", max_size=14)
config_values = st.one_of(
    values,
    st.integers(-4, 4),
    st.sampled_from([2, 4, 64, 1024, 1 << 24, 1 << 25, 3, 0.5, 1.0, 1e6, 1e7, -0.0]),
    spec_chars,
    st.builds(lambda: Topology(((0,),))),
)


# mostly well-typed values near the valid ranges, so that many configurations get started
small_specs = st.from_regex(r"[0-9](-[0-9])?(;[0-9](-[0-9])?){0,2}", fullmatch=True)
plausible = st.fixed_dictionaries(
    {},
    optional={
        "workers_per_numa_node": st.one_of(st.none(), st.integers(-1, 3)),
        "queue_capacity": st.sampled_from([0, 1, 2, 3, 4, 64, 1000, 1024, 8192]),
        "enable_work_stealing": st.one_of(st.booleans(), st.sampled_from([0, 1, "yes", None])),
        "enable_cpu_affinity": st.one_of(st.booleans(), st.sampled_from([0, 1, "no", None])),
        "numa_enabled": st.one_of(st.booleans(), st.sampled_from([0, 1, None])),
        "load_balance_threshold": st.one_of(st.floats(-0.5, 1.5), st.integers(-1, 2)),
        "topology": st.one_of(st.none(), small_specs, spec_chars),
        "spin_us": st.one_of(st.floats(-1.0, 2e6), st.integers(0, 100)),
    },
)


def _worker_count(config: EngineConfig) -> int:
    topo = config.resolve_topology()
    return sum(config.workers_per_numa_node or len(cpus) for cpus in topo.nodes)


@settings(SETTINGS, max_examples=spread(300))
@given(overrides=st.one_of(st.dictionaries(st.sampled_from(FIELDS), config_values, min_size=1, max_size=3), plausible))
def test_engine_config_fields(bg: Background, overrides: dict[str, Any]) -> None:
    try:
        config = EngineConfig(**overrides)
    except Exception as exc:
        event("config rejected")
        clear_error(exc)
        with pytest.raises(ERRORS):
            aioultra.Engine(**overrides)
        return
    for name, value in overrides.items():
        assert getattr(config, name) is value
    assert config.replace() == config
    engine = aioultra.Engine(config)
    # start the small ones for real (a random spec may name CPUs this machine lacks)
    if config.queue_capacity <= 65536 and _worker_count(config) <= 8:

        async def use() -> None:
            async with engine:
                assert await engine.submit(kernels.noop) == b""
                assert await engine.submit(echo, 1) == ((1,), {})

        event("config started")
        bg.run(use(), timeout=60)
    bg.assert_serving()


ENV_NAMES = [
    "AIOULTRA_NUMA_ENABLED",
    "AIOULTRA_CPU_AFFINITY",
    "AIOULTRA_WORK_STEALING",
    "AIOULTRA_WORKERS_PER_NODE",
    "AIOULTRA_QUEUE_CAPACITY",
    "AIOULTRA_LOAD_BALANCE_THRESHOLD",
    "AIOULTRA_SPIN_US",
    "AIOULTRA_TOPOLOGY",
]


@settings(SETTINGS, max_examples=examples(200))
@given(
    env=st.dictionaries(
        st.sampled_from(ENV_NAMES),
        st.one_of(st.text(max_size=10), spec_chars, st.sampled_from(["1", "0", "yes", "off", "64", "1e400", "nan"])),
        max_size=4,
    )
)
def test_engine_config_from_env(env: dict[str, str]) -> None:
    try:
        config = EngineConfig.from_env(env)
    except Exception as exc:
        clear_error(exc)
        assert any(name in str(exc) for name in env), f"{exc!r} names no variable"
        return
    assert isinstance(config, EngineConfig)


@settings(SETTINGS, max_examples=examples(500))
@given(
    spec=st.one_of(
        st.text(max_size=20),
        spec_chars,
        st.from_regex(r"[0-9]{1,3}(-[0-9]{1,3})?(;[0-9]{1,3}(-[0-9]{1,3})?){0,3}", fullmatch=True),
    )
)
def test_topology_from_spec(spec: str) -> None:
    try:
        topo = Topology.from_spec(spec)
    except Exception as exc:
        clear_error(exc)
        assert isinstance(exc, ValueError)
    else:
        assert topo.node_count == len(spec.split(";"))
        seen: set[int] = set()
        for cpus in topo.nodes:
            assert cpus and cpus == sorted(set(cpus))
            assert seen.isdisjoint(cpus)
            seen.update(cpus)
        assert max(seen) <= MAX_CPU_ID


# ------------------------------------------------------------------ regressions (bugs found here, fixed)


def test_huge_int_deadline_is_invalid_task(bg: Background) -> None:
    ok, result = bg.outcome(bg.on_loop(bg.engine.submit, kernels.noop, deadline_us=10**400))
    if isinstance(result, OverflowError):
        raise result
    assert not ok and isinstance(result, aioultra.InvalidTask)


@pytest.mark.parametrize("field", ["spin_us", "load_balance_threshold"])
def test_huge_int_config_is_value_error(field: str) -> None:
    with pytest.raises(ValueError):
        EngineConfig(**{field: 10**400})


def test_map_memoryview_of_wide_items(bg: Background) -> None:
    wide = memoryview(array.array("I", [1, 2, 3]))
    assert bg.run(bg.on_loop(bg.engine.map, kernels.keccak256, [wide, b"x"])) == [
        keccak_ref(wide.tobytes()),
        keccak_ref(b"x"),
    ]


def test_map_non_contiguous_memoryview_is_invalid_task(bg: Background) -> None:
    ok, result = bg.outcome(bg.on_loop(bg.engine.map, kernels.keccak256, [memoryview(b"abcdef")[::2]]))
    assert not ok and isinstance(result, aioultra.InvalidTask), repr(result)
