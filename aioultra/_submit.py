"""Submission: ``engine.submit`` and ``engine.submit_many``.

A submission is validated and queued at the call; the caller gets a :class:`TaskFuture` at
once. One input rule serves every entry point: a kernel's input for ``submit(k, *args)`` is
``k.encode(args)``, and a ``submit_many``/``map`` item ``x`` is ``k.encode((x,))``, so both
accept and reject exactly what ``submit(k, x)`` does. When the pool is full, ``on_full``
decides: ``"raise"`` (QueueFull at the call, nothing queued) or ``"wait"`` (the future waits in
its channel's FIFO for a free slot).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

from . import _ffi, _kinds
from ._bridge import (
    KIND_KERNEL,
    KIND_PYTHON,
    Channel,
    TaskFuture,
    Waiting,
    WaitingMany,
    _prepare,
    forget_py_job,
    ids_exhausted,
    register_py_job,
)
from ._config import ON_FULL_POLICIES
from ._errors import InvalidTask, QueueFull
from ._task import DEFAULT_PRIORITY, Task
from .kernels import Kernel

if TYPE_CHECKING:
    import asyncio


_MAX_DEADLINE_US = 1e13
P = ParamSpec("P")
R = TypeVar("R")
T_in = TypeVar("T_in")
_ASYNC_FLAGS = 0x80 | 0x100 | 0x200  # CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_PY_SPECS: dict[tuple[int, int, int], Any] = {}
_BYTES_ONLY = {bytes}
_BYTES_TYPES = {bytes, bytearray}
_EFULL = _ffi.EFULL
_channel_submit = _ffi.channel_submit
_get_running_loop = asyncio._get_running_loop


def check_priority(priority: object) -> int:
    """``priority`` validated (an int 0-255); raises InvalidTask."""
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise InvalidTask(f"priority must be an int 0-255, got {priority!r}")
    if not 0 <= priority <= 255:
        raise InvalidTask(f"priority must be between 0 and 255, got {priority}")
    return priority


def deadline_ns(deadline_us: object) -> int:
    """``deadline_us`` validated, in ns (0: none); raises InvalidTask."""
    if deadline_us is None:
        return 0
    if not isinstance(deadline_us, int | float) or isinstance(deadline_us, bool):
        raise InvalidTask(f"deadline_us must be a number of microseconds, got {deadline_us!r}")
    if (isinstance(deadline_us, float) and not math.isfinite(deadline_us)) or deadline_us < 0:
        raise InvalidTask(f"deadline_us must be finite and >= 0, got {deadline_us}")
    if deadline_us > _MAX_DEADLINE_US:
        raise InvalidTask(f"deadline_us must be at most {_MAX_DEADLINE_US:.0e} (about 115 days), got {deadline_us}")
    return max(1, int(deadline_us * 1000))


def check_raw(raw: object) -> bool:
    """``raw`` validated (a bool)."""
    if not isinstance(raw, bool):
        raise InvalidTask(f"raw must be a bool, got {raw!r}")
    return raw


def py_spec(priority: int, deadline: int, weight: int) -> Any:
    """The native spec of a Python job with these options (cached)."""
    key = (priority, deadline, weight)
    spec = _PY_SPECS.get(key)
    if spec is None:
        if len(_PY_SPECS) >= 256:
            _PY_SPECS.clear()
        spec = _PY_SPECS[key] = _ffi.spec(_ffi.NULL, _ffi.NULL, 0, deadline, priority, weight, _kinds.PYTHON_SLOT)
    return spec


def check_callable(target: object) -> None:
    """Reject what cannot run on a worker thread: coroutine functions and coroutine objects."""
    code = getattr(target, "__code__", None)
    if code is not None and code.co_flags & _ASYNC_FLAGS:
        raise InvalidTask(
            f"{getattr(target, '__qualname__', target)!r} is an async function: await it on the loop; "
            "submit() runs synchronous callables on worker threads"
        )


def _not_submittable(target: object) -> InvalidTask:
    import inspect

    if inspect.isawaitable(target):
        return InvalidTask(f"cannot submit a {type(target).__name__} object: await it instead")
    return InvalidTask(f"cannot submit {type(target).__name__!r}: expected a callable, an aioultra.Task or a Kernel")


def encode_items(kernel: Kernel[Any], items: list[Any]) -> list[Any]:
    """Every item's input buffer, ``kernel.encode((item,))``; InvalidTask names a bad item."""
    if kernel._encode is None and set(map(type, items)) <= _BYTES_ONLY:
        return items  # the common case, checked at C speed
    encode = kernel.encode
    out = []
    for i, x in enumerate(items):
        try:
            out.append(encode((x,)))
        except InvalidTask as exc:
            raise InvalidTask(f"item {i}: {exc}") from None
    return out


def join_inputs(inputs: list[Any]) -> tuple[Any, Any, list[int]]:
    """The inputs as one buffer: (keepalive, data pointer, offsets)."""
    joined = b"".join(inputs)  # C speed; bytes, bytearray and C-contiguous memoryviews
    lengths: Iterable[int]
    if set(map(type, inputs)) <= _BYTES_TYPES:
        lengths = map(len, inputs)
    else:  # a memoryview's len counts items, which may be wider than a byte: count bytes
        lengths = (x.nbytes if type(x) is memoryview else len(x) for x in inputs)
    offsets = [0, *accumulate(lengths)]
    src = _ffi.from_buffer(joined) if joined else _ffi.NULL
    return (joined, src), src, offsets


class Submitting:
    """``submit`` and ``submit_many`` of :class:`aioultra.Engine` (a mixin: the engine provides
    the channels and the lifecycle state)."""

    _state: str
    _on_full: str
    _on_full_wait: bool
    _channels: dict[asyncio.AbstractEventLoop, Channel]

    if TYPE_CHECKING:

        def _channel_for(self, loop: asyncio.AbstractEventLoop) -> Channel: ...
        def _submittable(self) -> None: ...
        def _retry_after_full(self) -> bool: ...
        def _current_channel(self) -> tuple[asyncio.AbstractEventLoop, Channel]: ...
        def _wait_in_line(self, ch: Channel, entry: Waiting | WaitingMany) -> None: ...

    # Types: a kernel's result type, bytes with raw=True, a Task's R, a callable's R with its
    # arguments checked (P). A callable submitted with options (priority=, deadline_us=,
    # on_full=) matches the last overloads, whose arguments are not checked.
    @overload
    def submit(
        self,
        target: Kernel[R],
        /,
        *args: object,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        on_full: Literal["raise", "wait"] | None = ...,
        raw: Literal[False] = ...,
    ) -> TaskFuture[R]: ...
    @overload
    def submit(
        self,
        target: Kernel[Any],
        /,
        *args: object,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        on_full: Literal["raise", "wait"] | None = ...,
        raw: Literal[True],
    ) -> TaskFuture[bytes]: ...
    @overload
    def submit(
        self,
        target: Task[R],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        on_full: Literal["raise", "wait"] | None = ...,
    ) -> TaskFuture[R]: ...
    @overload
    def submit(self, target: Callable[..., R], /, *args: Any, priority: int | None, **kwargs: Any) -> TaskFuture[R]: ...
    @overload
    def submit(
        self, target: Callable[..., R], /, *args: Any, deadline_us: float | None, **kwargs: Any
    ) -> TaskFuture[R]: ...
    @overload
    def submit(
        self, target: Callable[..., R], /, *args: Any, on_full: Literal["raise", "wait"] | None, **kwargs: Any
    ) -> TaskFuture[R]: ...
    @overload
    def submit(self, target: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> TaskFuture[R]: ...
    # misc: a callable's own keyword arguments named like the options are taken as options
    def submit(  # type: ignore[misc]
        self,
        target: Any,
        /,
        *args: Any,
        priority: int | None = None,
        deadline_us: float | None = None,
        on_full: str | None = None,
        raw: bool = False,
        **kwargs: Any,
    ) -> TaskFuture[Any]:
        """Queue ``target`` to run on a worker; returns its :class:`TaskFuture` at once.

        ``target`` is a :class:`Kernel` (``args``: what its encoder takes, by default one
        bytes-like input), a :class:`Task` (no args), or a synchronous callable (called with
        ``*args, **kwargs`` on a worker thread). ``priority`` 0-255 (higher first; default: the
        task's ``priority()`` or 5). ``deadline_us``: a task that has not started that many
        microseconds after submission is not run; its future fails with DeadlineExceeded.
        ``on_full``: ``"raise"`` or ``"wait"`` (default: the engine's ``config.on_full``).
        ``raw=True``: a kernel's result is its output bytes, not the decoded value.
        Raises at the call: InvalidTask for bad arguments, QueueFull (``on_full="raise"``),
        EngineClosed when the engine is not running, RuntimeError outside a running loop.
        Cancelling the future cancels the native task. Exceptions raised by the task reach
        the awaiter unchanged.
        """
        if self._state != "running":
            self._submittable()
        loop = _get_running_loop()
        ch = self._channels.get(loop) if loop is not None else None
        if ch is None:
            loop, ch = self._current_channel()
        if isinstance(target, Kernel):
            if kwargs:
                raise InvalidTask(f"kernel {target.name!r} takes no keyword arguments, got {sorted(kwargs)}")
            # the common cases first: no encoder and no input or one bytes; default options
            if target._encode is None and not args:
                data: Any = b""
            elif target._encode is None and len(args) == 1 and type(args[0]) is bytes:
                data = args[0]
            else:
                data = target.encode(args)
            if priority is None and deadline_us is None:
                spec = target._default_spec
            else:
                prio = DEFAULT_PRIORITY if priority is None else check_priority(priority)
                spec = target.spec(prio, deadline_ns(deadline_us))
            fut: TaskFuture[Any] = ch.new_future(loop=loop)
            fut._kind = KIND_KERNEL
            fut._fn = target
            fut._decode = None if raw is not False and check_raw(raw) else target._decode
            fut._keep = data
            fut._value = fut._error = None
            if data:
                src = fut._args = _ffi.from_buffer(data)  # kept alive with the future
                size = len(src)
            else:
                src = fut._args = _ffi.NULL
                size = 0
            if target.out_size > _ffi.INLINE_OUT:
                out = fut._out = _ffi.new("uint8_t[]", target.out_size)
            else:
                out = fut._out = None
            if out is None:
                out = _ffi.NULL
            if on_full is None and not (self._on_full_wait and ch.waiting) and ch.next_id < ch.last_id:
                fut._task = 0  # the hot path, inline
                ch.next_id += 1
                job_id = fut._id = ch.next_id
                rc = _channel_submit(ch.ptr, spec, job_id, src, size, out)
                if rc > 0:
                    fut._task = rc
                    ch.pending[job_id] = fut
                    return fut
                ch.next_id -= 1  # not queued: _queue takes the id again
            return self._queue(ch, fut, spec, src, size, out, on_full)
        if isinstance(target, Task):
            if args or kwargs:
                raise InvalidTask("a Task takes no arguments: put them on the task object")
            fn: Callable[..., Any] = target.execute
            prio = check_priority(target.priority() if priority is None else priority)
            weight = target.estimated_duration_us()
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise InvalidTask(f"estimated_duration_us() must return an int >= 0, got {weight!r}")
            weight = min(max(weight, 1), 0xFFFFFFFF)
        elif callable(target):
            check_callable(target)
            fn = target
            prio = DEFAULT_PRIORITY if priority is None else check_priority(priority)
            weight = 1
        else:
            raise _not_submittable(target)
        if raw is not False:
            check_raw(raw)
        spec = py_spec(prio, 0 if deadline_us is None else deadline_ns(deadline_us), weight)
        fut = ch.new_future(loop=loop)
        _prepare(fut, KIND_PYTHON)
        fut._fn = fn
        fut._args = (args, kwargs)
        return self._queue(ch, fut, spec, _ffi.NULL, 0, _ffi.NULL, on_full)

    def _queue(
        self, ch: Channel, fut: TaskFuture[Any], spec: Any, src: Any, size: int, out: Any, on_full: str | None
    ) -> TaskFuture[Any]:
        """Queue ``fut``'s task now, or (``on_full="wait"``) behind the channel's waiters."""
        wait = self._on_full_wait if on_full is None else self._wait_policy(on_full)
        fut._task = 0
        if ch.next_id >= ch.last_id:
            raise ids_exhausted()
        ch.next_id += 1
        job_id = fut._id = ch.next_id
        python = fut._kind == KIND_PYTHON
        if python:
            register_py_job(job_id, fut)
        if not (wait and ch.waiting):  # behind earlier waiters in FIFO order otherwise
            rc = _ffi.channel_submit(ch.ptr, spec, job_id, src, size, out)
            if rc > 0:
                fut._task = rc
                ch.pending[job_id] = fut
                return fut
            if rc != _EFULL:
                if python:
                    forget_py_job(job_id)
                _ffi.check(rc, "submit")
        ch_ptr = ch.ptr

        def push() -> int:
            rc = _ffi.channel_submit(ch_ptr, spec, job_id, src, size, out)
            return _ffi.check(rc, "submit")

        return self._queue_push(ch, fut, push, wait, retry=not (wait and ch.waiting))

    def _queue_push(
        self, ch: Channel, fut: TaskFuture[Any], push: Callable[[], int], wait: bool, retry: bool = True
    ) -> TaskFuture[Any]:
        """Queue ``fut`` through ``push`` (which raises QueueFull when the pool is full): now,
        after reclaiming slots of closed loops, or (``wait``) in the channel's FIFO."""
        if retry:
            try:
                task = self._push_after_full(push, wait)
            except BaseException:
                forget_py_job(fut._id)
                raise
            if task:
                fut._task = task
                ch.pending[fut._id] = fut
                return fut
        self._wait_in_line(ch, Waiting(fut, push))
        return fut

    def _wait_policy(self, on_full: str | None) -> bool:
        if on_full is None:
            return self._on_full_wait
        if on_full not in ON_FULL_POLICIES:
            raise InvalidTask(f"on_full must be one of {', '.join(ON_FULL_POLICIES)}, got {on_full!r}")
        return on_full == "wait"

    def _push_after_full(self, push: Callable[[], int], wait: bool) -> int:
        """Push; on QueueFull retry while slots of closed loops are reclaimed, then raise
        QueueFull, or return 0 to wait (``wait``)."""
        while True:
            try:
                return push()
            except QueueFull:
                if self._retry_after_full():
                    continue
                if wait:
                    return 0
                raise QueueFull("submit: in-flight tasks reached queue_capacity (on_full='raise')") from None

    @overload
    def submit_many(
        self,
        target: Kernel[R],
        items: Iterable[object],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        on_full: Literal["raise", "wait"] | None = ...,
        raw: Literal[False] = ...,
    ) -> list[TaskFuture[R]]: ...
    @overload
    def submit_many(
        self,
        target: Kernel[Any],
        items: Iterable[object],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        on_full: Literal["raise", "wait"] | None = ...,
        raw: Literal[True],
    ) -> list[TaskFuture[bytes]]: ...
    @overload
    def submit_many(
        self,
        target: Callable[[T_in], R],
        items: Iterable[T_in],
        /,
        *,
        priority: int | None = ...,
        deadline_us: float | None = ...,
        on_full: Literal["raise", "wait"] | None = ...,
    ) -> list[TaskFuture[R]]: ...
    def submit_many(
        self,
        target: Any,
        items: Iterable[Any],
        /,
        *,
        priority: int | None = None,
        deadline_us: float | None = None,
        on_full: str | None = None,
        raw: bool = False,
    ) -> list[TaskFuture[Any]]:
        """Queue one task per item; returns their futures, in order, at once.

        Item ``x`` runs as ``submit(target, x)`` would (the same input rule and results); a
        kernel's items reach the C core in one call. A bad item raises InvalidTask naming its
        index, before anything is queued. With ``on_full="raise"`` a full queue raises
        QueueFull and cancels the items already queued; with ``"wait"`` the rest wait in order.
        """
        if self._state != "running":
            self._submittable()
        if not isinstance(items, Iterable) or isinstance(items, str | bytes | bytearray | memoryview):
            raise InvalidTask(f"submit_many needs an iterable of items, got {type(items).__name__}")
        items = list(items)
        if not isinstance(target, Kernel):
            if isinstance(target, Task):
                raise InvalidTask("submit_many takes a Kernel or a callable of one item, not a Task")
            if not callable(target):
                raise _not_submittable(target)
            check_callable(target)
            opts = {"priority": priority, "deadline_us": deadline_us, "on_full": on_full, "raw": raw}
            futures: list[TaskFuture[Any]] = []
            try:
                for x in items:
                    futures.append(self.submit(target, x, **opts))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
            return futures
        return self._submit_many_kernel(target, items, priority, deadline_us, on_full, raw)

    def _submit_many_kernel(
        self,
        kernel: Kernel[Any],
        items: list[Any],
        priority: int | None,
        deadline_us: float | None,
        on_full: str | None,
        raw: bool,
    ) -> list[TaskFuture[Any]]:
        prio = DEFAULT_PRIORITY if priority is None else check_priority(priority)
        spec = kernel.spec(prio, deadline_ns(deadline_us))
        decode = None if check_raw(raw) else kernel._decode
        wait = self._wait_policy(on_full)
        if not items:
            return []
        inputs = encode_items(kernel, items)
        loop, ch = self._current_channel()
        keep, src, offsets = join_inputs(inputs)
        n = len(inputs)
        stride = kernel.out_size
        big = stride > _ffi.INLINE_OUT
        out = _ffi.new("uint8_t[]", n * stride) if big else _ffi.NULL
        first = ch.take_ids(n)
        keep = (keep, out)  # the inputs and the outputs, alive until every future resolved
        futures: list[TaskFuture[Any]] = []
        append = futures.append
        for i in range(n):
            fut: TaskFuture[Any] = ch.new_future(loop=loop)
            fut._kind = KIND_KERNEL
            fut._task = 0
            fut._id = first + i
            fut._fn = kernel
            fut._decode = decode
            fut._keep = inputs[i]
            fut._args = keep
            fut._out = out + i * stride if big else None
            fut._value = fut._error = None
            append(fut)
        w = WaitingMany(futures, first, spec, src, _ffi.new("uint64_t[]", offsets), out, stride)
        if wait and ch.waiting:  # behind earlier waiters
            self._wait_in_line(ch, w)
            return futures
        while not w.resume(ch):
            if self._retry_after_full():
                continue
            if wait:
                self._wait_in_line(ch, w)
                break
            for f in futures[: w.next]:
                f.cancel()
            raise QueueFull(
                f"submit_many: in-flight tasks reached queue_capacity after {w.next} of {n} items "
                "(on_full='raise'; those were cancelled)"
            )
        return futures
