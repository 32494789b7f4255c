"""``python -m examples.mempool_watcher [--ws URL | --replay FILE] [--mode M | --compare]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

import aioultra

from .pipeline import MODES, Summary, print_opportunity, run
from .pools import PoolSet
from .server import replay_server

DATA = Path(__file__).resolve().parent / "data"


async def main(args: argparse.Namespace) -> int:
    pools = PoolSet.load(args.pools)
    modes = list(MODES) if args.compare else [args.mode]
    summaries: list[Summary] = []
    async with aioultra.Engine(aioultra.EngineConfig.from_env()) as engine:  # AIOULTRA_* variables apply
        for mode in modes:
            emit = None if args.quiet or (args.compare and mode != "engine") else print_opportunity
            feed = contextlib.nullcontext(args.ws) if args.ws else replay_server(args.replay)
            with feed as url:
                summary = await run(
                    url,
                    pools,
                    mode,
                    engine=engine,
                    limit=args.limit,
                    batch_max=args.batch,
                    deadline_us=args.deadline_us,
                    emit=emit,
                )
            summaries.append(summary)
            summary.print(sys.stdout)
    if args.compare:
        base = {(o.tx_hash, o.pool, o.size, o.profit) for o in summaries[0].opportunities}
        for s in summaries[1:]:
            same = {(o.tx_hash, o.pool, o.size, o.profit) for o in s.opportunities} == base
            print(f"# {s.mode}: same opportunities as engine: {same}")
        print("# " + " | ".join(f"{s.mode}: {s.throughput:,.0f} tx/s" for s in summaries))
    return 0


def cli(argv: list[str] | None = None) -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m examples.mempool_watcher", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--ws", help="websocket JSON-RPC endpoint of a node (eth_subscribe)")
    source.add_argument(
        "--replay",
        type=Path,
        default=DATA / "pending.jsonl",
        help="JSON lines of pending transactions, replayed through a local websocket server",
    )
    parser.add_argument("--pools", type=Path, default=DATA / "pools.json", help="pool set with reserves")
    parser.add_argument("--mode", choices=MODES, default="engine", help="where the strategy runs")
    parser.add_argument("--compare", action="store_true", help="run every mode and compare")
    parser.add_argument("--limit", type=int, help="stop after this many transactions")
    parser.add_argument("--batch", type=int, default=256, help="largest strategy batch")
    parser.add_argument(
        "--deadline-us",
        type=float,
        default=None,
        help="drop a batch's pricing if the engine cannot start it within this budget",
    )
    parser.add_argument("--quiet", action="store_true", help="summary only")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be >= 1")
    try:
        import uvloop

        return uvloop.run(main(args))
    except ImportError:
        return asyncio.run(main(args))


if __name__ == "__main__":
    sys.exit(cli())
