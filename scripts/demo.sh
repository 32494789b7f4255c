#!/usr/bin/env bash
# The demo: sets up its own virtualenv, builds the C core, runs the quickstart example.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/setup-venv.sh)"
exec "$python" -m examples.quickstart "$@"
