"""The metrics suite (issue 11): what the native latency histograms cost.

An engine with ``latency_histograms`` on and one with them off take turns round by round in
one run (one engine at a time, so each has the machine's CPUs to itself), so both see the same
machine; each figure is the best over the rounds. Per setting: back-to-back ``submit(noop)``
p50, ``map(noop)`` items/s, the cost of one ``stats()`` call and of one Prometheus scrape
(``EngineCollector.collect`` rendered to the text format, when prometheus_client is installed).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import aioultra
from aioultra import kernels

from .common import Progress, percentile

STEPS = 1


@dataclass(frozen=True)
class Counts:
    """Sizes of one run of the suite."""

    rounds: int
    back_to_back: int  # sequential submit(noop) awaits per round
    items: int  # map(noop) items per round
    stats_calls: int  # stats() calls per round


FULL = Counts(rounds=7, back_to_back=5000, items=200_000, stats_calls=2000)
QUICK = Counts(rounds=3, back_to_back=2000, items=50_000, stats_calls=500)
TINY = Counts(rounds=1, back_to_back=50, items=500, stats_calls=10)


def _scrape_cost(engine: aioultra.Engine, n: int) -> float | None:
    """us per scrape (collect + text format) or None without prometheus_client."""
    try:
        from prometheus_client import CollectorRegistry, generate_latest

        from aioultra.metrics import EngineCollector
    except ImportError:
        return None
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    generate_latest(registry)
    t0 = time.perf_counter()
    for _ in range(n):
        generate_latest(registry)
    return (time.perf_counter() - t0) * 1e6 / n


async def _one_round(histograms: bool, counts: Counts) -> dict[str, Any]:
    async with aioultra.Engine(latency_histograms=histograms) as engine:
        for _ in range(counts.back_to_back // 10):
            await engine.submit(kernels.noop)
        samples: list[int] = []
        clock = time.perf_counter_ns
        for _ in range(counts.back_to_back):
            start = clock()
            await engine.submit(kernels.noop)
            samples.append(clock() - start)
        samples.sort()
        items = [b""] * counts.items
        await engine.map(kernels.noop, items[:1000])
        t0 = time.perf_counter()
        await engine.map(kernels.noop, items)
        map_rate = counts.items / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(counts.stats_calls):
            engine.stats()
        stats_us = (time.perf_counter() - t0) * 1e6 / counts.stats_calls
        scrape_us = _scrape_cost(engine, max(1, counts.stats_calls // 10))
    return {
        "submit_p50_us": percentile(samples, 0.5),
        "map_items_s": map_rate,
        "stats_us": stats_us,
        "scrape_us": scrape_us,
    }


def _best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    scrapes = [r["scrape_us"] for r in rounds if r["scrape_us"] is not None]
    return {
        "submit_p50_us": min(r["submit_p50_us"] for r in rounds),
        "map_items_s": max(r["map_items_s"] for r in rounds),
        "stats_us": min(r["stats_us"] for r in rounds),
        "scrape_us": min(scrapes) if scrapes else None,
    }


async def run_suite(counts: Counts, progress: Progress | None = None) -> dict[str, Any]:
    """Both settings, taking turns for ``counts.rounds`` rounds; the best of each and the ratios."""
    rounds: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    gc.collect()
    gc.freeze()
    try:
        for r in range(counts.rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")  # neither always goes first
            for setting in order:
                rounds[setting].append(await _one_round(setting == "on", counts))
    finally:
        gc.unfreeze()
    on, off = _best(rounds["on"]), _best(rounds["off"])
    if progress is not None:
        progress.step("metrics overhead")
    return {
        "on": on,
        "off": off,
        "rounds": counts.rounds,
        "submit_p50_on_x_off": on["submit_p50_us"] / off["submit_p50_us"],
        "map_off_x_on": off["map_items_s"] / on["map_items_s"],
    }


def print_suite(loop: str, s: dict[str, Any]) -> None:
    """The suite's table for one loop."""
    print(f"\n== {loop}: latency histograms on / off (best of {s['rounds']} rounds each, taking turns) ==")
    print(f"{'figure':36} {'on':>12} {'off':>12} {'on/off':>8}")
    on, off = s["on"], s["off"]
    for key, label in (
        ("submit_p50_us", "back-to-back submit(noop) p50 (us)"),
        ("map_items_s", "map(noop) items/s"),
        ("stats_us", "stats() (us per call)"),
        ("scrape_us", "Prometheus scrape (us)"),
    ):
        a, b = on[key], off[key]
        if a is None or b is None:
            print(f"{label:36} {'-':>12} {'-':>12}")
            continue
        print(f"{label:36} {a:12,.2f} {b:12,.2f} {a / b:8.3f}")
