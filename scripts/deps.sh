#!/usr/bin/env bash
# Installs the system packages stickerd needs, or says exactly how to.
# Usage: scripts/deps.sh
#   curl                    the README examples, run by a test
#   ffmpeg                  the render engine (ffmpeg, ffprobe)
#   fonts-noto-color-emoji  colour emoji in text stickers
#   libvpx-dev, pkg-config  VP8 for the realtime edge (cgo)
#   protobuf-compiler       the generated-code drift check
#   redis-server            the Redis-backed features' test suite
#   chromium                browser tests of the web UI and the browser SDK
#   prometheus, prometheus-alertmanager   promtool/amtool checks of alerts and the monitoring end-to-end test
# and, built with go (once, kept in GOBIN or GOPATH/bin):
#   versitygw               the S3 server the S3 blob store's tests start (internal/blob/s3test)
#   jaeger                  the trace backend the tracing end-to-end test starts (scripts/jaeger.sh)
set -euo pipefail

# versitygw is a Go program: `go install` builds it from the module proxy
# (about a minute) unless it is already there; no root needed.
versitygw_version=v1.8.0 # keep in step with internal/blob/s3test.Version
if command -v go >/dev/null 2>&1; then
  gobin="$(go env GOBIN)"
  [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
  if ! command -v versitygw >/dev/null 2>&1 && [ ! -x "$gobin/versitygw" ]; then
    echo "deps: building versitygw $versitygw_version into $gobin (once)" >&2
    (cd / && GOFLAGS= go install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version")
  fi
  # Jaeger builds from tools/jaeger (its own module), once, as jaeger-VERSION.
  bash "$(dirname "$0")/jaeger.sh" >/dev/null
fi

want=(curl ffmpeg fonts-noto-color-emoji libvpx-dev pkg-config protobuf-compiler redis-server chromium prometheus prometheus-alertmanager)
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have curl || missing+=(curl)
have ffmpeg && have ffprobe || missing+=(ffmpeg)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
[ -f /usr/include/vpx/vpx_encoder.h ] || missing+=(libvpx-dev)
have pkg-config || missing+=(pkg-config)
have protoc || missing+=(protobuf-compiler)
have redis-server || missing+=(redis-server)
have chromium || missing+=(chromium)
have promtool || missing+=(prometheus)
have amtool || missing+=(prometheus-alertmanager)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "deps: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these as services on install; stickerd's tests start their own.
  for svc in redis-server prometheus prometheus-alertmanager; do
    (systemctl stop "$svc" || service "$svc" stop) >/dev/null 2>&1 || true
  done
  exit 0
fi
echo "deps: missing ${missing[*]}; install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y ${want[*]}" >&2
exit 1
