#!/usr/bin/env bash
# Install everything, then run the whole test suite (unit, integration, e2e).
# The tests start their own Kafka-protocol broker and PostgreSQL (or use DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -f scripts/install-test-deps.sh ]; then
    bash scripts/install-test-deps.sh
fi
.venv/bin/ruff check .
.venv/bin/mypy schemas streams services
.venv/bin/python -m pytest -p no:cacheprovider "$@"
