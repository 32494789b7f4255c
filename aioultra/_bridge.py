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
  stored on the job, and only the loop thread touches the future.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

import structlog

from . import _ffi
from ._errors import DeadlineExceeded, EngineClosed, KernelError, UltraEngineError

log = structlog.get_logger("aioultra")

BATCH = 256
MAX_PER_PASS = 4096

KIND_KERNEL = 0
KIND_PYTHON = 1
KIND_BATCH = 2

_next_id = itertools.count(1).__next__
_py_jobs: dict[int, Job] = {}


def next_job_id() -> int:
    """A process-wide unique job id (itertools.count is atomic under the GIL)."""
    return _next_id()


class Job:
    """One submission in flight: its future, what keeps its buffers alive, how to resolve it."""

    __slots__ = ("args", "error", "fn", "future", "id", "keep", "kernel", "kind", "kwargs", "out", "result", "task")

    def __init__(self, future: asyncio.Future[Any], kind: int, job_id: int = 0) -> None:
        self.id = job_id
        self.future = future
        self.kind = kind
        self.task: Any = None  # aio_task * while in flight
        self.keep: Any = None  # input buffers kept alive until completion
        self.out: Any = None  # external output buffer (kernels with out_size > inline)
        self.kernel: Any = None
        self.fn: Callable[..., Any] | None = None
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self.result: Any = None
        self.error: BaseException | None = None


def run_py_job(job_id: int) -> int:
    """Runs Python job ``job_id`` on a worker thread (GIL held); returns a status code."""
    job = _py_jobs.get(job_id)
    if job is None or job.fn is None:
        return int(_ffi.STATUS_FAILED)
    fn, args, kwargs = job.fn, job.args, job.kwargs
    try:
        job.result = fn(*args, **kwargs)
    except BaseException as exc:
        job.error = exc
        del job, fn, args, kwargs  # the traceback holds this frame: break the cycle
        return int(_ffi.STATUS_FAILED)
    return int(_ffi.STATUS_OK)


_ffi.set_py_dispatch(run_py_job)


def register_py_job(job_id: int, job: Job) -> None:
    """Make a Python job visible to the worker entry (before it is submitted)."""
    _py_jobs[job_id] = job


def forget_py_job(job_id: int) -> None:
    """Drop a Python job that was not submitted after all (e.g. QueueFull)."""
    _py_jobs.pop(job_id, None)


class Channel:
    """The completion channel of one event loop; created and drained on that loop's thread."""

    def __init__(self, engine_ptr: Any, loop: asyncio.AbstractEventLoop, on_idle: Callable[[], None]) -> None:
        self.loop = loop
        self.ptr = _ffi.channel_create(engine_ptr)
        self.fd = _ffi.channel_fd(self.ptr)
        self.pending: dict[int, Job] = {}
        self.task_out = _ffi.new("aio_task **")
        self._buf = _ffi.new_completions(BATCH)
        self._on_idle = on_idle
        self._closed = False
        self._fd_lock = threading.Lock()  # kick() from another thread vs destroy() closing the fd
        self._on_close_request: Callable[[Channel], None] | None = None
        loop.add_reader(self.fd, self._on_readable)

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
        handled = 0
        while True:
            n = self._drain_batch()
            handled += n
            if n < BATCH and not _ffi.channel_arm(self.ptr):
                break  # armed: the next completion writes the eventfd
            if handled >= MAX_PER_PASS:
                # Bounded work per pass; still disarmed, so come back ourselves.
                self.loop.call_soon(self._drain)
                return
        if not self.pending:
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
        job = self.pending.pop(c.id, None)
        if job is None:
            return
        kind = job.kind
        if kind == KIND_PYTHON:
            _py_jobs.pop(c.id, None)
        fut = job.future
        if fut.done():
            return  # the awaiter was cancelled: drop the late completion
        status = c.status
        if status == _ffi.STATUS_OK:
            if kind == KIND_KERNEL:
                rc = c.rc
                fut.set_result(_ffi.buffer(c.out if job.out is None else job.out, rc)[:])
            elif kind == KIND_PYTHON:
                fut.set_result(job.result)
            else:
                fut.set_result(None)  # a batch: results are read from its buffers
        elif status == _ffi.STATUS_FAILED:
            if kind == KIND_PYTHON:
                error = job.error
                job.error = None
                if isinstance(error, StopIteration):  # a future cannot hold StopIteration (PEP 479)
                    wrapped = RuntimeError(f"task raised StopIteration: {error!r}")
                    wrapped.__cause__ = error
                    error = wrapped
                fut.set_exception(error if error is not None else UltraEngineError("Python job failed"))
            else:
                fut.set_exception(KernelError(job.kernel.name, int(c.rc)))
        elif status == _ffi.STATUS_EXPIRED:
            fut.set_exception(DeadlineExceeded("the task did not start before its deadline_us; it was not run"))
        else:
            fut.set_exception(EngineClosed("the engine closed before the task started; it was not run"))

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

    def cancel_all(self) -> None:
        """Mark every in-flight task cancelled (workers skip those not yet started)."""
        for job in list(self.pending.values()):
            if job.task is not None:
                _ffi.task_cancel(job.task, job.id)

    def fail_pending(self, error: Exception) -> None:
        """Resolve every pending future with ``error`` (the engine is going away). Loop thread only,
        or any thread once the loop is closed (then the futures can have no callbacks to run)."""
        pending = list(self.pending.items())
        self.pending.clear()
        for job_id, job in pending:
            _py_jobs.pop(job_id, None)
            if not job.future.done():
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    job.future.set_exception(error)

    def reap(self) -> bool:
        """For a channel whose loop is closed: drain what arrived (freeing the records, dropping
        the results); returns True when nothing of it is in flight any more (safe to destroy)."""
        while True:
            n = _ffi.channel_drain(self.ptr, self._buf, BATCH)
            for i in range(n):
                job = self.pending.pop(self._buf[i].id, None)
                if job is not None and job.kind == KIND_PYTHON:
                    _py_jobs.pop(self._buf[i].id, None)
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
