"""Helpers shared by the bench suites: percentiles and the live progress line."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any


def percentile(sorted_ns: list[int], q: float) -> float:
    """The ``q`` quantile (0..1) of ascending nanosecond samples, in microseconds."""
    index = min(len(sorted_ns) - 1, int(q * len(sorted_ns)))
    return sorted_ns[index] / 1000.0


CDF_POINTS = 100


def summary(samples_ns: list[int], cdf: bool = False) -> dict[str, Any]:
    """p50 and p99 (microseconds) and the count of nanosecond samples (sorted in place); with
    ``cdf``, also ``cdf_us``: the quantiles 0, 1/CDF_POINTS, ..., 1 (for the plots)."""
    samples_ns.sort()
    out: dict[str, Any] = {
        "p50_us": percentile(samples_ns, 0.50),
        "p99_us": percentile(samples_ns, 0.99),
        "n": len(samples_ns),
    }
    if cdf and samples_ns:
        out["cdf_us"] = [percentile(samples_ns, i / CDF_POINTS) for i in range(CDF_POINTS + 1)]
    return out


class Progress:
    """A one-line live status on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()

    def step(self, label: str) -> None:
        """Count one step done and show its label."""
        self.done += 1
        line = f"[{self.done}/{self.total}] {label}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        """Clear the status line."""
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


async def p50_ms(call: Callable[[], Awaitable[Any]], n: int) -> float:
    """The median of ``n`` awaits of ``call()``, in milliseconds (one after the other)."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)
