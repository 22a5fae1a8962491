#!/bin/sh
# Builds the static, trimmed server binary. The Dockerfile and CI both call
# this, so the binary CI checks is the one the image ships.
#   scripts/build.sh OUTPUT [VERSION]
set -eu
out=${1:?usage: scripts/build.sh OUTPUT [VERSION]}
version=${2:-${VERSION:-dev}}
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$out" .
