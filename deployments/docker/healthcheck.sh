#!/bin/bash
# stickerd-healthcheck PATH: GET PATH (default /healthz) on the port of
# STICKERD_HTTP_ADDR, 127.0.0.1, through `stickerd healthcheck`; exits 0 on
# a 2xx answer only. A process that serves TLS (gateway and edge with
# STICKERD_TLS_CERT) is asked over https:// and verified with
# STICKERD_TLS_CA: its certificate must name 127.0.0.1 (`stickerd certs`
# puts it in every certificate).
set -u
exec stickerd healthcheck --timeout 4s "${1:-/healthz}" >/dev/null
