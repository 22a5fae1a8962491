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

# Both listen on a free port of the kernel's choosing, and say which.
./together-secrets-mcp --http 127.0.0.1:0 --sandbox 2> server.log & server=$!
addr=
for _ in $(seq 100); do
  addr=$(sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' server.log | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "FAIL: the server did not start:" >&2
  cat server.log >&2
  exit 1
fi
node proxy.mjs 0 "${addr##*:}" > proxy.port & proxy=$!
for _ in $(seq 100); do [ -s proxy.port ] && break; sleep 0.1; done
proxy_port=$(cat proxy.port)
if [ -z "$proxy_port" ]; then
  echo "FAIL: the key-adding proxy did not start" >&2
  exit 1
fi

status=0
npx conformance server --url "http://127.0.0.1:$proxy_port/mcp" --expected-failures baseline.yml > conformance.out 2>&1 || status=$?
# The suite counts every scenario of its reference server; most of them do
# not apply here (see baseline.yml). Say what the run shows in those terms,
# and show the suite's own report only when something is wrong.
applies=$(grep -c '^✓ ' conformance.out || true)
excused=$(grep -c '^  ~ ' conformance.out || true)
if [ "$status" -ne 0 ]; then
  cat conformance.out
  echo "FAIL: the conformance suite found results the baseline does not expect (exit $status)" >&2
  exit "$status"
fi
echo "conformance: all $applies scenarios that apply to a tools-only server pass; $excused do not apply (scripts/conformance/baseline.yml gives each reason)"
if grep -q 'conformance-sandbox-key' server.log; then
  echo "FAIL: the key appears in the server's log" >&2
  exit 1
fi
