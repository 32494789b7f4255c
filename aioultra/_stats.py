"""Statistics snapshots: frozen dataclasses built from the core's counters.

Counters are read without stopping the workers, so fields of one snapshot may be a few tasks
apart; each counter on its own only grows.
"""

from __future__ import annotations

import array
import time
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, zip_longest
from typing import Any

from . import _ffi, _kinds
from ._frozen import make
from ._rates import NO_RATES, Rates, RateSampler, Sample
from ._topology import Topology


@dataclass(frozen=True)
class WorkerStats:
    """One worker thread.

    ``cpu`` is what ``sched_getcpu()`` returned on the worker after pinning; ``planned_cpu``
    the CPU it was assigned (-1: not pinned). ``steals_local``/``steals_remote`` count tasks
    this worker took from same-node peers / other nodes; ``stolen_from`` tasks others took
    from its deque. ``parks`` counts the times it slept on its futex, ``wakeups`` the times a
    submitter or a peer woke it; ``parked`` is True while it is parked. ``tid`` is its kernel
    thread id (for ``psutil`` or ``top -H``).
    """

    index: int
    node: int
    planned_cpu: int
    cpu: int
    pinned: bool
    executed: int
    steals_local: int
    steals_remote: int
    stolen_from: int
    parks: int
    queue_depth: int
    wakeups: int = 0
    tid: int = 0
    parked: bool = False

    @property
    def steals(self) -> int:
        """Tasks this worker stole, local and remote."""
        return self.steals_local + self.steals_remote


@dataclass(frozen=True)
class NodeStats:
    """One NUMA node: its queued work and what its workers did."""

    index: int
    cpus: tuple[int, ...]
    workers: int
    load: int
    queue_depth: int
    submitted: int
    executed: int
    steals_local: int
    steals_remote: int
    stolen_from: int


@dataclass(frozen=True)
class StageLatency:
    """One stage's latency histogram (nanoseconds), summed over the workers.

    Quantiles are read from log-linear buckets at most 1/64 of their value wide, so each is
    within 1.6% of the exact quantile (above 128 ns; exact below), and never above ``max_ns``.
    Subtract an earlier snapshot (``later - earlier``) for the tasks in between (``max_ns`` is
    then the later snapshot's, an upper bound). ``buckets`` holds one count per native bucket
    (``aioultra._ffi.HIST_LOWER`` / ``HIST_WIDTH``) up to the bucket of the largest value;
    the buckets past it are empty and left out.
    """

    count: int
    sum_ns: int
    max_ns: int
    buckets: Sequence[int]  # an array.array of unsigned 64-bit ints, up to the largest value's bucket

    def quantile_ns(self, q: float) -> float:
        """The ``q`` quantile (0..1) in ns: the midpoint of the bucket holding it; 0.0 when empty."""
        if not 0.0 <= q <= 1.0 or q != q:
            raise ValueError(f"q must be between 0 and 1, got {q!r}")
        cumulative = self._cumulative
        total = cumulative[-1] if cumulative else 0
        if total == 0:
            return 0.0
        i = bisect_right(cumulative, int(q * (total - 1)))  # the first bucket holding that rank
        mid = _ffi.HIST_LOWER[i] + (_ffi.HIST_WIDTH[i] - 1) / 2
        return float(min(mid, self.max_ns)) if self.max_ns > 0 else float(mid)

    @cached_property
    def _cumulative(self) -> list[int]:
        """The buckets' running totals, summed once per snapshot (not per quantile)."""
        return list(accumulate(self.buckets))

    @property
    def p50_us(self) -> float:
        """Median, microseconds."""
        return self.quantile_ns(0.50) / 1000

    @property
    def p90_us(self) -> float:
        """90th percentile, microseconds."""
        return self.quantile_ns(0.90) / 1000

    @property
    def p99_us(self) -> float:
        """99th percentile, microseconds."""
        return self.quantile_ns(0.99) / 1000

    @property
    def p999_us(self) -> float:
        """99.9th percentile, microseconds."""
        return self.quantile_ns(0.999) / 1000

    @property
    def max_us(self) -> float:
        """The largest value recorded, microseconds."""
        return self.max_ns / 1000

    @property
    def mean_us(self) -> float:
        """Mean, microseconds (0.0 when empty)."""
        return self.sum_ns / self.count / 1000 if self.count else 0.0

    def __sub__(self, earlier: StageLatency) -> StageLatency:
        if not isinstance(earlier, StageLatency):
            return NotImplemented
        return StageLatency(
            count=self.count - earlier.count,
            sum_ns=self.sum_ns - earlier.sum_ns,
            max_ns=self.max_ns,
            buckets=array.array("q", [a - b for a, b in zip_longest(self.buckets, earlier.buckets, fillvalue=0)]),
        )


@dataclass(frozen=True)
class LatencyStats:
    """Per-task latency by stage (each task record once: a map chunk is one): ``queue_wait``
    from submit to a worker starting it, ``run`` from start to end, ``delivery`` from end to
    the task's loop taking its completion (its future is resolved in the same batch; tasks
    that ran only)."""

    queue_wait: StageLatency
    run: StageLatency
    delivery: StageLatency

    def __sub__(self, earlier: LatencyStats) -> LatencyStats:
        if not isinstance(earlier, LatencyStats):
            return NotImplemented
        return LatencyStats(
            queue_wait=self.queue_wait - earlier.queue_wait,
            run=self.run - earlier.run,
            delivery=self.delivery - earlier.delivery,
        )


@dataclass(frozen=True)
class KernelStats:
    """One kind of task's outcome counters (items, as ``EngineStats.tasks_*``) and the time
    workers spent running them."""

    completed: int
    failed: int
    cancelled: int
    expired: int
    run_ns: int

    @property
    def finished(self) -> int:
        """Items finished, whatever their outcome."""
        return self.completed + self.failed + self.cancelled + self.expired


@dataclass(frozen=True)
class LaneStats:
    """One priority lane: items submitted to it and items of it finished (any outcome)."""

    submitted: int
    finished: int


def _stage(reader: _ffi.StatsReader, stage: int) -> StageLatency:
    count, total, mx, buckets = reader.latency(stage)
    return make(StageLatency, count=count, sum_ns=total, max_ns=mx, buckets=buckets)


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of :meth:`aioultra.Engine.stats`.

    The ``tasks_*`` counters count items: a ``map`` of N items adds N to ``tasks_submitted``
    and N to the outcome counters (a failing item counts in ``tasks_failed``, the items of a
    chunk that expired or was cancelled in ``tasks_expired`` / ``tasks_cancelled``), so
    ``tasks_submitted = tasks_completed + tasks_failed + tasks_cancelled + tasks_expired +
    (items still running or queued)``. ``batches_submitted`` / ``batches_completed`` count the
    batch tasks (map chunks) on their own. ``queue_size`` is the number of task records in
    flight (a batch is one; submitted, not yet delivered to their awaiter); ``queue_capacity``
    its limit. ``throughput`` is finished items per second since the engine started;
    ``rate_1s`` / ``rate_10s`` the rates over the last second / ten seconds. ``kernels``:
    outcome counters by kind (a kernel's name; ``"python"`` for callables; ``"other"`` once
    the kinds' slots are taken), kinds that finished anything only. ``lanes``: ``"normal"``
    and ``"high"`` (priority >= 8). Workers' ``executed`` counts task records (a batch is one).
    """

    tasks_submitted: int
    tasks_completed: int
    tasks_failed: int
    tasks_cancelled: int
    tasks_expired: int
    batches_submitted: int
    batches_completed: int
    steals: int
    queue_size: int
    queue_capacity: int
    throughput: float
    uptime_s: float
    workers: tuple[WorkerStats, ...]
    nodes: tuple[NodeStats, ...]
    latency: LatencyStats | None = None
    kernels: Mapping[str, KernelStats] = field(default_factory=dict)
    lanes: Mapping[str, LaneStats] = field(default_factory=dict)
    rate_1s: Rates = NO_RATES
    rate_10s: Rates = NO_RATES

    def average_steal_ratio(self) -> float:
        """Stolen tasks / executed tasks over all workers (0.0 when nothing ran)."""
        executed = sum(w.executed for w in self.workers)
        return self.steals / executed if executed else 0.0

    def total_queue_size(self) -> int:
        """Tasks in flight (same as ``queue_size``)."""
        return self.queue_size

    def total_capacity(self) -> int:
        """Maximum tasks in flight (same as ``queue_capacity``)."""
        return self.queue_capacity


def sample(e: Any, at: float) -> Sample:
    """The lifetime counters of an aio_engine_stats for the rate sampler."""
    return (at, e.submitted, e.completed, e.failed, e.cancelled, e.expired)


def _kernels(reader: _ffi.StatsReader) -> dict[str, KernelStats]:
    flat = reader.kinds()
    out: dict[str, KernelStats] = {}
    for slot, name in enumerate(_kinds.names()):  # only the claimed slots: usually a handful
        b = slot * _ffi.KIND_FIELDS
        if flat[b] or flat[b + 1] or flat[b + 2] or flat[b + 3]:
            out[name] = make(
                KernelStats,
                completed=flat[b],
                failed=flat[b + 1],
                cancelled=flat[b + 2],
                expired=flat[b + 3],
                run_ns=flat[b + 4],
            )
    return out


def _workers(reader: _ffi.StatsReader) -> tuple[WorkerStats, ...]:
    return tuple(
        make(
            WorkerStats,
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
            queue_depth=w.deque_size,
            wakeups=w.wakeups,
            tid=w.tid,
            parked=bool(w.parked),
        )
        for i, w in enumerate(reader.workers())
    )


def _nodes(reader: _ffi.StatsReader, topology: Topology, workers: tuple[WorkerStats, ...]) -> tuple[NodeStats, ...]:
    nodes = []
    for n, ns in enumerate(reader.nodes()):
        count = executed = steals_local = steals_remote = stolen_from = 0
        for w in workers:
            if w.node == n:
                count += 1
                executed += w.executed
                steals_local += w.steals_local
                steals_remote += w.steals_remote
                stolen_from += w.stolen_from
        nodes.append(
            make(
                NodeStats,
                index=n,
                cpus=tuple(topology.nodes[n]),
                workers=count,
                load=ns.load,
                queue_depth=ns.queued,
                submitted=ns.submitted,
                executed=executed,
                steals_local=steals_local,
                steals_remote=steals_remote,
                stolen_from=stolen_from,
            )
        )
    return tuple(nodes)


def _latency(reader: _ffi.StatsReader) -> LatencyStats:
    return make(
        LatencyStats,
        queue_wait=_stage(reader, _ffi.LATENCY_QUEUE_WAIT),
        run=_stage(reader, _ffi.LATENCY_RUN),
        delivery=_stage(reader, _ffi.LATENCY_DELIVERY),
    )


def snapshot(
    reader: _ffi.StatsReader, topology: Topology, started_at: float, latency: bool, sampler: RateSampler
) -> EngineStats:
    """An EngineStats from the core's counters (read through ``reader``, one thread at a
    time); adds a sample to ``sampler``."""
    now = time.monotonic()
    e = reader.engine()
    current = sample(e, now)
    rate_1s, rate_10s = sampler.observe(current)
    workers = _workers(reader)
    finished = e.completed + e.failed + e.cancelled + e.expired
    uptime = now - started_at
    return make(
        EngineStats,
        tasks_submitted=e.submitted,
        tasks_completed=e.completed,
        tasks_failed=e.failed,
        tasks_cancelled=e.cancelled,
        tasks_expired=e.expired,
        batches_submitted=e.batches_submitted,
        batches_completed=e.batches_completed,
        steals=sum(w.steals for w in workers),
        queue_size=e.in_flight,
        queue_capacity=e.capacity,
        throughput=finished / uptime if uptime > 0 else 0.0,
        uptime_s=uptime,
        workers=workers,
        nodes=_nodes(reader, topology, workers),
        latency=_latency(reader) if latency else None,
        kernels=_kernels(reader),
        lanes={
            "normal": make(LaneStats, submitted=e.submitted - e.submitted_high, finished=finished - e.finished_high),
            "high": make(LaneStats, submitted=e.submitted_high, finished=e.finished_high),
        },
        rate_1s=rate_1s,
        rate_10s=rate_10s,
    )
