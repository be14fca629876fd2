// Package e2e holds stickerd's end-to-end tests: a whole stack (embedded
// etcd, the embedded Kafka broker, a scheduler, real ffmpeg workers, Redis
// where it matters) behind the gateway on real loopback listeners, driven
// through the Go SDK, raw HTTP and a headless Chromium. There is no
// non-test code; `go test -short` skips every test, and a missing tool
// (ffmpeg, redis-server, chromium) fails the run when CI is set.
package e2e
