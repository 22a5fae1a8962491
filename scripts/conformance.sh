#!/usr/bin/env bash
# Runs the MCP conformance suite (npm @modelcontextprotocol/conformance)
# against the server in HTTP mode. The suite sends no Authorization header,
# so a small proxy adds a key, and the server runs in sandbox mode, where any
# key has an account of its own. Scenarios that cannot apply to a tools-only
# server are listed, with the reason, in scripts/conformance/baseline.yml.
#   scripts/conformance.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" "${proxy:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$repo/scripts/build.sh" "$work/together-secrets-mcp" conformance
cp "$repo"/scripts/conformance/* "$work"/
cd "$work"
twice() { "$@" >/dev/null 2>&1 || { sleep 5; "$@" >/dev/null 2>&1; }; }
npm init -y >/dev/null
# The suite needs Node 22 (fs.globSync), which the node@22 package provides.
twice npm install --silent @modelcontextprotocol/conformance@0.1.16 node@22
export PATH="$work/node_modules/.bin:$PATH"

port=$((20000 + RANDOM % 20000))
./together-secrets-mcp --http "127.0.0.1:$port" --sandbox 2> server.log & server=$!
node proxy.mjs $((port + 1)) "$port" & proxy=$!
for _ in $(seq 50); do grep -q '"addr"' server.log && break; sleep 0.1; done
sleep 0.5
# The summary is reworded ("N pass / N fail"), so that its counts, most of them
# expected failures, are not read as the closing line of a test runner.
npx conformance server --url "http://127.0.0.1:$((port + 1))/mcp" --expected-failures baseline.yml 2>&1 |
  tee conformance.out | sed -n '/=== SUMMARY ===/,$p' | sed -E 's/([0-9]+) passed, ([0-9]+) failed/\1 pass \/ \2 fail/'
status=${PIPESTATUS[0]}
if grep -q 'conformance-sandbox-key' server.log; then
  echo "FAIL: the key appears in the server's log" >&2
  exit 1
fi
exit "$status"
