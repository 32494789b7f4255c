"""Executor and pipeline driver: collector -> strategy (in batches) -> opportunities + summary."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import aioultra

from .collector import DONE, collect
from .pools import PoolSet
from .strategy import Counters, EngineStrategy, Item, Opportunity, PythonStrategy

MODES = ("engine", "inline", "executor")


def _pct(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] / 1000.0


@dataclass
class Summary:
    """What one run did: counters, per-stage latency (us) and throughput."""

    mode: str
    counters: Counters
    elapsed_s: float
    opportunities: list[Opportunity]
    decode_ns: list[int] = field(default_factory=list)
    price_ns: list[int] = field(default_factory=list)
    total_ns: list[int] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Transactions per second, first receipt to last output."""
        return self.counters.received / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def stages(self) -> dict[str, tuple[float, float]]:
        """Per stage: (p50, p99) in microseconds."""
        return {
            "decode (sent -> decoded)": (_pct(self.decode_ns, 0.5), _pct(self.decode_ns, 0.99)),
            "price (decoded -> priced, swaps)": (_pct(self.price_ns, 0.5), _pct(self.price_ns, 0.99)),
            "total (sent -> batch done)": (_pct(self.total_ns, 0.5), _pct(self.total_ns, 0.99)),
        }

    def print(self, out: TextIO) -> None:
        """The human-readable summary, each line starting with '# '."""
        c = self.counters
        out.write(
            f"# mode={self.mode}: {c.received} txs in {self.elapsed_s:.3f} s ({self.throughput:,.0f} tx/s); "
            f"decoded {c.decoded}, router calls {c.router_calls}, swaps {c.swaps}, "
            f"opportunities {c.opportunities}\n"
        )
        if c.malformed:
            out.write("# malformed (skipped): " + ", ".join(f"{k}: {v}" for k, v in sorted(c.malformed.items())) + "\n")
        if c.skipped:
            out.write("# swaps skipped: " + ", ".join(f"{k}: {v}" for k, v in sorted(c.skipped.items())) + "\n")
        if c.senders:
            out.write(
                f"# senders {c.senders}: nonce gaps {c.nonce_gaps} ({c.nonces_missing} nonces missing), "
                f"replacements {c.replacements}; backruns signed {c.backruns_signed}\n"
            )
        for stage, (p50, p99) in self.stages().items():
            out.write(f"#   {stage:34} p50 {p50:9.1f} us   p99 {p99:9.1f} us\n")


async def run(
    url: str,
    pools: PoolSet,
    mode: str = "engine",
    *,
    engine: aioultra.Engine | None = None,
    batch_max: int = 256,
    limit: int | None = None,
    deadline_us: float | None = None,
    max_batches: int = 4,
    emit: Callable[[Opportunity], None] | None = None,
    senders: bool = True,
    signer_key: bytes | None = None,
) -> Summary:
    """Run the pipeline against ``url`` until the feed ends (or ``limit`` transactions).
    In engine mode up to ``max_batches`` batches are in flight at once. ``senders``: recover
    every sender and track nonces; ``signer_key``: sign a backrun per opportunity with it."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "engine" and engine is None:
        raise ValueError("mode 'engine' needs an engine")
    queue: asyncio.Queue[tuple[int, dict[str, Any]] | None] = asyncio.Queue()
    collector = asyncio.create_task(collect(url, queue, limit=limit))
    options: dict[str, Any] = {"senders": senders, "signer_key": signer_key}
    engine_strategy = EngineStrategy(engine, pools, deadline_us=deadline_us, **options) if engine is not None else None
    py_strategy = PythonStrategy(pools, **options)
    strategy: EngineStrategy | PythonStrategy = py_strategy
    if mode == "engine":
        assert engine_strategy is not None
        strategy = engine_strategy
    executor = concurrent.futures.ThreadPoolExecutor(1) if mode == "executor" else None
    loop = asyncio.get_running_loop()
    found: list[Opportunity] = []
    decode_ns: list[int] = []
    price_ns: list[int] = []
    total_ns: list[int] = []
    started: int | None = None
    done = False
    # On the engine the loop is free while a batch is priced: let a few batches overlap (the
    # strategy's state is only touched on the loop thread). Python strategies run one at a time.
    slots = asyncio.Semaphore(max_batches if mode == "engine" else 1)
    running: set[asyncio.Task[None]] = set()

    async def process(items: list[Item]) -> None:
        try:
            if mode == "engine":
                assert engine_strategy is not None
                batch_found = await engine_strategy.run_batch(items)
            elif mode == "inline":
                batch_found = py_strategy.run_batch(items)
            else:
                batch_found = await loop.run_in_executor(executor, py_strategy.run_batch, items)
        finally:
            slots.release()
        now = time.perf_counter_ns()
        for item in items:
            total_ns.append(now - item.origin_ns)
            if item.decoded_ns:
                decode_ns.append(item.decoded_ns - item.origin_ns)
            if item.priced_ns:
                price_ns.append(item.priced_ns - item.decoded_ns)
        for o in batch_found:
            found.append(o)
            if emit is not None:
                emit(o)

    try:
        while not done:
            first = await queue.get()
            if first is DONE:
                break
            await slots.acquire()
            entries = [first]
            while len(entries) < batch_max and not queue.empty():
                entry = queue.get_nowait()
                if entry is DONE:
                    done = True
                    break
                entries.append(entry)
            if started is None:
                started = entries[0][0]
            items = []
            for origin_ns, obj in entries:
                raw_hex = obj.get("raw")
                try:
                    raw = bytes.fromhex(raw_hex[2:]) if raw_hex else None
                except ValueError:
                    strategy.counters.received += 1
                    strategy.counters.malformed["raw is not hex"] += 1
                    continue
                items.append(Item(origin_ns, raw, obj))
            task = asyncio.create_task(process(items))
            running.add(task)
            task.add_done_callback(running.discard)
            if mode != "engine":
                await task
        await asyncio.gather(*running)
        await collector
    finally:
        collector.cancel()
        for task in running:
            task.cancel()
        if executor is not None:
            executor.shutdown()
    elapsed = (time.perf_counter_ns() - started) / 1e9 if started is not None else 0.0
    return Summary(mode, strategy.counters, elapsed, found, decode_ns, price_ns, total_ns)


def print_opportunity(o: Opportunity, out: TextIO = sys.stdout) -> None:
    """One JSON line per opportunity."""
    out.write(json.dumps(o.as_dict(), separators=(",", ":")) + "\n")
