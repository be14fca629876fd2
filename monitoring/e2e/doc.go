// Package e2e tests the monitoring path end to end: real failures injected
// into an in-process `stickerd dev` stack (an unreadable source, a worker
// killed mid-render, a webhook receiver that answers 500) must raise the
// exported counters, reach a real Prometheus through /metrics, and take the
// shipped alert rules to pending or firing. It holds tests only.
package e2e
