"""``engine.map``: apply a target to many items in batch tasks and gather the results in order.

A kernel's items run as batch tasks (one native task per chunk, no Python per item on the
workers); a callable's items run as Python batches (one job per chunk). Either way the items
follow ``submit``'s input rule (see ``_submit``), the counters count items, and the chunks wait
for free slots in the channel's FIFO (map never raises QueueFull).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import _ffi
from ._bridge import KIND_BATCH, KIND_PY_BATCH, Channel, TaskFuture, _prepare, register_py_job
from ._errors import InvalidTask, KernelError
from ._loops import gather
from ._submit import check_callable, check_priority, check_raw, deadline_ns, encode_items, join_inputs, py_spec
from ._task import DEFAULT_PRIORITY, Task
from .kernels import Kernel

_MAP_CHUNK_MAX = 4096
R = TypeVar("R")
T_in = TypeVar("T_in")


class Mapping:
    """``map`` of :class:`aioultra.Engine` (a mixin, like ``_submit.Submitting``)."""

    _state: str
    _n_workers: int

    if TYPE_CHECKING:

        def _submittable(self) -> None: ...
        def _current_channel(self) -> tuple[asyncio.AbstractEventLoop, Channel]: ...
        def _queue_push(
            self, ch: Channel, fut: TaskFuture[Any], push: Callable[[], int], wait: bool, retry: bool = True
        ) -> TaskFuture[Any]: ...

    @overload
    async def map(
        self,
        target: Kernel[R],
        iterable: Iterable[object],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        return_exceptions: Literal[False] = ...,
        raw: Literal[False] = ...,
    ) -> list[R]: ...
    @overload
    async def map(
        self,
        target: Kernel[Any],
        iterable: Iterable[object],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        return_exceptions: Literal[False] = ...,
        raw: Literal[True],
    ) -> list[bytes]: ...
    @overload
    async def map(
        self,
        target: Callable[[T_in], R],
        iterable: Iterable[T_in],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        return_exceptions: Literal[False] = ...,
    ) -> list[R]: ...
    @overload
    async def map(
        self,
        target: Kernel[Any] | Callable[[Any], Any],
        iterable: Iterable[Any],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        return_exceptions: bool,
        raw: bool = ...,
    ) -> list[Any]: ...
    async def map(
        self,
        target: Any,
        iterable: Iterable[Any],
        /,
        *,
        priority: int | None = None,
        deadline_us: float | None = None,
        return_exceptions: bool = False,
        raw: bool = False,
    ) -> list[Any]:
        """Apply ``target`` to every item; returns the results in order.

        Item ``x`` runs as ``submit(target, x)`` would: the same input rule, the same results
        (``raw=True``: a kernel's output bytes). A bad item raises InvalidTask naming its index
        before anything runs. A kernel runs in batches (one task per chunk, no Python per item
        on the workers); a callable in chunks of items per Python job. The first failing item
        (by index) raises its error (a kernel's KernelError carries the index); with
        ``return_exceptions=True`` each failing item's exception takes its place in the list
        (as with ``asyncio.gather``). ``deadline_us`` applies to each chunk: one that has not
        started within it is not run and DeadlineExceeded is raised (also with
        ``return_exceptions``). Back-pressure: chunks wait for free slots, in order.
        """
        if self._state != "running":
            self._submittable()
        prio = DEFAULT_PRIORITY if priority is None else check_priority(priority)
        deadline = deadline_ns(deadline_us)
        check_raw(raw)
        if not isinstance(return_exceptions, bool):
            raise InvalidTask(f"return_exceptions must be a bool, got {return_exceptions!r}")
        if not isinstance(iterable, Iterable) or isinstance(iterable, str | bytes | bytearray | memoryview):
            raise InvalidTask(f"map needs an iterable of items, got {type(iterable).__name__}")
        if isinstance(target, Task) or (not callable(target) and not isinstance(target, Kernel)):
            raise InvalidTask(f"map target must be a Kernel or a callable, got {type(target).__name__!r}")
        items = list(iterable)
        if isinstance(target, Kernel):
            inputs = encode_items(target, items)  # before anything is queued
            if not items:
                return []
            return await self._map_kernel(target, inputs, prio, deadline, return_exceptions, raw)
        check_callable(target)
        if not items:
            return []
        return await self._map_python(target, items, prio, deadline, return_exceptions)

    def _chunk_size(self, n: int) -> int:
        workers = max(1, self._n_workers)
        return max(1, min(_MAP_CHUNK_MAX, math.ceil(n / (workers * 4))))

    async def _map_python(
        self, fn: Callable[[Any], Any], items: list[Any], prio: int, deadline: int, return_exceptions: bool
    ) -> list[Any]:
        loop, ch = self._current_channel()
        chunk = self._chunk_size(len(items))
        futures: list[TaskFuture[Any]] = []
        try:
            for start in range(0, len(items), chunk):
                part = items[start : start + chunk]
                spec = py_spec(prio, deadline, len(part))
                fut: TaskFuture[Any] = ch.new_future(loop=loop)
                _prepare(fut, KIND_PY_BATCH)
                fut._fn, fut._args = fn, part
                fut._id = job_id = ch.take_ids(1)
                register_py_job(job_id, fut)
                push = _batch_push(ch, spec, job_id, len(part))
                futures.append(self._queue_push(ch, fut, push, wait=True, retry=not ch.waiting))  # FIFO
        except BaseException:
            _cancel(futures)  # e.g. EngineClosed part-way: what was queued must not run unawaited
            raise
        results = [r for part in await _gather(loop, futures) for r in part]
        if not return_exceptions:
            for r in results:
                if isinstance(r, BaseException):
                    raise r
        return results

    async def _map_kernel(
        self, kernel: Kernel[Any], inputs: list[Any], prio: int, deadline: int, return_exceptions: bool, raw: bool
    ) -> list[Any]:
        loop, ch = self._current_channel()
        keep, src, offsets = join_inputs(inputs)
        n = len(inputs)
        stride = kernel.out_size
        c_offsets = _ffi.new("uint64_t[]", offsets)
        out = _ffi.new("uint8_t[]", max(1, n * stride))
        rcs = _ffi.new("int64_t[]", n)
        spec = kernel.spec(prio, deadline)
        chunk = self._chunk_size(n)
        futures: list[TaskFuture[Any]] = []
        try:
            for start in range(0, n, chunk):
                count = min(chunk, n - start)
                fut: TaskFuture[Any] = ch.new_future(loop=loop)
                _prepare(fut, KIND_BATCH)
                fut._fn = kernel
                fut._keep = (keep, c_offsets, out, rcs)
                fut._id = job_id = ch.take_ids(1)
                push = _batch_push(ch, spec, job_id, count, src, c_offsets + start, out + start * stride, rcs + start)
                futures.append(self._queue_push(ch, fut, push, wait=True, retry=not ch.waiting))  # FIFO
        except BaseException:
            _cancel(futures)  # e.g. EngineClosed part-way: what was queued must not run unawaited
            raise
        await _gather(loop, futures)
        return _kernel_results(kernel, inputs, _ffi.unpack(rcs, n), out, stride, raw, return_exceptions)


def _kernel_results(
    kernel: Kernel[Any], inputs: list[Any], codes: list[int], out: Any, stride: int, raw: bool, return_exceptions: bool
) -> list[Any]:
    """Per-item results of a kernel map from its rcs and output buffer (decoded unless raw)."""
    n = len(codes)
    if min(codes) >= 0 and (stride == 0 or codes.count(stride) == n):  # no failure, fixed-size outputs
        if stride == 0:
            outs: list[Any] = [b""] * n
        else:
            data = _ffi.buffer(out, n * stride)[:]
            outs = [data[i : i + stride] for i in range(0, n * stride, stride)]
        decode = None if raw else kernel._decode
        return outs if decode is None else list(map(decode, outs, inputs))
    buf = _ffi.buffer(out, n * stride)
    decode = None if raw else kernel._decode
    results: list[Any] = []
    append = results.append
    for i, rc in enumerate(codes):
        if rc < 0:
            error = KernelError(kernel.name, int(rc), index=i)
            if not return_exceptions:
                raise error
            append(error)
        else:
            item = buf[i * stride : i * stride + rc]
            append(item if decode is None else decode(item, inputs[i]))
    return results


def _batch_push(
    ch: Channel,
    spec: Any,
    job_id: int,
    count: int,
    src: Any = _ffi.NULL,
    offsets: Any = _ffi.NULL,
    out: Any = _ffi.NULL,
    rcs: Any = _ffi.NULL,
) -> Callable[[], int]:
    ch_ptr = ch.ptr

    def push() -> int:
        return _ffi.submit_batch(ch_ptr, spec, job_id, src, offsets, count, out, rcs)

    return push


def _cancel(futures: list[TaskFuture[Any]]) -> None:
    """Cancel every chunk not finished (their tasks must not run) and forget them."""
    for fut in futures:
        fut.cancel()
    futures.clear()  # the traceback keeps the caller's frame: it must not keep the futures


async def _gather(loop: asyncio.AbstractEventLoop, futures: list[TaskFuture[Any]]) -> list[Any]:
    """Await every chunk; on an error or a cancellation, cancel the unfinished ones."""
    try:
        return await gather(loop, futures)
    except BaseException:
        _cancel(futures)
        raise
