"""Mempool watcher: a collector -> strategy -> executor pipeline (after Paradigm's artemis).

The collector subscribes to pending transactions over websocket JSON-RPC; the strategy decodes
them and prices Uniswap V2 router swaps and their backruns on an aioultra Engine, in batches, on
native kernels; the executor prints opportunities as JSON lines and a latency summary.

    python -m examples.mempool_watcher                  # bundled fixture via a local websocket server
    python -m examples.mempool_watcher --ws wss://...   # a real node
    python -m examples.mempool_watcher --compare        # engine vs inline Python vs run_in_executor
"""
