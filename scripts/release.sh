#!/usr/bin/env bash
# Builds a release: static binaries for linux, darwin and windows on amd64
# and arm64 with GoReleaser (archives and SHA-256 checksums in dist/), one MCP
# Bundle per platform for Claude Desktop, validated with the official mcpb
# tool, and the release's server.json, validated against the registry schema.
#   scripts/release.sh             a snapshot, as CI builds it
#   scripts/release.sh --release   from a tag: what would be published
# Needs the Go module proxy and npm.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mode=--snapshot
[ "${1:-}" = --release ] && mode=

goreleaser=$(go env GOPATH)/bin/goreleaser
if ! "$goreleaser" --version 2>/dev/null | grep -q 'v2.15.1'; then
  go install github.com/goreleaser/goreleaser/v2@v2.15.1
fi
export GIT_COMMIT=$(git rev-parse --short HEAD)
"$goreleaser" check
"$goreleaser" release $mode --clean --skip=publish
version=$(node -p 'require("./dist/metadata.json").version')

echo "== checksums"
(cd dist && sha256sum -c ./*_checksums.txt)
echo "== the binaries are static and carry the version"
for bin in dist/together-secrets-mcp_linux_*/together-secrets-mcp; do
  if readelf -l "$bin" | grep -q INTERP; then echo "$bin is dynamically linked" >&2; exit 1; fi
done
got=$(dist/together-secrets-mcp_linux_amd64_v1/together-secrets-mcp --version)
[ "$got" = "together-secrets-mcp $version" ] || { echo "version: $got, want $version" >&2; exit 1; }

echo "== MCP Bundles"
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
twice() { "$@" >/dev/null 2>&1 || { sleep 5; "$@" >/dev/null 2>&1; }; }
(cd "$tools" && npm init -y >/dev/null && twice npm install --silent @anthropic-ai/mcpb@2.1.2 ajv@8 ajv-formats@3)
cp scripts/release/*.mjs "$tools"/
mcpb="$tools/node_modules/.bin/mcpb"
"$mcpb" validate packaging/mcpb/manifest.json
bundles=()
for dir in dist/together-secrets-mcp_*_*/; do
  platform=$(basename "$dir" | sed -E 's/^together-secrets-mcp_([a-z]+)_([a-z0-9]+)_.*/\1 \2/')
  read -r goos goarch <<<"$platform"
  stage="$tools/bundle-$goos-$goarch"
  mkdir -p "$stage/server"
  cp "$dir"/together-secrets-mcp* "$stage/server/"
  node "$tools/bundle.mjs" packaging/mcpb/manifest.json "$stage/manifest.json" "$version" "$goos"
  "$mcpb" validate "$stage/manifest.json"
  out="dist/together-secrets-mcp_${version}_${goos}_${goarch}.mcpb"
  "$mcpb" pack "$stage" "$out" >/dev/null
  "$mcpb" info "$out" | head -3
  bundles+=("$out")
done
(cd dist && sha256sum ./*.mcpb | sed 's# \./# #' > "together-secrets-mcp_${version}_bundles_checksums.txt" && sha256sum -c "together-secrets-mcp_${version}_bundles_checksums.txt")

echo "== a bundle runs as Claude Desktop runs it"
# Claude Desktop fills the manifest's env from the user's settings; read-only
# on must leave only the reading tools.
"$mcpb" unpack "dist/together-secrets-mcp_${version}_linux_amd64.mcpb" "$tools/unpacked" >/dev/null
listed=$(printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"release","version":"1"}}}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
  TOGETHER_API_KEY=bundle-check TOGETHER_SECRETS_READ_ONLY=true TOGETHER_SECRETS_ALLOW_DELETE=false TOGETHER_SECRETS_TOOLS= \
  "$tools/unpacked/server/together-secrets-mcp" 2>/dev/null | grep -o '"name":"[a-z_]*_secrets*"' | sort | tr '\n' ' ')
[ "$listed" = '"name":"get_secret" "name":"list_secrets" ' ] || { echo "bundle tools: $listed" >&2; exit 1; }

echo "== server.json"
node "$tools/serverjson.mjs" server.json dist/server.json "$version" "${bundles[@]}"
(cd "$tools" && node validate.mjs "$repo/packaging/schemas/server.schema.2025-12-11.json" "$repo/server.json" "$repo/dist/server.json")
echo "release $version: ${#bundles[@]} bundles, $(ls dist/*.tar.gz dist/*.zip | wc -l) archives, checksummed"
