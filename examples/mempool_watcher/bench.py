"""The strategy alone, engine vs pure Python, without the feed:
``python -m examples.mempool_watcher.bench [--batch 64 256] [--gap-ms 2]``.

Feeds the bundled fixture to each strategy in batches, idling ``--gap-ms`` between batches (as
the feed does), and prints per-batch latency p50/p99 and throughput.
"""

from __future__ import annotations

import argparse
import json
import time

import structlog
import uvloop

import aioultra

from .__main__ import DATA
from .pools import PoolSet
from .strategy import EngineStrategy, Item, PythonStrategy


def _items(objs: list[dict[str, object]]) -> list[Item]:
    return [Item(0, bytes.fromhex(str(o["raw"])[2:]), o) for o in objs]


async def main(batches: list[int], gap_s: float) -> None:
    """Measure both strategies for each batch size."""
    pools = PoolSet.load(DATA / "pools.json")
    objs = [json.loads(line) for line in (DATA / "pending.jsonl").read_text().splitlines()]
    async with aioultra.Engine() as engine:
        for size in batches:
            for name in ("engine", "python"):
                lat: list[int] = []
                engine_strategy, py_strategy = EngineStrategy(engine, pools), PythonStrategy(pools)
                for start in range(0, len(objs), size):
                    items = _items(objs[start : start + size])
                    time.sleep(gap_s)
                    t0 = time.perf_counter_ns()
                    if name == "engine":
                        await engine_strategy.run_batch(items)
                    else:
                        py_strategy.run_batch(items)
                    lat.append(time.perf_counter_ns() - t0)
                lat.sort()
                busy = sum(lat) / 1e9
                print(
                    f"batch {size:4} {name:6}: p50 {lat[len(lat) // 2] / 1e3:8.0f} us  "
                    f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e3:8.0f} us  "
                    f"{len(objs) / busy:10,.0f} tx/s while busy"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--gap-ms", type=float, default=2.0)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    uvloop.run(main(args.batch, args.gap_ms / 1000))
