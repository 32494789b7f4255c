#!/usr/bin/env bash
# The demo: sets up its own virtualenv, builds the C core, and runs the mempool-watcher pipeline
# on the bundled fixture through a local websocket server -- on the engine, then the same
# strategy inline in Python and through run_in_executor -- printing the engine run's
# opportunities as JSON lines and each run's latency summary. Extra arguments go to the example.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/setup-venv.sh)"
exec "$python" -m examples.mempool_watcher --compare "$@"
