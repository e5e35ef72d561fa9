#!/usr/bin/env bash
# The VS Code extension's own checks: clean install, the unit tests of its pure logic and the
# protocol tests against the real server (the repository's target/debug/policyctl, or
# $POLICYCTL), then the platform .vsix carrying that binary (npm run package). The extension in
# a real VS Code is test/vscode/run.sh.
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
rm -f policyctl-*.vsix
npm run package
