#!/usr/bin/env bash
# Install, then run the main job on the local runtime: broker, PostgreSQL, worker, sample traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/contactcenter demo "$@"
