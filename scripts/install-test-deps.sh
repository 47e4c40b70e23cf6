#!/usr/bin/env bash
# Test-only system packages: headless Chromium (and its driver) for the agent page test, and
# Prometheus (with promtool) for the dashboard and alert-rule tests.
# Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# the official AsyncAPI parser (npm), for the contract test of docs/asyncapi.yaml
if [ ! -d tests/tools/node_modules/@asyncapi/parser ]; then
    if ! command -v npm >/dev/null 2>&1; then
        $( [ "$(id -u)" != "0" ] && echo sudo ) apt-get update -qq
        $( [ "$(id -u)" != "0" ] && echo sudo ) apt-get install -y -qq nodejs npm
    fi
    npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error
fi
need_chromium=0
need_prometheus=0
command -v chromium >/dev/null 2>&1 || need_chromium=1
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need_prometheus=1
if [ "$need_chromium" = 0 ] && [ "$need_prometheus" = 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ "$need_chromium" = 1 ]; then
    $SUDO apt-get install -y -qq chromium chromium-driver
fi
if [ "$need_prometheus" = 1 ]; then
    # the server and promtool only (its recommended exporters are not needed)
    $SUDO apt-get install -y -qq --no-install-recommends prometheus
fi
