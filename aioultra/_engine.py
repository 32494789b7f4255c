"""The Engine: public API over the native core.

``async with Engine() as engine`` starts the workers and registers the calling loop's
channel; ``await engine.submit(...)`` queues one task and awaits its result; leaving the
block drains queued work (or, leaving by an exception, cancels it) and joins every thread
off the loop. Other event loops (in
other threads) may use the same engine; each gets its own channel and only its own
completions.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import time
import weakref
from typing import Any

import structlog

from . import _ffi
from ._bridge import Channel, Waiting, WaitingMany
from ._closing import CLOSED, NEW, RUNNING, Closing, Stopper
from ._config import EngineConfig
from ._errors import EngineClosed
from ._loops import current_loop, running_loop
from ._map import Mapping
from ._rates import SAMPLE_EVERY_S, RateSampler
from ._stats import EngineStats, sample, snapshot
from ._submit import Submitting
from ._topology import Topology

log = structlog.get_logger("aioultra")

_REAP_CLOSING_S = 0.1  # after stop: how often to look for loops that closed before closing their channel
_REAP_WAITING_S = 0.05  # while submissions wait: how often to reclaim slots held by loops that closed
_live: weakref.WeakSet[Engine] = weakref.WeakSet()


class Engine(Closing, Submitting, Mapping):
    """An asyncio-integrated task engine running work on native worker threads.

    ``Engine(config=None, **overrides)``: settings from ``config`` (default
    ``EngineConfig()``) with ``overrides`` applied, e.g. ``Engine(queue_capacity=1024)``.
    This module holds its lifecycle (start, channels per loop, closing the channels);
    ``aclose`` comes from ``_closing``, ``submit`` and ``submit_many`` from ``_submit``,
    ``map`` from ``_map``.
    """

    def __init__(self, config: EngineConfig | None = None, **overrides: Any) -> None:
        if config is not None and not isinstance(config, EngineConfig):
            raise TypeError(f"config must be an EngineConfig or None, got {type(config).__name__}")
        base = config if config is not None else EngineConfig()
        self.config: EngineConfig = base.replace(**overrides) if overrides else base
        self._state = NEW
        self._ptr: Any = None
        self._channels: dict[asyncio.AbstractEventLoop, Channel] = {}
        self._dead_channels: list[Channel] = []  # of closed loops, freed once nothing is in flight
        self._closing: set[Channel] = set()  # channels left to close after stop, each on its own loop
        self._unclosed = 0  # channels not yet destroyed after stop: the core is freed at 0
        self._lock = threading.Lock()
        self._topology: Topology | None = None
        self._started_at = 0.0
        self._rates = RateSampler(0.0)
        self._reader: _ffi.StatsReader | None = None
        self._final_stats: EngineStats | None = None  # taken when the workers stopped
        self._stopper: Stopper | None = None  # joins the workers off the loop (aclose)
        self._shut_down = False  # the channels were handed their close (once, after the join)
        self._pid = os.getpid()
        self._forked = False
        self._full_logged_at = -1.0
        self._idle_waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._n_workers = 0
        self._on_full = self.config.on_full
        self._on_full_wait = self._on_full == "wait"

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
        return self._state == RUNNING

    async def start(self) -> None:
        """Start the worker threads and register this loop's completion channel."""
        if self._forked:
            raise self._fork_error()
        if self._state != NEW:
            raise EngineClosed(f"engine cannot be started: it is {self._state}")
        loop = running_loop()
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
            self.config.latency_histograms,
        )
        try:
            _ffi.engine_start(self._ptr)
        except BaseException:
            _ffi.engine_destroy(self._ptr)
            self._ptr = None
            self._state = CLOSED
            raise
        self._state = RUNNING
        self._n_workers = sum(node_workers)
        self._reader = _ffi.StatsReader(self._ptr, self._n_workers, len(node_workers))
        self._pid = os.getpid()
        self._started_at = time.monotonic()
        self._rates = RateSampler(self._started_at)
        _live.add(self)
        self._channel_for(loop)
        loop.call_later(SAMPLE_EVERY_S, self._sample_rates, loop)
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

    def _cancel_all(self) -> None:
        current = current_loop()
        for ch in list(self._channels.values()):
            ch.cancel_all(ch.loop is current)

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
        if freed:
            self._kick_waiters(None)  # the freed slots are theirs: each retries on its own loop
        return freed

    def _kick_waiters(self, but: Channel | None) -> None:
        """Wake every channel (except ``but``) with submissions waiting for a slot, through its
        eventfd: each retries on its own loop."""
        if len(self._channels) == 1 and but is not None:
            return  # one loop: the caller itself (the drain's hot path stops here)
        for ch in list(self._channels.values()):
            if ch is not but and ch.waiting:
                ch.kick()

    def _wait_in_line(self, ch: Channel, entry: Waiting | WaitingMany) -> None:
        """Queue ``entry`` behind ``ch``'s waiters and try at once (a slot may have come free
        since: another loop's drain kicks only channels it sees waiting). While waiters remain,
        slots held by loops that closed are reclaimed on a timer: nothing else frees them."""
        ch.waiting.append(entry)
        ch.retry_waiting()
        if ch.waiting and not ch.reaper_armed:
            ch.reaper_armed = True
            ch.loop.call_later(_REAP_WAITING_S, self._reap_for_waiters, ch)

    def _reap_for_waiters(self, ch: Channel) -> None:
        ch.reaper_armed = False
        if self._ptr is None or self._state == CLOSED or not ch.waiting:
            return
        if self._reap_closed_loops():
            ch.retry_waiting()
        if ch.waiting:
            ch.reaper_armed = True
            ch.loop.call_later(_REAP_WAITING_S, self._reap_for_waiters, ch)

    def _has_pending(self) -> bool:
        return any((ch.pending or ch.waiting) and not ch.loop.is_closed() for ch in list(self._channels.values()))

    def _on_channel_idle(self) -> None:
        waiter = self._idle_waiter
        if waiter is None or self._has_pending():
            return
        loop, fut = waiter
        with contextlib.suppress(RuntimeError):  # the closing loop itself is closed
            loop.call_soon_threadsafe(_set_done, fut)

    def _shutdown(self, current: asyncio.AbstractEventLoop | None) -> None:
        """After the workers are joined (by the stop thread): close every channel, each on its
        own loop's thread (``current``: the loop this runs on, None on the stop thread). The
        core is freed when the last channel is closed: a loop that is still draining (or a
        submission still inside the C call on another thread) never touches freed memory."""
        with self._lock:
            if self._ptr is None or self._shut_down:
                self._state = CLOSED
                return
            self._shut_down = True
            stats = self._final_stats = self._snapshot()  # every task counted: run or abandoned
            self._state = CLOSED
            _live.discard(self)
            channels = list(self._channels.items()) + [(ch.loop, ch) for ch in self._dead_channels]
            self._channels.clear()
            self._dead_channels.clear()
            self._closing = {ch for _, ch in channels}
            self._unclosed = len(self._closing)
        if not channels:
            self._free_core()
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
        loop is closed); the last one destroyed frees the core (a channel's destroy touches the
        core: two loops closing theirs at once must not free it under the other)."""
        with self._lock:
            if ch not in self._closing:
                return
            self._closing.discard(ch)  # claimed: no one else closes it
        ch.close(EngineClosed("the engine closed before the task completed"))
        with self._lock:
            self._unclosed -= 1
            last = self._unclosed == 0
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
        if self._stopper is not None:
            self._stopper.thread.join()  # (the interpreter joined it already: not a daemon)
        if self._ptr is None or self._forked:
            return
        for ch in list(self._channels.values()):
            ch.cancel_all(False)
        _ffi.engine_stop(self._ptr)
        self._state = CLOSED

    def _after_fork_in_child(self) -> None:
        # The workers do not exist here; the core's memory is the parent's copy: never touch it.
        self._forked = True
        self._state = CLOSED
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

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        """A normal exit drains the work in flight; an exception (KeyboardInterrupt and
        CancelledError included) cancels what is still queued."""
        await self.aclose(cancel_pending=exc_type is not None)

    # --- channels ---------------------------------------------------------------------

    def _current_channel(self) -> tuple[asyncio.AbstractEventLoop, Channel]:
        """The running loop of this thread and its channel (created on first use)."""
        loop = current_loop()
        if loop is None:
            raise RuntimeError(
                "aioultra: submit(), submit_many() and map() need a running event loop in this thread "
                "(asyncio, uvloop or trio: call them from a coroutine or a callback of the loop)"
            )
        ch = self._channels.get(loop)
        if ch is None:
            ch = self._channel_for(loop)
        return loop, ch

    def _channel_for(self, loop: asyncio.AbstractEventLoop) -> Channel:
        ch = self._channels.get(loop)
        if ch is None:
            self._reap_closed_loops()  # a new loop often means an old one has gone
            with self._lock:
                if self._state != RUNNING:
                    raise self._closed_error()
                ch = self._channels.get(loop)
                if ch is None:  # only this loop's thread creates its channel
                    ch = Channel(self._ptr, loop, self._on_channel_idle, self._on_slots_freed)
                    self._channels[loop] = ch
        return ch

    def _on_slots_freed(self, ch: Channel) -> None:
        """After a drain freed records: let waiting submissions have them, this channel's
        first, other loops' through their eventfd."""
        if ch.waiting:
            ch.retry_waiting()
        self._kick_waiters(ch)

    def _submittable(self) -> None:
        """Raise the error for a submission while the engine is not running."""
        if self._state != RUNNING:
            raise self._closed_error()

    def _closed_error(self) -> EngineClosed:
        if self._forked:
            return self._fork_error()
        if self._state == NEW:
            return EngineClosed("engine is not started: use 'async with Engine()' or 'await engine.start()'")
        return EngineClosed(f"engine is {self._state}: no new submissions")

    def _retry_after_full(self) -> bool:
        """On QueueFull: reclaim slots held by closed loops; True means try again. Otherwise log
        the back-pressure event (at most once a second) and return False."""
        if self._reap_closed_loops():
            return True
        now = time.monotonic()
        if now - self._full_logged_at >= 1.0:
            self._full_logged_at = now
            log.warning("engine.queue_full", capacity=self.config.queue_capacity, on_full=self._on_full)
        return False

    # --- observability ------------------------------------------------------------------

    def stats(self) -> EngineStats:
        """A snapshot of the engine's counters (see EngineStats). Any thread may call it. After
        ``aclose()``: the final snapshot, taken when the workers stopped."""
        with self._lock:  # against the core being freed meanwhile by a close on another thread
            if self._final_stats is not None and not self._forked:
                return self._final_stats
            return self._snapshot()

    def _snapshot(self) -> EngineStats:
        if self._ptr is None or self._reader is None:
            raise self._closed_error()
        return snapshot(self._reader, self.topology, self._started_at, self.config.latency_histograms, self._rates)

    def _sample_rates(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop that started the engine, every SAMPLE_EVERY_S: a sample of the counters
        for the rates over the last 1 s / 10 s (about 1 us)."""
        with self._lock:
            if self._ptr is None or self._reader is None or self._state == CLOSED:
                return
            self._rates.add(sample(self._reader.engine(), time.monotonic()))
        if not loop.is_closed():
            loop.call_later(SAMPLE_EVERY_S, self._sample_rates, loop)

    def __repr__(self) -> str:
        return f"<aioultra.Engine {self._state} workers={self._n_workers} capacity={self.config.queue_capacity}>"


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


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
