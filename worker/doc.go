// Package worker is the render worker agent: it connects to the scheduler
// over one gRPC stream (reconnecting with backoff, following the leader),
// advertises its capabilities, heartbeats with its load, renders assigned
// jobs with the render engine, streams progress, stores outputs in the blob
// store, and reports results until the scheduler acknowledges them. On
// SIGTERM it drains: it finishes its jobs or hands them back.
package worker
