"""Native latency histograms: stats().latency recovers a known distribution of spin durations
within the histogram's error, counts every task record, subtracts into intervals, and is off
with latency_histograms=False."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

import aioultra
from aioultra import kernels

from .helpers import loop_thread_on, wait_for

two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")


@two_cpus
async def test_spin_durations_recovered() -> None:
    """The worker has a CPU of its own (the loop thread is on the other one), so a spin's run
    time is its duration plus clock reads; a spin never runs shorter than asked, so the lower
    bound is exact; the upper allows 3% + 3 us for a preempted vCPU."""
    cpus = sorted(os.sched_getaffinity(0))
    with loop_thread_on(cpus[0]):
        async with aioultra.Engine(topology=str(cpus[1]), spin_us=0) as engine:
            durations = [20_000] * 120 + [100_000] * 60 + [500_000] * 20  # ns: 60%, 30%, 10%
            random.Random(5).shuffle(durations)
            before = engine.stats().latency
            assert before is not None
            for ns in durations:
                await wait_for(engine.submit(kernels.spin, ns))
            after = engine.stats().latency
            assert after is not None
            run = (after - before).run
            assert run.count == len(durations) == (after - before).queue_wait.count
            for q, true_ns in ((0.30, 20_000), (0.75, 100_000), (0.95, 500_000)):
                got = run.quantile_ns(q)
                assert true_ns * (1 - 1 / 64) <= got <= true_ns * 1.03 + 3_000, (q, got, true_ns)
            assert run.max_ns >= 500_000
            assert sum(durations) <= run.sum_ns
            assert 0 < (after - before).queue_wait.p50_us < run.p50_us * 100


async def test_every_task_record_counts_once(engine: aioultra.Engine) -> None:
    s0 = engine.stats()
    await wait_for(asyncio.gather(*(engine.submit(kernels.noop) for _ in range(50))))
    await wait_for(engine.map(kernels.noop, [b""] * 1000))  # a few batch records
    s1 = engine.stats()
    assert s0.latency is not None and s1.latency is not None
    delta = s1.latency - s0.latency
    records = 50 + (s1.batches_completed - s0.batches_completed)
    assert delta.run.count == delta.queue_wait.count == records
    assert sum(delta.run.buckets) == records
    assert delta.run.p50_us <= delta.run.p99_us <= delta.run.max_us or delta.run.p99_us == delta.run.max_us
    with pytest.raises(ValueError, match="between 0 and 1"):
        delta.run.quantile_ns(1.5)


async def test_latency_off() -> None:
    async with aioultra.Engine(latency_histograms=False, spin_us=0) as engine:
        await wait_for(engine.submit(kernels.noop))
        assert engine.stats().latency is None
