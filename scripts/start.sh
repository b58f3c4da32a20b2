#!/usr/bin/env bash
# `npm start`: brings up Postgres and Redis, makes a `.env` on first run, installs and builds
# when needed, then becomes the platform process. ROLE (all, api or worker) and every other
# setting come from the environment, else from `.env` (see .env.example).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[start] $*" >&2; }

# NestJS 12 ships as ES modules that the compiled CommonJS code require()s, which Node does
# without a flag from 20.19 on.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  log "Node.js >= 20.19 is required (found $(node --version))"
  exit 1
fi

bash scripts/services.sh

generated_token=
if [ ! -f .env ]; then
  generated_token=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("hex"))')
  (umask 077 && sed "s/^ADMIN_TOKEN=.*/ADMIN_TOKEN=$generated_token/" .env.example >.env)
  log "created .env from .env.example with a random ADMIN_TOKEN"
fi

if [ ! -d node_modules ]; then
  log "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# A full type-check takes a while even when nothing changed, so build only when a source is
# newer than the last build this script made.
stamp=dist/.start-build-stamp
if [ ! -f dist/src/main.js ] || [ ! -f "$stamp" ] ||
  [ -n "$(find src migrations scripts package.json package-lock.json tsconfig.json tsconfig.build.json \
    \( -name '*.ts' -o -name '*.json' \) -newer "$stamp" -print -quit)" ]; then
  log "building (npm run build)"
  npm run -s build
  touch "$stamp"
fi

# The compiled config loader reads `.env` and validates exactly as the app will, so a bad
# setting is reported here, by name, before anything starts.
settings=$(node -e '
  const { loadConfig } = require("./dist/src/config/app-config");
  try {
    const c = loadConfig();
    console.log(c.role, c.port, c.adminToken.startsWith("change-me") ? "placeholder" : "set");
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
') || exit 1
read -r role port token_state <<<"$settings"

if [ -n "$generated_token" ] && [ -z "${ADMIN_TOKEN:-}" ]; then
  token_source="ADMIN_TOKEN=$generated_token (just generated, saved in .env)"
elif [ -n "${ADMIN_TOKEN:-}" ]; then
  token_source="ADMIN_TOKEN from the environment"
else
  token_source="ADMIN_TOKEN from .env"
fi
if [ "$token_state" = placeholder ]; then
  log "WARNING: ADMIN_TOKEN is still the .env.example placeholder; set a secret one in .env"
fi

if [ "$role" = worker ]; then
  log "starting the worker (ROLE=worker: queue processors, no HTTP)"
  exec node dist/src/worker.js
fi
base="http://127.0.0.1:$port"
log "starting Watchpost (ROLE=$role)"
log "  API:          $base"
log "  Swagger UI:   $base/docs"
log "  Readiness:    $base/health/ready"
log "  Admin token:  $token_source"
exec node dist/src/main.js
