"""Binding layer: the only module that touches cffi's ``lib``.

It mirrors the C names of ``csrc/aioultra.h`` and turns return codes into exceptions through
one helper, :func:`check`. Everything above it is typed Python; this layer deals in cdata.
"""

from __future__ import annotations

import array
import os
import struct
from collections import namedtuple
from collections.abc import Callable
from types import BuiltinFunctionType
from typing import Any

from ._core import ffi, lib
from ._errors import EngineClosed, QueueFull, UltraEngineError

__all__ = ["ffi"]

OK = lib.AIO_OK
EFULL = lib.AIO_EFULL
STATUS_OK = lib.AIO_STATUS_OK
STATUS_FAILED = lib.AIO_STATUS_FAILED
STATUS_CANCELLED = lib.AIO_STATUS_CANCELLED
STATUS_EXPIRED = lib.AIO_STATUS_EXPIRED
INLINE_OUT = lib.AIO_INLINE_OUT
NULL = ffi.NULL

Cdata = Any  # cffi cdata objects are untyped


def check(rc: int, what: str) -> int:
    """Return ``rc`` when it is not an error code, else raise the matching exception."""
    if rc >= 0:
        return rc
    if rc == lib.AIO_EFULL:
        raise QueueFull(f"{what}: in-flight tasks reached queue_capacity")
    if rc == lib.AIO_ECLOSED:
        raise EngineClosed(f"{what}: the engine is stopping or stopped")
    if rc == lib.AIO_EINVAL:
        raise ValueError(f"{what}: invalid argument")
    if rc == lib.AIO_ENOMEM:
        raise MemoryError(f"{what}: out of memory")
    if rc == lib.AIO_ESYS:
        raise OSError(ffi.errno, f"{what}: {os.strerror(ffi.errno)}")
    raise UltraEngineError(f"{what}: unexpected return code {rc}")


# --- Python jobs: the worker-side entry --------------------------------------------------

_dispatch: Callable[[int], int] | None = None


def set_py_dispatch(fn: Callable[[int], int]) -> None:
    """Install the function that runs Python job ``id`` on a worker thread."""
    global _dispatch
    _dispatch = fn


def _entry_error(exc_type: Any, exc: BaseException | None, tb: Any) -> int:
    return int(STATUS_FAILED)


@ffi.def_extern(onerror=_entry_error)  # type: ignore[untyped-decorator]
def aio_py_entry(job_id: int) -> int:
    """Called by a worker thread (cffi holds the GIL for us) to run one Python job."""
    dispatch = _dispatch
    if dispatch is None:
        return int(STATUS_FAILED)
    return dispatch(job_id)


# --- engine lifecycle --------------------------------------------------------------------


def engine_create(
    node_workers: list[int],
    worker_cpus: list[int],
    cpu_node: list[int],
    capacity: int,
    enable_stealing: bool,
    enable_affinity: bool,
    balance_threshold: float,
    spin_ns: int,
    wake_policy: str,
    adaptive_spin: bool,
    max_searchers: int,
    record_latency: bool = True,
) -> Cdata:
    """aio_engine_create: returns the engine pointer (not started)."""
    keep = [
        ffi.new("int32_t[]", node_workers),
        ffi.new("int32_t[]", worker_cpus),
        ffi.new("int32_t[]", cpu_node or [0]),
    ]
    cfg = ffi.new(
        "aio_engine_config *",
        {
            "n_nodes": len(node_workers),
            "node_workers": keep[0],
            "worker_cpus": keep[1],
            "n_cpus_map": len(cpu_node),
            "cpu_node": keep[2],
            "capacity": capacity,
            "enable_stealing": int(enable_stealing),
            "enable_affinity": int(enable_affinity),
            "balance_threshold": balance_threshold,
            "spin_ns": spin_ns,
            "wake_policy": lib.AIO_WAKE_LOCAL if wake_policy == "local" else lib.AIO_WAKE_ANY,
            "adaptive_spin": int(adaptive_spin),
            "max_searchers": max_searchers,
            "py_entry": lib.aio_py_entry,
            "record_latency": int(record_latency),
        },
    )
    out = ffi.new("aio_engine **")
    check(lib.aio_engine_create(cfg, out), "aio_engine_create")
    return out[0]


def engine_start(engine: Cdata) -> None:
    """aio_engine_start: launch the workers and wait until each is set up."""
    check(lib.aio_engine_start(engine), "aio_engine_start")


def engine_stop(engine: Cdata) -> None:
    """aio_engine_stop: stop and join the workers (the GIL is released while joining)."""
    check(lib.aio_engine_stop(engine), "aio_engine_stop")


def engine_destroy(engine: Cdata) -> None:
    """aio_engine_destroy: free the engine (workers must be stopped)."""
    lib.aio_engine_destroy(engine)


# --- channels ----------------------------------------------------------------------------


def channel_create(engine: Cdata) -> Cdata:
    """aio_channel_create: a completion channel for one event loop."""
    out = ffi.new("aio_channel **")
    check(lib.aio_channel_create(engine, out), "aio_channel_create")
    return out[0]


channel_fd: Callable[[Cdata], int] = lib.aio_channel_fd
channel_destroy: Callable[[Cdata], None] = lib.aio_channel_destroy
channel_drain: Callable[[Cdata, Cdata, int], int] = lib.aio_channel_drain
channel_arm: Callable[[Cdata], int] = lib.aio_channel_arm
channel_ack: Callable[[Cdata], int] = lib.aio_channel_ack
channel_inflight: Callable[[Cdata], int] = lib.aio_channel_inflight


def new_completions(n: int) -> Cdata:
    """A buffer of n aio_completion records for channel_drain."""
    return ffi.new("aio_completion[]", n)


# --- submission --------------------------------------------------------------------------

#: aio_channel_submit(ch, spec, id, in, in_len, out): the task's record address (> 0) or an
#: AIO_E* code (< 0; pass it to :func:`check`). Called directly on the hot path.
channel_submit: Callable[[Cdata, Cdata, int, Cdata, int, Cdata], int] = lib.aio_channel_submit
_submit_many = lib.aio_channel_submit_many
_channel_submit_batch = lib.aio_channel_submit_batch


def spec(fn: Cdata, ctx: Cdata, out_cap: int, deadline_ns: int, priority: int, weight: int, kind: int) -> Cdata:
    """A new aio_spec: what a submission runs and how (shared by many submissions); ``kind``:
    the per-kind counters' slot its tasks count in."""
    return ffi.new(
        "aio_spec *",
        {
            "fn": fn,
            "ctx": ctx,
            "out_cap": out_cap,
            "deadline_ns": deadline_ns,
            "priority": priority,
            "node": -1,
            "weight": weight,
            "kind": kind,
        },
    )


def submit_many(
    channel: Cdata, spec: Cdata, first_id: int, n: int, data: Cdata, offsets: Cdata, out: Cdata, tasks: Cdata
) -> int:
    """aio_channel_submit_many: how many of the n tasks were accepted (a prefix, >= 1); raises
    (QueueFull, EngineClosed, ...) when none was."""
    rc = _submit_many(channel, spec, first_id, n, data, offsets, out, tasks)
    return check(rc, "submit_many")


def submit_batch(
    channel: Cdata, spec: Cdata, job_id: int, data: Cdata, offsets: Cdata, n: int, out: Cdata, rcs: Cdata
) -> int:
    """aio_channel_submit_batch: one task running spec's kernel over n items (spec.fn NULL: a
    Python batch, buffers NULL); returns the record address."""
    return check(_channel_submit_batch(channel, spec, job_id, data, offsets, n, out, rcs), "map")


def task_cancel_at(address: int, job_id: int) -> None:
    """aio_task_cancel on the record at ``address`` (as returned by the channel_submit calls)."""
    lib.aio_task_cancel(ffi.cast("aio_task *", address), job_id)


# --- statistics and topology -------------------------------------------------------------


KINDS = int(lib.AIO_KINDS)
KIND_FIELDS = 5  # completed, failed, cancelled, expired, run_ns
LATENCY_QUEUE_WAIT = lib.AIO_LATENCY_QUEUE_WAIT
LATENCY_RUN = lib.AIO_LATENCY_RUN
LATENCY_DELIVERY = lib.AIO_LATENCY_DELIVERY
HIST_BUCKETS = int(lib.aio_hist_bucket_count())
#: the lower bound and width (ns) of every histogram bucket
HIST_LOWER = tuple(int(lib.aio_hist_bucket_lower(i)) for i in range(HIST_BUCKETS))
HIST_WIDTH = tuple(int(lib.aio_hist_bucket_width(i)) for i in range(HIST_BUCKETS))


_FIELD_CODES = {"int32_t": "i", "uint32_t": "I", "int64_t": "q", "uint64_t": "Q"}


class StructRow:
    """One C struct of integer fields, read in a single ``struct.unpack`` into a named tuple
    of the C field names (reading a cffi struct's fields one by one costs about 0.1 us each).
    The layout comes from cffi's own view of the struct, so it cannot drift from the C one."""

    def __init__(self, ctype: str) -> None:
        t = ffi.typeof(ctype)
        fmt, at = "=", 0  # native byte order, no implicit padding: the pads are spelled out
        for name, f in t.fields:
            code = _FIELD_CODES.get(f.type.cname)
            if code is None or f.bitshift != -1 or f.offset < at:
                raise TypeError(f"{ctype}.{name}: a {f.type.cname} field cannot be read as a row")
            fmt += "x" * (f.offset - at) + code
            at = f.offset + ffi.sizeof(f.type)
        self._struct = struct.Struct(fmt + "x" * (ffi.sizeof(t) - at))
        if self._struct.size != ffi.sizeof(t):
            raise TypeError(f"{ctype}: row layout of {self._struct.size} bytes, struct of {ffi.sizeof(t)}")
        self._make = namedtuple(ctype, [name for name, _ in t.fields])._make  # type: ignore[attr-defined]

    def read(self, buffer: Any) -> Any:
        """The fields of the struct in ``buffer`` (its ``ffi.buffer``), as a named tuple."""
        return self._make(self._struct.unpack(buffer))


_ENGINE_ROW = StructRow("aio_engine_stats")
_WORKER_ROW = StructRow("aio_worker_stats")
_NODE_ROW = StructRow("aio_node_stats")
_LATENCY_ROW = StructRow("aio_latency")


class StatsReader:
    """The statistics calls of one engine, into buffers allocated once (a snapshot costs no
    allocation but its copies). One thread at a time: the engine holds its lock around them.
    The structs come back as named tuples of their C fields (``StructRow``)."""

    def __init__(self, engine: Cdata, n_workers: int, n_nodes: int) -> None:
        self._engine = engine
        self._stats = ffi.new("aio_engine_stats *")
        self._stats_bytes = ffi.buffer(self._stats)
        self._workers = [ffi.new("aio_worker_stats *") for _ in range(n_workers)]
        self._workers_bytes = [ffi.buffer(w) for w in self._workers]
        self._nodes = [ffi.new("aio_node_stats *") for _ in range(n_nodes)]
        self._nodes_bytes = [ffi.buffer(n) for n in self._nodes]
        self._kinds = ffi.new("aio_kind_stats[]", KINDS)
        self._kinds_bytes = ffi.buffer(self._kinds)
        self._buckets = ffi.new("uint64_t[]", HIST_BUCKETS)
        self._buckets_bytes = memoryview(ffi.buffer(self._buckets))
        self._latency = ffi.new("aio_latency *")
        self._latency_bytes = ffi.buffer(self._latency)

    def engine(self) -> Any:
        """aio_engine_get_stats, as a named tuple of its fields."""
        lib.aio_engine_get_stats(self._engine, self._stats)
        return _ENGINE_ROW.read(self._stats_bytes)

    def workers(self) -> list[Any]:
        """aio_worker_get_stats of every worker, as named tuples of their fields."""
        rows = []
        for i, out in enumerate(self._workers):
            check(lib.aio_worker_get_stats(self._engine, i, out), "aio_worker_get_stats")
            rows.append(_WORKER_ROW.read(self._workers_bytes[i]))
        return rows

    def nodes(self) -> list[Any]:
        """aio_node_get_stats of every node, as named tuples of their fields."""
        rows = []
        for i, out in enumerate(self._nodes):
            check(lib.aio_node_get_stats(self._engine, i, out), "aio_node_get_stats")
            rows.append(_NODE_ROW.read(self._nodes_bytes[i]))
        return rows

    def kinds(self) -> array.array[int]:
        """aio_engine_get_kinds: KIND_FIELDS counters per kind slot (completed, failed,
        cancelled, expired, run_ns), slot after slot, in one flat array (a copy)."""
        check(lib.aio_engine_get_kinds(self._engine, self._kinds, KINDS), "aio_engine_get_kinds")
        flat = array.array("Q")
        flat.frombytes(self._kinds_bytes)
        return flat

    def latency(self, stage: int) -> tuple[int, int, int, array.array[int]]:
        """aio_engine_get_latency: (count, sum_ns, max_ns, buckets) of one stage (a copy of the
        buckets up to the largest value's: those above are empty)."""
        check(lib.aio_engine_get_latency(self._engine, stage, self._buckets, self._latency), "aio_engine_get_latency")
        count, sum_ns, max_ns, used = _LATENCY_ROW.read(self._latency_bytes)
        counts = array.array("Q")
        counts.frombytes(self._buckets_bytes[: used * 8])  # one copy, no Python int per bucket
        return count, sum_ns, max_ns, counts


def current_cpu() -> int:
    """CPU the calling thread runs on, or -1."""
    return int(lib.aio_current_cpu())


# --- microbenchmarks ---------------------------------------------------------------------

MICROBENCHMARKS: dict[str, Callable[[int], float]] = {
    "deque push+pop": lib.aio_bench_deque_push_pop,
    "deque steal": lib.aio_bench_deque_steal,
    "injector push+pop": lib.aio_bench_injector_push_pop,
    "completion push+drain": lib.aio_bench_completion_push_drain,
    "pool alloc+free": lib.aio_bench_pool_alloc_free,
}


def floor_round_trip(caller_cpu: int, peer_cpu: int, gap_ns: int, jitter: bool, n: int) -> tuple[float, float]:
    """aio_floor_round_trip: (p50, p99) in us of the eventfd round trip to a blocked peer thread
    after a gap of ``gap_ns`` (``jitter``: uniformly within +-50%), with the caller and the peer
    on threads of their own pinned to ``caller_cpu`` and ``peer_cpu`` (-1: unpinned). The GIL
    is released while it runs."""
    out = ffi.new("double[2]")
    check(lib.aio_floor_round_trip(caller_cpu, peer_cpu, gap_ns, int(jitter), n, out, out + 1), "aio_floor_round_trip")
    return float(out[0]), float(out[1])


def spin_caller(ns: int) -> Callable[[], None]:
    """A zero-argument function that runs the spin kernel for ``ns`` nanoseconds on the calling
    thread, without the GIL: the same work as ``submit(kernels.spin, ns)``, for thread pools."""
    if not 0 <= ns <= 60_000_000_000:
        raise ValueError(f"spin takes 0..60e9 nanoseconds, got {ns}")
    arg = ffi.new("uint8_t[8]", list(ns.to_bytes(8, "little")))
    kernel = lib.aio_kernel_spin

    def spin() -> None:
        kernel(arg, 8, ffi.NULL, 0, ffi.NULL)

    return spin


# --- kernels -----------------------------------------------------------------------------

KERNEL_NOOP = lib.aio_kernel_noop
KERNEL_SPIN = lib.aio_kernel_spin
KERNEL_KECCAK256 = lib.aio_kernel_keccak256
KERNEL_RLP_TX = lib.aio_kernel_rlp_tx
KERNEL_UNIV2_AMOUNT_OUT = lib.aio_kernel_univ2_amount_out
KERNEL_UNIV2_AMOUNT_IN = lib.aio_kernel_univ2_amount_in
KERNEL_UNIV2_BACKRUN = lib.aio_kernel_univ2_backrun
KERNEL_ECRECOVER = lib.aio_kernel_ecrecover
KERNEL_TX_SENDER = lib.aio_kernel_tx_sender
KERNEL_SIGN_TX = lib.aio_kernel_sign_tx
TX_RECORD_SIZE = int(lib.AIO_TX_RECORD_SIZE)
TX_SENDER_SIZE = int(lib.AIO_TX_SENDER_SIZE)
SIGN_TX_HEADER = int(lib.AIO_SIGN_TX_HEADER)
#: the aio_secp256k1 function pointers, by field name (aioultra._secp256k1 fills them)
SECP_FUNCTIONS = tuple(name for name, _ in ffi.typeof("aio_secp256k1").fields if name != "ctx")


def secp_provider(ctx: int, functions: dict[str, int]) -> Cdata:
    """An aio_secp256k1 (owned by the returned cdata) from the address of a libsecp256k1
    context and of each function in SECP_FUNCTIONS."""
    if set(functions) != set(SECP_FUNCTIONS) or not ctx:
        raise ValueError(f"a libsecp256k1 provider needs a context and {', '.join(SECP_FUNCTIONS)}")
    p = ffi.new("aio_secp256k1 *")
    p.ctx = ffi.cast("const void *", ctx)
    for name, field in ffi.typeof("aio_secp256k1").fields:
        if name != "ctx":
            if not functions[name]:
                raise ValueError(f"libsecp256k1 provider: {name} is NULL")
            setattr(p, name, ffi.cast(field.type, functions[name]))
    return p


def signer_new(secp: Cdata, key: bytearray) -> tuple[Cdata, bytes] | None:
    """aio_signer_new: (the signer, freed and its key zeroed when the cdata is collected; its
    20-byte address), or None for a key that is 0 or >= the curve order."""
    address = ffi.new("uint8_t[20]")
    raw = lib.aio_signer_new(secp, ffi.from_buffer(key), address)
    if raw == ffi.NULL:
        return None
    return ffi.gc(raw, lib.aio_signer_free), bytes(ffi.buffer(address))


def _address(obj: object, what: str, kinds: tuple[str, ...]) -> int:
    """The address held by an int, a cdata of one of ``kinds`` (from any FFI instance) or a
    cffi ``lib`` function; anything else (str, bytes, float, bool, data where code is needed)
    is rejected instead of being cast into a junk address."""
    if isinstance(obj, bool) or not isinstance(obj, int | ffi.CData | BuiltinFunctionType):
        raise TypeError(f"{what} must be a cffi pointer or an int address, got {type(obj).__name__}")
    if isinstance(obj, int):
        if obj <= 0 or obj >= 1 << 64:
            raise ValueError(f"{what} address must be positive and below 2**64, got {obj}")
        return obj
    try:
        address = int(ffi.cast("uintptr_t", obj))
    except TypeError:
        raise TypeError(f"{what} must be a cffi pointer or an int address, got {obj!r}") from None
    if address == 0:
        raise ValueError(f"{what} is NULL")
    if isinstance(obj, ffi.CData):
        kind = ffi.typeof(obj).kind
        if kind not in kinds:
            raise TypeError(f"{what} must be a {' or '.join(kinds)} cdata, got a {kind} ({ffi.typeof(obj).cname})")
    return address


def kernel_pointer(ptr: object) -> Cdata:
    """A kernel function pointer from a cdata function pointer (any FFI instance), a cffi
    ``lib`` function, or an integer address."""
    return ffi.cast("aio_kernel_fn", _address(ptr, "kernel pointer", ("function",)))


def to_context(ctx: object) -> Cdata:
    """A void* context from None, an int address or a cdata pointer/array."""
    if ctx is None:
        return ffi.NULL
    return ffi.cast("void *", _address(ctx, "kernel ctx", ("pointer", "array")))


from_buffer = ffi.from_buffer
new = ffi.new
buffer = ffi.buffer
unpack = ffi.unpack
