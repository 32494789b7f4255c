"""Binding layer: the only module that touches cffi's ``lib``.

It mirrors the C names of ``csrc/aioultra.h`` and turns return codes into exceptions through
one helper, :func:`check`. Everything above it is typed Python; this layer deals in cdata.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._core import ffi, lib
from ._errors import EngineClosed, QueueFull, UltraEngineError

__all__ = ["ffi"]

OK = lib.AIO_OK
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


@ffi.def_extern(onerror=_entry_error)  # type: ignore[misc]
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
            "py_entry": lib.aio_py_entry,
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
task_cancel: Callable[[Cdata], None] = lib.aio_task_cancel


def new_completions(n: int) -> Cdata:
    """A buffer of n aio_completion records for channel_drain."""
    return ffi.new("aio_completion[]", n)


# --- submission --------------------------------------------------------------------------

_submit = lib.aio_submit
_submit_batch = lib.aio_submit_batch


def submit(
    engine: Cdata, channel: Cdata, job_id: int, fn: Cdata, ctx: Cdata, data: Cdata, size: int,
    out: Cdata, out_cap: int, priority: int, deadline_ns: int, weight: int, task_out: Cdata,
) -> None:
    """aio_submit; the task pointer lands in task_out[0]."""
    rc = _submit(engine, channel, job_id, fn, ctx, data, size, out, out_cap, priority, deadline_ns,
                 weight, -1, task_out)
    if rc != 0:
        check(rc, "submit")


def submit_batch(
    engine: Cdata, channel: Cdata, job_id: int, fn: Cdata, ctx: Cdata, data: Cdata, offsets: Cdata,
    n: int, out: Cdata, stride: int, rcs: Cdata, priority: int, task_out: Cdata,
) -> None:
    """aio_submit_batch: one task running fn over n items."""
    rc = _submit_batch(engine, channel, job_id, fn, ctx, data, offsets, n, out, stride, rcs, priority, -1,
                       task_out)
    if rc != 0:
        check(rc, "map")


# --- statistics and topology -------------------------------------------------------------


def engine_stats(engine: Cdata) -> Cdata:
    """aio_engine_get_stats into a fresh struct."""
    out = ffi.new("aio_engine_stats *")
    lib.aio_engine_get_stats(engine, out)
    return out


def worker_stats(engine: Cdata, index: int) -> Cdata:
    """aio_worker_get_stats into a fresh struct."""
    out = ffi.new("aio_worker_stats *")
    check(lib.aio_worker_get_stats(engine, index, out), "aio_worker_get_stats")
    return out


def node_stats(engine: Cdata, node: int) -> Cdata:
    """aio_node_get_stats into a fresh struct."""
    out = ffi.new("aio_node_stats *")
    check(lib.aio_node_get_stats(engine, node, out), "aio_node_get_stats")
    return out


def current_cpu() -> int:
    """CPU the calling thread runs on, or -1."""
    return int(lib.aio_current_cpu())


# --- kernels -----------------------------------------------------------------------------

KERNEL_NOOP = lib.aio_kernel_noop
KERNEL_SPIN = lib.aio_kernel_spin
KERNEL_KECCAK256 = lib.aio_kernel_keccak256


def kernel_pointer(ptr: object) -> Cdata:
    """A kernel function pointer from a cdata pointer (any FFI instance) or an integer address."""
    if isinstance(ptr, int) and not isinstance(ptr, bool):
        if ptr <= 0:
            raise ValueError(f"kernel address must be positive, got {ptr}")
        return ffi.cast("aio_kernel_fn", ptr)
    if isinstance(ptr, ffi.CData):
        if ptr == ffi.NULL:
            raise ValueError("kernel pointer is NULL")
        return ffi.cast("aio_kernel_fn", ptr)
    # cdata of another FFI instance: go through its address
    try:
        import cffi

        other = cffi.FFI()
        address = int(other.cast("uintptr_t", ptr))
    except (TypeError, cffi.FFIError):
        raise TypeError(f"expected a C function pointer (cdata) or an address, got {type(ptr).__name__}") from None
    if address == 0:
        raise ValueError("kernel pointer is NULL")
    return ffi.cast("aio_kernel_fn", address)


def to_context(ctx: object) -> Cdata:
    """A void* context from None, an int address or a cdata pointer."""
    if ctx is None:
        return ffi.NULL
    if isinstance(ctx, int) and not isinstance(ctx, bool):
        return ffi.cast("void *", ctx)
    try:
        return ffi.cast("void *", ctx)
    except TypeError:
        import cffi

        return ffi.cast("void *", int(cffi.FFI().cast("uintptr_t", ctx)))


from_buffer = ffi.from_buffer
new = ffi.new
buffer = ffi.buffer
unpack = ffi.unpack
