"""``python -m examples.mempool_watcher [--ws URL | --replay FILE] [--mode M | --compare] [--no-senders]``.

Each opportunity is printed as a JSON line with its bundle: the victim and a backrun
transaction signed with a throwaway key made at start (dry run: nothing is sent)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import aioultra

from .ethcodec import SECP256K1_N
from .pipeline import MODES, Summary, print_opportunity, run
from .pools import PoolSet
from .server import replay_server

DATA = Path(__file__).resolve().parent / "data"


async def main(args: argparse.Namespace) -> int:
    pools = PoolSet.load(args.pools)
    modes = list(MODES) if args.compare else [args.mode]
    if not args.no_senders:
        args.signer_key = throwaway_key()
        print(f"# backruns signed by the throwaway account 0x{aioultra.kernels.signer(args.signer_key).address.hex()}")
    summaries: list[Summary] = []
    async with aioultra.Engine(aioultra.EngineConfig.from_env()) as engine:  # AIOULTRA_* variables apply
        with _metrics_server(engine, args.metrics_port, args.metrics_addr):
            await _run_modes(args, engine, pools, modes, summaries)
    if args.compare:
        base = {(o.tx_hash, o.pool, o.size, o.profit) for o in summaries[0].opportunities}
        for s in summaries[1:]:
            same = {(o.tx_hash, o.pool, o.size, o.profit) for o in s.opportunities} == base
            print(f"# {s.mode}: same opportunities as engine: {same}")
        print("# " + " | ".join(f"{s.mode}: {s.throughput:,.0f} tx/s" for s in summaries))
    return 0


async def _run_modes(
    args: argparse.Namespace, engine: aioultra.Engine, pools: PoolSet, modes: list[str], summaries: list[Summary]
) -> None:
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
                senders=not args.no_senders,
                signer_key=args.signer_key,
            )
        summaries.append(summary)
        summary.print(sys.stdout)


def throwaway_key() -> bytes:
    """A fresh random private key (dry-run signing only; never saved)."""
    while True:
        key = secrets.token_bytes(32)
        if 0 < int.from_bytes(key, "big") < SECP256K1_N:
            return key


@contextlib.contextmanager
def _metrics_server(engine: aioultra.Engine, port: int | None, addr: str) -> Iterator[None]:
    """With a port: serve the engine's Prometheus metrics while the pipeline runs."""
    if port is None:
        yield
        return
    from aioultra import metrics  # needs prometheus_client (aioultra[metrics])

    server, thread = metrics.serve(engine, port, addr)
    print(f"# metrics: http://{addr}:{server.server_port}/metrics", flush=True)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


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
    parser.add_argument(
        "--no-senders",
        action="store_true",
        help="skip sender recovery, nonce tracking and backrun signing (the pipeline before them)",
    )
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port (0: any free port)"
    )
    parser.add_argument("--metrics-addr", default="127.0.0.1", help="address of the metrics server")
    args = parser.parse_args(argv)
    args.signer_key = None
    if args.batch < 1:
        parser.error("--batch must be >= 1")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        parser.error("--metrics-port must be between 0 and 65535")
    try:
        import uvloop

        return uvloop.run(main(args))
    except ImportError:
        return asyncio.run(main(args))


if __name__ == "__main__":
    sys.exit(cli())
