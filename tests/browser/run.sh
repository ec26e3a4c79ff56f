#!/usr/bin/env bash
# The dashboard's browser tests (docs/dashboard.md), registered with CTest as browser.dashboard:
#   tests/browser/run.sh ALOFTD ALOFT
# Installs what is missing (Debian's chromium via scripts/deps.sh browser; node and npm come with
# the machine, else Debian's), installs playwright-core from package-lock.json with `npm ci` into
# build/browser-node (again only when the lock file changes), then runs dashboard.test.mjs with
# node's test runner against a fresh aloftd. Never downloads a browser: playwright-core drives
# /usr/bin/chromium. Screenshots and aloftd's log: build/browser-artifacts/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -eq 2 ]] || { echo "usage: $0 ALOFTD ALOFT" >&2; exit 2; }

"$root/scripts/deps.sh" browser
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  "$root/scripts/deps.sh" node
fi

modules="$root/build/browser-node"
if ! cmp -s "$here/package-lock.json" "$modules/package-lock.json" ||
   [[ ! -f "$modules/node_modules/playwright-core/package.json" ]]; then
  mkdir -p "$modules"
  cp "$here/package.json" "$here/package-lock.json" "$modules/"
  (cd "$modules" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
     npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

export ALOFTD=$1 ALOFT=$2 ALOFT_SOURCE_DIR=$root
export ALOFT_NODE_MODULES="$modules/node_modules" ALOFT_ARTIFACTS="$root/build/browser-artifacts"
exec node --test --test-reporter=spec --test-concurrency=1 "$here/dashboard.test.mjs"
