#!/usr/bin/env bash
# Installs the system packages stickerd needs, or says exactly how to.
# Usage: scripts/deps.sh [run|test]
set -euo pipefail

want=(ffmpeg fonts-noto-color-emoji protobuf-compiler)
missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "deps: missing ${missing[*]}; install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y ${want[*]}" >&2
exit 1
