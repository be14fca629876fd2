#!/usr/bin/env bash
# Regenerates the Go code of every .proto under proto/ (checked in; a test
# fails when it drifts).
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
protos=(proto/*.proto)
if [ ${#protos[@]} -eq 0 ]; then
  echo "proto: no .proto files under proto/ yet"
  exit 0
fi
command -v protoc >/dev/null || { echo "proto: needs protoc: apt-get install -y protobuf-compiler" >&2; exit 1; }
go run google.golang.org/protobuf/cmd/protoc-gen-go --version >/dev/null
protoc -I proto --go_out=proto --go_opt=paths=source_relative "${protos[@]}"
