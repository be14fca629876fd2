#!/bin/bash
# stickerd-healthcheck PATH: GET http://127.0.0.1:PORT/PATH, where PORT is the
# port of STICKERD_HTTP_ADDR (the address every stickerd process serves
# /healthz, /readyz and /metrics on); exits 0 on HTTP 200 only.
#
# The images carry no curl or wget, so this speaks HTTP/1.0 over bash's
# /dev/tcp. It is a stop-gap until `stickerd healthcheck URL` exists.
set -u
path=${1:-/healthz}
addr=${STICKERD_HTTP_ADDR:-0.0.0.0:8080}
port=${addr##*:}
case $port in
'' | *[!0-9]*) echo "healthcheck: no port in STICKERD_HTTP_ADDR=$addr" >&2; exit 1 ;;
esac
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
IFS=' ' read -r -t 5 _ status _ <&3 || exit 1
[ "$status" = 200 ] || { echo "healthcheck: GET $path answered $status" >&2; exit 1; }
