#!/usr/bin/env bash
# Builds the Jaeger all-in-one that the tracing end-to-end test starts,
# once, into GOBIN (or GOPATH/bin) as jaeger-VERSION, and prints its path.
# Jaeger's module has replace directives, which `go install pkg@version`
# refuses; tools/jaeger is a module of its own that requires it as a tool,
# so its dependencies stay out of stickerd's go.mod. The first build takes
# minutes; later runs find the binary and return at once.
# Usage: scripts/jaeger.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2 }' tools/jaeger/go.mod)
[ -n "$version" ] || { echo "jaeger: no version in tools/jaeger/go.mod" >&2; exit 1; }
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
bin="$gobin/jaeger-$version"
if [ ! -x "$bin" ]; then
  echo "deps: building Jaeger $version into $gobin (once; several minutes)" >&2
  mkdir -p "$gobin"
  (cd tools/jaeger && go build -trimpath -o "$bin.tmp.$$" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$bin.tmp.$$" "$bin"
fi
echo "$bin"
