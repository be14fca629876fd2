// Package localstack starts a `stickerd dev` stack on free loopback ports
// with its gateway served over HTTP, for the benchmarks that drive the
// whole pipeline through the API (cmd/gatewaybench, cmd/tracebench).
package localstack
