#!/usr/bin/env bash
# Benchmarks of the processing path, each beside a bare aiokafka loop measured in the same run.
# Starts its own broker and PostgreSQL on loopback; stops everything by itself.
# Options: bash scripts/bench.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    bash scripts/install.sh
fi
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python -m bench "$@"
