"""Prometheus metrics for an engine: a ``prometheus_client`` collector (``pip install
aioultra[metrics]``).

``EngineCollector(engine)`` reads ``engine.stats()`` at each scrape (from the scraping thread;
``stats()`` is thread-safe) and turns it into metric families: counters of items by outcome,
by kernel and by lane, gauges of the queue and the workers, and, with
``latency_histograms=True``, one histogram per stage (queue wait, run, delivery) in seconds
with 1-2-5 buckets from 1 us to 10 s. ``serve(engine, port)`` exposes them over HTTP on
127.0.0.1. Metric names are listed in ``docs/reference.md`` (Metrics).

A histogram bucket ``le=b`` counts the native buckets that lie wholly at or below ``b``: a
value within 1/64 of ``b`` (the native buckets' width) may be counted in the next bucket up.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from . import _ffi
from ._engine import Engine
from ._errors import EngineClosed
from ._stats import EngineStats, StageLatency

__all__ = ["BUCKETS_S", "EngineCollector", "serve"]

#: histogram bucket bounds in seconds: 1-2-5 steps from 1 us to 10 s
BUCKETS_S: tuple[float, ...] = (*(float(f"{m}e{e}") for e in range(-6, 1) for m in (1, 2, 5)), 10.0)
_BOUNDS_NS = tuple(round(b * 1e9) for b in BUCKETS_S)
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_OUTCOMES = ("completed", "failed", "cancelled", "expired")


# the largest value of each native bucket but the last (the overflow one, unbounded): ascending
_UPPER_NS = [lo + w - 1 for lo, w in zip(_ffi.HIST_LOWER[:-1], _ffi.HIST_WIDTH[:-1], strict=True)]
#: per bound, how many native buckets lie wholly at or below it (a prefix of them)
_CUTS = tuple(bisect_right(_UPPER_NS, b) for b in _BOUNDS_NS)


def histogram_buckets(stage: StageLatency) -> tuple[list[tuple[str, float]], float]:
    """A stage's native histogram as Prometheus buckets ``[(le, cumulative count), ...,
    ("+Inf", total)]`` and its sum in seconds."""
    cumulative = stage._cumulative  # the running totals the quantiles use (up to the largest value's bucket)
    used = len(cumulative)
    out = [
        (repr(bound), float(cumulative[min(cut, used) - 1] if cut and used else 0))
        for bound, cut in zip(BUCKETS_S, _CUTS, strict=True)
    ]
    out.append(("+Inf", float(cumulative[-1] if cumulative else 0)))  # repr: as prometheus_client writes bounds
    return out, stage.sum_ns / 1e9


class EngineCollector:
    """A ``prometheus_client`` collector of one engine's statistics.

    ``namespace`` prefixes every metric name (default ``aioultra``); ``labels`` are constant
    labels added to every sample (e.g. ``{"engine": "hot"}`` to register several engines in
    one registry). Before the engine starts only ``<namespace>_engine_running`` (0) is
    exported; after it closed, its final counters are, with ``engine_running`` 0. Register it
    with ``registry.register(collector)`` or use :func:`serve`; two collectors in one registry
    need different ``labels`` (prometheus_client does not check).
    """

    def __init__(self, engine: Engine, *, namespace: str = "aioultra", labels: Mapping[str, str] | None = None) -> None:
        if not isinstance(engine, Engine):
            raise TypeError(f"engine must be an aioultra.Engine, got {type(engine).__name__}")
        if not isinstance(namespace, str) or not _NAME.match(namespace):
            raise ValueError(f"namespace must be a metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*), got {namespace!r}")
        constant = dict(labels or {})
        for key, value in constant.items():
            if not isinstance(key, str) or not _NAME.match(key) or key.startswith("__"):
                raise ValueError(f"label name {key!r} is not a valid Prometheus label name")
            if key in ("kernel", "outcome", "lane", "worker", "window", "stage", "le"):
                raise ValueError(f"label name {key!r} is used by aioultra's own metrics")
            if not isinstance(value, str):
                raise TypeError(f"label {key!r}: the value must be a str, got {type(value).__name__}")
        self._engine = engine
        self._ns = namespace
        self._keys = list(constant)
        self._values = list(constant.values())

    def collect(self) -> Iterator[Metric]:
        """The engine's metric families, from one ``stats()`` snapshot."""
        running = self._gauge("engine_running", "1 while the engine runs (0: not started, closing or closed)")
        stats = self._stats()
        running.add_metric(self._values, 1.0 if self._engine.running else 0.0)
        yield running
        if stats is None:
            return
        yield from self._counters(stats)
        yield from self._gauges(stats)
        yield from self._workers(stats)
        if stats.latency is not None:
            for stage, name in (
                (stats.latency.queue_wait, "queue_wait"),
                (stats.latency.run, "run"),
                (stats.latency.delivery, "delivery"),
            ):
                yield self._histogram(f"task_{name}_seconds", _STAGE_DOC[name], stage)

    def _stats(self) -> EngineStats | None:
        try:
            return self._engine.stats()
        except EngineClosed:  # not started (or forked)
            return None

    def _counters(self, s: EngineStats) -> Iterator[Metric]:
        c = self._counter("tasks_submitted", "items submitted (a map of N items is N)")
        c.add_metric(self._values, s.tasks_submitted)
        yield c
        c = self._counter("tasks_finished", "items finished, by outcome", "outcome")
        for outcome, value in zip(
            _OUTCOMES, (s.tasks_completed, s.tasks_failed, s.tasks_cancelled, s.tasks_expired), strict=True
        ):
            c.add_metric([*self._values, outcome], value)
        yield c
        c = self._counter("batches_submitted", "batch tasks (map chunks) submitted")
        c.add_metric(self._values, s.batches_submitted)
        yield c
        c = self._counter("batches_completed", "batch tasks (map chunks) finished")
        c.add_metric(self._values, s.batches_completed)
        yield c
        doc = "items finished, by kind (kernel name; python; other) and outcome"
        c = self._counter("kernel_tasks", doc, "kernel", "outcome")
        r = self._counter("kernel_run_seconds", "time workers spent running each kind", "kernel")
        for name, k in sorted(s.kernels.items()):
            for outcome, value in zip(_OUTCOMES, (k.completed, k.failed, k.cancelled, k.expired), strict=True):
                c.add_metric([*self._values, name, outcome], value)
            r.add_metric([*self._values, name], k.run_ns / 1e9)
        yield c
        yield r
        sub = self._counter("lane_tasks_submitted", "items submitted, by priority lane", "lane")
        fin = self._counter("lane_tasks_finished", "items finished (any outcome), by priority lane", "lane")
        for lane, ls in sorted(s.lanes.items()):
            sub.add_metric([*self._values, lane], ls.submitted)
            fin.add_metric([*self._values, lane], ls.finished)
        yield sub
        yield fin
        c = self._counter("steals", "tasks workers took from peers' deques or other nodes")
        c.add_metric(self._values, s.steals)
        yield c

    def _gauges(self, s: EngineStats) -> Iterator[Metric]:
        for name, doc, value in (
            ("queue_size", "task records in flight (submitted, not yet delivered)", s.queue_size),
            ("queue_capacity", "the most task records in flight", s.queue_capacity),
            ("uptime_seconds", "seconds since the engine started", s.uptime_s),
            ("workers", "worker threads", len(s.workers)),
            ("workers_parked", "workers parked on their futex now", sum(w.parked for w in s.workers)),
        ):
            g = self._gauge(name, doc)
            g.add_metric(self._values, float(value))
            yield g
        g = self._gauge("tasks_finished_per_second", "items finished per second over the last window", "window")
        g.add_metric([*self._values, "1s"], s.rate_1s.finished_per_s)
        g.add_metric([*self._values, "10s"], s.rate_10s.finished_per_s)
        yield g

    def _workers(self, s: EngineStats) -> Iterator[Metric]:
        executed = self._counter("worker_executed", "task records a worker settled", "worker")
        parks = self._counter("worker_parks", "times a worker slept on its futex", "worker")
        wakeups = self._counter("worker_wakeups", "times a worker was woken from its futex", "worker")
        for w in s.workers:
            labels = [*self._values, str(w.index)]
            executed.add_metric(labels, w.executed)
            parks.add_metric(labels, w.parks)
            wakeups.add_metric(labels, w.wakeups)
        yield executed
        yield parks
        yield wakeups

    def _counter(self, name: str, doc: str, *labels: str) -> CounterMetricFamily:
        return CounterMetricFamily(f"{self._ns}_{name}", doc, labels=[*self._keys, *labels])

    def _gauge(self, name: str, doc: str, *labels: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{self._ns}_{name}", doc, labels=[*self._keys, *labels])

    def _histogram(self, name: str, doc: str, stage: StageLatency) -> HistogramMetricFamily:
        h = HistogramMetricFamily(f"{self._ns}_{name}", doc, labels=self._keys)
        buckets, total = histogram_buckets(stage)
        h.add_metric(self._values, buckets, total)
        return h


_STAGE_DOC = {
    "queue_wait": "per task record: submit to a worker starting it",
    "run": "per task record: start to end on the worker",
    "delivery": "per task record that ran: end to its loop taking the completion",
}


def serve(
    engine: Engine,
    port: int,
    addr: str = "127.0.0.1",
    *,
    registry: CollectorRegistry | None = None,
    **collector_options: Any,
) -> tuple[Any, threading.Thread]:
    """Serve ``engine``'s metrics at ``http://addr:port/metrics`` from a daemon thread
    (``port=0``: any free port, read it from ``server.server_port``). Uses a new registry
    unless one is given (the collector is registered into it). Returns ``(server, thread)``:
    call ``server.shutdown()`` then ``server.server_close()`` to stop."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int between 0 and 65535, got {port!r}")
    registry = registry if registry is not None else CollectorRegistry()
    registry.register(EngineCollector(engine, **collector_options))
    server, thread = start_http_server(port, addr=addr, registry=registry)
    return server, thread
