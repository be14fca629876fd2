// Package jobstore persists render jobs (internal/jobs) in etcd, the
// source of truth behind the gateway and the scheduler. Every write is a
// compare-and-swap on the record's revision; a per-tenant index gives
// newest-first listings, and watches let the scheduler and API clients
// follow changes. Errors that mean "etcd cannot answer now" are
// ErrUnavailable, which callers turn into 503 STATE_STORE_UNAVAILABLE.
//
// Memory is its in-memory twin with the same semantics, for tests and
// anything else that needs no etcd; one contract test runs every behaviour
// against both.
package jobstore
