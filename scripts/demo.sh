#!/usr/bin/env bash
# Install, then run the main job: a working day through the gateway, desk and notifier on the
# local stack; prints the service-level report, writes it and its plot to .contactcenter/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/contactcenter demo "$@"
