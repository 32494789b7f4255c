"""Collector: pending transactions from a websocket JSON-RPC endpoint (eth_subscribe).

Subscribes to ``newPendingTransactions`` with full transaction objects and puts
``(origin_ns, tx_object)`` on a queue: origin_ns is ``time.perf_counter_ns()`` at receipt, or the
``sentNs`` stamp the local replay server adds (the same monotonic clock, taken when it sent the
message), so latency includes time spent in socket buffers while the pipeline was busy.
Reconnects with exponential backoff when the connection drops. The local replay server
(server.py) speaks the same protocol, so the default offline path runs this same code; it ends
a replay with an ``aioultra_replayDone`` notification.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import structlog
import websockets
from websockets.asyncio.client import connect

log = structlog.get_logger("mempool_watcher")

MAX_MESSAGE = 64 * 1024 * 1024  # full-transaction feeds exceed websockets' 1 MiB default
SUBSCRIBE = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newPendingTransactions", True]}
DONE = None  # put on the queue when the feed ends


async def collect(
    url: str,
    queue: asyncio.Queue[tuple[int, dict[str, Any]] | None],
    *,
    limit: int | None = None,
    max_backoff: float = 5.0,
) -> int:
    """Stream pending transactions from ``url`` into ``queue`` until the replay ends or
    ``limit`` transactions arrived; then put DONE. Returns how many were received."""
    received = 0
    backoff = 0.1
    try:
        while True:
            try:
                # close_timeout: after ``limit`` the feed may still be pushing (its writes queued
                # behind what we no longer read), so its close reply can take long: do not wait 10 s
                async with connect(url, max_size=MAX_MESSAGE, ping_interval=20, open_timeout=10, close_timeout=1) as ws:
                    await ws.send(json.dumps(SUBSCRIBE))
                    reply = json.loads(await ws.recv())
                    if "error" in reply:
                        raise RuntimeError(f"eth_subscribe refused: {reply['error']}")
                    subscription = reply["result"]
                    log.info("collector.subscribed", url=url, subscription=subscription)
                    backoff = 0.1
                    async for message in ws:
                        msg = json.loads(message)
                        method = msg.get("method")
                        params = msg.get("params") or {}
                        if method == "eth_subscription" and params.get("subscription") == subscription:
                            origin = params.get("sentNs")
                            queue.put_nowait(
                                (origin if isinstance(origin, int) else time.perf_counter_ns(), params["result"])
                            )
                            received += 1
                            if limit is not None and received >= limit:
                                return received
                        elif method == "aioultra_replayDone":
                            return received
            except (TimeoutError, OSError, websockets.ConnectionClosed) as exc:
                log.warning("collector.reconnect", url=url, error=repr(exc), backoff_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
    finally:
        queue.put_nowait(DONE)
