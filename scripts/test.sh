#!/usr/bin/env bash
# The test command: sets up its own virtualenv, then lint, types, the C tests (plain, TSan,
# ASan+UBSan, clang UBSan) and the Python suite (which includes the engine stress under both sanitizers);
# in CI also the Python suite on Python 3.12 and 3.13 (scripts/test-pythons.sh). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/setup-venv.sh)"
bin="$(dirname "$python")"
start=$SECONDS
echo "== ruff"; "$bin/ruff" check aioultra tests examples csrc/ffi_build.py setup.py
"$bin/ruff" format --check aioultra tests examples csrc/ffi_build.py setup.py
echo "== mypy"; "$bin/mypy"
echo "== C tests (plain, tsan, asan+ubsan, ubsan-clang)"; scripts/ctest.sh quick
echo "== model check (spin)"; scripts/model.sh
echo "== fuzz the parsing kernels"; scripts/fuzz.sh "${AIOULTRA_FUZZ_SECONDS:-20}"
echo "== pytest"; "$python" -m pytest -q "$@"
# Python 3.12 and 3.13 too: in CI, or with AIOULTRA_PYTHONS=all (AIOULTRA_PYTHONS=default: only this one)
if [ "${AIOULTRA_PYTHONS:-$([ "${CI:-}" = true ] && echo all || echo default)}" = all ]; then
    echo "== the other Pythons"; scripts/test-pythons.sh "$@"
fi
echo "== all tests passed in $((SECONDS - start)) s"
