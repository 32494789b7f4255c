"""Native latency histograms: stats().latency recovers a known distribution of spin durations
within the histogram's error, counts every task record, subtracts into intervals, and is off
with latency_histograms=False."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest

import aioultra
from aioultra import _ffi, kernels
from aioultra._frozen import make

from .helpers import gather, loop_thread_on, wait_for

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
    await wait_for(gather(*(engine.submit(kernels.noop) for _ in range(50))))
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


async def test_buckets_end_at_the_largest_value(engine: aioultra.Engine) -> None:
    """A stage's buckets stop at the bucket of its largest value (the rest are empty, left
    out); an interval subtracts snapshots whose buckets end at different places."""
    await wait_for(engine.submit(kernels.spin, 1_000))
    before = engine.stats().latency
    await wait_for(engine.submit(kernels.spin, 2_000_000))  # a larger maximum: more buckets
    after = engine.stats().latency
    assert before is not None and after is not None
    for stage in (before.run, after.run, after.queue_wait, after.delivery):
        last = len(stage.buckets) - 1
        assert _ffi.HIST_LOWER[last] <= stage.max_ns < _ffi.HIST_LOWER[last] + _ffi.HIST_WIDTH[last]
        assert stage.buckets[last] > 0 and sum(stage.buckets) == stage.count
    assert len(after.run.buckets) > len(before.run.buckets)
    delta = (after - before).run
    assert delta.count == sum(delta.buckets) == 1 and len(delta.buckets) == len(after.run.buckets)
    assert delta.quantile_ns(0.5) >= 2_000_000 * (1 - 1 / 64)


async def test_snapshot_objects_are_their_dataclasses(engine: aioultra.Engine) -> None:
    """stats() builds its frozen dataclasses without their __init__ (aioultra._frozen.make):
    each one equals the same fields passed through __init__, and stays frozen."""
    await wait_for(engine.submit(kernels.noop))
    s = engine.stats()
    assert s.latency is not None
    objects = [s, s.latency, s.latency.run, s.rate_1s, s.rate_10s, *s.workers, *s.nodes]
    objects += [*s.kernels.values(), *s.lanes.values()]
    for obj in objects:
        again = dataclasses.replace(obj)  # every field through __init__: fails if one is missing
        assert again == obj and repr(again) == repr(obj)
        assert set(vars(obj)) == {f.name for f in dataclasses.fields(obj)}
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.count = 1  # type: ignore[misc]
    with pytest.raises(TypeError, match="needs all of its fields"):
        make(aioultra.LaneStats, submitted=1)
