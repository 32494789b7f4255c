"""Completion bridge: the event-loop side of completions.

One :class:`Channel` per event loop (thread). Workers push finished task records into the
channel's ring and write its eventfd only when the loop armed it. The loop's reader callback
acknowledges the eventfd, drains a bounded batch per cffi call, resolves each future, and
re-arms. Guarantees:

- a future is resolved only if it is not done (a cancelled awaiter's late completion is
  dropped silently) and only from its own loop's thread, inside a loop callback;
- one bad item never aborts the batch: each resolution is checked on its own;
- at most ``MAX_PER_PASS`` completions are handled per callback; if more are waiting the
  drain reschedules itself with ``call_soon`` so other callbacks run in between;
- Python jobs run on worker threads through :func:`run_py_job`; results and exceptions are
  stored on the future's own fields, and only the loop thread touches the future's state;
- submissions waiting for a free slot (``on_full="wait"``) are retried, in order, after each
  drained batch, and when another loop's drain kicks this channel's eventfd.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from . import _ffi
from ._errors import DeadlineExceeded, EngineClosed, InvalidTask, KernelError, QueueFull, UltraEngineError
from ._loops import ForeignLoop

if TYPE_CHECKING:
    from .kernels import Kernel

log = structlog.get_logger("aioultra")

BATCH = 256
MAX_PER_PASS = 4096
_RESUME_RUN = 1024  # items of a waiting submit_many tried per C call

KIND_KERNEL = 0  # one kernel call; result: the decoded output
KIND_BATCH = 1  # a kernel batch of a map; result: None (the map reads its buffers)
KIND_PYTHON = 2  # one Python call; result: its return value
KIND_PY_BATCH = 3  # a Python batch of a map; result: a list (exceptions in place)
# kind >= KIND_PYTHON: a Python job (registered in _py_jobs while in flight)

_ID_BITS = 40  # ids: channel serial << 40 | the channel's own count (unique per process)
_MAX_SERIAL = (1 << (62 - _ID_BITS)) - 1
_serials = itertools.count(1).__next__
_py_jobs: dict[int, TaskFuture[Any]] = {}

T = TypeVar("T")


def ids_exhausted() -> UltraEngineError:
    """The error when a loop's channel has used its 2**40 task ids."""
    return UltraEngineError("this event loop's channel used up its 2**40 task ids: open a new event loop")


class TaskFuture(asyncio.Future[T]):
    """The future of one submission: an :class:`asyncio.Future` that ``engine.submit`` returns
    with the task already queued (or waiting for a slot, with ``on_full="wait"``).

    Await it, pass it to ``gather``/``wait_for``/``asyncio.timeout``, or cancel it: cancelling
    marks the native task cancelled, so a task that has not started never runs (one already
    running finishes and its result is dropped).
    """

    __slots__ = ("_args", "_decode", "_error", "_fn", "_id", "_keep", "_kind", "_out", "_task", "_value")

    _id: int  # the task id (the channel's id space)
    _kind: int  # KIND_*
    _task: int  # the record's address while in flight, else 0
    _fn: Any  # the Kernel, or the Python callable
    _args: Any  # a Python job's (args, kwargs), a Python batch's items; for kernels the input cdata
    _keep: Any  # a kernel call's input buffer (its decoder reads it); a batch's buffers
    _out: Any  # external output buffer (kernels with out_size > AIO_INLINE_OUT)
    _decode: Any  # the kernel's decoder, None for raw bytes
    _value: Any  # a Python job's result (written on the worker)
    _error: BaseException | None  # a Python job's exception (written on the worker)

    def cancel(self, msg: Any = None) -> bool:
        """Cancel the future and the task behind it (see the class docstring)."""
        if not super().cancel(msg):
            return False
        task = self._task
        if task:  # in flight: a worker that has not started it skips it
            _ffi.task_cancel_at(task, self._id)
        return True


def _prepare(fut: TaskFuture[Any], kind: int) -> None:
    fut._kind = kind
    fut._task = 0
    fut._keep = None
    fut._out = None
    fut._decode = None
    fut._fn = None
    fut._args = None
    fut._value = None
    fut._error = None


def run_py_job(job_id: int) -> int:
    """Runs Python job ``job_id`` on a worker thread (GIL held). A single job returns a status
    code; a Python batch runs every item and returns how many failed."""
    job = _py_jobs.get(job_id)
    if job is None or job._fn is None:
        return int(_ffi.STATUS_FAILED)
    fn, args = job._fn, job._args
    if job._kind == KIND_PY_BATCH:
        out: list[Any] = []
        failed = 0
        for x in args:
            try:
                out.append(fn(x))
            except BaseException as exc:  # the item's exception is its result
                out.append(exc)
                failed += 1
        job._value = out
        return failed
    try:
        fn_args, kwargs = args
        value = fn(*fn_args, **kwargs)
        if asyncio.iscoroutine(value):
            value.close()
            raise InvalidTask(f"{fn!r} returned a coroutine: await it on the loop instead of submitting it")
        job._value = value
    except BaseException as exc:
        job._error = exc
        del job, fn, args  # the traceback holds this frame: break the cycle
        return int(_ffi.STATUS_FAILED)
    return int(_ffi.STATUS_OK)


_ffi.set_py_dispatch(run_py_job)


def register_py_job(job_id: int, job: TaskFuture[Any]) -> None:
    """Make a Python job visible to the worker entry (before it is submitted)."""
    _py_jobs[job_id] = job


def forget_py_job(job_id: int) -> None:
    """Drop a Python job that was not submitted after all (e.g. QueueFull)."""
    _py_jobs.pop(job_id, None)


class Waiting:
    """A submission waiting for a free slot: its future and how to queue it."""

    __slots__ = ("future", "push")

    def __init__(self, future: TaskFuture[Any], push: Callable[[], int]) -> None:
        self.future = future
        self.push = push  # queues it: returns the record address, raises QueueFull

    def resume(self, ch: Channel) -> bool:
        """Try to queue it: False while the pool is full, True once it is settled."""
        fut = self.future
        if fut.done():  # cancelled while waiting: never queued
            _py_jobs.pop(fut._id, None)
            return True
        try:
            fut._task = self.push()
        except QueueFull:
            return False
        except BaseException as exc:  # EngineClosed: fail this one, go on with the next
            _py_jobs.pop(fut._id, None)
            fut.set_exception(exc)
            return True
        ch.pending[fut._id] = fut
        return True

    def waiting_futures(self) -> list[TaskFuture[Any]]:
        """The futures not queued yet."""
        return [self.future]


class WaitingMany:
    """A ``submit_many`` from item ``next`` on: queued in bulk (one C call per run of items)
    as slots free; items cancelled while waiting are skipped."""

    __slots__ = ("first_id", "futures", "next", "offsets", "out", "spec", "src", "stride", "tasks")

    def __init__(
        self, futures: list[TaskFuture[Any]], first_id: int, spec: Any, src: Any, offsets: Any, out: Any, stride: int
    ) -> None:
        self.futures = futures
        self.next = 0
        self.first_id = first_id
        self.spec = spec
        self.src = src
        self.offsets = offsets  # uint64_t[n + 1]: item i is src[offsets[i] .. offsets[i + 1])
        self.out = out  # NULL: inline outputs
        self.stride = stride
        self.tasks = _ffi.new("intptr_t[]", len(futures))

    def resume(self, ch: Channel) -> bool:
        """Queue as many items as fit: False while items are left (the pool is full)."""
        futures, pending, tasks = self.futures, ch.pending, self.tasks
        n, i = len(futures), self.next
        while i < n:
            if futures[i].done():
                i += 1
                continue
            j, end = i + 1, min(n, i + _RESUME_RUN)  # a bounded run: the pool takes a prefix anyway
            while j < end and not futures[j].done():
                j += 1
            out = self.out + i * self.stride if self.out != _ffi.NULL else _ffi.NULL
            try:
                got = _ffi.submit_many(
                    ch.ptr, self.spec, self.first_id + i, j - i, self.src, self.offsets + i, out, tasks + i
                )
            except QueueFull:
                self.next = i
                return False
            except BaseException as exc:  # EngineClosed: these items fail
                for f in futures[i:j]:
                    f.set_exception(exc)
                i = j
                continue
            for k in range(i, i + got):
                f = futures[k]
                f._task = tasks[k]
                pending[f._id] = f
            i += got
        self.next = n
        return True

    def waiting_futures(self) -> list[TaskFuture[Any]]:
        """The futures not queued yet."""
        return self.futures[self.next :]


class Channel:
    """The completion channel of one event loop; created and drained on that loop's thread."""

    def __init__(
        self,
        engine_ptr: Any,
        loop: asyncio.AbstractEventLoop,
        on_idle: Callable[[], None],
        on_slots_freed: Callable[[Channel], None],
    ) -> None:
        serial = _serials()
        if serial > _MAX_SERIAL:
            raise UltraEngineError(f"more than {_MAX_SERIAL} channels in this process: task ids ran out")
        self.loop = loop
        # the futures of this loop's submissions (under trio: awaitable from trio tasks)
        self.new_future: type[TaskFuture[Any]] = loop.task_future if isinstance(loop, ForeignLoop) else TaskFuture
        self.ptr = _ffi.channel_create(engine_ptr)
        self.fd = _ffi.channel_fd(self.ptr)
        self.pending: dict[int, TaskFuture[Any]] = {}
        self.waiting: collections.deque[Waiting | WaitingMany] = collections.deque()
        self.next_id = serial << _ID_BITS  # the loop thread's own id space: ids are next_id + 1, ...
        self.last_id = self.next_id + (1 << _ID_BITS) - 1
        self._buf = _ffi.new_completions(BATCH)
        self._on_idle = on_idle
        self._on_slots_freed = on_slots_freed
        self._closed = False
        self._fd_lock = threading.Lock()  # kick() from another thread vs destroy() closing the fd
        self._on_close_request: Callable[[Channel], None] | None = None
        self._drop_waiting_requested = False  # set by another loop's cancel_all, handled in _drain
        self.reaper_armed = False  # the engine's timer that reclaims slots for waiters is set
        loop.add_reader(self.fd, self._on_readable)

    def take_ids(self, n: int) -> int:
        """Reserve ``n`` consecutive task ids (loop thread); returns the first."""
        first = self.next_id + 1
        if self.next_id + n > self.last_id:
            raise ids_exhausted()
        self.next_id += n
        return first

    # --- loop side --------------------------------------------------------------------

    def _on_readable(self) -> None:
        _ffi.channel_ack(self.ptr)
        self._drain()

    def _drain(self) -> None:
        if self._closed:
            return
        close_request = self._on_close_request
        if close_request is not None:
            close_request(self)
            return
        if self._drop_waiting_requested:  # another loop's aclose(cancel_pending=True)
            self._drop_waiting_requested = False
            self.drop_waiting(EngineClosed("the engine closed before the task was queued; it was not run"))
        handled = 0
        while True:
            n = self._drain_batch()
            handled += n
            if n:
                self._on_slots_freed(self)
            if n < BATCH and not _ffi.channel_arm(self.ptr):
                break  # armed: the next completion writes the eventfd
            if handled >= MAX_PER_PASS:
                # Bounded work per pass; still disarmed, so come back ourselves.
                self.loop.call_soon(self._drain)
                return
        if self.waiting:
            self.retry_waiting()  # kicked by another loop's drain: slots are free
        if not self.pending and not self.waiting:
            self._on_idle()

    def _drain_batch(self) -> int:
        """Drain and resolve up to BATCH completions; returns how many."""
        buf, resolve = self._buf, self._resolve
        n = _ffi.channel_drain(self.ptr, buf, BATCH)
        interrupted: BaseException | None = None
        for i in range(n):
            try:
                resolve(buf[i])
            except Exception:  # one bad item must not abort the batch
                log.exception("bridge.resolve_failed")
            except BaseException as exc:  # e.g. KeyboardInterrupt: finish the batch (its records are freed)
                interrupted = interrupted or exc
        if interrupted is not None:
            self.loop.call_soon(self._drain)  # still disarmed: carry on after the interruption
            raise interrupted
        return n

    def _resolve(self, c: Any) -> None:
        fut = self.pending.pop(c.id, None)
        if fut is None:
            return
        kind = fut._kind
        fut._task = 0  # the record is free again: a late cancel must not reach it
        if kind >= KIND_PYTHON:
            _py_jobs.pop(c.id, None)
        if fut.done():
            return  # the awaiter was cancelled: drop the late completion
        status = c.status
        if status == _ffi.STATUS_OK:
            if kind == KIND_KERNEL:
                data = _ffi.buffer(c.out if fut._out is None else fut._out, c.rc)[:]
                decode = fut._decode
                fut.set_result(data if decode is None else decode(data, fut._keep))
            elif kind >= KIND_PYTHON:
                fut.set_result(fut._value)
            else:
                fut.set_result(None)  # a batch: results are read from its buffers
        elif status == _ffi.STATUS_FAILED:
            if kind == KIND_PYTHON:
                error = fut._error
                fut._error = None
                if isinstance(error, StopIteration):  # a future cannot hold StopIteration (PEP 479)
                    wrapped = RuntimeError(f"task raised StopIteration: {error!r}")
                    wrapped.__cause__ = error
                    error = wrapped
                fut.set_exception(error if error is not None else UltraEngineError("Python job failed"))
            else:
                kernel: Kernel[Any] = fut._fn
                fut.set_exception(KernelError(kernel.name, int(c.rc)))
        elif status == _ffi.STATUS_EXPIRED:
            fut.set_exception(DeadlineExceeded("the task did not start before its deadline_us; it was not run"))
        else:
            fut.set_exception(EngineClosed("the engine closed before the task started; it was not run"))

    # --- waiting for slots ------------------------------------------------------------

    def retry_waiting(self) -> None:
        """Queue waiting submissions in order until the pool is full again (loop thread)."""
        waiting = self.waiting
        while waiting:
            if not waiting[0].resume(self):
                return
            waiting.popleft()

    def kick(self) -> None:
        """From any thread: make the loop run its drain (and so its waiting submissions)."""
        with self._fd_lock:
            if self.ptr is not None:
                os.eventfd_write(self.fd, 1)

    # --- control ----------------------------------------------------------------------

    def request_close(self, on_close: Callable[[Channel], None]) -> bool:
        """From another thread: have this channel's loop call ``on_close(self)`` on its own
        thread, woken through the channel's eventfd (workers must be stopped). The eventfd is
        ours, so unlike ``call_soon_threadsafe`` (a write to the loop's self-pipe, which races
        that loop closing its self-pipe) the write cannot meet a close of the fd. Returns False
        when the channel is already destroyed."""
        self._on_close_request = on_close
        with self._fd_lock:
            if self.ptr is None:
                return False
            os.eventfd_write(self.fd, 1)
        return True

    def cancel_all(self, on_own_thread: bool) -> None:
        """Mark every in-flight task cancelled (workers skip those not yet started) and fail the
        submissions waiting for a slot with EngineClosed: at once on the channel's own loop
        thread, else through its eventfd (its futures belong to its loop)."""
        for fut in list(self.pending.values()):
            if fut._task:
                _ffi.task_cancel_at(fut._task, fut._id)
        if not self.waiting:
            return
        if on_own_thread:
            self.drop_waiting(EngineClosed("the engine closed before the task was queued; it was not run"))
        else:
            self._drop_waiting_requested = True
            self.kick()

    def drop_waiting(self, error: Exception | None) -> None:
        """Forget every waiting submission (never queued); fail its future with ``error`` (None:
        the loop is closed, nobody awaits them)."""
        waiting = [f for w in self.waiting for f in w.waiting_futures()]
        self.waiting.clear()
        for fut in waiting:
            _py_jobs.pop(fut._id, None)
            if error is not None and not fut.done():
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    fut.set_exception(error)

    def fail_pending(self, error: Exception) -> None:
        """Resolve every pending and waiting future with ``error`` (the engine is going away).
        Loop thread only, or any thread once the loop is closed (then the futures can have no
        callbacks to run)."""
        self.drop_waiting(error)
        futures = list(self.pending.items())
        self.pending.clear()
        for job_id, fut in futures:
            _py_jobs.pop(job_id, None)
            fut._task = 0
            if not fut.done():
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    fut.set_exception(error)

    def reap(self) -> bool:
        """For a channel whose loop is closed: drain what arrived (freeing the records, dropping
        the results); returns True when nothing of it is in flight any more (safe to destroy)."""
        self.drop_waiting(None)
        while True:
            n = _ffi.channel_drain(self.ptr, self._buf, BATCH)
            for i in range(n):
                job_id = self._buf[i].id
                fut = self.pending.pop(job_id, None)
                if fut is not None:
                    fut._task = 0
                    _py_jobs.pop(job_id, None)
            if n < BATCH:
                # the last worker may still be inside aio_channel_complete (eventfd write)
                return not self.pending and _ffi.channel_inflight(self.ptr) == 0

    def close(self, error: Exception) -> None:
        """Deliver what has arrived, fail what is still pending with ``error``, and free the
        channel. Call on the loop's thread, or any thread once the loop is closed."""
        if self.loop.is_closed():
            self.reap()
        else:
            self._drain_all()
        self.fail_pending(error)
        self.destroy()

    def _drain_all(self) -> None:
        while self._drain_batch() == BATCH:
            pass

    def detach(self) -> None:
        """Stop watching the eventfd (call on the loop's thread, or when the loop is closed)."""
        if self._closed:
            return
        self._closed = True
        if not self.loop.is_closed():
            self.loop.remove_reader(self.fd)

    def destroy(self) -> None:
        """Free the C channel (closes the eventfd); workers must be stopped."""
        self.detach()
        with self._fd_lock:
            ptr, self.ptr = self.ptr, None
            if ptr is not None:
                _ffi.channel_destroy(ptr)
        self.pending.clear()
        self.drop_waiting(None)
