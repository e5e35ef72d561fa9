#!/usr/bin/env bash
# CI entry point of the VS Code extension: clean install, unit and end-to-end tests (against
# the repository's target/debug/policyctl, or $POLICYCTL), then the .vsix.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)
if [ -z "${POLICYCTL:-}" ]; then
  if [ ! -x "$repo/target/debug/policyctl" ]; then
    (cd "$repo" && cargo build --locked --bin policyctl)
  fi
  export POLICYCTL="$repo/target/debug/policyctl"
fi
node --version
npm --version
"$POLICYCTL" --version
npm ci --no-audit --no-fund
npm test
npm run package
vsix=$(ls -1 "$PWD"/*.vsix | sed -n 1p)
printf 'vsix: %s (%s bytes)\n' "$vsix" "$(wc -c <"$vsix" | tr -d ' ')"
