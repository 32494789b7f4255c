"""Benchmarks: ``python -m aioultra.bench`` measures aioultra next to the standard offload
paths (run_in_executor, asyncio.to_thread, anyio.to_thread) in one run on one machine and
prints ratios against run_in_executor. See docs/performance.md."""
