#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: Debian packages
# (kcat, PostgreSQL server, Node.js/npm) and the npm tools in tools/node.
# Idempotent: does nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d tools/node/node_modules/fhir ] || [ ! -d tools/node/node_modules/fhir-kit-client ]; then
  echo "test-deps: installing npm tools into tools/node/node_modules"
  npm ci --prefix tools/node --no-audit --no-fund --loglevel=error
fi
