"""The Engine: public API over the native core.

``async with Engine() as engine`` starts the workers and registers the calling loop's
channel; ``await engine.submit(...)`` queues one task and awaits its result; leaving the
block drains queued work (or cancels it) and joins every thread. Other event loops (in
other threads) may use the same engine; each gets its own channel and only its own
completions.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

import structlog

from . import _ffi
from ._bridge import KIND_BATCH, KIND_KERNEL, KIND_PYTHON, Channel, Job, forget_py_job, next_job_id, register_py_job
from ._config import EngineConfig
from ._errors import EngineClosed, InvalidTask, KernelError, QueueFull
from ._stats import EngineStats, NodeStats, WorkerStats
from ._task import DEFAULT_PRIORITY, Task
from ._topology import Topology
from .kernels import Kernel

log = structlog.get_logger("aioultra")

_NEW, _RUNNING, _CLOSING, _CLOSED = "new", "running", "closing", "closed"
_MAP_CHUNK_MAX = 4096
_MAX_DEADLINE_US = 1e13
_REAP_CLOSING_S = 0.1  # after stop: how often to look for loops that closed before closing their channel
_live: weakref.WeakSet[Engine] = weakref.WeakSet()


def _check_priority(priority: object) -> int:
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise InvalidTask(f"priority must be an int 0-255, got {priority!r}")
    if not 0 <= priority <= 255:
        raise InvalidTask(f"priority must be between 0 and 255, got {priority}")
    return priority


def _deadline_ns(deadline_us: object) -> int:
    if deadline_us is None:
        return 0
    if not isinstance(deadline_us, int | float) or isinstance(deadline_us, bool):
        raise InvalidTask(f"deadline_us must be a number of microseconds, got {deadline_us!r}")
    if (isinstance(deadline_us, float) and not math.isfinite(deadline_us)) or deadline_us < 0:
        raise InvalidTask(f"deadline_us must be finite and >= 0, got {deadline_us}")
    if deadline_us > _MAX_DEADLINE_US:
        raise InvalidTask(f"deadline_us must be at most {_MAX_DEADLINE_US:.0e} (about 115 days), got {deadline_us}")
    return max(1, int(deadline_us * 1000))


def _run_chunk(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return [fn(x) for x in items]


def _run_chunk_capture(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in items:
        try:
            out.append(fn(x))
        except Exception as exc:  # map(return_exceptions=True): the item's exception is its result
            out.append(exc)
    return out


class Engine:
    """An asyncio-integrated task engine running work on native worker threads.

    ``Engine(config=None, **overrides)``: settings from ``config`` (default
    ``EngineConfig()``) with ``overrides`` applied, e.g. ``Engine(queue_capacity=1024)``.
    """

    def __init__(self, config: EngineConfig | None = None, **overrides: Any) -> None:
        if config is not None and not isinstance(config, EngineConfig):
            raise TypeError(f"config must be an EngineConfig or None, got {type(config).__name__}")
        base = config if config is not None else EngineConfig()
        self.config: EngineConfig = base.replace(**overrides) if overrides else base
        self._state = _NEW
        self._ptr: Any = None
        self._channels: dict[asyncio.AbstractEventLoop, Channel] = {}
        self._dead_channels: list[Channel] = []  # of closed loops, freed once nothing is in flight
        self._closing: set[Channel] = set()  # channels left to close after stop, each on its own loop
        self._lock = threading.Lock()
        self._topology: Topology | None = None
        self._started_at = 0.0
        self._pid = os.getpid()
        self._forked = False
        self._full_logged = False
        self._idle_waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._n_workers = 0

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def topology(self) -> Topology:
        """The topology the engine uses (resolved at start, or now if not started)."""
        if self._topology is None:
            self._topology = self.config.resolve_topology()
        return self._topology

    @property
    def running(self) -> bool:
        """True between start() and aclose()."""
        return self._state == _RUNNING

    async def start(self) -> None:
        """Start the worker threads and register this loop's completion channel."""
        if self._forked:
            raise self._fork_error()
        if self._state != _NEW:
            raise EngineClosed(f"engine cannot be started: it is {self._state}")
        loop = asyncio.get_running_loop()
        topo = self.topology
        allowed = set(os.sched_getaffinity(0))
        node_workers: list[int] = []
        worker_cpus: list[int] = []
        for cpus in topo.nodes:
            count = self.config.workers_per_numa_node or len(cpus)
            node_workers.append(count)
            for j in range(count):
                cpu = cpus[j % len(cpus)]
                worker_cpus.append(cpu if self.config.enable_cpu_affinity and cpu in allowed else -1)
        cpu_node = [-1] * (max(topo.cpus) + 1)
        for index, cpus in enumerate(topo.nodes):
            for cpu in cpus:
                cpu_node[cpu] = index
        self._ptr = _ffi.engine_create(
            node_workers,
            worker_cpus,
            cpu_node,
            self.config.queue_capacity,
            self.config.enable_work_stealing,
            self.config.enable_cpu_affinity,
            float(self.config.load_balance_threshold),
            int(self.config.spin_us * 1000),
            self.config.wake_policy,
            self.config.adaptive_spin,
            self.config.max_searchers or 0,
        )
        try:
            _ffi.engine_start(self._ptr)
        except BaseException:
            _ffi.engine_destroy(self._ptr)
            self._ptr = None
            self._state = _CLOSED
            raise
        self._state = _RUNNING
        self._n_workers = sum(node_workers)
        self._pid = os.getpid()
        self._started_at = time.monotonic()
        _live.add(self)
        self._channel_for(loop)
        workers = self.stats().workers
        log.info(
            "engine.start",
            workers=len(workers),
            nodes=topo.node_count,
            cpus=topo.cpus,
            topology=str(topo),
            capacity=self.config.queue_capacity,
            spin_us=self.config.spin_us,
            wake_policy=self.config.wake_policy,
            adaptive_spin=self.config.adaptive_spin,
        )
        if self.config.enable_cpu_affinity:
            log.info(
                "engine.pinning",
                planned=[w.planned_cpu for w in workers],
                running_on=[w.cpu for w in workers],
                unpinned=[w.index for w in workers if not w.pinned],
            )

    async def aclose(self, cancel_pending: bool = False) -> None:
        """Stop the engine: wait for (or, with ``cancel_pending``, cancel) work in flight, then
        join every worker and close every channel. Awaiters of cancelled tasks get EngineClosed.
        Safe to call more than once."""
        if self._forked or self._state in (_NEW, _CLOSED):
            self._state = _CLOSED
            return
        if self._state == _CLOSING:
            raise EngineClosed("aclose() is already in progress")
        self._state = _CLOSING
        loop = asyncio.get_running_loop()
        try:
            if cancel_pending:
                self._cancel_all()
            self._reap_closed_loops()
            while self._has_pending():
                waiter: asyncio.Future[None] = loop.create_future()
                self._idle_waiter = (loop, waiter)
                if not self._has_pending():
                    break
                await waiter
        except BaseException:
            self._cancel_all()  # interrupted while draining: don't run what is still queued
            raise
        finally:
            self._idle_waiter = None
            self._shutdown()

    def _cancel_all(self) -> None:
        for ch in list(self._channels.values()):
            ch.cancel_all()

    def _reap_closed_loops(self) -> bool:
        """Free the records of completions sent to event loops that have since closed (nobody
        will drain them); drop such channels once nothing of theirs is in flight. Returns True
        when records were freed."""
        freed = False
        with self._lock:
            for loop, ch in list(self._channels.items()):
                if loop.is_closed():
                    del self._channels[loop]
                    self._dead_channels.append(ch)
            for ch in list(self._dead_channels):
                before = len(ch.pending)
                if ch.reap():  # nothing in flight, and no worker inside aio_channel_complete any more
                    ch.destroy()
                    self._dead_channels.remove(ch)
                freed = freed or len(ch.pending) < before
        return freed

    def _has_pending(self) -> bool:
        return any(ch.pending and not ch.loop.is_closed() for ch in list(self._channels.values()))

    def _on_channel_idle(self) -> None:
        waiter = self._idle_waiter
        if waiter is None or self._has_pending():
            return
        loop, fut = waiter
        with contextlib.suppress(RuntimeError):  # the closing loop itself is closed
            loop.call_soon_threadsafe(_set_done, fut)

    def _shutdown(self) -> None:
        """Stop and join the workers, then close every channel, each on its own loop's thread.
        The core is freed when the last channel is closed: a loop that is still draining (or a
        submission still inside the C call on another thread) never touches freed memory."""
        with self._lock:
            if self._ptr is None or self._state == _CLOSED:
                self._state = _CLOSED
                return
            stats = self.stats()
            _ffi.engine_stop(self._ptr)  # joins the workers; whatever is still queued is abandoned
            self._state = _CLOSED
            _live.discard(self)
            channels = list(self._channels.items()) + [(ch.loop, ch) for ch in self._dead_channels]
            self._channels.clear()
            self._dead_channels.clear()
            self._closing = {ch for _, ch in channels}
        if not channels:
            self._free_core()
        current = _running_loop()
        others = False
        for loop, ch in channels:
            here = loop is current or loop.is_closed()
            # request_close: False when already destroyed; the loop may also close meanwhile
            if here or not ch.request_close(self._close_channel) or loop.is_closed():
                self._close_channel(ch)
            else:
                others = True
        if others and current is not None:
            current.call_later(_REAP_CLOSING_S, self._reap_closing, current)
        log.info(
            "engine.stop",
            submitted=stats.tasks_submitted,
            completed=stats.tasks_completed,
            failed=stats.tasks_failed,
            cancelled=stats.tasks_cancelled,
            expired=stats.tasks_expired,
        )

    def _close_channel(self, ch: Channel) -> None:
        """Close one channel left after stop (once; on its loop's thread, or anywhere once its
        loop is closed); the last one frees the core."""
        with self._lock:
            if ch not in self._closing:
                return
            self._closing.discard(ch)
            last = not self._closing
        ch.close(EngineClosed("the engine closed before the task completed"))
        if last:
            self._free_core()

    def _reap_closing(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop that closed the engine: close the channels of loops that closed before
        they handled their close request (nothing runs on them any more)."""
        for ch in list(self._closing):
            if ch.loop.is_closed():
                self._close_channel(ch)
        if self._closing and not loop.is_closed():
            loop.call_later(_REAP_CLOSING_S, self._reap_closing, loop)

    def _free_core(self) -> None:
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            _ffi.engine_destroy(ptr)

    def _stop_for_exit(self) -> None:
        """atexit: cancel what is queued and join the workers before the interpreter finalizes."""
        if self._ptr is None or self._forked:
            return
        for ch in list(self._channels.values()):
            ch.cancel_all()
        _ffi.engine_stop(self._ptr)
        self._state = _CLOSED

    def _after_fork_in_child(self) -> None:
        # The workers do not exist here; the core's memory is the parent's copy: never touch it.
        self._forked = True
        self._state = _CLOSED
        self._ptr = None
        self._channels = {}

    def _fork_error(self) -> EngineClosed:
        return EngineClosed(
            f"this Engine was started in process {self._pid}; after fork() its worker threads do not "
            f"exist in this child process ({os.getpid()}), so it is closed here: create a new Engine "
            "in the child"
        )

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- submission ---------------------------------------------------------------------

    def _channel_for(self, loop: asyncio.AbstractEventLoop) -> Channel:
        ch = self._channels.get(loop)
        if ch is None:
            self._reap_closed_loops()  # a new loop often means an old one has gone
            with self._lock:
                if self._state != _RUNNING:
                    raise self._closed_error()
                ch = self._channels.get(loop)
                if ch is None:  # only this loop's thread creates its channel
                    ch = Channel(self._ptr, loop, self._on_channel_idle)
                    self._channels[loop] = ch
        return ch

    def _closed_error(self) -> EngineClosed:
        if self._forked:
            return self._fork_error()
        if self._state == _NEW:
            return EngineClosed("engine is not started: use 'async with Engine()' or 'await engine.start()'")
        return EngineClosed(f"engine is {self._state}: no new submissions")

    def _retry_after_full(self) -> bool:
        """On QueueFull: reclaim slots held by closed loops; True means try again. Otherwise log
        the back-pressure event (once per full episode) and return False."""
        if self._reap_closed_loops():
            return True
        if not self._full_logged:
            self._full_logged = True
            log.warning("engine.queue_full", capacity=self.config.queue_capacity)
        return False

    async def submit(
        self,
        target: Any,
        /,
        *args: Any,
        priority: int | None = None,
        deadline_us: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``target`` on a worker and return its result.

        ``target`` is a :class:`Kernel` (args: its input bytes), a :class:`Task` (no args), or a
        callable (called with ``*args, **kwargs``). ``priority`` 0-255 (higher first; default:
        the task's ``priority()`` or 5). ``deadline_us``: if the task has not started that many
        microseconds after submission it is not run and DeadlineExceeded is raised.
        Raises QueueFull at once when ``queue_capacity`` tasks are in flight, EngineClosed when
        the engine is not running, InvalidTask for bad arguments. Exceptions raised by the task
        reach the awaiter unchanged.
        """
        if self._state != _RUNNING:
            raise self._closed_error()
        deadline_ns = _deadline_ns(deadline_us) if deadline_us is not None else 0
        loop = asyncio.get_running_loop()
        ch = self._channels.get(loop) or self._channel_for(loop)
        job_id = next_job_id()
        fut = loop.create_future()
        if isinstance(target, Kernel):
            if kwargs:
                raise InvalidTask(f"kernel {target.name!r} takes no keyword arguments, got {sorted(kwargs)}")
            prio = DEFAULT_PRIORITY if priority is None else _check_priority(priority)
            data = target.encode(args)
            job = Job(fut, KIND_KERNEL, job_id)
            job.kernel = target
            src = _ffi.from_buffer(data) if data else _ffi.NULL
            job.keep = (data, src)
            out_cap = target.out_size
            if out_cap > _ffi.INLINE_OUT:
                job.out = _ffi.new("uint8_t[]", out_cap)
            self._enqueue(
                ch,
                job,
                _ffi.submit,
                self._ptr,
                ch.ptr,
                job_id,
                target._fn,
                target._ctx,
                src,
                len(src) if data else 0,
                job.out if job.out is not None else _ffi.NULL,
                out_cap,
                prio,
                deadline_ns,
                1,
                ch.task_out,
            )
        else:
            if isinstance(target, Task):
                if args or kwargs:
                    raise InvalidTask("a Task takes no arguments: put them on the task object")
                fn: Callable[..., Any] = target.execute
                prio = _check_priority(target.priority() if priority is None else priority)
                weight = target.estimated_duration_us()
                if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                    raise InvalidTask(f"estimated_duration_us() must return an int >= 0, got {weight!r}")
                weight = min(max(weight, 1), 0xFFFFFFFF)
            elif callable(target):
                fn = target
                prio = DEFAULT_PRIORITY if priority is None else _check_priority(priority)
                weight = 1
            else:
                raise InvalidTask(
                    f"cannot submit {type(target).__name__!r}: expected a callable, an aioultra.Task or a Kernel"
                )
            job = self._enqueue_python(ch, job_id, fut, fn, args, kwargs, prio, deadline_ns, weight)
        try:
            return await self._wait(ch, job_id, job)
        finally:
            del job, fut  # the traceback keeps this frame: it must not keep the future (and its exception)

    def _enqueue(self, ch: Channel, job: Job, push: Callable[..., None], *args: Any) -> None:
        """``push(*args)`` (an _ffi submit call) and register the job as pending on ``ch``. On
        QueueFull, slots held by closed loops are reclaimed and the push is retried once they
        are; otherwise QueueFull propagates (nothing was queued)."""
        if self._state != _RUNNING:  # e.g. a map still enqueueing chunks while the engine closes
            raise self._closed_error()
        while True:
            try:
                push(*args)
                break
            except QueueFull:
                if not self._retry_after_full():
                    raise
        job.task = ch.task_out[0]
        ch.pending[job.id] = job
        self._full_logged = False

    def _enqueue_python(
        self,
        ch: Channel,
        job_id: int,
        fut: asyncio.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        prio: int,
        deadline_ns: int,
        weight: int,
    ) -> Job:
        """Queue a Python job; raises QueueFull/EngineClosed synchronously (nothing queued then)."""
        job = Job(fut, KIND_PYTHON, job_id)
        job.fn, job.args, job.kwargs = fn, args, kwargs
        register_py_job(job_id, job)
        try:
            self._enqueue(
                ch,
                job,
                _ffi.submit,
                self._ptr,
                ch.ptr,
                job_id,
                _ffi.NULL,
                _ffi.NULL,
                _ffi.NULL,
                0,
                _ffi.NULL,
                0,
                prio,
                deadline_ns,
                weight,
                ch.task_out,
            )
        except BaseException:
            forget_py_job(job_id)
            raise
        return job

    @staticmethod
    async def _wait(ch: Channel, job_id: int, job: Job) -> Any:
        try:
            return await job.future
        except asyncio.CancelledError:
            if job_id in ch.pending:
                _ffi.task_cancel(job.task, job.id)
            raise
        finally:
            del job  # the traceback keeps this frame: it must not keep the future (and its exception)

    async def map(
        self,
        target: Any,
        iterable: Iterable[Any],
        *,
        priority: int | None = None,
        deadline_us: float | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """Apply ``target`` to every item; returns the results in order.

        For a :class:`Kernel` each item is its input bytes and the items run in batches (one
        task per chunk, no Python per item on the workers); the first failing item's KernelError
        is raised and carries its index. For a callable, chunks of items run as Python jobs; the
        error of a failing chunk is raised (if several fail, whichever finishes first).
        With ``return_exceptions=True`` nothing is raised for failing items: each one's
        exception takes its place in the list (as with ``asyncio.gather``), the other items'
        results are kept. ``deadline_us`` applies to each chunk: a chunk that has not started
        within it is not run and DeadlineExceeded is raised (also with ``return_exceptions``:
        a deadline is about the whole call, not an item). Back-pressure: when the queue is full,
        map waits for its own chunks.
        """
        if self._state != _RUNNING:
            raise self._closed_error()
        prio = DEFAULT_PRIORITY if priority is None else _check_priority(priority)
        deadline_ns = _deadline_ns(deadline_us)
        if not isinstance(iterable, Iterable):
            raise InvalidTask(f"map needs an iterable of items, got {type(iterable).__name__}")
        items = list(iterable)
        if not items:
            return []
        if isinstance(target, Kernel):
            return await self._map_kernel(target, items, prio, deadline_ns, return_exceptions)
        if isinstance(target, Task) or not callable(target):
            raise InvalidTask(f"map target must be a Kernel or a callable, got {type(target).__name__!r}")
        loop = asyncio.get_running_loop()
        ch = self._channel_for(loop)
        chunk = self._chunk_size(len(items))
        parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]

        run = _run_chunk_capture if return_exceptions else _run_chunk

        def enqueue(index: int) -> Job:
            return self._enqueue_python(
                ch,
                next_job_id(),
                loop.create_future(),
                run,
                (target, parts[index]),
                {},
                prio,
                deadline_ns,
                len(parts[index]),
            )

        jobs = await self._run_batches(ch, len(parts), enqueue)
        return [r for job in jobs for r in job.future.result()]

    def _chunk_size(self, n: int) -> int:
        workers = max(1, self._n_workers)
        return max(1, min(_MAP_CHUNK_MAX, math.ceil(n / (workers * 4))))

    async def _run_batches(self, ch: Channel, count: int, enqueue: Callable[[int], Job]) -> list[Job]:
        """Queue ``count`` batch jobs in order and await them all. On QueueFull, wait for one of
        this map's own jobs to finish and retry; if none is in flight, QueueFull propagates.
        On any error or cancellation, the map's unfinished jobs are cancelled."""
        jobs: list[Job] = []
        try:
            for index in range(count):
                while True:
                    try:
                        jobs.append(enqueue(index))
                        break
                    except QueueFull:
                        waiting = [j.future for j in jobs if not j.future.done()]
                        if not waiting:
                            raise
                        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            await asyncio.gather(*(j.future for j in jobs))
        except BaseException:
            _cancel_unfinished(ch, jobs)
            jobs.clear()  # the traceback keeps this frame: it must not keep the futures (and their exceptions)
            raise
        return jobs

    async def _map_kernel(
        self, kernel: Kernel, items: list[Any], prio: int, deadline_ns: int, return_exceptions: bool
    ) -> list[Any]:
        try:
            joined = b"".join(items)  # C speed; any item that is not a contiguous buffer fails here
        except (TypeError, BufferError, ValueError) as exc:
            _reject_map_items(kernel, items)
            raise InvalidTask(f"kernel {kernel.name!r} map items must be contiguous bytes-like buffers") from exc
        if kernel._encode is not None:
            raise InvalidTask(f"kernel {kernel.name!r} takes encoded arguments; use submit() per item")
        lengths = list(map(len, items))
        if sum(lengths) != len(joined):  # some buffer's items are wider than a byte: count bytes
            lengths = [len(x) if isinstance(x, bytes | bytearray) else memoryview(x).nbytes for x in items]
        n = len(items)
        offsets = _ffi.new("uint64_t[]", n + 1)
        offsets[0 : n + 1] = [0, *accumulate(lengths)]
        stride = kernel.out_size
        out = _ffi.new("uint8_t[]", max(1, n * stride))
        rcs = _ffi.new("int64_t[]", n)
        src = _ffi.from_buffer(joined) if joined else _ffi.new("uint8_t[]", 1)
        chunk = self._chunk_size(n)
        loop = asyncio.get_running_loop()
        ch = self._channel_for(loop)
        keep = (joined, src, offsets, out, rcs)

        def enqueue(index: int) -> Job:
            start = index * chunk
            job_id = next_job_id()
            job = Job(loop.create_future(), KIND_BATCH, job_id)
            job.kernel = kernel
            job.keep = keep
            self._enqueue(
                ch,
                job,
                _ffi.submit_batch,
                self._ptr,
                ch.ptr,
                job_id,
                kernel._fn,
                kernel._ctx,
                src,
                offsets + start,
                min(chunk, n - start),
                out + start * stride,
                stride,
                rcs + start,
                prio,
                deadline_ns,
                ch.task_out,
            )
            return job

        await self._run_batches(ch, math.ceil(n / chunk), enqueue)
        codes = _ffi.unpack(rcs, n)
        buf = _ffi.buffer(out, n * stride) if stride else None
        results: list[Any] = []
        for i, rc in enumerate(codes):
            if rc < 0:
                error = KernelError(kernel.name, int(rc), index=i)
                if not return_exceptions:
                    raise error
                results.append(error)
            else:
                results.append(buf[i * stride : i * stride + rc] if buf is not None else b"")
        return results

    # --- observability ------------------------------------------------------------------

    def stats(self) -> EngineStats:
        """A snapshot of the engine's counters (see EngineStats)."""
        if self._ptr is None or self._state == _CLOSED:
            raise self._closed_error()
        e = _ffi.engine_stats(self._ptr)
        workers = []
        for i in range(e.n_workers):
            w = _ffi.worker_stats(self._ptr, i)
            workers.append(
                WorkerStats(
                    index=i,
                    node=w.node,
                    planned_cpu=w.planned_cpu,
                    cpu=w.cpu,
                    pinned=bool(w.pinned),
                    executed=w.executed,
                    steals_local=w.steals_local,
                    steals_remote=w.steals_remote,
                    stolen_from=w.stolen_from,
                    parks=w.parks,
                    wakeups=w.wakeups,
                    tid=w.tid,
                    parked=bool(w.parked),
                    queue_depth=w.deque_size,
                )
            )
        topo = self.topology
        nodes = []
        for n in range(e.n_nodes):
            ns = _ffi.node_stats(self._ptr, n)
            mine = [w for w in workers if w.node == n]
            nodes.append(
                NodeStats(
                    index=n,
                    cpus=tuple(topo.nodes[n]),
                    workers=len(mine),
                    load=ns.load,
                    queue_depth=ns.queued,
                    submitted=ns.submitted,
                    executed=sum(w.executed for w in mine),
                    steals_local=sum(w.steals_local for w in mine),
                    steals_remote=sum(w.steals_remote for w in mine),
                    stolen_from=sum(w.stolen_from for w in mine),
                )
            )
        uptime = time.monotonic() - self._started_at
        finished = e.completed + e.failed + e.cancelled + e.expired
        return EngineStats(
            tasks_submitted=e.submitted,
            tasks_completed=e.completed,
            tasks_failed=e.failed,
            tasks_cancelled=e.cancelled,
            tasks_expired=e.expired,
            steals=sum(w.steals for w in workers),
            queue_size=e.in_flight,
            queue_capacity=e.capacity,
            throughput=finished / uptime if uptime > 0 else 0.0,
            uptime_s=uptime,
            workers=tuple(workers),
            nodes=tuple(nodes),
        )

    def __repr__(self) -> str:
        return f"<aioultra.Engine {self._state} workers={self._n_workers} capacity={self.config.queue_capacity}>"


def _reject_map_items(kernel: Kernel, items: list[Any]) -> None:
    """Raise InvalidTask naming the first item of a kernel map that is not a contiguous buffer."""
    for i, x in enumerate(items):
        if not isinstance(x, bytes | bytearray | memoryview):
            raise InvalidTask(f"kernel {kernel.name!r} map items must be bytes-like; item {i} is {type(x).__name__}")
        if isinstance(x, memoryview) and not x.c_contiguous:
            raise InvalidTask(f"kernel {kernel.name!r} map items must be C-contiguous; item {i} is not")


def _cancel_unfinished(ch: Channel, jobs: list[Job]) -> None:
    """Mark every job of a failed map that is still in flight cancelled (also those whose future
    gather already cancelled: their tasks must still not run)."""
    for job in jobs:
        if ch.pending.get(job.id) is job:
            _ffi.task_cancel(job.task, job.id)
        job.future.cancel()


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _stop_all_at_exit() -> None:
    for engine in list(_live):
        try:
            engine._stop_for_exit()
        except Exception:
            log.exception("engine.exit_stop_failed")


def _after_fork_in_child() -> None:
    for engine in list(_live):
        engine._after_fork_in_child()
    _live.clear()


atexit.register(_stop_all_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
