#!/usr/bin/env bash
# Debian's chromium for the console's browser tests and benchmark, installed when missing
# (CI runs on a fresh machine). Registry packages that download their own browser cannot
# work on these machines, so playwright-core drives this one (scripts/headless-chromium.ts).
set -euo pipefail
BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$BIN" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
echo "[chromium] $BIN missing: installing Debian's chromium" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$BIN" ]
