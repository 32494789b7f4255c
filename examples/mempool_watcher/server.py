"""A local websocket JSON-RPC server that replays pending transactions (one JSON object per
line of a .jsonl file) to ``eth_subscribe("newPendingTransactions", true)`` subscribers, the way a
node does; then sends ``aioultra_replayDone``. Binds 127.0.0.1 on a free port. The pipeline runs
it in a child process (``replay_server``), as a node would be: the pipeline and the server do not
share a GIL or a loop. ``python -m examples.mempool_watcher.server FILE`` prints its URL and serves."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve


def load_replay(path: str | Path) -> list[str]:
    """The transaction objects of a replay file, as JSON text (validated)."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    for n, line in enumerate(lines, 1):
        obj = json.loads(line)
        if not isinstance(obj, dict) or "hash" not in obj:
            raise ValueError(f"{path}:{n}: not a transaction object with a hash")
    return lines


@contextmanager
def replay_server(path: str | Path, *, burst: int = 64, pause_s: float = 0.002) -> Iterator[str]:
    """Run the replay server for the file at ``path`` in a child process (as a node would be);
    yields its URL and stops it on exit."""
    load_replay(path)  # fail here, with the line number, on a bad file
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.mempool_watcher.server", str(path), str(burst), str(pause_s)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent.parent,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("ws://"):
            raise RuntimeError(f"replay server did not start (exit code {proc.poll()})")
        yield line
    finally:
        proc.terminate()
        proc.wait(10)


@asynccontextmanager
async def serving(
    txs: list[str], *, burst: int = 64, pause_s: float = 0.002, gate: asyncio.Event | None = None
) -> AsyncIterator[str]:
    """Serve ``txs`` to each subscriber in bursts of ``burst`` every ``pause_s`` on the running
    loop (with a ``gate``: the rest after the first burst only once it is set); yields the URL."""

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            req = json.loads(message)
            if req.get("method") != "eth_subscribe" or req.get("params", [None])[0] != "newPendingTransactions":
                await ws.send(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": req.get("id"),
                            "error": {"code": -32601, "message": "method not supported"},
                        }
                    )
                )
                continue
            sub = "0x5ca1ab1e"
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "result": sub}))
            head = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"' + sub + '","sentNs":'
            for start in range(0, len(txs), burst):
                for tx in txs[start : start + burst]:
                    # sentNs: CLOCK_MONOTONIC, shared by the processes of this machine (an extension field)
                    await ws.send(head + str(time.perf_counter_ns()) + ',"result":' + tx + "}}")
                await asyncio.sleep(pause_s)
                if gate is not None:
                    await gate.wait()
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "method": "aioultra_replayDone", "params": {"count": len(txs)}})
            )

    async with serve(handler, "127.0.0.1", 0, max_size=64 * 1024 * 1024) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def _serve_forever(path: str, burst: int, pause_s: float) -> None:
    async with serving(load_replay(path), burst=burst, pause_s=pause_s) as url:
        print(url, flush=True)
        await asyncio.Future()  # until terminated


if __name__ == "__main__":
    asyncio.run(
        _serve_forever(
            sys.argv[1],
            int(sys.argv[2]) if len(sys.argv) > 2 else 64,
            float(sys.argv[3]) if len(sys.argv) > 3 else 0.002,
        )
    )
