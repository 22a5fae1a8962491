#!/usr/bin/env bash
# Runs the server under the official clients a user would: the TypeScript
# SDK, the MCP Inspector CLI (--strict) and the Go SDK, against a stand-in
# for Together on loopback, and checks that the canary value appears in
# none of their output. The clients are installed in a throwaway folder
# outside the repository (npm and the Go module proxy are needed).
#   scripts/interop.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${stub:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$repo"/scripts/interop/* "$work"/
"$repo/scripts/build.sh" "$work/together-secrets-mcp" interop

cd "$work"
# A registry hiccup is not a failure of the server: try each install twice.
twice() { "$@" >/dev/null 2>&1 || { sleep 5; "$@" >/dev/null 2>&1; }; }
npm init -y >/dev/null
twice npm install --silent @modelcontextprotocol/sdk node@22
# On its own, or npm settles on an old release whose CLI has no --strict.
# It needs Node 22, which the node@22 package provides.
twice npm install --silent @modelcontextprotocol/inspector@latest
npm install-scripts approve @modelcontextprotocol/inspector >/dev/null 2>&1 || true
npm rebuild @modelcontextprotocol/inspector >/dev/null 2>&1 || true
twice go mod download
go build -o go-client .

export STUB_KEY="CANARYKEY-interop-$RANDOM$RANDOM" STUB_PORT=$((20000 + RANDOM % 20000))
export VALUE="CANARYVALUE-interop-$RANDOM$RANDOM" BASE="http://127.0.0.1:$STUB_PORT/v1"
node stub.mjs & stub=$!
sleep 1
# A dotenv file for import_env_file, holding the canary too.
printf 'export IMPORTED_TOKEN="%s-env"\nOTHER=%s-other\n' "$VALUE" "$VALUE" > "$work/.env.interop"

echo "== TypeScript SDK"
node ts-client.mjs ./together-secrets-mcp --allow-delete --allow-deployment-changes --env-file "$work/.env.interop" 2>&1 | tee ts.out
echo "== MCP Inspector CLI, tools/list --strict"
PATH="$work/node_modules/.bin:$PATH" npx @modelcontextprotocol/inspector --cli \
  -e TOGETHER_API_KEY="$STUB_KEY" -e TOGETHER_BASE_URL="$BASE" \
  "$work/together-secrets-mcp" --allow-delete --allow-deployment-changes --env-file "$work/.env.interop" --method tools/list --strict > inspector.out 2>&1
grep -o '"name": "[a-z_]*"' inspector.out
PATH="$work/node_modules/.bin:$PATH" npx @modelcontextprotocol/inspector --cli \
  -e TOGETHER_API_KEY="$STUB_KEY" -e TOGETHER_BASE_URL="$BASE" \
  "$work/together-secrets-mcp" --method tools/call --tool-name create_secret \
  --tool-arg name=interop/INSPECTOR --tool-arg "value=$VALUE" >> inspector.out 2>&1
grep -c '"structuredContent"' inspector.out
echo "== Go SDK"
TOGETHER_API_KEY="$STUB_KEY" TOGETHER_BASE_URL="$BASE" ./go-client ./together-secrets-mcp --allow-delete 2>&1 | tee go.out


echo "== over streamable HTTP, each client with its own key"
http_port=$((20000 + RANDOM % 20000))
TOGETHER_BASE_URL="$BASE" ./together-secrets-mcp --http "127.0.0.1:$http_port" --public-url "http://127.0.0.1:$http_port" 2> http.log & server=$!
trap 'kill "${stub:-0}" "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q '"addr"' http.log && break; sleep 0.1; done
echo "-- TypeScript SDK"
node ts-http-client.mjs "http://127.0.0.1:$http_port/mcp" "$STUB_KEY" 2>&1 | tee ts-http.out
echo "-- the team page, as the user: the caller's key and the value"
link=$(grep -o "http://127.0.0.1:$http_port/v/[A-Za-z0-9_-]*" ts-http.out | head -1)
curl -s -X POST "$link" -H "Origin: http://127.0.0.1:$http_port" \
  --data-urlencode "api_key=$STUB_KEY" --data-urlencode "value=$VALUE-team" --data-urlencode action=store > page.out
grep -o 'The secret interop/HTTP_FROM_USER was created' page.out
echo "-- Go SDK"
./go-client --url "http://127.0.0.1:$http_port/mcp" "$STUB_KEY" 2>&1 | tee go-http.out
kill -TERM "$server"; wait "$server" || true

grep -q '"structuredContent"' ts.out && grep -q '"created":2' ts.out && grep -q '"import_env_file"' inspector.out && grep -q 'interop/GO_TOKEN' go.out
grep -q '"status":"waiting_for_user"' ts.out
grep -q '"by":"id"' ts.out && grep -q 'Refused to delete' ts.out && grep -q '"deleted":true' ts.out && grep -q '"attach_secret"' inspector.out
grep -q 'update_secret ok' ts-http.out && grep -q 'protocol: 2026-07-28' go-http.out && grep -q 'get_secret:' go-http.out
grep -q 'request_secret_from_user ok' ts-http.out && grep -q 'was created' page.out
if grep -l -e "$VALUE" -e "$STUB_KEY" ts.out inspector.out go.out ts-http.out page.out go-http.out http.log; then
  echo "FAIL: the value or the key appears in the output above" >&2
  exit 1
fi
echo "interop: 6 passed, 0 failed"
