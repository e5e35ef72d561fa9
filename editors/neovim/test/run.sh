#!/usr/bin/env bash
# Runs editors/neovim/test/diagnostics.lua in headless Neovim (0.7 or later) against
# `policyctl lsp`: a broken policy must get the diagnostics of `policyctl check` at the right
# lines, also after edits, and a YAML file that is not a policy must get none.
#
#   bash editors/neovim/test/run.sh          # needs `nvim` (Debian: apt-get install -y neovim)
#
# Environment: NVIM (default: nvim), POLICYCTL_BIN (default: <repo>/target/debug/policyctl,
# built with `cargo build` when missing), POLICYCTL_TIMEOUT_MS (per wait, default 30000).
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
nvim="${NVIM:-nvim}"
bin="${POLICYCTL_BIN:-$repo/target/debug/policyctl}"

fail() { echo "FAIL: neovim: $*"; exit 1; }

[ -f "$repo/Cargo.toml" ] && [ -f "$repo/editors/neovim/lua/policyctl/init.lua" ] \
  || fail "cannot find the repository root from $here"
command -v "$nvim" >/dev/null 2>&1 || fail "$nvim not found (Debian: apt-get install -y neovim)"
if [ ! -x "$bin" ]; then
  echo "neovim: $bin missing; cargo build"
  (cd "$repo" && cargo build) || fail "cargo build failed"
fi
[ -x "$bin" ] || fail "$bin not found"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/work"
log="$tmp/result.txt"

echo "neovim: $("$nvim" --version | sed -n 1p), $("$bin" --version 2>/dev/null || echo "$bin")"
POLICYCTL_REPO="$repo" POLICYCTL_BIN="$bin" POLICYCTL_TMP="$tmp/work" POLICYCTL_LOG="$log" \
  timeout 300 "$nvim" --headless -u NONE -i NONE -n \
    -c "luafile $here/diagnostics.lua" >"$tmp/nvim.out" 2>&1
status=$?

[ -f "$log" ] && cat "$log"
if [ "$status" -ne 0 ] || ! tail -n1 "$log" 2>/dev/null | grep -q '^PASS'; then
  echo "--- nvim output (exit status $status)"
  cat "$tmp/nvim.out"
  echo "FAIL: editors/neovim/test/run.sh"
  exit 1
fi
echo "PASS: editors/neovim/test/run.sh"
