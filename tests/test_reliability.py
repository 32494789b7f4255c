"""Reliability: the engine loses nothing and keeps serving.

- cancellation storm: every future resolves, no InvalidStateError, statistics add up;
- back-pressure: QueueFull at once when full, nothing dropped, submission works after a drain;
- memory: RSS and tracemalloc flat across rounds;
- reference cycles: a finished submission leaves nothing alive that only the cycle GC frees;
- KeyboardInterrupt and cancellation of awaiters;
- several event loops on one engine, and event loops closed with completions in flight.

Counts are sized for CI on a 2-core machine; ``AIOULTRA_SOAK=1`` scales them to the issue's
figures, and each has its own variable (docs/reliability.md lists them and the measured results).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import threading
import tracemalloc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import psutil
import pytest
import structlog
import structlog.testing
import uvloop
from Crypto.Hash import keccak

import aioultra
from aioultra import _bridge, kernels

from .helpers import Gate, gather, reported_errors, spawner, to_thread, until, wait_first, wait_for

SOAK = os.environ.get("AIOULTRA_SOAK", "") == "1"


def _count(name: str, default: int, soak: int) -> int:
    return int(os.environ.get(name, str(soak if SOAK else default)))


STORM_TASKS = _count("AIOULTRA_STORM_TASKS", 20_000, 200_000)
MEMORY_TASKS = _count("AIOULTRA_MEMORY_TASKS", 10_000, 100_000)
MULTILOOP_TASKS = _count("AIOULTRA_MULTILOOP_TASKS", 25_000, 250_000)
CLOSED_LOOP_CYCLES = _count("AIOULTRA_CLOSED_LOOP_CYCLES", 20, 1000)
BACKPRESSURE_ROUNDS = _count("AIOULTRA_BACKPRESSURE_ROUNDS", 200, 5000)

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def keccak_ref(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def square(x: int) -> int:
    return x * x


class Boom(Exception):
    pass


def boom(x: int) -> None:
    raise Boom(x)


def assert_stats_add_up(engine: aioultra.Engine) -> aioultra.EngineStats:
    s = engine.stats()
    finished = s.tasks_completed + s.tasks_failed + s.tasks_cancelled + s.tasks_expired
    assert s.tasks_submitted == finished, s
    assert s.queue_size == 0, s
    return s


def _counters(s: aioultra.EngineStats) -> str:
    return (
        f"submitted={s.tasks_submitted} completed={s.tasks_completed} failed={s.tasks_failed} "
        f"cancelled={s.tasks_cancelled} expired={s.tasks_expired} in_flight={s.queue_size}"
    )


@contextlib.contextmanager
def no_swallowed_errors(loop: asyncio.AbstractEventLoop | None = None) -> Iterator[list[Any]]:
    """Collect the loop's (default: the running one's) exception-handler calls and the bridge's logged resolution
    failures (an InvalidStateError while resolving a future is logged as bridge.resolve_failed);
    the block fails if there were any."""
    with reported_errors(loop) as errors, structlog.testing.capture_logs() as logs:
        yield errors
    errors += [e for e in logs if e.get("log_level") in ("error", "critical", "exception")]
    assert not errors, f"swallowed errors: {errors[:5]}"


@pytest.fixture
async def guarded() -> AsyncIterator[None]:
    with no_swallowed_errors():
        yield


# ------------------------------------------------------------------ cancellation storm


async def test_cancellation_storm(guarded: None) -> None:
    """STORM_TASKS submissions of four kinds; half are cancelled: before their first step,
    once queued, while running (gates), or late (maybe after completion). Every future ends
    resolved, the results are right, and the engine's counters add up with nothing in flight."""
    rng = random.Random(20240611)
    window = 500
    py_jobs_before = set(_bridge._py_jobs)
    outcomes = {"ok": 0, "cancelled": 0, "failed": 0, "expired": 0, "late_noop": 0}
    async with aioultra.Engine(spin_us=20, queue_capacity=4096) as engine:
        submitted = 0
        while submitted < STORM_TASKS:
            batch = min(window, STORM_TASKS - submitted)
            tasks: list[asyncio.Task[Any]] = []
            expected: list[tuple[str, Any]] = []
            when: list[str] = []
            for i in range(batch):
                n = submitted + i
                kind = rng.randrange(5)
                if kind == 0:
                    coro, exp = engine.submit(kernels.noop), ("value", b"")
                elif kind == 1:
                    coro, exp = engine.submit(kernels.spin, rng.randrange(0, 20_000)), ("value", b"")
                elif kind == 2:
                    coro, exp = engine.submit(square, n), ("value", n * n)
                elif kind == 3:
                    coro, exp = engine.submit(boom, n), ("raises", Boom)
                else:  # a deadline that has passed by the time a worker looks: expires (rarely runs)
                    coro, exp = engine.submit(kernels.noop, deadline_us=0), ("value-or-expired", b"")
                tasks.append(asyncio.ensure_future(coro))
                expected.append(exp)
                when.append(rng.choice(("never", "never", "never", "never", "before", "queued", "late", "late")))
            gate = Gate() if (submitted // window) % 4 == 0 else None
            gate_task = asyncio.ensure_future(engine.submit(gate)) if gate else None
            requested = [False] * batch
            for i in range(batch):  # before the submit coroutine ever ran: never reaches the engine
                if when[i] == "before":
                    requested[i] = tasks[i].cancel()
            await anyio.sleep(0)  # every other submit is now queued (or running)
            for i in range(batch):
                if when[i] == "queued":
                    requested[i] = tasks[i].cancel()
            if gate and gate_task:
                await gate.wait_started()
                gate_task.cancel()  # cancelled while running: its completion must be dropped
                gate.release.set()
            # late: once some of the work has come back, so some are done, some still in flight
            live = [t for i, t in enumerate(tasks) if not requested[i] and when[i] != "queued"]
            await wait_for(wait_first(live))
            for i in range(batch):
                if when[i] == "late":
                    requested[i] = tasks[i].cancel()  # False when it had already finished
            results = await wait_for(gather(*tasks, return_exceptions=True))
            for i, (r, (how, value)) in enumerate(zip(results, expected, strict=True)):
                if requested[i]:
                    assert isinstance(r, asyncio.CancelledError), (i, when[i], r)
                    outcomes["cancelled"] += 1
                    continue
                if when[i] == "late":
                    outcomes["late_noop"] += 1
                if how == "raises":
                    assert isinstance(r, Boom), r
                    outcomes["failed"] += 1
                elif how == "value-or-expired" and isinstance(r, aioultra.DeadlineExceeded):
                    outcomes["expired"] += 1
                else:
                    assert r == value, (i, r, value)
                    outcomes["ok"] += 1
            if gate_task is not None:
                with pytest.raises(asyncio.CancelledError):
                    await wait_for(gate_task)
            submitted += batch
        assert all(t.done() for t in tasks)
        # cancelled tasks' records come back after their futures were done: wait for the drain
        await until(lambda: engine.stats().queue_size == 0, what="every record to come back")
        s = assert_stats_add_up(engine)
        assert await wait_for(engine.submit(kernels.noop)) == b""
    assert set(_bridge._py_jobs) <= py_jobs_before, "Python jobs left registered"
    total = sum(v for k, v in outcomes.items() if k != "late_noop")
    assert total == STORM_TASKS, outcomes
    print(f"storm: {STORM_TASKS} submissions; outcomes {outcomes}; engine {_counters(s)}")  # -rP shows it
    assert outcomes["cancelled"] > STORM_TASKS // 5, outcomes  # 1/2 asked; some "late" ones were done
    assert s.tasks_cancelled > 0 and s.tasks_failed >= outcomes["failed"] and s.tasks_expired > 0, s


# ------------------------------------------------------------------ back-pressure


async def test_back_pressure_rejects_at_once_and_drops_nothing(guarded: None) -> None:
    """A full engine refuses new work in the submit call (nothing queued); everything accepted
    resolves with its own result; a map waits for slots instead; after completions drain,
    submission works again."""
    cap = 64
    async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, queue_capacity=cap, spin_us=0) as engine:
        # 1. deterministic: a gate holds the only worker, the queue fills exactly
        for episode in range(3):
            gate = Gate()
            first = engine.submit(gate)
            await gate.wait_started()
            offers = []
            refused = 0
            for i in range(4 * cap):
                try:
                    offers.append((engine.submit(square, episode * 1000 + i), i))
                except aioultra.QueueFull:
                    refused += 1
            with pytest.raises(aioultra.QueueFull):
                engine.submit(kernels.keccak256, b"x")
            async with spawner() as spawn:
                mapped = spawn(engine.map(kernels.noop, [b""] * 3))  # waits for a slot
                await anyio.sleep(0)  # the map has queued what fits (nothing: the queue is full)
                assert [i for _, i in offers] == list(range(cap - 1)) and refused == 4 * cap - (cap - 1)
                assert engine.stats().queue_size == cap
                gate.release.set()
                assert await wait_for(first) == "gate"
                results = await wait_for(gather(*(f for f, _ in offers)))
                assert results == [square(episode * 1000 + i) for _, i in offers]  # nothing dropped
                assert await wait_for(mapped) == [b""] * 3
            assert engine.stats().queue_size == 0
            assert await wait_for(engine.submit(kernels.keccak256, b"x")) == keccak_ref(b"x")

        # 2. flood: bursts of twice the capacity against a running worker, many times over
        base = engine.stats().tasks_submitted
        pending: list[tuple[asyncio.Future[Any], int]] = []
        accepted_count = refused_count = checked = 0
        serial = 0
        for _ in range(BACKPRESSURE_ROUNDS):
            burst = []
            for _ in range(2 * cap):
                serial += 1
                try:
                    burst.append((engine.submit(square, serial), serial))
                except aioultra.QueueFull:
                    refused_count += 1
            accepted_count += len(burst)
            pending += burst
            # wait for some of our work to come back, then go again while the rest is in flight
            await wait_for(wait_first([t for t, _ in pending]))
            still = []
            for t, n in pending:
                if t.done():
                    assert t.result() == n * n
                    checked += 1
                else:
                    still.append((t, n))
            pending = still
        for t, n in pending:
            assert await wait_for(t) == n * n
            checked += 1
        assert checked == accepted_count
        assert refused_count > 0 and accepted_count > BACKPRESSURE_ROUNDS
        s = assert_stats_add_up(engine)
        assert s.tasks_submitted - base == accepted_count  # refused submissions queued nothing
        print(f"back-pressure: {BACKPRESSURE_ROUNDS} bursts, accepted {accepted_count}, refused {refused_count}")


# ------------------------------------------------------------------ memory


async def _memory_round(engine: aioultra.Engine, count: int, rng: random.Random) -> None:
    window = 512
    done = 0
    while done < count:
        batch = min(window, count - done)
        tasks = []
        for i in range(batch):
            k = (done + i) % 8
            if k < 3:
                tasks.append(asyncio.ensure_future(engine.submit(kernels.noop)))
            elif k < 6:
                tasks.append(asyncio.ensure_future(engine.submit(square, i)))
            elif k == 6:
                tasks.append(asyncio.ensure_future(engine.submit(kernels.keccak256, b"m" * (i % 64))))
            else:
                tasks.append(asyncio.ensure_future(engine.submit(boom, i)))
        await anyio.sleep(0)
        for t in rng.sample(tasks, batch // 16):
            t.cancel()
        await wait_for(gather(*tasks, return_exceptions=True))
        done += batch
    assert len(await wait_for(engine.map(kernels.keccak256, [b"a"] * 256))) == 256
    assert len(await wait_for(engine.map(square, range(256)))) == 256


async def test_memory_is_flat_across_rounds(guarded: None) -> None:
    """6 rounds of MEMORY_TASKS tasks (kernels, Python, failures, cancellations, maps): RSS and
    the Python heap (tracemalloc) do not grow between round 2 and round 6."""
    rng = random.Random(5)
    proc = psutil.Process()
    rss: list[int] = []
    traced: list[int] = []
    async with aioultra.Engine(spin_us=20, queue_capacity=4096) as engine:
        tracemalloc.start()
        try:
            for _ in range(6):
                await _memory_round(engine, MEMORY_TASKS, rng)
                await until(lambda: engine.stats().queue_size == 0, what="the drain")
                gc.collect()  # failures' tracebacks are collected by the cycle GC (see below)
                rss.append(proc.memory_info().rss)
                traced.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        assert_stats_add_up(engine)
    mb = 1 << 20
    detail = f"rss MB={[round(r / mb, 1) for r in rss]} traced KB={[t // 1024 for t in traced]}"
    assert rss[5] - rss[1] < 5 * mb, detail
    assert traced[5] - traced[1] < 1 * mb, detail
    print(f"memory: 6 rounds x {MEMORY_TASKS} tasks: {detail}")


# ------------------------------------------------------------------ reference cycles


class Payload:
    """A weak-referenceable argument / result."""


def returns_payload(arg: Payload) -> Payload:
    return Payload()


def raises_with_payload(arg: Payload) -> None:
    raise Boom(Payload())


class PayloadTask(aioultra.Task):
    def __init__(self, arg: Payload) -> None:
        self.arg = arg

    def execute(self) -> Payload:
        return Payload()


async def _settle() -> None:
    # The loop's own bookkeeping (the handle that woke us) holds the last result for one more
    # iteration; these yields are not waits for the engine.
    for _ in range(3):
        await anyio.sleep(0)


@contextlib.contextmanager
def gc_disabled() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_no_reference_cycle_after_return(engine: aioultra.Engine) -> None:
    """anyio's test_run_sync_worker_cyclic_references, for the engine: with the cycle GC off,
    the argument, the result, the job and the task object die as soon as the awaiter drops
    them."""
    assert isinstance(await wait_for(engine.submit(returns_payload, Payload())), Payload)  # warm up
    with gc_disabled():
        arg = Payload()
        arg_ref = weakref.ref(arg)
        with anyio.fail_after(30):
            result = await engine.submit(returns_payload, arg)
        result_ref = weakref.ref(result)
        del arg, result
        task = PayloadTask(Payload())
        task_refs = [weakref.ref(task), weakref.ref(task.arg)]
        with anyio.fail_after(30):
            task_result = await engine.submit(task)
        task_refs.append(weakref.ref(task_result))
        del task, task_result
        await _settle()
        assert arg_ref() is None, gc.get_referrers(arg_ref())
        assert result_ref() is None, gc.get_referrers(result_ref())
        assert all(r() is None for r in task_refs)


async def test_no_reference_cycle_for_kernel_inputs(engine: aioultra.Engine) -> None:
    """A kernel's zero-copy input buffer is released when the task is delivered."""
    import array

    with gc_disabled():
        data = array.array("B", b"abc" * 100)
        data_ref = weakref.ref(data)
        assert await wait_for(engine.submit(kernels.keccak256, memoryview(data))) == keccak_ref(data.tobytes())
        del data
        await _settle()
        assert data_ref() is None


async def test_no_reference_cycle_after_exception(engine: aioultra.Engine) -> None:
    """After `await engine.submit(fn)` where fn raises, the exception, its payload and the
    argument die with the awaiter's last reference, without the cycle GC. (Awaited under
    asyncio.timeout, not wait_for: Python 3.11's wait_for keeps its own frame -> inner task ->
    exception cycle.)"""
    with contextlib.suppress(Boom):
        await wait_for(engine.submit(raises_with_payload, Payload()))
    with gc_disabled():
        arg = Payload()
        arg_ref = weakref.ref(arg)
        try:
            with anyio.fail_after(30):
                await engine.submit(raises_with_payload, arg)
        except Boom as exc:
            exc_ref = weakref.ref(exc)
            payload_ref = weakref.ref(exc.args[0])
        del arg
        await _settle()
        leaked = [name for name, ref in (("arg", arg_ref), ("exception", exc_ref), ("payload", payload_ref)) if ref()]
        assert not leaked, f"kept alive by a reference cycle: {leaked}"


# ------------------------------------------------------------------ KeyboardInterrupt, cancellation


def raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt("from a task")


class InterruptTask(aioultra.Task):
    def execute(self) -> None:
        raise KeyboardInterrupt("from Task.execute")


def _run_on(factory: str, body: Callable[[asyncio.AbstractEventLoop], Awaitable[None]]) -> None:
    """Run `body(loop)` to completion on a fresh loop of the given kind, in this thread."""
    loop = LOOPS[factory]()
    try:
        with no_swallowed_errors(loop):
            loop.run_until_complete(body(loop))
    finally:
        loop.close()


@pytest.mark.parametrize("factory", list(LOOPS))
def test_keyboard_interrupt_from_a_task_reaches_the_awaiter(factory: str) -> None:
    """A task raising KeyboardInterrupt on a worker: the awaiter gets that KeyboardInterrupt
    (awaited directly: asyncio lets a KeyboardInterrupt escaping a Task stop the loop)."""

    async def body(loop: asyncio.AbstractEventLoop) -> None:
        async with aioultra.Engine(spin_us=0) as engine:
            for target in (raise_keyboard_interrupt, InterruptTask()):
                caught: BaseException | None = None
                try:
                    with anyio.fail_after(30):
                        await engine.submit(target)
                except KeyboardInterrupt as exc:
                    caught = exc
                assert isinstance(caught, KeyboardInterrupt) and "from" in str(caught), caught
                assert await wait_for(engine.submit(square, 3)) == 9  # still serving
            assert_stats_add_up(engine)

    try:
        _run_on(factory, body)
    except KeyboardInterrupt as exc:  # must not escape the awaiting coroutine
        pytest.fail(f"KeyboardInterrupt escaped the awaiter: {exc!r}")


async def test_cancel_of_a_blocked_awaiter_leaves_the_engine_serving(guarded: None) -> None:
    async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0) as engine:
        gate = Gate()
        running = asyncio.ensure_future(engine.submit(gate))
        await gate.wait_started()
        ran: list[int] = []
        queued = asyncio.ensure_future(engine.submit(ran.append, 1))
        await anyio.sleep(0)
        running.cancel()  # awaiter of a running task
        queued.cancel()  # awaiter of a queued task: the task must not run
        for t in (running, queued):
            with pytest.raises(asyncio.CancelledError):
                await wait_for(t)
        gate.release.set()
        assert await wait_for(engine.submit(square, 4)) == 16
        await until(lambda: engine.stats().queue_size == 0, what="the cancelled records")
        assert ran == []
        s = assert_stats_add_up(engine)
        assert s.tasks_cancelled == 1


@pytest.mark.parametrize("factory", list(LOOPS))
def test_keyboard_interrupt_in_the_loop_mid_await(factory: str) -> None:
    """Ctrl-C while coroutines await in-flight tasks: a KeyboardInterrupt raised by a loop
    callback (as a signal handler would) and one raised by a coroutine around its own
    submission both stop run_until_complete; the engine keeps the work, the loop resumes, the
    awaiting task is cancelled (what asyncio.run does on exit) and the engine keeps serving."""
    loop = LOOPS[factory]()
    try:
        with no_swallowed_errors(loop):
            engine = aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0)
            loop.run_until_complete(engine.start())

            # 1. KeyboardInterrupt from a loop callback while a task awaits a running gate
            gate = Gate()

            async def await_gate() -> Any:
                return await engine.submit(gate)  # submit is called on the running loop

            waiter = loop.create_task(await_gate())
            loop.run_until_complete(gate.wait_started())

            def interrupt() -> None:
                raise KeyboardInterrupt("ctrl-c")

            loop.call_soon(interrupt)
            with pytest.raises(KeyboardInterrupt, match="ctrl-c"):
                loop.run_forever()
            assert not waiter.done()
            waiter.cancel()
            gate.release.set()
            with pytest.raises(asyncio.CancelledError):
                loop.run_until_complete(wait_for(waiter))

            # 2. a coroutine raises KeyboardInterrupt while its own submission is in flight:
            #    the submission is not lost, its result arrives once the loop runs again
            gate2 = Gate()
            inner: list[asyncio.Task[Any]] = []

            async def interrupted() -> None:
                inner.append(asyncio.ensure_future(engine.submit(gate2)))
                await gate2.wait_started()
                raise KeyboardInterrupt("inside the coroutine")

            with pytest.raises(KeyboardInterrupt, match="inside the coroutine"):
                loop.run_until_complete(interrupted())
            gate2.release.set()
            assert loop.run_until_complete(wait_for(inner[0])) == "gate"

            # 3. a coroutine raises KeyboardInterrupt around the await it was interrupted in
            gate3 = Gate()
            blocked: list[asyncio.Task[Any]] = []

            async def interrupted_await() -> None:
                blocked.append(asyncio.ensure_future(engine.submit(gate3)))
                await gate3.wait_started()
                try:
                    await blocked[0]
                finally:
                    raise KeyboardInterrupt("around the await")

            victim = loop.create_task(interrupted_await())
            loop.run_until_complete(gate3.wait_started())
            loop.call_soon(lambda: blocked[0].cancel())  # the await is interrupted ...
            with pytest.raises(KeyboardInterrupt, match="around the await"):
                loop.run_until_complete(victim)  # ... and the coroutine turns it into Ctrl-C
            gate3.release.set()

            async def after() -> None:
                assert await wait_for(engine.submit(square, 5)) == 25
                assert await wait_for(engine.map(kernels.keccak256, [b"a", b"b"])) == [
                    keccak_ref(b"a"),
                    keccak_ref(b"b"),
                ]
                await until(lambda: engine.stats().queue_size == 0, what="the interrupted records")
                assert_stats_add_up(engine)
                await engine.aclose()

            loop.run_until_complete(after())
    finally:
        loop.close()


# ------------------------------------------------------------------ several loops


def test_four_loops_share_one_engine() -> None:
    """4 event loops in 4 threads (asyncio, uvloop, asyncio, uvloop) x MULTILOOP_TASKS tasks on
    one engine: each completion reaches its own loop (results carry the thread's index) and none
    is lost."""
    loops = 4
    per_loop = MULTILOOP_TASKS
    home = asyncio.new_event_loop()
    engine = aioultra.Engine(spin_us=20, queue_capacity=8192)
    home.run_until_complete(engine.start())
    counts: dict[int, int] = {}
    errors: list[BaseException] = []
    loop_errors: list[Any] = []
    digests = {index: keccak_ref(bytes([index]) * 7) for index in range(loops)}

    def tagged(index: int, i: int) -> tuple[int, int, int]:
        return index, i, threading.get_ident()

    def run_loop(index: int) -> None:
        async def body() -> int:
            me = threading.get_ident()
            window = 1024
            done = 0
            while done < per_loop:
                batch = min(window, per_loop - done)
                futs = []
                for i in range(done, done + batch):
                    if i % 4 == 3:
                        futs.append(engine.submit(kernels.keccak256, bytes([index]) * 7))
                    else:
                        futs.append(engine.submit(tagged, index, i))
                results = await gather(*futs)
                for i, r in zip(range(done, done + batch), results, strict=True):
                    if i % 4 == 3:
                        assert r == digests[index], f"loop {index}: item {i} got another loop's digest"
                    else:
                        assert r[:2] == (index, i), f"loop {index}: item {i} got {r[:2]}"
                        assert r[2] != me  # ran on a worker, not on this loop's thread
                assert asyncio.get_running_loop() is loop  # delivered here, on this loop's thread
                done += batch
            mapped = await engine.map(kernels.keccak256, [bytes([index]) * 7] * 300)
            assert mapped == [digests[index]] * 300
            return done + len(mapped)

        loop = (uvloop.new_event_loop if index % 2 else asyncio.new_event_loop)()
        loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
        try:
            counts[index] = loop.run_until_complete(wait_for(body(), 600))
        except BaseException as exc:
            errors.append(exc)
        finally:
            loop.close()

    try:
        threads = [threading.Thread(target=run_loop, args=(i,), name=f"loop-{i}") for i in range(loops)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(660)
        assert not any(t.is_alive() for t in threads), "a loop thread hung"
        assert not errors, errors
        assert not loop_errors, loop_errors
        assert counts == dict.fromkeys(range(loops), per_loop + 300)

        async def check() -> None:
            assert await wait_for(engine.submit(kernels.noop)) == b""
            s = assert_stats_add_up(engine)
            assert s.tasks_completed >= loops * per_loop
            print(f"multi-loop: {loops} loops x {per_loop} tasks (+300 map items each); engine {_counters(s)}")

        home.run_until_complete(check())
    finally:
        home.run_until_complete(engine.aclose())
        home.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_closed_loops_with_completions_in_flight(guarded: None) -> None:
    """CLOSED_LOOP_CYCLES times: another thread's loop (asyncio or uvloop) submits work and
    closes while it is in flight. Nobody drains those completions; the engine reclaims their
    slots (all 64 are usable again), frees the dead channels, and keeps serving."""
    cap = 64
    async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, queue_capacity=cap, spin_us=0) as engine:
        assert await wait_for(engine.submit(kernels.noop)) == b""
        fds = _fds()
        for cycle in range(CLOSED_LOOP_CYCLES):
            gate = Gate()
            left = cap // 2 + cycle % (cap // 2 - 1)  # between 32 and 62 in flight

            def other_thread(gate: Gate = gate, left: int = left, cycle: int = cycle) -> None:
                loop = (uvloop.new_event_loop if cycle % 2 else asyncio.new_event_loop)()

                async def submit_and_leave() -> None:
                    left_behind = [asyncio.ensure_future(engine.submit(gate))]
                    for i in range(left - 1):
                        if i % 3 == 0:
                            left_behind.append(asyncio.ensure_future(engine.submit(kernels.spin, 1000)))
                        elif i % 3 == 1:
                            left_behind.append(asyncio.ensure_future(engine.submit(square, i)))
                        else:
                            left_behind.append(asyncio.ensure_future(engine.submit(kernels.keccak256, b"k")))
                    await anyio.sleep(0)
                    assert not any(t.done() for t in left_behind)

                loop.run_until_complete(submit_and_leave())
                loop.close()  # the tasks stay pending; nobody will drain their completions

            thread = threading.Thread(target=other_thread)
            thread.start()
            await to_thread(thread.join, 30)
            await gate.wait_started()
            assert engine.stats().queue_size == left
            gate.release.set()
            # one worker, FIFO: once this completes, the dead loop's tasks have completed too
            assert await wait_for(engine.submit(kernels.noop)) == b""
            # all slots at once: only possible if the closed loop's records are reclaimed
            results = await wait_for(gather(*(engine.submit(square, i) for i in range(cap))))
            assert results == [i * i for i in range(cap)]
            assert engine.stats().queue_size == 0
        assert _fds() <= fds + 1, "dead channels' eventfds were not closed"
        print(f"closed loops: {CLOSED_LOOP_CYCLES} cycles, fds {fds} -> {_fds()}, engine {_counters(engine.stats())}")
        assert_stats_add_up(engine)
        # a closed loop whose tasks are still queued does not hold aclose up
        gate = Gate()

        def leave_queued() -> None:
            loop = asyncio.new_event_loop()

            async def go() -> None:
                left_behind = [asyncio.ensure_future(engine.submit(gate))]
                left_behind += [asyncio.ensure_future(engine.submit(kernels.spin, 1000)) for _ in range(10)]
                await anyio.sleep(0)
                assert not any(t.done() for t in left_behind)

            loop.run_until_complete(go())
            loop.close()

        thread = threading.Thread(target=leave_queued)
        thread.start()
        await to_thread(thread.join, 30)
        await gate.wait_started()
        gate.release.set()
    assert not engine.running
