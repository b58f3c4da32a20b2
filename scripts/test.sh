#!/usr/bin/env bash
# Runs every test against real Postgres and Redis: services up, dependencies present, a build
# (suites spawn the compiled platform as separate processes), then jest. Extra args go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
exec npx jest "$@"
