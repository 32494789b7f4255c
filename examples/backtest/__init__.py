"""Backtest: replay a recorded mempool through the mempool watcher's strategy on a Ray cluster.

    python -m examples.backtest                       # 1M transactions, a local 2-node Ray cluster
    python -m examples.backtest --count 20000         # a quick run
    python -m examples.backtest --address ray://...   # an existing cluster

The recording (reproducible from its seed) is generated once and cached under build/backtest/.
The same strategy runs on one local engine and on the cluster (one engine per node), and the
run prints throughput, opportunities and the comparison.
"""
