#!/usr/bin/env bash
# Regenerates the Go code of every .proto under proto/ into proto/<pkg>pb/
# (checked in; proto/drift_test.go fails when the two differ).
# Usage: scripts/proto.sh [OUTDIR]   (OUTDIR defaults to proto/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-proto}
command -v protoc >/dev/null || { echo "proto: needs protoc: apt-get install -y protobuf-compiler" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
PATH="$bin:$PATH" protoc -I proto \
  --go_out="$out" --go_opt=module=github.com/stickerd/stickerd/proto \
  --go-grpc_out="$out" --go-grpc_opt=module=github.com/stickerd/stickerd/proto \
  proto/*.proto
