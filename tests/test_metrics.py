"""Metrics: per-kind and per-lane counts, the delivery stage, rates over 1 s / 10 s, and the
Prometheus collector, checked against a real prometheus_client registry and an HTTP scrape of
start_http_server on 127.0.0.1 parsed with prometheus_client's own text parser."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import aioultra
from aioultra import kernels, metrics
from aioultra._rates import RateSampler

from .helpers import Gate, gather, spawner, to_thread, until, wait_for


def fail_odd(x: int) -> int:
    if x % 2:
        raise ValueError("odd")
    return x


async def test_kernels_and_lanes_count_items(engine: aioultra.Engine) -> None:
    s0 = engine.stats()
    await wait_for(gather(*(engine.submit(kernels.keccak256, b"x") for _ in range(30))))
    await wait_for(engine.map(kernels.keccak256, [b"y"] * 700))
    await wait_for(gather(*(engine.submit(fail_odd, i) for i in range(10)), return_exceptions=True))
    await wait_for(gather(*(engine.submit(kernels.noop, priority=9) for _ in range(7))))
    s1 = engine.stats()
    k0, k1 = s0.kernels.get("keccak256"), s1.kernels["keccak256"]
    assert s1.kernels["keccak256"].completed - (k0.completed if k0 else 0) == 730
    assert k1.run_ns > (k0.run_ns if k0 else 0)
    py0 = s0.kernels.get("python")
    assert s1.kernels["python"].failed - (py0.failed if py0 else 0) == 5
    assert s1.kernels["python"].completed - (py0.completed if py0 else 0) == 5
    assert s1.lanes["high"].submitted - s0.lanes["high"].submitted == 7
    assert s1.lanes["high"].finished - s0.lanes["high"].finished == 7
    assert s1.lanes["normal"].submitted - s0.lanes["normal"].submitted == 740
    # the kinds add up to the engine's outcome counters
    assert sum(k.completed for k in s1.kernels.values()) == s1.tasks_completed
    assert sum(k.failed for k in s1.kernels.values()) == s1.tasks_failed
    assert sum(ln.submitted for ln in s1.lanes.values()) == s1.tasks_submitted


async def test_cancelled_counts_in_its_kind() -> None:
    async with aioultra.Engine(workers_per_numa_node=1, topology="0", spin_us=0) as engine:
        gate = Gate()
        blocker = engine.submit(gate)
        assert await to_thread(gate.started.wait, 30)
        queued = engine.submit(kernels.spin, 1000)
        queued.cancel()
        gate.release.set()
        await wait_for(blocker)
        with pytest.raises(asyncio.CancelledError):
            await queued
        await wait_for(engine.submit(kernels.noop))  # the worker has passed the cancelled record
        assert engine.stats().kernels["spin"].cancelled == 1


async def test_delivery_stage_counts_tasks_that_ran() -> None:
    async with aioultra.Engine(latency_histograms=True, spin_us=20) as engine:
        for _ in range(40):
            await wait_for(engine.submit(kernels.noop))
        await wait_for(engine.map(kernels.noop, [b""] * 100))
        s = engine.stats()
        assert s.latency is not None
        lat = s.latency
        assert lat.delivery.count == lat.run.count == 40 + s.batches_completed
        assert sum(lat.delivery.buckets) == lat.delivery.count
        assert 0 < lat.delivery.p50_us <= lat.delivery.max_us + 1e-9


async def test_delivery_kept_after_a_loop_closes() -> None:
    """A loop's channel is freed when the loop closes; its deliveries stay in the figures."""
    async with aioultra.Engine(latency_histograms=True, spin_us=20) as engine:

        async def other() -> None:
            for _ in range(25):
                await wait_for(engine.submit(kernels.noop))

        await to_thread(asyncio.run, other())  # another loop, on another thread, that closes
        await wait_for(engine.submit(kernels.noop))
        engine._reap_closed_loops()  # as a new loop's first submission or a QueueFull does: frees its channel
        assert not engine._dead_channels and len(engine._channels) == 1
        lat = engine.stats().latency
        assert lat is not None and lat.delivery.count == 26


async def test_rates_over_the_window(engine: aioultra.Engine) -> None:
    await wait_for(gather(*(engine.submit(kernels.noop) for _ in range(200))))
    s = engine.stats()
    for rate in (s.rate_1s, s.rate_10s):
        assert rate.window_s > 0
        # younger than the window, or a sample inside it: rate * span is the items in the span
        assert rate.submitted_per_s * rate.window_s <= s.tasks_submitted + 1e-6
        assert rate.finished_per_s >= 0
    assert s.rate_10s.submitted_per_s * s.rate_10s.window_s == pytest.approx(s.tasks_submitted)


def test_rate_sampler_windows() -> None:
    r = RateSampler(0.0)
    for t in range(1, 131):  # a sample every 0.1 s for 13 s: 10 items/s, 1 failure/s
        r.add((t / 10, t, t, t // 10, 0, 0))
    now = (13.05, 131, 131, 13, 0, 0)
    one, ten = r.rates(now, 1.0), r.rates(now, 10.0)
    assert one.window_s == pytest.approx(1.05)  # the newest sample at least 1 s old: t = 12.0
    assert one.submitted_per_s == pytest.approx(11 / 1.05)
    assert ten.window_s == pytest.approx(10.05)
    assert ten.failed_per_s == pytest.approx(10 / 10.05)
    assert r.rates((0.0, 0, 0, 0, 0, 0), 1.0).window_s == 0.0  # no time spanned
    r.add((5.0, 1, 1, 1, 1, 1))  # a sample from the past is ignored
    assert r.rates(now, 1.0) == one
    assert r.observe(now) == (one, ten)  # both windows before the sample is added
    later = (13.2, 133, 133, 13, 0, 0)
    assert r.rates(later, 0.1).window_s == pytest.approx(0.15)  # observe added ``now`` (13.05)


def _family_values(families: dict[str, object], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    fam = families[name]
    return {tuple(sorted(s.labels.items())): s.value for s in fam.samples}  # type: ignore[attr-defined]


async def test_collector_matches_stats_in_a_real_registry() -> None:
    async with aioultra.Engine(latency_histograms=True, spin_us=0) as engine:
        registry = CollectorRegistry()
        registry.register(metrics.EngineCollector(engine, labels={"engine": "t"}))
        n20, n500 = 30, 10
        for ns in [20_000] * n20 + [500_000] * n500:
            await wait_for(engine.submit(kernels.spin, ns))
        await wait_for(gather(*(engine.submit(kernels.noop, priority=9) for _ in range(5))))
        s = engine.stats()
        value = registry.get_sample_value
        assert value("aioultra_engine_running", {"engine": "t"}) == 1.0
        assert value("aioultra_tasks_submitted_total", {"engine": "t"}) == s.tasks_submitted
        completed = value("aioultra_tasks_finished_total", {"engine": "t", "outcome": "completed"})
        assert completed == s.tasks_completed
        assert value("aioultra_kernel_tasks_total", {"engine": "t", "kernel": "spin", "outcome": "completed"}) == 40
        assert value("aioultra_lane_tasks_submitted_total", {"engine": "t", "lane": "high"}) == 5
        assert value("aioultra_queue_capacity", {"engine": "t"}) == s.queue_capacity
        assert value("aioultra_workers", {"engine": "t"}) == len(s.workers)
        run_s = value("aioultra_kernel_run_seconds_total", {"engine": "t", "kernel": "spin"})
        assert run_s is not None and run_s >= (n20 * 20e-6 + n500 * 500e-6)
        # the run histogram: a spin never runs shorter than asked, so these bounds are exact
        bucket = lambda le: value("aioultra_task_run_seconds_bucket", {"engine": "t", "le": le})  # noqa: E731
        total = value("aioultra_task_run_seconds_count", {"engine": "t"})
        assert s.latency is not None and total == s.latency.run.count
        assert bucket("1e-05") is not None and bucket("1e-05") <= 5  # only the noops: none of the spins
        assert bucket("0.0005") is not None and bucket("0.0005") <= n20 + 5  # no 500 us spin below 500 us
        assert bucket("+Inf") == total
        family = next(f for f in registry.collect() if f.name == "aioultra_task_run_seconds")
        counts = [x.value for x in family.samples if x.name.endswith("_bucket")]
        assert len(counts) == len(metrics.BUCKETS_S) + 1 and counts == sorted(counts)


async def test_http_scrape_parses() -> None:
    async with aioultra.Engine(latency_histograms=True, spin_us=20) as engine:
        server, thread = metrics.serve(engine, 0)
        try:
            assert server.server_address[0] == "127.0.0.1"
            await wait_for(gather(*(engine.submit(kernels.keccak256, b"z") for _ in range(64))))
            url = f"http://127.0.0.1:{server.server_port}/metrics"
            body = await wait_for(to_thread(lambda: urllib.request.urlopen(url, timeout=10).read().decode()))
            families = {f.name: f for f in text_string_to_metric_families(body)}
            for name in (
                "aioultra_tasks_submitted",
                "aioultra_tasks_finished",
                "aioultra_kernel_tasks",
                "aioultra_lane_tasks_finished",
                "aioultra_task_queue_wait_seconds",
                "aioultra_task_run_seconds",
                "aioultra_task_delivery_seconds",
                "aioultra_tasks_finished_per_second",
                "aioultra_worker_executed",
            ):
                assert name in families, name
            assert families["aioultra_task_run_seconds"].type == "histogram"
            assert families["aioultra_tasks_submitted"].type == "counter"
            kernel = _family_values(families, "aioultra_kernel_tasks")
            assert kernel[(("kernel", "keccak256"), ("outcome", "completed"))] == 64
            run = families["aioultra_task_delivery_seconds"]
            buckets = [s for s in run.samples if s.name.endswith("_bucket")]
            counts = [s.value for s in buckets]
            assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf"
            assert len(buckets) == len(metrics.BUCKETS_S) + 1
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


async def test_stats_after_close_is_the_final_snapshot() -> None:
    engine = aioultra.Engine(spin_us=0, workers_per_numa_node=1, topology="0")
    with pytest.raises(aioultra.EngineClosed, match="not started"):
        engine.stats()
    async with engine:
        gate = Gate()
        blocker = engine.submit(gate)
        assert await to_thread(gate.started.wait, 30)
        queued = [engine.submit(kernels.noop) for _ in range(3)]
        async with spawner() as spawn:
            closing = spawn(engine.aclose(cancel_pending=True))
            await until(lambda: not engine.running)  # aclose marked the queued tasks cancelled, waits for the gate
            gate.release.set()
            await wait_for(closing)
        await wait_for(blocker)
        results = await wait_for(gather(*queued, return_exceptions=True))
    assert all(isinstance(r, aioultra.EngineClosed | asyncio.CancelledError) for r in results), results
    final = engine.stats()
    assert final is engine.stats()  # the same snapshot each time: no core is left to read
    assert final.tasks_submitted == 4 and final.tasks_completed == 1
    assert final.tasks_completed + final.tasks_cancelled == final.tasks_submitted
    assert final.kernels["noop"].cancelled == 3


async def test_collector_of_a_closed_engine() -> None:
    engine = aioultra.Engine(spin_us=0, latency_histograms=False)
    registry = CollectorRegistry()
    registry.register(metrics.EngineCollector(engine))
    assert registry.get_sample_value("aioultra_engine_running") == 0.0  # not started
    async with engine:
        assert registry.get_sample_value("aioultra_engine_running") == 1.0
        assert registry.get_sample_value("aioultra_task_run_seconds_count") is None  # histograms off
        await wait_for(engine.submit(kernels.noop))
    assert registry.get_sample_value("aioultra_engine_running") == 0.0
    assert registry.get_sample_value("aioultra_tasks_submitted_total") == 1  # the final snapshot


def test_collector_validates() -> None:
    engine = aioultra.Engine()
    with pytest.raises(TypeError, match=r"aioultra\.Engine"):
        metrics.EngineCollector(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="namespace"):
        metrics.EngineCollector(engine, namespace="9bad")
    with pytest.raises(ValueError, match="label name"):
        metrics.EngineCollector(engine, labels={"bad-name": "x"})
    with pytest.raises(ValueError, match="used by aioultra"):
        metrics.EngineCollector(engine, labels={"kernel": "x"})
    with pytest.raises(TypeError, match="must be a str"):
        metrics.EngineCollector(engine, labels={"engine": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="port"):
        metrics.serve(engine, 70000)


def test_kernel_labels_stay_bounded() -> None:
    """More kernel names than kind slots: the rest count as "other", nothing is lost. In a
    subprocess: the slot table is process-wide."""
    code = textwrap.dedent(
        """
        import asyncio, aioultra
        from aioultra import kernels, _ffi
        ks = [aioultra.Kernel(_ffi.KERNEL_NOOP, f"k{i}") for i in range(100)]
        async def main():
            async with aioultra.Engine(spin_us=0) as e:
                for k in ks:
                    await asyncio.wait_for(e.submit(k), 30)
                s = e.stats()
                assert len(s.kernels) <= _ffi.KINDS, len(s.kernels)
                assert s.kernels["other"].completed >= 100 - _ffi.KINDS, s.kernels["other"]
                assert sum(k.completed for k in s.kernels.values()) == s.tasks_completed == 100
        asyncio.run(main())
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
